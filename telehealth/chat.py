"""Chats between a patient's side (the patient and linked family) and one doctor: reads and writes.

Who takes part in a chat: the accounts that act for the patient (``patient_account_ids``: the
patient and family members, who are labelled "on behalf of") and the chat's doctor while the patient
is in their care team (``care_team_patient_ids``). Both come from clinic.selectors, which count only
links in force: when a link ends, access ends on every surface at once (``patient_access_ended``
closes open sockets, see telehealth.revocation). Admins and hospital
staff are not members: a chat is a private conversation, not a clinical record they may browse.
Everything else is 404 (missing and not-yours look the same).

Writes commit first and broadcast on commit, so a websocket listener never sees a message a fresh
GET would not return. Each message carries a per-chat ``seq`` (resync with ``after=seq``) and the
sender's ``client_id`` (a retried send is stored once).
"""

import datetime as dt
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, OuterRef, PositiveBigIntegerField, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from analytics.services import audit_record, audit_record_many
from clinic.models import Appointment, CareTeamMember, DoctorProfile, Patient, Relation
from clinic.selectors import (
    care_team_patient_ids,
    doctor_profile_of,
    patient_account_ids,
    patient_ids_managed_by,
    relation_of,
)
from clinic.services import care_team_member_added
from core.errors import DomainError, NotFound, PermissionDenied
from core.timezones import short_datetime_for
from core.uploads import clean_document, safe_display_name
from telehealth import presence
from telehealth.models import Chat, ChatReadState, Message, Notification
from telehealth.notification_texts import render
from telehealth.services import notification_send

log = logging.getLogger(__name__)

MAX_BODY = 4000
MAX_CLIENT_ID = 64
AUDIO_TYPES = {"audio/webm", "audio/ogg", "audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav",
               "video/webm"}  # MediaRecorder's audio-only WebM is sniffed as video/webm
# What a recording is stored and served as: a sniffer cannot tell an audio-only WebM/MP4 from a
# video, but a voice message is audio (served as video/webm, browsers drew a video player).
AUDIO_AS = {"video/webm": "audio/webm", "video/mp4": "audio/mp4", "audio/x-wav": "audio/wav"}
PAGE_DEFAULT = 50
PAGE_MAX = 200


class RateLimited(DomainError):
    """Too many sends (or urgent flags) too fast: 429 on the API, an error frame on the socket."""

    status_code = 429


def _rate_window_count(key: str, window_s: int) -> int:
    """Count one more event under ``key`` in the current fixed window; 0 when the cache is down
    (a broken Redis must not stop people from writing: fail open, logged)."""
    from django.core.cache import cache

    bucket = f"{key}:{int(time.time() // window_s)}"
    try:
        if cache.add(bucket, 1, timeout=window_s + 5):
            return 1
        return cache.incr(bucket)
    except Exception:
        log.warning("chat rate limit unavailable (cache down)", exc_info=True)
        return 0


def _check_send_rate(chat: Chat, sender: User) -> None:
    limit = settings.CHAT_MESSAGES_PER_MINUTE
    if limit and _rate_window_count(f"chatrate:{chat.pk}:{sender.pk}", 60) > limit:
        raise RateLimited(_("You are sending messages too fast: at most %(n)d a minute in one conversation. "
                            "Wait a moment and send again.") % {"n": limit})


def group_name(chat_id) -> str:
    return f"chat.{chat_id}"


# --- selectors -------------------------------------------------------------------------------------

def chats_visible_to(user: User) -> QuerySet[Chat]:
    qs = Chat.objects.select_related("patient", "doctor__user")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    condition = Q(patient_id__in=patient_ids_managed_by(user))
    doctor = doctor_profile_of(user)
    if doctor is not None:
        # The chat's doctor, only while the patient is in their care team.
        condition |= Q(doctor=doctor, patient_id__in=care_team_patient_ids(doctor))
    return qs.filter(condition)


def chat_get(*, fetched_by: User, chat_id) -> Chat:
    chat = chats_visible_to(fetched_by).filter(pk=chat_id).first()
    if chat is None:
        raise NotFound(_("Chat not found."))
    return chat


def chat_side(user: User, chat: Chat) -> str | None:
    """The role the user writes with in this chat: doctor, patient, family (on behalf) or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if chat.doctor.user_id == user.pk:
        return Message.SenderRole.DOCTOR if _doctor_in_care_team(user, chat.patient_id) else None
    relation = relation_of(user, chat.patient_id)
    if relation is None:
        return None
    return Message.SenderRole.PATIENT if relation == Relation.SELF else Message.SenderRole.FAMILY


def _doctor_in_care_team(user: User, patient_id) -> bool:
    doctor = doctor_profile_of(user)
    return doctor is not None and care_team_patient_ids(doctor).filter(patient_id=patient_id).exists()


def chat_member_ids(chat: Chat) -> set:
    """Who takes part now: the patient's side and the doctor while still in the care team."""
    ids = set(patient_account_ids(chat.patient_id))
    if _doctor_in_care_team(chat.doctor.user, chat.patient_id):
        ids.add(chat.doctor.user_id)
    return ids


