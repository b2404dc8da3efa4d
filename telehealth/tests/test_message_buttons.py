""""Message" buttons on the appointment page, the doctor's profile and the doctor's patient page:
shown only where a chat is allowed (inside a care team: telehealth.chat.chat_start_allowed), and
they open — or create — the conversation between that patient and doctor."""

import pytest

from clinic.models import CareTeamMember, UserPatientRelation
from conftest import login_verified
from telehealth.models import Chat
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return alice.patient_record


def start(client, patient, doctor):
    return client.post("/chats/start/", {"patient": str(patient.pk), "doctor": str(doctor.pk)})


def has_button(html, patient, doctor):
    return ('action="/chats/start/"' in html and f'name="patient" value="{patient.pk}"' in html
            and f'name="doctor" value="{doctor.pk}"' in html)


def test_the_patient_messages_their_doctor_from_the_profile(client, team, alice, carol):
    doctor = carol.doctor_profile
    login_verified(client, alice)
    html = client.get(f"/doctors/{doctor.pk}/").content.decode()
    assert has_button(html, team, doctor) and "Message Dr. Carol Doctor" in html
    assert not Chat.objects.exists()
    response = start(client, team, doctor)
    chat = Chat.objects.get(patient=team, doctor=doctor)  # created on first use
    assert response.status_code == 302 and response["Location"] == f"/chats/{chat.pk}/"
    assert start(client, team, doctor)["Location"] == f"/chats/{chat.pk}/"  # then reopened
    assert Chat.objects.count() == 1


def test_no_button_and_no_chat_outside_the_care_team(client, alice, dave):
    doctor = dave.doctor_profile
    login_verified(client, alice)
    html = client.get(f"/doctors/{doctor.pk}/").content.decode()
    assert 'action="/chats/start/"' not in html
    assert start(client, alice.patient_record, doctor).status_code == 404
    assert not Chat.objects.exists()


def test_a_care_team_invitation_not_yet_accepted_allows_no_chat(client, alice, carol):
    CareTeamMember.with_invitations.create(doctor=carol.doctor_profile, patient=alice.patient_record,
                                           consent="pending")
    login_verified(client, alice)
    assert 'action="/chats/start/"' not in client.get(f"/doctors/{carol.doctor_profile.pk}/").content.decode()
    assert start(client, alice.patient_record, carol.doctor_profile).status_code == 404


def test_family_gets_one_button_per_person_in_the_doctors_care(client, team, alice, grace, carol):
    mia = PatientFactory(name="Mia Kid")
    UserPatientRelation.objects.create(user=grace, patient=mia, relation="child")
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=mia)
    login_verified(client, grace)
    html = client.get(f"/doctors/{carol.doctor_profile.pk}/").content.decode()
    assert "Message Dr. Carol Doctor about Alice Patient" in html and "about Mia Kid" in html
    assert start(client, mia, carol.doctor_profile).status_code == 302


def test_the_appointment_page_has_the_button_for_both_sides(client, team, alice, carol):
    appointment = AppointmentFactory(patient=team, doctor=carol.doctor_profile, status="confirmed")
    login_verified(client, alice)
    assert has_button(client.get(f"/appointments/{appointment.pk}/").content.decode(), team, carol.doctor_profile)
    login_verified(client, carol)
    html = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert has_button(html, team, carol.doctor_profile) and "Message Alice Patient" in html


def test_an_appointment_outside_the_care_team_has_no_button(client, alice, dave):
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=dave.doctor_profile, status="confirmed")
    login_verified(client, alice)
    assert 'action="/chats/start/"' not in client.get(f"/appointments/{appointment.pk}/").content.decode()


def test_the_doctor_messages_a_patient_from_their_page(client, team, carol):
    login_verified(client, carol)
    html = client.get(f"/doctor/patients/{team.pk}/").content.decode()
    assert has_button(html, team, carol.doctor_profile)
    response = start(client, team, carol.doctor_profile)
    assert response["Location"] == f"/chats/{Chat.objects.get(patient=team).pk}/"


def test_nobody_opens_a_chat_for_someone_else(client, team, bob, dave, hana, carol):
    for user in (bob, dave, hana):
        login_verified(client, user)
        assert start(client, team, carol.doctor_profile).status_code == 404
    assert not Chat.objects.exists()


@pytest.mark.parametrize("body", [{}, {"patient": "nope", "doctor": "nope"}])
def test_bad_input_is_404_not_500(client, alice, body):
    login_verified(client, alice)
    assert client.post("/chats/start/", body).status_code == 404
