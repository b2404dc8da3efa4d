"""Pending or rejected doctors and staff of an unapproved hospital: status only through the API."""

import pytest

from accounts.models import ApplicationStatus, Role
from accounts.tokens import issue_pair
from clinic.models import ApprovalStatus
from tests.factories import DoctorApplicationFactory, HospitalStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

CLOSED = ["/api/v1/patients", "/api/v1/appointments", "/api/v1/doctors", "/api/v1/hospitals", "/api/v1/chats",
          "/api/v1/notifications", "/api/v1/users"]


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"}


@pytest.fixture(params=[ApplicationStatus.PENDING, ApplicationStatus.REJECTED])
def unapproved_doctor(request, db):
    user = UserFactory(role=Role.DOCTOR, email="pending@example.com")
    DoctorApplicationFactory(user=user, status=request.param)
    return user


@pytest.fixture(params=[ApprovalStatus.PENDING, ApprovalStatus.REJECTED])
def unapproved_staff(request, db):
    return HospitalStaffFactory(hospital__status=request.param, user__email="nina@example.com").user


def _check_status_only(client, user, expected_status_kind):
    headers = bearer(user)
    me = client.get("/api/v1/users/me", **headers)
    assert me.status_code == 200 and me.json()["id"] == str(user.pk)
    status = client.get("/api/v1/users/me/application", **headers)
    assert status.status_code == 200 and status.json()["kind"] == expected_status_kind
    for path in CLOSED:
        response = client.get(path, **headers)
        assert response.status_code == 403, path
        assert "approved" in response.json()["detail"]
    assert client.put("/api/v1/users/me", {"name": "New"}, content_type="application/json", **headers).status_code == 403


def test_unapproved_doctor_sees_only_their_status(client, unapproved_doctor):
    _check_status_only(client, unapproved_doctor, "doctor_application")


def test_staff_of_unapproved_hospital_see_only_their_status(client, unapproved_staff):
    _check_status_only(client, unapproved_staff, "hospital")


def test_approved_doctor_and_patient_get_through(client, carol, alice, hana):
    for user in (carol, alice, hana):
        assert client.get("/api/v1/doctors", **bearer(user)).status_code == 200
    assert client.get("/api/v1/users/me/application", **bearer(carol)).json()["status"] == "approved"
    assert client.get("/api/v1/users/me/application", **bearer(alice)).status_code == 404
