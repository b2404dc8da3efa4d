from django.apps import AppConfig


class TelehealthConfig(AppConfig):
    name = "telehealth"

    def ready(self):
        # Connects the receiver that opens a chat when a doctor joins a patient's care team.
        from telehealth import chat  # noqa: F401
        # Closes open sockets when clinic says a link to a patient ended (patient_access_ended).
        from telehealth import revocation  # noqa: F401
