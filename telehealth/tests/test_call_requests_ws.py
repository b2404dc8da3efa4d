"""Call-request changes reach both sides' open conversation pages: the ``call_request`` event on the
chat websocket (the real ASGI application, in-memory and Redis channel layers), sent after the
change commits, equal to what the API returns, and only to the chat's members."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client

from accounts.tokens import issue_pair
from telehealth import call_requests
from telehealth.models import CallRequest
from telehealth.tests.test_chat_consumer import open_comm, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


def api_payload(user, request_id) -> dict:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}").get(
        f"/api/v1/call-requests/{request_id}")
    assert response.status_code == 200
    return response.json()


def without_viewer(payload: dict) -> dict:
    """The shared part of a payload; times as instants to the millisecond (the API's JSON writes
    milliseconds and Z, the websocket Python's isoformat)."""
    def instant(value):
        if value is None:
            return None
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    return {k: instant(v) if k.endswith("_at") else v for k, v in payload.items() if k != "can_join"}


def test_both_sides_see_the_request_and_its_acceptance_live(layer, chat, alice, grace, carol):
    create = database_sync_to_async(call_requests.call_request_create)
    accept = database_sync_to_async(call_requests.call_request_accept)

    async def scenario():
        patient, doctor = await open_comm(chat, alice), await open_comm(chat, carol)
        assert (await patient.connect())[0] and (await doctor.connect())[0]

        request = await create(actor=grace, chat=chat, reason="Fever since last night", audio_only=True)
        asked = [(await receive_until(comm, "call_request"))[0]["call_request"] for comm in (patient, doctor)]
        for event in asked:
            assert (event["id"], event["status"], event["requested_by_name"], event["on_behalf"]) == (
                str(request.pk), "pending", "Grace Family", True)
            assert event["reason"] == "Fever since last night" and event["audio_only"] is True
            assert event["call_url"] is None and event["participant_ids"] == []

        await accept(actor=carol, call_request=request)
        accepted = [(await receive_until(comm, "call_request"))[0]["call_request"] for comm in (patient, doctor)]
        await patient.disconnect()
        await doctor.disconnect()
        return request, asked, accepted

    request, asked, accepted = async_to_sync(scenario)()
    room = CallRequest.objects.select_related("appointment").get(pk=request.pk).appointment.room_id
    for event in accepted:
        assert (event["status"], event["room_id"], event["call_url"]) == ("accepted", room, f"/calls/{room}/")
        # The page navigates when its own user is one of the call's two people.
        assert set(event["participant_ids"]) == {str(alice.pk), str(carol.pk)}
    # What a live client received equals a fresh load through the API.
    assert without_viewer(accepted[0]) == without_viewer(api_payload(alice, request.pk))


def test_a_decline_and_a_cancel_reach_the_other_side(layer, chat, alice, carol):
    create = database_sync_to_async(call_requests.call_request_create)
    decline = database_sync_to_async(call_requests.call_request_decline)
    cancel = database_sync_to_async(call_requests.call_request_cancel)

    async def scenario():
        patient, doctor = await open_comm(chat, alice), await open_comm(chat, carol)
        assert (await patient.connect())[0] and (await doctor.connect())[0]
        first = await create(actor=alice, chat=chat)
        await receive_until(patient, "call_request")
        await receive_until(doctor, "call_request")
        await decline(actor=carol, call_request=first, reason="In theatre")
        declined = (await receive_until(patient, "call_request"))[0]["call_request"]
        await receive_until(doctor, "call_request")
        second = await create(actor=alice, chat=chat)
        await receive_until(doctor, "call_request")
        await cancel(actor=alice, call_request=second)
        cancelled = (await receive_until(doctor, "call_request"))[0]["call_request"]
        await patient.disconnect()
        await doctor.disconnect()
        return declined, cancelled

    declined, cancelled = async_to_sync(scenario)()
    assert (declined["status"], declined["decline_reason"]) == ("declined", "In theatre")
    assert (cancelled["status"], cancelled["responded_by_name"]) == ("cancelled", "Alice Patient")


def test_a_refused_change_broadcasts_nothing(layer, chat, alice, bob, carol):
    """A busy doctor's accept rolls back: no event, so no page navigates to a call that does not exist."""
    from django.utils import timezone

    from clinic.models import Appointment

    start = timezone.now() - dt.timedelta(minutes=5)
    Appointment.objects.create(patient=bob.patient_record, doctor=carol.doctor_profile, type="remote", start=start,
                               end=start + dt.timedelta(minutes=30), status="confirmed", room_id="busy")
    create = database_sync_to_async(call_requests.call_request_create)

    @database_sync_to_async
    def try_accept(request):
        from core.errors import Conflict

        with pytest.raises(Conflict):
            call_requests.call_request_accept(actor=carol, call_request=request)

    async def scenario():
        patient = await open_comm(chat, alice)
        assert (await patient.connect())[0]
        request = await create(actor=alice, chat=chat)
        await receive_until(patient, "call_request")
        await try_accept(request)
        # The next event the patient sees is the decline, not an acceptance.
        await database_sync_to_async(call_requests.call_request_decline)(actor=carol, call_request=request)
        event = (await receive_until(patient, "call_request"))[0]["call_request"]
        await patient.disconnect()
        return event

    assert async_to_sync(scenario)()["status"] == "declined"


@pytest.mark.parametrize("who", ["anonymous", "bob", "dave", "hana", "ada"])
def test_outsiders_cannot_listen(layer, chat, request, who):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    async def scenario():
        comm = await open_comm(chat, user)
        connected, code = await comm.connect()
        assert not connected and code == 4403

    async_to_sync(scenario)()
