"""Patient-side pages: find a doctor, book, see and change appointments, emergencies, family.

The appointment page is shared by every role: each viewer sees what the access policy allows and
the actions the services would accept from them. Reads go through clinic.selectors, writes through
clinic.services; domain errors become messages or form errors, never a 500.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import attach_errors
from clinic import scheduling, selectors, services
from clinic.forms import (
    AppointmentFilterForm,
    BookingForm,
    CancelForm,
    CompleteForm,
    DependentForm,
    DoctorSearchForm,
    EmergencyForm,
    FamilyInviteForm,
    RelationForm,
    RescheduleForm,
)
from clinic.models import ACTIVE_STATUSES, AppointmentEvent, AppointmentStatus, AppointmentType, doctor_display_name
from core.errors import DomainError, NotFound
from core.storage import stored_image_response

PAGE_SIZE = 20
RESCHEDULE_DAYS = 14
RESCHEDULE_SLOTS = 12
# Event kinds whose "why" is the patient's own description (clinical): hidden from hospital staff.
CLINICAL_EVENT_KINDS = {AppointmentEvent.Kind.REQUESTED, AppointmentEvent.Kind.NOTE}


# --- helpers ---------------------------------------------------------------------------------------

def _partial_request(request) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render_maybe_partial(request, full_template, partial_template, context):
    template = partial_template if _partial_request(request) else full_template
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _appointment_or_404(request, appointment_id):
    try:
        return selectors.appointment_get(fetched_by=request.user, appointment_id=appointment_id)
    except NotFound as exc:
        raise Http404 from exc


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _when(value: dt.datetime) -> str:
    """A full date and time in the viewer's zone, e.g. 'Tuesday 12 May 2026, 09:00'."""
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'l j F Y')}, {local:%H:%M}"


def _place(slot_or_appointment) -> str:
    hospital_name = getattr(slot_or_appointment, "hospital_name", None)
    if hospital_name is None:
        hospital = slot_or_appointment.hospital
        hospital_name = hospital.name if hospital else ""
    return hospital_name or _("Online")


def _book_url(doctor, slot) -> str:
    query = {"doctor": doctor.pk, "start": slot.start.isoformat(), "type": slot.mode}
    if slot.hospital_id:
        query["hospital"] = slot.hospital_id
    return f"{reverse('appointment_book')}?{urlencode(query)}"


def _slot_view(doctor, slot) -> dict:
    """What a template needs to show a free slot as a link to its booking form."""
    when = _when(slot.start)
    return {
        "slot": slot, "local": timezone.localtime(slot.start), "url": _book_url(doctor, slot),
        "place": _place(slot), "is_online": slot.hospital_id is None,
        "label": _("Book %(when)s (%(tz)s), %(place)s, with %(doctor)s") % {
            "when": when, "tz": timezone.get_current_timezone_name(), "place": _place(slot),
            "doctor": doctor_display_name(doctor.user.name)},
    }


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=timezone.get_current_timezone())


# --- find a doctor -----------------------------------------------------------------------------------

@login_required
def doctor_search(request):
    form = DoctorSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    hospital, mode = filters.get("hospital"), filters.get("mode") or None
    doctors = selectors.doctors_directory(
        specialty=filters.get("specialty"), language=filters.get("language"),
        hospital_id=hospital.pk if hospital else None, mode=mode,
    ).prefetch_related("hospital_links__hospital", "availability")
    page = Paginator(doctors, PAGE_SIZE).get_page(request.GET.get("page"))
    free_from = filters.get("free_from")
    start = _local_midnight(free_from) if free_from else timezone.now()
    firsts = selectors.first_free_slots(
        page.object_list, start=start, mode=mode,
        hospital_id=hospital.pk if hospital and mode == AppointmentType.REGULAR else None)
    rows = []
    for doctor in page.object_list:
        first = firsts[doctor.pk]
        windows = list(doctor.availability.all())
        rows.append({
            "doctor": doctor,
            "hospitals": [link.hospital for link in doctor.hospital_links.all()],
            "online": any(w.hospital_id is None for w in windows),
            "in_person": any(w.hospital_id is not None for w in windows),
            "first": _slot_view(doctor, first) if first else None,
            "week": timezone.localtime(first.start).date().isoformat() if first else "",
        })
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode(),
               "tz_name": timezone.get_current_timezone_name()}
    return _render_maybe_partial(request, "clinic/patient/doctor_search.html",
                                 "clinic/patient/_doctor_results.html", context)


