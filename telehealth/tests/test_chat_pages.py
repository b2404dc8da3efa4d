"""Chat pages: access matrix, family label, list with unread counts, search, archive, urgent,
opening from an appointment."""

import pytest
from django.test import Client

from conftest import login_verified
from telehealth import chat as chats
from telehealth.models import Chat

pytestmark = pytest.mark.django_db


def page(user):
    return login_verified(Client(), user)


@pytest.mark.parametrize("who,status", [("alice", 200), ("grace", 200), ("carol", 200), ("bob", 404),
                                        ("dave", 404), ("hana", 404), ("ada", 404)])
def test_it_checks_ownership(request, chat, who, status):
    user = request.getfixturevalue(who)
    client = page(user)
    assert client.get(f"/chats/{chat.pk}/").status_code == status
    assert client.post(f"/chats/{chat.pk}/archive/").status_code == (302 if status == 200 else 404)
    listed = client.get("/chats/").content.decode() + client.get("/chats/?archived=1").content.decode()
    assert (f"/chats/{chat.pk}/" in listed) == (status == 200)


def test_it_requires_login(chat):
    response = Client().get(f"/chats/{chat.pk}/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_rejects_get_on_writes(chat, alice):
    assert page(alice).get(f"/chats/{chat.pk}/archive/").status_code == 405
    assert page(alice).get(f"/chats/{chat.pk}/urgent/").status_code == 405


def test_family_sees_the_on_behalf_label(chat, grace, alice, carol):
    chats.message_send(sender=grace, chat=chat, client_id="g", body="For my daughter")
    body = page(carol).get(f"/chats/{chat.pk}/").content.decode()
    assert "For my daughter" in body and "on behalf of Alice Patient" in body
    assert "You are writing on behalf of Alice Patient" in page(grace).get(f"/chats/{chat.pk}/").content.decode()


def test_list_shows_unread_counts_and_last_message(chat, alice, carol, django_assert_max_num_queries):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="first")
    chats.message_send(sender=alice, chat=chat, client_id="2", body="latest words")
    client = page(carol)
    with django_assert_max_num_queries(15):
        body = client.get("/chats/").content.decode()
    assert 'data-unread="2"' in body and "latest words" in body


def test_search_within_the_conversation(chat, alice):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="about the rash")
    chats.message_send(sender=alice, chat=chat, client_id="2", body="and the cough")
    body = page(alice).get(f"/chats/{chat.pk}/?q=rash").content.decode()
    assert "about the rash" in body and "and the cough" not in body


def test_the_page_carries_the_live_client_state(chat, alice):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="hi")
    body = page(alice).get(f"/chats/{chat.pk}/").content.decode()
    assert 'id="chat-initial"' in body and "js/chat.js" in body and 'data-chat-status' in body


def test_archive_and_urgent(chat, alice, carol):
    page(carol).post(f"/chats/{chat.pk}/archive/", {"archived": "1"})
    assert f"/chats/{chat.pk}/" not in page(carol).get("/chats/").content.decode()
    assert f"/chats/{chat.pk}/" in page(alice).get("/chats/").content.decode()
    page(alice).post(f"/chats/{chat.pk}/urgent/", {"urgent": "1"})
    chat.refresh_from_db()
    assert chat.is_urgent and chat.is_active_for_doctor
    assert page(carol).post(f"/chats/{chat.pk}/urgent/", {"urgent": "1"}).status_code == 403


def test_it_opens_the_chat_from_an_appointment(alice, carol, bob):
    from telehealth.tests.helpers import book, days_ahead, open_all_week

    open_all_week(carol)
    appointment = book(alice, carol, days_ahead(2))
    assert page(bob).post(f"/appointments/{appointment.pk}/chat/").status_code == 404
    response = page(carol).post(f"/appointments/{appointment.pk}/chat/")
    chat = Chat.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/chats/{chat.pk}/"


def test_the_page_shows_flash_notices_and_not_chat_messages_as_notices(chat, alice, carol):
    """The conversation's messages are not Django's flash messages: the site's notice area stays
    empty for them, and a real notice (after asking for a call) is shown there once."""
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="How are you today?")
    client = page(alice)
    body = client.get(f"/chats/{chat.pk}/").content.decode()
    assert 'class="messages"' not in body
    assert "How are you today?" in body  # in the thread itself

    body = client.post(f"/chats/{chat.pk}/call-request/ask/", {"reason": ""}, follow=True).content.decode()
    notices = body.split('class="messages"', 1)
    assert len(notices) == 2, "the notice area is shown"
    assert "Your call request was sent" in notices[1].split("</div>", 1)[0]
    assert "How are you today?" not in notices[1].split("</div>", 1)[0]
