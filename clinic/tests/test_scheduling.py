"""Free slots: wall-clock windows in the doctor's zone across DST, slot length and buffer,
exceptions, booked and past slots, viewers in other zones."""

import datetime as dt
import zoneinfo

import pytest

from clinic.models import Appointment, AvailabilityException, WeeklyAvailability
from clinic.scheduling import free_slots, window_slots
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC
SAT, SUN, MON = 5, 6, 0


@pytest.fixture
def doctor(carol):
    carol.timezone = "America/New_York"
    carol.save()
    return carol.doctor_profile


def window(doctor, weekday, start, end, slot=30, buffer=0):
    return WeeklyAvailability.objects.create(doctor=doctor, weekday=weekday, start_time=dt.time(*start),
                                             end_time=dt.time(*end), slot_minutes=slot, buffer_minutes=buffer)


def slots_on(doctor, day: dt.date, now=None):
    """Slots starting on the doctor's local ``day``."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=NY)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=NY)
    return free_slots(doctor, start, end, now=now or dt.datetime(2026, 1, 1, tzinfo=UTC))


def local_times(slots):
    return [s.start.astimezone(NY).strftime("%H:%M") for s in slots]


def utc_times(slots):
    return [s.start.astimezone(UTC).strftime("%H:%M") for s in slots]


class TestDaylightSaving:
    def test_a_nine_oclock_window_stays_at_nine_across_spring_forward(self, doctor):
        for weekday in (SAT, SUN, MON):
            window(doctor, weekday, (9, 0), (10, 0))
        before, during, after = (slots_on(doctor, dt.date(2026, 3, d)) for d in (7, 8, 9))
        assert local_times(before) == local_times(during) == local_times(after) == ["09:00", "09:30"]
        assert utc_times(before) == ["14:00", "14:30"]  # EST, UTC-5
        assert utc_times(during) == utc_times(after) == ["13:00", "13:30"]  # EDT, UTC-4

    def test_a_nine_oclock_window_stays_at_nine_across_fall_back(self, doctor):
        for weekday in (SAT, SUN, MON):
            window(doctor, weekday, (9, 0), (10, 0))
        now = dt.datetime(2026, 10, 1, tzinfo=UTC)
        before, during, after = (slots_on(doctor, dt.date(2026, m, d), now) for m, d in ((10, 31), (11, 1), (11, 2)))
        assert local_times(before) == local_times(during) == local_times(after) == ["09:00", "09:30"]
        assert utc_times(before) == ["13:00", "13:30"]
        assert utc_times(during) == utc_times(after) == ["14:00", "14:30"]

    def test_non_existent_local_times_are_skipped_on_spring_forward(self, doctor):
        window(doctor, SUN, (1, 30), (3, 0))
        slots = slots_on(doctor, dt.date(2026, 3, 8))
        # 02:00 and 02:30 do not exist that night: only 01:30 EST remains.
        assert local_times(slots) == ["01:30"]
        assert slots[0].start == dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
        assert slots[0].end - slots[0].start == dt.timedelta(minutes=30)
        # A normal Sunday has all three.
        assert local_times(slots_on(doctor, dt.date(2026, 3, 15))) == ["01:30", "02:00", "02:30"]

    def test_ambiguous_times_take_the_first_occurrence_and_keep_their_length(self, doctor):
        window(doctor, SUN, (0, 30), (2, 30))
        slots = slots_on(doctor, dt.date(2026, 11, 1), now=dt.datetime(2026, 10, 1, tzinfo=UTC))
        assert local_times(slots) == ["00:30", "01:00", "01:30", "02:00"]
        assert utc_times(slots) == ["04:30", "05:00", "05:30", "07:00"]  # 01:xx EDT, then 02:00 EST
        assert all(s.end - s.start == dt.timedelta(minutes=30) for s in slots)
        starts = [s.start for s in slots]
        assert len(set(starts)) == len(starts)

    def test_window_slots_directly(self, doctor):
        w = window(doctor, SUN, (1, 30), (3, 0))
        assert [s.astimezone(UTC).strftime("%H:%M") for s, _e in window_slots(w, dt.date(2026, 3, 8), NY)] == ["06:30"]


class TestRules:
    DAY = dt.date(2026, 4, 6)  # a Monday, EDT

    def at(self, hh, mm=0):
        return dt.datetime.combine(self.DAY, dt.time(hh, mm), tzinfo=NY)

    def test_slot_length_and_buffer(self, doctor):
        window(doctor, MON, (9, 0), (11, 0), slot=25, buffer=5)
        slots = slots_on(doctor, self.DAY)
        assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30"]
        assert all(s.end - s.start == dt.timedelta(minutes=25) for s in slots)

    def test_a_slot_must_fit_in_the_window(self, doctor):
        window(doctor, MON, (9, 0), (10, 15), slot=30)
        assert local_times(slots_on(doctor, self.DAY)) == ["09:00", "09:30"]

    def test_exceptions_remove_overlapping_slots(self, doctor):
        window(doctor, MON, (9, 0), (12, 0))
        AvailabilityException.objects.create(doctor=doctor, start=self.at(9, 45), end=self.at(10, 30))
        assert local_times(slots_on(doctor, self.DAY)) == ["09:00", "10:30", "11:00", "11:30"]

    def test_leave_removes_the_day(self, doctor):
        window(doctor, MON, (9, 0), (12, 0))
        AvailabilityException.objects.create(doctor=doctor, kind="leave", start=self.at(0), end=self.at(23, 59))
        assert slots_on(doctor, self.DAY) == []

    def test_booked_slots_disappear_cancelled_and_emergencies_do_not_block(self, doctor):
        window(doctor, MON, (9, 0), (11, 0))
        patient = PatientUserFactory().patient_record
        other = PatientUserFactory().patient_record
        Appointment.objects.create(patient=patient, doctor=doctor, type="remote", start=self.at(9, 30),
                                   end=self.at(10), status="confirmed")
        Appointment.objects.create(patient=other, doctor=doctor, type="remote", start=self.at(10),
                                   end=self.at(10, 30), status="cancelled")
        Appointment.objects.create(patient=other, doctor=doctor, type="emergency", start=self.at(10, 30),
                                   end=self.at(11), status="confirmed")
        assert local_times(slots_on(doctor, self.DAY)) == ["09:00", "10:00", "10:30"]

    def test_past_slots_are_excluded(self, doctor):
        window(doctor, MON, (9, 0), (11, 0))
        now = self.at(9, 40).astimezone(UTC)
        assert local_times(slots_on(doctor, self.DAY, now=now)) == ["10:00", "10:30"]

    def test_a_viewer_in_another_zone_sees_the_same_instants(self, doctor):
        window(doctor, MON, (21, 0), (22, 0))  # 21:00 in New York is Tuesday morning in Kolkata
        kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
        tuesday = dt.date(2026, 4, 7)
        start = dt.datetime.combine(tuesday, dt.time(0), tzinfo=kolkata)
        slots = free_slots(doctor, start, start + dt.timedelta(days=1), now=dt.datetime(2026, 1, 1, tzinfo=UTC))
        assert [s.start.astimezone(kolkata).strftime("%a %H:%M") for s in slots] == ["Tue 06:30", "Tue 07:00"]
        assert local_times(slots) == ["21:00", "21:30"]
        assert all(s.start.tzinfo == UTC for s in slots)