def _week_start(value: str | None) -> dt.date:
    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    monday = day - dt.timedelta(days=day.weekday())
    this_monday = today - dt.timedelta(days=today.weekday())
    return max(monday, this_monday)


@login_required
def doctor_detail(request, doctor_id):
    try:
        doctor = selectors.doctor_get(doctor_id=doctor_id)
    except NotFound as exc:
        raise Http404 from exc
    windows = list(doctor.availability.select_related("hospital"))
    place_hospitals = {w.hospital_id: w.hospital for w in windows if w.hospital_id is not None}
    has_online = any(w.hospital_id is None for w in windows)

    mode = request.GET.get("mode") or ""
    hospital = place_hospitals.get(_uuid_or_none(request.GET.get("hospital")))
    if mode not in (AppointmentType.REMOTE, AppointmentType.REGULAR):
        mode = ""
    if mode != AppointmentType.REGULAR:
        hospital = None

    monday = _week_start(request.GET.get("week"))
    start, end = _local_midnight(monday), _local_midnight(monday + dt.timedelta(days=7))
    slots = scheduling.free_slots(doctor, start, end, mode=mode or None, hospital=hospital)
    later = []
    if not slots and windows:
        later = scheduling.free_slots(doctor, end, end + scheduling.MAX_RANGE, mode=mode or None, hospital=hospital)
        if later and not request.GET.get("week"):
            # Nothing left this week (e.g. on a Saturday): open on the first week with free times.
            day = timezone.localtime(later[0].start).date()
            monday = day - dt.timedelta(days=day.weekday())
            start, end = _local_midnight(monday), _local_midnight(monday + dt.timedelta(days=7))
            slots, later = [s for s in later if s.start < end], []
    days = [{"date": monday + dt.timedelta(days=i), "slots": []} for i in range(7)]
    for slot in slots:
        index = (timezone.localtime(slot.start).date() - monday).days
        if 0 <= index < 7:
            days[index]["slots"].append(_slot_view(doctor, slot))

    def week_url(week, mode=mode, hospital=hospital):
        query = {"week": week.isoformat()}
        if mode:
            query["mode"] = mode
        if hospital is not None:
            query["hospital"] = hospital.pk
        return f"{reverse('doctor_detail', args=[doctor.pk])}?{urlencode(query)}"

    next_free_week = None
    if not slots and later:
        day = timezone.localtime(later[0].start).date()
        next_free_week = {"url": week_url(day - dt.timedelta(days=day.weekday())), "when": _when(later[0].start)}

    modes = [{"label": _("All times"), "url": week_url(monday, "", None), "current": not mode}]
    if has_online:
        modes.append({"label": _("Online"), "url": week_url(monday, AppointmentType.REMOTE, None),
                      "current": mode == AppointmentType.REMOTE})
    for h in sorted(place_hospitals.values(), key=lambda h: h.name):
        modes.append({"label": _("In person at %(hospital)s") % {"hospital": h.name},
                      "url": week_url(monday, AppointmentType.REGULAR, h),
                      "current": hospital is not None and hospital.pk == h.pk})

    this_monday = _week_start(None)
    context = {
        "doctor": doctor, "hospitals": list(selectors.hospitals_of_doctor(doctor)),
        "has_online": has_online, "has_windows": bool(windows), "modes": modes, "days": days,
        "monday": monday, "sunday": monday + dt.timedelta(days=6), "today": timezone.localdate(),
        "prev_url": week_url(monday - dt.timedelta(days=7)) if monday > this_monday else None,
        "next_url": week_url(monday + dt.timedelta(days=7)),
        "this_week_url": week_url(this_monday) if monday != this_monday else None,
        "slot_count": len(slots), "next_free_week": next_free_week,
        "tz_name": timezone.get_current_timezone_name(),
    }
    return _render_maybe_partial(request, "clinic/patient/doctor_detail.html",
                                 "clinic/patient/_week_calendar.html", context)


