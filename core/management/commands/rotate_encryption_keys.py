"""Re-encrypt everything encrypted at rest with the newest key, so an old key can be dropped.

Rotation: prepend a new key to FIELD_ENCRYPTION_KEYS (every process then decrypts with either and
encrypts with the new one), run this command, then remove the old key. Idempotent: a value
already under the newest key is re-encrypted harmlessly."""

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import connection, models, transaction

from core.crypto import fernet
from core.fields import EncryptedJSONField, EncryptedTextField
from core.storage import EncryptedStorage


class Command(BaseCommand):
    help = "Re-encrypt encrypted columns and files with the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        keys = fernet()
        quote = connection.ops.quote_name
        columns = files = 0
        for model in apps.get_models():
            table, pk = model._meta.db_table, model._meta.pk
            for field in model._meta.concrete_fields:
                if isinstance(field, (EncryptedTextField, EncryptedJSONField)):
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"SELECT {quote(pk.column)}, {quote(field.column)} FROM {quote(table)} "
                                       f"WHERE {quote(field.column)} IS NOT NULL AND {quote(field.column)} <> ''")
                        for row_pk, token in cursor.fetchall():
                            new = keys.rotate(token.encode()).decode()
                            with connection.cursor() as update:
                                update.execute(f"UPDATE {quote(table)} SET {quote(field.column)} = %s "
                                               f"WHERE {quote(pk.column)} = %s", [new, row_pk])
                            columns += 1
                elif isinstance(field, models.FileField) and isinstance(field.storage, EncryptedStorage):
                    inner = field.storage._inner
                    names = (model._default_manager.exclude(**{field.name: ""})
                             .values_list(field.name, flat=True))
                    for name in names.iterator():
                        files += _rotate_file(inner, name, keys)
            if model._meta.label == "wellness.EmotionSnapshot":  # kept frames are listed in JSON
                from core.storage import encrypted_storage

                for frames in model._default_manager.exclude(frames=[]).values_list("frames", flat=True):
                    for name in frames:
                        files += _rotate_file(encrypted_storage._inner, name, keys)
        self.stdout.write(f"Re-encrypted {columns} values and {files} files with the newest key.")


def _rotate_file(inner, name, keys) -> int:
    try:
        with inner.open(name, "rb") as fh:
            token = fh.read()
    except (FileNotFoundError, OSError):
        return 0
    new = keys.rotate(token)
    inner.delete(name)
    inner.save(name, ContentFile(new))
    return 1
