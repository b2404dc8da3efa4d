"""Live emergency lists: /ws/emergencies/ tells a doctor's emergency queue (and dashboard) and a
hospital's staff dashboard the moment their emergencies change, instead of on a manual refresh.

Each socket joins the group ``emergencies.<user id>``. ``clinic.services`` calls
``emergency_queues_push`` on commit of every change of an emergency (a step of the escalation
ladder, an acceptance, a withdrawal, a completion); it sends a hint to the groups of everyone
concerned — the people alerted to it and the staff of the patient's hospitals. The consumer then
asks the access policy (clinic.selectors) for that person's current count and sends only the
count: a socket never carries patient data. The page fetches itself again over HTTP, where the
page's own access checks apply (static/js/emergency-live.js).

Messages to the client (JSON):
    {"type": "emergencies", "count": 2, "changed": false}   on connect and on request
    {"type": "emergencies", "count": 1, "changed": true}    something the person sees changed
Messages from the client:
    {"type": "emergencies"}                                 asks for the count again

Who may listen: approved doctors and the staff of an approved hospital. Anonymous sockets are
closed with 4401, sessions that still owe their second factor and everyone else with 4403 (after
accepting, as /ws/notifications/ does). A socket whose person is no longer a doctor or staff
member is closed with 4403 at the next event; signing out of the web closes the session's socket
with 4401 (telehealth.revocation).
"""

import logging
import time

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.urls import path

from telehealth.consumers_notifications import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    PersonalGroupConsumer,
    _group_send,
    socket_user,
)
from telehealth.ws_auth import accept_subprotocol, opened_with_session

logger = logging.getLogger(__name__)

REQUEST_INTERVAL = 1.0  # a client may ask for the count at most this often
CHANGED = "emergency.changed"


def emergency_group(user_id) -> str:
    return f"emergencies.{user_id}"


def waiting_count(user) -> int | None:
    """The number of emergencies waiting in the person's list, or None when they have none to
    watch (not an approved doctor or staff of an approved hospital, or no longer active)."""
    from accounts.models import User
    from clinic import selectors

    user = User.objects.filter(pk=user.pk, is_active=True).first()
    if user is None:
        return None
    doctor = selectors.doctor_profile_of(user)
    if doctor is not None:
        return selectors.emergency_queue_count(doctor)
    hospital = selectors.staff_hospital_of(user)
    if hospital is not None:
        return selectors.hospital_emergencies_waiting_count(fetched_by=user, hospital=hospital)
    return None


class EmergencyQueueConsumer(PersonalGroupConsumer):
    label = "emergency socket"

    async def connect(self):
        user, close_code = await socket_user(self.scope)
        await self.accept(subprotocol=accept_subprotocol(self.scope))
        if close_code is not None:
            await self.close(code=close_code)
            return
        count = await database_sync_to_async(waiting_count)(user)
        if count is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        if not await self.join(emergency_group(user.pk)):
            return
        self._last_request = 0.0
        await self.send_json({"type": "emergencies", "count": count, "changed": False})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = await self.frame(text_data)
        if content is not None and content.get("type") == "emergencies":
            now = time.monotonic()
            if now - self._last_request >= REQUEST_INTERVAL:
                self._last_request = now
                await self._send_count(changed=False)

    async def _send_count(self, *, changed: bool):
        count = await database_sync_to_async(waiting_count)(self.user)
        if count is None:  # no longer a doctor or staff member: nothing here is theirs to watch
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_json({"type": "emergencies", "count": count, "changed": changed})

    # group message handlers
    async def emergency_changed(self, event):
        if self.group is not None:
            await self._send_count(changed=True)

    async def access_check(self, event):
        """A link to a patient ended (telehealth.revocation): the list may hold less now."""
        if self.group is not None:
            await self._send_count(changed=True)

    async def session_ended(self, event):
        """The web session this socket was opened with signed out (telehealth.revocation)."""
        if self.group is not None and opened_with_session(self.scope, event.get("session_key")):
            await self.close(code=CLOSE_UNAUTHENTICATED)


websocket_urlpatterns = [
    path("ws/emergencies/", EmergencyQueueConsumer.as_asgi()),
]


def emergency_watchers(appointment_id) -> list:
    """Everyone whose emergency list shows this emergency: the people alerted to it, its doctor,
    and the staff of the hospitals it concerns."""
    from accounts.models import Role, User
    from clinic.models import Appointment, EmergencyAlert, HospitalPatient

    appointment = Appointment.objects.filter(pk=appointment_id).only("pk", "patient_id", "hospital_id",
                                                                    "doctor_id").first()
    if appointment is None:
        return []
    hospitals = set(HospitalPatient.objects.filter(patient_id=appointment.patient_id)
                    .values_list("hospital_id", flat=True))
    if appointment.hospital_id:
        hospitals.add(appointment.hospital_id)
    ids = set(EmergencyAlert.objects.filter(appointment_id=appointment.pk).values_list("recipient_id", flat=True))
    ids |= set(User.objects.filter(hospital_staff__hospital_id__in=hospitals, role=Role.HOSPITAL)
               .values_list("pk", flat=True))
    if appointment.doctor_id:
        ids |= set(User.objects.filter(doctor_profile__pk=appointment.doctor_id).values_list("pk", flat=True))
    return sorted(ids, key=str)


def emergency_queues_push(appointment_id) -> int:
    """Tell the open emergency lists concerned by this emergency to refresh; returns how many groups
    were told. Never raises: the change is already committed, and a page that missed a push asks
    again when it reconnects or becomes visible."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return 0
        user_ids = emergency_watchers(appointment_id)
    except Exception:
        logger.warning("live push of emergency %s failed", appointment_id, exc_info=True)
        return 0
    sent = 0
    for user_id in user_ids:
        try:
            async_to_sync(_group_send)(layer, emergency_group(user_id), {"type": CHANGED})
            sent += 1
        except Exception:
            logger.warning("live push of emergency %s to %s failed", appointment_id, user_id, exc_info=True)
    return sent