# --- booking -----------------------------------------------------------------------------------------

def _booking_target(request):
    """The doctor, start, type and hospital named in the booking URL. Unknown doctor or hospital:
    404; an unreadable time or type: returned as an error for the page to explain."""
    params = request.GET
    doctor_id, hospital_id = _uuid_or_none(params.get("doctor")), params.get("hospital")
    try:
        if doctor_id is None:
            raise NotFound("Doctor not found.")
        doctor = selectors.doctor_get(doctor_id=doctor_id)
        hospital = None
        if hospital_id:
            if _uuid_or_none(hospital_id) is None:
                raise NotFound("Hospital not found.")
            hospital = selectors.hospital_get(hospital_id=hospital_id)
    except NotFound as exc:
        raise Http404 from exc
    error = None
    kind = params.get("type")
    try:
        start = dt.datetime.fromisoformat(params.get("start", ""))
    except ValueError:
        start = None
    if start is None or timezone.is_naive(start):
        start, error = None, _("The time in this link could not be read. Please choose a time from the calendar.")
    elif kind not in (AppointmentType.REMOTE, AppointmentType.REGULAR):
        error = _("Choose an online or an in-person appointment from the calendar.")
    elif kind == AppointmentType.REGULAR and hospital is None:
        error = _("Choose the hospital for an in-person appointment.")
    if kind == AppointmentType.REMOTE:
        hospital = None
    return doctor, start, kind, hospital, error


def _day_slots(doctor, start, kind, hospital) -> list[dict]:
    """Fresh free slots on the viewer's local day of ``start`` (same doctor, mode and place)."""
    day = timezone.localtime(start).date()
    slots = scheduling.free_slots(doctor, _local_midnight(day), _local_midnight(day + dt.timedelta(days=1)),
                                  mode=kind, hospital=hospital)
    return [_slot_view(doctor, s) for s in slots]


@login_required
@require_http_methods(["GET", "POST"])
def appointment_book(request):
    doctor, start, kind, hospital, error = _booking_target(request)
    patients = selectors.patients_managed_by(request.user)
    if request.method == "POST" and request.POST.get("patient"):
        # Someone else's patient id is "not found", like every object that is not yours.
        if not patients.filter(pk=_uuid_or_none(request.POST["patient"])).exists():
            raise Http404
    form = BookingForm(request.POST or None, patients=patients)
    taken_message = None
    if request.method == "POST" and error is None and form.is_valid():
        try:
            appointment = services.appointment_book(
                booked_by=request.user, patient=form.cleaned_data["patient"], doctor=doctor, start=start,
                type=kind, hospital=hospital, reason=form.cleaned_data["reason"])
        except services.SlotTaken as exc:
            taken_message = exc.message
        except ValidationError as exc:
            attach_errors(form, exc)
        except NotFound as exc:
            raise Http404 from exc
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your appointment request was sent. The doctor will confirm it."))
            return redirect("appointment_detail", appointment.pk)
    slot_free = False
    if error is None and taken_message is None:
        slot_free = scheduling.find_slot(doctor, start, mode=kind, hospital=hospital) is not None
        if not slot_free and start > timezone.now():
            taken_message = _("This time is no longer free. Please choose another one.")
        elif not slot_free:
            error = _("That time is in the past. Please choose a time from the calendar.")
    fresh = _day_slots(doctor, start, kind, hospital) if taken_message else []
    calendar_query = {"week": timezone.localtime(start).date().isoformat()} if start else {}
    context = {
        "doctor": doctor, "start": start, "kind": kind, "hospital": hospital, "error": error,
        "form": form, "taken_message": taken_message, "slot_free": slot_free and taken_message is None,
        "fresh_slots": fresh, "has_patients": patients.exists(),
        "place": hospital.name if hospital else _("Online"),
        "calendar_url": f"{reverse('doctor_detail', args=[doctor.pk])}?{urlencode(calendar_query)}",
        "tz_name": timezone.get_current_timezone_name(),
    }
    return render(request, "clinic/appointments/book.html", context)


# --- appointments --------------------------------------------------------------------------------------

