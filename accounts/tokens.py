"""JWT access and refresh tokens for API clients (mobile apps, partner systems).

A token carries a fingerprint of the user's password hash: changing the password (or
deactivating the account) invalidates every token issued before.
"""

import hashlib
import uuid

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

ALGORITHM = "HS256"


class TokenError(Exception):
    pass


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.pk}:{user.password}".encode()).hexdigest()[:16]


def _issue(user: User, kind: str, ttl) -> str:
    now = timezone.now()
    payload = {
        "sub": str(user.pk), "type": kind, "role": user.role, "fp": _fingerprint(user),
        "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()), "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)


def issue_pair(user: User) -> dict:
    return {
        "access": _issue(user, "access", settings.JWT_ACCESS_TTL),
        "refresh": _issue(user, "refresh", settings.JWT_REFRESH_TTL),
        "token_type": "Bearer",
        "expires_in": int(settings.JWT_ACCESS_TTL.total_seconds()),
    }


def user_for_token(token: str, *, kind: str) -> User:
    try:
        payload = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=[ALGORITHM],
                             options={"require": ["exp", "sub", "type"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(_("Token has expired.")) from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(_("Token is invalid.")) from exc
    if payload.get("type") != kind:
        raise TokenError(_("Expected a %(kind)s token.") % {"kind": kind})
    user = User.objects.filter(pk=payload["sub"], is_active=True).first()
    if user is None or payload.get("fp") != _fingerprint(user):
        raise TokenError(_("Token is no longer valid."))
    return user
