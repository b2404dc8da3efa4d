"""The values that made the API answer 500 (an audit's fuzzing), one request each: every one gets a
clear 4xx JSON answer and changes nothing. NUL characters, times of day with a UTC offset, dates near
year 1 or 10000, huge numbers and page offsets, NaN and Infinity."""

import datetime as dt
import json

import pytest

from accounts.tokens import issue_pair
from conftest import totp_enrol
from tests.factories import AppointmentFactory, CareTeamMemberFactory

NUL = "bad\x00value"
FAR = "9999-12-31"
EARLY = "0001-01-01"
FAR_TIME = "9999-12-31T23:59:59-23:59"
HUGE = 10**30


@pytest.fixture
def ids(alice, carol):
    from telehealth import chat as chats
    from wellness import services as wellness

    patient = alice.patient_record
    CareTeamMemberFactory(doctor=carol.doctor_profile, patient=patient)
    totp_enrol(carol)
    appointment = AppointmentFactory(patient=patient, doctor=carol.doctor_profile, status="confirmed")
    chat = chats.chat_open(actor=alice, patient=patient, doctor=carol.doctor_profile)
    task = wellness.task_add(actor=alice, patient=patient, date=dt.date.today(), title="Stretch", time=None)
    habit = wellness.habit_create(actor=alice, patient=patient, name="Walk", kind="number", unit="km", target=None)
    return {"p": patient.pk, "d": carol.doctor_profile.pk, "a": appointment.pk, "c": chat.pk, "t": task.pk,
            "h": habit.pk}


