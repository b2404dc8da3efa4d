import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic import services
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AppointmentType,
    CareTeamMember,
    EmergencyAlert,
    HospitalPatient,
    WeeklyAvailability,
)
from clinic.tests.conftest import next_weekday_at, open_all_week
from core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tests.factories import DoctorFactory, PatientFactory, UserPatientRelationFactory

pytestmark = pytest.mark.django_db


def book(user, doctor_user, start, patient=None, **kw):
    return services.appointment_book(booked_by=user, patient=patient or user.patient_record,
                                     doctor=doctor_user.doctor_profile, start=start,
                                     type=kw.pop("type", AppointmentType.REMOTE), **kw)


def test_booking_a_free_slot_requests_it_and_joins_the_care_team(alice, dave):
    open_all_week(dave.doctor_profile)
    appointment = book(alice, dave, next_weekday_at(10), reason="Headaches")
    assert appointment.status == AppointmentStatus.REQUESTED
    assert appointment.end - appointment.start == dt.timedelta(minutes=30)
    assert appointment.room_id  # online appointments get a call room
    assert CareTeamMember.objects.filter(doctor=dave.doctor_profile, patient=alice.patient_record).exists()
    assert [e.kind for e in appointment.events.all()] == [AppointmentEvent.Kind.REQUESTED]


def test_care_team_signal_fires_once_on_commit(alice, dave, django_capture_on_commit_callbacks):
    open_all_week(dave.doctor_profile)
    received = []

    def receiver(sender, member, **kwargs):
        received.append(member)

    services.care_team_member_added.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            book(alice, dave, next_weekday_at(10))
        with django_capture_on_commit_callbacks(execute=True):
            book(alice, dave, next_weekday_at(11))
    finally:
        services.care_team_member_added.disconnect(receiver)
    assert len(received) == 1 and received[0].doctor == dave.doctor_profile


@pytest.mark.parametrize("when, message", [
    (lambda: timezone.now() - dt.timedelta(hours=1), "past"),
    (lambda: next_weekday_at(10, 10), "does not offer"),
    (lambda: next_weekday_at(23, 45), "does not offer"),
    (lambda: next_weekday_at(10).replace(tzinfo=None), "time zone"),
])
def test_bad_times_are_refused_clearly(alice, dave, when, message):
    open_all_week(dave.doctor_profile)
    with pytest.raises(ValidationError) as exc:
        book(alice, dave, when())
    assert message in " ".join(exc.value.message_dict["start"])
    assert not Appointment.objects.exists()


def test_second_booking_of_a_slot_is_taken(alice, bob, dave):
    open_all_week(dave.doctor_profile)
    start = next_weekday_at(10)
    book(alice, dave, start)
    with pytest.raises(services.SlotTaken) as exc:
        book(bob, dave, start)
    assert "just taken" in exc.value.message
    assert Appointment.objects.count() == 1


def test_patient_cannot_hold_two_overlapping_appointments(alice, carol, dave):
    open_all_week(dave.doctor_profile)
    open_all_week(carol.doctor_profile)
    book(alice, dave, next_weekday_at(10))
    with pytest.raises(Conflict) as exc:
        book(alice, carol, next_weekday_at(10))
    assert "already has an appointment" in exc.value.message


def test_in_person_needs_a_hospital_window(alice, dave, riverside):
    open_all_week(dave.doctor_profile)  # online only
    with pytest.raises(ValidationError):
        book(alice, dave, next_weekday_at(10), type=AppointmentType.REGULAR)
    with pytest.raises(ValidationError) as exc:
        book(alice, dave, next_weekday_at(10), type=AppointmentType.REGULAR, hospital=riverside)
    assert "does not offer" in str(exc.value)
    WeeklyAvailability.objects.filter(doctor=dave.doctor_profile).update(hospital=riverside)
    appointment = book(alice, dave, next_weekday_at(10), type=AppointmentType.REGULAR, hospital=riverside)
    assert appointment.hospital == riverside and not appointment.room_id
    assert HospitalPatient.objects.filter(hospital=riverside, patient=alice.patient_record).exists()


def test_family_member_books_for_child_but_not_for_strangers(grace, alice, bob, dave):
    open_all_week(dave.doctor_profile)
    child = UserPatientRelationFactory(user=grace).patient
    appointment = book(grace, dave, next_weekday_at(10), patient=child)
    assert appointment.patient == child and appointment.booked_by == grace
    book(grace, dave, next_weekday_at(11), patient=alice.patient_record)  # Grace is Alice's mother
    with pytest.raises(NotFound):
        book(grace, dave, next_weekday_at(12), patient=bob.patient_record)
    with pytest.raises(NotFound):
        book(bob, dave, next_weekday_at(12), patient=PatientFactory())


