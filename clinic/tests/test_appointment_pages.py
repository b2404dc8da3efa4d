"""The shared appointment pages: list, detail (access matrix across the named people) and the
POST-only actions that call the appointment services."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic import services
from clinic.models import Appointment, AppointmentEvent, AppointmentStatus, AppointmentType
from clinic.tests.test_pages_patient import clinic, day_at, hospital  # noqa: F401 (fixtures)
from conftest import login_verified
from tests.factories import DoctorFactory, HospitalFactory

REASON = "Headaches at night"
NOTES = "Private clinical note 7731"


@pytest.fixture
def appointment(alice, clinic, hospital):  # noqa: F811
    appointment = services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=clinic,
                                            start=day_at(3, 13), type=AppointmentType.REGULAR, hospital=hospital,
                                            reason=REASON)
    Appointment.objects.filter(pk=appointment.pk).update(notes=NOTES)
    appointment.refresh_from_db()
    return appointment


@pytest.fixture
def people(alice, grace, bob, carol, dave, hana, ada):
    return {"alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana, "ada": ada}


def sign_in(client, user):
    return login_verified(client, user) if user.requires_two_factor else client.force_login(user)


def url(name, appointment):
    return reverse(name, args=[appointment.pk])


# --- detail access matrix -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_requires_login(client, appointment):
    response = client.get(url("appointment_detail", appointment))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    response = client.post(url("appointment_cancel", appointment), {"cancel-reason": "x"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# who: (status, sees reason, sees notes)
MATRIX = {
    "alice": (200, True, False),
    "grace": (200, True, False),
    "bob": (404, False, False),
    "carol": (200, True, True),
    "dave": (404, False, False),
    "hana": (200, False, False),
    "ada": (200, True, True),
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", MATRIX)
def test_it_checks_access_to_appointment_detail(client, people, appointment, who):
    status, sees_reason, sees_notes = MATRIX[who]
    sign_in(client, people[who])
    response = client.get(url("appointment_detail", appointment))
    assert response.status_code == status
    body = response.content.decode()
    assert (REASON in body) is sees_reason
    assert (NOTES in body) is sees_notes
    if status == 200:
        assert "Alice Patient" in body and "Dr. Carol Doctor" in body
        assert appointment.hospital.name in body
        assert "Requested" in body  # status badge and the history


@pytest.mark.django_db
def test_staff_sees_scheduling_data_but_not_the_reason_in_history(client, hana, appointment):
    sign_in(client, hana)
    body = client.get(url("appointment_detail", appointment)).content.decode()
    assert REASON not in body
    assert "Confirm appointment" in body  # staff may confirm
    assert "Mark as completed" not in body


@pytest.mark.django_db
def test_it_shows_room_info_only_to_patient_side_and_doctor(client, people, alice, clinic):  # noqa: F811
    remote = services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=clinic,
                                       start=day_at(3, 9), type=AppointmentType.REMOTE)
    for who, shown in [("alice", True), ("grace", True), ("carol", True), ("hana", False), ("ada", False)]:
        sign_in(client, people[who])
        body = client.get(url("appointment_detail", remote)).content.decode()
        assert ("private call room" in body) is shown, who
        assert "Join call" not in body


@pytest.mark.django_db
def test_patient_sees_patient_actions_and_cutoff(client, alice, appointment, settings):
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 12
    sign_in(client, alice)
    body = client.get(url("appointment_detail", appointment)).content.decode()
    assert "Cancel appointment" in body and "Choose another time" in body
    assert "until 12 hours before the start" in body
    assert "Confirm appointment" not in body and "Mark as no-show" not in body


# --- POST actions -------------------------------------------------------------------------------------

ACTIONS = ["appointment_cancel", "appointment_confirm", "appointment_complete", "appointment_no_show",
           "appointment_reschedule"]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ACTIONS)
def test_it_rejects_get(client, alice, appointment, action):
    sign_in(client, alice)
    assert client.get(url(action, appointment)).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["bob", "dave"])
def test_it_checks_ownership_of_actions(client, people, appointment, action, who):
    sign_in(client, people[who])
    response = client.post(url(action, appointment), {"cancel-reason": "no"})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.REQUESTED


@pytest.mark.django_db
@pytest.mark.parametrize("who, confirmed", [("alice", False), ("grace", False), ("carol", True), ("hana", True),
                                            ("ada", True)])
def test_confirm_is_for_the_doctor_side(client, people, appointment, who, confirmed):
    sign_in(client, people[who])
    response = client.post(url("appointment_confirm", appointment), follow=True)
    appointment.refresh_from_db()
    assert (appointment.status == AppointmentStatus.CONFIRMED) is confirmed
    body = response.content.decode()
    if confirmed:
        assert "The appointment is confirmed." in body
        assert appointment.events.filter(kind=AppointmentEvent.Kind.CONFIRMED, actor=people[who]).exists()
    else:
        assert "The doctor or the hospital confirms appointments." in body


@pytest.mark.django_db
def test_grace_cancels_for_alice_with_reason(client, grace, appointment):
    sign_in(client, grace)
    response = client.post(url("appointment_cancel", appointment), {"cancel-reason": "We are travelling"},
                           follow=True)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == grace
    body = response.content.decode()
    assert "The appointment was cancelled." in body
    assert "Reason: We are travelling" in body  # the event timeline
    assert "by Grace Family" in body


@pytest.mark.django_db
def test_cancel_needs_a_reason(client, alice, appointment):
    sign_in(client, alice)
    response = client.post(url("appointment_cancel", appointment), {"cancel-reason": "  "})
    assert response.status_code == 400
    assert "Give a reason for the cancellation." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.REQUESTED


@pytest.mark.django_db
def test_cancel_within_cutoff_is_refused_with_message(client, alice, clinic, settings):  # noqa: F811
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 12
    start = timezone.now() + dt.timedelta(hours=2)
    soon = Appointment.objects.create(patient=alice.patient_record, doctor=clinic, type=AppointmentType.REMOTE,
                                      start=start, end=start + dt.timedelta(minutes=30))
    sign_in(client, alice)
    page = client.get(url("appointment_detail", soon)).content.decode()
    assert "Please call the clinic to change this one." in page
    response = client.post(url("appointment_cancel", soon), {"cancel-reason": "Busy"}, follow=True)
    assert "until 12 hours before they start" in response.content.decode()
    soon.refresh_from_db()
    assert soon.status == AppointmentStatus.REQUESTED


@pytest.mark.django_db
def test_reschedule_keeps_id_and_writes_event(client, alice, appointment):
    sign_in(client, alice)
    first = client.get(url("appointment_detail", appointment)).content.decode()
    assert "Later times" in first
    new_start = day_at(4, 14)
    page = client.get(url("appointment_detail", appointment), {"after": new_start.date().isoformat()}).content.decode()
    assert new_start.isoformat() in page
    response = client.post(url("appointment_reschedule", appointment),
                           {"reschedule-start": new_start.isoformat(), "reschedule-reason": "Work meeting"},
                           follow=True)
    moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.start == new_start
    assert Appointment.objects.count() == 1
    event = moved.events.get(kind=AppointmentEvent.Kind.RESCHEDULED)
    assert event.actor == alice and event.reason == "Work meeting"
    body = response.content.decode()
    assert "The appointment was moved to" in body
    assert "Rescheduled" in body and "Reason: Work meeting" in body


@pytest.mark.django_db
def test_patients_are_offered_only_times_they_could_still_change(client, alice, carol, appointment, settings):
    """The offered slots follow the cut-off rule the service applies: a patient is never offered a
    time they could not cancel or move again; the doctor is offered it."""
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 60  # the appointment (day 3) is outside, tomorrow inside
    tomorrow = day_at(1, 13).isoformat()
    sign_in(client, alice)
    page = client.get(url("appointment_detail", appointment)).content.decode()
    assert "Choose another time" in page
    assert tomorrow not in page
    response = client.post(url("appointment_reschedule", appointment), {"reschedule-start": tomorrow})
    assert response.status_code == 400
    assert "at least 60 hours from now" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).start == appointment.start
    client.logout()
    sign_in(client, carol)
    assert tomorrow in client.get(url("appointment_detail", appointment)).content.decode()


@pytest.mark.django_db
def test_reschedule_to_a_time_that_is_not_free_says_so(client, alice, appointment):
    sign_in(client, alice)
    response = client.post(url("appointment_reschedule", appointment),
                           {"reschedule-start": day_at(4, 3).isoformat()}, follow=True)
    assert "That time is not free. Please choose another slot." in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).start == appointment.start
    response = client.post(url("appointment_reschedule", appointment), {"reschedule-start": "tomorrow"})
    assert response.status_code == 400
    assert "Choose one of the free times." in response.content.decode()


@pytest.mark.django_db
def test_complete_before_start_is_a_message_not_an_error(client, carol, appointment):
    sign_in(client, carol)
    response = client.post(url("appointment_complete", appointment), {"complete-notes": "ok"}, follow=True)
    assert response.status_code == 200
    assert "once it has started" in response.content.decode()


@pytest.mark.django_db
def test_doctor_completes_a_started_appointment_with_notes(client, carol, alice, clinic):  # noqa: F811
    start = timezone.now() - dt.timedelta(minutes=10)
    started = Appointment.objects.create(patient=alice.patient_record, doctor=clinic, type=AppointmentType.REMOTE,
                                         start=start, end=start + dt.timedelta(minutes=30),
                                         status=AppointmentStatus.CONFIRMED)
    sign_in(client, carol)
    page = client.get(url("appointment_detail", started)).content.decode()
    assert "Mark as completed" in page and "Mark as no-show" in page
    client.post(url("appointment_complete", started), {"complete-notes": "Follow up in 2 weeks"})
    started.refresh_from_db()
    assert started.status == AppointmentStatus.COMPLETED
    assert started.notes == "Follow up in 2 weeks"


@pytest.mark.django_db
def test_hana_marks_no_show(client, hana, alice, clinic, hospital):  # noqa: F811
    start = timezone.now() - dt.timedelta(hours=1)
    past = Appointment.objects.create(patient=alice.patient_record, doctor=clinic, type=AppointmentType.REGULAR,
                                      hospital=hospital, start=start, end=start + dt.timedelta(minutes=30),
                                      status=AppointmentStatus.CONFIRMED)
    sign_in(client, hana)
    client.post(url("appointment_no_show", past))
    past.refresh_from_db()
    assert past.status == AppointmentStatus.NO_SHOW


# --- list ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_list_shows_family_appointments_labelled_with_patient(client, grace, bob, appointment, clinic):  # noqa: F811
    other = services.appointment_book(booked_by=bob, patient=bob.patient_record, doctor=clinic,
                                      start=day_at(3, 9), type=AppointmentType.REMOTE)
    sign_in(client, grace)
    body = client.get(reverse("appointment_list")).content.decode()
    assert url("appointment_detail", appointment) in body
    assert "for Alice Patient" in body
    assert url("appointment_detail", other) not in body


@pytest.mark.django_db
def test_list_filters_upcoming_past_and_status(client, alice, appointment, clinic):  # noqa: F811
    past_start = day_at(-3, 9)
    past = Appointment.objects.create(patient=alice.patient_record, doctor=clinic, type=AppointmentType.REMOTE,
                                      start=past_start, end=past_start + dt.timedelta(minutes=30),
                                      status=AppointmentStatus.COMPLETED)
    sign_in(client, alice)
    upcoming = client.get(reverse("appointment_list")).content.decode()
    assert url("appointment_detail", appointment) in upcoming and url("appointment_detail", past) not in upcoming
    past_page = client.get(reverse("appointment_list"), {"when": "past"}).content.decode()
    assert url("appointment_detail", past) in past_page and url("appointment_detail", appointment) not in past_page
    confirmed = client.get(reverse("appointment_list"), {"status": "confirmed"}).content.decode()
    assert url("appointment_detail", appointment) not in confirmed


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "carol", "hana", "ada"])
def test_list_queries_do_not_grow_with_rows(client, people, alice, clinic, hospital, who,  # noqa: F811
                                            django_assert_max_num_queries):
    doctors = [clinic] + [DoctorFactory().doctor_profile for _ in range(4)]
    other_hospital = HospitalFactory()
    for i in range(30):
        start = day_at(1 + i // 5, 9, (i % 5) * 10)
        Appointment.objects.create(patient=alice.patient_record, doctor=doctors[i % 5],
                                   type=AppointmentType.REGULAR, hospital=hospital if i % 2 else other_hospital,
                                   start=start, end=start + dt.timedelta(minutes=10))
    sign_in(client, people[who])
    with django_assert_max_num_queries(14):
        response = client.get(reverse("appointment_list"))
    body = response.content.decode()
    assert body.count('class="appt-row') == 20
    assert "Page 1 of 2" in body


@pytest.mark.django_db
def test_a_doctors_list_marks_colleagues_appointments_with_shared_patients(client, alice, dave, appointment):
    from clinic.models import CareTeamMember, WeeklyAvailability

    CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=alice.patient_record)
    for weekday in range(7):
        WeeklyAvailability.objects.create(doctor=dave.doctor_profile, weekday=weekday, start_time=dt.time(9),
                                          end_time=dt.time(12))
    own = services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=dave.doctor_profile,
                                    start=day_at(2, 10), type=AppointmentType.REMOTE)
    sign_in(client, dave)
    body = client.get(reverse("appointment_list")).content.decode()
    rows = {pk: body.split(f"/appointments/{pk}/")[1].split("</li>")[0] for pk in (appointment.pk, own.pk)}
    assert "Colleague's appointment (Dr. Carol Doctor)" in rows[appointment.pk]
    assert "Colleague" not in rows[own.pk]
