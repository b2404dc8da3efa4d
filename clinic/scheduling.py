"""Free slots from a doctor's weekly availability, in the doctor's own time zone.

Weekly windows are wall-clock times where the doctor works ("Mondays 09:00–13:00 in
America/New_York"), so a slot keeps its local time across DST changes; a local time that does not
exist on a spring-forward day is skipped, and an ambiguous one (fall-back) takes its first
occurrence. Slots are returned as aware UTC datetimes; each viewer formats them in their own zone.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from clinic.models import ACTIVE_STATUSES, Appointment, AppointmentType, DoctorProfile, Hospital, WeeklyAvailability

UTC = dt.UTC
MAX_RANGE = dt.timedelta(days=62)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    hospital_id: object | None  # None: online
    hospital_name: str = ""

    @property
    def mode(self) -> str:
        return AppointmentType.REMOTE if self.hospital_id is None else AppointmentType.REGULAR


def doctor_zone(doctor: DoctorProfile) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(doctor.user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _exists(local: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """False for wall-clock times skipped by a DST jump (they do not round-trip through UTC)."""
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def window_slots(window: WeeklyAvailability, day: dt.date, zone: zoneinfo.ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    """Candidate (start, end) pairs in UTC for one weekly window on one local date."""
    step = dt.timedelta(minutes=window.slot_minutes + window.buffer_minutes)
    length = dt.timedelta(minutes=window.slot_minutes)
    local = dt.datetime.combine(day, window.start_time)
    window_end = dt.datetime.combine(day, window.end_time)
    out = []
    while local + length <= window_end:
        if _exists(local, zone):
            start = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
            # Elapsed time, not wall time: a 01:30 slot on a fall-back night lasts 30 minutes, not 90.
            end = start + length
            if end > start:
                out.append((start, end))
        local += step
    return out


def patient_cutoff() -> dt.timedelta:
    """How long before its start a patient (or their family) may still cancel or move an
    appointment online (``APPOINTMENT_CANCEL_CUTOFF_HOURS``); later, they call the clinic."""
    return dt.timedelta(hours=settings.APPOINTMENT_CANCEL_CUTOFF_HOURS)


def patient_may_change(start: dt.datetime, now: dt.datetime | None = None) -> bool:
    """The one cut-off rule, for both ends of a patient's move: the appointment they change and
    the slot they move it to. A slot inside the cut-off is never offered nor accepted, so a patient
    cannot move an appointment to a time they could no longer change back."""
    return start - (now or timezone.now()) >= patient_cutoff()


def earliest_patient_slot(now: dt.datetime | None = None) -> dt.datetime:
    """The first start a patient may move an appointment to (see ``patient_may_change``)."""
    return (now or timezone.now()) + patient_cutoff()


def _overlaps(start, end, busy):
    return any(b_start < end and start < b_end for b_start, b_end in busy)


def free_slots(doctor: DoctorProfile, start: dt.datetime, end: dt.datetime, *, mode: str | None = None,
               hospital: Hospital | None = None, now: dt.datetime | None = None) -> list[Slot]:
    """Bookable slots of ``doctor`` starting in [start, end): inside a weekly window, in the
    future, not during an exception, not overlapping an active appointment. Three queries."""
    now = now or timezone.now()
    start = max(start, now)
    if end - start > MAX_RANGE:
        end = start + MAX_RANGE
    if end <= start:
        return []
    zone = doctor_zone(doctor)
    windows = list(doctor.availability.select_related("hospital").all())
    if mode == AppointmentType.REMOTE:
        windows = [w for w in windows if w.hospital_id is None]
    elif mode == AppointmentType.REGULAR:
        windows = [w for w in windows if w.hospital_id is not None]
    if hospital is not None:
        windows = [w for w in windows if w.hospital_id == hospital.pk]
    if not windows:
        return []
    busy = [(a.start, a.end) for a in Appointment.objects.filter(
        Q(doctor=doctor, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
        & ~Q(type=AppointmentType.EMERGENCY)).only("start", "end")]
    busy += [(e.start, e.end) for e in doctor.exceptions.filter(start__lt=end, end__gt=start).only("start", "end")]
    by_weekday: dict[int, list[WeeklyAvailability]] = {}
    for window in windows:
        by_weekday.setdefault(window.weekday, []).append(window)
    slots = []
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last_day:
        for window in by_weekday.get(day.weekday(), []):
            for slot_start, slot_end in window_slots(window, day, zone):
                if slot_start < start or slot_start >= end or _overlaps(slot_start, slot_end, busy):
                    continue
                slots.append(Slot(slot_start, slot_end, window.hospital_id,
                                  window.hospital.name if window.hospital_id else ""))
        day += dt.timedelta(days=1)
    slots.sort(key=lambda s: (s.start, s.hospital_name))
    return slots


def find_slot(doctor: DoctorProfile, start: dt.datetime, *, mode: str, hospital: Hospital | None = None) -> Slot | None:
    """The free slot starting exactly at ``start`` with the given mode (and hospital), if any."""
    start = start.astimezone(UTC)
    for slot in free_slots(doctor, start, start + dt.timedelta(minutes=1), mode=mode, hospital=hospital):
        if slot.start == start:
            return slot
    return None


def first_free_slot(doctor: DoctorProfile, *, days: int = 28, mode: str | None = None) -> Slot | None:
    now = timezone.now()
    slots = free_slots(doctor, now, now + dt.timedelta(days=days), mode=mode)
    return slots[0] if slots else None


def is_on_duty(doctor: DoctorProfile, at: dt.datetime | None = None) -> bool:
    """On duty: inside one of the doctor's weekly windows (or shift hours) right now, and not on
    leave or blocked."""
    at = at or timezone.now()
    zone = doctor_zone(doctor)
    local = at.astimezone(zone)
    if doctor.exceptions.filter(start__lte=at, end__gt=at).exists():
        return False
    if doctor.shift_start and doctor.shift_end and doctor.shift_start <= local.time() < doctor.shift_end:
        return True
    return doctor.availability.filter(weekday=local.weekday(), start_time__lte=local.time(),
                                      end_time__gt=local.time()).exists()
