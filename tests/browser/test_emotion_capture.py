"""Emotion snapshots in a real browser: Alice consents, presses the button, Chromium's fake camera
(a synthetic test pattern — no face in it) feeds getUserMedia, the frames are uploaded, the
analysis runs, and the page shows the honest "No face found" result without a reload. Without a
camera the page says so instead."""

import os
import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, require_service
from tests.browser.conftest import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT, _artifact_name,
                                    _fail_on_policy_violations, _watch_policy_violations)
from wellness.models import EmotionSnapshot
from wellness.tests.test_snapshots import (  # noqa: F401 (fixtures)
    _emotion_weights_setting,
    emotion_test_urls,
    emotion_weights,
)

urlpatterns = emotion_test_urls()
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

FAKE_MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="session")
def camera_browser(browser):
    """Chromium with a fake webcam whose permission prompt is accepted automatically. Launched
    through the conftest browser's Playwright (one sync Playwright per thread)."""
    require_service(os.path.exists(CHROMIUM), f"Debian chromium at {CHROMIUM}")
    camera = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS + FAKE_MEDIA_ARGS)
    try:
        yield camera
    finally:
        camera.close()


@pytest.fixture
def camera_page(camera_browser, request):
    context = camera_browser.new_context(viewport=VIEWPORT, locale="en-US", permissions=["camera"])
    context.set_default_timeout(TIMEOUT_MS)
    violations = []
    _watch_policy_violations(context, violations)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=_artifact_name(request), full_page=True)
    except Exception:  # a screenshot must never hide the real test outcome
        pass
    context.close()
    _fail_on_policy_violations(violations)


def _sign_in(page, live_server, login):
    page.goto(live_server.url + "/accounts/login/")
    page.locator("[name=login]").fill(login)
    page.locator("[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/"))


def _shot(page, request, label):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=_artifact_name(request, f"-{label}"), full_page=True)


def test_alice_consents_captures_and_sees_no_face_found_without_reload(camera_page, live_server, alice, request):
    page = camera_page
    _sign_in(page, live_server, "alice@example.com")
    # from the dashboard: the card (loaded after the page) leads to the consent prompt
    page.get_by_role("link", name="Learn more and decide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emotion snapshots")
    expect(page.get_by_role("button", name="Take a 2-second snapshot")).to_have_count(0)
    _shot(page, request, "1-consent")

    page.get_by_label("I agree to take emotion snapshots").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.get_by_text("You can take emotion snapshots now")).to_be_visible()
    _shot(page, request, "2-ready")

    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    page.get_by_role("button", name="Take a 2-second snapshot").click()
    expect(page.locator("[data-role=preview] video")).to_be_visible()  # live preview while capturing
    _shot(page, request, "3-capturing")
    result = page.locator("[data-role=result] [data-status=done]")
    expect(result).to_be_visible(timeout=45_000)
    expect(result.get_by_role("heading", name="No face found")).to_be_visible()
    expect(page.locator("[data-role=preview]")).to_be_hidden()  # camera off again
    expect(page.locator("#emotion-history")).to_contain_text("No face found")
    assert page.evaluate("window.__sameDocument") is True
    _shot(page, request, "4-result")

    snapshot = EmotionSnapshot.objects.get()
    assert snapshot.patient == alice.patient_record
    assert snapshot.status == "done" and snapshot.face_detected is False and snapshot.frames == []

    # withdrawing consent removes the capture UI; deleting erases the history
    page.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_role("button", name="Take a 2-second snapshot")).to_have_count(0)
    page.locator("summary", has_text="Delete all my emotion data").click()
    page.get_by_role("button", name="Yes, delete everything").click()
    expect(page.get_by_text("All your emotion data was deleted")).to_be_visible()
    expect(page.locator("#emotion-history")).to_contain_text("No snapshots yet.")
    assert not EmotionSnapshot.objects.exists()


def test_without_a_camera_the_page_says_so(page, live_server, alice):
    """The plain browser fixture has no camera (and no fake one): a clear message, no upload."""
    from wellness import snapshots

    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=False)
    _sign_in(page, live_server, "alice@example.com")
    page.goto(live_server.url + "/wellness/emotion/")
    page.get_by_role("button", name="Take a 2-second snapshot").click()
    status = page.locator("[data-role=status].is-error")
    expect(status).to_be_visible()
    expect(status).to_have_text(re.compile("camera", re.IGNORECASE))
    expect(page.get_by_role("button", name="Take a 2-second snapshot")).to_be_enabled()
    assert not EmotionSnapshot.objects.exists()
