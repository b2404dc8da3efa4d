"""Checks for uploaded files: type judged by content, size capped, images re-encoded."""

import io
import uuid

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}
DOCUMENT_TYPES = IMAGE_TYPES | {"application/pdf"}
# Pillow refuses images that would decompress into more than this many pixels.
MAX_IMAGE_PIXELS = 40_000_000


def _sniff(upload) -> str | None:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    return kind.mime if kind else None


def check_size(upload, max_mb: int | None = None):
    max_mb = max_mb or settings.MAX_UPLOAD_MB
    if upload.size > max_mb * 1024 * 1024:
        raise ValidationError(
            _("The file is too large (%(size).1f MB); the limit is %(limit)d MB.")
            % {"size": upload.size / 1024 / 1024, "limit": max_mb},
            code="too_large",
        )


def validate_document(upload, allowed=DOCUMENT_TYPES, max_mb=None):
    """Accept PDFs and images (by content, not by name). Returns the detected MIME type."""
    check_size(upload, max_mb)
    mime = _sniff(upload)
    if mime not in allowed:
        raise ValidationError(_("This file type is not accepted. Upload a PDF, JPEG, PNG or WebP file."),
                              code="bad_type")
    if mime in IMAGE_TYPES:
        reencode_image(upload)  # proves it decodes; the caller re-encodes where it stores images
    return mime


def reencode_image(upload, *, max_side: int = 2048) -> SimpleUploadedFile:
    """Decode and re-encode an uploaded image: drops EXIF (location, device) and any payload
    hidden after the image data, normalises orientation and caps the size."""
    check_size(upload)
    if _sniff(upload) not in IMAGE_TYPES:
        raise ValidationError(_("Upload a JPEG, PNG or WebP image."), code="bad_type")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_side, max_side))
            has_alpha = img.mode in ("RGBA", "LA", "P")
            img = img.convert("RGBA" if has_alpha else "RGB")
            out = io.BytesIO()
            if has_alpha:
                img.save(out, format="PNG", optimize=True)
                ext, mime = "png", "image/png"
            else:
                img.save(out, format="JPEG", quality=88)
                ext, mime = "jpg", "image/jpeg"
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(_("The image could not be read."), code="bad_image") from exc
    finally:
        upload.seek(0)
    return SimpleUploadedFile(f"{uuid.uuid4().hex}.{ext}", out.getvalue(), content_type=mime)


def reencode_image_bytes(data: bytes, *, max_side: int = 800) -> tuple[bytes, str]:
    """Re-encode image bytes already stored (e.g. photos uploaded before encryption at rest):
    the same treatment as an upload. Returns (bytes, extension); ValidationError if unreadable."""
    from django.core.files.base import ContentFile

    out = reencode_image(ContentFile(data, name="stored"), max_side=max_side)
    return out.read(), out.name.rsplit(".", 1)[-1]
