"""Who hears about an appointment event, and what they are told.

``notify_for_event`` runs in the ``appointment_event_notify`` task. It is idempotent: every
notification it writes carries ``source_key="event:<id>"``, unique per recipient and kind, so a
retried or redelivered task finds the rows and queues nothing twice. Texts are written in each
recipient's language and time zone; emails about confirmations, moves and cancellations carry an
iCalendar invitation (same UID for the appointment's whole life, SEQUENCE rising with each change).
Emails never include clinical text (the reason for an emergency): only times, people and a link.
"""

import datetime as dt
import zoneinfo
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from clinic import ics
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReminder,
    AppointmentStatus,
    AppointmentType,
    EmergencyAlert,
    doctor_display_name,
)
from telehealth.models import Notification
from telehealth.services import notification_send

Kind = AppointmentEvent.Kind
N = Notification.Kind

# Event kind -> notification kind for the patient side and the doctor, and the calendar method.
SCHEDULE_CHANGES = {
    Kind.CONFIRMED: (N.APPOINTMENT_CONFIRMED, "REQUEST"),
    Kind.RESCHEDULED: (N.APPOINTMENT_RESCHEDULED, "REQUEST"),
    Kind.CANCELLED: (N.APPOINTMENT_CANCELLED, "CANCEL"),
    Kind.COMPLETED: (N.APPOINTMENT_COMPLETED, None),
}


def patient_side(appointment: Appointment) -> list[User]:
    """Everyone who acts for the patient: their own account and linked family."""
    from clinic.models import UserPatientRelation  # accepted links only (its default manager)

    accounts = UserPatientRelation.objects.filter(patient_id=appointment.patient_id).values("user_id")
    return list(User.objects.filter(pk__in=accounts, is_active=True).order_by("pk"))


def _doctor_user(appointment: Appointment) -> list[User]:
    if appointment.doctor_id is None or not appointment.doctor.user.is_active:
        return []
    return [appointment.doctor.user]


def _alerted(appointment: Appointment, stage: str) -> list[User]:
    return list(User.objects.filter(emergency_alerts__appointment=appointment, emergency_alerts__stage=stage,
                                    is_active=True).order_by("pk"))


def _unique(users, exclude_id=None) -> list[User]:
    seen, out = set(), []
    for user in users:
        if user.pk != exclude_id and user.pk not in seen:
            seen.add(user.pk)
            out.append(user)
    return out


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return reverse("dashboard")


def appointment_url(appointment: Appointment) -> str:
    # The appointment page belongs to the pages work; until it exists, the dashboard lists it.
    return _url("appointment_detail", appointment.pk)


