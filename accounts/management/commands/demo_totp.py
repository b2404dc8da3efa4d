"""Print the current code of the demo authenticator (the public key demo_data gives demo accounts)."""

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from accounts.management.commands.demo_data import DEMO_TOTP_KEY_HEX


class Command(BaseCommand):
    help = "Print the current two-factor code for the demo admin and doctors."

    def handle(self, *args, **options):
        totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY_HEX))
        self.stdout.write(f"{totp.token():06d}  (valid for {30 - int(totp.time) % 30} more seconds)")