def chat_start_allowed(actor: User, patient: Patient, doctor: DoctorProfile) -> bool:
    """The policy for starting (or reopening) a conversation, the same rule ``chat_open`` enforces:
    only inside a care team — the doctor is in the patient's care team (an accepted link) and the
    actor is that doctor or acts for the patient. The "Message" buttons show only when it allows."""
    if not (actor.is_authenticated and actor.is_active and doctor.user.is_active):
        return False
    return _chat_open_refusal(actor, patient, doctor) is None


def chat_start(*, actor: User, patient: Patient, doctor: DoctorProfile) -> Chat:
    """Open the pair's conversation for a "Message" button, creating it on first use (404 unless
    ``chat_start_allowed``)."""
    if not chat_start_allowed(actor, patient, doctor):
        raise NotFound(_("Chat not found."))
    return chat_open(actor=actor, patient=patient, doctor=doctor)


def chats_list(*, fetched_by: User, archived: bool = False, search: str = "") -> QuerySet[Chat]:
    """The user's chats with ``unread`` (messages from others after their read pointer) and the
    last message; urgent chats first for the doctor (their queue), then most recent."""
    qs = chats_visible_to(fetched_by)
    doctor = doctor_profile_of(fetched_by)
    as_doctor = Q(doctor=doctor) if doctor is not None else Q(pk__in=[])
    shown = (as_doctor & Q(is_active_for_doctor=not archived)) | (~as_doctor & Q(is_active_for_patient=not archived))
    qs = qs.filter(shown)
    if search:
        # Names only: message bodies are encrypted at rest (search inside one chat decrypts them).
        qs = qs.filter(Q(patient__name__icontains=search) | Q(doctor__user__name__icontains=search))
    my_read = ChatReadState.objects.filter(chat=OuterRef("pk"), user=fetched_by).values("last_read_seq")[:1]
    last = Message.objects.filter(chat=OuterRef("pk")).order_by("-seq")
    qs = qs.annotate(
        my_read_seq=Coalesce(Subquery(my_read), Value(0)),
    ).annotate(
        unread=_unread_expression(F("my_read_seq")),
        last_body=Subquery(last.values("body")[:1]),
        last_kind=Subquery(last.values("kind")[:1]),
    )
    return qs.order_by("-is_urgent", F("last_message_at").desc(nulls_last=True), "-created_at")


def chat_unread_total(user: User) -> int:
    """For the navigation badge: unread messages (from others, after the user's read pointer) over
    all the user's chats, archived ones included. One COUNT, whatever the number of chats (plus the
    approved-doctor check of ``chats_visible_to``): it runs on every page."""
    if not user.is_authenticated:
        return 0
    my_read = ChatReadState.objects.filter(chat=OuterRef("pk"), user=user).values("last_read_seq")[:1]
    total = (chats_visible_to(user)
             .annotate(unread=_unread_expression(Coalesce(Subquery(my_read), Value(0))))
             .aggregate(total=Sum("unread"))["total"])
    return int(total or 0)


def _unread_expression(my_read_seq):
    """Unread messages of a chat for one member, without reading the messages: sending moves the
    sender's read pointer to their own message, so everything after the pointer is from others
    and their number is ``last_seq - pointer`` (an index-free sum over the member's few chats
    instead of a scan of the message table)."""
    return Greatest(F("last_seq") - my_read_seq, Value(0), output_field=PositiveBigIntegerField())


def messages_list(*, fetched_by: User, chat: Chat, after: int | None = None, before: int | None = None,
                  search: str = "", limit: int = PAGE_DEFAULT) -> tuple[list[Message], bool]:
    """A page of the chat's messages in ``seq`` order and whether more exist in that direction.

    ``after``: the oldest messages after that seq (resync, paging forward); otherwise the newest
    messages (before ``before`` when paging upward through history)."""
    chat_get(fetched_by=fetched_by, chat_id=chat.pk)  # the caller's chat must be the reader's
    limit = max(1, min(int(limit or PAGE_DEFAULT), PAGE_MAX))
    qs = Message.objects.filter(chat=chat).select_related("sender")
    if search:
        return _messages_search(qs, search, after=after, before=before, limit=limit)
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[:limit + 1])
        return rows[:limit], len(rows) > limit
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[:limit + 1])
    return list(reversed(rows[:limit])), len(rows) > limit


SEARCH_SCAN_MAX = 5000


def _messages_search(qs, search: str, *, after, before, limit) -> tuple[list[Message], bool]:
    """Bodies are encrypted at rest, so SQL cannot match them: decrypt this one chat's text
    messages in Python, newest first, at most SEARCH_SCAN_MAX of them (a bound on the work one
    request can cause), and page through the matches like the unfiltered history."""
    needle = search.casefold()
    qs = qs.filter(kind=Message.Kind.TEXT, redacted_at__isnull=True).exclude(body="")
    if after is not None:
        qs = qs.filter(seq__gt=after)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    matches = [m for m in qs.order_by("-seq")[:SEARCH_SCAN_MAX] if needle in m.body.casefold()]
    if after is not None:
        matches.reverse()  # oldest first after a seq
        return matches[:limit], len(matches) > limit
    return list(reversed(matches[:limit])), len(matches) > limit


