"""Headers that keep patient data in the page: a Content-Security-Policy without inline scripts, a
Permissions-Policy that lets only the call, snapshot and chat pages ask for camera or microphone,
and `Cache-Control: no-store` on every signed-in or API response. And the templates themselves:
no inline event handler, inline script or inline style that the policy would have to allow."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import resolve, reverse

from conftest import login_verified
from core.middleware import MEDIA_PAGES, permissions_policy

BASE_DIR = Path(settings.BASE_DIR)


def csp_of(response):
    header = response["Content-Security-Policy"]
    return dict((part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in header.split(";")) if part)


# --- Content-Security-Policy -------------------------------------------------------------------------

def assert_strict_csp(response):
    directives = csp_of(response)
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_it_sends_the_csp_on_public_pages(client):
    for path in ("/", reverse("account_login"), reverse("signup")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_csp(response)


@pytest.mark.django_db
def test_it_sends_the_csp_on_signed_in_pages_and_admin(client, alice, ada):
    client.force_login(alice)
    assert_strict_csp(client.get(reverse("dashboard")))
    login_verified(client, ada)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert_strict_csp(response)


@pytest.mark.django_db
def test_htmx_is_told_not_to_inject_its_inline_indicator_styles(client):
    body = client.get("/").content.decode()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false' in body
    css = (BASE_DIR / "static/css/haven.css").read_text()
    assert ".htmx-request .htmx-indicator" in css


# --- Permissions-Policy ----------------------------------------------------------------------------

def test_the_media_pages_are_real_url_names():
    for name in MEDIA_PAGES:
        args = {"call_room": ["room-x"], "chat_detail": ["00000000-0000-0000-0000-000000000000"]}.get(name, [])
        assert resolve(reverse(name, args=args)).url_name == name


def test_camera_and_microphone_only_where_a_page_needs_them():
    assert "camera=(self)" in permissions_policy("call_room")
    assert "microphone=(self)" in permissions_policy("call_room")
    assert "camera=(self)" in permissions_policy("emotion_snapshots")
    assert "microphone=()" in permissions_policy("emotion_snapshots")
    assert "microphone=(self)" in permissions_policy("chat_detail")
    assert "camera=()" in permissions_policy("chat_detail")
    for name in ("dashboard", "home", None):
        assert "camera=()" in permissions_policy(name) and "microphone=()" in permissions_policy(name)
    for name in ("call_room", "dashboard", None):
        assert "geolocation=()" in permissions_policy(name)
        assert "payment=()" in permissions_policy(name)


@pytest.mark.django_db
def test_pages_carry_their_permissions_policy(client, alice):
    assert "camera=()" in client.get("/")["Permissions-Policy"]
    client.force_login(alice)
    response = client.get(reverse("emotion_snapshots"))
    assert response.status_code == 200
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert "camera=()" in client.get(reverse("dashboard"))["Permissions-Policy"]


# --- Cache-Control -----------------------------------------------------------------------------------

def assert_not_stored(response):
    assert "no-store" in response["Cache-Control"], response.get("Cache-Control")
    assert "private" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"


@pytest.mark.django_db
def test_signed_in_pages_are_never_stored(client, alice):
    client.force_login(alice)
    for path in (reverse("dashboard"), reverse("notifications"), reverse("profile")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_not_stored(response)
    # a redirect or an error of a signed-in request is covered too
    assert_not_stored(client.get("/no-such-page/"))


@pytest.mark.django_db
def test_api_responses_are_never_stored(client, alice):
    assert_not_stored(client.get("/api/v1/openapi.json"))
    assert_not_stored(client.post("/api/v1/auth/token", {"login": "x", "password": "y"},
                                  content_type="application/json"))


@pytest.mark.django_db
def test_static_files_stay_cacheable(client, alice):
    client.force_login(alice)
    response = client.get("/static/css/haven.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- the templates: nothing inline to allow --------------------------------------------------------

def project_template_files():
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    for config in apps.get_app_configs():
        path = Path(config.path) / "templates"
        if path.is_dir() and BASE_DIR in path.parents and ".venv" not in path.parts:
            dirs.append(path)
    files = sorted({f for d in dirs for f in d.rglob("*.html")} | {f for d in dirs for f in d.rglob("*.txt")})
    assert len(files) > 50, dirs  # the scan really looked
    return files


TAG = re.compile(r"<([a-zA-Z][\w-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
EVENT_HANDLER = re.compile(r"(?:^|\s)(on[a-z]+)\s*=", re.I)
INLINE_STYLE = re.compile(r"(?:^|\s)style\s*=", re.I)
HTMX_ON = re.compile(r"(?:^|\s)hx-on", re.I)
JS_URL = re.compile(r"=\s*[\"']?\s*javascript:", re.I)
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def inline_problems(text):
    problems = []
    # template comments are not sent to the browser (keep line numbers)
    blank = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731
    text = re.sub(r"\{#.*?#\}", blank, text, flags=re.S)
    text = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", blank, text, flags=re.S)
    for match in TAG.finditer(text):
        name, attrs = match.group(1).lower(), match.group(2)
        # {% ... %} and {{ ... }} inside a tag are template code, not attributes
        attrs_only = re.sub(r"\{[%{].*?[%}]\}", " ", attrs, flags=re.S)
        line = text.count("\n", 0, match.start()) + 1
        if found := EVENT_HANDLER.search(attrs_only):
            problems.append(f"line {line}: inline event handler {found.group(1)}=")
        if INLINE_STYLE.search(attrs_only):
            problems.append(f"line {line}: inline style attribute")
        if HTMX_ON.search(attrs_only):
            problems.append(f"line {line}: hx-on (evaluated inline code)")
        if JS_URL.search(attrs_only):
            problems.append(f"line {line}: javascript: URL")
        if name == "script":
            type_ = re.search(r"type\s*=\s*[\"']([^\"']+)", attrs_only)
            if not re.search(r"\bsrc\s*=", attrs_only) and not (type_ and type_.group(1) in DATA_SCRIPT_TYPES):
                problems.append(f"line {line}: inline executable <script>")
        if name == "style":
            problems.append(f"line {line}: inline <style> block")
    return problems


def test_the_scanner_finds_what_it_looks_for():
    bad = ('<a href="#" onclick="go()">x</a>\n<select\n  onchange="this.form.submit()">\n<script>alert(1)</script>\n'
           '<span style="width: 3%">\n<style>p{}</style>\n<a href="javascript:void(0)">\n<button hx-on:click="x">')
    assert len(inline_problems(bad)) == 7
    good = ('<script src="{% static \'js/a.js\' %}" defer></script><script type="application/json" id="x">{}</script>'
            '<select data-submit-on-change>{% if x %} selected{% endif %}</select><p data-onclick="no">'
            '{# <style> in a comment #}{% comment %}<b onclick="x">{% endcomment %}')
    assert inline_problems(good) == []


def test_no_template_has_inline_handlers_scripts_or_styles():
    found = {}
    for path in project_template_files():
        if problems := inline_problems(path.read_text()):
            found[str(path.relative_to(BASE_DIR))] = problems
    assert found == {}, "move these to static JS/CSS (the CSP refuses them):\n" + "\n".join(
        f"{path}: {problem}" for path, problems in found.items() for problem in problems)
