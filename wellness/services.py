"""Wellness writes: daily check-ins, habits, the morning plan / night review, settings and the
evening reminder.

Only the people who act for a patient (their own account, linked family) write; care-team
doctors may also suggest habits. Doctors and admins who can see the patient get 403 for other
writes, everyone else 404. Every change is audited, and so is every read by someone other than
the patient's own account. Dates are the patient's local dates (``selectors.patient_today``).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.services import audit_record
from clinic import selectors as clinic_selectors
from clinic.models import Patient, UserPatientRelation
from core.errors import NotFound, PermissionDenied
from wellness import selectors
from wellness.models import DailyReview, Habit, HabitLog, TodoTask, WellnessEntry, WellnessSettings

NOTES_MAX = 2000
NUMBER_MAX = Decimal("99999.9")
PLAN_AHEAD_DAYS = 30
ENTRY_FIELDS = ("sleep_hours", "meditation_minutes", "mood", "stress", "notes")


# --- access -------------------------------------------------------------------------------------

def _require_writer(actor, patient: Patient) -> None:
    """Writers act for the patient; readers who may not write get 403; everyone else 404."""
    if selectors.can_write_wellness(actor, patient):
        return
    if actor is not None and clinic_selectors.patients_visible_to(actor, clinical=True).filter(pk=patient.pk).exists():
        raise PermissionDenied(_("Only the patient and their family can change this."))
    raise NotFound("Patient not found.")


def _today(patient: Patient, actor) -> dt.date:
    return selectors.patient_today(patient, actor)


def check_editable_day(day: dt.date, today: dt.date, field: str = "date") -> None:
    """Refuse future days and locked ones (older than yesterday), naming ``field``."""
    if day > today:
        raise ValidationError({field: [_("%(day)s is in the future: you can log only today or yesterday.")
                                       % {"day": day.isoformat()}]})
    if not selectors.is_editable_day(day, today):
        raise ValidationError({field: [_("%(day)s is locked: a day can be changed only on that day and the day "
                                         "after.") % {"day": day.isoformat()}]})


def _ensure_settings(patient: Patient) -> None:
    # The evening reminder looks at patients who keep a tracker: the first check-in switches it on.
    WellnessSettings.objects.get_or_create(patient=patient)


def wellness_read_record(*, actor, patient: Patient, view: str, request=None) -> None:
    """Audit a read of a patient's wellness data by anyone but the patient's own account (family,
    care-team doctors, admins)."""
    if not selectors.is_own_record(actor, patient):
        audit_record(action="wellness.viewed", actor=actor, target=patient, request=request, view=view)


# --- value checks ----------------------------------------------------------------------------------

def _whole_in_range(value, low, high, field, message, errors):
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[field] = [message]
        return None
    if number != number.to_integral_value() or not (low <= number <= high):
        errors[field] = [message]
        return None
    return int(number)


def _decimal_in_range(value, low, high, field, message, errors, places="0.1"):
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        errors[field] = [message]
        return None
    if not (Decimal(low) <= number <= Decimal(high)):
        errors[field] = [message]
        return None
    return number


def _clean_entry_data(data: dict, *, creating: bool) -> dict:
    """Validate the fields given (others are left as they are); all range errors at once."""
    errors, clean = {}, {}
    unknown = set(data) - set(ENTRY_FIELDS)
    if unknown:
        raise ValueError(f"unknown wellness entry fields: {sorted(unknown)}")
    for name, label in (("mood", _("Mood")), ("stress", _("Stress"))):
        if name in data:
            value = _whole_in_range(data[name], 1, 10, name,
                                    _("%(label)s must be a whole number from 1 to 10.") % {"label": label}, errors)
            if value is None and name not in errors:
                errors[name] = [_("Choose your %(label)s from 1 to 10.") % {"label": label.lower()}]
            clean[name] = value
        elif creating:
            errors[name] = [_("Choose your %(label)s from 1 to 10.") % {"label": label.lower()}]
    if "sleep_hours" in data:
        clean["sleep_hours"] = _decimal_in_range(data["sleep_hours"], 0, 24, "sleep_hours",
                                                 _("Sleep must be between 0 and 24 hours."), errors)
    if "meditation_minutes" in data:
        clean["meditation_minutes"] = _whole_in_range(data["meditation_minutes"], 0, 1440, "meditation_minutes",
                                                      _("Meditation must be a whole number of minutes from 0 "
                                                        "to 1440."), errors)
    if "notes" in data:
        notes = (data["notes"] or "").strip()
        if len(notes) > NOTES_MAX:
            errors["notes"] = [_("Notes can be at most %(max)d characters.") % {"max": NOTES_MAX}]
        clean["notes"] = notes
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_habit_values(patient: Patient, habit_values: dict) -> list[tuple[Habit, bool | None, Decimal | None]]:
    """[(habit, done, value)] for the habits given; yes/no habits take a bool, number habits a
    number (or None to clear it)."""
    if not habit_values:
        return []
    habits = {str(h.pk): h for h in Habit.objects.filter(patient=patient, archived_at__isnull=True,
                                                         pk__in=[str(k) for k in habit_values])}
    errors, rows = [], []
    for key, raw in habit_values.items():
        habit = habits.get(str(key))
        if habit is None:
            errors.append(_("Unknown or archived habit: %(id)s.") % {"id": key})
            continue
        if habit.kind == Habit.Kind.YES_NO:
            if raw is None or isinstance(raw, bool):
                rows.append((habit, raw, None))
            else:
                errors.append(_("%(habit)s: answer yes or no.") % {"habit": habit.name})
            continue
        if isinstance(raw, bool):
            errors.append(_("%(habit)s: give a number.") % {"habit": habit.name})
            continue
        bucket = {}
        value = _decimal_in_range(raw, 0, NUMBER_MAX, "habit",
                                  _("%(habit)s: give a number from 0 to %(max)s.") % {
                                      "habit": habit.name, "max": NUMBER_MAX}, bucket)
        if bucket:
            errors.extend(bucket["habit"])
            continue
        rows.append((habit, habit.counts_as_done(value=value), value))
    if errors:
        raise ValidationError({"habits": errors})
    return rows


# --- daily entries -------------------------------------------------------------------------------

@transaction.atomic
def wellness_entry_save(*, actor, patient: Patient, date: dt.date, data: dict,
                        habit_values: dict | None = None) -> WellnessEntry:
    """Create or update the patient's check-in for ``date`` (today or yesterday in the patient's
    zone). Only the fields in ``data`` change; ``habit_values`` is {habit id: bool or number}.
    The returned entry carries ``was_created``."""
    _require_writer(actor, patient)
    check_editable_day(date, _today(patient, actor))
    entry = WellnessEntry.objects.select_for_update().filter(patient=patient, date=date).first()
    creating = entry is None
    clean = _clean_entry_data(data, creating=creating)
    rows = _clean_habit_values(patient, habit_values or {})
    if creating:
        entry = WellnessEntry(patient=patient, date=date)
    for name, value in clean.items():
        setattr(entry, name, value)
    entry.recorded_by = actor
    entry.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        # Someone saved the same day a moment ago: update theirs instead of failing.
        entry = WellnessEntry.objects.select_for_update().get(patient=patient, date=date)
        creating = False
        for name, value in clean.items():
            setattr(entry, name, value)
        entry.recorded_by = actor
        entry.save()
    for habit, done, value in rows:
        if done is None and value is None and habit.kind == Habit.Kind.YES_NO:
            continue
        HabitLog.objects.update_or_create(habit=habit, date=date, defaults={"done": bool(done), "value": value})
    _ensure_settings(patient)
    audit_record(action="wellness.entry.created" if creating else "wellness.entry.updated", actor=actor,
                 target=patient, entry_id=str(entry.pk), date=date.isoformat(),
                 fields=sorted(clean), habits=len(rows))
    entry.was_created = creating
    return entry


# --- habits ----------------------------------------------------------------------------------------

def _clean_habit(patient: Patient, *, name, kind, unit, target, exclude_id=None) -> dict:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the habit a name.")]
    elif len(name) > 80:
        errors["name"] = [_("Keep the name under 80 characters.")]
    elif Habit.objects.filter(patient=patient, archived_at__isnull=True, name__iexact=name).exclude(
            pk=exclude_id).exists():
        errors["name"] = [_("There is already a habit called “%(name)s”.") % {"name": name}]
    if kind not in Habit.Kind.values:
        errors["kind"] = [_("Choose yes/no or a number.")]
    unit = (unit or "").strip()
    if len(unit) > 20:
        errors["unit"] = [_("Keep the unit under 20 characters.")]
    target_value = _decimal_in_range(target, 0, NUMBER_MAX, "target",
                                     _("The daily target must be a number from 0 to %(max)s.") % {"max": NUMBER_MAX},
                                     errors)
    if errors:
        raise ValidationError(errors)
    if kind == Habit.Kind.YES_NO:
        unit, target_value = "", None
    return {"name": name, "kind": kind, "unit": unit, "target": target_value}


@transaction.atomic
def habit_create(*, actor, patient: Patient, name: str, kind: str = Habit.Kind.YES_NO, unit: str = "",
                 target=None) -> Habit:
    _require_writer(actor, patient)
    habit = Habit(patient=patient, **_clean_habit(patient, name=name, kind=kind, unit=unit, target=target))
    habit.full_clean()
    habit.save()
    _ensure_settings(patient)
    audit_record(action="wellness.habit.created", actor=actor, target=patient, habit_id=str(habit.pk))
    return habit


@transaction.atomic
def habit_suggest(*, actor, patient: Patient, name: str, kind: str = Habit.Kind.YES_NO, unit: str = "",
                  target=None) -> Habit:
    """A doctor in the patient's care team adds a habit to the patient's list (marked as theirs)."""
    doctor = clinic_selectors.doctor_profile_of(actor)
    if doctor is None or not clinic_selectors.is_in_care_team(doctor, patient):
        _require_writer(actor, patient)  # 404 for strangers
        raise PermissionDenied(_("Only doctors in the patient's care team can suggest habits."))
    habit = Habit(patient=patient, suggested_by=doctor,
                  **_clean_habit(patient, name=name, kind=kind, unit=unit, target=target))
    habit.full_clean()
    habit.save()
    audit_record(action="wellness.habit.suggested", actor=actor, target=patient, habit_id=str(habit.pk))
    return habit


@transaction.atomic
def habit_update(*, actor, habit: Habit, name: str | None = None, unit: str | None = None,
                 target=...) -> Habit:
    """Rename a habit or change its unit or target (its kind stays: past logs depend on it)."""
    _require_writer(actor, habit.patient)
    if habit.archived_at is not None:
        raise ValidationError({"habit": [_("This habit is archived.")]})
    clean = _clean_habit(habit.patient, name=habit.name if name is None else name, kind=habit.kind,
                         unit=habit.unit if unit is None else unit,
                         target=habit.target if target is ... else target, exclude_id=habit.pk)
    for key in ("name", "unit", "target"):
        setattr(habit, key, clean[key])
    habit.save(update_fields=["name", "unit", "target", "updated_at"])
    audit_record(action="wellness.habit.updated", actor=actor, target=habit.patient, habit_id=str(habit.pk))
    return habit


@transaction.atomic
def habit_archive(*, actor, habit: Habit) -> Habit:
    """Stop tracking a habit; its history stays. Archiving twice changes nothing."""
    _require_writer(actor, habit.patient)
    if habit.archived_at is None:
        habit.archived_at = timezone.now()
        habit.save(update_fields=["archived_at", "updated_at"])
        audit_record(action="wellness.habit.archived", actor=actor, target=habit.patient, habit_id=str(habit.pk))
    return habit


# --- to-do list and night review ----------------------------------------------------------------------

def _clean_title(title) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("Write what you plan to do.")]})
    if len(title) > 200:
        raise ValidationError({"title": [_("Keep the task under 200 characters.")]})
    return title


@transaction.atomic
def task_add(*, actor, patient: Patient, date: dt.date, title: str, time: dt.time | None = None) -> TodoTask:
    """Plan a task for today or a coming day."""
    _require_writer(actor, patient)
    today = _today(patient, actor)
    if date < today:
        raise ValidationError({"date": [_("Plan today or a day ahead; past days cannot get new tasks.")]})
    if date > today + dt.timedelta(days=PLAN_AHEAD_DAYS):
        raise ValidationError({"date": [_("Plan at most %(days)d days ahead.") % {"days": PLAN_AHEAD_DAYS}]})
    task = TodoTask.objects.create(patient=patient, date=date, title=_clean_title(title), time=time)
    audit_record(action="wellness.task.added", actor=actor, target=patient, task_id=str(task.pk),
                 date=date.isoformat())
    return task


def _check_task_markable(task: TodoTask, actor) -> None:
    today = _today(task.patient, actor)
    if task.date > today:
        raise ValidationError({"done": [_("This task is planned for a later day.")]})
    if not selectors.is_editable_day(task.date, today):
        raise ValidationError({"done": [_("%(day)s is locked: carry unfinished tasks over to today instead.")
                                        % {"day": task.date.isoformat()}]})


@transaction.atomic
def task_done(*, actor, task: TodoTask) -> TodoTask:
    _require_writer(actor, task.patient)
    _check_task_markable(task, actor)
    if task.done_at is None:
        task.done_at = timezone.now()
        task.save(update_fields=["done_at", "updated_at"])
        audit_record(action="wellness.task.done", actor=actor, target=task.patient, task_id=str(task.pk))
    return task


@transaction.atomic
def task_undo(*, actor, task: TodoTask) -> TodoTask:
    _require_writer(actor, task.patient)
    _check_task_markable(task, actor)
    if task.done_at is not None:
        task.done_at = None
        task.save(update_fields=["done_at", "updated_at"])
        audit_record(action="wellness.task.undone", actor=actor, target=task.patient, task_id=str(task.pk))
    return task


@transaction.atomic
def task_update(*, actor, task: TodoTask, title: str | None = None, time=...) -> TodoTask:
    """Rename a task or change its time (not on locked days)."""
    _require_writer(actor, task.patient)
    today = _today(task.patient, actor)
    if task.date < today - dt.timedelta(days=1):
        raise ValidationError({"date": [_("%(day)s is locked.") % {"day": task.date.isoformat()}]})
    if title is not None:
        task.title = _clean_title(title)
    if time is not ...:
        task.time = time
    task.save(update_fields=["title", "time", "updated_at"])
    audit_record(action="wellness.task.updated", actor=actor, target=task.patient, task_id=str(task.pk))
    return task


@transaction.atomic
def task_carry_over(*, actor, patient: Patient, from_date: dt.date | None = None) -> list[TodoTask]:
    """Copy unfinished tasks of a past day (default: the last few days) to today, each linked to
    its original through ``carried_from``. Running it again carries nothing twice."""
    _require_writer(actor, patient)
    today = _today(patient, actor)
    if from_date is not None and from_date >= today:
        raise ValidationError({"from_date": [_("Carry over from a past day.")]})
    carried = []
    # of=("self",): Postgres cannot lock the nullable side of the outer join that finds tasks not yet carried.
    for original in selectors.tasks_to_carry_over(patient=patient, today=today, from_date=from_date) \
            .select_for_update(of=("self",)):
        try:
            with transaction.atomic():
                carried.append(TodoTask.objects.create(patient=patient, date=today, title=original.title,
                                                       time=original.time, carried_from=original))
        except IntegrityError:
            continue  # carried by a concurrent request
    if carried:
        audit_record(action="wellness.task.carried_over", actor=actor, target=patient, count=len(carried),
                     from_date=from_date.isoformat() if from_date else "")
    return carried


@transaction.atomic
def review_save(*, actor, patient: Patient, date: dt.date, reflection: str) -> DailyReview:
    """The night review's reflection (today or yesterday); saving it counts for the review streak."""
    _require_writer(actor, patient)
    check_editable_day(date, _today(patient, actor))
    reflection = (reflection or "").strip()
    if len(reflection) > NOTES_MAX:
        raise ValidationError({"reflection": [_("Keep the reflection under %(max)d characters.") % {"max": NOTES_MAX}]})
    review, created = DailyReview.objects.update_or_create(patient=patient, date=date,
                                                           defaults={"reflection": reflection})
    audit_record(action="wellness.review.saved", actor=actor, target=patient, date=date.isoformat(),
                 created=created)
    return review


