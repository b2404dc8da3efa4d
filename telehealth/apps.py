from django.apps import AppConfig


class TelehealthConfig(AppConfig):
    name = "telehealth"
