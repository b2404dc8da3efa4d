"""Chats between a patient's side (the patient and linked family) and one doctor: reads and writes.

Who takes part in a chat: the accounts that act for the patient (UserPatientRelation: the patient
and family members, who are labelled "on behalf of") and the chat's doctor. Admins and hospital
staff are not members: a chat is a private conversation, not a clinical record they may browse.
Everything else is 404 (missing and not-yours look the same).

Writes commit first and broadcast on commit, so a websocket listener never sees a message a fresh
GET would not return. Each message carries a per-chat ``seq`` (resync with ``after=seq``) and the
sender's ``client_id`` (a retried send is stored once).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from clinic.models import Appointment, CareTeamMember, DoctorProfile, Patient, Relation, UserPatientRelation
from clinic.selectors import doctor_profile_of, patient_ids_managed_by
from clinic.services import care_team_member_added
from core.errors import NotFound, PermissionDenied
from core.uploads import IMAGE_TYPES, reencode_image, validate_document
from telehealth.models import Chat, ChatReadState, Message, Notification
from telehealth.services import notification_send

log = logging.getLogger(__name__)

MAX_BODY = 4000
MAX_CLIENT_ID = 64
AUDIO_TYPES = {"audio/webm", "audio/ogg", "audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav",
               "video/webm"}  # MediaRecorder's audio-only WebM is sniffed as video/webm
PAGE_DEFAULT = 50
PAGE_MAX = 200


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
        condition |= Q(doctor=doctor)
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
    if chat.doctor.user_id == user.pk and doctor_profile_of(user) is not None:
        return Message.SenderRole.DOCTOR
    relation = UserPatientRelation.objects.filter(user=user, patient_id=chat.patient_id).values_list(
        "relation", flat=True).first()
    if relation is None:
        return None
    return Message.SenderRole.PATIENT if relation == Relation.SELF else Message.SenderRole.FAMILY


def chat_member_ids(chat: Chat) -> set:
    ids = set(UserPatientRelation.objects.filter(patient_id=chat.patient_id).values_list("user_id", flat=True))
    ids.add(chat.doctor.user_id)
    return ids


def chats_list(*, fetched_by: User, archived: bool = False, search: str = "") -> QuerySet[Chat]:
    """The user's chats with ``unread`` (messages from others after their read pointer) and the
    last message; urgent chats first for the doctor (their queue), then most recent."""
    qs = chats_visible_to(fetched_by)
    doctor = doctor_profile_of(fetched_by)
    as_doctor = Q(doctor=doctor) if doctor is not None else Q(pk__in=[])
    shown = (as_doctor & Q(is_active_for_doctor=not archived)) | (~as_doctor & Q(is_active_for_patient=not archived))
    qs = qs.filter(shown)
    if search:
        qs = qs.filter(Q(patient__name__icontains=search) | Q(doctor__user__name__icontains=search))
    my_read = ChatReadState.objects.filter(chat=OuterRef("pk"), user=fetched_by).values("last_read_seq")[:1]
    last = Message.objects.filter(chat=OuterRef("pk")).order_by("-seq")
    qs = qs.annotate(
        my_read_seq=Coalesce(Subquery(my_read), Value(0)),
    ).annotate(
        unread=Count("messages", filter=Q(messages__seq__gt=F("my_read_seq")) & ~Q(messages__sender=fetched_by)),
        last_body=Subquery(last.values("body")[:1]),
        last_kind=Subquery(last.values("kind")[:1]),
    )
    return qs.order_by("-is_urgent", F("last_message_at").desc(nulls_last=True), "-created_at")


def chat_unread_total(user: User) -> int:
    """For the navigation badge: unread messages over all the user's chats."""
    if not user.is_authenticated:
        return 0
    return sum(c.unread for c in chats_list(fetched_by=user)) + sum(
        c.unread for c in chats_list(fetched_by=user, archived=True))


def messages_list(*, fetched_by: User, chat: Chat, after: int | None = None, before: int | None = None,
                  search: str = "", limit: int = PAGE_DEFAULT) -> tuple[list[Message], bool]:
    """A page of the chat's messages in ``seq`` order and whether more exist in that direction.

    ``after``: the oldest messages after that seq (resync, paging forward); otherwise the newest
    messages (before ``before`` when paging upward through history)."""
    chat_get(fetched_by=fetched_by, chat_id=chat.pk)  # the caller's chat must be the reader's
    limit = max(1, min(int(limit or PAGE_DEFAULT), PAGE_MAX))
    qs = Message.objects.filter(chat=chat).select_related("sender")
    if search:
        qs = qs.filter(body__icontains=search)
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[:limit + 1])
        return rows[:limit], len(rows) > limit
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[:limit + 1])
    return list(reversed(rows[:limit])), len(rows) > limit


def message_get(*, fetched_by: User, message_id) -> Message:
    message = (Message.objects.select_related("chat__doctor__user", "chat__patient", "sender")
               .filter(pk=message_id, chat__in=chats_visible_to(fetched_by)).first())
    if message is None:
        raise NotFound(_("Message not found."))
    return message


def read_receipts(chat: Chat) -> dict:
    """How far each member has read: {user_id: last_read_seq}."""
    return {str(uid): seq for uid, seq in ChatReadState.objects.filter(chat=chat).values_list("user_id", "last_read_seq")}


def message_payload(message: Message) -> dict:
    """The one shape of a message, for the websocket, the API and the page's JSON."""
    sender = message.sender
    return {
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
    }


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
        "last_seq": chat.last_seq,
        "last_message_at": chat.last_message_at.isoformat() if chat.last_message_at else None,
        "unread": getattr(chat, "unread", None),
        "last_body": getattr(chat, "last_body", None),
        "last_kind": getattr(chat, "last_kind", None),
    }


