"""/api/v1 for the wellness tracker: daily check-ins, habits, to-dos, night reviews, streaks and
the evening-reminder setting, all under /patients/{id}/.

The patient is fetched with the clinical access policy (404 for missing and not-yours — hospital
staff included); the services decide who may change what (403 for care-team doctors and admins,
who read; doctors may also suggest habits) and answer invalid input with 422 naming the field.
Dates are the patient's local dates.
"""

import datetime as dt
from uuid import UUID

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from pydantic import Field

from core.schemas import Day, Schema
from wellness import selectors, services
from wellness.models import Habit, TodoTask, WellnessEntry

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30

wellness_router = Router(tags=["wellness"])


# --- schemas -----------------------------------------------------------------------------------

class HabitValueOut(Schema):
    habit_id: UUID
    name: str
    kind: str
    unit: str
    done: bool
    value: float | None


class EntryOut(Schema):
    id: UUID
    date: dt.date
    mood: int
    stress: int
    sleep_hours: float | None
    meditation_minutes: int | None
    notes: str
    habits: list[HabitValueOut]
    editable: bool


class HabitValueIn(Schema):
    habit_id: UUID
    done: bool | None = Field(None, description="For yes/no habits")
    value: float | None = Field(None, description="For number habits (null clears it)")


class EntryFields(Schema):
    mood: int | None = Field(None, description="1–10")
    stress: int | None = Field(None, description="1–10")
    sleep_hours: float | None = Field(None, description="0–24, one decimal")
    meditation_minutes: int | None = Field(None, description="0–1440")
    notes: str | None = None
    habits: list[HabitValueIn] = Field([], max_length=200)


class EntryIn(EntryFields):
    date: dt.date


class RangeQuery(Schema):
    from_: dt.date | None = Field(None, alias="from", description="First day (default: 30 days ago)")
    to: dt.date | None = Field(None, description="Last day, inclusive (default: today)")


class HabitOut(Schema):
    id: UUID
    name: str
    kind: str
    unit: str
    target: float | None
    suggested_by: str | None
    archived_at: dt.datetime | None
    streak: int | None = None


class HabitIn(Schema):
    name: str
    kind: str = Habit.Kind.YES_NO
    unit: str = ""
    target: float | None = None


class HabitUpdateIn(Schema):
    name: str | None = None
    unit: str | None = None
    target: float | None = None


class TaskOut(Schema):
    id: UUID
    date: dt.date
    title: str
    time: dt.time | None
    done: bool
    done_at: dt.datetime | None
    carried_from: UUID | None


class TaskIn(Schema):
    title: str
    date: dt.date | None = Field(None, description="Default: today (the patient's)")
    time: dt.time | None = None


class TaskUpdateIn(Schema):
    done: bool | None = None
    title: str | None = None
    time: dt.time | None = None


class TasksQuery(Schema):
    date: dt.date | None = Field(None, description="Default: today (the patient's)")


class CarryOverIn(Schema):
    from_date: dt.date | None = Field(None, description="A past day; default: the last 7 days")


class ReviewOut(Schema):
    date: dt.date
    reflection: str


class ReviewIn(Schema):
    reflection: str = ""


class StreaksOut(Schema):
    today: dt.date
    entries: int
    reviews: int
    habits: dict[str, int]


class SettingsOut(Schema):
    evening_reminder: bool
    reminder_time: dt.time


class SettingsIn(Schema):
    evening_reminder: bool
    reminder_time: dt.time | None = None


# --- helpers -----------------------------------------------------------------------------------

def _patient(request, patient_id, view: str | None = None):
    patient = selectors.wellness_patient_get(fetched_by=request.auth, patient_id=patient_id)
    if view:
        services.wellness_read_record(actor=request.auth, patient=patient, view=view, request=request)
    return patient


def _entries_out(patient, entries: list[WellnessEntry], today: dt.date) -> list[dict]:
    if not entries:
        return []
    days = [e.date for e in entries]
    logs = selectors.habit_logs(patient=patient, date_from=min(days), date_to=max(days))
    habits = {h.pk: h for h in Habit.objects.filter(patient=patient)}
    by_day: dict = {}
    for (habit_id, day), log in sorted(logs.items(), key=lambda item: habits[item[0][0]].name.casefold()):
        habit = habits[habit_id]
        by_day.setdefault(day, []).append({
            "habit_id": habit.pk, "name": habit.name, "kind": habit.kind, "unit": habit.unit,
            "done": habit.counts_as_done(done=log.done, value=log.value),
            "value": float(log.value) if log.value is not None else None})
    return [{"id": e.pk, "date": e.date, "mood": e.mood, "stress": e.stress,
             "sleep_hours": float(e.sleep_hours) if e.sleep_hours is not None else None,
             "meditation_minutes": e.meditation_minutes, "notes": e.notes, "habits": by_day.get(e.date, []),
             "editable": selectors.is_editable_day(e.date, today)} for e in entries]


