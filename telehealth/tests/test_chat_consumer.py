"""The chat websocket, through the real ASGI application (origin check, session and token auth,
routing), on the in-memory channel layer and on Redis.

The scenarios are async functions run with async_to_sync (no asyncio plugin needed); the database
is real (transaction=True) because the consumer reads it from worker threads.
"""

import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.tokens import issue_pair
from conftest import login_verified
from telehealth import chat as chats
from telehealth.consumers import MAX_FRAME
from telehealth.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


def app():
    from config.asgi import application

    return application


def session_headers(user):
    client = login_verified(Client(), user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def open_comm(chat, user=None, *, token=None, headers=None):
    path = f"/ws/chats/{chat.pk}/"
    if headers is None:
        headers = await database_sync_to_async(session_headers)(user) if user is not None else [ORIGIN]
    if token:  # API clients send the JWT in a header, never in the URL (telehealth.ws_auth)
        headers = [*headers, (b"authorization", f"Bearer {token}".encode())]
    return WebsocketCommunicator(app(), path, headers=headers)


async def receive_until(comm, kind, timeout=3):
    """Frames up to and including the first of type ``kind`` (presence frames come and go)."""
    seen = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        seen.append(frame)
        if frame["type"] == kind:
            return frame, seen


def run(coro_fn, *args):
    return async_to_sync(coro_fn)(*args)


# --- who may connect ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "grace", "carol"])
def test_it_accepts_members_with_their_session(layer, chat, request, who):
    user = request.getfixturevalue(who)

    async def scenario():
        comm = await open_comm(chat, user)
        connected, _ = await comm.connect()
        assert connected
        presence, _ = await receive_until(comm, "presence")
        assert str(user.pk) in presence["online"]
        await comm.disconnect()

    run(scenario)


@pytest.mark.parametrize("who", ["anonymous", "bob", "dave", "ada", "hana"])
def test_it_rejects_non_members(layer, chat, request, who):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    async def scenario():
        comm = await open_comm(chat, user)
        connected, code = await comm.connect()
        assert not connected
        assert code == 4403

    run(scenario)


def test_it_rejects_a_missing_chat(layer, chat, alice):
    async def scenario():
        headers = await database_sync_to_async(session_headers)(alice)
        comm = WebsocketCommunicator(app(), f"/ws/chats/{uuid.uuid4()}/", headers=headers)
        connected, code = await comm.connect()
        assert not connected and code == 4403

    run(scenario)


def test_it_rejects_a_foreign_origin(layer, chat, alice):
    async def scenario():
        headers = [(b"origin", b"http://evil.example")] + (await database_sync_to_async(session_headers)(alice))[1:]
        comm = await open_comm(chat, headers=headers)
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_it_rejects_a_doctor_session_without_second_factor(layer, chat, carol):
    client = Client()
    client.force_login(carol)

    async def scenario():
        comm = await open_comm(chat, headers=[ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())])
        connected, code = await comm.connect()
        assert not connected and code == 4403

    run(scenario)


def test_it_accepts_a_jwt_and_refuses_a_bad_one(layer, chat, carol, bob):
    good = issue_pair(carol)["access"]
    bad_tokens = ("not-a-token", issue_pair(carol)["refresh"], issue_pair(bob)["access"])  # issuing writes a row

    async def scenario():
        comm = await open_comm(chat, token=good, headers=[ORIGIN])
        connected, _ = await comm.connect()
        assert connected
        await comm.disconnect()
        for token in bad_tokens:
            comm = await open_comm(chat, token=token, headers=[ORIGIN])
            connected, code = await comm.connect()
            assert not connected and code == 4403

    run(scenario)


# --- frames ----------------------------------------------------------------------------------------------

def test_it_answers_bad_frames_without_closing(layer, chat, alice):
    async def scenario():
        comm = await open_comm(chat, alice)
        assert (await comm.connect())[0]
        bad = ["not json", json.dumps([1, 2]), json.dumps({"type": "shout"}),
               json.dumps({"type": "message", "client_id": "a", "body": "x" * (MAX_FRAME + 1)}),
               json.dumps({"type": "message", "client_id": 5, "body": "hi"}),
               json.dumps({"type": "message", "client_id": "x" * 65, "body": "hi"}),
               json.dumps({"type": "message", "client_id": "empty", "body": "   "}),
               json.dumps({"type": "read", "seq": "three"}),
               json.dumps({"type": "resync", "after": -1})]
        codes = []
        for text in bad:
            await comm.send_to(text_data=text)
            frame, _ = await receive_until(comm, "error")
            codes.append(frame["code"])
        assert codes == ["bad_json", "bad_type", "bad_type", "too_large", "invalid", "invalid", "invalid",
                         "invalid", "invalid"]
        # Still open and working.
        await comm.send_json_to({"type": "message", "client_id": "ok-1", "body": "still here"})
        ack, _ = await receive_until(comm, "ack")
        assert ack["message"]["body"] == "still here"
        await comm.disconnect()

    run(scenario)
    assert Message.objects.count() == 1


