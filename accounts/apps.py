from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticDefault
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPDefault


class AccountsConfig(AppConfig):
    default = True  # this module holds other apps' configs too (below)
    name = "accounts"
    verbose_name = "Haven accounts"

    def ready(self):
        from accounts import signals  # noqa: F401  (login/lockout audit receivers)


# django-otp's apps have no verbose name: Django admin showed their labels ("Otp_Totp", "Otp_Static").
class OTPTOTPConfig(OTPTOTPDefault):
    verbose_name = _("Two-factor: authenticator apps")


class OTPStaticConfig(OTPStaticDefault):
    verbose_name = _("Two-factor: backup codes")
