"""Refresh tokens rotate; a reused one revokes its family; logout ends the tokens at once."""

import json

import pytest

from accounts.tokens import issue_pair
from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def post(client, path, body=None, **extra):
    return client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **extra)


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def me(client, access):
    return client.get("/api/v1/users/me", **bearer(access)).status_code


def test_refresh_rotates_and_the_old_refresh_token_is_spent(client, alice):
    first = issue_pair(alice)
    second = post(client, "/auth/refresh", {"refresh": first["refresh"]}).json()
    assert second["refresh"] != first["refresh"]
    third = post(client, "/auth/refresh", {"refresh": second["refresh"]})
    assert third.status_code == 200
    assert me(client, third.json()["access"]) == 200


def test_a_stolen_refresh_token_replayed_revokes_the_whole_family(client, alice):
    stolen = issue_pair(alice)
    # the legitimate app refreshes first ...
    app = post(client, "/auth/refresh", {"refresh": stolen["refresh"]}).json()
    # ... then the thief replays the old refresh token
    replay = post(client, "/auth/refresh", {"refresh": stolen["refresh"]})
    assert replay.status_code == 401
    # every token of that family stops working at once, the app's included
    assert me(client, app["access"]) == 401
    assert me(client, stolen["access"]) == 401
    assert post(client, "/auth/refresh", {"refresh": app["refresh"]}).status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REUSE_DETECTED, actor=alice).exists()
    # another sign-in (another family) is unaffected
    other = post(client, "/auth/login", {"login": alice.email, "password": PASSWORD}).json()
    assert me(client, other["access"]) == 200


def test_api_logout_revokes_the_family_of_the_presented_token(client, alice):
    phone_app = issue_pair(alice)
    laptop = issue_pair(alice)
    refreshed = post(client, "/auth/refresh", {"refresh": phone_app["refresh"]}).json()
    response = post(client, "/auth/logout", **bearer(refreshed["access"]))
    assert response.status_code == 204
    assert me(client, refreshed["access"]) == 401
    assert me(client, phone_app["access"]) == 401
    assert post(client, "/auth/refresh", {"refresh": refreshed["refresh"]}).status_code == 401
    assert me(client, laptop["access"]) == 200
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, actor=alice).exists()


def test_api_logout_with_a_refresh_token(client, alice):
    tokens = issue_pair(alice)
    assert post(client, "/auth/logout", {"refresh": tokens["refresh"]}).status_code == 204
    assert me(client, tokens["access"]) == 401


def test_api_logout_without_a_token_is_401(client):
    assert post(client, "/auth/logout").status_code == 401
    assert post(client, "/auth/logout", {"refresh": "garbage"}).status_code == 401


def test_access_check_costs_one_query(client, alice, django_assert_num_queries):
    tokens = issue_pair(alice)
    with django_assert_num_queries(1):
        from accounts.tokens import user_for_token

        user_for_token(tokens["access"], kind="access")


def test_web_logout_ends_the_session(client, alice):
    client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    cookie = client.cookies["sessionid"].value
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie
    assert client.get("/dashboard/").status_code == 302


def test_expired_families_are_pruned(alice):
    import datetime as dt

    from django.utils import timezone

    from accounts.models import ApiTokenFamily
    from accounts.tasks import token_families_prune

    issue_pair(alice)
    old = ApiTokenFamily.objects.create(user=alice, refresh_jti="x", expires_at=timezone.now() - dt.timedelta(days=8))
    assert token_families_prune() == 1
    assert not ApiTokenFamily.objects.filter(pk=old.pk).exists() and ApiTokenFamily.objects.count() == 1
