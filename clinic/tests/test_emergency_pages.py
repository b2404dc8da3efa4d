"""What the patient's side reads about an emergency (page and API): who was alerted and when, the
crisis lines of their country once nobody accepted in time, and that only they may withdraw it."""

import datetime as dt
import json

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic import services
from clinic.models import (
    Appointment,
    AppointmentStatus,
    CareTeamMember,
    EmergencyLadderStep,
    HospitalDoctor,
    HospitalPatient,
    WeeklyAvailability,
)
from conftest import login_verified
from tests.factories import HospitalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def off_duty_care(alice, carol, dave, riverside):
    """Alice is registered at Riverside; Carol (care team) and Dave (Riverside) are not on duty."""
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=dave.doctor_profile)
    return alice.patient_record


def hhmm(value):
    return timezone.localtime(value, dt.UTC).strftime("%H:%M")


def raise_on_page(client, user, patient):
    login_verified(client, user)
    response = client.post("/emergency/", {"patient": str(patient.pk), "reason": "I cannot breathe"})
    assert response.status_code == 302
    return Appointment.objects.get(patient=patient, type="emergency"), response


def age(emergency, minutes):
    """Pretend the emergency (and its ladder) was raised ``minutes`` earlier."""
    delta = dt.timedelta(minutes=minutes)
    Appointment.objects.filter(pk=emergency.pk).update(start=emergency.start - delta)
    for s in EmergencyLadderStep.objects.filter(appointment=emergency):
        EmergencyLadderStep.objects.filter(pk=s.pk).update(at=s.at - delta)


def test_the_page_says_who_was_alerted_and_when_when_nobody_is_on_duty(client, alice, grace, ada, off_duty_care,
                                                                      settings):
    emergency, response = raise_on_page(client, alice, off_duty_care)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Your emergency request was sent to 2 doctors."]
    body = client.get(f"/appointments/{emergency.pk}/").content.decode()
    at = hhmm(emergency.start)
    assert f"No doctor of the care team or hospital was on duty at {at}." in body
    assert f"Alerted 2 more doctors of the care team and hospitals at {at}." in body
    assert "Doctors on duty have been alerted" not in body
    later = emergency.start + dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES)
    assert f"If nobody accepts by {hhmm(later)}, the hospital staff and Haven" in body

    services.emergency_escalate(appointment_id=emergency.pk, now=later)
    login_verified(client, grace)  # family read the same
    status = client.get(f"/appointments/{emergency.pk}/status/").content.decode()
    assert f"Alerted 1 hospital staff member, 1 administrator at {hhmm(later)}." in status
    assert "If nobody accepts by" not in status


def test_crisis_lines_of_the_patients_country_once_nobody_accepted_in_time(client, alice, off_duty_care, settings):
    WeeklyAvailability.objects.bulk_create(  # Carol is on duty all day: someone was alerted
        WeeklyAvailability(doctor=off_duty_care.care_links.get().doctor, weekday=d, start_time=dt.time.min,
                           end_time=dt.time.max) for d in range(7))
    emergency, _ = raise_on_page(client, alice, off_duty_care)
    url = f"/appointments/{emergency.pk}/status/"
    assert "crisis-lines" not in client.get(url).content.decode()
    age(emergency, settings.EMERGENCY_CRISIS_LINES_MINUTES)
    body = client.get(url).content.decode()
    # Alice's phone is +1 202...: the United States' lines.
    assert 'id="crisis-lines"' in body and 'href="tel:988"' in body and 'href="tel:911"' in body
    assert "No doctor has accepted yet." in body

    response = client.get(f"/api/v1/appointments/{emergency.pk}",
                          HTTP_AUTHORIZATION=f"Bearer {issue_pair(alice)['access']}")
    facts = response.json()["emergency"]
    assert facts["waiting"] is True and facts["crisis_lines_shown"] is True and facts["country"] == "US"
    assert [line["number"] for line in facts["crisis_lines"]] == ["911", "988"]
    assert [(s["step"], s["doctors"]) for s in facts["steps"]] == [(1, 1)]
    assert facts["steps"][0]["text"].startswith("Alerted 1 doctor on duty at ")
    assert facts["next_step"] == 2 and facts["accepted_at"] is None

    services.emergency_accept(actor=off_duty_care.care_links.get().doctor.user, appointment=emergency)
    body = client.get(url).content.decode()
    assert "crisis-lines" not in body and "Dr. Carol Doctor accepted this request." in body


