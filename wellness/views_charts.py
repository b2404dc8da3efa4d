"""The patient-side charts page, /wellness/charts/?patient=&period=daily|weekly|monthly&days=14|30.

For the patient and their family (the tracker links here); the care team and admins may open it
too (the clinical access policy decides; their reads are audited). Hospital staff and everyone
else get 404.
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.services import audit_record
from clinic import selectors
from core.errors import NotFound
from wellness import charts


def _chosen_patient(request):
    managed = list(selectors.patients_managed_by(request.user))
    raw = request.GET.get("patient")
    if not raw:
        own = getattr(request.user, "patient_record", None)
        patient = next((p for p in managed if own is not None and p.pk == own.pk), managed[0] if managed else None)
        if patient is None:
            raise Http404
        return patient, managed
    try:
        patient_id = uuid.UUID(raw)
        return selectors.patient_get(fetched_by=request.user, patient_id=patient_id), managed
    except (ValueError, NotFound) as exc:
        raise Http404 from exc


@login_required
@require_GET
def wellness_charts(request):
    patient, managed = _chosen_patient(request)
    if patient.pk not in {p.pk for p in managed}:
        audit_record(action="wellness.viewed", actor=request.user, target=patient, request=request, page="charts")
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    panel = charts.chart_panel(patient, period=request.GET.get("period", "daily"), days=days,
                               today=charts.local_today(patient, request.user.timezone))
    return render(request, "wellness/charts/page.html", {
        "panel": panel, "patient": patient, "managed": managed if len(managed) > 1 else [],
        "panel_query": f"patient={patient.pk}&",
        # The patient and their family get the tracker's tabs (check-in, plan, habits, charts).
        "is_tracker": patient.pk in {p.pk for p in managed},
        "patient_query": "" if patient.user_id == request.user.pk else f"?patient={patient.pk}",
    })
