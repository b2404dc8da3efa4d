"""Settings for the ASGI server the call browser test starts (pytest-django's live_server is WSGI,
without websockets): the project's settings, with the call page routed until config/urls.py
includes telehealth.urls_calls."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "telehealth.tests.urls_calls"
