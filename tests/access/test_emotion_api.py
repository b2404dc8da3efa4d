"""Emotion × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test

ROWS = [
    # Each person's own consent (Grace and Bob have their own patient records); no record, 404.
    api("GET", "/api/v1/auth/face-capture/consent", 401, 200, 401, 200, 200, 404, 401, 404, 404, 404, 403),
    api("PUT", "/api/v1/auth/face-capture/consent", 401, 200, 401, 200, 200, 404, 401, 404, 404, 404, 403, data={"capture": True, "keep_images": False}),
    api("DELETE", "/api/v1/auth/face-capture/consent", 401, 200, 401, 200, 200, 404, 401, 404, 404, 404, 403),
    api("POST", "/api/v1/auth/face-capture", 401, 403, 401, 403, 403, 404, 401, 404, 404, 404, 403),
    api("GET", "/api/v1/auth/face-capture/{job_id}", 401, 200, 401, 404, 404, 404, 401, 404, 404, 404, 403, clinical=True),
    api("GET", "/api/v1/patients/{patient_id}/emotions", 401, 200, 401, 200, 404, 200, 401, 404, 404, 200, 403, clinical=True),
    api("DELETE", "/api/v1/patients/{patient_id}/emotions", 401, 204, 401, 403, 404, 403, 401, 404, 404, 403, 403),
]

test_access = matrix_test(ROWS)
