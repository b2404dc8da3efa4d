"""Appointments × pages (the patient's, the doctor's and the hospital's)."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

emergency = {"appointment_id": lambda w: w.emergency.pk}

ROWS = [
    page("GET", "appointment_list", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "appointment_book", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE),
    page("GET", "appointment_detail", LOGIN, 200, VERIFY, 200, 404, 200, VERIFY, 404, 200, 200, GONE, clinical={"grace", "carol", "ada"}),  # staff are shown no reason,
    page("GET", "appointment_status", LOGIN, 200, VERIFY, 200, 404, 200, VERIFY, 404, 200, 200, GONE),
    page("POST", "appointment_cancel", LOGIN, 400, VERIFY, 400, 404, 400, VERIFY, 404, 400, 400, GONE, data={"reason": "Feeling better"}),
    page("POST", "appointment_reschedule", LOGIN, 400, VERIFY, 400, 404, 400, VERIFY, 404, 400, 400, GONE),
    page("POST", "appointment_confirm", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, GONE, GONE, GONE),
    page("POST", "appointment_complete", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, GONE, GONE, GONE),
    page("POST", "appointment_no_show", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, GONE, GONE, GONE),
    page("POST", "doctor_appointment_confirm", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("GET", "emergency_request", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "emergency_queue", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, GONE, clinical={"carol"}),  # the doctor alerted to it,
    page("GET", "emergency_queue_count", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, GONE),
    page("POST", "emergency_accept", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE, params=emergency),
    page("GET", "hospital_appointments", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 200, 404, GONE),
]

test_access = matrix_test(ROWS)
