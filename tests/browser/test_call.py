"""A real call between Alice (patient) and Dr. Carol in two browser contexts: both pass the camera
check (Chromium's fake camera and microphone), join, and the WebRTC connection reaches
"connected" with video bytes arriving on both sides; Bob, a third person, cannot open the room or
its socket; the doctor hangs up and lands on the appointment's notes.

pytest-django's live_server is WSGI (no websockets), so this test starts daphne in a subprocess on
the data the test wrote: on Postgres the test database itself, on SQLite (an in-memory test
database) a file copy of it made with SQLite's backup API.
"""

import datetime as dt
import os
import re
import time

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import AppointmentType, CareTeamMember
from conftest import require_service
from tests.browser.conftest import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT, _artifact_name,
                                    _fail_on_policy_violations, _session_of, _watch_policy_violations)
from tests.factories import AppointmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              # host candidates as plain IPs: mDNS names may not resolve inside a CI container
              "--disable-features=WebRtcHideLocalIpsWithMdns"]
CONNECT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def call_browser(browser):
    """Chromium with a fake camera and microphone whose permission prompt is accepted
    automatically, launched through the conftest browser's Playwright (one per thread)."""
    require_service(os.path.exists(CHROMIUM), f"Debian chromium at {CHROMIUM}")
    media_browser = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                                args=CHROMIUM_ARGS + MEDIA_ARGS)
    try:
        yield media_browser
    finally:
        media_browser.close()


@pytest.fixture
def call_contexts(call_browser, request):
    contexts = []
    violations = []

    def make(label, base_url, session_cookie):
        context = call_browser.new_context(viewport=VIEWPORT, locale="en-US",
                                           permissions=["camera", "microphone"])
        context.set_default_timeout(TIMEOUT_MS)
        _watch_policy_violations(context, violations)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": base_url}])
        contexts.append((label, context))
        return context.new_page()

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    for label, context in contexts:
        for page in context.pages:
            try:
                page.screenshot(path=_artifact_name(request, f"-{label}"), full_page=True)
            except Exception:  # a screenshot must never hide the real test outcome
                pass
        context.close()
    _fail_on_policy_violations(violations)


def _join(page, url):
    page.goto(url)
    expect(page.locator("#call-device-status")).to_have_text("Your camera and microphone work.")
    page.get_by_role("button", name="Join call").click()
    expect(page.locator("#call-live")).to_be_visible()


def _wait_connected(page):
    page.wait_for_function("() => window.havenCall.pc && window.havenCall.pc.connectionState === 'connected'",
                           timeout=CONNECT_TIMEOUT_MS)


def _inbound_video_bytes(page) -> int:
    return page.evaluate("() => window.havenCall.inboundVideoBytes()")


def _first_video_bytes(page) -> int:
    """Inbound video bytes once the first ones have arrived (shortly after "connected")."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_MS / 1000
    while (received := _inbound_video_bytes(page)) == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return received


def _socket_close_code(page, base_url, room_id) -> int:
    return page.evaluate("""([base, room]) => new Promise((resolve) => {
        const ws = new WebSocket(base.replace('http', 'ws') + '/ws/calls/' + room + '/');
        ws.onclose = (event) => resolve(event.code);
    })""", [base_url, room_id])


def test_patient_and_doctor_connect_and_a_third_person_cannot_join(alice, carol, bob, asgi_server, call_contexts,
                                                                 request):
    start = timezone.now().replace(microsecond=0)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)  # as booking does
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, start=start,
                                     end=start + dt.timedelta(minutes=30), status="confirmed",
                                     type=AppointmentType.REMOTE, booked_by=alice)
    sessions = {user.email: _session_of(user) for user in (alice, carol, bob)}
    base = asgi_server()
    room_url = f"{base}/calls/{appointment.room_id}/"

    patient = call_contexts("patient", base, sessions["alice@example.com"])
    doctor = call_contexts("doctor", base, sessions["carol@example.com"])
    _join(patient, room_url)  # the patient waits; the doctor, joining second, makes the offer
    expect(patient.locator("#call-state")).to_have_text("waiting for the other person")
    _join(doctor, room_url)

    for page in (patient, doctor):
        _wait_connected(page)
        expect(page.locator("#call-state")).to_have_text("connected")
    first = {name: _first_video_bytes(page) for name, page in (("patient", patient), ("doctor", doctor))}
    doctor.wait_for_timeout(1500)
    later = {name: _inbound_video_bytes(page) for name, page in (("patient", patient), ("doctor", doctor))}
    for name in first:
        assert later[name] > first[name] > 0, (name, first, later)
    ARTIFACTS.mkdir(exist_ok=True)
    doctor.screenshot(path=_artifact_name(request, "-doctor-in-call"), full_page=True)

    # Bob is neither of them: the page is a 404 and the socket is closed with 4403.
    stranger = call_contexts("stranger", base, sessions["bob@example.com"])
    response = stranger.goto(room_url)
    assert response.status == 404
    stranger.goto(base + "/")
    assert _socket_close_code(stranger, base, appointment.room_id) == 4403
    expect(doctor.locator("#call-state")).to_have_text("connected")

    # The doctor hangs up: both leave, and the doctor goes on to the appointment's notes.
    doctor.get_by_role("button", name="Hang up").click()
    expect(doctor).to_have_url(re.compile(rf"/appointments/{appointment.pk}/#notes$"))
    expect(patient).to_have_url(re.compile(rf"/appointments/{appointment.pk}/$"))


def test_the_doctor_waits_and_a_patient_who_reloads_reconnects(alice, carol, asgi_server, call_contexts):
    """The other order (the doctor is first and offers when the patient says it is ready), then
    the patient reloads mid-call: the doctor drops the stale connection and offers again."""
    start = timezone.now().replace(microsecond=0)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)  # as booking does
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, start=start,
                                     end=start + dt.timedelta(minutes=30), status="confirmed",
                                     type=AppointmentType.REMOTE, booked_by=alice)
    sessions = {user.email: _session_of(user) for user in (alice, carol)}
    base = asgi_server()
    room_url = f"{base}/calls/{appointment.room_id}/"

    doctor = call_contexts("doctor", base, sessions["carol@example.com"])
    patient = call_contexts("patient", base, sessions["alice@example.com"])
    _join(doctor, room_url)
    expect(doctor.locator("#call-state")).to_have_text("waiting for the other person")
    _join(patient, room_url)
    for page in (patient, doctor):
        _wait_connected(page)
    first_connection = doctor.evaluate_handle("() => window.havenCall.pc")

    patient.reload()
    _join(patient, room_url)
    for page in (patient, doctor):
        _wait_connected(page)
        expect(page.locator("#call-state")).to_have_text("connected")
    assert doctor.evaluate("(old) => window.havenCall.pc !== old", first_connection)
    assert _first_video_bytes(patient) > 0
