"""The flash messages of signing in and out read in the account's language, like the pages that
show them (allauth's message templates go through gettext; their msgids are in Haven's catalog
via templates/i18n/allauth_strings.html, Hindi included)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    translation.activate("en")  # a request leaves its language active in the thread


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("language", ["es", "hi", "ar"])
def test_signing_in_greets_in_the_accounts_language_not_the_browsers(client, alice, language):
    alice.preferred_language = language
    alice.save()

    response = client.post(reverse("account_login"), {"login": alice.email, "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    with translation.override(language):
        greeting = translation.gettext("Successfully signed in as %(name)s.") % {"name": "Alice Patient"}
    assert greeting != "Successfully signed in as Alice Patient."  # the catalog has it
    assert flashes(response) == [greeting]


def test_signing_out_says_so_in_the_accounts_language(client, alice):
    alice.preferred_language = "ar"
    alice.save()
    client.force_login(alice)

    response = client.post(reverse("account_logout"), HTTP_ACCEPT_LANGUAGE="en")

    with translation.override("ar"):
        arabic = translation.gettext("You have signed out.")
    assert arabic != "You have signed out." and flashes(response) == [arabic]
