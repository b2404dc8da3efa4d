"""static/js/emergency-live.js in Chromium: when /ws/emergencies/ says the doctor's emergencies
changed, the queue fetches itself again and shows the new emergency, with its Accept button, and
says so to screen readers. The live server is WSGI (no websockets), so the page gets a scripted
stand-in for WebSocket; the server side is covered by telehealth/tests/test_emergencies_ws.py."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from clinic import services
from clinic.models import CareTeamMember
from conftest import login_verified
from tests.browser.test_live_notifications import FAKE_SOCKET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_queue_shows_a_new_emergency_without_a_reload(page, live_server, alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)  # off duty
    client = login_verified(Client(), carol)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.add_init_script(FAKE_SOCKET)
    page.goto(live_server.url + "/doctor/emergencies/")
    queue = page.locator("#emergency-live-queue")
    expect(queue).to_contain_text("No emergencies are waiting for you.")
    page.wait_for_function("window.__sockets.some((s) => s.url.endsWith('/ws/emergencies/'))")

    services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Cannot breathe")
    page.evaluate("""window.__sockets.filter((s) => s.url.endsWith('/ws/emergencies/'))[0]
        .emit('message', {data: JSON.stringify({type: 'emergencies', count: 1, changed: true})})""")
    expect(queue).to_contain_text("Alice Patient")
    expect(queue.get_by_role("button", name="Accept emergency of Alice Patient")).to_be_visible()
    expect(page.locator("#emergency-live-status")).to_have_text("Emergency list updated: 1 waiting.")
