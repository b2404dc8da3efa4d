"""Pages for consented emotion snapshots: consent, capture (webcam, static/js/emotion-capture.js),
the result without reload, history, withdrawal and erasure. Thin: every rule is in
wellness/snapshots.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, NotFound
from wellness import snapshots
from wellness.snapshots import AI_LABEL

HISTORY_LENGTH = 30


def _own_patient_or_404(request):
    try:
        return snapshots.own_patient_of(request.user)
    except NotFound as exc:
        raise Http404 from exc


def _decorate(snapshot):
    snapshot.emotion_name = snapshots.emotion_name(snapshot.dominant_emotion) if snapshot.dominant_emotion else ""
    snapshot.confidence_percent = round(snapshot.confidence * 100) if snapshot.confidence is not None else None
    return snapshot


def _history(patient):
    return [_decorate(s) for s in snapshots.history_of(patient)[:HISTORY_LENGTH]]


@require_GET
@login_required
def emotion_snapshots(request):
    patient = _own_patient_or_404(request)
    consent = snapshots.emotion_consent_of(request.user)
    history = _history(patient)
    return render(request, "wellness/emotion/page.html", {
        "consent": consent, "history": history, "ai_label": AI_LABEL,
        "keep_choices": snapshots.Keep.choices,
        "capture_config": {
            "captureUrl": reverse("emotion_capture"),
            "historyUrl": reverse("emotion_history"),
            "frames": 4, "durationMs": 2000, "width": 640,
            "strings": {
                "starting": _("Starting the camera…"),
                "ready": _("Look at the camera — the snapshot starts in a moment."),
                "capturing": _("Capturing… hold still for two seconds."),
                "uploading": _("Sending the pictures…"),
                "analysing": _("Analysing…"),
                "slow": _("This is taking longer than usual. The result will appear in your history."),
                "denied": _("Camera access was blocked. Allow the camera for this site in your browser's "
                            "settings, then try again."),
                "noCamera": _("No camera was found on this device."),
                "cameraError": _("The camera could not be started. Close other apps that use it and try again."),
                "unsupported": _("This browser cannot use the camera. Try a recent version of Firefox, Chrome "
                                 "or Safari."),
                "uploadError": _("The pictures could not be sent. Check your connection and try again."),
            },
        },
    })


@require_POST
@login_required
def emotion_consent(request):
    _own_patient_or_404(request)
    capture = request.POST.get("capture") == "on"
    keep_images = request.POST.get("keep_images") == "on"
    keep = request.POST.get("keep") or None  # absent: left as it is
    before = snapshots.emotion_consent_of(request.user)
    try:
        after = snapshots.emotion_consent_set(user=request.user, capture=capture, keep_images=keep_images,
                                              keep=keep, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("emotion_snapshots")
    if after.capture and not before.capture:
        messages.success(request, _("Thank you. You can take emotion snapshots now, and withdraw your consent "
                                    "at any time."))
    elif before.capture and not after.capture:
        messages.success(request, _("Your consent was withdrawn. No more snapshots will be taken."))
    elif after.keep != before.keep:
        messages.success(request, _("Your choice about what to keep from each snapshot was saved."))
    elif after != before:
        messages.success(request, _("Your choice about keeping the pictures was saved."))
    elif not capture:
        messages.info(request, _("Nothing was changed: tick the first box to allow emotion snapshots."))
    return redirect("emotion_snapshots")


@require_POST
@login_required
def emotion_consent_withdraw(request):
    _own_patient_or_404(request)
    snapshots.emotion_consent_withdraw(user=request.user, request=request)
    messages.success(request, _("Your consent was withdrawn. No more snapshots will be taken."))
    return redirect("emotion_snapshots")


@require_POST
@login_required
def emotion_capture(request):
    """Frames from the webcam script (multipart ``frames``) -> 202 {job_id, status_url}."""
    try:
        snapshot = snapshots.emotion_capture(user=request.user, frames=request.FILES.getlist("frames"),
                                             request=request)
    except ValidationError as exc:
        detail = " ".join(m for messages_ in exc.message_dict.values() for m in messages_)
        return JsonResponse({"detail": detail, "field": "frames"}, status=422)
    except DomainError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status_code)
    return JsonResponse({"job_id": str(snapshot.pk),
                         "status_url": reverse("emotion_snapshot_status", args=[snapshot.pk])}, status=202)


@require_GET
@login_required
def emotion_snapshot_status(request, snapshot_id):
    """The result partial the capture script polls; ``data-status`` says when to stop."""
    try:
        snapshot = snapshots.emotion_snapshot_get_own(fetched_by=request.user, snapshot_id=snapshot_id)
    except NotFound as exc:
        raise Http404 from exc
    snapshot = snapshots.emotion_result_show_once(snapshot)
    return render(request, "wellness/emotion/_result.html", {
        "snapshot": _decorate(snapshot), "scores": snapshots.emotion_scores_display(snapshot), "ai_label": AI_LABEL,
    })


@require_GET
@login_required
def emotion_history(request):
    patient = _own_patient_or_404(request)
    return render(request, "wellness/emotion/_history.html", {"history": _history(patient), "ai_label": AI_LABEL})


@require_POST
@login_required
def emotion_erase(request):
    patient = _own_patient_or_404(request)
    count = snapshots.emotion_data_erase(user=request.user, patient=patient, request=request)
    messages.success(request, _("All your emotion data was deleted (%(count)d snapshots and their pictures).")
                     % {"count": count})
    return redirect("emotion_snapshots")


@require_GET
@login_required
def emotion_card(request):
    """The dashboard card's body, loaded after the dashboard (so it costs the dashboard nothing)."""
    patient = snapshots.own_patient_or_none(request.user)
    if patient is None:
        return HttpResponse("")
    latest = snapshots.history_of(patient).first()
    return render(request, "wellness/emotion/_card_body.html", {
        "consent": snapshots.emotion_consent_of(request.user), "latest": latest and _decorate(latest),
        "ai_label": AI_LABEL,
    })
