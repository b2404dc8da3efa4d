import pytest

from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD, png_upload

pytestmark = pytest.mark.django_db


def test_profile_update_saves_and_audits(client, alice):
    client.force_login(alice)
    response = client.post("/account/profile/", {
        "name": "Alice P.", "email": "alice.new@example.com", "phone": "+1 202 555 0111",
        "preferred_language": "es", "location": "Sevilla", "timezone": "Europe/Madrid",
        "current_password": PASSWORD})  # issue 9: a new email needs the password
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.name, alice.email, alice.location, alice.timezone) == ("Alice P.", "alice.new@example.com", "Sevilla",
                                                                         "Europe/Madrid")
    assert alice.patient_record.name == "Alice P."
    event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED)
    assert "email" in event.data["fields"] and "name" in event.data["fields"]


def test_profile_errors_keep_the_old_values(client, alice, bob):
    client.force_login(alice)
    response = client.post("/account/profile/", {
        "name": "Alice P.", "email": bob.email, "phone": alice.phone, "preferred_language": "en",
        "location": "", "timezone": "UTC"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.name == "Alice Patient" and alice.email == "alice@example.com"


def test_photo_is_served_only_to_its_owner_and_admins(client, alice, bob, ada):
    from accounts import services

    services.user_update(actor=alice, user=alice, data={}, photo=png_upload())
    url = f"/account/photo/{alice.pk}/"
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(bob)
    assert client.get(url).status_code == 404
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"].startswith("private")
    from conftest import login_verified

    login_verified(client, ada)
    assert client.get(url).status_code == 200


def test_language_switch_is_saved_on_the_user_and_sets_rtl(client, alice):
    client.force_login(alice)
    response = client.post("/account/language/", {"language": "ar", "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    alice.refresh_from_db()
    assert alice.preferred_language == "ar"
    page = client.get("/dashboard/").content.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page


def test_language_switch_for_visitors_uses_a_cookie(client):
    client.post("/account/language/", {"language": "es", "next": "https://evil.example/"})
    page = client.get("/")
    assert 'lang="es"' in page.content.decode()
    assert page.status_code == 200
