"""Chat files are stored rebuilt: no PDF scripts or appended payloads, no EXIF, and a display
name without right-to-left overrides or control characters."""

import pytest
from PIL import Image

from core.tests.test_uploads import evil_pdf, gps_jpeg
from telehealth import chat as chats

pytestmark = pytest.mark.django_db


def test_a_pdf_with_javascript_and_an_rtlo_name_is_stored_clean(chat, alice):
    upload = evil_pdf(trailer=b"PK\x03\x04<html><script>x()</script></html>")
    upload.name = "scan\u202efdp.exe"
    message, _created = chats.message_send(sender=alice, chat=chat, client_id="pdf", kind="file", upload=upload)
    assert message.file_name == "scanfdp.exe"
    stored = message.file.open("rb").read()
    message.file.close()
    for marker in (b"/JavaScript", b"/OpenAction", b"/Launch", b"PK\x03\x04", b"<script"):
        assert marker not in stored
    assert message.file_type == "application/pdf" and message.file_size == len(stored)


def test_a_photo_loses_its_gps_exif(chat, alice):
    message, _created = chats.message_send(sender=alice, chat=chat, client_id="img", kind="file", upload=gps_jpeg())
    with message.file.open("rb") as fh, Image.open(fh) as img:
        assert not img.getexif()


def test_a_broken_pdf_is_refused_with_a_field_error(chat, alice):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    broken = SimpleUploadedFile("x.pdf", b"%PDF-1.7\n" + b"\x00junk" * 40)
    with pytest.raises(ValidationError) as info:
        chats.message_send(sender=alice, chat=chat, client_id="bad", kind="file", upload=broken)
    assert "file" in info.value.message_dict
