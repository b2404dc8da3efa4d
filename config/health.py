"""GET /health: is this process able to reach everything it depends on?

Checks the database, the cache, the channel layer and the Celery broker, concurrently, each
in its own daemon thread with a deadline, so a dead or black-holed Redis/Postgres cannot hang
the endpoint (worst case is about CHECK_TIMEOUT seconds, not the OS TCP timeout). Answers 200
when everything is up and 503 naming what is down. Details never contain connection URLs or
credentials.

Probed by load balancers and container health checks: no authentication, no CSRF, GET only.
Anyone gets only {"status": "ok" | "degraded"} with 200 or 503; which backends were checked, what
failed and the version are shown only to a signed-in admin who passed 2FA, or to a monitor that
sends `Authorization: Bearer <HEALTH_TOKEN>` (backend names and versions help an attacker aim).
"""

import asyncio
import logging
import re
import secrets
import threading
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Seconds a single check may take (socket / operation timeouts inside the check).
CHECK_TIMEOUT = 2.0
# Hard deadline per check, after which it is reported down even if its thread is still stuck.
CHECK_DEADLINE = CHECK_TIMEOUT + 1.0

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_PASSWORD_FIELD = re.compile(r"(password|passwd|pwd|secret|token)=\S+", re.IGNORECASE)


class CheckFailed(Exception):
    """A check ran but found its part unusable."""


def _scrub(text):
    """Remove anything that looks like credentials from an error message, and cap its length."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", str(text))
    text = _PASSWORD_FIELD.sub(r"\1=***", text)
    text = " ".join(text.split())
    return text[:200]


def _describe(exc):
    message = _scrub(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


# --- the checks: each returns a short detail string, or raises --------------------------------


def check_database():
    from django.db import DEFAULT_DB_ALIAS, connections

    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        if not row or row[0] != 1:
            raise CheckFailed(f"SELECT 1 returned {row!r}")
        return f"{connection.vendor}: SELECT 1 ok"
    finally:
        # This thread's connection: close it so probes do not accumulate open connections.
        connections.close_all()


def _fresh_cache(alias="default"):
    """A new cache instance for `alias`, with short socket timeouts when the backend is Redis."""
    from django.core.cache import caches
    from django.utils.module_loading import import_string

    params = dict(caches.settings[alias])
    backend = params.pop("BACKEND")
    location = params.pop("LOCATION", "")
    if backend == "django.core.cache.backends.redis.RedisCache":
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", CHECK_TIMEOUT)
        options.setdefault("socket_timeout", CHECK_TIMEOUT)
        params["OPTIONS"] = options
    return import_string(backend)(location, params)


def _disconnect_cache(cache):
    cache.close()
    # RedisCache keeps its connection pools on the client; release the sockets now.
    client = getattr(cache, "_cache", None)
    for pool in getattr(client, "_pools", {}).values():
        try:
            pool.disconnect()
        except Exception:  # pragma: no cover - best effort cleanup
            pass


def check_cache():
    cache = _fresh_cache()
    key = f"haven:health:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=30)
        got = cache.get(key)
        cache.delete(key)
        if got != value:
            raise CheckFailed("value written was not read back")
        return f"{type(cache).__name__}: set/get ok"
    finally:
        _disconnect_cache(cache)


def check_channel_layer():
    """A send/receive round trip on a layer instance of its own: the process's shared layer is
    receiving for the open websockets in the server's event loop, and channels_redis refuses a
    second event loop receiving on the same instance ("Two event loops are trying to receive()")."""
    from asgiref.sync import async_to_sync
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    if DEFAULT_CHANNEL_LAYER not in getattr(settings, "CHANNEL_LAYERS", {}):
        raise CheckFailed("no channel layer configured")
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    nonce = secrets.token_hex(8)

    async def round_trip():
        try:
            channel = await layer.new_channel("health.")
            await layer.send(channel, {"type": "health.ping", "nonce": nonce})
            return await layer.receive(channel)
        finally:
            close = getattr(layer, "close_pools", None)  # channels_redis: its own connections
            if close is not None:
                await close()

    async def with_timeout():
        return await asyncio.wait_for(round_trip(), timeout=CHECK_TIMEOUT)

    try:
        message = async_to_sync(with_timeout)()
    except asyncio.TimeoutError:
        raise CheckFailed(f"no round trip within {CHECK_TIMEOUT:g}s") from None
    if message.get("nonce") != nonce:
        raise CheckFailed("received a different message than was sent")
    return f"{type(layer).__name__}: send/receive ok"


def check_broker():
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return "eager: this process runs its own tasks (scheduled jobs go through the worker's broker)"
    from config.celery import app

    connection = app.connection_for_write(connect_timeout=CHECK_TIMEOUT)
    try:
        connection.ensure_connection(
            max_retries=1, interval_start=0.2, interval_step=0.2, timeout=CHECK_TIMEOUT
        )
        return f"{connection.transport_cls}: connected"
    finally:
        connection.release()


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


# --- running them ------------------------------------------------------------------------------


class _Run:
    def __init__(self, name, func):
        self.name = name
        self.func = func
        self.done = threading.Event()
        self.result = None
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._target, name=f"health-{name}", daemon=True)

    def _target(self):
        try:
            self.result = {"ok": True, "detail": self.func()}
        except Exception as exc:  # any failure means "down"; the detail says why
            self.result = {"ok": False, "detail": _describe(exc)}
        finally:
            if self.result is None:  # a BaseException escaped; still report, never hang
                self.result = {"ok": False, "detail": "check aborted"}
            self.result["ms"] = round((time.monotonic() - self.started) * 1000)
            self.done.set()


def run_checks(checks=None, deadline=None):
    """Run the checks concurrently; returns {name: {"ok", "detail", "ms"}} within the deadline."""
    checks = CHECKS if checks is None else checks
    deadline = CHECK_DEADLINE if deadline is None else deadline
    runs = [_Run(name, func) for name, func in checks.items()]
    for run in runs:
        run.thread.start()
    end = time.monotonic() + deadline
    results = {}
    for run in runs:
        if run.done.wait(timeout=max(0.0, end - time.monotonic())):
            results[run.name] = run.result
        else:
            results[run.name] = {
                "ok": False,
                "detail": f"timed out after {deadline:g}s",
                "ms": round((time.monotonic() - run.started) * 1000),
            }
    return results


def may_see_details(request):
    """A verified admin, or a monitor with the HEALTH_TOKEN (compared in constant time)."""
    token = getattr(settings, "HEALTH_TOKEN", "")
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and secrets.compare_digest(sent.strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and getattr(user, "is_admin", False)
                and getattr(user, "is_verified", lambda: False)())


@csrf_exempt
@require_GET
@never_cache
def health(request):
    checks = run_checks()
    down = [name for name, result in checks.items() if not result["ok"]]
    if down:
        logger.warning(
            "health check failed: %s",
            "; ".join(f"{name}: {checks[name]['detail']}" for name in down),
        )
    body = {"status": "degraded" if down else "ok"}
    if may_see_details(request):
        body.update({
            "checks": checks,
            "down": down,
            "version": getattr(settings, "HAVEN_VERSION", None),
        })
    return JsonResponse(body, status=503 if down else 200)
