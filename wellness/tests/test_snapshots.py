"""Emotion snapshots: capture needs consent (checked on the server), frames are validated and
encrypted, the task reads a real face and a face-less picture honestly, frames are discarded unless
the patient keeps them, the vector is encrypted in its raw column, and one action erases it all."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.contrib import admin
from django.urls import include, path
from PIL import Image

from accounts.models import ConsentKind, ConsentRecord
from analytics.models import AuditEvent
from config.urls import urlpatterns as _site_urls
from core.errors import NotFound, PermissionDenied
from core.storage import encrypted_storage
from wellness import emotion, snapshots
from wellness.models import EmotionSnapshot
from wellness.tasks_emotion import analyze_snapshot
from wellness.tests.test_emotion_engine import SMILING_FACE_JPEG, _gradient



def emotion_test_urls():
    """The site's URLs plus the emotion pages and a fresh admin (with EmotionSnapshot registered):
    until config/urls.py includes wellness.urls_emotion and wellness/admin.py imports
    wellness.admin_emotion, these tests mount them themselves. Harmless once they do."""
    import wellness.admin_emotion  # noqa: F401  (registers EmotionSnapshot)

    extra = [path("", include("wellness.urls_emotion")), path("admin/", admin.site.urls)]
    try:  # the tracker's pages, which the patient dashboard links to
        import wellness.urls  # noqa: F401
    except ImportError:
        pass
    else:
        extra.append(path("", include("wellness.urls")))
    return [*extra, *_site_urls]


urlpatterns = emotion_test_urls()
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(scope="session")
def emotion_weights(tmp_path_factory):
    """The emotion graph, built once into a temporary folder (never the checkout's var/)."""
    home = tmp_path_factory.mktemp("deepface-snapshots")
    emotion.ensure_weights(home)
    return home


@pytest.fixture(autouse=True)
def _emotion_weights_setting(settings, emotion_weights):
    settings.EMOTION_WEIGHTS_DIR = str(emotion_weights)


def face_frame(name="face.jpg"):
    return SimpleUploadedFile(name, SMILING_FACE_JPEG, content_type="image/jpeg")


def blank_frame(name="wall.png"):
    return SimpleUploadedFile(name, _gradient(), content_type="image/png")


def consent(user, *, capture=True, keep_images=False):
    return snapshots.emotion_consent_set(user=user, capture=capture, keep_images=keep_images)


def capture(user, frames, on_commit):
    with on_commit(execute=True):
        snapshot = snapshots.emotion_capture(user=user, frames=frames)
    snapshot.refresh_from_db()
    return snapshot


# --- consent is enforced on the server -------------------------------------------------------------

def test_capture_is_refused_without_consent(alice):
    with pytest.raises(PermissionDenied, match="consent"):
        snapshots.emotion_capture(user=alice, frames=[face_frame()])
    assert not EmotionSnapshot.objects.exists()


def test_capture_is_refused_after_consent_is_withdrawn(alice):
    consent(alice)
    snapshots.emotion_consent_withdraw(user=alice)
    with pytest.raises(PermissionDenied):
        snapshots.emotion_capture(user=alice, frames=[face_frame()])
    assert not EmotionSnapshot.objects.exists()


def test_withdrawal_between_capture_and_analysis_analyses_nothing(alice, django_capture_on_commit_callbacks):
    consent(alice, keep_images=True)
    snapshot = snapshots.emotion_capture(user=alice, frames=[face_frame()])  # task not run yet
    names = list(snapshot.frames)
    snapshots.emotion_consent_withdraw(user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        analyze_snapshot(str(snapshot.pk))
    snapshot.refresh_from_db()
    assert snapshot.status == EmotionSnapshot.Status.FAILED
    assert snapshot.dominant_emotion == "" and snapshot.emotion_vector is None
    assert snapshot.frames == [] and not any(encrypted_storage.exists(n) for n in names)


def test_people_without_their_own_patient_record_cannot_capture(carol):
    with pytest.raises(NotFound):
        snapshots.emotion_capture(user=carol, frames=[face_frame()])


def test_family_capture_lands_on_their_own_record_never_the_relatives(alice, grace,
                                                                      django_capture_on_commit_callbacks):
    consent(grace)
    snapshot = capture(grace, [blank_frame()], django_capture_on_commit_callbacks)
    assert snapshot.patient == grace.patient_record
    assert not alice.patient_record.emotion_snapshots.exists()


# --- frames ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("frames, message", [
    ([], "at least one"),
    ([SimpleUploadedFile(f"{i}.png", _gradient(), content_type="image/png") for i in range(6)], "at most 5"),
    ([SimpleUploadedFile("x.jpg", b"GIF89a not really a picture", content_type="image/jpeg")], "JPEG or PNG"),
    ([SimpleUploadedFile("x.pdf", b"%PDF-1.4\n%%EOF\n", content_type="image/jpeg")], "JPEG or PNG"),
])
def test_bad_frames_are_refused_on_the_frames_field(alice, frames, message):
    consent(alice)
    with pytest.raises(snapshots.ValidationError) as exc:
        snapshots.emotion_capture(user=alice, frames=frames)
    assert list(exc.value.message_dict) == ["frames"]
    assert message in " ".join(exc.value.message_dict["frames"])
    assert not EmotionSnapshot.objects.exists()


