"""Patient-side pages: doctor search, the week calendar, booking, emergencies, family, dashboard."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from clinic import scheduling, selectors, services
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AppointmentType,
    CareTeamMember,
    HospitalDoctor,
    HospitalPatient,
    Patient,
    UserPatientRelation,
    WeeklyAvailability,
)
from clinic.views.patient import patient_dashboard_context
from tests.factories import DoctorFactory, HospitalFactory, PatientFactory, UserPatientRelationFactory

UTC = dt.UTC


# --- shared setup (imported by test_appointment_pages) ------------------------------------------------

@pytest.fixture
def hospital(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def clinic(alice, carol, hospital):
    """Dr. Carol (UTC) works at Hana's hospital and online every day; Alice is registered there and
    in Carol's care team."""
    doctor = carol.doctor_profile
    HospitalDoctor.objects.create(hospital=hospital, doctor=doctor)
    HospitalPatient.objects.create(hospital=hospital, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=doctor, patient=alice.patient_record)
    for weekday in range(7):
        WeeklyAvailability.objects.create(doctor=doctor, weekday=weekday, start_time=dt.time(9),
                                          end_time=dt.time(12))
        WeeklyAvailability.objects.create(doctor=doctor, weekday=weekday, start_time=dt.time(13),
                                          end_time=dt.time(15), hospital=hospital)
    return doctor