def test_only_the_doctor_overbooks_and_says_why(alice, bob, dave):
    open_all_week(dave.doctor_profile)
    start = next_weekday_at(10)
    book(alice, dave, start)
    with pytest.raises(PermissionDenied):
        book(bob, dave, start, overbook_reason="please")
    CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=bob.patient_record)
    extra = services.appointment_book(booked_by=dave, patient=bob.patient_record, doctor=dave.doctor_profile,
                                      start=start, type=AppointmentType.REMOTE, overbook_reason="Urgent follow-up")
    assert extra.overbooked and extra.status == AppointmentStatus.CONFIRMED
    # the reason is encrypted at rest, so it is compared after reading, not in SQL
    assert [e.reason for e in AppointmentEvent.objects.filter(appointment=extra, kind="overbooked")] == ["Urgent follow-up"]


def test_transitions_and_their_events(alice, dave):
    open_all_week(dave.doctor_profile)
    appointment = book(alice, dave, next_weekday_at(10))
    with pytest.raises(PermissionDenied):
        services.appointment_confirm(actor=alice, appointment=appointment)
    with pytest.raises(DomainError) as exc:
        services.appointment_complete(actor=dave, appointment=appointment)
    assert "cannot become completed" in exc.value.message or "once it has started" in exc.value.message
    services.appointment_confirm(actor=dave, appointment=appointment)
    with pytest.raises(DomainError) as exc:
        services.appointment_confirm(actor=dave, appointment=appointment)
    assert "cannot become confirmed" in exc.value.message
    Appointment.objects.filter(pk=appointment.pk).update(start=timezone.now() - dt.timedelta(minutes=40),
                                                         end=timezone.now() - dt.timedelta(minutes=10))
    services.appointment_complete(actor=dave, appointment=appointment, notes="Sleep hygiene discussed.")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED and appointment.notes == "Sleep hygiene discussed."
    assert list(appointment.events.values_list("kind", flat=True)) == ["requested", "confirmed", "completed"]
    with pytest.raises(DomainError):
        services.appointment_cancel(actor=dave, appointment=appointment, reason="late")


def test_patient_cancellation_needs_reason_and_respects_cutoff(alice, dave, settings):
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 12
    open_all_week(dave.doctor_profile)
    soon = (timezone.now() + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    later = next_weekday_at(10, days_ahead=3)
    near = book(alice, dave, soon)
    far = book(alice, dave, later)
    with pytest.raises(ValidationError):
        services.appointment_cancel(actor=alice, appointment=far, reason=" ")
    with pytest.raises(DomainError) as exc:
        services.appointment_cancel(actor=alice, appointment=near, reason="Feeling better")
    assert "12 hours" in exc.value.message
    services.appointment_cancel(actor=dave, appointment=near, reason="Doctor unwell")  # doctors may, with a reason
    services.appointment_cancel(actor=alice, appointment=far, reason="Feeling better")
    far.refresh_from_db()
    assert far.status == AppointmentStatus.CANCELLED and far.cancelled_by == alice
    assert far.cancellation_reason == "Feeling better"


def test_cancelled_slot_is_free_again(alice, bob, dave):
    open_all_week(dave.doctor_profile)
    start = next_weekday_at(10)
    first = book(alice, dave, start)
    services.appointment_cancel(actor=dave, appointment=first, reason="Clash")
    assert book(bob, dave, start).start == start


def test_reschedule_keeps_id_and_history(alice, dave):
    open_all_week(dave.doctor_profile)
    appointment = book(alice, dave, next_weekday_at(10))
    services.appointment_confirm(actor=dave, appointment=appointment)
    moved = services.appointment_reschedule(actor=alice, appointment=appointment, start=next_weekday_at(14),
                                            reason="Work meeting")
    assert moved.pk == appointment.pk and moved.start == next_weekday_at(14)
    assert moved.status == AppointmentStatus.REQUESTED  # the doctor confirms the new time
    event = moved.events.get(kind="rescheduled")
    assert event.reason == "Work meeting" and event.data["previous_start"] == next_weekday_at(10).isoformat()
    assert book(alice, dave, next_weekday_at(10), patient=None) is not None  # old slot free again


def test_strangers_get_not_found_and_colleagues_forbidden(alice, bob, carol, dave, care):
    appointment = book(alice, carol, next_weekday_at(10))
    with pytest.raises(NotFound):
        services.appointment_cancel(actor=bob, appointment=appointment, reason="x")
    with pytest.raises(NotFound):
        services.appointment_confirm(actor=dave, appointment=appointment)
    # a second doctor in Alice's care team sees it but cannot change it
    CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=alice.patient_record)
    with pytest.raises(PermissionDenied):
        services.appointment_confirm(actor=dave, appointment=appointment)