@login_required
def appointment_list(request):
    form = AppointmentFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    when = data.get("when") or "upcoming"
    now = timezone.now()
    appointments = selectors.appointments_visible_to(request.user)
    if data.get("status"):
        appointments = appointments.filter(status=data["status"])
    if when == "past":
        appointments = appointments.filter(end__lte=now).order_by("-start")
    else:
        appointments = appointments.filter(end__gt=now).order_by("start")
    page = Paginator(appointments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "clinic/appointments/list.html", {
        "form": form, "page": page, "when": when, "query": query.urlencode(),
        "tz_name": timezone.get_current_timezone_name(),
        # A doctor sees colleagues' appointments with shared patients too: those rows are marked.
        "viewer_doctor_id": getattr(selectors.doctor_profile_of(request.user), "pk", None),
    })


def _viewer_side(user, appointment) -> str:
    """How the viewer relates to a visible appointment (decides what the page shows):
    'admin', 'doctor' (this appointment's doctor), 'patient' (the patient or family), 'staff'
    (hospital staff: scheduling data only) or 'clinician' (another doctor who may see it)."""
    if user.is_admin:
        return "admin"
    doctor = selectors.doctor_profile_of(user)
    if doctor is not None and appointment.doctor_id == doctor.pk:
        return "doctor"
    if selectors.can_act_for_patient(user, appointment.patient):
        return "patient"
    if doctor is not None:
        return "clinician"
    return "staff"


def _within_cutoff(appointment) -> bool:
    return not scheduling.patient_may_change(appointment.start)


def _reschedule_slots(appointment, after: dt.date | None = None, *, side: str) -> tuple[list[dict], dt.date | None]:
    """A few free slots of the same doctor, mode and place from ``after`` (the viewer's local
    date; default now), and the date to continue from for later ones (None: no more). The patient
    side is offered only slots outside the cut-off, the same rule the service applies."""
    start = _local_midnight(after) if after else timezone.now()
    if side == "patient":
        start = max(start, scheduling.earliest_patient_slot())
    slots = scheduling.free_slots(appointment.doctor, start, start + dt.timedelta(days=RESCHEDULE_DAYS),
                                  mode=appointment.type, hospital=appointment.hospital)
    shown = [s for s in slots if s.start != appointment.start][:RESCHEDULE_SLOTS]
    later = None
    if len(slots) > len(shown) and shown:
        later = timezone.localtime(shown[-1].start).date() + dt.timedelta(days=1)
    return [{"value": s.start.isoformat(), "label": _when(s.start), "day": timezone.localtime(s.start).date(),
             "time": f"{timezone.localtime(s.start):%H:%M}"} for s in shown], later


def _timeline(appointment, side) -> list[dict]:
    rows = []
    for event in appointment.events.select_related("actor").order_by("created_at"):
        detail = ""
        if event.kind == AppointmentEvent.Kind.RESCHEDULED and event.data.get("previous_start"):
            try:
                before = dt.datetime.fromisoformat(event.data["previous_start"])
                after = dt.datetime.fromisoformat(event.data["start"])
            except (KeyError, ValueError):
                pass
            else:
                detail = _("From %(before)s to %(after)s") % {"before": _when(before), "after": _when(after)}
        show_reason = side != "staff" or event.kind not in CLINICAL_EVENT_KINDS
        rows.append({"event": event, "who": event.actor.name if event.actor else _("Haven (automatic)"),
                     "reason": event.reason if show_reason else "", "detail": detail})
    return rows


