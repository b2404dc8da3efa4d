"""The emotion API: capture needs consent (403) and good frames (422 on ``frames``), the job is
readable by its owner only, the history follows the clinical access policy (audited for others),
and only the patient erases it.

Alice is in Dr. Carol's care team and registered at Hana's hospital; Grace is her mother; Bob,
Dr. Dave and Hana (staff: administrative data only) may not see her emotions; Ada is an admin.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic.tests.conftest import care, riverside  # noqa: F401 (fixtures)
from core.storage import encrypted_storage
from wellness import snapshots
from wellness.models import EmotionSnapshot
from wellness.tests.test_emotion_engine import SMILING_FACE_JPEG, _gradient
from wellness.tests.test_snapshots import (  # noqa: F401 (fixtures)
    _emotion_weights_setting,
    emotion_test_urls,
    emotion_weights,
)

urlpatterns = emotion_test_urls()
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

AI_LABEL = "Automated estimate — not a diagnosis"


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_pair(user)['access']}"} if user else {}


def upload(client, user, *contents, on_commit=None):
    files = [SimpleUploadedFile(f"f{i}.jpg", c, content_type="image/jpeg") for i, c in enumerate(contents)]
    if on_commit is None:
        return client.post("/api/v1/auth/face-capture", {"frames": files}, **auth(user))
    with on_commit(execute=True):
        return client.post("/api/v1/auth/face-capture", {"frames": files}, **auth(user))


def grant(user, keep_images=False):
    snapshots.emotion_consent_set(user=user, capture=True, keep_images=keep_images)


@pytest.fixture
def people(care, alice, grace, bob, carol, dave, hana, ada):
    return {"anon": None, "alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave,
            "hana": hana, "ada": ada}


@pytest.fixture
def alices_snapshot(alice):
    return EmotionSnapshot.objects.create(
        patient=alice.patient_record, captured_by=alice, status="done", face_detected=True,
        dominant_emotion="sad", confidence=0.61, emotion_vector={"sad": 0.61, "neutral": 0.39})


# --- capture ---------------------------------------------------------------------------------------

def test_capture_without_consent_is_forbidden_with_a_clear_reason(client, alice):
    response = upload(client, alice, SMILING_FACE_JPEG)
    assert response.status_code == 403
    assert "consent" in response.json()["detail"]
    assert not EmotionSnapshot.objects.exists()


def test_capture_needs_a_token(client):
    assert upload(client, None, SMILING_FACE_JPEG).status_code == 401


def test_capture_returns_a_job_and_the_result_follows(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    response = upload(client, alice, SMILING_FACE_JPEG, SMILING_FACE_JPEG, on_commit=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    result = client.get(f"/api/v1/auth/face-capture/{job_id}", **auth(alice)).json()
    assert result["status"] == "done" and result["face_detected"] is True
    assert result["dominant_emotion"] == "happy" and 0 < result["confidence"] <= 1
    assert result["scores"]["happy"] == pytest.approx(result["confidence"])
    assert result["label"] == AI_LABEL


def test_no_face_is_a_result(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    job_id = upload(client, alice, _gradient(), on_commit=django_capture_on_commit_callbacks).json()["job_id"]
    result = client.get(f"/api/v1/auth/face-capture/{job_id}", **auth(alice)).json()
    assert result["status"] == "done" and result["face_detected"] is False
    assert result["dominant_emotion"] is None and result["confidence"] is None and result["scores"] == {}


@pytest.mark.parametrize("contents, message", [
    ((b"plain text, not a picture",), "JPEG or PNG"),
    ((_gradient(),) * 6, "at most 5"),
])
def test_bad_frames_are_422_on_the_frames_field(client, alice, contents, message):
    grant(alice)
    response = upload(client, alice, *contents)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "frames" and message in error["message"]


def test_missing_frames_are_422_on_the_frames_field(client, alice):
    grant(alice)
    response = client.post("/api/v1/auth/face-capture", {}, **auth(alice))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["frames"]


def test_one_capture_per_minute(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    assert upload(client, alice, _gradient(), on_commit=django_capture_on_commit_callbacks).status_code == 202
    again = upload(client, alice, _gradient())
    assert again.status_code == 429 and "minute" in again.json()["detail"]


def test_doctors_have_no_face_of_their_own_to_capture(client, carol):
    assert upload(client, carol, _gradient()).status_code == 404


@pytest.mark.parametrize("who, status", [
    ("anon", 401), ("alice", 200), ("grace", 404), ("bob", 404), ("carol", 404), ("dave", 404), ("hana", 404),
    ("ada", 404)])
def test_a_job_is_readable_by_its_owner_only(client, people, alices_snapshot, who, status):
    response = client.get(f"/api/v1/auth/face-capture/{alices_snapshot.pk}", **auth(people[who]))
    assert response.status_code == status


# --- history ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [
    ("anon", 401), ("alice", 200), ("grace", 200), ("bob", 404), ("carol", 200), ("dave", 404), ("hana", 404),
    ("ada", 200)])
def test_history_follows_the_clinical_access_policy(client, people, alice, alices_snapshot, who, status):
    response = client.get(f"/api/v1/patients/{alice.patient_record.pk}/emotions", **auth(people[who]))
    assert response.status_code == status
    if status == 200:
        (item,) = response.json()["items"]
        assert item["dominant_emotion"] == "sad" and item["confidence"] == 0.61 and item["label"] == AI_LABEL
        assert item["scores"] == {"sad": 0.61, "neutral": 0.39}
        audited = AuditEvent.objects.filter(action="emotion.history_viewed", actor=people[who],
                                            target_id=str(alice.patient_record.pk))
        assert audited.exists() == (who != "alice")


def test_history_of_an_unknown_patient_is_404(client, ada):
    response = client.get("/api/v1/patients/00000000-0000-0000-0000-000000000000/emotions", **auth(ada))
    assert response.status_code == 404


# --- erase -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [
    ("anon", 401), ("alice", 204), ("grace", 403), ("bob", 404), ("carol", 403), ("dave", 404), ("hana", 404),
    ("ada", 403)])
def test_only_the_patient_erases(client, people, alice, alices_snapshot, who, status,
                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/patients/{alice.patient_record.pk}/emotions", **auth(people[who]))
    assert response.status_code == status
    assert EmotionSnapshot.objects.filter(pk=alices_snapshot.pk).exists() == (status != 204)


def test_erase_removes_rows_and_pictures(client, alice, django_capture_on_commit_callbacks):
    grant(alice, keep_images=True)
    job_id = upload(client, alice, _gradient(), on_commit=django_capture_on_commit_callbacks).json()["job_id"]
    (name,) = EmotionSnapshot.objects.get(pk=job_id).frames
    assert encrypted_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/patients/{alice.patient_record.pk}/emotions", **auth(alice))
    assert response.status_code == 204
    assert not EmotionSnapshot.objects.exists() and not encrypted_storage.exists(name)
    assert client.get(f"/api/v1/auth/face-capture/{job_id}", **auth(alice)).status_code == 404
