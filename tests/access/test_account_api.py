"""Account × API (/api/v1, JWT)."""

from tests.access.world import PASSWORD
from tests.access.matrix import api, matrix_test

ROWS = [
    api("GET", "/api/v1/", 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    api("POST", "/api/v1/auth/login", 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, data=lambda w: {"login": w.alice.email, "password": PASSWORD}),
    api("POST", "/api/v1/auth/refresh", 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 422),
    # Pat's 429 is the eleventh sign-up from one address this hour (THROTTLE_SIGNUP_RATE 10/h): each
    # row's cells run in one test, in column order, so the last column meets the throttle.
    api("POST", "/api/v1/auth/patient-signup", 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 429),
    api("POST", "/api/v1/auth/doctor-signup", 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 429),
    api("POST", "/api/v1/auth/hospital-signup", 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 429),
    api("POST", "/api/v1/auth/signup", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("GET", "/api/v1/users/me", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 200),
    api("PUT", "/api/v1/users/me", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, data={"name": "Renamed"}),
    api("GET", "/api/v1/users", 401, 403, 401, 403, 403, 403, 401, 403, 403, 200, 403),
    api("GET", "/api/v1/users/{user_id}", 401, 200, 401, 404, 404, 404, 401, 404, 404, 200, 403),
    api("PUT", "/api/v1/users/{user_id}", 401, 200, 401, 404, 404, 404, 401, 404, 404, 200, 403, data={"name": "Renamed"}),
    api("GET", "/api/v1/users/me/application", 401, 404, 401, 404, 404, 200, 401, 200, 200, 404, 200),
    api("POST", "/api/v1/auth/logout", 401, 204, 401, 204, 204, 204, 401, 204, 204, 204, 204),
]

test_access = matrix_test(ROWS)
