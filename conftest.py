"""Shared test base: the named people every access matrix uses.

Alice (patient), her mother Grace (family account linked to Alice), Bob (another patient),
Dr. Carol (approved; later issues put her in Alice's care team), Dr. Dave (approved, unrelated),
Hana (hospital staff, Riverside), Ada (admin).

Services in CI: when CI=true a test that needs Postgres, Redis or Chromium fails if it is missing;
elsewhere it is skipped with the reason.
"""

import io
import asyncio
import concurrent.futures
import os
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from tests.factories import (
    AdminFactory,
    DoctorFactory,
    HospitalStaffFactory,
    PatientUserFactory,
    UserPatientRelationFactory,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _audit_actions_are_known(sender, instance, **kwargs):
    """Every audit event the code under test writes names an AuditAction (so the admin's audit
    log shows it labelled and filterable): an unknown action fails the test that wrote it."""
    from analytics.models import AuditAction

    assert instance.action in AuditAction.values, f"audit action {instance.action!r} is not an AuditAction"


def pytest_configure(config):
    from django.db.models.signals import pre_save

    from analytics.models import AuditEvent

    pre_save.connect(_audit_actions_are_known, sender=AuditEvent, dispatch_uid="haven-test-audit-actions")


def run_in_own_loop(coroutine_function, *args):
    """``asyncio.run(coroutine_function(*args))`` in a thread of its own; returns its result or raises
    its error here. A Playwright test earlier in the worker leaves an event loop running in the main
    thread, where asyncio.run() refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function(*args))).result()


def race(n, work):
    """Run ``work(i)`` in n threads released together (races for the Postgres locking tests);
    returns each thread's result, or the exception it raised, in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        from django.db import connections

        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 — the outcome is what we assert on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def require_service(available: bool, what: str):
    """Fail in CI, skip elsewhere, when a real service the test needs is not there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} not available (set it up to run this test; CI runs it)")


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Unit tests run tasks in-process; the worker tests start a real worker explicitly."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # Django resets its storage handler when STORAGES changes.
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}}}


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Argon2 is deliberately slow; tests that check the real hasher set it themselves.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


PASSWORD = "Correct-horse-42!"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def alice(db):
    return PatientUserFactory(name="Alice Patient", email="alice@example.com", phone="+12025550111")


@pytest.fixture
def grace(db, alice):
    """Alice's mother: her own account, linked to Alice's patient record."""
    user = PatientUserFactory(name="Grace Family", email="grace@example.com", phone="+12025550112")
    UserPatientRelationFactory(user=user, patient=alice.patient_record, relation="parent")
    return user


@pytest.fixture
def bob(db):
    return PatientUserFactory(name="Bob Other", email="bob@example.com", phone="+12025550113")


@pytest.fixture
def carol(db):
    return DoctorFactory(name="Carol Doctor", email="carol@example.com")


@pytest.fixture
def dave(db):
    return DoctorFactory(name="Dave Doctor", email="dave@example.com")


@pytest.fixture
def hana(db):
    return HospitalStaffFactory(user__name="Hana Staff", user__email="hana@example.com").user


@pytest.fixture
def ada(db):
    return AdminFactory(name="Ada Admin", email="ada@example.com")


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a service and everything it queues on commit (tasks are eager in unit tests)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def totp_enrol(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_code(device: TOTPDevice, *, drift: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + drift * device.step
    return f"{totp.token():0{device.digits}d}"


def login_verified(client, user):
    """Sign a user in as if they had passed their second factor (for pages behind the 2FA gate)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(user)
    if user.requires_two_factor:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_enrol(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def png_upload(name="photo.png", size=(64, 48), exif=False) -> SimpleUploadedFile:
    image = Image.new("RGB", size, "#3a7")
    buf = io.BytesIO()
    if exif:
        exif_data = Image.Exif()
        exif_data[0x010F] = "SpyCam"  # Make
        image.save(buf, format="JPEG", exif=exif_data)
        return SimpleUploadedFile(name.replace(".png", ".jpg"), buf.getvalue(), content_type="image/jpeg")
    image.save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def pdf_upload(name="licence.pdf") -> SimpleUploadedFile:
    """A small well-formed one-page PDF (uploads are parsed and rebuilt, so it must be real)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 100))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="application/pdf")


@pytest.fixture
def sign_in(client):
    """``sign_in(user)`` -> the test client signed in as ``user`` with their second factor passed
    (``verified=False``: signed in with the password alone, owing it)."""

    def sign(user, *, verified=True):
        if verified:
            return login_verified(client, user)
        client.force_login(user)
        return client

    return sign


@pytest.fixture
def api_as(db):
    """``api_as(user)`` -> a test client whose requests carry ``user``'s API access token (JWT)."""
    from django.test import Client

    from accounts.tokens import issue_pair

    def make(user):
        return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")

    return make
