"""The escalation ladder of an emergency nobody accepts: on-duty doctors of the care team and
hospitals first, then every care-team and hospital doctor (consented links only), then the
hospitals' staff and the administrators — each step once, however often the scheduler runs."""

import datetime as dt

import pytest
from django.utils import timezone

from clinic import selectors, services
from clinic.models import (
    CareTeamMember,
    Consent,
    EmergencyAlert,
    EmergencyLadderStep,
    HospitalDoctor,
    HospitalPatient,
)
from clinic.tests.conftest import open_all_week
from tests.factories import DoctorFactory, HospitalFactory, HospitalStaffFactory

pytestmark = pytest.mark.django_db

NOON = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def step(settings):
    return dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES)


@pytest.fixture
def off_duty_care(alice, carol, dave, riverside):
    """Alice is registered at Riverside; Carol (care team) and Dave (Riverside) are not on duty."""
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=dave.doctor_profile)
    return alice.patient_record


def alerted(appointment, step=None):
    qs = EmergencyAlert.objects.filter(appointment=appointment)
    if step is not None:
        qs = qs.filter(step=step)
    return set(qs.values_list("recipient_id", flat=True))


def test_nobody_on_duty_still_reaches_the_patients_doctors_then_staff_and_admins(
        alice, carol, dave, hana, ada, off_duty_care, step):
    # Not consented: a proposed care-team doctor and a hospital's pending invitation.
    proposed = DoctorFactory()
    CareTeamMember.with_invitations.create(doctor=proposed.doctor_profile, patient=alice.patient_record,
                                           consent=Consent.PENDING)
    inviting = HospitalFactory(name="Inviting Clinic")
    HospitalPatient.with_invitations.create(hospital=inviting, patient=alice.patient_record, consent=Consent.PENDING)
    inviting_doctor = DoctorFactory()
    HospitalDoctor.objects.create(hospital=inviting, doctor=inviting_doctor.doctor_profile)
    inviting_staff = HospitalStaffFactory(hospital=inviting).user
    stranger = DoctorFactory()  # not on duty, not the patient's

    emergency = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help",
                                           now=NOON)
    # Nobody was on duty, so the care team and hospital doctors are alerted at once.
    assert alerted(emergency, 1) == set()
    assert alerted(emergency) == {carol.pk, dave.pk}
    assert [e.pk for e in selectors.emergency_queue(carol.doctor_profile)] == [emergency.pk]
    assert selectors.emergency_queue(proposed.doctor_profile).count() == 0

    # Before the interval the beat run changes nothing; then staff and admins — never the
    # hospital that only invited Alice, nor a doctor who is neither on duty nor hers.
    assert services.emergencies_escalate_due(now=NOON + step - dt.timedelta(seconds=1)) == 0
    assert services.emergencies_escalate_due(now=NOON + step) == 1
    assert alerted(emergency, 3) == {hana.pk, ada.pk}
    assert not alerted(emergency) & {proposed.pk, inviting_doctor.pk, inviting_staff.pk, stranger.pk}
    # The top of the ladder: later, retried and overlapping runs alert nobody again.
    assert services.emergencies_escalate_due(now=NOON + 5 * step) == 0
    assert services.emergency_escalate(appointment_id=emergency.pk, now=NOON + 6 * step) is False
    assert list(EmergencyLadderStep.objects.filter(appointment=emergency).values_list("number", flat=True)) == [1, 2, 3]
    assert EmergencyAlert.objects.filter(appointment=emergency).count() == 4
    assert emergency.events.filter(kind="escalated").count() == 2

    # Each alerted doctor sees it in the queue and may accept it.
    services.emergency_accept(actor=dave, appointment=emergency)
    emergency.refresh_from_db()
    assert emergency.doctor == dave.doctor_profile


def test_on_duty_doctors_first_then_the_rest_of_the_team_after_the_interval(
        alice, carol, dave, hana, off_duty_care, step):
    open_all_week(carol.doctor_profile)  # on duty at noon; Dave is not
    emergency = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help",
                                           now=NOON)
    assert alerted(emergency) == {carol.pk}
    assert services.emergency_escalate(appointment_id=emergency.pk, now=NOON + step / 2) is False
    assert services.emergency_escalate(appointment_id=emergency.pk, now=NOON + step) is True
    assert alerted(emergency, 2) == {dave.pk}
    assert hana.pk not in alerted(emergency)
    assert services.emergency_escalate(appointment_id=emergency.pk, now=NOON + step + step / 2) is False
    assert services.emergency_escalate(appointment_id=emergency.pk, now=NOON + 2 * step) is True
    assert hana.pk in alerted(emergency, 3)


def test_an_accepted_or_withdrawn_emergency_stops_climbing(alice, carol, dave, hana, off_duty_care, step):
    emergency = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Help",
                                           now=NOON)
    services.emergency_accept(actor=carol, appointment=emergency)
    assert services.emergencies_escalate_due(now=NOON + 3 * step) == 0
    assert hana.pk not in alerted(emergency)

    other = services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Again",
                                       now=NOON)
    services.appointment_cancel(actor=alice, appointment=other, reason="Better now")
    assert services.emergency_escalate(appointment_id=other.pk, now=NOON + 3 * step) is False
    assert hana.pk not in alerted(other)


def test_a_patient_without_any_doctor_reaches_admins_and_doctors_on_duty_at_once(bob, ada):
    on_duty = DoctorFactory()
    open_all_week(on_duty.doctor_profile)
    emergency = services.emergency_request(requested_by=bob, patient=bob.patient_record, reason="Help", now=NOON)
    assert alerted(emergency, 3) == {ada.pk, on_duty.pk}
    assert list(emergency.ladder_steps.values_list("number", flat=True)) == [1, 2, 3]
