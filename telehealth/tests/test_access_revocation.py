"""Revocation ends access on every surface at once: the attacker is Dr. Carol after Alice removed her
from her care team (and Grace after her family link was removed). Each keeps a chat page, an API
token and open sockets from before; none of them may read or write Alice's chat any more.

clinic sends ``patient_access_ended`` on commit when a link ends; until its sends are in place for
every removal service, these tests send it as clinic does, right after removing the link.
"""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic.models import AppointmentType, CareTeamMember, UserPatientRelation
from clinic.signals import patient_access_ended
from telehealth import chat as chats
from telehealth.tests.test_chat_consumer import open_comm, receive_until
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db(transaction=True)
FORBIDDEN = 4403


@pytest.fixture
def chat(alice, grace, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=alice, chat=chat, client_id="before", body="Before the removal")
    return chat


def remove_from_care_team(doctor_user, patient):
    with transaction.atomic():
        CareTeamMember.objects.filter(doctor=doctor_user.doctor_profile, patient=patient).delete()
        transaction.on_commit(lambda: patient_access_ended.send(
            sender=CareTeamMember, patient_id=patient.pk, user_ids=[doctor_user.pk]))


def remove_family_link(user, patient):
    with transaction.atomic():
        UserPatientRelation.objects.filter(user=user, patient=patient).delete()
        transaction.on_commit(lambda: patient_access_ended.send(
            sender=UserPatientRelation, patient_id=patient.pk, user_ids=[user.pk]))


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"}


def rest_surfaces(chat, user):
    """Status codes of each read and write a member has, through the API and the page."""
    api, headers = Client(), bearer(user)
    message = chat.messages.order_by("seq").first()
    return {
        "listed": str(chat.pk) in {c["id"] for c in api.get("/api/v1/chats", **headers).json()},
        "detail": api.get(f"/api/v1/chats/{chat.pk}", **headers).status_code,
        "messages": api.get(f"/api/v1/chats/{chat.pk}/messages", **headers).status_code,
        "send": api.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": f"x-{user.pk}", "body": "hi"},
                         content_type="application/json", **headers).status_code,
        "read": api.put(f"/api/v1/messages/{message.pk}/read", **headers).status_code,
        "archive": api.post(f"/api/v1/chats/{chat.pk}/archive", {"value": True}, content_type="application/json",
                            **headers).status_code,
        "call_requests": api.get(f"/api/v1/chats/{chat.pk}/call-requests", **headers).status_code,
    }


@pytest.mark.parametrize("who", ["carol", "grace"])
def test_rest_reads_and_writes_are_404_at_once(chat, alice, request, who):
    user = request.getfixturevalue(who)
    before = rest_surfaces(chat, user)
    assert before["messages"] == 200 and before["listed"] is True
    if who == "carol":
        remove_from_care_team(user, alice.patient_record)
    else:
        remove_family_link(user, alice.patient_record)
    after = rest_surfaces(chat, user)
    assert after == {"detail": 404, "messages": 404, "send": 404, "read": 404, "archive": 404,
                     "call_requests": 404, "listed": False}
    client = Client()
    from conftest import login_verified

    login_verified(client, user)
    assert client.get(f"/chats/{chat.pk}/").status_code == 404
    assert chat.messages.filter(sender=user).count() == 1  # the one sent before the removal


@pytest.mark.parametrize("who", ["carol", "grace"])
def test_an_open_chat_socket_is_closed_and_hears_nothing_more(layer, chat, alice, request, who):
    user = request.getfixturevalue(who)

    async def scenario():
        attacker = await open_comm(chat, user)
        sender = await open_comm(chat, alice)
        assert (await attacker.connect())[0]
        assert (await sender.connect())[0]
        await sender.send_json_to({"type": "message", "client_id": "a1", "body": "Still allowed"})
        frame, _ = await receive_until(attacker, "message")
        assert frame["message"]["body"] == "Still allowed"
        if who == "carol":
            await database_sync_to_async(remove_from_care_team)(user, alice.patient_record)
        else:
            await database_sync_to_async(remove_family_link)(user, alice.patient_record)
        await sender.send_json_to({"type": "message", "client_id": "a2", "body": "After the removal"})
        await receive_until(sender, "ack")
        frames = []
        while True:
            output = await attacker.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
            frames.append(output)
        assert output["code"] == FORBIDDEN
        assert all("After the removal" not in (f.get("text") or "") for f in frames), frames
        await sender.disconnect()

    async_to_sync(scenario)()


