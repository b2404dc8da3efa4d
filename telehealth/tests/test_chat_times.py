"""One time per message: the conversation page, the live websocket frames and the API say a
message's time the same way — in the reader's account time zone, in its language's short format —
however far that zone is from UTC and from the sender's."""

import html
import re
import zoneinfo

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.utils import formats, timezone, translation

from accounts.models import User
from telehealth.models import Message
from telehealth.tests.test_chat_consumer import open_comm, receive_until
from telehealth.tests.test_chat_pages import page

pytestmark = pytest.mark.django_db(transaction=True)


def rendered_time(body: str, message_id) -> str:
    item = re.search(r'<li class="chat-message[^"]*"[^>]*data-id="%s">(.*?)</li>' % message_id, body, re.S)
    assert item, f"message {message_id} is not on the page"
    return html.unescape(re.search(r"<time [^>]*>(.*?)</time>", item.group(1), re.S).group(1)).strip()


def expected(when, zone: str, language: str) -> str:
    with translation.override(language):
        return formats.date_format(timezone.localtime(when, zoneinfo.ZoneInfo(zone)), "SHORT_DATETIME_FORMAT")


def test_a_live_message_shows_the_time_the_page_shows(layer, chat, alice, carol):
    User.objects.filter(pk=carol.pk).update(timezone="Asia/Kolkata", preferred_language="en")
    User.objects.filter(pk=alice.pk).update(timezone="America/Los_Angeles", preferred_language="es")
    carol.refresh_from_db()
    alice.refresh_from_db()

    async def scenario():
        doctor = await open_comm(chat, carol)
        patient = await open_comm(chat, alice)
        assert (await doctor.connect())[0] and (await patient.connect())[0]
        await patient.send_json_to({"type": "message", "client_id": "t-1", "body": "Is 9 still fine?"})
        ack, _ = await receive_until(patient, "ack")
        live, _ = await receive_until(doctor, "message")
        await doctor.send_json_to({"type": "resync", "after": 0})
        resync, _ = await receive_until(doctor, "messages")
        await doctor.disconnect()
        await patient.disconnect()
        return ack["message"], live["message"], resync["messages"][0]

    mine, live, resynced = async_to_sync(scenario)()
    message = Message.objects.get(pk=mine["id"])
    # The doctor reads it in Kolkata (UTC+5:30), in English: live, after a resync, on the page and
    # through the API alike.
    in_kolkata = expected(message.created_at, "Asia/Kolkata", "en")
    assert in_kolkata != expected(message.created_at, "UTC", "en")
    assert live["created_at_display"] == resynced["created_at_display"] == in_kolkata
    assert rendered_time(page(carol).get(f"/chats/{chat.pk}/").content.decode(), message.pk) == in_kolkata
    api = page(carol).get(f"/api/v1/chats/{chat.pk}/messages").json()["messages"]
    assert api[0]["created_at_display"] == in_kolkata
    # The sender reads the same message in Los Angeles, in Spanish (the acknowledgement too).
    in_los_angeles = expected(message.created_at, "America/Los_Angeles", "es")
    assert mine["created_at_display"] == in_los_angeles
    assert rendered_time(page(alice).get(f"/chats/{chat.pk}/").content.decode(), message.pk) == in_los_angeles

