"""The unread-messages badge on the navigation's "Messages" link: rendered with the page (one COUNT,
whatever the number of chats) and kept current over /ws/notifications/: a message sent through
the service, the REST API or the chat socket raises the count of the chat's other members, and
reading a chat lowers the reader's count on all their open sockets. Nobody outside the chat hears
anything.

Socket scenarios run on the in-memory channel layer and on Redis (skipped without Redis locally,
required in CI), through the real ASGI application (origin check, session cookie).
"""

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from conftest import login_verified
from core.channel_layer import redis_channel_layer
from telehealth import chat as chats
from telehealth.consumers_notifications import chat_unread_push
from telehealth.tests.test_notifications_ws import run
from tests.factories import DoctorFactory, PatientUserFactory

ORIGIN = (b"origin", b"http://testserver")
PATH = "/ws/notifications/"
NOTHING = 0.3  # seconds to wait for a frame that must not come


# --- the count ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_total_counts_messages_from_others_after_the_read_pointer(chat, alice, grace, carol, bob, dave):
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="one")
    chats.message_send(sender=carol, chat=chat, client_id="c2", body="two")
    chats.message_send(sender=grace, chat=chat, client_id="g1", body="from mum")
    # Sending moves the sender's own pointer: Grace has read up to her message.
    assert [chats.chat_unread_total(u) for u in (alice, grace, carol, bob, dave)] == [3, 0, 1, 0, 0]

    chats.chat_mark_read(user=alice, chat=chat, seq=2)
    assert chats.chat_unread_total(alice) == 1
    chats.chat_archive(actor=alice, chat=chat)  # archived chats still count
    assert chats.chat_unread_total(alice) == 1
    chats.chat_mark_read(user=alice, chat=chat, seq=3)
    assert chats.chat_unread_total(alice) == 0


@pytest.mark.django_db
def test_the_total_takes_the_same_queries_for_one_chat_or_many(alice, carol, django_assert_num_queries):
    def add_chat_with_messages(n):
        patient_user = PatientUserFactory()
        patient = patient_user.patient_record
        CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=patient)
        chat = chats.chat_open(actor=None, patient=patient, doctor=carol.doctor_profile)
        for i in range(n):
            chats.message_send(sender=patient_user, chat=chat, client_id=f"m{i}", body="hi")

    add_chat_with_messages(1)
    carol_fresh = type(carol).objects.get(pk=carol.pk)
    with django_assert_num_queries(3) as one:  # doctor profile, approved application, the COUNT
        assert chats.chat_unread_total(carol_fresh) == 1
    for _ in range(4):
        add_chat_with_messages(2)
    carol_fresh = type(carol).objects.get(pk=carol.pk)
    with django_assert_num_queries(len(one.captured_queries)):
        assert chats.chat_unread_total(carol_fresh) == 9
    with django_assert_num_queries(1):  # a patient: just the COUNT
        assert chats.chat_unread_total(alice) == 0


# --- the page ----------------------------------------------------------------------------------------

def _messages_link(html: str) -> str:
    links = re.findall(r'<a href="/chats/"[^>]*>.*?</a>', html, flags=re.S)
    assert len(links) == 1, links
    return links[0]


@pytest.mark.django_db
def test_the_messages_link_shows_the_unread_count_on_load(chat, alice, grace, carol):
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="one")
    chats.message_send(sender=carol, chat=chat, client_id="c2", body="two")
    chats.message_send(sender=carol, chat=chat, client_id="c3", body="three")

    link = _messages_link(login_verified(Client(), alice).get("/dashboard/").content.decode())
    assert "data-chat-unread" in link
    assert '<span class="count-badge">3<span class="visually-hidden"> unread</span></span>' in link
    # Grace acts for Alice and has her own read pointer; Carol wrote them all.
    assert '<span class="count-badge">3<' in _messages_link(login_verified(Client(), grace).get("/dashboard/").content.decode())
    carol_link = _messages_link(login_verified(Client(), carol).get("/dashboard/").content.decode())
    assert "data-chat-unread" in carol_link and "count-badge" not in carol_link

    chats.chat_mark_read(user=alice, chat=chat, seq=3)
    link = _messages_link(login_verified(Client(), alice).get("/chats/").content.decode())
    assert "data-chat-unread" in link and "count-badge" not in link  # no badge at zero
    assert 'aria-current="page"' in link


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["bob", "dave"])
def test_people_outside_the_chat_see_no_count_from_it(chat, carol, request, who):
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="for Alice")
    html = login_verified(Client(), request.getfixturevalue(who)).get("/dashboard/").content.decode()
    link = _messages_link(html)
    assert "data-chat-unread" in link and "count-badge" not in link


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["hana", "ada"])
def test_staff_and_admins_have_no_messages_link(chat, carol, request, who):
    html = login_verified(Client(), request.getfixturevalue(who)).get("/dashboard/", follow=True).content.decode()
    assert "data-chat-unread" not in html


@pytest.mark.django_db
def test_page_queries_do_not_grow_with_chats(alice, django_assert_max_num_queries):
    client = login_verified(Client(), alice)
    client.get("/wellness/")  # warm up (sessions, first-visit writes)
    with CaptureQueriesContext(connection) as baseline:
        client.get("/wellness/")
    for i in range(5):
        doctor = DoctorFactory(email=f"doc{i}@example.com").doctor_profile
        CareTeamMember.objects.create(doctor=doctor, patient=alice.patient_record)  # a doctor writes in-team only
        doctor_chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=doctor)
        chats.message_send(sender=doctor_chat.doctor.user, chat=doctor_chat, client_id="d", body="hello")
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        body = client.get("/wellness/").content.decode()
    assert '<span class="count-badge">5<' in _messages_link(body)


