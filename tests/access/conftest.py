"""The access matrices share one world per module (built once, rolled back at the module's end);
each cell runs in its own savepoint (pytest-django's ``db``), so a POST in one cell cannot change
what the next cell sees."""

import pytest
from django.db import transaction
from django.test import Client, override_settings

from tests.access.world import ROLE_PEOPLE, build_world


@pytest.fixture(scope="module")
def _access_media(tmp_path_factory):
    from django.conf import settings

    root = tmp_path_factory.mktemp("access-media")
    storages = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    # The root conftest's fast hasher is per test; the world's passwords are hashed once per module.
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield root


@pytest.fixture(autouse=True)
def _private_media(_access_media):
    """Replaces the root conftest's per-test media folder: the world's files live for the module."""


def _sessions(world) -> dict:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    sessions = {}
    for role, (name, verified) in ROLE_PEOPLE.items():
        user = getattr(world, name)
        client = Client()
        client.force_login(user)
        if verified:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is not None:
                session = client.session
                session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                session.save()
        sessions[role] = client.cookies["sessionid"].value
    return sessions


def _build():
    from accounts.tokens import issue_pair

    w = build_world()
    w.sessions = _sessions(w)
    w.tokens = {role: issue_pair(getattr(w, name))["access"]
                for role, (name, verified) in ROLE_PEOPLE.items() if verified}
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, _access_media):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def committed_world(transactional_db):
    """The world committed to the database (flushed after the test), for socket matrices."""
    return _build()
