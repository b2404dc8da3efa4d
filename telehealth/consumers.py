"""The chat websocket: /ws/chats/<chat_id>/.

Browsers authenticate with their session cookie (AuthMiddlewareStack in config/asgi.py); API
clients with a JWT in ``Authorization`` or the subprotocol, or a one-use ``?ticket=``
(telehealth.ws_auth). Membership is decided by
telehealth.chat (the same selectors as the pages and the API); everyone else is closed with 4403.

Frames from the client (JSON, at most 16 KB):
  {"type": "message", "client_id": "...", "body": "..."}   store once, then broadcast
  {"type": "typing"}                                        tell the others
  {"type": "read", "seq": 12}                               move the read pointer (receipt)
  {"type": "resync", "after": 9}                            everything after seq 9
Bad frames are answered with {"type": "error", ...}; the connection stays open.

Events to the client: message, ack, messages (resync), read, typing, presence, chat (urgency), and
{"type": "call_request", "call_request": {...}} whenever a call request of the chat changes
(telehealth.call_requests); chat_event forwards every group event as it is.
"""

import asyncio
import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.policy import owes_second_factor
from core.errors import DomainError, NotFound
from telehealth import chat as chats
from telehealth.ws_auth import TokenAuthMiddleware, accept_subprotocol, opened_with_session  # noqa: F401 (TokenAuthMiddleware: old import path)

logger = logging.getLogger(__name__)


def presence_call(function):
    """Presence touches Redis (or the in-process cache), never the database: run it in a worker
    thread of its own instead of queueing behind the process's single database thread."""
    return sync_to_async(function, thread_sensitive=False)

