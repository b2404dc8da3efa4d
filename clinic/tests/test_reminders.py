"""Reminders go out exactly once: however often the scheduler fires, and when a worker dies or
the mail server fails halfway."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.utils import timezone

from celery.exceptions import Retry

from clinic import notifications, tasks
from clinic.models import Appointment, AppointmentEvent, AppointmentReminder
from config.celery import app as celery_app
from telehealth.models import Notification
from telehealth.tasks import notification_email_send
from telehealth.tests.helpers import only_calendar

pytestmark = pytest.mark.django_db
R = AppointmentReminder


def appointment_in(patient_user, doctor_user, delta, status="confirmed"):
    start = (timezone.now() + delta).replace(microsecond=0)
    return Appointment.objects.create(patient=patient_user.patient_record, doctor=doctor_user.doctor_profile,
                                      type="remote", start=start, end=start + dt.timedelta(minutes=30),
                                      status=status)


def reminder_mails(to="alice@example.com"):
    return [m for m in mail.outbox if m.to == [to]]


def test_dispatching_twice_claims_and_sends_once(alice, carol, run_on_commit):
    appointment = appointment_in(alice, carol, dt.timedelta(hours=3))

    assert run_on_commit(tasks.reminders_dispatch.delay).get() == 1
    assert run_on_commit(tasks.reminders_dispatch.delay).get() == 0

    [reminder] = AppointmentReminder.objects.filter(appointment=appointment)
    assert reminder.kind == R.Kind.DAY_BEFORE  # 3 h ahead: the day-before reminder, not yet the hour one
    assert reminder.status == R.Status.SENT and reminder.sent_at and reminder.attempts == 1
    [message] = reminder_mails()
    cal = only_calendar(message)
    assert cal["METHOD"] == "REQUEST" and cal["events"][0]["DTSTART"] == appointment.start
    assert cal["events"][0]["UID"] == f"{appointment.pk}@haven"
    assert Notification.objects.filter(recipient=alice, kind="appointment.reminder").count() == 1
    assert AppointmentEvent.objects.filter(appointment=appointment, kind="reminder").count() == 1
    assert Notification.objects.filter(recipient=carol).count() == 0


def test_each_kind_is_sent_in_its_window(alice, grace, carol, run_on_commit):
    soon = appointment_in(alice, carol, dt.timedelta(minutes=40))
    later = appointment_in(alice, carol, dt.timedelta(hours=30))
    tomorrow = appointment_in(alice, carol, dt.timedelta(hours=20))

    run_on_commit(tasks.reminders_dispatch.delay)

    assert list(soon.reminders.values_list("kind", flat=True)) == [R.Kind.HOUR_BEFORE]
    assert list(tomorrow.reminders.values_list("kind", flat=True)) == [R.Kind.DAY_BEFORE]
    assert not later.reminders.exists()
    assert len(reminder_mails()) == 2 and len(reminder_mails("grace@example.com")) == 2  # family too

    # An hour before "tomorrow", its hour reminder follows — once.
    notifications_now = tomorrow.start - dt.timedelta(minutes=50)
    for _ in range(2):
        for pk in notifications.reminders_claim_due(now=notifications_now):
            run_on_commit(notifications.reminder_deliver, pk, now=notifications_now)
    assert sorted(tomorrow.reminders.values_list("kind", flat=True)) == [R.Kind.HOUR_BEFORE, R.Kind.DAY_BEFORE]
    assert list(later.reminders.values_list("kind", flat=True)) == [R.Kind.DAY_BEFORE]  # now within 24 h
    assert len(reminder_mails()) == 4


def test_a_failing_mail_server_is_retried_and_still_sends_once(alice, carol, run_on_commit, monkeypatch):
    appointment_in(alice, carol, dt.timedelta(hours=5))
    original, calls = EmailMessage.send, []

    def flaky_send(self, *args, **kwargs):
        calls.append(self.to)
        if len(calls) == 1:
            raise OSError("connection refused")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", flaky_send)
    # Eager mode propagates the task's autoretry; a worker would run it again after the backoff.
    with pytest.raises(Retry):
        run_on_commit(tasks.reminders_dispatch.delay)
    reminder = AppointmentReminder.objects.get()
    notification = Notification.objects.get(recipient=alice)
    assert reminder.status == R.Status.SENT  # in-app written, email queued, then the send failed
    assert notification.emailed_at is None and mail.outbox == []

    run_on_commit(notification_email_send.delay, str(notification.pk))  # the retry
    notification.refresh_from_db()
    assert len(calls) == 2 and len(reminder_mails()) == 1 and notification.emailed_at is not None

    # A redelivery of either task (acks_late after a worker died) sends nothing more.
    run_on_commit(tasks.send_reminder.delay, str(reminder.pk))
    run_on_commit(notification_email_send.delay, str(notification.pk))
    assert len(reminder_mails()) == 1 and len(calls) == 2
    reminder.refresh_from_db()
    assert reminder.status == R.Status.SENT and reminder.attempts == 1


def test_a_worker_dying_before_marking_sent_is_redelivered_and_sends_once(alice, carol, run_on_commit,
                                                                         monkeypatch):
    appointment_in(alice, carol, dt.timedelta(hours=5))
    original = notifications.notify_reminder

    def die_after_writing(reminder):
        original(reminder)
        raise SystemExit("worker killed")  # after the notifications, before 'sent' is committed

    monkeypatch.setattr(notifications, "notify_reminder", die_after_writing)
    with pytest.raises(SystemExit):
        run_on_commit(tasks.reminders_dispatch.delay)
    reminder = AppointmentReminder.objects.get()
    assert reminder.status == R.Status.PENDING  # the claim committed, the send rolled back
    assert mail.outbox == [] and not Notification.objects.exists()

    monkeypatch.setattr(notifications, "notify_reminder", original)
    run_on_commit(tasks.send_reminder.delay, str(reminder.pk))  # the broker redelivers
    run_on_commit(tasks.send_reminder.delay, str(reminder.pk))  # and once more, for luck

    reminder.refresh_from_db()
    assert reminder.status == R.Status.SENT and reminder.attempts == 1
    assert len(reminder_mails()) == 1


def test_a_lost_task_is_queued_again_by_the_next_run(alice, carol, run_on_commit):
    appointment = appointment_in(alice, carol, dt.timedelta(hours=5))
    reminder = AppointmentReminder.objects.create(appointment=appointment, kind=R.Kind.DAY_BEFORE)
    AppointmentReminder.objects.filter(pk=reminder.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))

    run_on_commit(tasks.reminders_dispatch.delay)
    run_on_commit(tasks.reminders_dispatch.delay)

    reminder.refresh_from_db()
    assert reminder.status == R.Status.SENT and len(reminder_mails()) == 1


def test_cancelled_appointments_get_no_reminder(alice, carol, run_on_commit):
    appointment_in(alice, carol, dt.timedelta(hours=3), status="cancelled")
    claimed_then_cancelled = appointment_in(alice, carol, dt.timedelta(hours=4))
    reminder = AppointmentReminder.objects.create(appointment=claimed_then_cancelled, kind=R.Kind.DAY_BEFORE)
    Appointment.objects.filter(pk=claimed_then_cancelled.pk).update(status="cancelled")

    run_on_commit(tasks.reminders_dispatch.delay)
    run_on_commit(tasks.send_reminder.delay, str(reminder.pk))

    assert AppointmentReminder.objects.count() == 1
    reminder.refresh_from_db()
    assert reminder.status == R.Status.SKIPPED
    assert mail.outbox == [] and not Notification.objects.exists()


def test_a_reminder_delivered_after_the_start_is_skipped(alice, carol, run_on_commit):
    appointment = appointment_in(alice, carol, dt.timedelta(minutes=30))
    [pk] = notifications.reminders_claim_due()
    run_on_commit(notifications.reminder_deliver, pk, now=appointment.start + dt.timedelta(minutes=1))
    assert AppointmentReminder.objects.get().status == R.Status.SKIPPED and mail.outbox == []


def test_emergencies_are_not_reminded(alice, carol, run_on_commit):
    start = timezone.now() + dt.timedelta(minutes=20)
    Appointment.objects.create(patient=alice.patient_record, type="emergency", start=start,
                               end=start + dt.timedelta(minutes=30))
    run_on_commit(tasks.reminders_dispatch.delay)
    assert not AppointmentReminder.objects.exists()


def test_a_moved_appointment_is_reminded_again_for_its_new_time(alice, carol, run_on_commit):
    from clinic import scheduling, services
    from telehealth.tests.helpers import open_all_week

    open_all_week(carol, start=dt.time(0, 0), end=dt.time(23, 30))
    start = (timezone.now() + dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    start = start.replace(minute=0 if start.minute < 30 else 30)
    appointment = Appointment.objects.create(patient=alice.patient_record, doctor=carol.doctor_profile,
                                             type="remote", start=start, end=start + dt.timedelta(minutes=30),
                                             status="confirmed")
    run_on_commit(tasks.reminders_dispatch.delay)
    assert len(reminder_mails()) == 1
    new_start = scheduling.free_slots(carol.doctor_profile, start + dt.timedelta(hours=2),
                                      start + dt.timedelta(hours=6))[0].start
    run_on_commit(services.appointment_reschedule, actor=carol, appointment=appointment, start=new_start)
    mail.outbox.clear()
    run_on_commit(tasks.reminders_dispatch.delay)
    [message] = reminder_mails()
    assert only_calendar(message)["events"][0]["DTSTART"] == new_start


def test_beat_runs_the_periodic_tasks_every_minute():
    schedule = settings.CELERY_BEAT_SCHEDULE
    clinic = {entry["task"]: entry for entry in schedule.values() if entry["task"].startswith("clinic.")}
    assert set(clinic) == {"clinic.tasks.reminders_dispatch", "clinic.tasks.emergencies_escalate_due"}
    celery_app.loader.import_default_modules()
    # every scheduled task exists on the worker
    assert {entry["task"] for entry in schedule.values()} <= set(celery_app.tasks)
    assert all(entry["schedule"] == dt.timedelta(minutes=1) for entry in clinic.values())


# --- the production path: beat-style dispatch twice, a real worker on Redis and Postgres -----------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_real_worker_sends_one_reminder_for_two_dispatches(alice, carol, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    from conftest import require_service

    require_service(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    mail_dir = tmp_path / "mail"
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "EMAIL_URL": "", "HAVEN_TEST_EMAIL_DIR": str(mail_dir), "HAVEN_MEDIA_ROOT": str(tmp_path / "media"),
           "DJANGO_SECRET_KEY": settings.SECRET_KEY}
    # Tasks queued by the worker itself (dispatch -> send_reminder -> email) go to the default
    # queue of the worker's settings, so it listens there too.
    queue = f"test-reminders-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2", "-Q", f"{queue},celery",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
        monkeypatch.setattr(celery_app.conf, "task_default_queue", queue)
        appointment = appointment_in(alice, carol, dt.timedelta(hours=3))
        tasks.reminders_dispatch.delay()
        tasks.reminders_dispatch.delay()  # two schedulers, or a beat that fired twice

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            n = Notification.objects.filter(recipient=alice, kind="appointment.reminder").first()
            if n is not None and n.emailed_at is not None:
                break
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.3)
        else:
            pytest.fail("the worker did not send the reminder within 90 s")
        time.sleep(2)  # anything duplicated would have arrived by now
        assert AppointmentReminder.objects.filter(appointment=appointment).count() == 1
        assert AppointmentReminder.objects.get(appointment=appointment).status == R.Status.SENT
        sent = "".join(p.read_text() for p in mail_dir.glob("*.log"))
        assert sent.count("To: alice@example.com") == 1
        assert "Content-Type: text/calendar" in sent and 'method="REQUEST"' in sent
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