# --- live over /ws/notifications/ ----------------------------------------------------------------------

def _headers(user):
    client = login_verified(Client(), user)
    return [ORIGIN, (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}="
                                f"{client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode())]


async def _connect(headers):
    """A notifications socket past its greeting (the bell's count)."""
    from config.asgi import application

    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "unread"
    return communicator


async def _next_chat_count(communicator, timeout=3) -> int:
    """The next chat_unread frame's count; other frames (a bell notification) are skipped."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == "chat_unread":
            assert set(frame) == {"type", "count"}, frame
            return frame["count"]
        assert frame["type"] == "notification", frame


async def _nothing_about_chats(communicator):
    """No chat_unread frame arrives (bell notifications may)."""
    while True:
        if await communicator.receive_nothing(timeout=NOTHING):
            return
        frame = await communicator.receive_json_from(timeout=1)
        assert frame["type"] != "chat_unread", frame


def _send_over_rest(user, chat, client_id, body):
    response = Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}").post(
        "/api/v1/messages", {"chat_id": str(chat.pk), "client_id": client_id, "body": body},
        content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def _read_over_rest(user, message_id):
    response = Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}").put(
        f"/api/v1/messages/{message_id}/read")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_the_count_follows_messages_and_reads_live(layer, chat, alice, grace, carol, bob, dave, hana, ada):
    headers = {u.email: _headers(u) for u in (alice, grace, carol, bob, dave, hana, ada)}
    asend = database_sync_to_async(chats.message_send)

    async def scenario():
        alice_tab, grace_tab = await _connect(headers[alice.email]), await _connect(headers[grace.email])
        carol_tab1, carol_tab2 = await _connect(headers[carol.email]), await _connect(headers[carol.email])
        outsiders = [await _connect(headers[u.email]) for u in (bob, dave, hana, ada)]

        # The page asks once its socket is open.
        await carol_tab1.send_json_to({"type": "chat_unread"})
        assert await _next_chat_count(carol_tab1) == 0

        # A message through the service: every member hears their own new total.
        first, _created = await asend(sender=alice, chat=chat, client_id="a1", body="I feel dizzy")
        assert await _next_chat_count(carol_tab1) == 1
        assert await _next_chat_count(carol_tab2) == 1
        assert await _next_chat_count(grace_tab) == 1
        assert await _next_chat_count(alice_tab) == 0  # her own message

        # ... and through the REST API (JWT).
        sent = await database_sync_to_async(_send_over_rest)(alice, chat, "a2", "Since this morning")
        assert await _next_chat_count(carol_tab1) == 2
        assert await _next_chat_count(carol_tab2) == 2
        assert await _next_chat_count(grace_tab) == 2
        assert await _next_chat_count(alice_tab) == 0

        # Carol reads the first one through REST: both her tabs drop to 1; nobody else hears it.
        await database_sync_to_async(_read_over_rest)(carol, str(first.pk))
        assert await _next_chat_count(carol_tab1) == 1
        assert await _next_chat_count(carol_tab2) == 1
        # Reading up to the end: 0 on both tabs.
        await database_sync_to_async(_read_over_rest)(carol, sent["id"])
        assert await _next_chat_count(carol_tab1) == 0
        assert await _next_chat_count(carol_tab2) == 0
        # Reading again changes nothing and pushes nothing.
        await database_sync_to_async(_read_over_rest)(carol, sent["id"])
        for communicator in (carol_tab1, carol_tab2, alice_tab, grace_tab, *outsiders):
            await _nothing_about_chats(communicator)

        # A chat the outsiders are not in never reaches them, even when they ask.
        for communicator in outsiders:
            await communicator.send_json_to({"type": "chat_unread"})
            assert await _next_chat_count(communicator) == 0
        for communicator in (alice_tab, grace_tab, carol_tab1, carol_tab2, *outsiders):
            await communicator.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_the_chat_socket_read_lowers_the_count_on_the_readers_other_tabs(layer, chat, alice, carol):
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="Results are in")
    notification_headers, chat_headers = _headers(alice), _headers(alice)

    async def scenario():
        from config.asgi import application

        other_tab = await _connect(notification_headers)
        await other_tab.send_json_to({"type": "chat_unread"})
        assert await _next_chat_count(other_tab) == 1

        chat_page = WebsocketCommunicator(application, f"/ws/chats/{chat.pk}/", headers=chat_headers)
        assert (await chat_page.connect())[0]
        await chat_page.send_json_to({"type": "read", "seq": 1})
        assert await _next_chat_count(other_tab) == 0
        await chat_page.disconnect()
        await other_tab.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_rolled_back_message_pushes_nothing(layer, chat, alice, carol):
    headers = _headers(carol)

    def send_then_fail():
        with transaction.atomic():
            chats.message_send(sender=alice, chat=chat, client_id="x", body="never stored")
            raise RuntimeError("rolled back")

    async def scenario():
        carol_tab = await _connect(headers)
        with pytest.raises(RuntimeError):
            await database_sync_to_async(send_then_fail)()
        await _nothing_about_chats(carol_tab)
        await carol_tab.disconnect()

    run(scenario)


@pytest.mark.django_db
def test_a_broken_channel_layer_never_breaks_sending(settings, chat, alice, carol, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer("redis://127.0.0.1:1/0")}
    with django_capture_on_commit_callbacks(execute=True):
        message, created = chats.message_send(sender=alice, chat=chat, client_id="a", body="still stored")
    assert created and chats.chat_unread_total(carol) == 1
    assert chat_unread_push([carol.pk]) == 0
