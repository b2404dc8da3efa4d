"""Outbound SMS, and the SMS leg of a notification.

Twilio is the provider when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are all
set; otherwise SMS is off: ``sms_enabled()`` is False, nothing is queued and nothing fails.

Twilio's REST API is called directly (one form POST to
``/2010-04-01/Accounts/{sid}/Messages.json`` with HTTP basic auth) rather than through the
``twilio`` package: the package has no supported way to aim it at another host (its maintainers
point to replacing its HTTP client), while TWILIO_API_BASE lets tests talk to a local fake server
and lets a deployment go through an egress proxy.

Failures come in two kinds. ``SmsUnavailable`` (an OSError: connection refused or dropped,
timeout, 5xx, 429) is temporary: the delivery task retries it with backoff. ``SmsRejected`` (any
other 4xx: bad number, unverified sender, wrong credentials) is final: retrying cannot help, so it
is recorded and dropped.

Texts never carry clinical content or patient names (an SMS crosses a third party and shows on a
lock screen): they say what kind of thing happened and link into Haven. Neither the text nor the
phone number is logged at info level.
"""

import base64
import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_LENGTH = 1600  # Twilio refuses longer bodies
SENT = "notification.sms_sent"
FAILED = "notification.sms_failed"


class SmsError(Exception):
    pass


class SmsRejected(SmsError):
    """The provider refused the message (4xx other than 429): final."""

    def __init__(self, status: int, code=None, detail: str = ""):
        super().__init__(f"SMS rejected: HTTP {status}, provider code {code}")
        self.status, self.code, self.detail = status, code, detail


class SmsUnavailable(SmsError, OSError):
    """The provider could not be reached or failed on its side: try again later."""


def sms_enabled() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER)


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def sms_send(*, to: str, body: str) -> str | None:
    """Send one SMS. Returns the provider's message id, or None when SMS is off.
    Raises SmsUnavailable (retry later) or SmsRejected (final)."""
    if not sms_enabled():
        return None
    if not to:
        raise SmsRejected(400, detail="no phone number")
    sid = settings.TWILIO_ACCOUNT_SID
    url = (f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/"
           f"{urllib.parse.quote(sid, safe='')}/Messages.json")
    data = urllib.parse.urlencode({"To": to, "From": settings.TWILIO_FROM_NUMBER,
                                   "Body": body[:MAX_LENGTH]}).encode()
    credentials = base64.b64encode(f"{sid}:{settings.TWILIO_AUTH_TOKEN}".encode()).decode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Authorization": f"Basic {credentials}", "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            payload = _json(response.read())
    except urllib.error.HTTPError as exc:
        payload = _json(exc.read())
        if exc.code >= 500 or exc.code == 429:
            raise SmsUnavailable(f"SMS provider answered HTTP {exc.code}") from None
        raise SmsRejected(exc.code, payload.get("code"), str(payload.get("message", ""))[:200]) from None
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, DNS, garbled
        raise SmsUnavailable(f"SMS provider unreachable: {getattr(exc, 'reason', exc)}") from exc
    message_id = str(payload.get("sid") or "")
    log.info("SMS accepted by the provider (id %s)", message_id or "?")
    return message_id


# --- the SMS leg of a notification ----------------------------------------------------------------

def _sms_kinds() -> set:
    from telehealth.models import Notification

    return {Notification.Kind.CHAT_URGENT, Notification.Kind.CHAT_URGENT_ESCALATED}


def sms_text(notification) -> str:
    """The SMS for a notification, in the active language: what happened and where to look,
    nothing about the patient."""
    from telehealth.models import Notification

    link = settings.SITE_URL + notification.url if notification.url else settings.SITE_URL
    if notification.kind == Notification.Kind.CHAT_URGENT:
        return _("Haven: a patient marked a conversation with you urgent. Please answer: %(link)s") % {"link": link}
    if notification.kind == Notification.Kind.CHAT_URGENT_ESCALATED:
        return _("Haven: an urgent patient conversation has had no answer from the doctor and was escalated "
                 "to your hospital. Details: %(link)s") % {"link": link}
    return _("Haven: you have a new notification: %(link)s") % {"link": link}


def sms_queue(notification) -> bool:
    """Queue the SMS of a just-written notification on commit, when SMS is on and the recipient has
    a phone. A failure to queue never undoes or fails the write that caused it."""
    recipient = notification.recipient
    if not sms_enabled() or not recipient.is_active or not recipient.phone or notification.kind not in _sms_kinds():
        return False
    from telehealth.tasks import notification_sms_send

    notification_id = str(notification.pk)
    transaction.on_commit(lambda: notification_sms_send.delay(notification_id), robust=True)
    return True


def _recorded(notification) -> bool:
    from analytics.models import AuditEvent

    return AuditEvent.objects.filter(target_type=notification._meta.label_lower, target_id=str(notification.pk),
                                     action__in=[SENT, FAILED]).exists()


def notification_sms_deliver(notification_id) -> bool:
    """Text one notification to its recipient, at most once.

    The notification's row lock serializes concurrent deliveries of it; the audit event written in
    the same transaction (sent, or rejected for good) is the record that it is done. A worker
    dying before commit leaves no record and the redelivered task sends again: at least once, as
    no SMS provider offers more. Returns whether an SMS was accepted by the provider."""
    from analytics.services import audit_record
    from telehealth.models import Notification

    if not sms_enabled():
        return False
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.kind not in _sms_kinds() or _recorded(notification):
            return False
        recipient = notification.recipient
        if not recipient.is_active or not recipient.phone:
            return False
        with translation.override(recipient.preferred_language or settings.LANGUAGE_CODE):
            text = sms_text(notification)
        try:
            message_id = sms_send(to=recipient.phone, body=text)
        except SmsRejected as exc:
            log.warning("SMS for notification %s rejected: HTTP %s, provider code %s",
                        notification.pk, exc.status, exc.code)
            audit_record(action=FAILED, target=notification, label="system", provider="twilio",
                         status=exc.status, code=exc.code)
            return False
        audit_record(action=SENT, target=notification, label="system", provider="twilio", provider_id=message_id)
    return True
