"""Model fields whose values are encrypted in the database column (Fernet, with key rotation)."""

import json

from django.db import models

from core.crypto import decrypt_bytes, encrypt_bytes


class EncryptedJSONField(models.TextField):
    """A JSON value (e.g. an emotion vector) stored as one Fernet token: the raw column never holds
    the values in plaintext. Not queryable by content, by design."""

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt_bytes(json.dumps(value, sort_keys=True).encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        return json.loads(decrypt_bytes(value.encode()))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))
