"""The main forms with the values that made pages answer 500: each gets a field error (or a 400
page for a query string no form reads), never a 500, and nothing is saved."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AvailabilityException, Patient
from conftest import login_verified
from wellness.models import Habit, TodoTask

NUL = "bad\x00value"
TODAY = dt.date.today().isoformat()

# (who, url name or path, POST data, model whose rows must not change)
FORMS = [
    ("alice", "family", {"name": NUL, "date_of_birth": "2015-01-01", "gender": "male", "relation": "child"}, Patient),
    ("alice", "family", {"name": "Kid", "date_of_birth": "0001-01-01", "gender": "male", "relation": "child"}, Patient),
    ("alice", "family", {"name": "Kid", "date_of_birth": "1850-06-01", "gender": "male", "relation": "child"}, Patient),
    ("alice", "family", {"name": "Kid", "date_of_birth": "9999-12-31", "gender": "male", "relation": "child"}, Patient),
    ("alice", "family", {"name": "Kid", "date_of_birth": "2015-01-01", "gender": "male", "relation": "child",
                         "emergency_contact": NUL}, Patient),
    ("alice", "wellness_habits", {"name": NUL, "kind": "yes_no"}, Habit),
    ("alice", "wellness_habits", {"name": "Run", "kind": "number", "target": "NaN"}, Habit),
    ("alice", "wellness_habits", {"name": "Run", "kind": "number", "target": "Infinity"}, Habit),
    ("alice", "wellness_habits", {"name": "Run", "kind": "number", "target": "1e400"}, Habit),
    ("alice", "wellness_task_add", {"title": NUL}, TodoTask),
    ("alice", "wellness_task_add", {"title": "Walk", "time": "09:00+05:00"}, TodoTask),
    ("alice", "wellness_task_add", {"title": "Walk", "time": NUL}, TodoTask),
    ("alice", "wellness_review_save", {"reflection": NUL}, None),
    ("alice", "wellness_quick_entry", {"qe-mood": "5", "qe-stress": "5", "qe-sleep_hours": "NaN"}, None),
    ("alice", "wellness_quick_entry", {"qe-mood": "99999999999999999999999", "qe-stress": "5"}, None),
    ("alice", f"/wellness/day/{TODAY}/", {"today-mood": "5", "today-stress": "5", "today-notes": NUL}, None),
    ("alice", f"/wellness/day/{TODAY}/", {"today-mood": "5", "today-stress": "5", "today-sleep_hours": "NaN"}, None),
    ("alice", "/wellness/day/9999-12-31/", {"today-mood": "5", "today-stress": "5"}, None),
    ("alice", "/wellness/day/0001-01-01/", {"today-mood": "5", "today-stress": "5"}, None),
    ("alice", "profile", {"name": NUL, "email": "alice@example.com", "phone": "+12025550111",
                          "preferred_language": "en", "timezone": "UTC"}, None),
    ("carol", "doctor_exception_add", {"kind": "leave", "start": "2030-01-01T09:00", "end": "9999-12-31T23:59"},
     AvailabilityException),
    ("carol", "doctor_exception_add", {"kind": "leave", "start": "0001-01-01T00:00", "end": "2030-01-01T09:00"},
     AvailabilityException),
    ("carol", "doctor_exception_add", {"kind": "leave", "start": "2030-01-01T09:00", "end": "2030-01-02T09:00",
                                       "reason": NUL}, AvailabilityException),
    ("carol", "doctor_exception_add", {"kind": NUL, "start": "2030-01-01T09:00", "end": "2030-01-02T09:00"},
     AvailabilityException),
    (None, "patient_signup", {"name": NUL, "date_of_birth": "1990-01-01", "gender": "female", "phone": "+12025550999",
                              "password1": "Correct-horse-42!", "password2": "Correct-horse-42!"}, Patient),
    (None, "patient_signup", {"name": "Zoe", "date_of_birth": "0001-01-01", "gender": "female",
                              "phone": "+12025550999", "password1": "Correct-horse-42!",
                              "password2": "Correct-horse-42!"}, Patient),
]


@pytest.mark.parametrize(("who", "target", "data", "model"), FORMS,
                         ids=[f"{f[1]}-{sorted(f[2].items())[0 if f[0] != 'carol' else -1]}" for f in FORMS])
def test_bad_form_input_gets_a_field_error(request, client, alice, carol, who, target, data, model):
    if who:
        login_verified(client, request.getfixturevalue(who))
    url = target if target.startswith("/") else reverse(target)
    before = model.objects.count() if model else None
    response = client.post(url, data)
    assert response.status_code in (200, 400, 404, 422), response.status_code
    if response.status_code in (200, 400):
        assert b'aria-invalid="true"' in response.content or b"errorlist" in response.content, response.content[:3000]
    if model:
        assert model.objects.count() == before


@pytest.mark.parametrize("value", ["20:00+05:00", NUL, "25:00"])
def test_the_reminder_setting_refuses_a_bad_time_with_a_message(client, alice, value):
    """This form is a card on the day page: the page comes back with the message."""
    from wellness import selectors

    login_verified(client, alice)
    before = selectors.wellness_settings_of(alice.patient_record).reminder_time
    response = client.post(reverse("wellness_settings"), {"evening_reminder": "on", "reminder_time": value},
                           follow=True)
    assert response.status_code == 200
    assert "Give the reminder time as hours and minutes." in response.content.decode()
    assert selectors.wellness_settings_of(alice.patient_record).reminder_time == before


@pytest.mark.parametrize("url", [
    "/wellness/?day=" + NUL, "/appointments/?q=" + NUL, "/doctors/?q=" + NUL, "/wellness/plan/?day=" + NUL,
    "/wellness/day/" + NUL.replace("\x00", "%00") + "/",
])
def test_nul_in_a_query_string_or_path_is_a_bad_request(client, alice, url):
    login_verified(client, alice)
    response = client.get(url)
    assert response.status_code in (400, 404, 405)


class TestLeaveFarAhead:
    def test_it_refuses_a_leave_ending_more_than_two_years_ahead(self, client, carol):
        login_verified(client, carol)
        end = (timezone.now() + dt.timedelta(days=800)).strftime("%Y-%m-%dT%H:%M")
        response = client.post(reverse("doctor_exception_add"), {"kind": "leave", "start": "2030-01-01T09:00",
                                                                 "end": end})
        assert response.status_code == 400 and b'aria-invalid="true"' in response.content
        assert not AvailabilityException.objects.exists()

    @pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
    def test_the_schedule_page_still_opens_with_a_leave_stored_until_year_9999(self, client, carol, zone):
        carol.timezone = zone
        carol.save(update_fields=["timezone"])
        end = dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)
        AvailabilityException.objects.create(doctor=carol.doctor_profile, kind="leave",
                                             start=timezone.now() - dt.timedelta(days=1), end=end)
        AvailabilityException.objects.create(doctor=carol.doctor_profile, kind="blocked",
                                             start=dt.datetime(1, 1, 1, tzinfo=dt.UTC),
                                             end=dt.datetime(1, 1, 2, tzinfo=dt.UTC))
        login_verified(client, carol)
        assert client.get(reverse("doctor_schedule")).status_code == 200
        for name in ("doctor_dashboard", "doctor_appointments"):
            try:
                url = reverse(name)
            except Exception:  # noqa: BLE001 — not every page exists under this name
                continue
            assert client.get(url).status_code == 200, name
        assert zoneinfo.ZoneInfo(zone)
