"""The gentle evening reminder: once per local day, only when nothing was logged, opt-out."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from telehealth.models import Notification
from tests.factories import UserPatientRelationFactory
from wellness import tasks
from wellness.models import WellnessEntry, WellnessSettings

pytestmark = pytest.mark.django_db

KIND = Notification.Kind.WELLNESS_REMINDER


@pytest.fixture(autouse=True)
def _wellness_urls(settings):
    settings.ROOT_URLCONF = "wellness.tests.test_tracker_urls"


def at(moment):
    return mock.patch.object(timezone, "now", return_value=moment)


@pytest.fixture
def alice_tracks(alice):
    alice.timezone = "Asia/Kolkata"  # UTC+5:30
    alice.save(update_fields=["timezone"])
    return WellnessSettings.objects.create(patient=alice.patient_record, reminder_time=dt.time(20, 0))


# 20:15 in Kolkata on 10 March 2026.
EVENING = dt.datetime(2026, 3, 10, 14, 45, tzinfo=dt.UTC)


def test_it_reminds_once_after_the_local_reminder_time(alice, alice_tracks):
    with at(EVENING):
        assert tasks.evening_reminders() == 1
        assert tasks.evening_reminders() == 0  # a beat fired twice
    with at(EVENING + dt.timedelta(hours=1)):
        assert tasks.evening_reminders() == 0
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind, notification.url) == (alice, KIND, "/wellness/")
    alice_tracks.refresh_from_db()
    assert alice_tracks.last_reminded_on == dt.date(2026, 3, 10)


def test_it_waits_for_the_patients_evening(alice, alice_tracks):
    with at(EVENING - dt.timedelta(minutes=30)):  # 19:45 in Kolkata, already 14:15 UTC
        assert tasks.evening_reminders() == 0
    assert not Notification.objects.exists()


def test_it_reminds_again_the_next_day(alice, alice_tracks):
    with at(EVENING):
        tasks.evening_reminders()
    with at(EVENING + dt.timedelta(days=1)):
        assert tasks.evening_reminders() == 1
    assert Notification.objects.count() == 2


def test_nothing_when_today_is_logged(alice, alice_tracks):
    WellnessEntry.objects.create(patient=alice.patient_record, date=dt.date(2026, 3, 10), mood=6, stress=3)
    with at(EVENING):
        assert tasks.evening_reminders() == 0
    assert not Notification.objects.exists()


def test_it_respects_the_opt_out(alice, alice_tracks):
    alice_tracks.evening_reminder = False
    alice_tracks.save()
    with at(EVENING):
        assert tasks.evening_reminders() == 0
    assert not Notification.objects.exists()


def test_the_claim_is_a_conditional_update(alice, alice_tracks):
    """Two workers that both read the settings before either claimed: only one sends."""
    from wellness import services

    with at(EVENING):
        stale = list(WellnessSettings.objects.select_related("patient__user").filter(pk=alice_tracks.pk))
        with mock.patch("wellness.selectors.reminder_candidates", return_value=stale):
            assert services.evening_reminders_send() == 1
            assert services.evening_reminders_send() == 0
    assert Notification.objects.count() == 1


def test_family_is_reminded_in_their_own_language(alice, grace, alice_tracks):
    grace.preferred_language = "es"
    grace.save(update_fields=["preferred_language"])
    with at(EVENING):
        tasks.evening_reminders()
    by_user = {n.recipient_id: n for n in Notification.objects.all()}
    assert set(by_user) == {alice.pk, grace.pk}
    assert by_user[grace.pk].url == f"/wellness/?patient={alice.patient_record.pk}"
    assert "Alice" in by_user[grace.pk].title


def test_a_dependent_without_login_follows_the_carers_zone(grace):
    grace.timezone = "America/New_York"  # UTC-4 in March after DST
    grace.save(update_fields=["timezone"])
    child = UserPatientRelationFactory(user=grace).patient
    WellnessSettings.objects.create(patient=child, reminder_time=dt.time(20, 0))
    with at(dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)):  # 19:30 in New York
        assert tasks.evening_reminders() == 0
    with at(dt.datetime(2026, 3, 11, 0, 30, tzinfo=dt.UTC)):  # 20:30 on 10 March in New York
        assert tasks.evening_reminders() == 1
    assert WellnessSettings.objects.get(patient=child).last_reminded_on == dt.date(2026, 3, 10)
