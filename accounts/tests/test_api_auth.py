import datetime as dt
import json

import jwt
import pytest
from django.conf import settings

from accounts.models import DoctorApplication, Role, User
from accounts.tokens import issue_pair
from conftest import PASSWORD, pdf_upload, totp_code, totp_enrol

pytestmark = pytest.mark.django_db


def post(client, path, body, **extra):
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json", **extra)


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_api_root_names_the_api(client):
    body = client.get("/api/v1/").json()
    assert body["name"] == "Haven API" and body["version"] == "1"
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("login_attr", ["email", "phone"])
def test_login_with_email_or_phone_returns_working_tokens(client, alice, login_attr):
    response = post(client, "/auth/login", {"login": getattr(alice, login_attr), "password": PASSWORD})
    assert response.status_code == 200
    tokens = response.json()
    me = client.get("/api/v1/users/me", **bearer(tokens["access"]))
    assert me.status_code == 200 and me.json()["id"] == str(alice.pk)


def test_wrong_password_is_401_json(client, alice):
    response = post(client, "/auth/login", {"login": alice.email, "password": "nope"})
    assert response.status_code == 401 and "not correct" in response.json()["detail"]


def test_validation_errors_name_the_field(client):
    response = post(client, "/auth/login", {"password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "login"


def test_two_factor_code_is_asked_for_and_single_use(client, alice):
    device = totp_enrol(alice)
    first = post(client, "/auth/login", {"login": alice.email, "password": PASSWORD})
    assert first.status_code == 401 and first.json()["otp_required"] is True
    code = totp_code(device)
    assert post(client, "/auth/login", {"login": alice.email, "password": PASSWORD, "otp": code}).status_code == 200
    replay = post(client, "/auth/login", {"login": alice.email, "password": PASSWORD, "otp": code})
    assert replay.status_code == 401


def test_doctor_without_2fa_cannot_use_the_api(client, carol):
    response = post(client, "/auth/login", {"login": carol.email, "password": PASSWORD})
    assert response.status_code == 403 and "two-factor" in response.json()["detail"]


def test_refresh_gives_new_tokens_and_access_tokens_cannot_refresh(client, alice):
    tokens = issue_pair(alice)
    response = post(client, "/auth/refresh", {"refresh": tokens["refresh"]})
    assert response.status_code == 200
    assert client.get("/api/v1/users/me", **bearer(response.json()["access"])).status_code == 200
    assert post(client, "/auth/refresh", {"refresh": tokens["access"]}).status_code == 401
    # a refresh token is not an access token either
    assert client.get("/api/v1/users/me", **bearer(tokens["refresh"])).status_code == 401


def test_expired_and_forged_tokens_are_rejected(client, alice):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    claims = {"sub": str(alice.pk), "type": "access", "exp": past, "fp": "x"}
    expired = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256")
    response = client.get("/api/v1/users/me", **bearer(expired))
    assert response.status_code == 401 and "detail" in response.json()
    forged = jwt.encode({**claims, "exp": past + dt.timedelta(hours=1)}, "not-the-signing-key-but-long-enough-for-hs256", algorithm="HS256")
    assert client.get("/api/v1/users/me", **bearer(forged)).status_code == 401
    assert client.get("/api/v1/users/me").status_code == 401


def test_password_change_revokes_tokens(client, alice):
    tokens = issue_pair(alice)
    alice.set_password("A-brand-new-pass-7")
    alice.save()
    assert client.get("/api/v1/users/me", **bearer(tokens["access"])).status_code == 401
    assert post(client, "/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401


def test_patient_signup_api(client):
    response = client.post("/api/v1/auth/patient-signup", {
        "name": "Luis Moreno", "date_of_birth": "1980-02-02", "gender": "male", "phone": "+34 612 345 678",
        "password": "Lantern-river-93", "preferred_language": "es"})
    # issue 9: 202 with the same answer whether the phone was new or taken; then sign in
    assert response.status_code == 202, response.json()
    assert User.objects.get(phone="+34612345678").role == "patient"
    tokens = post(client, "/auth/login", {"login": "+34 612 345 678", "password": "Lantern-river-93"}).json()
    assert client.get("/api/v1/users/me", **bearer(tokens["access"])).status_code == 200


def test_patient_signup_api_errors_name_fields(client, alice):
    response = client.post("/api/v1/auth/patient-signup", {
        "name": "X", "date_of_birth": "2999-01-01", "gender": "male", "phone": alice.phone, "password": "password"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]}
    assert "date_of_birth" in fields or "phone" in fields or "password" in fields
    assert User.objects.count() == 1


def test_doctor_signup_api_is_multipart_with_identity_proof(client):
    response = client.post("/api/v1/auth/doctor-signup", {
        "name": "Ana Ruiz", "email": "ana@example.com", "phone": "+12025550199", "password": "Lantern-river-93",
        "specialty": "Psychiatry", "years_experience": 5, "cv_text": "MD",
        "proposed_timeslots": json.dumps([{"weekday": 4, "start": "09:00", "end": "11:00"}]),
        "identity_proof": pdf_upload()})
    assert response.status_code == 202, response.content  # issue 9: same answer for a taken e-mail
    assert DoctorApplication.objects.get(user__email="ana@example.com").status == "pending"
    assert DoctorApplication.objects.get(user__email="ana@example.com").proposed_timeslots[0]["weekday"] == 4
    missing = client.post("/api/v1/auth/doctor-signup", {"name": "B", "email": "b@example.com"})
    assert missing.status_code == 422


def test_doctor_signup_api_rejects_bad_timeslots_json(client):
    response = client.post("/api/v1/auth/doctor-signup", {
        "name": "Ana Ruiz", "email": "ana@example.com", "phone": "+12025550199", "password": "Lantern-river-93",
        "specialty": "Psychiatry", "years_experience": 5, "cv_text": "MD", "proposed_timeslots": "{nope",
        "identity_proof": pdf_upload()})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "proposed_timeslots"
    assert not User.objects.exists()


def test_hospital_signup_api(client):
    response = post(client, "/auth/hospital-signup", {
        "hospital_name": "Northside Clinic", "address": "1 North St", "contact": "+12025550142",
        "specialities": ["Psychiatry"], "name": "Nora North", "email": "nora@northside.example",
        "password": "Lantern-river-93"})
    assert response.status_code == 202, response.json()  # issue 9: same answer for a taken e-mail
    assert User.objects.get(email="nora@northside.example").role == Role.HOSPITAL


def test_only_admins_create_admins(client, ada, alice):
    body = {"name": "Second Admin", "email": "admin2@example.com", "password": "Lantern-river-93"}
    assert post(client, "/auth/signup", body, **bearer(issue_pair(alice)["access"])).status_code == 403
    assert post(client, "/auth/signup", body).status_code == 401
    response = post(client, "/auth/signup", body, **bearer(issue_pair(ada)["access"]))
    assert response.status_code == 201 and response.json()["role"] == "admin"
    assert User.objects.get(email="admin2@example.com").is_staff
