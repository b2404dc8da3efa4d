"""The page side of live notifications: base.html loads notifications.js for signed-in users, with
the bell and the toast region it needs."""

from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders

from telehealth import services
from telehealth.models import Notification

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.by_id, self.scripts = {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = (tag, attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])


def parse(response):
    parser = Elements()
    parser.feed(response.content.decode())
    return parser


def test_signed_in_pages_load_the_live_notifications(client, alice):
    services.notification_send(recipient=alice, kind=Notification.Kind.APPOINTMENT_CONFIRMED, title="Hi")
    client.force_login(alice)

    page = parse(client.get("/dashboard/"))

    tag, bell = page.by_id["notification-bell"]
    assert tag == "a" and bell["data-ws-url"] == "/ws/notifications/" and bell["data-label-unread"]
    tag, region = page.by_id["notification-toasts"]
    assert region["data-open-url"] == "/notifications/00000000-0000-0000-0000-000000000000/open/"
    assert region["data-csrf"] and region["data-label-dismiss"] and region["data-label-open"]
    assert any(src.endswith("js/notifications.js") for src in page.scripts)
    assert finders.find("js/notifications.js")


def test_anonymous_pages_do_not(client):
    page = parse(client.get("/"))

    assert "notification-bell" not in page.by_id and "notification-toasts" not in page.by_id
    assert not any(src.endswith("js/notifications.js") for src in page.scripts)
