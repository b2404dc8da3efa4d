"""Django admin for chats: read-only metadata lists for administrators, message content only on a
message's own page (audited), files through an audited view, and redaction of abusive messages
through ``telehealth.chat.message_redact`` (blanked, audited, pushed to open pages)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic.models import CareTeamMember
from conftest import login_verified, png_upload
from core.errors import PermissionDenied
from telehealth import chat as chats
from telehealth.models import CallRequest, Message, Notification

pytestmark = pytest.mark.django_db
SECRET = "my private symptoms"


@pytest.fixture
def message(chat, alice):
    return chats.message_send(sender=alice, chat=chat, client_id="m1", body=SECRET)[0]


@pytest.fixture
def file_message(chat, alice):
    return chats.message_send(sender=alice, chat=chat, client_id="f1", kind="file", upload=png_upload())[0]


@pytest.fixture
def admin_client(ada):
    return login_verified(Client(), ada)


def audit(action):
    return list(AuditEvent.objects.filter(action=action))


# --- who gets in ------------------------------------------------------------------------------------

ROUTES = ["/admin/telehealth/chat/", "/admin/telehealth/chat/{chat}/change/", "/admin/telehealth/message/",
          "/admin/telehealth/message/{message}/change/", "/admin/telehealth/message/{file}/file/",
          "/admin/telehealth/message/redact/?ids={message}", "/admin/telehealth/callrequest/"]


@pytest.mark.parametrize("who", [None, "alice", "grace", "bob", "carol", "dave", "hana"])
def test_only_administrators_get_in(request, chat, message, file_message, who):
    client = Client() if who is None else login_verified(Client(), request.getfixturevalue(who))
    for route in ROUTES:
        response = client.get(route.format(chat=chat.pk, message=message.pk, file=file_message.pk))
        assert response.status_code == 302, route
        assert "/login" in response["Location"]
        assert SECRET not in response.content.decode()
    refused = client.post("/admin/telehealth/message/redact/", {"ids": str(message.pk), "reason": "spam"})
    assert refused.status_code == 302
    message.refresh_from_db()
    assert message.body == SECRET
    assert AuditEvent.objects.filter(action__startswith="chat.").exclude(action="chat.message_sent").count() == 0


def test_an_administrator_without_a_second_factor_is_kept_out(chat, message, ada):
    client = Client()
    client.force_login(ada)
    response = client.get(f"/admin/telehealth/message/{message.pk}/change/")
    assert response.status_code == 302 and SECRET not in response.content.decode()
    assert audit("chat.message_viewed") == []


@pytest.mark.parametrize("route", ROUTES)
def test_the_pages_load_for_an_administrator(admin_client, chat, message, file_message, route):
    response = admin_client.get(route.format(chat=chat.pk, message=message.pk, file=file_message.pk))
    assert response.status_code == 200, route


# --- chats ---------------------------------------------------------------------------------------------

def test_the_chat_list_shows_metadata_and_no_content(admin_client, chat, message, carol, alice):
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="reply")
    chat.refresh_from_db()
    response = admin_client.get("/admin/telehealth/chat/")
    body = response.content.decode()
    row = response.context["cl"].result_list[0]
    assert (row.patient.name, row.doctor.user.name, row.message_count) == ("Alice Patient", "Carol Doctor", 2)
    assert "Alice Patient" in body and "Dr. Carol Doctor" in body
    assert SECRET not in body and "reply" not in body
    # Reading metadata is not a read of messages.
    assert audit("chat.viewed") == [] and audit("chat.message_viewed") == []


def test_chats_are_searched_by_patient_or_doctor_name_and_filtered(admin_client, chat, dave, bob):
    CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=bob.patient_record)
    other = chats.chat_open(actor=None, patient=bob.patient_record, doctor=dave.doctor_profile)
    chats.chat_mark_urgent(actor=bob, chat=other, urgent=True)
    type(other).objects.filter(pk=other.pk).update(urgent_escalated_at=timezone.now())

    def found(query):
        return {c.pk for c in admin_client.get("/admin/telehealth/chat/" + query).context["cl"].result_list}

    assert found("?q=alice") == {chat.pk}
    assert found("?q=Carol") == {chat.pk}
    assert found("?q=dave") == {other.pk}
    assert found("?q=nobody") == set()
    assert found("?is_urgent__exact=1") == {other.pk}
    assert found("?escalated=yes") == {other.pk}
    assert found("?escalated=no") == {chat.pk}


def test_chats_are_read_only(admin_client, chat):
    assert admin_client.get("/admin/telehealth/chat/add/").status_code == 403
    page = admin_client.get(f"/admin/telehealth/chat/{chat.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"/admin/telehealth/chat/{chat.pk}/change/", {"is_urgent": "on"}).status_code == 403
    assert admin_client.post(f"/admin/telehealth/chat/{chat.pk}/delete/", {"post": "yes"}).status_code == 403
    chat.refresh_from_db()
    assert not chat.is_urgent


def test_the_chat_page_shows_read_pointers_and_links_to_its_messages(admin_client, chat, message, carol):
    chats.chat_mark_read(user=carol, chat=chat, seq=1)
    body = admin_client.get(f"/admin/telehealth/chat/{chat.pk}/change/").content.decode()
    assert "Carol Doctor" in body  # her read pointer
    assert f"/admin/telehealth/message/?chat__id__exact={chat.pk}" in body
    assert SECRET not in body
    listed = admin_client.get(f"/admin/telehealth/message/?chat__id__exact={chat.pk}")
    assert [m.pk for m in listed.context["cl"].result_list] == [message.pk]


# --- messages ------------------------------------------------------------------------------------------

def test_the_message_list_shows_metadata_only(admin_client, message, file_message):
    response = admin_client.get("/admin/telehealth/message/")
    body = response.content.decode()
    assert response.context["cl"].result_count == 2
    assert SECRET not in body and file_message.file_name not in body
    # Content is not searchable from the list either.
    assert admin_client.get("/admin/telehealth/message/?q=symptoms").context["cl"].result_count == 0
    assert audit("chat.message_viewed") == []


def test_opening_a_message_shows_its_content_and_is_audited(admin_client, ada, alice, chat, message):
    response = admin_client.get(f"/admin/telehealth/message/{message.pk}/change/")
    assert response.status_code == 200 and SECRET in response.content.decode()
    (event,) = audit("chat.message_viewed")
    assert event.actor_id == ada.pk and event.target_id == str(alice.patient_record.pk)
    assert event.data == {"via": "admin", "chat": str(chat.pk), "message": str(message.pk), "seq": 1}


def test_messages_are_read_only(admin_client, message):
    assert admin_client.get("/admin/telehealth/message/add/").status_code == 403
    assert admin_client.post(f"/admin/telehealth/message/{message.pk}/change/", {"body": "edited"}).status_code == 403
    assert admin_client.post(f"/admin/telehealth/message/{message.pk}/delete/", {"post": "yes"}).status_code == 403
    message.refresh_from_db()
    assert message.body == SECRET


def test_a_file_opened_from_the_admin_is_audited(admin_client, ada, file_message):
    response = admin_client.get(f"/admin/telehealth/message/{file_message.pk}/file/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"  # stored re-encoded: the type is what is stored
    (event,) = audit("chat.file_viewed")
    assert event.actor_id == ada.pk and event.data["via"] == "admin" and event.data["message"] == str(file_message.pk)


def test_a_message_in_the_admin_escapes_its_content(admin_client, chat, alice):
    evil = chats.message_send(sender=alice, chat=chat, client_id="x", body="<script>alert(1)</script>")[0]
    body = admin_client.get(f"/admin/telehealth/message/{evil.pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- redaction -----------------------------------------------------------------------------------------

def test_redacting_from_the_admin_blanks_the_message_and_audits_the_reason(admin_client, ada, alice, chat, message):
    form = admin_client.get(f"/admin/telehealth/message/redact/?ids={message.pk}")
    assert form.status_code == 200 and SECRET not in form.content.decode()
    refused = admin_client.post("/admin/telehealth/message/redact/", {"ids": str(message.pk), "reason": "  "})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    message.refresh_from_db()
    assert message.body == SECRET and audit("chat.message_redacted") == []

    done = admin_client.post("/admin/telehealth/message/redact/", {"ids": str(message.pk), "reason": "Insults"})
    assert done.status_code == 302 and done["Location"].endswith(f"/admin/telehealth/message/{message.pk}/change/")
    message.refresh_from_db()
    assert message.body == "" and not message.file and chats.message_is_redacted(message)
    (event,) = audit("chat.message_redacted")
    assert event.actor_id == ada.pk and event.target_id == str(alice.patient_record.pk)
    assert event.data["reason"] == "Insults" and event.data["message"] == str(message.pk)
    assert event.data["had_body"] is True and event.data["had_file"] is False


def test_the_admin_action_redacts_several_messages(admin_client, chat, message, file_message):
    response = admin_client.post("/admin/telehealth/message/", {
        "action": "redact_selected", "_selected_action": [str(message.pk), str(file_message.pk)]})
    assert response.status_code == 302 and "/admin/telehealth/message/redact/?ids=" in response["Location"]
    form = admin_client.get(response["Location"])
    assert len(form.context["selected"]) == 2
    done = admin_client.post("/admin/telehealth/message/redact/", {"ids": form.context["ids"], "reason": "Spam"})
    assert done.status_code == 302
    assert all(chats.message_is_redacted(m) for m in Message.objects.filter(chat=chat))
    assert len(audit("chat.message_redacted")) == 2


def test_redacting_nothing_or_bad_ids_goes_back_to_the_list(admin_client):
    for query in ("", "?ids=", "?ids=not-a-uuid", "?ids=00000000-0000-0000-0000-000000000000"):
        response = admin_client.get("/admin/telehealth/message/redact/" + query)
        assert response.status_code == 302 and response["Location"].endswith("/admin/telehealth/message/")


def test_redaction_removes_the_file_from_storage_and_members_see_it_removed(ada, alice, carol, chat, file_message,
                                                                           django_capture_on_commit_callbacks):
    storage, name = file_message.file.storage, file_message.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        chats.message_redact(actor=ada, message=file_message, reason="Abusive image")
    assert storage.exists(name)  # not before the redaction is committed
    for callback in callbacks:
        callback()
    assert not storage.exists(name)
    file_message.refresh_from_db()
    assert (file_message.file_name, file_message.file_type, file_message.file_size) == ("", "", 0)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(carol)['access']}")
    (payload,) = client.get(f"/api/v1/chats/{chat.pk}/messages").json()["messages"]
    assert payload["redacted"] is True and payload["file_url"] is None and payload["file_name"] == ""
    assert client.get(f"/api/v1/messages/{file_message.pk}/file").status_code == 404
    page = login_verified(Client(), alice).get(f"/chats/{chat.pk}/").content.decode()
    assert "This message was removed by a moderator." in page


def test_redaction_is_for_administrators_only_and_needs_a_reason(ada, alice, carol, hana, message):
    for user in (alice, carol, hana):
        with pytest.raises(PermissionDenied):
            chats.message_redact(actor=user, message=message, reason="I do not like it")
    for reason in ("", "   ", "x" * (chats.REDACT_REASON_MAX + 1)):
        with pytest.raises(ValidationError) as exc:
            chats.message_redact(actor=ada, message=message, reason=reason)
        assert "reason" in exc.value.message_dict
    message.refresh_from_db()
    assert message.body == SECRET and audit("chat.message_redacted") == []


def test_redacting_twice_changes_nothing_more(ada, message):
    chats.message_redact(actor=ada, message=message, reason="Spam")
    chats.message_redact(actor=ada, message=message, reason="Spam again")
    assert len(audit("chat.message_redacted")) == 1


def test_redaction_is_broadcast_to_open_pages(ada, chat, message, django_capture_on_commit_callbacks, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(chats.group_name(chat.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        chats.message_redact(actor=ada, message=message, reason="Spam")

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    event = async_to_sync(receive)()["event"]
    assert event["type"] == "message_redacted"
    assert event["message"]["id"] == str(message.pk) and event["message"]["redacted"] is True
    assert event["message"]["body"] == "" and SECRET not in str(event)


def test_redaction_blanks_the_preview_in_notifications(ada, alice, carol, chat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = chats.message_send(sender=alice, chat=chat, client_id="n1", body=SECRET)[0]
    # Notification bodies are encrypted at rest: compared after reading, not in SQL.
    assert [n.body for n in Notification.objects.filter(recipient=carol)].count(SECRET) == 1
    chats.message_redact(actor=ada, message=message, reason="Spam")
    assert not any(SECRET in n.body for n in Notification.objects.all())
    assert Notification.objects.get(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE).body == \
        "Message removed by a moderator."


def test_chat_message_notifications_hide_their_preview_in_the_admin(admin_client, alice, carol, chat,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        chats.message_send(sender=alice, chat=chat, client_id="n1", body=SECRET)
    notification = Notification.objects.get(recipient=carol, kind=Notification.Kind.CHAT_MESSAGE)
    body = admin_client.get(f"/admin/telehealth/notification/{notification.pk}/change/").content.decode()
    assert SECRET not in body


# --- call requests ---------------------------------------------------------------------------------------

def test_call_requests_are_listed_read_only_without_the_patients_words(admin_client, chat, alice):
    request = CallRequest.objects.create(chat=chat, requested_by=alice, reason="chest pain since noon")
    response = admin_client.get("/admin/telehealth/callrequest/")
    assert [r.pk for r in response.context["cl"].result_list] == [request.pk]
    page = admin_client.get(f"/admin/telehealth/callrequest/{request.pk}/change/")
    assert page.status_code == 200
    for body in (response.content.decode(), page.content.decode()):
        assert "chest pain" not in body
    assert admin_client.get("/admin/telehealth/callrequest/add/").status_code == 403
    assert admin_client.post(f"/admin/telehealth/callrequest/{request.pk}/delete/", {"post": "yes"}).status_code == 403
