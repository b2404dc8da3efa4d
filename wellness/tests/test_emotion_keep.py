"""What of an emotion result is stored follows the patient's choice: all scores, only the estimated
emotion, or nothing (shown once). Whatever is stored is encrypted in its column."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import ConsentKind, ConsentRecord
from accounts.tokens import issue_pair
from wellness import emotion, snapshots
from wellness.models import EmotionSnapshot
from wellness.tests.test_emotion_engine import SMILING_FACE_JPEG
from wellness.tests.test_snapshots import emotion_test_urls

urlpatterns = emotion_test_urls()
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

Keep = EmotionSnapshot.Keep
SCORES = {"happy": 0.81, "neutral": 0.12, "sad": 0.07}


@pytest.fixture(autouse=True)
def _fake_engine(monkeypatch):
    result = emotion.EmotionResult(face_detected=True, dominant="happy", confidence=0.81, scores=SCORES)
    monkeypatch.setattr(emotion, "analyze_frames", lambda images: result)


def take(user, on_commit, keep, keep_images=False):
    snapshots.emotion_consent_set(user=user, capture=True, keep_images=keep_images, keep=keep)
    with on_commit(execute=True):
        snapshot = snapshots.emotion_capture(
            user=user, frames=[SimpleUploadedFile("f.jpg", SMILING_FACE_JPEG, content_type="image/jpeg")])
    return EmotionSnapshot.objects.filter(pk=snapshot.pk).first() or snapshot


def raw_result(snapshot_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT face_detected, dominant_emotion, confidence, emotion_vector FROM "
                       "wellness_emotionsnapshot WHERE id = %s",
                       [EmotionSnapshot._meta.pk.get_db_prep_value(snapshot_id, connection)])
        return cursor.fetchone()


def test_keeping_scores_stores_all_of_it_encrypted(alice, django_capture_on_commit_callbacks):
    snapshot = take(alice, django_capture_on_commit_callbacks, Keep.SCORES)
    assert (snapshot.keep, snapshot.dominant_emotion, snapshot.confidence) == (Keep.SCORES, "happy", 0.81)
    assert snapshot.emotion_vector == SCORES
    _face, dominant, confidence, vector = raw_result(snapshot.pk)
    for column in (dominant, confidence, vector):
        assert column.startswith("gAAAAA") and "happy" not in column and "0.81" not in column


def test_keeping_the_estimate_stores_no_scores(alice, django_capture_on_commit_callbacks):
    snapshot = take(alice, django_capture_on_commit_callbacks, Keep.LABEL)
    assert (snapshot.dominant_emotion, snapshot.confidence, snapshot.emotion_vector) == ("happy", 0.81, None)
    _face, dominant, confidence, vector = raw_result(snapshot.pk)
    assert dominant.startswith("gAAAAA") and confidence.startswith("gAAAAA") and vector is None


def test_keeping_nothing_shows_the_result_once_and_stores_nothing(client, alice, django_capture_on_commit_callbacks):
    snapshot = take(alice, django_capture_on_commit_callbacks, Keep.NONE)
    assert snapshot.status == "done"
    face, dominant, confidence, vector = raw_result(snapshot.pk)
    assert (face, dominant, confidence, vector) == (None, "", None, None)
    client.force_login(alice)
    assert client.get("/wellness/emotion/history/").content.decode().count("happy") == 0
    shown = client.get(f"/wellness/emotion/{snapshot.pk}/").content.decode()
    assert 'data-status="done"' in shown and "Happy" in shown and "81%" in shown
    assert not EmotionSnapshot.objects.filter(pk=snapshot.pk).exists()  # nothing left behind
    assert client.get(f"/wellness/emotion/{snapshot.pk}/").status_code == 404


def test_keeping_nothing_keeps_no_pictures(alice, django_capture_on_commit_callbacks):
    snapshot = take(alice, django_capture_on_commit_callbacks, Keep.NONE, keep_images=True)
    assert snapshot.keep_frames is False and snapshot.frames == []


def test_keeping_nothing_through_the_api_answers_once(client, alice, django_capture_on_commit_callbacks):
    snapshot = take(alice, django_capture_on_commit_callbacks, Keep.NONE)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(alice)['access']}"}
    body = client.get(f"/api/v1/auth/face-capture/{snapshot.pk}", **auth).json()
    assert (body["dominant_emotion"], body["kept"], body["scores"]) == ("happy", "none", SCORES)
    assert client.get(f"/api/v1/auth/face-capture/{snapshot.pk}", **auth).status_code == 404
    history = client.get(f"/api/v1/patients/{alice.patient_record.pk}/emotions", **auth).json()
    assert history["items"] == [] if isinstance(history, dict) else history == []


def test_choosing_to_keep_less_drops_what_was_kept_beyond_it(alice, django_capture_on_commit_callbacks):
    first = take(alice, django_capture_on_commit_callbacks, Keep.SCORES)
    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=False, keep=Keep.LABEL)
    first.refresh_from_db()
    assert first.emotion_vector is None and first.dominant_emotion == "happy"
    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=False, keep=Keep.NONE)
    assert not EmotionSnapshot.objects.filter(patient=alice.patient_record).exists()


def test_the_choice_is_recorded_as_consent_records(client, alice):
    client.force_login(alice)
    client.post("/wellness/emotion/consent/", {"capture": "on", "keep": "label"})
    assert snapshots.emotion_consent_of(alice).keep == Keep.LABEL
    kinds = dict(ConsentRecord.objects.filter(user=alice).values_list("kind", "granted"))
    assert kinds == {ConsentKind.EMOTION_CAPTURE: True, ConsentKind.EMOTION_RESULTS: True,
                     ConsentKind.EMOTION_SCORES: False}
    response = client.post("/wellness/emotion/consent/", {"capture": "on", "keep": "everything"}, follow=True)
    assert response.status_code == 200 and snapshots.emotion_consent_of(alice).keep == Keep.LABEL
    page = client.get("/wellness/emotion/").content.decode()
    assert 'name="keep" value="label" checked' in page


def test_a_consent_from_before_the_choice_keeps_scores(alice):
    ConsentRecord.objects.create(user=alice, kind=ConsentKind.EMOTION_CAPTURE, granted=True, text_version="2026-11")
    assert snapshots.emotion_consent_of(alice).keep == Keep.SCORES


def test_admin_totals_count_the_encrypted_emotions(alice, bob, django_capture_on_commit_callbacks):
    take(alice, django_capture_on_commit_callbacks, Keep.LABEL)
    take(bob, django_capture_on_commit_callbacks, Keep.SCORES)
    stats = snapshots.emotion_aggregates()
    (month,) = stats["months"]
    assert month["counts"][list(snapshots.EMOTION_NAMES).index("happy")] == 2
