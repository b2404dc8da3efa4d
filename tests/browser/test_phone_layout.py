"""Pages fit a phone. At 360 px, in English and in Arabic (right to left), every main page of every
role — anonymous visitor, patient, family member, doctor, doctor applicant (pending and rejected),
hospital staff (approved and under review), admin — opens without the page itself scrolling sideways
(document.documentElement.scrollWidth > innerWidth); a failure names the elements that stick out.
And the navigation on a phone is a menu behind a disclosure button, not a strip that hides links.

One browser, one context per person (signed in once, reused for both languages), to stay fast."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from django.utils import timezone
from playwright.sync_api import expect

from conftest import login_verified
from accounts.models import ApplicationStatus, Role, User
from clinic.models import HospitalStaff
from tests.access.world import build_world
from tests.browser.conftest import TIMEOUT_MS, _fail_on_policy_violations, _watch_policy_violations
from tests.factories import DoctorApplicationFactory, HospitalStaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

PHONE = {"width": 360, "height": 740}

# Elements that stick out on the side the page can scroll to (the end side: right in LTR, left in
# RTL), skipping those inside a container that scrolls or clips them and itself fits; the
# outermost of them (their parent does not stick out too) with a CSS path, size and text.
OVERFLOW_JS = """() => {
  const doc = document.documentElement, vw = window.innerWidth;
  if (doc.scrollWidth <= vw) return null;
  const rtl = getComputedStyle(doc).direction === "rtl";
  const out = (r) => rtl ? r.left < -1 : r.right > vw + 1;
  const sticking = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if ((!r.width && !r.height) || !out(r)) continue;
    let contained = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible" && !out(p.getBoundingClientRect())) { contained = true; break; }
    }
    if (!contained) sticking.add(el);
  }
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      parts.unshift(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                    Array.from(e.classList).map((c) => "." + c).join(""));
    }
    return parts.join(" > ");
  };
  const culprits = Array.from(sticking).filter((el) => !sticking.has(el.parentElement)).slice(0, 5).map((el) => {
    const r = el.getBoundingClientRect();
    return path(el) + " [" + Math.round(r.left) + ".." + Math.round(r.right) + "px] " +
           JSON.stringify((el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40));
  });
  return {scrollWidth: doc.scrollWidth, innerWidth: vw, culprits: culprits};
}"""


# Text that holds a phone number ("+" and digits) but is not isolated left to right: in Arabic it
# reads reversed ("12025550111+").
PHONES_NOT_ISOLATED_JS = """() => {
  const bad = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent;
    // a number in plain text may be isolated by Unicode marks instead (LRI ... PDI)
    if (!/(^|[^\\u2066])\\+\\d[\\d ()-]{5,}/.test(text)) continue;
    const el = walker.currentNode.parentElement, style = getComputedStyle(el);
    if (el.closest("script, template") || !el.getClientRects().length) continue;
    if (style.direction !== "ltr" || !/isolate|embed|override/.test(style.unicodeBidi)) bad.push(text.trim().slice(0, 60));
  }
  return bad;
}"""


CHECKS_JS = f"""() => ({{lang: document.documentElement.lang, overflow: ({OVERFLOW_JS})(),
                        phones: ({PHONES_NOT_ISOLATED_JS})()}})"""


@pytest.fixture
def people():
    """The access matrices' world (every role and one of each object), plus a rejected doctor who
    may re-apply, a second staff member with a long e-mail address, staff of a hospital still under
    review, and a phone number on Alice's record."""
    w = build_world()
    type(w.patient).objects.filter(pk=w.patient.pk).update(contact="+12025550111")
    w.rita = UserFactory(role=Role.DOCTOR, name="Rita Rejected", email="rita.rejected-applicant@example.com")
    DoctorApplicationFactory(user=w.rita, status=ApplicationStatus.REJECTED, decided_at=timezone.now(),
                             rejection_reason="The licence number could not be verified with the medical council.")
    omar = UserFactory(role=Role.HOSPITAL, name="Omar Abdelrahman Al-Hashimi",
                       email="omar.abdelrahman.al-hashimi@riverside-general-hospital.example.com")
    HospitalStaff.objects.create(hospital=w.riverside, user=omar, is_owner=False)
    w.hugo = HospitalStaffFactory(user__name="Hugo Pending", hospital__status="pending",
                                  hospital__name="Hillview Community Mental Health Centre").user
    return w


