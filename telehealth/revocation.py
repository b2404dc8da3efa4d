"""When a link that grants access to a patient ends, the live surfaces follow at once.

clinic sends ``patient_access_ended`` (patient_id, user_ids) on commit. Pages and the API already
ask the selectors on every request; open sockets would keep listening, so this receiver sends an
``access.check`` event through the channel layer to every socket that may be concerned:

- the groups of the patient's chats (``chat.<id>``): each chat socket of one of those users asks
  the policy again and closes with 4403 when it lost the chat. The event travels the same group
  as the messages, in order, so no message sent after the removal reaches a revoked socket;
- the rooms of the patient's call appointments around now (``call.<room_id>``): same check;
- the users' notification groups: their badges get fresh counts (the chat no longer counts).

Sockets also re-check the policy on each inbound frame (the services do), so a lost event only
delays the close until the next frame or reconnect; it never lets a write through.
"""

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver
from django.utils import timezone

from clinic.signals import patient_access_ended

log = logging.getLogger(__name__)

ACCESS_CHECK = "access.check"


def access_check_event(patient_id, user_ids) -> dict:
    return {"type": ACCESS_CHECK, "patient_id": str(patient_id), "user_ids": [str(u) for u in user_ids]}


def _groups(patient_id, user_ids) -> list[str]:
    from clinic.models import Appointment
    from telehealth.calls import CALL_TYPES
    from telehealth.chat import group_name
    from telehealth.consumers_notifications import notification_group
    from telehealth.models import Chat

    groups = [group_name(chat_id) for chat_id in Chat.objects.filter(patient_id=patient_id).values_list("pk", flat=True)]
    now = timezone.now()
    rooms = (Appointment.objects.filter(patient_id=patient_id, type__in=CALL_TYPES, room_id__gt="",
                                        start__lte=now + dt.timedelta(days=1), end__gte=now - dt.timedelta(days=1))
             .values_list("room_id", flat=True))
    groups += [f"call.{room_id}" for room_id in rooms]
    groups += [notification_group(user_id) for user_id in user_ids]
    return groups


def access_ended_push(*, patient_id, user_ids) -> int:
    """Tell every concerned socket to re-check its access; returns the number of groups told.
    Never raises: the link is already gone, and sockets re-check on their next frame anyway."""
    layer = get_channel_layer()
    if layer is None or not user_ids:
        return 0
    event = access_check_event(patient_id, user_ids)
    sent = 0
    try:
        groups = _groups(patient_id, user_ids)
    except Exception:
        log.exception("access revocation: could not list the sockets' groups")
        return 0
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, event)
            sent += 1
        except Exception:
            log.warning("access revocation: could not tell group %s", group, exc_info=True)
    return sent


@receiver(patient_access_ended, dispatch_uid="telehealth.revocation.access_ended")
def _on_patient_access_ended(sender, patient_id, user_ids, **kwargs):
    access_ended_push(patient_id=patient_id, user_ids=list(user_ids or ()))
