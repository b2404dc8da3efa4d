"""Wellness × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test

ROWS = [
    api("GET", "/api/v1/patients/{patient_id}/wellness", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("POST", "/api/v1/patients/{patient_id}/wellness", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403, data=lambda w: {"date": w.params["date"], "mood": 5, "stress": 5}),
    api("GET", "/api/v1/patients/{patient_id}/wellness/streaks", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("GET", "/api/v1/patients/{patient_id}/wellness/settings", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403),
    api("PUT", "/api/v1/patients/{patient_id}/wellness/settings", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("PUT", "/api/v1/patients/{patient_id}/wellness/{date}", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403, data={"mood": 5, "stress": 5}),
    api("GET", "/api/v1/patients/{patient_id}/habits", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("POST", "/api/v1/patients/{patient_id}/habits", 401, 201, 401, 201, 404, 201, 401, 404, 404, 403, 403, data={"name": "Run"}),
    api("PUT", "/api/v1/patients/{patient_id}/habits/{habit_id}", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403, data={"name": "Run"}),
    api("DELETE", "/api/v1/patients/{patient_id}/habits/{habit_id}", 401, 204, 401, 204, 404, 403, 401, 404, 404, 403, 403),
    api("GET", "/api/v1/patients/{patient_id}/tasks", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("POST", "/api/v1/patients/{patient_id}/tasks", 401, 201, 401, 201, 404, 403, 401, 404, 404, 403, 403, data={"title": "Stretch"}),
    api("PUT", "/api/v1/patients/{patient_id}/tasks/{task_id}", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403, params={"task_id": lambda w: w.task.pk}, data={"title": "Stretch"}),
    api("POST", "/api/v1/patients/{patient_id}/tasks/carry-over", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403),
    api("GET", "/api/v1/patients/{patient_id}/reviews/{date}", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("PUT", "/api/v1/patients/{patient_id}/reviews/{date}", 401, 200, 401, 200, 404, 403, 401, 404, 404, 403, 403, data={"reflection": "Fine"}),
]

test_access = matrix_test(ROWS)
