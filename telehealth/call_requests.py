"""Calls asked for from a chat: the patient's side asks for a call now; the chat's doctor accepts
(a confirmed online appointment starting now is booked and both are taken to its call room) or
declines; the requester's side may cancel while it waits; an unanswered request expires after
CALL_REQUEST_EXPIRY_MINUTES (beat: ``telehealth.tasks.call_requests_expire_due``).

Who may do what follows the chat policy (telehealth.chat): chat members see a chat's requests
(everyone else gets "not found"); the patient and family members acting for them ask and cancel;
only the chat's doctor answers. Who then joins the call is the call policy's decision
(telehealth.calls.call_side_of): the patient's own account, or for a dependent without a login the
family member who asked.

Every change runs on the locked request row and moves it out of "pending" with a conditional
UPDATE, so of accept, decline, cancel and expiry exactly one wins; the database allows one pending
request per chat. Changes are audited, broadcast to the chat's websocket group on commit
(``{"type": "call_request", "call_request": {...}}``) and told to the other side in-app.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from analytics.services import audit_record, audit_record_many
from clinic import services as clinic_services
from clinic.models import Appointment, doctor_display_name
from core.errors import Conflict, NotFound, PermissionDenied
from telehealth import calls
from telehealth.chat import chat_broadcast, chat_get, chat_member_ids, chat_side, chats_visible_to
from telehealth.models import CallRequest, Chat, Message, Notification
from telehealth.services import notification_send

Status = CallRequest.Status
MAX_REASON = 300
LIST_LIMIT = 20
# A request that ended (answered, cancelled, expired) stays on the chat page this long.
SHOWN_AFTER_END = dt.timedelta(hours=1)


def expiry() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "CALL_REQUEST_EXPIRY_MINUTES", 10))


def duration() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "CALL_REQUEST_DURATION_MINUTES", 30))


def expires_at(call_request: CallRequest) -> dt.datetime:
    return call_request.created_at + expiry()


def is_overdue(call_request: CallRequest, *, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) >= expires_at(call_request)


# --- selectors -------------------------------------------------------------------------------------

def call_requests_visible_to(user: User) -> QuerySet[CallRequest]:
    """The requests of the user's chats (the chat policy: its doctor and the patient's side)."""
    return (CallRequest.objects.select_related("chat__patient", "chat__doctor__user", "requested_by",
                                               "responded_by", "appointment")
            .filter(chat__in=chats_visible_to(user).values("pk")))


def call_request_get(*, fetched_by: User, request_id) -> CallRequest:
    call_request = call_requests_visible_to(fetched_by).filter(pk=request_id).first()
    if call_request is None:
        raise NotFound(_("Call request not found."))
    return call_request


def call_requests_list(*, fetched_by: User, chat: Chat, limit: int = LIST_LIMIT) -> list[CallRequest]:
    """The chat's requests, newest first."""
    chat_get(fetched_by=fetched_by, chat_id=chat.pk)
    return list(call_requests_visible_to(fetched_by).filter(chat_id=chat.pk).order_by("-created_at")[:limit])


def call_request_current(*, fetched_by: User, chat: Chat, now: dt.datetime | None = None) -> CallRequest | None:
    """What the chat page shows: the pending request, else the latest one if it ended recently.
    (The pending request is always the latest: a new one cannot be made while one waits.)"""
    latest = call_requests_visible_to(fetched_by).filter(chat_id=chat.pk).order_by("-created_at").first()
    if latest is None:
        return None
    if latest.status == Status.PENDING:
        return latest
    ended = latest.responded_at or latest.updated_at
    return latest if ended >= (now or timezone.now()) - SHOWN_AFTER_END else None


def call_participant_ids(call_request: CallRequest) -> list[str]:
    """Ids of the chat members who may join the accepted request's call (the call policy decides)."""
    appointment = call_request.appointment
    if call_request.status != Status.ACCEPTED or appointment is None:
        return []
    members = User.objects.filter(pk__in=chat_member_ids(call_request.chat), is_active=True)
    return sorted(str(user.pk) for user in members if calls.call_side_of(user, appointment))


