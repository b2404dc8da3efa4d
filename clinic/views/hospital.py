"""Hospital-staff pages: the hospital's appointments, doctors and registered patients, and the data
of the hospital dashboard. Staff see scheduling and demographics only — never reasons or notes."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import selectors, services
from clinic.forms_doctor import HospitalAppointmentFilterForm, PatientRegisterForm, PickForm, SearchForm
from clinic.models import AppointmentStatus, Hospital, doctor_display_name
from core.errors import DomainError, NotFound

PAGE_SIZE = 25


def _hospital_or_404(request) -> Hospital:
    hospital = selectors.staff_hospital_of(request.user)
    if hospital is None:
        raise Http404
    return hospital


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


# --- dashboard -------------------------------------------------------------------------------------

def hospital_dashboard_context(user) -> dict:
    """Everything templates/dashboards/hospital.html shows (times in the viewer's time zone)."""
    hospital = selectors.staff_hospital_of(user)
    if hospital is None:
        return {}
    membership = user.hospital_staff
    today = timezone.localdate()
    todays = list(selectors.hospital_appointments(
        fetched_by=user, hospital=hospital, date_from=_local_midnight(today),
        date_to=_local_midnight(today + dt.timedelta(days=1))).exclude(status=AppointmentStatus.CANCELLED))
    emergencies = selectors.hospital_emergencies(fetched_by=user, hospital=hospital)
    return {
        "membership": membership, "hospital": hospital,
        "staff": hospital.staff.select_related("user"),
        "today": today,
        "today_appointments": todays[:12],
        "today_count": len(todays),
        "doctors_count": selectors.hospital_doctor_links(fetched_by=user, hospital=hospital).count(),
        "patients_count": selectors.hospital_patient_links(fetched_by=user, hospital=hospital).count(),
        "tz_name": timezone.get_current_timezone_name(),
        "urgent_chats": _escalated_urgent_chats(user, hospital),
        "emergencies": emergencies,
        "emergencies_waiting": sum(1 for e in emergencies if e.doctor_id is None),
    }


def _escalated_urgent_chats(user, hospital) -> list:
    """Urgent chats of this hospital's patients that their doctor left unanswered (who and since
    when only: staff never read the conversation)."""
    from telehealth.escalation import escalated_chats_for_hospital

    return list(escalated_chats_for_hospital(fetched_by=user, hospital=hospital)[:50])


# --- appointments ----------------------------------------------------------------------------------------

@login_required
@require_GET
def hospital_appointments(request):
    hospital = _hospital_or_404(request)
    doctors = list(selectors.doctors_of_hospital(hospital))
    data = request.GET.copy()
    if "date_from" not in data:
        # The list opens on what is coming; clearing the date shows the past too.
        data["date_from"] = timezone.localdate().isoformat()
    form = HospitalAppointmentFilterForm(data, doctors=doctors)
    form.is_valid()
    d = form.cleaned_data  # only the filters that are valid
    filters = {
        "doctor_id": d.get("doctor") or None,
        "date_from": _local_midnight(d["date_from"]) if d.get("date_from") else None,
        "date_to": _local_midnight(d["date_to"] + dt.timedelta(days=1)) if d.get("date_to") else None,
        "status": d.get("status") or None,
        "type": d.get("type") or None,
    }
    appointments = selectors.hospital_appointments(fetched_by=request.user, hospital=hospital, **filters)
    page = Paginator(appointments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clinic/hospital/appointments.html", {
        "hospital": hospital, "form": form, "page": page, "tz_name": timezone.get_current_timezone_name(),
    })


# --- doctors ----------------------------------------------------------------------------------------------

def _doctors_page(request, hospital, status=200):
    search_form = SearchForm(request.GET or None)
    query = search_form.cleaned_data["q"].strip() if search_form.is_valid() else ""
    links = list(selectors.hospital_doctor_links(fetched_by=request.user, hospital=hospital))
    linked = {link.doctor_id for link in links}
    results = [d for d in selectors.doctors_search(query=query)[:20] if d.pk not in linked] if query else []
    return render(request, "clinic/hospital/doctors.html", {
        "hospital": hospital, "links": links, "search_form": search_form, "query": query, "results": results,
    }, status=status)