def message_get(*, fetched_by: User, message_id) -> Message:
    message = (Message.objects.select_related("chat__doctor__user", "chat__patient", "sender")
               .filter(pk=message_id, chat__in=chats_visible_to(fetched_by)).first())
    if message is None:
        raise NotFound(_("Message not found."))
    return message


def _is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_admin)


def chats_for_admin(*, fetched_by: User) -> QuerySet[Chat]:
    """Django admin's chat list: metadata for administrators, who moderate but are not members
    (so ``chats_visible_to`` never gives them a chat). Nobody else gets a row."""
    if not _is_admin(fetched_by):
        return Chat.objects.none()
    return Chat.objects.select_related("patient", "doctor__user")


def messages_for_admin(*, fetched_by: User) -> QuerySet[Message]:
    if not _is_admin(fetched_by):
        return Message.objects.none()
    return Message.objects.select_related("chat__patient", "chat__doctor__user", "sender")


def message_for_admin(*, fetched_by: User, message_id) -> Message:
    message = messages_for_admin(fetched_by=fetched_by).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("Message not found."))
    return message


def message_is_redacted(message: Message) -> bool:
    """A moderator blanked it (``message_redact``)."""
    return message.redacted_at is not None


def read_receipts(chat: Chat) -> dict:
    """How far each member has read: {user_id: last_read_seq}."""
    return {str(uid): seq for uid, seq in ChatReadState.objects.filter(chat=chat).values_list("user_id", "last_read_seq")}


def message_payload(message: Message, *, reader: User | None = None) -> dict:
    """The one shape of a message, for the websocket, the API and the page's JSON; with a
    ``reader``, also its time as that reader's account shows it (message_payload_for)."""
    sender = message.sender
    payload = {
        "id": str(message.pk),
        "chat_id": str(message.chat_id),
        "seq": message.seq,
        "client_id": message.client_id,
        "kind": message.kind,
        "body": message.body,
        "sender_id": str(sender.pk) if sender else None,
        "sender_name": sender.name if sender else "",
        "sender_role": message.sender_role,
        "on_behalf": message.sender_role == Message.SenderRole.FAMILY,
        "file_name": message.file_name,
        "file_type": message.file_type,
        "file_size": message.file_size,
        "file_url": reverse("api:chat_message_file", kwargs={"message_id": message.pk}) if message.file else None,
        "created_at": message.created_at.isoformat(),
        "redacted": message_is_redacted(message),
    }
    return message_payload_for(payload, reader) if reader is not None else payload


def message_payload_for(payload: dict, reader: User) -> dict:
    """A message payload as one reader gets it: ``created_at_display`` is its time in the reader's
    zone and short format, the same text the conversation page renders (core.timezones), so a
    message pushed live reads like the ones already on the page. A broadcast carries one payload
    for everyone; each socket adds its own reader's time."""
    created = dt.datetime.fromisoformat(payload["created_at"])
    return {**payload, "created_at_display": short_datetime_for(created, reader)}


def chat_payload(chat: Chat, *, user: User | None = None) -> dict:
    return {
        "id": str(chat.pk),
        "patient_id": str(chat.patient_id),
        "patient_name": chat.patient.name,
        "doctor_id": str(chat.doctor_id),
        "doctor_name": chat.doctor.user.name,
        "is_active_for_doctor": chat.is_active_for_doctor,
        "is_active_for_patient": chat.is_active_for_patient,
        "is_urgent": chat.is_urgent,
        "urgent_at": chat.urgent_at.isoformat() if chat.urgent_at else None,
        "urgent_escalated_at": chat.urgent_escalated_at.isoformat() if chat.urgent_escalated_at else None,
        "last_seq": chat.last_seq,
        "last_message_at": chat.last_message_at.isoformat() if chat.last_message_at else None,
        "unread": getattr(chat, "unread", None),
        "last_body": getattr(chat, "last_body", None),
        "last_kind": getattr(chat, "last_kind", None),
    }


# --- audit of reads --------------------------------------------------------------------------------
# Messages are the patient's clinical data. As for wellness and emotion data, a read by anyone but
# the patient's own account (family, the doctor, an administrator in Django admin) writes an audit
# event whose target is the patient; every read that returned messages is one event (a page, an
# API page, a resync after a reconnect, a file download), a read that returned nothing none.
# Messages pushed live to an open socket are the exception: one event per socket per
# LIVE_AUDIT_WINDOW covers them (telehealth.consumers), not one per frame.

def _own_record(user: User, chat: Chat) -> bool:
    return chat.patient.user_id is not None and chat.patient.user_id == user.pk


