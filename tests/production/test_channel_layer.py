"""The production channel layer, configured as config/settings.py configures it: a receiver that
waits longer than channels_redis's blocking pop (5 s) keeps waiting and gets the message, instead
of a Redis read timeout (which closes every idle websocket with 1011)."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from conftest import require_service, run_in_own_loop

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]


def test_an_idle_receiver_outlives_the_blocking_pop():
    require_service(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "core.channel_layer.RedisChannelLayer"
    run_in_own_loop(_idle_receiver)


async def _idle_receiver():
    layer = get_channel_layer()
    name = await layer.new_channel()

    async def send_later():
        await asyncio.sleep(layer.brpop_timeout + 1.5)
        await layer.send(name, {"type": "late.hello"})

    sender = asyncio.create_task(send_later())
    message = await asyncio.wait_for(layer.receive(name), timeout=layer.brpop_timeout + 10)
    await sender
    assert message == {"type": "late.hello"}
    await layer.flush()
