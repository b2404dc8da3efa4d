"""Wellness reads: daily entries, habits, to-dos, reviews and streaks — always through the clinic
access policy (wellness data is clinical: the patient, family, care-team doctors and admins; never
hospital staff).

Dates are the patient's local dates: "today" is ``patient_today(patient)``, in the patient's own
time zone (or, for a dependent without a login, the acting user's).
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from clinic import selectors as clinic_selectors
from clinic.models import Patient
from core.errors import NotFound
from wellness.models import DailyReview, Habit, HabitLog, TodoTask, WellnessEntry, WellnessSettings

HISTORY_DAYS = 14
CARRY_OVER_DAYS = 7  # how far back unfinished tasks are offered for carrying over
STREAK_LOOKBACK_DAYS = 400


# --- dates -----------------------------------------------------------------------------------------

def _zone_named(name) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def patient_zone(patient: Patient, acting_user=None) -> zoneinfo.ZoneInfo:
    """The patient's own time zone; for a dependent without a login, the acting user's; else UTC."""
    own = patient.user if patient.user_id else None
    zone = _zone_named(own.timezone) if own is not None else None
    if zone is None and acting_user is not None and getattr(acting_user, "is_authenticated", False):
        zone = _zone_named(acting_user.timezone)
    return zone or zoneinfo.ZoneInfo("UTC")


def patient_today(patient: Patient, acting_user=None, *, now=None) -> dt.date:
    """Today's date where the patient lives (the date a check-in belongs to)."""
    return timezone.localdate(now or timezone.now(), patient_zone(patient, acting_user))


def is_editable_day(day: dt.date, today: dt.date) -> bool:
    """Entries, reviews and done marks may be changed on the day and the day after, then locked."""
    return today - dt.timedelta(days=1) <= day <= today


# --- access ------------------------------------------------------------------------------------------

def wellness_patient_get(*, fetched_by, patient_id) -> Patient:
    """A patient whose wellness data the user may read (404 for missing and not-yours alike)."""
    return clinic_selectors.patient_get(fetched_by=fetched_by, patient_id=patient_id, clinical=True)


def can_write_wellness(user, patient: Patient) -> bool:
    """Only the people who act for the patient (their own account, linked family) write."""
    return bool(user and user.is_authenticated) and clinic_selectors.can_act_for_patient(user, patient)


def is_own_record(user, patient: Patient) -> bool:
    return bool(user and user.is_authenticated) and patient.user_id == user.pk


def wellness_patients_managed(user) -> list[Patient]:
    """Patients whose tracker the user keeps (own record first, then family by name)."""
    patients = list(clinic_selectors.patients_managed_by(user).select_related("user"))
    patients.sort(key=lambda p: (p.user_id != user.pk, p.name.casefold()))
    return patients


def wellness_managed_patient_get(*, fetched_by, patient_id=None) -> Patient:
    """For the patient-side pages: the chosen patient among those the user acts for, or by default
    their own record (else the first they manage). 404 when there is none or it is not theirs."""
    managed = wellness_patients_managed(fetched_by) if fetched_by.is_authenticated else []
    if patient_id:
        found = next((p for p in managed if str(p.pk) == str(patient_id)), None)
    else:
        found = managed[0] if managed else None
    if found is None:
        raise NotFound("Patient not found.")
    return found


# --- entries and habits ---------------------------------------------------------------------------

def wellness_entries(*, patient: Patient, date_from: dt.date, date_to: dt.date) -> QuerySet[WellnessEntry]:
    """Entries of a date range (inclusive), newest first. Call after an access check."""
    return WellnessEntry.objects.filter(patient=patient, date__gte=date_from, date__lte=date_to).order_by("-date")


def wellness_entry_of_day(*, patient: Patient, date: dt.date) -> WellnessEntry | None:
    return WellnessEntry.objects.filter(patient=patient, date=date).first()


def habits_of(*, patient: Patient, archived: bool = False) -> QuerySet[Habit]:
    qs = Habit.objects.filter(patient=patient).select_related("suggested_by__user")
    return qs.filter(archived_at__isnull=not archived).order_by("name" if not archived else "-archived_at")


def habit_get(*, patient: Patient, habit_id) -> Habit:
    habit = Habit.objects.select_related("suggested_by__user").filter(patient=patient, pk=habit_id).first()
    if habit is None:
        raise NotFound("Habit not found.")
    return habit


