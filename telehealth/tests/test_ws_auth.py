"""Websocket credentials stay out of URLs: a JWT in the Authorization header or the subprotocol,
or a one-use 60-second ticket in ?ticket= (telehealth.ws_auth). A JWT in ?token= is refused (it
would end up in access logs). Sockets with their own credential need no Origin; a cookie
session still does, and a bad credential never falls back to the session."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from telehealth import chat as chats
from telehealth import ws_auth
from telehealth.tests.test_chat_consumer import ORIGIN, receive_until, run, session_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


def app():
    from config.asgi import application

    return application


def bearer_header(token):
    return (b"authorization", f"Bearer {token}".encode())


def ticket_for(user):
    response = Client().post("/api/v1/ws-ticket", HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expires_in"] == ws_auth.ticket_ttl()
    return body["ticket"]


async def connects(path, headers=(), subprotocols=None):
    comm = WebsocketCommunicator(app(), path, headers=list(headers), subprotocols=subprotocols)
    connected, detail = await comm.connect(timeout=10)
    if connected:
        frame, _ = await receive_until(comm, "presence") if path.startswith("/ws/chats/") else (None, None)
        await comm.disconnect()
    return connected, detail


def test_a_jwt_in_the_authorization_header_needs_no_origin(layer, chat, alice):
    path = f"/ws/chats/{chat.pk}/"
    assert run(connects, path, [bearer_header(issue_pair(alice)["access"])])[0]
    assert run(connects, path, [bearer_header("not-a-jwt")]) == (False, 4403)


def test_a_jwt_in_the_subprotocol_is_answered_without_echoing_it(layer, chat, alice):
    token = issue_pair(alice)["access"]
    connected, subprotocol = run(connects, f"/ws/chats/{chat.pk}/", [], [ws_auth.SUBPROTOCOL, token])
    assert connected and subprotocol == ws_auth.SUBPROTOCOL


def test_a_ticket_opens_one_socket_once(layer, chat, alice):
    ticket = ticket_for(alice)
    path = f"/ws/chats/{chat.pk}/?ticket={ticket}"
    assert run(connects, path)[0]
    assert run(connects, path) == (False, 4403)  # used


def test_token_in_the_query_takes_a_ticket_but_never_a_jwt(layer, chat, alice):
    assert run(connects, f"/ws/chats/{chat.pk}/?token={ticket_for(alice)}")[0]
    assert run(connects, f"/ws/chats/{chat.pk}/?token={issue_pair(alice)['access']}", [ORIGIN]) == (False, 4403)


def test_an_expired_ticket_is_refused(layer, chat, alice, settings):
    settings.WS_TICKET_TTL_SECONDS = 1
    ticket = ticket_for(alice)
    import time

    time.sleep(1.2)
    assert run(connects, f"/ws/chats/{chat.pk}/?ticket={ticket}") == (False, 4403)


def test_tickets_and_headers_work_for_the_notification_and_call_sockets(layer, alice, carol):
    from telehealth.tests.test_calls_consumer import make_appointment

    connected, _ = run(connects, f"/ws/notifications/?ticket={ticket_for(alice)}")
    assert connected
    appointment = make_appointment(alice, carol)

    async def call_welcome(headers, path):
        comm = WebsocketCommunicator(app(), path, headers=headers)
        assert (await comm.connect(timeout=10))[0]
        frame = await comm.receive_json_from(timeout=3)
        await comm.disconnect()
        return frame

    assert run(call_welcome, [bearer_header(issue_pair(carol)["access"])],
               f"/ws/calls/{appointment.room_id}/")["type"] == "welcome"
    assert run(call_welcome, [], f"/ws/calls/{appointment.room_id}/?ticket={ticket_for(alice)}")["type"] == "welcome"


def test_tickets_need_a_signed_in_caller():
    assert Client().post("/api/v1/ws-ticket").status_code == 401


def test_a_cross_site_page_cannot_ride_the_session_by_offering_the_subprotocol(layer, chat, alice):
    """Offering ``haven.jwt`` skips the Origin check, so it must also drop the session: a foreign
    page with the victim's cookie and a made-up token gets an anonymous socket."""
    cookie = run(database_sync_to_async(session_headers), alice)[1]
    headers = [(b"origin", b"http://evil.example"), cookie]
    assert run(connects, f"/ws/chats/{chat.pk}/", headers, [ws_auth.SUBPROTOCOL, "made-up"]) == (False, 4403)


def test_a_cookie_session_still_needs_its_origin(layer, chat, alice):
    cookie = run(database_sync_to_async(session_headers), alice)[1]
    connected, _ = run(connects, f"/ws/chats/{chat.pk}/", [(b"origin", b"http://evil.example"), cookie])
    assert not connected
    connected, _ = run(connects, f"/ws/chats/{chat.pk}/", [cookie])
    assert not connected


def test_the_spec_path_takes_a_ticket_in_token_and_needs_no_origin(layer, chat, alice, bob):
    """/api/v1/chats/ws/{chat_id}?token= (the API specification's path) is the chat socket: a
    mobile app with a ticket, or its JWT in the header, joins without a browser Origin."""

    async def first_frames(path, headers=()):
        comm = WebsocketCommunicator(app(), path, headers=list(headers))
        connected, _ = await comm.connect(timeout=10)
        assert connected
        frame, _ = await receive_until(comm, "presence")
        await comm.send_json_to({"type": "message", "client_id": "m1", "body": "from the app"})
        ack, _ = await receive_until(comm, "ack")
        await comm.disconnect()
        return frame, ack

    frame, ack = run(first_frames, f"/api/v1/chats/ws/{chat.pk}?token={ticket_for(alice)}")
    assert frame["type"] == "presence" and ack["type"] == "ack"
    assert run(connects, f"/api/v1/chats/ws/{chat.pk}", [bearer_header(issue_pair(alice)["access"])])[0]
    assert run(connects, f"/api/v1/chats/ws/{chat.pk}?token={ticket_for(bob)}") == (False, 4403)  # not his


@pytest.mark.parametrize("path", ["/api/v1/chats/ws/not-a-uuid", "/ws/nothing-here/", "/api/v1/ai-assistant/ws/x",
                                  "/"])
def test_an_unknown_socket_path_is_refused_cleanly(layer, alice, path):
    """No route: the handshake is refused with 4404 (before: ValueError, an HTTP 500), with a
    credential or a same-origin cookie alike."""
    assert run(connects, path, [bearer_header(issue_pair(alice)["access"])]) == (False, 4404)
    assert run(connects, path, [ORIGIN]) == (False, 4404)