def test_crisis_lines_at_once_when_nobody_could_be_alerted_with_country_fallbacks(client, bob):
    record = bob.patient_record
    type(bob).objects.filter(pk=bob.pk).update(phone=None)
    type(record).objects.filter(pk=record.pk).update(contact="")
    bob.refresh_from_db()
    emergency, response = raise_on_page(client, bob, record)
    assert "nobody could be alerted" in [str(m) for m in get_messages(response.wsgi_request)][0]
    body = client.get(f"/appointments/{emergency.pk}/status/").content.decode()
    assert "Nobody could be alerted yet" in body and "https://findahelpline.com/" in body  # no country known

    HospitalPatient.objects.create(hospital=HospitalFactory(country="India"), patient=record)
    body = client.get(f"/appointments/{emergency.pk}/status/").content.decode()
    assert 'href="tel:14416"' in body and 'href="tel:112"' in body


def test_hospital_staff_are_not_offered_and_cannot_withdraw_an_emergency(client, alice, grace, hana, riverside,
                                                                        off_duty_care):
    # Raised at Riverside: the hospital's to manage, as its other appointments are.
    emergency = services.emergency_request(requested_by=alice, patient=off_duty_care, reason="Help",
                                           hospital=riverside)
    login_verified(client, hana)
    page = client.get(f"/appointments/{emergency.pk}/").content.decode()
    assert "Alice Patient" in page and "Withdraw this request" not in page
    response = client.post(f"/appointments/{emergency.pk}/cancel/", {"cancel-reason": "Duplicate"}, follow=True)
    assert "Only the patient or their family can withdraw an emergency request." in response.content.decode()
    api = client.delete(f"/api/v1/appointments/{emergency.pk}", data=json.dumps({"reason": "Duplicate"}),
                        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {issue_pair(hana)['access']}")
    assert api.status_code == 403
    emergency.refresh_from_db()
    assert emergency.status == AppointmentStatus.REQUESTED

    login_verified(client, grace)
    assert "Withdraw this request" in client.get(f"/appointments/{emergency.pk}/").content.decode()
    client.post(f"/appointments/{emergency.pk}/cancel/", {"cancel-reason": "She feels better"})
    emergency.refresh_from_db()
    assert emergency.status == AppointmentStatus.CANCELLED


def test_the_hospital_dashboard_lists_its_patients_emergencies(client, alice, carol, hana, off_duty_care):
    emergency = services.emergency_request(requested_by=alice, patient=off_duty_care, reason="Chest pain")
    login_verified(client, hana)
    body = client.get("/dashboard/").content.decode()
    assert 'id="emergency-live-hospital"' in body and 'data-emergency-count="1"' in body
    assert f'href="/appointments/{emergency.pk}/"' in body and "Waiting for a doctor" in body
    assert "Chest pain" not in body  # staff get who and since when, not the reason
    assert "js/emergency-live.js" in body
    services.emergency_accept(actor=carol, appointment=emergency)
    body = client.get("/dashboard/").content.decode()
    assert 'data-emergency-count="0"' in body and "Dr. Carol Doctor accepted it at" in body


@pytest.mark.parametrize("minutes", [1, 7])
def test_the_request_form_tells_the_ladder_with_the_configured_interval(client, alice, settings, minutes):
    settings.EMERGENCY_ESCALATION_MINUTES = minutes
    login_verified(client, alice)
    body = " ".join(client.get("/emergency/").content.decode().split())
    later = "1 minute later" if minutes == 1 else f"{minutes} minutes later"
    assert f"it alerts all their doctors {later}" in body
    assert "any doctor on duty" in body  # the last step reaches beyond the patient's own doctors: said before sending