def test_frames_over_two_megabytes_are_refused(alice):
    consent(alice)
    big = Image.effect_noise((1400, 1400), 120).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    assert buf.tell() > 2 * 1024 * 1024
    with pytest.raises(snapshots.ValidationError, match="too large"):
        snapshots.emotion_capture(user=alice, frames=[SimpleUploadedFile("big.png", buf.getvalue())])


def test_frames_are_reencoded_and_encrypted_at_rest(alice):
    consent(alice, keep_images=True)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    buf = io.BytesIO()
    Image.open(io.BytesIO(SMILING_FACE_JPEG)).save(buf, format="JPEG", exif=exif)
    snapshot = snapshots.emotion_capture(user=alice, frames=[SimpleUploadedFile("f.jpg", buf.getvalue())])
    (name,) = snapshot.frames
    assert name == f"emotion/{alice.patient_record.pk}/{snapshot.pk}/1.jpg"
    raw = encrypted_storage.read_raw(name)
    assert not raw.startswith(b"\xff\xd8") and b"SpyCam" not in raw  # encrypted on disk
    with encrypted_storage.open(name) as fh:
        clear = fh.read()
    assert clear.startswith(b"\xff\xd8") and b"SpyCam" not in clear  # re-encoded: EXIF gone


def test_one_capture_per_minute(alice, django_capture_on_commit_callbacks):
    consent(alice)
    capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    with pytest.raises(snapshots.CaptureTooSoon, match="less than a minute ago") as exc:
        snapshots.emotion_capture(user=alice, frames=[blank_frame()])
    assert exc.value.status_code == 429
    assert EmotionSnapshot.objects.count() == 1


def test_a_refused_upload_does_not_use_up_the_minute(alice, django_capture_on_commit_callbacks):
    consent(alice)
    with pytest.raises(snapshots.ValidationError):
        snapshots.emotion_capture(user=alice, frames=[SimpleUploadedFile("x.jpg", b"nope")])
    assert capture(alice, [blank_frame()], django_capture_on_commit_callbacks).status == "done"


def test_capture_is_audited_and_analysis_is_queued_only_on_commit(alice, django_capture_on_commit_callbacks):
    consent(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        snapshot = snapshots.emotion_capture(user=alice, frames=[blank_frame()])
    assert snapshot.status == EmotionSnapshot.Status.PENDING
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="emotion.captured", target_id=str(snapshot.pk), actor=alice).exists()


# --- the analysis task -----------------------------------------------------------------------------

