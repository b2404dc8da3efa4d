"""The pages issue 9 changed (2FA management, e-mail/phone change, sign-up answer, undo link) at
desktop and phone widths: nothing wider than the screen, the key controls visible. Screenshots
go to test-artifacts/."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts import services
from conftest import totp_enrol
from tests.browser.conftest import ARTIFACTS, TIMEOUT_MS, _session_of

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def _open(browser, live_server, viewport, user=None):
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    if user is not None:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": _session_of(user),
                              "url": live_server.url}])
    return context, context.new_page()


def _fits(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


@pytest.mark.parametrize("width", WIDTHS)
def test_security_pages_fit_desktop_and_phone(browser, live_server, carol, alice, width):
    ARTIFACTS.mkdir(exist_ok=True)
    totp_enrol(carol)
    services.backup_codes_generate(user=carol)
    token = services.identity_undo_token(user=alice, old_email="alice.old@example.com", old_phone="+12025550100")
    shots = [
        (carol, "/account/2fa/", "Remove two-factor authentication"),
        (alice, "/account/profile/", "Profile and settings"),
        (None, "/signup/done/", "Thank you for signing up"),
        (None, f"/account/identity/undo/{token}/", "Undo the change of email or phone"),
        (None, "/signup/patient/", None),
    ]
    for user, path, text in shots:
        context, page = _open(browser, live_server, WIDTHS[width], user)
        page.goto(live_server.url + path)
        if text:
            expect(page.get_by_role("heading", level=1)).to_have_text(text) if path != "/account/2fa/" else \
                expect(page.get_by_role("heading", name=text)).to_be_visible()
        if path == "/account/2fa/":
            expect(page.locator("[name=token]")).to_be_visible()
            expect(page.locator("[name=password]")).to_be_visible()
        if path == "/account/profile/":
            expect(page.locator("[name=current_password]")).to_be_visible()
        _fits(page)
        name = path.strip("/").replace("/", "_").split("_undo")[0]
        page.screenshot(path=str(ARTIFACTS / f"issue9-{name}-{width}.png"), full_page=True)
        context.close()