def test_it_rate_limits_sends(layer, chat, alice, settings):
    from telehealth import consumers

    async def scenario():
        comm = await open_comm(chat, alice)
        assert (await comm.connect())[0]
        for i in range(consumers.RATE_MESSAGES):
            await comm.send_json_to({"type": "message", "client_id": f"c{i}", "body": f"m{i}"})
            await receive_until(comm, "ack")
        await comm.send_json_to({"type": "message", "client_id": "over", "body": "too many"})
        frame, _ = await receive_until(comm, "error")
        assert frame["code"] == "rate_limited" and frame["client_id"] == "over"
        await comm.disconnect()

    run(scenario)
    assert Message.objects.count() == consumers.RATE_MESSAGES


# --- live delivery, equivalence with REST, duplicates, resync ------------------------------------------------

def test_live_client_sees_what_a_fresh_load_shows(layer, chat, alice, grace, carol):
    """Messages sent over the socket and over REST reach a live listener once each, in order, and
    equal what GET /chats/{id}/messages returns afterwards."""
    api = Client()
    token = issue_pair(grace)["access"]

    async def scenario():
        listener = await open_comm(chat, carol)
        sender = await open_comm(chat, alice)
        assert (await listener.connect())[0]
        assert (await sender.connect())[0]
        received = []
        await sender.send_json_to({"type": "message", "client_id": "a1", "body": "Hello doctor"})
        await receive_until(sender, "ack")
        frame, _ = await receive_until(listener, "message")
        received.append(frame["message"])

        def post_over_rest():
            return api.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "g1",
                                                 "body": "Her mother here"},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        response = await database_sync_to_async(post_over_rest)()
        assert response.status_code == 201
        frame, _ = await receive_until(listener, "message")
        received.append(frame["message"])
        # A typing frame reaches others, not the typist.
        await sender.send_json_to({"type": "typing"})
        typing, _ = await receive_until(listener, "typing")
        assert typing["user_id"] == str(alice.pk)
        await listener.disconnect()
        await sender.disconnect()
        return received

    received = run(scenario)
    history = Client().get(f"/api/v1/chats/{chat.pk}/messages",
                           HTTP_AUTHORIZATION=f"Bearer {issue_pair(carol)['access']}").json()["messages"]
    assert [m["seq"] for m in received] == [1, 2]
    assert received == [{**m, "created_at": m["created_at"]} for m in _as_payloads(history)]
    assert history[1]["on_behalf"] is True and history[1]["sender_role"] == "family"


def _as_payloads(history):
    """The API's datetimes and UUIDs are serialised by pydantic; bring them to the socket's form."""
    out = []
    for m in history:
        m = dict(m)
        message = Message.objects.get(pk=m["id"])
        m["created_at"] = message.created_at.isoformat()
        out.append(m)
    return out


def test_a_retried_send_is_stored_once(layer, chat, alice, carol):
    async def scenario():
        listener = await open_comm(chat, carol)
        sender = await open_comm(chat, alice)
        assert (await listener.connect())[0]
        assert (await sender.connect())[0]
        first, second = [], []
        for bucket in (first, second):
            await sender.send_json_to({"type": "message", "client_id": "same-id", "body": "once"})
            ack, _ = await receive_until(sender, "ack")
            bucket.append(ack["message"]["id"])
        assert first == second
        frame, _ = await receive_until(listener, "message")
        assert frame["message"]["client_id"] == "same-id"
        # The retry was not broadcast again.
        assert await listener.receive_nothing(timeout=0.3)
        await listener.disconnect()
        await sender.disconnect()

    run(scenario)
    assert Message.objects.filter(chat=chat, client_id="same-id").count() == 1


