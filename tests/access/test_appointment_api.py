"""Appointment × API (/api/v1, JWT)."""

import datetime as dt

from tests.access.matrix import api, matrix_test

# Readers shown Alice's reason or notes (staff get an emergency's reason only; Bob and Dave list nothing of hers).
READERS = {"grace", "carol", "ada"}
WITH_EMERGENCY = READERS | {"hana"}  # lists that include Alice's emergency at Riverside

ROWS = [
    api("GET", "/api/v1/doctors/{doctor_id}/appointments", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, clinical=READERS),
    api("GET", "/api/v1/patients/{patient_id}/appointments", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403, clinical=WITH_EMERGENCY),
    api("POST", "/api/v1/appointments", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("GET", "/api/v1/appointments", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, clinical=WITH_EMERGENCY),
    api("POST", "/api/v1/appointments/emergency", 401, 409, 401, 409, 404, 404, 401, 404, 409, 409, 403, data=lambda w: {"patient_id": str(w.patient.pk), "reason": "Chest pain"}),
    api("GET", "/api/v1/appointments/doctor/{doctor_id}", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, clinical=READERS),
    api("GET", "/api/v1/appointments/patient/{patient_id}", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403, clinical=WITH_EMERGENCY),
    api("GET", "/api/v1/appointments/hospital/{hospital_id}", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, clinical=WITH_EMERGENCY),
    api("GET", "/api/v1/appointments/{appointment_id}", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403, clinical=READERS),
    api("PUT", "/api/v1/appointments/{appointment_id}", 401, 403, 401, 403, 404, 200, 401, 404, 403, 200, 403, data={"notes": "Changed"}),
    api("DELETE", "/api/v1/appointments/{appointment_id}", 401, 422, 401, 422, 404, 422, 401, 404, 422, 422, 403),
    api("PUT", "/api/v1/appointments/{appointment_id}/status", 401, 403, 401, 403, 404, 400, 401, 404, 403, 400, 403, data={"status": "completed"}),
    api("PUT", "/api/v1/appointments/{appointment_id}/cancel", 401, 200, 401, 200, 404, 200, 401, 404, 200, 200, 403, data={"reason": "Feeling better"}),
    api("PUT", "/api/v1/appointments/{appointment_id}/reschedule", 401, 409, 401, 409, 404, 409, 401, 404, 409, 409, 403, data=lambda w: {"start": (w.appointment.start + dt.timedelta(days=1)).isoformat()}),
    api("POST", "/api/v1/appointments/{appointment_id}/accept", 401, 404, 401, 404, 404, 200, 401, 404, 404, 404, 403, params={"appointment_id": lambda w: w.emergency.pk}),
]

test_access = matrix_test(ROWS)
