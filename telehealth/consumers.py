"""The chat websocket: /ws/chats/<chat_id>/.

Browsers authenticate with their session cookie (AuthMiddlewareStack in config/asgi.py); API
clients with ``?token=<JWT access token>`` (TokenAuthMiddleware below). Membership is decided by
telehealth.chat (the same selectors as the pages and the API); everyone else is closed with 4403.

Frames from the client (JSON, at most 16 KB):
  {"type": "message", "client_id": "...", "body": "..."}   store once, then broadcast
  {"type": "typing"}                                        tell the others
  {"type": "read", "seq": 12}                               move the read pointer (receipt)
  {"type": "resync", "after": 9}                            everything after seq 9
Bad frames are answered with {"type": "error", ...}; the connection stays open.
"""

import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import User
from accounts.tokens import TokenError, user_for_token
from core.errors import DomainError
from telehealth import chat as chats

MAX_FRAME = 16 * 1024
FRAME_TYPES = {"message", "typing", "read", "resync"}
RATE_MESSAGES = 20  # messages per connection ...
RATE_WINDOW = 10.0  # ... per this many seconds
TYPING_INTERVAL = 2.0
CLOSE_FORBIDDEN = 4403


class TokenAuthMiddleware:
    """``?token=<access JWT>`` sets the scope user (marked as token-authenticated); without a
    token the session user from AuthMiddlewareStack stays. A bad token is anonymous, never the
    session user, so a client cannot think it is someone it is not."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (params.get("token") or [""])[0]
        if token:
            scope = dict(scope, user=await _user_for_token(token), auth_via="token")
        return await self.inner(scope, receive, send)


@database_sync_to_async
def _user_for_token(token):
    try:
        return user_for_token(token, kind="access")
    except TokenError:
        return AnonymousUser()


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.chat_id = self.scope["url_route"]["kwargs"]["chat_id"]
        self.group = chats.group_name(self.chat_id)
        self.user = self.scope.get("user") or AnonymousUser()
        self.sent_at: list[float] = []
        self.last_typing = 0.0
        self.joined = False
        self.chat = await self._membership()
        if self.chat is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = True
        await self.accept()
        online = await database_sync_to_async(chats.presence_join)(self.chat_id, self.channel_name, self.user.pk)
        await self.channel_layer.group_send(self.group, {"type": "chat.event", "event": {
            "type": "presence", "online": online}})

    async def disconnect(self, code):
        if not getattr(self, "joined", False):
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        online = await database_sync_to_async(chats.presence_leave)(self.chat_id, self.channel_name)
        await self.channel_layer.group_send(self.group, {"type": "chat.event", "event": {
            "type": "presence", "online": online}})

    @database_sync_to_async
    def _membership(self):
        user = self.user
        if not getattr(user, "is_authenticated", False):
            return None
        user = User.objects.filter(pk=user.pk, is_active=True).first()  # unwrap the lazy session user
        if user is None:
            return None
        if self.scope.get("auth_via") != "token" and user.requires_two_factor:
            session = self.scope.get("session")
            if not session or not session.get(DEVICE_ID_SESSION_KEY):
                return None  # signed in but second factor not passed
        self.user = user
        try:
            chat = chats.chat_get(fetched_by=user, chat_id=self.chat_id)
        except DomainError:
            return None
        return chat if chats.chat_side(user, chat) else None

    # --- from the client -----------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return await self._error("bad_frame", "Send JSON text frames.")
        if len(text_data.encode("utf-8")) > MAX_FRAME:
            return await self._error("too_large", f"Frames are limited to {MAX_FRAME} bytes.")
        try:
            frame = json.loads(text_data)
        except ValueError:
            return await self._error("bad_json", "The frame is not valid JSON.")
        if not isinstance(frame, dict) or frame.get("type") not in FRAME_TYPES:
            return await self._error("bad_type", "type must be one of: " + ", ".join(sorted(FRAME_TYPES)) + ".")
        handler = getattr(self, f"on_{frame['type']}")
        try:
            await handler(frame)
        except ValidationError as exc:
            await self._error("invalid", " ".join(exc.messages), client_id=frame.get("client_id"))
        except DomainError as exc:
            await self._error("refused", exc.message, client_id=frame.get("client_id"))

    async def on_message(self, frame):
        if not isinstance(frame.get("body"), str) or not isinstance(frame.get("client_id"), str):
            return await self._error("invalid", "A message needs a string client_id and body.",
                                     client_id=frame.get("client_id") if isinstance(frame.get("client_id"), str) else None)
        now = time.monotonic()
        self.sent_at = [t for t in self.sent_at if now - t < RATE_WINDOW]
        if len(self.sent_at) >= RATE_MESSAGES:
            return await self._error("rate_limited", "Too many messages; wait a few seconds.",
                                     client_id=frame["client_id"])
        self.sent_at.append(now)
        payload = await self._send_message(frame["client_id"], frame["body"])
        # The sender learns its message is stored (also on a retried, already stored send).
        await self._send_json({"type": "ack", "client_id": frame["client_id"], "message": payload})

    @database_sync_to_async
    def _send_message(self, client_id, body):
        message, _created = chats.message_send(sender=self.user, chat=self.chat, client_id=client_id, body=body)
        return chats.message_payload(message)

    async def on_typing(self, frame):
        now = time.monotonic()
        if now - self.last_typing < TYPING_INTERVAL:
            return
        self.last_typing = now
        await self.channel_layer.group_send(self.group, {"type": "chat.event", "event": {
            "type": "typing", "user_id": str(self.user.pk), "name": self.user.name}})

    async def on_read(self, frame):
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            return await self._error("invalid", "read needs a non-negative integer seq.")
        await database_sync_to_async(chats.chat_mark_read)(user=self.user, chat=self.chat, seq=seq)

    async def on_resync(self, frame):
        after = frame.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            return await self._error("invalid", "resync needs a non-negative integer after.")
        payload = await self._resync(after)
        await self._send_json(payload)

    @database_sync_to_async
    def _resync(self, after):
        messages, more = chats.messages_list(fetched_by=self.user, chat=self.chat, after=after,
                                             limit=chats.PAGE_MAX)
        return {"type": "messages", "after": after, "messages": [chats.message_payload(m) for m in messages],
                "more": more, "receipts": chats.read_receipts(self.chat),
                "online": chats.presence_online(self.chat_id)}

    # --- from the group ----------------------------------------------------------------------

    async def chat_event(self, event):
        body = event["event"]
        if body.get("type") == "typing" and body.get("user_id") == str(self.user.pk):
            return
        await self._send_json(body)

    async def _send_json(self, data):
        await self.send(text_data=json.dumps(data))

    async def _error(self, code, detail, client_id=None):
        frame = {"type": "error", "code": code, "detail": detail}
        if client_id:
            frame["client_id"] = client_id
        await self._send_json(frame)
