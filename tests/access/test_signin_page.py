"""Sign-in, sign-up and account e-mail/password pages (django-allauth, under /accounts/) × pages."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

bad_key = {"key": lambda w: "not-a-key"}

ROWS = [
    page("GET", "/accounts/signup/", GONE, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "/admin/login/", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, GONE),
    page("GET", "account_login", 200, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("POST", "account_logout", GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE),
    page("GET", "account_inactive", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_signup", GONE, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "account_reauthenticate", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_email", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_email_verification_sent", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_change_password", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_set_password", LOGIN, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "account_reset_password", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_confirm_login_code", LOGIN, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "account_confirm_email", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE, params=bad_key),
    page("GET", "account_verify_phone", LOGIN, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, GONE, GONE),
    page("GET", "account_change_phone", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_reset_password_from_key_done", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "account_reset_password_from_key", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE, params={"uidb36": lambda w: "1", "key": lambda w: "bad"}),
    page("GET", "account_reset_password_done", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
]

test_access = matrix_test(ROWS)
