"""Every relationship that grants access to a patient's data is consented to by the patient.

First the attacks of issue 9, step by step as an attacker did them; then each invitation flow; then
removal, effective at once on pages and the API.
"""

import json

import pytest

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic import selectors, services
from clinic.models import (
    AppointmentStatus,
    AppointmentType,
    CareTeamMember,
    Consent,
    HospitalDoctor,
    HospitalPatient,
    UserPatientRelation,
)
from clinic.signals import patient_access_ended
from clinic.tests.conftest import next_weekday_at, open_all_week
from conftest import login_verified
from tests.factories import DoctorFactory, HospitalStaffFactory, PatientFactory

pytestmark = pytest.mark.django_db


def api(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


@pytest.fixture
def otto(db):
    """Staff of another approved hospital (Elsewhere)."""
    return HospitalStaffFactory(user__name="Otto Staff", hospital__name="Elsewhere Clinic").user


@pytest.fixture
def ended(db):
    calls = []

    def receiver(sender, patient_id, user_ids, **kwargs):
        calls.append((patient_id, set(user_ids)))

    patient_access_ended.connect(receiver, dispatch_uid="test-consent-ended")
    yield calls
    patient_access_ended.disconnect(dispatch_uid="test-consent-ended")


# --- the attacks -----------------------------------------------------------------------------------

class TestStaffTakeover:
    """Staff register a patient by login, link themselves as family, read everything."""

    def test_registering_by_login_only_invites(self, client, hana, bob, riverside):
        login_verified(client, hana)
        response = client.post("/hospital/patients/add/", {"login": "bob@example.com"})
        assert response.status_code == 302
        link = HospitalPatient.with_invitations.get(hospital=riverside, patient=bob.patient_record)
        assert link.consent == Consent.PENDING
        assert not selectors.patients_visible_to(hana, clinical=False).filter(pk=bob.patient_record.pk).exists()
        assert api(client, hana, "get", f"/patients/{bob.patient_record.pk}").status_code == 404

    def test_staff_cannot_link_themselves_as_family_by_api(self, client, hana, care, alice):
        # Alice is registered (accepted) at Hana's hospital, so Hana can see her demographics...
        response = api(client, hana, "post", "/mappings/user-patient",
                       {"user_id": str(hana.pk), "patient_id": str(alice.patient_record.pk), "relation": "other"})
        # ...but staff never create family links.
        assert response.status_code == 403
        assert "detail" in response.json()
        assert not UserPatientRelation.with_invitations.filter(user=hana).exists()
        for path in (f"/patients/{alice.patient_record.pk}/wellness", f"/patients/{alice.patient_record.pk}/emotions"):
            assert api(client, hana, "get", path).status_code == 404

    def test_staff_cannot_link_to_a_patient_who_only_has_an_invitation(self, client, hana, bob, riverside):
        services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
        response = api(client, hana, "post", "/mappings/user-patient",
                       {"user_id": str(hana.pk), "patient_id": str(bob.patient_record.pk), "relation": "other"})
        assert response.status_code == 404
        assert not UserPatientRelation.with_invitations.filter(user=hana).exists()

    def test_staff_cannot_link_another_account_either(self, hana, care, alice, bob):
        with pytest.raises(services.PermissionDenied):
            services.user_patient_relation_add(actor=hana, user=bob, patient=alice.patient_record, relation="other")

    def test_the_patient_can_remove_a_family_link(self, client, alice, grace, ended, run_on_commit):
        link = UserPatientRelation.objects.get(user=grace, patient=alice.patient_record)
        response = run_on_commit(api, client, alice, "delete", f"/access/family/{link.pk}")
        assert response.status_code == 204
        assert ended == [(alice.patient_record.pk, {grace.pk})]
        # Effective at once, on the API and on pages.
        assert api(client, grace, "get", f"/patients/{alice.patient_record.pk}/wellness").status_code == 404
        assert api(client, grace, "get", f"/patients/{alice.patient_record.pk}/appointments").status_code == 404
        login_verified(client, grace)
        assert client.get(f"/wellness/?patient={alice.patient_record.pk}").status_code == 404


class TestStaffAddedDoctor:
    def test_staff_cannot_add_a_doctor_of_another_hospital(self, client, hana, care, alice, dave):
        response = api(client, hana, "post", "/mappings/doctor-patient",
                       {"doctor_id": str(dave.doctor_profile.pk), "patient_id": str(alice.patient_record.pk)})
        assert response.status_code == 403
        assert not CareTeamMember.with_invitations.filter(doctor=dave.doctor_profile).exists()
        assert api(client, dave, "get", f"/patients/{alice.patient_record.pk}").status_code == 404

    def test_staff_only_propose_their_own_doctor_and_the_patient_accepts(self, client, hana, care, alice, riverside):
        ed = DoctorFactory(name="Ed Doctor")
        HospitalDoctor.objects.create(hospital=riverside, doctor=ed.doctor_profile)
        response = api(client, hana, "post", "/mappings/doctor-patient",
                       {"doctor_id": str(ed.doctor_profile.pk), "patient_id": str(alice.patient_record.pk)})
        assert response.status_code == 201
        assert response.json()["consent"] == "pending"
        assert api(client, ed, "get", f"/patients/{alice.patient_record.pk}").status_code == 404
        member = CareTeamMember.with_invitations.get(doctor=ed.doctor_profile)
        assert alice.notifications.filter(source_key=f"invite:{member.pk}").exists()
        assert api(client, alice, "post", f"/access/doctor/{member.pk}/accept").status_code == 200
        assert api(client, ed, "get", f"/patients/{alice.patient_record.pk}").status_code == 200

    def test_staff_cannot_propose_for_a_patient_of_another_hospital(self, otto, care, alice, carol):
        with pytest.raises(services.PermissionDenied):
            services.care_team_add(actor=otto, doctor=carol.doctor_profile, patient=alice.patient_record)


class TestStaffOfAnotherHospital:
    """Otto (Elsewhere) changed Alice's appointments with Riverside's doctor."""

    @pytest.fixture
    def also_at_elsewhere(self, care, alice, otto):
        return HospitalPatient.objects.create(hospital=otto.hospital_staff.hospital, patient=alice.patient_record)

    @pytest.fixture
    def at_riverside(self, also_at_elsewhere, alice, carol, riverside):
        open_all_week(carol.doctor_profile, hospital=riverside)
        return services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=carol.doctor_profile,
                                         start=next_weekday_at(11), type=AppointmentType.REGULAR, hospital=riverside)

    @pytest.fixture
    def online(self, also_at_elsewhere, alice, carol):
        return services.appointment_book(booked_by=alice, patient=alice.patient_record, doctor=carol.doctor_profile,
                                         start=next_weekday_at(12), type=AppointmentType.REMOTE)

    @pytest.mark.parametrize("fixture", ["at_riverside", "online"])
    def test_other_staff_cannot_confirm_cancel_or_move(self, request, client, otto, fixture):
        appointment = request.getfixturevalue(fixture)
        assert api(client, otto, "put", f"/appointments/{appointment.pk}/status",
                   {"status": "confirmed"}).status_code in (403, 404)
        assert api(client, otto, "put", f"/appointments/{appointment.pk}/cancel",
                   {"reason": "nope"}).status_code in (403, 404)
        login_verified(client, otto)
        client.post(f"/appointments/{appointment.pk}/confirm/")  # refused: an error message, nothing changes
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.REQUESTED

    def test_own_hospital_staff_still_confirm(self, client, hana, at_riverside, online):
        assert api(client, hana, "put", f"/appointments/{at_riverside.pk}/status",
                   {"status": "confirmed"}).status_code == 200
        # Online with Riverside's doctor for a Riverside patient: listed on Hana's page, hers to change.
        assert api(client, hana, "put", f"/appointments/{online.pk}/status",
                   {"status": "confirmed"}).status_code == 200

    def test_staff_book_only_with_their_own_doctors(self, otto, care, alice, carol):
        HospitalPatient.objects.create(hospital=otto.hospital_staff.hospital, patient=alice.patient_record)
        with pytest.raises(services.PermissionDenied):
            services.appointment_book(booked_by=otto, patient=alice.patient_record, doctor=carol.doctor_profile,
                                      start=next_weekday_at(13), type=AppointmentType.REMOTE)


