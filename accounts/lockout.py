"""django-axes hooks: which login identifier counts, and what a locked-out client sees."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def normalise_login(raw: str) -> str:
    """One spelling per account: a lower-cased e-mail, or the phone number in E.164. Without it
    "+1 202 555 0111" and "(202) 555-0111" would each get a fresh count of failures."""
    from django.core.exceptions import ValidationError

    from core.phones import looks_like_phone, normalize_phone

    value = str(raw).strip().lower()
    if value and looks_like_phone(value):
        try:
            return normalize_phone(value)
        except ValidationError:
            pass
    return value


def axes_username(request, credentials):
    """The identifier a failed login was tried with, whichever way the form or API named it,
    normalised so that every spelling of one account shares one count."""
    credentials = credentials or {}
    for key in ("email", "phone", "login", "username"):
        if credentials.get(key):
            return normalise_login(credentials[key])
    if request is not None and request.method == "POST":
        return normalise_login(request.POST.get("login") or "") or None
    return None


def lockout_message():
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _("Too many failed sign-in attempts. This account is locked for %(minutes)d minutes; "
             "try again later or reset your password.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message(), "code": "locked_out"}, status=429)
    return render(request, "account/lockout.html", {"message": lockout_message()}, status=429)
