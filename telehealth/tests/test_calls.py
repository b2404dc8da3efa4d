"""Call rooms: who is a participant (the patient side and the appointment's doctor, nobody else),
the join window, the call record, the call page and the "Join call" card on the appointment page."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from analytics.models import AuditEvent
from clinic.models import AppointmentType, CareTeamMember
from conftest import login_verified
from core.errors import NotFound
from telehealth import calls
from tests.factories import AppointmentFactory, PatientFactory, UserPatientRelationFactory

pytestmark = [pytest.mark.django_db]


def call_appointment(patient, doctor_user, *, minutes_from_now=5, length=30, **kwargs):
    start = timezone.now() + dt.timedelta(minutes=minutes_from_now)
    fields = {"status": "confirmed", "type": AppointmentType.REMOTE, "booked_by": patient.user}
    fields.update(kwargs)
    # Booking puts the doctor in the care team; the doctor joins the call only while in it.
    CareTeamMember.objects.get_or_create(doctor=doctor_user.doctor_profile, patient=patient)
    return AppointmentFactory(patient=patient, doctor=doctor_user.doctor_profile, start=start,
                              end=start + dt.timedelta(minutes=length), **fields)


@pytest.fixture
def appointment(alice, carol):
    return call_appointment(alice.patient_record, carol)


class TestWhoJoins:
    def test_it_admits_the_patient_and_the_doctor(self, appointment, alice, carol):
        assert calls.call_room_get(fetched_by=alice, room_id=appointment.room_id) == (appointment, "patient")
        assert calls.call_room_get(fetched_by=carol, room_id=appointment.room_id) == (appointment, "doctor")

    def test_it_rejects_everyone_else_as_not_found(self, appointment, grace, bob, dave, hana, ada):
        from django.contrib.auth.models import AnonymousUser

        for user in (grace, bob, dave, hana, ada, AnonymousUser()):
            with pytest.raises(NotFound):
                calls.call_room_get(fetched_by=user, room_id=appointment.room_id)

    def test_it_rejects_unknown_and_empty_rooms(self, alice):
        for room_id in ("nope", ""):
            with pytest.raises(NotFound):
                calls.call_room_get(fetched_by=alice, room_id=room_id)

    def test_it_has_no_room_for_in_person_appointments(self, alice, carol, riverside_hospital):
        appointment = call_appointment(alice.patient_record, carol, type=AppointmentType.REGULAR,
                                       hospital=riverside_hospital)
        with pytest.raises(NotFound):
            calls.call_room_get(fetched_by=alice, room_id=appointment.room_id)

    def test_for_a_dependent_without_login_the_booking_account_joins(self, grace, alice, carol):
        child = PatientFactory(name="Little One")
        UserPatientRelationFactory(user=grace, patient=child, relation="child")
        appointment = call_appointment(child, carol, booked_by=grace)
        assert calls.call_room_get(fetched_by=grace, room_id=appointment.room_id)[1] == "patient"
        with pytest.raises(NotFound):
            calls.call_room_get(fetched_by=alice, room_id=appointment.room_id)

    def test_a_booker_no_longer_linked_to_the_dependent_does_not_join(self, grace, carol):
        child = PatientFactory(name="Little One")
        appointment = call_appointment(child, carol, booked_by=grace)
        with pytest.raises(NotFound):
            calls.call_room_get(fetched_by=grace, room_id=appointment.room_id)


@pytest.fixture
def riverside_hospital(hana):
    return hana.hospital_staff.hospital


class TestJoinWindow:
    @pytest.mark.parametrize(("offset_minutes", "is_open"), [
        (-16, False), (-15, True), (0, True), (30 + 60, True), (30 + 61, False)])
    def test_it_opens_15_minutes_before_and_closes_60_after(self, appointment, offset_minutes, is_open):
        now = appointment.start + dt.timedelta(minutes=offset_minutes)
        assert calls.call_is_open(appointment, now=now) is is_open

    def test_it_reads_the_window_from_settings(self, appointment, settings):
        settings.CALL_JOIN_BEFORE_MINUTES = 30
        assert calls.call_is_open(appointment, now=appointment.start - dt.timedelta(minutes=25))

    @pytest.mark.parametrize("status", ["requested", "cancelled", "completed", "no_show"])
    def test_only_confirmed_appointments_open(self, appointment, status):
        appointment.status = status
        assert not calls.call_is_open(appointment, now=appointment.start)
        with pytest.raises(calls.CallNotOpen):
            calls.call_join_check(appointment=appointment, now=appointment.start)


class TestCallRecord:
    def test_it_records_start_end_and_duration_with_audit(self, appointment, alice, carol):
        start = timezone.now()
        calls.call_start_record(appointment_id=appointment.pk, actor=alice, now=start)
        calls.call_start_record(appointment_id=appointment.pk, actor=carol, now=start + dt.timedelta(seconds=5))
        calls.call_end_record(appointment_id=appointment.pk, actor=carol, now=start + dt.timedelta(seconds=754))
        appointment.refresh_from_db()
        call = appointment.extras["call"]
        assert dt.datetime.fromisoformat(call["started_at"]) == start
        assert dt.datetime.fromisoformat(call["ended_at"]) == start + dt.timedelta(seconds=754)
        assert call["duration_s"] == 754
        assert list(AuditEvent.objects.filter(target_id=str(appointment.pk)).order_by("created_at")
                    .values_list("action", flat=True)) == ["call.started", "call.ended"]

    def test_an_end_without_a_start_records_nothing(self, appointment, carol):
        assert calls.call_end_record(appointment_id=appointment.pk, actor=carol) is None
        appointment.refresh_from_db()
        assert "call" not in appointment.extras

    def test_a_resumed_call_keeps_its_first_start(self, appointment, alice):
        start = timezone.now()
        calls.call_start_record(appointment_id=appointment.pk, now=start)
        calls.call_end_record(appointment_id=appointment.pk, now=start + dt.timedelta(seconds=60))
        calls.call_start_record(appointment_id=appointment.pk, now=start + dt.timedelta(seconds=90))
        appointment.refresh_from_db()
        assert "ended_at" not in appointment.extras["call"]
        calls.call_end_record(appointment_id=appointment.pk, now=start + dt.timedelta(seconds=300))
        appointment.refresh_from_db()
        assert appointment.extras["call"]["duration_s"] == 300

    def test_it_keeps_other_extras(self, appointment):
        appointment.extras = {"intake": {"done": True}}
        appointment.save()
        calls.call_start_record(appointment_id=appointment.pk)
        appointment.refresh_from_db()
        assert appointment.extras["intake"] == {"done": True} and "started_at" in appointment.extras["call"]


class TestCallPage:
    def url(self, appointment):
        return reverse("call_room", args=[appointment.room_id])

    def test_it_shows_the_prejoin_check_to_the_patient(self, client, appointment, alice, settings):
        settings.WEBRTC_ICE_SERVERS = [{"urls": "stun:stun.example.org:3478"}]
        client.force_login(alice)
        response = client.get(self.url(appointment))
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="call-join"' in body and "js/call.js" in body
        config = response.context["call_config"]
        assert config["polite"] is True and config["side"] == "patient"
        assert config["wsPath"] == f"/ws/calls/{appointment.room_id}/"
        assert config["iceServers"] == [{"urls": "stun:stun.example.org:3478"}]
        assert config["afterUrl"] == reverse("appointment_detail", args=[appointment.pk])

    def test_the_doctor_is_sent_to_the_notes_after_the_call(self, client, appointment, carol):
        login_verified(client, carol)
        response = client.get(self.url(appointment))
        assert response.status_code == 200
        config = response.context["call_config"]
        assert config["polite"] is False
        assert config["afterUrl"] == reverse("appointment_detail", args=[appointment.pk]) + "#notes"

    @pytest.mark.parametrize("audio_only", [True, False])
    def test_a_call_asked_for_as_audio_only_preselects_audio(self, client, appointment, alice, audio_only):
        appointment.extras = {"call_request": {"id": "x", "audio_only": audio_only}}
        appointment.save()
        client.force_login(alice)
        body = client.get(self.url(appointment)).content.decode()
        checked = 'value="audio" checked' if audio_only else 'value="video" checked'
        unchecked = 'value="video" checked' if audio_only else 'value="audio" checked'
        assert checked in body and unchecked not in body

    def test_it_checks_ownership(self, client, appointment, grace, bob, dave):
        for user in (grace, bob, dave):
            login_verified(client, user)
            assert client.get(self.url(appointment)).status_code == 404

    def test_it_requires_login(self, client, appointment):
        response = client.get(self.url(appointment))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_it_rejects_post(self, client, appointment, alice):
        client.force_login(alice)
        assert client.post(self.url(appointment)).status_code == 405

    def test_it_says_when_the_room_is_closed(self, client, alice, carol):
        appointment = call_appointment(alice.patient_record, carol, minutes_from_now=60 * 24)
        client.force_login(alice)
        response = client.get(self.url(appointment))
        assert response.status_code == 200
        assert response.context["closed_reason"] and b"js/call.js" not in response.content


class TestJoinCardOnAppointmentPage:
    def test_participants_see_join_call_while_open(self, client, appointment, alice):
        client.force_login(alice)
        response = client.get(reverse("appointment_detail", args=[appointment.pk]))
        assert reverse("call_room", args=[appointment.room_id]).encode() in response.content

    def test_family_members_see_no_join_link(self, client, appointment, grace):
        client.force_login(grace)
        response = client.get(reverse("appointment_detail", args=[appointment.pk]))
        assert response.status_code == 200
        assert reverse("call_room", args=[appointment.room_id]).encode() not in response.content

    def test_before_the_window_it_says_when_it_opens(self, client, alice, carol):
        appointment = call_appointment(alice.patient_record, carol, minutes_from_now=60 * 24)
        client.force_login(alice)
        response = client.get(reverse("appointment_detail", args=[appointment.pk]))
        assert b"The call room is open from" in response.content
        assert reverse("call_room", args=[appointment.room_id]).encode() not in response.content


def test_the_appointment_page_works_with_or_without_the_call_routes(client, appointment, alice):
    try:
        reverse("call_room", args=[appointment.room_id])
        routed = True
    except NoReverseMatch:
        routed = False
    client.force_login(alice)
    response = client.get(reverse("appointment_detail", args=[appointment.pk]))
    assert response.status_code == 200 and (b"Join call" in response.content) is routed


# --- room presence after a crash, and calls nobody ended ---------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """telehealth.calls's wall clock, moved by hand."""
    import time as real_time
    from types import SimpleNamespace

    state = {"now": real_time.time()}
    monkeypatch.setattr(calls, "time", SimpleNamespace(time=lambda: state["now"]))
    return state


