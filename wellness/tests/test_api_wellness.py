"""/api/v1/patients/{id}/wellness, /habits, /tasks, /reviews: the access matrix, validation and
audit. 404 is "missing or not yours" (hospital staff included: wellness data is clinical), 403 "you
can read it but not change it" (care-team doctors and admins), 401 "no token"."""

import datetime as dt
import json
import uuid

import pytest

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic.tests.conftest import care, riverside  # noqa: F401 - fixtures
from wellness import selectors, services
from wellness.models import Habit, TodoTask, WellnessEntry

pytestmark = pytest.mark.django_db

ROLES = ["anon", "alice", "grace", "bob", "carol", "dave", "hana", "ada"]
READ = {"anon": 401, "alice": 200, "grace": 200, "bob": 404, "carol": 200, "dave": 404, "hana": 404, "ada": 200}


def write(ok):
    return {**READ, "alice": ok, "grace": ok, "carol": 403, "ada": 403}


def call(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


@pytest.fixture
def world(care, alice, grace, bob, carol, dave, hana, ada):
    patient = alice.patient_record
    return {"people": {"anon": None, "alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave,
                       "hana": hana, "ada": ada},
            "alice": alice, "patient": patient, "today": selectors.patient_today(patient)}


def _habit(w, role):
    return Habit.objects.create(patient=w["patient"], name=f"Habit for {role}")


def _task(w, role):
    return TodoTask.objects.create(patient=w["patient"], date=w["today"], title=f"Task for {role}")


# name: (method, path builder, body builder, expected statuses)
ROUTES = {
    "list entries": ("get", lambda w, r: "/wellness", None, READ),
    "create entry": ("post", lambda w, r: "/wellness", lambda w: {"date": str(w["today"]), "mood": 6, "stress": 3},
                     {**write(201), "grace": 201}),
    "put entry": ("put", lambda w, r: f"/wellness/{w['today']}", lambda w: {"mood": 5, "stress": 5}, write(200)),
    "streaks": ("get", lambda w, r: "/wellness/streaks", None, READ),
    "get settings": ("get", lambda w, r: "/wellness/settings", None, READ),
    "put settings": ("put", lambda w, r: "/wellness/settings", lambda w: {"evening_reminder": False}, write(200)),
    "list habits": ("get", lambda w, r: "/habits", None, READ),
    "create habit": ("post", lambda w, r: "/habits", lambda w: {"name": f"Walk {uuid.uuid4().hex[:6]}"},
                     {**write(201), "carol": 201}),  # Carol suggests
    "update habit": ("put", lambda w, r: f"/habits/{_habit(w, r).pk}", lambda w: {"name": "Renamed"}, write(200)),
    "archive habit": ("delete", lambda w, r: f"/habits/{_habit(w, r).pk}", None, write(204)),
    "list tasks": ("get", lambda w, r: "/tasks", None, READ),
    "add task": ("post", lambda w, r: "/tasks", lambda w: {"title": "Walk"}, write(201)),
    "tick task": ("put", lambda w, r: f"/tasks/{_task(w, r).pk}", lambda w: {"done": True}, write(200)),
    "carry over": ("post", lambda w, r: "/tasks/carry-over", lambda w: {}, write(200)),
    "get review": ("get", lambda w, r: f"/reviews/{w['today']}", None, READ),
    "put review": ("put", lambda w, r: f"/reviews/{w['today']}", lambda w: {"reflection": "ok"}, write(200)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_access_matrix(client, world, route, role):
    method, path, body, expected = ROUTES[route]
    url = f"/patients/{world['patient'].pk}{path(world, role)}"
    response = call(client, world["people"][role], method, url, body(world) if body else None)
    assert response.status_code == expected[role], (route, role, response.content)


@pytest.mark.parametrize("role", ROLES)
def test_unknown_patient_is_404_for_everyone_signed_in(client, world, role):
    response = call(client, world["people"][role], "get", f"/patients/{uuid.uuid4()}/wellness")
    assert response.status_code == (401 if role == "anon" else 404)


def test_a_habit_of_another_patient_is_404(client, world, bob):
    habit = Habit.objects.create(patient=bob.patient_record, name="Bob's")
    response = call(client, world["alice"], "delete", f"/patients/{world['patient'].pk}/habits/{habit.pk}")
    assert response.status_code == 404
    assert Habit.objects.get(pk=habit.pk).archived_at is None


class TestEntries:
    def url(self, world, suffix=""):
        return f"/patients/{world['patient'].pk}/wellness{suffix}"

    def test_post_creates_then_updates_the_same_day(self, client, world):
        alice = world["alice"]
        first = call(client, alice, "post", self.url(world), {"date": str(world["today"]), "mood": 6, "stress": 3,
                                                              "sleep_hours": 7.5})
        second = call(client, alice, "post", self.url(world), {"date": str(world["today"]), "mood": 8})
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json()["mood"] == 8 and second.json()["stress"] == 3 and second.json()["sleep_hours"] == 7.5
        assert WellnessEntry.objects.count() == 1

    @pytest.mark.parametrize("body, field", [({"mood": 0, "stress": 3}, "mood"), ({"mood": 11, "stress": 3}, "mood"),
                                             ({"mood": 5, "stress": 0}, "stress"),
                                             ({"mood": 5, "stress": 11}, "stress"),
                                             ({"mood": 5, "stress": 5, "sleep_hours": 25}, "sleep_hours")])
    def test_out_of_range_values_are_422_naming_the_field(self, client, world, body, field):
        response = call(client, world["alice"], "post", self.url(world), {"date": str(world["today"]), **body})
        assert response.status_code == 422
        assert [d["field"] for d in response.json()["detail"]] == [field]
        assert not WellnessEntry.objects.exists()

    def test_future_and_locked_days_are_422_on_date(self, client, world):
        alice, today = world["alice"], world["today"]
        future = call(client, alice, "post", self.url(world), {"date": str(today + dt.timedelta(days=1)), "mood": 5,
                                                               "stress": 5})
        locked = call(client, alice, "put", self.url(world, f"/{today - dt.timedelta(days=2)}"), {"mood": 5, "stress": 5})
        for response, word in ((future, "future"), (locked, "locked")):
            assert response.status_code == 422
            detail = response.json()["detail"][0]
            assert detail["field"] == "date" and word in detail["message"]
        assert not WellnessEntry.objects.exists()

    def test_put_yesterday_is_allowed(self, client, world):
        response = call(client, world["alice"], "put", self.url(world, f"/{world['today'] - dt.timedelta(days=1)}"),
                        {"mood": 4, "stress": 6})
        assert response.status_code == 200 and response.json()["editable"] is True

    def test_habit_values_are_saved_and_listed(self, client, world):
        alice, patient = world["alice"], world["patient"]
        meds = Habit.objects.create(patient=patient, name="Meds")
        walk = Habit.objects.create(patient=patient, name="Walk", kind="number", unit="min", target=30)
        call(client, alice, "post", self.url(world), {
            "date": str(world["today"]), "mood": 6, "stress": 3,
            "habits": [{"habit_id": str(meds.pk), "done": True}, {"habit_id": str(walk.pk), "value": 45}]})
        listed = call(client, alice, "get", self.url(world)).json()
        assert [(h["name"], h["done"], h["value"]) for h in listed[0]["habits"]] == [("Meds", True, None),
                                                                                    ("Walk", True, 45.0)]

    def test_the_range_is_checked(self, client, world):
        alice = world["alice"]
        backwards = call(client, alice, "get", self.url(world, "?from=2026-03-10&to=2026-03-01"))
        too_long = call(client, alice, "get", self.url(world, "?from=2024-01-01&to=2026-03-01"))
        assert backwards.status_code == too_long.status_code == 422
        assert backwards.json()["detail"][0]["field"] == "from"

    def test_the_range_filters(self, client, world):
        patient, today = world["patient"], world["today"]
        WellnessEntry.objects.bulk_create(WellnessEntry(patient=patient, date=today - dt.timedelta(days=i), mood=5,
                                                        stress=5) for i in range(40))
        response = call(client, world["alice"], "get", self.url(world, f"?from={today - dt.timedelta(days=9)}&to={today}"))
        assert len(response.json()) == 10
        assert len(call(client, world["alice"], "get", self.url(world)).json()) == 30  # the default


class TestAudit:
    def test_reads_by_doctor_admin_and_family_are_audited_not_the_patients_own(self, client, world, grace, carol, ada):
        url = f"/patients/{world['patient'].pk}/wellness"
        call(client, world["alice"], "get", url)
        assert not AuditEvent.objects.filter(action="wellness.viewed").exists()
        for reader in (carol, ada, grace):
            assert call(client, reader, "get", url).status_code == 200
        events = AuditEvent.objects.filter(action="wellness.viewed", target_id=str(world["patient"].pk))
        assert sorted(events.values_list("actor__email", flat=True)) == sorted([carol.email, ada.email, grace.email])
        assert set(events.values_list("data__view", flat=True)) == {"api:entries"}

    def test_refused_reads_are_not_logged_as_reads(self, client, world, hana):
        call(client, hana, "get", f"/patients/{world['patient'].pk}/wellness")
        assert not AuditEvent.objects.filter(action="wellness.viewed").exists()


class TestHabitsAndTasks:
    def test_a_doctors_habit_is_a_suggestion_the_patient_sees(self, client, world, carol):
        url = f"/patients/{world['patient'].pk}/habits"
        created = call(client, carol, "post", url, {"name": "Breathing", "kind": "number", "unit": "min", "target": 10})
        assert created.status_code == 201
        listed = call(client, world["alice"], "get", url).json()
        assert [(h["name"], h["suggested_by"]) for h in listed] == [("Breathing", "Carol Doctor")]

    def test_archived_habits_are_listed_on_request(self, client, world):
        alice = world["alice"]
        habit = Habit.objects.create(patient=world["patient"], name="Walk")
        url = f"/patients/{world['patient'].pk}/habits"
        assert call(client, alice, "delete", f"{url}/{habit.pk}").status_code == 204
        assert call(client, alice, "get", url).json() == []
        assert [h["name"] for h in call(client, alice, "get", f"{url}?archived=true").json()] == ["Walk"]

    def test_bad_habit_input_is_422(self, client, world):
        response = call(client, world["alice"], "post", f"/patients/{world['patient'].pk}/habits",
                        {"name": "Walk", "kind": "maybe"})
        assert response.status_code == 422 and response.json()["detail"][0]["field"] == "kind"

    def test_tasks_carry_over_once(self, client, world):
        alice, patient, today = world["alice"], world["patient"], world["today"]
        TodoTask.objects.create(patient=patient, date=today - dt.timedelta(days=1), title="Pay bills")
        url = f"/patients/{patient.pk}/tasks"
        first = call(client, alice, "post", f"{url}/carry-over", {})
        again = call(client, alice, "post", f"{url}/carry-over", {})
        assert [t["title"] for t in first.json()] == ["Pay bills"] and again.json() == []
        listed = call(client, alice, "get", url).json()
        assert [(t["title"], t["carried_from"] is not None) for t in listed] == [("Pay bills", True)]

    def test_tick_and_untick_a_task(self, client, world):
        task = services.task_add(actor=world["alice"], patient=world["patient"], date=world["today"], title="Walk")
        url = f"/patients/{world['patient'].pk}/tasks/{task.pk}"
        assert call(client, world["alice"], "put", url, {"done": True}).json()["done"] is True
        assert call(client, world["alice"], "put", url, {"done": False}).json()["done"] is False
        assert call(client, world["alice"], "put", url, {}).status_code == 422
