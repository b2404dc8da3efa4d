"""Races on Postgres (row locks are real there): accept, decline, cancel and expiry of one call
request at the same moment — exactly one wins, and an acceptance books exactly one appointment;
two patients' requests accepted by one doctor at once — the doctor gets one call, not two."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from clinic.models import Appointment, CareTeamMember
from conftest import race, require_service
from core.errors import Conflict
from telehealth import call_requests
from telehealth import chat as chats
from telehealth.models import CallRequest
from tests.factories import DoctorFactory, PatientUserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

Status = CallRequest.Status


@pytest.fixture(autouse=True)
def postgres():
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")


def new_chat(doctor=None):
    patient = PatientUserFactory()
    doctor = doctor or DoctorFactory()
    # A doctor acts on a chat only while in the patient's care team (booking puts them there).
    CareTeamMember.objects.create(doctor=doctor.doctor_profile, patient=patient.patient_record)
    return patient, doctor, chats.chat_open(actor=None, patient=patient.patient_record, doctor=doctor.doctor_profile)


def test_many_accepts_of_one_request_book_one_call():
    patient, doctor, chat = new_chat()
    request = call_requests.call_request_create(actor=patient, chat=chat)

    results = race(8, lambda i: call_requests.call_request_accept(actor=doctor, call_request=request))

    won = [r for r in results if isinstance(r, CallRequest)]
    assert len(won) == 1, results
    assert all(isinstance(r, (CallRequest, Conflict)) for r in results), results
    assert Appointment.objects.filter(doctor=doctor.doctor_profile).count() == 1
    assert CallRequest.objects.get(pk=request.pk).status == Status.ACCEPTED


@pytest.mark.parametrize("round_", range(3))
def test_accept_decline_cancel_and_expiry_at_once_one_wins(round_):
    patient, doctor, chat = new_chat()
    request = call_requests.call_request_create(actor=patient, chat=chat)
    # Still answerable for half a minute, while the expiry runs as if a minute later: all four compete.
    CallRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - call_requests.expiry()
                                                     + dt.timedelta(seconds=30))
    at = timezone.now() + dt.timedelta(seconds=60)
    moves = [
        lambda: call_requests.call_request_accept(actor=doctor, call_request=request),
        lambda: call_requests.call_request_decline(actor=doctor, call_request=request),
        lambda: call_requests.call_request_cancel(actor=patient, call_request=request),
        lambda: call_requests.call_request_expire(request_id=request.pk, now=at),
    ]

    results = race(len(moves), lambda i: moves[i]())

    final = CallRequest.objects.get(pk=request.pk)
    winners = [r for r in results if isinstance(r, CallRequest) or r is True]
    assert len(winners) == 1, results
    assert all(isinstance(r, (CallRequest, Conflict)) or r in (True, False) for r in results), results
    assert final.status != Status.PENDING
    assert Appointment.objects.filter(doctor=doctor.doctor_profile).count() == (final.status == Status.ACCEPTED)


def test_one_doctor_accepting_two_patients_at_once_gets_one_call():
    doctor = DoctorFactory()
    pairs = [new_chat(doctor) for _ in range(2)]
    requests = [call_requests.call_request_create(actor=patient, chat=chat) for patient, _, chat in pairs]

    results = race(2, lambda i: call_requests.call_request_accept(actor=doctor, call_request=requests[i]))

    assert sum(isinstance(r, CallRequest) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert Appointment.objects.filter(doctor=doctor.doctor_profile, status="confirmed").count() == 1
    # The refused one still waits, so the doctor can decline it.
    statuses = sorted(CallRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list("status", flat=True))
    assert statuses == [Status.ACCEPTED, Status.PENDING]
