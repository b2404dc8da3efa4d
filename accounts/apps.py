from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Haven accounts"

    def ready(self):
        from accounts import signals  # noqa: F401  (login/lockout audit receivers)