def _habit_values(items: list[HabitValueIn]) -> dict:
    return {str(item.habit_id): item.value if item.value is not None else item.done for item in items}


def _save_entry(request, patient, day: dt.date, payload: EntryFields):
    fields = payload.dict(exclude_unset=True)
    fields.pop("habits", None)
    fields.pop("date", None)
    entry = services.wellness_entry_save(actor=request.auth, patient=patient, date=day, data=fields,
                                         habit_values=_habit_values(payload.habits))
    today = selectors.patient_today(patient, request.auth)
    return entry, _entries_out(patient, [entry], today)[0]


def _habit_out(habit: Habit, streak: int | None = None) -> dict:
    return {"id": habit.pk, "name": habit.name, "kind": habit.kind, "unit": habit.unit,
            "target": float(habit.target) if habit.target is not None else None,
            "suggested_by": habit.suggested_by.name if habit.suggested_by_id else None,
            "archived_at": habit.archived_at, "streak": streak}


def _task_out(task: TodoTask) -> dict:
    return {"id": task.pk, "date": task.date, "title": task.title, "time": task.time,
            "done": task.done_at is not None, "done_at": task.done_at, "carried_from": task.carried_from_id}


# --- daily entries -------------------------------------------------------------------------------

@wellness_router.get("/{uuid:patient_id}/wellness", response=list[EntryOut],
                     summary="Daily check-ins in a date range (from/to: the patient's dates, ≤ 366 days)")
def wellness_entries_list(request, patient_id: UUID, query: Query[RangeQuery]):
    patient = _patient(request, patient_id)
    today = selectors.patient_today(patient, request.auth)
    date_to = query.to or today
    date_from = query.from_ or date_to - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if date_from > date_to:
        raise ValidationError({"from": [_("The start of the range must not be after its end.")]})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationError({"to": [_("Ask for at most %(days)d days at a time.") % {"days": MAX_RANGE_DAYS}]})
    services.wellness_read_record(actor=request.auth, patient=patient, view="api:entries", request=request)
    entries = list(selectors.wellness_entries(patient=patient, date_from=date_from, date_to=date_to))
    return _entries_out(patient, entries, today)


@wellness_router.post("/{uuid:patient_id}/wellness", response={200: EntryOut, 201: EntryOut},
                      summary="Check in for a day (today or yesterday): creates it, or updates the fields given")
def wellness_entry_post(request, patient_id: UUID, payload: EntryIn):
    patient = _patient(request, patient_id)
    entry, body = _save_entry(request, patient, payload.date, payload)
    return Status(201 if entry.was_created else 200, body)


@wellness_router.get("/{uuid:patient_id}/wellness/streaks", response=StreaksOut,
                     summary="Days in a row with a check-in, a night review, and each habit done")
def wellness_streaks(request, patient_id: UUID):
    patient = _patient(request, patient_id, view="api:streaks")
    today = selectors.patient_today(patient, request.auth)
    result = selectors.streaks(patient, today=today)
    return {"today": today, "entries": result.entries, "reviews": result.reviews,
            "habits": {str(k): v for k, v in result.habits.items()}}


@wellness_router.get("/{uuid:patient_id}/wellness/settings", response=SettingsOut,
                     summary="The evening reminder setting")
def wellness_settings_get(request, patient_id: UUID):
    patient = _patient(request, patient_id, view="api:settings")
    return selectors.wellness_settings_of(patient)


@wellness_router.put("/{uuid:patient_id}/wellness/settings", response=SettingsOut,
                     summary="Turn the evening reminder on or off, or change its time")
def wellness_settings_put(request, patient_id: UUID, payload: SettingsIn):
    patient = _patient(request, patient_id)
    return services.wellness_settings_update(actor=request.auth, patient=patient,
                                             evening_reminder=payload.evening_reminder,
                                             reminder_time=payload.reminder_time)


# Declared after /wellness/streaks and /wellness/settings: {date} would match those words.
@wellness_router.put("/{uuid:patient_id}/wellness/{date}", response=EntryOut,
                     summary="Change the check-in of an editable day (today or yesterday)")
def wellness_entry_put(request, patient_id: UUID, date: Day, payload: EntryFields):
    patient = _patient(request, patient_id)
    _entry, body = _save_entry(request, patient, date, payload)
    return body


# --- habits ----------------------------------------------------------------------------------------

@wellness_router.get("/{uuid:patient_id}/habits", response=list[HabitOut],
                     summary="The patient's habits (archived ones with ?archived=true)")
def habits_list(request, patient_id: UUID, archived: bool = False):
    patient = _patient(request, patient_id, view="api:habits")
    habits = list(selectors.habits_of(patient=patient, archived=archived))
    streak = selectors.streaks(patient, today=selectors.patient_today(patient, request.auth), habits=habits)
    return [_habit_out(h, streak.habits.get(h.pk)) for h in habits]


