"""End-to-end flows in a real browser: patient sign-up, the doctor application → admin approval →
doctor TOTP enrolment path, and a keyboard check on the sign-in page."""

import base64
import io
import re

import pytest
from django.core import mail
from django_otp.oath import totp
from PIL import Image
from playwright.sync_api import expect

from accounts.models import ApplicationStatus, DoctorApplication
from conftest import PASSWORD, totp_code, totp_enrol

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _png(path):
    Image.new("RGB", (64, 48), "#3a7").save(path, format="PNG")
    return path


def _pdf(path):
    from conftest import pdf_upload  # a real PDF: uploads are parsed and rebuilt (issue 9)

    path.write_bytes(pdf_upload().read())
    return path


def _url(live_server, path):
    return live_server.url + path


def _path_is(live_server, path):
    """Match the page URL on its path, ignoring any query string (?next=…)."""
    return re.compile("^" + re.escape(live_server.url + path) + r"(\?.*)?$")


def _sign_in(page, live_server, login, password=PASSWORD):
    page.goto(_url(live_server, "/accounts/login/"))
    page.locator("[name=login]").fill(login)
    page.locator("[name=password]").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _current_totp(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


# --- 1. patient sign-up -------------------------------------------------------------------------

def _fill_patient_form(page, tmp_path, *, password_confirm=PASSWORD):
    page.locator("[name=name]").fill("Maya Rivera")
    page.locator("[name=date_of_birth]").fill("1991-04-12")
    page.locator("[name=gender]").select_option("female")
    page.locator("[name=phone]").fill("+12025550177")
    page.locator("[name=email]").fill("maya@example.com")
    page.locator("[name=preferred_language]").select_option("en")
    page.locator("[name=location]").fill("Lisbon")
    page.locator("[name=timezone]").select_option("Europe/Lisbon")
    page.locator("[name=photo]").set_input_files(str(_png(tmp_path / "maya.png")))
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("[name=password_confirm]").fill(password_confirm)


def test_patient_signs_up_and_sees_dashboard(page, live_server, tmp_path):
    page.goto(_url(live_server, "/signup/patient/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your patient account")

    # Negative first: mismatched passwords keep the visitor on the form with a field error and
    # what they typed (passwords are not echoed back, by design).
    _fill_patient_form(page, tmp_path, password_confirm="Something-else-99!")
    page.get_by_role("button", name="Create account").last.click()
    expect(page).to_have_url(_path_is(live_server, "/signup/patient/"))
    expect(page.locator("#id_password_confirm_error")).to_have_text("The two passwords differ.")
    expect(page.locator("[name=name]")).to_have_value("Maya Rivera")
    expect(page.locator("[name=email]")).to_have_value("maya@example.com")

    # Now the real sign-up.
    _fill_patient_form(page, tmp_path)
    page.get_by_role("button", name="Create account").last.click()

    # issue 9: the same page whether the phone/e-mail was new or taken; then the patient signs in
    expect(page).to_have_url(_path_is(live_server, "/signup/done/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for signing up")
    page.get_by_role("link", name="Sign in", exact=True).last.click()
    _sign_in(page, live_server, "maya@example.com")
    expect(page).to_have_url(_path_is(live_server, "/dashboard/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Maya")
    care = page.locator(".card").filter(has=page.get_by_role("heading", name="People in your care"))
    expect(care.get_by_role("cell", name="Maya Rivera", exact=True)).to_be_visible()


# --- 2. doctor applies, admin approves, doctor enrols TOTP -----------------------------------

DOCTOR = {"name": "Nadia Okafor", "email": "nadia@example.com", "phone": "+12025550188"}


def test_doctor_applies_admin_approves_doctor_enrols_totp(page, new_context, live_server, tmp_path, ada):
    # The doctor applies, proposing Monday 09:00–12:00.
    page.goto(_url(live_server, "/signup/doctor/"))
    page.locator("[name=name]").fill(DOCTOR["name"])
    page.locator("[name=email]").fill(DOCTOR["email"])
    page.locator("[name=phone]").fill(DOCTOR["phone"])
    page.locator("[name=specialty]").fill("Psychiatry")
    page.locator("[name=years_experience]").fill("9")
    page.locator("[name=cv_text]").fill("Residency in psychiatry; nine years in community mental health.")
    page.locator("[name=identity_proof]").set_input_files(str(_pdf(tmp_path / "licence.pdf")))
    page.locator("[name=timezone]").select_option("UTC")
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("[name=password_confirm]").fill(PASSWORD)
    page.locator("[name=day_0_start]").fill("09:00")
    page.locator("[name=day_0_end]").fill("12:00")
    page.get_by_role("button", name="Send application").click()

    expect(page).to_have_url(_path_is(live_server, "/signup/done/"))
    _sign_in(page, live_server, DOCTOR["email"])
    expect(page).to_have_url(_path_is(live_server, "/account/application/"))
    expect(page.locator(".badge")).to_have_text("Pending review")

    # Until approved, the dashboard is out of reach: the gate sends the doctor back to the status page.
    page.goto(_url(live_server, "/dashboard/"))
    expect(page).to_have_url(_path_is(live_server, "/account/application/"))
    expect(page.locator(".badge")).to_have_text("Pending review")

    application = DoctorApplication.objects.get(user__email=DOCTOR["email"])
    assert application.status == ApplicationStatus.PENDING
    assert application.proposed_timeslots == [{"weekday": 0, "start": "09:00", "end": "12:00"}]

    # Ada (admin, TOTP already enrolled) signs in, passes her second factor, and approves.
    device = totp_enrol(ada)
    admin = new_context("admin").new_page()
    _sign_in(admin, live_server, ada.email)
    expect(admin).to_have_url(_path_is(live_server, "/account/2fa/verify/"))
    admin.locator("[name=token]").fill(totp_code(device))
    admin.get_by_role("button", name="Verify").click()
    expect(admin).not_to_have_url(_path_is(live_server, "/account/2fa/verify/"))

    admin.goto(_url(live_server, "/admin/accounts/doctorapplication/"))
    expect(admin).to_have_url(re.compile(r"status__exact=pending"))
    admin.get_by_role("link", name=DOCTOR["name"]).click()
    expect(admin).to_have_url(re.compile(rf"/admin/accounts/doctorapplication/{application.pk}/change/"))
    expect(admin.get_by_role("link", name="Reject with a reason…").first).to_be_visible()
    mail.outbox.clear()
    admin.get_by_role("link", name="Approve…").first.click()
    expect(admin.get_by_role("heading", name=f"Approve the application of {DOCTOR['name']}?")).to_be_visible()
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator("ul.messagelist li.success")).to_contain_text(
        f"{DOCTOR['name']} is approved; the doctor was emailed.")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == ada
    approved_mail = [m for m in mail.outbox if DOCTOR["email"] in m.to]
    assert len(approved_mail) == 1, [(m.to, m.subject) for m in mail.outbox]
    assert approved_mail[0].subject == "Your Haven doctor application was approved"

    # The doctor signs in afresh and must enrol a second factor before the dashboard opens.
    doctor = new_context("doctor").new_page()
    _sign_in(doctor, live_server, DOCTOR["email"])
    expect(doctor).to_have_url(_path_is(live_server, "/account/2fa/setup/"))
    expect(doctor.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = doctor.locator("span.secret").get_attribute("data-secret")
    assert secret and re.fullmatch(r"[A-Z2-7]+", secret)
    doctor.locator("[name=token]").fill(_current_totp(secret))
    doctor.get_by_role("button", name="Confirm").click()

    expect(doctor).to_have_url(_path_is(live_server, "/account/2fa/backup-codes/"))
    expect(doctor.get_by_role("list", name="Backup codes").locator("li")).not_to_have_count(0)
    doctor.get_by_role("link", name="Continue").click()

    expect(doctor).to_have_url(_path_is(live_server, "/dashboard/"))
    expect(doctor.get_by_role("heading", level=1)).to_have_text(f"Dr. {DOCTOR['name']}")
    week = doctor.locator(".card").filter(has=doctor.get_by_role("heading", name="Weekly availability"))
    expect(week.locator("dt", has_text="Monday")).to_have_count(1)
    monday = week.locator("dt:has-text('Monday') + dd")
    expect(monday).to_contain_text("09:00–12:00")


# --- 3. keyboard -------------------------------------------------------------------------------

def test_first_tab_on_sign_in_focuses_skip_link(page, live_server):
    page.goto(_url(live_server, "/accounts/login/"))
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_have_attribute("href", "#main")
    # Following it moves focus to the main landmark (it has tabindex=-1 for that reason).
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
