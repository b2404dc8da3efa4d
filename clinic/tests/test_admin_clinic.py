"""Django admin for the clinic: appointment filters, read-only history, mappings through services."""

import datetime as dt

import pytest
from django.utils import timezone

from analytics.models import AuditEvent
from clinic import services
from clinic.models import (
    Appointment,
    AppointmentEvent,
    CareTeamMember,
    HospitalDoctor,
    HospitalPatient,
    UserPatientRelation,
)
from conftest import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital_h(hana):
    return hana.hospital_staff.hospital


@pytest.fixture
def appointment(alice, carol, hospital_h):
    start = timezone.now() + dt.timedelta(days=2)
    a = Appointment.objects.create(patient=alice.patient_record, doctor=carol.doctor_profile, hospital=hospital_h,
                                   type="regular", start=start, end=start + dt.timedelta(minutes=30))
    AppointmentEvent.objects.create(appointment=a, kind="requested", actor=alice, reason="Booked online")
    return a


@pytest.fixture
def admin_client(client, ada):
    return login_verified(client, ada)


def test_appointment_changelist_filters_load(admin_client, appointment, carol, alice, hospital_h):
    base = "/admin/clinic/appointment/"
    queries = ["", f"?doctor__id__exact={carol.doctor_profile.id}", f"?patient__id__exact={alice.patient_record.id}",
               f"?hospital__id__exact={hospital_h.id}", "?status__exact=requested", "?type__exact=regular",
               f"?start__year={appointment.start.year}&start__month={appointment.start.month}",
               "?q=Alice"]
    for query in queries:
        response = admin_client.get(base + query)
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == 1, query
    body = admin_client.get(base).content.decode()
    # (a filter with a single choice is hidden by Django, as "By patient" is here)
    for title in ("By doctor", "By hospital", "By status", "By type", "By start"):
        assert title in body
    assert admin_client.get(base + "?status__exact=cancelled").context["cl"].result_count == 0