@wellness_router.post("/{uuid:patient_id}/habits", response={201: HabitOut},
                      summary="Add a habit (the patient or family), or suggest one (a care-team doctor)")
def habit_create(request, patient_id: UUID, payload: HabitIn):
    patient = _patient(request, patient_id)
    values = {"name": payload.name, "kind": payload.kind, "unit": payload.unit, "target": payload.target}
    if selectors.can_write_wellness(request.auth, patient):
        habit = services.habit_create(actor=request.auth, patient=patient, **values)
    else:
        habit = services.habit_suggest(actor=request.auth, patient=patient, **values)
    return Status(201, _habit_out(habit))


@wellness_router.put("/{uuid:patient_id}/habits/{uuid:habit_id}", response=HabitOut,
                     summary="Rename a habit, or change its unit or target")
def habit_update(request, patient_id: UUID, habit_id: UUID, payload: HabitUpdateIn):
    patient = _patient(request, patient_id)
    habit = selectors.habit_get(patient=patient, habit_id=habit_id)
    given = payload.dict(exclude_unset=True)
    habit = services.habit_update(actor=request.auth, habit=habit, name=given.get("name"), unit=given.get("unit"),
                                  target=given["target"] if "target" in given else ...)
    return _habit_out(habit)


@wellness_router.delete("/{uuid:patient_id}/habits/{uuid:habit_id}", response={204: None},
                        summary="Archive a habit (its history is kept)")
def habit_archive(request, patient_id: UUID, habit_id: UUID):
    patient = _patient(request, patient_id)
    habit = selectors.habit_get(patient=patient, habit_id=habit_id)
    services.habit_archive(actor=request.auth, habit=habit)
    return Status(204, None)


# --- to-do list and night review ------------------------------------------------------------------------

@wellness_router.get("/{uuid:patient_id}/tasks", response=list[TaskOut], summary="A day's tasks (default: today)")
def tasks_list(request, patient_id: UUID, query: Query[TasksQuery]):
    patient = _patient(request, patient_id, view="api:tasks")
    day = query.date or selectors.patient_today(patient, request.auth)
    return [_task_out(t) for t in selectors.tasks_of_day(patient=patient, date=day)]


@wellness_router.post("/{uuid:patient_id}/tasks", response={201: TaskOut},
                      summary="Plan a task for today or a coming day")
def task_create(request, patient_id: UUID, payload: TaskIn):
    patient = _patient(request, patient_id)
    day = payload.date or selectors.patient_today(patient, request.auth)
    task = services.task_add(actor=request.auth, patient=patient, date=day, title=payload.title, time=payload.time)
    return Status(201, _task_out(task))


@wellness_router.put("/{uuid:patient_id}/tasks/{uuid:task_id}", response=TaskOut,
                     summary="Mark a task done or not done, or change its title or time")
def task_update(request, patient_id: UUID, task_id: UUID, payload: TaskUpdateIn):
    patient = _patient(request, patient_id)
    task = selectors.task_get(patient=patient, task_id=task_id)
    given = payload.dict(exclude_unset=True)
    if "title" in given or "time" in given:
        task = services.task_update(actor=request.auth, task=task, title=given.get("title"),
                                    time=given["time"] if "time" in given else ...)
    if given.get("done") is True:
        task = services.task_done(actor=request.auth, task=task)
    elif given.get("done") is False:
        task = services.task_undo(actor=request.auth, task=task)
    elif not given:
        raise ValidationError({"done": [_("Give done, title or time.")]})
    return _task_out(task)


@wellness_router.post("/{uuid:patient_id}/tasks/carry-over", response=list[TaskOut],
                      summary="Copy unfinished tasks of past days to today (again: nothing is copied twice)")
def tasks_carry_over(request, patient_id: UUID, payload: CarryOverIn | None = None):
    patient = _patient(request, patient_id)
    carried = services.task_carry_over(actor=request.auth, patient=patient,
                                       from_date=payload.from_date if payload else None)
    return [_task_out(t) for t in carried]


@wellness_router.get("/{uuid:patient_id}/reviews/{date}", response=ReviewOut, summary="A day's night review")
def review_get(request, patient_id: UUID, date: Day):
    patient = _patient(request, patient_id, view="api:review")
    review = selectors.review_of_day(patient=patient, date=date)
    return {"date": date, "reflection": review.reflection if review else ""}


@wellness_router.put("/{uuid:patient_id}/reviews/{date}", response=ReviewOut,
                     summary="Save the night review of today or yesterday")
def review_put(request, patient_id: UUID, date: Day, payload: ReviewIn):
    patient = _patient(request, patient_id)
    return services.review_save(actor=request.auth, patient=patient, date=date, reflection=payload.reflection)
