"""Access matrix for /api/v1/users: self or admin; everyone else gets 404 (no probing of ids)."""

import json

import pytest

from accounts.tokens import issue_pair

pytestmark = pytest.mark.django_db

PEOPLE = ["alice", "grace", "bob", "carol", "dave", "hana", "ada"]


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}


@pytest.fixture
def people(request):
    return {name: request.getfixturevalue(name) for name in PEOPLE}


@pytest.mark.parametrize("viewer, expected", [
    (None, 401), ("alice", 200), ("grace", 404), ("bob", 404), ("carol", 404), ("dave", 404), ("hana", 404),
    ("ada", 200),
])
def test_get_user_matrix(client, people, viewer, expected):
    response = client.get(f"/api/v1/users/{people['alice'].pk}", **bearer(people.get(viewer)))
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["email"] == "alice@example.com"
    else:
        assert "alice" not in response.content.decode().lower()


@pytest.mark.parametrize("viewer, expected", [
    (None, 401), ("alice", 200), ("grace", 404), ("bob", 404), ("carol", 404), ("hana", 404), ("ada", 200),
])
def test_put_user_matrix(client, people, viewer, expected):
    response = client.put(f"/api/v1/users/{people['alice'].pk}", json.dumps({"location": "Changed"}),
                          content_type="application/json", **bearer(people.get(viewer)))
    assert response.status_code == expected
    people["alice"].refresh_from_db()
    assert (people["alice"].location == "Changed") == (expected == 200)


@pytest.mark.parametrize("viewer, expected", [(None, 401), ("alice", 403), ("carol", 403), ("hana", 403), ("ada", 200)])
def test_list_users_is_for_admins(client, people, viewer, expected):
    response = client.get("/api/v1/users?role=patient", **bearer(people.get(viewer)))
    assert response.status_code == expected
    if expected == 200:
        items = response.json()["items"]
        assert {u["role"] for u in items} == {"patient"} and len(items) == 3


def test_missing_user_is_404_like_a_foreign_one(client, alice):
    import uuid

    assert client.get(f"/api/v1/users/{uuid.uuid4()}", **bearer(alice)).status_code == 404


def test_me_update_validates_and_changes_nothing_on_error(client, alice, bob):
    response = client.put("/api/v1/users/me", json.dumps({"phone": bob.phone, "location": "X"}),
                          content_type="application/json", **bearer(alice))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "phone"
    alice.refresh_from_db()
    assert alice.location == "" and alice.phone == "+12025550111"
    bad_tz = client.put("/api/v1/users/me", json.dumps({"timezone": "Mars/Olympus"}),
                        content_type="application/json", **bearer(alice))
    assert bad_tz.status_code == 422 and bad_tz.json()["detail"][0]["field"] == "timezone"


def test_user_cannot_change_own_role(client, alice):
    response = client.put("/api/v1/users/me", json.dumps({"role": "admin", "name": "Alice P."}),
                          content_type="application/json", **bearer(alice))
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.role == "patient" and alice.name == "Alice P."
