"""Urgent chats left unanswered are escalated to hospital staff: once, only after the delay, not
when the doctor answered or marked it handled, to the staff of the right hospital only, without
the conversation; the doctor and open pages are told; the doctor's "handled" route across roles;
what staff and chat members see."""

import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic.models import CareTeamMember, HospitalDoctor, HospitalPatient
from conftest import login_verified, race, require_service
from core.errors import NotFound
from telehealth import chat as chats
from telehealth import escalation, tasks
from telehealth.models import Chat, Notification
from telehealth.tests.fake_twilio import fake_twilio  # noqa: F401
from tests.factories import HospitalFactory, HospitalStaffFactory

pytestmark = pytest.mark.django_db
ESCALATED = Notification.Kind.CHAT_URGENT_ESCALATED


@pytest.fixture(autouse=True)
def _delay(settings):
    settings.CHAT_URGENT_ESCALATION_MINUTES = 10


@pytest.fixture
def riverside(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def chat(alice, grace, carol, riverside):
    """Alice's chat with Dr. Carol; both belong to Riverside, where Hana works."""
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


@pytest.fixture
def olga(db):
    """Staff of another hospital, which has nothing to do with Alice."""
    return HospitalStaffFactory(user__name="Olga Otherstaff", user__email="olga@example.com").user


@pytest.fixture
def urgent(chat, alice, run_on_commit):
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    return chat


def minutes_after_urgent(chat, minutes):
    return chat.urgent_at + dt.timedelta(minutes=minutes)


def escalate_due(run_on_commit, now):
    return run_on_commit(escalation.urgent_chats_escalate_due, now=now)


def escalations_of(user):
    return Notification.objects.filter(recipient=user, kind=ESCALATED)


async def receive_one(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), timeout=5)


def page(user):
    return login_verified(Client(), user)


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


# --- when ----------------------------------------------------------------------------------------------

def test_it_escalates_after_the_delay_exactly_once(urgent, hana, carol, olga, run_on_commit):
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 9)) == 0
    assert not escalations_of(hana).exists()
    mail.outbox.clear()

    at = minutes_after_urgent(urgent, 10)
    assert escalate_due(run_on_commit, at) == 1
    urgent.refresh_from_db()
    assert urgent.urgent_escalated_at == at and urgent.is_urgent
    [alert] = escalations_of(hana)
    assert alert.url == "/dashboard/#urgent-chats"
    [told] = escalations_of(carol)
    assert told.url == f"/chats/{urgent.pk}/" and "Riverside" in told.body
    assert sorted(m.to[0] for m in mail.outbox) == sorted([hana.email, carol.email])
    assert not escalations_of(olga).exists()
    [audit] = AuditEvent.objects.filter(action="chat.urgent_escalated", data__chat=str(urgent.pk))
    assert audit.data["staff_notified"] == 1 and audit.data["hospitals"] == [str(hana.hospital_staff.hospital_id)]

    # Later runs leave it alone.
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 30)) == 0
    assert escalation.chat_urgent_escalate(chat_id=urgent.pk, now=minutes_after_urgent(urgent, 31)) is False
    urgent.refresh_from_db()
    assert urgent.urgent_escalated_at == at
    assert escalations_of(hana).count() == 1 and len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action="chat.urgent_escalated").count() == 1


def test_the_beat_task_escalates_what_is_due(urgent, hana, run_on_commit):
    Chat.objects.filter(pk=urgent.pk).update(urgent_at=timezone.now() - dt.timedelta(minutes=11))
    assert run_on_commit(tasks.urgent_chats_escalate_due.delay).get() == 1
    assert escalations_of(hana).count() == 1
    assert run_on_commit(tasks.urgent_chats_escalate_due.delay).get() == 0


def test_the_delay_comes_from_settings(urgent, hana, settings, run_on_commit):
    settings.CHAT_URGENT_ESCALATION_MINUTES = 3
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 2)) == 0
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 3)) == 1


