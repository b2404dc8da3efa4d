"""The access policy across roles: one matrix per object type, straight at the selectors."""

import pytest

from clinic import selectors, services
from clinic.models import AppointmentType
from core.errors import NotFound
from clinic.tests.conftest import next_weekday_at
from tests.factories import HospitalStaffFactory

pytestmark = pytest.mark.django_db

PEOPLE = ["alice", "grace", "bob", "carol", "dave", "hana", "ada"]


@pytest.fixture
def people(request, care):
    people = {name: request.getfixturevalue(name) for name in PEOPLE}
    people["other_staff"] = HospitalStaffFactory(user__name="Otto Staff").user
    return people


@pytest.mark.parametrize("viewer, clinical, visible", [
    ("alice", True, True), ("grace", True, True), ("bob", True, False), ("carol", True, True),
    ("dave", True, False), ("hana", True, False), ("hana", False, True), ("other_staff", False, False),
    ("ada", True, True),
])
def test_patient_visibility(people, viewer, clinical, visible):
    alice_record = people["alice"].patient_record
    qs = selectors.patients_visible_to(people[viewer], clinical=clinical)
    assert qs.filter(pk=alice_record.pk).exists() is visible
    if not visible:
        with pytest.raises(NotFound):
            selectors.patient_get(fetched_by=people[viewer], patient_id=alice_record.pk, clinical=clinical)


def test_anonymous_and_inactive_see_nothing(people):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.patients_visible_to(AnonymousUser()).exists()
    alice = people["alice"]
    alice.is_active = False
    alice.save()
    assert not selectors.patients_visible_to(alice).exists()


@pytest.fixture
def booked(people):
    return services.appointment_book(booked_by=people["alice"], patient=people["alice"].patient_record,
                                     doctor=people["carol"].doctor_profile, start=next_weekday_at(10),
                                     type=AppointmentType.REMOTE, reason="Sleep trouble")


@pytest.mark.parametrize("viewer, visible", [
    ("alice", True), ("grace", True), ("bob", False), ("carol", True), ("dave", False), ("hana", True),
    ("other_staff", False), ("ada", True),
])
def test_appointment_visibility(people, booked, viewer, visible):
    assert selectors.appointments_visible_to(people[viewer]).filter(pk=booked.pk).exists() is visible


def test_pending_doctor_sees_nothing_even_if_mapped(people, booked):
    from accounts.models import ApplicationStatus

    carol = people["carol"]
    carol.doctor_applications.update(status=ApplicationStatus.PENDING)
    assert not selectors.appointments_visible_to(carol).exists()
    assert not selectors.patients_visible_to(carol).exists()


def test_staff_of_pending_hospital_see_nothing(people, booked, riverside):
    riverside.status = "pending"
    riverside.save()
    assert not selectors.appointments_visible_to(people["hana"]).filter(pk=booked.pk).exists()
