"""Model fields whose values are encrypted in the database column."""

import json

from django.db import models

from core.crypto import decrypt_bytes, encrypt_bytes


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token; the raw column never holds the plaintext."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_bytes(self._serialize(value).encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return self._deserialize(decrypt_bytes(value.encode()).decode())

    def to_python(self, value):
        return value

    def _serialize(self, value):
        return str(value)

    def _deserialize(self, text):
        return text


class EncryptedJSONField(EncryptedTextField):
    """JSON (e.g. an emotion vector) encrypted as a whole; not queryable by content, by design."""

    def _serialize(self, value):
        return json.dumps(value, sort_keys=True)

    def _deserialize(self, text):
        return json.loads(text)

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt_bytes(self._serialize(value).encode()).decode()
