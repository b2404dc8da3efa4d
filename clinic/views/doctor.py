"""Doctor pages: weekly schedule and exceptions, emergency queue, care-team patients, and the data
of the doctor dashboard. Reads go through clinic.selectors, writes through clinic.services."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import attach_errors
from analytics.services import audit_record
from clinic import scheduling, selectors, services
from clinic.forms_doctor import ExceptionForm, SearchForm, WindowFormSet
from clinic.models import AppointmentStatus, DoctorProfile
from core.errors import Conflict, DomainError, NotFound
from wellness import risk

PAGE_SIZE = 25


def _doctor_or_404(request) -> DoctorProfile:
    doctor = selectors.doctor_profile_of(request.user)
    if doctor is None:
        raise Http404
    return doctor


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return redirect(default).url


def appointment_path(appointment) -> str:
    # The appointment page belongs to the patient pages (route name "appointment_detail").
    return f"/appointments/{appointment.pk}/"


# --- dashboard -------------------------------------------------------------------------------------

def doctor_dashboard_context(user) -> dict:
    """Everything templates/dashboards/doctor.html shows, in a fixed number of queries."""
    doctor = selectors.doctor_profile_of(user)
    if doctor is None:
        return {"profile": getattr(user, "doctor_profile", None), "availability": []}
    zone = scheduling.doctor_zone(doctor)
    now = timezone.now()
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    week_start = dt.datetime.combine(monday, dt.time.min, tzinfo=zone)
    week_end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    appointments = list(selectors.doctor_appointments_between(fetched_by=user, doctor=doctor, start=week_start,
                                                              end=week_end))
    by_day = {monday + dt.timedelta(days=i): [] for i in range(7)}
    for appointment in appointments:
        day = appointment.start.astimezone(zone).date()
        if day in by_day:
            by_day[day].append(appointment)
    requests = list(selectors.doctor_requests_to_confirm(fetched_by=user, doctor=doctor, now=now)[:11])
    # Wellness triage: three queries and one audit row whatever the number of patients. The
    # ranking covers every care-team patient, so it also gives the "High risk" badges.
    care_team = risk.ranking_rows(doctor=doctor, month=today.replace(day=1))
    ranking = [row for row in care_team if row.avg_stress is not None]
    audit_record(action="risk.viewed", actor=user, page="dashboard")
    return {
        "stress_ranking": ranking[:5],
        "stress_ranking_count": len(ranking),
        "stress_month": today.replace(day=1),
        "flagged": list(risk.live_flags(doctor=doctor)[:8]),
        "follow_ups": list(risk.follow_ups_open(doctor=doctor, due_by=today + dt.timedelta(days=3))[:8]),
        "high_risk_ids": {row.pk for row in care_team if row.high_risk},
        "rule_labels": risk.RULE_LABELS,
        "profile": doctor,
        "availability": list(doctor.availability.select_related("hospital")),
        "tz_name": zone.key,
        "today": today,
        "today_appointments": by_day[today],
        "week": [{"date": day, "is_today": day == today, "appointments": items} for day, items in by_day.items()],
        "week_count": sum(len(items) for items in by_day.values()),
        "emergencies": list(selectors.emergency_queue(doctor)),
        "requests": requests[:10],
        "more_requests": len(requests) > 10,
        "now": now,
    }


# --- weekly schedule and exceptions -------------------------------------------------------------------

def _place_options(doctor: DoctorProfile):
    """(choices, valid ids, hospitals by id). Choices: the doctor's hospitals, plus any a saved
    window still points at (so saving again shows the service's message instead of losing it)."""
    linked = list(selectors.hospitals_of_doctor(doctor))
    choices = [(str(h.pk), h.name) for h in linked]
    linked_ids = {str(h.pk) for h in linked}
    for window in doctor.availability.select_related("hospital"):
        if window.hospital_id and str(window.hospital_id) not in linked_ids:
            linked_ids.add(str(window.hospital_id))
            choices.append((str(window.hospital_id), _("%(name)s (you no longer work here)") % {
                "name": window.hospital.name}))
    valid_ids = {str(pk) for pk in selectors.hospitals_directory().values_list("pk", flat=True)}
    return choices, valid_ids


def _window_formset(doctor, data=None, choices=(), valid_ids=()):
    if data is not None:
        return WindowFormSet(data, prefix="windows", place_choices=choices, valid_place_ids=valid_ids)
    initial = [{"weekday": w.weekday, "start_time": w.start_time, "end_time": w.end_time,
                "place": str(w.hospital_id) if w.hospital_id else "", "slot_minutes": w.slot_minutes,
                "buffer_minutes": w.buffer_minutes} for w in doctor.availability.all()]
    formset = WindowFormSet(initial=initial, prefix="windows", place_choices=choices, valid_place_ids=valid_ids)
    formset.extra = 3 if initial else 5
    return formset


def _schedule_page(request, doctor, *, formset=None, exception_form=None, schedule_errors=(), status=200):
    choices, valid_ids = _place_options(doctor)
    if formset is None:
        formset = _window_formset(doctor, choices=choices, valid_ids=valid_ids)
    if not formset.is_bound:
        for i, form in enumerate(formset.forms):
            form.row_number = i + 1 if i < formset.initial_form_count() else None
    return render(request, "clinic/doctor/schedule.html", {
        "formset": formset, "schedule_errors": list(schedule_errors),
        "exception_form": exception_form or ExceptionForm(),
        "exceptions": selectors.availability_exceptions_upcoming(doctor=doctor, now=timezone.now()),
        "tz_name": scheduling.doctor_zone(doctor).key, "has_hospitals": bool(choices),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def doctor_schedule(request):
    doctor = _doctor_or_404(request)
    if request.method == "GET":
        return _schedule_page(request, doctor)
    choices, valid_ids = _place_options(doctor)
    data = request.POST
    if "add_rows" in data:
        data = data.copy()
        try:
            total = int(data.get("windows-TOTAL_FORMS", "0"))
        except ValueError:
            total = 0
        data["windows-TOTAL_FORMS"] = str(max(0, min(total + 3, 60)))
    formset = _window_formset(doctor, data, choices, valid_ids)
    valid = formset.is_valid()
    formset.number_rows()
    if "add_rows" in data or not valid:
        return _schedule_page(request, doctor, formset=formset)
    chosen = {f.cleaned_data["place"] for f in formset.kept_forms() if f.cleaned_data["place"]}
    hospitals = {str(h.pk): h for h in selectors.hospitals_directory().filter(pk__in=chosen)}
    try:
        services.availability_replace(doctor=doctor, actor=request.user, windows=formset.windows(hospitals))
    except ValidationError as exc:
        return _schedule_page(request, doctor, formset=formset, schedule_errors=exc.messages)
    except DomainError as exc:
        return _schedule_page(request, doctor, formset=formset, schedule_errors=[exc.message])
    messages.success(request, _("Your weekly schedule was saved."))
    return redirect("doctor_schedule")


@login_required
@require_POST
def doctor_exception_add(request):
    doctor = _doctor_or_404(request)
    form = ExceptionForm(request.POST)
    # The times are typed in the doctor's own zone, whatever zone the server runs in.
    with timezone.override(scheduling.doctor_zone(doctor)):
        valid = form.is_valid()
    if valid:
        d = form.cleaned_data
        try:
            services.availability_exception_add(doctor=doctor, actor=request.user, start=d["start"], end=d["end"],
                                                kind=d["kind"], reason=d["reason"].strip())
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The exception was added."))
            return redirect("doctor_schedule")
    return _schedule_page(request, doctor, exception_form=form, status=400)


@login_required
@require_POST
def doctor_exception_remove(request, exception_id):
    _doctor_or_404(request)
    try:
        exception = selectors.availability_exception_get(fetched_by=request.user, exception_id=exception_id)
        services.availability_exception_remove(actor=request.user, exception=exception)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The exception was removed."))
    return redirect("doctor_schedule")


# --- requests and emergencies ----------------------------------------------------------------------------

@login_required
@require_POST
def doctor_appointment_confirm(request, appointment_id):
    _doctor_or_404(request)
    try:
        appointment = selectors.appointment_get(fetched_by=request.user, appointment_id=appointment_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        services.appointment_confirm(actor=request.user, appointment=appointment)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The appointment with %(name)s on %(when)s is confirmed.") % {
            "name": appointment.patient.name,
            "when": date_format(timezone.localtime(appointment.start), "SHORT_DATETIME_FORMAT")})
    return redirect(_back(request, "dashboard"))


@login_required
@require_GET
def emergency_queue(request):
    doctor = _doctor_or_404(request)
    emergencies = list(selectors.emergency_queue(doctor))
    services.appointments_read_record(actor=request.user, appointments=emergencies, via="emergency_queue",
                                      request=request, shown=lambda a: ("reason",))
    return render(request, "clinic/doctor/emergencies.html", {
        "emergencies": emergencies, "now": timezone.now(),
        "tz_name": scheduling.doctor_zone(doctor).key,
    })


@require_GET
def emergency_queue_count(request):
    """The navigation badge, polled by htmx. A signed-out poll stops polling (htmx: 286) instead of
    swapping the sign-in page into the badge."""
    if not request.user.is_authenticated:
        if request.htmx:
            return HttpResponse(status=286)
        return redirect_to_login(request.get_full_path())
    doctor = _doctor_or_404(request)
    response = render(request, "clinic/doctor/_emergency_count.html",
                      {"count": selectors.emergency_queue_count(doctor)})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def emergency_accept(request, appointment_id):
    doctor = _doctor_or_404(request)
    try:
        appointment = selectors.emergency_alerted_get(fetched_by=request.user, appointment_id=appointment_id)
    except NotFound as exc:
        raise Http404 from exc
    if appointment.doctor_id == doctor.pk:
        messages.info(request, _("You have already accepted this emergency."))
        return redirect(appointment_path(appointment))
    if appointment.doctor_id is None and appointment.status != AppointmentStatus.REQUESTED:
        messages.warning(request, _("This emergency request is no longer waiting for a doctor."))
        return redirect(_back(request, "emergency_queue"))
    try:
        services.emergency_accept(actor=request.user, appointment=appointment)
    except Conflict as exc:
        messages.warning(request, exc.message)
    except NotFound:
        # Accepted by a doctor outside this doctor's view of the patient: still say who.
        current = selectors.emergency_alerted_get(fetched_by=request.user, appointment_id=appointment_id)
        if current.doctor_id is None:
            messages.warning(request, _("This emergency request is no longer waiting for a doctor."))
        else:
            messages.warning(request, _("This emergency was already accepted by %(name)s.") % {
                "name": current.doctor.user.name})
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You accepted the emergency of %(name)s. The patient can see that you are "
                                    "on your way.") % {"name": appointment.patient.name})
        return redirect(appointment_path(appointment))
    return redirect(_back(request, "emergency_queue"))


