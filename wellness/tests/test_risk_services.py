"""Flag services (raise, confirm, dismiss, clear, follow-up done) with their typed events, follow-up
due dates, who may act, and the monthly stress ranking."""

import datetime as dt
from unittest import mock

import pytest

from analytics.models import AuditEvent
from clinic.models import CareTeamMember
from core.errors import Conflict, NotFound, PermissionDenied
from tests.factories import PatientFactory
from wellness import risk
from wellness.models import FollowUpTask, RiskFlag, RiskFlagEvent, WellnessEntry
from wellness.tests.risk_support import care, riverside  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 18, 10, 0, tzinfo=dt.UTC)


def suggested(patient, rule="low_mood"):
    return RiskFlag.objects.create(patient=patient, source="rule", rule=rule, status="suggested",
                                   reason="Mood 3 or lower on 3 consecutive days")


def kinds(flag):
    return [e.kind for e in flag.events.order_by("created_at")]


def test_a_doctor_flag_is_open_at_once_with_a_task_due_tomorrow(alice, carol, care):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        flag = risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless on the call", follow_up="call")
    assert (flag.status, flag.source, flag.doctor) == ("open", "doctor", carol.doctor_profile)
    assert kinds(flag) == ["raised"]
    [task] = flag.tasks.all()
    assert (task.action, task.due_on, task.doctor) == ("call", dt.date(2025, 6, 19), carol.doctor_profile)
    assert AuditEvent.objects.filter(action="risk_flag.raised", actor=carol, target_id=str(care.pk)).exists()


@pytest.mark.parametrize("action, due", [("call", dt.date(2025, 6, 19)), ("emergency_consult", dt.date(2025, 6, 18)),
                                         ("send_resources", dt.date(2025, 6, 21))])
def test_follow_up_due_dates(carol, action, due):
    assert risk.follow_up_due_on(action, carol.doctor_profile, now=NOW) == due


def test_due_dates_use_the_doctors_calendar(carol):
    carol.timezone = "Pacific/Auckland"  # 22:00 UTC on the 18th is already the 19th there
    carol.save()
    late = dt.datetime(2025, 6, 18, 22, 0, tzinfo=dt.UTC)
    assert risk.follow_up_due_on("emergency_consult", carol.doctor_profile, now=late) == dt.date(2025, 6, 19)


def test_a_second_doctor_flag_while_one_is_open_conflicts(carol, care):
    risk.risk_flag_raise(actor=carol, patient=care, reason="One", follow_up="call")
    with pytest.raises(Conflict):
        risk.risk_flag_raise(actor=carol, patient=care, reason="Two", follow_up="call")


def test_raising_needs_a_reason_and_a_follow_up(carol, care):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        risk.risk_flag_raise(actor=carol, patient=care, reason="  ", follow_up="call")
    with pytest.raises(ValidationError):
        risk.risk_flag_raise(actor=carol, patient=care, reason="Why", follow_up="pray")
    assert not RiskFlag.objects.exists()


def test_confirm_opens_a_suggestion_with_a_follow_up(carol, care):
    with mock.patch("django.utils.timezone.now", return_value=NOW - dt.timedelta(hours=1)):
        flag = suggested(care)
        RiskFlagEvent.objects.create(flag=flag, kind="suggested")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        flag = risk.risk_flag_confirm(actor=carol, flag=flag, follow_up="emergency_consult", note="Spoke to her")
    assert (flag.status, flag.doctor, flag.follow_up) == ("open", carol.doctor_profile, "emergency_consult")
    assert kinds(flag) == ["suggested", "confirmed"]
    assert flag.events.get(kind="confirmed").note == "Spoke to her"
    assert flag.tasks.get().due_on == dt.date(2025, 6, 18)


def test_dismiss_closes_a_suggestion_without_tasks(carol, care):
    flag = risk.risk_flag_dismiss(actor=carol, flag=suggested(care), note="Known")
    assert flag.status == "dismissed" and kinds(flag) == ["dismissed"] and not flag.tasks.exists()
    with pytest.raises(Conflict):
        risk.risk_flag_confirm(actor=carol, flag=flag, follow_up="call")


def test_clear_closes_an_open_flag_and_keeps_the_history(carol, care):
    flag = risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless", follow_up="send_resources")
    flag = risk.risk_flag_clear(actor=carol, flag=flag, note="Much better")
    assert flag.status == "cleared"
    assert kinds(flag) == ["raised", "cleared"]
    with pytest.raises(Conflict):
        risk.risk_flag_clear(actor=carol, flag=flag)
    with pytest.raises(Conflict):
        risk.risk_flag_dismiss(actor=carol, flag=flag)
    # A cleared flag frees the slot: the patient can be flagged again.
    assert risk.risk_flag_raise(actor=carol, patient=care, reason="Again", follow_up="call").status == "open"