def test_frames_from_a_revoked_socket_are_refused_even_without_the_event(layer, chat, alice, carol):
    """Belt and braces: the signal may be late or lost (another process, a dropped Redis
    message); every inbound frame is checked against the policy and a refused one closes."""
    async def scenario():
        attacker = await open_comm(chat, carol)
        assert (await attacker.connect())[0]
        await database_sync_to_async(
            CareTeamMember.objects.filter(doctor=carol.doctor_profile, patient=alice.patient_record).delete)()
        await attacker.send_json_to({"type": "message", "client_id": "c1", "body": "sneaking in"})
        while True:
            output = await attacker.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == FORBIDDEN

    async_to_sync(scenario)()
    assert not chat.messages.filter(sender=carol).exists()


def test_an_open_call_socket_is_closed(layer, chat, alice, carol):
    from telehealth.tests.test_calls_consumer import closed_with, cookie_for, joined, socket

    start = timezone.now() + dt.timedelta(minutes=5)
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, start=start,
                                     end=start + dt.timedelta(minutes=30), status="confirmed",
                                     type=AppointmentType.REMOTE, booked_by=alice)
    cookie = cookie_for(carol)

    async def scenario():
        doctor, _welcome = await joined(appointment.room_id, cookie)
        await database_sync_to_async(remove_from_care_team)(carol, alice.patient_record)
        while True:
            output = await doctor.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == FORBIDDEN
        # And she cannot come back.
        assert await closed_with(socket(appointment.room_id, cookie)) == FORBIDDEN

    async_to_sync(scenario)()


def _app():
    from config.asgi import application

    return application


def test_the_notification_socket_gets_fresh_counts(layer, chat, alice, carol):
    from telehealth.tests.test_notifications_ws import headers_for, socket

    async def scenario():
        comm = socket(await database_sync_to_async(headers_for)(carol))
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from(timeout=3))["type"] == "unread"
        await database_sync_to_async(remove_from_care_team)(carol, alice.patient_record)
        frame = await comm.receive_json_from(timeout=3)
        while frame["type"] != "chat_unread":
            frame = await comm.receive_json_from(timeout=3)
        assert frame["count"] == 0
        await comm.disconnect()

    async_to_sync(scenario)()


# --- signing out ---------------------------------------------------------------------------------------

def test_signing_out_closes_that_sessions_open_sockets_and_no_other(layer, chat, alice):
    """A web sign-out ends the session's credentials everywhere: its open chat and notification
    sockets close (4401) at once; a socket of the same person's other session stays open."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from conftest import login_verified
    from telehealth.tests.test_chat_consumer import ORIGIN

    browser, other_browser = login_verified(Client(), alice), login_verified(Client(), alice)

    def cookie(client):
        return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]

    async def closed_with(comm):
        while True:
            output = await comm.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                return output["code"]

    async def scenario():
        chat_socket = await open_comm(chat, headers=cookie(browser))
        bell = WebsocketCommunicator(application, "/ws/notifications/", headers=cookie(browser))
        elsewhere = await open_comm(chat, headers=cookie(other_browser))
        for comm in (chat_socket, bell, elsewhere):
            assert (await comm.connect())[0]
        response = await database_sync_to_async(browser.post)("/accounts/logout/")
        assert response.status_code == 302
        assert await closed_with(chat_socket) == 4401
        assert await closed_with(bell) == 4401
        await elsewhere.send_json_to({"type": "message", "client_id": "still-here", "body": "Still signed in"})
        frame, _ = await receive_until(elsewhere, "ack")
        assert frame["client_id"] == "still-here"
        await elsewhere.disconnect()

    async_to_sync(scenario)()