def chat_read_record(*, actor: User, chat: Chat, seqs, via: str, request=None) -> None:
    """Audit that ``actor`` read these messages (by seq) of ``chat`` through ``via`` (page, api,
    resync, live). A contiguous run is stored as its range; otherwise (a search, a live stream
    interleaved with the reader's own messages) the seqs themselves."""
    seqs = sorted(set(seqs))
    if not seqs or _own_record(actor, chat):
        return
    data = {"chat": str(chat.pk), "via": via, "seq_from": seqs[0], "seq_to": seqs[-1], "count": len(seqs)}
    if seqs[-1] - seqs[0] + 1 != len(seqs):
        data["seqs"] = seqs[:500]
    audit_record(action="chat.viewed", actor=actor, target=chat.patient, request=request, **data)


def chat_previews_read_record(*, actor: User, chats, via: str, request=None) -> None:
    """Audit the last-message previews a chat list showed: one event per conversation whose preview
    held a message's text (not the reader's own record), written in one INSERT. ``chats`` come from
    ``chats_list`` (``last_body``, ``last_kind``)."""
    entries = [(chat.patient, {"chat": str(chat.pk), "via": via, "seq_from": chat.last_seq,
                               "seq_to": chat.last_seq, "count": 1, "preview": True})
               for chat in chats
               if getattr(chat, "last_kind", None) == Message.Kind.TEXT and getattr(chat, "last_body", None)
               and not _own_record(actor, chat)]
    if entries:
        audit_record_many(action="chat.viewed", actor=actor, entries=entries, request=request)


def chat_file_read_record(*, actor: User, message: Message, via: str, request=None) -> None:
    """Audit a download of a message's file or voice recording."""
    chat = message.chat
    if via != "admin" and _own_record(actor, chat):
        return
    audit_record(action="chat.file_viewed", actor=actor, target=chat.patient, request=request, via=via,
                 chat=str(chat.pk), message=str(message.pk), seq=message.seq, kind=message.kind)


def message_admin_view_record(*, actor: User, message: Message, request=None) -> None:
    """An administrator opened one message's content in Django admin (always audited)."""
    audit_record(action="chat.message_viewed", actor=actor, target=message.chat.patient, request=request,
                 via="admin", chat=str(message.chat_id), message=str(message.pk), seq=message.seq)


# --- presence --------------------------------------------------------------------------------------

def _presence_key(chat_id) -> str:
    return f"chat:presence:{chat_id}"


PRESENCE_TTL_S = 6 * 3600
# Each open chat socket refreshes its entry this often; an entry not refreshed for PRESENCE_STALE_S
# belongs to a server process that died without saying goodbye (a crash, a killed deploy) and no
# longer counts as online, so its user is notified of new messages again.
PRESENCE_HEARTBEAT_S = 60
PRESENCE_STALE_S = 3 * PRESENCE_HEARTBEAT_S


def _online(connections, now: float) -> list[str]:
    """Drop stale entries (in place) and return the ids of the users still online."""
    for channel, entry in list(connections.items()):
        if not isinstance(entry, list) or now - entry[1] > PRESENCE_STALE_S:
            del connections[channel]
    return sorted({entry[0] for entry in connections.values()})


def presence_join(chat_id, channel_name: str, user_id) -> list[str]:
    """Record (or refresh: the socket's heartbeat) one open connection; returns the ids of users
    online in the chat."""
    def join(connections):
        now = time.time()
        connections[channel_name] = [str(user_id), now]
        return _online(connections, now)

    return presence.update(_presence_key(chat_id), join, ttl=PRESENCE_TTL_S)


def presence_leave(chat_id, channel_name: str) -> list[str]:
    def leave(connections):
        connections.pop(channel_name, None)
        return _online(connections, time.time())

    return presence.update(_presence_key(chat_id), leave, ttl=PRESENCE_TTL_S)


def presence_online(chat_id) -> list[str]:
    return _online(presence.read(_presence_key(chat_id)), time.time())


# --- services --------------------------------------------------------------------------------------

def chat_broadcast(chat_id, event: dict, *, on_failure=None):
    """Send to the chat's group after the transaction commits (never for a rolled-back write).
    A failure (Redis down) is logged, never raised: the write is committed and clients catch up
    with after= on reconnect; ``on_failure`` lets the writer tell its client the link is degraded."""
    def send():
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group_name(chat_id), {"type": "chat.event", "event": event})
        except Exception:
            log.warning("chat broadcast failed (realtime link degraded)", exc_info=True)
            if on_failure is not None:
                on_failure()
    transaction.on_commit(send)


def _push_unread_totals(chat: Chat, *, user_ids=None):
    """After commit, send these users (default: every member) their unread total for the
    navigation badge, over their /ws/notifications/ sockets."""
    def push():
        from telehealth.consumers_notifications import chat_unread_push

        chat_unread_push(user_ids if user_ids is not None else chat_member_ids(chat))
    transaction.on_commit(push, robust=True)


def _not_in_care_team():
    return PermissionDenied(_("You can message only the doctors in the patient's care team. A doctor joins it when "
                              "you book an appointment with them or accept their invitation."))