def test_a_reconnecting_client_resyncs_after_its_last_seq(layer, chat, alice, carol):
    chats.message_send(sender=alice, chat=chat, client_id="m1", body="one")

    async def scenario():
        comm = await open_comm(chat, carol)
        assert (await comm.connect())[0]
        await comm.disconnect()
        # While Carol is away, two more messages arrive (REST, another device...).
        await database_sync_to_async(chats.message_send)(sender=alice, chat=chat, client_id="m2", body="two")
        await database_sync_to_async(chats.message_send)(sender=alice, chat=chat, client_id="m3", body="three")
        comm = await open_comm(chat, carol)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "resync", "after": 1})
        frame, _ = await receive_until(comm, "messages")
        await comm.disconnect()
        return frame

    frame = run(scenario)
    assert [m["body"] for m in frame["messages"]] == ["two", "three"]
    assert frame["more"] is False
    rest = Client().get(f"/api/v1/chats/{chat.pk}/messages?after=1",
                        HTTP_AUTHORIZATION=f"Bearer {issue_pair(carol)['access']}").json()
    assert [m["seq"] for m in rest["messages"]] == [2, 3]


def test_read_receipts_reach_the_sender(layer, chat, alice, carol):
    async def scenario():
        sender = await open_comm(chat, alice)
        reader = await open_comm(chat, carol)
        assert (await sender.connect())[0]
        assert (await reader.connect())[0]
        await sender.send_json_to({"type": "message", "client_id": "r1", "body": "did you see?"})
        ack, _ = await receive_until(sender, "ack")
        await reader.send_json_to({"type": "read", "seq": ack["message"]["seq"]})
        receipt, _ = await receive_until(sender, "read")
        await sender.disconnect()
        await reader.disconnect()
        return receipt

    receipt = run(scenario)
    assert receipt == {"type": "read", "user_id": str(carol.pk), "seq": 1}


def test_presence_is_broadcast_on_connect_and_disconnect(layer, chat, alice, carol):
    async def scenario():
        doctor = await open_comm(chat, carol)
        assert (await doctor.connect())[0]
        await receive_until(doctor, "presence")
        patient = await open_comm(chat, alice)
        assert (await patient.connect())[0]
        joined, _ = await receive_until(doctor, "presence")
        assert set(joined["online"]) == {str(alice.pk), str(carol.pk)}
        await patient.disconnect()
        left, _ = await receive_until(doctor, "presence")
        assert left["online"] == [str(carol.pk)]
        await doctor.disconnect()

    run(scenario)


def test_a_failing_group_discard_still_takes_the_person_offline(layer, chat, alice, carol, monkeypatch):
    """Thousands of sockets closing at once can exhaust the channel layer's Redis connections: the
    person must still leave the presence list (else they would never be notified offline)."""
    async def scenario():
        doctor = await open_comm(chat, carol)
        assert (await doctor.connect())[0]
        await receive_until(doctor, "presence")
        patient = await open_comm(chat, alice)
        assert (await patient.connect())[0]
        await receive_until(doctor, "presence")

        from channels.layers import get_channel_layer

        layer_ = get_channel_layer()
        original = layer_.group_discard

        async def exhausted(group, channel):
            raise ConnectionError("Too many connections")

        monkeypatch.setattr(layer_, "group_discard", exhausted)
        await patient.disconnect()
        left, _ = await receive_until(doctor, "presence")
        assert left["online"] == [str(carol.pk)]
        assert await database_sync_to_async(chats.presence_online)(chat.pk) == [str(carol.pk)]
        monkeypatch.setattr(layer_, "group_discard", original)
        await doctor.disconnect()

    run(scenario)


def test_an_open_socket_keeps_its_presence_fresh(layer, chat, alice, monkeypatch):
    import asyncio

    from telehealth import presence

    monkeypatch.setattr(chats, "PRESENCE_HEARTBEAT_S", 0.05)

    async def scenario():
        comm = await open_comm(chat, alice)
        assert (await comm.connect())[0]
        await receive_until(comm, "presence")
        key = f"chat:presence:{chat.pk}"
        first = await database_sync_to_async(presence.read)(key)
        await asyncio.sleep(0.4)
        later = await database_sync_to_async(presence.read)(key)
        assert list(first) == list(later)  # the same socket ...
        assert next(iter(later.values()))[1] > next(iter(first.values()))[1]  # ... refreshed
        await comm.disconnect()

    run(scenario)


def test_members_online_are_not_notified_of_new_messages(layer, chat, alice, grace, carol):
    from telehealth.models import Notification

    async def scenario():
        doctor = await open_comm(chat, carol)
        assert (await doctor.connect())[0]
        sender = await open_comm(chat, alice)
        assert (await sender.connect())[0]
        await sender.send_json_to({"type": "message", "client_id": "n1", "body": "are you there?"})
        await receive_until(sender, "ack")
        await doctor.disconnect()
        await sender.disconnect()

    run(scenario)
    assert set(Notification.objects.filter(kind="chat.message").values_list("recipient", flat=True)) == {grace.pk}
