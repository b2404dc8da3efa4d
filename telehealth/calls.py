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
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from analytics.services import audit_record
from clinic.extras import call_log, extras_get, extras_with
from clinic.models import Appointment, AppointmentStatus, AppointmentType
from clinic.selectors import care_team_patient_ids, doctor_profile_of, relation_of
from core.errors import NotFound, PermissionDenied
from telehealth import presence

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
        # Only while the patient keeps them in the care team: removal ends the call too.
        in_team = care_team_patient_ids(doctor).filter(patient_id=appointment.patient_id).exists()
        return DOCTOR if in_team else None
    patient = appointment.patient
    if patient.user_id is not None:
        return PATIENT if patient.user_id == user.pk else None
    # A dependent without a login: the account that booked speaks for them.
    if appointment.booked_by_id == user.pk and relation_of(user, patient.pk) is not None:
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


def call_record(appointment: Appointment) -> dict | None:
    """What happened on the appointment's call, for its page and the API: None if no call started;
    else ``started_at``, ``ended_at`` and ``duration_s`` (both None while the call is under way),
    ``in_progress``, and ``ended_by``: "participants" (the last one left) or "timeout" (their server
    processes died; ``ended_at`` is then the last time someone was seen in the room)."""
    call = call_log(appointment)
    if call is None:
        return None
    ended = call.ended_at
    return {
        "started_at": call.started_at,
        "ended_at": ended,
        "duration_s": call.duration_s if ended else None,
        "in_progress": not ended,
        "ended_by": (call.ended_by or "participants") if ended else None,
    }


# --- services --------------------------------------------------------------------------------------

def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


@transaction.atomic
def call_start_record(*, appointment_id, actor: User | None = None, now: dt.datetime | None = None) -> dict:
    """Both participants are ready: remember when the call started (the first time only; a call
    resumed after both left keeps its first start and loses its end until it ends again)."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
    call = dict(extras_get(appointment, "call") or {})
    if "started_at" not in call:
        call["started_at"] = _iso(now)
    elif not call.get("ended_at"):
        return call  # already running
    call.pop("ended_at", None)
    call.pop("duration_s", None)
    appointment.extras = extras_with(appointment, call=call)
    appointment.save(update_fields=["extras", "updated_at"])
    audit_record(action="call.started", actor=actor, target=appointment, started_at=call["started_at"])
    return call


@transaction.atomic
def call_end_record(*, appointment_id, actor: User | None = None, now: dt.datetime | None = None,
                    ended_by: str = "participants") -> dict | None:
    """The last participant left (``ended_by`` "participants"), or nobody has been seen in the room
    for a while ("timeout", see ``calls_close_abandoned``): record the end and the duration. No-op if
    the call never started or already ended."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
    call = dict(extras_get(appointment, "call") or {})
    if "started_at" not in call or call.get("ended_at"):
        return None
    started = dt.datetime.fromisoformat(call["started_at"])
    now = max(now, started)
    call["ended_at"] = _iso(now)
    call["duration_s"] = round((now - started).total_seconds())
    if ended_by != "participants":
        call["ended_by"] = ended_by
    appointment.extras = extras_with(appointment, call=call)
    appointment.save(update_fields=["extras", "updated_at"])
    audit_record(action="call.ended", actor=actor, target=appointment, duration_s=call["duration_s"],
                 ended_by=ended_by)
    return call


# --- room presence ---------------------------------------------------------------------------------
# Who is in each call room, shared by every ASGI process (telehealth.presence: Redis in production):
# one entry per side, {"channel", "user_id", "ready", "seen"}, and "started" once both were ready.
# A second connection of the same side replaces the first. Each socket refreshes its entry every
# PRESENCE_HEARTBEAT_S; an entry not refreshed for PRESENCE_STALE_S belongs to a server process that
# died without its sockets saying goodbye (a crash, a killed deploy) and no longer counts: the other
# side is not told its peer is there, its leaving ends the call, and ``calls_close_abandoned`` ends a
# call that nobody is left in.

PRESENCE_TTL_S = 6 * 60 * 60
PRESENCE_HEARTBEAT_S = 60
PRESENCE_STALE_S = 3 * PRESENCE_HEARTBEAT_S
SIDES = (PATIENT, DOCTOR)


def _presence_key(room_id):
    return f"call:presence:{room_id}"


