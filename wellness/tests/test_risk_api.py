"""API access matrix and behaviour: stress ranking, risk flags, follow-ups."""

import datetime as dt

import pytest

from analytics.models import AuditEvent
from wellness import risk
from wellness.models import RiskFlag
from wellness.tests.risk_support import add_days, api, care, riverside, today_utc  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(care, alice, grace, bob, carol, dave, hana, ada):
    return {"anon": None, "alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana,
            "ada": ada}


RANKING_OF_CAROL = {"anon": 401, "alice": 404, "grace": 404, "bob": 404, "carol": 200, "dave": 404, "hana": 404,
                    "ada": 200}
FLAGS_OF_ALICE_READ = {"anon": 401, "alice": 404, "grace": 404, "bob": 404, "carol": 200, "dave": 404, "hana": 404,
                       "ada": 200}
FLAGS_OF_ALICE_WRITE = {"anon": 401, "alice": 404, "grace": 404, "bob": 404, "carol": 201, "dave": 404, "hana": 404,
                        "ada": 403}


@pytest.mark.parametrize("who, status", RANKING_OF_CAROL.items())
def test_ranking_access(client, people, carol, who, status):
    response = api(client, people[who], "get", f"/doctors/{carol.doctor_profile.pk}/stress-ranking")
    assert response.status_code == status
    if status == 200:
        assert AuditEvent.objects.filter(action="risk.viewed", actor=people[who]).exists()


def test_ranking_of_an_unknown_doctor_is_404(client, ada):
    assert api(client, ada, "get", "/doctors/00000000-0000-0000-0000-000000000000/stress-ranking").status_code == 404


def test_ranking_body_and_month(client, carol, care):
    add_days(care, [(5, 6), (5, 8)])
    month = today_utc().strftime("%Y-%m")
    body = api(client, carol, "get", f"/doctors/{carol.doctor_profile.pk}/stress-ranking?month={month}").json()
    assert body["month"] == month
    [row] = [r for r in body["patients"] if r["patient_id"] == str(care.pk)]
    if today_utc().day >= 2:
        assert row["avg_stress"] == 7.0 and row["entries"] == 2
    assert row["high_risk"] is False
    bad = api(client, carol, "get", f"/doctors/{carol.doctor_profile.pk}/stress-ranking?month=2025-13")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "month"


@pytest.mark.parametrize("who, status", FLAGS_OF_ALICE_READ.items())
def test_flags_read_access(client, people, care, who, status):
    RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="Low x3")
    response = api(client, people[who], "get", f"/patients/{care.pk}/risk-flags")
    assert response.status_code == status
    if status == 200:
        [flag] = response.json()
        assert flag["label"] == "Suggested by rule — confirm or dismiss" and flag["status"] == "suggested"
        assert AuditEvent.objects.filter(action="risk.viewed", actor=people[who], target_id=str(care.pk)).exists()


@pytest.mark.parametrize("who, status", FLAGS_OF_ALICE_WRITE.items())
def test_flags_create_access(client, people, care, who, status):
    response = api(client, people[who], "post", f"/patients/{care.pk}/risk-flags",
                   {"reason": "Hopeless", "follow_up": "call"})
    assert response.status_code == status
    assert RiskFlag.objects.filter(patient=care).exists() == (status == 201)
    if status == 201:
        body = response.json()
        assert body["status"] == "open" and body["events"][0]["kind"] == "raised"
        assert body["tasks"][0]["action"] == "call"
        assert body["tasks"][0]["due_on"] == (dt.date.fromisoformat(body["created_at"][:10])
                                              + dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize("who, status", {**FLAGS_OF_ALICE_WRITE, "carol": 200}.items())
def test_flag_update_access(client, people, care, who, status):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    response = api(client, people[who], "put", f"/risk-flags/{flag.pk}", {"action": "dismiss", "note": "Known"})
    assert response.status_code == status
    assert RiskFlag.objects.get(pk=flag.pk).status == ("dismissed" if status == 200 else "suggested")


def test_confirm_then_clear_through_the_api(client, carol, care):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    missing = api(client, carol, "put", f"/risk-flags/{flag.pk}", {"action": "confirm"})
    assert missing.status_code == 422
    body = api(client, carol, "put", f"/risk-flags/{flag.pk}", {"action": "confirm", "follow_up": "send_resources"}).json()
    assert body["status"] == "open" and body["doctor_id"] == str(carol.doctor_profile.pk)
    task_id = body["tasks"][0]["id"]
    done = api(client, carol, "post", f"/follow-ups/{task_id}/done")
    assert done.status_code == 200 and done.json()["done_at"]
    assert api(client, carol, "post", f"/follow-ups/{task_id}/done").status_code == 409
    again = api(client, carol, "put", f"/risk-flags/{flag.pk}", {"action": "dismiss"})
    assert again.status_code == 409
    cleared = api(client, carol, "put", f"/risk-flags/{flag.pk}", {"action": "clear", "note": "Better"}).json()
    assert [e["kind"] for e in cleared["events"]] == ["confirmed", "follow_up_done", "cleared"]


def test_a_second_doctor_flag_conflicts(client, carol, care):
    risk.risk_flag_raise(actor=carol, patient=care, reason="x", follow_up="call")
    response = api(client, carol, "post", f"/patients/{care.pk}/risk-flags", {"reason": "y", "follow_up": "call"})
    assert response.status_code == 409


def test_follow_up_done_of_a_stranger_is_404(client, carol, dave, ada, care):
    flag = risk.risk_flag_raise(actor=carol, patient=care, reason="x", follow_up="call")
    task = flag.tasks.get()
    assert api(client, dave, "post", f"/follow-ups/{task.pk}/done").status_code == 404
    assert api(client, ada, "post", f"/follow-ups/{task.pk}/done").status_code == 403
