"""Races on Postgres: many people booking one slot at the same moment, overlapping rows, and
doctors accepting one emergency together. Exactly one wins each time."""

import datetime as dt

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from clinic import services
from clinic.models import Appointment, AppointmentStatus, EmergencyAlert
from conftest import race, require_service
from core.errors import Conflict, NotFound
from telehealth.tests.helpers import open_all_week
from tests.factories import DoctorFactory, PatientUserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

THREADS = 24


@pytest.fixture(autouse=True)
def postgres():
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")


def next_slot(days=3, hour=10):
    day = (timezone.now() + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=dt.UTC)


def test_many_patients_booking_one_slot_one_wins():
    doctor = DoctorFactory()
    open_all_week(doctor)
    patients = [PatientUserFactory() for _ in range(THREADS)]
    start = next_slot()

    results = race(THREADS, lambda i: services.appointment_book(
        booked_by=patients[i], patient=patients[i].patient_record, doctor=doctor.doctor_profile, start=start,
        type="remote"))

    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if isinstance(r, services.SlotTaken)]
    assert len(won) == 1, results
    assert len(lost) == THREADS - 1, [r for r in results if not isinstance(r, (Appointment, services.SlotTaken))]
    assert Appointment.objects.filter(doctor=doctor.doctor_profile, start=start,
                                      status__in=["requested", "confirmed"]).count() == 1


def test_one_patient_booking_many_doctors_at_once_gets_one():
    """The patient-side constraints: Alice double-clicking across doctors for the same hour."""
    doctors = [DoctorFactory() for _ in range(8)]
    for d in doctors:
        open_all_week(d)
    patient = PatientUserFactory()
    start = next_slot(days=4)

    results = race(len(doctors), lambda i: services.appointment_book(
        booked_by=patient, patient=patient.patient_record, doctor=doctors[i].doctor_profile, start=start,
        type="remote"))

    assert sum(isinstance(r, Appointment) for r in results) == 1, results
    assert all(isinstance(r, (Appointment, Conflict)) for r in results), results
    assert Appointment.objects.filter(patient=patient.patient_record, status="requested").count() == 1


def test_the_exclusion_constraint_refuses_overlapping_rows():
    doctor = DoctorFactory().doctor_profile
    a, b = PatientUserFactory().patient_record, PatientUserFactory().patient_record
    start = next_slot()
    Appointment.objects.create(patient=a, doctor=doctor, type="remote", start=start,
                               end=start + dt.timedelta(minutes=30), status="confirmed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(patient=b, doctor=doctor, type="remote", start=start + dt.timedelta(minutes=15),
                                   end=start + dt.timedelta(minutes=45), status="requested")
    with pytest.raises(IntegrityError), transaction.atomic():  # the patient cannot be in two places either
        Appointment.objects.create(patient=a, doctor=DoctorFactory().doctor_profile, type="remote",
                                   start=start + dt.timedelta(minutes=20), end=start + dt.timedelta(minutes=50))
    # Back-to-back is fine ('[)' ranges), and so are deliberate overbookings and cancelled rows.
    Appointment.objects.create(patient=b, doctor=doctor, type="remote", start=start + dt.timedelta(minutes=30),
                               end=start + dt.timedelta(minutes=60))
    Appointment.objects.create(patient=b, doctor=doctor, type="remote", start=start + dt.timedelta(minutes=10),
                               end=start + dt.timedelta(minutes=20), overbooked=True, overbook_reason="urgent",
                               status="cancelled")
    Appointment.objects.create(patient=PatientUserFactory().patient_record, doctor=doctor, type="remote",
                               start=start + dt.timedelta(minutes=5), end=start + dt.timedelta(minutes=25),
                               overbooked=True, overbook_reason="urgent")


def test_overlapping_inserts_with_different_starts_race_and_one_wins():
    """Bypassing the service's row lock: only the exclusion constraint stands between them."""
    doctor = DoctorFactory().doctor_profile
    patients = [PatientUserFactory().patient_record for _ in range(6)]
    start = next_slot(days=5)

    def insert(i):
        s = start + dt.timedelta(minutes=5 * i)  # 10:00, 10:05 ... 10:25: all overlap one another
        with transaction.atomic():
            return Appointment.objects.create(patient=patients[i], doctor=doctor, type="remote", start=s,
                                              end=s + dt.timedelta(minutes=30))

    results = race(len(patients), insert)
    assert sum(isinstance(r, Appointment) for r in results) == 1, results
    # Losers get a constraint violation, or — two inserts checking each other's uncommitted rows —
    # a deadlock, which Postgres resolves by aborting one. appointment_book maps both to SlotTaken.
    assert all(isinstance(r, (Appointment, IntegrityError)) or is_deadlock(r) for r in results), results


def is_deadlock(exc) -> bool:
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) == "40P01"


def test_many_doctors_accepting_one_emergency_one_wins():
    doctors = [DoctorFactory() for _ in range(12)]
    patient = PatientUserFactory().patient_record
    now = timezone.now()
    emergency = Appointment.objects.create(patient=patient, type="emergency", start=now,
                                           end=now + dt.timedelta(minutes=30), reason="help")
    EmergencyAlert.objects.bulk_create(EmergencyAlert(appointment=emergency, recipient=d) for d in doctors)

    results = race(len(doctors), lambda i: services.emergency_accept(actor=doctors[i], appointment=emergency))

    won = [r for r in results if isinstance(r, Appointment)]
    assert len(won) == 1, results
    # A loser that checks after the winner committed no longer sees the (now assigned) emergency in
    # its queue and gets NotFound instead of "already accepted by ..." — see the report.
    assert all(isinstance(r, (Conflict, NotFound)) for r in results if r not in won), results
    emergency.refresh_from_db()
    assert emergency.status == AppointmentStatus.CONFIRMED and emergency.doctor_id == won[0].doctor_id
    assert emergency.events.filter(kind="accepted").count() == 1