def _chat_open_refusal(actor: User, patient: Patient, doctor: DoctorProfile) -> Exception | None:
    own_doctor = doctor_profile_of(actor)
    is_the_doctor = own_doctor is not None and own_doctor.pk == doctor.pk
    acts_for_patient = relation_of(actor, patient.pk) is not None
    in_care_team = care_team_patient_ids(doctor).filter(patient_id=patient.pk).exists()
    if not acts_for_patient and not (is_the_doctor and in_care_team):
        return NotFound(_("Patient not found."))  # a doctor learns nothing of someone else's patient
    if not in_care_team:
        return _not_in_care_team()
    return None


def chat_open(*, actor: User | None, patient: Patient, doctor: DoctorProfile) -> Chat:
    """The pair's chat, created on first use. ``actor`` None is the system (the mapping service);
    otherwise the actor must be the doctor or act for the patient, and either way the doctor must
    be in the patient's care team (a chat is the care team's channel, never a way to reach any
    doctor in the directory)."""
    if actor is not None and (refusal := _chat_open_refusal(actor, patient, doctor)) is not None:
        raise refusal
    chat, _created = Chat.objects.get_or_create(patient=patient, doctor=doctor)
    return chat


def chat_open_for_appointment(*, actor: User, appointment: Appointment) -> Chat:
    """From an appointment both sides can see: its patient and doctor's chat, while that doctor is
    in the patient's care team."""
    if appointment.doctor_id is None:
        raise NotFound(_("This appointment has no doctor yet."))
    in_care_team = care_team_patient_ids(appointment.doctor).filter(patient_id=appointment.patient_id).exists()
    if relation_of(actor, appointment.patient_id) is not None:
        if not in_care_team:
            raise _not_in_care_team()
    elif not (appointment.doctor.user_id == actor.pk and in_care_team):
        raise NotFound(_("Appointment not found."))
    chat, _created = Chat.objects.get_or_create(patient_id=appointment.patient_id, doctor_id=appointment.doctor_id)
    return chat


@receiver(care_team_member_added, dispatch_uid="telehealth.chat.open_on_care_team")
def _open_chat_for_care_team(sender, member: CareTeamMember, **kwargs):
    chat_open(actor=None, patient=member.patient, doctor=member.doctor)


def _clean_client_id(client_id) -> str:
    client_id = str(client_id or "").strip()
    if not client_id or len(client_id) > MAX_CLIENT_ID:
        raise ValidationError({"client_id": [_("Give a client id of 1 to 64 characters.")]})
    return client_id


def _store_file(kind: str, upload) -> tuple[object, str]:
    if kind == Message.Kind.AUDIO:
        from core.uploads import _sniff, check_size

        check_size(upload)
        mime = _sniff(upload)
        if mime not in AUDIO_TYPES:
            raise ValidationError({"file": [_("This is not a recording we can play back (WebM, Ogg, MP3, MP4, WAV).")]})
        return upload, AUDIO_AS.get(mime, mime)
    try:
        return clean_document(upload)  # images re-encoded, PDFs rebuilt without scripts or payloads
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc


def message_send(*, sender: User, chat: Chat, client_id: str, body: str = "", kind: str = Message.Kind.TEXT,
                 upload=None) -> tuple[Message, bool]:
    """Store a message once per (chat, sender, client_id) and broadcast it on commit.
    Returns (message, created): a retry of a stored send returns the stored message."""
    role = chat_side(sender, chat)
    if role is None:
        raise NotFound(_("Chat not found."))
    client_id = _clean_client_id(client_id)
    existing = Message.objects.filter(chat=chat, sender=sender, client_id=client_id).select_related("sender").first()
    if existing is not None:
        return existing, False
    _check_send_rate(chat, sender)  # after the retry check: resending a stored message is free
    body = (body or "").strip()
    if kind not in Message.Kind.values:
        raise ValidationError({"kind": [_("Unknown message kind.")]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [_("A message can be at most %(n)d characters.") % {"n": MAX_BODY}]})
    if kind == Message.Kind.TEXT:
        if not body:
            raise ValidationError({"body": [_("Write a message.")]})
        upload = None
    elif upload is None:
        raise ValidationError({"file": [_("Attach a file.")]})
    stored_file, mime, original_name, size, message = None, "", "", 0, None
    if upload is not None:
        original_name, size = safe_display_name(upload.name), upload.size
        stored_file, mime = _store_file(kind, upload)
        size = stored_file.size
    try:
        with transaction.atomic():
            # The UPDATE takes the chat's row lock first: concurrent senders get distinct seqs.
            now = timezone.now()
            Chat.objects.filter(pk=chat.pk).update(last_seq=F("last_seq") + 1, last_message_at=now,
                                                   is_active_for_doctor=True, is_active_for_patient=True,
                                                   updated_at=now)
            seq = Chat.objects.values_list("last_seq", flat=True).get(pk=chat.pk)
            message = Message(chat=chat, seq=seq, sender=sender, sender_role=role, client_id=client_id,
                              kind=kind, body=body, file_name=original_name, file_type=mime, file_size=size)
            if stored_file is not None:
                message.file.save(stored_file.name, stored_file, save=False)
            message.save()
            if _mark_read(chat, sender, seq):
                _chat_notification_sync(chat=chat, recipient=sender)  # writing means having read
            audit_record(action="chat.message_sent", actor=sender, target=chat.patient, chat=str(chat.pk),
                         message=str(message.pk), seq=seq, kind=kind, role=role)
    except IntegrityError:
        # The same client id raced in from another connection: the first one won.
        if message is not None and message.file:
            message.file.delete(save=False)
        existing = Message.objects.filter(chat=chat, sender=sender, client_id=client_id).select_related("sender").first()
        if existing is None:
            raise
        return existing, False
    chat.last_seq, chat.last_message_at = seq, now
    payload = message_payload(message)
    # Badge counts before the broadcast: a member's "read" answering the broadcast is pushed after.
    _push_unread_totals(chat)
    # ``realtime`` tells the sender whether the live link carried it (False while Redis is down:
    # the message is stored all the same and the others see it when they reconnect or reload).
    message.realtime = True
    chat_broadcast(chat.pk, {"type": "message", "message": payload},
                   on_failure=lambda: setattr(message, "realtime", False))
    _notify_offline_members(chat, message)
    return message, True


