"""Doctor pages for wellness triage: the risk list with follow-ups and the stress ranking, and the
POST-only flag controls shown on the doctor's patient page. Reads through wellness.risk selectors
(care-team doctors only; 404 for everyone else), writes through wellness.risk services."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.views import attach_errors
from analytics.services import audit_record
from clinic import scheduling, selectors
from core.errors import DomainError, NotFound
from wellness import charts, risk
from wellness.forms_risk import RiskFlagConfirmForm, RiskFlagNoteForm, RiskFlagRaiseForm


def _doctor_or_404(request):
    doctor = selectors.doctor_profile_of(request.user)
    if doctor is None:
        raise Http404
    return doctor


def _back(request, default: str) -> str:
    target = request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return default


def _patient_page(patient) -> str:
    return f"/doctor/patients/{patient.pk}/#risk"


# --- the patient page section ---------------------------------------------------------------------------

def patient_wellness_context(request, patient, *, raise_form=None) -> dict:
    """The wellness part of the doctor's patient page (call after ``patient_get``): flags with their
    history and controls, charts for ?period=, the last 30 days of check-ins, emotion snapshots."""
    audit_record(action="wellness.viewed", actor=request.user, target=patient, request=request, page="doctor")
    today = charts.local_today(patient, request.user.timezone)
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    try:
        flags = list(risk.risk_flags_of(fetched_by=request.user, patient=patient))
        can_triage = True
    except NotFound:
        # A doctor may open the page of a relative they act for as family: no triage there.
        flags, can_triage = [], False
    return {
        # Open flags first (they are the decisions), then suggestions waiting for one.
        "flags_live": sorted((f for f in flags if f.status in risk.LIVE), key=lambda f: f.status != risk.Status.OPEN),
        "flags_closed": [f for f in flags if f.status not in risk.LIVE],
        "can_triage": can_triage,
        "is_high_risk": any(f.status == risk.Status.OPEN for f in flags),
        "has_doctor_flag": any(f.status == risk.Status.OPEN and not f.rule for f in flags),
        "raise_form": raise_form or RiskFlagRaiseForm(),
        "confirm_form": RiskFlagConfirmForm(),
        "panel": charts.chart_panel(patient, period=request.GET.get("period", "daily"), days=days, today=today,
                                    id_prefix="dp"),
        "wellness_entries": risk.wellness_history(patient=patient, days=30, today=today),
        "snapshots": risk.emotion_snapshots_of(patient=patient),
        "rule_labels": risk.RULE_LABELS,
    }


# --- risk list ---------------------------------------------------------------------------------------------

def _month_param(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return default.replace(day=1)


@login_required
@require_GET
def doctor_risk(request):
    doctor = _doctor_or_404(request)
    today = timezone.now().astimezone(scheduling.doctor_zone(doctor)).date()
    month = _month_param(request.GET.get("month"), today)
    flags = list(risk.live_flags(doctor=doctor))
    ranking = risk.stress_ranking(fetched_by=request.user, doctor=doctor, month=month)
    audit_record(action="risk.viewed", actor=request.user, request=request, page="doctor_risk",
                 month=month.strftime("%Y-%m"))
    return render(request, "wellness/doctor/risk.html", {
        "suggested": [f for f in flags if f.status == risk.Status.SUGGESTED],
        "open_flags": [f for f in flags if f.status == risk.Status.OPEN],
        "tasks": list(risk.follow_ups_open(doctor=doctor)),
        "today": today,
        "ranking": ranking,
        "month": month,
        "previous_month": risk.previous_month(month),
        "next_month": risk.next_month(month) if risk.next_month(month) <= today else None,
        "confirm_form": RiskFlagConfirmForm(),
        "rule_labels": risk.RULE_LABELS,
    })


# --- flag controls (POST only) ----------------------------------------------------------------------------

@login_required
@require_POST
def risk_flag_raise(request, patient_id):
    _doctor_or_404(request)
    try:
        patient = selectors.patient_get(fetched_by=request.user, patient_id=patient_id)
    except NotFound as exc:
        raise Http404 from exc
    form = RiskFlagRaiseForm(request.POST)
    if form.is_valid():
        try:
            risk.risk_flag_raise(actor=request.user, patient=patient, reason=form.cleaned_data["reason"],
                                 follow_up=form.cleaned_data["follow_up"], request=request)
        except NotFound as exc:
            raise Http404 from exc
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_patient_page(patient))
        else:
            messages.success(request, _("%(name)s is marked high-risk. The follow-up is in your list.") % {
                "name": patient.name})
            return redirect(_patient_page(patient))
    from clinic.views.doctor import patient_detail_page

    return patient_detail_page(request, patient, raise_form=form, status=400)


def _flag_action(request, flag_id, action):
    _doctor_or_404(request)
    try:
        flag = risk.risk_flag_get(fetched_by=request.user, flag_id=flag_id)
    except NotFound as exc:
        raise Http404 from exc
    back = _back(request, _patient_page(flag.patient))
    form = (RiskFlagConfirmForm if action == "confirm" else RiskFlagNoteForm)(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    try:
        if action == "confirm":
            risk.risk_flag_confirm(actor=request.user, flag=flag, follow_up=data["follow_up"], note=data["note"],
                                   request=request)
            messages.success(request, _("Confirmed: %(name)s is marked high-risk and the follow-up is in your "
                                        "list.") % {"name": flag.patient.name})
        elif action == "dismiss":
            risk.risk_flag_dismiss(actor=request.user, flag=flag, note=data["note"], request=request)
            messages.success(request, _("The suggestion for %(name)s was dismissed.") % {"name": flag.patient.name})
        else:
            risk.risk_flag_clear(actor=request.user, flag=flag, note=data["note"], request=request)
            messages.success(request, _("The high-risk flag of %(name)s was cleared.") % {"name": flag.patient.name})
    except NotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@login_required
@require_POST
def risk_flag_confirm(request, flag_id):
    return _flag_action(request, flag_id, "confirm")


@login_required
@require_POST
def risk_flag_dismiss(request, flag_id):
    return _flag_action(request, flag_id, "dismiss")


@login_required
@require_POST
def risk_flag_clear(request, flag_id):
    return _flag_action(request, flag_id, "clear")


@login_required
@require_POST
def follow_up_done(request, task_id):
    _doctor_or_404(request)
    try:
        task = risk.follow_up_task_get(fetched_by=request.user, task_id=task_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        risk.follow_up_done(actor=request.user, task=task, request=request)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Follow-up done: %(action)s with %(name)s.") % {
            "action": task.get_action_display().lower(), "name": task.flag.patient.name})
    return redirect(_back(request, "/doctor/risk/"))
