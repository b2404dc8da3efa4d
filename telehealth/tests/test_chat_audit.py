"""Audit of chat reads and changes: every read of messages by someone other than the patient's own
account (the conversation page, an API page, a websocket resync, a file download) writes one
``chat.viewed``/``chat.file_viewed`` event naming the reader, the patient and what was read;
messages pushed live are audited once per socket and window, not per frame; sending and
archiving are audited for everyone."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from conftest import login_verified, png_upload
from telehealth import chat as chats
from telehealth import consumers
from telehealth.tests.test_chat_consumer import open_comm, receive_until

pytestmark = pytest.mark.django_db


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def say(chat, sender, *bodies):
    for body in bodies:
        chats.message_send(sender=sender, chat=chat, client_id=f"{sender.pk}-{body}", body=body)


def reads(action="chat.viewed"):
    return list(AuditEvent.objects.filter(action=action).order_by("created_at"))


def assert_read_of(event, *, actor, chat, via, seq_from, seq_to, count):
    assert event.actor_id == actor.pk
    assert (event.target_type, event.target_id) == ("clinic.patient", str(chat.patient_id))
    assert event.data["chat"] == str(chat.pk) and event.data["via"] == via
    assert (event.data["seq_from"], event.data["seq_to"], event.data["count"]) == (seq_from, seq_to, count)


# --- the conversation page and the API ----------------------------------------------------------------

@pytest.mark.parametrize("who,status,audited", [
    ("alice", 200, False),  # the patient reading her own conversation: not audited (as for wellness)
    ("grace", 200, True), ("carol", 200, True),
    ("bob", 404, False), ("dave", 404, False), ("hana", 404, False), ("ada", 404, False),
])
def test_the_conversation_page_audits_reads_by_others(request, chat, alice, carol, who, status, audited):
    say(chat, alice, "one", "two")
    say(chat, carol, "three")
    user = request.getfixturevalue(who)
    assert login_verified(Client(), user).get(f"/chats/{chat.pk}/").status_code == status
    events = reads()
    assert len(events) == (1 if audited else 0)
    if audited:
        assert_read_of(events[0], actor=user, chat=chat, via="page", seq_from=1, seq_to=3, count=3)


def test_the_page_of_an_empty_conversation_reads_nothing(chat, carol):
    assert login_verified(Client(), carol).get(f"/chats/{chat.pk}/").status_code == 200
    assert reads() == []


def test_every_page_view_is_one_event(chat, alice, carol):
    say(chat, alice, "one")
    client = login_verified(Client(), carol)
    client.get(f"/chats/{chat.pk}/")
    client.get(f"/chats/{chat.pk}/")
    assert len(reads()) == 2


@pytest.mark.parametrize("who,status,audited", [
    ("alice", 200, False), ("grace", 200, True), ("carol", 200, True),
    ("bob", 404, False), ("dave", 404, False), ("hana", 404, False), ("ada", 404, False),
])
def test_the_messages_api_audits_what_was_returned(request, chat, alice, who, status, audited):
    say(chat, alice, *[f"m{i}" for i in range(1, 6)])
    user = request.getfixturevalue(who)
    response = api(user).get(f"/api/v1/chats/{chat.pk}/messages?after=2&limit=2")
    assert response.status_code == status
    events = reads()
    assert len(events) == (1 if audited else 0)
    if audited:
        assert [m["seq"] for m in response.json()["messages"]] == [3, 4]
        assert_read_of(events[0], actor=user, chat=chat, via="api", seq_from=3, seq_to=4, count=2)


def test_a_search_records_exactly_which_messages_it_returned(chat, alice, carol):
    say(chat, alice, "headache again", "fine otherwise", "the headache is worse")
    found = api(carol).get(f"/api/v1/chats/{chat.pk}/messages?q=headache").json()["messages"]
    assert [m["seq"] for m in found] == [1, 3]
    (event,) = reads()
    assert_read_of(event, actor=carol, chat=chat, via="api", seq_from=1, seq_to=3, count=2)
    assert event.data["seqs"] == [1, 3]
    # The search words themselves are the patient's words: they are not copied into the log.
    assert "headache" not in str(event.data)


def test_an_api_page_with_no_messages_is_not_an_event(chat, alice, carol):
    say(chat, alice, "one")
    assert api(carol).get(f"/api/v1/chats/{chat.pk}/messages?after=1").json()["messages"] == []
    assert reads() == []


# --- files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who,status,audited", [
    ("alice", 200, False), ("grace", 200, True), ("carol", 200, True),
    ("bob", 404, False), ("dave", 404, False), ("hana", 404, False), ("ada", 404, False),
])
def test_file_downloads_are_audited(request, chat, alice, who, status, audited):
    message, _created = chats.message_send(sender=alice, chat=chat, client_id="f", kind="file", upload=png_upload())
    user = request.getfixturevalue(who)
    response = api(user).get(f"/api/v1/messages/{message.pk}/file")
    assert response.status_code == status
    events = reads("chat.file_viewed")
    assert len(events) == (1 if audited else 0)
    if audited:
        event = events[0]
        assert event.actor_id == user.pk and event.target_id == str(alice.patient_record.pk)
        assert event.data == {"via": "api", "chat": str(chat.pk), "message": str(message.pk), "seq": 1,
                              "kind": "file"}


# --- previews in the chat lists ------------------------------------------------------------------------

@pytest.mark.parametrize("who,sees,audited", [
    ("alice", True, False),  # her own conversation
    ("grace", True, True), ("carol", True, True),
    ("bob", False, False), ("dave", False, False), ("hana", False, False), ("ada", False, False),
])
def test_list_previews_of_a_message_are_audited(request, chat, alice, carol, who, sees, audited):
    say(chat, carol, "how did you sleep?")
    user = request.getfixturevalue(who)
    page = login_verified(Client(), user).get("/chats/").content.decode()
    listed = api(user).get("/api/v1/chats").json()
    assert ("how did you sleep?" in page) is sees and (len(listed) == 1) is sees
    events = reads()
    assert len(events) == (2 if audited else 0)
    for event, via in zip(events, ("list", "api-list")):
        assert event.data["preview"] is True
        assert_read_of(event, actor=user, chat=chat, via=via, seq_from=1, seq_to=1, count=1)


def test_the_api_chat_detail_preview_is_audited(chat, alice, carol):
    say(chat, alice, "the rash is back")
    assert api(carol).get(f"/api/v1/chats/{chat.pk}").json()["last_body"] == "the rash is back"
    [event] = reads()
    assert_read_of(event, actor=carol, chat=chat, via="api", seq_from=1, seq_to=1, count=1)


def test_previews_without_text_are_not_reads(chat, alice, carol):
    client = login_verified(Client(), carol)
    assert "No messages yet" in client.get("/chats/").content.decode()
    chats.message_send(sender=alice, chat=chat, client_id="photo", kind="file", upload=png_upload())
    assert ">File<" in client.get("/chats/").content.decode().replace("\n", "")
    assert reads() == []


def test_anonymous_reads_are_refused_and_not_audited(chat, alice):
    message, _created = chats.message_send(sender=alice, chat=chat, client_id="f", kind="file", upload=png_upload())
    assert Client().get(f"/api/v1/chats/{chat.pk}/messages").status_code == 401
    assert Client().get(f"/api/v1/messages/{message.pk}/file").status_code == 401
    assert Client().get(f"/chats/{chat.pk}/").status_code == 302
    assert AuditEvent.objects.filter(action__in=["chat.viewed", "chat.file_viewed"]).count() == 0


# --- changes --------------------------------------------------------------------------------------------

def test_sending_is_audited_once_per_stored_message(chat, alice, grace):
    message, created = chats.message_send(sender=grace, chat=chat, client_id="x", body="for my daughter")
    again, created_again = chats.message_send(sender=grace, chat=chat, client_id="x", body="for my daughter")
    assert (created, created_again) == (True, False) and again.pk == message.pk
    (event,) = AuditEvent.objects.filter(action="chat.message_sent")
    assert event.actor_id == grace.pk and event.target_id == str(alice.patient_record.pk)
    assert event.data == {"chat": str(chat.pk), "message": str(message.pk), "seq": 1, "kind": "text",
                          "role": "family"}
    assert "daughter" not in str(event.data)


def test_a_refused_send_is_not_audited(chat, bob):
    from core.errors import NotFound

    with pytest.raises(NotFound):
        chats.message_send(sender=bob, chat=chat, client_id="x", body="hi")
    assert not AuditEvent.objects.filter(action="chat.message_sent").exists()


def test_archiving_and_restoring_are_audited(chat, carol, alice):
    client = login_verified(Client(), carol)
    assert client.post(f"/chats/{chat.pk}/archive/", {"archived": "1"}).status_code == 302
    assert client.post(f"/chats/{chat.pk}/archive/", {"archived": "0"}).status_code == 302
    events = list(AuditEvent.objects.filter(action__in=["chat.archived", "chat.restored"]).order_by("created_at"))
    assert [(e.action, e.actor_id, e.target_id, e.data["side"]) for e in events] == [
        ("chat.archived", carol.pk, str(alice.patient_record.pk), "doctor"),
        ("chat.restored", carol.pk, str(alice.patient_record.pk), "doctor")]


def test_marking_urgent_is_audited(chat, alice):
    chats.chat_mark_urgent(actor=alice, chat=chat, urgent=True)
    (event,) = AuditEvent.objects.filter(action="chat.urgent_marked")
    assert event.actor_id == alice.pk


# --- the websocket --------------------------------------------------------------------------------------

def run(coro_fn, *args):
    return async_to_sync(coro_fn)(*args)


@database_sync_to_async
def _reads(action="chat.viewed"):
    return reads(action)


@pytest.mark.django_db(transaction=True)
def test_a_resync_is_audited_when_it_returns_messages(layer, chat, alice, carol):  # noqa: F811
    say(chat, alice, "one", "two", "three")

    async def scenario():
        comm = await open_comm(chat, carol)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "resync", "after": 1})
        frame, _seen = await receive_until(comm, "messages")
        assert [m["seq"] for m in frame["messages"]] == [2, 3]
        # Caught up: a resync with nothing new reads nothing.
        await comm.send_json_to({"type": "resync", "after": 3})
        frame, _seen = await receive_until(comm, "messages")
        assert frame["messages"] == []
        await comm.disconnect()

    run(scenario)
    (event,) = reads()
    assert_read_of(event, actor=carol, chat=chat, via="resync", seq_from=2, seq_to=3, count=2)


@pytest.mark.django_db(transaction=True)
def test_the_patient_resyncing_her_own_chat_is_not_audited(layer, chat, alice, carol):  # noqa: F811
    say(chat, carol, "one")

    async def scenario():
        comm = await open_comm(chat, alice)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "resync", "after": 0})
        frame, _seen = await receive_until(comm, "messages")
        assert len(frame["messages"]) == 1
        await comm.disconnect()

    run(scenario)
    assert reads() == []


@pytest.mark.django_db(transaction=True)
def test_live_messages_are_audited_once_per_socket_not_per_frame(layer, chat, alice, grace, carol):  # noqa: F811
    async def scenario():
        doctor = await open_comm(chat, carol)
        assert (await doctor.connect())[0]
        patient = await open_comm(chat, alice)
        assert (await patient.connect())[0]
        for body in ("one", "two", "three"):
            await patient.send_json_to({"type": "message", "client_id": body, "body": body})
            await receive_until(patient, "ack")
            await receive_until(doctor, "message")
        # The doctor's own message, echoed back to the doctor, is not a read.
        await doctor.send_json_to({"type": "message", "client_id": "reply", "body": "noted"})
        await receive_until(doctor, "ack")
        await receive_until(doctor, "message")
        assert await _reads() == []  # nothing per frame
        await doctor.disconnect()
        await patient.disconnect()

    run(scenario)
    # One event for the doctor's socket, covering what was pushed to it; Alice's own socket got
    # the doctor's reply live, but it is her own record.
    (event,) = reads()
    assert_read_of(event, actor=carol, chat=chat, via="live", seq_from=1, seq_to=3, count=3)


@pytest.mark.django_db(transaction=True)
def test_a_long_lived_socket_is_audited_each_window(layer, chat, alice, carol, monkeypatch):  # noqa: F811
    monkeypatch.setattr(consumers, "LIVE_AUDIT_WINDOW", 0.2)

    async def scenario():
        import asyncio

        doctor = await open_comm(chat, carol)
        assert (await doctor.connect())[0]
        await database_sync_to_async(say)(chat, alice, "one")
        await receive_until(doctor, "message")
        # The window closes by itself while the socket stays open: wait for its event.
        for _attempt in range(100):
            if await _reads():
                break
            await asyncio.sleep(0.05)
        (first,) = await _reads()
        assert (first.data["seq_from"], first.data["seq_to"]) == (1, 1)
        await database_sync_to_async(say)(chat, alice, "two", "three")
        await receive_until(doctor, "message")
        await receive_until(doctor, "message")
        await doctor.disconnect()

    run(scenario)
    events = reads()
    assert {e.data["via"] for e in events} == {"live"} and all(e.actor_id == carol.pk for e in events)
    # Every pushed message is covered by exactly one event (how the later two split depends on timing).
    covered = [seq for e in events for seq in range(e.data["seq_from"], e.data["seq_to"] + 1)]
    assert sorted(covered) == [1, 2, 3]
