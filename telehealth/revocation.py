"""When a link that grants access to a patient ends, the live surfaces follow at once.

clinic sends ``patient_access_ended`` (patient_id, user_ids) on commit. Pages and the API already
ask the selectors on every request; open sockets would keep listening, so this receiver sends an
``access.check`` event through the channel layer to every socket that may be concerned:

- the groups of the patient's chats (``chat.<id>``): each chat socket of one of those users asks
  the policy again and closes with 4403 when it lost the chat. The event travels the same group
  as the messages, in order, so no message sent after the removal reaches a revoked socket;
- the rooms of the patient's call appointments around now (``call.<room_id>``): same check;
- the users' notification groups: their badges get fresh counts (the chat no longer counts);
- the users' emergency-list groups (``emergencies.<id>``): the lists refresh through the policy.

Sockets also re-check the policy on each inbound frame (the services do), so a lost event only
delays the close until the next frame or reconnect; it never lets a write through.

Signing out of the web ends that session's sockets the same way: a ``session.ended`` event goes to
the user's chat, call, notification and emergency-list groups, and each socket opened with that session's cookie
closes with 4401 (sockets of the user's other sessions and API tokens are left alone).
"""

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from clinic.models import Appointment
from clinic.selectors import doctor_profile_of, patient_ids_managed_by
from clinic.signals import patient_access_ended
from telehealth.calls import CALL_TYPES
from telehealth.chat import chats_visible_to, group_name
from telehealth.consumers_emergencies import emergency_group
from telehealth.consumers_notifications import notification_group
from telehealth.models import Chat

log = logging.getLogger(__name__)

ACCESS_CHECK = "access.check"
SESSION_ENDED = "session.ended"


def access_check_event(patient_id, user_ids) -> dict:
    return {"type": ACCESS_CHECK, "patient_id": str(patient_id), "user_ids": [str(u) for u in user_ids]}


def _groups(patient_id, user_ids) -> list[str]:
    groups = [group_name(chat_id) for chat_id in Chat.objects.filter(patient_id=patient_id).values_list("pk", flat=True)]
    groups += _call_rooms_near_now(Q(patient_id=patient_id))
    groups += [notification_group(user_id) for user_id in user_ids]
    groups += [emergency_group(user_id) for user_id in user_ids]
    return groups


def _call_rooms_near_now(condition) -> list[str]:
    now = timezone.now()
    rooms = (Appointment.objects.filter(condition, type__in=CALL_TYPES, room_id__gt="",
                                        start__lte=now + dt.timedelta(days=1), end__gte=now - dt.timedelta(days=1))
             .values_list("room_id", flat=True))
    return [f"call.{room_id}" for room_id in rooms]


def _groups_of_user(user) -> list[str]:
    groups = [group_name(chat_id) for chat_id in chats_visible_to(user).values_list("pk", flat=True)]
    doctor = doctor_profile_of(user)
    mine = Q(patient_id__in=patient_ids_managed_by(user)) | (Q(doctor=doctor) if doctor is not None else Q(pk=None))
    return groups + _call_rooms_near_now(mine) + [notification_group(user.pk), emergency_group(user.pk)]


def _send_all(groups, event, what) -> int:
    layer = get_channel_layer()
    sent = 0
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, event)
            sent += 1
        except Exception:
            log.warning("%s: could not tell group %s", what, group, exc_info=True)
    return sent


def session_ended_push(*, user, session_key) -> int:
    """Tell the user's sockets that the web session ``session_key`` ended; returns the number of
    groups told. Never raises: the session is already gone, and sockets re-check on their next frame."""
    if get_channel_layer() is None or not session_key:
        return 0
    try:
        groups = _groups_of_user(user)
    except Exception:
        log.exception("sign-out: could not list the sockets' groups")
        return 0
    return _send_all(groups, {"type": SESSION_ENDED, "session_key": session_key}, "sign-out")


def access_ended_push(*, patient_id, user_ids) -> int:
    """Tell every concerned socket to re-check its access; returns the number of groups told.
    Never raises: the link is already gone, and sockets re-check on their next frame anyway."""
    layer = get_channel_layer()
    if layer is None or not user_ids:
        return 0
    try:
        groups = _groups(patient_id, user_ids)
    except Exception:
        log.exception("access revocation: could not list the sockets' groups")
        return 0
    return _send_all(groups, access_check_event(patient_id, user_ids), "access revocation")


@receiver(patient_access_ended, dispatch_uid="telehealth.revocation.access_ended")
def _on_patient_access_ended(sender, patient_id, user_ids, **kwargs):
    access_ended_push(patient_id=patient_id, user_ids=list(user_ids or ()))


@receiver(user_logged_out, dispatch_uid="telehealth.revocation.logged_out")
def _on_logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if user is not None and session is not None:
        session_ended_push(user=user, session_key=session.session_key)
