"""Sign-up must not tell whether an e-mail or phone already has an account: the answer is the same
either way, and the owner of the existing account is told instead."""

import json

import pytest
from django.core import mail

from accounts.models import User
from accounts.tests.test_doctor_application import application_form
from accounts.tests.test_hospital import signup_form as hospital_form
from accounts.tests.test_patient_signup import form as patient_form
from conftest import pdf_upload

pytestmark = pytest.mark.django_db


def _strip(html: str) -> str:
    import re

    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def _web(client, path, data):
    response = client.post(path, data, follow=True)
    return response.status_code, response.redirect_chain, _strip(response.content.decode())


@pytest.mark.parametrize("path, build, taken", [
    ("/signup/patient/", lambda: patient_form(phone="+12025550111"), "phone"),
    ("/signup/patient/", lambda: patient_form(email="ALICE@example.com", phone="+12025550188"), "email"),
    ("/signup/doctor/", lambda: application_form(email="alice@example.com"), "email"),
    ("/signup/doctor/", lambda: application_form(phone="(202) 555-0111"), "phone"),
    ("/signup/hospital/", lambda: hospital_form(email="alice@example.com"), "email"),
])
def test_web_signup_answers_the_same_for_taken_and_new(client, alice, path, build, taken,
                                                       django_capture_on_commit_callbacks):
    from django.test import Client

    fresh = Client()
    with django_capture_on_commit_callbacks(execute=True):
        data = build()
        new = _web(fresh, path, {**data, "email": "fresh@example.com" if data["email"] else "",
                                 "phone": "+12025550199" if data["phone"] else ""})
    users_before = User.objects.count()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        existing = _web(client, path, build())
    assert existing[0] == new[0] == 200
    assert [url for url, _ in existing[1]] == [url for url, _ in new[1]]
    assert existing[2] == new[2]
    assert User.objects.count() == users_before  # nothing created for the taken identifier
    # the owner is told instead (by e-mail: SMS is off in tests, so a phone owner gets an e-mail)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "tried to create a new Haven account" in mail.outbox[0].body


@pytest.mark.parametrize("path, body", [
    ("/api/v1/auth/patient-signup", {"name": "X Y", "date_of_birth": "1990-01-01", "gender": "male",
                                     "phone": "+1 202 555 0111", "password": "Lantern-river-93"}),
    ("/api/v1/auth/hospital-signup", {"hospital_name": "North", "address": "1 St", "contact": "+12025550142",
                                      "name": "N N", "email": "alice@example.com", "password": "Lantern-river-93"}),
])
def test_api_signup_answers_the_same_for_taken_and_new(client, alice, path, body):
    def send(data):
        if "hospital" in path:
            return client.post(path, json.dumps(data), content_type="application/json")
        return client.post(path, data)

    existing = send(body)
    new = send({**body, "phone": "+12025550198", "email": "fresh@example.com"} if "hospital" in path
               else {**body, "phone": "+12025550198"})
    assert existing.status_code == new.status_code == 202
    assert existing.json() == new.json()


def test_api_doctor_signup_answers_the_same(client, alice):
    body = {"name": "Ana Ruiz", "email": "alice@example.com", "phone": "+12025550197", "password": "Lantern-river-93",
            "specialty": "Psychiatry", "years_experience": 5, "cv_text": "MD",
            "proposed_timeslots": json.dumps([{"weekday": 4, "start": "09:00", "end": "11:00"}])}
    existing = client.post("/api/v1/auth/doctor-signup", {**body, "identity_proof": pdf_upload()})
    new = client.post("/api/v1/auth/doctor-signup", {**body, "email": "ana@example.com", "identity_proof": pdf_upload()})
    assert existing.status_code == new.status_code == 202
    assert existing.json() == new.json()


def test_field_errors_do_not_depend_on_the_account_existing(client, alice):
    taken = client.post("/signup/patient/", patient_form(phone=alice.phone, password="short", password_confirm="short"))
    free = client.post("/signup/patient/", patient_form(phone="+12025550196", password="short", password_confirm="short"))
    assert taken.status_code == free.status_code == 200
    assert taken.context["form"].errors == free.context["form"].errors
    assert "phone" not in taken.context["form"].errors
