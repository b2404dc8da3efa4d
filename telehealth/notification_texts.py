"""What every kind of notification says: one renderer per kind, all of them here.

A notification is stored as its kind and its parameters (``Notification.params``, encrypted JSON:
names, times, reasons, previews), never as finished sentences, so it reads in the reader's
*current* language and time zone: the notifications page, ``/api/v1/notifications`` and the live
socket push render it when they show it, the e-mail when it is sent. Adding a kind is one
``@renderer`` function here (and its ``Notification.Kind`` member).

A renderer gets a ``Context`` (the params, the reader, the link) inside the language to write in
and returns ``Texts``. It reads only the params: nothing is fetched, so a page of notifications
costs no query per row. Rows without params (written before they existed, or by a caller that
passed ready text to ``notification_send``) show the text they were stored with.
"""

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.models import doctor_display_name
from telehealth.models import Notification

logger = logging.getLogger(__name__)
N = Notification.Kind


@dataclass(frozen=True)
class Texts:
    title: str
    body: str = ""
    email: str | None = None  # the whole e-mail text; None: the body and the link


class Context:
    """What a renderer reads: ``p`` (the params), the reader (the recipient) and the link."""

    def __init__(self, notification: Notification, reader):
        self.notification = notification
        self.p = notification.params or {}
        self.reader = reader

    def get(self, key, default=None):
        return self.p.get(key, default)

    def when(self, key: str) -> str:
        """The time stored under ``key`` (ISO 8601) as the reader reads it: their language's
        format, their time zone, named."""
        value = self.p.get(key)
        if not value:
            return "—"
        return when(dt.datetime.fromisoformat(value), self.reader)

    @property
    def link(self) -> str:
        return settings.SITE_URL + (self.notification.url or "")

    @property
    def has_calendar(self) -> bool:
        return bool(self.notification.ics)


RENDERERS: dict[str, Callable[[Context], Texts]] = {}


def renderer(*kinds):
    """Register the function rendering these kinds."""
    def register(fn):
        for kind in kinds:
            RENDERERS[str(kind)] = fn
        return fn
    return register


def _zone(user):
    try:
        return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def when(value: dt.datetime, user) -> str:
    zone = _zone(user)
    return f"{formats.date_format(timezone.localtime(value, zone), 'DATETIME_FORMAT')} ({zone.key})"


def doctor(name: str | None) -> str:
    """How a doctor is named in a sentence."""
    return doctor_display_name(name) if name else _("a doctor")


def person(ref: dict | None) -> str:
    """A stored person reference ``{"name", "doctor": bool}`` (None: Haven itself)."""
    if not ref:
        return _("Haven")
    return doctor(ref.get("name")) if ref.get("doctor") else ref.get("name", "")