# --- settings and the evening reminder -----------------------------------------------------------------

@transaction.atomic
def wellness_settings_update(*, actor, patient: Patient, evening_reminder: bool,
                             reminder_time: dt.time | None = None) -> WellnessSettings:
    _require_writer(actor, patient)
    prefs, _created = WellnessSettings.objects.select_for_update().get_or_create(patient=patient)
    prefs.evening_reminder = bool(evening_reminder)
    prefs.reminder_time = _reminder_time(reminder_time if reminder_time is not None else prefs.reminder_time)
    prefs.save(update_fields=["evening_reminder", "reminder_time", "updated_at"])
    audit_record(action="wellness.settings.updated", actor=actor, target=patient,
                 evening_reminder=prefs.evening_reminder, reminder_time=prefs.reminder_time.strftime("%H:%M"))
    return prefs


def _reminder_time(value) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def evening_reminders_send(*, now=None) -> int:
    """Remind the people who keep a patient's tracker, once per local day, when the patient's
    reminder time has passed and nothing was logged today. The day is claimed with a conditional
    UPDATE before anything is sent, so a beat that fires twice (or two workers) sends once.
    Returns the number of patients reminded."""
    from telehealth.models import Notification
    from telehealth.services import notification_send

    now = now or timezone.now()
    candidates = list(selectors.reminder_candidates())
    if not candidates:
        return 0
    managers: dict = {}
    for relation in (UserPatientRelation.objects.select_related("user")
                     .filter(patient_id__in=[s.patient_id for s in candidates], user__is_active=True)
                     .order_by("created_at")):
        managers.setdefault(relation.patient_id, []).append(relation.user)
    due = []
    for prefs in candidates:
        users = managers.get(prefs.patient_id)
        if not users:
            continue
        patient = prefs.patient
        zone = selectors.patient_zone(patient, users[0])
        local = now.astimezone(zone)
        today = local.date()
        if prefs.last_reminded_on is not None and prefs.last_reminded_on >= today:
            continue
        if local.time() < _reminder_time(prefs.reminder_time):
            continue
        due.append((prefs, today, users))
    if not due:
        return 0
    logged = set(WellnessEntry.objects.filter(patient_id__in=[p.patient_id for p, _d, _u in due],
                                              date__in={d for _p, d, _u in due})
                 .values_list("patient_id", "date"))
    sent = 0
    for prefs, today, users in due:
        if (prefs.patient_id, today) in logged:
            continue
        with transaction.atomic():
            claimed = (WellnessSettings.objects.filter(pk=prefs.pk, evening_reminder=True)
                       .filter(Q(last_reminded_on__isnull=True) | Q(last_reminded_on__lt=today))
                       .update(last_reminded_on=today, updated_at=now))
            if not claimed:
                continue
            for user in users:
                _remind(user, prefs.patient, today, notification_send, Notification.Kind.WELLNESS_REMINDER)
        sent += 1
    return sent


def _remind(user, patient: Patient, day: dt.date, send, kind) -> None:
    own = patient.user_id == user.pk
    try:
        url = reverse("wellness_today") + ("" if own else f"?patient={patient.pk}")
    except NoReverseMatch:  # the pages are not mounted (API-only deployment)
        url = reverse("dashboard")
    send(recipient=user, kind=kind, params={"own": own, "patient": patient.name}, url=url,
         source_key=f"wellness-reminder:{patient.pk}:{day.isoformat()}")
