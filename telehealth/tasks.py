"""Notification delivery. Tasks take ids, are idempotent (``emailed_at`` marks a sent email) and
retry with backoff while the mail server is unreachable."""

from email.mime.text import MIMEText

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_kwargs": {"max_retries": 8},
         "acks_late": True}


def _calendar_part(ics: str) -> MIMEText:
    """The .ics as text/calendar with its METHOD as a parameter, which mail clients need to show
    it as an invitation (RFC 6047)."""
    method = next((line.split(":", 1)[1].strip() for line in ics.splitlines() if line.startswith("METHOD:")),
                  "PUBLISH")
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    return part


@shared_task(**RETRY)
def notification_email_send(notification_id: str) -> bool:
    from telehealth.models import Notification
    from telehealth.notification_texts import email_text, render

    with transaction.atomic():
        notification = (Notification.objects.select_for_update().select_related("recipient")
                        .filter(pk=notification_id).first())
        if notification is None or notification.emailed_at is not None or not notification.email_requested:
            return False
        to = notification.recipient.email
        if not to or not notification.recipient.is_active:
            return False
        # Rendered now, in the recipient's language (telehealth.notification_texts).
        texts = render(notification, language=notification.recipient.preferred_language or settings.LANGUAGE_CODE)
        message = EmailMessage(texts.title, email_text(notification, texts), settings.DEFAULT_FROM_EMAIL, [to])
        if notification.ics:
            message.attach(_calendar_part(notification.ics))
        message.send()
        # Marked in the same transaction as the row lock: a worker dying before commit leaves it
        # unmarked and the redelivered task sends (at least once; SMTP offers nothing stronger).
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at", "updated_at"])
    return True


@shared_task(acks_late=True)
def call_requests_expire_due() -> int:
    """Every minute (beat): expire call requests nobody answered in time. Idempotent: each request
    is expired once, under its row lock."""
    from telehealth.call_requests import call_requests_expire_due as expire_due

    return expire_due()


@shared_task(acks_late=True)
def calls_close_abandoned() -> int:
    """Every 5 minutes (beat): record the end of calls whose participants' server processes died
    (nobody said goodbye, so nobody recorded the end). Idempotent: an ended call is left alone."""
    from telehealth.calls import calls_close_abandoned as close_abandoned

    return close_abandoned()


# SMS: temporary provider failures (SmsUnavailable is an OSError) retry with backoff; a rejection
# is final and recorded by the delivery itself.
SMS_RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_backoff_max": 600,
             "retry_kwargs": {"max_retries": 6}, "acks_late": True}


@shared_task(**SMS_RETRY)
def notification_sms_send(notification_id: str) -> bool:
    from telehealth.sms import notification_sms_deliver

    return notification_sms_deliver(notification_id)


@shared_task(acks_late=True)
def urgent_chats_escalate_due() -> int:
    """Every minute (beat): escalate urgent chats left unanswered past CHAT_URGENT_ESCALATION_MINUTES."""
    from telehealth.escalation import urgent_chats_escalate_due as escalate_due

    return escalate_due()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600,
             retry_kwargs={"max_retries": 8}, acks_late=True)
def chat_message_notify_retry(message_id: str) -> int:
    """A message's offline notifications when doing them on commit failed (Redis or the database
    hiccupped). Idempotent: each notification group has a unique source key."""
    from telehealth.chat import chat_message_notify

    return chat_message_notify(message_id=message_id)


@shared_task(acks_late=True)
def notification_emails_retry_due() -> int:
    """Every 5 minutes (beat): queue again the e-mails of notifications that asked for one and were
    never sent because queueing failed (the broker was down). Only rows a few minutes old (the
    normal path had its chance) and less than a day old (a stale alert is worse than none)."""
    import datetime as dt

    from telehealth.models import Notification

    now = timezone.now()
    due = (Notification.objects.filter(email_requested=True, emailed_at__isnull=True,
                                       created_at__lte=now - dt.timedelta(minutes=2),
                                       created_at__gte=now - dt.timedelta(days=1),
                                       recipient__is_active=True, recipient__email__isnull=False)
           .exclude(recipient__email="").values_list("pk", flat=True)[:500])
    count = 0
    for notification_id in due:
        notification_email_send.delay(str(notification_id))
        count += 1
    return count
