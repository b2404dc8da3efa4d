"""Sign-ups and sign-in for native clients: every sign-up takes a JSON body (files as base64
objects) as well as multipart, with the same checks (uploads by content and size) and 4xx JSON
field errors; /auth/login takes ``email`` or ``phone`` as well as ``login``."""

import base64
import json

import pytest

from accounts.models import DoctorApplication, Role, User
from clinic.models import Hospital
from conftest import PASSWORD, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(f"/api/v1/auth/{path}", json.dumps(body), content_type="application/json")


def b64file(upload):
    upload.seek(0)
    return {"name": upload.name, "content_type": upload.content_type, "data": base64.b64encode(upload.read()).decode()}


DOCTOR = {"name": "Ana Ruiz", "email": "ana@example.com", "phone": "+12025550199", "password": "Lantern-river-93",
          "specialty": "Psychiatry", "years_experience": 5, "cv_text": "MD",
          "proposed_timeslots": [{"weekday": 4, "start": "09:00", "end": "11:00"}]}


def test_a_patient_signs_up_with_json_and_a_base64_photo(client):
    response = post(client, "patient-signup", {
        "name": "Luis Moreno", "date_of_birth": "1980-02-02", "gender": "male", "phone": "+34 612 345 678",
        "password": "Lantern-river-93", "email": "luis@example.com", "photo": b64file(png_upload())})
    assert response.status_code == 202, response.content
    user = User.objects.get(phone="+34612345678")
    assert user.role == Role.PATIENT and user.photo  # re-encoded like a multipart photo


def test_a_doctor_applies_with_json_and_a_base64_identity_proof(client):
    response = post(client, "doctor-signup", {**DOCTOR, "identity_proof": b64file(pdf_upload()),
                                              "cv_file": b64file(pdf_upload("cv.pdf"))})
    assert response.status_code == 202, response.content
    application = DoctorApplication.objects.get(user__email="ana@example.com")
    assert application.status == "pending" and application.proposed_timeslots[0]["weekday"] == 4
    assert application.identity_proof_type == "application/pdf" and application.cv_file


@pytest.mark.parametrize("proof, field", [
    (None, "identity_proof"),
    ({"name": "id.pdf", "data": base64.b64encode(b"MZ\x90\x00 not a pdf at all").decode()}, "identity_proof"),
    ({"name": "id.pdf", "data": "%%% not base64 %%%"}, "identity_proof.data"),
    ({"name": "id.pdf"}, "identity_proof.data"),
])
def test_json_uploads_get_the_same_checks_and_field_errors(client, proof, field):
    body = {**DOCTOR, **({"identity_proof": proof} if proof is not None else {})}
    response = post(client, "doctor-signup", body)
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["detail"]}
    assert not User.objects.exists()


def test_an_oversized_base64_file_is_refused_before_it_is_decoded(client, settings):
    settings.MAX_UPLOAD_MB = 1
    big = base64.b64encode(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)).decode()
    response = post(client, "doctor-signup", {**DOCTOR, "identity_proof": {"name": "id.pdf", "data": big}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "identity_proof"


def test_bad_json_and_other_content_types_are_4xx(client, settings):
    assert client.post("/api/v1/auth/patient-signup", "{nope", content_type="application/json").status_code == 400
    assert client.post("/api/v1/auth/patient-signup", "[]", content_type="application/json").status_code == 422
    assert client.post("/api/v1/auth/patient-signup", "x", content_type="text/plain").status_code == 415
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    too_big = post(client, "patient-signup", {"name": "x" * 200})
    assert too_big.status_code == 413 and "multipart" in too_big.json()["detail"]
    assert not User.objects.exists()


def test_a_hospital_registers_with_a_form_as_well_as_json(client):
    response = client.post("/api/v1/auth/hospital-signup", {
        "hospital_name": "Northside Clinic", "address": "1 North St", "contact": "+12025550142",
        "specialities": ["Psychiatry", "Psychology"], "name": "Nora North", "email": "nora@northside.example",
        "password": "Lantern-river-93"})
    assert response.status_code == 202, response.content
    assert Hospital.objects.get(name="Northside Clinic").specialities == ["Psychiatry", "Psychology"]
    bad = post(client, "hospital-signup", {"hospital_name": "N", "address": "", "contact": "1"})
    assert bad.status_code == 422
    assert {"hospital_name", "address", "email"} <= {e["field"] for e in bad.json()["detail"]}


@pytest.mark.parametrize("key", ["email", "phone", "login"])
def test_login_takes_email_or_phone_or_login(client, alice, key):
    value = alice.phone if key == "phone" else alice.email
    response = post(client, "login", {key: value, "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert response.json()["access"]


def test_login_needs_exactly_one_identifier(client, alice):
    assert post(client, "login", {"password": PASSWORD}).status_code == 422
    both = post(client, "login", {"email": alice.email, "phone": alice.phone, "password": PASSWORD})
    assert both.status_code == 422
    assert post(client, "login", {"email": alice.email, "password": "wrong-password"}).status_code == 401
