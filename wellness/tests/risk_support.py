"""Helpers for the charts and risk tests: a URLconf that adds the wellness charts/risk routes to the
project's (until config/urls.py includes them), generated check-in histories, and request helpers."""

import datetime as dt
import json

from django.urls import include, path
from django.utils import timezone

from accounts.tokens import issue_pair
from wellness.models import WellnessEntry

urlpatterns = [
    path("", include("wellness.urls_doctor")),
    path("", include("config.urls")),
]


def use_risk_routes(settings):
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("doctor_risk")
    except NoReverseMatch:
        settings.ROOT_URLCONF = "wellness.tests.risk_support"


def today_utc() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def add_days(patient, values, *, end=None, sleep=7.0, meditation=10, notes=""):
    """One entry per (mood, stress) in ``values``, the last one on ``end`` (today); None skips a day."""
    end = end or today_utc()
    rows = []
    for i, pair in enumerate(values):
        if pair is None:
            continue
        mood, stress = pair
        day = end - dt.timedelta(days=len(values) - 1 - i)
        rows.append(WellnessEntry(patient=patient, date=day, mood=mood, stress=stress, sleep_hours=sleep,
                                  meditation_minutes=meditation, notes=notes))
    WellnessEntry.objects.bulk_create(rows)
    return rows


def api(client, user, method, path, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


from clinic.tests.conftest import care, riverside  # noqa: E402,F401  (fixtures, re-exported for wellness tests)
