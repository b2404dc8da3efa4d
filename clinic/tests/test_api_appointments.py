"""Booking, changing and emergencies through /api/v1/appointments."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic.models import Appointment, AppointmentStatus, HospitalDoctor
from clinic.tests.conftest import next_weekday_at
from tests.factories import AppointmentFactory, PatientFactory, UserPatientRelationFactory

pytestmark = pytest.mark.django_db


def call(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


def fields(response):
    return {e["field"] for e in response.json()["detail"]}


def booking(patient, doctor_user, start, **extra):
    return {"patient_id": str(patient.pk), "doctor_id": str(doctor_user.doctor_profile.pk),
            "start": start.isoformat(), "type": "remote", **extra}


def test_it_books_a_slot_offered_by_the_slots_endpoint(client, care, alice, carol):
    day = next_weekday_at(0).date()
    slots = call(client, alice, "get", f"/doctors/{carol.doctor_profile.pk}/slots?from={day}&to={day}").json()
    assert len(slots) == 47  # 00:00–23:30 in 30-minute slots
    assert slots[0]["mode"] == "remote" and slots[0]["hospital_id"] is None
    response = call(client, alice, "post", "/appointments",
                    {"patient_id": str(care.pk), "doctor_id": str(carol.doctor_profile.pk),
                     "start": slots[3]["start"], "type": "remote", "reason": "Sleep trouble"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested" and body["room_id"] and body["notes"] is None
    assert dt.datetime.fromisoformat(body["start"]) == dt.datetime.fromisoformat(slots[3]["start"])
    again = call(client, alice, "get", f"/doctors/{carol.doctor_profile.pk}/slots?from={day}&to={day}").json()
    assert slots[3] not in again and len(again) == 46


def test_slots_take_datetimes_with_offset_and_refuse_long_or_naive_ranges(client, care, alice, carol):
    path = f"/doctors/{carol.doctor_profile.pk}/slots"
    start = next_weekday_at(9).astimezone(dt.timezone(dt.timedelta(hours=2)))
    response = call(client, alice, "get", f"{path}?from={start.isoformat().replace('+', '%2B')}"
                                          f"&to={(start + dt.timedelta(hours=1)).isoformat().replace('+', '%2B')}")
    assert response.status_code == 200
    assert [s["start"][:16] for s in response.json()] == [
        next_weekday_at(9).isoformat()[:16], next_weekday_at(9, 30).isoformat()[:16]]
    too_long = call(client, alice, "get", f"{path}?from=2030-01-01&to=2030-03-01")
    assert too_long.status_code == 422 and fields(too_long) == {"to"}
    naive = call(client, alice, "get", f"{path}?from=2030-01-01T09:00")
    assert naive.status_code == 422 and fields(naive) == {"from"}
    garbage = call(client, alice, "get", f"{path}?from=soon")
    assert garbage.status_code == 422 and fields(garbage) == {"from"}


def test_a_taken_slot_is_409_with_the_free_slots_of_that_day(client, care, alice, bob, carol):
    start = next_weekday_at(11)
    assert call(client, bob, "post", "/appointments", booking(bob.patient_record, carol, start)).status_code == 201
    response = call(client, alice, "post", "/appointments", booking(care, carol, start))
    assert response.status_code == 409
    body = response.json()
    assert "taken" in body["detail"]
    free = [s["start"][:16] for s in body["free_slots"]]
    assert start.isoformat()[:16] not in free and next_weekday_at(11, 30).isoformat()[:16] in free


@pytest.mark.parametrize("start", [
    lambda: timezone.now() - dt.timedelta(hours=1),  # in the past
    lambda: next_weekday_at(23, 30),  # after the doctor's window
    lambda: next_weekday_at(10, 7),  # off the slot grid
])
def test_a_time_the_doctor_does_not_offer_is_422_naming_start(client, care, alice, carol, start):
    response = call(client, alice, "post", "/appointments", booking(care, carol, start()))
    assert response.status_code == 422 and fields(response) == {"start"}


def test_a_naive_start_is_422_and_bad_input_names_the_field(client, care, alice, carol):
    naive = call(client, alice, "post", "/appointments", booking(care, carol, next_weekday_at(10).replace(tzinfo=None)))
    assert naive.status_code == 422 and fields(naive) == {"start"}
    bad_type = call(client, alice, "post", "/appointments", booking(care, carol, next_weekday_at(10), type="house"))
    assert bad_type.status_code == 422 and fields(bad_type) == {"type"}
    no_hospital = call(client, alice, "post", "/appointments", booking(care, carol, next_weekday_at(10), type="regular"))
    assert no_hospital.status_code == 422 and fields(no_hospital) == {"hospital"}


def test_family_books_for_their_child_but_not_for_a_stranger(client, care, grace, bob, carol):
    created = call(client, grace, "post", "/patients", {"name": "Little Leo", "date_of_birth": "2019-04-02",
                                                         "gender": "male", "relation": "child"})
    assert created.status_code == 201 and created.json()["age"] >= 5
    leo = created.json()["id"]
    response = call(client, grace, "post", "/appointments",
                    {"patient_id": leo, "doctor_id": str(carol.doctor_profile.pk),
                     "start": next_weekday_at(12).isoformat(), "type": "remote"})
    assert response.status_code == 201 and response.json()["patient"]["name"] == "Little Leo"
    stranger = call(client, grace, "post", "/appointments", booking(bob.patient_record, carol, next_weekday_at(13)))
    assert stranger.status_code == 404
    assert not Appointment.objects.filter(patient=bob.patient_record).exists()


def test_a_dependent_needs_a_relation_other_than_self(client, grace):
    response = call(client, grace, "post", "/patients", {"name": "Leo", "date_of_birth": "2019-04-02",
                                                          "gender": "male", "relation": "self"})
    assert response.status_code == 422 and fields(response) == {"relation"}


def test_completing_a_requested_appointment_is_400(client, care, alice, carol):
    past = AppointmentFactory(patient=care, doctor=carol.doctor_profile,
                              start=timezone.now().replace(microsecond=0) - dt.timedelta(hours=2))
    response = call(client, carol, "put", f"/appointments/{past.pk}/status", {"status": "completed"})
    assert response.status_code == 400 and "requested cannot become completed" in response.json()["detail"]
    unknown = call(client, carol, "put", f"/appointments/{past.pk}/status", {"status": "lost"})
    assert unknown.status_code == 422 and fields(unknown) == {"status"}


def test_confirm_then_complete_after_it_started(client, care, alice, carol):
    started = AppointmentFactory(patient=care, doctor=carol.doctor_profile, status=AppointmentStatus.CONFIRMED,
                                 start=timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10))
    response = call(client, carol, "put", f"/appointments/{started.pk}/status", {"status": "completed"})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert [e["kind"] for e in response.json()["events"]] == ["completed"]


def test_patients_cannot_cancel_inside_the_cutoff_but_the_doctor_can(client, care, alice, carol):
    soon = AppointmentFactory(patient=care, doctor=carol.doctor_profile,
                              start=timezone.now().replace(microsecond=0) + dt.timedelta(hours=1))
    response = call(client, alice, "put", f"/appointments/{soon.pk}/cancel", {"reason": "Busy"})
    assert response.status_code == 400 and "hours before" in response.json()["detail"]
    missing_reason = call(client, carol, "put", f"/appointments/{soon.pk}/cancel", {"reason": " "})
    assert missing_reason.status_code == 422 and fields(missing_reason) == {"reason"}
    response = call(client, carol, "put", f"/appointments/{soon.pk}/cancel", {"reason": "Called in sick"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelled_by"] == "Carol Doctor"
    assert body["cancellation_reason"] == "Called in sick"
    last = body["events"][-1]
    assert (last["kind"], last["actor"], last["reason"]) == ("cancelled", "Carol Doctor", "Called in sick")


def test_delete_cancels_with_a_reason_and_keeps_the_record(client, care, alice, carol):
    appointment = AppointmentFactory(patient=care, doctor=carol.doctor_profile)
    path = f"/appointments/{appointment.pk}"
    assert call(client, alice, "delete", path).status_code == 422
    response = call(client, alice, "delete", f"{path}?reason=Travelling")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Appointment.objects.filter(pk=appointment.pk).exists()


def test_details_patient_writes_reason_doctor_writes_notes(client, care, alice, carol):
    appointment = AppointmentFactory(patient=care, doctor=carol.doctor_profile)
    path = f"/appointments/{appointment.pk}"
    assert call(client, alice, "put", path, {"reason": "Headaches"}).json()["reason"] == "Headaches"
    assert call(client, alice, "put", path, {"notes": "I am fine"}).status_code == 403
    assert call(client, carol, "put", path, {"notes": "Migraine history"}).json()["notes"] == "Migraine history"
    assert call(client, carol, "put", path, {"reason": "Other"}).status_code == 403
    assert call(client, alice, "get", path).json()["notes"] is None


def test_reschedule_to_a_free_slot_and_409_for_a_taken_one(client, care, alice, bob, carol):
    mine = call(client, alice, "post", "/appointments", booking(care, carol, next_weekday_at(10))).json()
    call(client, bob, "post", "/appointments", booking(bob.patient_record, carol, next_weekday_at(15)))
    path = f"/appointments/{mine['id']}/reschedule"
    moved = call(client, alice, "put", path, {"start": next_weekday_at(14).isoformat(), "reason": "Work"})
    assert moved.status_code == 200 and moved.json()["start"].startswith(next_weekday_at(14).isoformat()[:16])
    assert moved.json()["events"][-1]["kind"] == "rescheduled"
    taken = call(client, alice, "put", path, {"start": next_weekday_at(15).isoformat()})
    assert taken.status_code == 409 and "free_slots" in taken.json()


def test_only_the_doctor_overbooks_and_only_with_a_reason(client, care, alice, bob, carol):
    start = next_weekday_at(16)
    call(client, bob, "post", "/appointments", booking(bob.patient_record, carol, start))
    by_patient = call(client, alice, "post", "/appointments", booking(care, carol, start, overbook_reason="Urgent"))
    assert by_patient.status_code == 403
    without_reason = call(client, carol, "post", "/appointments", booking(care, carol, start))
    assert without_reason.status_code == 409
    response = call(client, carol, "post", "/appointments", booking(care, carol, start, overbook_reason="Urgent review"))
    assert response.status_code == 201
    assert response.json()["overbooked"] is True and response.json()["status"] == "confirmed"


@pytest.fixture
def on_duty(care, carol, dave, riverside):
    """Carol and Dave on duty around the clock; Dave works at Alice's hospital, so he is alerted too."""
    HospitalDoctor.objects.create(hospital=riverside, doctor=dave.doctor_profile)
    for doctor in (carol, dave):
        profile = doctor.doctor_profile
        profile.shift_start, profile.shift_end = dt.time(0), dt.time(23, 59, 59, 999999)
        profile.save()


