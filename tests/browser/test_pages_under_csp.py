"""The main pages work under the Content-Security-Policy and the Permissions-Policy: the patient's
and the doctor's dashboard, a chat, the call room (camera preview), the 2FA enrolment (QR code as a
data: image) and Django admin, at desktop (1280 px) and phone (360 px) widths, on the real ASGI
server (websockets included). Any "Refused to ..." in the console fails the test (conftest); the
screenshots are kept in test-artifacts/ for a look."""

import datetime as dt
import os

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import AppointmentType, CareTeamMember
from conftest import require_service
from telehealth import chat as chats
from tests.browser.conftest import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _fail_on_policy_violations,
                                    _session_of, _watch_policy_violations)
from tests.factories import AppointmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 780}}


@pytest.fixture(scope="module")
def media_browser(browser):
    require_service(os.path.exists(CHROMIUM), f"Debian chromium at {CHROMIUM}")
    launched = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + FAKE_MEDIA)
    try:
        yield launched
    finally:
        launched.close()


def test_main_pages_load_without_policy_violations(media_browser, alice, carol, dave, ada, asgi_server):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=alice, chat=chat, client_id="a-1", body="I slept better this week.")
    chats.message_send(sender=carol, chat=chat, client_id="c-1", body="Good to hear. Keep the diary going.")
    start = timezone.now().replace(microsecond=0)
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, start=start,
                                     end=start + dt.timedelta(minutes=30), status="confirmed",
                                     type=AppointmentType.REMOTE, booked_by=alice)
    visits = {
        alice: {"patient-dashboard": "/dashboard/", "patient-chat": f"/chats/{chat.pk}/",
                "call-room": f"/calls/{appointment.room_id}/", "wellness": "/wellness/emotion/"},
        carol: {"doctor-dashboard": "/dashboard/", "doctor-chat": f"/chats/{chat.pk}/"},
        dave: {"2fa-setup": "/account/2fa/setup/"},
        ada: {"admin": "/admin/", "admin-users": "/admin/accounts/user/",
              "admin-user": f"/admin/accounts/user/{alice.pk}/change/"},
    }
    sessions = {user: _session_of(user) for user in (alice, carol, ada)}
    enrolling = Client()  # Dr. Dave has no second factor yet: the setup page shows the QR code
    enrolling.force_login(dave)
    sessions[dave] = enrolling.cookies[settings.SESSION_COOKIE_NAME].value
    base = asgi_server()
    ARTIFACTS.mkdir(exist_ok=True)
    violations = []
    for user, pages in visits.items():
        for label, viewport in WIDTHS.items():
            context = media_browser.new_context(viewport=viewport, locale="en-US")
            context.set_default_timeout(TIMEOUT_MS)
            _watch_policy_violations(context, violations)
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": sessions[user], "url": base}])
            page = context.new_page()
            try:
                for name, path in pages.items():
                    response = page.goto(base + path)
                    assert response.status == 200, (name, response.status)
                    assert "no-store" in response.headers["cache-control"], name
                    page.wait_for_load_state("networkidle")
                    if name == "call-room":
                        expect(page.locator("#call-device-status")).to_have_text("Your camera and microphone work.")
                    if name.endswith("chat"):
                        expect(page.get_by_text("Good to hear. Keep the diary going.")).to_be_visible()
                    if name == "2fa-setup":
                        assert page.locator("img[src^='data:image/svg+xml']").evaluate("img => img.naturalWidth") > 0
                    page.screenshot(path=ARTIFACTS / f"csp-{name}-{viewport['width']}.png", full_page=True)
            finally:
                context.close()
    _fail_on_policy_violations(violations)
