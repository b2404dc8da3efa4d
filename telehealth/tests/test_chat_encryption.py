"""Message bodies are encrypted at rest (core.fields.EncryptedTextField): the column holds Fernet
tokens, every read returns the text, search inside one chat decrypts that chat's messages in
Python, the chat list searches names only, existing rows are encrypted by the data migration, and
administrators still moderate. Files and recordings already are (core.storage.EncryptedStorage)."""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from conftest import login_verified
from core.fields import encrypt_column_rows
from telehealth import chat as chats
from telehealth.models import Message

SECRET = "My biopsy came back positive"


@pytest.fixture
def chat(db, alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    return chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)


@pytest.fixture
def message(chat, alice):
    return chats.message_send(sender=alice, chat=chat, client_id="m1", body=SECRET)[0]


def raw_body(message_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {Message._meta.db_table} WHERE id = %s", [message_id.hex])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"SELECT body FROM {Message._meta.db_table} WHERE id = %s", [str(message_id)])
            row = cursor.fetchone()
    return row[0]


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def test_the_column_holds_ciphertext_and_reads_return_the_text(message, chat, carol):
    stored = raw_body(message.pk)
    assert SECRET not in stored and "biopsy" not in stored and stored.startswith("gAAAA")
    assert Message.objects.get(pk=message.pk).body == SECRET
    history = api(carol).get(f"/api/v1/chats/{chat.pk}/messages").json()["messages"]
    assert [m["body"] for m in history] == [SECRET]
    listed = api(carol).get("/api/v1/chats").json()
    assert listed[0]["last_body"] == SECRET  # the preview is decrypted too


def test_search_inside_a_chat_decrypts_its_messages(message, chat, alice, carol):
    chats.message_send(sender=carol, chat=chat, client_id="d1", body="Let us talk about the BIOPSY results")
    chats.message_send(sender=carol, chat=chat, client_id="d2", body="Unrelated")
    found = api(carol).get(f"/api/v1/chats/{chat.pk}/messages", {"q": "biopsy"}).json()["messages"]
    assert [m["client_id"] for m in found] == ["m1", "d1"]
    page = login_verified(Client(), alice).get(f"/chats/{chat.pk}/", {"q": "Biopsy"})
    assert [m.client_id for m in page.context["chat_messages"]] == ["m1", "d1"]


def test_the_chat_list_searches_names_only(message, chat, carol):
    assert [c["id"] for c in api(carol).get("/api/v1/chats", {"q": "Alice"}).json()] == [str(chat.pk)]
    assert api(carol).get("/api/v1/chats", {"q": "biopsy"}).json() == []


def test_the_data_migration_encrypts_existing_rows(message):
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET body = %s", ["legacy plaintext"])
    assert raw_body(message.pk) == "legacy plaintext"
    assert Message.objects.get(pk=message.pk).body == "legacy plaintext"  # readable before the migration
    editor = SimpleNamespace(connection=connection)  # all the helper uses of the schema editor
    encrypt_column_rows(apps, editor, app_label="telehealth", model_name="message", column="body")
    once = raw_body(message.pk)
    encrypt_column_rows(apps, editor, app_label="telehealth", model_name="message", column="body")
    assert once.startswith("gAAAA") and raw_body(message.pk) == once  # re-running changes nothing
    assert Message.objects.get(pk=message.pk).body == "legacy plaintext"


def test_moderation_still_works(message, ada):
    client = login_verified(Client(), ada)
    page = client.get(f"/admin/telehealth/message/{message.pk}/change/")
    assert page.status_code == 200 and SECRET in page.content.decode()
    chats.message_redact(actor=ada, message=message, reason="spam")
    assert Message.objects.get(pk=message.pk).body == "" and raw_body(message.pk) == ""


def test_notification_previews_are_encrypted_at_rest(chat, alice, carol, run_on_commit):
    """The bell's preview of a message (and an e-mail's text) holds the message's words: encrypted
    like the message itself."""
    from telehealth.models import Notification

    run_on_commit(chats.message_send, sender=alice, chat=chat, client_id="n1", body="my secret worry")
    notification = Notification.objects.filter(recipient=carol).exclude(body="").first()
    assert notification is not None and "my secret worry" in notification.body
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM telehealth_notification WHERE recipient_id = %s",
                       [carol.pk.hex if connection.vendor == "sqlite" else carol.pk])
        raw = next(value for (value,) in cursor.fetchall() if value)
    assert "secret" not in raw and raw.startswith("gAAAAA")
