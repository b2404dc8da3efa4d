"""Create the first administrator from HAVEN_ADMIN_EMAIL / HAVEN_ADMIN_PASSWORD (or *_FILE).

Idempotent: does nothing when that administrator exists. Further admins are created in Django admin.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import admin_create
from config.settings import secret


class Command(BaseCommand):
    help = "Create the first administrator from environment variables."

    def handle(self, *args, **options):
        email = secret("HAVEN_ADMIN_EMAIL", default="")
        password = secret("HAVEN_ADMIN_PASSWORD", default="")
        name = secret("HAVEN_ADMIN_NAME", default="") or "Administrator"
        if not email or not password:
            raise CommandError("Set HAVEN_ADMIN_EMAIL and HAVEN_ADMIN_PASSWORD (or their _FILE variants).")
        if User.objects.filter(email__iexact=email).exists():
            self.stdout.write(f"Administrator {email} already exists; nothing to do.")
            return
        try:
            admin_create(created_by=None, name=name, email=email, password=password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Administrator {email} created. Sign in and set up two-factor authentication."))
