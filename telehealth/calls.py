"""Call rooms of online appointments: who may join which room, when, and the call's record.

The server never touches media: it relays WebRTC signalling between the two participants
(``consumers_calls.CallConsumer``); audio and video flow peer to peer through STUN/TURN.

Participants are exactly two, and only they (family members and care-team colleagues who may see
the appointment do *not* join the call):
- the patient side: the patient's own account, or, for a dependent without a login, the account
  that booked the appointment (if it still acts for the patient);
- the doctor side: the appointment's doctor.
Everyone else gets the same "not found" as for a room that does not exist.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from analytics.services import audit_record
from clinic.models import Appointment, AppointmentStatus, AppointmentType
from clinic.selectors import can_act_for_patient, doctor_profile_of
from core.errors import NotFound, PermissionDenied

PATIENT = "patient"
DOCTOR = "doctor"
CALL_TYPES = (AppointmentType.REMOTE, AppointmentType.EMERGENCY)


class CallNotOpen(PermissionDenied):
    """A participant, but the room is closed now (outside the join window, or not confirmed)."""


def join_before() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "CALL_JOIN_BEFORE_MINUTES", 15))


def join_after() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "CALL_JOIN_AFTER_MINUTES", 60))


def ice_servers() -> list[dict]:
    """RTCPeerConnection ``iceServers`` (STUN/TURN), straight from settings."""
    return list(getattr(settings, "WEBRTC_ICE_SERVERS", []) or [])


# --- selectors -------------------------------------------------------------------------------------

def call_side_of(user: User, appointment: Appointment) -> str | None:
    """"patient", "doctor" or None: which end of the call ``user`` is."""
    if not user.is_authenticated or not user.is_active or not appointment.room_id:
        return None
    if appointment.type not in CALL_TYPES or appointment.doctor_id is None:
        return None
    doctor = doctor_profile_of(user)
    if doctor is not None and doctor.pk == appointment.doctor_id:
        return DOCTOR
    patient = appointment.patient
    if patient.user_id is not None:
        return PATIENT if patient.user_id == user.pk else None
    # A dependent without a login: the account that booked speaks for them.
    if appointment.booked_by_id == user.pk and can_act_for_patient(user, patient):
        return PATIENT
    return None


def call_room_get(*, fetched_by: User, room_id: str) -> tuple[Appointment, str]:
    """The appointment whose call room this is and the viewer's side; NotFound for everyone who
    is not one of its two participants (missing and not-yours look the same)."""
    appointment = None
    if room_id:
        appointment = (Appointment.objects.select_related("patient", "doctor__user")
                       .filter(room_id=room_id, type__in=CALL_TYPES).first())
    side = call_side_of(fetched_by, appointment) if appointment is not None else None
    if side is None:
        raise NotFound(_("Call not found."))
    return appointment, side


def call_window(appointment: Appointment) -> tuple[dt.datetime, dt.datetime]:
    return appointment.start - join_before(), appointment.end + join_after()


def call_is_open(appointment: Appointment, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    opens, closes = call_window(appointment)
    return appointment.status == AppointmentStatus.CONFIRMED and opens <= now <= closes


def call_join_check(*, appointment: Appointment, now: dt.datetime | None = None) -> None:
    """Raise CallNotOpen with a message the participant can act on."""
    if call_is_open(appointment, now=now):
        return
    now = now or timezone.now()
    opens, closes = call_window(appointment)
    if appointment.status != AppointmentStatus.CONFIRMED:
        raise CallNotOpen(_("This appointment is not confirmed, so its call room is closed."))
    if now < opens:
        raise CallNotOpen(_("The call room opens %(minutes)d minutes before the appointment.")
                          % {"minutes": join_before().total_seconds() // 60})
    raise CallNotOpen(_("The call room has closed."))


# --- services --------------------------------------------------------------------------------------

def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


@transaction.atomic
def call_start_record(*, appointment_id, actor: User | None = None, now: dt.datetime | None = None) -> dict:
    """Both participants are ready: remember when the call started (the first time only; a call
    resumed after both left keeps its first start and loses its end until it ends again)."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
    call = dict(appointment.extras.get("call") or {})
    if "started_at" not in call:
        call["started_at"] = _iso(now)
    elif not call.get("ended_at"):
        return call  # already running
    call.pop("ended_at", None)
    call.pop("duration_s", None)
    appointment.extras = {**appointment.extras, "call": call}
    appointment.save(update_fields=["extras", "updated_at"])
    audit_record(action="call.started", actor=actor, target=appointment, started_at=call["started_at"])
    return call


@transaction.atomic
def call_end_record(*, appointment_id, actor: User | None = None, now: dt.datetime | None = None) -> dict | None:
    """The last participant left: record the end and the duration. No-op if the call never started
    or already ended."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
    call = dict(appointment.extras.get("call") or {})
    if "started_at" not in call or call.get("ended_at"):
        return None
    started = dt.datetime.fromisoformat(call["started_at"])
    call["ended_at"] = _iso(now)
    call["duration_s"] = max(0, round((now - started).total_seconds()))
    appointment.extras = {**appointment.extras, "call": call}
    appointment.save(update_fields=["extras", "updated_at"])
    audit_record(action="call.ended", actor=actor, target=appointment, duration_s=call["duration_s"])
    return call