def started_call(appointment, alice, carol, *, clock):
    """Both sides joined and ready: a call in progress, as the consumer records it."""
    calls.presence_join(appointment.room_id, calls.PATIENT, "patient-socket", alice.pk)
    calls.presence_join(appointment.room_id, calls.DOCTOR, "doctor-socket", carol.pk)
    calls.presence_ready(appointment.room_id, calls.PATIENT, "patient-socket")
    assert calls.presence_ready(appointment.room_id, calls.DOCTOR, "doctor-socket")
    at = dt.datetime.fromtimestamp(clock["now"], dt.UTC)
    calls.call_start_record(appointment_id=appointment.pk, now=at)
    return at


def call_of(appointment):
    appointment.refresh_from_db()
    return appointment.extras.get("call")


class TestRoomPresence:
    def test_a_side_whose_server_died_stops_counting(self, backend, appointment, alice, carol, clock):
        started_call(appointment, alice, carol, clock=clock)
        for _ in range(4):  # the doctor's socket beats; the patient's server process is gone
            clock["now"] += calls.PRESENCE_HEARTBEAT_S
            assert calls.presence_touch(appointment.room_id, calls.DOCTOR, "doctor-socket", carol.pk)

        replaced, peer = calls.presence_join(appointment.room_id, calls.DOCTOR, "doctor-tab-2", carol.pk)
        assert replaced == "doctor-socket" and peer is None  # no ghost patient
        assert calls.presence_leave(appointment.room_id, calls.DOCTOR, "doctor-tab-2") == "last"

    def test_a_live_peer_still_counts_and_leaving_says_left(self, backend, appointment, alice, carol, clock):
        started_call(appointment, alice, carol, clock=clock)
        clock["now"] += calls.PRESENCE_STALE_S - 1
        assert calls.presence_leave(appointment.room_id, calls.PATIENT, "patient-socket") == "left"

    def test_a_replaced_socket_does_not_refresh_the_new_one(self, backend, appointment, alice, carol, clock):
        calls.presence_join(appointment.room_id, calls.PATIENT, "old-tab", alice.pk)
        calls.presence_join(appointment.room_id, calls.PATIENT, "new-tab", alice.pk)
        assert not calls.presence_touch(appointment.room_id, calls.PATIENT, "old-tab", alice.pk)
        assert calls.presence_leave(appointment.room_id, calls.PATIENT, "old-tab") == "replaced"

    def test_a_heartbeat_writes_back_a_lost_entry(self, backend, appointment, alice, carol, clock):
        from django.core.cache import cache

        from telehealth import presence

        calls.presence_join(appointment.room_id, calls.DOCTOR, "doctor-socket", carol.pk)
        cache.clear()  # the state is lost (an embedded restart; for Redis, a flush) while the socket lives
        if presence._redis_client() is not None:
            presence._redis_client().delete(presence._redis_key(calls._presence_key(appointment.room_id)))
        assert calls.presence_touch(appointment.room_id, calls.DOCTOR, "doctor-socket", carol.pk)
        _, peer = calls.presence_join(appointment.room_id, calls.PATIENT, "patient-socket", alice.pk)
        assert peer["channel"] == "doctor-socket"


