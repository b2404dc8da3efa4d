"""Live notifications: /ws/notifications/ pushes a signed-in person's new notifications.

Each socket joins the group ``notifications.<user id>``; ``notification_push`` (called by
``services.notification_send`` once the row is committed) sends to that group only, so a person
never receives someone else's notifications. The database stays the source of truth: a client that
was offline reads the list page or GET /api/v1/notifications.

Messages to the client (JSON):
    {"type": "unread", "count": 3}                         on connect and on request
    {"type": "notification", "id", "kind", "title", "body", "url", "created_at", "unread"}
    {"type": "chat_unread", "count": 5}                    unread chat messages (the "Messages"
                                                           badge): on request, and pushed by
                                                           telehealth.chat when a message arrives
                                                           for the person or they read a chat
Messages from the client:
    {"type": "unread"}                                     asks for the current count again
    {"type": "chat_unread"}                                asks for the chat count (sent by the page
                                                           on connect: it may have changed since
                                                           the page was rendered)

Authentication: the session cookie (browsers, AuthMiddlewareStack in config/asgi.py) or the
client's own credential (API clients: a JWT in ``Authorization`` or the subprotocol, or a one-use
ticket; telehealth.ws_auth). Anonymous sockets are closed with 4401, sessions that still owe
their second factor with 4403; both after accepting, so a browser sees the code (a refused
handshake only shows 1006) and stops retrying.
"""

import asyncio
import logging
import time

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import path

from accounts.policy import owes_second_factor
from telehealth.ws_auth import accept_subprotocol, opened_with_session

logger = logging.getLogger(__name__)

# How long a push may wait on the channel layer before the writer gives up on it.
PUSH_TIMEOUT_SECONDS = 2.0
# A client may ask for the unread count at most this often.
UNREAD_REQUEST_INTERVAL = 1.0

EVENT_FIELDS = ("id", "kind", "title", "body", "url", "created_at", "unread")

# Close codes (4000-4999 are the application's), like HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def notification_group(user_id) -> str:
    return f"notifications.{user_id}"


async def socket_user(scope):
    """``(user, None)`` for a signed-in, active person who may use sockets, else ``(None, code)``."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None, CLOSE_UNAUTHENTICATED
    if await database_sync_to_async(owes_second_factor)(user, scope.get("session"),
                                                        via_token=scope.get("auth_via") == "token"):
        return None, CLOSE_FORBIDDEN
    return user, None


@database_sync_to_async
def _unread_count(user) -> int:
    from telehealth.selectors import unread_count

    return unread_count(user)


@database_sync_to_async
def _chat_unread_count(user) -> int:
    from telehealth.chat import chat_unread_total

    return chat_unread_total(user)


class PersonalGroupConsumer(AsyncJsonWebsocketConsumer):
    """A socket of one signed-in person that listens on a group of their own (notifications,
    emergencies): joining and leaving the group, and reading the client's JSON frames."""

    group = None
    label = "socket"  # for the log

    async def join(self, group: str) -> bool:
        """Join ``group``; False (and the socket closed with 1011, so the client retries later)
        when the channel layer (Redis) is down."""
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            logger.warning("%s could not join its group", self.label, exc_info=True)
            await self.close(code=1011)
            return False
        self.group = group
        return True

    async def disconnect(self, code):
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:
                logger.warning("%s could not leave its group", self.label, exc_info=True)

    async def frame(self, text_data) -> dict | None:
        """The client's frame as a dict, or None (not joined, empty, not JSON, not an object)."""
        if self.group is None or not text_data:
            return None
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return None
        return content if isinstance(content, dict) else None


