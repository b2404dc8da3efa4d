import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from clinic.models import CareTeamMember
from conftest import require_service
from core.channel_layer import redis_channel_layer
from telehealth import chat as chats


@pytest.fixture
def chat(alice, grace, carol):
    """Alice's conversation with Dr. Carol, her treating doctor (Grace, her mother, takes part on
    her behalf)."""
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Each websocket test runs on the in-memory channel layer and on Redis (configured as
    config/settings.py configures it, under a prefix of its own); channels drops cached layers when
    the setting changes, so every test gets a fresh one."""
    if request.param == "redis":
        require_service(bool(django_settings.REDIS_URL), "Redis (REDIS_URL)")
        settings.CHANNEL_LAYERS = {"default": redis_channel_layer(django_settings.REDIS_URL,
                                                                  prefix=f"test-{uuid.uuid4().hex[:12]}")}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield request.param
    try:
        async_to_sync(get_channel_layer().flush)()
    except Exception:  # a test that broke the layer must not also fail its teardown
        pass


@pytest.fixture(params=["memory", "redis"])
def backend(request, settings):
    """telehealth.presence on the in-process cache (embedded) and on Redis (production)."""
    if request.param == "redis":
        require_service(bool(django_settings.REDIS_URL), "Redis")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": django_settings.REDIS_URL}}
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param
