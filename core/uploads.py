"""Checks for uploaded files: type judged by content, size capped, images re-encoded, PDFs
rebuilt without active content, display names without bidi or control characters."""

import io
import os
import unicodedata
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


def _accepted_type(upload, allowed, max_mb) -> str:
    """The upload's MIME type judged by its content, if it is one of ``allowed`` and not too big."""
    check_size(upload, max_mb)
    mime = _sniff(upload)
    if mime not in allowed:
        raise ValidationError(_("This file type is not accepted. Upload a PDF, JPEG, PNG or WebP file."),
                              code="bad_type")
    return mime


def validate_document(upload, allowed=DOCUMENT_TYPES, max_mb=None):
    """Accept PDFs and images (by content, not by name). Returns the detected MIME type."""
    mime = _accepted_type(upload, allowed, max_mb)
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


# Keys that make a PDF do something on its own (scripts, actions on open/close/page view, forms
# that submit or run XFA) or carry other files; dropped wherever they appear.
_PDF_ACTIVE_KEYS = ("/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/EF", "/XFA",
                    "/RichMediaContent", "/RichMediaSettings")
_PDF_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToE",
                       "/GoToR", "/RichMediaExecute", "/Rendition", "/Sound", "/Movie", "/Hide", "/URI"}


def _pdf_bad_action(value) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Dictionary) and str(value.get("/S", "")) in _PDF_ACTIVE_ACTIONS


def _pdf_scrub(obj, depth: int = 0) -> None:
    """Drop active content from one object and the direct objects nested in it (indirect ones are
    visited on their own by the caller's walk over every object)."""
    import pikepdf

    if depth > 64:
        raise ValueError("PDF nested too deeply")
    if isinstance(obj, pikepdf.Array):
        for item in obj:
            if isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
                _pdf_scrub(item, depth + 1)
        return
    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return
    for key in _PDF_ACTIVE_KEYS:
        if key in obj:
            del obj[key]
    for key in ("/A", "/Next"):
        if key in obj and _pdf_bad_action(obj[key]):
            del obj[key]
    if str(obj.get("/Subtype", "")) in ("/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound"):
        obj.Subtype = pikepdf.Name.Square  # a harmless annotation of no content
    if str(obj.get("/S", "")) in _PDF_ACTIVE_ACTIONS:
        obj.S = pikepdf.Name.GoTo  # an action reached some other way now goes nowhere
        obj.D = pikepdf.Array([])
    for key in list(obj.keys()):
        item = obj[key]
        if isinstance(item, pikepdf.Dictionary | pikepdf.Array) and not item.is_indirect:
            _pdf_scrub(item, depth + 1)


def rebuild_pdf(upload) -> SimpleUploadedFile:
    """Parse a PDF and write it anew with qpdf (pikepdf): only objects reachable from the document
    survive, so anything glued before the header or after the end (an HTML or ZIP polyglot) is
    gone; scripts, automatic actions, launch/submit actions, embedded files, XFA and metadata are
    dropped. A file that does not parse, or is encrypted, is refused."""
    import pikepdf

    check_size(upload)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if not data.startswith(b"%PDF-"):
        raise ValidationError(_("This PDF could not be read. Save it again as a PDF and upload that."),
                              code="bad_pdf")
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for obj in pdf.objects:
                _pdf_scrub(obj)
            if "/Metadata" in pdf.Root:
                del pdf.Root["/Metadata"]
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            out = io.BytesIO()
            pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    except pikepdf.PasswordError as exc:
        raise ValidationError(_("This PDF is protected by a password. Upload it without the password."),
                              code="encrypted_pdf") from exc
    except (pikepdf.PdfError, pikepdf.ForeignObjectError, ValueError, RecursionError) as exc:
        raise ValidationError(_("This PDF could not be read. Save it again as a PDF and upload that."),
                              code="bad_pdf") from exc
    return SimpleUploadedFile(f"{uuid.uuid4().hex}.pdf", out.getvalue(), content_type="application/pdf")


def clean_document(upload, *, allowed=DOCUMENT_TYPES, max_mb=None, max_side: int = 2048):
    """Check a PDF or image upload by its content and return ``(file to store, its MIME type)``:
    images re-encoded (no EXIF, no trailing payload), PDFs rebuilt (see rebuild_pdf)."""
    mime = _accepted_type(upload, allowed, max_mb)
    if mime in IMAGE_TYPES:
        cleaned = reencode_image(upload, max_side=max_side)
        return cleaned, cleaned.content_type
    return rebuild_pdf(upload), mime


_BIDI_AND_INVISIBLE = {"\u061c", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff"}
MAX_DISPLAY_NAME = 200


def safe_display_name(raw: str | None, *, default: str = "file") -> str:
    """A file name fit to show: the last path part only, without control, format (bidi overrides
    such as U+202E, which make "invoice\u202efdp.exe" look like "invoiceexe.pdf"), or line and
    paragraph separator characters; at most 200 characters, keeping the extension."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name
                   if ch not in _BIDI_AND_INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs"))
    name = name.strip().strip(".") if name.strip() in (".", "..") else name.strip()
    if not name:
        return default
    if len(name) > MAX_DISPLAY_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[:MAX_DISPLAY_NAME - len(ext)] + ext
    return name