def _zone(user: User):
    try:
        return zoneinfo.ZoneInfo(user.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def when(value, user: User) -> str:
    """A time as the recipient reads it: their language's format, their time zone, named."""
    zone = _zone(user)
    return f"{formats.date_format(timezone.localtime(value, zone), 'DATETIME_FORMAT')} ({zone.key})"


def _doctor_name(appointment: Appointment) -> str:
    if appointment.doctor_id is None:
        return _("a doctor")
    return doctor_display_name(appointment.doctor.user.name)


def _counterpart(appointment: Appointment, user: User) -> str:
    """Whom the recipient meets: the patient for the doctor, the doctor for everyone else."""
    if appointment.doctor_id and appointment.doctor.user_id == user.pk:
        return appointment.patient.name
    return _doctor_name(appointment)


def _where(appointment: Appointment) -> str:
    location = ics.location_of(appointment)
    return _("Online") if location == "Online" else location


def _calendar(appointment: Appointment, user: User, *, method: str, sequence: int, stamp) -> str:
    if appointment.doctor_id and appointment.doctor.user_id == user.pk:
        summary = _("Appointment: %(patient)s") % {"patient": appointment.patient.name}
    else:
        summary = _("Appointment with %(doctor)s") % {"doctor": _doctor_name(appointment)}
    event = ics.appointment_event(
        appointment, summary=summary, description=settings.SITE_URL + appointment_url(appointment),
        sequence=sequence, stamp=stamp, status="CANCELLED" if method == "CANCEL" else None,
        url=settings.SITE_URL + appointment_url(appointment),
        organizer=("Haven", parseaddr(settings.DEFAULT_FROM_EMAIL)[1]),
        attendees=[(user.name, user.email)] if user.email else [])
    return ics.calendar([event], method=method)


def _texts(event: AppointmentEvent, kind: str, user: User) -> tuple[str, str, str]:
    """(title, in-app body, email sentence) for one recipient, in the active language."""
    a = event.appointment
    ctx = {"when": when(a.start, user), "with": _counterpart(a, user), "patient": a.patient.name,
           "doctor": _doctor_name(a), "where": _where(a), "actor": event.actor.name if event.actor else _("Haven")}
    if kind == N.APPOINTMENT_REQUESTED:
        title = _("New appointment request from %(patient)s") % ctx
        body = _("%(patient)s asked for an appointment on %(when)s (%(where)s).") % ctx
        return title, body, body
    if kind == N.APPOINTMENT_CONFIRMED:
        title = _("Appointment confirmed: %(when)s") % ctx
        body = _("Your appointment with %(with)s on %(when)s is confirmed. Place: %(where)s.") % ctx
        return title, body, body
    if kind == N.APPOINTMENT_RESCHEDULED:
        ctx["previous"] = when(dt.datetime.fromisoformat(event.data["previous_start"]), user) \
            if event.data.get("previous_start") else "—"
        title = _("Appointment moved to %(when)s") % ctx
        body = _("%(actor)s moved the appointment with %(with)s from %(previous)s to %(when)s. "
                 "Place: %(where)s.") % ctx
        if a.status == AppointmentStatus.REQUESTED:
            body += " " + _("The doctor will confirm the new time.")
        return title, body, body
    if kind == N.APPOINTMENT_CANCELLED:
        title = _("Appointment cancelled: %(when)s") % ctx
        body = _("%(actor)s cancelled the appointment with %(with)s on %(when)s.") % ctx
        if event.reason:
            body += " " + _("Reason: %(reason)s") % {"reason": event.reason}
        return title, body, body
    if kind == N.APPOINTMENT_COMPLETED:
        title = _("Appointment completed")
        body = _("The appointment with %(with)s on %(when)s is marked as completed.") % ctx
        return title, body, body
    if kind == N.EMERGENCY:
        title = _("Emergency: %(patient)s needs a doctor now") % ctx
        body = _("%(patient)s asked for emergency help: %(reason)s") % {**ctx, "reason": a.reason}
        # The reason is clinical: it stays in Haven, the email only says where to look.
        return title, body, _("%(patient)s asked for emergency help. Open Haven to accept it.") % ctx
    if kind == N.EMERGENCY_ACCEPTED:
        title = _("%(doctor)s accepted the emergency request") % ctx
        body = _("%(doctor)s accepted the emergency request for %(patient)s and will contact you now.") % ctx
        return title, body, body
    if kind == N.EMERGENCY_ESCALATED:
        title = _("Emergency still waiting: %(patient)s") % ctx
        body = _("No doctor has accepted the emergency request for %(patient)s yet. "
                 "Please respond if you can.") % ctx
        return title, body, body
    raise ValueError(kind)


def _plan(event: AppointmentEvent) -> list[tuple[User, str, bool, str | None]]:
    """[(recipient, notification kind, email?, calendar method or None)] for one event."""
    a = event.appointment
    actor_id = event.actor_id
    if a.type == AppointmentType.EMERGENCY:
        if event.kind == Kind.REQUESTED:
            return [(u, N.EMERGENCY, True, None) for u in _unique(_alerted(a, EmergencyAlert.Stage.INITIAL), actor_id)]
        if event.kind == Kind.ESCALATED:
            return [(u, N.EMERGENCY_ESCALATED, True, None)
                    for u in _unique(_alerted(a, EmergencyAlert.Stage.ESCALATION), actor_id)]
        if event.kind == Kind.ACCEPTED:
            return [(u, N.EMERGENCY_ACCEPTED, True, None) for u in _unique(patient_side(a), actor_id)]
        if event.kind in (Kind.CANCELLED, Kind.COMPLETED):
            kind, _method = SCHEDULE_CHANGES[event.kind]
            return [(u, kind, False, None) for u in _unique([*patient_side(a), *_doctor_user(a)], actor_id)]
        return []
    if event.kind == Kind.REQUESTED:
        doctor = _doctor_user(a)
        if doctor and actor_id == doctor[0].pk:
            # The doctor booked it: it is confirmed at once, so the patient side gets the invitation.
            return [(u, N.APPOINTMENT_CONFIRMED, True, "REQUEST") for u in _unique(patient_side(a), actor_id)]
        return [(u, N.APPOINTMENT_REQUESTED, False, None) for u in _unique(doctor, actor_id)]
    if event.kind in SCHEDULE_CHANGES:
        kind, method = SCHEDULE_CHANGES[event.kind]
        email = method is not None
        return [(u, kind, email, method) for u in _unique([*patient_side(a), *_doctor_user(a)], actor_id)]
    return []


def notify_for_event(event_id) -> int:
    """Notify everyone concerned by one appointment event. Returns the number of recipients."""
    event = (AppointmentEvent.objects.select_related("appointment__patient", "appointment__doctor__user",
                                                     "appointment__hospital", "actor")
             .filter(pk=event_id).first())
    if event is None:
        return 0
    plan = _plan(event)
    if not plan:
        return 0
    appointment = event.appointment
    sequence = ics.sequence_of(appointment, upto=event)
    with transaction.atomic():
        for user, kind, email, method in plan:
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                title, body, sentence = _texts(event, kind, user)
                url = _url_for(kind, user, appointment)
                calendar = (_calendar(appointment, user, method=method, sequence=sequence, stamp=event.created_at)
                            if email and method else None)
                email_text = _email_text(user, sentence, appointment, url, calendar) if email else ""
            notification_send(recipient=user, kind=kind, title=title, body=body, url=url, email=email, ics=calendar,
                              email_text=email_text, source_key=f"event:{event.pk}")
    return len(plan)


def _url_for(kind: str, user: User, appointment: Appointment) -> str:
    if kind in (N.EMERGENCY, N.EMERGENCY_ESCALATED) and user.is_doctor:
        return _url("emergency_queue")  # where the doctor accepts it
    return appointment_url(appointment)


def _email_text(user: User, sentence: str, appointment: Appointment, url: str, calendar: str | None) -> str:
    return render_to_string("email/appointment_notification.txt", {
        "user": user, "message": sentence, "url": settings.SITE_URL + url, "has_calendar": bool(calendar),
        "when": when(appointment.start, user), "where": _where(appointment)})


def notify_reminder(reminder: AppointmentReminder) -> int:
    """The patient side's reminder (in-app and email with the current invitation)."""
    appointment = reminder.appointment
    sequence = ics.sequence_of(appointment)
    users = patient_side(appointment)
    for user in users:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            ctx = {"when": when(appointment.start, user), "with": _counterpart(appointment, user),
                   "where": _where(appointment)}
            if reminder.kind == AppointmentReminder.Kind.HOUR_BEFORE:
                title = _("Starting soon: appointment with %(with)s") % ctx
            else:
                title = _("Reminder: appointment with %(with)s on %(when)s") % ctx
            body = _("Reminder: your appointment with %(with)s is on %(when)s. Place: %(where)s.") % ctx
            url = appointment_url(appointment)
            calendar = _calendar(appointment, user, method="REQUEST", sequence=sequence, stamp=reminder.created_at)
            email_text = _email_text(user, body, appointment, url, calendar)
        notification_send(recipient=user, kind=N.APPOINTMENT_REMINDER, title=title, body=body, url=url, email=True,
                          ics=calendar, email_text=email_text, source_key=f"reminder:{reminder.pk}")
    return len(users)


# --- reminders -------------------------------------------------------------------------------------

REMINDER_WINDOWS = {
    # kind: (sent when the start is at most this far ahead, but more than this far ahead)
    AppointmentReminder.Kind.DAY_BEFORE: (dt.timedelta(hours=24), dt.timedelta(hours=1)),
    AppointmentReminder.Kind.HOUR_BEFORE: (dt.timedelta(hours=1), dt.timedelta(0)),
}
# A claimed reminder still pending after this long lost its task (broker down, queue purged):
# it is queued again. Delivery is idempotent, so a slow first task does no harm.
STALE_CLAIM = dt.timedelta(minutes=5)


def reminders_claim_due(now=None) -> list:
    """Claim every reminder that is due: one AppointmentReminder row per (appointment, kind),
    inserted once whatever the number of schedulers firing. Returns the ids to deliver: the ones
    just claimed and stale pending claims. Pending reminders of appointments no longer active
    are marked skipped."""
    from clinic.models import ACTIVE_STATUSES

    now = now or timezone.now()
    to_send = []
    for kind, (ahead, not_before) in REMINDER_WINDOWS.items():
        due = (Appointment.objects.filter(status__in=ACTIVE_STATUSES, start__gt=now + not_before,
                                          start__lte=now + ahead)
               .exclude(type=AppointmentType.EMERGENCY).exclude(reminders__kind=kind)
               .values_list("pk", flat=True))
        for appointment_id in list(due):
            reminder, created = AppointmentReminder.objects.get_or_create(appointment_id=appointment_id, kind=kind)
            if created:
                to_send.append(reminder.pk)
    AppointmentReminder.objects.filter(status=AppointmentReminder.Status.PENDING).exclude(
        appointment__status__in=ACTIVE_STATUSES).update(status=AppointmentReminder.Status.SKIPPED,
                                                        updated_at=now)
    stale = AppointmentReminder.objects.filter(status=AppointmentReminder.Status.PENDING,
                                               created_at__lte=now - STALE_CLAIM, appointment__start__gt=now)
    to_send += [pk for pk in stale.values_list("pk", flat=True) if pk not in to_send]
    return to_send


def reminder_deliver(reminder_id, now=None) -> bool:
    """Send one claimed reminder exactly once: the row is locked, a sent or skipped one is left
    alone, and 'sent' is written in the same transaction as the notifications (whose emails are
    queued on commit). A worker dying before commit leaves it pending for the redelivered task."""
    now = now or timezone.now()
    with transaction.atomic():
        reminder = (AppointmentReminder.objects.select_for_update()
                    .filter(pk=reminder_id, status=AppointmentReminder.Status.PENDING).first())
        if reminder is None:
            return False
        appointment = (Appointment.objects.select_related("patient", "doctor__user", "hospital")
                       .get(pk=reminder.appointment_id))
        reminder.attempts += 1
        if not appointment.is_active or appointment.start <= now:
            reminder.status = AppointmentReminder.Status.SKIPPED
            reminder.save(update_fields=["status", "attempts", "updated_at"])
            return False
        reminder.appointment = appointment
        notify_reminder(reminder)
        AppointmentEvent.objects.create(appointment=appointment, kind=Kind.REMINDER, data={"kind": reminder.kind})
        reminder.status = AppointmentReminder.Status.SENT
        reminder.sent_at = now
        reminder.save(update_fields=["status", "sent_at", "attempts", "updated_at"])
    return True


# --- access invitations ----------------------------------------------------------------------------

def _invitation_kind() -> str:
    # The notification kinds belong to telehealth; until it names one for access invitations they
    # travel as requests (the text and link say what they are).
    kind = "access.invitation"
    return kind if kind in N.values else N.APPOINTMENT_REQUESTED


def _invitation_texts(link, recipient: User) -> tuple[str, str]:
    from clinic.models import CareTeamMember, HospitalPatient

    patient = link.patient.name
    if isinstance(link, HospitalPatient):
        title = _("%(hospital)s invites %(patient)s to register") % {"hospital": link.hospital.name,
                                                                     "patient": patient}
        body = _("Once accepted, the hospital's staff see %(patient)s's appointments and details.") % {
            "patient": patient}
    elif isinstance(link, CareTeamMember):
        title = _("%(doctor)s is proposed for %(patient)s's care team") % {
            "doctor": doctor_display_name(link.doctor.user.name), "patient": patient}
        body = _("Once accepted, the doctor sees %(patient)s's health record.") % {"patient": patient}
    else:
        inviter = link.invited_by.name if link.invited_by_id else _("Someone")
        title = _("%(inviter)s invites you to act for %(patient)s") % {"inviter": inviter, "patient": patient}
        body = _("Once accepted, you see and manage %(patient)s's care in Haven.") % {"patient": patient}
    return title, body


def access_invitation_notify(link, recipients) -> int:
    """Tell the people who answer an invitation (in-app and by email) that it waits for them.
    Idempotent per invitation and recipient."""
    url = _url("patient_access")
    sent = 0
    for user in recipients:
        if not user.is_active:
            continue
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            title, body = _invitation_texts(link, user)
            email_text = f"{body}\n\n{_('Accept or decline it here:')} {settings.SITE_URL}{url}"
        notification_send(recipient=user, kind=_invitation_kind(), title=title, body=body, url=url, email=True,
                          email_text=email_text, source_key=f"invite:{link.pk}")
        sent += 1
    return sent
