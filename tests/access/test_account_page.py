"""Accounts, sign-in, second factor, the hospital's staff and the public pages × pages."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

invitation = {"token": lambda w: w.invitation.token}

ROWS = [
    page("GET", "health", 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    page("GET", "/favicon.ico", 301, 301, VERIFY, 301, 301, 301, VERIFY, 301, 301, 301, GONE),
    page("GET", "home", 200, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "signup", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "patient_signup", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "doctor_apply", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "hospital_signup", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "dashboard", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "profile", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    # (the target is Alice: her own avatar loads on the pages her session is held at, so no VERIFY)
    page("GET", "user_photo", LOGIN, 404, 404, 404, 404, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "set_language", GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, data={"language": "en"}),
    page("GET", "application_status", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, 200),
    page("GET", "doctor_reapply", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, 404),
    page("GET", "hospital_application_status", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 200, 404, 404),
    page("GET", "two_factor_manage", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "two_factor_setup", LOGIN, GONE, GONE, 200, 200, GONE, GONE, GONE, 200, GONE, 200),
    page("GET", "two_factor_verify", LOGIN, GONE, 200, VERIFY, VERIFY, GONE, 200, GONE, VERIFY, GONE, VERIFY),
    page("GET", "two_factor_backup_codes", LOGIN, 200, VERIFY, GONE, GONE, 200, VERIFY, 200, GONE, 200, GONE),
    page("POST", "two_factor_remove", LOGIN, 400, VERIFY, VERIFY, VERIFY, 400, VERIFY, 400, VERIFY, 400, GONE, data={"password": "Correct-horse-42!"}),
    page("GET", "hospital_staff", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 200, 404, GONE),
    page("GET", "staff_invitation_accept", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE, params=invitation),
    page("GET", "signup_done", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "identity_change_undo", 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, params={"token": lambda w: w.identity_undo_token}),
]

test_access = matrix_test(ROWS)
