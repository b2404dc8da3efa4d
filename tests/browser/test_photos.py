"""Profile photos, encrypted at rest, still show in the browser: uploaded on the profile page,
shown there and in the header, and seen by the patient's care-team doctor but not by a stranger."""

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from conftest import PASSWORD, login_verified
from core.storage import encrypted_storage
from tests.factories import CareTeamMemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, login):
    page.goto(live_server.url + "/accounts/login/")
    page.locator("[name=login]").fill(login)
    page.locator("[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _loaded(locator) -> bool:
    """The image has arrived and decoded (waits up to 5 s for it, then says whether it did)."""
    try:
        locator.page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                       arg=locator.element_handle(), timeout=5000)
    except Exception:  # noqa: BLE001 — a timeout means "not loaded", which the caller asserts
        return False
    return True


def test_a_photo_uploaded_on_the_profile_shows_and_is_encrypted(page, live_server, alice, carol, dave, tmp_path,
                                                                 new_context):
    Image.new("RGB", (120, 90), "#37a").save(tmp_path / "me.png", format="PNG")
    _sign_in(page, live_server, "alice@example.com")
    page.goto(live_server.url + "/account/profile/")
    page.locator("[name=photo]").set_input_files(str(tmp_path / "me.png"))
    page.get_by_role("button", name=re.compile("Save")).first.click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    large = page.locator("img.avatar-large")
    expect(large).to_be_visible()
    assert _loaded(large)
    assert _loaded(page.locator("header img.avatar, img.avatar").first)
    page.screenshot(path=str(tmp_path / "profile.png"))

    alice.refresh_from_db()
    assert encrypted_storage.read_raw(alice.photo.name).startswith(b"gAAAAA")

    # Carol (care team) sees the photo; Dave does not.
    CareTeamMemberFactory(doctor=carol.doctor_profile, patient=alice.patient_record)
    url = f"{live_server.url}/account/photo/{alice.pk}/"
    for doctor, status in ((carol, 200), (dave, 404)):
        from django.test import Client

        client = login_verified(Client(), doctor)
        context = new_context(doctor.name)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        # Fetched with the context's cookies, not opened as a page: Chromium's own viewer for a
        # bare image styles itself inline, which the site's CSP (rightly) refuses.
        response = context.request.get(url)
        assert response.status == status
        if status == 200:
            assert response.headers["content-type"] == "image/jpeg"
            assert response.headers["cache-control"].startswith("private")


def test_the_emotion_consent_offers_what_to_keep(page, live_server, alice, tmp_path):
    from wellness import snapshots

    _sign_in(page, live_server, "alice@example.com")
    page.goto(live_server.url + "/wellness/emotion/")
    page.locator("#consent-capture").check()
    page.get_by_label("Only the estimated emotion").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.get_by_text("You can take emotion snapshots now")).to_be_visible()
    expect(page.get_by_label("Only the estimated emotion")).to_be_checked()
    page.screenshot(path=str(tmp_path / "emotion.png"), full_page=True)
    assert snapshots.emotion_consent_of(alice).keep == "label"