@login_required
@require_GET
def hospital_doctors(request):
    return _doctors_page(request, _hospital_or_404(request))


@login_required
@require_POST
def hospital_doctor_add(request):
    hospital = _hospital_or_404(request)
    form = PickForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a doctor from the search results."))
        return redirect("hospital_doctors")
    try:
        doctor = selectors.doctor_get(doctor_id=form.cleaned_data["id"])
        services.hospital_doctor_add(actor=request.user, hospital=hospital, doctor=doctor)
    except NotFound:
        messages.error(request, _("That doctor was not found."))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s now works at %(hospital)s.") % {
            "name": doctor_display_name(doctor.user.name), "hospital": hospital.name})
    return redirect("hospital_doctors")


@login_required
@require_POST
def hospital_doctor_remove(request, link_id):
    hospital = _hospital_or_404(request)
    try:
        link = selectors.hospital_doctor_link_of(fetched_by=request.user, hospital=hospital, link_id=link_id)
        services.hospital_doctor_remove(actor=request.user, link=link)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s was removed from %(hospital)s.") % {
            "name": doctor_display_name(link.doctor.user.name), "hospital": hospital.name})
    return redirect("hospital_doctors")


# --- patients ----------------------------------------------------------------------------------------------

def _patients_page(request, hospital, register_form=None, status=200):
    search_form = SearchForm(request.GET or None)
    query = search_form.cleaned_data["q"].strip() if search_form.is_valid() else ""
    links = selectors.hospital_patient_links(fetched_by=request.user, hospital=hospital, search=query,
                                             with_invitations=True)
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clinic/hospital/patients.html", {
        "hospital": hospital, "page": page, "search_form": search_form, "query": query,
        "register_form": register_form or PatientRegisterForm(),
    }, status=status)


@login_required
@require_GET
def hospital_patients(request):
    return _patients_page(request, _hospital_or_404(request))


@login_required
@require_POST
def hospital_patient_add(request):
    hospital = _hospital_or_404(request)
    form = PatientRegisterForm(request.POST)
    if form.is_valid():
        patient = selectors.patient_self_record_by_login(fetched_by=request.user, login=form.cleaned_data["login"])
        if patient is None:
            form.add_error("login", _("No patient account signs in with that email or phone."))
        elif selectors.hospital_patient_links(fetched_by=request.user, hospital=hospital).filter(
                patient=patient).exists():
            messages.info(request, _("%(name)s is already registered with %(hospital)s.") % {
                "name": patient.name, "hospital": hospital.name})
            return redirect("hospital_patients")
        else:
            try:
                link = services.hospital_patient_add(actor=request.user, hospital=hospital, patient=patient)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                # Staff invite; the patient decides (booking here would have been consent enough).
                messages.success(request, _("%(name)s is invited to register with %(hospital)s. They appear here "
                                            "once they accept.") % {"name": patient.name, "hospital": hospital.name}
                                 if link.consent == "pending" else
                                 _("%(name)s is now registered with %(hospital)s.") % {
                                     "name": patient.name, "hospital": hospital.name})
                return redirect("hospital_patients")
    return _patients_page(request, hospital, register_form=form, status=400)


@login_required
@require_POST
def hospital_patient_remove(request, link_id):
    hospital = _hospital_or_404(request)
    try:
        link = selectors.hospital_patient_link_of(fetched_by=request.user, hospital=hospital, link_id=link_id)
        services.hospital_patient_remove(actor=request.user, link=link)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is no longer registered with %(hospital)s.") % {
            "name": link.patient.name, "hospital": hospital.name})
    return redirect("hospital_patients")


urlpatterns = [
    path("hospital/appointments/", hospital_appointments, name="hospital_appointments"),
    path("hospital/doctors/", hospital_doctors, name="hospital_doctors"),
    path("hospital/doctors/add/", hospital_doctor_add, name="hospital_doctor_add"),
    path("hospital/doctors/<uuid:link_id>/remove/", hospital_doctor_remove, name="hospital_doctor_remove"),
    path("hospital/patients/", hospital_patients, name="hospital_patients"),
    path("hospital/patients/add/", hospital_patient_add, name="hospital_patient_add"),
    path("hospital/patients/<uuid:link_id>/remove/", hospital_patient_remove, name="hospital_patient_remove"),
]