MAX_FRAME = 16 * 1024
FRAME_TYPES = {"message", "typing", "read", "resync"}
RATE_MESSAGES = 20  # messages per connection ...
RATE_WINDOW = 10.0  # ... per this many seconds
TYPING_INTERVAL = 2.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# Messages pushed live are audited as reads once per socket per this many seconds (and when the
# socket closes), not once per frame: a busy conversation would otherwise write an audit row for
# every message to every open page. A process that dies loses at most this window's record.
LIVE_AUDIT_WINDOW = 60.0


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.chat_id = self.scope["url_route"]["kwargs"]["chat_id"]
        self.group = chats.group_name(self.chat_id)
        self.user = self.scope.get("user") or AnonymousUser()
        self.sent_at: list[float] = []
        self.last_typing = 0.0
        self.joined = False
        self.live_seqs: list[int] = []  # pushed to this socket from others, not yet audited
        self.live_flush = None
        self.revoked = False
        self.chat = await self._membership()
        if self.chat is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = True
        await self.accept(subprotocol=accept_subprotocol(self.scope))
        online = await presence_call(chats.presence_join)(self.chat_id, self.channel_name, self.user.pk)
        self.heartbeat = asyncio.ensure_future(self._presence_heartbeat())
        await self.channel_layer.group_send(self.group, {"type": "chat.event", "event": {
            "type": "presence", "online": online}})

    async def _presence_heartbeat(self):
        """Keep this socket's presence entry fresh (entries of a crashed process go stale)."""
        while True:
            await asyncio.sleep(chats.PRESENCE_HEARTBEAT_S)
            try:
                await presence_call(chats.presence_join)(self.chat_id, self.channel_name, self.user.pk)
            except Exception:
                logger.warning("chat socket could not refresh its presence", exc_info=True)

    async def disconnect(self, code):
        if not getattr(self, "joined", False):
            return
        self.joined = False
        if self.live_flush is not None:
            self.live_flush.cancel()
            self.live_flush = None
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        # Presence first (left and announced), then the rest, each step on its own: when thousands
        # of sockets close at once the channel layer can run out of Redis connections, and a failed
        # group_discard must not leave this person "online" (offline members are the ones notified
        # of new messages); and the server gives a closing socket only a few seconds. A stale group
        # membership expires by itself (channels_redis group_expiry).
        try:
            online = await presence_call(chats.presence_leave)(self.chat_id, self.channel_name)
            await self.channel_layer.group_send(self.group, {"type": "chat.event", "event": {
                "type": "presence", "online": online}})
        except Exception:
            logger.warning("chat socket could not leave the presence list", exc_info=True)
        for step in (self.channel_layer.group_discard(self.group, self.channel_name), self._audit_live_reads()):
            try:
                await step
            except Exception:
                logger.warning("chat socket: a disconnect step failed", exc_info=True)

    @database_sync_to_async
    def _membership(self):
        user = self.user
        if not getattr(user, "is_authenticated", False):
            return None
        user = User.objects.filter(pk=user.pk, is_active=True).first()  # unwrap the lazy session user
        if user is None:
            return None
        if owes_second_factor(user, self.scope.get("session"), via_token=self.scope.get("auth_via") == "token"):
            return None  # signed in but the second factor not passed: no socket at all
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
        if self.revoked:
            return
        handler = getattr(self, f"on_{frame['type']}")
        try:
            await handler(frame)
        except ValidationError as exc:
            await self._error("invalid", " ".join(exc.messages), client_id=frame.get("client_id"))
        except chats.RateLimited as exc:
            await self._error("rate_limited", exc.message, client_id=frame.get("client_id"))
        except NotFound as exc:
            # The services ask the policy on every frame: a member who lost the chat since the
            # socket opened (a removed link) is refused and the socket ends.
            await self._error("refused", exc.message, client_id=frame.get("client_id"))
            await self._revoke()
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
        payload, realtime = await self._send_message(frame["client_id"], frame["body"])
        self.last_typing = 0.0  # a sent message ends the typing; the next message's typing shows at once
        # The sender learns its message is stored (also on a retried, already stored send), and
        # whether the others got it live.
        await self._send_json({"type": "ack", "client_id": frame["client_id"], "message": payload,
                               "realtime": realtime})

    @database_sync_to_async
    def _send_message(self, client_id, body):
        message, _created = chats.message_send(sender=self.user, chat=self.chat, client_id=client_id, body=body)
        return chats.message_payload(message, reader=self.user), getattr(message, "realtime", True)

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
        chats.chat_read_record(actor=self.user, chat=self.chat, seqs=[m.seq for m in messages], via="resync")
        return {"type": "messages", "after": after, "messages": [chats.message_payload(m, reader=self.user) for m in messages],
                "more": more, "receipts": chats.read_receipts(self.chat),
                "online": chats.presence_online(self.chat_id)}

    # --- from the group ----------------------------------------------------------------------

    async def access_check(self, event):
        """A link to the chat's patient ended (telehealth.revocation): ask the policy again."""
        if self.revoked or str(self.user.pk) not in event.get("user_ids", ()):
            return
        if str(self.chat.patient_id) != event.get("patient_id"):
            return
        if await self._membership() is None:
            await self._revoke()

    async def session_ended(self, event):
        """The web session this socket was opened with signed out (telehealth.revocation)."""
        if not self.revoked and opened_with_session(self.scope, event.get("session_key")):
            await self._revoke(code=CLOSE_UNAUTHENTICATED, error="signed_out", detail="You signed out.")

    async def _revoke(self, *, code=CLOSE_FORBIDDEN, error="access_ended",
                      detail="You no longer have access to this conversation."):
        self.revoked = True  # from now on nothing more is sent to this socket
        await self._send_json({"type": "error", "code": error, "detail": detail})
        await self.disconnect(code)
        await self.close(code=code)

    async def chat_event(self, event):
        if self.revoked:
            return
        body = event["event"]
        if body.get("type") == "typing" and body.get("user_id") == str(self.user.pk):
            return
        if isinstance(body.get("message"), dict) and "created_at" in body["message"]:
            body = {**body, "message": chats.message_payload_for(body["message"], self.user)}
        await self._send_json(body)
        if body.get("type") == "message" and body["message"].get("sender_id") != str(self.user.pk):
            self.live_seqs.append(body["message"]["seq"])
            if self.live_flush is None:
                self.live_flush = asyncio.ensure_future(self._audit_live_reads_later())

    async def _audit_live_reads_later(self):
        await asyncio.sleep(LIVE_AUDIT_WINDOW)
        self.live_flush = None
        await self._audit_live_reads()

    async def _audit_live_reads(self):
        seqs, self.live_seqs = self.live_seqs, []
        if seqs:
            await database_sync_to_async(chats.chat_read_record)(actor=self.user, chat=self.chat, seqs=seqs,
                                                                 via="live")

    async def _send_json(self, data):
        await self.send(text_data=json.dumps(data))

    async def _error(self, code, detail, client_id=None):
        frame = {"type": "error", "code": code, "detail": detail}
        if client_id:
            frame["client_id"] = client_id
        await self._send_json(frame)
