"""Wellness background jobs. Idempotent: a beat firing twice reminds once."""

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_kwargs={"max_retries": 3})
def evening_reminders() -> int:
    """Every 15 minutes (beat): a gentle reminder for patients with nothing logged by their
    reminder time (each patient's local evening), once per local day."""
    from wellness.services import evening_reminders_send

    return evening_reminders_send()


# Celery autodiscovers only tasks.py: register the other wellness task modules.
from wellness import tasks_emotion, tasks_risk  # noqa: E402,F401
