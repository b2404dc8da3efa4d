"""Notification × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test

ROWS = [
    api("GET", "/api/v1/notifications", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/notifications/read-all", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("POST", "/api/v1/notifications/{notification_id}/read", 401, 200, 401, 404, 404, 404, 401, 404, 404, 404, 403),
]

test_access = matrix_test(ROWS)
