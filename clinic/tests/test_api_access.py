"""The clinic API access matrix: every object route, every kind of caller.

Alice is registered at Riverside (Hana's hospital), Dr. Carol works there, treats Alice and has an
appointment with her; Grace is Alice's mother; Bob, Dr. Dave and Otto (staff of another hospital)
are strangers to Alice; Ada is an administrator. 404 means "missing or not yours" (nobody can probe
ids), 403 "you can see it but may not change it", 401 "no token".
"""

import json
from types import SimpleNamespace

import pytest

from accounts.tokens import issue_pair
from clinic import services
from clinic.models import AppointmentType, CareTeamMember, HospitalDoctor, HospitalPatient, UserPatientRelation
from clinic.tests.conftest import next_weekday_at
from tests.factories import HospitalStaffFactory

pytestmark = pytest.mark.django_db

ROLES = ["anon", "alice", "grace", "bob", "carol", "dave", "hana", "other_staff", "ada"]


def call(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


@pytest.fixture
def world(care, alice, grace, bob, carol, dave, hana, ada, riverside):
    other_staff = HospitalStaffFactory(user__name="Otto Staff").user
    appointment = services.appointment_book(
        booked_by=alice, patient=alice.patient_record, doctor=carol.doctor_profile, start=next_weekday_at(10),
        type=AppointmentType.REMOTE, reason="Sleep trouble")
    appointment.notes = "Private clinical note"
    appointment.save(update_fields=["notes"])
    return SimpleNamespace(
        people={"anon": None, "alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave,
                "hana": hana, "other_staff": other_staff, "ada": ada},
        alice=alice, patient=alice.patient_record, bob=bob, carol=carol, dave=dave, riverside=riverside,
        elsewhere=other_staff.hospital_staff.hospital, appointment=appointment,
        hospital_patient=HospitalPatient.objects.get(hospital=riverside, patient=alice.patient_record),
        hospital_doctor=HospitalDoctor.objects.get(hospital=riverside, doctor=carol.doctor_profile),
        care_member=CareTeamMember.objects.get(doctor=carol.doctor_profile, patient=alice.patient_record),
        grace_link=UserPatientRelation.objects.get(user=grace, patient=alice.patient_record),
    )


def statuses(**by_role):
    return {"anon": 401, **by_role}


# Who may see Alice's record: herself, family, her care team, her hospital's staff (administrative
# data) and admins.
SEES_ALICE = statuses(alice=200, grace=200, bob=404, carol=200, dave=404, hana=200, other_staff=404, ada=200)

ROUTES = {
    "patient detail": (
        lambda w: ("get", f"/patients/{w.patient.pk}", None), SEES_ALICE),
    "patient appointments": (
        lambda w: ("get", f"/patients/{w.patient.pk}/appointments", None), SEES_ALICE),
    "appointment detail": (
        lambda w: ("get", f"/appointments/{w.appointment.pk}", None), SEES_ALICE),
    "appointment cancel": (
        lambda w: ("put", f"/appointments/{w.appointment.pk}/cancel", {"reason": "Feeling better"}), SEES_ALICE),
    "appointment confirm": (
        lambda w: ("put", f"/appointments/{w.appointment.pk}/status", {"status": "confirmed"}),
        statuses(alice=403, grace=403, bob=404, carol=200, dave=404, hana=200, other_staff=404, ada=200)),
    "register with hospital": (
        lambda w: ("post", "/mappings/hospital-patient", {"hospital_id": str(w.elsewhere.pk),
                                                          "patient_id": str(w.patient.pk)}),
        # Otto manages Elsewhere but cannot see Alice: only an admin can register her there.
        statuses(alice=403, grace=403, bob=404, carol=403, dave=404, hana=403, other_staff=404, ada=201)),
    "unregister from hospital": (
        lambda w: ("delete", f"/mappings/hospital-patient/{w.hospital_patient.pk}", None),
        statuses(alice=403, grace=403, bob=404, carol=403, dave=404, hana=204, other_staff=404, ada=204)),
    "add to care team": (
        lambda w: ("post", "/mappings/doctor-patient", {"doctor_id": str(w.dave.doctor_profile.pk),
                                                        "patient_id": str(w.patient.pk)}),
        # Issue 9: Dave does not work at Riverside, so Hana cannot propose him; Carol (care team)
        # may refer him — a pending invitation Alice accepts (see test_consent.py).
        statuses(alice=403, grace=403, bob=404, carol=201, dave=404, hana=403, other_staff=404, ada=201)),
    "remove from care team": (
        lambda w: ("delete", f"/mappings/doctor-patient/{w.care_member.pk}", None),
        statuses(alice=403, grace=403, bob=404, carol=204, dave=404, hana=204, other_staff=404, ada=204)),
    "doctor joins hospital": (
        lambda w: ("post", "/mappings/hospital-doctor", {"hospital_id": str(w.riverside.pk),
                                                         "doctor_id": str(w.dave.doctor_profile.pk)}),
        # Directory data: everyone sees both sides, only Riverside's staff and admins change it.
        statuses(alice=403, grace=403, bob=403, carol=403, dave=403, hana=201, other_staff=403, ada=201)),
    "doctor leaves hospital": (
        lambda w: ("delete", f"/mappings/hospital-doctor/{w.hospital_doctor.pk}", None),
        statuses(alice=403, grace=403, bob=403, carol=403, dave=403, hana=204, other_staff=403, ada=204)),
    "link account to patient": (
        lambda w: ("post", "/mappings/user-patient", {"user_id": str(w.bob.pk), "patient_id": str(w.patient.pk),
                                                      "relation": "spouse"}),
        # Issue 9: only the patient (an invitation Bob accepts) and admins; never staff; Grace acts
        # for Alice but does not decide who else does.
        statuses(alice=201, grace=403, bob=404, carol=403, dave=404, hana=403, other_staff=404, ada=201)),
    "change family relation": (
        lambda w: ("put", f"/mappings/user-patient/{w.grace_link.pk}", {"relation": "other"}),
        # Issue 10: the patient, who manages her record's access, changes a family member's relation.
        statuses(alice=200, grace=200, bob=404, carol=403, dave=404, hana=403, other_staff=404, ada=200)),
    "remove family link": (
        lambda w: ("delete", f"/mappings/user-patient/{w.grace_link.pk}", None),
        # Issue 9: the patient can remove anyone's access to her record.
        statuses(alice=204, grace=204, bob=404, carol=403, dave=404, hana=403, other_staff=404, ada=204)),
    "hospital patients": (
        lambda w: ("get", f"/hospitals/{w.riverside.pk}/patients", None),
        statuses(alice=404, grace=404, bob=404, carol=404, dave=404, hana=200, other_staff=404, ada=200)),
    "doctor patients": (
        lambda w: ("get", f"/doctors/{w.carol.doctor_profile.pk}/patients", None),
        statuses(alice=404, grace=404, bob=404, carol=200, dave=404, hana=404, other_staff=404, ada=200)),
    "account's patients": (
        lambda w: ("get", f"/mappings/user/{w.alice.pk}/patients", None),
        statuses(alice=200, grace=404, bob=404, carol=404, dave=404, hana=404, other_staff=404, ada=200)),
}

MATRIX = [(route, role, expected[role]) for route, (_, expected) in ROUTES.items() for role in ROLES]


@pytest.mark.parametrize("route, role, expected", MATRIX, ids=[f"{r}-{p}" for r, p, _ in MATRIX])
def test_access_matrix(client, world, route, role, expected):
    method, path, body = ROUTES[route][0](world)
    response = call(client, world.people[role], method, path, body)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert "detail" in response.json()


def test_every_role_is_covered_for_every_route():
    for route, (_, expected) in ROUTES.items():
        assert set(expected) == set(ROLES), route


def test_a_missing_id_looks_like_someone_elses(client, world):
    import uuid

    missing = call(client, world.bob, "get", f"/patients/{uuid.uuid4()}")
    not_his = call(client, world.bob, "get", f"/patients/{world.patient.pk}")
    assert missing.status_code == not_his.status_code == 404
    assert missing.json() == not_his.json()


def test_lists_only_show_what_the_viewer_may_see(client, world):
    for role, sees in [("alice", 1), ("hana", 1), ("carol", 1), ("bob", 0), ("dave", 0), ("other_staff", 0)]:
        body = call(client, world.people[role], "get", "/appointments").json()
        assert body["count"] == sees, role
        patients = call(client, world.people[role], "get", "/patients").json()
        assert (str(world.patient.pk) in [p["id"] for p in patients["items"]]) is (sees == 1), role


def test_a_care_team_doctor_sees_a_colleagues_appointment_but_cannot_change_it(client, world):
    services.care_team_add(actor=None, doctor=world.dave.doctor_profile, patient=world.patient)
    path = f"/appointments/{world.appointment.pk}"
    assert call(client, world.dave, "get", path).status_code == 200
    response = call(client, world.dave, "put", f"{path}/cancel", {"reason": "Not mine"})
    assert response.status_code == 403 and response.json()["detail"]


@pytest.mark.parametrize("role, notes, room, reason", [
    ("alice", False, True, True),
    ("grace", False, True, True),
    ("carol", True, True, True),
    ("hana", False, False, False),  # staff get scheduling data only
    ("ada", True, False, True),
])
def test_appointment_fields_depend_on_who_asks(client, world, role, notes, room, reason):
    body = call(client, world.people[role], "get", f"/appointments/{world.appointment.pk}").json()
    assert (body["notes"] == "Private clinical note") is notes
    assert (body["room_id"] == world.appointment.room_id) is room
    assert (body["reason"] == "Sleep trouble") is reason
    assert body["patient"] == {"id": str(world.patient.pk), "name": "Alice Patient"}
    assert body["doctor"]["name"] == "Carol Doctor"
    requested = [e for e in body["events"] if e["kind"] == "requested"]
    assert requested and requested[0]["actor"] == "Alice Patient"
    assert (requested[0]["reason"] == "Sleep trouble") is reason
    listed = call(client, world.people[role], "get", "/appointments").json()["items"][0]
    assert "events" not in listed and (listed["notes"] == "Private clinical note") is notes


def test_account_patients_list_the_links(client, world):
    body = call(client, world.people["grace"], "get", f"/mappings/user/{world.people['grace'].pk}/patients").json()
    assert sorted((link["relation"], link["patient"]["name"]) for link in body) == [
        ("parent", "Alice Patient"), ("self", "Grace Family")]
