"""Hospital-staff pages: access matrix, appointment filters, doctors and patients mappings."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from analytics.models import AuditEvent
from clinic import services
from clinic.models import Appointment, AppointmentStatus, AppointmentType, HospitalDoctor, HospitalPatient
from clinic.views.hospital import hospital_dashboard_context
from conftest import login_verified
from tests.factories import HospitalStaffFactory, PatientFactory

pytestmark = pytest.mark.django_db

PAGES = ["/hospital/appointments/", "/hospital/doctors/", "/hospital/patients/"]


@pytest.fixture
def hospital_h(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def hugo(db):
    """Staff of another hospital."""
    return HospitalStaffFactory(user__name="Hugo Other", user__email="hugo@example.com").user


@pytest.fixture
def setup(hospital_h, alice, bob, carol, dave):
    HospitalDoctor.objects.create(hospital=hospital_h, doctor=carol.doctor_profile)
    HospitalDoctor.objects.create(hospital=hospital_h, doctor=dave.doctor_profile)
    HospitalPatient.objects.create(hospital=hospital_h, patient=alice.patient_record)
    return hospital_h


def day_at(days, hour, minute=0):
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def appointment(patient, doctor_user, start, hospital=None, **kw):
    kw.setdefault("type", AppointmentType.REGULAR if hospital else AppointmentType.REMOTE)
    return Appointment.objects.create(patient=patient, doctor=doctor_user.doctor_profile, hospital=hospital,
                                      start=start, end=start + dt.timedelta(minutes=30), **kw)


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- access matrix -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", PAGES)
def test_it_redirects_anonymous_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("who", ["alice", "bob", "carol", "dave", "ada"])
def test_it_is_404_for_everyone_but_staff(client, request, url, who):
    login_verified(client, request.getfixturevalue(who))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES)
def test_staff_see_their_pages(client, hana, url):
    login_verified(client, hana)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/hospital/doctors/add/", "/hospital/patients/add/",
                                 "/hospital/doctors/00000000-0000-0000-0000-000000000000/remove/",
                                 "/hospital/patients/00000000-0000-0000-0000-000000000000/remove/"])
def test_it_rejects_get_on_changes(client, hana, url):
    login_verified(client, hana)
    assert client.get(url).status_code == 405


def test_other_hospitals_staff_see_nothing_of_h_and_cannot_remove_its_links(client, setup, hugo, alice, carol):
    a = appointment(alice.patient_record, carol, day_at(1, 10), hospital=setup)
    login_verified(client, hugo)
    assert str(a.id) not in client.get("/hospital/appointments/").content.decode()
    assert "Carol Doctor" not in client.get("/hospital/doctors/").content.decode()
    assert "Alice Patient" not in client.get("/hospital/patients/").content.decode()
    doctor_link = HospitalDoctor.objects.get(hospital=setup, doctor=carol.doctor_profile)
    patient_link = HospitalPatient.objects.get(hospital=setup)
    assert client.post(f"/hospital/doctors/{doctor_link.id}/remove/").status_code == 404
    assert client.post(f"/hospital/patients/{patient_link.id}/remove/").status_code == 404
    assert HospitalDoctor.objects.filter(pk=doctor_link.pk).exists()
    assert HospitalPatient.objects.filter(pk=patient_link.pk).exists()


# --- appointments --------------------------------------------------------------------------------------

@pytest.fixture
def booked(setup, alice, bob, carol, dave):
    alice_p, bob_p = alice.patient_record, bob.patient_record
    return {
        "carol_tomorrow": appointment(alice_p, carol, day_at(1, 9), hospital=setup, reason="SECRET-REASON",
                                      notes="SECRET-NOTES"),
        "dave_in_3_days": appointment(alice_p, dave, day_at(3, 9), hospital=setup,
                                      status=AppointmentStatus.CONFIRMED),
        "carol_online": appointment(alice_p, carol, day_at(2, 9)),  # registered patient, hospital doctor
        "carol_last_week": appointment(alice_p, carol, day_at(-7, 9), hospital=setup,
                                       status=AppointmentStatus.COMPLETED),
        "elsewhere": appointment(bob_p, carol, day_at(1, 15)),  # Bob is not registered at H
    }


def listed(response):
    return {str(a.id) for a in response.context["page"]}


def test_appointments_default_to_upcoming_and_never_show_reason_or_notes(client, hana, booked):
    login_verified(client, hana)
    response = client.get("/hospital/appointments/")
    assert listed(response) == {str(booked[k].id) for k in ("carol_tomorrow", "dave_in_3_days", "carol_online")}
    body = response.content.decode()
    assert "SECRET" not in body
    assert "Times are in your time zone (UTC)" in body


def test_appointments_filters(client, hana, booked, dave):
    login_verified(client, hana)
    ids = lambda *keys: {str(booked[k].id) for k in keys}  # noqa: E731
    assert listed(client.get("/hospital/appointments/?date_from=")) == ids(
        "carol_tomorrow", "dave_in_3_days", "carol_online", "carol_last_week")
    assert listed(client.get(f"/hospital/appointments/?doctor={dave.doctor_profile.id}")) == ids("dave_in_3_days")
    assert listed(client.get("/hospital/appointments/?status=confirmed")) == ids("dave_in_3_days")
    assert listed(client.get("/hospital/appointments/?type=remote")) == ids("carol_online")
    to = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    assert listed(client.get(f"/hospital/appointments/?date_to={to}")) == ids("carol_tomorrow", "carol_online")
    frm = (timezone.localdate() - dt.timedelta(days=8)).isoformat()
    to = (timezone.localdate() - dt.timedelta(days=6)).isoformat()
    assert listed(client.get(f"/hospital/appointments/?date_from={frm}&date_to={to}")) == ids("carol_last_week")


@pytest.mark.parametrize("query", ["doctor=not-a-doctor", "date_from=31-31-2020", "status=nope", "type=x",
                                   "page=abc", "page=999", "date_from=2030-01-02&date_to=2030-01-01"])
def test_bad_filters_are_errors_not_500(client, hana, booked, query):
    login_verified(client, hana)
    response = client.get(f"/hospital/appointments/?{query}")
    assert response.status_code == 200


def test_appointments_use_the_viewers_time_zone(client, hana, booked):
    hana.timezone = "Asia/Tokyo"
    hana.save()
    login_verified(client, hana)
    body = client.get("/hospital/appointments/").content.decode()
    tokyo = booked["carol_tomorrow"].start.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert tokyo.strftime("%H:%M") in body and "(Asia/Tokyo)" in body


def test_appointments_are_paginated(client, hana, setup, carol):
    patients = PatientFactory.create_batch(30)
    for i, patient in enumerate(patients):
        appointment(patient, carol, day_at(1 + i // 8, 8 + i % 8), hospital=setup)
    login_verified(client, hana)
    first = client.get("/hospital/appointments/")
    second = client.get("/hospital/appointments/?page=2")
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 5
    assert "?page=2" in first.content.decode()


# --- doctors -------------------------------------------------------------------------------------------

def test_doctor_search_add_and_remove(client, hana, hospital_h, carol, dave):
    HospitalDoctor.objects.create(hospital=hospital_h, doctor=carol.doctor_profile)
    login_verified(client, hana)
    response = client.get("/hospital/doctors/?q=dave")
    assert [d.pk for d in response.context["results"]] == [dave.doctor_profile.pk]
    # by exact email; partial emails do not match
    assert [d.pk for d in client.get("/hospital/doctors/?q=dave@example.com").context["results"]] == [
        dave.doctor_profile.pk]
    assert client.get("/hospital/doctors/?q=@example.com").context["results"] == []
    # already linked doctors are not offered again
    assert client.get("/hospital/doctors/?q=carol").context["results"] == []

    response = client.post("/hospital/doctors/add/", {"id": str(dave.doctor_profile.id)})
    assert response.status_code == 302
    link = HospitalDoctor.objects.get(hospital=hospital_h, doctor=dave.doctor_profile)
    assert AuditEvent.objects.filter(action="mapping.hospital_doctor.added", actor=hana).exists()
    assert "Dave Doctor" in client.get("/hospital/doctors/").content.decode()

    response = client.post(f"/hospital/doctors/{link.id}/remove/")
    assert response.status_code == 302
    assert not HospitalDoctor.objects.filter(pk=link.pk).exists()
    assert AuditEvent.objects.filter(action="mapping.hospital_doctor.removed", actor=hana).exists()


@pytest.mark.parametrize("data", [{}, {"id": "nope"}, {"id": "00000000-0000-0000-0000-000000000000"}])
def test_doctor_add_bad_input_is_a_message(client, hana, data):
    login_verified(client, hana)
    response = client.post("/hospital/doctors/add/", data)
    assert response.status_code == 302 and texts(response)
    assert not HospitalDoctor.objects.exists()


# --- patients ------------------------------------------------------------------------------------------

def test_patient_register_by_email_or_phone_search_and_remove(client, hana, hospital_h, alice, bob):
    login_verified(client, hana)
    response = client.post("/hospital/patients/add/", {"login": "ALICE@example.com"})
    assert response.status_code == 302
    response = client.post("/hospital/patients/add/", {"login": bob.phone})
    assert response.status_code == 302
    # Issue 9: registering by login is an invitation each patient accepts.
    invited = HospitalPatient.with_invitations.filter(hospital=hospital_h)
    assert set(invited.values_list("patient_id", flat=True)) == {alice.patient_record.pk, bob.patient_record.pk}
    assert set(invited.values_list("consent", flat=True)) == {"pending"}
    assert AuditEvent.objects.filter(action="mapping.hospital_patient.invited", actor=hana).count() == 2
    assert "Invitation pending" in client.get("/hospital/patients/").content.decode()
    for patient in (alice, bob):
        services.access_accept(actor=patient, link=invited.get(patient=patient.patient_record))

    response = client.post("/hospital/patients/add/", {"login": "alice@example.com"})
    assert "already registered" in texts(response)[-1]

    found = client.get("/hospital/patients/?q=bob").context["page"]
    assert [link.patient.name for link in found] == ["Bob Other"]

    link = HospitalPatient.objects.get(patient=bob.patient_record)
    assert client.post(f"/hospital/patients/{link.id}/remove/").status_code == 302
    assert not HospitalPatient.objects.filter(pk=link.pk).exists()


@pytest.mark.parametrize("login", ["", "nobody@example.com", "carol@example.com", "+10000000000"])
def test_patient_register_unknown_or_non_patient_account_is_an_error(client, hana, carol, login):
    login_verified(client, hana)
    response = client.post("/hospital/patients/add/", {"login": login})
    assert response.status_code == 400
    assert not HospitalPatient.objects.exists()


def test_patients_page_shows_demographics_only(client, hana, setup, alice, carol):
    appointment(alice.patient_record, carol, day_at(1, 9), hospital=setup, reason="SECRET-REASON")
    login_verified(client, hana)
    body = client.get("/hospital/patients/").content.decode()
    assert "Alice Patient" in body and "SECRET" not in body


# --- dashboard -------------------------------------------------------------------------------------------

def test_hospital_dashboard_context(hana, booked, setup, alice, carol):
    today = appointment(alice.patient_record, carol, timezone.now() + dt.timedelta(minutes=1), hospital=setup)
    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        context = hospital_dashboard_context(hana)
    assert context["hospital"] == setup
    assert context["doctors_count"] == 2 and context["patients_count"] == 1
    if timezone.localdate() == today.start.date():
        assert today in context["today_appointments"]


def test_hospital_dashboard_renders(client, hana, setup):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/dashboard/")
    request.user, request.session = hana, SessionStore()
    request._messages = FallbackStorage(request)
    html = render_to_string("dashboards/hospital.html", {"two_factor_enabled": False,
                                                          **hospital_dashboard_context(hana)}, request=request)
    assert "/hospital/appointments/" in html and "/hospital/doctors/" in html and "/hospital/patients/" in html
    assert "/hospital/staff/" in html
