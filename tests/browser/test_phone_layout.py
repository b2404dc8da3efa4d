"""Pages fit a phone: nothing makes the page itself scroll sideways at 390 px (the navigation row
scrolls on its own), with the unread badge in the navigation, for a patient and a doctor."""

import pytest
from django.conf import settings
from django.test import Client

from clinic.models import CareTeamMember
from conftest import login_verified
from tests.browser.conftest import _fail_on_policy_violations, _watch_policy_violations
from telehealth import chat as chats

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def unread_chat(alice, bob, carol):
    """Alice has a reply from Dr. Carol to read; Dr. Carol has a message from Bob to read."""
    for patient in (alice, bob):
        CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=patient.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=alice, chat=chat, client_id="a-1", body="I slept better this week.")
    chats.message_send(sender=carol, chat=chat, client_id="c-1", body="Good to hear. Keep the diary going.")
    other = chats.chat_open(actor=None, patient=bob.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=bob, chat=other, client_id="b-1", body="Can we move Friday's appointment?")
    return chat


def overflow(browser, live_server, user, paths):
    client = login_verified(Client(), user)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    violations = []
    _watch_policy_violations(context, violations)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = context.new_page()
    widths = {}
    try:
        for path in paths:
            page.goto(live_server.url + path)
            assert page.locator(".count-badge").count() == 1, f"no unread badge on {path}"
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
    finally:
        context.close()
    _fail_on_policy_violations(violations)
    return {path: width for path, width in widths.items() if width > PHONE["width"]}


def test_patient_and_doctor_pages_fit_a_phone(browser, live_server, alice, carol, unread_chat):
    pages = ["/dashboard/", "/appointments/", "/chats/"]
    assert overflow(browser, live_server, alice, pages) == {}
    assert overflow(browser, live_server, carol, [*pages, f"/chats/{unread_chat.pk}/"]) == {}
