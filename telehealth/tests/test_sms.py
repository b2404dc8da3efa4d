"""Outbound SMS through Twilio's REST API, against a local fake Twilio server (telehealth/tests/
fake_twilio.py): the request Twilio expects, retries on 5xx and dropped connections, no retry on
4xx, one SMS per notification, off when unconfigured, and nothing private in the logs."""

import logging

import pytest
from django.core import mail

from analytics.models import AuditEvent
from telehealth import chat as chats
from telehealth import sms, tasks
from telehealth.models import Notification
from telehealth.services import notification_send
from telehealth.tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio, sms_off  # noqa: F401

pytestmark = pytest.mark.django_db


def urgent_notification(user, key="1") -> Notification:
    return notification_send(recipient=user, kind=Notification.Kind.CHAT_URGENT, title="Urgent message from Alice",
                             body="Alice Patient marked the conversation urgent.", url="/chats/some-chat/",
                             source_key=f"test:{key}")


def sms_records(notification, action):
    return AuditEvent.objects.filter(target_id=str(notification.pk), action=action)


def test_it_posts_to_the_twilio_messages_api(fake_twilio):
    message_id = sms.sms_send(to="+12025550199", body="Haven: hello")
    [request] = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"To": "+12025550199", "From": FROM_NUMBER, "Body": "Haven: hello"}
    assert request["status"] == 201 and message_id.startswith("SM") and len(message_id) == 34


def test_wrong_credentials_are_rejected_not_retried(fake_twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "not-" + AUTH_TOKEN
    with pytest.raises(sms.SmsRejected) as exc:
        sms.sms_send(to="+12025550199", body="Haven: hello")
    assert exc.value.status == 401 and exc.value.code == 20003
    assert len(fake_twilio.requests) == 1


def test_an_unreachable_provider_is_a_temporary_failure(fake_twilio, settings):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{port}"
    with pytest.raises(sms.SmsUnavailable):
        sms.sms_send(to="+12025550199", body="Haven: hello")
    assert isinstance(sms.SmsUnavailable("x"), OSError)  # what the task's autoretry catches


# --- off unless configured -------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"])
def test_sms_is_off_unless_fully_configured(fake_twilio, settings, carol, missing, run_on_commit):
    setattr(settings, missing, "")
    assert not sms.sms_enabled()
    assert sms.sms_send(to="+12025550199", body="Haven: hello") is None
    notification = urgent_notification(carol)
    assert sms.sms_queue(notification) is False
    assert run_on_commit(tasks.notification_sms_send.delay, str(notification.pk)).get() is False
    assert fake_twilio.requests == []


def test_an_urgent_chat_without_sms_still_alerts_in_app_and_by_email(sms_off, chat, alice, carol, run_on_commit):
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    assert Notification.objects.filter(recipient=carol, kind=Notification.Kind.CHAT_URGENT).count() == 1
    assert [m.to for m in mail.outbox] == [[carol.email]]
    assert not AuditEvent.objects.filter(action__startswith="notification.sms").exists()


# --- the delivery task --------------------------------------------------------------------------------

def test_the_urgent_chat_texts_the_doctor_once(fake_twilio, chat, alice, carol, run_on_commit):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="PRIVATE-SYMPTOM")
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)
    run_on_commit(chats.chat_mark_urgent, actor=alice, chat=chat)  # pressed twice: same episode
    [message] = fake_twilio.messages
    assert message["To"] == carol.phone
    assert f"/chats/{chat.pk}/" in message["Body"]
    # An SMS crosses a third party and shows on a lock screen: no name, no content.
    assert "Alice" not in message["Body"] and "PRIVATE" not in message["Body"]
    notification = Notification.objects.get(recipient=carol, kind=Notification.Kind.CHAT_URGENT)
    [sent] = sms_records(notification, sms.SENT)
    assert sent.data["provider_id"].startswith("SM")


