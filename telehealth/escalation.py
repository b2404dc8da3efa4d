"""Urgent chats: the doctor marking one handled, and escalation to hospital staff when nobody
answers.

A patient's side marks a chat urgent (``telehealth.chat.chat_mark_urgent``). It counts as
*answered* once the doctor writes in it after ``urgent_at``, or marks it handled
(``chat_resolve_urgent``). Still unanswered CHAT_URGENT_ESCALATION_MINUTES later, the beat task
escalates it, once (``urgent_escalated_at``, set under the chat's row lock): the hospital staff are
alerted in-app, by email and by SMS where configured, the doctor is told, and open chat pages
show it.

Which staff — the rule of the clinic's emergency escalation (staff of the hospitals the patient is
registered with, the only staff who may see the patient at all), narrowed to the hospitals where
the chat's doctor also works when there are any: that is the hospital answerable for this
doctor–patient pair. Staff are not chat members and never get the conversation: they get who,
since when, and a link to the escalated list on their dashboard.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Role, User
from analytics.services import audit_record
from clinic.models import ApprovalStatus, Hospital, HospitalDoctor, HospitalPatient, doctor_display_name
from clinic.selectors import can_manage_hospital
from core.errors import NotFound, PermissionDenied
from telehealth.chat import chat_broadcast, chat_side
from telehealth.models import Chat, Message, Notification
from telehealth.services import notification_send
from telehealth.sms import sms_queue

log = logging.getLogger(__name__)


def escalation_minutes() -> int:
    return settings.CHAT_URGENT_ESCALATION_MINUTES


def _doctor_answers_after_urgent():
    """Doctor's messages in the outer chat written after it was marked urgent."""
    return Message.objects.filter(chat=OuterRef("pk"), sender_role=Message.SenderRole.DOCTOR,
                                  created_at__gt=OuterRef("urgent_at"))


def urgent_chats_due(now=None) -> QuerySet[Chat]:
    """Urgent chats not yet escalated, urgent for at least the escalation delay, and not answered
    by the doctor since they became urgent."""
    now = now or timezone.now()
    deadline = now - dt.timedelta(minutes=escalation_minutes())
    return (Chat.objects.filter(is_urgent=True, urgent_escalated_at__isnull=True, urgent_at__lte=deadline)
            .exclude(Exists(_doctor_answers_after_urgent())))


# --- who is alerted -----------------------------------------------------------------------------------

def escalation_hospitals(chat: Chat) -> QuerySet[Hospital]:
    """Approved hospitals the patient is registered with; only those where the chat's doctor
    also works, if there are any."""
    # Through the manager (accepted registrations only): a join would also count invitations.
    registered = Hospital.objects.filter(
        status=ApprovalStatus.APPROVED,
        pk__in=HospitalPatient.objects.filter(patient_id=chat.patient_id).values("hospital_id"))
    shared = registered.filter(doctor_links__doctor_id=chat.doctor_id)
    return (shared if shared.exists() else registered).distinct().order_by("name")


def _escalation_staff(chat: Chat) -> QuerySet[User]:
    return User.objects.filter(hospital_staff__hospital__in=escalation_hospitals(chat), is_active=True,
                               role=Role.HOSPITAL)


def escalation_staff(chat: Chat) -> list[User]:
    return list(_escalation_staff(chat).order_by("pk"))


# --- the escalation ---------------------------------------------------------------------------------

def _source_key(chat: Chat) -> str:
    # One escalation per urgent episode: a chat marked urgent again later is a new episode.
    return f"chatesc:{chat.pk}:{chat.urgent_at.astimezone(dt.UTC):%Y%m%d%H%M%S%f}"


def _when(value, user: User) -> str:
    from clinic.notifications import when

    return when(value, user)


