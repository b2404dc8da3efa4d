"""Patient-side wellness pages: today's check-in (and yesterday's), habits, the morning plan and
night review, the evening-reminder setting, and the dashboard's quick-entry card.

For the people who keep a patient's tracker — the patient and linked family (``?patient=<id>``
switches between them); everyone else gets 404. Reads through wellness.selectors, writes through
wellness.services; reads by family are audited there.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import attach_errors
from core.errors import DomainError, NotFound
from wellness import selectors, services
from wellness.forms import CheckInForm, HabitForm, QuickCheckInForm, ReminderSettingsForm, ReviewForm, TaskForm

# --- helpers ---------------------------------------------------------------------------------------


def _patient(request):
    patient_id = request.GET.get("patient") or request.POST.get("patient")
    try:
        return selectors.wellness_managed_patient_get(fetched_by=request.user, patient_id=patient_id)
    except NotFound as exc:
        raise Http404 from exc
    except (ValueError, ValidationError) as exc:  # a malformed id
        raise Http404 from exc


def _url(name, patient, request=None, *args, **query) -> str:
    """A wellness URL that keeps the chosen patient (when it is not the user's own record)."""
    if request is not None and patient.user_id != request.user.pk:
        query = {"patient": patient.pk, **query}
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _parse_day(value) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def _base_context(request, patient, view: str) -> dict:
    services.wellness_read_record(actor=request.user, patient=patient, view=view, request=request)
    patients = selectors.wellness_patients_managed(request.user)
    return {"patient": patient, "patients": patients, "is_own": patient.user_id == request.user.pk,
            "patient_query": "" if patient.user_id == request.user.pk else f"?patient={patient.pk}"}


def _is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request


# --- today ------------------------------------------------------------------------------------------

def _today_context(request, patient, *, bound: dict | None = None) -> dict:
    today = selectors.patient_today(patient, request.user)
    yesterday = today - dt.timedelta(days=1)
    first = today - dt.timedelta(days=selectors.HISTORY_DAYS - 1)
    habits = list(selectors.habits_of(patient=patient))
    entries = {e.date: e for e in selectors.wellness_entries(patient=patient, date_from=first, date_to=today)}
    logs = selectors.habit_logs(patient=patient, date_from=first, date_to=today)
    bound = bound or {}

    def form_for(day, prefix):
        if day in bound:
            return bound[day]
        return CheckInForm(prefix=prefix, habits=habits,
                           initial=CheckInForm.initial_for(entries.get(day), habits, logs, day))

    history = []
    for offset in range(selectors.HISTORY_DAYS):
        day = today - dt.timedelta(days=offset)
        done = [h for h in habits if (log := logs.get((h.pk, day))) is not None
                and h.counts_as_done(done=log.done, value=log.value)]
        history.append({"date": day, "entry": entries.get(day), "habits_done": len(done),
                        "habit_names": [h.name for h in done]})
    prefs = selectors.wellness_settings_of(patient)
    streak = selectors.streaks(patient, today=today, habits=habits)
    return {
        "today": today, "yesterday": yesterday,
        "today_entry": entries.get(today), "yesterday_entry": entries.get(yesterday),
        "today_form": form_for(today, "today"), "yesterday_form": form_for(yesterday, "yesterday"),
        "habits": habits, "history": history, "streaks": streak,
        "habit_streaks": [(h, streak.habits.get(h.pk, 0)) for h in habits],
        "settings_form": ReminderSettingsForm(initial={"evening_reminder": prefs.evening_reminder,
                                                       "reminder_time": prefs.reminder_time}),
    }


@login_required
@require_GET
def wellness_today(request):
    patient = _patient(request)
    context = _base_context(request, patient, "page:today")
    context.update(_today_context(request, patient))
    return render(request, "wellness/today.html", context)


@login_required
@require_POST
def wellness_day_save(request, day):
    patient = _patient(request)
    day = _parse_day(day)
    today = selectors.patient_today(patient, request.user)
    prefix = "today" if day == today else "yesterday"
    try:
        services.check_editable_day(day, today)
    except ValidationError as exc:  # only today and yesterday have forms on the page
        messages.error(request, " ".join(exc.messages))
        context = _base_context(request, patient, "page:today")
        context.update(_today_context(request, patient))
        return render(request, "wellness/today.html", context, status=422)
    habits = list(selectors.habits_of(patient=patient))
    form = CheckInForm(request.POST, prefix=prefix, habits=habits)
    if form.is_valid():
        try:
            services.wellness_entry_save(actor=request.user, patient=patient, date=day, data=form.entry_data(),
                                         habit_values=form.habit_values())
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_url("wellness_today", patient, request))
        else:
            messages.success(request, _("Saved your check-in for %(day)s.") % {
                "day": _("today") if day == today else _("yesterday") if day == today - dt.timedelta(days=1)
                else day.isoformat()})
            return redirect(_url("wellness_today", patient, request))
    context = _base_context(request, patient, "page:today")
    context.update(_today_context(request, patient, bound={day: form}))
    context["open_day"] = prefix
    return render(request, "wellness/today.html", context, status=422 if not _is_htmx(request) else 200)