# --- invitation flows ----------------------------------------------------------------------------------

class TestHospitalInvitation:
    def test_the_patient_accepts_on_the_page(self, client, hana, bob, riverside):
        link = services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
        assert bob.notifications.filter(source_key=f"invite:{link.pk}").exists()
        login_verified(client, bob)
        page = client.get("/access/")
        assert page.status_code == 200
        assert riverside.name in page.content.decode()
        assert client.post(f"/access/hospital/{link.pk}/accept/").status_code == 302
        link.refresh_from_db()
        assert link.consent == Consent.ACCEPTED
        assert selectors.patients_visible_to(hana, clinical=False).filter(pk=bob.patient_record.pk).exists()
        assert AuditEvent.objects.filter(action="mapping.hospital_patient.accepted", actor=bob).exists()

    def test_the_patient_declines(self, client, hana, bob, riverside):
        link = services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
        assert api(client, bob, "post", f"/access/hospital/{link.pk}/decline").status_code == 204
        assert not HospitalPatient.with_invitations.filter(pk=link.pk).exists()

    def test_staff_cannot_accept_their_own_invitation(self, client, hana, bob, riverside):
        link = services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
        assert api(client, hana, "post", f"/access/hospital/{link.pk}/accept").status_code == 404
        login_verified(client, hana)
        assert client.post(f"/access/hospital/{link.pk}/accept/").status_code == 404

    def test_booking_at_the_hospital_is_consent(self, bob, carol, riverside):
        HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
        open_all_week(carol.doctor_profile, hospital=riverside)
        services.appointment_book(booked_by=bob, patient=bob.patient_record, doctor=carol.doctor_profile,
                                  start=next_weekday_at(9), type=AppointmentType.REGULAR, hospital=riverside)
        assert HospitalPatient.objects.filter(hospital=riverside, patient=bob.patient_record).exists()
        assert CareTeamMember.objects.filter(doctor=carol.doctor_profile, patient=bob.patient_record).exists()

    def test_booking_accepts_a_pending_invitation(self, hana, bob, carol, riverside):
        link = services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
        open_all_week(carol.doctor_profile, hospital=riverside)
        HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
        services.appointment_book(booked_by=bob, patient=bob.patient_record, doctor=carol.doctor_profile,
                                  start=next_weekday_at(9), type=AppointmentType.REGULAR, hospital=riverside)
        link.refresh_from_db()
        assert link.consent == Consent.ACCEPTED

    def test_staff_ending_a_registration_tells_live_surfaces(self, hana, care, alice, riverside, ended,
                                                              run_on_commit):
        link = HospitalPatient.objects.get(hospital=riverside, patient=alice.patient_record)
        run_on_commit(services.hospital_patient_remove, actor=hana, link=link)
        assert ended == [(alice.patient_record.pk, {hana.pk})]


