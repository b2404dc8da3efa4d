"""Audit receivers for authentication events (allauth, Django auth and django-axes)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.lockout import axes_username
from analytics.models import AuditAction
from analytics.services import audit_record


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN_SUCCEEDED, actor=user, target=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, actor=user, target=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # Passwords never reach the log: Django masks them, and we store only the identifier.
    audit_record(action=AuditAction.LOGIN_FAILED, request=request,
                 label=axes_username(request, credentials) or "", login=axes_username(request, credentials))


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(action=AuditAction.LOCKED_OUT, request=request, label=username or "",
                 login=username, ip=ip_address)
