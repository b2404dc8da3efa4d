"""django-axes hooks: which login identifier counts, and what a locked-out client sees."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def axes_username(request, credentials):
    """The identifier a failed login was tried with, whichever way the form or API named it."""
    credentials = credentials or {}
    for key in ("email", "phone", "login", "username"):
        if credentials.get(key):
            return str(credentials[key]).strip().lower()
    if request is not None and request.method == "POST":
        return (request.POST.get("login") or "").strip().lower() or None
    return None


def lockout_message():
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _("Too many failed sign-in attempts. This account is locked for %(minutes)d minutes; "
             "try again later or reset your password.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message(), "code": "locked_out"}, status=429)
    return render(request, "account/lockout.html", {"message": lockout_message()}, status=429)