def test_a_doctor_answer_stops_it(urgent, carol, hana, run_on_commit):
    chats.message_send(sender=carol, chat=urgent, client_id="reply", body="I am here, tell me more.")
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 60)) == 0
    urgent.refresh_from_db()
    assert urgent.urgent_escalated_at is None and not escalations_of(hana).exists()


def test_the_patient_side_writing_more_does_not_count_as_an_answer(urgent, alice, grace, hana, run_on_commit):
    chats.message_send(sender=alice, chat=urgent, client_id="a", body="Please answer")
    chats.message_send(sender=grace, chat=urgent, client_id="g", body="She is getting worse")
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1


def test_a_doctor_message_from_before_the_urgent_mark_does_not_count(chat, alice, carol, hana, run_on_commit):
    chats.message_send(sender=carol, chat=chat, client_id="earlier", body="How are you feeling?")
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    assert escalate_due(run_on_commit, minutes_after_urgent(chat, 10)) == 1


def test_handled_or_withdrawn_chats_are_not_escalated(chat, alice, carol, hana, run_on_commit):
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    run_on_commit(escalation.chat_resolve_urgent, actor=carol, chat=chat)
    assert escalate_due(run_on_commit, timezone.now() + dt.timedelta(hours=1)) == 0
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat, urgent=False)
    assert escalate_due(run_on_commit, timezone.now() + dt.timedelta(hours=1)) == 0
    assert not escalations_of(hana).exists()


def test_marking_urgent_again_does_not_restart_the_clock(urgent, alice, hana, run_on_commit):
    first = urgent.urgent_at
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=urgent)
    urgent.refresh_from_db()
    assert urgent.urgent_at == first
    assert escalate_due(run_on_commit, first + dt.timedelta(minutes=10)) == 1
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=urgent)  # again, after the escalation
    urgent.refresh_from_db()
    assert urgent.urgent_escalated_at is not None


def test_a_new_urgent_episode_is_escalated_again(urgent, alice, carol, hana, run_on_commit):
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1
    run_on_commit(escalation.chat_resolve_urgent, actor=carol, chat=urgent)
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=urgent)
    urgent.refresh_from_db()
    assert urgent.urgent_escalated_at is None
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1
    assert escalations_of(hana).count() == 2


# --- whom --------------------------------------------------------------------------------------------------

def test_only_staff_of_the_hospital_answerable_for_the_pair_are_alerted(urgent, alice, hana, olga, run_on_commit):
    # Alice is also registered at Hillview, where Dr. Carol does not work: Riverside answers for them.
    hillview = HospitalFactory(name="Hillview")
    hillview_staff = HospitalStaffFactory(hospital=hillview, user__name="Hugo Hillview").user
    HospitalPatient.objects.create(hospital=hillview, patient=alice.patient_record)
    riverside_colleague = HospitalStaffFactory(hospital=hana.hospital_staff.hospital, is_owner=False).user
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1
    alerted = set(Notification.objects.filter(kind=ESCALATED).values_list("recipient__name", flat=True))
    assert alerted == {hana.name, riverside_colleague.name, urgent.doctor.user.name}
    assert not escalations_of(hillview_staff).exists() and not escalations_of(olga).exists()


def test_without_a_shared_hospital_the_patients_hospitals_are_alerted(chat, alice, hana, olga, carol, run_on_commit):
    HospitalDoctor.objects.filter(doctor=carol.doctor_profile).delete()
    hillview = HospitalFactory(name="Hillview")
    hillview_staff = HospitalStaffFactory(hospital=hillview).user
    HospitalPatient.objects.create(hospital=hillview, patient=alice.patient_record)
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    assert escalate_due(run_on_commit, minutes_after_urgent(chat, 10)) == 1
    assert escalations_of(hana).count() == 1 and escalations_of(hillview_staff).count() == 1
    assert not escalations_of(olga).exists()


def test_staff_of_an_unapproved_hospital_or_inactive_staff_are_not_alerted(urgent, hana, riverside, run_on_commit):
    pending = HospitalFactory(status="pending")
    HospitalPatient.objects.create(hospital=pending, patient=urgent.patient)
    pending_staff = HospitalStaffFactory(hospital=pending).user
    gone = HospitalStaffFactory(hospital=riverside, is_owner=False).user
    gone.is_active = False
    gone.save()
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1
    assert escalations_of(hana).count() == 1
    assert not escalations_of(pending_staff).exists() and not escalations_of(gone).exists()


