"""Writes for telehealth notifications.

``notification_send`` is the one door for telling a person something: it stores the in-app row and,
when asked, queues the email on commit; on commit it is also pushed to the recipient's open sockets
(telehealth.consumers_notifications).
"""

import logging

from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from telehealth.models import Notification
from telehealth.notification_texts import RENDERERS, render

logger = logging.getLogger(__name__)


def notification_send(*, recipient: User, kind: str, params: dict | None = None, url: str = "",
                      email: bool = False, ics: str | None = None, source_key: str = "",
                      title: str = "", body: str = "", email_text: str = "") -> Notification:
    """Create a notification (once per ``source_key``) and queue its email on commit.

    ``params`` (JSON, stored encrypted) are what the kind's renderer in
    ``telehealth.notification_texts`` needs: the texts are rendered whenever the notification is
    shown or e-mailed, in the reader's language then. ``ics`` is an iCalendar document attached to
    the email. With a ``source_key`` that was already used for this recipient and kind, the
    existing row is returned and nothing is queued again.

    Without params, ``title``/``body`` (and ``email_text``, the whole email) are stored and shown
    as given, in whatever language they were written.
    """
    if kind not in Notification.Kind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if params is not None and kind not in RENDERERS:
        raise ValueError(f"notification kind {kind!r} has no renderer in telehealth.notification_texts")
    if params is not None:
        # The text as first written, in the recipient's language: the admin's and the fallback's.
        texts = render(Notification(recipient=recipient, kind=kind, params=params, url=url, ics=ics or ""),
                       language=recipient.preferred_language or settings.LANGUAGE_CODE)
        title, body, email_text = texts.title, texts.body, ""
    elif not title:
        raise ValueError("a notification needs params (or a title)")
    values = {"title": title[:200], "body": body, "params": params, "url": url, "email_requested": email,
              "email_text": email_text, "ics": ics or ""}
    with transaction.atomic():
        if source_key:
            # get_or_create falls back to a get when a concurrent delivery inserted the row first.
            notification, created = Notification.objects.get_or_create(
                recipient=recipient, kind=kind, source_key=source_key, defaults=values)
        else:
            notification, created = Notification.objects.create(recipient=recipient, kind=kind, **values), True
        if created:
            # One callback on commit: queue the email (when asked), then push the new row to the
            # recipient's open sockets. The push never raises, so a broken channel layer cannot
            # undo or fail the write.
            queue_email = bool(email and recipient.email)
            transaction.on_commit(lambda: _after_commit(notification, queue_email))
    return notification


def _after_commit(notification: Notification, queue_email: bool) -> None:
    from telehealth.consumers_notifications import notification_push

    if queue_email:
        from telehealth.tasks import notification_email_send

        try:
            notification_email_send.delay(str(notification.pk))
        except Retry:
            raise  # eager mode (embedded, tests): the task's own retry, not a broker failure
        except Exception:
            # The broker is down (it is Redis in production): the row is stored with emailed_at
            # unset, and the beat sweep (notification_emails_retry_due) queues it again later.
            logger.warning("could not queue the e-mail of notification %s; the sweep retries it",
                           notification.pk, exc_info=True)
    notification_push(notification)


@transaction.atomic
def notifications_mark_read(*, user: User, ids=None) -> int:
    """Mark the user's unread notifications read (all of them, or those in ``ids``). Returns how
    many changed. Ids of other people's notifications are ignored."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now(), updated_at=timezone.now())
