"""Emergency queue pages: the queue, the live count badge, and first-accept-wins."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages

from clinic import services
from clinic.models import (
    Appointment,
    AppointmentStatus,
    CareTeamMember,
    EmergencyAlert,
    HospitalDoctor,
    HospitalPatient,
    WeeklyAvailability,
)
from conftest import login_verified

pytestmark = pytest.mark.django_db


def on_duty(doctor_user):
    """Weekly windows covering every minute of every day in the doctor's zone."""
    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(doctor=doctor_user.doctor_profile, weekday=d, start_time=dt.time(0, 0),
                           end_time=dt.time(23, 59)) for d in range(7))


@pytest.fixture
def emergency(alice, carol, dave):
    """Carol and Dave are both in Alice's care team and on duty; Alice raises an emergency."""
    for doctor in (carol, dave):
        CareTeamMember.objects.create(doctor=doctor.doctor_profile, patient=alice.patient_record)
        on_duty(doctor)
    appointment = services.emergency_request(requested_by=alice, patient=alice.patient_record,
                                             reason="Chest pain and panic")
    assert set(EmergencyAlert.objects.values_list("recipient_id", flat=True)) == {carol.pk, dave.pk}
    return appointment


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_queue_lists_the_emergency_with_an_accept_button(client, carol, emergency):
    login_verified(client, carol)
    body = client.get("/doctor/emergencies/").content.decode()
    assert "Alice Patient" in body and "Chest pain and panic" in body
    assert f'action="/doctor/emergencies/{emergency.id}/accept/"' in body


def test_count_badge(client, carol, bob, emergency):
    login_verified(client, carol)
    response = client.get("/doctor/emergencies/count/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert '<span class="count-badge">1<' in response.content.decode()
    client.logout()
    # signed out: htmx stops polling instead of swapping the login page into the badge
    assert client.get("/doctor/emergencies/count/", HTTP_HX_REQUEST="true").status_code == 286
    login_verified(client, bob)
    assert client.get("/doctor/emergencies/count/", HTTP_HX_REQUEST="true").status_code == 404


def test_count_badge_is_empty_when_nothing_waits(client, carol):
    login_verified(client, carol)
    assert client.get("/doctor/emergencies/count/").content.decode().strip() == ""


def test_first_doctor_wins_the_second_is_told_who(client, carol, dave, alice, emergency):
    url = f"/doctor/emergencies/{emergency.id}/accept/"
    login_verified(client, carol)
    response = client.post(url, {"next": "/doctor/emergencies/"})
    assert response.status_code == 302 and response.url == f"/appointments/{emergency.id}/"
    emergency.refresh_from_db()
    assert emergency.doctor == carol.doctor_profile and emergency.status == AppointmentStatus.CONFIRMED

    client.logout()
    login_verified(client, dave)
    response = client.post(url, {"next": "/doctor/emergencies/"})
    assert response.status_code == 302 and response.url == "/doctor/emergencies/"
    assert "This emergency was already accepted by Carol Doctor." in texts(response)
    emergency.refresh_from_db()
    assert emergency.doctor == carol.doctor_profile
    # it left both queues
    assert "Chest pain" not in client.get("/doctor/emergencies/").content.decode()


def test_second_doctor_alerted_through_the_hospital_is_told_who(client, alice, carol, dave, hana):
    """Dave is not in Alice's care team (alerted because he works at her hospital): after Carol
    accepts he can no longer see the appointment, but still learns who took it."""
    hospital = hana.hospital_staff.hospital
    HospitalPatient.objects.create(hospital=hospital, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=hospital, doctor=dave.doctor_profile)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    on_duty(carol)
    on_duty(dave)
    emergency = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help")
    login_verified(client, carol)
    client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    client.logout()
    login_verified(client, dave)
    response = client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    assert response.status_code == 302
    assert "This emergency was already accepted by Carol Doctor." in texts(response)


def test_accepting_twice_by_the_winner_just_opens_it(client, carol, emergency):
    login_verified(client, carol)
    client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    response = client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    assert response.url == f"/appointments/{emergency.id}/"
    assert "You have already accepted this emergency." in texts(response)


def test_a_doctor_not_alerted_gets_404(client, alice, carol, dave):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    on_duty(carol)  # Dave is neither on duty nor in the care team: not alerted
    emergency = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help")
    login_verified(client, dave)
    assert "Help" not in client.get("/doctor/emergencies/").content.decode()
    assert client.post(f"/doctor/emergencies/{emergency.id}/accept/").status_code == 404
    assert Appointment.objects.get(pk=emergency.pk).doctor is None


@pytest.mark.parametrize("who", ["alice", "bob", "hana", "ada"])
def test_non_doctors_cannot_accept(client, request, who, emergency):
    login_verified(client, request.getfixturevalue(who))
    assert client.post(f"/doctor/emergencies/{emergency.id}/accept/").status_code == 404
    assert Appointment.objects.get(pk=emergency.pk).doctor is None


def test_anonymous_accept_redirects_to_login(client, emergency):
    response = client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_cancelled_emergency_cannot_be_accepted(client, alice, carol, emergency):
    services.appointment_cancel(actor=alice, appointment=emergency, reason="Feeling better")
    login_verified(client, carol)
    response = client.post(f"/doctor/emergencies/{emergency.id}/accept/")
    assert response.status_code == 302
    assert Appointment.objects.get(pk=emergency.pk).doctor is None
    assert "This emergency request is no longer waiting for a doctor." in texts(response)
