"""Risk rules on generated histories: they only ever *suggest* (a clinician confirms), run idempotently,
respect the thresholds in settings, and do not re-suggest an episode a clinician already decided."""

import datetime as dt

import pytest
from django.utils import timezone

from wellness import risk
from wellness.models import RiskFlag, RiskFlagEvent
from wellness.tasks_risk import risk_rules_evaluate
from wellness.tests.risk_support import add_days, care, riverside, today_utc  # noqa: F401

pytestmark = pytest.mark.django_db

STEADY = [(6, 4)] * 10


def flags(patient, rule=None):
    qs = RiskFlag.objects.filter(patient=patient)
    return list(qs.filter(rule=rule) if rule else qs)


def test_low_mood_three_days_in_a_row_suggests_a_flag(alice):
    patient = alice.patient_record
    add_days(patient, STEADY + [(3, 5), (2, 6), (3, 5)])
    created = risk.evaluate_rules()
    assert [f.rule for f in created] == ["low_mood"]
    flag = created[0]
    assert (flag.status, flag.source, flag.doctor) == ("suggested", "rule", None)
    assert "3 consecutive days" in flag.reason
    assert [e.kind for e in flag.events.all()] == [RiskFlagEvent.Kind.SUGGESTED]


def test_low_mood_two_days_or_broken_runs_do_not(alice):
    patient = alice.patient_record
    add_days(patient, STEADY + [(3, 5), (2, 6), (5, 5), (3, 5), None, (3, 5), (2, 5)])
    assert risk.evaluate_rules() == []


def test_an_old_low_mood_run_does_not_fire(alice):
    add_days(alice.patient_record, [(2, 5)] * 3 + [(7, 3)] * 8)
    assert risk.evaluate_rules() == []


def test_evaluation_is_idempotent(alice):
    add_days(alice.patient_record, STEADY + [(1, 4)] * 3)
    assert len(risk.evaluate_rules()) == 1
    assert risk.evaluate_rules() == []
    assert risk_rules_evaluate.delay().get() == 0
    assert len(flags(alice.patient_record, "low_mood")) == 1


def test_the_database_keeps_one_live_flag_per_rule(alice):
    from django.db import IntegrityError, transaction

    patient = alice.patient_record
    RiskFlag.objects.create(patient=patient, source="rule", rule="low_mood", status="suggested", reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskFlag.objects.create(patient=patient, source="rule", rule="low_mood", status="open", reason="y")


def test_stress_rising_over_two_weeks_suggests_a_flag(alice):
    add_days(alice.patient_record, [(6, s) for s in (2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8)])
    created = risk.evaluate_rules()
    assert [f.rule for f in created] == ["stress_rising"]
    assert "first half" in created[0].reason


def test_steady_or_falling_stress_does_not(alice, bob):
    add_days(alice.patient_record, [(6, s) for s in (5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6)])
    add_days(bob.patient_record, [(6, s) for s in (8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2)])
    assert risk.evaluate_rules() == []


def test_too_few_entries_do_not_make_a_trend(alice):
    add_days(alice.patient_record, [(6, 2), None, None, None, None, None, None, None, None, None, None, (6, 9)])
    assert risk.evaluate_rules() == []


def test_no_entry_for_seven_days_after_a_flag_suggests_a_flag(alice, carol, care):
    patient = alice.patient_record
    add_days(patient, [(6, 4)], end=today_utc() - dt.timedelta(days=9))
    flag = risk.risk_flag_raise(actor=carol, patient=patient, reason="Said she felt hopeless", follow_up="call")
    RiskFlag.objects.filter(pk=flag.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    created = risk.evaluate_rules()
    assert [f.rule for f in created] == ["silence_after_flag"]
    assert "No check-in for 8 days" in created[0].reason


def test_a_check_in_after_the_flag_resets_the_silence(alice, carol, care):
    patient = alice.patient_record
    flag = risk.risk_flag_raise(actor=carol, patient=patient, reason="Hopeless", follow_up="call")
    RiskFlag.objects.filter(pk=flag.pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    add_days(patient, [(6, 4)], end=today_utc() - dt.timedelta(days=3))
    assert risk.evaluate_rules() == []


def test_no_silence_rule_without_an_open_flag(alice):
    add_days(alice.patient_record, [(6, 4)], end=today_utc() - dt.timedelta(days=20))
    assert risk.evaluate_rules(patient_ids=[alice.patient_record.pk]) == []


def test_a_dismissed_episode_is_not_suggested_again(alice, carol, care):
    patient = alice.patient_record
    add_days(patient, STEADY + [(2, 5)] * 3)
    [flag] = risk.evaluate_rules()
    risk.risk_flag_dismiss(actor=carol, flag=flag, note="Known; bereavement, in therapy")
    assert risk.evaluate_rules() == []
    # The same run going on is still the dismissed episode.
    add_days(patient, [(2, 5)], end=today_utc() + dt.timedelta(days=1))
    assert risk.evaluate_rules(now=timezone.now() + dt.timedelta(days=1)) == []


def test_a_new_episode_after_a_dismissal_is_suggested(alice, carol, care):
    patient = alice.patient_record
    add_days(patient, [(2, 5)] * 3 + [(7, 3)] * 2, end=today_utc() - dt.timedelta(days=5))
    [flag] = risk.evaluate_rules(now=timezone.now() - dt.timedelta(days=5))
    RiskFlag.objects.filter(pk=flag.pk).update(status="dismissed", updated_at=timezone.now() - dt.timedelta(days=5))
    add_days(patient, [(3, 5)] * 3)
    assert [f.rule for f in risk.evaluate_rules()] == ["low_mood"]


def test_thresholds_come_from_settings(alice, settings):
    settings.WELLNESS_RISK = {"low_mood_max": 4, "low_mood_days": 2}
    add_days(alice.patient_record, STEADY + [(4, 5), (4, 5)])
    assert [f.rule for f in risk.evaluate_rules()] == ["low_mood"]
    assert risk.risk_settings()["silence_days"] == 7  # defaults fill the rest


def test_pure_rule_functions():
    cfg = risk.risk_settings()
    today = dt.date(2025, 6, 18)
    moods = {today - dt.timedelta(days=i): m for i, m in enumerate([3, 3, 3, 8])}
    hit = risk.rule_low_mood(moods, today, cfg)
    assert hit.since == today - dt.timedelta(days=2)
    assert risk.rule_silence(today - dt.timedelta(days=6), None, today, cfg) is None
    assert risk.rule_silence(today - dt.timedelta(days=7), None, today, cfg).rule == "silence_after_flag"
