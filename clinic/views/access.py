"""The "Who has access" page: the patient (and each manager, for those they manage) sees every hospital,
doctor and family member with access to the record, answers invitations and ends any access —
effective at once. The same selectors and services serve /api/v1/access."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import selectors, services
from clinic.forms import FamilyInviteForm
from core.errors import DomainError, NotFound


def _page(request, form=None, status=200):
    rows = selectors.access_of_patients(fetched_by=request.user)
    patients = [row["patient"] for row in rows]
    return render(request, "clinic/patient/access.html", {
        "rows": rows,
        "invitations": list(selectors.family_invitations_for(request.user)),
        "invite_form": form or (FamilyInviteForm(patients=patients) if patients else None),
    }, status=status)


@login_required
@require_GET
def patient_access(request):
    return _page(request)


@login_required
@require_POST
def patient_access_invite(request):
    patients = list(selectors.patients_access_managed_by(request.user))
    if not patients:
        raise Http404
    form = FamilyInviteForm(request.POST, patients=patients)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    patient = form.cleaned_data["patient"]
    try:
        services.family_invite(actor=request.user, patient=patient, login=form.cleaned_data["login"],
                               relation=form.cleaned_data["relation"])
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _page(request, form=form, status=400)
    # The same answer whether or not such an account exists, so the form cannot probe accounts.
    messages.success(request, services.family_invite_answer(patient))
    return redirect("patient_access")


def _answer(request, kind, link_id, action, done_message):
    try:
        link = selectors.access_link_get(fetched_by=request.user, kind=kind, link_id=link_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        action(actor=request.user, link=link)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message)
    # The family page answers invitations and removes links through these routes too.
    return redirect("family" if request.POST.get("next") == "family" else "patient_access")


@login_required
@require_POST
def patient_access_accept(request, kind, link_id):
    return _answer(request, kind, link_id, services.access_accept, _("Invitation accepted."))


@login_required
@require_POST
def patient_access_decline(request, kind, link_id):
    return _answer(request, kind, link_id, services.access_decline, _("Invitation declined."))


@login_required
@require_POST
def patient_access_remove(request, kind, link_id):
    return _answer(request, kind, link_id, services.access_remove, _("Access removed."))


urlpatterns = [
    path("access/", patient_access, name="patient_access"),
    path("access/invite/", patient_access_invite, name="patient_access_invite"),
    path("access/<str:kind>/<uuid:link_id>/accept/", patient_access_accept, name="patient_access_accept"),
    path("access/<str:kind>/<uuid:link_id>/decline/", patient_access_decline, name="patient_access_decline"),
    path("access/<str:kind>/<uuid:link_id>/remove/", patient_access_remove, name="patient_access_remove"),
]
