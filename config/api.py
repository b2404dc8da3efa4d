"""The /api/v1 JSON API: one NinjaAPI, routers from each app, errors as {"detail": ...}."""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from accounts.api import JWTAuth
from accounts.api import auth_router, users_router
from core.errors import DomainError
from core.schemas import HavenParser

# Every operation can answer these through the handlers below (all as {"detail": ...}): the
# OpenAPI says so, so that a client (and schemathesis) knows every status it may get.
ERROR_STATUSES = {
    "400": "Malformed request, or a request that cannot be carried out as asked",
    "401": "Authentication required (or wrong credentials)",
    "403": "Visible to you, but not yours to change",
    "404": "Missing, or not yours",
    "409": "Conflicts with the current state (e.g. a slot just taken)",
    "422": "Invalid input: detail lists each field and what is wrong with it",
    "429": "Too many attempts",
}
ERROR_SCHEMA = {
    "title": "ErrorOut",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"anyOf": [
            {"type": "string"},
            {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"},
                               "type": {"type": ["string", "null"]}}}},
        ]},
        "field": {"type": "string", "description": "The input field the error is about, if one"},
    },
}


class HavenAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ERROR_SCHEMA
        # The definitions that JSON-or-form bodies (core.api_bodies: the sign-ups) refer to.
        from accounts.api import SIGNUP_SCHEMAS
        from core.api_bodies import json_schema_defs

        for name, definition in json_schema_defs(*SIGNUP_SCHEMAS).items():
            components.setdefault(name, definition)
        _local_times(schema)
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, {"description": description, **error})
        return schema


def _local_times(node):
    """A time of day (``datetime.time``) is a local wall-clock time, sent and answered without an
    offset: RFC 3339's partial-time, not the "time" format (which requires an offset)."""
    if isinstance(node, dict):
        if node.get("format") == "time":
            node["format"] = "partial-time"
            node["pattern"] = r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


@csrf_exempt  # nothing to protect, and a CSRF page would be HTML
def api_not_found(request, *args, **kwargs):
    """Under /api/v1/ an unknown path (or an id that is not one) answers JSON like the API does."""
    return JsonResponse({"detail": "Not found."}, status=404)


api = HavenAPI(
    title="Haven API",
    version="1",
    description="Patients, doctors, hospitals and their care, for mobile apps and partner systems. "
                "Authenticate with POST /auth/login and send `Authorization: Bearer <access>`.",
    auth=JWTAuth(),
    urls_namespace="api",
    docs_url="/docs",
    parser=HavenParser(),
)


@api.get("/", auth=None, tags=["meta"], summary="API name and version")
def api_root(request):
    return {"name": "Haven API", "version": "1", "release": settings.HAVEN_VERSION, "docs": "/api/v1/docs"}


def _validation_detail(errors):
    detail = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "file", "payload")]
        detail.append({"field": ".".join(loc) or None, "message": err.get("msg", "Invalid value."),
                       "type": err.get("type")})
    return detail


@api.exception_handler(NinjaValidationError)
def on_schema_error(request, exc):
    return api.create_response(request, {"detail": _validation_detail(exc.errors)}, status=422)


@api.exception_handler(DjangoValidationError)
def on_validation_error(request, exc):
    if hasattr(exc, "error_dict"):
        detail = [{"field": field, "message": message}
                  for field, messages in exc.message_dict.items() for message in messages]
    else:
        detail = [{"field": None, "message": m} for m in exc.messages]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(DomainError)
def on_domain_error(request, exc):
    body = {"detail": exc.message, **getattr(exc, "extra", {})}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, {"detail": "Authentication required: send a valid Bearer access token."},
                               status=401)


@api.exception_handler(Throttled)
def on_throttled(request, exc):
    from accounts.throttles import throttled_message

    # django-ninja adds the Retry-After header to this response.
    return api.create_response(request, {"detail": throttled_message(exc.wait), "code": "throttled"}, status=429)


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


api.add_router("/auth", auth_router)
api.add_router("/users", users_router)

from clinic.api import (  # noqa: E402
    access_router,
    appointments_router,
    doctors_router,
    hospitals_router,
    mappings_router,
    patients_router,
)

api.add_router("/hospitals", hospitals_router)
api.add_router("/doctors", doctors_router)
api.add_router("/patients", patients_router)
api.add_router("/mappings", mappings_router)
api.add_router("/appointments", appointments_router)
api.add_router("/access", access_router)

from wellness.api_emotion import emotion_router  # noqa: E402

api.add_router("", emotion_router)  # absolute paths: /auth/face-capture, /patients/{id}/emotions

from wellness.api import wellness_router  # noqa: E402

api.add_router("/patients", wellness_router)

from wellness.api_doctor import router as wellness_risk_router  # noqa: E402

api.add_router("", wellness_risk_router)

from telehealth.api import notifications_router  # noqa: E402

api.add_router("/notifications", notifications_router)

from telehealth.api_chat import router as chat_router  # noqa: E402

api.add_router("", chat_router)  # /chats, /chats/{id}, /chats/{id}/messages, /messages, /messages/{id}/read

from telehealth.api_call_requests import router as call_requests_router  # noqa: E402

api.add_router("", call_requests_router)  # /chats/{id}/call-requests, /call-requests/{id}[/accept|/decline|/cancel]
