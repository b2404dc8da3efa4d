import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD, login_verified, totp_code, totp_enrol

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_doctors_and_admins_must_enrol_before_any_page(client, request, who):
    user = request.getfixturevalue(who)
    sign_in(client, user)
    for path in ["/dashboard/", "/account/profile/", "/admin/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.url.startswith("/account/2fa/setup/"), (path, response.url)


def test_patients_are_not_forced(client, alice):
    sign_in(client, alice)
    assert client.get("/dashboard/").status_code == 200


def test_enrolment_with_qr_then_backup_codes_then_dashboard(client, carol):
    sign_in(client, carol)
    page = client.get("/account/2fa/setup/?next=/dashboard/")
    assert page.status_code == 200
    assert "data:image/svg+xml;base64," in page.content.decode()
    device = TOTPDevice.objects.get(user=carol, confirmed=False)
    bad = client.post("/account/2fa/setup/?next=/dashboard/", {"token": "000000"})
    assert "not right" in bad.content.decode()
    response = client.post("/account/2fa/setup/?next=/dashboard/", {"token": totp_code(device), "next": "/dashboard/"})
    assert response.status_code == 302 and response.url.startswith("/account/2fa/backup-codes/")
    codes_page = client.get(response.url).content.decode()
    codes = list(StaticToken.objects.filter(device__user=carol).values_list("token", flat=True))
    assert len(codes) == 10 and all(code in codes_page for code in codes)
    assert client.get("/dashboard/").status_code == 200
    # shown once only
    assert codes[0] not in client.get("/account/2fa/backup-codes/").content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_ENROLLED, actor=carol).exists()


def test_verify_step_after_password_and_codes_are_single_use(client, carol):
    device = totp_enrol(carol)
    code = totp_code(device)
    sign_in(client, carol)
    assert client.get("/dashboard/").url.startswith("/account/2fa/verify/")
    response = client.post("/account/2fa/verify/?next=/dashboard/", {"token": code, "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.logout()
    sign_in(client, carol)
    replay = client.post("/account/2fa/verify/", {"token": code})
    assert replay.status_code == 200 and "already used" in replay.content.decode()
    assert client.get("/dashboard/").status_code == 302


def test_backup_code_works_once(client, carol):
    totp_enrol(carol)
    code = services.backup_codes_generate(user=carol)[0]
    sign_in(client, carol)
    assert client.post("/account/2fa/verify/", {"token": code}).status_code == 302
    client.logout()
    sign_in(client, carol)
    assert client.post("/account/2fa/verify/", {"token": code}).status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()


def test_django_admin_needs_a_verified_admin(client, ada):
    totp_enrol(ada)
    client.force_login(ada)  # password only
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/account/2fa/verify/")
    login_verified(client, ada)
    assert client.get("/admin/").status_code == 200


def test_patient_with_2fa_must_verify_too(client, alice):
    totp_enrol(alice)
    sign_in(client, alice)
    assert client.get("/dashboard/").url.startswith("/account/2fa/verify/")


def test_removal_needs_the_password(client, alice):
    device = totp_enrol(alice)
    sign_in(client, alice)
    client.post("/account/2fa/verify/", {"token": totp_code(device)})
    wrong = client.post("/account/2fa/remove/", {"password": "nope", "token": totp_code(device, drift=1)})
    assert wrong.status_code == 400 and TOTPDevice.objects.filter(user=alice).exists()
    # issue 9: the password alone no longer removes the factor; a current code is needed too
    assert client.post("/account/2fa/remove/", {"password": PASSWORD, "token": totp_code(device, drift=1)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_REMOVED, actor=alice).exists()


def test_removal_rejects_get(client, alice):
    client.force_login(alice)
    assert client.get("/account/2fa/remove/").status_code == 405


def test_next_cannot_redirect_off_site(client, alice):
    device = totp_enrol(alice)
    sign_in(client, alice)
    response = client.post("/account/2fa/verify/", {"token": totp_code(device), "next": "https://evil.example/"})
    assert response.url == "/dashboard/"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_correct_code_right_after_a_wrong_one_is_accepted(client, carol):
    device = totp_enrol(carol)
    code = totp_code(device)
    sign_in(client, carol)
    bad = client.post("/account/2fa/verify/", {"token": _wrong(code)})
    assert bad.status_code == 200 and "not right" in bad.content.decode()
    response = client.post("/account/2fa/verify/?next=/dashboard/", {"token": code, "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_used_backup_codes_do_not_count_against_the_authenticator(carol):
    device = totp_enrol(carol)
    for backup in services.backup_codes_generate(user=carol)[:3]:
        assert services.otp_verify(user=carol, token=backup.upper()) is not None
    code = totp_code(device)
    assert services.otp_verify(user=carol, token=_wrong(code)) is None
    assert services.otp_verify(user=carol, token=code) == device


def test_after_several_wrong_codes_the_message_says_to_wait(client, carol):
    device = totp_enrol(carol)
    code = totp_code(device)
    for _i in range(services.OTP_FREE_FAILURES):
        assert services.otp_verify(user=carol, token=_wrong(code)) is None
    sign_in(client, carol)
    page = client.post("/account/2fa/verify/", {"token": code}).content.decode()
    assert "Too many wrong codes in a row. Wait" in page
    assert "not right" not in page
