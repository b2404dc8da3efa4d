"""Clinic background jobs. Tasks take ids, are idempotent, and retry with backoff."""

from celery import shared_task

from clinic import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_kwargs={"max_retries": 5})
def emergency_escalate(appointment_id: str) -> bool:
    """The ladder's next step, queued with a countdown when a step is taken. The service takes a
    step only once it is due, so eager mode (embedded: countdowns ignored) and a late or repeated
    delivery change nothing; beat (emergencies_escalate_due) is the safety net."""
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


@shared_task(acks_late=True)
def reminders_dispatch() -> int:
    """Every minute (beat): claim due reminders and queue each delivery once the claim commits."""
    from django.db import transaction

    from clinic.notifications import reminders_claim_due

    with transaction.atomic():
        ids = [str(pk) for pk in reminders_claim_due()]
        transaction.on_commit(lambda: [send_reminder.delay(pk) for pk in ids])
    return len(ids)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_kwargs={"max_retries": 8})
def send_reminder(reminder_id: str) -> bool:
    from clinic.notifications import reminder_deliver

    return reminder_deliver(reminder_id)
