"""Doctor pages: access matrix, schedule editing, exceptions, patients, confirmations."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from analytics.models import AuditEvent
from clinic.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityException,
    CareTeamMember,
    HospitalDoctor,
    HospitalPatient,
    WeeklyAvailability,
)
from conftest import login_verified
from tests.factories import HospitalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital_h(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def carol_treats_alice(alice, carol, hospital_h):
    """Carol works at Hana's hospital H and is in Alice's care team; Alice is registered at H."""
    HospitalDoctor.objects.create(hospital=hospital_h, doctor=carol.doctor_profile)
    HospitalPatient.objects.create(hospital=hospital_h, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return alice.patient_record


def appointment(patient, doctor_user, start, *, minutes=30, **kw):
    return Appointment.objects.create(patient=patient, doctor=doctor_user.doctor_profile, start=start,
                                      end=start + dt.timedelta(minutes=minutes),
                                      type=kw.pop("type", AppointmentType.REMOTE), **kw)


def sign_in(client, user):
    if user is not None:
        login_verified(client, user)
    return client


def future(days=3, hour=10):
    day = (timezone.now() + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=dt.UTC)


# --- access matrix -----------------------------------------------------------------------------------

GET_PAGES = ["/doctor/schedule/", "/doctor/emergencies/", "/doctor/emergencies/count/", "/doctor/patients/"]


@pytest.mark.parametrize("url", GET_PAGES)
def test_it_redirects_anonymous_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("url", GET_PAGES)
@pytest.mark.parametrize("who", ["alice", "bob", "hana", "ada"])
def test_it_is_404_for_non_doctors(client, request, url, who):
    sign_in(client, request.getfixturevalue(who))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", GET_PAGES)
@pytest.mark.parametrize("who", ["carol", "dave"])
def test_doctors_see_their_pages(client, request, url, who):
    sign_in(client, request.getfixturevalue(who))
    assert client.get(url).status_code == 200


def test_patient_detail_matrix(client, alice, bob, carol, dave, hana, ada, carol_treats_alice):
    url = f"/doctor/patients/{alice.patient_record.id}/"
    assert client.get(url).status_code == 302
    for user, status in [(alice, 404), (bob, 404), (hana, 404), (ada, 404), (dave, 404), (carol, 200)]:
        client.logout()
        sign_in(client, user)
        assert client.get(url).status_code == status, user.name
    assert client.get("/doctor/patients/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize("url", [
    "/doctor/schedule/exceptions/add/",
    "/doctor/schedule/exceptions/00000000-0000-0000-0000-000000000000/remove/",
    "/doctor/appointments/00000000-0000-0000-0000-000000000000/confirm/",
    "/doctor/emergencies/00000000-0000-0000-0000-000000000000/accept/",
])
def test_it_rejects_get_on_changes(client, carol, url):
    sign_in(client, carol)
    assert client.get(url).status_code == 405


# --- schedule --------------------------------------------------------------------------------------------

def formset_data(rows, initial=0):
    data = {"windows-TOTAL_FORMS": str(len(rows)), "windows-INITIAL_FORMS": str(initial),
            "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "60", "save": "1"}
    for i, row in enumerate(rows):
        defaults = {"weekday": "", "start_time": "", "end_time": "", "place": "", "slot_minutes": "30",
                    "buffer_minutes": "0"}
        defaults.update(row)
        for key, value in defaults.items():
            data[f"windows-{i}-{key}"] = value
    return data


def test_schedule_page_shows_windows_time_zone_and_places(client, carol, hospital_h, carol_treats_alice):
    carol.timezone = "Asia/Kolkata"
    carol.save()
    WeeklyAvailability.objects.create(doctor=carol.doctor_profile, weekday=0, start_time=dt.time(9),
                                      end_time=dt.time(12), hospital=hospital_h)
    sign_in(client, carol)
    body = client.get("/doctor/schedule/").content.decode()
    assert "Times are in your time zone (Asia/Kolkata)" in body
    assert hospital_h.name in body and "Online" in body
    assert 'value="09:00"' in body
    # every input has a label
    assert body.count('<label class="cell-label" for="id_windows-0-') == 6


def test_schedule_saves_windows_through_the_service(client, carol, hospital_h, carol_treats_alice):
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", formset_data([
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00"},
        {},  # an empty extra row is ignored
        {"weekday": "1", "start_time": "14:00", "end_time": "17:00", "place": str(hospital_h.id),
         "slot_minutes": "20", "buffer_minutes": "10"},
    ]))
    assert response.status_code == 302 and response.url == "/doctor/schedule/"
    windows = list(carol.doctor_profile.availability.order_by("weekday"))
    assert [(w.weekday, w.hospital_id, w.slot_minutes, w.buffer_minutes) for w in windows] == [
        (0, None, 30, 0), (1, hospital_h.id, 20, 10)]
    assert AuditEvent.objects.filter(action="availability.replaced", actor=carol).exists()


def test_schedule_removes_ticked_rows(client, carol):
    WeeklyAvailability.objects.create(doctor=carol.doctor_profile, weekday=0, start_time=dt.time(9),
                                      end_time=dt.time(12))
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", formset_data([
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00", "DELETE": "on"},
        {"weekday": "2", "start_time": "09:00", "end_time": "12:00"}], initial=1))
    assert response.status_code == 302
    assert list(carol.doctor_profile.availability.values_list("weekday", flat=True)) == [2]


@pytest.mark.parametrize("rows, message", [
    ([{"weekday": "0", "start_time": "09:00", "end_time": "12:00"},
      {"weekday": "0", "start_time": "11:00", "end_time": "13:00"}], "Monday: two windows overlap."),
    ([{"weekday": "0", "start_time": "12:00", "end_time": "09:00"}], "The window must end after it starts."),
    ([{"weekday": "0", "start_time": "09:00", "end_time": "12:00", "slot_minutes": "2"}],
     "Ensure this value is greater than or equal to 5."),
    ([{"weekday": "9", "start_time": "nine", "end_time": "12:00"}], "Select a valid choice."),
])
def test_schedule_errors_are_shown_and_nothing_is_saved(client, carol, rows, message):
    existing = WeeklyAvailability.objects.create(doctor=carol.doctor_profile, weekday=4, start_time=dt.time(8),
                                                 end_time=dt.time(9))
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", formset_data(rows))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(carol.doctor_profile.availability.all()) == [existing]


def test_schedule_refuses_a_hospital_the_doctor_does_not_work_at(client, carol, hospital_h):
    elsewhere = HospitalFactory(name="Elsewhere Clinic")
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", formset_data([
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00", "place": str(elsewhere.id)}]))
    assert response.status_code == 200
    assert "Row 1: you do not work at that hospital." in response.content.decode()
    assert not carol.doctor_profile.availability.exists()
    # an id that is no hospital at all is a form error, not a 500
    response = client.post("/doctor/schedule/", formset_data([
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00", "place": "not-a-hospital"}]))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_schedule_tampered_management_form_is_not_a_500(client, carol):
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", {"windows-TOTAL_FORMS": "x"})
    assert response.status_code == 200
    response = client.post("/doctor/schedule/", {"add_rows": "1", "windows-TOTAL_FORMS": "abc"})
    assert response.status_code == 200


def test_add_rows_adds_blank_rows_without_saving(client, carol):
    sign_in(client, carol)
    response = client.post("/doctor/schedule/", {**formset_data([
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00"}]), "add_rows": "1"})
    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 4
    assert 'value="09:00"' in response.content.decode()
    assert not carol.doctor_profile.availability.exists()


# --- exceptions ---------------------------------------------------------------------------------------------

def test_exception_is_read_in_the_doctors_time_zone(client, carol):
    carol.timezone = "Asia/Kolkata"
    carol.save()
    sign_in(client, carol)
    year = timezone.now().year + 1  # leave is planned at most two years ahead
    response = client.post("/doctor/schedule/exceptions/add/", {
        "kind": "leave", "start": f"{year}-01-10T09:00", "end": f"{year}-01-12T18:00", "reason": "Conference"})
    assert response.status_code == 302
    exception = AvailabilityException.objects.get()
    assert exception.start == dt.datetime(year, 1, 10, 3, 30, tzinfo=dt.UTC)
    assert exception.kind == "leave" and exception.reason == "Conference"
    body = client.get("/doctor/schedule/").content.decode()
    assert "Conference" in body and "09:00" in body  # shown back in her zone


@pytest.mark.parametrize("data, message", [
    ({"kind": "blocked", "start": "2030-01-10T12:00", "end": "2030-01-10T09:00"}, "The end must be after the start."),
    ({"kind": "blocked", "start": "yesterday", "end": "2030-01-10T09:00"}, "Enter a valid date/time."),
    ({"kind": "holiday", "start": "2030-01-10T09:00", "end": "2030-01-10T12:00"}, "Select a valid choice."),
])
def test_exception_errors_are_shown(client, carol, data, message):
    sign_in(client, carol)
    response = client.post("/doctor/schedule/exceptions/add/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AvailabilityException.objects.exists()


def test_nonexistent_local_time_is_an_error_not_a_500(client, carol):
    carol.timezone = "America/New_York"
    carol.save()
    sign_in(client, carol)
    response = client.post("/doctor/schedule/exceptions/add/", {
        "kind": "blocked", "start": "2030-03-10T02:30", "end": "2030-03-10T05:00"})  # skipped by DST
    assert response.status_code == 400
    assert not AvailabilityException.objects.exists()


def test_exception_remove_checks_ownership(client, carol, dave):
    exception = AvailabilityException.objects.create(
        doctor=carol.doctor_profile, start=future(), end=future() + dt.timedelta(hours=2))
    sign_in(client, dave)
    assert client.post(f"/doctor/schedule/exceptions/{exception.id}/remove/").status_code == 404
    assert AvailabilityException.objects.exists()
    client.logout()
    sign_in(client, carol)
    assert client.post(f"/doctor/schedule/exceptions/{exception.id}/remove/").status_code == 302
    assert not AvailabilityException.objects.exists()


# --- patients ---------------------------------------------------------------------------------------------

def test_patients_lists_care_team_with_next_appointment_and_search(client, carol, dave, bob, carol_treats_alice):
    appointment(carol_treats_alice, carol, future(days=5, hour=9))
    appointment(bob.patient_record, dave, future(days=2))  # Dave's patient: not Carol's
    sign_in(client, carol)
    body = client.get("/doctor/patients/").content.decode()
    assert "Alice Patient" in body and "Bob Other" not in body
    assert "None booked" not in body
    assert "Alice Patient" not in client.get("/doctor/patients/?q=zzz").content.decode()
    assert "Alice Patient" in client.get("/doctor/patients/?q=ali").content.decode()
    client.logout()
    sign_in(client, dave)
    assert "Alice Patient" not in client.get("/doctor/patients/").content.decode()


def test_patient_detail_shows_demographics_history_and_is_audited(client, carol, carol_treats_alice):
    appointment(carol_treats_alice, carol, future(days=-3), status=AppointmentStatus.COMPLETED, reason="Sleep")
    sign_in(client, carol)
    response = client.get(f"/doctor/patients/{carol_treats_alice.id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Alice Patient" in body and "Completed" in body and "Sleep" in body
    assert AuditEvent.objects.filter(action="patient.viewed", actor=carol,
                                     target_id=str(carol_treats_alice.id)).count() == 1


# --- confirming requests ------------------------------------------------------------------------------------------

def test_confirm_request(client, carol, dave, alice, carol_treats_alice):
    requested = appointment(carol_treats_alice, carol, future())
    url = f"/doctor/appointments/{requested.id}/confirm/"
    for user in (alice, dave):
        sign_in(client, user)
        assert client.post(url).status_code == 404
        client.logout()
    sign_in(client, carol)
    response = client.post(url, {"next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    requested.refresh_from_db()
    assert requested.status == AppointmentStatus.CONFIRMED
    # confirming twice is a message, not an error page
    response = client.post(url, {"next": "https://evil.example/"}, follow=False)
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_confirm_request_of_a_colleague_is_refused_with_a_message(client, carol, dave, carol_treats_alice):
    CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=carol_treats_alice)
    requested = appointment(carol_treats_alice, carol, future())
    sign_in(client, dave)
    response = client.post(f"/doctor/appointments/{requested.id}/confirm/", follow=True)
    assert "You cannot change this appointment." in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == AppointmentStatus.REQUESTED


def test_times_are_shown_in_the_viewers_zone(client, carol, carol_treats_alice):
    carol.timezone = "Asia/Tokyo"
    carol.save()
    start = future(days=4, hour=1)  # 01:00 UTC = 10:00 in Tokyo
    appointment(carol_treats_alice, carol, start)
    sign_in(client, carol)
    body = client.get("/doctor/patients/").content.decode()
    assert start.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M") in body
    assert "(Asia/Tokyo)" in body
