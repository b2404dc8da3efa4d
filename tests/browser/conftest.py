"""Playwright (sync API) fixtures for the browser tests.

They drive the Debian Chromium at /usr/bin/chromium (never a Playwright-downloaded browser) against
pytest-django's ``live_server``. In CI (CI=true) a missing Chromium fails the tests; elsewhere it
skips them.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import require_service

# Playwright's sync API keeps an asyncio event loop running in this thread, which makes Django's
# "you cannot call this from an async context" guard trip on every ORM call the test makes.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000

# Web-first assertions (expect(...)) wait 5 s by default; a loaded CI runner can need more.
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def _live_server_media_url():
    """Haven sets MEDIA_URL = None (uploads are private, served only through access-checked
    views). Django's LiveServerThread wraps the app in _MediaFilesHandler, which parses
    MEDIA_URL once when the server starts: urlparse(None) yields *bytes*, and every request then
    fails with "startswith first arg must be str ... not bytes" (HTTP 500). While the live server
    starts, give it an off-site MEDIA_URL: a URL with a host makes that handler serve nothing, so
    media stays private in the browser tests too. The real setting is restored right after."""
    from django.test import override_settings

    override = override_settings(MEDIA_URL="http://media.invalid/")
    override.enable()
    state = {"enabled": True}

    def restore():
        if state["enabled"]:
            override.disable()
            state["enabled"] = False

    yield restore
    restore()


@pytest.fixture(scope="session")
def live_server(_live_server_media_url, live_server):
    """pytest-django's live server, started with the MEDIA_URL workaround above (the argument
    order matters: the override is enabled before the parent fixture starts the server)."""
    _live_server_media_url()
    return live_server


@pytest.fixture(scope="session")
def browser():
    require_service(os.path.exists(CHROMIUM), f"Debian chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _artifact_name(request, suffix=""):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    return ARTIFACTS / f"{name}{suffix}.png"


@pytest.fixture
def new_context(browser, request):
    """Make extra, isolated browser contexts (another person signing in, in parallel with
    ``page``): ``new_context("admin")``. Each is screenshotted (name-suffixed with its label) and
    closed at teardown."""
    contexts = []

    def make(label="extra"):
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append((label, context))
        return context

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    for label, context in contexts:
        for page_index, open_page in enumerate(context.pages):
            suffix = f"-{label}" + (f"-{page_index}" if page_index else "")
            try:
                open_page.screenshot(path=_artifact_name(request, suffix), full_page=True)
            except Exception:  # a screenshot must never hide the real test outcome
                pass
        context.close()


@pytest.fixture
def page(browser, request):
    """A page in a fresh context (no cookies shared with other tests); screenshotted at teardown."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=_artifact_name(request), full_page=True)
    except Exception:  # a screenshot must never hide the real test outcome
        pass
    context.close()
