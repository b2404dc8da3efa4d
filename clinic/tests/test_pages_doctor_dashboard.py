"""The doctor dashboard data (``doctor_dashboard_context``) rendered by dashboards/doctor.html.

The accounts dashboard view merges this context in; these tests render the template the same way
so they do not depend on that wiring."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from clinic import services
from clinic.models import Appointment, AppointmentStatus, AppointmentType, CareTeamMember, WeeklyAvailability
from clinic.views.doctor import doctor_dashboard_context
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ZONE = zoneinfo.ZoneInfo("Asia/Kolkata")


def render_dashboard(user):
    request = RequestFactory().get("/dashboard/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    with timezone.override(zoneinfo.ZoneInfo(user.timezone)):
        context = {"two_factor_enabled": True, **doctor_dashboard_context(user)}
        return render_to_string("dashboards/doctor.html", context, request=request)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE)


@pytest.fixture
def carol_in_india(carol):
    carol.timezone = "Asia/Kolkata"
    carol.save()
    return carol


def week_days():
    today = timezone.now().astimezone(ZONE).date()
    monday = today - dt.timedelta(days=today.weekday())
    return today, [monday + dt.timedelta(days=i) for i in range(7)]


def fill_week(doctor_user, n):
    today, days = week_days()
    patients = PatientFactory.create_batch(5)
    for patient in patients:
        CareTeamMember.objects.create(doctor=doctor_user.doctor_profile, patient=patient)
    for i in range(n):
        start = local(days[i % 7], 8 + i // 7, 0)
        Appointment.objects.create(patient=patients[i % 5], doctor=doctor_user.doctor_profile, start=start,
                                   end=start + dt.timedelta(minutes=30), type=AppointmentType.REMOTE,
                                   status=AppointmentStatus.REQUESTED if i % 2 else AppointmentStatus.CONFIRMED)


def test_dashboard_shows_today_week_requests_and_queue(carol_in_india, alice):
    today, days = week_days()
    patient = alice.patient_record
    CareTeamMember.objects.create(doctor=carol_in_india.doctor_profile, patient=patient)
    todays = Appointment.objects.create(patient=patient, doctor=carol_in_india.doctor_profile,
                                        start=local(today, 0, 5), end=local(today, 0, 35), type="remote",
                                        status=AppointmentStatus.CONFIRMED)
    tomorrow = today + dt.timedelta(days=1)
    requested = Appointment.objects.create(patient=patient, doctor=carol_in_india.doctor_profile,
                                           start=local(tomorrow, 23, 0), end=local(tomorrow, 23, 30),
                                           type="remote")
    Appointment.objects.create(patient=patient, doctor=carol_in_india.doctor_profile, start=local(today, 1),
                               end=local(today, 1, 30), type="remote", status=AppointmentStatus.CANCELLED)
    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(doctor=carol_in_india.doctor_profile, weekday=d, start_time=dt.time(0, 0),
                           end_time=dt.time(23, 59)) for d in range(7))
    emergency = services.emergency_request(requested_by=alice, patient=patient, reason="Cannot breathe")

    context = doctor_dashboard_context(carol_in_india)
    assert context["today_appointments"] == [todays]  # cancelled ones are left out
    assert [a.pk for a in context["requests"]] == [requested.pk]
    assert [e.pk for e in context["emergencies"]] == [emergency.pk]
    assert [d["date"] for d in context["week"]] == days
    assert context["tz_name"] == "Asia/Kolkata"

    html = render_dashboard(carol_in_india)
    assert "00:05" in html  # in her zone
    assert "(Asia/Kolkata)" in html
    assert f"/doctor/appointments/{requested.id}/confirm/" in html
    assert f"/doctor/emergencies/{emergency.id}/accept/" in html
    assert "Cannot breathe" in html
    assert f"/appointments/{todays.id}/" in html
    assert "/doctor/schedule/" in html  # weekly availability card links to the schedule page


def test_dashboard_queries_do_not_grow_with_appointments(carol_in_india, django_assert_max_num_queries):
    fill_week(carol_in_india, 30)
    carol = type(carol_in_india).objects.get(pk=carol_in_india.pk)  # no cached profile
    # 10 for the schedule cards + 4 for the wellness cards (ranking, flags, follow-ups, audit row).
    with django_assert_max_num_queries(14):
        html = render_dashboard(carol)
    assert html.count('class="week-item') == 30


def test_dashboard_without_profile_is_safe(db):
    from tests.factories import UserFactory

    user = UserFactory(role="doctor")
    assert doctor_dashboard_context(user) == {"profile": None, "availability": []}
