from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from core.errors import NotFound, PermissionDenied


class DomainErrorMiddleware:
    """Pages: a selector's NotFound becomes the 404 page and a service's PermissionDenied the 403
    page, so a view that lets one escape never answers 500. (The API has its own handlers.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(exception.message) from exception
        return None


# Features no Haven page uses: denied everywhere, so an injected script or frame cannot ask.
_DENIED_FEATURES = ("geolocation", "payment", "usb", "serial", "hid", "midi",
                    "magnetometer", "gyroscope", "accelerometer", "display-capture")
# The pages that open the camera or the microphone, by URL name: the call room (both), the
# emotion snapshot page (camera) and a chat (the microphone records voice messages).
MEDIA_PAGES = {
    "call_room": {"camera", "microphone"},
    "emotion_snapshots": {"camera"},
    "chat_detail": {"microphone"},
}


def permissions_policy(url_name):
    allowed = MEDIA_PAGES.get(url_name, set())
    parts = [f"{feature}={'(self)' if feature in allowed else '()'}" for feature in ("camera", "microphone")]
    parts += [f"{feature}=()" for feature in _DENIED_FEATURES]
    parts.append("fullscreen=(self)")
    return ", ".join(parts)


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response (camera and microphone only on the pages above), and
    `Cache-Control: no-store` on everything that may carry patient data: every response to a
    signed-in request and every /api/ response (static files are served before this runs)."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.static_prefix = settings.STATIC_URL or "/static/"

    def __call__(self, request):
        from django.utils.cache import add_never_cache_headers

        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        response.setdefault("Permissions-Policy", permissions_policy(match.url_name if match else None))
        if request.path.startswith(self.static_prefix):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
            response["Pragma"] = "no-cache"
        return response


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a 400 before any view runs: Postgres
    refuses it in text, so a search or a filter that passed it on would answer 500. (Forms reject
    it field by field; the API answers 422 naming the parameter, see core.schemas.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and (
                "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "")
                or any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values)):
            raise BadRequest("NUL characters are not allowed in the address.")
        return self.get_response(request)
