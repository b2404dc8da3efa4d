"""The attack: a session that knows only the password removes the second factor and enrols its
own authenticator. Removing or replacing a factor needs the current one in this session."""

import pytest
from django.core import mail
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from analytics.models import AuditAction, AuditEvent
from conftest import PASSWORD, totp_code, totp_enrol

pytestmark = pytest.mark.django_db


def password_only_session(client, user):
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_password_alone_cannot_remove_the_second_factor(client, request, who):
    user = request.getfixturevalue(who)
    device = totp_enrol(user)
    password_only_session(client, user)
    response = client.post("/account/2fa/remove/", {"password": PASSWORD})
    assert response.status_code in (302, 400)
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    # the management pages are behind the gate: the session is sent to verify first
    for path in ["/account/2fa/", "/account/2fa/backup-codes/"]:
        page = client.get(path)
        assert page.status_code == 302 and page.url.startswith("/account/2fa/verify/"), path
    # and no new authenticator can be enrolled next to (or instead of) the owner's
    setup = client.get("/account/2fa/setup/")
    assert setup.status_code == 302
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()
    assert client.get("/admin/").status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_REMOVED).exists()


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_verified_session_still_needs_a_current_code_to_remove(client, request, who):
    user = request.getfixturevalue(who)
    device = totp_enrol(user)
    password_only_session(client, user)
    assert client.post("/account/2fa/verify/", {"token": totp_code(device)}).status_code == 302
    no_code = client.post("/account/2fa/remove/", {"password": PASSWORD})
    assert no_code.status_code == 400
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    wrong_password = client.post("/account/2fa/remove/", {"password": "nope", "token": totp_code(device, drift=1)})
    assert wrong_password.status_code == 400
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_removal_with_password_and_backup_code_emails_the_owner_and_is_audited(client, carol,
                                                                               django_capture_on_commit_callbacks):
    device = totp_enrol(carol)
    codes = services.backup_codes_generate(user=carol)
    password_only_session(client, carol)
    client.post("/account/2fa/verify/", {"token": totp_code(device)})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/2fa/remove/", {"password": PASSWORD, "token": codes[0]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=carol).exists()
    assert not StaticDevice.objects.filter(user=carol).exists()
    assert AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_REMOVED, actor=carol).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [carol.email]
    assert "two-factor" in mail.outbox[0].body.lower()


def test_enrolment_service_refuses_to_replace_a_confirmed_factor(carol):
    totp_enrol(carol)
    pending = TOTPDevice.objects.create(user=carol, name="attacker", confirmed=False)
    with pytest.raises(Exception):
        services.totp_device_confirm(user=carol, token=totp_code(pending))
    assert TOTPDevice.objects.filter(user=carol, confirmed=True).exclude(pk=pending.pk).exists()


def test_application_pages_need_the_second_factor_of_whoever_has_one(client, carol):
    """The application pages are open before approval (a pending doctor has no factor yet), but a
    session that owes a confirmed factor reaches them only after passing it: a rejected doctor's
    password alone must not re-apply with new documents."""
    totp_enrol(carol)
    client.force_login(carol)  # the password alone
    for path in ("/account/application/", "/account/application/reapply/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/account/2fa/verify/"), path