# --- patients ----------------------------------------------------------------------------------------------

@login_required
@require_GET
def doctor_patients(request):
    doctor = _doctor_or_404(request)
    form = SearchForm(request.GET or None)
    search = form.cleaned_data["q"].strip() if form.is_valid() else ""
    patients = selectors.care_team_patients(fetched_by=request.user, doctor=doctor, search=search)
    patients = risk.annotate_high_risk(patients)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clinic/doctor/patients.html", {"form": form, "page": page, "search": search,
                                                            "tz_name": scheduling.doctor_zone(doctor).key})


@login_required
@require_GET
def doctor_patient_detail(request, patient_id):
    _doctor_or_404(request)
    try:
        patient = selectors.patient_get(fetched_by=request.user, patient_id=patient_id)
    except NotFound as exc:
        raise Http404 from exc
    return patient_detail_page(request, patient)


def patient_detail_page(request, patient, *, raise_form=None, status=200):
    """The doctor's patient page (call after ``patient_get``); the wellness views re-render it with
    the errors of the "mark high-risk" form."""
    from wellness.views_doctor import patient_wellness_context

    audit_record(action="patient.viewed", actor=request.user, target=patient, request=request, page="doctor")
    history = selectors.patient_appointment_history(fetched_by=request.user, patient=patient)
    page = Paginator(history, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clinic/doctor/patient_detail.html", {
        "patient": patient, "page": page,
        "hospitals": selectors.hospitals_of_patient(patient),
        "care_team": selectors.care_team_of(patient),
        "tz_name": request.user.timezone,
        **patient_wellness_context(request, patient, raise_form=raise_form),
    }, status=status)


urlpatterns = [
    path("doctor/schedule/", doctor_schedule, name="doctor_schedule"),
    path("doctor/schedule/exceptions/add/", doctor_exception_add, name="doctor_exception_add"),
    path("doctor/schedule/exceptions/<uuid:exception_id>/remove/", doctor_exception_remove,
         name="doctor_exception_remove"),
    path("doctor/appointments/<uuid:appointment_id>/confirm/", doctor_appointment_confirm,
         name="doctor_appointment_confirm"),
    path("doctor/emergencies/", emergency_queue, name="emergency_queue"),
    path("doctor/emergencies/count/", emergency_queue_count, name="emergency_queue_count"),
    path("doctor/emergencies/<uuid:appointment_id>/accept/", emergency_accept, name="emergency_accept"),
    path("doctor/patients/", doctor_patients, name="doctor_patients"),
    path("doctor/patients/<uuid:patient_id>/", doctor_patient_detail, name="doctor_patient_detail"),
]