@login_required
@require_POST
def wellness_settings(request):
    patient = _patient(request)
    form = ReminderSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.wellness_settings_update(actor=request.user, patient=patient,
                                              evening_reminder=form.cleaned_data["evening_reminder"],
                                              reminder_time=form.cleaned_data["reminder_time"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reminder settings saved."))
    else:
        messages.error(request, _("Give the reminder time as hours and minutes."))
    return redirect(_url("wellness_today", patient, request) + "#reminder")


# --- quick entry (dashboard card) ------------------------------------------------------------------

def quick_entry_context(user, patient, *, form=None, just_logged=False) -> dict:
    today = selectors.patient_today(patient, user)
    entry = selectors.wellness_entry_of_day(patient=patient, date=today)
    return {"qe_patient": patient, "qe_entry": entry, "qe_form": form or QuickCheckInForm(prefix="qe"),
            "qe_just_logged": just_logged, "qe_is_own": patient.user_id == user.pk,
            "qe_today": today}


@login_required
@require_POST
def wellness_quick_entry(request):
    patient = _patient(request)
    form = QuickCheckInForm(request.POST, prefix="qe")
    if form.is_valid():
        today = selectors.patient_today(patient, request.user)
        try:
            services.wellness_entry_save(actor=request.user, patient=patient, date=today, data=form.entry_data())
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if _is_htmx(request):
                response = render(request, "wellness/_quick_entry_card.html",
                                  quick_entry_context(request.user, patient, just_logged=True))
                patch_vary_headers(response, ["HX-Request"])
                return response
            messages.success(request, _("Logged ✓ Thank you for checking in."))
            return redirect("dashboard")
    context = quick_entry_context(request.user, patient, form=form)
    if _is_htmx(request):
        response = render(request, "wellness/_quick_entry_card.html", context)
    else:
        response = render(request, "wellness/quick_entry.html", context, status=422)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- habits -----------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def wellness_habits(request):
    patient = _patient(request)
    form = HabitForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                habit = services.habit_create(actor=request.user, patient=patient, name=d["name"], kind=d["kind"],
                                              unit=d["unit"], target=d["target"])
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Added “%(name)s” to your check-in.") % {"name": habit.name})
                return redirect(_url("wellness_habits", patient, request))
    context = _base_context(request, patient, "page:habits")
    today = selectors.patient_today(patient, request.user)
    habits = list(selectors.habits_of(patient=patient))
    streak = selectors.streaks(patient, today=today, habits=habits)
    context.update(form=form, habits=[(h, streak.habits.get(h.pk, 0)) for h in habits],
                   archived=list(selectors.habits_of(patient=patient, archived=True)[:20]), streaks=streak)
    return render(request, "wellness/habits.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def wellness_habit_archive(request, habit_id):
    patient = _patient(request)
    try:
        habit = selectors.habit_get(patient=patient, habit_id=habit_id)
        services.habit_archive(actor=request.user, habit=habit)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Archived “%(name)s”. Its history is kept.") % {"name": habit.name})
    return redirect(_url("wellness_habits", patient, request))


# --- plan and review -------------------------------------------------------------------------------

def _plan_day(request, patient, today) -> dt.date:
    value = request.GET.get("date") or request.POST.get("date")
    if not value:
        return today
    day = _parse_day(value)
    if not (today - dt.timedelta(days=1) <= day <= today + dt.timedelta(days=1)):
        raise Http404
    return day


def _plan_context(request, patient, day, today, *, task_form=None, review_form=None) -> dict:
    review = selectors.review_of_day(patient=patient, date=day)
    carry = list(selectors.tasks_to_carry_over(patient=patient, today=today)) if day == today else []
    tasks = list(selectors.tasks_of_day(patient=patient, date=day))
    days = [(today - dt.timedelta(days=1), _("Yesterday")), (today, _("Today")),
            (today + dt.timedelta(days=1), _("Tomorrow"))]
    return {
        "day": day, "today": today, "tasks": tasks, "carry": carry,
        "done_count": sum(1 for t in tasks if t.done_at), "day_tabs": days,
        "can_mark": selectors.is_editable_day(day, today), "can_review": selectors.is_editable_day(day, today),
        "task_form": task_form or TaskForm(),
        "review_form": review_form or ReviewForm(initial={"reflection": review.reflection if review else ""}),
        "review": review,
        "review_streak": selectors.streaks(patient, today=today, habits=[]).reviews,
    }


@login_required
@require_GET
def wellness_plan(request):
    patient = _patient(request)
    today = selectors.patient_today(patient, request.user)
    day = _plan_day(request, patient, today)
    context = _base_context(request, patient, "page:plan")
    context.update(_plan_context(request, patient, day, today))
    return render(request, "wellness/plan.html", context)


def _plan_redirect(request, patient, day, today):
    query = {} if day == today else {"date": day.isoformat()}
    return redirect(_url("wellness_plan", patient, request, **query))


@login_required
@require_POST
def wellness_task_add(request):
    patient = _patient(request)
    today = selectors.patient_today(patient, request.user)
    day = _plan_day(request, patient, today)
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            services.task_add(actor=request.user, patient=patient, date=day, title=form.cleaned_data["title"],
                              time=form.cleaned_data["time"])
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return _plan_redirect(request, patient, day, today)
    context = _base_context(request, patient, "page:plan")
    context.update(_plan_context(request, patient, day, today, task_form=form))
    return render(request, "wellness/plan.html", context, status=422)


@login_required
@require_POST
def wellness_task_toggle(request, task_id):
    patient = _patient(request)
    try:
        task = selectors.task_get(patient=patient, task_id=task_id)
    except NotFound as exc:
        raise Http404 from exc
    today = selectors.patient_today(patient, request.user)
    try:
        if request.POST.get("done") == "1":
            services.task_done(actor=request.user, task=task)
        else:
            services.task_undo(actor=request.user, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.message)
    if _is_htmx(request):
        response = render(request, "wellness/_task.html", {
            "task": task, "patient": patient, "can_mark": selectors.is_editable_day(task.date, today),
            "patient_query": "" if patient.user_id == request.user.pk else f"?patient={patient.pk}"})
        patch_vary_headers(response, ["HX-Request"])
        return response
    return _plan_redirect(request, patient, task.date, today)


@login_required
@require_POST
def wellness_carry_over(request):
    patient = _patient(request)
    today = selectors.patient_today(patient, request.user)
    try:
        carried = services.task_carry_over(actor=request.user, patient=patient)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if carried:
            messages.success(request, ngettext("Carried %(count)d unfinished task over to today.",
                                               "Carried %(count)d unfinished tasks over to today.",
                                               len(carried)) % {"count": len(carried)})
        else:
            messages.info(request, _("Nothing left to carry over."))
    return _plan_redirect(request, patient, today, today)


@login_required
@require_POST
def wellness_review_save(request):
    patient = _patient(request)
    today = selectors.patient_today(patient, request.user)
    day = _plan_day(request, patient, today)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_save(actor=request.user, patient=patient, date=day,
                                 reflection=form.cleaned_data["reflection"])
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Night review saved. Rest well."))
            return _plan_redirect(request, patient, day, today)
    context = _base_context(request, patient, "page:plan")
    context.update(_plan_context(request, patient, day, today, review_form=form))
    return render(request, "wellness/plan.html", context, status=422)

