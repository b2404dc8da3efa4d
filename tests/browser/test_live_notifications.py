"""static/js/notifications.js in Chromium: the bell count follows the socket, a new notification
shows an accessible toast (role=status, keyboard-reachable close button, auto-hide after 8 s), and
the script reconnects with backoff but stops when the server refuses the session (4401/4403).

The live server here is WSGI (no websockets), so the page gets a scripted stand-in for WebSocket;
the server side of the socket is covered by telehealth/tests/test_notifications_ws.py."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

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
    send(data) { this.sent.push(data); }
    close(code) { this.readyState = 3; this.emit("close", {code: code || 1000}); }
    emit(type, event) { (this.listeners[type] || []).forEach((fn) => fn(event)); }
  }
  FakeSocket.CONNECTING = 0; FakeSocket.OPEN = 1; FakeSocket.CLOSING = 2; FakeSocket.CLOSED = 3;
  window.WebSocket = FakeSocket;
  window.__last = () => window.__sockets[window.__sockets.length - 1];
  window.__push = (message) => window.__last().emit("message", {data: JSON.stringify(message)});
  window.__drop = (code) => { const s = window.__last(); s.readyState = 3; s.emit("close", {code}); };
})();
"""


def open_dashboard(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.add_init_script(FAKE_SOCKET)
    page.clock.install()
    page.goto(live_server.url + "/dashboard/")
    page.wait_for_load_state("load")
    page.clock.run_for(1_600)  # it connects once the page has settled
    page.wait_for_function("window.__sockets && window.__sockets.length === 1")
    page.clock.run_for(10)  # the stand-in opens


def test_bell_and_toast(page, live_server, alice):
    open_dashboard(page, live_server, alice)
    assert page.evaluate("window.__last().url").endswith("/ws/notifications/")
    bell = page.locator("#notification-bell")
    expect(bell.locator(".bell-count")).to_have_count(0)

    page.evaluate("window.__push({type: 'unread', count: 2})")
    expect(bell.locator(".bell-count")).to_have_text("2 unread")

    page.evaluate("""window.__push({type: 'notification', id: '11111111-1111-1111-1111-111111111111',
        kind: 'appointment.confirmed', title: 'Appointment confirmed <img src=x onerror=alert(1)>',
        body: 'Dr. Carol, Monday 10:00', url: '/appointments/', created_at: '2030-01-07T10:00:00+00:00',
        unread: 3})""")
    page.clock.run_for(100)  # the text goes into the live region just after it is inserted
    toast = page.get_by_role("status").filter(has_text="Appointment confirmed")
    expect(toast).to_be_visible()
    expect(toast).to_have_attribute("aria-live", "polite")
    expect(toast).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never as markup
    expect(toast.locator("img")).to_have_count(0)
    expect(bell.locator(".bell-count")).to_have_text("3 unread")
    assert toast.locator("form").get_attribute("action") == "/notifications/11111111-1111-1111-1111-111111111111/open/"

    # keyboard: the close button is reachable and closes the toast; focus goes back to the bell
    close = toast.get_by_role("button", name="Dismiss")
    close.focus()
    expect(close).to_be_focused()
    page.clock.run_for(20_000)  # focus pauses the auto-hide
    expect(toast).to_be_visible()
    page.keyboard.press("Enter")
    expect(toast).to_have_count(0)
    expect(bell).to_be_focused()


def test_toast_hides_itself_after_eight_seconds(page, live_server, alice):
    open_dashboard(page, live_server, alice)
    page.evaluate("window.__push({type: 'notification', id: 'x', title: 'Reminder', body: '', url: '', unread: 1})")
    page.clock.run_for(100)
    toast = page.get_by_role("status").filter(has_text="Reminder")
    expect(toast).to_be_visible()
    expect(toast.locator("form")).to_have_count(0)  # nothing to open
    page.clock.run_for(7_000)
    expect(toast).to_be_visible()
    page.clock.run_for(1_500)
    expect(toast).to_have_count(0)


def test_reconnects_with_backoff_and_stops_when_refused(page, live_server, alice):
    open_dashboard(page, live_server, alice)

    page.evaluate("window.__drop(1006)")
    page.clock.run_for(1_100)  # first retry within ~1 s
    assert page.evaluate("window.__sockets.length") == 2
    page.clock.run_for(10)
    page.evaluate("window.__drop(1006)")
    page.clock.run_for(2_100)  # then within ~2 s
    assert page.evaluate("window.__sockets.length") == 3

    page.clock.run_for(10)
    page.evaluate("window.__drop(4401)")  # signed out: no more retries
    page.clock.run_for(120_000)
    assert page.evaluate("window.__sockets.length") == 3
