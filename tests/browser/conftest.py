"""Playwright (sync API) fixtures for the browser tests.

They drive the Debian Chromium at /usr/bin/chromium (never a Playwright-downloaded browser) against
pytest-django's ``live_server``, or, for pages that need websockets, against ``asgi_server``: a real
daphne process (pytest-django's live server is WSGI only) on the data the test wrote. In CI
(CI=true) a missing Chromium fails the tests; elsewhere it skips them.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from conftest import login_verified, require_service

# Playwright's sync API keeps an asyncio event loop running in this thread, which makes Django's
# "you cannot call this from an async context" guard trip on every ORM call the test makes.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts"
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


# Console errors that mean the Content-Security-Policy or the Permissions-Policy blocked something
# a page needed ("Refused to execute inline script ...", "Refused to apply inline style ...",
# "Refused to connect to ...", "Permissions policy violation: camera ...").
POLICY_VIOLATION = re.compile(r"Refused to|Content Security Policy|Permissions policy violation", re.I)


def _watch_policy_violations(context, violations):
    def on_console(message):
        if message.type in ("error", "warning") and POLICY_VIOLATION.search(message.text):
            violations.append(f"{message.text} ({message.location.get('url', '')})")

    context.on("console", on_console)


def _fail_on_policy_violations(violations):
    if violations:
        pytest.fail("the page broke the CSP or Permissions-Policy:\n" + "\n".join(dict.fromkeys(violations)))


@pytest.fixture
def new_context(browser, request):
    """Make extra, isolated browser contexts (another person signing in, in parallel with
    ``page``): ``new_context("admin")``. Each is screenshotted (name-suffixed with its label) and
    closed at teardown."""
    contexts = []
    violations = []

    def make(label="extra"):
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        _watch_policy_violations(context, violations)
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
    _fail_on_policy_violations(violations)


@pytest.fixture
def page(browser, request):
    """A page in a fresh context (no cookies shared with other tests); screenshotted at teardown."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    violations = []
    _watch_policy_violations(context, violations)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=_artifact_name(request), full_page=True)
    except Exception:  # a screenshot must never hide the real test outcome
        pass
    context.close()
    _fail_on_policy_violations(violations)


# --- a real ASGI server (HTTP + websockets) ---------------------------------------------------------

ASGI_SETTINGS = "tests.browser.asgi_settings"
ASGI_START_TIMEOUT = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp_path) -> str:
    """A DATABASE_URL the server process can open with the data this test committed: on Postgres
    the test database itself, on SQLite (an in-memory test database) a file copy of it made with
    SQLite's backup API."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"
    assert connection.vendor == "sqlite", connection.vendor
    path = tmp_path / "asgi-test.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)  # works for the in-memory test database too
    finally:
        target.close()
    return f"sqlite:///{path}"


def _session_of(user) -> str:
    """A session cookie value for the user, signed in with their second factor passed."""
    client = Client()
    login_verified(client, user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def asgi_server(tmp_path, request):
    """Start daphne (config.asgi, the project's URLs) on the test's data; yields ``start()``, which
    returns the base URL. Call it after writing the data: on SQLite the server gets a copy made at
    that moment, so later writes by the test are not seen by the server (and the other way round).
    Needs ``django_db(transaction=True)`` so the data is committed."""
    processes = []
    last = {}

    def start(port=None, database_url=None) -> str:
        port = port or _free_port()
        database_url = database_url or _database_url(tmp_path)
        last.update(port=port, database_url=database_url)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": ASGI_SETTINGS,
               "DATABASE_URL": database_url, "DJANGO_SECRET_KEY": settings.SECRET_KEY,
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "HAVEN_PRODUCTION": "false",
               "DJANGO_DEBUG": "false", "PYTHONPATH": str(BASE_DIR)}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        log_path = tmp_path / f"daphne-{len(processes)}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                    "config.asgi:application"], cwd=BASE_DIR, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        processes.append((process, log, log_path))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + ASGI_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError("daphne exited:\n" + log_path.read_text())
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if response.status == 200:
                        return base
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("daphne did not start:\n" + log_path.read_text())
            time.sleep(0.2)

    def stop():
        """Stop the last server (as a deploy or a crash would); its data stays."""
        process = processes[-1][0]
        process.terminate()
        try:  # daphne waits for open websockets to close; don't wait long for that
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart() -> str:
        """Start it again on the same port and the same data (a server restart)."""
        return start(port=last["port"], database_url=last["database_url"])

    start.stop, start.restart = stop, restart
    yield start
    for index, (process, log, log_path) in enumerate(processes):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        # keep the server's log next to the screenshots when something went wrong
        ARTIFACTS.mkdir(exist_ok=True)
        suffix = f"-{index}" if index else ""
        _artifact_name(request, f"-daphne{suffix}").with_suffix(".log").write_bytes(log_path.read_bytes())