# --- presence --------------------------------------------------------------------------------------

def _presence_key(chat_id) -> str:
    return f"chat:presence:{chat_id}"


def presence_join(chat_id, channel_name: str, user_id) -> list[str]:
    """Record one open connection; returns the ids of users online in the chat. Read-modify-write
    on the cache: a lost race only misreports presence until the next join or leave."""
    key = _presence_key(chat_id)
    connections = cache.get(key) or {}
    connections[channel_name] = str(user_id)
    cache.set(key, connections, timeout=6 * 3600)
    return sorted(set(connections.values()))


def presence_leave(chat_id, channel_name: str) -> list[str]:
    key = _presence_key(chat_id)
    connections = cache.get(key) or {}
    connections.pop(channel_name, None)
    cache.set(key, connections, timeout=6 * 3600)
    return sorted(set(connections.values()))


def presence_online(chat_id) -> list[str]:
    return sorted(set((cache.get(_presence_key(chat_id)) or {}).values()))


# --- services --------------------------------------------------------------------------------------

def _broadcast(chat_id, event: dict):
    """Send to the chat's group after the transaction commits (never for a rolled-back write)."""
    def send():
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group_name(chat_id), {"type": "chat.event", "event": event})
        except Exception:  # the write is committed; clients catch up with after= on reconnect
            log.exception("chat broadcast failed")
    transaction.on_commit(send)


def chat_open(*, actor: User | None, patient: Patient, doctor: DoctorProfile) -> Chat:
    """The pair's chat, created on first use. ``actor`` None is the system (the mapping service);
    otherwise the actor must be the doctor or act for the patient."""
    if actor is not None:
        own_doctor = doctor_profile_of(actor)
        allowed = (own_doctor is not None and own_doctor.pk == doctor.pk and
                   CareTeamMember.objects.filter(doctor=doctor, patient=patient).exists()) or \
            UserPatientRelation.objects.filter(user=actor, patient=patient).exists()
        if not allowed:
            raise NotFound(_("Patient not found."))
    chat, _created = Chat.objects.get_or_create(patient=patient, doctor=doctor)
    return chat


def chat_open_for_appointment(*, actor: User, appointment: Appointment) -> Chat:
    """From an appointment both sides can see: its patient and doctor's chat."""
    if appointment.doctor_id is None:
        raise NotFound(_("This appointment has no doctor yet."))
    side_ok = (appointment.doctor.user_id == actor.pk and doctor_profile_of(actor) is not None) or \
        UserPatientRelation.objects.filter(user=actor, patient_id=appointment.patient_id).exists()
    if not side_ok:
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
        return upload, mime
    try:
        mime = validate_document(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    if mime in IMAGE_TYPES:
        return reencode_image(upload), mime if mime != "image/webp" else "image/jpeg"
    return upload, mime


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
        original_name, size = (upload.name or "file")[-200:], upload.size
        stored_file, mime = _store_file(kind, upload)
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
            _mark_read(chat, sender, seq)
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
    _broadcast(chat.pk, {"type": "message", "message": payload})
    _notify_offline_members(chat, message)
    return message, True


def _notify_offline_members(chat: Chat, message: Message):
    def notify():
        online = set(presence_online(chat.pk))
        url = reverse("chat_detail", args=[chat.pk])
        preview = message.body[:140] if message.kind == Message.Kind.TEXT else message.get_kind_display()
        for user in User.objects.filter(pk__in=chat_member_ids(chat) - {message.sender_id}, is_active=True):
            if str(user.pk) in online:
                continue
            notification_send(recipient=user, kind=Notification.Kind.CHAT_MESSAGE,
                              title=_("New message from %(name)s") % {"name": message.sender.name},
                              body=str(preview), url=url, source_key=f"chatmsg:{message.pk}")
    transaction.on_commit(notify)


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
        _broadcast(chat.pk, {"type": "read", "user_id": str(user.pk), "seq": seq})
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
    chat.save(update_fields=[field, "updated_at"])
    return chat


def chat_mark_urgent(*, actor: User, chat: Chat, urgent: bool = True) -> Chat:
    """The patient's side flags the conversation urgent: it goes to the top of the doctor's list,
    and the doctor gets an in-app alert and an email."""
    side = chat_side(actor, chat)
    if side is None:
        raise NotFound(_("Chat not found."))
    if side == Message.SenderRole.DOCTOR and urgent:
        raise PermissionDenied(_("Only the patient's side can mark a conversation urgent."))
    with transaction.atomic():
        was_urgent = chat.is_urgent
        chat.is_urgent = urgent
        chat.urgent_at = timezone.now() if urgent else None
        chat.is_active_for_doctor = True if urgent else chat.is_active_for_doctor
        chat.save(update_fields=["is_urgent", "urgent_at", "is_active_for_doctor", "updated_at"])
        if urgent and not was_urgent:
            notification_send(
                recipient=chat.doctor.user, kind=Notification.Kind.CHAT_URGENT, email=True,
                title=_("Urgent message from %(patient)s") % {"patient": chat.patient.name},
                body=_("%(who)s marked the conversation urgent.") % {"who": actor.name},
                url=reverse("chat_detail", args=[chat.pk]),
                source_key=f"chaturgent:{chat.pk}:{int(chat.urgent_at.timestamp())}")
        _broadcast(chat.pk, {"type": "chat", "is_urgent": urgent})
    return chat
