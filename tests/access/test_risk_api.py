"""Risk × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test

ROWS = [
    api("GET", "/api/v1/doctors/{doctor_id}/stress-ranking", 401, 404, 401, 404, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("GET", "/api/v1/patients/{patient_id}/risk-flags", 401, 404, 401, 404, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("POST", "/api/v1/patients/{patient_id}/risk-flags", 401, 404, 401, 404, 404, 409, 401, 404, 404, 403, 403, data={"reason": "Worried", "follow_up": "call"}),
    api("PUT", "/api/v1/risk-flags/{flag_id}", 401, 404, 401, 404, 404, 200, 401, 404, 404, 403, 403, data={"action": "clear"}),
    api("POST", "/api/v1/follow-ups/{task_id}/done", 401, 404, 401, 404, 404, 200, 401, 404, 404, 403, 403),
]

test_access = matrix_test(ROWS)
