"""Sending is limited per person per conversation (CHAT_MESSAGES_PER_MINUTE) and the urgent flag,
which e-mails and texts the doctor, to once per CHAT_URGENT_INTERVAL_MINUTES per conversation:
429 with a clear message on the API, an error frame on the socket, a message on the page."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from conftest import login_verified
from telehealth import chat as chats
from telehealth.models import Message, Notification


@pytest.fixture
def chat(db, alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def test_the_api_answers_429_past_the_per_minute_limit(chat, alice, carol, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    client = api(alice)
    codes = [client.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": f"c{i}", "body": "hi"},
                         content_type="application/json").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    response = client.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "c0", "body": "hi"},
                           content_type="application/json")
    assert response.status_code == 200  # a retry of a stored message is not a new send
    last = client.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "c9", "body": "hi"},
                       content_type="application/json")
    assert last.status_code == 429 and "at most 3 a minute" in last.json()["detail"]
    assert Message.objects.filter(chat=chat).count() == 3
    # Per person: the doctor can still answer.
    assert api(carol).post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "d1", "body": "ok"},
                           content_type="application/json").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_socket_answers_an_error_frame(layer, chat, alice, settings):
    from telehealth.tests.test_chat_consumer import open_comm, receive_until, run

    settings.CHAT_MESSAGES_PER_MINUTE = 2

    async def scenario():
        comm = await open_comm(chat, alice)
        assert (await comm.connect())[0]
        for i in range(2):
            await comm.send_json_to({"type": "message", "client_id": f"s{i}", "body": "hi"})
            await receive_until(comm, "ack")
        await comm.send_json_to({"type": "message", "client_id": "s2", "body": "hi"})
        frame, _ = await receive_until(comm, "error")
        await comm.disconnect()
        return frame

    frame = run(scenario)
    assert frame["code"] == "rate_limited" and frame["client_id"] == "s2" and "a minute" in frame["detail"]


def test_the_urgent_flag_alerts_the_doctor_at_most_once_per_interval(chat, alice, carol):
    client = api(alice)
    urgent = f"/api/v1/chats/{chat.pk}/urgent"
    assert client.post(urgent, {"value": True}, content_type="application/json").status_code == 200
    assert client.post(urgent, {"value": True}, content_type="application/json").status_code == 200  # no-op
    assert client.post(urgent, {"value": False}, content_type="application/json").status_code == 200
    again = client.post(urgent, {"value": True}, content_type="application/json")
    assert again.status_code == 429 and "30 minutes" in again.json()["detail"]
    assert Notification.objects.filter(recipient=carol, kind=Notification.Kind.CHAT_URGENT).count() == 1
    chat.refresh_from_db()
    assert chat.is_urgent is False
    # Half an hour later it may alert again.
    Notification.objects.filter(kind=Notification.Kind.CHAT_URGENT).update(
        created_at=timezone.now() - dt.timedelta(minutes=31))
    assert client.post(urgent, {"value": True}, content_type="application/json").status_code == 200
    chat.refresh_from_db()
    assert chat.is_urgent is True


def test_the_page_shows_the_urgent_limit_as_a_message(chat, alice):
    client = login_verified(Client(), alice)
    url = f"/chats/{chat.pk}/urgent/"
    client.post(url, {"urgent": "1"})
    client.post(url, {"urgent": "0"})
    response = client.post(url, {"urgent": "1"}, follow=True)
    assert response.status_code == 200
    assert "already alerted about this conversation" in response.content.decode()
