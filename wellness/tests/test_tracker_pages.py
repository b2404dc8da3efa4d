"""Patient-side wellness pages: check-in, habits, plan & review, the dashboard's quick entry."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import AuditEvent
from clinic.tests.conftest import care, riverside  # noqa: F401 - fixtures
from conftest import login_verified
from wellness import selectors
from wellness.models import DailyReview, Habit, HabitLog, TodoTask, WellnessEntry, WellnessSettings

pytestmark = pytest.mark.django_db

PAGES = ["/wellness/", "/wellness/habits/", "/wellness/plan/"]


@pytest.fixture(autouse=True)
def _wellness_urls(settings):
    settings.ROOT_URLCONF = "wellness.tests.test_tracker_urls"


def today_of(patient):
    return selectors.patient_today(patient)


@pytest.fixture
def people(care, alice, grace, bob, carol, dave, hana, ada):
    return {"alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana, "ada": ada}


def sign_in(client, user):
    return login_verified(client, user) if (user.is_doctor or user.is_admin) else client.force_login(user) or client


class TestAccess:
    @pytest.mark.parametrize("page", PAGES)
    def test_it_requires_login(self, client, page):
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response["Location"]

    @pytest.mark.parametrize("page", PAGES)
    @pytest.mark.parametrize("role, status", [("alice", 200), ("grace", 200), ("bob", 404), ("carol", 404),
                                              ("dave", 404), ("hana", 404), ("ada", 404)])
    def test_alices_tracker_is_for_alice_and_her_family_only(self, client, people, page, role, status):
        """Care-team doctors and admins read wellness data on their own pages and the API, not here;
        hospital staff never see it."""
        sign_in(client, people[role])
        response = client.get(f"{page}?patient={people['alice'].patient_record.pk}")
        assert response.status_code == status

    @pytest.mark.parametrize("role", ["carol", "hana", "ada"])
    def test_users_who_keep_no_tracker_get_404(self, client, people, role):
        sign_in(client, people[role])
        assert client.get("/wellness/").status_code == 404

    @pytest.mark.parametrize("url, data", [
        ("/wellness/day/{today}/", {"today-mood": 5, "today-stress": 5}),
        ("/wellness/quick/", {"qe-mood": 5, "qe-stress": 5}),
        ("/wellness/habits/", {"name": "Walk", "kind": "yes_no"}),
        ("/wellness/plan/tasks/", {"title": "Walk"}),
        ("/wellness/plan/review/", {"reflection": "ok"}),
        ("/wellness/plan/carry-over/", {}),
        ("/wellness/settings/", {"evening_reminder": "on", "reminder_time": "21:00"}),
    ])
    @pytest.mark.parametrize("role", ["bob", "carol", "hana", "ada"])
    def test_strangers_and_readers_cannot_post(self, client, people, url, data, role):
        patient = people["alice"].patient_record
        sign_in(client, people[role])
        response = client.post(url.format(today=today_of(patient)), {**data, "patient": patient.pk})
        assert response.status_code == 404
        assert not WellnessEntry.objects.exists() and not Habit.objects.exists() and not TodoTask.objects.exists()
        assert not DailyReview.objects.exists() and not WellnessSettings.objects.exists()

    def test_archive_and_toggle_check_ownership(self, client, people):
        bobs = people["bob"].patient_record
        habit = Habit.objects.create(patient=bobs, name="Bob's walk")
        task = TodoTask.objects.create(patient=bobs, date=today_of(bobs), title="Bob's task")
        client.force_login(people["alice"])
        assert client.post(f"/wellness/habits/{habit.pk}/archive/").status_code == 404
        assert client.post(f"/wellness/plan/tasks/{task.pk}/toggle/", {"done": "1"}).status_code == 404
        assert client.post(f"/wellness/habits/{habit.pk}/archive/", {"patient": bobs.pk}).status_code == 404
        habit.refresh_from_db(), task.refresh_from_db()
        assert habit.archived_at is None and task.done_at is None

    def test_it_rejects_get_on_actions(self, client, alice):
        client.force_login(alice)
        for url in ("/wellness/quick/", "/wellness/plan/carry-over/", "/wellness/settings/"):
            assert client.get(url).status_code == 405

    def test_family_page_views_are_audited(self, client, alice, grace):
        client.force_login(alice)
        client.get("/wellness/")
        assert not AuditEvent.objects.filter(action="wellness.viewed").exists()
        client.force_login(grace)
        client.get(f"/wellness/?patient={alice.patient_record.pk}")
        event = AuditEvent.objects.get(action="wellness.viewed")
        assert (event.actor, event.target_id, event.data["view"]) == (grace, str(alice.patient_record.pk), "page:today")


class TestCheckIn:
    def test_the_page_offers_tap_targets_steppers_and_habits(self, client, alice):
        Habit.objects.create(patient=alice.patient_record, name="Meds")
        Habit.objects.create(patient=alice.patient_record, name="Walk", kind="number", unit="min", target=30)
        client.force_login(alice)
        html = client.get("/wellness/").content.decode()
        assert html.count('type="radio" name="today-mood"') == 10
        assert html.count('type="radio" name="today-stress"') == 10
        assert "<legend>Mood</legend>" in html and 'name="today-sleep_hours"' in html
        assert 'name="today-meditation_minutes"' in html and "Meds" in html and "Walk (min)" in html
        assert "Last 14 days" in html

    def test_it_saves_today_with_habits(self, client, alice):
        patient = alice.patient_record
        walk = Habit.objects.create(patient=patient, name="Walk", kind="number", unit="min", target=30)
        meds = Habit.objects.create(patient=patient, name="Meds")
        client.force_login(alice)
        response = client.post(f"/wellness/day/{today_of(patient)}/", {
            "today-mood": 7, "today-stress": 3, "today-sleep_hours": "7.5", "today-meditation_minutes": 10,
            f"today-habit_{walk.pk}": "35", f"today-habit_{meds.pk}": "on", "today-notes": "Nice day"})
        assert response.status_code == 302
        entry = WellnessEntry.objects.get()
        assert (entry.mood, entry.stress, entry.notes) == (7, 3, "Nice day")
        assert set(HabitLog.objects.values_list("habit__name", "done")) == {("Walk", True), ("Meds", True)}

    def test_yesterday_is_editable_from_the_page(self, client, alice):
        patient = alice.patient_record
        client.force_login(alice)
        yesterday = today_of(patient) - dt.timedelta(days=1)
        response = client.post(f"/wellness/day/{yesterday}/", {"yesterday-mood": 4, "yesterday-stress": 6})
        assert response.status_code == 302 and WellnessEntry.objects.get().date == yesterday

    def test_invalid_values_are_shown_on_their_fields_and_nothing_is_saved(self, client, alice):
        patient = alice.patient_record
        client.force_login(alice)
        response = client.post(f"/wellness/day/{today_of(patient)}/", {"today-mood": 11, "today-stress": 3,
                                                                       "today-sleep_hours": 25})
        html = response.content.decode()
        assert response.status_code == 422
        assert "Sleep must be between 0 and 24 hours." in html and 'aria-invalid="true"' in html
        assert not WellnessEntry.objects.exists()

    def test_a_locked_day_is_refused_with_a_clear_error(self, client, alice):
        patient = alice.patient_record
        client.force_login(alice)
        day = today_of(patient) - dt.timedelta(days=2)
        response = client.post(f"/wellness/day/{day}/", {"yesterday-mood": 5, "yesterday-stress": 5})
        assert response.status_code == 422 and "is locked" in response.content.decode()
        assert not WellnessEntry.objects.exists()

    def test_family_logs_for_alice(self, client, alice, grace):
        patient = alice.patient_record
        client.force_login(grace)
        response = client.post(f"/wellness/day/{today_of(patient)}/?patient={patient.pk}",
                                {"today-mood": 5, "today-stress": 5})
        assert response.status_code == 302 and response["Location"] == f"/wellness/?patient={patient.pk}"
        assert WellnessEntry.objects.get().recorded_by == grace

    def test_the_switcher_lists_everyone_the_user_cares_for(self, client, alice, grace):
        client.force_login(grace)
        html = client.get("/wellness/").content.decode()
        assert 'id="patient-switch"' in html and "Alice Patient" in html and "Grace Family (you)" in html

    def test_reminder_setting(self, client, alice):
        client.force_login(alice)
        client.post("/wellness/settings/", {"reminder_time": "21:30"})
        prefs = WellnessSettings.objects.get(patient=alice.patient_record)
        assert (prefs.evening_reminder, prefs.reminder_time) == (False, dt.time(21, 30))

    def test_queries_do_not_grow_with_history(self, client, alice):
        patient = alice.patient_record
        habits = [Habit.objects.create(patient=patient, name=f"Habit {i}") for i in range(3)]
        client.force_login(alice)
        client.get("/wellness/")  # warm up the session and caches

        def count():
            with CaptureQueriesContext(connection) as ctx:
                assert client.get("/wellness/").status_code == 200
            return len(ctx)

        few = count()
        today = today_of(patient)
        days = [today - dt.timedelta(days=i) for i in range(30)]
        WellnessEntry.objects.bulk_create(WellnessEntry(patient=patient, date=d, mood=5, stress=5) for d in days)
        HabitLog.objects.bulk_create(HabitLog(habit=h, date=d, done=True) for h in habits for d in days)
        DailyReview.objects.bulk_create(DailyReview(patient=patient, date=d) for d in days)
        many = count()
        assert many == few and many <= 16


class TestQuickEntry:
    def test_the_dashboard_shows_the_card(self, client, alice):
        client.force_login(alice)
        html = client.get("/dashboard/").content.decode()
        assert 'id="quick-entry"' in html and html.count('name="qe-mood"') == 10

    def test_htmx_swaps_in_the_logged_state(self, client, alice):
        client.force_login(alice)
        response = client.post("/wellness/quick/", {"qe-mood": 8, "qe-stress": 2}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 200 and "Logged" in html and "<html" not in html
        assert WellnessEntry.objects.get().mood == 8
        assert "Logged" in client.get("/dashboard/").content.decode()

    def test_without_js_it_redirects_to_the_dashboard(self, client, alice):
        client.force_login(alice)
        response = client.post("/wellness/quick/", {"qe-mood": 8, "qe-stress": 2, "qe-sleep_hours": "6.5"})
        assert response.status_code == 302 and response["Location"] == "/dashboard/"
        assert str(WellnessEntry.objects.get().sleep_hours) == "6.5"

    def test_a_quick_entry_keeps_what_was_logged_before(self, client, alice):
        patient = alice.patient_record
        WellnessEntry.objects.create(patient=patient, date=today_of(patient), mood=3, stress=3, notes="Long day")
        client.force_login(alice)
        client.post("/wellness/quick/", {"qe-mood": 6, "qe-stress": 4})
        entry = WellnessEntry.objects.get()
        assert (entry.mood, entry.notes) == (6, "Long day")

    def test_missing_choices_are_explained(self, client, alice):
        client.force_login(alice)
        response = client.post("/wellness/quick/", {"qe-mood": 8}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "Choose a number from 1 to 10." in response.content.decode()
        no_js = client.post("/wellness/quick/", {"qe-mood": 8})
        assert no_js.status_code == 422 and "<html" in no_js.content.decode()
        assert not WellnessEntry.objects.exists()

    def test_no_card_for_doctors(self, client, carol):
        login_verified(client, carol)
        assert 'id="quick-entry"' not in client.get("/dashboard/").content.decode()


class TestHabitsAndPlanPages:
    def test_add_and_archive_a_habit(self, client, alice):
        client.force_login(alice)
        response = client.post("/wellness/habits/", {"name": "Walk", "kind": "number", "unit": "min", "target": "30"})
        assert response.status_code == 302
        habit = Habit.objects.get()
        client.post(f"/wellness/habits/{habit.pk}/archive/")
        habit.refresh_from_db()
        assert habit.archived_at is not None

    def test_a_duplicate_name_is_shown_on_the_field(self, client, alice):
        Habit.objects.create(patient=alice.patient_record, name="Walk")
        client.force_login(alice)
        response = client.post("/wellness/habits/", {"name": "walk", "kind": "yes_no"})
        assert response.status_code == 422 and "There is already a habit called" in response.content.decode()

    def test_doctor_suggestions_are_marked(self, client, alice, carol):
        Habit.objects.create(patient=alice.patient_record, name="Breathing", suggested_by=carol.doctor_profile)
        client.force_login(alice)
        assert "Suggested by Dr. Carol Doctor" in client.get("/wellness/habits/").content.decode()

    def test_plan_tick_carry_over_and_review(self, client, alice):
        patient = alice.patient_record
        today = today_of(patient)
        TodoTask.objects.create(patient=patient, date=today - dt.timedelta(days=1), title="Pay bills")
        client.force_login(alice)
        assert "1 unfinished task from earlier days." in client.get("/wellness/plan/").content.decode()
        client.post("/wellness/plan/carry-over/")
        client.post("/wellness/plan/carry-over/")
        assert TodoTask.objects.filter(date=today).count() == 1
        client.post("/wellness/plan/tasks/", {"title": "Walk", "time": "08:00"})
        walk = next(t for t in TodoTask.objects.all() if t.title == "Walk")  # titles are encrypted at rest
        swapped = client.post(f"/wellness/plan/tasks/{walk.pk}/toggle/", {"done": "1"}, HTTP_HX_REQUEST="true")
        assert swapped.status_code == 200 and 'aria-checked="true"' in swapped.content.decode()
        client.post("/wellness/plan/review/", {"reflection": "Walked in the sun."})
        assert DailyReview.objects.get(date=today).reflection == "Walked in the sun."

    def test_plan_for_tomorrow(self, client, alice):
        tomorrow = today_of(alice.patient_record) + dt.timedelta(days=1)
        client.force_login(alice)
        response = client.post("/wellness/plan/tasks/", {"title": "Dentist", "date": tomorrow.isoformat()})
        assert response.status_code == 302 and response["Location"] == f"/wellness/plan/?date={tomorrow}"
        assert TodoTask.objects.get().date == tomorrow
