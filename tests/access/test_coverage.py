"""The matrices cover every route: a URL pattern, an OpenAPI operation or a websocket route
without a row fails here ("route X has no row in tests/access/…"), and so does a row whose route
no longer exists. Routes come from the URL resolver, /api/v1/openapi.json and config.routing."""

import importlib
import pkgutil
import re

import pytest

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

import tests.access
from tests.access.world import ROLE_NAMES, ROLES

# Patterns that are not pages of their own, with why.
NOT_PAGES = {
    "admin/(?P<url>.*)$": "Django admin's catch-all: answers 404 or the admin-login redirect",
    # config.api.api_not_found: behind every API operation, it answers JSON 404 to everyone and
    # serves nothing (test_unknown_api_paths_answer_json_404 below).
    "^api/v1/": "the API's JSON 404 for unknown paths under /api/v1/",
}
# Django admin's add/delete/history pages of every registered model sit behind the same
# admin_view gate and the ModelAdmin's permissions as its list and change pages, which have rows.
GENERATED_ADMIN_VIEWS = ("_add", "_delete", "_history")
# Django admin's legacy "<model>/<object_id>/" redirect to the change page, one per model.
LEGACY_ADMIN_REDIRECT = re.compile(r"^admin/\w+/\w+/<path:object_id>/$")


def matrix_rows():
    rows = []
    for info in pkgutil.iter_modules(tests.access.__path__):
        if info.name.startswith("test_") and info.name != "test_coverage":
            module = importlib.import_module(f"tests.access.{info.name}")
            for r in getattr(module, "ROWS", ()):
                rows.append((info.name, r))
    return rows


def url_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from url_patterns(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (f"{namespace}{p.name}" if p.name else None)


def page_routes() -> dict:
    """route key (URL name, or "/path" for an unnamed pattern) -> pattern, for every page."""
    admin_models = {f"admin:{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry}
    routes = {}
    for pattern, name in url_patterns():
        if pattern.startswith("api/v1/") or pattern in NOT_PAGES or LEGACY_ADMIN_REDIRECT.match(pattern):
            continue
        if name and name.endswith(GENERATED_ADMIN_VIEWS) and name.rsplit("_", 1)[0] in admin_models:
            continue
        routes[name or "/" + pattern] = pattern
    return routes


def api_routes() -> set:
    from config.api import api

    spec = api.get_openapi_schema()
    return {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}


def socket_routes() -> set:
    from config.routing import websocket_urlpatterns

    return {str(p.pattern) for p in websocket_urlpatterns}


def test_every_page_has_a_row():
    rows = {r.route for _, r in matrix_rows() if r.surface not in ("api", "socket") and not r.route.startswith("/api/")}
    missing = [f"route {name} ({pattern}) has no row in tests/access/test_<object>_<surface>.py"
               for name, pattern in page_routes().items() if name not in rows]
    assert not missing, "\n".join(missing)


def test_every_api_operation_has_a_row():
    rows = {f"{r.method} {r.route}" for _, r in matrix_rows() if r.route.startswith("/api/")}
    missing = [f"route {op} has no row in tests/access/test_<object>_api.py" for op in sorted(api_routes() - rows)]
    assert not missing, "\n".join(missing)


def test_every_websocket_route_has_a_row():
    rows = {r.route for _, r in matrix_rows() if r.surface == "socket"}
    missing = [f"route ws {p} has no row in tests/access/test_realtime_socket.py" for p in sorted(socket_routes() - rows)]
    assert not missing, "\n".join(missing)


def test_every_row_names_a_route_that_exists():
    known = set(page_routes()) | api_routes() | socket_routes()
    stale = [f"{module}: {r.key} is not a route any more" for module, r in matrix_rows()
             if (f"{r.method} {r.route}" if r.route.startswith("/api/") else r.route) not in known]
    assert not stale, "\n".join(stale)


def test_every_row_has_a_cell_for_every_named_person_and_pseudo_role():
    assert set(ROLES) == set(ROLE_NAMES)
    assert {"alice", "grace", "bob", "carol", "dave", "hana", "ada", "anon", "alice_2fa_owed",
            "carol_2fa_owed"} <= set(ROLES)
    short = [r.key for _, r in matrix_rows() if len(r.cells) != len(ROLES) or None in r.cells]
    assert not short, f"rows without a cell for every role (or still drafts): {short}"


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/no-such-thing/"), ("post", "/api/v1/no-such-thing"), ("get", "/api/v1/chats/x/y/z"),
    ("get", "/api/v1/chats/ws/00000000-0000-0000-0000-000000000000"), ("delete", "/api/v1/ai-assistant/sessions/x"),
])
def test_unknown_api_paths_answer_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
