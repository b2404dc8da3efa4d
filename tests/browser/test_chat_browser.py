"""static/js/chat.js in Chromium: connection state, rendering each message once (as text, never
HTML), resync after a reconnect and resending unacknowledged messages with their client id.

The live server is WSGI (no websockets), so the page gets a scripted stand-in for WebSocket; the
server side is covered by test_chat_consumer.py."""

import json

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from clinic.models import CareTeamMember
from telehealth import chat as chats

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAKE_SOCKET = """
(() => {
  window.__sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url; this.readyState = 0; this.sent = []; this.listeners = {};
      window.__sockets.push(this);
      setTimeout(() => { this.readyState = 1; this.emit("open", {}); }, 0);
    }
    addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
    send(data) { this.sent.push(JSON.parse(data)); }
    close(code) { this.readyState = 3; this.emit("close", {code: code || 1000}); }
    emit(type, event) { (this.listeners[type] || []).forEach((fn) => fn(event)); }
  }
  FakeSocket.CONNECTING = 0; FakeSocket.OPEN = 1; FakeSocket.CLOSING = 2; FakeSocket.CLOSED = 3;
  window.WebSocket = FakeSocket;
  // The page also opens the notifications socket: only the chat's sockets count here.
  window.__chats = () => window.__sockets.filter((s) => s.url.includes("/ws/chats/"));
  window.__last = () => window.__chats()[window.__chats().length - 1];
  window.__push = (frame) => window.__last().emit("message", {data: JSON.stringify(frame)});
  window.__drop = (code) => { const s = window.__last(); s.readyState = 3; s.emit("close", {code}); };
})();
"""


@pytest.fixture
def chat(alice, carol):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=carol, chat=chat, client_id="c1", body="How are you today?")
    return chat


def open_chat(page, live_server, user, chat):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.add_init_script(FAKE_SOCKET)
    page.clock.install()
    page.goto(f"{live_server.url}/chats/{chat.pk}/")
    page.wait_for_function("window.__sockets && window.__chats().length === 1")
    page.clock.run_for(10)


def frame(carol, chat, seq, body, message_id):
    return {"type": "message", "message": {
        "id": message_id, "chat_id": str(chat.pk), "seq": seq, "client_id": f"x{seq}", "kind": "text", "body": body,
        "sender_id": str(carol.pk), "sender_name": "Carol Doctor", "sender_role": "doctor", "on_behalf": False,
        "file_name": "", "file_type": "", "file_size": 0, "file_url": None, "created_at": "2026-11-21T10:00:00+00:00"}}


def test_it_shows_the_connection_and_renders_each_message_once(page, live_server, alice, carol, chat):
    open_chat(page, live_server, alice, chat)
    assert page.evaluate("window.__last().url").endswith(f"/ws/chats/{chat.pk}/")
    expect(page.locator("[data-chat-status]")).to_have_text("Connected")
    assert page.evaluate("window.__last().sent[0]") == {"type": "resync", "after": 1}

    pushed = frame(carol, chat, 2, "<img src=x onerror=alert(1)> take the tablets", "22222222-2222-2222-2222-222222222222")
    page.evaluate(f"window.__push({json.dumps(pushed)})")
    page.evaluate(f"window.__push({json.dumps(pushed)})")  # a duplicate delivery
    messages = page.locator("[data-chat-messages] li[data-seq]")
    expect(messages).to_have_count(2)
    expect(messages.nth(1)).to_contain_text("<img src=x onerror=alert(1)> take the tablets")
    assert page.locator("[data-chat-messages] img").count() == 0
    # The page tells the server it has read the new message.
    assert {"type": "read", "seq": 2} in page.evaluate("window.__last().sent")


def test_it_reconnects_resyncs_and_resends_unacknowledged_messages(page, live_server, alice, carol, chat):
    open_chat(page, live_server, alice, chat)
    page.evaluate("window.__drop(1006)")
    expect(page.locator("[data-chat-status]")).to_have_text("Reconnecting…")

    page.fill("#chat-body", "Sent while offline")
    page.press("#chat-body", "Enter")
    expect(page.locator(".chat-pending")).to_have_count(1)

    page.clock.run_for(1_600)  # first retry within ~1 s (with jitter)
    assert page.evaluate("window.__chats().length") == 2
    page.clock.run_for(10)
    expect(page.locator("[data-chat-status]")).to_have_text("Connected")
    sent = page.evaluate("window.__last().sent")
    assert sent[0] == {"type": "resync", "after": 1}
    resent = [f for f in sent if f["type"] == "message"]
    assert len(resent) == 1 and resent[0]["body"] == "Sent while offline"

    # The server acknowledges; the resync answer brings what was missed while away.
    ack = frame(alice, chat, 3, "Sent while offline", "33333333-3333-3333-3333-333333333333")["message"]
    ack.update(client_id=resent[0]["client_id"], sender_id=str(alice.pk), sender_name="Alice Patient",
               sender_role="patient")
    missed = frame(carol, chat, 2, "Missed while away", "22222222-2222-2222-2222-222222222222")["message"]
    page.evaluate(f"window.__push({json.dumps({'type': 'messages', 'after': 1, 'messages': [missed], 'more': False})})")
    page.evaluate(f"window.__push({json.dumps({'type': 'ack', 'client_id': ack['client_id'], 'message': ack})})")
    messages = page.locator("[data-chat-messages] li[data-seq]")
    expect(messages).to_have_count(3)
    assert [messages.nth(i).get_attribute("data-seq") for i in range(3)] == ["1", "2", "3"]
    expect(page.locator(".chat-pending")).to_have_count(0)

    # A refusal (no longer a member) stops the retries.
    page.evaluate("window.__drop(4403)")
    page.clock.run_for(120_000)
    assert page.evaluate("window.__chats().length") == 2
