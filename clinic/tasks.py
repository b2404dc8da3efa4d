"""Clinic background jobs. Tasks take ids, are idempotent, and retry with backoff."""

from celery import shared_task

from clinic import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_kwargs={"max_retries": 5})
def emergency_escalate(appointment_id: str) -> bool:
    return services.emergency_escalate(appointment_id=appointment_id)


@shared_task(acks_late=True)
def emergencies_escalate_due() -> int:
    return services.emergencies_escalate_due()


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_kwargs={"max_retries": 8})
def appointment_event_notify(event_id: str) -> None:
    """Tell the people concerned about an appointment event (in-app and email). Implemented with
    the notifications module (clinic/notifications.py)."""
    from clinic.notifications import notify_for_event

    notify_for_event(event_id)