def test_with_nobody_to_reach_it_is_recorded_once_and_the_doctor_told(alice, carol, run_on_commit):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    assert escalate_due(run_on_commit, minutes_after_urgent(chat, 10)) == 1
    chat.refresh_from_db()
    assert chat.urgent_escalated_at is not None
    [audit] = AuditEvent.objects.filter(action="chat.urgent_escalated", data__chat=str(chat.pk))
    assert audit.data["staff_notified"] == 0 and audit.data["hospitals"] == []
    [told] = escalations_of(carol)
    assert "no hospital staff could be reached" in told.body
    assert Notification.objects.filter(kind=ESCALATED).count() == 1
    assert escalate_due(run_on_commit, minutes_after_urgent(chat, 20)) == 0  # no loop
    body = page(alice).get(f"/chats/{chat.pk}/").content.decode()
    assert "no hospital staff could be reached" in body


# --- what staff get: never the conversation ---------------------------------------------------------------

def test_staff_get_who_and_when_but_not_the_conversation(urgent, alice, hana, run_on_commit, fake_twilio):
    chats.message_send(sender=alice, chat=urgent, client_id="s", body="SECRET-SYMPTOM crushing chest pain")
    mail.outbox.clear()
    assert escalate_due(run_on_commit, minutes_after_urgent(urgent, 10)) == 1
    [alert] = escalations_of(hana)
    assert "Alice Patient" in alert.title and "Carol Doctor" in alert.body
    [email] = [m for m in mail.outbox if m.to == [hana.email]]
    [sms_to_hana] = [m for m in fake_twilio.messages if m["To"] == hana.phone]
    for text in (alert.title, alert.body, alert.email_text, email.subject, email.body, sms_to_hana["Body"]):
        assert "SECRET" not in text and "chest" not in text
    assert "Alice" not in sms_to_hana["Body"]
    # Escalation does not make staff members of the chat.
    assert page(hana).get(f"/chats/{urgent.pk}/").status_code == 404
    assert api(hana).get(f"/api/v1/chats/{urgent.pk}/messages").status_code == 404
    dashboard = page(hana).get("/dashboard/").content.decode()
    assert "Alice Patient" in dashboard and 'id="urgent-chats"' in dashboard and "SECRET" not in dashboard


def test_sms_goes_to_the_doctor_on_the_mark_and_to_staff_on_escalation(chat, alice, carol, hana, run_on_commit,
                                                                       fake_twilio):
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    assert [m["To"] for m in fake_twilio.messages] == [carol.phone]
    escalate_due(run_on_commit, minutes_after_urgent(chat, 10))
    escalate_due(run_on_commit, minutes_after_urgent(chat, 11))
    assert [m["To"] for m in fake_twilio.messages] == [carol.phone, hana.phone]


def test_the_dashboard_lists_escalations_for_the_right_hospital_only(urgent, alice, carol, hana, olga,
                                                                     run_on_commit, django_assert_max_num_queries):
    from tests.factories import PatientUserFactory

    for i in range(3):  # more escalated patients: the section must not cost a query each
        other = PatientUserFactory(name=f"Other Patient {i}")
        HospitalPatient.objects.create(hospital=hana.hospital_staff.hospital, patient=other.patient_record)
        CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=other.patient_record)
        other_chat = chats.chat_open(actor=None, patient=other.patient_record, doctor=carol.doctor_profile)
        run_on_commit(chats.chat_mark_urgent, actor=other, chat=other_chat)
    escalate_due(run_on_commit, timezone.now() + dt.timedelta(minutes=10))
    client = page(hana)
    client.get("/dashboard/")  # warm the session and caches
    with django_assert_max_num_queries(30):
        body = client.get("/dashboard/").content.decode()
    assert body.count('id="urgent-chat-') == 4 and "Alice Patient" in body
    assert "Alice Patient" not in page(olga).get("/dashboard/").content.decode()
    # The selector behind it: the hospital's staff and admins only.
    hospital = hana.hospital_staff.hospital
    for outsider in (olga, carol, alice):
        with pytest.raises(NotFound):
            escalation.escalated_chats_for_hospital(fetched_by=outsider, hospital=hospital)
    # Answered since: still listed (until handled), saying so.
    chats.message_send(sender=carol, chat=urgent, client_id="late", body="Sorry, here now")
    [row] = [c for c in escalation.escalated_chats_for_hospital(fetched_by=hana, hospital=hospital)
             if c.pk == urgent.pk]
    assert row.doctor_answered_at is not None
    run_on_commit(escalation.chat_resolve_urgent, actor=carol, chat=urgent)
    assert urgent.pk not in {c.pk for c in escalation.escalated_chats_for_hospital(fetched_by=hana, hospital=hospital)}


