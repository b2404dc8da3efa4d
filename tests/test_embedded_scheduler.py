"""Scheduled work runs in the embedded default too: `scripts/run` (what `make run` starts) runs
the web server and a Celery worker with embedded beat on the filesystem broker, with no Redis.
A due appointment reminder and a due urgent-chat escalation fire by themselves, their e-mails go
out through the worker, and Ctrl-C stops every process it started.

The launcher runs against a copy of this test's database (an SQLite file when the suite runs on
the embedded default; the Postgres test database itself in CI), with beat's intervals shortened to
one second."""

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from clinic.models import Appointment, CareTeamMember, HospitalDoctor, HospitalPatient
from telehealth import chat as chats
from telehealth.models import Chat

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 60

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below pid (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def embedded_db(tmp_path):
    """(DATABASE_URL for the launcher, a function running one SQL query on that database)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "haven.sqlite3"

        def query(sql):
            with closing(sqlite3.connect(path, timeout=20)) as db:
                return db.execute(sql).fetchall()

        def copy():  # the data committed so far, into the file the launcher opens
            connection.ensure_connection()
            target = sqlite3.connect(path)
            connection.connection.backup(target)
            target.close()

        return f"sqlite:///{path}", query, copy
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    def query(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    return url, query, lambda: None


def test_make_run_fires_reminders_and_escalations_without_redis(alice, carol, hana, embedded_db, tmp_path, request):
    database_url, query, copy = embedded_db
    riverside = hana.hospital_staff.hospital
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    # due: the day-before reminder of a visit in three hours ...
    start = (timezone.now() + dt.timedelta(hours=3)).replace(microsecond=0)
    Appointment.objects.create(patient=alice.patient_record, doctor=carol.doctor_profile, type="remote",
                               start=start, end=start + dt.timedelta(minutes=30), status="confirmed")
    # ... and a conversation marked urgent eleven minutes ago that the doctor has not answered
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    Chat.objects.filter(pk=chat.pk).update(is_urgent=True, urgent_at=timezone.now() - dt.timedelta(minutes=11))
    copy()

    mail_dir = tmp_path / "mail"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CELERY_", "REDIS_URL", "DATABASE_URL", "PYTEST_XDIST"))}
    env.update({
        "REDIS_URL": "",  # no Redis: the embedded default (a .env file must not bring one in)
        "DATABASE_URL": database_url,
        "HAVEN_VAR_DIR": str(tmp_path / "var"),  # broker folders and beat's schedule file
        "HAVEN_MEDIA_ROOT": str(tmp_path / "media"),
        "HAVEN_BEAT_MAX_INTERVAL_SECONDS": "1",
        "HAVEN_TEST_EMAIL_DIR": str(mail_dir),
        "EMAIL_URL": "",
        "CHAT_URGENT_ESCALATION_MINUTES": "10",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
    })
    log = (tmp_path / "run.log").open("w+")
    request.addfinalizer(log.close)
    proc = subprocess.Popen([sys.executable, "scripts/run", f"127.0.0.1:{port}", "--noreload",
                             "--loglevel", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output():  # read through a file of its own: the child shares the offset of `log`
        return (tmp_path / "run.log").read_text(errors="replace")[-6000:]

    started = []
    try:
        web_up = reminded = escalated = mailed = False
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline and not (web_up and reminded and escalated and mailed):
            assert proc.poll() is None, f"scripts/run exited with {proc.returncode}:\n{output()}"
            started = descendants(proc.pid) or started
            if not web_up:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        web_up = response.status == 200
                except OSError:
                    pass
            reminded = query("SELECT kind, status FROM clinic_appointmentreminder") == [("24h", "sent")]
            escalated = query("SELECT urgent_escalated_at FROM telehealth_chat")[0][0] is not None
            mailed = any("alice@example.com" in f.read_text() for f in mail_dir.glob("*.log"))
            time.sleep(0.3)
        assert web_up, f"the web server did not answer /health:\n{output()}"
        assert reminded, f"the reminder was not sent by itself:\n{output()}"
        assert escalated, f"the urgent chat was not escalated by itself:\n{output()}"
        assert mailed, f"no reminder e-mail went out through the worker:\n{output()}"
        kinds = {kind for kind, in query("SELECT kind FROM telehealth_notification")}
        assert {"appointment.reminder", "chat.escalated"} <= kinds
        assert (tmp_path / "var" / "celery-broker" / "queue").is_dir()
        assert list((tmp_path / "var").glob("celerybeat-schedule*")), "beat keeps its state under var/"
        assert len(started) >= 2, "the web server and the worker run as processes of their own"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        left = [pid for pid in started if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 0, output()
    assert not left, "Ctrl-C left processes running"
