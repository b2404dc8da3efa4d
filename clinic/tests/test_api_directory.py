"""Hospitals, doctors and patients through /api/v1: the directory, and who may change what."""

import json

import pytest

from accounts.models import ApplicationStatus, Role, User
from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic import selectors
from clinic.models import DoctorProfile, Hospital, Patient
from clinic.tests.conftest import open_all_week
from tests.factories import AppointmentFactory, DoctorFactory, HospitalFactory, HospitalStaffFactory, PatientFactory

pytestmark = pytest.mark.django_db


def call(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


def fields(response):
    return {e["field"] for e in response.json()["detail"]}


HOSPITAL = {"name": "Lakeside Clinic", "address": "2 Lake Road", "contact": "+12025550199",
            "email": "desk@lakeside.example", "specialities": ["Psychiatry"]}


# --- hospitals -------------------------------------------------------------------------------------

def test_the_hospital_directory_lists_approved_hospitals_only(client, alice, riverside):
    HospitalFactory(name="Pending Place", status="pending")
    assert client.get("/api/v1/hospitals").status_code == 401
    body = call(client, alice, "get", "/hospitals").json()
    assert [h["name"] for h in body["items"]] == [riverside.name]
    pending = Hospital.objects.get(name="Pending Place")
    assert call(client, alice, "get", f"/hospitals/{pending.pk}").status_code == 404
    assert call(client, alice, "get", f"/hospitals/{riverside.pk}").json()["name"] == riverside.name


def test_only_admins_add_hospitals(client, ada, hana):
    assert call(client, hana, "post", "/hospitals", HOSPITAL).status_code == 403
    response = call(client, ada, "post", "/hospitals", HOSPITAL)
    assert response.status_code == 201
    hospital = Hospital.objects.get(pk=response.json()["id"])
    assert hospital.status == "approved" and hospital.decided_by == ada
    assert AuditEvent.objects.filter(action="hospital.created", target_id=str(hospital.pk)).exists()
    duplicate = call(client, ada, "post", "/hospitals", {**HOSPITAL, "name": "Copy"})
    assert duplicate.status_code == 422 and fields(duplicate) == {"email"}
    missing = call(client, ada, "post", "/hospitals", {"name": "No Contact", "address": "Somewhere"})
    assert missing.status_code == 422 and fields(missing) == {"contact"}


def test_staff_edit_their_own_hospital_only(client, hana, ada, alice, riverside):
    path = f"/hospitals/{riverside.pk}"
    assert call(client, hana, "put", path, {"city": "Springfield"}).json()["city"] == "Springfield"
    assert call(client, ada, "put", path, {"website": "https://riverside.example"}).status_code == 200
    otto = HospitalStaffFactory().user
    assert call(client, otto, "put", path, {"city": "Nope"}).status_code == 403
    assert call(client, alice, "put", path, {"city": "Nope"}).status_code == 403
    bad = call(client, hana, "put", path, {"website": "not a url"})
    assert bad.status_code == 422 and fields(bad) == {"website"}
    riverside.refresh_from_db()
    assert riverside.city == "Springfield"


def test_only_admins_delete_hospitals_and_never_with_appointments(client, ada, hana, riverside, care, carol):
    path = f"/hospitals/{riverside.pk}"
    assert call(client, hana, "delete", path).status_code == 403
    AppointmentFactory(patient=care, doctor=carol.doctor_profile, hospital=riverside, type="regular")
    assert call(client, ada, "delete", path).status_code == 409
    empty = HospitalFactory()
    assert call(client, ada, "delete", f"/hospitals/{empty.pk}").status_code == 204
    assert not Hospital.objects.filter(pk=empty.pk).exists()


def test_a_hospital_with_staff_is_not_deleted(client, ada):
    from tests.factories import HospitalStaffFactory

    staffed = HospitalStaffFactory().hospital
    response = call(client, ada, "delete", f"/hospitals/{staffed.pk}")
    assert response.status_code == 409 and "staff" in response.json()["detail"]
    assert Hospital.objects.filter(pk=staffed.pk).exists()


def test_hospital_doctors_are_directory_data(client, bob, care, carol, riverside):
    body = call(client, bob, "get", f"/hospitals/{riverside.pk}/doctors").json()
    assert [d["name"] for d in body["items"]] == ["Carol Doctor"]
    assert [h["name"] for h in call(client, bob, "get", f"/doctors/{carol.doctor_profile.pk}/hospitals").json()] == [
        riverside.name]


# --- doctors ---------------------------------------------------------------------------------------

def test_the_doctor_directory_filters_and_offers_first_free_slots(client, alice, care, carol, dave,
                                                                   django_assert_max_num_queries):
    pending = DoctorFactory(name="Pending Doctor")
    pending.doctor_applications.update(status=ApplicationStatus.PENDING)
    dave.doctor_profile.specialty = "Cardiology"
    dave.doctor_profile.save()
    names = [d["name"] for d in call(client, alice, "get", "/doctors").json()["items"]]
    assert names == ["Carol Doctor", "Dave Doctor"]
    assert [d["name"] for d in call(client, alice, "get", "/doctors?specialty=cardiology").json()["items"]] == [
        "Dave Doctor"]
    assert [d["name"] for d in call(client, alice, "get", "/doctors?search=caro").json()["items"]] == ["Carol Doctor"]
    assert [d["name"] for d in call(client, alice, "get", "/doctors?mode=remote").json()["items"]] == ["Carol Doctor"]
    assert call(client, alice, "get", "/doctors").json()["items"][0]["first_free"] is None
    for i in range(5):
        open_all_week(DoctorFactory(name=f"Zed Doctor {i}").doctor_profile)
    with django_assert_max_num_queries(30):  # 3 per doctor on the page, so bounded by ?limit
        body = call(client, alice, "get", "/doctors?with_first_free=true&limit=5").json()
    assert body["count"] == 7 and len(body["items"]) == 5
    carol_row, dave_row = body["items"][:2]
    assert carol_row["name"] == "Carol Doctor" and carol_row["first_free"]["mode"] == "remote"
    assert dave_row["first_free"] is None  # no availability
    assert call(client, alice, "get", f"/doctors/{pending.doctor_profile.pk}").status_code == 404


def test_admins_add_doctors_who_are_approved_at_once(client, ada, alice):
    body = {"name": "New Doctor", "email": "new.doc@example.com", "password": "Long-enough-pass-42",
            "specialty": "Neurology", "years_experience": 4, "languages": ["en", "hi"],
            "consultation_modes": ["remote"]}
    assert call(client, alice, "post", "/doctors", body).status_code == 403
    response = call(client, ada, "post", "/doctors", body)
    assert response.status_code == 201, response.content
    profile = DoctorProfile.objects.get(pk=response.json()["id"])
    assert profile.user.role == Role.DOCTOR and selectors.doctor_profile_of(profile.user) == profile
    assert call(client, alice, "get", f"/doctors/{profile.pk}").json()["languages"] == ["en", "hi"]
    assert AuditEvent.objects.filter(action="doctor.created", actor=ada).exists()
    again = call(client, ada, "post", "/doctors", body)
    assert again.status_code == 422 and fields(again) == {"email"}


def test_the_doctor_or_an_admin_edits_the_profile(client, carol, dave, ada, alice):
    path = f"/doctors/{carol.doctor_profile.pk}"
    response = call(client, carol, "put", path, {"designation": "Consultant", "shift_start": "08:00",
                                                 "shift_end": "16:00", "consultation_modes": ["regular", "remote"]})
    assert response.status_code == 200
    assert response.json()["designation"] == "Consultant" and response.json()["shift_start"] == "08:00:00"
    assert call(client, ada, "put", path, {"accepts_new_patients": False}).json()["accepts_new_patients"] is False
    assert call(client, dave, "put", path, {"designation": "Nope"}).status_code == 403
    assert call(client, alice, "put", path, {"designation": "Nope"}).status_code == 403
    backwards = call(client, carol, "put", path, {"shift_start": "16:00", "shift_end": "08:00"})
    assert backwards.status_code == 422 and fields(backwards) == {"shift_end"}
    bad_mode = call(client, carol, "put", path, {"consultation_modes": ["telepathy"]})
    assert bad_mode.status_code == 422 and fields(bad_mode) == {"consultation_modes.0"}


def test_deleting_a_doctor_deactivates_the_account(client, carol, ada, alice):
    path = f"/doctors/{carol.doctor_profile.pk}"
    assert call(client, carol, "delete", path).status_code == 403
    assert call(client, ada, "delete", path).status_code == 204
    carol.refresh_from_db()
    assert carol.is_active is False and DoctorProfile.objects.filter(pk=carol.doctor_profile.pk).exists()
    assert call(client, alice, "get", path).status_code == 404


# --- patients ---------------------------------------------------------------------------------------

def test_patient_detail_has_the_age(client, alice):
    body = call(client, alice, "get", f"/patients/{alice.patient_record.pk}").json()
    assert body["name"] == "Alice Patient" and body["date_of_birth"] == "1990-05-17" and body["age"] >= 35
    assert body["has_account"] is True


def test_patients_list_is_scoped_and_searchable(client, care, hana, bob, grace):
    names = [p["name"] for p in call(client, hana, "get", "/patients").json()["items"]]
    assert names == ["Alice Patient"]
    assert [p["name"] for p in call(client, grace, "get", "/patients?search=grace").json()["items"]] == ["Grace Family"]
    assert [p["name"] for p in call(client, bob, "get", "/patients").json()["items"]] == ["Bob Other"]


def test_those_who_act_for_the_patient_edit_the_details(client, care, alice, grace, carol, hana, ada):
    path = f"/patients/{care.pk}"
    assert call(client, grace, "put", path, {"emergency_contact": "Grace +1202555"}).status_code == 200
    assert call(client, ada, "put", path, {"contact": "+12025550000"}).status_code == 200
    assert call(client, carol, "put", path, {"contact": "x"}).status_code == 403
    assert call(client, hana, "put", path, {"contact": "x"}).status_code == 403
    future = call(client, alice, "put", path, {"date_of_birth": "2999-01-01"})
    assert future.status_code == 422 and fields(future) == {"date_of_birth"}
    care.refresh_from_db()
    assert care.emergency_contact == "Grace +1202555" and care.contact == "+12025550000"
    assert AuditEvent.objects.filter(action="patient.updated", actor=grace).exists()


def test_only_admins_delete_patients_without_appointments(client, care, alice, carol, ada):
    assert call(client, alice, "delete", f"/patients/{care.pk}").status_code == 403
    AppointmentFactory(patient=care, doctor=carol.doctor_profile)
    assert call(client, ada, "delete", f"/patients/{care.pk}").status_code == 409
    lonely = PatientFactory()
    assert call(client, ada, "delete", f"/patients/{lonely.pk}").status_code == 204
    assert not Patient.objects.filter(pk=lonely.pk).exists()
    assert User.objects.filter(pk=alice.pk).exists()


def test_patient_doctors_and_hospitals(client, care, grace, bob, carol, riverside):
    assert [d["name"] for d in call(client, grace, "get", f"/patients/{care.pk}/doctors").json()] == ["Carol Doctor"]
    assert [h["name"] for h in call(client, grace, "get", f"/patients/{care.pk}/hospitals").json()] == [riverside.name]
    assert call(client, bob, "get", f"/patients/{care.pk}/doctors").status_code == 404
    assert call(client, bob, "get", f"/patients/{care.pk}/hospitals").status_code == 404
