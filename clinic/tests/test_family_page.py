"""The family page manages links, not only adds dependants: change a relation, remove a link, link an
existing account with its consent (an invitation it accepts or declines) — and /api/v1/access does
the same. Inviting by email or phone answers the same whether or not the account exists."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages

from analytics.models import AuditEvent
from clinic import services
from clinic.models import Consent, UserPatientRelation
from conftest import login_verified
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def link_of(user, patient):
    return UserPatientRelation.with_invitations.filter(user=user, patient=patient).first()


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_page_lists_who_else_acts_with_forms_to_change_and_remove(client, alice, grace):
    login_verified(client, alice)
    html = client.get("/family/").content.decode()
    link = link_of(grace, alice.patient_record)
    assert "Grace Family" in html
    assert f"/family/{link.pk}/relation/" in html
    assert f"/access/family/{link.pk}/remove/" in html
    assert "/family/invite/" in html


def test_the_patient_changes_a_family_members_relation(client, alice, grace):
    link = link_of(grace, alice.patient_record)
    login_verified(client, alice)
    response = client.post(f"/family/{link.pk}/relation/", {f"rel-{link.pk}-relation": "other"})
    assert response.status_code == 302 and response["Location"] == "/family/"
    link.refresh_from_db()
    assert link.relation == "other"
    event = AuditEvent.objects.get(action="mapping.user_patient.updated", actor=alice)
    assert event.data["previous"] == "parent" and event.data["relation"] == "other"


def test_a_guardian_changes_their_own_relation_to_a_dependant(client, alice):
    mia = services.dependent_patient_create(actor=alice, name="Mia", date_of_birth=dt.date(2016, 1, 2),
                                            gender="female", relation="child")
    link = link_of(alice, mia)
    login_verified(client, alice)
    client.post(f"/family/{link.pk}/relation/", {f"rel-{link.pk}-relation": "other"})
    link.refresh_from_db()
    assert link.relation == "other"


def test_a_bad_relation_is_a_field_error(client, alice, grace):
    link = link_of(grace, alice.patient_record)
    login_verified(client, alice)
    response = client.post(f"/family/{link.pk}/relation/", {f"rel-{link.pk}-relation": "self"})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_rel-{link.pk}-relation_error"' in html and 'aria-invalid="true"' in html
    link.refresh_from_db()
    assert link.relation == "parent"


def test_others_cannot_change_or_remove_the_link(client, alice, grace, bob):
    link = link_of(grace, alice.patient_record)
    login_verified(client, bob)
    assert client.post(f"/family/{link.pk}/relation/", {f"rel-{link.pk}-relation": "other"}).status_code == 404
    assert client.post(f"/access/family/{link.pk}/remove/", {"next": "family"}).status_code == 404
    link.refresh_from_db()
    assert link.relation == "parent"


def test_the_patient_removes_a_link_from_the_family_page(client, alice, grace):
    link = link_of(grace, alice.patient_record)
    login_verified(client, alice)
    response = client.post(f"/access/family/{link.pk}/remove/", {"next": "family"})
    assert response.status_code == 302 and response["Location"] == "/family/"
    assert link_of(grace, alice.patient_record) is None
    assert AuditEvent.objects.filter(action="mapping.user_patient.removed", actor=alice).exists()


def test_the_last_guardian_of_a_dependant_cannot_leave_them_without_anyone(client, alice):
    mia = services.dependent_patient_create(actor=alice, name="Mia", date_of_birth=dt.date(2016, 1, 2),
                                            gender="female", relation="child")
    link = link_of(alice, mia)
    login_verified(client, alice)
    response = client.post(f"/access/family/{link.pk}/remove/", {"next": "family"})
    assert response.status_code == 302
    assert link_of(alice, mia) is not None
    assert any("only one caring for Mia" in m for m in flashes(response))


def test_inviting_an_existing_account_waits_for_its_consent(client, alice, bob):
    login_verified(client, alice)
    response = client.post("/family/invite/", {"invite-patient": str(alice.patient_record.pk),
                                               "invite-login": bob.email, "invite-relation": "spouse"})
    assert response.status_code == 302 and response["Location"] == "/family/"
    link = link_of(bob, alice.patient_record)
    assert link.consent == Consent.PENDING and link.relation == "spouse" and link.invited_by == alice
    assert AuditEvent.objects.filter(action="mapping.user_patient.invited", actor=alice).exists()
    # Bob answers on his family page.
    client.force_login(bob)
    page = client.get("/family/").content.decode()
    assert "Invitations for you" in page and f"/access/family/{link.pk}/accept/" in page
    assert '<input type="hidden" name="next" value="family">' in page  # answering returns here
    response = client.post(f"/access/family/{link.pk}/accept/", {"next": "family"})
    assert response["Location"] == "/family/"
    link.refresh_from_db()
    assert link.consent == Consent.ACCEPTED


def test_declining_leaves_no_link(client, alice, bob):
    services.family_invite(actor=alice, patient=alice.patient_record, login=bob.phone, relation="other")
    link = link_of(bob, alice.patient_record)
    login_verified(client, bob)
    client.post(f"/access/family/{link.pk}/decline/", {"next": "family"})
    assert link_of(bob, alice.patient_record) is None


def test_the_invitation_answers_the_same_whether_or_not_the_account_exists(client, alice, bob, grace):
    login_verified(client, alice)
    answers = []
    for login in (bob.email, "nobody@example.com", grace.email):  # exists / does not / already linked
        response = client.post("/family/invite/", {"invite-patient": str(alice.patient_record.pk),
                                                   "invite-login": login, "invite-relation": "other"})
        answers.append((response.status_code, response["Location"], flashes(response)))
        client.get("/family/")  # shows (and so clears) the flash
    assert answers[0] == answers[1] == answers[2]
    assert link_of(grace, alice.patient_record).consent == Consent.ACCEPTED  # unchanged


def test_invite_form_errors_are_field_errors(client, alice):
    login_verified(client, alice)
    response = client.post("/family/invite/", {"invite-patient": str(alice.patient_record.pk),
                                               "invite-login": "", "invite-relation": "other"})
    assert response.status_code == 400
    assert 'id="id_invite-login_error"' in response.content.decode()


def test_a_family_member_of_a_patient_with_an_account_cannot_invite(client, alice, grace, bob):
    login_verified(client, grace)
    response = client.post("/family/invite/", {"invite-patient": str(alice.patient_record.pk),
                                               "invite-login": bob.email, "invite-relation": "other"})
    assert response.status_code == 400  # Alice is not among the patients Grace may invite for
    assert link_of(bob, alice.patient_record) is None


def test_an_invalid_dependant_is_a_400_with_field_errors(client, alice):
    login_verified(client, alice)
    response = client.post("/family/", {"name": "", "date_of_birth": "2016-01-02", "gender": "female",
                                        "relation": "child"})
    assert response.status_code == 400 and 'id="id_name_error"' in response.content.decode()


# --- the API -----------------------------------------------------------------------------------------

def test_api_invite_answers_the_same_and_the_account_accepts(api_as, alice, bob):
    api = api_as(alice)
    answers = []
    for login in (bob.email, "nobody@example.com"):
        response = api.post("/api/v1/access/invite", {"patient_id": str(alice.patient_record.pk), "login": login,
                                                      "relation": "spouse"}, content_type="application/json")
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] and answers[0][0] == 202
    link = link_of(bob, alice.patient_record)
    assert link.consent == Consent.PENDING
    response = api_as(bob).post(f"/api/v1/access/family/{link.pk}/accept")
    assert response.status_code == 200 and response.json()["consent"] == "accepted"


def test_api_invite_refuses_who_does_not_manage(api_as, alice, grace, bob):
    body = {"patient_id": str(alice.patient_record.pk), "login": bob.email, "relation": "other"}
    assert api_as(grace).post("/api/v1/access/invite", body, content_type="application/json").status_code == 403
    assert api_as(bob).post("/api/v1/access/invite", body, content_type="application/json").status_code == 404
    assert link_of(bob, alice.patient_record) is None


def test_api_changes_a_relation_including_an_invitation(api_as, alice, bob):
    services.family_invite(actor=alice, patient=alice.patient_record, login=bob.email, relation="other")
    link = link_of(bob, alice.patient_record)
    response = api_as(alice).put(f"/api/v1/access/family/{link.pk}", {"relation": "spouse"},
                                 content_type="application/json")
    assert response.status_code == 200 and response.json()["relation"] == "spouse"
    bad = api_as(alice).put(f"/api/v1/access/family/{link.pk}", {"relation": "self"},
                            content_type="application/json")
    assert bad.status_code == 422 and "Self" in bad.content.decode()
    assert api_as(alice).put(f"/api/v1/access/doctor/{link.pk}", {"relation": "spouse"},
                             content_type="application/json").status_code == 404


def test_api_documents_the_new_operations(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "post" in spec["paths"]["/api/v1/access/invite"]
    assert "put" in spec["paths"]["/api/v1/access/{kind}/{link_id}"]


def test_dependants_appear_with_wellness_links(client, alice):
    mia = PatientFactory(name="Mia Kid")
    UserPatientRelation.objects.create(user=alice, patient=mia, relation="child")
    login_verified(client, alice)
    html = client.get("/family/").content.decode()
    assert f"/wellness/charts/?patient={mia.pk}" in html and f"/wellness/?patient={mia.pk}" in html
