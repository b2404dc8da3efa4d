"""Uploaded documents are rebuilt before they are stored: images lose EXIF (GPS), PDFs lose
scripts, auto-actions, attachments and whatever was glued before or after them."""

import io

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.uploads import clean_document, safe_display_name


def gps_jpeg() -> SimpleUploadedFile:
    image = Image.new("RGB", (40, 30), "#c33")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 0.0), "W", (0.0, 7.0, 0.0)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif)
    data = buf.getvalue() + b"<html><script>alert(1)</script></html>"
    return SimpleUploadedFile("passport.jpg", data, content_type="image/jpeg")


def evil_pdf(*, trailer: bytes = b"") -> SimpleUploadedFile:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    js = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')")))
    pdf.Root.OpenAction = js
    pdf.Root.AA = pikepdf.Dictionary(WC=js)
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), js])),
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x.exe"), pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("x.exe"),
                               EF=pikepdf.Dictionary(F=pdf.make_stream(b"MZ-evil-payload"))))])))
    page = pdf.pages[0]
    page.obj.AA = pikepdf.Dictionary(O=js)
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))))]))
    buf = io.BytesIO()
    pdf.save(buf)
    return SimpleUploadedFile("licence.pdf", buf.getvalue() + trailer, content_type="application/pdf")


def test_an_image_with_gps_exif_comes_out_without_it():
    cleaned, mime = clean_document(gps_jpeg())
    data = cleaned.read()
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
    assert b"SpyCam" not in data and b"<script" not in data


def test_a_pdf_with_javascript_and_auto_actions_comes_out_clean():
    cleaned, mime = clean_document(evil_pdf())
    data = cleaned.read()
    assert mime == "application/pdf"
    for marker in (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/EmbeddedFile", b"/Launch", b"MZ-evil"):
        assert marker not in data, marker
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1


def test_a_polyglot_pdf_loses_what_is_appended():
    zip_tail = b"PK\x03\x04" + b"\x00" * 26 + b"<html><script>steal()</script></html>"
    cleaned, _mime = clean_document(evil_pdf(trailer=zip_tail))
    data = cleaned.read()
    assert b"PK\x03\x04" not in data and b"<script" not in data
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_html_before_the_header_is_refused():
    evil = evil_pdf()
    upload = SimpleUploadedFile("x.pdf", b"<html><script>x()</script>" + evil.read(), content_type="application/pdf")
    with pytest.raises(ValidationError):
        clean_document(upload)


def test_a_pdf_that_does_not_parse_is_refused():
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, content_type="application/pdf")
    with pytest.raises(ValidationError):
        clean_document(upload)


@pytest.mark.parametrize(("raw", "expected"), [
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("\u2067report\u2069.pdf", "report.pdf"),
    ("a\x00b\r\n.pdf", "ab.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\scan.png", "scan.png"),
    ("\u200f\u200e", "file"),
    ("", "file"),
])
def test_file_names_lose_bidi_and_control_characters(raw, expected):
    assert safe_display_name(raw) == expected


def test_long_names_keep_their_extension():
    name = safe_display_name("x" * 500 + ".pdf")
    assert len(name) <= 200 and name.endswith(".pdf")
