"""Appointment ``extras`` is the server's: the call log (``call``) is written by the call service
when both people are in the room, the call request link (``call_request``) by the chat's call
requests. A client cannot write them, and a malformed stored value never breaks a page or the API."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from accounts.tokens import issue_pair
from clinic.models import Appointment
from conftest import login_verified
from telehealth import calls
from tests.factories import AppointmentFactory, CareTeamMemberFactory

FORGED_CALL = {"call": {"started_at": "2030-01-07T09:00:00+00:00", "ended_at": "2030-01-07T10:00:00+00:00",
                        "duration_s": 3600}}


@pytest.fixture
def appointment(alice, carol):
    CareTeamMemberFactory(doctor=carol.doctor_profile, patient=alice.patient_record)
    return AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, status="confirmed")


def _put(client, user, appointment, body):
    return client.put(f"/api/v1/appointments/{appointment.pk}", data=json.dumps(body), content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


class TestClientsCannotWriteExtras:
    @pytest.mark.parametrize("who", ["alice", "carol"])
    def test_it_refuses_a_forged_call_record(self, request, client, appointment, who):
        response = _put(client, request.getfixturevalue(who), appointment, {"extras": FORGED_CALL})
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "extras"
        appointment.refresh_from_db()
        assert "call" not in appointment.extras

    def test_it_refuses_a_malformed_value(self, client, alice, appointment):
        response = _put(client, alice, appointment, {"extras": {"call": "yesterday"}})
        assert response.status_code == 422
        appointment.refresh_from_db()
        assert appointment.extras == {}

    def test_the_documented_fields_still_change(self, client, alice, appointment):
        response = _put(client, alice, appointment, {"reason": "Headaches"})
        assert response.status_code == 200 and response.json()["call"] is None

    def test_extras_is_not_in_the_documented_input(self):
        from config.api import api

        schema = api.get_openapi_schema()["components"]["schemas"]["AppointmentUpdateIn"]
        assert "extras" not in schema["properties"] and schema.get("additionalProperties") is False


class TestExtrasAreReturned:
    """``extras`` was accepted on booking and never answered: now what the server attached is
    returned (read-only), and a booking that sends extras is refused like an update."""

    def test_the_call_log_and_call_request_come_back(self, client, alice, appointment):
        call = calls.call_start_record(appointment_id=appointment.pk)
        Appointment.objects.filter(pk=appointment.pk).update(
            extras={**Appointment.objects.get(pk=appointment.pk).extras, "call_request": {"id": "cr-1"}})
        body = client.get(f"/api/v1/appointments/{appointment.pk}",
                          HTTP_AUTHORIZATION=f"Bearer {issue_pair(alice)['access']}").json()
        assert body["extras"]["call_request"] == {"id": "cr-1", "audio_only": False}
        assert body["extras"]["call"]["started_at"] == body["call"]["started_at"]
        started = dt.datetime.fromisoformat(call["started_at"])
        assert abs(dt.datetime.fromisoformat(body["call"]["started_at"]) - started) < dt.timedelta(milliseconds=1)

    def test_a_booking_that_sends_extras_is_refused(self, client, alice, carol, appointment):
        body = {"patient_id": str(alice.patient_record.pk), "doctor_id": str(carol.doctor_profile.pk),
                "start": "2030-01-07T09:00:00+00:00", "type": "remote", "extras": FORGED_CALL}
        response = client.post("/api/v1/appointments", json.dumps(body), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {issue_pair(alice)['access']}")
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "extras"

    def test_extras_is_documented_in_the_answer(self):
        from config.api import api

        schemas = api.get_openapi_schema()["components"]["schemas"]
        assert "extras" in schemas["AppointmentOut"]["required"]
        assert "extras" not in schemas["AppointmentIn"]["properties"]


MALFORMED = [
    ["not", "a", "dict"],
    "a string",
    {"call": "yesterday"},
    {"call": {"started_at": "not a date"}},
    {"call": {"started_at": "2030-01-07T09:00:00"}},  # no offset
    {"call": {"started_at": "2030-01-07T09:00:00+00:00", "ended_at": 5, "duration_s": "long"}},
    {"call": {"started_at": "9999-12-31T23:59:59-23:59"}},
    {"call_request": 7},
    {"call_request": {"audio_only": "maybe"}},
]


@pytest.mark.parametrize("stored", MALFORMED, ids=[json.dumps(m)[:50] for m in MALFORMED])
class TestMalformedStoredExtras:
    @pytest.fixture(autouse=True)
    def _stored(self, appointment, stored):
        Appointment.objects.filter(pk=appointment.pk).update(extras=stored)

    def test_the_api_still_answers(self, client, alice, carol, appointment):
        for user in (alice, carol):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"}
            detail = client.get(f"/api/v1/appointments/{appointment.pk}", **headers)
            assert detail.status_code == 200 and detail.json()["call"] is None
            assert detail.json()["extras"] == {"call": None, "call_request": None}
            assert client.get("/api/v1/appointments", **headers).status_code == 200

    def test_the_pages_still_open(self, client, alice, carol, appointment):
        for user in (alice, carol):
            login_verified(client, user)
            assert client.get(reverse("appointment_detail", args=[appointment.pk])).status_code == 200
            assert client.get(reverse("call_room", args=[appointment.room_id])).status_code == 200

    def test_the_call_service_starts_over_with_a_valid_record(self, appointment):
        call = calls.call_start_record(appointment_id=appointment.pk)
        ended = calls.call_end_record(appointment_id=appointment.pk,
                                      now=dt.datetime.fromisoformat(call["started_at"]) + dt.timedelta(minutes=5))
        assert ended["duration_s"] == 300
        assert calls.call_record(Appointment.objects.get(pk=appointment.pk))["duration_s"] == 300