class TestAbandonedCalls:
    def test_a_call_both_servers_dropped_ends_when_someone_was_last_seen(
            self, backend, appointment, alice, carol, clock):
        started = started_call(appointment, alice, carol, clock=clock)
        clock["now"] += 2 * calls.PRESENCE_HEARTBEAT_S  # the doctor's socket beats once more...
        calls.presence_touch(appointment.room_id, calls.DOCTOR, "doctor-socket", carol.pk)
        last_seen = clock["now"]
        clock["now"] += calls.PRESENCE_STALE_S - 1  # ... then both processes die
        now = dt.datetime.fromtimestamp(clock["now"], dt.UTC)
        assert calls.calls_close_abandoned(now=now) == 0  # not stale yet

        clock["now"] += 2
        now = dt.datetime.fromtimestamp(clock["now"], dt.UTC)
        assert calls.calls_close_abandoned(now=now) == 1
        call = call_of(appointment)
        assert dt.datetime.fromisoformat(call["ended_at"]) == dt.datetime.fromtimestamp(last_seen, dt.UTC)
        assert call["duration_s"] == round(last_seen - started.timestamp())
        assert call["ended_by"] == "timeout"
        event = AuditEvent.objects.get(target_id=str(appointment.pk), action="call.ended")
        assert event.actor is None and event.data["ended_by"] == "timeout"
        assert calls.calls_close_abandoned(now=now) == 0  # idempotent

        # The room is empty again: rejoining starts the call record afresh (resumed, not stuck "ended").
        assert calls.presence_join(appointment.room_id, calls.PATIENT, "patient-again", alice.pk) == (None, None)

    def test_a_call_with_someone_still_there_is_left_alone(self, backend, appointment, alice, carol, clock):
        started_call(appointment, alice, carol, clock=clock)
        for _ in range(10):
            clock["now"] += calls.PRESENCE_HEARTBEAT_S
            calls.presence_touch(appointment.room_id, calls.PATIENT, "patient-socket", alice.pk)
        assert calls.calls_close_abandoned(now=dt.datetime.fromtimestamp(clock["now"], dt.UTC)) == 0
        assert "ended_at" not in call_of(appointment)

    def test_a_call_whose_room_state_is_gone_ends_at_the_check(self, backend, appointment, clock):
        start = timezone.now()
        calls.call_start_record(appointment_id=appointment.pk, now=start)  # no presence at all
        check = appointment.start + dt.timedelta(minutes=20)
        assert calls.calls_close_abandoned(now=check) == 1
        call = call_of(appointment)
        assert dt.datetime.fromisoformat(call["ended_at"]) == check and call["ended_by"] == "timeout"

    def test_ended_never_started_and_old_calls_are_not_touched(self, backend, alice, carol, clock):
        ended = call_appointment(alice.patient_record, carol, minutes_from_now=-30)
        calls.call_start_record(appointment_id=ended.pk, now=ended.start)
        calls.call_end_record(appointment_id=ended.pk, now=ended.start + dt.timedelta(minutes=10))
        never = call_appointment(alice.patient_record, carol, minutes_from_now=-90)
        old = call_appointment(alice.patient_record, carol, minutes_from_now=-60 * 24 * 8)
        calls.call_start_record(appointment_id=old.pk, now=old.start)

        assert calls.calls_close_abandoned() == 0
        assert call_of(ended)["duration_s"] == 600 and "ended_by" not in call_of(ended)
        assert call_of(never) is None and "ended_at" not in call_of(old)

    def test_beat_runs_it_every_five_minutes(self, settings):
        from config.celery import app

        [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
                   if e["task"] == "telehealth.tasks.calls_close_abandoned"]
        assert entry["schedule"] == dt.timedelta(minutes=5)
        app.loader.import_default_modules()
        assert entry["task"] in app.tasks


