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


PHONE_SPELLINGS = ["+1 202 555 0111", "+1-202-555-0111", "(202) 555-0111", "+1 (202) 555-0111",
                   " +12025550111 ", "202.555.0111"]


def test_phone_spellings_share_one_count_on_the_web(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for spelling in PHONE_SPELLINGS[:2]:
        assert client.post(reverse("account_login"), {"login": spelling, "password": "wrong"}).status_code == 200
    locked = client.post(reverse("account_login"), {"login": PHONE_SPELLINGS[2], "password": "wrong"})
    assert locked.status_code == 429
    for spelling in [alice.phone, *PHONE_SPELLINGS[3:]]:
        assert client.post(reverse("account_login"), {"login": spelling, "password": PASSWORD}).status_code == 429


def test_email_case_shares_one_count(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client.post(reverse("account_login"), {"login": "ALICE@example.com", "password": "wrong"})
    client.post(reverse("account_login"), {"login": " Alice@Example.COM", "password": "wrong"})
    assert client.post(reverse("account_login"), {"login": alice.email, "password": PASSWORD}).status_code == 429


def test_phone_spellings_share_one_count_across_web_and_api(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client.post(reverse("account_login"), {"login": PHONE_SPELLINGS[0], "password": "wrong"})
    client.post("/api/v1/auth/login", {"login": PHONE_SPELLINGS[1], "password": "bad"}, content_type="application/json")
    client.post("/api/v1/auth/login", {"login": PHONE_SPELLINGS[2], "password": "bad"}, content_type="application/json")
    response = client.post("/api/v1/auth/login", {"login": PHONE_SPELLINGS[4], "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 429


def test_the_identifier_is_normalised():
    from accounts.lockout import normalise_login

    assert {normalise_login(s) for s in PHONE_SPELLINGS} == {"+12025550111"}
    assert normalise_login(" Alice@Example.COM ") == "alice@example.com"
    assert normalise_login("not a number") == "not a number"


@pytest.mark.django_db
def test_the_login_page_offers_the_password_reset_once(client):
    page = client.get(reverse("account_login")).content.decode()
    assert page.count(reverse("account_reset_password")) == 1
    assert page.lower().count("forgot your password") == 1