def test_hospital_staff_confirm_at_their_hospital(alice, carol, hana, care):
    appointment = book(alice, carol, next_weekday_at(10))
    services.appointment_confirm(actor=hana, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED


# --- emergencies -----------------------------------------------------------------------------------

def test_emergency_alerts_on_duty_care_team_then_first_accept_wins(alice, carol, dave, care, riverside):
    from clinic.models import HospitalDoctor

    HospitalDoctor.objects.create(hospital=riverside, doctor=dave.doctor_profile)
    open_all_week(dave.doctor_profile)
    off_duty = DoctorFactory()  # no availability: never alerted
    appointment = services.emergency_request(requested_by=alice, patient=alice.patient_record,
                                             reason="Panic attack, can't breathe")
    alerted = set(EmergencyAlert.objects.filter(appointment=appointment).values_list("recipient_id", flat=True))
    assert alerted == {carol.pk, dave.pk}
    with pytest.raises(NotFound):
        services.emergency_accept(actor=off_duty, appointment=appointment)
    services.emergency_accept(actor=dave, appointment=appointment)
    with pytest.raises(Conflict) as exc:
        services.emergency_accept(actor=carol, appointment=appointment)
    assert dave.name in exc.value.message
    appointment.refresh_from_db()
    assert appointment.doctor == dave.doctor_profile and appointment.status == AppointmentStatus.CONFIRMED


def test_one_waiting_emergency_per_patient(alice, care):
    services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help")
    with pytest.raises(Conflict):
        services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help again")


def test_unaccepted_emergency_escalates_once_to_staff_and_on_duty_doctors(alice, carol, hana, care, settings):
    far_doctor = DoctorFactory()
    open_all_week(far_doctor.doctor_profile)
    from clinic.models import WeeklyAvailability

    WeeklyAvailability.objects.bulk_create(  # on duty until midnight too (open_all_week ends at 23:30)
        WeeklyAvailability(doctor=d, weekday=day, start_time=dt.time(23, 30), end_time=dt.time.max)
        for d in (carol.doctor_profile, far_doctor.doctor_profile) for day in range(7))
    appointment = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help")
    interval = dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES)
    # Step 2 (the rest of the care team and hospital doctors), then step 3 (staff, admins and
    # every doctor on duty), each once.
    assert services.emergencies_escalate_due(now=appointment.start + interval) == 1
    assert services.emergencies_escalate_due(now=appointment.start + interval) == 0
    assert services.emergencies_escalate_due(now=appointment.start + 2 * interval) == 1
    assert services.emergencies_escalate_due(now=appointment.start + 3 * interval) == 0
    recipients = set(EmergencyAlert.objects.filter(appointment=appointment, step=3)
                     .values_list("recipient_id", flat=True))
    assert {hana.pk, far_doctor.pk} <= recipients
    assert appointment.events.filter(kind="escalated").count() == 2
    services.emergency_accept(actor=far_doctor, appointment=appointment)  # now in his queue


def test_emergency_needs_a_description(alice, care):
    with pytest.raises(ValidationError):
        services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="")


def test_a_patient_cannot_move_an_appointment_inside_the_cutoff_but_the_doctor_can(alice, dave, settings):
    """The cut-off guards both ends of a move: a patient who moved an appointment to a time inside
    it could never move it back (issue 10)."""
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 12
    open_all_week(dave.doctor_profile)
    appointment = book(alice, dave, next_weekday_at(10, days_ahead=3))
    soon = (timezone.now() + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    with pytest.raises(ValidationError) as exc:
        services.appointment_reschedule(actor=alice, appointment=appointment, start=soon)
    assert "at least 12 hours from now" in str(exc.value.message_dict["start"])
    appointment.refresh_from_db()
    assert appointment.start == next_weekday_at(10, days_ahead=3)
    # the doctor is not bound by the patients' cut-off
    assert services.appointment_reschedule(actor=dave, appointment=appointment, start=soon).start == soon
