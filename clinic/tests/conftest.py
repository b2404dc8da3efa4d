import datetime as dt

import pytest
from django.utils import timezone

from clinic.models import CareTeamMember, HospitalDoctor, HospitalPatient, WeeklyAvailability
from tests.factories import HospitalFactory


def next_weekday_at(hour: int, minute: int = 0, days_ahead: int = 2) -> dt.datetime:
    """An aware UTC datetime a few days ahead, on the hour (inside an all-day availability)."""
    day = (timezone.now() + dt.timedelta(days=days_ahead)).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def open_all_week(doctor_profile, *, hospital=None, slot_minutes=30):
    """Availability every day, 00:00–23:30 in the doctor's zone (UTC for factory doctors)."""
    return WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(doctor=doctor_profile, weekday=d, start_time=dt.time(0, 0), end_time=dt.time(23, 30),
                           hospital=hospital, slot_minutes=slot_minutes) for d in range(7))


@pytest.fixture
def riverside(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def other_hospital():
    return HospitalFactory(name="Elsewhere Clinic")


@pytest.fixture
def care(alice, carol, riverside):
    """Alice is registered at Riverside (Hana's hospital), Carol works there and treats Alice."""
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    open_all_week(carol.doctor_profile)
    return alice.patient_record
