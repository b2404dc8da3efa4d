"""Grouped chat message notifications: one unread notification per chat and recipient, recounted
as messages arrive, emailed once (without the message), marked read when the chat is read, and a
new one only after the previous one was read. Repeated deliveries and concurrent messages make no
second notification."""


import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client

from accounts.tokens import issue_pair
from conftest import png_upload, race, require_service
from telehealth import chat as chats
from telehealth.models import ChatReadState, Message, Notification
from telehealth.services import notifications_mark_read

pytestmark = pytest.mark.django_db
N = Notification.Kind


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Send messages with their after-commit work (broadcast, notifications, email) carried out."""
    def send(sender, chat, *bodies, **kwargs):
        sent = []
        for body in bodies:
            with django_capture_on_commit_callbacks(execute=True):
                sent.append(chats.message_send(sender=sender, chat=chat, client_id=f"{sender.pk}-{body}"[:64], body=body,
                                               **kwargs)[0])
        return sent
    return send


def bell(user):
    return list(Notification.objects.filter(recipient=user, kind=N.CHAT_MESSAGE).order_by("created_at"))


def unread(user):
    return [n for n in bell(user) if n.read_at is None]


def emails_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def test_many_messages_make_one_notification_and_one_email(chat, alice, grace, carol, deliver):
    deliver(carol, chat, "How are you?", "Did the new dose help?", "Please check your blood pressure.")
    for member in (alice, grace):
        (notification,) = bell(member)
        assert notification.read_at is None
        assert notification.title == "3 new messages from Dr. Carol Doctor"
        assert notification.body == "Please check your blood pressure."  # the latest
        assert notification.url == f"/chats/{chat.pk}/"
        (email,) = emails_to(member)
        # The email says who wrote and where to read it, never what was written.
        assert "Dr. Carol Doctor" in email.subject
        assert f"/chats/{chat.pk}/" in email.body
        assert "dose" not in email.body and "blood pressure" not in email.subject + email.body
    assert bell(carol) == []  # her own messages


def test_one_message_reads_naturally(chat, alice, carol, deliver):
    deliver(alice, chat, "Hello doctor")
    (notification,) = bell(carol)
    assert notification.title == "New message from Alice Patient" and notification.body == "Hello doctor"


def test_messages_from_several_people_name_the_conversation(chat, alice, grace, carol, deliver):
    deliver(alice, chat, "I feel dizzy")
    deliver(grace, chat, "She fainted this morning")
    (notification,) = bell(carol)
    assert notification.title == "2 new messages in your conversation with Alice Patient"
    assert notification.body == "She fainted this morning"
    assert len(emails_to(carol)) == 1


def test_files_and_voice_messages_are_previewed_by_their_kind(chat, alice, carol, deliver):
    deliver(alice, chat, "photo", kind="file", upload=png_upload())
    assert bell(carol)[0].body == "File"


def test_reading_the_chat_marks_its_notification_read_and_the_next_message_opens_a_new_one(
        chat, alice, carol, deliver):
    deliver(alice, chat, "one", "two")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(carol)['access']}")
    last = Message.objects.get(chat=chat, seq=2)
    assert api.put(f"/api/v1/messages/{last.pk}/read").status_code == 200
    (first,) = bell(carol)
    assert first.read_at is not None
    deliver(alice, chat, "three")
    old, new = bell(carol)
    assert old.pk == first.pk and new.read_at is None
    assert new.title == "New message from Alice Patient" and new.body == "three"
    assert len(emails_to(carol)) == 2  # one per unread group


def test_a_partial_read_recounts_what_is_left(chat, alice, carol, deliver):
    deliver(alice, chat, "one", "two", "three")
    chats.chat_mark_read(user=carol, chat=chat, seq=2)
    (notification,) = bell(carol)
    assert notification.read_at is None and notification.title == "New message from Alice Patient"
    assert notification.body == "three"


def test_answering_marks_the_senders_notification_read(chat, alice, carol, deliver):
    deliver(alice, chat, "one")
    assert len(unread(carol)) == 1
    deliver(carol, chat, "reply")
    assert unread(carol) == []


def test_after_the_bell_was_read_a_new_message_opens_a_new_notification(chat, alice, carol, deliver):
    deliver(alice, chat, "one", "two")
    notifications_mark_read(user=carol)  # seen on the bell, conversation not opened
    deliver(alice, chat, "three")
    old, new = bell(carol)
    assert old.read_at is not None and new.read_at is None
    # It counts what is unread in the conversation, as the chat list does.
    assert new.title == "3 new messages from Alice Patient"
    assert len(emails_to(carol)) == 2


def test_a_repeated_delivery_changes_nothing(chat, alice, carol, deliver, django_capture_on_commit_callbacks):
    (message,) = deliver(alice, chat, "one")
    before = [(n.pk, n.title, n.body, n.read_at) for n in bell(carol)]
    # The after-commit work of that message runs again (a retried task, a redelivered event).
    with django_capture_on_commit_callbacks(execute=True):
        chats._notify_offline_members(chat, message)
    assert [(n.pk, n.title, n.body, n.read_at) for n in bell(carol)] == before
    assert len(emails_to(carol)) == 1
    # And once the group was seen on the bell, a late redelivery does not open another.
    notifications_mark_read(user=carol)
    with django_capture_on_commit_callbacks(execute=True):
        chats._notify_offline_members(chat, message)
    assert len(bell(carol)) == 1 and unread(carol) == []


def test_a_message_already_read_notifies_nobody(chat, alice, carol, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        chats.message_send(sender=alice, chat=chat, client_id="late", body="one")
    chats.chat_mark_read(user=carol, chat=chat, seq=1)  # read live before the notification ran
    for callback in callbacks:
        callback()
    assert bell(carol) == []


def test_updates_are_pushed_to_the_recipients_bell(chat, alice, carol, deliver, monkeypatch):
    from telehealth import consumers_notifications

    pushed = []
    monkeypatch.setattr(consumers_notifications, "notification_push", lambda n: pushed.append((n.pk, n.title)))
    deliver(alice, chat, "one", "two")
    (notification,) = bell(carol)
    carol_pushes = [p for p in pushed if p[0] == notification.pk]
    assert carol_pushes == [(notification.pk, "New message from Alice Patient"),
                            (notification.pk, "2 new messages from Alice Patient")]


# --- concurrency (Postgres) ----------------------------------------------------------------------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_messages_sent_at_the_same_moment_make_one_notification(chat, alice, grace, carol):
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    senders = [alice, grace] * 4
    results = race(len(senders), lambda i: chats.message_send(sender=senders[i], chat=chat, client_id=f"race-{i}",
                                                             body=f"message {i}"))
    assert not [r for r in results if isinstance(r, Exception)], results
    (notification,) = bell(carol)
    assert notification.read_at is None
    assert notification.title == "8 new messages in your conversation with Alice Patient"
    assert len(emails_to(carol)) == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_notifying_many_messages_at_once_makes_one_notification(chat, alice, carol):
    """The notification step alone, raced: eight messages' deliveries to Carol at the same instant."""
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    chats.presence_join(chat.pk, "carol-tab", carol.pk)  # online while they are written: not notified yet
    for i in range(8):
        chats.message_send(sender=alice, chat=chat, client_id=f"m{i}", body=f"message {i}")
    chats.presence_leave(chat.pk, "carol-tab")
    assert bell(carol) == []
    # Her read pointer exists already (she has read before), so nothing but the lock orders them.
    ChatReadState.objects.get_or_create(chat=chat, user=carol)

    def notify(seq):
        with transaction.atomic():
            chats._chat_notification_sync(chat=chat, recipient=carol, new_seq=seq)

    results = race(8, lambda i: notify(i + 1))
    assert not [r for r in results if isinstance(r, Exception)], results
    (notification,) = bell(carol)
    assert notification.title == "8 new messages from Alice Patient"
    assert len(emails_to(carol)) == 1
