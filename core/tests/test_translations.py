"""Translation catalogues (hi, es, ar) are complete and correct, and the site serves them.

The .mo files are build output (gitignored): the module fixture compiles any that are missing or
older than their .po, the same as `make test` does, so this module also runs on its own.
"""

import io
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.signals import setting_changed
from django.utils import translation
from django.utils.html import escape

from tests.factories import PatientUserFactory

TRANSLATED_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

# Named python-format placeholders: %(name)s, %(count)d, %(size).1f, ...
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]")


def po_path(lang: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / lang / "LC_MESSAGES" / "django.po"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues():
    """Compile missing or stale .mo files, then drop Django's cached catalogues so they reload."""
    call_command("compiletranslations", stdout=io.StringIO())
    for lang in TRANSLATED_LANGUAGES:
        assert po_path(lang).with_suffix(".mo").exists(), f"{lang}: .mo was not compiled"
    # Django's own hook for a LOCALE_PATHS change empties its catalogue caches.
    setting_changed.send(sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=False)


def test_every_non_source_language_has_a_catalogue():
    assert set(TRANSLATED_LANGUAGES) == {"hi", "es", "ar"}
    for lang in TRANSLATED_LANGUAGES:
        assert po_path(lang).is_file(), f"missing {po_path(lang)}"


@pytest.mark.parametrize("lang", TRANSLATED_LANGUAGES)
def test_catalogue_is_complete_and_not_fuzzy(lang):
    po = polib.pofile(str(po_path(lang)))
    entries = [e for e in po if not e.obsolete]
    assert len(entries) > 100, "catalogue looks empty; was makemessages run?"
    assert "Sign in" in {e.msgid for e in entries}
    assert po.metadata.get("Language") == lang
    assert not po.metadata_is_fuzzy, "the header is still marked fuzzy"
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.parametrize("lang", TRANSLATED_LANGUAGES)
def test_placeholders_match_between_msgid_and_msgstr(lang):
    po = polib.pofile(str(po_path(lang)))
    nplurals = int(re.search(r"nplurals\s*=\s*(\d+)", po.metadata["Plural-Forms"]).group(1))
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural)
            if sorted(entry.msgstr_plural) != list(range(nplurals)):
                problems.append((entry.msgid, f"plural forms {sorted(entry.msgstr_plural)}, want {nplurals}"))
            for index, form in entry.msgstr_plural.items():
                if placeholders(form) != expected:
                    problems.append((entry.msgid, f"msgstr[{index}]: {sorted(placeholders(form))}"))
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            problems.append((entry.msgid, sorted(placeholders(entry.msgstr))))
    assert problems == []


@pytest.mark.parametrize("lang, direction", [("ar", "rtl"), ("es", "ltr"), ("hi", "ltr")])
def test_home_page_follows_the_language_cookie(client, db, lang, direction):
    with translation.override(lang):
        sign_in = translation.gettext("Sign in")
    assert sign_in != "Sign in", f"{lang}: 'Sign in' is not translated in the compiled catalogue"

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'lang="{lang}"' in page
    assert f'dir="{direction}"' in page
    assert escape(sign_in) in page


def test_signed_in_users_preferred_language_wins_over_the_cookie(client, db):
    user = PatientUserFactory(preferred_language="hi")
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"

    response = client.get("/dashboard/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="hi"' in page and 'dir="ltr"' in page
    with translation.override("hi"):
        sign_out_hi = translation.gettext("Sign out")
    with translation.override("es"):
        sign_out_es = translation.gettext("Sign out")
    assert sign_out_hi != "Sign out"
    assert escape(sign_out_hi) in page
    assert escape(sign_out_es) not in page
