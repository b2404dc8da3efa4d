"""A doctor is named by one function everywhere: the title once, whatever the person typed."""

import pytest
from django.urls import reverse
from django.utils import translation

from clinic.models import doctor_display_name
from tests.factories import DoctorFactory


@pytest.mark.parametrize("typed", ["Nina New", "Dr Nina New", "Dr. Nina New", "dr.Nina New", "Doctor Nina New",
                                   "  DR  Nina New "])
def test_the_title_appears_once(typed):
    assert doctor_display_name(typed) == "Dr. Nina New"


def test_a_name_that_merely_starts_like_a_title_is_kept():
    assert doctor_display_name("Drew Barry") == "Dr. Drew Barry"
    assert doctor_display_name("Dr") == "Dr. Dr"  # nothing else to show


@pytest.mark.django_db
def test_pages_and_str_name_a_titled_doctor_once(client, alice):
    doctor = DoctorFactory(name="Dr Nina New").doctor_profile
    assert str(doctor) == "Dr. Nina New"
    client.force_login(alice)
    with translation.override("en"):
        page = client.get(reverse("doctor_detail", args=[doctor.pk])).content.decode()
    assert "Dr. Nina New" in page
    assert "Dr. Dr" not in page