@pytest.mark.parametrize("who,status", [("hana", 200), ("ada", 200), ("olga", 404), ("carol", 404), ("dave", 404),
                                        ("alice", 404), ("grace", 404), ("bob", 404)])
def test_the_escalated_list_in_the_api_is_for_the_hospital_only(request, urgent, hana, who, status, run_on_commit):
    chats.message_send(sender=urgent.patient.user, chat=urgent, client_id="s", body="SECRET-SYMPTOM")
    escalate_due(run_on_commit, minutes_after_urgent(urgent, 10))
    url = f"/api/v1/hospitals/{hana.hospital_staff.hospital_id}/urgent-chats"
    response = api(request.getfixturevalue(who)).get(url)
    assert response.status_code == status
    if status == 200:
        [row] = response.json()
        assert row["id"] == str(urgent.pk) and row["patient_name"] == "Alice Patient"
        assert row["doctor_name"] == "Carol Doctor" and row["doctor_answered_at"] is None
        assert "SECRET" not in response.content.decode()
    else:
        assert "detail" in response.json()
    assert Client().get(url).status_code == 401


# --- what chat members see -----------------------------------------------------------------------------

def test_members_see_the_escalated_state(urgent, alice, carol, run_on_commit):
    escalate_due(run_on_commit, minutes_after_urgent(urgent, 10))
    for user in (alice, carol):
        assert "Escalated to hospital staff" in page(user).get("/chats/").content.decode()
        detail = page(user).get(f"/chats/{urgent.pk}/").content.decode()
        assert "Escalated to hospital staff (" in detail and "data-chat-urgency" in detail
    assert api(carol).get(f"/api/v1/chats/{urgent.pk}").json()["urgent_escalated_at"] is not None


def test_open_pages_are_told(urgent, run_on_commit):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(chats.group_name(urgent.pk), channel)
    escalate_due(run_on_commit, minutes_after_urgent(urgent, 10))
    event = async_to_sync(receive_one)(layer, channel)["event"]
    assert event["type"] == "chat" and event["escalated"] is True and event["staff_reached"] is True
    assert "body" not in event and "messages" not in event


def test_before_escalation_the_page_says_when_staff_will_be_alerted(urgent, alice):
    body = page(alice).get(f"/chats/{urgent.pk}/").content.decode()
    assert "unless the doctor answers within 10 minutes, hospital staff are alerted." in body


# --- the doctor marks it handled: the route across roles -------------------------------------------------

ROLES = [("alice", 403), ("grace", 403), ("bob", 404), ("dave", 404), ("hana", 404), ("ada", 404)]


@pytest.mark.parametrize("who,status", ROLES)
def test_only_the_chats_doctor_marks_it_handled_on_the_page(request, urgent, who, status):
    response = page(request.getfixturevalue(who)).post(f"/chats/{urgent.pk}/urgent/resolve/")
    assert response.status_code == status
    urgent.refresh_from_db()
    assert urgent.is_urgent


@pytest.mark.parametrize("who,status", ROLES)
def test_only_the_chats_doctor_marks_it_handled_in_the_api(request, urgent, who, status):
    response = api(request.getfixturevalue(who)).post(f"/api/v1/chats/{urgent.pk}/urgent/resolve")
    assert response.status_code == status and "detail" in response.json()
    urgent.refresh_from_db()
    assert urgent.is_urgent


