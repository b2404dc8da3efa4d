"""The external surface, pinned: URL names and patterns, websocket routes, the OpenAPI document
(paths, methods, bodies, status codes, operationIds), Celery task names and beat entries, and
migrations in step with the models.

Restructuring (moving modules, splitting files) must leave every snapshot unchanged; a deliberate
change of the surface (a new page, endpoint, task) updates them in the same commit:

    HAVEN_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/surface

and the diff of ``tests/surface/snapshots/*.json`` shows reviewers exactly what changed.
"""

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("HAVEN_UPDATE_SNAPSHOTS", "").lower() in ("1", "true", "yes")


def _compare(name: str, current) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(current, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with HAVEN_UPDATE_SNAPSHOTS=1 and commit it"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored == json.loads(text), (
        f"the {name} surface changed; if that is intended, run with HAVEN_UPDATE_SNAPSHOTS=1 and commit "
        f"tests/surface/snapshots/{name}.json")


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            yield {
                "pattern": route,
                "name": f"{namespace}{entry.name}" if entry.name else None,
                "view": getattr(callback, "__name__", type(callback).__name__),
            }


def test_url_names_and_patterns():
    """Every HTTP route: its full pattern and name (admin's own routes are Django's, left out)."""
    routes = [r for r in _walk(get_resolver().url_patterns) if not r["pattern"].startswith("admin/")]
    # The view's function name may change when code moves; the pattern and name may not.
    _compare("urls", sorted({(r["pattern"], r["name"] or "") for r in routes}))


def test_websocket_routes():
    from config.routing import websocket_urlpatterns

    _compare("websocket_routes", sorted(r["pattern"] for r in _walk(websocket_urlpatterns)))


def test_openapi_document(client):
    """The whole /api/v1/openapi.json as clients fetch it: paths, methods, operationIds, bodies,
    responses, schemas."""
    response = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    _compare("openapi", response.json())


def test_celery_tasks_and_beat():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    tasks = sorted(name for name in app.tasks if not name.startswith("celery."))
    beat = {
        name: {"task": entry["task"], "schedule": repr(entry["schedule"]), "options": entry.get("options", {})}
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    _compare("celery", {"tasks": tasks, "beat": beat})


@pytest.mark.django_db
def test_migrations_match_the_models():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"models and migrations differ (makemigrations --check exit {exit_.code}):\n{out.getvalue()}")
