"""Model fields whose values are encrypted in the database column (Fernet, with key rotation)."""

import json

from django import forms
from django.core.validators import MaxLengthValidator
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


class _EncryptedExact(models.lookups.Exact):
    """Only "is it empty?" can be asked in SQL: a Fernet token is salted, so comparing with a
    given text could never match; refuse instead of silently finding nothing."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise ValueError(f"{self.lhs.target.name} is encrypted: filter on it in Python, not in SQL.")
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """Free text (clinical notes, visit reasons) stored as a Fernet token; the empty string stays
    empty so "has a note" remains a cheap SQL question. Nothing else can be filtered, ordered or
    searched in SQL: search decrypted values in Python on a bounded set. ``max_length`` limits the
    plaintext (the column itself is unbounded text, as tokens are longer)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs):
        if self.max_length is not None:  # a short text (a task title) keeps its one-line input
            kwargs.setdefault("widget", forms.TextInput)
        return super().formfield(**kwargs)

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EncryptedExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name):
        return None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt_text(value)
        except InvalidToken:
            # A row written before the column was encrypted and not yet migrated: never a 500.
            return value


def encrypt_text(value: str) -> str:
    return encrypt_bytes(value.encode()).decode()


def decrypt_text(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def is_token(value: str) -> bool:
    try:
        decrypt_bytes(value.encode())
    except (InvalidToken, ValueError, TypeError):
        return False
    return True


def rewrite_columns(columns: dict[str, list[str]], rewrite):
    """A reversible ``RunPython`` pair for a data migration that rewrites the non-empty values of
    ``{"app.Model": ["field", ...]}`` in place: ``rewrite(value, forwards=..., schema_editor=...)``
    returns the new value, or None to leave the row alone. Works on the raw column, so it is
    independent of the field class in the historical model."""

    def run(apps, schema_editor, *, forwards):
        connection = schema_editor.connection
        quote = connection.ops.quote_name
        for label, fields in columns.items():
            model = apps.get_model(label)
            table, pk = model._meta.db_table, model._meta.pk.column
            for name in fields:
                column = model._meta.get_field(name).column
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "
                                   f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''")
                    rows = cursor.fetchall()
                for row_pk, value in rows:
                    new = rewrite(value, forwards=forwards, schema_editor=schema_editor)
                    if new is None:
                        continue
                    with connection.cursor() as cursor:
                        cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",
                                       [new, row_pk])
        if connection.vendor == "postgresql":
            # Run the deferred foreign-key checks now, so a later ALTER TABLE of these tables in
            # the same migration transaction is not refused for "pending trigger events".
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def forwards(apps, schema_editor):
        run(apps, schema_editor, forwards=True)

    def backwards(apps, schema_editor):
        run(apps, schema_editor, forwards=False)

    return forwards, backwards


def encrypt_columns(columns: dict[str, list[str]]):
    """A reversible ``RunPython`` pair that encrypts existing plaintext in ``{"app.Model":
    ["field", ...]}`` (forwards) or decrypts it back (backwards); idempotent."""

    def rewrite(value, *, forwards, schema_editor):
        encrypted = is_token(value)
        if forwards and not encrypted:
            return encrypt_text(value)
        if not forwards and encrypted:
            return decrypt_text(value)
        return None

    return rewrite_columns(columns, rewrite)


def encrypt_column_rows(apps, schema_editor, *, app_label: str, model_name: str, column: str):
    """Data migration step: encrypt one column's plaintext rows in place (idempotent)."""
    forwards, _backwards = encrypt_columns({f"{app_label}.{model_name}": [column]})
    forwards(apps, schema_editor)
