"""/api/v1 for wellness triage: the monthly stress ranking and high-risk flags.

GET  /doctors/{id}/stress-ranking?month=YYYY-MM   the doctor themself or admins (else 404)
GET  /patients/{id}/risk-flags                    care-team doctors and admins (else 404)
POST /patients/{id}/risk-flags                    care-team doctors (admins: 403)
PUT  /risk-flags/{id}                             confirm / dismiss / clear (care-team doctors)
POST /follow-ups/{id}/done                        mark a follow-up task done (care-team doctors)

Same selectors and services as the pages; doctor and admin reads are audited.
"""

import datetime as dt
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import Field

from analytics.services import audit_record
from clinic import scheduling, selectors
from core.schemas import Schema, date_in_range, date_range_message
from wellness import risk
from wellness.models import RiskFlag

router = Router(tags=["wellness: risk"])

FollowUp = Literal["call", "emergency_consult", "send_resources"]


class RankingRowOut(Schema):
    patient_id: UUID
    name: str
    avg_stress: float | None
    prev_avg_stress: float | None
    change: float | None
    entries: int
    high_risk: bool


class RankingOut(Schema):
    doctor_id: UUID
    month: str
    previous_month: str
    patients: list[RankingRowOut]


class EventOut(Schema):
    kind: str
    actor_id: UUID | None
    note: str
    created_at: dt.datetime


class FollowUpTaskOut(Schema):
    id: UUID
    action: str
    due_on: dt.date
    done_at: dt.datetime | None
    doctor_id: UUID


class FlagOut(Schema):
    id: UUID
    patient_id: UUID
    source: str
    rule: str
    status: str
    label: str
    reason: str
    follow_up: str
    doctor_id: UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    events: list[EventOut]
    tasks: list[FollowUpTaskOut]


class RiskFlagIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)
    follow_up: FollowUp


class FlagUpdateIn(Schema):
    action: Literal["confirm", "dismiss", "clear"]
    follow_up: FollowUp | None = Field(None, description="Required to confirm")
    note: str = Field("", max_length=1000)


def _label(flag: RiskFlag) -> str:
    if flag.status == RiskFlag.Status.SUGGESTED:
        return _("Suggested by rule — confirm or dismiss")
    if flag.status == RiskFlag.Status.OPEN:
        return _("High risk")
    return flag.get_status_display()


def _flag_out(flag: RiskFlag) -> dict:
    return {
        "id": flag.pk, "patient_id": flag.patient_id, "source": flag.source, "rule": flag.rule,
        "status": flag.status, "label": _label(flag), "reason": flag.reason, "follow_up": flag.follow_up,
        "doctor_id": flag.doctor_id, "created_at": flag.created_at, "updated_at": flag.updated_at,
        "events": [{"kind": e.kind, "actor_id": e.actor_id, "note": e.note, "created_at": e.created_at}
                   for e in flag.events.all()],
        "tasks": [{"id": t.pk, "action": t.action, "due_on": t.due_on, "done_at": t.done_at, "doctor_id": t.doctor_id}
                  for t in flag.tasks.all()],
    }


def _fresh(request, flag_id) -> dict:
    flag = (RiskFlag.objects.filter(pk=flag_id).select_related("doctor")
            .prefetch_related("events", "tasks").get())
    return _flag_out(flag)


@router.get("/doctors/{uuid:doctor_id}/stress-ranking", response=RankingOut,
            summary="A doctor's patients ranked by average stress in a month (the doctor or administrators)")
def stress_ranking(request, doctor_id: UUID, month: str | None = None):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    risk.doctor_for_ranking(fetched_by=request.auth, doctor=doctor)
    if month:
        try:
            start = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError as exc:
            raise ValidationError({"month": [_("Give the month as YYYY-MM.")]}) from exc
        if not date_in_range(start):
            raise ValidationError({"month": [date_range_message()]})
    else:
        start = timezone.now().astimezone(scheduling.doctor_zone(doctor)).date().replace(day=1)
    rows = risk.stress_ranking(fetched_by=request.auth, doctor=doctor, month=start)
    audit_record(action="risk.viewed", actor=request.auth, target=doctor, request=request, api="stress-ranking",
                 month=start.strftime("%Y-%m"))
    return {
        "doctor_id": doctor.pk, "month": start.strftime("%Y-%m"),
        "previous_month": risk.previous_month(start).strftime("%Y-%m"),
        "patients": [{"patient_id": r.pk, "name": r.name,
                      "avg_stress": round(r.avg_stress, 2) if r.avg_stress is not None else None,
                      "prev_avg_stress": round(r.prev_avg_stress, 2) if r.prev_avg_stress is not None else None,
                      "change": round(r.change, 2) if r.change is not None else None,
                      "entries": r.entries, "high_risk": r.high_risk} for r in rows],
    }


@router.get("/patients/{uuid:patient_id}/risk-flags", response=list[FlagOut],
            summary="A patient's high-risk flags with events and follow-ups (care-team doctors, administrators)")
def risk_flags_list(request, patient_id: UUID, status: Literal["suggested", "open", "cleared", "dismissed"] | None = None):
    patient = risk.triage_patient_get(fetched_by=request.auth, patient_id=patient_id)
    flags = risk.risk_flags_of(fetched_by=request.auth, patient=patient)
    if status:
        flags = flags.filter(status=status)
    audit_record(action="risk.viewed", actor=request.auth, target=patient, request=request, api="risk-flags")
    return [_flag_out(f) for f in flags]


@router.post("/patients/{uuid:patient_id}/risk-flags", response={201: FlagOut},
             summary="Mark a patient high-risk, with a follow-up task (care-team doctors)")
def risk_flag_create(request, patient_id: UUID, payload: RiskFlagIn):
    patient = risk.triage_patient_get(fetched_by=request.auth, patient_id=patient_id)
    flag = risk.risk_flag_raise(actor=request.auth, patient=patient, reason=payload.reason,
                                follow_up=payload.follow_up, request=request)
    return Status(201, _fresh(request, flag.pk))


@router.put("/risk-flags/{uuid:flag_id}", response=FlagOut,
            summary="Confirm (with a follow-up) or dismiss a suggested flag; clear an open one (care-team doctors)")
def risk_flag_update(request, flag_id: UUID, payload: FlagUpdateIn):
    flag = risk.risk_flag_get(fetched_by=request.auth, flag_id=flag_id)
    if payload.action == "confirm":
        if not payload.follow_up:
            raise ValidationError({"follow_up": [_("Choose a follow-up action.")]})
        risk.risk_flag_confirm(actor=request.auth, flag=flag, follow_up=payload.follow_up, note=payload.note,
                               request=request)
    elif payload.action == "dismiss":
        risk.risk_flag_dismiss(actor=request.auth, flag=flag, note=payload.note, request=request)
    else:
        risk.risk_flag_clear(actor=request.auth, flag=flag, note=payload.note, request=request)
    return _fresh(request, flag.pk)


@router.post("/follow-ups/{uuid:task_id}/done", response=FollowUpTaskOut, summary="Mark a follow-up task done")
def follow_up_done(request, task_id: UUID):
    task = risk.follow_up_task_get(fetched_by=request.auth, task_id=task_id)
    task = risk.follow_up_done(actor=request.auth, task=task, request=request)
    return {"id": task.pk, "action": task.action, "due_on": task.due_on, "done_at": task.done_at,
            "doctor_id": task.doctor_id}