class TestFamilyInvitation:
    def test_the_patient_invites_and_the_invited_account_accepts(self, client, alice, bob):
        response = api(client, alice, "post", "/mappings/user-patient",
                       {"user_id": str(bob.pk), "patient_id": str(alice.patient_record.pk), "relation": "spouse"})
        assert response.status_code == 201
        assert response.json()["consent"] == "pending"
        assert api(client, bob, "get", f"/patients/{alice.patient_record.pk}/wellness").status_code == 404
        invitations = api(client, bob, "get", "/access").json()["invitations"]
        assert [i["patient"]["name"] for i in invitations] == [alice.patient_record.name]
        link_id = invitations[0]["id"]
        # The inviter cannot accept for the invited account.
        assert api(client, alice, "post", f"/access/family/{link_id}/accept").status_code == 403
        assert api(client, bob, "post", f"/access/family/{link_id}/accept").status_code == 200
        assert api(client, bob, "get", f"/patients/{alice.patient_record.pk}/wellness").status_code == 200

    def test_the_invited_account_declines(self, client, alice, bob):
        link = services.user_patient_relation_add(actor=alice, user=bob, patient=alice.patient_record,
                                                  relation="spouse")
        login_verified(client, bob)
        assert client.post(f"/access/family/{link.pk}/decline/").status_code == 302
        assert not UserPatientRelation.with_invitations.filter(pk=link.pk).exists()

    def test_a_guardian_invites_for_a_dependant(self, client, alice, bob):
        ben = PatientFactory(name="Ben")
        UserPatientRelation.objects.create(user=alice, patient=ben, relation="child")
        link = services.user_patient_relation_add(actor=alice, user=bob, patient=ben, relation="parent")
        assert link.consent == Consent.PENDING
        services.access_accept(actor=bob, link=link)
        assert selectors.can_act_for_patient(bob, ben)
        # Now both guardians manage Ben's access.
        assert selectors.manages_access_of(bob, ben.pk)

    def test_family_of_a_patient_with_an_account_does_not_invite_others(self, client, alice, grace, bob):
        response = api(client, grace, "post", "/mappings/user-patient",
                       {"user_id": str(bob.pk), "patient_id": str(alice.patient_record.pk), "relation": "other"})
        assert response.status_code == 403

    def test_admins_still_link_directly(self, client, ada, alice, bob):
        response = api(client, ada, "post", "/mappings/user-patient",
                       {"user_id": str(bob.pk), "patient_id": str(alice.patient_record.pk), "relation": "other"})
        assert response.status_code == 201
        assert response.json()["consent"] == "accepted"