def _session_of(user) -> str:
    """A session cookie value for the user, with the second factor passed if they have one."""
    client = Client()
    login_verified(client, user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _pages(w):
    start = (timezone.now() + dt.timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    doctor = w.carol.doctor_profile
    patient = f"?patient={w.patient.pk}"
    return {
        None: ["/", "/accounts/login/", "/signup/", "/signup/patient/", "/signup/doctor/", "/signup/hospital/",
               "/accounts/password/reset/"],
        w.alice: ["/dashboard/", "/wellness/", "/wellness/plan/", "/wellness/habits/",
                  "/wellness/charts/", "/wellness/emotion/", "/doctors/",
                  f"/doctors/{doctor.pk}/", f"/appointments/book/?doctor={doctor.pk}&start={start.isoformat()}&type=remote",
                  "/appointments/", f"/appointments/{w.appointment.pk}/", f"/appointments/{w.emergency.pk}/",
                  "/emergency/", "/family/", "/access/", "/chats/", f"/chats/{w.chat.pk}/", "/notifications/",
                  "/account/profile/", "/account/2fa/", "/calendar/", "/accounts/password/change/"],
        w.grace: ["/dashboard/", f"/wellness/{patient}", f"/wellness/charts/{patient}", "/family/", "/appointments/",
                  f"/appointments/{w.appointment.pk}/", "/chats/", "/access/"],
        w.carol: ["/dashboard/", "/appointments/", f"/appointments/{w.appointment.pk}/", "/chats/",
                  f"/chats/{w.chat.pk}/", "/doctor/patients/", f"/doctor/patients/{w.patient.pk}/", "/doctor/risk/",
                  "/doctor/schedule/", "/doctor/emergencies/", "/notifications/", "/account/profile/"],
        w.pat: ["/account/application/"],
        w.rita: ["/account/application/", "/account/application/reapply/"],
        w.hana: ["/dashboard/", "/hospital/appointments/", "/hospital/doctors/", "/hospital/patients/",
                 "/hospital/staff/", f"/appointments/{w.emergency.pk}/", "/account/profile/"],
        w.hugo: ["/account/application/hospital/"],
        w.ada: ["/dashboard/", "/appointments/", "/admin/"],
    }


def test_no_page_of_any_role_scrolls_sideways_at_360px(people, browser, live_server):
    pages = _pages(people)
    sessions = {user: _session_of(user) for user in pages if user is not None}
    contexts, violations, failures, broken = {}, [], {}, []
    try:
        for user in pages:
            context = browser.new_context(viewport=PHONE, locale="en-US")
            context.set_default_timeout(TIMEOUT_MS)
            _watch_policy_violations(context, violations)
            if user is not None:
                context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": sessions[user],
                                      "url": live_server.url}])
            contexts[user] = context.new_page()
        for language in ("en", "ar"):
            # A signed-in account's saved language wins; the visitor's comes from the cookie.
            User.objects.update(preferred_language=language)
            contexts[None].context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                                 "url": live_server.url}])
            for user, paths in pages.items():
                page, who = contexts[user], user.email if user else "visitor"
                for path in paths:
                    response = page.goto(live_server.url + path, wait_until="domcontentloaded")
                    if response.status != 200 or page.url != live_server.url + path:
                        broken.append(f"{language} {who} {path}: {response.status} at {page.url}")
                        continue
                    found = page.evaluate(CHECKS_JS)  # one round trip per page
                    if found["lang"] != language:
                        broken.append(f"{language} {who} {path}: not in {language}")
                    if found["overflow"]:
                        failures[f"{language} {who} {path}"] = found["overflow"]
                    if language == "ar" and found["phones"]:
                        broken.append(f"ar {who} {path}: phone numbers not isolated left to right: {found['phones']}")
    finally:
        for page in contexts.values():
            page.context.close()
    assert not broken, "pages that did not open as themselves:\n" + "\n".join(broken)
    assert not failures, "pages wider than the phone:\n" + "\n".join(
        f"{where}: {o['scrollWidth']} > {o['innerWidth']} px: " + "; ".join(o["culprits"]) for where, o in failures.items())
    _fail_on_policy_violations(violations)