def chat_message_notify(*, message_id) -> int:
    """Notify the members of a message's chat who are not online (an in-app notification, e-mailed
    once per group). Idempotent (each group has a unique source key), so retrying is safe. Returns
    how many members were brought up to date."""
    message = Message.objects.select_related("chat__doctor__user", "chat__patient").filter(pk=message_id).first()
    if message is None:
        return 0
    chat = message.chat
    try:
        online = set(presence_online(chat.pk))
    except Exception:  # presence lives in Redis: when it is down, tell everyone rather than no one
        log.warning("chat presence unavailable: notifying every other member", exc_info=True)
        online = set()
    done = 0
    for user in User.objects.filter(pk__in=chat_member_ids(chat) - {message.sender_id}, is_active=True):
        if str(user.pk) in online:
            continue
        with transaction.atomic():
            _chat_notification_sync(chat=chat, recipient=user, new_seq=message.seq)
        done += 1
    return done


def _notify_offline_members(chat: Chat, message: Message):
    message_id = message.pk

    def notify():
        try:
            chat_message_notify(message_id=message_id)
        except Exception:
            # Never a 500 for a stored message: the task retries with backoff. If even queueing it
            # fails (the broker is Redis too), the beat sweep re-queues unsent e-mails later.
            log.warning("chat notifications failed; queued for retry", exc_info=True)
            from telehealth.tasks import chat_message_notify_retry

            try:
                chat_message_notify_retry.apply_async(args=[str(message_id)], countdown=30)
            except Exception:
                log.exception("chat notifications for message %s could not be queued", message_id)
    transaction.on_commit(notify)


# --- grouped message notifications ----------------------------------------------------------------
# Not one notification (and email) per message: each recipient has at most one unread "new
# messages" notification per chat, rewritten as messages arrive ("3 new messages from Dr. Carol")
# and emailed once, when it is created. A new one is created only after the previous one was read,
# on the bell or by reading the chat (which marks it read). Its source_key is
# ``chatmsg:<chat id>:<seq of the message that opened it>``: with the unique constraint a repeated
# delivery of that message is a no-op. The recipient's ChatReadState row, locked first, serialises
# concurrent messages (and reads) for one recipient, so two messages at once make one notification.

def _group_prefix(chat_id) -> str:
    return f"chatmsg:{chat_id}:"


