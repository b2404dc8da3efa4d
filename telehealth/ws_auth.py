"""How a websocket says who it is, without a long-lived secret in its URL.

URLs end up in access logs (the proxy's, the ASGI server's), so a JWT never travels in the query
string. A socket authenticates with, in this order:

1. ``Authorization: Bearer <access JWT>`` — native clients, which can set headers;
2. the ``Sec-WebSocket-Protocol`` pair ``haven.jwt, <access JWT>`` — browsers cannot set headers on
   a WebSocket but can offer subprotocols (``new WebSocket(url, ["haven.jwt", token])``); the server
   answers ``haven.jwt``, never echoing the token;
3. ``?ticket=<ticket>`` (or ``?token=<ticket>``, as the API specification's
   ``/api/v1/chats/ws/{chat_id}?token=`` names it) — a one-use ticket from
   ``POST /api/v1/ws-ticket``, valid WS_TICKET_TTL_SECONDS (60 s). Logged or not, it is worthless
   once used or a minute old. A JWT in ``?token=`` is refused.
4. otherwise the session cookie (AuthMiddlewareStack): browsers on Haven's own pages.

Sockets carrying one of the first three skip the Origin check (a cross-site page cannot present
someone's credentials: it has neither their token nor, CSRF-protected, a way to mint a ticket), and
they never fall back to the session user: bad credentials make an anonymous socket.
"""

import hashlib
import secrets
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

SUBPROTOCOL = "haven.jwt"
TICKET_PREFIX = "wsticket:"


def ticket_ttl() -> int:
    return int(getattr(settings, "WS_TICKET_TTL_SECONDS", 60))


def _ticket_key(ticket: str) -> str:
    # Only a digest is stored: reading the cache does not hand out live tickets.
    return TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def ws_ticket_issue(*, user) -> str:
    """A one-use ticket that opens one socket as ``user`` within the next minute."""
    ticket = secrets.token_urlsafe(32)
    cache.set(_ticket_key(ticket), str(user.pk), timeout=ticket_ttl())
    return ticket


def ws_ticket_redeem(ticket: str):
    """The active user the ticket was issued to, once; None for an unknown, expired or used ticket."""
    from accounts.models import User

    if not ticket or len(ticket) > 128:
        return None
    key = _ticket_key(ticket)
    user_id = cache.get(key)
    # delete() says whether it removed the key: of two racing redemptions only one gets True.
    if user_id is None or not cache.delete(key):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def credential_of(scope) -> tuple[str, str] | None:
    """("jwt", token), ("ticket", ticket), or None when the socket presents no credential of its own."""
    authorization = _header(scope, b"authorization")
    if authorization[:7].lower() == "bearer ":
        return "jwt", authorization[7:].strip()
    offered = list(scope.get("subprotocols") or ()) or [
        p.strip() for p in _header(scope, b"sec-websocket-protocol").split(",") if p.strip()]
    if SUBPROTOCOL in offered:
        rest = [p for p in offered if p != SUBPROTOCOL]
        return "jwt", rest[0] if rest else ""
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    ticket = (params.get("ticket") or params.get("token") or [""])[0]
    if ticket:
        return "ticket", ticket
    return None


@database_sync_to_async
def _user_for(kind: str, value: str):
    from accounts.tokens import TokenError, user_for_token

    if kind == "ticket":
        return ws_ticket_redeem(value) or AnonymousUser()
    try:
        return user_for_token(value, kind="access")
    except TokenError:
        return AnonymousUser()


class TokenAuthMiddleware:
    """Sets the scope user from the socket's own credential (marked ``auth_via="token"``: the second
    factor was passed when the token or ticket was obtained); without one the session user from
    AuthMiddlewareStack stays. A bad credential is anonymous, never the session user."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        credential = credential_of(scope)
        if credential is not None:
            kind, value = credential
            subprotocol = SUBPROTOCOL if kind == "jwt" and not _header(scope, b"authorization") else None
            scope = dict(scope, user=await _user_for(kind, value), auth_via="token", session=None,
                         auth_subprotocol=subprotocol)
        return await self.inner(scope, receive, send)


class OriginValidatorUnlessCredential:
    """Cookie sessions must come from Haven's own pages (AllowedHostsOriginValidator); a socket
    with its own credential (a JWT or a ticket) is not riding on a cookie and needs no Origin."""

    def __init__(self, inner):
        self.inner = inner
        self.checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and credential_of(scope) is not None:
            return await self.inner(scope, receive, send)
        return await self.checked(scope, receive, send)


def accept_subprotocol(scope) -> str | None:
    """What the consumer answers in Sec-WebSocket-Protocol (a browser drops a socket whose offered
    subprotocol is not answered)."""
    return scope.get("auth_subprotocol")


def opened_with_session(scope, session_key) -> bool:
    """Was this socket opened with the cookie of web session ``session_key``? (Sockets with their
    own credential carry no session.)"""
    session = scope.get("session")
    return bool(session_key) and session is not None and session.session_key == session_key
