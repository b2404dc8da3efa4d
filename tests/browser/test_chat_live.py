"""A live chat between Alice (patient) and Dr. Carol in two browser contexts on a real daphne
server (HTTP + websockets, ``asgi_server``): messages appear on the other side without a reload,
read receipts come back live ("Read" next to the time), typing and presence are shown, the
"Messages" link's unread badge follows arrivals and reads on every open tab, and a message posted
through the REST API with a JWT reaches both open pages.

Nothing here sleeps: every step waits for what the person would see (web-first assertions), and
the test waits for the notifications socket to be open before relying on a live push.
"""

import json
import re
import urllib.request

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import User
from accounts.tokens import issue_pair
from clinic.models import CareTeamMember
from telehealth import chat as chats
from tests.browser.conftest import ARTIFACTS, _artifact_name, _session_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# Records the page's websockets (the native class, only counted), so the test can wait for the
# notifications socket to be open before it expects a push rather than the on-connect answer.
TRACK_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();
"""
NOTIFICATIONS_OPEN = """() => (window.__sockets || []).some(
    (s) => s.url.endsWith("/ws/notifications/") && s.readyState === WebSocket.OPEN)"""


def _signed_in(new_context, label, base, session):
    context = new_context(label)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    context.add_init_script(TRACK_SOCKETS)
    return context


def _open_chat(page, url):
    page.goto(url)
    expect(page.locator("[data-chat-status]")).to_have_text("Connected")


def _open_other_page(page, url):
    """A page without the chat; returns once its notifications socket is open."""
    page.goto(url)
    page.wait_for_function(NOTIFICATIONS_OPEN)


def _message(page, text):
    return page.locator("[data-chat-messages] li[data-seq]").filter(has_text=text)


def _messages_link(page):
    return page.get_by_role("navigation", name="Main").locator("a[data-chat-unread]")


def _post_message(base, token, chat, client_id, body):
    request = urllib.request.Request(
        base + "/api/v1/messages", method="POST",
        data=json.dumps({"chat_id": str(chat.pk), "client_id": client_id, "body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.load(response)


# asgi_server before new_context: the contexts (and their teardown screenshots) close first, while
# the server still runs.
def test_patient_and_doctor_chat_live_with_receipts_presence_typing_and_badge(alice, carol, asgi_server, new_context,
                                                                            request):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    # Both accounts live in Kolkata (UTC+5:30); the browser runs in UTC.
    User.objects.filter(pk__in=[alice.pk, carol.pk]).update(timezone="Asia/Kolkata")
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    carol_token = issue_pair(carol)["access"]
    sessions = {"alice": _session_of(alice), "carol": _session_of(carol)}
    base = asgi_server()  # on SQLite the server works on a copy made now: write nothing after this
    chat_url = f"{base}/chats/{chat.pk}/"

    patient = _signed_in(new_context, "patient", base, sessions["alice"]).new_page()
    doctor = _signed_in(new_context, "doctor", base, sessions["carol"]).new_page()

    # Alice writes while Carol is elsewhere: Carol's badge goes up live, nobody has read it yet.
    _open_other_page(doctor, base + "/dashboard/")
    expect(_messages_link(doctor)).to_have_accessible_name("Messages")
    _open_chat(patient, chat_url)
    patient.get_by_label("Message", exact=True).fill("I have had a headache since this morning.")
    patient.get_by_label("Message", exact=True).press("Enter")
    first = _message(patient, "I have had a headache since this morning.")
    expect(first).to_have_count(1)  # stored: the server's copy replaced the pending one
    expect(patient.locator(".chat-pending")).to_have_count(0)
    expect(_messages_link(doctor)).to_have_accessible_name("Messages 1 unread")
    expect(_messages_link(doctor).locator(".count-badge")).to_have_text("1 unread")
    expect(first.locator(".chat-receipt")).to_have_count(0)

    # Carol opens the conversation: it is read, Alice sees the receipt, Carol's badge empties.
    _open_chat(doctor, chat_url)
    expect(_message(doctor, "I have had a headache since this morning.")).to_have_count(1)
    expect(first.locator(".chat-receipt")).to_have_text("Read")
    expect(first).to_have_class(re.compile(r"\bchat-read\b"))
    expect(_messages_link(doctor).locator(".count-badge")).to_have_count(0)
    expect(_messages_link(doctor)).to_have_accessible_name("Messages")

    # Both are online; each sees the other.
    expect(patient.locator("[data-chat-online]")).to_have_text("Online now: 1")
    expect(doctor.locator("[data-chat-online]")).to_have_text("Online now: 1")

    # Typing shows on the other side; the message arrives live and is read live.
    patient.get_by_label("Message", exact=True).press_sequentially("Also a little")
    expect(doctor.locator("[data-chat-typing]")).to_have_text("Alice Patient is typing…")
    patient.get_by_label("Message", exact=True).press_sequentially(" dizzy.")
    patient.get_by_label("Message", exact=True).press("Enter")
    expect(_message(doctor, "Also a little dizzy.")).to_have_count(1)
    expect(doctor.locator("[data-chat-typing]")).to_have_text("")  # she sent what she was typing
    # Typing the next message right away shows again at once (not held back by the typing pace).
    patient.get_by_label("Message", exact=True).press_sequentially("I took a paracetamol.")
    expect(doctor.locator("[data-chat-typing]")).to_have_text("Alice Patient is typing…")
    patient.get_by_label("Message", exact=True).press("Enter")
    expect(_message(doctor, "I took a paracetamol.")).to_have_count(1)
    for text in ("Also a little dizzy.", "I took a paracetamol."):
        expect(_message(patient, text).locator(".chat-receipt")).to_have_text("Read")

    # Carol answers while Alice is on her dashboard: Alice's badge goes up there, live.
    dashboard = patient
    _open_other_page(dashboard, base + "/dashboard/")
    expect(doctor.locator("[data-chat-online]")).to_have_text("")  # Alice left the conversation
    doctor.get_by_label("Message", exact=True).fill("Please drink water and rest; I will call you at noon.")
    doctor.get_by_label("Message", exact=True).press("Enter")
    expect(_message(doctor, "I will call you at noon.")).to_have_count(1)
    expect(_messages_link(dashboard)).to_have_accessible_name("Messages 1 unread")
    ARTIFACTS.mkdir(exist_ok=True)
    dashboard.screenshot(path=_artifact_name(request, "-patient-badge"))

    # Alice opens the conversation in a second tab: the reply is there and read, and the badge
    # goes back to zero on both tabs (the dashboard tab is told over its own socket).
    chat_tab = dashboard.context.new_page()
    _open_chat(chat_tab, chat_url)
    reply = _message(chat_tab, "I will call you at noon.")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("Carol Doctor")
    expect(_message(doctor, "I will call you at noon.").locator(".chat-receipt")).to_have_text("Read")
    expect(_messages_link(chat_tab).locator(".count-badge")).to_have_count(0)
    expect(_messages_link(dashboard).locator(".count-badge")).to_have_count(0)
    expect(_messages_link(dashboard)).to_have_accessible_name("Messages")

    # REST and websockets are one conversation: a message posted with a JWT appears on both pages.
    posted = _post_message(base, carol_token, chat, "rest-1", "Sent from the Haven API.")
    for page in (doctor, chat_tab):
        expect(_message(page, "Sent from the Haven API.")).to_have_count(1)
        expect(_message(page, "Sent from the Haven API.")).to_have_attribute("data-id", posted["id"])
    # The server-rendered history equals what the live pages show.
    chat_tab.reload()
    expect(chat_tab.locator("[data-chat-status]")).to_have_text("Connected")
    expect(chat_tab.locator("[data-chat-messages] li[data-seq]")).to_have_count(5)
    live = [li.get_attribute("data-seq") for li in doctor.locator("[data-chat-messages] li[data-seq]").all()]
    assert live == ["1", "2", "3", "4", "5"]
    # One time per message: those that reached Carol's page live (2-5) read exactly as the server
    # renders them, in the accounts' zone and format, not in the browser's.
    assert _times(doctor) == _times(chat_tab)


def _times(page):
    return page.locator("[data-chat-messages] li[data-seq] time").all_inner_texts()


def _seqs(page):
    return page.locator("[data-chat-messages] li[data-seq]").evaluate_all(
        "(items) => items.map((li) => li.dataset.seq + ':' + li.querySelector('.chat-body').textContent)")


def test_a_server_restart_loses_nothing_and_doubles_nothing(alice, carol, asgi_server, new_context):
    """The server stops while both pages are open (a deploy, a crash): both pages say they are
    reconnecting, a message written meanwhile waits in the page, and once the server is back both
    reconnect on their own, the waiting message is stored once and shown once on both sides, and a
    reload shows exactly what the live pages show."""
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=carol, chat=chat, client_id="before", body="How did you sleep?")
    sessions = {"alice": _session_of(alice), "carol": _session_of(carol)}
    base = asgi_server()
    chat_url = f"{base}/chats/{chat.pk}/"
    patient = _signed_in(new_context, "patient", base, sessions["alice"]).new_page()
    doctor = _signed_in(new_context, "doctor", base, sessions["carol"]).new_page()
    _open_chat(patient, chat_url)
    _open_chat(doctor, chat_url)

    asgi_server.stop()
    for page in (patient, doctor):
        expect(page.locator("[data-chat-status]")).to_have_text("Reconnecting…")
    patient.get_by_label("Message", exact=True).fill("Badly, I woke up three times.")
    patient.get_by_label("Message", exact=True).press("Enter")
    expect(patient.locator(".chat-pending")).to_have_count(1)

    asgi_server.restart()
    for page in (patient, doctor):
        expect(page.locator("[data-chat-status]")).to_have_text("Connected", timeout=40_000)
    for page in (patient, doctor):
        expect(_message(page, "Badly, I woke up three times.")).to_have_count(1)
    expect(patient.locator(".chat-pending")).to_have_count(0)

    doctor.get_by_label("Message", exact=True).fill("Let's look at it on Thursday.")
    doctor.get_by_label("Message", exact=True).press("Enter")
    expect(_message(patient, "Let's look at it on Thursday.")).to_have_count(1)

    live = _seqs(patient)
    assert live == _seqs(doctor) and len(live) == 3, live
    patient.reload()
    expect(patient.locator("[data-chat-messages] li[data-seq]")).to_have_count(3)
    assert _seqs(patient) == live
