import pytest
from django.urls import reverse

from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_locks_out_after_repeated_failures_with_a_clear_message(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = client.post(reverse("account_login"), {"login": alice.email, "password": "wrong-password"})
        assert response.status_code == 200
        assert "not correct" in response.content.decode()
    locked = client.post(reverse("account_login"), {"login": alice.email, "password": "wrong-password"})
    assert locked.status_code == 429
    assert "locked" in locked.content.decode()
    # even the right password is refused while locked
    again = client.post(reverse("account_login"), {"login": alice.email, "password": PASSWORD})
    assert again.status_code == 429
    assert client.get("/dashboard/").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() >= 3
    lockout = AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT).earliest("created_at")
    assert lockout.data["login"] == alice.email and lockout.ip_address == "127.0.0.1"


def test_failures_are_counted_per_login_not_across_accounts(client, alice, bob, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client.post(reverse("account_login"), {"login": alice.email, "password": "x-wrong"})
    client.post(reverse("account_login"), {"login": alice.email, "password": "x-wrong"})
    ok = client.post(reverse("account_login"), {"login": bob.email, "password": PASSWORD})
    assert ok.status_code == 302


def test_api_login_is_locked_out_too(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/api/v1/auth/login", {"login": alice.email, "password": "bad"}, content_type="application/json")
    response = client.post("/api/v1/auth/login", {"login": alice.email, "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]


def test_successful_login_is_audited_with_ip(client, alice):
    client.post(reverse("account_login"), {"login": alice.phone, "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_SUCCEEDED)
    assert event.actor == alice and event.ip_address == "10.1.2.3"
