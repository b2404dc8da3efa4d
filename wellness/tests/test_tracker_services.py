"""Daily check-ins, habits and streaks: wellness.services and wellness.selectors."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import AuditEvent
from clinic.tests.conftest import care, riverside  # noqa: F401 - fixtures
from core.errors import NotFound, PermissionDenied
from tests.factories import UserPatientRelationFactory
from wellness import selectors, services
from wellness.models import DailyReview, Habit, HabitLog, WellnessEntry, WellnessSettings

pytestmark = pytest.mark.django_db


def today_of(patient):
    return selectors.patient_today(patient)


def save(actor, patient, day=None, **data):
    data = {"mood": 6, "stress": 4, **data}
    habit_values = data.pop("habit_values", None)
    return services.wellness_entry_save(actor=actor, patient=patient, date=day or today_of(patient), data=data,
                                        habit_values=habit_values)


class TestPatientToday:
    def test_it_uses_the_patients_zone(self, alice):
        alice.timezone = "Pacific/Kiritimati"  # UTC+14
        alice.save(update_fields=["timezone"])
        now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
        assert selectors.patient_today(alice.patient_record, now=now) == dt.date(2026, 3, 11)

    def test_a_dependent_without_login_uses_the_acting_users_zone(self, grace):
        grace.timezone = "America/Los_Angeles"
        grace.save(update_fields=["timezone"])
        child = UserPatientRelationFactory(user=grace).patient
        now = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC)
        assert selectors.patient_today(child, grace, now=now) == dt.date(2026, 3, 9)
        assert selectors.patient_today(child, None, now=now) == dt.date(2026, 3, 10)


class TestEntryValidation:
    @pytest.mark.parametrize("field, value", [("mood", 0), ("mood", 11), ("stress", 0), ("stress", 12),
                                              ("mood", 5.5), ("sleep_hours", 25), ("sleep_hours", -1),
                                              ("meditation_minutes", 1441)])
    def test_it_rejects_out_of_range_values_naming_the_field(self, alice, field, value):
        with pytest.raises(ValidationError) as exc:
            save(alice, alice.patient_record, **{field: value})
        assert list(exc.value.message_dict) == [field]
        assert not WellnessEntry.objects.exists()

    def test_the_messages_are_clear(self, alice):
        with pytest.raises(ValidationError) as exc:
            save(alice, alice.patient_record, mood=11, stress=0, sleep_hours=25)
        errors = exc.value.message_dict
        assert errors["mood"] == ["Mood must be a whole number from 1 to 10."]
        assert errors["stress"] == ["Stress must be a whole number from 1 to 10."]
        assert errors["sleep_hours"] == ["Sleep must be between 0 and 24 hours."]

    def test_it_rejects_future_dates(self, alice):
        patient = alice.patient_record
        with pytest.raises(ValidationError) as exc:
            save(alice, patient, today_of(patient) + dt.timedelta(days=1))
        assert "future" in exc.value.message_dict["date"][0]
        assert not WellnessEntry.objects.exists()

    def test_it_rejects_locked_days(self, alice):
        patient = alice.patient_record
        with pytest.raises(ValidationError) as exc:
            save(alice, patient, today_of(patient) - dt.timedelta(days=2))
        assert "locked" in exc.value.message_dict["date"][0]
        assert not WellnessEntry.objects.exists()

    def test_mood_and_stress_are_needed_for_a_new_day(self, alice):
        with pytest.raises(ValidationError) as exc:
            services.wellness_entry_save(actor=alice, patient=alice.patient_record, date=today_of(alice.patient_record),
                                         data={"sleep_hours": 7})
        assert set(exc.value.message_dict) == {"mood", "stress"}

    def test_a_bad_habit_value_saves_nothing(self, alice):
        patient = alice.patient_record
        walk = services.habit_create(actor=alice, patient=patient, name="Walk", kind="number", unit="min")
        with pytest.raises(ValidationError) as exc:
            save(alice, patient, habit_values={str(walk.pk): -5})
        assert "habits" in exc.value.message_dict
        assert not WellnessEntry.objects.exists() and not HabitLog.objects.exists()


class TestEntrySave:
    def test_yesterday_is_editable(self, alice):
        patient = alice.patient_record
        entry = save(alice, patient, today_of(patient) - dt.timedelta(days=1), sleep_hours="7.5")
        assert entry.was_created and entry.sleep_hours == Decimal("7.5")

    def test_one_entry_per_day_second_save_updates_only_given_fields(self, alice):
        patient = alice.patient_record
        first = save(alice, patient, sleep_hours=7, notes="Slept well")
        second = services.wellness_entry_save(actor=alice, patient=patient, date=first.date, data={"mood": 9})
        assert not second.was_created and second.pk == first.pk
        entry = WellnessEntry.objects.get()
        assert (entry.mood, entry.stress, entry.sleep_hours, entry.notes) == (9, 4, Decimal("7.0"), "Slept well")

    def test_family_may_log_and_it_is_recorded_who_did(self, alice, grace):
        entry = save(grace, alice.patient_record)
        assert entry.recorded_by == grace

    def test_the_first_check_in_switches_the_evening_reminder_on(self, alice):
        save(alice, alice.patient_record)
        assert WellnessSettings.objects.get(patient=alice.patient_record).evening_reminder

    def test_changes_are_audited(self, alice):
        patient = alice.patient_record
        save(alice, patient)
        save(alice, patient, mood=3)
        actions = list(AuditEvent.objects.filter(target_id=str(patient.pk)).values_list("action", flat=True)
                       .order_by("created_at"))
        assert actions == ["wellness.entry.created", "wellness.entry.updated"]

    def test_strangers_get_404_and_readers_403(self, alice, bob, carol, hana, ada, care):
        patient = alice.patient_record
        with pytest.raises(NotFound):
            save(bob, patient)
        with pytest.raises(NotFound):
            save(hana, patient)  # staff of Alice's hospital: no clinical data
        for reader in (carol, ada):
            with pytest.raises(PermissionDenied):
                save(reader, patient)
        assert not WellnessEntry.objects.exists()


class TestHabits:
    def test_yes_no_and_number_habits_are_logged(self, alice):
        patient = alice.patient_record
        meds = services.habit_create(actor=alice, patient=patient, name="Took my medication")
        walk = services.habit_create(actor=alice, patient=patient, name="Walk", kind="number", unit="min", target=30)
        save(alice, patient, habit_values={str(meds.pk): True, str(walk.pk): 20})
        logs = {log.habit_id: log for log in HabitLog.objects.all()}
        assert logs[meds.pk].done is True
        assert logs[walk.pk].value == Decimal("20.0") and logs[walk.pk].done is False  # target not met
        save(alice, patient, habit_values={str(walk.pk): 35})
        assert HabitLog.objects.get(habit=walk).done is True

    def test_a_yes_no_habit_takes_no_number(self, alice):
        patient = alice.patient_record
        meds = services.habit_create(actor=alice, patient=patient, name="Meds")
        with pytest.raises(ValidationError):
            save(alice, patient, habit_values={str(meds.pk): 3})

    def test_yes_no_habits_keep_no_unit_or_target(self, alice):
        habit = services.habit_create(actor=alice, patient=alice.patient_record, name="Stretch", unit="min", target=5)
        assert (habit.unit, habit.target) == ("", None)

    def test_names_are_unique_among_active_habits(self, alice):
        patient = alice.patient_record
        walk = services.habit_create(actor=alice, patient=patient, name="Walk")
        with pytest.raises(ValidationError) as exc:
            services.habit_create(actor=alice, patient=patient, name="walk ")
        assert "name" in exc.value.message_dict
        services.habit_archive(actor=alice, habit=walk)
        services.habit_create(actor=alice, patient=patient, name="Walk")

    def test_archived_habits_leave_the_check_in_and_keep_their_history(self, alice):
        patient = alice.patient_record
        walk = services.habit_create(actor=alice, patient=patient, name="Walk")
        save(alice, patient, habit_values={str(walk.pk): True})
        services.habit_archive(actor=alice, habit=walk)
        services.habit_archive(actor=alice, habit=walk)  # twice: no change
        assert list(selectors.habits_of(patient=patient)) == []
        assert list(selectors.habits_of(patient=patient, archived=True)) == [walk]
        assert HabitLog.objects.filter(habit=walk).exists()
        with pytest.raises(ValidationError):
            save(alice, patient, habit_values={str(walk.pk): True})
        assert AuditEvent.objects.filter(action="wellness.habit.archived").count() == 1

    def test_a_care_team_doctor_suggests_a_habit_that_the_patient_sees(self, alice, carol, care):
        patient = alice.patient_record
        habit = services.habit_suggest(actor=carol, patient=patient, name="Breathing exercise", kind="number",
                                       unit="min", target=10)
        assert habit.suggested_by == carol.doctor_profile
        assert list(selectors.habits_of(patient=patient)) == [habit]
        assert AuditEvent.objects.filter(action="wellness.habit.suggested", actor=carol).exists()

    def test_other_doctors_and_admins_cannot_suggest(self, alice, dave, ada, care):
        with pytest.raises(NotFound):
            services.habit_suggest(actor=dave, patient=alice.patient_record, name="Run")
        with pytest.raises(PermissionDenied):
            services.habit_suggest(actor=ada, patient=alice.patient_record, name="Run")
        with pytest.raises(PermissionDenied):
            services.habit_create(actor=ada, patient=alice.patient_record, name="Run")


class TestStreaks:
    def _history(self, patient, today, days, *, skip=()):
        WellnessEntry.objects.bulk_create(
            WellnessEntry(patient=patient, date=today - dt.timedelta(days=i), mood=5, stress=5)
            for i in days if i not in skip)

    def test_consecutive_days_up_to_today(self, alice):
        patient = alice.patient_record
        today = today_of(patient)
        self._history(patient, today, range(0, 10), skip={6})
        assert selectors.streaks(patient, today=today).entries == 6

    def test_a_streak_is_not_broken_before_the_day_is_over(self, alice):
        patient = alice.patient_record
        today = today_of(patient)
        self._history(patient, today, range(1, 5))
        assert selectors.streaks(patient, today=today).entries == 4

    def test_a_missed_yesterday_breaks_it(self, alice):
        patient = alice.patient_record
        today = today_of(patient)
        self._history(patient, today, range(2, 8))
        assert selectors.streaks(patient, today=today).entries == 0

    def test_habit_and_review_streaks(self, alice):
        patient = alice.patient_record
        today = today_of(patient)
        walk = Habit.objects.create(patient=patient, name="Walk", kind="number", unit="min", target=30)
        meds = Habit.objects.create(patient=patient, name="Meds")
        # Walk: target met today and the 3 days before, missed 4 days ago.
        HabitLog.objects.bulk_create([HabitLog(habit=walk, date=today - dt.timedelta(days=i), value=40, done=True)
                                      for i in range(4)]
                                     + [HabitLog(habit=walk, date=today - dt.timedelta(days=4), value=10, done=False)]
                                     + [HabitLog(habit=meds, date=today - dt.timedelta(days=i), done=True)
                                        for i in range(1, 3)])
        DailyReview.objects.bulk_create(DailyReview(patient=patient, date=today - dt.timedelta(days=i))
                                        for i in (1, 2, 3, 5))
        result = selectors.streaks(patient, today=today)
        assert result.habits == {walk.pk: 4, meds.pk: 2}
        assert result.reviews == 3

    def test_streaks_use_a_fixed_number_of_queries(self, alice, django_assert_max_num_queries):
        patient = alice.patient_record
        today = today_of(patient)
        self._history(patient, today, range(0, 60))
        Habit.objects.create(patient=patient, name="Walk")
        with django_assert_max_num_queries(4):
            selectors.streaks(patient, today=today)


class TestReadAudit:
    def test_reads_by_others_than_the_patient_are_audited(self, alice, grace, carol, care):
        patient = alice.patient_record
        services.wellness_read_record(actor=alice, patient=patient, view="test")
        assert not AuditEvent.objects.filter(action="wellness.viewed").exists()
        services.wellness_read_record(actor=grace, patient=patient, view="test")
        services.wellness_read_record(actor=carol, patient=patient, view="test")
        assert set(AuditEvent.objects.filter(action="wellness.viewed").values_list("actor__email", flat=True)) == {
            grace.email, carol.email}


def test_the_day_boundary_follows_the_patient_not_the_server(alice):
    """At 23:30 in Los Angeles (06:30 UTC the next day, PDT) a check-in belongs to the LA date."""
    alice.timezone = "America/Los_Angeles"
    alice.save(update_fields=["timezone"])
    patient = alice.patient_record
    moment = dt.datetime(2026, 3, 11, 6, 30, tzinfo=dt.UTC)
    with mock.patch.object(timezone, "now", return_value=moment):
        entry = save(alice, patient, dt.date(2026, 3, 10))
        assert entry.date == dt.date(2026, 3, 10)
        with pytest.raises(ValidationError):
            save(alice, patient, dt.date(2026, 3, 11))  # still the future in Los Angeles
