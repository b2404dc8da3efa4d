"""Calls asked for from a chat (telehealth/call_requests.py): the services (ask, accept books a call,
decline, cancel, expiry, overlap refusal, one pending per chat), and the pages and the API across
every role. The websocket event is in test_call_requests_ws.py, races on Postgres in
test_call_requests_race.py."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic.models import Appointment, AppointmentEvent, AppointmentStatus, AppointmentType, CareTeamMember
from conftest import login_verified
from core.errors import Conflict, NotFound, PermissionDenied
from telehealth import call_requests, calls
from telehealth import chat as chats
from telehealth.models import CallRequest, Notification
from tests.factories import DoctorFactory, PatientFactory, UserPatientRelationFactory

pytestmark = pytest.mark.django_db

Status = CallRequest.Status
ROLES = ["alice", "grace", "carol", "bob", "dave", "hana", "ada"]
MEMBERS = {"alice", "grace", "carol"}
PATIENT_SIDE = {"alice", "grace"}


@pytest.fixture
def pending(chat, alice):
    return call_requests.call_request_create(actor=alice, chat=chat, reason="My chest feels tight", audio_only=True)


def fresh(call_request) -> CallRequest:
    return CallRequest.objects.select_related("appointment").get(pk=call_request.pk)


def busy_appointment(patient, doctor_user, *, started_minutes_ago=10, length=30, status="confirmed"):
    start = timezone.now() - dt.timedelta(minutes=started_minutes_ago)
    return Appointment.objects.create(patient=patient, doctor=doctor_user.doctor_profile, type=AppointmentType.REMOTE,
                                      start=start, end=start + dt.timedelta(minutes=length), status=status,
                                      room_id="busy-room")


def actions(call_request):
    return list(AuditEvent.objects.filter(target_id=str(call_request.pk)).order_by("created_at")
                .values_list("action", flat=True))


# --- asking ------------------------------------------------------------------------------------------

class TestAsk:
    def test_the_patient_asks_and_the_doctor_is_told_in_app_and_by_email(
            self, chat, alice, carol, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            request = call_requests.call_request_create(actor=alice, chat=chat, reason="My chest feels tight",
                                                        audio_only=True)
        request = fresh(request)
        assert (request.status, request.requested_by, request.audio_only, request.reason) == (
            Status.PENDING, alice, True, "My chest feels tight")
        note = Notification.objects.get(recipient=carol, kind=Notification.Kind.CALL_REQUESTED)
        assert note.title == "Alice Patient asks for a call now"
        assert note.url == f"/chats/{chat.pk}/"
        [email] = [m for m in mail.outbox if m.to == [carol.email]]
        assert "Alice Patient asks for a call now" in email.subject
        # No clinical text leaves Haven by email; the doctor reads the reason in the chat.
        assert "chest" not in email.body and "chest" not in note.body
        assert actions(request) == ["call_request.created"]

    def test_a_family_member_asks_on_the_patients_behalf(self, chat, grace, carol):
        request = call_requests.call_request_create(actor=grace, chat=chat)
        payload = call_requests.call_request_payload(request)
        assert payload["on_behalf"] and payload["requested_by_name"] == "Grace Family"
        note = Notification.objects.get(recipient=carol, kind=Notification.Kind.CALL_REQUESTED)
        assert note.title == "Grace Family asks for a call now for Alice Patient"

    def test_the_doctor_cannot_ask(self, chat, carol):
        with pytest.raises(PermissionDenied):
            call_requests.call_request_create(actor=carol, chat=chat)
        assert not CallRequest.objects.exists()

    @pytest.mark.parametrize("who", ["bob", "dave", "hana", "ada"])
    def test_outsiders_get_not_found(self, request, chat, who):
        with pytest.raises(NotFound):
            call_requests.call_request_create(actor=request.getfixturevalue(who), chat=chat)
        assert not CallRequest.objects.exists()

    def test_one_request_waits_at_a_time(self, chat, alice, grace, pending):
        # Nothing checks before the insert: the partial unique constraint refuses the second row.
        with pytest.raises(Conflict, match="already waiting for Dr. Carol Doctor"):
            call_requests.call_request_create(actor=grace, chat=chat)
        assert CallRequest.objects.filter(chat=chat).count() == 1
        call_requests.call_request_cancel(actor=alice, call_request=pending)
        again = call_requests.call_request_create(actor=grace, chat=chat)
        assert again.status == Status.PENDING and again.pk != pending.pk

    def test_a_long_reason_is_a_field_error(self, chat, alice):
        with pytest.raises(ValidationError) as caught:
            call_requests.call_request_create(actor=alice, chat=chat, reason="x" * 301)
        assert "reason" in caught.value.message_dict
        assert not CallRequest.objects.exists()

    def test_an_overdue_request_does_not_block_a_new_one(self, chat, alice, pending):
        CallRequest.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(minutes=11))
        again = call_requests.call_request_create(actor=alice, chat=chat)
        assert fresh(pending).status == Status.EXPIRED and again.status == Status.PENDING


# --- accepting -----------------------------------------------------------------------------------------

class TestAccept:
    def test_it_books_a_confirmed_online_appointment_starting_now_with_a_call_room(
            self, settings, chat, alice, carol, pending):
        settings.CALL_REQUEST_DURATION_MINUTES = 20
        before = timezone.now()
        call_requests.call_request_accept(actor=carol, call_request=pending)
        request = fresh(pending)
        appointment = request.appointment
        assert (request.status, request.responded_by) == (Status.ACCEPTED, carol)
        a = appointment
        assert (a.patient, a.doctor, a.type, a.status, a.booked_by) == (
            alice.patient_record, carol.doctor_profile, AppointmentType.REMOTE, AppointmentStatus.CONFIRMED, alice)
        assert before - dt.timedelta(seconds=1) <= appointment.start <= timezone.now()
        assert appointment.end - appointment.start == dt.timedelta(minutes=20)
        assert appointment.room_id and appointment.extras["call_request"] == {"id": str(request.pk), "audio_only": True}
        # Its history says where it came from, and the room is open for both of them now.
        events = list(appointment.events.values_list("kind", "actor", "data"))
        assert events == [(AppointmentEvent.Kind.REQUESTED, alice.pk, {"call_request": str(request.pk)}),
                          (AppointmentEvent.Kind.CONFIRMED, carol.pk, {"call_request": str(request.pk)})]
        for user, side in ((alice, calls.PATIENT), (carol, calls.DOCTOR)):
            assert calls.call_room_get(fetched_by=user, room_id=appointment.room_id) == (appointment, side)
        assert calls.call_is_open(appointment)
        assert actions(request) == ["call_request.created", "call_request.accepted"]
        assert AuditEvent.objects.filter(action="appointment.booked", target_id=str(appointment.pk)).exists()

    def test_the_requester_is_told_and_sent_to_the_room(self, chat, alice, carol, pending):
        request = call_requests.call_request_accept(actor=carol, call_request=pending)
        note = Notification.objects.get(recipient=alice, kind=Notification.Kind.CALL_ACCEPTED)
        assert note.title == "Dr. Carol Doctor accepted the call request"
        assert note.url == f"/calls/{request.appointment.room_id}/"
        payload = call_requests.call_request_payload(fresh(request), viewer=alice)
        assert payload["call_url"] == note.url and payload["can_join"]
        assert set(payload["participant_ids"]) == {str(alice.pk), str(carol.pk)}

    def test_a_family_members_request_for_a_patient_with_a_login_is_the_patients_call(self, chat, alice, grace, carol):
        request = call_requests.call_request_create(actor=grace, chat=chat)
        request = call_requests.call_request_accept(actor=carol, call_request=request)
        room = f"/calls/{request.appointment.room_id}/"
        accepted = Notification.Kind.CALL_ACCEPTED
        assert Notification.objects.get(recipient=grace, kind=accepted).url == f"/chats/{chat.pk}/"
        assert Notification.objects.get(recipient=alice, kind=accepted).url == room
        assert not call_requests.call_request_payload(fresh(request), viewer=grace)["can_join"]

    def test_for_a_dependent_without_a_login_the_family_member_who_asked_joins(self, grace, carol):
        child = PatientFactory(name="Little One")
        UserPatientRelationFactory(user=grace, patient=child, relation="child")
        CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=child)
        chat = chats.chat_open(actor=None, patient=child, doctor=carol.doctor_profile)
        request = call_requests.call_request_create(actor=grace, chat=chat)
        request = call_requests.call_request_accept(actor=carol, call_request=request)
        assert calls.call_room_get(fetched_by=grace, room_id=request.appointment.room_id)[1] == calls.PATIENT
        assert call_requests.call_request_payload(fresh(request), viewer=grace)["can_join"]

    def test_a_busy_doctor_cannot_accept_and_the_request_keeps_waiting(self, chat, bob, carol, pending):
        busy_appointment(bob.patient_record, carol)
        with pytest.raises(Conflict, match="You have another appointment until"):
            call_requests.call_request_accept(actor=carol, call_request=pending)
        assert fresh(pending).status == Status.PENDING and fresh(pending).appointment is None
        assert Appointment.objects.filter(doctor=carol.doctor_profile).count() == 1
        # ... so the doctor can still decline it.
        call_requests.call_request_decline(actor=carol, call_request=pending, reason="In another consultation")
        assert fresh(pending).status == Status.DECLINED

    def test_a_cancelled_or_finished_appointment_does_not_make_the_doctor_busy(self, chat, bob, carol, pending):
        busy_appointment(bob.patient_record, carol, status="cancelled")
        busy_appointment(bob.patient_record, carol, started_minutes_ago=60, length=30)  # ended half an hour ago
        assert call_requests.call_request_accept(actor=carol, call_request=pending).status == Status.ACCEPTED

    def test_a_busy_patient_cannot_be_booked_either(self, chat, alice, carol, dave, pending):
        busy_appointment(alice.patient_record, dave)
        with pytest.raises(Conflict, match="Alice Patient already has an appointment"):
            call_requests.call_request_accept(actor=carol, call_request=pending)
        assert fresh(pending).status == Status.PENDING

    def test_a_second_accept_is_refused_and_books_nothing(self, chat, carol, pending):
        call_requests.call_request_accept(actor=carol, call_request=pending)
        with pytest.raises(Conflict, match="already accepted"):
            call_requests.call_request_accept(actor=carol, call_request=pending)
        assert Appointment.objects.filter(doctor=carol.doctor_profile).count() == 1

    def test_an_overdue_request_expires_instead(self, chat, alice, carol, pending):
        CallRequest.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
        with pytest.raises(Conflict, match="expired"):
            call_requests.call_request_accept(actor=carol, call_request=pending)
        assert fresh(pending).status == Status.EXPIRED
        assert not Appointment.objects.exists()

    @pytest.mark.parametrize("who", ["alice", "grace"])
    def test_the_patient_side_cannot_answer(self, request, chat, pending, who):
        user = request.getfixturevalue(who)
        with pytest.raises(PermissionDenied):
            call_requests.call_request_accept(actor=user, call_request=pending)
        with pytest.raises(PermissionDenied):
            call_requests.call_request_decline(actor=user, call_request=pending)
        assert fresh(pending).status == Status.PENDING

    @pytest.mark.parametrize("who", ["bob", "dave", "hana", "ada"])
    def test_outsiders_cannot_see_or_change_it(self, request, chat, pending, who):
        user = request.getfixturevalue(who)
        with pytest.raises(NotFound):
            call_requests.call_request_get(fetched_by=user, request_id=pending.pk)
        for change in (lambda: call_requests.call_request_accept(actor=user, call_request=pending),
                       lambda: call_requests.call_request_decline(actor=user, call_request=pending),
                       lambda: call_requests.call_request_cancel(actor=user, call_request=pending)):
            with pytest.raises(NotFound):
                change()
        assert fresh(pending).status == Status.PENDING


# --- declining, cancelling, expiring -------------------------------------------------------------------

class TestDeclineCancelExpire:
    def test_the_doctor_declines_with_a_reason_the_requester_reads(self, chat, grace, carol):
        request = call_requests.call_request_create(actor=grace, chat=chat)
        call_requests.call_request_decline(actor=carol, call_request=request, reason="  In theatre until 4  ")
        request = fresh(request)
        assert (request.status, request.decline_reason, request.responded_by) == (
            Status.DECLINED, "In theatre until 4", carol)
        note = Notification.objects.get(recipient=grace, kind=Notification.Kind.CALL_DECLINED)
        assert note.title == "Dr. Carol Doctor declined the call request" and note.body == "In theatre until 4"
        assert actions(request) == ["call_request.created", "call_request.declined"]
        with pytest.raises(Conflict, match="already declined"):
            call_requests.call_request_accept(actor=carol, call_request=request)
        assert not Appointment.objects.exists()

    def test_anyone_on_the_patients_side_cancels_and_the_doctor_cannot(self, chat, alice, grace, carol):
        request = call_requests.call_request_create(actor=grace, chat=chat)
        with pytest.raises(PermissionDenied):
            call_requests.call_request_cancel(actor=carol, call_request=request)
        call_requests.call_request_cancel(actor=alice, call_request=request)
        request = fresh(request)
        assert (request.status, request.responded_by) == (Status.CANCELLED, alice)
        assert actions(request) == ["call_request.created", "call_request.cancelled"]
        with pytest.raises(Conflict, match="cancelled"):
            call_requests.call_request_accept(actor=carol, call_request=request)

    def test_the_beat_task_expires_unanswered_requests_once(self, chat, alice, carol, pending, settings):
        from telehealth import tasks

        settings.CALL_REQUEST_EXPIRY_MINUTES = 5
        other_chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=DoctorFactory().doctor_profile)
        recent = call_requests.call_request_create(actor=alice, chat=other_chat)
        CallRequest.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5, seconds=1))
        CallRequest.objects.filter(pk=recent.pk).update(created_at=timezone.now() - dt.timedelta(minutes=4))

        assert tasks.call_requests_expire_due.delay().get() == 1
        assert fresh(pending).status == Status.EXPIRED and fresh(recent).status == Status.PENDING
        assert tasks.call_requests_expire_due.delay().get() == 0  # idempotent
        note = Notification.objects.get(recipient=alice, kind=Notification.Kind.CALL_DECLINED)
        assert note.title == "Dr. Carol Doctor did not answer the call request"
        assert actions(pending) == ["call_request.created", "call_request.expired"]
        assert not call_requests.call_request_expire(request_id=recent.pk)

    def test_beat_runs_the_expiry_every_minute(self, settings):
        from config.celery import app

        [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
                   if e["task"] == "telehealth.tasks.call_requests_expire_due"]
        assert entry["schedule"] == dt.timedelta(minutes=1)
        app.loader.import_default_modules()
        assert entry["task"] in app.tasks


class TestWhatThePageShows:
    def test_the_pending_request_then_a_recent_outcome_then_nothing(self, chat, alice, carol, pending):
        assert call_requests.call_request_current(fetched_by=carol, chat=chat) == pending
        call_requests.call_request_decline(actor=carol, call_request=pending)
        assert call_requests.call_request_current(fetched_by=alice, chat=chat).status == Status.DECLINED
        later = timezone.now() + call_requests.SHOWN_AFTER_END + dt.timedelta(minutes=1)
        assert call_requests.call_request_current(fetched_by=alice, chat=chat, now=later) is None

    def test_the_list_is_scoped_to_the_chats_members(self, chat, alice, bob, pending):
        assert call_requests.call_requests_list(fetched_by=alice, chat=chat) == [pending]
        with pytest.raises(NotFound):
            call_requests.call_requests_list(fetched_by=bob, chat=chat)


# --- pages -----------------------------------------------------------------------------------------------

def page(user):
    return login_verified(Client(), user)


def client_for(request, who):
    return Client() if who == "anonymous" else page(request.getfixturevalue(who))


def is_login_redirect(response):
    return response.status_code == 302 and "/login" in response["Location"]


class TestPages:
    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_the_panel_is_for_chat_members_only(self, request, chat, pending, who):
        response = client_for(request, who).get(f"/chats/{chat.pk}/call-request/")
        if who == "anonymous":
            assert is_login_redirect(response)
        else:
            assert response.status_code == (200 if who in MEMBERS else 404)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_asking_is_for_the_patients_side(self, request, chat, who):
        response = client_for(request, who).post(f"/chats/{chat.pk}/call-request/ask/", {"reason": "Dizzy"})
        if who == "anonymous":
            assert is_login_redirect(response)
        elif who in PATIENT_SIDE:
            assert response.status_code == 302 and response["Location"] == f"/chats/{chat.pk}/#call-request"
        else:
            assert response.status_code == (403 if who == "carol" else 404)
        assert CallRequest.objects.filter(chat=chat).exists() == (who in PATIENT_SIDE)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_accepting_is_for_the_chats_doctor(self, request, chat, pending, who):
        response = client_for(request, who).post(f"/call-requests/{pending.pk}/accept/")
        if who == "anonymous":
            assert is_login_redirect(response)
        elif who == "carol":  # straight into the call
            assert response.status_code == 302
            assert response["Location"] == f"/calls/{fresh(pending).appointment.room_id}/"
        else:
            assert response.status_code == (403 if who in PATIENT_SIDE else 404)
        assert fresh(pending).status == (Status.ACCEPTED if who == "carol" else Status.PENDING)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_declining_is_for_the_chats_doctor(self, request, chat, pending, who):
        response = client_for(request, who).post(f"/call-requests/{pending.pk}/decline/", {"reason": "Busy"})
        if who == "anonymous":
            assert is_login_redirect(response)
        elif who == "carol":
            assert response.status_code == 302 and response["Location"] == f"/chats/{chat.pk}/#call-request"
        else:
            assert response.status_code == (403 if who in PATIENT_SIDE else 404)
        assert fresh(pending).status == (Status.DECLINED if who == "carol" else Status.PENDING)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_cancelling_is_for_the_patients_side(self, request, chat, pending, who):
        response = client_for(request, who).post(f"/call-requests/{pending.pk}/cancel/")
        if who == "anonymous":
            assert is_login_redirect(response)
        elif who in PATIENT_SIDE:
            assert response.status_code == 302
        else:
            assert response.status_code == (403 if who == "carol" else 404)
        assert fresh(pending).status == (Status.CANCELLED if who in PATIENT_SIDE else Status.PENDING)

    def test_it_rejects_get_on_writes(self, chat, alice, carol, pending):
        assert page(alice).get(f"/chats/{chat.pk}/call-request/ask/").status_code == 405
        for action in ("accept", "decline", "cancel"):
            assert page(carol).get(f"/call-requests/{pending.pk}/{action}/").status_code == 405
        assert fresh(pending).status == Status.PENDING

    def test_it_needs_the_csrf_token(self, chat, alice):
        client = login_verified(Client(enforce_csrf_checks=True), alice)
        assert client.post(f"/chats/{chat.pk}/call-request/ask/").status_code == 403
        assert not CallRequest.objects.exists()

    def test_the_doctors_conversation_page_shows_the_request_on_load(self, chat, carol, pending):
        body = page(carol).get(f"/chats/{chat.pk}/").content.decode()
        assert "Alice Patient asks for a call now" in body and "My chest feels tight" in body
        assert "Audio only" in body
        assert f'action="/call-requests/{pending.pk}/accept/"' in body
        assert f'action="/call-requests/{pending.pk}/decline/"' in body
        assert 'for="call-decline-reason"' in body and 'aria-live="assertive"' in body
        assert "csrfmiddlewaretoken" in body

    def test_the_patients_page_shows_the_wait_and_cancel(self, chat, alice, grace, pending):
        for user in (alice, grace):
            body = page(user).get(f"/chats/{chat.pk}/").content.decode()
            assert "Waiting for Dr. Carol Doctor…" in body
            assert f'action="/call-requests/{pending.pk}/cancel/"' in body
            assert "/call-request/ask/" not in body  # no second request while one waits

    def test_without_a_request_the_patient_can_ask_and_the_doctor_sees_nothing(self, chat, alice, carol):
        body = page(alice).get(f"/chats/{chat.pk}/").content.decode()
        assert "Ask for a call now" in body and f'action="/chats/{chat.pk}/call-request/ask/"' in body
        assert 'for="call-request-reason"' in body and 'id="call-request-audio"' in body
        doctor_body = page(carol).get(f"/chats/{chat.pk}/").content.decode()
        assert "/call-request/ask/" not in doctor_body and "asks for a call" not in doctor_body

    def test_the_plain_form_flow(self, chat, alice, carol):
        response = page(alice).post(f"/chats/{chat.pk}/call-request/ask/", {"reason": "Dizzy", "audio_only": "on"},
                                    follow=True)
        assert "Your call request was sent" in response.content.decode()
        request = CallRequest.objects.get(chat=chat)
        assert (request.reason, request.audio_only) == ("Dizzy", True)
        again = page(alice).post(f"/chats/{chat.pk}/call-request/ask/", follow=True).content.decode()
        assert "already waiting for Dr. Carol Doctor" in again
        assert CallRequest.objects.filter(chat=chat).count() == 1

    def test_a_busy_doctor_is_told_why_on_the_page(self, chat, bob, carol, pending):
        busy_appointment(bob.patient_record, carol)
        response = page(carol).post(f"/call-requests/{pending.pk}/accept/", follow=True)
        assert "You have another appointment until" in response.content.decode()
        assert fresh(pending).status == Status.PENDING

    def test_htmx_swaps_the_panel_in_place(self, chat, alice, carol):
        response = page(alice).post(f"/chats/{chat.pk}/call-request/ask/", {"reason": "Dizzy"}, HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and "<html" not in body
        assert "Waiting for Dr. Carol Doctor…" in body
        conflict = page(alice).post(f"/chats/{chat.pk}/call-request/ask/", HTTP_HX_REQUEST="true").content.decode()
        assert 'role="alert"' in conflict and "already waiting" in conflict

    def test_htmx_accept_sends_the_doctor_to_the_call(self, chat, carol, pending):
        response = page(carol).post(f"/call-requests/{pending.pk}/accept/", HTTP_HX_REQUEST="true")
        assert response["HX-Redirect"] == f"/calls/{fresh(pending).appointment.room_id}/"

    def test_a_long_reason_is_shown_as_a_field_error(self, chat, alice):
        response = page(alice).post(f"/chats/{chat.pk}/call-request/ask/", {"reason": "x" * 301},
                                    HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert 'id="call-request-reason-error"' in body and 'aria-invalid="true"' in body
        assert not CallRequest.objects.exists()

    def test_a_long_decline_reason_is_refused_and_the_request_stays(self, chat, carol, pending):
        body = page(carol).post(f"/call-requests/{pending.pk}/decline/", {"reason": "x" * 301},
                                HTTP_HX_REQUEST="true").content.decode()
        assert 'role="alert"' in body and "300 characters" in body
        assert fresh(pending).status == CallRequest.Status.PENDING

    def test_after_accepting_both_see_the_join_link(self, chat, alice, carol, pending):
        call_requests.call_request_accept(actor=carol, call_request=pending)
        room = f"/calls/{fresh(pending).appointment.room_id}/"
        for user in (alice, carol):
            assert f'href="{room}"' in page(user).get(f"/chats/{chat.pk}/").content.decode()

    def test_the_panel_has_a_bounded_number_of_queries(self, chat, alice, carol, pending,
                                                       django_assert_max_num_queries):
        call_requests.call_request_accept(actor=carol, call_request=pending)
        client = page(alice)
        with django_assert_max_num_queries(20):
            assert client.get(f"/chats/{chat.pk}/call-request/").status_code == 200


# --- API -------------------------------------------------------------------------------------------------

def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def api_for(request, who):
    return Client() if who == "anonymous" else api(request.getfixturevalue(who))


def post(client, path, data=None):
    return client.post(path, data if data is not None else {}, content_type="application/json")


class TestApi:
    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_asking(self, request, chat, who):
        response = post(api_for(request, who), f"/api/v1/chats/{chat.pk}/call-requests",
                        {"reason": "Dizzy", "audio_only": True})
        expected = {"anonymous": 401, "carol": 403}.get(who, 201 if who in PATIENT_SIDE else 404)
        assert response.status_code == expected, response.content
        assert "detail" in response.json() or response.json()["status"] == "pending"
        assert CallRequest.objects.filter(chat=chat).exists() == (who in PATIENT_SIDE)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_reading(self, request, chat, pending, who):
        client = api_for(request, who)
        listed = client.get(f"/api/v1/chats/{chat.pk}/call-requests")
        one = client.get(f"/api/v1/call-requests/{pending.pk}")
        expected = 401 if who == "anonymous" else 200 if who in MEMBERS else 404
        assert (listed.status_code, one.status_code) == (expected, expected)
        if expected == 200:
            assert [r["id"] for r in listed.json()] == [str(pending.pk)]
            assert one.json()["reason"] == "My chest feels tight" and one.json()["status"] == "pending"
            reads = AuditEvent.objects.filter(action="call_request.viewed", actor=request.getfixturevalue(who),
                                              target_id=str(pending.pk), data__via="api")
            assert reads.count() == 2  # the list and the detail

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_accepting(self, request, chat, pending, who):
        response = post(api_for(request, who), f"/api/v1/call-requests/{pending.pk}/accept")
        expected = {"anonymous": 401, "carol": 200}.get(who, 403 if who in PATIENT_SIDE else 404)
        assert response.status_code == expected, response.content
        if who == "carol":
            body = response.json()
            room = fresh(pending).appointment.room_id
            assert (body["status"], body["room_id"], body["call_url"], body["can_join"]) == (
                "accepted", room, f"/calls/{room}/", True)
            assert body["appointment_id"] == str(fresh(pending).appointment_id)
        else:
            assert fresh(pending).status == Status.PENDING

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_declining(self, request, chat, pending, who):
        response = post(api_for(request, who), f"/api/v1/call-requests/{pending.pk}/decline", {"reason": "Busy"})
        expected = {"anonymous": 401, "carol": 200}.get(who, 403 if who in PATIENT_SIDE else 404)
        assert response.status_code == expected, response.content
        assert fresh(pending).status == (Status.DECLINED if who == "carol" else Status.PENDING)

    @pytest.mark.parametrize("who", ["anonymous", *ROLES])
    def test_cancelling(self, request, chat, pending, who):
        response = post(api_for(request, who), f"/api/v1/call-requests/{pending.pk}/cancel")
        expected = {"anonymous": 401, "carol": 403}.get(who, 200 if who in PATIENT_SIDE else 404)
        assert response.status_code == expected, response.content
        assert fresh(pending).status == (Status.CANCELLED if who in PATIENT_SIDE else Status.PENDING)

    def test_the_patient_reads_the_room_after_acceptance(self, chat, alice, grace, carol, pending):
        post(api(carol), f"/api/v1/call-requests/{pending.pk}/accept")
        mine = api(alice).get(f"/api/v1/call-requests/{pending.pk}").json()
        assert mine["can_join"] and mine["call_url"] == f"/calls/{fresh(pending).appointment.room_id}/"
        assert api(grace).get(f"/api/v1/call-requests/{pending.pk}").json()["can_join"] is False

    def test_conflicts_and_bad_input_are_4xx_with_a_detail(self, chat, alice, bob, carol, pending):
        again = post(api(alice), f"/api/v1/chats/{chat.pk}/call-requests")
        assert again.status_code == 409 and "already waiting" in again.json()["detail"]
        too_long = post(api(alice), f"/api/v1/chats/{chat.pk}/call-requests", {"reason": "x" * 301})
        assert too_long.status_code == 422 and too_long.json()["detail"][0]["field"] == "reason"
        assert post(api(alice), f"/api/v1/chats/{chat.pk}/call-requests", {"audio_only": "maybe"}).status_code == 422
        assert api(alice).get("/api/v1/call-requests/not-a-uuid").status_code == 422
        busy_appointment(bob.patient_record, carol)
        busy = post(api(carol), f"/api/v1/call-requests/{pending.pk}/accept")
        assert busy.status_code == 409 and "another appointment" in busy.json()["detail"]
        assert api(carol).get(f"/api/v1/call-requests/{pending.pk}").json()["status"] == "pending"
        declined = post(api(carol), f"/api/v1/call-requests/{pending.pk}/decline")  # the reason is optional
        assert declined.status_code == 200 and declined.json()["decline_reason"] == ""
        late = post(api(carol), f"/api/v1/call-requests/{pending.pk}/accept")
        assert late.status_code == 409 and late.json()["detail"] == "This call request was already declined."

    def test_the_page_session_works_with_its_csrf_token(self, chat, alice):
        client = login_verified(Client(enforce_csrf_checks=True), alice)
        assert post(client, f"/api/v1/chats/{chat.pk}/call-requests").status_code in (401, 403)
        client.get(f"/chats/{chat.pk}/")
        token = client.cookies["csrftoken"].value
        response = client.post(f"/api/v1/chats/{chat.pk}/call-requests", {}, content_type="application/json",
                               HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 201