def test_a_real_face_gives_a_plausible_dominant_emotion(alice, django_capture_on_commit_callbacks):
    consent(alice)
    snapshot = capture(alice, [face_frame(), face_frame("2.jpg")], django_capture_on_commit_callbacks)
    assert snapshot.status == EmotionSnapshot.Status.DONE
    assert snapshot.face_detected is True
    assert snapshot.dominant_emotion in emotion.EMOTION_LABELS
    assert snapshot.dominant_emotion == "happy"  # a broad smile
    assert 0 < snapshot.confidence <= 1
    assert set(snapshot.emotion_vector) == set(emotion.EMOTION_LABELS)
    assert snapshot.emotion_vector[snapshot.dominant_emotion] == pytest.approx(snapshot.confidence)
    assert sum(snapshot.emotion_vector.values()) == pytest.approx(1, abs=1e-6)


def test_a_picture_without_a_face_is_a_no_face_result(alice, django_capture_on_commit_callbacks):
    consent(alice)
    snapshot = capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    assert snapshot.status == EmotionSnapshot.Status.DONE
    assert snapshot.face_detected is False
    assert snapshot.dominant_emotion == "" and snapshot.confidence is None
    assert snapshot.error == ""


def test_frames_are_deleted_after_analysis(alice, django_capture_on_commit_callbacks):
    consent(alice)
    with django_capture_on_commit_callbacks(execute=False):
        pending = snapshots.emotion_capture(user=alice, frames=[blank_frame(), blank_frame("b.png")])
    names = list(pending.frames)
    assert len(names) == 2 and all(encrypted_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        analyze_snapshot(str(pending.pk))
    pending.refresh_from_db()
    assert pending.frames == [] and pending.keep_frames is False
    assert not any(encrypted_storage.exists(n) for n in names)


def test_frames_are_kept_with_the_separate_images_consent(alice, django_capture_on_commit_callbacks):
    consent(alice, keep_images=True)
    snapshot = capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    assert snapshot.keep_frames is True
    (name,) = snapshot.frames
    assert encrypted_storage.exists(name)


def test_the_task_is_idempotent(alice, django_capture_on_commit_callbacks, monkeypatch):
    consent(alice)
    snapshot = capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    calls = []
    monkeypatch.setattr(emotion, "analyze_frames", lambda frames: calls.append(frames))
    assert analyze_snapshot(str(snapshot.pk)) == "done"
    assert analyze_snapshot("00000000-0000-0000-0000-000000000000") is None
    assert calls == []


def test_unreadable_frames_fail_with_a_short_error(alice, django_capture_on_commit_callbacks, monkeypatch):
    consent(alice)

    def broken(frames):
        raise emotion.ImageError("not a decodable image")

    monkeypatch.setattr(emotion, "analyze_frames", broken)
    snapshot = capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    assert snapshot.status == EmotionSnapshot.Status.FAILED
    assert snapshot.error == "The pictures could not be read."
    assert snapshot.frames == []


# --- encryption at rest ----------------------------------------------------------------------------

def test_the_emotion_vector_column_holds_no_plaintext(alice, django_capture_on_commit_callbacks):
    consent(alice)
    snapshot = capture(alice, [face_frame()], django_capture_on_commit_callbacks)
    scores = snapshot.emotion_vector
    assert scores and snapshot.face_detected
    table = EmotionSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT emotion_vector FROM {table}")  # noqa: S608 (fixed name)
        (raw,), = cursor.fetchall()
    assert isinstance(raw, str) and raw
    # Fernet tokens are url-safe base64, so a bare word like "sad" can appear by chance; the
    # plaintext would carry the labels as quoted JSON keys, which base64 can never contain.
    for label in emotion.EMOTION_LABELS:
        assert f'"{label}"' not in raw
    for value in scores.values():
        assert repr(value) not in raw and f"{value:.4f}" not in raw
    assert "{" not in raw and ":" not in raw and "." not in raw  # not JSON, not a decimal in sight
    with pytest.raises(ValueError):
        json.loads(raw)
    # ... and the model reads it back
    assert EmotionSnapshot.objects.get(pk=snapshot.pk).emotion_vector == scores


# --- erasure ---------------------------------------------------------------------------------------

def test_erase_removes_every_snapshot_and_every_file_in_one_action(alice, bob, django_capture_on_commit_callbacks):
    consent(alice, keep_images=True)
    consent(bob, keep_images=True)
    done = capture(alice, [face_frame()], django_capture_on_commit_callbacks)
    snapshots.cache.clear()  # the per-minute limit is not what this test is about
    with django_capture_on_commit_callbacks(execute=False):
        pending = snapshots.emotion_capture(user=alice, frames=[blank_frame()])
    bobs = capture(bob, [blank_frame()], django_capture_on_commit_callbacks)
    names = done.frames + pending.frames
    assert len(names) == 2 and all(encrypted_storage.exists(n) for n in names)

    with django_capture_on_commit_callbacks(execute=True):
        count = snapshots.emotion_data_erase(user=alice)

    assert count == 2
    assert not EmotionSnapshot.objects.filter(patient=alice.patient_record).exists()
    assert not any(encrypted_storage.exists(n) for n in names)
    assert EmotionSnapshot.objects.filter(pk=bobs.pk).exists() and encrypted_storage.exists(bobs.frames[0])
    event = AuditEvent.objects.get(action="emotion.erased")
    assert event.actor == alice and event.data["snapshots"] == 2
    # a pending analysis whose snapshot was erased does nothing
    assert analyze_snapshot(str(pending.pk)) is None


def test_erase_also_sweeps_stray_files_of_the_patient(alice, django_capture_on_commit_callbacks):
    stray = encrypted_storage.save(f"emotion/{alice.patient_record.pk}/orphan/1.jpg",
                                   SimpleUploadedFile("1.jpg", SMILING_FACE_JPEG))
    with django_capture_on_commit_callbacks(execute=True):
        snapshots.emotion_data_erase(user=alice)
    assert not encrypted_storage.exists(stray)


def test_only_the_patient_may_erase(alice, grace):
    with pytest.raises(PermissionDenied):
        snapshots.emotion_data_erase(user=grace, patient=alice.patient_record)


# --- consent records -------------------------------------------------------------------------------

def test_consent_changes_are_recorded_with_ip_and_audited(alice, rf):
    request = rf.post("/", REMOTE_ADDR="203.0.113.7")
    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=True, request=request)
    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=True, request=request)  # no change
    snapshots.emotion_consent_withdraw(user=alice, request=request)
    records = list(ConsentRecord.objects.filter(user=alice).order_by("created_at").values_list("kind", "granted"))
    assert records == [(ConsentKind.EMOTION_CAPTURE, True), (ConsentKind.EMOTION_IMAGES, True),
                       (ConsentKind.EMOTION_CAPTURE, False), (ConsentKind.EMOTION_IMAGES, False)]
    assert set(ConsentRecord.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    actions = list(AuditEvent.objects.filter(actor=alice).order_by("created_at").values_list("action", flat=True))
    assert actions == ["consent.granted", "consent.granted", "consent.withdrawn", "consent.withdrawn"]
    assert snapshots.emotion_consent_of(alice) == snapshots.EmotionConsent(capture=False, keep_images=False)


def test_keeping_images_needs_capture_consent(alice):
    state = snapshots.emotion_consent_set(user=alice, capture=False, keep_images=True)
    assert state == snapshots.EmotionConsent(capture=False, keep_images=False)
    assert not ConsentRecord.objects.filter(user=alice, granted=True).exists()


def test_withdrawing_the_images_consent_deletes_kept_pictures(alice, django_capture_on_commit_callbacks):
    consent(alice, keep_images=True)
    snapshot = capture(alice, [blank_frame()], django_capture_on_commit_callbacks)
    (name,) = snapshot.frames
    with django_capture_on_commit_callbacks(execute=True):
        consent(alice, capture=True, keep_images=False)
    snapshot.refresh_from_db()
    assert snapshot.frames == [] and snapshot.keep_frames is False
    assert not encrypted_storage.exists(name)
    assert snapshot.status == "done"  # the result itself stays until the patient erases it