def render(notification: Notification, *, reader=None, language: str | None = None) -> Texts:
    """The notification's texts in ``language`` (default: the active one), for ``reader``
    (default: its recipient). Cached on the instance per language."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    cache = notification.__dict__.setdefault("_texts_cache", {})
    if language in cache and reader is None:
        return cache[language]
    fallback = Texts(title=notification.title, body=notification.body)
    fn = RENDERERS.get(notification.kind)
    if notification.params is None or fn is None:
        texts = fallback
    else:
        with translation.override(language):
            try:
                texts = fn(Context(notification, reader or notification.recipient))
                texts = Texts(title=str(texts.title)[:200], body=str(texts.body),
                              email=None if texts.email is None else str(texts.email))
            except Exception:  # a row its renderer cannot read still shows what it was stored with
                logger.exception("notification %s (%s) could not be rendered", notification.pk, notification.kind)
                texts = fallback
    if reader is None:
        cache[language] = texts
    return texts


def email_text(notification: Notification, texts: Texts) -> str:
    """The e-mail of a rendered notification: the renderer's own, the text a caller stored, or
    the body and the link."""
    if notification.params is not None and texts.email is not None:
        return texts.email
    if notification.params is None and notification.email_text:
        return notification.email_text
    link = settings.SITE_URL + notification.url if notification.url else ""
    return "\n\n".join(part for part in (texts.body, link) if part)


# --- appointments (clinic.notifications) ---------------------------------------------------------------

def _appointment_email(c: Context, sentence: str) -> str:
    return render_to_string("email/appointment_notification.txt", {
        "user": c.reader, "message": sentence, "url": c.link, "has_calendar": c.has_calendar,
        "when": c.when("start"), "where": _where(c)})


def _where(c: Context) -> str:
    return c.get("where") or _("Online")


def _appointment_ctx(c: Context) -> dict:
    return {"when": c.when("start"), "with": person(c.get("with")), "patient": c.get("patient", ""),
            "doctor": doctor(c.get("doctor")), "where": _where(c), "actor": person(c.get("actor"))}


@renderer(N.APPOINTMENT_REQUESTED)
def _appointment_requested(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    body = _("%(patient)s asked for an appointment on %(when)s (%(where)s).") % ctx
    return Texts(_("New appointment request from %(patient)s") % ctx, body, _appointment_email(c, body))


@renderer(N.APPOINTMENT_CONFIRMED)
def _appointment_confirmed(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    body = _("Your appointment with %(with)s on %(when)s is confirmed. Place: %(where)s.") % ctx
    return Texts(_("Appointment confirmed: %(when)s") % ctx, body, _appointment_email(c, body))


@renderer(N.APPOINTMENT_RESCHEDULED)
def _appointment_rescheduled(c: Context) -> Texts:
    ctx = {**_appointment_ctx(c), "previous": c.when("previous_start")}
    if c.get("actor_is_with"):  # the person the reader meets moved it: named once
        body = _("%(actor)s moved the appointment from %(previous)s to %(when)s. Place: %(where)s.") % ctx
    else:
        body = _("%(actor)s moved the appointment with %(with)s from %(previous)s to %(when)s. "
                 "Place: %(where)s.") % ctx
    if c.get("awaiting_confirmation"):
        body += " " + _("The doctor will confirm the new time.")
    return Texts(_("Appointment moved to %(when)s") % ctx, body, _appointment_email(c, body))


@renderer(N.APPOINTMENT_CANCELLED)
def _appointment_cancelled(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    if c.get("actor_is_with"):  # the person the reader meets cancelled: named once
        body = _("%(actor)s cancelled the appointment on %(when)s.") % ctx
    else:
        body = _("%(actor)s cancelled the appointment with %(with)s on %(when)s.") % ctx
    if c.get("reason"):
        body += " " + _("Reason: %(reason)s") % {"reason": c.get("reason")}
    return Texts(_("Appointment cancelled: %(when)s") % ctx, body, _appointment_email(c, body))


@renderer(N.APPOINTMENT_COMPLETED)
def _appointment_completed(c: Context) -> Texts:
    body = _("The appointment with %(with)s on %(when)s is marked as completed.") % _appointment_ctx(c)
    return Texts(_("Appointment completed"), body, _appointment_email(c, body))


@renderer(N.APPOINTMENT_REMINDER)
def _appointment_reminder(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    if c.get("soon"):
        title = _("Starting soon: appointment with %(with)s") % ctx
    else:
        title = _("Reminder: appointment with %(with)s on %(when)s") % ctx
    body = _("Reminder: your appointment with %(with)s is on %(when)s. Place: %(where)s.") % ctx
    return Texts(title, body, _appointment_email(c, body))


@renderer(N.EMERGENCY)
def _emergency(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    body = _("%(patient)s asked for emergency help: %(reason)s") % {**ctx, "reason": c.get("reason", "")}
    # The reason is clinical: it stays in Haven, the email only says where to look.
    sentence = _("%(patient)s asked for emergency help. Open Haven to accept it.") % ctx
    return Texts(_("Emergency: %(patient)s needs a doctor now") % ctx, body, _appointment_email(c, sentence))


@renderer(N.EMERGENCY_ACCEPTED)
def _emergency_accepted(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    body = _("%(doctor)s accepted the emergency request for %(patient)s and will contact you now.") % ctx
    return Texts(_("%(doctor)s accepted the emergency request") % ctx, body, _appointment_email(c, body))


@renderer(N.EMERGENCY_ESCALATED)
def _emergency_escalated(c: Context) -> Texts:
    ctx = _appointment_ctx(c)
    if c.get("to_staff"):
        return _emergency_escalated_to_staff(c, ctx)
    body = _("No doctor has accepted the emergency request for %(patient)s yet. Please respond if you can.") % ctx
    return Texts(_("Emergency still waiting: %(patient)s") % ctx, body, _appointment_email(c, body))


def _emergency_escalated_to_staff(c: Context, ctx: dict) -> Texts:
    """For hospital staff and administrators reached by the ladder's last step: no doctor has
    taken the emergency, someone must find one or call the patient. No clinical text."""
    ctx = {**ctx, "since": c.when("start"), "doctors": c.get("doctors_alerted", 0)}
    title = _("Emergency without a doctor: %(patient)s") % ctx
    if not ctx["doctors"]:
        body = _("%(patient)s asked for emergency help on %(since)s and no doctor could be alerted. "
                 "Please find a doctor or contact the patient.") % ctx
    else:
        body = ngettext(
            "%(patient)s asked for emergency help on %(since)s and none of the %(doctors)d doctor alerted has "
            "accepted. Please find a doctor or contact the patient.",
            "%(patient)s asked for emergency help on %(since)s and none of the %(doctors)d doctors alerted have "
            "accepted. Please find a doctor or contact the patient.", ctx["doctors"]) % ctx
    return Texts(title, body, _appointment_email(c, body))


# --- access invitations (clinic.notifications) -------------------------------------------------------

@renderer(N.ACCESS_INVITATION)
def _access_invitation(c: Context) -> Texts:
    ctx = {"patient": c.get("patient", ""), "hospital": c.get("hospital", ""), "doctor": c.get("doctor", "")}
    link = c.get("link")
    if link == "hospital":
        title = _("%(hospital)s invites %(patient)s to register") % ctx
        body = _("Once accepted, the hospital's staff see %(patient)s's appointments and details.") % ctx
    elif link == "care_team":
        title = _("%(doctor)s is proposed for %(patient)s's care team") % {**ctx, "doctor": doctor(ctx["doctor"])}
        body = _("Once accepted, the doctor sees %(patient)s's health record.") % ctx
    else:
        inviter = c.get("inviter") or _("Someone")
        title = _("%(inviter)s invites you to act for %(patient)s") % {**ctx, "inviter": inviter}
        body = _("Once accepted, you see and manage %(patient)s's care in Haven.") % ctx
    return Texts(title, body, f"{body}\n\n{_('Accept or decline it here:')} {c.link}")


# --- chat (telehealth.chat, telehealth.escalation) ----------------------------------------------------

def _preview(c: Context) -> str:
    from telehealth.models import Message

    if c.get("redacted"):
        return _("Message removed by a moderator.")
    kind = c.get("preview_kind", Message.Kind.TEXT)
    if kind == Message.Kind.TEXT:
        return c.get("preview", "")
    try:
        return str(Message.Kind(kind).label)
    except ValueError:
        return ""


@renderer(N.CHAT_MESSAGE)
def _chat_message(c: Context) -> Texts:
    count = int(c.get("count", 1))
    if int(c.get("senders", 1)) > 1:
        title = ngettext("%(count)d new message in your conversation with %(name)s",
                         "%(count)d new messages in your conversation with %(name)s", count) % {
            "count": count, "name": person(c.get("counterpart"))}
    else:
        name = person(c.get("sender"))
        title = (_("New message from %(name)s") % {"name": name} if count == 1 else
                 ngettext("%(count)d new message from %(name)s", "%(count)d new messages from %(name)s", count)
                 % {"count": count, "name": name})
    # The email says who wrote, never what: message content stays behind the login.
    email = _("%(title)s.\n\nFor your privacy the message is not in this email. Read it in Haven:\n"
              "%(url)s") % {"title": title, "url": c.link}
    return Texts(title, _preview(c), email)


@renderer(N.CHAT_URGENT)
def _chat_urgent(c: Context) -> Texts:
    return Texts(_("Urgent message from %(patient)s") % {"patient": c.get("patient", "")},
                 _("%(who)s marked the conversation urgent.") % {"who": c.get("who", "")})


@renderer(N.CHAT_URGENT_ESCALATED)
def _chat_urgent_escalated(c: Context) -> Texts:
    minutes = int(c.get("minutes", 0))
    ctx = {"patient": c.get("patient", ""), "doctor": doctor(c.get("doctor")), "minutes": minutes,
           "when": c.when("urgent_at"), "hospitals": ", ".join(c.get("hospitals") or [])}
    if c.get("to") == "staff":
        title = _("Urgent conversation unanswered: %(patient)s") % ctx
        body = ngettext(
            "%(patient)s marked their conversation with %(doctor)s urgent on %(when)s, and the doctor has "
            "not answered for %(minutes)d minute. You cannot read the conversation: please contact the "
            "patient or the doctor.",
            "%(patient)s marked their conversation with %(doctor)s urgent on %(when)s, and the doctor has "
            "not answered for %(minutes)d minutes. You cannot read the conversation: please contact the "
            "patient or the doctor.", minutes) % ctx
        return Texts(title, body)
    title = _("Urgent conversation with %(patient)s escalated") % ctx
    if ctx["hospitals"]:
        body = ngettext(
            "The urgent conversation with %(patient)s had no answer for %(minutes)d minute, so the staff of "
            "%(hospitals)s were alerted. Please answer it now or mark it handled.",
            "The urgent conversation with %(patient)s had no answer for %(minutes)d minutes, so the staff of "
            "%(hospitals)s were alerted. Please answer it now or mark it handled.", minutes) % ctx
    else:
        body = ngettext(
            "The urgent conversation with %(patient)s had no answer for %(minutes)d minute, and no hospital "
            "staff could be reached. Please answer it now.",
            "The urgent conversation with %(patient)s had no answer for %(minutes)d minutes, and no hospital "
            "staff could be reached. Please answer it now.", minutes) % ctx
    return Texts(title, body)


# --- call requests (telehealth.call_requests) -----------------------------------------------------------

@renderer(N.CALL_REQUESTED)
def _call_requested(c: Context) -> Texts:
    ctx = {"who": c.get("who", ""), "patient": c.get("patient", "")}
    if c.get("who"):
        title = _("%(who)s asks for a call now for %(patient)s") % ctx
    else:
        title = _("%(patient)s asks for a call now") % ctx
    # No reason here: the email carries no clinical text; the chat page shows it.
    body = (_("Open the conversation to accept or decline. They asked for an audio-only call.")
            if c.get("audio_only") else _("Open the conversation to accept or decline."))
    return Texts(title, body)


@renderer(N.CALL_ACCEPTED)
def _call_accepted(c: Context) -> Texts:
    title = _("%(name)s accepted the call request") % {"name": doctor(c.get("doctor"))}
    body = (_("Join the call now.") if c.get("joins") else
            _("%(patient)s can join the call now.") % {"patient": c.get("patient", "")})
    return Texts(title, body)


@renderer(N.CALL_DECLINED)
def _call_declined(c: Context) -> Texts:
    name = doctor(c.get("doctor"))
    if c.get("expired_minutes") is not None:
        return Texts(_("%(name)s did not answer the call request") % {"name": name},
                     _("It expired after %(n)d minutes. You can send a message or ask again.")
                     % {"n": int(c.get("expired_minutes"))})
    return Texts(_("%(name)s declined the call request") % {"name": name},
                 c.get("reason") or _("You can send a message or book an appointment instead."))


# --- wellness (wellness.services) -------------------------------------------------------------------------

@renderer(N.WELLNESS_REMINDER)
def _wellness_reminder(c: Context) -> Texts:
    if c.get("own", True):
        return Texts(_("How was your day?"),
                     _("You haven't checked in today. It takes a few taps: mood, stress, sleep."))
    ctx = {"name": c.get("patient", "")}
    return Texts(_("How was %(name)s's day?") % ctx,
                 _("Nothing was logged for %(name)s today. It takes a few taps.") % ctx)