def test_an_emergency_goes_to_the_first_doctor_who_accepts(client, on_duty, care, alice, bob, carol, dave):
    response = call(client, alice, "post", "/appointments/emergency",
                    {"patient_id": str(care.pk), "reason": "Panic attack, cannot breathe"})
    assert response.status_code == 201
    emergency = response.json()
    assert emergency["type"] == "emergency" and emergency["doctor"] is None
    again = call(client, alice, "post", "/appointments/emergency", {"patient_id": str(care.pk), "reason": "Still"})
    assert again.status_code == 409
    path = f"/appointments/{emergency['id']}/accept"
    assert call(client, bob, "post", path).status_code == 404  # not a doctor, not alerted
    accepted = call(client, carol, "post", path)
    assert accepted.status_code == 200
    assert accepted.json()["doctor"]["name"] == "Carol Doctor" and accepted.json()["status"] == "confirmed"
    late = call(client, dave, "post", path)
    assert late.status_code == 409 and "Carol Doctor" in late.json()["detail"]


def test_an_emergency_for_a_stranger_is_404(client, bob, care):
    response = call(client, bob, "post", "/appointments/emergency", {"patient_id": str(care.pk), "reason": "Help"})
    assert response.status_code == 404


def test_list_filters(client, care, alice, carol):
    AppointmentFactory(patient=care, doctor=carol.doctor_profile, start=next_weekday_at(9))
    AppointmentFactory(patient=care, doctor=carol.doctor_profile, start=next_weekday_at(9, days_ahead=5),
                       status=AppointmentStatus.CONFIRMED)
    day = next_weekday_at(9).date()

    def count(query):
        return call(client, alice, "get", f"/appointments?{query}").json()["count"]

    assert count("") == 2
    assert count("status=confirmed") == 1
    assert count(f"date_from={day}&date_to={day}") == 1
    assert count(f"doctor={carol.doctor_profile.pk}&type=remote") == 2
    assert count("type=regular") == 0
    assert call(client, alice, "get", "/appointments?status=lost").status_code == 422
    by_doctor = call(client, alice, "get", f"/appointments/doctor/{carol.doctor_profile.pk}").json()
    by_patient = call(client, alice, "get", f"/appointments/patient/{care.pk}").json()
    assert by_doctor["count"] == by_patient["count"] == 2


def test_listing_appointments_takes_a_constant_number_of_queries(client, care, alice, carol, ada,
                                                                django_assert_max_num_queries):
    for i in range(20):
        child = PatientFactory()
        UserPatientRelationFactory(user=alice, patient=child)
        AppointmentFactory(patient=child, doctor=carol.doctor_profile, start=next_weekday_at(0) + dt.timedelta(hours=i),
                           status=AppointmentStatus.CANCELLED if i % 3 == 0 else AppointmentStatus.REQUESTED,
                           cancelled_by=alice if i % 3 == 0 else None)
    for user in (ada, carol, alice):
        with django_assert_max_num_queries(10):
            response = call(client, user, "get", "/appointments?limit=50")
        assert response.json()["count"] == 20