def call_request_payload(call_request: CallRequest, *, viewer: User | None = None) -> dict:
    """The one shape of a request: websocket events, the API, the page's script. ``can_join`` is
    only known for a ``viewer``; live clients compare their id with ``participant_ids``."""
    chat = call_request.chat
    appointment = call_request.appointment if call_request.status == Status.ACCEPTED else None
    requester = call_request.requested_by
    participants = call_participant_ids(call_request)
    room_id = appointment.room_id if appointment is not None else None
    return {
        "id": str(call_request.pk),
        "chat_id": str(chat.pk),
        "status": call_request.status,
        "status_label": str(call_request.get_status_display()),
        "audio_only": call_request.audio_only,
        "reason": call_request.reason,
        "requested_by_id": str(requester.pk) if requester else None,
        "requested_by_name": requester.name if requester else "",
        "on_behalf": requester is None or requester.pk != chat.patient.user_id,
        "patient_name": chat.patient.name,
        "doctor_name": chat.doctor.user.name,
        "created_at": call_request.created_at.isoformat(),
        "expires_at": expires_at(call_request).isoformat() if call_request.status == Status.PENDING else None,
        "responded_by_name": call_request.responded_by.name if call_request.responded_by else "",
        "responded_at": call_request.responded_at.isoformat() if call_request.responded_at else None,
        "decline_reason": call_request.decline_reason,
        "appointment_id": str(appointment.pk) if appointment is not None else None,
        "room_id": room_id,
        "call_url": reverse("call_room", args=[room_id]) if room_id else None,
        "participant_ids": participants,
        "can_join": viewer is not None and str(viewer.pk) in participants,
    }


def call_requests_read_record(*, actor: User, rows, via: str, request=None) -> None:
    """Audit that ``actor`` read these requests (their reasons are the patient's words)."""
    rows = list(rows)
    if len(rows) == 1:
        audit_record(action="call_request.viewed", actor=actor, target=rows[0], request=request, via=via)
    elif rows:  # a list: one INSERT
        audit_record_many(action="call_request.viewed", actor=actor, entries=[(row, {"via": via}) for row in rows],
                          request=request)


# --- services --------------------------------------------------------------------------------------

