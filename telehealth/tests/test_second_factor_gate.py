"""One second-factor rule (accounts.policy.owes_second_factor) for pages, the chat API and every
socket: a session owing its factor reaches only the verify page and no socket at all."""

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.policy import owes_second_factor, second_factor_owed
from telehealth.tests.test_chat_consumer import ORIGIN, open_comm, run

pytestmark = pytest.mark.django_db


def _device(user, *, confirmed=True):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=confirmed)


def test_who_owes_what(alice, bob, carol):
    assert second_factor_owed(alice, {}) is None  # a patient without a factor owes nothing
    own = _device(alice)
    assert second_factor_owed(alice, {}) == "verify"
    assert not owes_second_factor(alice, {DEVICE_ID_SESSION_KEY: own.persistent_id})
    # Someone else's device, or an unconfirmed one, does not pass it.
    assert owes_second_factor(alice, {DEVICE_ID_SESSION_KEY: _device(bob).persistent_id})
    pending = _device(alice, confirmed=False)
    assert owes_second_factor(alice, {DEVICE_ID_SESSION_KEY: pending.persistent_id})
    assert not owes_second_factor(alice, {}, via_token=True)  # the API login checked it
    TOTPDevice.objects.filter(user=carol).delete()
    assert second_factor_owed(carol, {}) == "enrol"  # a doctor must enrol one


def _session_with_device(user, device):
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client, [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def _opens(chat, headers) -> bool:
    async def opens():
        comm = await open_comm(chat, headers=headers)
        connected, _ = await comm.connect(timeout=10)
        if connected:
            await comm.disconnect()
        return connected

    return run(opens)


@pytest.mark.parametrize("whose", ["bob", "unconfirmed"])
def test_a_session_that_did_not_pass_its_own_factor_gets_no_page_no_chat_api_and_no_chat_socket(alice, bob, chat,
                                                                                               whose):
    own = _device(alice)
    # The session names a device, but not one of Alice's confirmed ones.
    forged = _device(bob) if whose == "bob" else _device(alice, confirmed=False)
    client, headers = _session_with_device(alice, forged)

    assert client.get("/dashboard/").url.startswith("/account/2fa/verify/")
    assert client.get("/api/v1/chats").status_code == 401
    assert _opens(chat, headers) is False

    # The same person with her own device passed: everything opens.
    client, headers = _session_with_device(alice, own)
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/api/v1/chats").status_code == 200
    assert _opens(chat, headers) is True