def test_anonymous_cannot_mark_it_handled(urgent):
    response = Client().post(f"/chats/{urgent.pk}/urgent/resolve/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert Client().post(f"/api/v1/chats/{urgent.pk}/urgent/resolve").status_code == 401
    urgent.refresh_from_db()
    assert urgent.is_urgent


def test_the_handled_route_rejects_get(urgent, carol):
    assert page(carol).get(f"/chats/{urgent.pk}/urgent/resolve/").status_code == 405


def test_the_doctor_marks_it_handled(urgent, carol, hana, run_on_commit):
    body = page(carol).get(f"/chats/{urgent.pk}/").content.decode()
    assert f"/chats/{urgent.pk}/urgent/resolve/" in body and "Mark urgent conversation handled" in body
    escalate_due(run_on_commit, minutes_after_urgent(urgent, 10))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(chats.group_name(urgent.pk), channel)
    response = run_on_commit(page(carol).post, f"/chats/{urgent.pk}/urgent/resolve/")
    assert response.status_code == 302 and response["Location"] == f"/chats/{urgent.pk}/"
    event = async_to_sync(receive_one)(layer, channel)["event"]
    assert event == {"type": "chat", "is_urgent": False, "escalated": False, "resolved": True}
    urgent.refresh_from_db()
    assert not urgent.is_urgent and urgent.urgent_at is None and urgent.urgent_escalated_at is None
    [audit] = AuditEvent.objects.filter(action="chat.urgent_resolved", data__chat=str(urgent.pk))
    assert audit.actor == carol and audit.data == {"was_escalated": True, "chat": str(urgent.pk)}
    assert audit.target_id == str(urgent.patient_id)
    # Handling it again is harmless (a retried request), and via the API the same.
    api_response = api(carol).post(f"/api/v1/chats/{urgent.pk}/urgent/resolve")
    assert api_response.status_code == 200 and api_response.json()["is_urgent"] is False
    assert AuditEvent.objects.filter(action="chat.urgent_resolved").count() == 1
    assert f"/chats/{urgent.pk}/urgent/resolve/" not in page(carol).get(f"/chats/{urgent.pk}/").content.decode()


def test_the_doctors_no_longer_urgent_goes_through_the_same_door(urgent, carol):
    chats.chat_mark_urgent(actor=carol, chat=urgent, urgent=False)
    urgent.refresh_from_db()
    assert not urgent.is_urgent
    assert AuditEvent.objects.filter(action="chat.urgent_resolved", actor=carol).count() == 1


# --- two workers at once (Postgres) -------------------------------------------------------------------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_two_workers_escalate_it_once(alice, carol, hana):
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    riverside = hana.hospital_staff.hospital
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.chat_mark_urgent(actor=alice, chat=chat)
    chat.refresh_from_db()
    at = minutes_after_urgent(chat, 10)
    workers = 6
    results = race(workers, lambda i: escalation.chat_urgent_escalate(chat_id=chat.pk, now=at))
    assert sorted(results, key=str) == [False] * (workers - 1) + [True], results
    assert escalations_of(hana).count() == 1
    assert AuditEvent.objects.filter(action="chat.urgent_escalated").count() == 1


def test_a_hospital_that_only_invited_the_patient_is_not_alerted(chat, alice, carol, run_on_commit):
    """A registration the patient has not accepted grants nothing, escalations included."""
    HospitalDoctor.objects.filter(doctor=carol.doctor_profile).delete()
    HospitalPatient.objects.all().delete()
    inviting = HospitalFactory(name="Inviting")
    inviting_staff = HospitalStaffFactory(hospital=inviting).user
    HospitalPatient.with_invitations.create(hospital=inviting, patient=alice.patient_record, consent="pending")
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    chat.refresh_from_db()
    escalate_due(run_on_commit, minutes_after_urgent(chat, 10))
    assert not escalations_of(inviting_staff).exists()
    assert not escalation.escalated_chats_for_hospital(fetched_by=inviting_staff, hospital=inviting).exists()