# --- what the appointment page and the API say about the call ------------------------------------

class TestCallRecordShown:
    def page(self, client, user, appointment):
        login_verified(client, user)
        response = client.get(reverse("appointment_detail", args=[appointment.pk]))
        assert response.status_code == 200
        return response.content.decode()

    def test_no_call_no_line(self, client, appointment, alice):
        assert "<dt>Call</dt>" not in self.page(client, alice, appointment)

    def test_in_progress_then_times_and_duration(self, client, appointment, alice, carol, grace):
        start = appointment.start.replace(second=0, microsecond=0)
        calls.call_start_record(appointment_id=appointment.pk, now=start)
        assert "In progress since" in self.page(client, carol, appointment)

        calls.call_end_record(appointment_id=appointment.pk, now=start + dt.timedelta(minutes=25, seconds=10))
        for user in (alice, carol, grace):
            html = self.page(client, user, appointment)
            assert "<dt>Call</dt>" in html and "25 minutes" in html and "In progress" not in html
            assert "connection was lost" not in html

    def test_a_call_closed_by_the_timeout_says_so(self, client, appointment, alice):
        calls.call_start_record(appointment_id=appointment.pk, now=appointment.start)
        calls.call_end_record(appointment_id=appointment.pk, now=appointment.start + dt.timedelta(seconds=20),
                              ended_by="timeout")
        html = self.page(client, alice, appointment)
        assert "under a minute" in html and "The connection was lost" in html

    def test_the_api_gives_the_record(self, client, appointment, alice, carol):
        from accounts.tokens import issue_pair

        def fetch():
            response = client.get(f"/api/v1/appointments/{appointment.pk}",
                                  HTTP_AUTHORIZATION=f"Bearer {issue_pair(alice)['access']}")
            assert response.status_code == 200
            return response.json()["call"]

        assert fetch() is None
        start = appointment.start.replace(microsecond=0)
        calls.call_start_record(appointment_id=appointment.pk, now=start)
        assert fetch()["in_progress"] is True and fetch()["ended_at"] is None
        calls.call_end_record(appointment_id=appointment.pk, now=start + dt.timedelta(minutes=3))
        call = fetch()
        assert call["duration_s"] == 180 and call["ended_by"] == "participants" and not call["in_progress"]
        assert dt.datetime.fromisoformat(call["ended_at"]) == start + dt.timedelta(minutes=3)
