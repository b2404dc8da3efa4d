"""/ws/calls/<room_id>/: only the appointment's two participants connect, inside the join window,
from an allowed Origin; the server relays well-formed signalling to the *other* participant only,
answers bad frames with an error frame (and stays open), rate-limits, and records the call.

Every test runs on the in-memory channel layer and on Redis (channels_redis at settings.REDIS_URL;
skipped without Redis, required in CI), through the real ASGI stack (origin check + session).
"""

import asyncio
import concurrent.futures
import datetime as dt
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from clinic.models import Appointment, AppointmentType, CareTeamMember
from conftest import login_verified
from telehealth import calls, presence
from telehealth.consumers_calls import CLOSE_FORBIDDEN, CLOSE_NOT_OPEN, CLOSE_REPLACED, MAX_SDP_BYTES
from tests.factories import AppointmentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
ORIGIN = (b"origin", b"http://testserver")
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
QUIET = 0.3  # how long to wait for a message that must not come
RECV = 5  # how long to wait for a message that must come (a loaded CI runner can be slow)


def run(scenario):
    """Run an async scenario to completion in its own thread: a Playwright test earlier in this
    worker leaves an event loop running in the main thread, where async_to_sync refuses to run."""
    def in_thread():
        try:
            return async_to_sync(scenario)()
        finally:
            connections.close_all()  # the consumer's queries ran here; let the test DB be dropped

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result()


def make_appointment(alice, carol, *, minutes_from_now=5, **kwargs):
    start = timezone.now() + dt.timedelta(minutes=minutes_from_now)
    # Booking puts the doctor in the care team; the doctor joins the call only while in it.
    CareTeamMember.objects.get_or_create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, start=start,
                              end=start + dt.timedelta(minutes=30), status="confirmed",
                              type=AppointmentType.REMOTE, booked_by=alice, **kwargs)


@pytest.fixture
def appointment(alice, carol):
    return make_appointment(alice, carol)


def cookie_for(user, *, verified=True):
    client = Client()
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    value = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={value}".encode())


def socket(room_id, cookie=None, *, origin=ORIGIN):
    from config.asgi import application

    headers = [h for h in (origin, cookie) if h is not None]
    return WebsocketCommunicator(application, f"/ws/calls/{room_id}/", headers=headers)


async def joined(room_id, cookie):
    """A connected participant and its welcome frame."""
    communicator = socket(room_id, cookie)
    connected, _ = await communicator.connect()
    assert connected
    welcome = await communicator.receive_json_from(RECV)
    assert welcome["type"] == "welcome"
    return communicator, welcome


async def closed_with(communicator) -> int:
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with a code the page can explain
    message = await communicator.receive_output(timeout=RECV)
    assert message["type"] == "websocket.close"
    return message["code"]


async def pair(room_id, patient_cookie, doctor_cookie):
    patient, welcome = await joined(room_id, patient_cookie)
    assert welcome == {"type": "welcome", "side": "patient", "polite": True, "peer_present": False,
                       "peer_ready": False}
    doctor, welcome = await joined(room_id, doctor_cookie)
    assert welcome["side"] == "doctor" and welcome["polite"] is False and welcome["peer_present"] is True
    assert await patient.receive_json_from(RECV) == {"type": "peer-joined", "from": "doctor"}
    return patient, doctor


