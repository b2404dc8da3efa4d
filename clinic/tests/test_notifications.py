"""Who is told what about each appointment event, in which language, with which invitation —
and that a retried task tells nobody twice."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail

from clinic import services
from clinic.models import AppointmentEvent, CareTeamMember, EmergencyAlert, HospitalPatient
from clinic.notifications import notify_for_event
from clinic.tasks import appointment_event_notify
from telehealth.models import Notification
from telehealth.tests.helpers import book, days_ahead, open_all_week, only_calendar

N = Notification.Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(alice, grace, carol, run_on_commit):
    open_all_week(carol)
    return run_on_commit(book, alice, carol, days_ahead(3))


def received(user):
    return list(Notification.objects.filter(recipient=user).order_by("created_at"))


def test_it_tells_the_doctor_about_a_request_in_app_only(booked, alice, grace, carol):
    [n] = received(carol)
    assert n.kind == N.APPOINTMENT_REQUESTED
    assert "Alice Patient" in n.title
    assert n.emailed_at is None and not n.email_requested
    assert received(alice) == [] and received(grace) == []  # Alice asked; Grace is told on confirmation
    assert mail.outbox == []


def test_it_sends_the_patient_side_a_confirmation_with_an_invitation(booked, alice, grace, carol, run_on_commit):
    mail.outbox.clear()
    run_on_commit(services.appointment_confirm, actor=carol, appointment=booked)

    assert [n.kind for n in received(alice)] == [N.APPOINTMENT_CONFIRMED]
    assert [n.kind for n in received(grace)] == [N.APPOINTMENT_CONFIRMED]
    assert [n.kind for n in received(carol)] == [N.APPOINTMENT_REQUESTED]  # not told of her own action
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "grace@example.com"]
    message = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    cal = only_calendar(message)
    assert cal["METHOD"] == "REQUEST"
    [event] = cal["events"]
    assert event["UID"] == f"{booked.pk}@haven"
    assert event["DTSTART"] == booked.start.astimezone(dt.UTC)
    assert event["DTEND"] == booked.end.astimezone(dt.UTC)
    assert event["STATUS"] == "CONFIRMED"
    assert event["LOCATION"] == "Online"
    assert event["SUMMARY"] == "Appointment with Dr. Carol Doctor"
    assert event["SEQUENCE"] == 1
    assert "mailto:alice@example.com" in event["ATTENDEE"][0]
    assert 'method="REQUEST"' in message.message().as_string() or "method=REQUEST" in message.message().as_string()


def test_sequence_rises_and_cancellation_sends_a_cancel(booked, alice, grace, carol, run_on_commit):
    run_on_commit(services.appointment_confirm, actor=carol, appointment=booked)
    new_start = booked.start + dt.timedelta(days=1)
    run_on_commit(services.appointment_reschedule, actor=carol, appointment=booked, start=new_start, reason="clash")
    mail.outbox.clear()
    run_on_commit(services.appointment_cancel, actor=alice, appointment=booked, reason="Feeling better")

    # Alice cancelled: Grace and Dr. Carol are told, Alice is not.
    assert [n.kind for n in received(alice)][-1] == N.APPOINTMENT_RESCHEDULED
    assert received(grace)[-1].kind == N.APPOINTMENT_CANCELLED
    assert received(carol)[-1].kind == N.APPOINTMENT_CANCELLED
    assert "Feeling better" in received(carol)[-1].body
    assert sorted(m.to[0] for m in mail.outbox) == ["carol@example.com", "grace@example.com"]
    cal = only_calendar(next(m for m in mail.outbox if m.to == ["carol@example.com"]))
    assert cal["METHOD"] == "CANCEL"
    [event] = cal["events"]
    assert event["UID"] == f"{booked.pk}@haven"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 3  # confirmed, rescheduled, cancelled
    assert event["DTSTART"] == new_start
    assert event["SUMMARY"] == "Appointment: Alice Patient"  # the doctor's view


def test_a_reschedule_carries_the_new_time(booked, alice, carol, run_on_commit):
    run_on_commit(services.appointment_confirm, actor=carol, appointment=booked)
    mail.outbox.clear()
    new_start = booked.start + dt.timedelta(hours=2)
    run_on_commit(services.appointment_reschedule, actor=carol, appointment=booked, start=new_start)
    n = received(alice)[-1]
    assert n.kind == N.APPOINTMENT_RESCHEDULED
    cal = only_calendar(next(m for m in mail.outbox if m.to == ["alice@example.com"]))
    assert cal["METHOD"] == "REQUEST"
    assert cal["events"][0]["DTSTART"] == new_start and cal["events"][0]["SEQUENCE"] == 2


def test_texts_follow_the_recipients_language_and_time_zone(alice, grace, carol, run_on_commit):
    grace.preferred_language, grace.timezone = "es", "America/New_York"
    grace.save()
    open_all_week(carol)
    appointment = run_on_commit(book, alice, carol, days_ahead(3, hour=15))
    run_on_commit(services.appointment_confirm, actor=carol, appointment=appointment)

    spanish, english = received(grace)[-1], received(alice)[-1]
    # Django's own Spanish formats: "14 de marzo de 2026 a las 11:00"; New York is 4–5 h behind UTC.
    local = appointment.start.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f" de {local.year} a las {local:%H:%M}" in spanish.body
    assert "(America/New_York)" in spanish.body
    assert " de " not in english.body and "(UTC)" in english.body
    grace_mail = next(m for m in mail.outbox if m.to == ["grace@example.com"])
    assert f"a las {local:%H:%M}" in grace_mail.body


def test_a_retried_task_notifies_nobody_twice(booked, alice, grace, carol, run_on_commit):
    run_on_commit(services.appointment_confirm, actor=carol, appointment=booked)
    event = AppointmentEvent.objects.get(appointment=booked, kind=AppointmentEvent.Kind.CONFIRMED)
    before, sent = Notification.objects.count(), len(mail.outbox)

    run_on_commit(notify_for_event, str(event.pk))
    run_on_commit(appointment_event_notify.delay, str(event.pk))

    assert Notification.objects.count() == before
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(source_key=f"event:{event.pk}").count() == 2  # Alice and Grace


def test_completion_is_in_app_only(booked, alice, grace, carol, run_on_commit):
    run_on_commit(services.appointment_confirm, actor=carol, appointment=booked)
    mail.outbox.clear()
    type(booked).objects.filter(pk=booked.pk).update(start=booked.start - dt.timedelta(days=4),
                                                     end=booked.end - dt.timedelta(days=4))
    booked.refresh_from_db()
    run_on_commit(services.appointment_complete, actor=carol, appointment=booked)
    assert received(alice)[-1].kind == N.APPOINTMENT_COMPLETED
    assert received(grace)[-1].kind == N.APPOINTMENT_COMPLETED
    assert mail.outbox == []


def test_a_doctor_booking_sends_the_patient_side_a_confirmation(alice, grace, carol, run_on_commit):
    open_all_week(carol)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    appointment = run_on_commit(book, alice, carol, days_ahead(2), booked_by=carol)
    assert appointment.status == "confirmed"
    assert [n.kind for n in received(alice)] == [N.APPOINTMENT_CONFIRMED]
    assert received(carol) == []
    assert only_calendar(next(m for m in mail.outbox if m.to == ["alice@example.com"]))["METHOD"] == "REQUEST"


# --- emergencies -----------------------------------------------------------------------------------------

@pytest.fixture
def on_duty(carol, dave):
    for doctor in (carol, dave):
        open_all_week(doctor, start=dt.time(0, 0), end=dt.time(23, 59, 59))


def test_emergency_alerts_doctors_then_tells_the_family_who_accepted(alice, grace, carol, dave, on_duty,
                                                                       run_on_commit):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    emergency = run_on_commit(services.emergency_request, requested_by=grace, patient=alice.patient_record,
                              reason="Chest pain and panic")
    assert list(EmergencyAlert.objects.filter(appointment=emergency).values_list("recipient", flat=True)) == [carol.pk]
    [alert] = received(carol)
    assert alert.kind == N.EMERGENCY and "Chest pain" in alert.body
    alert_mail = next(m for m in mail.outbox if m.to == ["carol@example.com"])
    assert "Chest pain" not in alert_mail.body  # clinical text stays in Haven
    assert received(dave) == [] and received(grace) == []

    run_on_commit(services.emergency_accept, actor=carol, appointment=emergency)
    assert received(alice)[-1].kind == N.EMERGENCY_ACCEPTED
    assert "Dr. Carol Doctor" in received(grace)[-1].title
    assert [n.kind for n in received(carol)] == [N.EMERGENCY]


def test_escalation_alerts_only_the_newly_alerted(alice, carol, dave, hana, on_duty, run_on_commit, settings):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    HospitalPatient.objects.create(hospital=hana.hospital_staff.hospital, patient=alice.patient_record)
    emergency = run_on_commit(services.emergency_request, requested_by=alice, patient=alice.patient_record,
                              reason="Severe symptoms")
    # Dr. Dave is on duty but neither in Alice's care team nor at her hospital: Carol alone first.
    assert received(carol)[0].kind == N.EMERGENCY
    step = dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES)
    # Step 2 (every care-team and hospital doctor) finds nobody new; step 3 reaches the staff and
    # every doctor on duty.
    run_on_commit(services.emergency_escalate, appointment_id=emergency.pk, now=emergency.start + step)
    assert received(hana) == [] and received(dave) == []
    run_on_commit(services.emergency_escalate, appointment_id=emergency.pk, now=emergency.start + 2 * step)

    assert [n.kind for n in received(dave)] == [N.EMERGENCY_ESCALATED]
    [staff_alert] = received(hana)
    assert staff_alert.kind == N.EMERGENCY_ESCALATED and "Emergency without a doctor" in staff_alert.title
    assert "Severe symptoms" not in staff_alert.body  # no clinical text for staff
    assert staff_alert.url == "/dashboard/#emergencies"
    assert [n.kind for n in received(carol)] == [N.EMERGENCY]  # already alerted: not told again
    assert received(alice) == []


def test_the_escalation_countdown_is_respected_in_eager_mode(alice, carol, dave, on_duty, run_on_commit):
    """Eager Celery ignores countdowns: the task must not escalate before the deadline."""
    from clinic.models import EmergencyLadderStep

    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    emergency = run_on_commit(services.emergency_request, requested_by=alice, patient=alice.patient_record,
                              reason="Severe symptoms")
    emergency.refresh_from_db()
    assert emergency.escalated_at is None and received(dave) == []

    from clinic.tasks import emergencies_escalate_due, emergency_escalate

    earlier = emergency.start - dt.timedelta(minutes=11)
    type(emergency).objects.filter(pk=emergency.pk).update(start=earlier)
    EmergencyLadderStep.objects.filter(appointment=emergency).update(at=earlier)
    run_on_commit(emergencies_escalate_due.delay)
    run_on_commit(emergency_escalate.delay, str(emergency.pk))  # the countdown task arrives late: no-op
    emergency.refresh_from_db()
    assert emergency.escalated_at is not None
    assert list(emergency.ladder_steps.values_list("number", flat=True)) == [1, 2]
    assert received(dave) == []  # step 3 (every doctor on duty) waits its own interval