class TestCareTeamReferral:
    def test_a_care_team_doctor_refers_a_colleague(self, client, carol, dave, care, alice):
        member = services.care_team_add(actor=carol, doctor=dave.doctor_profile, patient=alice.patient_record)
        assert member.consent == Consent.PENDING
        assert not selectors.is_in_care_team(dave.doctor_profile, alice.patient_record)
        services.access_accept(actor=alice, link=member)
        assert selectors.is_in_care_team(dave.doctor_profile, alice.patient_record)

    def test_the_patient_removes_a_doctor(self, client, carol, care, alice, ended, run_on_commit):
        member = CareTeamMember.objects.get(doctor=carol.doctor_profile, patient=alice.patient_record)
        login_verified(client, alice)
        assert run_on_commit(client.post, f"/access/doctor/{member.pk}/remove/").status_code == 302
        assert ended == [(alice.patient_record.pk, {carol.pk})]
        assert api(client, carol, "get", f"/patients/{alice.patient_record.pk}").status_code == 404
        assert AuditEvent.objects.filter(action="mapping.doctor_patient.removed", actor=alice).exists()


# --- the access page and API -----------------------------------------------------------------------------

class TestAccessPage:
    def test_it_lists_everyone_with_access(self, client, alice, grace, care, riverside, carol):
        login_verified(client, alice)
        body = client.get("/access/").content.decode()
        for name in (riverside.name, carol.name, grace.name):
            assert name in body

    def test_it_is_linked_from_the_family_page(self, client, alice):
        login_verified(client, alice)
        assert 'href="/access/"' in client.get("/family/").content.decode()

    def test_strangers_get_404_for_someone_elses_link(self, client, alice, grace, bob):
        link = UserPatientRelation.objects.get(user=grace, patient=alice.patient_record)
        login_verified(client, bob)
        assert client.post(f"/access/family/{link.pk}/remove/").status_code == 404
        assert api(client, bob, "delete", f"/access/family/{link.pk}").status_code == 404
        assert api(client, bob, "delete", f"/access/unknown/{link.pk}").status_code == 404

    def test_it_rejects_get_on_actions(self, client, alice, grace):
        link = UserPatientRelation.objects.get(user=grace, patient=alice.patient_record)
        login_verified(client, alice)
        assert client.get(f"/access/family/{link.pk}/remove/").status_code == 405

    def test_its_queries_do_not_grow(self, client, alice, riverside, django_assert_max_num_queries):
        login_verified(client, alice)
        client.get("/access/")
        for i in range(3):
            kid = PatientFactory(name=f"Kid {i}")
            UserPatientRelation.objects.create(user=alice, patient=kid, relation="child")
            HospitalPatient.objects.create(hospital=riverside, patient=kid)
            CareTeamMember.objects.create(doctor=DoctorFactory().doctor_profile, patient=kid)
        # Session, user, 2FA device, navigation (unread counts) and the page's own four queries
        # (patients, hospitals, doctors, family) plus the invitations to this account.
        with django_assert_max_num_queries(10):
            assert client.get("/access/").status_code == 200

    def test_api_lists_access_per_patient(self, client, alice, grace, care, riverside):
        body = api(client, alice, "get", "/access").json()
        (row,) = body["patients"]
        assert row["patient"]["id"] == str(alice.patient_record.pk)
        assert [h["hospital"]["name"] for h in row["hospitals"]] == [riverside.name]
        assert [f["user"]["name"] for f in row["family"]] == [grace.name]
        assert all(h["consent"] == "accepted" for h in row["hospitals"])


