"""Clinic × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test

# Access links by kind (the /access routes): Carol's pending referral of Erin, waiting for Alice;
# Alice's pending invitation of Bob, waiting for Bob; Grace's accepted family link.
referral = {"kind": lambda w: "doctor", "link_id": lambda w: w.referral.pk}
family_invitation = {"kind": lambda w: "family", "link_id": lambda w: w.family_invitation.pk}
family_link = {"kind": lambda w: "family", "link_id": lambda w: w.family_link.pk}

ROWS = [
    api("GET", "/api/v1/hospitals", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/hospitals", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("GET", "/api/v1/hospitals/{hospital_id}", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("PUT", "/api/v1/hospitals/{hospital_id}", 401, 403, 401, 403, 403, 403, 401, 403, 200, 200, 403),
    api("DELETE", "/api/v1/hospitals/{hospital_id}", 401, 403, 401, 403, 403, 403, 401, 403, 403, 409, 403),
    api("GET", "/api/v1/hospitals/{hospital_id}/doctors", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("GET", "/api/v1/hospitals/{hospital_id}/patients", 401, 404, 401, 404, 404, 404, 401, 404, 200, 200, 403),
    api("GET", "/api/v1/doctors", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/doctors", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("GET", "/api/v1/doctors/{doctor_id}", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("PUT", "/api/v1/doctors/{doctor_id}", 401, 403, 401, 403, 403, 200, 401, 403, 403, 200, 403),
    api("DELETE", "/api/v1/doctors/{doctor_id}", 401, 403, 401, 403, 403, 403, 401, 403, 403, 204, 403),
    api("GET", "/api/v1/doctors/{doctor_id}/patients", 401, 404, 401, 404, 404, 200, 401, 404, 404, 200, 403),
    api("GET", "/api/v1/doctors/{doctor_id}/hospitals", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("GET", "/api/v1/doctors/{doctor_id}/slots", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("GET", "/api/v1/patients", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/patients", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("GET", "/api/v1/patients/{patient_id}", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403),
    api("PUT", "/api/v1/patients/{patient_id}", 401, 200, 401, 200, 404, 403, 401, 404, 403, 200, 403, data={"name": "Renamed"}),
    api("DELETE", "/api/v1/patients/{patient_id}", 401, 403, 401, 403, 404, 403, 401, 404, 403, 409, 403),
    api("GET", "/api/v1/patients/{patient_id}/doctors", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403),
    api("GET", "/api/v1/patients/{patient_id}/hospitals", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403),
    api("POST", "/api/v1/mappings/hospital-doctor", 401, 403, 401, 403, 403, 403, 401, 403, 201, 201, 403, data=lambda w: {"hospital_id": str(w.riverside.pk), "doctor_id": str(w.dave.doctor_profile.pk)}),
    api("DELETE", "/api/v1/mappings/hospital-doctor/{mapping_id}", 401, 403, 401, 403, 403, 403, 401, 403, 204, 204, 403, params={"mapping_id": lambda w: w.hospital_doctor.pk}),
    api("POST", "/api/v1/mappings/hospital-patient", 401, 404, 401, 404, 403, 404, 401, 404, 404, 201, 403, data=lambda w: {"hospital_id": str(w.riverside.pk), "patient_id": str(w.bob.patient_record.pk)}),
    api("DELETE", "/api/v1/mappings/hospital-patient/{mapping_id}", 401, 403, 401, 403, 404, 403, 401, 404, 204, 204, 403),
    api("POST", "/api/v1/mappings/doctor-patient", 401, 403, 401, 403, 404, 201, 401, 404, 403, 201, 403, data=lambda w: {"doctor_id": str(w.dave.doctor_profile.pk), "patient_id": str(w.patient.pk)}),
    api("DELETE", "/api/v1/mappings/doctor-patient/{mapping_id}", 401, 403, 401, 403, 404, 204, 401, 404, 204, 204, 403, params={"mapping_id": lambda w: w.care_team_member.pk}),
    api("POST", "/api/v1/mappings/user-patient", 401, 201, 401, 403, 404, 403, 401, 404, 403, 201, 403, data=lambda w: {"user_id": str(w.hana.pk), "patient_id": str(w.patient.pk), "relation": "parent"}),
    api("PUT", "/api/v1/mappings/user-patient/{mapping_id}", 401, 200, 401, 200, 404, 403, 401, 404, 403, 200, 403, params={"mapping_id": lambda w: w.family_link.pk}, data={"relation": "child"}),
    api("DELETE", "/api/v1/mappings/user-patient/{mapping_id}", 401, 204, 401, 204, 404, 403, 401, 404, 403, 204, 403, params={"mapping_id": lambda w: w.family_link.pk}),
    api("GET", "/api/v1/mappings/user/{user_id}/patients", 401, 200, 401, 404, 404, 404, 401, 404, 404, 200, 403),
    api("GET", "/api/v1/access", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/access/{kind}/{link_id}/accept", 401, 200, 401, 404, 404, 404, 401, 404, 404, 404, 403, params=referral),
    api("POST", "/api/v1/access/{kind}/{link_id}/accept", 401, 403, 401, 404, 200, 404, 401, 404, 404, 404, 403, params=family_invitation, note="family invitation"),
    api("POST", "/api/v1/access/{kind}/{link_id}/decline", 401, 204, 401, 404, 404, 404, 401, 404, 404, 404, 403, params=referral),
    api("POST", "/api/v1/access/{kind}/{link_id}/decline", 401, 403, 401, 404, 204, 404, 401, 404, 404, 404, 403, params=family_invitation, note="family invitation"),
    api("POST", "/api/v1/access/invite", 401, 202, 401, 403, 404, 403, 401, 404, 403, 202, 403, data=lambda w: {"patient_id": str(w.patient.pk), "login": "nobody@example.com", "relation": "other"}),
    api("PUT", "/api/v1/access/{kind}/{link_id}", 401, 200, 401, 200, 404, 404, 401, 404, 404, 404, 403, params=family_link, data={"relation": "other"}),
    api("DELETE", "/api/v1/access/{kind}/{link_id}", 401, 204, 401, 204, 404, 404, 401, 404, 404, 404, 403, params=family_link),
]

test_access = matrix_test(ROWS)