class NotificationConsumer(PersonalGroupConsumer):
    label = "notifications socket"

    async def connect(self):
        user, close_code = await socket_user(self.scope)
        await self.accept(subprotocol=accept_subprotocol(self.scope))
        if close_code is not None:
            await self.close(code=close_code)
            return
        self.user = user
        if not await self.join(notification_group(user.pk)):
            return
        self._last_unread_request = 0.0
        self._last_chat_unread_request = 0.0
        await self.send_unread()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = await self.frame(text_data)
        if content is None:
            return
        now = time.monotonic()
        if content.get("type") == "unread":
            if now - self._last_unread_request >= UNREAD_REQUEST_INTERVAL:
                self._last_unread_request = now
                await self.send_unread()
        elif content.get("type") == "chat_unread":
            if now - self._last_chat_unread_request >= UNREAD_REQUEST_INTERVAL:
                self._last_chat_unread_request = now
                await self.send_json({"type": "chat_unread", "count": await _chat_unread_count(self.user)})

    async def send_unread(self):
        await self.send_json({"type": "unread", "count": await _unread_count(self.user)})

    # group message handlers ("type": "notification", "chat.unread")
    async def notification(self, event):
        await self.send_json({"type": "notification", **{key: event.get(key) for key in EVENT_FIELDS}})

    async def access_check(self, event):
        """A link to a patient ended (telehealth.revocation): the badges may count less now."""
        if self.group is None:
            return
        await self.send_unread()
        await self.send_json({"type": "chat_unread", "count": await _chat_unread_count(self.user)})

    async def session_ended(self, event):
        """The web session this socket was opened with signed out (telehealth.revocation)."""
        if self.group is not None and opened_with_session(self.scope, event.get("session_key")):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def chat_unread(self, event):
        await self.send_json({"type": "chat_unread", "count": event.get("count")})


websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]


def notification_event(notification, *, unread: int, reader=None) -> dict:
    """The push of one notification, rendered in the reader's (the recipient's) language now."""
    from telehealth.notification_texts import render

    reader = reader or notification.recipient
    texts = render(notification, reader=reader, language=reader.preferred_language or settings.LANGUAGE_CODE)
    return {
        "type": "notification",
        "id": str(notification.pk),
        "kind": notification.kind,
        "title": texts.title,
        "body": texts.body,
        "url": notification.url,
        "created_at": notification.created_at.isoformat() if notification.created_at else None,
        "unread": unread,
    }


async def _group_send(layer, group, event):
    await asyncio.wait_for(layer.group_send(group, event), timeout=PUSH_TIMEOUT_SECONDS)


def notification_push(notification) -> bool:
    """Send a committed notification to its recipient's open sockets. Never raises: the row is
    already stored, and a missing or broken channel layer only means nobody is told live."""
    try:
        from telehealth.models import Notification

        layer = get_channel_layer()
        if layer is None:
            return False
        from accounts.models import User

        unread = Notification.objects.filter(recipient_id=notification.recipient_id, read_at__isnull=True).count()
        # The recipient as they are now: a language or zone changed since the row was written counts.
        reader = User.objects.get(pk=notification.recipient_id)
        async_to_sync(_group_send)(layer, notification_group(notification.recipient_id),
                                   notification_event(notification, unread=unread, reader=reader))
        return True
    except Exception:
        logger.warning("live push of notification %s failed", getattr(notification, "pk", None), exc_info=True)
        return False


def chat_unread_push(user_ids) -> int:
    """Send each of these people their current unread chat total (committed state) for the
    navigation badge; returns how many pushes went out. Never raises, like notification_push: the
    write is already stored, and a page that missed a push asks again when it reconnects or becomes
    visible."""
    from accounts.models import User
    from telehealth.chat import chat_unread_total

    try:
        layer = get_channel_layer()
        users = list(User.objects.filter(pk__in=list(user_ids), is_active=True)) if layer is not None else []
    except Exception:
        logger.warning("live push of unread chat counts failed", exc_info=True)
        return 0
    sent = 0
    for user in users:
        try:
            async_to_sync(_group_send)(layer, notification_group(user.pk),
                                       {"type": "chat.unread", "count": chat_unread_total(user)})
            sent += 1
        except Exception:
            logger.warning("live push of the unread chat count of %s failed", user.pk, exc_info=True)
    return sent