def test_a_notification_is_texted_once(fake_twilio, carol, run_on_commit):
    notification = urgent_notification(carol)
    assert run_on_commit(tasks.notification_sms_send.delay, str(notification.pk)).get() is True
    assert run_on_commit(tasks.notification_sms_send.delay, str(notification.pk)).get() is False
    assert len(fake_twilio.requests) == 1 and sms_records(notification, sms.SENT).count() == 1


@pytest.fixture
def retries_run():
    """Eager tasks as a worker runs them: a retry re-runs the task (at once: eager mode skips the
    backoff wait) instead of raising the first failure to the caller."""
    from config.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def retrying(notification):
    return tasks.notification_sms_send.delay(str(notification.pk))


def test_5xx_answers_are_retried_until_twilio_accepts(fake_twilio, carol, retries_run):
    notification = urgent_notification(carol)
    fake_twilio.fail_next((503, {"code": 20503, "message": "Service unavailable", "status": 503}),
                          (500, {"code": 20500, "message": "Internal error", "status": 500}))
    assert retrying(notification).get() is True
    assert [r["status"] for r in fake_twilio.requests] == [503, 500, 201]
    assert len(fake_twilio.messages) == 1 and sms_records(notification, sms.SENT).count() == 1


def test_a_dropped_connection_and_429_are_retried(fake_twilio, carol, retries_run):
    notification = urgent_notification(carol)
    fake_twilio.fail_next("drop", (429, {"code": 20429, "message": "Too many requests", "status": 429}))
    assert retrying(notification).get() is True
    assert [r["status"] for r in fake_twilio.requests] == [None, 429, 201]


def test_retries_stop_after_the_limit(fake_twilio, carol, retries_run):
    notification = urgent_notification(carol)
    attempts = tasks.SMS_RETRY["retry_kwargs"]["max_retries"] + 1
    fake_twilio.fail_next(*[(503, {"code": 20503, "message": "Service unavailable", "status": 503})] * (attempts + 3))
    result = retrying(notification)
    assert result.failed() and isinstance(result.result, sms.SmsUnavailable)
    assert len(fake_twilio.requests) == attempts
    assert not sms_records(notification, sms.SENT).exists()


def test_a_4xx_is_final_and_recorded(fake_twilio, carol):
    notification = urgent_notification(carol)
    fake_twilio.fail_next((400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                 "status": 400}))
    assert tasks.notification_sms_send.delay(str(notification.pk)).get() is False
    assert len(fake_twilio.requests) == 1
    [failed] = sms_records(notification, sms.FAILED)
    assert failed.data == {"provider": "twilio", "status": 400, "code": 21211}
    # Final: a redelivered task does not try again.
    assert tasks.notification_sms_send.delay(str(notification.pk)).get() is False
    assert len(fake_twilio.requests) == 1


def test_nobody_without_a_phone_or_account_is_texted(fake_twilio, carol, bob):
    carol.phone = None
    carol.save()
    bob.is_active = False
    bob.save()
    for user in (carol, bob):
        notification = urgent_notification(user)
        assert sms.sms_queue(notification) is False
        assert tasks.notification_sms_send.delay(str(notification.pk)).get() is False
    assert fake_twilio.requests == []


def test_other_notification_kinds_are_not_texted(fake_twilio, carol):
    notification = notification_send(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE, title="New message",
                                     body="hello", source_key="other:1")
    assert sms.sms_queue(notification) is False
    assert tasks.notification_sms_send.delay(str(notification.pk)).get() is False
    assert fake_twilio.requests == []


def test_neither_the_text_nor_the_number_is_logged(fake_twilio, carol, caplog):
    caplog.set_level(logging.INFO)
    accepted = urgent_notification(carol, key="ok")
    tasks.notification_sms_send.delay(str(accepted.pk))
    fake_twilio.fail_next((400, {"code": 21211, "message": f"The 'To' number {carol.phone} is not valid.",
                                 "status": 400}))
    rejected = urgent_notification(carol, key="rejected")
    tasks.notification_sms_send.delay(str(rejected.pk))
    [sent_body] = [m["Body"] for m in fake_twilio.messages]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "SMS" in logged  # it does log, just not the private parts
    assert sent_body not in logged and carol.phone not in logged and "/chats/some-chat/" not in logged
