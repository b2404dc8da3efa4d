"""The emotion snapshot pages: who may open them, what each consent state shows, capture through
the page endpoint (consent enforced there too), the result partial the script polls, erasure,
the dashboard card and the aggregates-only admin."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ConsentRecord
from analytics.models import AuditEvent
from conftest import login_verified
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

PAGE = "/wellness/emotion/"
AI_LABEL = "Automated estimate — not a diagnosis"


def frames(*contents):
    return [SimpleUploadedFile(f"frame-{i}.jpg", c, content_type="image/jpeg") for i, c in enumerate(contents)]


def grant(user, keep_images=False):
    snapshots.emotion_consent_set(user=user, capture=True, keep_images=keep_images)


def snapshot_of(user, **fields):
    values = {"status": "done", "face_detected": True, "dominant_emotion": "sad", "confidence": 0.61,
              "emotion_vector": {"sad": 0.61, "neutral": 0.39}, **fields}
    return EmotionSnapshot.objects.create(patient=user.patient_record, captured_by=user, **values)


@pytest.fixture
def people(alice, grace, bob, carol, dave, hana, ada):
    return {"alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana, "ada": ada}


# --- access ----------------------------------------------------------------------------------------

def test_it_requires_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who, status", [
    ("alice", 200), ("grace", 200), ("bob", 200), ("carol", 404), ("dave", 404), ("hana", 404), ("ada", 404)])
def test_the_page_is_for_people_with_their_own_patient_record(client, people, who, status):
    login_verified(client, people[who])
    assert client.get(PAGE).status_code == status


def test_each_person_sees_only_their_own_snapshots(client, alice, grace):
    snapshot_of(alice, dominant_emotion="surprise")
    login_verified(client, grace)
    body = client.get(PAGE).content.decode()
    assert "Surprise" not in body and "No snapshots yet." in body
    login_verified(client, alice)
    assert "Surprise" in client.get(PAGE).content.decode()


@pytest.mark.parametrize("who", ["grace", "bob", "carol", "ada"])
def test_it_checks_ownership_of_a_result(client, people, alice, who):
    snapshot = snapshot_of(alice)
    login_verified(client, people[who])
    assert client.get(f"{PAGE}{snapshot.pk}/").status_code == 404


@pytest.mark.parametrize("url", ["consent/", "consent/withdraw/", "capture/", "erase/"])
def test_it_rejects_get(client, alice, url):
    login_verified(client, alice)
    assert client.get(PAGE + url).status_code == 405


# --- consent states --------------------------------------------------------------------------------

def test_without_consent_only_the_consent_prompt_is_shown(client, alice):
    login_verified(client, alice)
    body = client.get(PAGE).content.decode()
    assert 'name="capture"' in body and 'name="keep_images"' in body
    assert "Take a 2-second snapshot" not in body and "emotion-capture.js" not in body
    assert "<video" not in body


def test_consenting_shows_the_capture_ui(client, alice):
    login_verified(client, alice)
    response = client.post(PAGE + "consent/", {"capture": "on"}, REMOTE_ADDR="198.51.100.4", follow=True)
    body = response.content.decode()
    assert "Take a 2-second snapshot" in body and "<video" in body and "emotion-capture.js" in body
    assert 'id="emotion-capture-config"' in body
    record = ConsentRecord.objects.get(user=alice)
    assert record.granted and record.kind == "emotion_capture" and record.ip_address == "198.51.100.4"
    assert snapshots.emotion_consent_of(alice) == snapshots.EmotionConsent(capture=True, keep_images=False)


def test_the_two_consents_are_separate_checkboxes(client, alice):
    login_verified(client, alice)
    client.post(PAGE + "consent/", {"capture": "on", "keep_images": "on"})
    assert snapshots.emotion_consent_of(alice) == snapshots.EmotionConsent(capture=True, keep_images=True)
    client.post(PAGE + "consent/", {"capture": "on"})  # untick "keep the pictures"
    assert snapshots.emotion_consent_of(alice) == snapshots.EmotionConsent(capture=True, keep_images=False)


def test_withdrawing_hides_the_capture_ui_and_refuses_captures(client, alice):
    grant(alice)
    login_verified(client, alice)
    response = client.post(PAGE + "consent/withdraw/", follow=True)
    body = response.content.decode()
    assert "Your consent was withdrawn" in body and "Take a 2-second snapshot" not in body
    refused = client.post(PAGE + "capture/", {"frames": frames(SMILING_FACE_JPEG)})
    assert refused.status_code == 403 and "consent" in refused.json()["detail"]
    assert AuditEvent.objects.filter(action="consent.withdrawn", actor=alice).exists()


# --- capture through the page ----------------------------------------------------------------------

def test_capture_without_consent_is_refused(client, alice):
    login_verified(client, alice)
    response = client.post(PAGE + "capture/", {"frames": frames(SMILING_FACE_JPEG)})
    assert response.status_code == 403
    assert not EmotionSnapshot.objects.exists()


def test_capture_shows_progress_then_the_labelled_result(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    login_verified(client, alice)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(PAGE + "capture/", {"frames": frames(SMILING_FACE_JPEG, SMILING_FACE_JPEG)})
    assert response.status_code == 202
    job = response.json()
    snapshot = EmotionSnapshot.objects.get(pk=job["job_id"])
    assert job["status_url"] == f"{PAGE}{snapshot.pk}/"
    pending = client.get(job["status_url"]).content.decode()
    assert 'data-status="pending"' in pending and "Analysing" in pending

    for callback in queued:  # the worker picks the job up
        callback()
    done = client.get(job["status_url"]).content.decode()
    assert 'data-status="done"' in done and "Happy" in done and "% confidence" in done and AI_LABEL in done
    history = client.get(PAGE + "history/").content.decode()
    assert "Happy" in history and AI_LABEL in history


def test_no_face_is_a_friendly_result_not_an_error(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    login_verified(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(PAGE + "capture/", {"frames": frames(_gradient())}).json()
    response = client.get(job["status_url"])
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-status="done"' in body and "No face found" in body


def test_bad_frames_get_a_field_error(client, alice):
    grant(alice)
    login_verified(client, alice)
    response = client.post(PAGE + "capture/", {"frames": frames(b"this is no picture")})
    assert response.status_code == 422
    assert response.json()["field"] == "frames" and "JPEG or PNG" in response.json()["detail"]


def test_a_second_capture_within_a_minute_gets_a_clear_message(client, alice, django_capture_on_commit_callbacks):
    grant(alice)
    login_verified(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(PAGE + "capture/", {"frames": frames(_gradient())}).status_code == 202
    again = client.post(PAGE + "capture/", {"frames": frames(_gradient())})
    assert again.status_code == 429 and "wait a minute" in again.json()["detail"]


def test_doctors_cannot_capture(client, carol):
    login_verified(client, carol)
    assert client.post(PAGE + "capture/", {"frames": frames(_gradient())}).status_code == 404


# --- erase -----------------------------------------------------------------------------------------

def test_delete_all_removes_rows_and_files(client, alice, django_capture_on_commit_callbacks):
    grant(alice, keep_images=True)
    login_verified(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(PAGE + "capture/", {"frames": frames(_gradient())}).json()
    (name,) = EmotionSnapshot.objects.get(pk=job["job_id"]).frames
    snapshot_of(alice)
    assert encrypted_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE + "erase/", follow=True)
    assert "All your emotion data was deleted (2 snapshots" in response.content.decode()
    assert not EmotionSnapshot.objects.exists() and not encrypted_storage.exists(name)


def test_delete_all_is_offered_after_withdrawal(client, alice):
    snapshot_of(alice)
    login_verified(client, alice)
    body = client.get(PAGE).content.decode()
    assert "Delete all my emotion data" in body and 'action="/wellness/emotion/erase/"' in body


# --- dashboard card --------------------------------------------------------------------------------

def test_dashboard_card_prompts_without_consent(client, alice):
    login_verified(client, alice)
    body = client.get(PAGE + "card/").content.decode()
    assert "Learn more and decide" in body and "Take a snapshot" not in body


def test_dashboard_card_shows_the_last_result_labelled(client, alice):
    grant(alice)
    snapshot_of(alice, dominant_emotion="neutral", confidence=0.734)
    login_verified(client, alice)
    body = client.get(PAGE + "card/").content.decode()
    assert "Neutral" in body and "73% confidence" in body and AI_LABEL in body and "Take a snapshot" in body


def test_dashboard_card_is_empty_for_people_without_a_patient_record(client, carol):
    login_verified(client, carol)
    assert client.get(PAGE + "card/").content == b""


def test_the_patient_dashboard_loads_the_card(client, alice):
    login_verified(client, alice)
    body = client.get("/dashboard/").content.decode()
    if "wellness/emotion/_card.html" not in open("templates/dashboards/patient.html").read():
        pytest.skip("the card is not included in the dashboard yet")
    assert 'hx-get="/wellness/emotion/card/"' in body


# --- admin: aggregates only ------------------------------------------------------------------------

def test_admin_shows_only_aggregates(client, ada, alice, bob):
    snapshot_of(alice, dominant_emotion="sad")
    snapshot_of(bob, dominant_emotion="happy", confidence=0.9)
    snapshot_of(bob, face_detected=False, dominant_emotion="", confidence=None, emotion_vector={})
    login_verified(client, ada)
    response = client.get("/admin/wellness/emotionsnapshot/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Analysed snapshots: 3." in body and "A face was found in 67% of them." in body
    assert "Alice" not in body and "Bob" not in body
    assert "0.61" not in body and "61%" not in body
    month = response.context["stats"]["months"][0]
    assert month["total"] == 3 and month["faces"] == 2 and sum(month["counts"]) == 2


def test_admin_has_no_single_snapshot_pages(client, ada, alice):
    snapshot = snapshot_of(alice)
    login_verified(client, ada)
    for url in (f"{snapshot.pk}/change/", f"{snapshot.pk}/delete/", "add/", f"{snapshot.pk}/history/"):
        assert client.get(f"/admin/wellness/emotionsnapshot/{url}").status_code in (302, 404), url
    assert EmotionSnapshot.objects.filter(pk=snapshot.pk).exists()