class TestWhoConnects:
    def test_the_two_participants_connect(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            await patient.disconnect()
            await doctor.disconnect()

        run(scenario)

    def test_everyone_else_is_closed_with_4403(self, layer, appointment, grace, bob, dave, hana, ada):
        cookies = [None] + [cookie_for(user) for user in (grace, bob, dave, hana, ada)]

        async def scenario():
            for cookie in cookies:
                assert await closed_with(socket(appointment.room_id, cookie)) == CLOSE_FORBIDDEN

        run(scenario)

    def test_an_unknown_room_is_closed_with_4403(self, layer, alice):
        cookie = cookie_for(alice)

        async def scenario():
            for room_id in ("no-such-room", "x" * 65):
                assert await closed_with(socket(room_id, cookie)) == CLOSE_FORBIDDEN

        run(scenario)

    def test_a_doctor_who_has_not_passed_the_second_factor_is_refused(self, layer, appointment, carol):
        cookie = cookie_for(carol, verified=False)

        async def scenario():
            assert await closed_with(socket(appointment.room_id, cookie)) == CLOSE_FORBIDDEN

        run(scenario)

    @pytest.mark.parametrize(("minutes_from_now", "status"), [
        (60 * 3, "confirmed"), (-(30 + 61), "confirmed"), (5, "requested"), (5, "cancelled")])
    def test_outside_the_join_window_it_is_closed_with_4410(self, layer, alice, carol, minutes_from_now, status):
        appointment = make_appointment(alice, carol, minutes_from_now=minutes_from_now)
        Appointment.objects.filter(pk=appointment.pk).update(status=status)
        cookie = cookie_for(alice)

        async def scenario():
            assert await closed_with(socket(appointment.room_id, cookie)) == CLOSE_NOT_OPEN

        run(scenario)

    def test_a_foreign_origin_is_refused(self, layer, appointment, alice):
        cookie = cookie_for(alice)

        async def scenario():
            for origin in ((b"origin", b"https://evil.example"), None):
                communicator = socket(appointment.room_id, cookie, origin=origin)
                connected, _ = await communicator.connect()
                assert not connected

        run(scenario)

    def test_a_second_connection_of_the_same_person_replaces_the_first(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            again, welcome = await joined(appointment.room_id, cookies[0])
            assert welcome["peer_present"] is True
            assert await patient.receive_json_from(RECV) == {"type": "replaced"}
            assert (await patient.receive_output(timeout=RECV)) == {"type": "websocket.close", "code": CLOSE_REPLACED}
            assert await doctor.receive_json_from(RECV) == {"type": "peer-joined", "from": "patient"}
            await patient.disconnect()
            # the old connection leaving does not tell the doctor the patient left
            assert await doctor.receive_nothing(QUIET)
            await again.send_json_to({"type": "offer", "sdp": SDP})
            assert (await doctor.receive_json_from(RECV))["type"] == "offer"
            await again.disconnect()
            await doctor.disconnect()

        run(scenario)


class TestRelay:
    def test_an_offer_reaches_the_other_participant_only(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            await patient.send_json_to({"type": "offer", "sdp": SDP, "extra": "<dropped>"})
            assert await doctor.receive_json_from(RECV) == {"type": "offer", "sdp": SDP, "from": "patient"}
            assert await patient.receive_nothing(QUIET)  # never echoed to the sender
            await doctor.send_json_to({"type": "answer", "sdp": SDP})
            assert await patient.receive_json_from(RECV) == {"type": "answer", "sdp": SDP, "from": "doctor"}
            candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
                         "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}
            await doctor.send_json_to({"type": "ice", "candidate": candidate})
            assert await patient.receive_json_from(RECV) == {"type": "ice", "candidate": candidate, "from": "doctor"}
            await doctor.send_json_to({"type": "ice", "candidate": None})
            assert await patient.receive_json_from(RECV) == {"type": "ice", "candidate": None, "from": "doctor"}
            assert await doctor.receive_nothing(QUIET)
            await patient.disconnect()
            assert await doctor.receive_json_from(RECV) == {"type": "peer-left", "from": "patient"}
            await doctor.disconnect()

        run(scenario)

    def test_a_third_room_does_not_hear_it(self, layer, appointment, alice, bob, carol, dave):
        other = make_appointment(bob, dave)
        cookies = cookie_for(alice), cookie_for(carol), cookie_for(bob)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, cookies[0], cookies[1])
            stranger, _ = await joined(other.room_id, cookies[2])
            await patient.send_json_to({"type": "offer", "sdp": SDP})
            assert (await doctor.receive_json_from(RECV))["type"] == "offer"
            assert await stranger.receive_nothing(QUIET)
            for communicator in (patient, doctor, stranger):
                await communicator.disconnect()

        run(scenario)


BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_frame"),
    (json.dumps({"type": "chat", "text": "hi"}), "bad_frame"),
    (json.dumps({"type": "offer"}), "bad_frame"),
    (json.dumps({"type": "offer", "sdp": 12}), "bad_frame"),
    (json.dumps({"type": "offer", "sdp": "x" * (MAX_SDP_BYTES + 1)}), "too_large"),
    (json.dumps({"type": "answer", "sdp": "é" * (MAX_SDP_BYTES // 2 + 1)}, ensure_ascii=False), "too_large"),
    (json.dumps({"type": "offer", "sdp": "x" * 200_000}), "too_large"),
    (json.dumps({"type": "ice", "candidate": "candidate:1"}), "bad_frame"),
    (json.dumps({"type": "ice", "candidate": {"candidate": "c", "sdpMLineIndex": "0"}}), "bad_frame"),
    (json.dumps({"type": "ice", "candidate": {"candidate": "c", "sdpMLineIndex": True}}), "bad_frame"),
    (json.dumps({"type": "ice", "candidate": {"candidate": "c" * 5000}}), "bad_frame"),
    (json.dumps({"type": "ready", "media": "hologram"}), "bad_frame"),
]


class TestBadInput:
    def test_it_answers_with_an_error_frame_and_stays_open(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            for frame, code in BAD_FRAMES:
                await patient.send_to(text_data=frame)
                error = await patient.receive_json_from(RECV)
                assert error["type"] == "error" and error["code"] == code and error["message"], frame[:80]
            assert await doctor.receive_nothing(QUIET)  # nothing bad was relayed
            await patient.send_json_to({"type": "offer", "sdp": SDP})  # still open
            assert (await doctor.receive_json_from(RECV))["type"] == "offer"
            await patient.disconnect()
            await doctor.disconnect()

        run(scenario)

    def test_binary_frames_are_refused(self, layer, appointment, alice):
        cookie = cookie_for(alice)

        async def scenario():
            patient, _ = await joined(appointment.room_id, cookie)
            await patient.send_to(bytes_data=b"\x00\x01")
            assert (await patient.receive_json_from(RECV))["code"] == "bad_frame"
            await patient.disconnect()

        run(scenario)

    def test_it_rate_limits(self, layer, appointment, alice, carol, settings):
        settings.CALL_SIGNAL_RATE = (5, 10)
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            for _ in range(7):
                await patient.send_json_to({"type": "ice", "candidate": None})
            for _ in range(5):
                assert (await doctor.receive_json_from(RECV))["type"] == "ice"
            assert await doctor.receive_nothing(QUIET)
            for _ in range(2):
                assert (await patient.receive_json_from(RECV))["code"] == "rate_limited"
            await patient.disconnect()
            await doctor.disconnect()

        run(scenario)


class TestCallRecord:
    def test_ready_of_both_starts_and_the_last_to_leave_ends_the_call(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        def call_record():
            return Appointment.objects.get(pk=appointment.pk).extras.get("call")

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            await patient.send_json_to({"type": "ready", "media": "audio"})
            assert await doctor.receive_json_from(RECV) == {"type": "ready", "media": "audio", "from": "patient"}
            assert await database_sync_to_async(call_record)() is None  # one side ready is no call
            await doctor.send_json_to({"type": "ready"})
            assert await patient.receive_json_from(RECV) == {"type": "ready", "media": "video", "from": "doctor"}
            call = await database_sync_to_async(call_record)()
            assert "started_at" in call and "ended_at" not in call

            await doctor.send_json_to({"type": "hangup"})
            assert await patient.receive_json_from(RECV) == {"type": "hangup", "from": "doctor"}
            assert (await doctor.receive_output(timeout=RECV))["type"] == "websocket.close"
            assert "ended_at" not in await database_sync_to_async(call_record)()  # the patient is still here
            await patient.disconnect()

        run(scenario)
        call = Appointment.objects.get(pk=appointment.pk).extras["call"]
        assert call["ended_at"] >= call["started_at"] and call["duration_s"] >= 0

    def test_an_open_socket_keeps_its_presence_fresh_and_leaves_no_trace(self, layer, appointment, alice,
                                                                            monkeypatch):
        monkeypatch.setattr(calls, "PRESENCE_HEARTBEAT_S", 0.05)
        cookie = cookie_for(alice)

        def room():
            return presence.read(calls._presence_key(appointment.room_id))

        async def scenario():
            patient, _ = await joined(appointment.room_id, cookie)
            first = (await database_sync_to_async(room)())["patient"]["seen"]
            await asyncio.sleep(0.5)
            later = (await database_sync_to_async(room)())["patient"]["seen"]
            await patient.disconnect()
            return first, later

        first, later = run(scenario)
        assert later > first
        assert room() == {}

    def test_a_reconnecting_participant_tells_the_other_it_is_ready(self, layer, appointment, alice, carol):
        cookies = cookie_for(alice), cookie_for(carol)

        async def scenario():
            patient, doctor = await pair(appointment.room_id, *cookies)
            await doctor.send_json_to({"type": "ready"})
            await patient.receive_json_from(RECV)
            await patient.disconnect()
            assert (await doctor.receive_json_from(RECV))["type"] == "peer-left"
            again, welcome = await joined(appointment.room_id, cookies[0])
            assert welcome["peer_present"] and welcome["peer_ready"]
            await again.disconnect()
            await doctor.disconnect()

        run(scenario)
        appointment.refresh_from_db()
        assert "call" not in appointment.extras  # both were never ready together


def test_signing_out_closes_that_sessions_call_socket(layer, appointment, alice, carol):
    """A web sign-out ends the session's call socket too (4401); the other participant stays."""
    browser = login_verified(Client(), alice)
    value = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    alice_cookie = (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={value}".encode())
    carol_cookie = cookie_for(carol)

    async def scenario():
        patient, doctor = await pair(appointment.room_id, alice_cookie, carol_cookie)
        assert (await database_sync_to_async(browser.post)("/accounts/logout/")).status_code == 302
        while True:
            output = await patient.receive_output(timeout=RECV)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == 4401
        assert await doctor.receive_json_from(RECV) == {"type": "peer-left", "from": "patient"}
        await doctor.disconnect()

    run(scenario)
