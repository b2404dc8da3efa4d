"""The public sign-up forms' human check: an ALTCHA proof of work, or the accessible question."""

import datetime as dt
import re

import altcha
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import human_check
from accounts.models import User
from accounts.tests.human import solved
from accounts.tests.test_doctor_application import application_form
from accounts.tests.test_hospital import signup_form as hospital_form
from accounts.tests.test_patient_signup import form as patient_form

pytestmark = pytest.mark.django_db

FORMS = [("patient_signup", patient_form), ("doctor_apply", application_form), ("hospital_signup", hospital_form)]


def without_check(data):
    return {k: v for k, v in data.items() if k not in ("altcha", "human_token", "human_answer")}


@pytest.mark.parametrize("name, build", FORMS)
def test_a_sign_up_without_the_check_gets_a_field_error(client, name, build):
    response = client.post(reverse(name), without_check(build()))
    body = response.content.decode()
    assert response.status_code in (200, 400)
    assert 'id="id_human_answer_error"' in body and "show that you are not a program" in body
    assert not User.objects.exists()
    # the re-rendered form carries a new challenge and question
    assert 'id="altcha-challenge"' in body and re.search(r'name="human_token" value="[^"]+"', body)


def test_a_solved_challenge_works_once(client):
    data = patient_form()
    assert client.post(reverse("patient_signup"), data).status_code == 302
    client.logout()
    replay = client.post(reverse("patient_signup"), {**data, "phone": "+12025550166"})
    assert "show that you are not a program" in replay.content.decode()
    assert User.objects.count() == 1


def test_a_wrong_or_expired_solution_is_refused(client):
    challenge = human_check.new_challenge()
    payload = human_check.solve(challenge)
    forged = human_check.solve({**challenge, "signature": "0" * 64})
    assert not human_check.verify_solution(forged)
    old = altcha.create_challenge_v1(algorithm="SHA-256", max_number=50, hmac_key=settings.ALTCHA_HMAC_KEY,
                                     expires=timezone.now() - dt.timedelta(minutes=1)).to_dict()
    assert not human_check.verify_solution(human_check.solve(old))
    assert not human_check.verify_solution("not base64 json")
    assert human_check.verify_solution(payload)


def test_without_javascript_the_question_is_answered_instead(client):
    """The fallback: a labelled question (keyboard and screen reader), checked by a signed token."""
    page = client.get(reverse("patient_signup")).content.decode()
    match = re.search(r'<label for="id_human_answer">What is (\d) plus (\d)\? Answer with a number\.', page)
    assert match, "the question is shown with its label"
    token = re.search(r'name="human_token" value="([^"]+)"', page).group(1)
    answer = str(int(match.group(1)) + int(match.group(2)))
    wrong = client.post(reverse("patient_signup"),
                        {**without_check(patient_form()), "human_token": token, "human_answer": str(int(answer) + 1)})
    assert "show that you are not a program" in wrong.content.decode()
    ok = client.post(reverse("patient_signup"),
                     {**without_check(patient_form()), "human_token": token, "human_answer": answer})
    assert ok.status_code == 302 and User.objects.count() == 1
    client.logout()
    again = client.post(reverse("patient_signup"), {**without_check(patient_form(phone="+12025550166")),
                                                    "human_token": token, "human_answer": answer})
    assert "show that you are not a program" in again.content.decode()  # a token works once


def test_the_check_is_our_static_script_and_a_json_challenge(client):
    page = client.get(reverse("hospital_signup")).content.decode()
    assert '<script src="/static/js/altcha.js" defer></script>' in page
    assert '<script id="altcha-challenge" type="application/json">' in page
    assert solved()["altcha"]
