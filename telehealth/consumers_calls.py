"""WebRTC signalling for appointment calls: ``/ws/calls/<room_id>/``.

The server relays offers, answers, ICE candidates, "ready" and "hangup" between the two
participants of the appointment (``telehealth.calls``) and nothing else: media never passes
through here. Frames are validated and rebuilt before they are relayed, so a client can only
ever send the other participant well-formed signalling, never arbitrary data.

Who is in the room is kept by ``telehealth.calls`` (room presence, in Redis in production so it
works across ASGI processes): one entry per side, refreshed by a heartbeat. A second connection of
the same side (a reload, a second tab) replaces the first, which is closed with 4409.

Close codes: 4403 not a participant (anonymous, someone else, unknown room, second factor not
verified), 4410 the room is not open now (join window, status), 4409 replaced by a newer
connection of the same participant.
"""

import asyncio
import json
import logging
import re
import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.policy import owes_second_factor
from telehealth import calls
from telehealth.ws_auth import accept_subprotocol, opened_with_session

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_NOT_OPEN = 4410

MAX_SDP_BYTES = 64 * 1024
MAX_FRAME_CHARS = MAX_SDP_BYTES + 4096
MAX_CANDIDATE_CHARS = 2048
ROOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
KINDS = ("offer", "answer", "ice", "hangup", "ready")


class BadFrame(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def rate_limit() -> tuple[int, float]:
    """(messages, seconds) a participant may send; ICE trickling needs a few dozen at once."""
    count, seconds = getattr(settings, "CALL_SIGNAL_RATE", (50, 10))
    return int(count), float(seconds)


# --- frame validation --------------------------------------------------------------------------------

def _optional_str(value, name, limit):
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadFrame("bad_frame", f"'{name}' must be a string of at most {limit} characters.")
    return value


def clean_frame(data) -> dict:
    """The frame to relay, rebuilt from its validated fields (unknown fields are dropped)."""
    if not isinstance(data, dict):
        raise BadFrame("bad_frame", "A frame is a JSON object.")
    kind = data.get("type")
    if kind not in KINDS:
        raise BadFrame("bad_frame", f"'type' must be one of: {', '.join(KINDS)}.")
    if kind in ("offer", "answer"):
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or not sdp.strip():
            raise BadFrame("bad_frame", "'sdp' must be a non-empty string.")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise BadFrame("too_large", f"'sdp' is larger than {MAX_SDP_BYTES} bytes.")
        return {"type": kind, "sdp": sdp}
    if kind == "ice":
        candidate = data.get("candidate")
        if candidate is None:  # end of candidates
            return {"type": "ice", "candidate": None}
        if not isinstance(candidate, dict):
            raise BadFrame("bad_frame", "'candidate' must be an object or null.")
        line = _optional_str(candidate.get("candidate"), "candidate.candidate", MAX_CANDIDATE_CHARS) or ""
        index = candidate.get("sdpMLineIndex")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 1024):
            raise BadFrame("bad_frame", "'candidate.sdpMLineIndex' must be a small integer or null.")
        return {"type": "ice", "candidate": {
            "candidate": line,
            "sdpMid": _optional_str(candidate.get("sdpMid"), "candidate.sdpMid", 64),
            "sdpMLineIndex": index,
            "usernameFragment": _optional_str(candidate.get("usernameFragment"), "candidate.usernameFragment", 256),
        }}
    if kind == "ready":
        media = data.get("media", "video")
        if media not in ("audio", "video"):
            raise BadFrame("bad_frame", "'media' must be 'audio' or 'video'.")
        return {"type": "ready", "media": media}
    return {"type": "hangup"}


# --- the consumer ----------------------------------------------------------------------------------------

def _admit(user, room_id, session, *, via_token=False):
    """(appointment, side, None) for a participant inside the join window, else (None, None, code)."""
    from core.errors import NotFound

    if user is None or not user.is_authenticated or not ROOM_ID.fullmatch(room_id or ""):
        return None, None, CLOSE_FORBIDDEN
    try:
        appointment, side = calls.call_room_get(fetched_by=user, room_id=room_id)
    except NotFound:
        return None, None, CLOSE_FORBIDDEN
    if owes_second_factor(user, session, via_token=via_token):  # a token's login passed it
        return None, None, CLOSE_FORBIDDEN
    try:
        calls.call_join_check(appointment=appointment)
    except calls.CallNotOpen:
        return None, None, CLOSE_NOT_OPEN
    return appointment, side, None


