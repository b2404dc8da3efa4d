"""Emotion-snapshot consent through the API (GET/PUT/DELETE /api/v1/auth/face-capture/consent): a
mobile app can give and withdraw it as the web page does, with the same records and audit events,
and only for the person's own patient record."""

import pytest
from django.test import Client

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from wellness import snapshots
from accounts.models import ConsentRecord

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/face-capture/consent"


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def test_a_patient_gives_changes_and_withdraws_consent_through_the_api(alice):
    client = api(alice)
    assert client.get(URL).json()["capture"] is False
    given = client.put(URL, {"capture": True, "keep_images": True, "keep": "label"}, content_type="application/json")
    assert given.status_code == 200, given.content
    assert given.json() | {"label": ""} == {"capture": True, "keep_images": True, "keep": "label",
                                             "text_version": snapshots.CONSENT_TEXT_VERSION, "label": ""}
    assert snapshots.emotion_consent_of(alice).capture
    assert AuditEvent.objects.filter(action="consent.granted", actor=alice).count() >= 2  # capture + images
    assert client.get(URL).json()["keep"] == "label"

    withdrawals = AuditEvent.objects.filter(action="consent.withdrawn", actor=alice).count()
    withdrawn = client.delete(URL)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["capture"] is False and withdrawn.json()["keep_images"] is False
    assert not snapshots.emotion_consent_of(alice).capture
    assert AuditEvent.objects.filter(action="consent.withdrawn", actor=alice).count() == withdrawals + 2
    assert ConsentRecord.objects.filter(user=alice, kind="emotion_capture").count() == 2


def test_bad_choices_are_field_errors_and_others_have_no_consent_to_give(alice, carol):
    bad = api(alice).put(URL, {"capture": True, "keep": "everything"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "keep"
    assert api(carol).put(URL, {"capture": True}, content_type="application/json").status_code == 404
    assert api(carol).get(URL).status_code == 404
    assert Client().get(URL).status_code == 401
    assert not ConsentRecord.objects.exists()
