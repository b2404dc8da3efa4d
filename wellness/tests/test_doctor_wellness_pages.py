"""Pages: the charts page (patient side), the doctor's patient page (wellness, flags, snapshots), the
risk list, the POST-only flag controls; access matrix, audit, badges and query counts."""

import datetime as dt

import pytest
from django.test import Client

from analytics.models import AuditEvent
from clinic.models import CareTeamMember
from conftest import login_verified
from tests.factories import PatientFactory
from wellness import risk
from wellness.models import EmotionSnapshot, FollowUpTask, RiskFlag, WellnessEntry
from wellness.tests.risk_support import add_days, care, riverside, today_utc, use_risk_routes  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _routes(settings):
    use_risk_routes(settings)


@pytest.fixture
def people(care, alice, grace, bob, carol, dave, hana, ada):
    return {"alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana, "ada": ada}


def as_user(user):
    client = Client()
    return login_verified(client, user) if user else client


def get(user, url):
    return as_user(user).get(url)


# --- the charts page ---------------------------------------------------------------------------------

CHARTS_OF_ALICE = {"alice": 200, "grace": 200, "bob": 404, "carol": 200, "dave": 404, "hana": 404, "ada": 200}


@pytest.mark.parametrize("who, status", CHARTS_OF_ALICE.items())
def test_charts_page_access_matrix(people, care, who, status):
    add_days(care, [(5, 5)] * 3)
    response = get(people[who], f"/wellness/charts/?patient={care.pk}&period=weekly")
    assert response.status_code == status
    if status == 200:
        assert response.content.decode().count("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart ") == 5
    audited = AuditEvent.objects.filter(action="wellness.viewed", actor=people[who], target_id=str(care.pk)).exists()
    assert audited == (who in ("carol", "ada"))


def test_charts_page_requires_login(care):
    response = Client().get(f"/wellness/charts/?patient={care.pk}")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_charts_page_defaults_to_the_own_record(alice):
    response = get(alice, "/wellness/charts/")
    assert response.status_code == 200
    assert "Wellness of Alice Patient" in response.content.decode()


def test_charts_page_lets_family_switch_patients(grace, care):
    html = get(grace, f"/wellness/charts/?patient={care.pk}").content.decode()
    assert "Alice Patient" in html and "Grace Family" in html


def test_patients_and_family_reach_the_charts_from_dashboard_and_tracker(alice, grace, care):
    """Nothing linked to the charts: the dashboard, every tracker page and the charts page's own
    tabs do now — for the patient's own record and for a family member acting for them."""
    own, for_alice = "/wellness/charts/\"", f"/wellness/charts/?patient={care.pk}\""
    assert own in get(alice, "/dashboard/").content.decode() or for_alice in get(alice, "/dashboard/").content.decode()
    for url in ("/wellness/", "/wellness/plan/", "/wellness/habits/"):
        assert own in get(alice, url).content.decode(), url
        assert for_alice in get(grace, f"{url}?patient={care.pk}").content.decode(), url
    assert f"/wellness/charts/?patient={care.pk}" in get(grace, "/dashboard/").content.decode()
    charts_page = get(grace, f"/wellness/charts/?patient={care.pk}").content.decode()
    assert f"/wellness/?patient={care.pk}" in charts_page  # back to the tracker


def test_a_doctor_on_the_charts_page_gets_no_tracker_tabs(carol, care):
    html = get(carol, f"/wellness/charts/?patient={care.pk}").content.decode()
    assert "wellness-tabs" not in html


@pytest.mark.parametrize("query", ["patient=not-a-uuid", "patient=00000000-0000-0000-0000-000000000000"])
def test_charts_page_bad_patient_is_404(alice, query):
    assert get(alice, f"/wellness/charts/?{query}").status_code == 404


@pytest.mark.parametrize("period", ["daily", "weekly", "monthly", "nonsense"])
def test_charts_page_periods(alice, care, period):
    add_days(care, [(5, 5)] * 40)
    response = get(alice, f"/wellness/charts/?period={period}&days=14")
    assert response.status_code == 200


# --- doctor's patient page -----------------------------------------------------------------------------

DOCTOR_PAGES_OF_ALICE = {"alice": 404, "grace": 404, "bob": 404, "carol": 200, "dave": 404, "hana": 404, "ada": 404}


@pytest.mark.parametrize("who, status", DOCTOR_PAGES_OF_ALICE.items())
def test_patient_page_access_matrix(people, care, who, status):
    assert get(people[who], f"/doctor/patients/{care.pk}/").status_code == status


def test_patient_page_shows_wellness_snapshots_and_flags(carol, care):
    add_days(care, [(7, 3), (2, 8)], notes="Rough night")
    EmotionSnapshot.objects.create(patient=care, status="done", face_detected=True, dominant_emotion="sad",
                                   confidence=0.72)
    risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless on the call", follow_up="call")
    html = get(carol, f"/doctor/patients/{care.pk}/?period=monthly").content.decode()
    assert "High risk" in html and "Hopeless on the call" in html
    assert "Check-ins, last 30 days" in html and "Rough night" in html
    assert "Sad" in html and "72% confidence" in html
    assert html.count("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart ") == 5 and "monthly averages" in html
    assert "Clear this flag" in html
    assert AuditEvent.objects.filter(action="wellness.viewed", actor=carol, target_id=str(care.pk)).exists()


def test_suggested_flags_are_labelled_and_offer_confirm_or_dismiss(carol, care):
    RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="Low mood x3")
    html = get(carol, f"/doctor/patients/{care.pk}/").content.decode()
    assert "Suggested by rule — confirm or dismiss" in html
    assert "Confirm high risk" in html and "Dismiss" in html


