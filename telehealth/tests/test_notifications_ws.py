"""/ws/notifications/: who may connect, the unread count on connect, and live delivery of
notifications written through ``services.notification_send`` (each person gets only their own).

Every socket test runs on the in-memory channel layer and on Redis (channels_redis at
settings.REDIS_URL; skipped without Redis, required in CI). Sockets go through the real ASGI stack
(config.asgi.application: origin check, session cookie, and ?token= on the route).
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from accounts.tokens import issue_pair
from conftest import login_verified, totp_enrol
from core.channel_layer import redis_channel_layer
from telehealth import consumers_notifications, services
from telehealth.models import Notification

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
K = Notification.Kind
PATH = "/ws/notifications/"
ORIGIN = (b"origin", b"http://testserver")


def wait():
    """How long to wait for a message that must not come."""
    return 0.3


def session_app():
    from config.asgi import application

    return application


def token_app():
    return session_app()  # the route itself is wrapped in the token middleware


def cookie_for(user, *, verified=True):
    client = Client()
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    return (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode())


def headers_for(user=None):
    """Origin and session cookie; build them before entering the async scenario (they touch the DB)."""
    return [ORIGIN] + ([cookie_for(user)] if user is not None else [])


def socket(headers=None, *, app=None, path=PATH):
    return WebsocketCommunicator(app or session_app(), path, headers=headers if headers is not None else [ORIGIN])


def send(user, title="Hello", **kwargs):
    return services.notification_send(recipient=user, kind=K.APPOINTMENT_CONFIRMED, title=title, body="Body",
                                      url="/appointments/", **kwargs)


asend = database_sync_to_async(send)


async def assert_closed_with(communicator, code):
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with the code so the client can tell why
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": code}
    await communicator.wait()


def run(coroutine_function, *args):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(coroutine_function)(*args)
        return
    # A sync Playwright started earlier in this test process (a browser test) leaves an event loop
    # marked running in this thread, where async_to_sync refuses to work: run from a fresh thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(coroutine_function), *args).result()


# --- who may connect -----------------------------------------------------------------------------

def test_anonymous_is_rejected(layer):
    async def scenario():
        await assert_closed_with(socket(), 4401)

    run(scenario)


def test_a_bad_origin_is_rejected(layer, alice):
    headers = [(b"origin", b"https://evil.example"), cookie_for(alice)]

    async def scenario():
        communicator = socket(headers)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_missing_origin_is_rejected(layer, alice):
    headers = [cookie_for(alice)]

    async def scenario():
        communicator = socket(headers)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_session_that_owes_its_second_factor_is_refused(layer, carol):
    headers = [ORIGIN, cookie_for(carol, verified=False)]

    async def scenario():
        await assert_closed_with(socket(headers), 4403)

    run(scenario)


def test_a_patient_with_2fa_must_have_verified_it_in_this_session(layer, alice):
    totp_enrol(alice)
    headers = [ORIGIN, cookie_for(alice, verified=False)]

    async def scenario():
        await assert_closed_with(socket(headers), 4403)

    run(scenario)


def test_a_verified_doctor_connects(layer, carol):
    headers = [ORIGIN, cookie_for(carol, verified=True)]

    async def scenario():
        communicator = socket(headers)
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from(timeout=2) == {"type": "unread", "count": 0}
        await communicator.disconnect()

    run(scenario)


def test_api_clients_connect_with_a_token(layer, alice):
    bearer = (b"authorization", f"Bearer {issue_pair(alice)['access']}".encode())
    send(alice)

    async def scenario():
        communicator = socket(headers=[ORIGIN, bearer], app=token_app(), path=PATH)
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from(timeout=2) == {"type": "unread", "count": 1}
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("token", ["not-a-jwt", "refresh"])
def test_a_bad_token_is_anonymous_even_with_a_session(layer, alice, token):
    if token == "refresh":
        token = issue_pair(alice)["refresh"]
    headers = [ORIGIN, cookie_for(alice), (b"authorization", f"Bearer {token}".encode())]

    async def scenario():
        await assert_closed_with(socket(headers, app=token_app(), path=PATH), 4401)

    run(scenario)


def test_the_token_stack_still_accepts_the_session(layer, alice):
    headers = headers_for(alice)

    async def scenario():
        communicator = socket(headers, app=token_app())
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=2))["type"] == "unread"
        await communicator.disconnect()

    run(scenario)


# --- what arrives --------------------------------------------------------------------------------

def test_unread_count_on_connect_and_on_request(layer, alice, bob):
    send(alice), send(alice), send(bob)
    services.notifications_mark_read(user=alice, ids=[Notification.objects.filter(recipient=alice).first().pk])

    headers = headers_for(alice)

    async def scenario():
        communicator = socket(headers)
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from(timeout=2) == {"type": "unread", "count": 1}
        await database_sync_to_async(services.notifications_mark_read)(user=alice)
        await communicator.send_json_to({"type": "unread"})
        assert await communicator.receive_json_from(timeout=2) == {"type": "unread", "count": 0}
        await communicator.send_to(text_data="not json")  # ignored, the socket stays open
        await communicator.send_json_to({"type": "something else"})
        assert await communicator.receive_nothing(timeout=wait())
        await communicator.disconnect()

    run(scenario)


def test_a_notification_arrives_live_and_only_for_its_recipient(layer, alice, bob):
    alice_headers, bob_headers = headers_for(alice), headers_for(bob)

    async def scenario():
        alice_tab1, alice_tab2, bob_tab = socket(alice_headers), socket(alice_headers), socket(bob_headers)
        for communicator in (alice_tab1, alice_tab2, bob_tab):
            assert (await communicator.connect())[0]
            assert (await communicator.receive_json_from(timeout=2))["count"] == 0

        notification = await asend(alice, "For Alice")

        for communicator in (alice_tab1, alice_tab2):
            message = await communicator.receive_json_from(timeout=3)
            assert message == {
                "type": "notification", "id": str(notification.pk), "kind": "appointment.confirmed",
                "title": "For Alice", "body": "Body", "url": "/appointments/",
                "created_at": notification.created_at.isoformat(), "unread": 1,
            }
        assert await bob_tab.receive_nothing(timeout=wait())

        await asend(bob, "For Bob")
        message = await bob_tab.receive_json_from(timeout=3)
        assert message["title"] == "For Bob" and message["unread"] == 1
        assert await alice_tab1.receive_nothing(timeout=wait())
        assert await alice_tab2.receive_nothing(timeout=wait())
        for communicator in (alice_tab1, alice_tab2, bob_tab):
            await communicator.disconnect()

    run(scenario)


def test_a_repeated_source_key_is_not_pushed_twice(layer, alice):
    headers = headers_for(alice)

    async def scenario():
        communicator = socket(headers)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=2)
        await asend(alice, source_key="event:1")
        assert (await communicator.receive_json_from(timeout=3))["type"] == "notification"
        await asend(alice, source_key="event:1")
        assert await communicator.receive_nothing(timeout=wait())
        await communicator.disconnect()

    run(scenario)


def test_nothing_is_pushed_if_the_transaction_rolls_back(layer, alice):
    from django.db import transaction

    def send_then_fail():
        with transaction.atomic():
            send(alice)
            raise RuntimeError("rolled back")

    headers = headers_for(alice)

    async def scenario():
        communicator = socket(headers)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=2)
        with pytest.raises(RuntimeError):
            await database_sync_to_async(send_then_fail)()
        assert await communicator.receive_nothing(timeout=wait())
        await communicator.disconnect()

    run(scenario)


# --- a broken channel layer never breaks the write -------------------------------------------------

def test_an_unreachable_redis_does_not_break_notification_send(settings, alice):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer("redis://127.0.0.1:1/0")}
    notification = send(alice, email=True)
    assert Notification.objects.filter(pk=notification.pk).exists()
    notification.refresh_from_db()
    assert notification.emailed_at is not None  # the email was still queued (and sent, eagerly)


def test_a_hanging_layer_gives_up_after_the_timeout(settings, alice, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    async def hang(*args, **kwargs):
        await asyncio.sleep(30)

    monkeypatch.setattr(get_channel_layer(), "group_send", hang)
    monkeypatch.setattr(consumers_notifications, "PUSH_TIMEOUT_SECONDS", 0.1)
    notification = send(alice)
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert consumers_notifications.notification_push(notification) is False
