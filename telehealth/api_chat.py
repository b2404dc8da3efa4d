"""/api/v1 for chats: open and list chats, read history (cursor pagination, ``after=`` for resync),
send text, voice and file messages, move read pointers, archive and mark urgent.

API clients send a Bearer JWT; the chat page's script uses the same endpoints with its session
(CSRF-checked). Reads go through telehealth.chat's selectors (404 for missing and not-yours),
writes through its services; a message sent here is broadcast to websocket listeners on commit.
"""

import datetime as dt
import re
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile
from ninja.security import SessionAuth
from pydantic import Field

from accounts.api import JWTAuth
from accounts.policy import owes_second_factor
from clinic import selectors as clinic_selectors
from core.errors import NotFound
from core.schemas import Count, Schema
from telehealth import chat as chats
from telehealth.models import Message


class VerifiedSessionAuth(SessionAuth):
    """The signed-in browser session (CSRF-checked on writes), second factor passed where required."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        if owes_second_factor(user, request.session):
            return None  # a session that owes its second factor (any enrolled user, not only doctors)
        return user


router = Router(tags=["chats"], auth=[JWTAuth(), VerifiedSessionAuth()])


# --- schemas -----------------------------------------------------------------------------------

class ChatOut(Schema):
    id: UUID
    patient_id: UUID
    patient_name: str
    doctor_id: UUID
    doctor_name: str
    is_active_for_doctor: bool
    is_active_for_patient: bool
    is_urgent: bool
    urgent_at: dt.datetime | None = None
    urgent_escalated_at: dt.datetime | None = Field(
        None, description="When the unanswered urgent conversation was escalated to hospital staff.")
    last_seq: int
    last_message_at: dt.datetime | None
    unread: int | None = None
    last_body: str | None = None
    last_kind: str | None = None


class MessageOut(Schema):
    id: UUID
    chat_id: UUID
    seq: int
    client_id: str
    kind: str
    body: str
    sender_id: UUID | None
    sender_name: str
    sender_role: str
    on_behalf: bool
    file_name: str
    file_type: str
    file_size: int
    file_url: str | None
    created_at: dt.datetime
    created_at_display: str | None = Field(
        None, description="created_at as the signed-in account reads it: in its time zone, in its language's "
                          "short date-time format (the same text Haven's pages and websocket frames show).")
    redacted: bool = Field(False, description="Removed by a moderator: body and file are blank.")


class MessageSentOut(MessageOut):
    realtime: bool = Field(True, description="False when the message is stored but the live link is degraded "
                                             "(the others see it when they reconnect or reload).")


class MessagePage(Schema):
    messages: list[MessageOut]
    has_more: bool = Field(..., description="More messages exist in the direction asked (older, or newer with after=).")
    receipts: dict[str, int] = Field(..., description="user id → last seq that member has read")


class ChatOpenIn(Schema):
    patient_id: UUID | None = None
    doctor_id: UUID | None = None
    appointment_id: UUID | None = None


class MessageIn(Schema):
    chat_id: UUID
    client_id: str = Field(..., min_length=1, max_length=64)
    body: str = Field(..., min_length=1, max_length=chats.MAX_BODY)


class EscalatedChatOut(Schema):
    """An escalated urgent conversation as hospital staff see it: who, with whom, since when."""

    id: UUID
    patient_id: UUID
    patient_name: str
    patient_contact: str
    doctor_id: UUID
    doctor_name: str
    urgent_at: dt.datetime
    urgent_escalated_at: dt.datetime
    doctor_answered_at: dt.datetime | None = Field(None, description="The doctor's first answer since then, if any.")


class ReadOut(Schema):
    last_read_seq: int


class FlagIn(Schema):
    value: bool = True


# --- endpoints ---------------------------------------------------------------------------------

@router.post("/chats", response={200: ChatOut, 201: ChatOut}, summary="Open (or get) a doctor–patient chat")
def chat_open(request, payload: ChatOpenIn):
    """Give an ``appointment_id``, or a ``patient_id`` and ``doctor_id`` of a care-team mapping."""
    user = request.auth
    if payload.appointment_id:
        appointment = clinic_selectors.appointment_get(fetched_by=user, appointment_id=payload.appointment_id)
        chat = chats.chat_open_for_appointment(actor=user, appointment=appointment)
    elif payload.patient_id and payload.doctor_id:
        patient = clinic_selectors.patient_get(fetched_by=user, patient_id=payload.patient_id)
        doctor = clinic_selectors.doctor_get(doctor_id=payload.doctor_id)
        chat = chats.chat_open(actor=user, patient=patient, doctor=doctor)
    else:
        raise ValidationError({"appointment_id": ["Give appointment_id, or patient_id and doctor_id."]})
    return chats.chat_payload(chat)


@router.get("/chats", response=list[ChatOut], summary="The caller's chats, urgent and most recent first")
def chat_list(request, archived: bool = False, q: str = ""):
    rows = list(chats.chats_list(fetched_by=request.auth, archived=archived, search=q))
    chats.chat_previews_read_record(actor=request.auth, chats=rows, via="api-list", request=request)
    return [chats.chat_payload(c) for c in rows]


@router.get("/chats/unread", summary="Unread messages over all the caller's chats (for the navigation badge)")
def chat_unread(request):
    return {"unread": chats.chat_unread_total(request.auth)}


@router.get("/chats/{chat_id}", response=ChatOut)
def chat_detail(request, chat_id: UUID):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    listed = chats.chats_list(fetched_by=request.auth).filter(pk=chat.pk).first() or \
        chats.chats_list(fetched_by=request.auth, archived=True).filter(pk=chat.pk).first()
    if listed is not None:
        chats.chat_previews_read_record(actor=request.auth, chats=[listed], via="api", request=request)
    return chats.chat_payload(listed or chat)


@router.get("/chats/{chat_id}/messages", response=MessagePage,
            summary="History: newest page, older with before=<seq>, or everything after=<seq> (resync)")
def chat_messages(request, chat_id: UUID, after: Count | None = None, before: Count | None = None, q: str = "",
                  limit: Count = chats.PAGE_DEFAULT):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    messages, more = chats.messages_list(fetched_by=request.auth, chat=chat, after=after, before=before,
                                         search=q, limit=limit)
    chats.chat_read_record(actor=request.auth, chat=chat, seqs=[m.seq for m in messages], via="api",
                           request=request)
    return {"messages": [chats.message_payload(m, reader=request.auth) for m in messages], "has_more": more,
            "receipts": chats.read_receipts(chat)}


@router.post("/chats/{chat_id}/archive", response=ChatOut, summary="Archive (value=true) or restore for your side")
def chat_archive(request, chat_id: UUID, payload: FlagIn):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    return chats.chat_payload(chats.chat_archive(actor=request.auth, chat=chat, archived=payload.value))


@router.post("/chats/{chat_id}/urgent", response=ChatOut, summary="Patient side: mark the conversation urgent")
def chat_urgent(request, chat_id: UUID, payload: FlagIn):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    return chats.chat_payload(chats.chat_mark_urgent(actor=request.auth, chat=chat, urgent=payload.value))


@router.post("/chats/{chat_id}/urgent/resolve", response=ChatOut,
             summary="Doctor: mark an urgent conversation handled (stops its escalation)")
def chat_urgent_resolve(request, chat_id: UUID):
    from telehealth.escalation import chat_resolve_urgent

    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    return chats.chat_payload(chat_resolve_urgent(actor=request.auth, chat=chat))


@router.get("/hospitals/{hospital_id}/urgent-chats", response=list[EscalatedChatOut],
            summary="Hospital staff: urgent conversations escalated to this hospital (never their messages)")
def hospital_urgent_chats(request, hospital_id: UUID):
    from telehealth.escalation import escalated_chats_for_hospital

    hospital = clinic_selectors.hospital_get(hospital_id=hospital_id)
    return [{"id": c.pk, "patient_id": c.patient_id, "patient_name": c.patient.name,
             "patient_contact": c.patient.contact, "doctor_id": c.doctor_id, "doctor_name": c.doctor.user.name,
             "urgent_at": c.urgent_at, "urgent_escalated_at": c.urgent_escalated_at,
             "doctor_answered_at": c.doctor_answered_at}
            for c in escalated_chats_for_hospital(fetched_by=request.auth, hospital=hospital)]


class WsTicketOut(Schema):
    ticket: str
    expires_in: int = Field(description="Seconds the ticket stays valid; it opens one socket, once.")


@router.post("/ws-ticket", response=WsTicketOut,
             summary="A one-use ticket to open a websocket (?ticket= or ?token=) within 60 s")
def ws_ticket(request):
    """For clients that can set neither a header nor a subprotocol: the ticket, not a JWT, goes in
    the socket's URL (URLs are logged; a used or expired ticket is worthless). Sockets:
    ``/api/v1/chats/ws/{chat_id}?token=<ticket>`` (or ``/ws/chats/{chat_id}/?ticket=<ticket>``),
    ``/ws/calls/{room_id}/?ticket=``, ``/ws/notifications/?ticket=``. Native clients may instead
    send ``Authorization: Bearer <access>`` on the handshake; no ``Origin`` is needed either way."""
    from telehealth.ws_auth import ticket_ttl, ws_ticket_issue

    return {"ticket": ws_ticket_issue(user=request.auth), "expires_in": ticket_ttl()}


@router.post("/messages", response={200: MessageSentOut, 201: MessageSentOut},
             summary="Send a text message (201; 200 when this client_id was already stored)")
def message_send(request, payload: MessageIn):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=payload.chat_id)
    message, created = chats.message_send(sender=request.auth, chat=chat, client_id=payload.client_id,
                                          body=payload.body)
    return Status(201 if created else 200, {**chats.message_payload(message, reader=request.auth),
                                            "realtime": getattr(message, "realtime", True)})


@router.post("/messages/upload", response={200: MessageSentOut, 201: MessageSentOut},
             summary="Send a voice message (kind=audio) or a file (kind=file: PDF, JPEG, PNG, WebP)")
def message_upload(request, chat_id: Form[UUID], client_id: Form[str], file: File[UploadedFile],
                   kind: Form[str] = Message.Kind.FILE, body: Form[str] = ""):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    if kind not in (Message.Kind.AUDIO, Message.Kind.FILE):
        raise ValidationError({"kind": ["kind must be audio or file."]})
    message, created = chats.message_send(sender=request.auth, chat=chat, client_id=client_id, body=body,
                                          kind=kind, upload=file)
    return Status(201 if created else 200, {**chats.message_payload(message, reader=request.auth),
                                            "realtime": getattr(message, "realtime", True)})


@router.put("/messages/{message_id}/read", response=ReadOut, summary="Mark read up to and including this message")
def message_read(request, message_id: UUID):
    message = chats.message_get(fetched_by=request.auth, message_id=message_id)
    return {"last_read_seq": chats.message_mark_read(user=request.auth, message=message)}


@router.get("/messages/{message_id}/file", url_name="chat_message_file", summary="Download a message's file or recording", response={200: None})
def message_file(request, message_id: UUID):
    message = chats.message_get(fetched_by=request.auth, message_id=message_id)
    if not message.file:
        raise NotFound(_("This message has no file."))
    chats.chat_file_read_record(actor=request.auth, message=message, via="api", request=request)
    return chats_file_response(message, request)


def chats_file_response(message: Message, request=None) -> HttpResponse:
    """The decrypted file, never inline-executable: attachment unless it is an image or audio.
    A voice message is served as audio (older ones were stored as video/webm) with its length and
    byte ranges (``Range``), which players need to show the duration and to seek."""
    if message.kind == Message.Kind.AUDIO:
        return _audio_response(message, request)
    inline = message.file_type.startswith(("image/", "audio/"))
    response = FileResponse(message.file.open("rb"), content_type=message.file_type or "application/octet-stream",
                            as_attachment=not inline, filename=message.file_name or "file")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _audio_response(message: Message, request) -> HttpResponse:
    from telehealth.chat import AUDIO_AS

    with message.file.open("rb") as handle:
        data = handle.read()  # decrypted; recordings are capped by the upload size limit
    content_type = AUDIO_AS.get(message.file_type, message.file_type)
    if not content_type.startswith("audio/"):
        content_type = "audio/webm"
    size, status, start, end = len(data), 200, 0, len(data) - 1
    match = _RANGE.match((request.headers.get("Range") or "").strip()) if request is not None else None
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match.group(2)))
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    response = HttpResponse(data[start:end + 1], status=status, content_type=content_type)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(end - start + 1)
    response["Content-Disposition"] = f'inline; filename="{message.file_name or "voice"}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
