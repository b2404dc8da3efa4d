"""Flash messages name patients ("The appointment with Alice Patient ... is confirmed"): they are
kept in the server-side session, never in a `messages` cookie the browser stores and sends back."""

import pytest
from django.conf import settings
from django.urls import reverse

from clinic import services
from clinic.models import AppointmentType
from clinic.tests.test_pages_patient import clinic, day_at, hospital  # noqa: F401 (fixtures)
from conftest import login_verified


def test_messages_live_in_the_session():
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.session.SessionStorage"


@pytest.mark.django_db
def test_it_sets_no_messages_cookie_after_flashing_a_patients_name(client, alice, carol, clinic, hospital):  # noqa: F811
    appointment = services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=clinic,
                                            start=day_at(3, 13), type=AppointmentType.REGULAR, hospital=hospital,
                                            reason="Check-up")
    login_verified(client, carol)

    response = client.post(reverse("doctor_appointment_confirm", args=[appointment.pk]))
    assert response.status_code == 302
    assert "messages" not in response.cookies
    shown = client.get(response["Location"])

    assert "Alice Patient" in shown.content.decode()  # the message reached the next page ...
    assert "messages" not in shown.cookies  # ... without ever being a cookie
    assert "messages" not in client.cookies