# (who, method, path, body): {p} patient, {d} doctor, {a} appointment, {c} chat, {t} task, {h} habit.
# A body given as str is sent as it is (JSON with NaN, which Python's json would otherwise accept).
CASES = [
    ("alice", "put", "/users/me", {"name": NUL}),
    ("alice", "put", "/users/me", {"timezone": NUL}),
    ("alice", "put", "/users/me", {"location": NUL}),
    ("alice", "post", "/auth/login", {"login": NUL, "password": "x"}),
    ("alice", "post", "/patients", {"name": NUL, "date_of_birth": "2015-01-01", "gender": "male", "relation": "child"}),
    ("alice", "post", "/patients", {"name": "Kid", "date_of_birth": EARLY, "gender": "male", "relation": "child"}),
    ("alice", "post", "/patients", {"name": "Kid", "date_of_birth": FAR, "gender": "male", "relation": "child"}),
    ("alice", "post", "/patients", {"name": "Kid", "date_of_birth": "1850-01-01", "gender": "male", "relation": "child"}),
    ("alice", "post", "/patients", {"name": "Kid", "date_of_birth": "2100-01-01", "gender": "male", "relation": "child"}),
    ("alice", "put", "/patients/{p}", {"date_of_birth": EARLY}),
    ("alice", "put", "/patients/{p}", {"date_of_birth": "2999-01-01"}),
    ("alice", "put", "/patients/{p}", {"emergency_contact": NUL}),
    ("alice", "get", "/patients?search=" + NUL, None),
    ("alice", "get", "/patients?offset=%d" % HUGE, None),
    ("alice", "get", "/patients?limit=%d" % HUGE, None),
    ("alice", "get", "/patients?offset=9223372036854775807", None),
    ("alice", "get", "/doctors?search=" + NUL, None),
    ("alice", "get", "/hospitals?city=" + NUL, None),
    ("alice", "post", "/patients/{p}/wellness", {"date": FAR, "mood": 5}),
    ("alice", "post", "/patients/{p}/wellness", {"date": EARLY, "mood": 5}),
    ("alice", "post", "/patients/{p}/wellness", {"date": dt.date.today().isoformat(), "notes": NUL}),
    ("alice", "post", "/patients/{p}/wellness", {"date": dt.date.today().isoformat(), "mood": HUGE}),
    ("alice", "post", "/patients/{p}/wellness", '{"date": "%s", "sleep_hours": NaN}' % dt.date.today()),
    ("alice", "post", "/patients/{p}/wellness", '{"date": "%s", "sleep_hours": Infinity}' % dt.date.today()),
    ("alice", "post", "/patients/{p}/wellness", {"date": dt.date.today().isoformat(), "sleep_hours": 1e308}),
    ("alice", "post", "/patients/{p}/wellness", {"date": dt.date.today().isoformat(),
                                                  "habits": [{"habit_id": "{h}", "value": 1e300}]}),
    ("alice", "put", "/patients/{p}/wellness/" + FAR, {"mood": 5}),
    ("alice", "put", "/patients/{p}/wellness/" + EARLY, {"mood": 5}),
    ("alice", "get", "/patients/{p}/wellness?from=%s&to=%s" % (EARLY, EARLY), None),
    ("alice", "get", "/patients/{p}/wellness?from=%s&to=%s" % (FAR, FAR), None),
    ("alice", "get", "/patients/{p}/wellness?to=" + EARLY, None),
    ("alice", "get", "/patients/{p}/reviews/" + FAR, None),
    ("alice", "put", "/patients/{p}/reviews/" + FAR, {"reflection": "ok"}),
    ("alice", "put", "/patients/{p}/reviews/" + EARLY, {"reflection": "ok"}),
    ("alice", "put", "/patients/{p}/reviews/%s" % dt.date.today(), {"reflection": NUL}),
    ("alice", "post", "/patients/{p}/habits", {"name": NUL}),
    ("alice", "post", "/patients/{p}/habits", {"name": "Run", "kind": "number", "target": 1e300}),
    ("alice", "post", "/patients/{p}/habits", '{"name": "Run", "kind": "number", "target": NaN}'),
    ("alice", "put", "/patients/{p}/habits/{h}", {"target": 1e300}),
    ("alice", "put", "/patients/{p}/habits/{h}", {"unit": NUL}),
    ("alice", "get", "/patients/{p}/tasks?date=" + FAR, None),
    ("alice", "post", "/patients/{p}/tasks", {"title": NUL}),
    ("alice", "post", "/patients/{p}/tasks", {"title": "Walk", "date": FAR}),
    ("alice", "post", "/patients/{p}/tasks", {"title": "Walk", "time": "09:00:00+05:00"}),
    ("alice", "put", "/patients/{p}/tasks/{t}", {"time": "09:00:00+05:00"}),
    ("alice", "put", "/patients/{p}/tasks/{t}", {"title": NUL}),
    ("alice", "post", "/patients/{p}/tasks/carry-over", {"from_date": EARLY}),
    ("alice", "put", "/patients/{p}/wellness/settings", {"evening_reminder": True, "reminder_time": "20:00:00+05:00"}),
    ("alice", "get", "/appointments?date_from=" + FAR, None),
    ("alice", "get", "/appointments?date_to=" + FAR, None),
    ("alice", "get", "/appointments?date_from=" + EARLY, None),
    ("alice", "get", "/appointments?date_from=" + FAR_TIME.replace("+", "%2B"), None),
    ("alice", "get", "/appointments?date_from=" + NUL, None),
    ("alice", "get", "/doctors/{d}/slots?from=" + FAR, None),
    ("alice", "get", "/doctors/{d}/slots?to=" + FAR, None),
    ("alice", "get", "/doctors/{d}/slots?from=" + EARLY, None),
    ("alice", "get", "/doctors/{d}/slots?from=9999-12-31T00:00:00-23:00", None),
    ("alice", "post", "/appointments", {"patient_id": "{p}", "doctor_id": "{d}", "start": FAR_TIME, "type": "remote"}),
    ("alice", "post", "/appointments", {"patient_id": "{p}", "doctor_id": "{d}", "start": "0001-01-01T00:00:00+14:00",
                                        "type": "remote"}),
    ("alice", "post", "/appointments", {"patient_id": "{p}", "doctor_id": "{d}", "start": "2030-01-07T09:00:00",
                                        "type": "remote"}),
    ("alice", "post", "/appointments", {"patient_id": "{p}", "doctor_id": "{d}", "start": "2030-01-07T09:00:00+00:00",
                                        "type": "remote", "reason": NUL}),
    ("alice", "put", "/appointments/{a}/reschedule", {"start": FAR_TIME}),
    ("alice", "put", "/appointments/{a}", {"reason": NUL}),
    ("alice", "put", "/appointments/{a}/cancel", {"reason": NUL}),
    ("alice", "delete", "/appointments/{a}?reason=" + NUL, None),
    ("alice", "post", "/appointments/emergency", {"patient_id": "{p}", "reason": NUL}),
    ("alice", "get", "/chats?q=" + NUL, None),
    ("alice", "get", "/chats/{c}/messages?after=%d" % HUGE, None),
    ("alice", "get", "/chats/{c}/messages?before=%d" % HUGE, None),
    ("alice", "get", "/chats/{c}/messages?before=-%d" % HUGE, None),
    ("alice", "get", "/chats/{c}/messages?limit=%d" % HUGE, None),
    ("alice", "get", "/chats/{c}/messages?q=" + NUL, None),
    ("alice", "get", "/chats/{c}/call-requests?limit=%d" % HUGE, None),
    ("alice", "post", "/messages", {"chat_id": "{c}", "client_id": "x1", "body": NUL}),
    ("alice", "post", "/messages", {"chat_id": "{c}", "client_id": NUL, "body": "hi"}),
    ("alice", "post", "/chats/{c}/call-requests", {"reason": NUL}),
    ("alice", "get", "/notifications?offset=%d" % HUGE, None),
    ("alice", "get", "/patients/{p}/emotions?offset=%d" % HUGE, None),
    ("carol", "put", "/doctors/{d}", {"shift_start": "09:00:00+05:00"}),
    ("carol", "put", "/doctors/{d}", {"details": NUL}),
    ("carol", "put", "/doctors/{d}", {"languages": [NUL]}),
    ("carol", "put", "/doctors/{d}", {"languages": ["x" * 5000]}),
    ("carol", "put", "/doctors/{d}", {"languages": ["en"] * 5000}),
    ("carol", "put", "/doctors/{d}", {"languages": [{"nested": ["json"]}]}),
    ("carol", "put", "/doctors/{d}", {"consultation_modes": ["remote"] * 50}),
    (None, "post", "/auth/hospital-signup", {"hospital_name": "H", "address": "1 Road", "contact": "12345",
                                             "name": "Hana", "email": "h@example.com", "password": "x",
                                             "specialities": [{"a": 1}] * 3}),
    (None, "post", "/auth/hospital-signup", "[1, 2, 3]"),
    (None, "post", "/auth/login", '{"login": "alice@example.com", "password": "x"'),
    ("alice", "post", "/patients/{p}/wellness", {"date": dt.date.today().isoformat(),
                                                  "habits": [{"habit_id": "{h}", "done": True}] * 500}),
    ("carol", "put", "/appointments/{a}", {"notes": NUL}),
    ("carol", "get", "/doctors/{d}/stress-ranking?month=9999-12", None),
    ("carol", "get", "/doctors/{d}/stress-ranking?month=0001-01", None),
    ("carol", "get", "/doctors/{d}/stress-ranking?month=" + NUL, None),
    ("carol", "post", "/patients/{p}/risk-flags", {"reason": NUL, "follow_up": "call"}),
    ("carol", "post", "/patients/{p}/habits", {"name": NUL}),
    ("carol", "get", "/doctors/{d}/appointments?offset=%d" % HUGE, None),
]


def _fill(text, ids):
    for key, value in ids.items():
        text = text.replace("{%s}" % key, str(value))
    return text


@pytest.mark.parametrize(("who", "method", "path", "body"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{json.dumps(c[3])[:60] if c[3] else ''}" for c in CASES])
def test_bad_input_gets_a_clear_4xx(request, client, ids, who, method, path, body):
    url = "/api/v1" + _fill(path, ids)
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(request.getfixturevalue(who))['access']}"} if who else {}
    if body is not None:
        data = body if isinstance(body, str) else json.dumps(body)
        kwargs.update(data=_fill(data, ids), content_type="application/json")
    response = getattr(client, method)(url, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
