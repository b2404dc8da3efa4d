"""While Redis is down (channel layer and cache on a closed port), a chat message is stored and
answered with success, the sender is told the live link is degraded, and the offline members'
notifications are not dropped: written at once, and their e-mails queued again by the beat sweep
when even the broker could not take them."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from core.channel_layer import redis_channel_layer
from telehealth import chat as chats
from telehealth import tasks
from telehealth.models import Message, Notification

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(DOWN)}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DOWN,
                                   "OPTIONS": {"socket_connect_timeout": 1}}}


@pytest.fixture
def chat(db, alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


def post_message(user, chat, client_id="m1", body="Are my results in?"):
    return Client().post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": client_id, "body": body},
                         content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


@pytest.mark.django_db(transaction=True)
def test_a_message_is_stored_and_answered_while_redis_is_down(redis_down, chat, alice, carol):
    response = post_message(alice, chat)
    assert response.status_code == 201, response.content
    assert response.json()["realtime"] is False
    assert Message.objects.filter(chat=chat, sender=alice).count() == 1
    # Carol (offline: presence is unknown, so everyone is told) gets her notification and e-mail.
    notification = Notification.objects.get(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE)
    assert notification.emailed_at is not None
    assert [m.to for m in mail.outbox] == [[carol.email]]


@pytest.mark.django_db(transaction=True)
def test_when_the_broker_is_down_too_the_sweep_sends_the_email_later(redis_down, chat, alice, carol, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.notification_email_send, "delay", broker_down)
    assert post_message(alice, chat).status_code == 201
    notification = Notification.objects.get(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE)
    assert notification.emailed_at is None and mail.outbox == []
    monkeypatch.undo()  # Redis is back
    assert tasks.notification_emails_retry_due() == 0  # too fresh: the normal path had its chance
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - dt.timedelta(minutes=3))
    assert tasks.notification_emails_retry_due() == 1
    assert [m.to for m in mail.outbox] == [[carol.email]]
    assert tasks.notification_emails_retry_due() == 0  # sent once


@pytest.mark.django_db(transaction=True)
def test_a_failed_notification_step_is_queued_for_retry(redis_down, chat, alice, carol, monkeypatch):
    calls = []
    real = chats.chat_message_notify

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ConnectionError("database hiccup")
        return real(**kwargs)

    monkeypatch.setattr(chats, "chat_message_notify", flaky)
    assert post_message(alice, chat).status_code == 201
    assert len(calls) == 2  # the eager retry task ran it again
    assert Notification.objects.filter(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_healthy_link_says_realtime(chat, alice, settings):
    import concurrent.futures

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # In a thread of its own: a Playwright test earlier in the worker leaves an event loop running
    # here, where the broadcast's async_to_sync cannot run (and would report degraded).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        response = pool.submit(post_message, alice, chat).result()
    assert response.json()["realtime"] is True
