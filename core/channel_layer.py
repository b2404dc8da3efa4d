"""The Redis channel layer, made safe against a cancellation that Python 3.11 can lose.

redis-py 8 sends every command under ``asyncio.wait_for`` (its socket timeout is no longer None by
default, and ours is 15 s). Before Python 3.12, ``wait_for`` returns the inner result and drops the
caller's cancellation when both happen in the same turn of the event loop (CPython gh-86296).

channels cancels a consumer's channel-layer receive task when the consumer stops. If that
cancellation lands while the task is sending its EVAL or BZPOPMIN, it is lost and channels_redis
goes on polling Redis every ``brpop_timeout`` seconds for ever: the consumer never finishes (it
awaits that task), so a closed websocket keeps its consumer and its state in memory, and an
``asyncio.run`` (a test, a management command) hangs at shutdown.

The task still records the request (``Task.cancelling()``), so after each blocking pop we honour it.
A message popped in that round stays in channels_redis's backup queue, which the next receive on
the channel puts back first, so nothing is lost. On Python 3.12+ the check never fires.
"""

import asyncio

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.asyncio import BlockingConnectionPool


def raise_if_cancellation_was_lost():
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RedisChannelLayer(_RedisChannelLayer):
    def create_pool(self, index):
        """A pool that waits (up to the host's ``timeout`` seconds) for a free connection when all
        ``max_connections`` are in use, instead of failing at once with "Too many connections":
        thousands of sockets closing together (a deploy, a network blip) each leave their groups,
        and those leaves must queue rather than fail."""
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)
        return BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def _brpop_with_clean(self, index, channel, timeout):
        member = await super()._brpop_with_clean(index, channel, timeout)
        raise_if_cancellation_was_lost()
        return member


def redis_channel_layer(url, *, max_connections=1000, **config):
    """The ``CHANNEL_LAYERS`` entry for Redis at ``url``, as production configures it (tests pass a
    ``prefix`` of their own).

    channels_redis waits on Redis with a 5 s blocking pop, so the socket timeout must be longer
    (redis-py 8 defaults to 5 s and then cuts idle websockets with 1011). The pool is sized for
    bursts of group joins and leaves (many sockets closing at once), and waits when it is full."""
    host = {"address": url, "socket_timeout": 15, "socket_connect_timeout": 5, "max_connections": max_connections,
            "timeout": 10}  # how long to wait for a free pooled connection
    return {"BACKEND": f"{__name__}.{RedisChannelLayer.__qualname__}", "CONFIG": {"hosts": [host], **config}}
