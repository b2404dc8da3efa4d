"""Who may do what, for accounts: the rules every surface (pages, API, sockets) asks here.

``owes_second_factor`` is the one second-factor rule: a sign-in owes its second factor while the
person has a confirmed factor (anyone who enrolled one, patients included) or their role requires
one (doctors, admins), and the session has not verified one of the person's own confirmed devices.
Such a session reaches no page but the verify (or set-up) page (accounts.middleware) and no socket
at all (every consumer closes it with 4403). API tokens were issued only after the factor was
checked at login, so a token-authenticated socket owes nothing.
"""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def has_two_factor(user: User) -> bool:
    """The person has a confirmed authenticator (backup codes alone do not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verified_device(user: User, session) -> Device | None:
    """The confirmed device of ``user`` this session verified, or None. On pages django-otp's
    OTPMiddleware has already resolved it (``user.otp_device``); sockets read the session."""
    if hasattr(user, "otp_device"):
        device = user.otp_device
    else:
        persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
        if not persistent_id:
            return None
        if persistent_id.count(".") > 1:  # legacy full import path, normalised as django-otp does
            parts = persistent_id.split(".")
            persistent_id = ".".join((parts[-3], parts[-1]))
        device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != user.pk or not getattr(device, "confirmed", True):
        return None
    return device


def second_factor_owed(user: User, session, *, via_token: bool = False) -> str | None:
    """What this sign-in still owes: ``"verify"`` (the person has a factor this session has not
    passed), ``"enrol"`` (their role requires one and they have none yet) or None."""
    if via_token or verified_device(user, session) is not None:
        return None
    if has_two_factor(user):
        return "verify"
    if user.requires_two_factor:
        return "enrol"
    return None


def owes_second_factor(user: User, session, *, via_token: bool = False) -> bool:
    """True while this sign-in still owes its second factor (see the module docstring)."""
    return second_factor_owed(user, session, via_token=via_token) is not None