def _alert_staff(chat: Chat, user: User, minutes: int) -> Notification:
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        ctx = {"patient": chat.patient.name, "doctor": doctor_display_name(chat.doctor.user.name), "minutes": minutes,
               "when": _when(chat.urgent_at, user)}
        title = _("Urgent conversation unanswered: %(patient)s") % ctx
        body = ngettext(
            "%(patient)s marked their conversation with %(doctor)s urgent on %(when)s, and the doctor has "
            "not answered for %(minutes)d minute. You cannot read the conversation: please contact the "
            "patient or the doctor.",
            "%(patient)s marked their conversation with %(doctor)s urgent on %(when)s, and the doctor has "
            "not answered for %(minutes)d minutes. You cannot read the conversation: please contact the "
            "patient or the doctor.", minutes) % ctx
    notification = notification_send(
        recipient=user, kind=Notification.Kind.CHAT_URGENT_ESCALATED, title=title, body=body, email=True,
        url=reverse("dashboard") + "#urgent-chats", source_key=_source_key(chat))
    sms_queue(notification)
    return notification


def _tell_doctor(chat: Chat, hospitals: list[str], minutes: int) -> Notification | None:
    doctor = chat.doctor.user
    if not doctor.is_active:
        return None
    with translation.override(doctor.preferred_language or settings.LANGUAGE_CODE):
        ctx = {"patient": chat.patient.name, "minutes": minutes, "hospitals": ", ".join(hospitals)}
        title = _("Urgent conversation with %(patient)s escalated") % ctx
        if hospitals:
            body = ngettext(
                "The urgent conversation with %(patient)s had no answer for %(minutes)d minute, so the staff of "
                "%(hospitals)s were alerted. Please answer it now or mark it handled.",
                "The urgent conversation with %(patient)s had no answer for %(minutes)d minutes, so the staff of "
                "%(hospitals)s were alerted. Please answer it now or mark it handled.", minutes) % ctx
        else:
            body = ngettext(
                "The urgent conversation with %(patient)s had no answer for %(minutes)d minute, and no hospital "
                "staff could be reached. Please answer it now.",
                "The urgent conversation with %(patient)s had no answer for %(minutes)d minutes, and no hospital "
                "staff could be reached. Please answer it now.", minutes) % ctx
    return notification_send(recipient=doctor, kind=Notification.Kind.CHAT_URGENT_ESCALATED, title=title, body=body,
                             email=True, url=reverse("chat_detail", args=[chat.pk]), source_key=_source_key(chat))


def chat_urgent_escalate(*, chat_id, now=None) -> bool:
    """Escalate one urgent chat if it is (still) due. Exactly once: the chat's row lock orders
    concurrent workers, and the second finds ``urgent_escalated_at`` set. Returns whether this call
    escalated it."""
    now = now or timezone.now()
    minutes = escalation_minutes()
    with transaction.atomic():
        chat = Chat.objects.select_for_update().filter(pk=chat_id).first()
        if chat is None or not urgent_chats_due(now).filter(pk=chat.pk).exists():
            return False
        chat.urgent_escalated_at = now
        chat.save(update_fields=["urgent_escalated_at", "updated_at"])
        chat = Chat.objects.select_related("patient", "doctor__user").get(pk=chat.pk)
        hospitals = list(escalation_hospitals(chat))
        staff = escalation_staff(chat)
        for user in staff:
            _alert_staff(chat, user, minutes)
        _tell_doctor(chat, [h.name for h in hospitals], minutes)
        audit_record(action="chat.urgent_escalated", target=chat.patient, label="system", chat=str(chat.pk),
                     minutes=minutes,
                     hospitals=[str(h.pk) for h in hospitals], staff_notified=len(staff))
        if not staff:
            log.warning("Urgent chat %s escalated, but no hospital staff could be reached", chat.pk)
        chat_broadcast(chat.pk, {"type": "chat", "is_urgent": True, "escalated": True,
                             "escalated_at": now.isoformat(), "staff_reached": bool(staff)})
    return True


