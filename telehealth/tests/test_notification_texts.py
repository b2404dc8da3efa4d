"""Notifications are stored as kind + params and read in the reader's current language, on the
page, in the API and in the live push; rows without params keep their stored text."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.utils import translation

from accounts.services import user_set_language
from accounts.tokens import issue_pair
from clinic import services as clinic_services
from conftest import login_verified
from telehealth import services
from telehealth.consumers_notifications import notification_push
from telehealth.models import Notification
from telehealth.notification_texts import RENDERERS
from telehealth.tests.helpers import book, days_ahead, open_all_week

N = Notification.Kind
SPANISH, ARABIC = "Cita confirmada", "تم تأكيد الموعد"


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request leaves its language active in the thread: read in English unless a test says."""
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def confirmed_in_spanish(alice, carol, run_on_commit):
    """Alice reads Spanish when Dr. Carol confirms her appointment, then switches to Arabic."""
    user_set_language(user=alice, language="es")
    open_all_week(carol)
    appointment = run_on_commit(book, alice, carol, days_ahead(3))
    run_on_commit(clinic_services.appointment_confirm, actor=carol, appointment=appointment)
    notification = Notification.objects.get(recipient=alice, kind=N.APPOINTMENT_CONFIRMED)
    assert notification.title.startswith(SPANISH)  # as first written
    user_set_language(user=alice, language="ar")
    return notification


def test_every_kind_has_a_renderer():
    assert set(RENDERERS) == set(Notification.Kind.values)


@pytest.mark.django_db
def test_the_page_and_the_api_show_it_in_the_readers_current_language(client, alice, confirmed_in_spanish):
    alice.refresh_from_db()
    login_verified(client, alice)
    page = client.get("/notifications/").content.decode()
    assert ARABIC in page and SPANISH not in page

    api = client.get("/api/v1/notifications", HTTP_AUTHORIZATION=f"Bearer {issue_pair(alice)['access']}",
                     HTTP_ACCEPT_LANGUAGE="en")  # the account's language, not the device's
    [item] = api.json()["items"]
    assert item["title"].startswith(ARABIC) and "Dr. Carol Doctor" not in item["body"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_the_live_push_is_in_the_readers_current_language(layer, alice, confirmed_in_spanish):
    alice.refresh_from_db()
    client = login_verified(Client(), alice)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())]

    from config.asgi import application  # lazily, as the other socket tests

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from(timeout=2))["type"] == "unread"
        await database_sync_to_async(notification_push)(confirmed_in_spanish)  # e.g. a grouped row updated
        event = await socket.receive_json_from(timeout=2)
        assert event["type"] == "notification" and event["title"].startswith(ARABIC)
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_a_cancellation_names_the_patient_once(alice, grace, carol, run_on_commit):
    open_all_week(carol)
    appointment = run_on_commit(book, alice, carol, days_ahead(3))
    run_on_commit(clinic_services.appointment_confirm, actor=carol, appointment=appointment)
    run_on_commit(clinic_services.appointment_cancel, actor=alice, appointment=appointment, reason="Better")

    to_doctor = Notification.objects.get(recipient=carol, kind=N.APPOINTMENT_CANCELLED)
    to_family = Notification.objects.get(recipient=grace, kind=N.APPOINTMENT_CANCELLED)
    assert to_doctor.rendered.body.count("Alice Patient") == 1
    assert to_doctor.rendered.body.startswith("Alice Patient cancelled the appointment on ")
    assert to_doctor.rendered.body.endswith("Reason: Better")
    assert to_family.rendered.body.startswith("Alice Patient cancelled the appointment with Dr. Carol Doctor on ")


@pytest.mark.django_db
def test_a_doctor_cancelling_is_named_once_with_the_title(alice, carol, run_on_commit):
    open_all_week(carol)
    appointment = run_on_commit(book, alice, carol, days_ahead(3))
    run_on_commit(clinic_services.appointment_confirm, actor=carol, appointment=appointment)
    run_on_commit(clinic_services.appointment_cancel, actor=carol, appointment=appointment, reason="Clash")

    body = Notification.objects.get(recipient=alice, kind=N.APPOINTMENT_CANCELLED).rendered.body
    assert body.startswith("Dr. Carol Doctor cancelled the appointment on ") and body.count("Carol") == 1


@pytest.mark.django_db
def test_rows_without_params_keep_their_stored_text(client, alice):
    """Rows from before params existed, and callers passing ready text."""
    old = services.notification_send(recipient=alice, kind=N.APPOINTMENT_CONFIRMED, title="Stored title",
                                     body="Stored body")
    assert old.params is None
    user_set_language(user=alice, language="es")
    alice.refresh_from_db()
    login_verified(client, alice)
    page = client.get("/notifications/").content.decode()
    assert "Stored title" in page and "Stored body" in page


@pytest.mark.django_db
def test_params_are_encrypted_at_rest(alice, carol, run_on_commit):
    from django.db import connection

    open_all_week(carol)
    appointment = run_on_commit(book, alice, carol, days_ahead(3))
    run_on_commit(clinic_services.appointment_cancel, actor=alice, appointment=appointment, reason="Secret cause")
    notification = Notification.objects.get(recipient=carol, kind=N.APPOINTMENT_CANCELLED)
    assert notification.params["reason"] == "Secret cause"
    with connection.cursor() as cursor:
        cursor.execute("SELECT params FROM telehealth_notification WHERE id = %s", [notification.pk.hex
                       if connection.vendor == "sqlite" else notification.pk])
        raw = cursor.fetchone()[0]
    assert "Secret cause" not in raw and "Alice" not in raw


SAMPLE_PARAMS = {
    "start": "2026-03-14T15:00:00+00:00", "previous_start": "2026-03-13T15:00:00+00:00", "urgent_at":
    "2026-03-14T15:00:00+00:00", "with": {"name": "Carol Doctor", "doctor": True}, "patient": "Alice Patient",
    "doctor": "Carol Doctor", "where": None, "actor": {"name": "Alice Patient", "doctor": False}, "reason": "Pain",
    "link": "care_team", "hospital": "Riverside", "inviter": "Grace", "count": 3, "senders": 1,
    "counterpart": {"name": "Carol Doctor", "doctor": True}, "sender": {"name": "Carol Doctor", "doctor": True},
    "preview": "Hello", "preview_kind": "text", "who": "Grace Family", "minutes": 10, "hospitals": ["Riverside"],
    "to": "staff", "joins": True, "own": False,
}


@pytest.mark.parametrize("language", ["en", "es", "hi", "ar"])
def test_every_kind_renders_in_every_language(language, caplog):
    from accounts.models import User

    reader = User(name="Alice Patient", preferred_language=language, timezone="Asia/Kolkata")
    for kind in Notification.Kind.values:
        with translation.override(language):
            texts = Notification(recipient=reader, kind=kind, params=SAMPLE_PARAMS, url="/x/", title="STORED").rendered
        assert texts.title and texts.title != "STORED", (kind, language)
        assert "%(" not in texts.title + texts.body, (kind, language)
    assert not [r for r in caplog.records if "could not be rendered" in r.getMessage()]