def day_at(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.now().astimezone(UTC).date() + dt.timedelta(days=days_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


def book_url(doctor, start, type=AppointmentType.REMOTE, hospital=None):
    query = {"doctor": doctor.pk, "start": start.isoformat(), "type": type}
    if hospital is not None:
        query["hospital"] = hospital.pk
    return f"{reverse('appointment_book')}?{urlencode(query)}"


# --- doctor search ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_requires_login_for_doctor_search(client):
    response = client.get(reverse("doctor_search"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_it_lists_doctors_with_first_free_slot_in_viewer_timezone(client, alice, clinic):
    alice.timezone = "Asia/Kolkata"
    alice.save(update_fields=["timezone"])
    client.force_login(alice)
    response = client.get(reverse("doctor_search"), {"mode": "remote", "free_from": day_at(3, 0).date().isoformat()})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Dr. Carol Doctor" in body
    assert "14:30" in body  # 09:00 UTC in Kolkata
    assert "Asia/Kolkata" in body


@pytest.mark.django_db
def test_it_filters_doctors_by_specialty_hospital_and_mode(client, alice, clinic, dave, hospital):
    dave.doctor_profile.specialty = "Cardiology"
    dave.doctor_profile.save()
    WeeklyAvailability.objects.create(doctor=dave.doctor_profile, weekday=1, start_time=dt.time(9),
                                      end_time=dt.time(10))
    client.force_login(alice)
    body = client.get(reverse("doctor_search"), {"specialty": "Cardiology"}).content.decode()
    assert "Dave Doctor" in body and "Carol Doctor" not in body
    body = client.get(reverse("doctor_search"), {"hospital": hospital.pk}).content.decode()
    assert "Carol Doctor" in body and "Dave Doctor" not in body
    body = client.get(reverse("doctor_search"), {"mode": "regular"}).content.decode()
    assert "Carol Doctor" in body and "Dave Doctor" not in body


@pytest.mark.django_db
def test_it_returns_only_results_to_htmx(client, alice, clinic):
    client.force_login(alice)
    response = client.get(reverse("doctor_search"), {"specialty": "Psychiatry"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "Carol Doctor" in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_first_free_slots_agrees_with_scheduling(clinic, dave):
    appointment_start = scheduling.first_free_slot(clinic).start
    Appointment.objects.create(patient=PatientFactory(), doctor=clinic, type=AppointmentType.REMOTE,
                               start=appointment_start, end=appointment_start + dt.timedelta(minutes=30))
    now = timezone.now()
    batch = selectors.first_free_slots([clinic, dave.doctor_profile], start=now)
    assert batch[clinic.pk] == scheduling.first_free_slot(clinic)
    assert batch[dave.doctor_profile.pk] is None
    online = selectors.first_free_slots([clinic], start=now, mode="remote")[clinic.pk]
    assert online == scheduling.first_free_slot(clinic, mode="remote")


@pytest.mark.django_db
def test_doctor_search_queries_do_not_grow_with_doctors(client, alice, django_assert_max_num_queries):
    hospital = HospitalFactory()
    for i in range(25):
        doctor = DoctorFactory(timezone="America/New_York").doctor_profile
        HospitalDoctor.objects.create(hospital=hospital, doctor=doctor)
        WeeklyAvailability.objects.create(doctor=doctor, weekday=i % 5, start_time=dt.time(9), end_time=dt.time(11))
        WeeklyAvailability.objects.create(doctor=doctor, weekday=(i + 1) % 5, start_time=dt.time(9),
                                          end_time=dt.time(11), hospital=hospital)
    client.force_login(alice)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("doctor_search"))
    assert response.content.decode().count('class="card doctor-card"') == 20
    with django_assert_max_num_queries(16):
        response = client.get(reverse("doctor_search"), {"page": 2, "mode": "regular"})
    assert response.content.decode().count('class="card doctor-card"') == 5


# --- doctor profile and week calendar -------------------------------------------------------------------

def next_monday():
    today = timezone.now().astimezone(UTC).date()
    return today + dt.timedelta(days=7 - today.weekday())


@pytest.mark.django_db
def test_week_calendar_shows_slots_in_viewer_timezone(client, alice, clinic):
    alice.timezone = "Asia/Kolkata"
    alice.save(update_fields=["timezone"])
    client.force_login(alice)
    monday = next_monday()
    response = client.get(reverse("doctor_detail", args=[clinic.pk]), {"week": monday.isoformat(), "mode": "remote"})
    body = response.content.decode()
    assert response.status_code == 200
    assert ">14:30<" in body  # 09:00 UTC
    assert ">09:00<" not in body
    assert "Asia/Kolkata" in body
    # Every slot is a real link to the booking form, labelled with the full date and time.
    assert 'class="slot" href="/appointments/book/?' in body
    assert "aria-label=\"Book Monday" in body
    # 7 days x 6 online slots.
    assert body.count('class="slot"') == 42


@pytest.mark.django_db
def test_week_calendar_mode_per_hospital(client, alice, clinic, hospital):
    client.force_login(alice)
    response = client.get(reverse("doctor_detail", args=[clinic.pk]),
                          {"week": next_monday().isoformat(), "mode": "regular", "hospital": hospital.pk})
    body = response.content.decode()
    assert body.count('class="slot slot-place"') == 7 * 4
    assert f"In person at {hospital.name}" in body


@pytest.mark.django_db
def test_week_calendar_htmx_returns_partial(client, alice, clinic):
    client.force_login(alice)
    response = client.get(reverse("doctor_detail", args=[clinic.pk]), {"week": next_monday().isoformat()},
                          HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="calendar"')


@pytest.mark.django_db
def test_empty_week_offers_next_week_with_free_slots(client, alice, carol):
    doctor = carol.doctor_profile
    WeeklyAvailability.objects.create(doctor=doctor, weekday=2, start_time=dt.time(9), end_time=dt.time(10))
    monday = next_monday()
    services.availability_exception_add(
        doctor=doctor, actor=carol, kind="leave",
        start=dt.datetime.combine(monday, dt.time(0), tzinfo=UTC),
        end=dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=UTC))
    client.force_login(alice)
    body = client.get(reverse("doctor_detail", args=[doctor.pk]), {"week": monday.isoformat()}).content.decode()
    assert "No free times this week." in body
    assert f"week={(monday + dt.timedelta(days=7)).isoformat()}" in body


@pytest.mark.django_db
def test_doctor_detail_404_for_unknown_doctor(client, alice):
    client.force_login(alice)
    assert client.get(reverse("doctor_detail", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


# --- booking -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_booking_happy_path(client, alice, clinic):
    client.force_login(alice)
    start = day_at(2, 9, 30)
    url = book_url(clinic, start)
    page = client.get(url)
    assert page.status_code == 200
    assert "Confirm booking" in page.content.decode()
    response = client.post(url, {"patient": alice.patient_record.pk, "reason": "Trouble sleeping"})
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointment_detail", args=[appointment.pk])
    assert appointment.start == start and appointment.type == AppointmentType.REMOTE
    assert appointment.booked_by == alice and appointment.reason == "Trouble sleeping"
    assert appointment.events.filter(kind=AppointmentEvent.Kind.REQUESTED, actor=alice).exists()
    detail = client.get(response["Location"]).content.decode()
    assert "Your appointment request was sent" in detail


@pytest.mark.django_db
def test_booking_in_person_at_hospital(client, alice, clinic, hospital):
    client.force_login(alice)
    start = day_at(2, 13)
    response = client.post(book_url(clinic, start, AppointmentType.REGULAR, hospital),
                           {"patient": alice.patient_record.pk})
    assert response.status_code == 302
    assert Appointment.objects.get().hospital == hospital


@pytest.mark.django_db
def test_booking_a_taken_slot_shows_message_and_fresh_slots(client, alice, bob, clinic):
    start = day_at(2, 10)
    services.appointment_book(booked_by=bob, patient=bob.patient_record, doctor=clinic, start=start,
                              type=AppointmentType.REMOTE)
    client.force_login(alice)
    response = client.post(book_url(clinic, start), {"patient": alice.patient_record.pk, "reason": "x"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "This slot was just taken" in body
    assert ">09:00<" in body and ">10:30<" in body  # fresh slots of that day
    assert ">10:00<" not in body
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_booking_page_for_a_taken_slot_says_so_on_get(client, alice, bob, clinic):
    start = day_at(2, 10)
    services.appointment_book(booked_by=bob, patient=bob.patient_record, doctor=clinic, start=start,
                              type=AppointmentType.REMOTE)
    client.force_login(alice)
    body = client.get(book_url(clinic, start)).content.decode()
    assert "no longer free" in body
    assert "Confirm booking" not in body


@pytest.mark.django_db
def test_family_member_books_for_child_but_not_for_unrelated_patient(client, grace, alice, bob, clinic):
    child = PatientFactory(name="Tom Child")
    UserPatientRelationFactory(user=grace, patient=child, relation="child")
    client.force_login(grace)
    url = book_url(clinic, day_at(2, 11))
    page = client.get(url).content.decode()
    assert "Tom Child" in page and "Alice Patient" in page and "Bob Other" not in page
    assert client.post(url, {"patient": bob.patient_record.pk}).status_code == 404
    assert not Appointment.objects.exists()
    response = client.post(url, {"patient": child.pk})
    assert response.status_code == 302
    assert Appointment.objects.get().patient == child


@pytest.mark.django_db
def test_booking_unreadable_link_explains(client, alice, clinic):
    client.force_login(alice)
    url = f"{reverse('appointment_book')}?{urlencode({'doctor': clinic.pk, 'start': 'soon', 'type': 'remote'})}"
    response = client.get(url)
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()
    bad_doctor = f"{reverse('appointment_book')}?doctor=nope&start=2030-01-01T09:00:00%2B00:00&type=remote"
    assert client.get(bad_doctor).status_code == 404


@pytest.mark.django_db
def test_booking_rejects_get_of_other_methods(client, alice, clinic):
    client.force_login(alice)
    assert client.put(book_url(clinic, day_at(2, 9))).status_code == 405


# --- emergency ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_emergency_request_page_and_waiting_status(client, alice, carol, clinic, hospital):
    client.force_login(alice)
    page = client.get(reverse("emergency_request"))
    assert page.status_code == 200
    assert hospital.name in page.content.decode()
    response = client.post(reverse("emergency_request"), {"patient": alice.patient_record.pk,
                                                          "reason": "Severe chest pain", "hospital": hospital.pk})
    appointment = Appointment.objects.get(type=AppointmentType.EMERGENCY)
    assert response.status_code == 302
    assert appointment.hospital == hospital
    detail = client.get(response["Location"]).content.decode()
    assert "Waiting for a doctor" in detail
    assert 'hx-trigger="every 10s"' in detail

    services.emergency_accept(actor=carol, appointment=appointment)
    status = client.get(reverse("appointment_status", args=[appointment.pk])).content.decode()
    assert "Dr. Carol Doctor accepted this request." in status
    assert "every 10s" not in status


@pytest.mark.django_db
def test_emergency_request_requires_description_and_managed_patient(client, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("emergency_request"), {"patient": alice.patient_record.pk, "reason": ""})
    assert response.status_code == 200
    assert "Describe briefly what is happening." in response.content.decode()
    assert client.post(reverse("emergency_request"), {"patient": bob.patient_record.pk,
                                                      "reason": "help"}).status_code == 404
    assert not Appointment.objects.exists()


# --- family -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_family_page_lists_and_adds_dependents(client, grace, alice):
    client.force_login(grace)
    body = client.get(reverse("family")).content.decode()
    assert "Alice Patient" in body and "Parent" in body
    response = client.post(reverse("family"), {"name": "Tom Child", "date_of_birth": "2018-02-03",
                                               "gender": "male", "relation": "child"})
    assert response.status_code == 302
    tom = Patient.objects.get(name="Tom Child")
    assert UserPatientRelation.objects.filter(user=grace, patient=tom, relation="child").exists()
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client.post(reverse("family"), {"name": "Later", "date_of_birth": future, "gender": "male",
                                               "relation": "child"})
    assert "cannot be in the future" in response.content.decode()


# --- dashboard ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_dashboard_context_covers_family_and_is_bounded(alice, grace, clinic, django_assert_max_num_queries):
    patient = alice.patient_record
    for i in range(12):
        start = day_at(1 + i, 9)
        Appointment.objects.create(patient=patient, doctor=clinic, type=AppointmentType.REMOTE, start=start,
                                   end=start + dt.timedelta(minutes=30))
        past = day_at(-1 - i, 9)
        Appointment.objects.create(patient=patient, doctor=clinic, type=AppointmentType.REMOTE, start=past,
                                   end=past + dt.timedelta(minutes=30), status=AppointmentStatus.COMPLETED)
    Appointment.objects.create(patient=patient, type=AppointmentType.EMERGENCY, start=timezone.now(),
                               end=timezone.now() + dt.timedelta(minutes=30))
    with django_assert_max_num_queries(3):
        context = patient_dashboard_context(grace)
        names = [a.doctor.user.name for a in context["upcoming_appointments"]]
        names += [a.patient.name for a in context["past_appointments"]]
    assert len(context["upcoming_appointments"]) == 5
    assert context["upcoming_appointments"][0].start == day_at(1, 9)
    assert len(context["past_appointments"]) == 5
    assert context["past_appointments"][0].start == day_at(-1, 9)
    assert len(context["emergencies_in_progress"]) == 1
    assert "Carol Doctor" in names


@pytest.mark.django_db
def test_dashboard_template_renders_cards(rf, alice, clinic):
    from django.template.loader import render_to_string

    start = day_at(2, 9)
    Appointment.objects.create(patient=alice.patient_record, doctor=clinic, type=AppointmentType.REMOTE,
                               start=start, end=start + dt.timedelta(minutes=30))
    request = rf.get("/dashboard/")
    request.user = alice
    html = render_to_string("dashboards/patient.html", {
        "user": alice, "relations": alice.patient_relations.select_related("patient"),
        **patient_dashboard_context(alice)}, request=request)
    assert "Upcoming appointments" in html
    assert reverse("doctor_search") in html and reverse("emergency_request") in html
    assert "Dr. Carol Doctor" in html
    assert "People in your care" in html