def _render_detail(request, appointment, *, cancel_form=None, reschedule_form=None, complete_form=None,
                   status=200):
    side = _viewer_side(request.user, appointment)
    now = timezone.now()
    active = appointment.status in ACTIVE_STATUSES
    emergency = appointment.type == AppointmentType.EMERGENCY
    started = appointment.start <= now
    patient_locked = side == "patient" and not emergency and _within_cutoff(appointment)
    can = {
        # An emergency is withdrawn only by the people asking for help (or an administrator).
        "cancel": (active and not patient_locked
                   and side in (("patient", "admin") if emergency else ("patient", "doctor", "staff", "admin"))),
        "reschedule": (active and not emergency and appointment.doctor_id is not None and not patient_locked
                       and side in ("patient", "doctor", "staff", "admin")),
        "confirm": (appointment.status == AppointmentStatus.REQUESTED and appointment.doctor_id is not None
                    and side in ("doctor", "staff", "admin")),
        "complete": appointment.status == AppointmentStatus.CONFIRMED and started and side in ("doctor", "admin"),
        "no_show": (appointment.status == AppointmentStatus.CONFIRMED and started and not emergency
                    and side in ("doctor", "staff", "admin")),
    }
    after = None
    if request.GET.get("after"):
        try:
            after = max(dt.date.fromisoformat(request.GET["after"]), timezone.localdate())
        except ValueError:
            after = None
    slots, later = _reschedule_slots(appointment, after, side=side) if can["reschedule"] else ([], None)
    context = {
        "appointment": appointment, "side": side, "can": can, "any_action": any(can.values()),
        "patient_locked": active and patient_locked,
        "cutoff_hours": settings.APPOINTMENT_CANCEL_CUTOFF_HOURS,
        "show_reason": side != "staff", "show_notes": side in ("doctor", "admin"),
        "show_room": (bool(appointment.room_id) and side in ("patient", "doctor")
                      and appointment.type != AppointmentType.REGULAR),
        "timeline": _timeline(appointment, side),
        "cancel_form": cancel_form or CancelForm(),
        "reschedule_form": reschedule_form or RescheduleForm(),
        "reschedule_slots": slots, "reschedule_after": after,
        "reschedule_later_url": (f"{reverse('appointment_detail', args=[appointment.pk])}?after={later.isoformat()}"
                                 "#reschedule") if later else None,
        "reschedule_earlier_url": (f"{reverse('appointment_detail', args=[appointment.pk])}#reschedule"
                                   if after else None),
        "complete_form": complete_form or CompleteForm(),
        "waiting": emergency and appointment.doctor_id is None and active,
        "progress": selectors.emergency_progress(appointment, viewer=request.user, now=now) if emergency else None,
        "tz_name": timezone.get_current_timezone_name(),
    }
    return render(request, "clinic/appointments/detail.html", context, status=status)


@login_required
def appointment_detail(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    side = _viewer_side(request.user, appointment)
    services.appointments_read_record(actor=request.user, appointments=[appointment], via="page", request=request,
                                      shown=lambda a: _clinical_fields_shown(side))
    return _render_detail(request, appointment)


def _clinical_fields_shown(side) -> tuple:
    """What of an appointment's clinical data the page shows this side (as ``_render_detail``)."""
    return (() if side == "staff" else ("reason",)) + (("notes",) if side in ("doctor", "admin") else ())


@login_required
def appointment_status(request, appointment_id):
    """The small status block an emergency page polls until a doctor accepts."""
    appointment = _appointment_or_404(request, appointment_id)
    emergency = appointment.type == AppointmentType.EMERGENCY
    return render(request, "clinic/appointments/_emergency_status.html", {
        "appointment": appointment,
        "waiting": emergency and appointment.doctor_id is None and appointment.status in ACTIVE_STATUSES,
        "progress": selectors.emergency_progress(appointment, viewer=request.user) if emergency else None,
    })


def _perform(request, appointment, action, success_message):
    """Run a service action; report refusals as messages and go back to the appointment page."""
    try:
        action()
    except NotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success_message)
    return redirect("appointment_detail", appointment.pk)


