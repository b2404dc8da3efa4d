"""Shared helpers for the notification, reminder and calendar tests."""

import datetime as dt

from django.utils import timezone

from clinic import ics, services
from clinic.models import WeeklyAvailability

URLS = "config.urls"


def open_all_week(doctor_user, *, start=dt.time(8, 0), end=dt.time(18, 0), slot_minutes=30, hospital=None):
    """Weekly windows on every day, so any future day/time on the half hour is a slot."""
    profile = doctor_user.doctor_profile
    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(doctor=profile, weekday=d, start_time=start, end_time=end, slot_minutes=slot_minutes,
                           hospital=hospital) for d in range(7))
    return profile


def days_ahead(days: float, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware UTC time ``days`` from now at hour:minute (doctors in these tests are on UTC)."""
    day = (timezone.now() + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def book(patient_user, doctor_user, start, *, booked_by=None, type="remote", hospital=None, reason=""):
    return services.appointment_book(booked_by=booked_by or patient_user, patient=patient_user.patient_record,
                                     doctor=doctor_user.doctor_profile, start=start, type=type, hospital=hospital,
                                     reason=reason)


def calendar_parts(message):
    """The text/calendar MIME parts of a sent email, as (method parameter, decoded text)."""
    return [(part.get_param("method"), part.get_payload(decode=True).decode("utf-8"))
            for part in message.message().walk() if part.get_content_type() == "text/calendar"]


def only_calendar(message) -> dict:
    parts = calendar_parts(message)
    assert len(parts) == 1, parts
    method, text = parts[0]
    assert "\r\n" in text and all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = ics.parse(text)
    assert parsed["METHOD"] == method
    return parsed
