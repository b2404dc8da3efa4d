"""Changing the e-mail or phone needs the password; the old address is told, with an undo link."""

import json
import re

import pytest
from django.core import mail

from accounts.tokens import issue_pair
from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROFILE = {"name": "Alice Patient", "preferred_language": "en", "location": "", "timezone": "UTC"}


def api_put(client, user, body, token=None):
    token = token or issue_pair(user)["access"]
    return client.put("/api/v1/users/me", json.dumps(body), content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_stolen_access_token_cannot_change_the_email_or_phone(client, alice):
    for body in ({"email": "thief@example.com"}, {"phone": "+12025550177"}):
        response = api_put(client, alice, body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "password"
        wrong = api_put(client, alice, {**body, "password": "guess"})
        assert wrong.status_code == 422
    alice.refresh_from_db()
    assert (alice.email, alice.phone) == ("alice@example.com", "+12025550111")
    # other fields need no password
    assert api_put(client, alice, {"location": "Leeds"}).status_code == 200


def test_the_profile_page_asks_for_the_password(client, alice):
    client.force_login(alice)
    response = client.post("/account/profile/", {**PROFILE, "email": "thief@example.com", "phone": alice.phone})
    assert response.status_code == 200 and "current_password" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_change_with_password_tells_the_old_address_which_can_undo(client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_put(client, alice, {"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["email"] == "new@example.com"
    notice = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert len(notice) == 1
    link = re.search(r"http\S+/account/identity/undo/\S+/", notice[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and "alice@example.com" in page.content.decode()
    alice.refresh_from_db()
    assert alice.email == "new@example.com"  # a GET (a link scanner) changes nothing
    tokens = issue_pair(alice)
    done = client.post("/" + path)
    assert done.status_code == 200
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    # whoever made the change knew the password: it no longer works, nor do tokens
    assert not alice.has_usable_password()
    assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.IDENTITY_CHANGE_UNDONE, target_id=str(alice.pk)).exists()
    # the link works once
    assert client.post("/" + path).status_code == 400


def test_profile_page_change_with_password(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/profile/", {**PROFILE, "email": alice.email, "phone": "+12025550177",
                                                     "current_password": PASSWORD})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.phone == "+12025550177"
    assert any(m.to == ["alice@example.com"] and "/account/identity/undo/" in m.body for m in mail.outbox)


def test_a_forged_or_expired_undo_link_is_refused(client, alice, settings):
    assert client.post("/account/identity/undo/not-a-token/").status_code == 400
    from accounts import services

    token = services.identity_undo_token(user=alice, old_email="old@example.com", old_phone=None)
    settings.IDENTITY_UNDO_MAX_AGE = -1
    assert client.post(f"/account/identity/undo/{token}/").status_code == 400