def habit_logs(*, patient: Patient, date_from: dt.date, date_to: dt.date) -> dict:
    """{(habit id, date): HabitLog} for a date range, in one query."""
    logs = HabitLog.objects.filter(habit__patient=patient, date__gte=date_from, date__lte=date_to)
    return {(log.habit_id, log.date): log for log in logs}


# --- to-dos and reviews ----------------------------------------------------------------------------

def tasks_of_day(*, patient: Patient, date: dt.date) -> QuerySet[TodoTask]:
    return (TodoTask.objects.filter(patient=patient, date=date).select_related("carried_from")
            .order_by(F("time").asc(nulls_last=True), "created_at"))  # timed tasks first, in time order


def task_get(*, patient: Patient, task_id) -> TodoTask:
    task = TodoTask.objects.filter(patient=patient, pk=task_id).first()
    if task is None:
        raise NotFound("Task not found.")
    return task


def tasks_to_carry_over(*, patient: Patient, today: dt.date, from_date: dt.date | None = None) -> QuerySet[TodoTask]:
    """Unfinished tasks of past days not carried over yet (one day, or the last few days)."""
    qs = TodoTask.objects.filter(patient=patient, done_at__isnull=True, carried_to__isnull=True, date__lt=today)
    if from_date is not None:
        return qs.filter(date=from_date).order_by("date", "time", "created_at")
    return qs.filter(date__gte=today - dt.timedelta(days=CARRY_OVER_DAYS)).order_by("date", "time", "created_at")


def review_of_day(*, patient: Patient, date: dt.date) -> DailyReview | None:
    return DailyReview.objects.filter(patient=patient, date=date).first()


def reviews(*, patient: Patient, date_from: dt.date, date_to: dt.date) -> QuerySet[DailyReview]:
    return DailyReview.objects.filter(patient=patient, date__gte=date_from, date__lte=date_to).order_by("-date")


def wellness_settings_of(patient: Patient) -> WellnessSettings:
    """The patient's settings, or unsaved defaults (saved by the first change)."""
    return WellnessSettings.objects.filter(patient=patient).first() or WellnessSettings(patient=patient)


# --- streaks ---------------------------------------------------------------------------------------

@dataclass
class Streaks:
    entries: int = 0
    reviews: int = 0
    habits: dict = field(default_factory=dict)  # habit id -> days


def _run_length(days: set, today: dt.date) -> int:
    """Consecutive days in ``days`` ending today — or yesterday, while today is not logged yet (a
    streak is not broken before the day is over)."""
    day = today if today in days else today - dt.timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= dt.timedelta(days=1)
    return count


def streaks(patient: Patient, *, today: dt.date | None = None, habits=None) -> Streaks:
    """Days in a row with a check-in, with each active habit done (or its target met), and with a
    night review. Three or four queries whatever the history's length."""
    today = today or patient_today(patient)
    since = today - dt.timedelta(days=STREAK_LOOKBACK_DAYS)
    entry_days = set(WellnessEntry.objects.filter(patient=patient, date__gte=since, date__lte=today)
                     .values_list("date", flat=True))
    review_days = set(DailyReview.objects.filter(patient=patient, date__gte=since, date__lte=today)
                      .values_list("date", flat=True))
    by_id = {h.pk: h for h in (habits if habits is not None else habits_of(patient=patient))}
    met: dict = {pk: set() for pk in by_id}
    for habit_id, day, done, value in (HabitLog.objects.filter(habit_id__in=list(by_id), date__gte=since,
                                                               date__lte=today)
                                       .values_list("habit_id", "date", "done", "value")):
        if by_id[habit_id].counts_as_done(done=done, value=value):
            met[habit_id].add(day)
    return Streaks(entries=_run_length(entry_days, today), reviews=_run_length(review_days, today),
                   habits={pk: _run_length(days, today) for pk, days in met.items()})


# --- the evening reminder ----------------------------------------------------------------------------

def reminder_candidates() -> QuerySet[WellnessSettings]:
    """Settings with the evening reminder on, with what the task needs to decide locally."""
    return (WellnessSettings.objects.filter(evening_reminder=True)
            .filter(Q(patient__user__isnull=True) | Q(patient__user__is_active=True))
            .select_related("patient__user"))