def _clean_reason(reason, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationError({field: [_("Keep the reason to %(n)d characters.") % {"n": MAX_REASON}]})
    return reason


def _side_or_404(actor: User, chat: Chat) -> str:
    side = chat_side(actor, chat)
    if side is None:
        raise NotFound(_("Call request not found."))
    return side


def _require_doctor(actor: User, chat: Chat):
    if _side_or_404(actor, chat) != Message.SenderRole.DOCTOR:
        raise PermissionDenied(_("Only %(name)s can answer this call request.") % {"name": doctor_display_name(chat.doctor.user.name)})


def _require_patient_side(actor: User, chat: Chat):
    if _side_or_404(actor, chat) == Message.SenderRole.DOCTOR:
        raise PermissionDenied(_("Only the patient or their family can cancel a call request; decline it instead."))


def _closed(call_request: CallRequest) -> Conflict:
    messages = {
        Status.ACCEPTED: _("This call request was already accepted."),
        Status.DECLINED: _("This call request was already declined."),
        Status.CANCELLED: _("This call request was cancelled."),
        Status.EXPIRED: _("This call request has expired. Ask again if you still need a call."),
    }
    return Conflict(messages.get(call_request.status, _("This call request is no longer waiting.")))


def _locked_pending(call_request: CallRequest) -> CallRequest:
    """The request's row, locked until the transaction ends, and still pending (else Conflict).
    The chat and people are taken from the caller's copy: they never change."""
    locked = CallRequest.objects.select_for_update().filter(pk=call_request.pk).first()
    if locked is None:
        raise NotFound(_("Call request not found."))
    locked.chat = call_request.chat
    if locked.status != Status.PENDING:
        raise _closed(locked)
    return locked


def _close(call_request: CallRequest, status: str, *, actor: User | None, now: dt.datetime, **fields) -> CallRequest:
    """Move a locked pending request to ``status``. The UPDATE only matches a pending row: on a
    database without row locks a concurrent change makes this one lose instead of both winning."""
    values = {"status": status, "responded_by": actor, "responded_at": now, "updated_at": now, **fields}
    if not CallRequest.objects.filter(pk=call_request.pk, status=Status.PENDING).update(**values):
        call_request.refresh_from_db(fields=["status"])
        raise _closed(call_request)
    for key, value in values.items():
        setattr(call_request, key, value)
    return call_request


def _broadcast_change(call_request: CallRequest):
    chat_broadcast(call_request.chat_id, {"type": "call_request", "call_request": call_request_payload(call_request)})


def _chat_url(chat: Chat) -> str:
    return reverse("chat_detail", args=[chat.pk])


def _tell(users, *, kind: str, source_key: str, params, url_for, email: bool = False):
    """One notification per recipient; ``params(user)`` is what it says to them (rendered by
    telehealth.notification_texts in their language whenever they read it)."""
    for user in {u.pk: u for u in users if u is not None and u.is_active}.values():
        notification_send(recipient=user, kind=kind, params=params(user), url=url_for(user), email=email,
                          source_key=source_key)


def call_request_create(*, actor: User, chat: Chat, reason: str = "", audio_only: bool = False) -> CallRequest:
    """The patient's side asks the chat's doctor for a call now (one pending request per chat)."""
    side = _side_or_404(actor, chat)
    if side == Message.SenderRole.DOCTOR:
        raise PermissionDenied(_("Only the patient or their family can ask for a call."))
    reason = _clean_reason(reason)
    doctor_user = chat.doctor.user
    if not doctor_user.is_active:
        raise Conflict(_("%(name)s cannot take calls at the moment.") % {"name": doctor_display_name(doctor_user.name)})
    # A request past its time no longer blocks a new one, even before the periodic expiry ran.
    overdue = CallRequest.objects.filter(chat=chat, status=Status.PENDING, created_at__lte=timezone.now() - expiry())
    for overdue_id in overdue.values_list("pk", flat=True):
        call_request_expire(request_id=overdue_id)
    with transaction.atomic():
        try:
            with transaction.atomic():
                call_request = CallRequest.objects.create(chat=chat, requested_by=actor, reason=reason,
                                                          audio_only=bool(audio_only))
        except IntegrityError as exc:  # the partial unique constraint: one pending request per chat
            raise Conflict(_("A call request is already waiting for %(name)s to answer.")
                           % {"name": doctor_display_name(doctor_user.name)}) from exc
        audit_record(action="call_request.created", actor=actor, target=call_request, chat=str(chat.pk),
                     audio_only=call_request.audio_only, on_behalf=side == Message.SenderRole.FAMILY)

        # No reason here: the email carries no clinical text; the chat page shows it.
        params = {"patient": chat.patient.name, "audio_only": call_request.audio_only,
                  "who": actor.name if side == Message.SenderRole.FAMILY else None}

        _tell([doctor_user], kind=Notification.Kind.CALL_REQUESTED, source_key=f"callreq:{call_request.pk}",
              params=lambda user: params, url_for=lambda user: _chat_url(chat), email=True)
        _broadcast_change(call_request)
    return call_request


def _book_call(call_request: CallRequest, *, actor: User, now: dt.datetime) -> Appointment:
    chat = call_request.chat
    return clinic_services.appointment_book_now(
        accepted_by=actor, patient=chat.patient, doctor=chat.doctor, requested_by=call_request.requested_by,
        minutes=int(duration().total_seconds() // 60), reason=call_request.reason, now=now,
        extras={"call_request": {"id": str(call_request.pk), "audio_only": call_request.audio_only}},
        call_request=str(call_request.pk))


def call_request_accept(*, actor: User, call_request: CallRequest) -> CallRequest:
    """The chat's doctor accepts: book the call and link it, in one transaction. If the doctor or
    the patient is busy, nothing is written and the request stays pending (the doctor can still
    decline). An overdue request is expired instead, and the doctor told so."""
    chat = call_request.chat
    _require_doctor(actor, chat)
    now = timezone.now()
    with transaction.atomic():
        call_request = _locked_pending(call_request)
        overdue = is_overdue(call_request, now=now)
        if overdue:
            _expire_locked(call_request, now=now)
        else:
            appointment = _book_call(call_request, actor=actor, now=now)
            _close(call_request, Status.ACCEPTED, actor=actor, now=now, appointment=appointment)
            audit_record(action="call_request.accepted", actor=actor, target=call_request,
                         appointment=str(appointment.pk))
            participants = set(call_participant_ids(call_request))
            room_url = reverse("call_room", args=[appointment.room_id])
            patient_side = [u for u in User.objects.filter(pk__in=participants) if u.pk != chat.doctor.user_id]
            _tell([call_request.requested_by, *patient_side], kind=Notification.Kind.CALL_ACCEPTED,
                  source_key=f"callreq:{call_request.pk}",
                  params=lambda user: {"doctor": actor.name, "patient": chat.patient.name,
                                       "joins": str(user.pk) in participants},
                  url_for=lambda user: room_url if str(user.pk) in participants else _chat_url(chat))
            _broadcast_change(call_request)
    if overdue:  # raised after the commit, so the expiry is kept
        raise _closed(call_request)
    return call_request


def call_request_decline(*, actor: User, call_request: CallRequest, reason: str = "") -> CallRequest:
    chat = call_request.chat
    _require_doctor(actor, chat)
    reason = _clean_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        call_request = _locked_pending(call_request)
        _close(call_request, Status.DECLINED, actor=actor, now=now, decline_reason=reason)
        audit_record(action="call_request.declined", actor=actor, target=call_request, reason=reason)
        _tell([call_request.requested_by], kind=Notification.Kind.CALL_DECLINED,
              source_key=f"callreq:{call_request.pk}",
              params=lambda user: {"doctor": actor.name, "reason": reason},
              url_for=lambda user: _chat_url(chat))
        _broadcast_change(call_request)
    return call_request


def call_request_cancel(*, actor: User, call_request: CallRequest) -> CallRequest:
    """The patient's side withdraws a pending request (the requester or anyone acting for the
    same patient)."""
    _require_patient_side(actor, call_request.chat)
    now = timezone.now()
    with transaction.atomic():
        call_request = _locked_pending(call_request)
        _close(call_request, Status.CANCELLED, actor=actor, now=now)
        audit_record(action="call_request.cancelled", actor=actor, target=call_request)
        _broadcast_change(call_request)
    return call_request


def _expire_locked(call_request: CallRequest, *, now: dt.datetime):
    _close(call_request, Status.EXPIRED, actor=None, now=now)
    audit_record(action="call_request.expired", actor=None, target=call_request,
                 minutes=int(expiry().total_seconds() // 60))
    chat = call_request.chat
    _tell([call_request.requested_by], kind=Notification.Kind.CALL_DECLINED, source_key=f"callreq:{call_request.pk}",
          params=lambda user: {"doctor": chat.doctor.user.name,
                               "expired_minutes": int(expiry().total_seconds() // 60)},
          url_for=lambda user: _chat_url(chat))
    _broadcast_change(call_request)


def call_request_expire(*, request_id, now: dt.datetime | None = None) -> bool:
    """Expire one request if it is still pending and past its time. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        call_request = (CallRequest.objects.select_for_update().filter(pk=request_id, status=Status.PENDING).first())
        if call_request is None or not is_overdue(call_request, now=now):
            return False
        call_request.chat = Chat.objects.select_related("patient", "doctor__user").get(pk=call_request.chat_id)
        _expire_locked(call_request, now=now)
    return True


def call_requests_expire_due(*, now: dt.datetime | None = None) -> int:
    """Expire every pending request past its time (run by beat every minute)."""
    now = now or timezone.now()
    due = list(CallRequest.objects.filter(status=Status.PENDING, created_at__lte=now - expiry())
               .values_list("pk", flat=True))
    return sum(call_request_expire(request_id=pk, now=now) for pk in due)
