"""/api/v1 for calls asked for from a chat:

  POST /chats/{chat_id}/call-requests      the patient's side asks for a call now (201; 409 if one waits)
  GET  /chats/{chat_id}/call-requests      the chat's requests, newest first
  GET  /call-requests/{id}                 one request
  POST /call-requests/{id}/accept          the chat's doctor: books the call, returns its room
  POST /call-requests/{id}/decline         the chat's doctor, with an optional reason
  POST /call-requests/{id}/cancel          the patient's side withdraws a pending request

Reads go through telehealth.call_requests' selectors (404 for missing and not-yours alike), writes
through its services; each change reaches the chat's websocket listeners on commit.
"""

import datetime as dt
from uuid import UUID

from ninja import Router, Status
from pydantic import Field

from accounts.api import JWTAuth
from core.schemas import Count, Schema
from telehealth import call_requests
from telehealth import chat as chats
from telehealth.api_chat import VerifiedSessionAuth

router = Router(tags=["call requests"], auth=[JWTAuth(), VerifiedSessionAuth()])


class CallRequestIn(Schema):
    reason: str = Field("", max_length=call_requests.MAX_REASON, description="Optional: what the call is about.")
    audio_only: bool = False


class DeclineIn(Schema):
    reason: str = Field("", max_length=call_requests.MAX_REASON, description="Optional; shown to the patient.")


class CallRequestOut(Schema):
    id: UUID
    chat_id: UUID
    status: str = Field(..., description="pending, accepted, declined, cancelled or expired")
    status_label: str
    audio_only: bool
    reason: str
    requested_by_id: UUID | None
    requested_by_name: str
    on_behalf: bool = Field(..., description="Asked by a family member acting for the patient.")
    patient_name: str
    doctor_name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = Field(..., description="While pending: when it expires unanswered.")
    responded_by_name: str
    responded_at: dt.datetime | None
    decline_reason: str
    appointment_id: UUID | None = Field(..., description="When accepted: the online appointment booked for the call.")
    room_id: str | None
    call_url: str | None = Field(..., description="When accepted: the call page (/calls/<room_id>/).")
    participant_ids: list[UUID] = Field(..., description="When accepted: the two people who may join the call.")
    can_join: bool = Field(..., description="Whether the caller is one of them.")


def _out(request, call_request):
    return call_requests.call_request_payload(call_request, viewer=request.auth)


@router.post("/chats/{chat_id}/call-requests", response={201: CallRequestOut},
             summary="Patient side: ask the chat's doctor for a call now")
def call_request_create(request, chat_id: UUID, payload: CallRequestIn):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    call_request = call_requests.call_request_create(actor=request.auth, chat=chat, reason=payload.reason,
                                                     audio_only=payload.audio_only)
    return Status(201, _out(request, call_request))


@router.get("/chats/{chat_id}/call-requests", response=list[CallRequestOut],
            summary="The chat's call requests, newest first")
def call_request_list(request, chat_id: UUID, limit: Count = call_requests.LIST_LIMIT):
    chat = chats.chat_get(fetched_by=request.auth, chat_id=chat_id)
    rows = call_requests.call_requests_list(fetched_by=request.auth, chat=chat, limit=max(1, min(limit, 100)))
    call_requests.call_requests_read_record(actor=request.auth, rows=rows, via="api", request=request)
    return [_out(request, row) for row in rows]


@router.get("/call-requests/{request_id}", response=CallRequestOut, summary="One call request")
def call_request_detail(request, request_id: UUID):
    call_request = call_requests.call_request_get(fetched_by=request.auth, request_id=request_id)
    call_requests.call_requests_read_record(actor=request.auth, rows=[call_request], via="api", request=request)
    return _out(request, call_request)


@router.post("/call-requests/{request_id}/accept", response=CallRequestOut,
             summary="The chat's doctor accepts: an online appointment starting now is booked; join at call_url")
def call_request_accept(request, request_id: UUID):
    call_request = call_requests.call_request_get(fetched_by=request.auth, request_id=request_id)
    return _out(request, call_requests.call_request_accept(actor=request.auth, call_request=call_request))


@router.post("/call-requests/{request_id}/decline", response=CallRequestOut,
             summary="The chat's doctor declines, with an optional reason")
def call_request_decline(request, request_id: UUID, payload: DeclineIn | None = None):
    call_request = call_requests.call_request_get(fetched_by=request.auth, request_id=request_id)
    reason = payload.reason if payload is not None else ""
    return _out(request, call_requests.call_request_decline(actor=request.auth, call_request=call_request,
                                                            reason=reason))


@router.post("/call-requests/{request_id}/cancel", response=CallRequestOut,
             summary="The patient's side withdraws a pending request")
def call_request_cancel(request, request_id: UUID):
    call_request = call_requests.call_request_get(fetched_by=request.auth, request_id=request_id)
    return _out(request, call_requests.call_request_cancel(actor=request.auth, call_request=call_request))