# --- flag controls -----------------------------------------------------------------------------------------

def test_raise_from_the_patient_page(carol, care):
    response = as_user(carol).post(f"/doctor/patients/{care.pk}/risk/flag/",
                                   {"reason": "Said she feels hopeless", "follow_up": "emergency_consult"})
    assert response.status_code == 302 and response["Location"].endswith("#risk")
    flag = RiskFlag.objects.get(patient=care)
    assert flag.status == "open" and flag.tasks.get().action == "emergency_consult"


def test_raise_with_errors_shows_the_form_again(carol, care):
    response = as_user(carol).post(f"/doctor/patients/{care.pk}/risk/flag/", {"reason": "", "follow_up": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "<details class=\"action\" open>" in html
    assert not RiskFlag.objects.exists()


def test_confirm_dismiss_clear_and_done_through_pages(carol, care):
    client = as_user(carol)
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    response = client.post(f"/doctor/risk/flags/{flag.pk}/confirm/", {"follow_up": "send_resources",
                                                                       "next": "/doctor/risk/"})
    assert response.status_code == 302 and response["Location"] == "/doctor/risk/"
    flag.refresh_from_db()
    assert flag.status == "open"
    task = FollowUpTask.objects.get(flag=flag)
    assert client.post(f"/doctor/risk/follow-ups/{task.pk}/done/").status_code == 302
    assert FollowUpTask.objects.get(pk=task.pk).done_at is not None
    client.post(f"/doctor/risk/flags/{flag.pk}/clear/", {"note": "Better"})
    flag.refresh_from_db()
    assert flag.status == "cleared"
    assert [e.kind for e in flag.events.order_by("created_at")] == ["confirmed", "follow_up_done", "cleared"]
    other = RiskFlag.objects.create(patient=care, source="rule", rule="stress_rising", status="suggested", reason="y")
    client.post(f"/doctor/risk/flags/{other.pk}/dismiss/")
    assert RiskFlag.objects.get(pk=other.pk).status == "dismissed"


def test_confirm_without_follow_up_is_refused(carol, care):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    response = as_user(carol).post(f"/doctor/risk/flags/{flag.pk}/confirm/", {}, follow=True)
    assert "This field is required" in response.content.decode()
    assert RiskFlag.objects.get(pk=flag.pk).status == "suggested"


def test_next_cannot_leave_the_site(carol, care):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    response = as_user(carol).post(f"/doctor/risk/flags/{flag.pk}/dismiss/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/doctor/patients/{care.pk}/#risk"


@pytest.mark.parametrize("who", ["alice", "grace", "bob", "dave", "hana", "ada"])
def test_flag_controls_are_404_for_everyone_but_the_care_team(people, care, who):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    client = as_user(people[who])
    assert client.post(f"/doctor/patients/{care.pk}/risk/flag/", {"reason": "x", "follow_up": "call"}).status_code == 404
    for action in ("confirm", "dismiss", "clear"):
        assert client.post(f"/doctor/risk/flags/{flag.pk}/{action}/", {"follow_up": "call"}).status_code == 404
    assert RiskFlag.objects.get(pk=flag.pk).status == "suggested"


def test_flag_controls_reject_get(carol, care):
    flag = RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="x")
    client = as_user(carol)
    assert client.get(f"/doctor/patients/{care.pk}/risk/flag/").status_code == 405
    for action in ("confirm", "dismiss", "clear"):
        assert client.get(f"/doctor/risk/flags/{flag.pk}/{action}/").status_code == 405


def test_follow_up_done_of_another_doctor_is_404(carol, dave, care):
    flag = risk.risk_flag_raise(actor=carol, patient=care, reason="x", follow_up="call")
    task = flag.tasks.get()
    assert as_user(dave).post(f"/doctor/risk/follow-ups/{task.pk}/done/").status_code == 404


# --- risk list, badges, dashboard -----------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", {**DOCTOR_PAGES_OF_ALICE, "dave": 200}.items())
def test_risk_page_access(people, care, who, status):
    RiskFlag.objects.create(patient=care, source="rule", rule="low_mood", status="suggested", reason="Alice low")
    add_days(care, [(5, 8)] * 3)
    response = get(people[who], "/doctor/risk/")
    assert response.status_code == status
    if status == 200:
        assert AuditEvent.objects.filter(action="risk.viewed", actor=people[who]).exists()
        # Dave is a doctor too, but not Alice's: his list has nothing of hers.
        assert ("Alice low" in response.content.decode()) == (who == "carol")
        assert ("Alice Patient" in response.content.decode()) == (who == "carol")


def test_risk_page_lists_flags_tasks_and_ranking(carol, care):
    add_days(care, [(5, 8)] * 3)
    RiskFlag.objects.create(patient=care, source="rule", rule="stress_rising", status="suggested", reason="Up")
    risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless", follow_up="call")
    html = get(carol, "/doctor/risk/").content.decode()
    assert "Suggestions to review" in html and "Up" in html and "Hopeless" in html
    assert "Call the patient" in html and "due" in html
    assert "Stress ranking" in html and "8.0" in html
    month = today_utc().replace(day=1)
    prev = (month - dt.timedelta(days=1)).replace(day=1)
    assert get(carol, f"/doctor/risk/?month={prev:%Y-%m}").status_code == 200


def test_high_risk_badge_on_the_patient_list(carol, care):
    risk.risk_flag_raise(actor=carol, patient=care, reason="x", follow_up="call")
    html = get(carol, "/doctor/patients/").content.decode()
    assert 'badge badge-risk">High risk' in html


def test_dashboard_cards(carol, care):
    add_days(care, [(5, 7)] * 2)
    risk.risk_flag_raise(actor=carol, patient=care, reason="Hopeless on the call", follow_up="emergency_consult")
    html = get(carol, "/dashboard/").content.decode()
    assert "Risk flags" in html and "Hopeless on the call" in html
    assert "Follow-ups due" in html and "due today" in html
    assert "Stress this month" in html and "7.0" in html


def test_dashboard_queries_do_not_grow_with_patients(carol, care, django_assert_max_num_queries):
    """30 patients × 60 days of check-ins, flags and follow-ups: a constant number of queries."""
    doctor = carol.doctor_profile
    patients = PatientFactory.create_batch(30)
    CareTeamMember.objects.bulk_create(CareTeamMember(doctor=doctor, patient=p) for p in patients)
    end = today_utc()
    WellnessEntry.objects.bulk_create(
        WellnessEntry(patient=p, date=end - dt.timedelta(days=d), mood=1 + (i + d) % 10, stress=1 + (i * d) % 10)
        for i, p in enumerate(patients) for d in range(60))
    for p in patients[:5]:
        risk.risk_flag_raise(actor=carol, patient=p, reason="x", follow_up="call")
    for p in patients[5:10]:
        RiskFlag.objects.create(patient=p, source="rule", rule="low_mood", status="suggested", reason="y")
    client = as_user(carol)
    client.get("/dashboard/")  # warm caches (session, sites, content types)
    with django_assert_max_num_queries(30) as captured:
        response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.content.decode().count("badge-risk") >= 5
    baseline = len(captured)
    more = PatientFactory.create_batch(10)
    CareTeamMember.objects.bulk_create(CareTeamMember(doctor=doctor, patient=p) for p in more)
    for p in more:
        risk.risk_flag_raise(actor=carol, patient=p, reason="x", follow_up="call")
    with django_assert_max_num_queries(baseline):
        client.get("/dashboard/")


def test_patient_page_queries_are_bounded(carol, care, django_assert_max_num_queries):
    add_days(care, [(5, 5)] * 60)
    for rule in ("low_mood", "stress_rising", "silence_after_flag"):
        RiskFlag.objects.create(patient=care, source="rule", rule=rule, status="suggested", reason=rule)
    client = as_user(carol)
    client.get(f"/doctor/patients/{care.pk}/")
    with django_assert_max_num_queries(35):
        assert client.get(f"/doctor/patients/{care.pk}/?period=monthly").status_code == 200


def test_a_doctor_opening_a_relatives_record_gets_no_triage(carol, bob):
    from clinic.models import UserPatientRelation

    UserPatientRelation.objects.create(user=carol, patient=bob.patient_record, relation="spouse")
    response = get(carol, f"/doctor/patients/{bob.patient_record.pk}/")
    assert response.status_code == 200
    assert 'id="risk"' not in response.content.decode()
    flag_post = as_user(carol).post(f"/doctor/patients/{bob.patient_record.pk}/risk/flag/",
                                    {"reason": "x", "follow_up": "call"})
    assert flag_post.status_code == 404