def _other(side):
    return DOCTOR if side == PATIENT else PATIENT


def _drop_stale(room: dict, now: float) -> float | None:
    """Remove (in place) the sides whose socket stopped refreshing; returns when the last of them
    was seen (None if none was dropped). A room left with nobody in it forgets that its call
    started."""
    last_seen = None
    for side in SIDES:
        entry = room.get(side)
        if entry is not None and now - entry.get("seen", 0) > PRESENCE_STALE_S:
            del room[side]
            last_seen = max(last_seen or 0, entry.get("seen", 0))
    if last_seen is not None and not any(room.get(side) for side in SIDES):
        room.pop("started", None)
    return last_seen


def presence_join(room_id, side, channel, user_id) -> tuple[str | None, dict | None]:
    """Enter the room; returns (the channel this connection replaces, the other side's entry)."""
    def join(room):
        now = time.time()
        _drop_stale(room, now)
        previous = (room.get(side) or {}).get("channel")
        room[side] = {"channel": channel, "user_id": str(user_id), "ready": False, "seen": now}
        return (previous if previous != channel else None), room.get(_other(side))

    return presence.update(_presence_key(room_id), join, ttl=PRESENCE_TTL_S)


def presence_touch(room_id, side, channel, user_id) -> bool:
    """The socket's heartbeat: refresh its entry. False if a newer connection of this side replaced
    it. An entry that is missing (the room's state was lost, e.g. Redis restarted) is written again."""
    def touch(room):
        now = time.time()
        _drop_stale(room, now)
        entry = room.get(side)
        if entry is None:
            room[side] = {"channel": channel, "user_id": str(user_id), "ready": False, "seen": now}
            return True
        if entry["channel"] != channel:
            return False
        entry["seen"] = now
        return True

    return presence.update(_presence_key(room_id), touch, ttl=PRESENCE_TTL_S)


def presence_ready(room_id, side, channel) -> bool:
    """Mark this side ready; True exactly when this makes both sides ready and the call had not
    started yet (that is when the start is recorded)."""
    def ready(room):
        now = time.time()
        _drop_stale(room, now)
        entry = room.get(side)
        if not entry or entry["channel"] != channel:
            return False
        entry["ready"] = True
        entry["seen"] = now
        both = all((room.get(s) or {}).get("ready") for s in SIDES)
        starts = both and not room.get("started")
        if starts:
            room["started"] = True
        return starts

    return presence.update(_presence_key(room_id), ready, ttl=PRESENCE_TTL_S)


def presence_leave(room_id, side, channel) -> str:
    """Leave the room: "replaced" (a newer connection of this side is here), "left" (the other
    side is still here) or "last" (nobody is left: the caller records the call's end)."""
    def leave(room):
        if (room.get(side) or {}).get("channel") != channel:
            return "replaced"
        del room[side]
        _drop_stale(room, time.time())
        if any(room.get(s) for s in SIDES):
            return "left"
        room.clear()  # nobody left: the room's state goes
        return "last"

    return presence.update(_presence_key(room_id), leave, ttl=PRESENCE_TTL_S)


ABANDONED_LOOKBACK = dt.timedelta(days=7)


def calls_close_abandoned(*, now: dt.datetime | None = None) -> int:
    """Periodic (beat): end the calls that started, never ended, and that nobody is in any more
    because the server processes of both sockets died. The end recorded is when someone was last
    seen in the room (``ended_by`` "timeout"); if the room's state was lost too, the time of this
    check. Returns how many calls were closed."""
    now = now or timezone.now()
    open_calls = (Appointment.objects
                  .filter(start__gte=now - ABANDONED_LOOKBACK, start__lte=now,
                          extras__call__has_key="started_at")
                  .exclude(extras__call__has_key="ended_at")
                  .values_list("pk", "room_id"))
    closed = 0
    for appointment_id, room_id in open_calls:
        def check(room):
            last_seen = _drop_stale(room, now.timestamp())
            if any(room.get(side) for side in SIDES):
                return None  # someone is still in the call
            room.clear()
            return last_seen or now.timestamp()

        ended = presence.update(_presence_key(room_id), check, ttl=PRESENCE_TTL_S)
        if ended is not None:
            at = dt.datetime.fromtimestamp(ended, dt.UTC)
            if call_end_record(appointment_id=appointment_id, now=at, ended_by="timeout"):
                closed += 1
    return closed