class TestInviteOnThePage:
    def test_the_patient_invites_by_login_and_the_answer_never_tells(self, client, alice, bob):
        login_verified(client, alice)
        data = {"patient": str(alice.patient_record.pk), "login": "BOB@example.com", "relation": "spouse"}
        known = client.post("/access/invite/", data, follow=True)
        unknown = client.post("/access/invite/", {**data, "login": "nobody@example.com"}, follow=True)
        texts = [[str(m) for m in r.context["messages"]] for r in (known, unknown)]
        assert texts[0] == texts[1]
        link = UserPatientRelation.with_invitations.get(user=bob, patient=alice.patient_record)
        assert link.consent == Consent.PENDING and link.invited_by == alice
        assert bob.notifications.filter(source_key=f"invite:{link.pk}").exists()
        # Inviting again is the same answer, not an error.
        assert client.post("/access/invite/", data).status_code == 302

    def test_family_who_manage_nobody_cannot_invite(self, client, grace, alice, bob):
        grace_own = grace.patient_record
        login_verified(client, grace)
        response = client.post("/access/invite/", {"patient": str(alice.patient_record.pk), "login": bob.email,
                                                   "relation": "other"})
        assert response.status_code == 400  # Alice is not a choice for Grace (she manages only herself)
        assert not UserPatientRelation.with_invitations.filter(user=bob).exclude(patient=bob.patient_record).exists()
        assert grace_own is not None

    def test_staff_have_nobody_to_invite_for(self, client, hana, care, alice, bob):
        login_verified(client, hana)
        response = client.post("/access/invite/", {"patient": str(alice.patient_record.pk), "login": bob.email,
                                                   "relation": "other"})
        assert response.status_code == 404


def test_a_care_team_doctor_cannot_remove_a_colleague(carol, dave, care, alice):
    member = CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=alice.patient_record)
    with pytest.raises(services.PermissionDenied):
        services.care_team_remove(actor=carol, member=member)
    services.care_team_remove(actor=dave, member=member)  # leaving is fine


def test_staff_withdraw_their_invitation_by_api_and_others_cannot(client, hana, otto, bob, riverside):
    link = services.hospital_patient_add(actor=hana, hospital=riverside, patient=bob.patient_record)
    assert api(client, otto, "delete", f"/mappings/hospital-patient/{link.pk}").status_code == 404
    assert api(client, hana, "delete", f"/mappings/hospital-patient/{link.pk}").status_code == 204
    assert not HospitalPatient.with_invitations.filter(pk=link.pk).exists()
