"""/api/v1/notifications: own notifications only, paginated, unread filter, mark read."""

import pytest

from accounts.tokens import issue_pair
from telehealth import services
from telehealth.models import Notification

pytestmark = pytest.mark.django_db
K = Notification.Kind
BASE = "/api/v1/notifications"


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"}


def send(user, title="Hello"):
    return services.notification_send(recipient=user, kind=K.APPOINTMENT_CONFIRMED, title=title, body="Body",
                                      url="/dashboard/")


def test_it_requires_a_token(client):
    assert client.get(BASE).status_code == 401
    assert client.post(f"{BASE}/read-all").status_code == 401


def test_it_lists_only_your_own_unread_first(client, alice, bob):
    old = send(alice, "Old")
    send(alice, "New")
    send(bob, "Bob's")
    services.notifications_mark_read(user=alice, ids=[old.pk])

    response = client.get(BASE, **bearer(alice))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(n["title"], n["unread"]) for n in body["items"]] == [("New", True), ("Old", False)]
    assert set(body["items"][0]) == {"id", "kind", "title", "body", "url", "created_at", "read_at", "unread"}
    assert body["items"][0]["read_at"] is None and body["items"][1]["read_at"] is not None


def test_unread_filter_and_pagination(client, alice):
    for i in range(5):
        send(alice, f"n{i}")
    services.notifications_mark_read(user=alice, ids=[Notification.objects.filter(title="n0").get().pk])

    unread = client.get(f"{BASE}?unread=true", **bearer(alice)).json()
    page = client.get(f"{BASE}?limit=2&offset=2", **bearer(alice)).json()

    assert unread["count"] == 4 and all(n["unread"] for n in unread["items"])
    assert page["count"] == 5 and len(page["items"]) == 2


def test_mark_one_read(client, alice):
    first, _second = send(alice), send(alice)

    response = client.post(f"{BASE}/{first.pk}/read", **bearer(alice))

    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 1}
    first.refresh_from_db()
    assert first.read_at is not None
    # already read: nothing changes, still 200
    assert client.post(f"{BASE}/{first.pk}/read", **bearer(alice)).json() == {"marked": 0, "unread": 1}


def test_someone_elses_notification_is_not_found(client, alice, bob):
    bobs = send(bob)

    response = client.post(f"{BASE}/{bobs.pk}/read", **bearer(alice))

    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.read_at is None
    missing = client.post(f"{BASE}/00000000-0000-0000-0000-000000000000/read", **bearer(alice))
    assert missing.status_code == 404 and missing.json() == response.json()


def test_read_all_touches_only_your_own(client, alice, bob):
    send(alice), send(alice)
    bobs = send(bob)

    response = client.post(f"{BASE}/read-all", **bearer(alice))

    assert response.status_code == 200 and response.json() == {"marked": 2, "unread": 0}
    assert Notification.objects.filter(recipient=alice, read_at__isnull=True).count() == 0
    bobs.refresh_from_db()
    assert bobs.read_at is None
