"""Private file storage that encrypts file contents before they reach disk or S3."""

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.utils.deconstruct import deconstructible

from core.crypto import decrypt_bytes, encrypt_bytes


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
