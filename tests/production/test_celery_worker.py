"""The production path: a real Celery worker process, on the Redis broker, against Postgres,
delivers the doctor's status email queued on commit by the approval service."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts import services
from accounts.models import ApplicationStatus
from config.celery import app as celery_app
from conftest import require_service
from tests.factories import AdminFactory, DoctorApplicationFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]


@pytest.fixture
def worker(tmp_path):
    require_service(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    mail_dir = tmp_path / "mail"
    db = connection.settings_dict
    env = {
        **os.environ,
        # the worker must use the test database this test writes to
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_URL": "",
        "HAVEN_TEST_EMAIL_DIR": str(mail_dir),
        "HAVEN_MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield {"queue": queue, "mail_dir": mail_dir, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_worker_sends_status_email_after_commit(worker, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app.conf, "task_default_queue", worker["queue"])
    ada = AdminFactory()
    application = DoctorApplicationFactory(user__email="queued@example.com")

    services.application_approve(application=application, decided_by=ada)  # commits, then queues

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        application.refresh_from_db()
        if application.notified_status == ApplicationStatus.APPROVED:
            break
        assert worker["proc"].poll() is None, worker["proc"].stdout.read()
        time.sleep(0.3)
    else:
        pytest.fail("the worker did not process the task within 60 s")
    sent = list(worker["mail_dir"].glob("*.log"))
    assert len(sent) == 1
    body = sent[0].read_text()
    assert "queued@example.com" in body and "approved" in body
