"""Doctors' directory and schedule, a doctor's patients, family, the hospital's doctors and
patients × pages."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

doctor_link = {"link_id": lambda w: w.hospital_doctor.pk}

# Access links by kind (the /access routes): Carol's pending referral of Erin, waiting for Alice;
# Alice's pending invitation of Bob, waiting for Bob; Grace's accepted family link.
referral = {"kind": lambda w: "doctor", "link_id": lambda w: w.referral.pk}
family_invitation = {"kind": lambda w: "family", "link_id": lambda w: w.family_invitation.pk}
family_link = {"kind": lambda w: "family", "link_id": lambda w: w.family_link.pk}

ROWS = [
    page("GET", "doctor_search", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "doctor_detail", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "family", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("POST", "family_invite", LOGIN, GONE, VERIFY, 400, 400, 404, VERIFY, 404, 404, 404, GONE, data=lambda w: {"invite-patient": str(w.patient.pk), "invite-login": "nobody@example.com", "invite-relation": "other"}),
    page("POST", "family_relation", LOGIN, GONE, VERIFY, GONE, 404, 404, VERIFY, 404, 404, 404, GONE, params={"link_id": lambda w: w.family_link.pk}, data=lambda w: {f"rel-{w.family_link.pk}-relation": "other"}),
    page("GET", "doctor_schedule", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, GONE),
    page("POST", "doctor_exception_add", LOGIN, 404, VERIFY, 404, 404, 400, VERIFY, 400, 404, 404, GONE),
    page("POST", "doctor_exception_remove", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("GET", "doctor_patients", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, GONE),
    page("GET", "doctor_patient_detail", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 404, 404, 404, GONE, clinical=True),
    page("GET", "hospital_doctors", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 200, 404, GONE),
    page("POST", "hospital_doctor_add", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, GONE, 404, GONE, data=lambda w: {"email": w.dave.email}),
    page("POST", "hospital_doctor_remove", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, GONE, 404, GONE, params=doctor_link),
    page("GET", "hospital_patients", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 200, 404, GONE),
    page("POST", "hospital_patient_add", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 400, 404, GONE, data=lambda w: {"identifier": w.bob.email}),
    page("POST", "hospital_patient_remove", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, GONE, 404, GONE),
    page("GET", "notifications", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("POST", "notifications_mark_all_read", LOGIN, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("POST", "notification_open", LOGIN, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "patient_photo", LOGIN, 200, VERIFY, 200, 404, 200, VERIFY, 404, 200, 200, GONE),
    page("GET", "patient_access", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("POST", "patient_access_invite", LOGIN, GONE, VERIFY, 400, 400, 404, VERIFY, 404, 404, 404, GONE, data=lambda w: {"patient": str(w.patient.pk), "login": "nobody@example.com", "relation": "other"}),
    page("POST", "patient_access_accept", LOGIN, GONE, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE, params=referral),
    page("POST", "patient_access_accept", LOGIN, GONE, VERIFY, 404, GONE, 404, VERIFY, 404, 404, 404, GONE, params=family_invitation, note="family invitation"),
    page("POST", "patient_access_decline", LOGIN, GONE, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE, params=referral),
    page("POST", "patient_access_decline", LOGIN, GONE, VERIFY, 404, GONE, 404, VERIFY, 404, 404, 404, GONE, params=family_invitation, note="family invitation"),
    page("POST", "patient_access_remove", LOGIN, GONE, VERIFY, GONE, 404, 404, VERIFY, 404, 404, 404, GONE, params=family_link),
]

test_access = matrix_test(ROWS)