class CallConsumer(AsyncWebsocketConsumer):
    side = None
    group = None

    async def connect(self):
        # Accept first, then close with a code: a refusal before accepting reaches the browser as
        # a bare 1006, and the page could not tell "not yours" from "not open yet".
        await self.accept(subprotocol=accept_subprotocol(self.scope))
        self.user = self.scope.get("user")
        self.room_id = self.scope["url_route"]["kwargs"]["room_id"]
        appointment, side, refusal = await database_sync_to_async(_admit)(
            self.user, self.room_id, self.scope.get("session"), via_token=self.scope.get("auth_via") == "token")
        if refusal:
            await self.close(code=refusal)
            return
        self.appointment_id = appointment.pk
        self.side = side
        self.group = f"call.{self.room_id}"
        self.stamps = deque()
        await self.channel_layer.group_add(self.group, self.channel_name)
        replaced, peer = await database_sync_to_async(calls.presence_join)(
            self.room_id, side, self.channel_name, self.user.pk)
        self.heartbeat = asyncio.ensure_future(self._presence_heartbeat())
        if replaced:
            await self.channel_layer.send(replaced, {"type": "call.replaced"})
        await self._send({"type": "welcome", "side": side, "polite": side == calls.PATIENT,
                          "peer_present": peer is not None, "peer_ready": bool(peer and peer.get("ready"))})
        await self._relay({"type": "peer-joined"})

    async def _presence_heartbeat(self):
        """Keep this socket's entry fresh (entries of a crashed process go stale)."""
        while True:
            await asyncio.sleep(calls.PRESENCE_HEARTBEAT_S)
            try:
                await database_sync_to_async(calls.presence_touch)(
                    self.room_id, self.side, self.channel_name, self.user.pk)
            except Exception:
                logger.warning("call socket could not refresh its presence", exc_info=True)

    async def disconnect(self, code):
        if self.side is None:
            return
        side, self.side = self.side, None
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        try:  # the room's presence must still be left if the channel layer is short of connections
            await self.channel_layer.group_discard(self.group, self.channel_name)
        except Exception:
            logger.warning("call socket could not leave its group", exc_info=True)
        outcome = await database_sync_to_async(calls.presence_leave)(self.room_id, side, self.channel_name)
        if outcome == "last":  # a no-op if the call never started
            await database_sync_to_async(calls.call_end_record)(appointment_id=self.appointment_id, actor=self.user)
        elif outcome == "left":
            await self.channel_layer.group_send(self.group, {
                "type": "call.signal", "sender": self.channel_name, "frame": {"type": "peer-left", "from": side}})

    async def receive(self, text_data=None, bytes_data=None):
        if self.side is None:
            return
        if self._rate_limited():
            await self._error("rate_limited", "Too many messages; this one was dropped.")
            return
        if text_data is None:
            await self._error("bad_frame", "Send JSON text frames.")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self._error("too_large", "Frame too large.")
            return
        try:
            frame = clean_frame(json.loads(text_data))
        except json.JSONDecodeError:
            await self._error("bad_json", "Frames must be JSON.")
            return
        except BadFrame as bad:
            await self._error(bad.code, bad.message)
            return
        if frame["type"] == "ready":
            starts = await database_sync_to_async(calls.presence_ready)(self.room_id, self.side, self.channel_name)
            if starts:
                await database_sync_to_async(calls.call_start_record)(
                    appointment_id=self.appointment_id, actor=self.user)
        await self._relay(frame)
        if frame["type"] == "hangup":
            await self.disconnect(1000)
            await self.close(code=1000)

    # group events
    async def call_signal(self, event):
        if event["sender"] != self.channel_name:  # never echo to the sender
            await self._send(event["frame"])

    async def access_check(self, event):
        """A link to the appointment's patient ended (telehealth.revocation): still a participant?"""
        if self.side is None or str(self.user.pk) not in event.get("user_ids", ()):
            return
        if not await database_sync_to_async(self._still_participant)():
            await self._send({"type": "error", "code": "access_ended", "message": "You no longer have access to this call."})
            await self.disconnect(CLOSE_FORBIDDEN)
            await self.close(code=CLOSE_FORBIDDEN)

    async def session_ended(self, event):
        """The web session this socket was opened with signed out (telehealth.revocation)."""
        if self.side is not None and opened_with_session(self.scope, event.get("session_key")):
            await self.disconnect(CLOSE_UNAUTHENTICATED)
            await self.close(code=CLOSE_UNAUTHENTICATED)

    def _still_participant(self) -> bool:
        from core.errors import NotFound

        try:
            calls.call_room_get(fetched_by=self.user, room_id=self.room_id)
        except NotFound:
            return False
        return True

    async def call_replaced(self, event):
        await self._send({"type": "replaced"})
        await self.close(code=CLOSE_REPLACED)

    # helpers
    async def _relay(self, frame):
        await self.channel_layer.group_send(self.group, {
            "type": "call.signal", "sender": self.channel_name, "frame": {**frame, "from": self.side}})

    async def _send(self, payload):
        await self.send(text_data=json.dumps(payload))

    async def _error(self, code, message):
        await self._send({"type": "error", "code": code, "message": message})

    def _rate_limited(self) -> bool:
        count, seconds = rate_limit()
        now = time.monotonic()
        while self.stamps and now - self.stamps[0] > seconds:
            self.stamps.popleft()
        if len(self.stamps) >= count:
            return True
        self.stamps.append(now)
        return False


def _routes():
    from django.urls import path

    return [path("ws/calls/<str:room_id>/", CallConsumer.as_asgi())]


websocket_urlpatterns = _routes()