def test_follow_up_done_is_recorded_once(carol, care):
    flag = risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless", follow_up="call")
    task = flag.tasks.get()
    task = risk.follow_up_done(actor=carol, task=task)
    assert task.done_at is not None and task.done_by == carol
    assert kinds(flag) == ["raised", "follow_up_done"]
    with pytest.raises(Conflict):
        risk.follow_up_done(actor=carol, task=task)
    assert list(risk.follow_ups_open(doctor=carol.doctor_profile)) == []


def test_only_care_team_doctors_change_flags(care, ada, dave, alice, grace, hana):
    flag = suggested(care)
    with pytest.raises(PermissionDenied):  # admins read, they do not triage
        risk.risk_flag_confirm(actor=ada, flag=flag, follow_up="call")
    for stranger in (dave, alice, grace, hana):
        with pytest.raises(NotFound):
            risk.risk_flag_dismiss(actor=stranger, flag=flag)
    assert RiskFlag.objects.get(pk=flag.pk).status == "suggested"


def test_flag_selectors_follow_the_policy(care, carol, dave, ada, alice, grace, hana, bob):
    flag = suggested(care)
    assert risk.risk_flag_get(fetched_by=carol, flag_id=flag.pk) == flag
    assert risk.risk_flag_get(fetched_by=ada, flag_id=flag.pk) == flag
    for user in (dave, alice, grace, hana, bob):
        with pytest.raises(NotFound):
            risk.risk_flag_get(fetched_by=user, flag_id=flag.pk)


# --- ranking ----------------------------------------------------------------------------------------

def month_of_entries(patient, month_start, stresses):
    WellnessEntry.objects.bulk_create(
        WellnessEntry(patient=patient, date=month_start + dt.timedelta(days=i), mood=5, stress=s)
        for i, s in enumerate(stresses))


def test_ranking_orders_by_this_months_average_with_the_change(carol, care):
    doctor = carol.doctor_profile
    june, may = dt.date(2025, 6, 1), dt.date(2025, 5, 1)
    calm, tense, new, silent = (PatientFactory(name=n) for n in ("Calm", "Tense", "New", "Silent"))
    for p in (calm, tense, new, silent):
        CareTeamMember.objects.create(doctor=doctor, patient=p)
    month_of_entries(calm, june, [2, 3, 4])
    month_of_entries(calm, may, [5, 5])
    month_of_entries(tense, june, [8, 9])
    month_of_entries(tense, may, [6, 6, 6])
    month_of_entries(new, june, [5])
    month_of_entries(care, may, [9])  # Alice: nothing this month
    month_of_entries(PatientFactory(), june, [10])  # not Carol's patient
    rows = risk.stress_ranking(fetched_by=carol, doctor=doctor, month=june)
    assert [r.name for r in rows] == ["Tense", "New", "Calm", "Alice Patient", "Silent"]
    by_name = {r.name: r for r in rows}
    assert by_name["Tense"].avg_stress == pytest.approx(8.5) and by_name["Tense"].change == pytest.approx(2.5)
    assert by_name["Calm"].change == pytest.approx(-2.0) and by_name["Calm"].entries == 3
    assert by_name["New"].change is None
    assert by_name["Alice Patient"].avg_stress is None and by_name["Alice Patient"].prev_avg_stress == 9


def test_ranking_is_one_query(carol, care, django_assert_num_queries):
    for _i in range(20):
        p = PatientFactory()
        CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=p)
        month_of_entries(p, dt.date(2025, 6, 1), [4, 5, 6])
    with django_assert_num_queries(2):  # the access check (approved doctor?) + the ranking itself
        rows = risk.stress_ranking(fetched_by=carol, doctor=carol.doctor_profile, month=dt.date(2025, 6, 1))
    assert len(rows) == 21


def test_ranking_is_for_the_doctor_themself_or_admins(carol, dave, ada, alice):
    assert risk.stress_ranking(fetched_by=ada, doctor=carol.doctor_profile, month=dt.date(2025, 6, 1)) == []
    for user in (dave, alice):
        with pytest.raises(NotFound):
            risk.stress_ranking(fetched_by=user, doctor=carol.doctor_profile, month=dt.date(2025, 6, 1))


def test_high_risk_ids_are_open_flags_only(carol, care):
    suggested(care)
    assert risk.high_risk_patient_ids(doctor=carol.doctor_profile) == set()
    risk.risk_flag_raise(actor=carol, patient=care, reason="x", follow_up="call")
    assert risk.high_risk_patient_ids(doctor=carol.doctor_profile) == {care.pk}
    assert FollowUpTask.objects.count() == 1