def test_appointment_is_read_only_with_its_history(admin_client, appointment):
    response = admin_client.get(f"/admin/clinic/appointment/{appointment.id}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Booked online" in body
    assert 'name="_save"' not in body
    assert admin_client.get("/admin/clinic/appointment/add/").status_code == 403
    response = admin_client.post(f"/admin/clinic/appointment/{appointment.id}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Appointment.objects.filter(pk=appointment.pk).exists()


@pytest.mark.parametrize("model, data, action", [
    ("hospitaldoctor", lambda f: {"hospital": f["hospital"].id, "doctor": f["carol"].doctor_profile.id},
     "mapping.hospital_doctor.added"),
    ("hospitalpatient", lambda f: {"hospital": f["hospital"].id, "patient": f["alice"].patient_record.id},
     "mapping.hospital_patient.added"),
    ("careteammember", lambda f: {"doctor": f["carol"].doctor_profile.id, "patient": f["alice"].patient_record.id},
     "mapping.doctor_patient.added"),
    ("userpatientrelation", lambda f: {"user": f["bob"].id, "patient": f["alice"].patient_record.id,
                                       "relation": "spouse"}, "mapping.user_patient.added"),
])
def test_admin_creates_mappings_through_the_service(admin_client, ada, alice, bob, carol, hospital_h, model, data,
                                                    action):
    fixtures = {"hospital": hospital_h, "alice": alice, "bob": bob, "carol": carol}
    response = admin_client.post(f"/admin/clinic/{model}/add/", data(fixtures))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.filter(action=action, actor=ada).count() == 1


def test_admin_mapping_duplicate_is_a_form_error(admin_client, carol, hospital_h):
    HospitalDoctor.objects.create(hospital=hospital_h, doctor=carol.doctor_profile)
    response = admin_client.post("/admin/clinic/hospitaldoctor/add/",
                                 {"hospital": hospital_h.id, "doctor": carol.doctor_profile.id})
    assert response.status_code == 200
    assert HospitalDoctor.objects.count() == 1


def test_admin_deletes_mappings_through_the_service(admin_client, ada, alice, carol, hospital_h):
    link = HospitalDoctor.objects.create(hospital=hospital_h, doctor=carol.doctor_profile)
    response = admin_client.post(f"/admin/clinic/hospitaldoctor/{link.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not HospitalDoctor.objects.exists()
    assert AuditEvent.objects.filter(action="mapping.hospital_doctor.removed", actor=ada).exists()

    members = [services.care_team_add(actor=None, doctor=carol.doctor_profile, patient=alice.patient_record)]
    patient_link = HospitalPatient.objects.create(hospital=hospital_h, patient=alice.patient_record)
    admin_client.post("/admin/clinic/careteammember/", {
        "action": "delete_selected", "_selected_action": [m.id for m in members], "post": "yes"})
    assert not CareTeamMember.objects.exists()
    assert AuditEvent.objects.filter(action="mapping.doctor_patient.removed", actor=ada).exists()
    admin_client.post(f"/admin/clinic/hospitalpatient/{patient_link.id}/delete/", {"post": "yes"})
    assert AuditEvent.objects.filter(action="mapping.hospital_patient.removed", actor=ada).exists()


def test_admin_changes_a_relation_through_the_service(admin_client, ada, grace, alice):
    link = UserPatientRelation.objects.get(user=grace, patient=alice.patient_record)
    response = admin_client.post(f"/admin/clinic/userpatientrelation/{link.id}/change/", {"relation": "other"})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.relation == "other"
    assert AuditEvent.objects.filter(action="mapping.user_patient.updated", actor=ada).exists()


@pytest.mark.parametrize("url", ["/admin/clinic/appointment/", "/admin/clinic/hospitaldoctor/",
                                 "/admin/clinic/hospitalpatient/", "/admin/clinic/careteammember/",
                                 "/admin/clinic/userpatientrelation/"])
def test_mapping_changelists_load_and_are_admin_only(client, ada, hana, appointment, url):
    login_verified(client, hana)
    assert client.get(url).status_code == 302  # to the sign-in page
    client.logout()
    login_verified(client, ada)
    assert client.get(url).status_code == 200


def test_patient_and_doctor_inlines_are_read_only(admin_client, alice, carol):
    body = admin_client.get(f"/admin/clinic/patient/{alice.patient_record.id}/change/").content.decode()
    assert "user_relations-0-relation" not in body  # shown, not editable
    body = admin_client.get(f"/admin/clinic/doctorprofile/{carol.doctor_profile.id}/change/").content.decode()
    assert "availability-TOTAL_FORMS" in body and "availability-0-weekday" not in body


def test_admin_names_things_readably(admin_client, alice, carol, hana, hospital_h):
    """No raw JSON for specialities, no UUID boxes for people, no "settingss", no "… object (…)",
    no "Otp_Totp" (issue 10)."""
    from telehealth.models import Chat, ChatReadState
    from wellness.models import WellnessSettings

    hospital_h.specialities = ["Psychiatry", "Cardiology"]
    hospital_h.save()
    index = admin_client.get("/admin/").content.decode()
    assert "Otp_Totp" not in index and "Otp_Static" not in index
    assert "Two-factor: authenticator apps" in index
    assert "settingss" not in index.lower()
    page = admin_client.get(f"/admin/clinic/hospital/{hospital_h.pk}/change/").content.decode()
    assert 'value="Psychiatry, Cardiology"' in page and "[&quot;Psychiatry&quot;" not in page
    assert "vForeignKeyRawIdAdminField" not in page  # staff chosen by name, not by pasting a UUID
    assert hana.name in page
    chat = Chat.objects.create(patient=alice.patient_record, doctor=carol.doctor_profile)
    state = ChatReadState.objects.create(chat=chat, user=alice, last_read_seq=3)
    assert "object (" not in str(state) and alice.name in str(state)
    settings_row = WellnessSettings.objects.create(patient=alice.patient_record)
    assert "object (" not in str(settings_row)
    listing = admin_client.get("/admin/wellness/wellnesssettings/").content.decode()
    assert "object (" not in listing and "settingss" not in listing.lower()


def test_admin_saves_specialities_typed_as_text(admin_client, hospital_h):
    from clinic.models import Hospital

    url = f"/admin/clinic/hospital/{hospital_h.pk}/change/"
    staff = hospital_h.staff.get()
    response = admin_client.post(url, {
        "name": hospital_h.name, "address": hospital_h.address, "contact": hospital_h.contact,
        "email": hospital_h.email, "specialities": "Psychiatry,  Paediatrics ,", "staff-TOTAL_FORMS": "1",
        "staff-INITIAL_FORMS": "1", "staff-MIN_NUM_FORMS": "0", "staff-MAX_NUM_FORMS": "1000",
        "staff-0-id": staff.pk, "staff-0-hospital": hospital_h.pk, "staff-0-user": staff.user_id,
        "staff-0-is_owner": "on" if staff.is_owner else ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Hospital.objects.get(pk=hospital_h.pk).specialities == ["Psychiatry", "Paediatrics"]
