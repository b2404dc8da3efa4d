"""The call page of an online appointment: pre-join check, then the call (static/js/call.js)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from clinic.extras import extras_get
from core.errors import NotFound
from telehealth import calls


@require_GET
@login_required
def call_room(request, room_id):
    try:
        appointment, side = calls.call_room_get(fetched_by=request.user, room_id=room_id)
    except NotFound:
        raise Http404("Call not found.") from None
    opens, closes = calls.call_window(appointment)
    closed_reason = ""
    try:
        calls.call_join_check(appointment=appointment)
    except calls.CallNotOpen as closed:
        closed_reason = closed.message
    appointment_url = reverse("appointment_detail", args=[appointment.pk])
    # A call asked for from a chat as "audio only" starts with audio preselected (either side may
    # still switch to video before joining).
    audio_only = bool((extras_get(appointment, "call_request") or {}).get("audio_only"))
    return render(request, "telehealth/calls/room.html", {
        "appointment": appointment,
        "side": side,
        "audio_only": audio_only,
        "closed_reason": closed_reason,
        "opens": opens, "closes": closes,
        "tz_name": timezone.get_current_timezone_name(),
        "call_text": _call_text(),
        "call_config": {
            "wsPath": f"/ws/calls/{appointment.room_id}/",
            "side": side,
            "polite": side == calls.PATIENT,
            "iceServers": calls.ice_servers(),
            # After hanging up the doctor goes straight to writing the notes.
            "afterUrl": appointment_url + ("#notes" if side == calls.DOCTOR else ""),
        },
    })


def _call_text() -> dict:
    """What call.js shows, in the viewer's language."""
    return {
        "waiting": _("waiting for the other person"), "connecting": _("connecting"),
        "connected": _("connected"), "disconnected": _("connection lost, retrying"),
        "failed": _("connection failed, retrying"), "closed": _("call ended"),
        "peerLeft": _("the other person left"), "refused": _("you cannot join this call"),
        "notOpen": _("the call room is not open now"), "replaced": _("you joined from another window"),
        "reconnecting": _("reconnecting"),
        "noDevices": _("No camera or microphone found. Check that they are connected and allowed."),
        "audioOnly": _("No camera found: you will join with audio only."),
        "ready": _("Your camera and microphone work."),
        "mute": _("Mute"), "unmute": _("Unmute"), "cameraOff": _("Camera off"), "cameraOn": _("Camera on"),
    }