@pytest.fixture
def alice_with_unread(alice, grace, carol):
    """Alice (who manages a family member's record too) has a reply from Dr. Carol to read."""
    from clinic.models import CareTeamMember
    from telehealth import chat as chats

    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    chats.message_send(sender=carol, chat=chat, client_id="c-1", body="How did you sleep?")
    return alice


def _menu_state(page):
    return page.evaluate("""() => {
      const nav = document.getElementById("main-nav"), r = nav.getBoundingClientRect();
      const dot = getComputedStyle(document.querySelector("[data-nav-toggle]"), "::after").content;
      return {left: r.left, right: r.right, visible: r.height > 0, dot: dot !== "none",
              scrollWidth: document.documentElement.scrollWidth};
    }""")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_phone_menu_is_a_disclosure_button(alice_with_unread, browser, live_server, language):
    alice = alice_with_unread
    User.objects.filter(pk=alice.pk).update(preferred_language=language)
    session = _session_of(alice)
    violations = []
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    _watch_policy_violations(context, violations)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(live_server.url + "/dashboard/")
        toggle = page.locator("[data-nav-toggle]")
        nav = page.locator("#main-nav")
        messages = nav.locator("a[href='/chats/']")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_have_attribute("aria-controls", "main-nav")
        expect(messages).to_be_hidden()
        assert _menu_state(page)["dot"], "the folded menu does not show that a message is unread"

        toggle.click()  # open: every link of the role, Messages (with its badge), Family and all
        expect(toggle).to_have_attribute("aria-expanded", "true")
        for href in ("/dashboard/", "/wellness/", "/appointments/", "/chats/", "/family/", "/access/"):
            expect(nav.locator(f"a[href='{href}']")).to_be_visible()
        expect(messages.locator(".count-badge")).to_be_visible()
        state = _menu_state(page)
        assert state["left"] >= 0 and state["right"] <= PHONE["width"] and state["scrollWidth"] <= PHONE["width"], state

        page.keyboard.press("Tab")  # the links come right after the button
        expect(nav.locator("a").first).to_be_focused()
        page.keyboard.press("Escape")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_be_focused()
        expect(messages).to_be_hidden()

        page.keyboard.press("Enter")  # a real button: Enter and Space work
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.keyboard.press(" ")
        expect(toggle).to_have_attribute("aria-expanded", "false")

        toggle.click()
        page.locator("main h1").first.click()  # a click elsewhere closes it
        expect(toggle).to_have_attribute("aria-expanded", "false")

        if language == "en":  # its name is said, not only drawn
            expect(page.get_by_role("button", name="Menu", exact=True)).to_be_visible()

        # On a wide screen the links are listed and there is no menu button.
        page.set_viewport_size({"width": 1280, "height": 800})
        expect(toggle).to_be_hidden()
        expect(messages).to_be_visible()
    finally:
        context.close()
    _fail_on_policy_violations(violations)


def test_phone_menu_links_stay_reachable_without_scripts(alice, browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="en-US", java_script_enabled=False)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": _session_of(alice), "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(live_server.url + "/dashboard/")
        expect(page.locator("[data-nav-toggle]")).to_be_hidden()  # it could not open anything
        for href in ("/chats/", "/family/", "/access/"):
            expect(page.locator(f"#main-nav a[href='{href}']")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_a_conversation_opens_at_its_latest_message_with_the_composer_in_view(alice, carol, browser, live_server):
    from clinic.models import CareTeamMember
    from telehealth import chat as chats
    from telehealth.models import Chat, Message

    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
    for seq in range(1, 31):
        Message.objects.create(chat=chat, seq=seq, sender=alice if seq % 2 else carol,
                               sender_role="patient" if seq % 2 else "doctor", client_id=f"m{seq}",
                               body=f"Message number {seq}: how the week went, in a few lines of text.")
    Chat.objects.filter(pk=chat.pk).update(last_seq=30, last_message_at=timezone.now())
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": _session_of(alice), "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(live_server.url + f"/chats/{chat.pk}/")
        latest = page.locator("[data-chat-messages] li[data-seq='30']")
        expect(latest).to_be_in_viewport(ratio=0.95)
        expect(page.get_by_label("Message", exact=True)).to_be_in_viewport(ratio=1)
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
        expect(page.locator("[data-chat-messages] li[data-seq='1']")).not_to_be_in_viewport()
    finally:
        context.close()
