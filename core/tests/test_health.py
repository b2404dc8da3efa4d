"""GET /health: 200 when every dependency answers, 503 naming the part that is down.

"Down" is simulated for real where possible (a Redis URL on a closed local port) and by making
new database connections fail; every failing case must still answer quickly.
"""

import time

import pytest
from django.db.utils import OperationalError
from django.test import Client

from config import health as health_module
from config.celery import app as celery_app
from core.channel_layer import redis_channel_layer

DEAD_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens there, connection refused
# Generous bound: each check has a ~3s hard deadline and they run concurrently.
FAST_ENOUGH = health_module.CHECK_DEADLINE + 2

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(30)]

MONITOR_TOKEN = "monitor-token-for-tests"


@pytest.fixture(autouse=True)
def _health_token(settings):
    settings.HEALTH_TOKEN = MONITOR_TOKEN


def get_health(client, token=MONITOR_TOKEN):
    """GET /health as the monitor (its token shows the details), or anonymously with token=None."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/health", headers=headers)
    elapsed = time.monotonic() - started
    assert response["Content-Type"] == "application/json"
    return response, response.json(), elapsed


def test_all_ok_on_configured_backends(client, settings):
    response, body, _ = get_health(client)

    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["version"] == settings.HAVEN_VERSION
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    for name, result in body["checks"].items():
        assert result["ok"] is True, (name, result)
        assert result["detail"], name
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_anonymous_sees_only_the_status(client):
    response, body, _ = get_health(client, token=None)

    assert response.status_code == 200
    assert body == {"status": "ok"}


@pytest.mark.timeout(20)
def test_anonymous_sees_degraded_without_naming_the_part_that_is_down(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}
    }

    response, body, _ = get_health(client, token=None)

    assert response.status_code == 503
    assert body == {"status": "degraded"}


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Basic {MONITOR_TOKEN}", f"Bearer {MONITOR_TOKEN}x"])
def test_a_wrong_token_sees_only_the_status(client, header):
    body = client.get("/health", headers={"Authorization": header}).json()

    assert body == {"status": "ok"}


def test_no_token_configured_means_no_token_works(client, settings):
    settings.HEALTH_TOKEN = ""

    assert client.get("/health", headers={"Authorization": "Bearer "}).json() == {"status": "ok"}


def test_a_verified_admin_sees_the_details(client, ada, settings):
    from conftest import login_verified

    login_verified(client, ada)
    response, body, _ = get_health(client, token=None)

    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert body["version"] == settings.HAVEN_VERSION


def test_other_signed_in_people_see_only_the_status(client, alice, carol):
    from conftest import login_verified

    for person in (alice, carol):
        login_verified(client, person)
        assert get_health(client, token=None)[1] == {"status": "ok"}


def test_needs_no_login_or_csrf_and_only_allows_get():
    client = Client(enforce_csrf_checks=True)  # anonymous, CSRF enforced

    assert client.get("/health").status_code == 200
    # csrf_exempt: a POST is refused for its method (405), not for a missing token (403).
    assert client.post("/health").status_code == 405


@pytest.mark.timeout(20)
def test_cache_down_is_503_naming_cache(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}
    }

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["down"] == ["cache"]
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < FAST_ENOUGH


@pytest.mark.timeout(20)
def test_channel_layer_down_is_503_naming_channel_layer(client, settings):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(DEAD_REDIS)}

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["down"] == ["channel_layer"]
    assert body["checks"]["channel_layer"]["ok"] is False
    assert elapsed < FAST_ENOUGH


@pytest.mark.timeout(20)
def test_broker_down_is_503_naming_broker(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The Celery app read its configuration once; point its (write) broker at the dead port.
    monkeypatch.setitem(celery_app.conf, "broker_url", DEAD_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_write_url", DEAD_REDIS)

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["down"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False
    assert elapsed < FAST_ENOUGH


def test_eager_celery_reports_broker_ok_without_connecting(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setitem(celery_app.conf, "broker_url", DEAD_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_write_url", DEAD_REDIS)

    response, body, _ = get_health(client)

    assert body["checks"]["broker"]["ok"] is True
    assert "eager" in body["checks"]["broker"]["detail"]


@pytest.mark.timeout(20)
def test_database_down_is_503_naming_database(client, monkeypatch):
    from django.db import connections

    # The check opens its own connection in its own thread; make opening one fail the way an
    # unreachable server does. The test's own, already open, connection is unaffected.
    def refuse(self):
        raise OperationalError("connection refused (simulated)")

    monkeypatch.setattr(type(connections["default"]), "connect", refuse)

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["down"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert elapsed < FAST_ENOUGH


@pytest.mark.timeout(20)
def test_several_down_are_all_named(client, settings, monkeypatch):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setitem(celery_app.conf, "broker_url", DEAD_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_write_url", DEAD_REDIS)

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["down"] == ["cache", "broker"]
    assert elapsed < FAST_ENOUGH


@pytest.mark.timeout(20)
def test_hung_check_is_cut_off_at_the_deadline(client, monkeypatch):
    def hangs():
        time.sleep(10)
        return "never"

    monkeypatch.setattr(health_module, "CHECK_DEADLINE", 0.5)
    monkeypatch.setitem(health_module.CHECKS, "cache", hangs)

    response, body, elapsed = get_health(client)

    assert response.status_code == 503
    assert body["down"] == ["cache"]
    assert "timed out" in body["checks"]["cache"]["detail"]
    assert elapsed < 3


@pytest.mark.timeout(20)
def test_details_never_leak_credentials(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://haven:s3cret-pw@127.0.0.1:1/0",
        }
    }

    response, body, _ = get_health(client)

    assert response.status_code == 503
    assert "s3cret-pw" not in response.content.decode()


def test_scrub_removes_url_credentials_and_password_fields():
    text = "cannot reach redis://user:hunter2@db.internal:6379/0 (password=hunter2 sslmode=require)"

    scrubbed = health_module._scrub(text)

    assert "hunter2" not in scrubbed
    assert "redis://***@db.internal:6379/0" in scrubbed


def test_channel_layer_check_works_while_the_server_receives_for_its_websockets(settings):
    """In the ASGI server the shared channel layer is always receiving for the open websockets, in
    the server's event loop; the health check (another loop) must not collide with it."""
    import asyncio
    import threading

    from channels.layers import get_channel_layer

    from conftest import require_service

    require_service(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(settings.REDIS_URL)}
    shared = get_channel_layer()
    loop = asyncio.new_event_loop()
    receiving = threading.Event()

    async def serve():
        name = await shared.new_channel()
        receiving.set()
        try:
            await shared.receive(name)  # waits, like the server's websockets
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert receiving.wait(5)
        time.sleep(0.2)  # the receive loop is under way
        assert health_module.check_channel_layer().startswith("RedisChannelLayer")
    finally:
        for task in asyncio.all_tasks(loop):
            loop.call_soon_threadsafe(task.cancel)
        thread.join(5)