@require_POST
@login_required
def appointment_cancel(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.appointment_cancel(actor=request.user, appointment=appointment, reason=form.cleaned_data["reason"])
        except NotFound as exc:
            raise Http404 from exc
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("appointment_detail", appointment.pk)
        else:
            messages.success(request, _("The appointment was cancelled."))
            return redirect("appointment_detail", appointment.pk)
    return _render_detail(request, appointment, cancel_form=form, status=400)


@require_POST
@login_required
def appointment_reschedule(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        start = form.cleaned_data["start"]
        try:
            services.appointment_reschedule(actor=request.user, appointment=appointment, start=start,
                                            reason=form.cleaned_data["reason"])
        except NotFound as exc:
            raise Http404 from exc
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("appointment_detail", appointment.pk)
        else:
            messages.success(request, _("The appointment was moved to %(when)s.") % {"when": _when(start)})
            return redirect("appointment_detail", appointment.pk)
    return _render_detail(request, appointment, reschedule_form=form, status=400)


@require_POST
@login_required
def appointment_confirm(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    return _perform(request, appointment,
                    lambda: services.appointment_confirm(actor=request.user, appointment=appointment),
                    _("The appointment is confirmed."))


@require_POST
@login_required
def appointment_complete(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    form = CompleteForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else ""
    return _perform(request, appointment,
                    lambda: services.appointment_complete(actor=request.user, appointment=appointment, notes=notes),
                    _("The appointment is marked as completed."))


@require_POST
@login_required
def appointment_no_show(request, appointment_id):
    appointment = _appointment_or_404(request, appointment_id)
    return _perform(request, appointment,
                    lambda: services.appointment_mark_no_show(actor=request.user, appointment=appointment),
                    _("The appointment is marked as a no-show."))


# --- emergency ---------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def emergency_request(request):
    patients = selectors.patients_managed_by(request.user)
    if request.method == "POST" and request.POST.get("patient"):
        if not patients.filter(pk=_uuid_or_none(request.POST["patient"])).exists():
            raise Http404
    form = EmergencyForm(request.POST or None, patients=patients,
                         hospital_links=selectors.hospitals_of_managed_patients(request.user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            appointment = services.emergency_request(requested_by=request.user, patient=d["patient"],
                                                     reason=d["reason"], hospital=d["hospital"])
        except NotFound as exc:
            raise Http404 from exc
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, emergency_sent_message(selectors.emergency_progress(appointment)))
            return redirect("appointment_detail", appointment.pk)
    return render(request, "clinic/patient/emergency.html", {
        "form": form, "has_patients": patients.exists(), "step_minutes": settings.EMERGENCY_ESCALATION_MINUTES})


def emergency_sent_message(progress) -> str:
    """The flash after sending: what actually happened, never a promise."""
    if progress.doctors:
        return ngettext("Your emergency request was sent to %(n)d doctor.",
                        "Your emergency request was sent to %(n)d doctors.", progress.doctors) % {"n": progress.doctors}
    if progress.alerted:
        return ngettext("Your emergency request was sent. No doctor could be reached yet; %(n)d person at the "
                        "hospital or at Haven was alerted.",
                        "Your emergency request was sent. No doctor could be reached yet; %(n)d people at the "
                        "hospital or at Haven were alerted.", progress.alerted) % {"n": progress.alerted}
    return _("Your emergency request was saved, but nobody could be alerted. Call your local emergency number now.")


# --- family ------------------------------------------------------------------------------------------

def _family_page(request, *, form=None, invite_form=None, relation_forms=None, status=200):
    """People in your care (your own links), invitations waiting for you, and — for each patient
    whose access you manage — the other accounts acting for them; each link's relation can be
    changed and the link removed. The same selectors and services serve /api/v1/access."""
    relation_forms = relation_forms or {}

    def relation_form(link):
        bound = relation_forms.get(link.pk)
        link.relation_form = bound or RelationForm(prefix=f"rel-{link.pk}", initial={"relation": link.relation})
        return link

    own = [relation_form(link) for link in
           request.user.patient_relations.select_related("patient").order_by("patient__name")]
    managed = selectors.access_of_patients(fetched_by=request.user)
    for row in managed:
        row["family"] = [relation_form(link) for link in row["family"]]
    patients = [row["patient"] for row in managed]
    return render(request, "clinic/patient/family.html", {
        "relations": own, "managed": managed,
        "invitations": list(selectors.family_invitations_for(request.user)),
        "form": form or DependentForm(),
        "invite_form": invite_form or (FamilyInviteForm(patients=patients, prefix="invite") if patients else None),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def family(request):
    """The page, and adding a person without an account of their own (a child)."""
    if request.method != "POST":
        return _family_page(request)
    form = DependentForm(request.POST)
    if form.is_valid():
        try:
            patient = services.dependent_patient_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("%(name)s was added to the people in your care.") % {"name": patient.name})
            return redirect("family")
    return _family_page(request, form=form, status=400)


@login_required
@require_POST
def family_invite(request):
    """Link an existing account, with its consent: it gets an invitation to accept or decline. The
    reply is the same whether or not the email or phone belongs to an account."""
    patients = list(selectors.patients_access_managed_by(request.user))
    if not patients:
        raise Http404
    form = FamilyInviteForm(request.POST, patients=patients, prefix="invite")
    if form.is_valid():
        patient = form.cleaned_data["patient"]
        try:
            services.family_invite(actor=request.user, patient=patient, login=form.cleaned_data["login"],
                                   relation=form.cleaned_data["relation"])
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, services.family_invite_answer(patient))
            return redirect("family")
    return _family_page(request, invite_form=form, status=400)


@login_required
@require_POST
def family_relation(request, link_id):
    """Change a link's relation: your own link, or one to a patient whose access you manage."""
    try:
        link = selectors.access_link_get(fetched_by=request.user, kind="family", link_id=link_id)
    except NotFound as exc:
        raise Http404 from exc
    form = RelationForm(request.POST, prefix=f"rel-{link.pk}")
    if form.is_valid():
        try:
            services.user_patient_relation_update(actor=request.user, link=link,
                                                  relation=form.cleaned_data["relation"])
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error("relation", exc.message)
        else:
            messages.success(request, _("Relation saved."))
            return redirect("family")
    return _family_page(request, relation_forms={link.pk: form}, status=400)


# --- dashboard -----------------------------------------------------------------------------------------

DASHBOARD_UPCOMING = 5
DASHBOARD_PAST = 5


def patient_dashboard_context(user) -> dict:
    """Appointments of everyone the user acts for: the next few, the recent past, and emergencies
    still in progress. Three queries."""
    now = timezone.now()
    appointments = selectors.appointments_of_managed_patients(user)
    return {
        "upcoming_appointments": list(appointments.filter(end__gt=now, status__in=ACTIVE_STATUSES)
                                      .exclude(type=AppointmentType.EMERGENCY)
                                      .order_by("start")[:DASHBOARD_UPCOMING]),
        "past_appointments": list(appointments.filter(end__lte=now).exclude(type=AppointmentType.EMERGENCY)
                                  .order_by("-start")[:DASHBOARD_PAST]),
        # An accepted emergency stays "confirmed" until the doctor completes it; a day is plenty.
        "emergencies_in_progress": list(appointments.filter(type=AppointmentType.EMERGENCY, status__in=ACTIVE_STATUSES,
                                                            start__gt=now - dt.timedelta(days=1))
                                        .order_by("-start")),
    }


@login_required
def patient_photo(request, patient_id):
    """A patient record's photo (e.g. a dependant without an own account), decrypted for whoever
    may see that patient; 404 for missing and not-yours alike."""
    try:
        patient = selectors.patient_get(fetched_by=request.user, patient_id=patient_id, clinical=False)
    except NotFound as exc:
        raise Http404 from exc
    if not patient.photo:
        raise Http404
    return stored_image_response(patient.photo)


urlpatterns = [
    path("doctors/", doctor_search, name="doctor_search"),
    path("patients/<uuid:patient_id>/photo/", patient_photo, name="patient_photo"),
    path("doctors/<uuid:doctor_id>/", doctor_detail, name="doctor_detail"),
    path("appointments/", appointment_list, name="appointment_list"),
    path("appointments/book/", appointment_book, name="appointment_book"),
    path("appointments/<uuid:appointment_id>/", appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:appointment_id>/status/", appointment_status, name="appointment_status"),
    path("appointments/<uuid:appointment_id>/cancel/", appointment_cancel, name="appointment_cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<uuid:appointment_id>/confirm/", appointment_confirm, name="appointment_confirm"),
    path("appointments/<uuid:appointment_id>/complete/", appointment_complete, name="appointment_complete"),
    path("appointments/<uuid:appointment_id>/no-show/", appointment_no_show, name="appointment_no_show"),
    path("emergency/", emergency_request, name="emergency_request"),
    path("family/", family, name="family"),
    path("family/invite/", family_invite, name="family_invite"),
    path("family/<uuid:link_id>/relation/", family_relation, name="family_relation"),
]
