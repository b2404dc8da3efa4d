"""JWT access and refresh tokens for API clients (mobile apps, partner systems).

A token carries a fingerprint of the user's password hash: changing the password (or
deactivating the account) invalidates every token issued before. Each sign-in is a token family
(``fam``): refreshing rotates the refresh token, a spent refresh token presented again revokes
the family, and logout revokes it; access tokens of a revoked family stop working at once.
"""

import hashlib
import time
import uuid

import jwt
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiTokenFamily, User

ALGORITHM = "HS256"


class TokenError(Exception):
    pass


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.pk}:{user.password}".encode()).hexdigest()[:16]


def _issue(user: User, kind: str, ttl, *, family, jti=None) -> str:
    now = timezone.now()
    payload = {
        "sub": str(user.pk), "type": kind, "role": user.role, "fp": _fingerprint(user), "fam": str(family.pk),
        "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()), "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)


def _pair(user: User, family: ApiTokenFamily) -> dict:
    return {
        "access": _issue(user, "access", settings.JWT_ACCESS_TTL, family=family),
        "refresh": _issue(user, "refresh", settings.JWT_REFRESH_TTL, family=family, jti=family.refresh_jti),
        "token_type": "Bearer",
        "expires_in": int(settings.JWT_ACCESS_TTL.total_seconds()),
    }


def issue_pair(user: User) -> dict:
    """A new sign-in: a new family and its first pair."""
    family = ApiTokenFamily.objects.create(user=user, refresh_jti=uuid.uuid4().hex,
                                           expires_at=timezone.now() + settings.JWT_REFRESH_TTL)
    return _pair(user, family)


def _decode(token: str, *, kind: str) -> dict:
    try:
        payload = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=[ALGORITHM],
                             options={"require": ["exp", "sub", "type"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(_("Token has expired.")) from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(_("Token is invalid.")) from exc
    if payload.get("type") != kind:
        raise TokenError(_("Expected a %(kind)s token.") % {"kind": kind})
    try:
        uuid.UUID(str(payload.get("fam"))), uuid.UUID(str(payload["sub"]))
    except ValueError as exc:
        raise TokenError(_("Token is no longer valid.")) from exc
    return payload


def user_for_token(token: str, *, kind: str) -> User:
    """The user of a valid token whose family is not revoked: one query, which also tells whether
    a doctor or hospital staff account is approved (``user.api_approved``)."""
    from accounts.models import ApplicationStatus, DoctorApplication

    payload = _decode(token, kind=kind)
    user = (User.objects.filter(pk=payload["sub"], is_active=True, api_token_families__pk=payload["fam"],
                                api_token_families__revoked_at__isnull=True)
            .annotate(_doctor_approved=Exists(DoctorApplication.objects.filter(
                          user=OuterRef("pk"), status=ApplicationStatus.APPROVED)),
                      _hospital_status=F("hospital_staff__hospital__status"))
            .first())
    if user is None or payload.get("fp") != _fingerprint(user):
        raise TokenError(_("Token is no longer valid."))
    if user.is_doctor:
        user._haven_doctor_approved = (time.monotonic(), user._doctor_approved)  # see doctor_is_approved
        user.api_approved = user._doctor_approved
    elif user.is_hospital_staff:
        user.api_approved = user._hospital_status == "approved"
    else:
        user.api_approved = True
    return user


def _revoke(family: ApiTokenFamily, reason: str) -> None:
    family.revoked_at = timezone.now()
    family.revoked_reason = reason
    family.save(update_fields=["revoked_at", "revoked_reason", "updated_at"])


def rotate(refresh_token: str, *, request=None) -> dict:
    """Exchange the newest refresh token of a family for a new pair. A refresh token that was
    already exchanged (a copy in someone else's hands, or the owner's after the thief used it)
    revokes the family, so the thief's pair dies with it."""
    from analytics.models import AuditAction
    from analytics.services import audit_record

    user = user_for_token(refresh_token, kind="refresh")
    payload = _decode(refresh_token, kind="refresh")
    with transaction.atomic():
        family = ApiTokenFamily.objects.select_for_update().filter(pk=payload["fam"], user=user).first()
        if family is None or family.revoked_at is not None:
            raise TokenError(_("Token is no longer valid."))
        if payload.get("jti") != family.refresh_jti:
            _revoke(family, "reuse")
            audit_record(action=AuditAction.TOKEN_REUSE_DETECTED, actor=user, target=user, request=request,
                         family=str(family.pk))
            reused = True
        else:
            family.refresh_jti = uuid.uuid4().hex
            family.expires_at = timezone.now() + settings.JWT_REFRESH_TTL
            family.save(update_fields=["refresh_jti", "expires_at", "updated_at"])
            reused = False
    if reused:  # outside the atomic block, so the revocation and its audit row stay committed
        raise TokenError(_("This refresh token was already used; sign in again."))
    return _pair(user, family)


def revoke_family_of(token: str, *, request=None) -> User:
    """Logout: revoke the family of a valid access or refresh token."""
    from analytics.models import AuditAction
    from analytics.services import audit_record

    try:
        kind, user = "access", user_for_token(token, kind="access")
    except TokenError:
        kind, user = "refresh", user_for_token(token, kind="refresh")
    payload = _decode(token, kind=kind)
    with transaction.atomic():
        family = ApiTokenFamily.objects.select_for_update().get(pk=payload["fam"], user=user)
        _revoke(family, "logout")
        audit_record(action=AuditAction.TOKEN_REVOKED, actor=user, target=user, request=request,
                     family=str(family.pk))
    return user


def revoke_all(user: User, *, reason: str) -> int:
    """End every API sign-in of a user (e.g. after an address change is undone)."""
    return (ApiTokenFamily.objects.filter(user=user, revoked_at__isnull=True)
            .update(revoked_at=timezone.now(), revoked_reason=reason, updated_at=timezone.now()))
