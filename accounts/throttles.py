"""Per-IP rate limits for sign-in, token refresh and sign-up: django-ninja throttles for the API,
the same counters for the web sign-up forms. Rates come from settings (HAVEN_THROTTLE_*)."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja.throttling import SimpleRateThrottle


class IPRateThrottle(SimpleRateThrottle):
    """Counts requests per client IP (as django-axes and the audit log see it, so a forged
    X-Forwarded-For does not give fresh counts) under a scope whose rate is a setting, read on
    each request (tests and deployments change it without re-importing the API)."""

    def __init__(self, scope: str, setting: str):
        self.scope, self.setting = scope, setting
        self.rate = None

    def allow_request(self, request) -> bool:
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request):
        from analytics.services import client_ip

        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


login_throttle = IPRateThrottle("login", "THROTTLE_LOGIN_RATE")
refresh_throttle = IPRateThrottle("refresh", "THROTTLE_REFRESH_RATE")
signup_throttle = IPRateThrottle("signup", "THROTTLE_SIGNUP_RATE")


def throttled_message(wait) -> str:
    if wait:
        return _("Too many attempts from your network. Try again in %(seconds)d seconds.") % {"seconds": int(wait + 0.999)}
    return _("Too many attempts from your network. Try again later.")


def web_signup_throttled(request):
    """The web sign-up forms share the API's per-IP sign-up budget. Returns a 429 page, or None."""
    if request.method != "POST" or signup_throttle.allow_request(request):
        return None
    wait = signup_throttle.wait()
    response = render(request, "accounts/throttled.html", {"message": throttled_message(wait)}, status=429)
    if wait is not None:
        response["Retry-After"] = str(int(wait + 0.999))
    return response
