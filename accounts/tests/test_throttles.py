"""Per-IP limits on API login, refresh and every sign-up (API and web)."""

import json

import pytest

from accounts.tokens import issue_pair

pytestmark = pytest.mark.django_db


def post(client, path, body, **extra):
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json", **extra)


def test_api_login_is_throttled_per_ip_across_accounts(client, alice, bob, settings):
    settings.THROTTLE_LOGIN_RATE = "3/m"
    for login in ["x1@example.com", "x2@example.com", bob.email]:
        assert post(client, "/auth/login", {"login": login, "password": "guess"}).status_code == 401
    response = post(client, "/auth/login", {"login": alice.email, "password": "guess"})
    assert response.status_code == 429
    assert "Too many" in response.json()["detail"] and int(response["Retry-After"]) > 0
    # another address is counted on its own; a forged X-Forwarded-For is not another address
    forged = post(client, "/auth/login", {"login": alice.email, "password": "guess"},
                  HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert forged.status_code == 429
    other = post(client, "/auth/login", {"login": alice.email, "password": "guess"}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 401


def test_refresh_is_throttled(client, alice, settings):
    settings.THROTTLE_REFRESH_RATE = "2/m"
    tokens = issue_pair(alice)
    for _ in range(2):
        tokens = post(client, "/auth/refresh", {"refresh": tokens["refresh"]}).json()
    response = post(client, "/auth/refresh", {"refresh": tokens["refresh"]})
    assert response.status_code == 429 and response["Retry-After"]


@pytest.mark.parametrize("path", ["/auth/patient-signup", "/auth/doctor-signup", "/auth/hospital-signup"])
def test_api_signups_share_a_per_ip_budget(client, settings, path):
    settings.THROTTLE_SIGNUP_RATE = "2/h"
    post(client, "/auth/patient-signup", {})
    post(client, "/auth/hospital-signup", {})
    response = client.post(f"/api/v1{path}", {})
    assert response.status_code == 429 and response.json()["detail"]
    assert int(response["Retry-After"]) > 60


@pytest.mark.parametrize("path", ["/signup/patient/", "/signup/doctor/", "/signup/hospital/"])
def test_web_signup_forms_are_limited_too(client, settings, path):
    settings.THROTTLE_SIGNUP_RATE = "2/h"
    client.post("/api/v1/auth/patient-signup", {})
    client.post("/signup/patient/", {})
    response = client.post(path, {})
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert response["Retry-After"]
    assert client.get(path).status_code == 200  # the form itself still opens
