"""Private file storage that encrypts file contents before they reach disk or S3."""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.deconstruct import deconstructible

from core.crypto import InvalidToken, decrypt_bytes, encrypt_bytes
from core.fields import rewrite_columns
from core.uploads import reencode_image_bytes


@deconstructible
class EncryptedStorage(Storage):
    """Wraps the default (private) storage: bytes are Fernet-encrypted on save, decrypted on open.

    Files stored here have no URL: they are streamed by views that check the access policy.
    """

    @property
    def _inner(self):
        return storages["default"]

    def _save(self, name, content):
        content.seek(0)
        return self._inner.save(name, ContentFile(encrypt_bytes(content.read())))

    def _open(self, name, mode="rb"):
        with self._inner.open(name, "rb") as fh:
            return ContentFile(decrypt_bytes(fh.read()), name=name)

    def read_raw(self, name) -> bytes:
        """The bytes as stored (for tests proving encryption at rest)."""
        with self._inner.open(name, "rb") as fh:
            return fh.read()

    def delete(self, name):
        self._inner.delete(name)

    def exists(self, name):
        return self._inner.exists(name)

    def size(self, name):
        return self._inner.size(name)

    def get_available_name(self, name, max_length=None):
        return self._inner.get_available_name(name, max_length=max_length)

    def url(self, name):
        raise NotImplementedError("Encrypted files have no URL; stream them through a checked view.")


encrypted_storage = EncryptedStorage()


def stored_image_response(field_file, *, max_age: int = 300):
    """Stream an encrypted image (a profile photo) decrypted, with its type judged by content and
    a private cache lifetime. The caller has already checked who may see it."""
    import filetype
    from django.http import FileResponse

    with field_file.open("rb") as fh:
        data = fh.read()
    kind = filetype.guess(data[:8192])
    response = FileResponse(ContentFile(data), content_type=kind.mime if kind else "application/octet-stream")
    response["Cache-Control"] = f"private, max-age={max_age}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def encrypt_stored_images(columns: dict[str, list[str]]):
    """A reversible ``RunPython`` pair for a data migration that moves images already uploaded to
    ``{"app.Model": ["field", ...]}`` into encrypted storage: each file is re-encoded (EXIF and
    trailing payloads dropped; an image that cannot be decoded is kept as it was), encrypted and
    written back next to the old one, and the row updated. Backwards, files are decrypted in place.
    Idempotent; a missing file is left alone (the row keeps its name)."""
    def is_encrypted(data: bytes) -> bool:
        try:
            decrypt_bytes(data)
        except (InvalidToken, TypeError, ValueError):
            return False
        return True

    def rewrite(path, *, forwards, schema_editor):
        inner = storages["default"]
        try:
            with inner.open(path, "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, OSError):
            return None
        encrypted = is_encrypted(data)
        if forwards and not encrypted:
            try:
                data, ext = reencode_image_bytes(data)
                target = path.rsplit(".", 1)[0] + f".{ext}"
            except ValidationError:
                target = path
            new = encrypt_bytes(data)
        elif not forwards and encrypted:
            target, new = path, decrypt_bytes(data)
        else:
            return None
        # Write the new file beside the old one and drop the old only once the row points to the
        # new one for good (a failed migration loses no photo).
        saved = inner.save(target, ContentFile(new))
        transaction.on_commit(lambda: inner.delete(path), using=schema_editor.connection.alias)
        return saved

    return rewrite_columns(columns, rewrite)
