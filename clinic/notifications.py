"""Who hears about an appointment event, and what they are told.

``notify_for_event`` runs in the ``appointment_event_notify`` task. It is idempotent: every
notification it writes carries ``source_key="event:<id>"``, unique per recipient and kind, so a
retried or redelivered task finds the rows and queues nothing twice. What a notification says is
stored as params (who, when, where, why) and rendered by telehealth.notification_texts in the
reader's language and time zone whenever it is read or e-mailed; emails about confirmations,
moves and cancellations carry an iCalendar invitation (same UID for the appointment's whole life,
SEQUENCE rising with each change).
Emails never include clinical text (the reason for an emergency): only times, people and a link.
"""

import datetime as dt
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from clinic import ics
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReminder,
    AppointmentStatus,
    AppointmentType,
    EmergencyStep,
    doctor_display_name,
)
from telehealth.models import Notification
from telehealth.notification_texts import when  # noqa: F401 (escalation and others import it from here)
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


def _alerted(appointment: Appointment, step: int) -> list[User]:
    return list(User.objects.filter(emergency_alerts__appointment=appointment, emergency_alerts__step=step,
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


def _doctor_name(appointment: Appointment) -> str:
    if appointment.doctor_id is None:
        return _("a doctor")
    return doctor_display_name(appointment.doctor.user.name)


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


def _person(user: User | None, appointment: Appointment) -> dict | None:
    """A person as the notification texts name them (telehealth.notification_texts.person)."""
    if user is None:
        return None
    return {"name": user.name, "doctor": bool(appointment.doctor_id and appointment.doctor.user_id == user.pk)}


def _with(appointment: Appointment, user: User) -> dict:
    """Whom the recipient meets: the patient for the doctor, the doctor for everyone else."""
    if appointment.doctor_id and appointment.doctor.user_id == user.pk:
        return {"name": appointment.patient.name, "doctor": False}
    return {"name": appointment.doctor.user.name if appointment.doctor_id else None, "doctor": True}


def _base_params(appointment: Appointment, user: User) -> dict:
    location = ics.location_of(appointment)
    return {"start": appointment.start.isoformat(), "with": _with(appointment, user),
            "patient": appointment.patient.name,
            "doctor": appointment.doctor.user.name if appointment.doctor_id else None,
            "where": None if location == "Online" else location}


def _params(event: AppointmentEvent, kind: str, user: User) -> dict:
    """What the notification of ``event`` says to ``user``: its params. The sentences are
    telehealth.notification_texts' (rendered whenever it is read)."""
    a = event.appointment
    params = _base_params(a, user)
    params["actor"] = _person(event.actor, a)
    # Whether the actor is the person the recipient meets: then the sentence names them once.
    actor_is_patient = event.actor_id is not None and event.actor_id == a.patient.user_id
    actor_is_doctor = event.actor_id is not None and a.doctor_id and event.actor_id == a.doctor.user_id
    params["actor_is_with"] = bool(actor_is_doctor if params["with"]["doctor"] else actor_is_patient)
    if kind == N.APPOINTMENT_RESCHEDULED:
        params["previous_start"] = event.data.get("previous_start")
        params["awaiting_confirmation"] = a.status == AppointmentStatus.REQUESTED
    if kind == N.APPOINTMENT_CANCELLED and event.reason:
        params["reason"] = event.reason
    if kind == N.EMERGENCY:
        params["reason"] = a.reason
    if kind == N.EMERGENCY_ESCALATED and not user.is_doctor:
        # Hospital staff and administrators reached by the ladder's last step: no clinical text
        # (the reason stays on the emergency's page), how many doctors were alerted in vain.
        params["to_staff"] = True
        params["doctors_alerted"] = User.objects.filter(emergency_alerts__appointment=a, role="doctor").count()
    return params


def _plan(event: AppointmentEvent) -> list[tuple[User, str, bool, str | None]]:
    """[(recipient, notification kind, email?, calendar method or None)] for one event."""
    a = event.appointment
    actor_id = event.actor_id
    if a.type == AppointmentType.EMERGENCY:
        if event.kind == Kind.REQUESTED:
            return [(u, N.EMERGENCY, True, None) for u in _unique(_alerted(a, EmergencyStep.ON_DUTY), actor_id)]
        if event.kind == Kind.ESCALATED:
            # Each step of the ladder tells the people it newly alerted (clinic.services).
            step = event.data.get("step", EmergencyStep.STAFF)
            return [(u, N.EMERGENCY_ESCALATED, True, None) for u in _unique(_alerted(a, step), actor_id)]
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
                calendar = (_calendar(appointment, user, method=method, sequence=sequence, stamp=event.created_at)
                            if email and method else None)
            notification_send(recipient=user, kind=kind, params=_params(event, kind, user),
                              url=_url_for(kind, user, appointment), email=email, ics=calendar,
                              source_key=f"event:{event.pk}")
    return len(plan)


def _url_for(kind: str, user: User, appointment: Appointment) -> str:
    if kind in (N.EMERGENCY, N.EMERGENCY_ESCALATED) and user.is_doctor:
        return _url("emergency_queue")  # where the doctor accepts it
    if kind == N.EMERGENCY_ESCALATED and user.is_hospital_staff:
        return _url("dashboard") + "#emergencies"  # the hospital's live list of emergencies
    return appointment_url(appointment)


def notify_reminder(reminder: AppointmentReminder) -> int:
    """The patient side's reminder (in-app and email with the current invitation)."""
    appointment = reminder.appointment
    sequence = ics.sequence_of(appointment)
    users = patient_side(appointment)
    for user in users:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            calendar = _calendar(appointment, user, method="REQUEST", sequence=sequence, stamp=reminder.created_at)
        params = {**_base_params(appointment, user), "soon": reminder.kind == AppointmentReminder.Kind.HOUR_BEFORE}
        notification_send(recipient=user, kind=N.APPOINTMENT_REMINDER, params=params,
                          url=appointment_url(appointment), email=True, ics=calendar,
                          source_key=f"reminder:{reminder.pk}")
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

def _invitation_params(link) -> dict:
    from clinic.models import CareTeamMember, HospitalPatient

    if isinstance(link, HospitalPatient):
        return {"link": "hospital", "hospital": link.hospital.name, "patient": link.patient.name}
    if isinstance(link, CareTeamMember):
        return {"link": "care_team", "doctor": link.doctor.user.name, "patient": link.patient.name}
    return {"link": "family", "inviter": link.invited_by.name if link.invited_by_id else None,
            "patient": link.patient.name}


def access_invitation_notify(link, recipients) -> int:
    """Tell the people who answer an invitation (in-app and by email) that it waits for them.
    Idempotent per invitation and recipient."""
    url = _url("patient_access")
    params = _invitation_params(link)
    sent = 0
    for user in recipients:
        if not user.is_active:
            continue
        notification_send(recipient=user, kind=N.ACCESS_INVITATION, params=params, url=url, email=True,
                          source_key=f"invite:{link.pk}")
        sent += 1
    return sent
