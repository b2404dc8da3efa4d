"""Chat pages: the list (unread counts, last message, archive) and the conversation (history,
search, live updates through static/js/chat.js). Reads and writes go through telehealth.chat;
the page's script sends and uploads through /api/v1 with the session."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import selectors as clinic_selectors
from core.errors import NotFound, PermissionDenied
from telehealth import chat as chats
from telehealth.escalation import chat_resolve_urgent, escalation_reached_staff


def _strings() -> dict:
    return {"connected": _("Connected"), "reconnecting": _("Reconnecting…"), "typing": _("is typing…"),
            "online": _("Online now:"), "onBehalf": _("on behalf of"), "stop": _("Stop and send"),
            "record": _("Record voice"), "read": _("Read"), "sending": _("Sending…"),
            "forbidden": _("You are no longer part of this conversation."),
            "paused": _("Live updates paused: your messages are saved; others see them when they reload."),
            "sendFailed": _("The message could not be sent."),
            "redacted": _("This message was removed by a moderator."),
            "voice": _("Voice message"), "uploadFailed": _("The file could not be sent."),
            "escalated": _("No answer from the doctor yet: escalated to hospital staff."),
            "escalatedNobody": _("No answer from the doctor yet, and no hospital staff could be reached. "
                                 "If this is an emergency, call your local emergency number."),
            "urgentHandled": _("The doctor marked this urgent conversation handled."),
            "urgentWithdrawn": _("This conversation is no longer marked urgent."),
            "urgentMarked": _("This conversation was marked urgent.")}


@require_GET
@login_required
def chat_list(request):
    archived = request.GET.get("archived") == "1"
    search = request.GET.get("q", "").strip()[:100]
    rows = list(chats.chats_list(fetched_by=request.user, archived=archived, search=search))
    chats.chat_previews_read_record(actor=request.user, chats=rows, via="list", request=request)
    return render(request, "telehealth/chat/list.html", {"chats": rows, "archived": archived, "q": search})


@require_GET
@login_required
def chat_detail(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    side = chats.chat_side(request.user, chat)
    search = request.GET.get("q", "").strip()[:100]
    messages, more = chats.messages_list(fetched_by=request.user, chat=chat, search=search)
    chats.chat_read_record(actor=request.user, chat=chat, seqs=[m.seq for m in messages], via="page",
                           request=request)
    as_doctor = side == "doctor"
    return render(request, "telehealth/chat/detail.html", {
        "chat": chat, "side": side, "q": search, "chat_messages": messages, "more": more,
        "escalation_minutes": settings.CHAT_URGENT_ESCALATION_MINUTES,
        "escalation_reached": escalation_reached_staff(chat),
        "archived": not (chat.is_active_for_doctor if as_doctor else chat.is_active_for_patient),
        "initial": {"chat_id": str(chat.pk), "user_id": str(request.user.pk), "side": side,
                    "messages": [chats.message_payload(m, reader=request.user) for m in messages], "has_more": more,
                    "receipts": chats.read_receipts(chat), "searching": bool(search),
                    "patient_name": chat.patient.name, "strings": _strings()},
    })


@require_POST
@login_required
def chat_archive(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    chats.chat_archive(actor=request.user, chat=chat, archived=request.POST.get("archived", "1") == "1")
    return redirect("chat_list")


@require_POST
@login_required
def chat_urgent(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    try:
        chats.chat_mark_urgent(actor=request.user, chat=chat, urgent=request.POST.get("urgent", "1") == "1")
    except chats.RateLimited as exc:
        messages.error(request, exc.message)
    return redirect("chat_detail", chat.pk)


@require_POST
@login_required
def chat_urgent_resolve(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    chat_resolve_urgent(actor=request.user, chat=chat)
    return redirect("chat_detail", chat.pk)


@require_POST
@login_required
def chat_start(request):
    """A "Message" button (appointment page, doctor's profile, doctor's patient page): open the
    conversation between the patient and the doctor, creating it on first use — only inside a care
    team (``chats.chat_start_allowed``); 404 otherwise, for missing and not-yours alike."""
    try:
        patient_id, doctor_id = uuid.UUID(request.POST.get("patient", "")), uuid.UUID(request.POST.get("doctor", ""))
        patient = clinic_selectors.patient_get(fetched_by=request.user, patient_id=patient_id, clinical=False)
        doctor = clinic_selectors.doctor_get(doctor_id=doctor_id)
        chat = chats.chat_start(actor=request.user, patient=patient, doctor=doctor)
    except (ValueError, NotFound) as exc:
        raise Http404 from exc
    return redirect("chat_detail", chat.pk)


@require_POST
@login_required
def chat_open_for_appointment(request, appointment_id):
    appointment = clinic_selectors.appointment_get(fetched_by=request.user, appointment_id=appointment_id)
    try:
        chat = chats.chat_open_for_appointment(actor=request.user, appointment=appointment)
    except PermissionDenied as refused:  # the doctor is no longer in the patient's care team
        messages.error(request, refused.message)
        return redirect("appointment_detail", appointment.pk)
    return redirect("chat_detail", chat.pk)
