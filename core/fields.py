"""Model fields whose values are encrypted in the database column (Fernet, with key rotation)."""

import json

from django.db import models

from core.crypto import InvalidToken, decrypt_bytes, encrypt_bytes


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


class EncryptedTextField(models.TextField):
    """Free text (a chat message, a note) stored as one Fernet token: the raw column never holds
    the words. Not searchable in SQL, by design: search decrypts a bounded set in Python. The empty
    string stays empty (nothing to hide, and "has a body" stays a cheap check)."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_bytes(value.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt_bytes(value.encode()).decode()
        except InvalidToken:
            # A row written before the column was encrypted and not yet migrated; never a 500.
            return value


def encrypt_column_rows(apps, schema_editor, *, app_label: str, model_name: str, column: str):
    """Data migration helper: encrypt a column's plaintext rows in place (rows already holding a
    token are left alone, so it can be re-run)."""
    model = apps.get_model(app_label, model_name)
    table, pk = model._meta.db_table, model._meta.pk.column
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> ''")
        rows = cursor.fetchall()
        for row_pk, value in rows:
            if value is None or _is_token(value):
                continue
            cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",
                           [encrypt_bytes(value.encode()).decode(), row_pk])


def _is_token(value: str) -> bool:
    try:
        decrypt_bytes(value.encode())
    except (InvalidToken, ValueError, TypeError):
        return False
    return True