def urgent_chats_escalate_due(now=None) -> int:
    """Escalate every due urgent chat (the beat task). One chat failing does not hold up the
    others; it is tried again on the next run."""
    escalated = 0
    for chat_id in list(urgent_chats_due(now).values_list("pk", flat=True)):
        try:
            escalated += chat_urgent_escalate(chat_id=chat_id, now=now)
        except Exception:
            log.exception("Escalating urgent chat %s failed", chat_id)
    return escalated


# --- the doctor marks it handled ------------------------------------------------------------------------

def chat_resolve_urgent(*, actor: User, chat: Chat) -> Chat:
    """The chat's doctor marks an urgent conversation handled: it leaves the top of the queue, is
    no longer escalated (or listed for hospital staff), and open pages are told. Marking a chat
    that is not urgent changes nothing."""
    side = chat_side(actor, chat)
    if side is None:
        raise NotFound(_("Chat not found."))
    if side != Message.SenderRole.DOCTOR:
        raise PermissionDenied(_("Only the doctor marks an urgent conversation handled."))
    with transaction.atomic():
        locked = Chat.objects.select_for_update().get(pk=chat.pk)
        if locked.is_urgent:
            was_escalated = locked.urgent_escalated_at is not None
            locked.is_urgent, locked.urgent_at, locked.urgent_escalated_at = False, None, None
            locked.save(update_fields=["is_urgent", "urgent_at", "urgent_escalated_at", "updated_at"])
            # Handled means seen: the alerts are read, and a new urgent episode may alert again
            # at once (the limit counts unread alerts, telehealth.chat._check_urgent_rate).
            Notification.objects.filter(recipient=actor, kind=Notification.Kind.CHAT_URGENT, read_at__isnull=True,
                                        source_key__startswith=f"chaturgent:{chat.pk}:").update(
                read_at=timezone.now(), updated_at=timezone.now())
            audit_record(action="chat.urgent_resolved", actor=actor, target=chat.patient, chat=str(chat.pk),
                         was_escalated=was_escalated)
            chat_broadcast(chat.pk, {"type": "chat", "is_urgent": False, "escalated": False, "resolved": True})
        chat.is_urgent, chat.urgent_at, chat.urgent_escalated_at = False, None, None
    return chat


# --- what hospital staff see ------------------------------------------------------------------------------

def escalated_chats_for_hospital(*, fetched_by: User, hospital: Hospital) -> QuerySet[Chat]:
    """Escalated urgent chats this hospital's staff were alerted to (the rule of
    ``escalation_hospitals``), oldest first, with ``doctor_answered_at`` (the doctor's first message
    since it became urgent, if any). Who, with whom and since when: never the messages.
    For the hospital's staff and admins; 404 for everyone else."""
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound(_("Hospital not found."))
    registered_here = HospitalPatient.objects.filter(hospital=hospital, patient_id=OuterRef("patient_id"))
    doctor_here = HospitalDoctor.objects.filter(hospital=hospital, doctor_id=OuterRef("doctor_id"))
    doctor_at_a_patient_hospital = HospitalDoctor.objects.filter(
        doctor_id=OuterRef("doctor_id"), hospital__status=ApprovalStatus.APPROVED,
        hospital_id__in=HospitalPatient.objects.filter(patient_id=OuterRef(OuterRef("patient_id"))).values("hospital_id"))
    first_answer = _doctor_answers_after_urgent().order_by("created_at").values("created_at")[:1]
    return (Chat.objects.select_related("patient", "doctor__user")
            .filter(is_urgent=True, urgent_escalated_at__isnull=False)
            .filter(Exists(registered_here))
            .filter(Exists(doctor_here) | ~Exists(doctor_at_a_patient_hospital))
            .annotate(doctor_answered_at=Subquery(first_answer))
            .order_by("urgent_at"))


def escalation_reached_staff(chat: Chat) -> bool:
    """For the conversation page of an escalated chat: is there hospital staff to reach?"""
    return bool(chat.urgent_escalated_at) and _escalation_staff(chat).exists()