def _group_seq(notification: Notification) -> int:
    try:
        return int(notification.source_key.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0


def _sender_ref(chat: Chat, user: User | None, role: str = "") -> dict:
    """A message's author as the notification texts name them (telehealth.notification_texts.person)."""
    if user is None:
        if role == Message.SenderRole.DOCTOR:
            return {"name": chat.doctor.user.name, "doctor": True}
        return {"name": chat.patient.name, "doctor": False}
    return {"name": user.name, "doctor": role == Message.SenderRole.DOCTOR}


def _preview(message: Message) -> str:
    if message_is_redacted(message):
        return _("Message removed by a moderator.")
    if message.kind == Message.Kind.TEXT:
        return message.body[:140]
    return str(message.get_kind_display())


def _group_params(chat: Chat, recipient: User, *, count: int, senders: int, last: Message) -> dict:
    """What the recipient's grouped message notification says (rendered by
    telehealth.notification_texts): how many, from whom, and a preview of the last one (encrypted
    at rest with the params, like the message itself)."""
    counterpart = ({"name": chat.patient.name, "doctor": False} if chat.doctor.user_id == recipient.pk
                   else {"name": chat.doctor.user.name, "doctor": True})
    return {"count": count, "senders": senders, "counterpart": counterpart,
            "sender": _sender_ref(chat, last.sender, last.sender_role), "seq": last.seq,
            "preview_kind": last.kind, "redacted": message_is_redacted(last),
            "preview": last.body[:140] if last.kind == Message.Kind.TEXT and not message_is_redacted(last) else ""}


def _chat_notification_sync(*, chat: Chat, recipient: User, new_seq: int | None = None) -> Notification | None:
    """Bring ``recipient``'s message notification for ``chat`` up to date with their unread
    messages: recount it, mark it read when nothing is left unread, or (``new_seq``: a message
    that just arrived for them) open a new one. Call inside a transaction."""
    state, _created = ChatReadState.objects.get_or_create(chat=chat, user=recipient)
    pointer = ChatReadState.objects.select_for_update().values_list("last_read_seq", flat=True).get(pk=state.pk)
    latest = (Notification.objects.filter(recipient=recipient, kind=Notification.Kind.CHAT_MESSAGE,
                                          source_key__startswith=_group_prefix(chat.pk))
              .order_by("-created_at").first())
    current = latest if latest is not None and latest.read_at is None else None
    # A message already read, or already counted by a group the recipient has seen, opens nothing.
    if current is None and not (new_seq is not None and new_seq > pointer and
                                (latest is None or new_seq > _group_seq(latest))):
        return None
    unread = Message.objects.filter(chat=chat, seq__gt=pointer).exclude(sender=recipient)
    stats = unread.aggregate(count=Count("pk"), senders=Count("sender", distinct=True), last=Max("seq"))
    if not stats["count"]:
        if current is not None:
            current.read_at = timezone.now()
            current.save(update_fields=["read_at", "updated_at"])
        return current
    last = unread.select_related("sender").get(seq=stats["last"])
    url = reverse("chat_detail", args=[chat.pk])
    params = _group_params(chat, recipient, count=stats["count"], senders=stats["senders"], last=last)
    if current is None:
        return notification_send(recipient=recipient, kind=Notification.Kind.CHAT_MESSAGE, params=params,
                                 url=url, email=True, source_key=f"{_group_prefix(chat.pk)}{new_seq}")
    if current.params != params:
        texts = render(Notification(recipient=recipient, kind=current.kind, params=params, url=current.url),
                       language=recipient.preferred_language or settings.LANGUAGE_CODE)
        current.params, current.title, current.body = params, texts.title, texts.body
        current.save(update_fields=["params", "title", "body", "updated_at"])
        transaction.on_commit(lambda: _push_notification(current))
    return current


def _push_notification(notification: Notification) -> None:
    from telehealth.consumers_notifications import notification_push

    notification_push(notification)


def _mark_read(chat: Chat, user: User, seq: int) -> bool:
    state, _created = ChatReadState.objects.get_or_create(chat=chat, user=user)
    if state.last_read_seq >= seq:
        return False
    ChatReadState.objects.filter(pk=state.pk, last_read_seq__lt=seq).update(last_read_seq=seq,
                                                                          updated_at=timezone.now())
    return True


def chat_mark_read(*, user: User, chat: Chat, seq: int) -> int:
    """Move the user's read pointer forward to ``seq`` (never back, never past the last message)
    and broadcast the receipt. Returns the pointer."""
    if chat_side(user, chat) is None:
        raise NotFound(_("Chat not found."))
    seq = max(0, min(int(seq), Chat.objects.values_list("last_seq", flat=True).get(pk=chat.pk)))
    with transaction.atomic():
        moved = _mark_read(chat, user, seq)
        if moved:
            _chat_notification_sync(chat=chat, recipient=user)  # read up to here: the bell follows
    if moved:
        chat_broadcast(chat.pk, {"type": "read", "user_id": str(user.pk), "seq": seq})
        _push_unread_totals(chat, user_ids=[user.pk])  # the reader's other tabs
    return ChatReadState.objects.values_list("last_read_seq", flat=True).get(chat=chat, user=user)


def message_mark_read(*, user: User, message: Message) -> int:
    return chat_mark_read(user=user, chat=message.chat, seq=message.seq)


def chat_archive(*, actor: User, chat: Chat, archived: bool = True) -> Chat:
    """Hide (or show again) the chat in the actor's side's list; a new message shows it again."""
    side = chat_side(actor, chat)
    if side is None:
        raise NotFound(_("Chat not found."))
    field = "is_active_for_doctor" if side == Message.SenderRole.DOCTOR else "is_active_for_patient"
    setattr(chat, field, not archived)
    with transaction.atomic():
        chat.save(update_fields=[field, "updated_at"])
        audit_record(action="chat.archived" if archived else "chat.restored", actor=actor, target=chat.patient,
                     chat=str(chat.pk), side=side)
    return chat


REDACT_REASON_MAX = 300


def message_redact(*, actor: User, message: Message, reason: str, request=None) -> Message:
    """An administrator removes an abusive message's content: the body, the file (deleted from
    storage once committed) and its name are blanked, the message keeps its place (seq, sender,
    time) and shows as removed (``redacted_at``). The reason is kept in the audit event. Open conversation pages replace it live (``message_redacted``); previews of it in the
    recipients' notifications are blanked too. Redacting a redacted message changes nothing."""
    if not _is_admin(actor):
        raise PermissionDenied(_("Only administrators can remove messages."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the message is removed.")]})
    if len(reason) > REDACT_REASON_MAX:
        raise ValidationError({"reason": [_("Keep the reason under %(n)d characters.") % {"n": REDACT_REASON_MAX}]})
    with transaction.atomic():
        message = (Message.objects.select_for_update(of=("self",)).select_related("chat__patient", "sender")
                   .get(pk=message.pk))
        if message_is_redacted(message):
            return message
        chat, preview, stored = message.chat, _preview(message), message.file.name
        had = {"had_body": bool(message.body), "had_file": bool(stored)}
        message.body, message.file, message.file_name, message.file_type, message.file_size = "", "", "", "", 0
        message.redacted_at = timezone.now()
        message.save(update_fields=["body", "file", "file_name", "file_type", "file_size", "redacted_at",
                                    "updated_at"])
        # The params are encrypted: find the previews in Python (one grouped notification per
        # member; rows from before params existed carry the preview in their body).
        groups = Notification.objects.filter(kind=Notification.Kind.CHAT_MESSAGE,
                                             source_key__startswith=_group_prefix(chat.pk)).select_related("recipient")
        for notification in groups:
            if notification.params is not None and notification.params.get("seq") == message.seq:
                notification.params = {**notification.params, "redacted": True, "preview": ""}
            elif notification.params is not None or message.kind != Message.Kind.TEXT or notification.body != preview:
                continue
            with translation.override(notification.recipient.preferred_language or settings.LANGUAGE_CODE):
                notification.body = _preview(message)
            notification.save(update_fields=["params", "body", "updated_at"])
        audit_record(action="chat.message_redacted", actor=actor, target=chat.patient, request=request,
                     chat=str(chat.pk), message=str(message.pk), seq=message.seq, kind=message.kind,
                     reason=reason, **had)
        if stored:
            storage = Message._meta.get_field("file").storage
            transaction.on_commit(lambda: storage.delete(stored))
        chat_broadcast(chat.pk, {"type": "message_redacted", "message": message_payload(message)})
    return message


def _check_urgent_rate(chat: Chat) -> None:
    """Marking urgent e-mails and texts the doctor: at most once per CHAT_URGENT_INTERVAL_MINUTES
    per conversation while the doctor has not seen the last alert (read it, or marked the chat
    handled). Counted on the stored alerts, so it holds across processes and restarts."""
    minutes = settings.CHAT_URGENT_INTERVAL_MINUTES
    if not minutes:
        return
    recent = Notification.objects.filter(kind=Notification.Kind.CHAT_URGENT, read_at__isnull=True,
                                         source_key__startswith=f"chaturgent:{chat.pk}:",
                                         created_at__gte=timezone.now() - dt.timedelta(minutes=minutes))
    if recent.exists():
        raise RateLimited(_("The doctor was already alerted about this conversation in the last %(n)d minutes. "
                            "Write your message here; if this is an emergency, call your local emergency number.")
                          % {"n": minutes}, field="urgent")


def chat_mark_urgent(*, actor: User, chat: Chat, urgent: bool = True) -> Chat:
    """The patient's side flags the conversation urgent: it goes to the top of the doctor's list,
    and the doctor gets an in-app alert and an email."""
    side = chat_side(actor, chat)
    if side is None:
        raise NotFound(_("Chat not found."))
    if side == Message.SenderRole.DOCTOR and urgent:
        raise PermissionDenied(_("Only the patient's side can mark a conversation urgent."))
    if side == Message.SenderRole.DOCTOR:
        from telehealth.escalation import chat_resolve_urgent

        return chat_resolve_urgent(actor=actor, chat=chat)
    from analytics.services import audit_record
    from telehealth.sms import sms_queue

    with transaction.atomic():
        # Under the row lock (escalation takes it too); marking an urgent chat urgent again keeps
        # its clock, so repeating the request cannot postpone or undo an escalation.
        locked = Chat.objects.select_for_update().get(pk=chat.pk)
        was_urgent = locked.is_urgent
        chat.is_urgent = urgent
        chat.urgent_at = (locked.urgent_at or timezone.now()) if urgent and was_urgent else (
            timezone.now() if urgent else None)
        chat.urgent_escalated_at = locked.urgent_escalated_at if urgent and was_urgent else None
        chat.is_active_for_doctor = True if urgent else locked.is_active_for_doctor
        chat.save(update_fields=["is_urgent", "urgent_at", "urgent_escalated_at", "is_active_for_doctor",
                                 "updated_at"])
        if urgent and not was_urgent:
            _check_urgent_rate(chat)
            notification = notification_send(
                recipient=chat.doctor.user, kind=Notification.Kind.CHAT_URGENT, email=True,
                params={"patient": chat.patient.name, "who": actor.name},
                url=reverse("chat_detail", args=[chat.pk]),
                source_key=f"chaturgent:{chat.pk}:{int(chat.urgent_at.timestamp())}")
            sms_queue(notification)
        if urgent != was_urgent:
            audit_record(action="chat.urgent_marked" if urgent else "chat.urgent_withdrawn", actor=actor,
                         target=chat.patient, chat=str(chat.pk))
        chat_broadcast(chat.pk, {"type": "chat", "is_urgent": urgent, "escalated": bool(chat.urgent_escalated_at)})
    return chat
