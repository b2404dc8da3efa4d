"""Who is connected where (chat presence, call rooms): small JSON dicts shared by every ASGI
process, each changed atomically.

With Redis (production) a dict lives under one key and is changed in an optimistic transaction
(WATCH/MULTI, retried when another process changed it meanwhile), through one client per process:
presence no longer opens a Redis connection per websocket (the cache API would, through the
per-connection cache handler) and two joins at once cannot lose one another. Embedded (the
in-process cache) a process-wide lock makes the read-modify-write atomic.
"""

import json
import threading

from django.conf import settings
from django.core.cache import cache

_lock = threading.Lock()
_clients: dict = {}


def _redis_client():
    """The process's Redis client for the cache's Redis server, or None when the cache is not
    Redis (embedded mode)."""
    config = settings.CACHES.get("default", {})
    if config.get("BACKEND") != "django.core.cache.backends.redis.RedisCache":
        return None
    location = config["LOCATION"]
    location = location[0] if isinstance(location, (list, tuple)) else location
    client = _clients.get(location)
    if client is None:
        import redis

        with _lock:
            client = _clients.get(location)
            if client is None:
                client = redis.Redis.from_url(location, socket_timeout=5, socket_connect_timeout=5,
                                              health_check_interval=30)
                _clients[location] = client
    return client


def _redis_key(key: str) -> str:
    return f"haven:presence:{key}"


def update(key: str, change, *, ttl: int):
    """Apply ``change(state)`` (it edits the dict in place and returns what the caller wants) to the
    dict stored under ``key`` atomically; an emptied dict is deleted. Returns ``change``'s result."""
    client = _redis_client()
    if client is None:
        with _lock:
            state = cache.get(key) or {}
            result = change(state)
            if state:
                cache.set(key, state, ttl)
            else:
                cache.delete(key)
            return result
    import redis

    name = _redis_key(key)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(name)
                raw = pipe.get(name)
                state = json.loads(raw) if raw else {}
                result = change(state)
                pipe.multi()
                if state:
                    pipe.set(name, json.dumps(state), ex=ttl)
                else:
                    pipe.delete(name)
                pipe.execute()
                return result
            except redis.WatchError:
                continue  # another process changed it first: read again


def read(key: str) -> dict:
    client = _redis_client()
    if client is None:
        return cache.get(key) or {}
    raw = client.get(_redis_key(key))
    return json.loads(raw) if raw else {}
