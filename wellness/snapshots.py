"""Consented emotion snapshots: consent, capture, analysis, history and erasure.

Services (writes) and selectors (reads) for one aggregate, used alike by the pages
(wellness/views_emotion.py), the API (wellness/api_emotion.py) and the Celery task
(wellness/tasks_emotion.py).

Rules:
* a snapshot is always of the signed-in person's OWN patient record (``patient.user``): family
  members may read a relative's history through the access policy, never capture their face;
* nothing is captured without the current ``emotion_capture`` consent (the latest ConsentRecord
  of that kind); it is checked when frames arrive and again before they are analysed;
* frames are encrypted at rest and deleted after analysis unless the ``emotion_images`` consent
  was given at capture time; withdrawing that consent deletes the kept ones;
* the result is an automated estimate, labelled as such wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ConsentKind, ConsentRecord, User
from analytics.services import audit_record, client_ip
from clinic.models import Patient
from clinic.selectors import patient_get
from core.errors import DomainError, NotFound, PermissionDenied
from core.storage import encrypted_storage
from core.uploads import _sniff, check_size, reencode_image
from wellness.models import EmotionSnapshot

logger = logging.getLogger(__name__)

MAX_FRAMES = 5
MAX_FRAME_MB = 2
FRAME_TYPES = {"image/jpeg", "image/png"}
FRAME_MAX_SIDE = 1024
CAPTURE_INTERVAL = dt.timedelta(minutes=1)
CONSENT_TEXT_VERSION = "2026-12"
RESULT_SHOWN_ONCE_SECONDS = 15 * 60
Keep = EmotionSnapshot.Keep

AI_LABEL = gettext_lazy("Automated estimate — not a diagnosis")

EMOTION_NAMES = {
    "angry": gettext_lazy("Angry"),
    "disgust": gettext_lazy("Disgust"),
    "fear": gettext_lazy("Fear"),
    "happy": gettext_lazy("Happy"),
    "sad": gettext_lazy("Sad"),
    "surprise": gettext_lazy("Surprise"),
    "neutral": gettext_lazy("Neutral"),
}


class CaptureTooSoon(DomainError):
    status_code = 429


# --- consent --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmotionConsent:
    capture: bool
    keep_images: bool
    # What of each result is stored: all scores, only the estimated emotion, or nothing (the
    # result is shown once). Meaningful while capture is consented to.
    keep: str = Keep.SCORES


_CONSENT_KINDS = (ConsentKind.EMOTION_CAPTURE, ConsentKind.EMOTION_IMAGES, ConsentKind.EMOTION_RESULTS,
                  ConsentKind.EMOTION_SCORES)


def _latest_records(user: User) -> dict:
    latest = {}
    if user.is_authenticated:
        for kind in _CONSENT_KINDS:
            latest[kind] = (ConsentRecord.objects.filter(user=user, kind=kind).order_by("-created_at")
                            .values("granted", "text_version").first())
    return latest


def _keep_of(latest: dict) -> str:
    results, scores = latest.get(ConsentKind.EMOTION_RESULTS), latest.get(ConsentKind.EMOTION_SCORES)
    if results is None and scores is None:
        # No choice made (a consent given before the choice existed, whose text said the estimate
        # and the encrypted scores are stored; or a client that does not offer the choice).
        return Keep.SCORES
    if results and results["granted"]:
        return Keep.SCORES if scores and scores["granted"] else Keep.LABEL
    return Keep.NONE


def emotion_consent_of(user: User) -> EmotionConsent:
    """The current state: the latest record per kind (no record = not given)."""
    latest = _latest_records(user)
    capture = bool((latest.get(ConsentKind.EMOTION_CAPTURE) or {}).get("granted"))
    images = bool((latest.get(ConsentKind.EMOTION_IMAGES) or {}).get("granted"))
    # Keeping images only means something while capture itself is consented to.
    return EmotionConsent(capture=capture, keep_images=capture and images, keep=_keep_of(latest))


def emotion_consent_set(*, user: User, capture: bool, keep_images: bool, keep: str | None = None,
                        request=None) -> EmotionConsent:
    """Record the person's choice: one append-only record (with IP) and audit event per kind whose
    state changes. Withdrawing capture withdraws keeping images; withdrawing keeping images deletes
    the images kept so far. ``keep`` (a ``Keep`` value; None leaves it as it is) says what of each
    result is stored; narrowing it drops what was stored beyond it."""
    own_patient_of(user)  # only people with their own patient record capture anything
    keep_images = capture and keep_images
    if keep is not None and keep not in Keep.values:
        raise ValidationError({"keep": [_("Choose what to keep from each snapshot.")]})
    latest = _latest_records(user)
    before = emotion_consent_of(user)
    wanted = {ConsentKind.EMOTION_CAPTURE: (before.capture, capture),
              ConsentKind.EMOTION_IMAGES: (before.keep_images, keep_images)}
    if keep is None:
        keep = before.keep
    else:
        # an explicit choice is recorded for both kinds, so it never depends on the default
        for kind, now in ((ConsentKind.EMOTION_RESULTS, keep in (Keep.LABEL, Keep.SCORES)),
                          (ConsentKind.EMOTION_SCORES, keep == Keep.SCORES)):
            was = latest.get(kind)
            wanted[kind] = (None if was is None else was["granted"], now)
    ip = client_ip(request)
    with transaction.atomic():
        for kind, (was, now) in wanted.items():
            if was == now:
                continue
            record = ConsentRecord.objects.create(user=user, kind=kind, granted=now,
                                                  text_version=CONSENT_TEXT_VERSION, ip_address=ip)
            audit_record(action="consent.granted" if now else "consent.withdrawn", actor=user, target=record,
                         request=request, kind=kind)
        if before.keep_images and not keep_images:
            _kept_frames_delete(user)
        _results_narrow(user, keep)
    return EmotionConsent(capture=capture, keep_images=keep_images, keep=keep)


def _results_narrow(user: User, keep: str) -> None:
    """Nothing is kept beyond the current choice: keeping only the estimate drops the stored
    scores; keeping nothing drops every stored result (the snapshot rows go with them)."""
    own = EmotionSnapshot.objects.filter(patient__user=user).exclude(status=EmotionSnapshot.Status.PENDING)
    if keep == Keep.LABEL:
        own.filter(emotion_vector__isnull=False).update(emotion_vector=None, keep=Keep.LABEL)
    elif keep == Keep.NONE:
        doomed = own.filter(status=EmotionSnapshot.Status.DONE)
        names = [name for frames in doomed.values_list("frames", flat=True) for name in frames]
        doomed.delete()
        _delete_files_on_commit(names)


def emotion_consent_withdraw(*, user: User, request=None) -> EmotionConsent:
    return emotion_consent_set(user=user, capture=False, keep_images=False, request=request)


def _kept_frames_delete(user: User) -> None:
    kept = list(EmotionSnapshot.objects.filter(patient__user=user, keep_frames=True)
                .exclude(status=EmotionSnapshot.Status.PENDING))
    names = [name for snapshot in kept for name in snapshot.frames]
    EmotionSnapshot.objects.filter(pk__in=[s.pk for s in kept]).update(keep_frames=False, frames=[])
    _delete_files_on_commit(names)


# --- whose face -----------------------------------------------------------------------------------

def own_patient_of(user: User) -> Patient:
    """The signed-in person's own patient record (never a relative's): 404 when there is none."""
    patient = Patient.objects.filter(user=user).first() if user.is_authenticated and user.is_active else None
    if patient is None:
        raise NotFound(_("Only a patient's own account can take or erase emotion snapshots."))
    return patient


def own_patient_or_none(user: User) -> Patient | None:
    try:
        return own_patient_of(user)
    except NotFound:
        return None


# --- capture --------------------------------------------------------------------------------------

def _frames_clean(frames) -> list:
    frames = [f for f in frames if f is not None]
    if not frames:
        raise ValidationError({"frames": [_("Send at least one picture.")]})
    if len(frames) > MAX_FRAMES:
        raise ValidationError({"frames": [_("Send at most %(count)d pictures.") % {"count": MAX_FRAMES}]})
    cleaned = []
    for upload in frames:
        try:
            check_size(upload, MAX_FRAME_MB)
            if _sniff(upload) not in FRAME_TYPES:
                raise ValidationError(_("Each picture must be a JPEG or PNG image."), code="bad_type")
            cleaned.append(reencode_image(upload, max_side=FRAME_MAX_SIDE))  # drops EXIF and trailing bytes
        except ValidationError as exc:
            raise ValidationError({"frames": exc.messages}) from exc
    return cleaned


def emotion_capture(*, user: User, frames, request=None) -> EmotionSnapshot:
    """Store 1–5 frames (encrypted) as a pending snapshot of the user's own record and queue the
    analysis on commit. Raises NotFound (no own record), PermissionDenied (no consent),
    ValidationError on ``frames`` (count, type, size), CaptureTooSoon (one per minute)."""
    patient = own_patient_of(user)
    consent = emotion_consent_of(user)
    if not consent.capture:
        raise PermissionDenied(_("Emotion snapshots need your consent first. You can give it on the "
                                 "emotion snapshots page and withdraw it at any time."))
    cleaned = _frames_clean(frames)
    if not cache.add(f"emotion-capture:{user.pk}", 1, timeout=int(CAPTURE_INTERVAL.total_seconds())):
        raise CaptureTooSoon(_("You took a snapshot less than a minute ago. Please wait a minute and try again."))
    stored: list[str] = []
    try:
        with transaction.atomic():
            # keeping nothing of the result keeps no pictures either
            snapshot = EmotionSnapshot.objects.create(patient=patient, captured_by=user, keep=consent.keep,
                                                      keep_frames=consent.keep_images and consent.keep != Keep.NONE)
            for n, frame in enumerate(cleaned, start=1):
                ext = frame.name.rsplit(".", 1)[-1]
                stored.append(encrypted_storage.save(f"emotion/{patient.pk}/{snapshot.pk}/{n}.{ext}", frame))
            snapshot.frames = stored
            snapshot.save(update_fields=["frames", "updated_at"])
            audit_record(action="emotion.captured", actor=user, target=snapshot, request=request,
                         frames=len(stored), keep_frames=consent.keep_images)
            transaction.on_commit(lambda: _queue_analysis(snapshot.pk))
    except BaseException:
        _delete_files(stored)
        cache.delete(f"emotion-capture:{user.pk}")
        raise
    return snapshot


def _queue_analysis(snapshot_id) -> None:
    from wellness.tasks_emotion import analyze_snapshot

    analyze_snapshot.delay(str(snapshot_id))


# --- analysis (the task's body) -------------------------------------------------------------------

def emotion_snapshot_analyze(*, snapshot_id) -> EmotionSnapshot | None:
    """Analyse a pending snapshot's frames and store the result. Idempotent: anything but a
    pending snapshot is left alone. "No face" is a result (face_detected=False), not a failure.
    OSError (storage trouble) propagates so the task retries."""
    from wellness import emotion

    snapshot = EmotionSnapshot.objects.select_related("patient").filter(pk=snapshot_id).first()
    if snapshot is None or snapshot.status != EmotionSnapshot.Status.PENDING:
        return snapshot
    owner = snapshot.patient.user
    if owner is None or not emotion_consent_of(owner).capture:
        # consent withdrawn while the frames waited: analyse nothing, keep nothing
        return _finish(snapshot_id, error="Consent was withdrawn before analysis.")
    try:
        images = [_read_frame(name) for name in snapshot.frames]
    except FileNotFoundError:
        return _finish(snapshot_id, error="The pictures were no longer there.")
    try:
        result = emotion.analyze_frames(images)
    except ValueError:
        return _finish(snapshot_id, error="The pictures could not be read.")
    except RuntimeError:
        logger.exception("emotion analysis unavailable for snapshot %s", snapshot_id)
        return _finish(snapshot_id, error="Emotion analysis is not available right now.")
    return _finish(snapshot_id, result=result)


def emotion_snapshot_fail(*, snapshot_id, error: str) -> EmotionSnapshot | None:
    """Give up on a snapshot (the task ran out of retries): failed, frames deleted."""
    return _finish(snapshot_id, error=error)


def _read_frame(name: str) -> bytes:
    with encrypted_storage.open(name) as fh:
        return fh.read()


def _finish(snapshot_id, *, result=None, error: str = "") -> EmotionSnapshot | None:
    with transaction.atomic():
        snapshot = EmotionSnapshot.objects.select_for_update().filter(pk=snapshot_id).first()
        if snapshot is None or snapshot.status != EmotionSnapshot.Status.PENDING:
            return snapshot  # erased meanwhile (its files went with it) or already done
        fields = ["status", "updated_at"]
        if result is not None:
            snapshot.status = EmotionSnapshot.Status.DONE
            if snapshot.keep == Keep.NONE:
                # nothing is stored: the result waits (briefly, in the cache) to be shown once
                cache.set(_shown_once_key(snapshot.pk), {
                    "face_detected": result.face_detected, "dominant": result.dominant or "",
                    "confidence": result.confidence, "scores": dict(result.scores)},
                    timeout=RESULT_SHOWN_ONCE_SECONDS)
            else:
                snapshot.face_detected = result.face_detected
                snapshot.dominant_emotion = result.dominant or ""
                snapshot.confidence = result.confidence
                snapshot.emotion_vector = dict(result.scores) if snapshot.keep == Keep.SCORES else None
                fields += ["face_detected", "dominant_emotion", "confidence", "emotion_vector"]
        else:
            snapshot.status = EmotionSnapshot.Status.FAILED
            snapshot.error = error[:200]
            fields.append("error")
        if not (snapshot.keep_frames and result is not None):
            _delete_files_on_commit(snapshot.frames)
            snapshot.frames = []
            fields.append("frames")
        snapshot.save(update_fields=fields)
    return snapshot


def _shown_once_key(snapshot_id) -> str:
    return f"emotion-result-once:{snapshot_id}"


def emotion_result_show_once(snapshot: EmotionSnapshot) -> EmotionSnapshot:
    """For a snapshot whose result the patient chose not to keep: once analysed, put the result on
    the (unsaved) object for this one answer, then delete the row, so nothing of it stays."""
    if snapshot.keep != Keep.NONE or snapshot.status != EmotionSnapshot.Status.DONE:
        return snapshot
    held = cache.get(_shown_once_key(snapshot.pk))
    cache.delete(_shown_once_key(snapshot.pk))
    snapshot_id = snapshot.pk
    _delete_files_on_commit(snapshot.frames)
    EmotionSnapshot.objects.filter(pk=snapshot_id).delete()
    snapshot.pk = snapshot_id  # the answer still names the job it was asked about
    if held is not None:
        snapshot.face_detected = held["face_detected"]
        snapshot.dominant_emotion = held["dominant"]
        snapshot.confidence = held["confidence"]
        snapshot.emotion_vector = held["scores"]
    return snapshot


def history_of(patient: Patient) -> QuerySet[EmotionSnapshot]:
    """The snapshots that belong in a history: a result shown once is not one of them."""
    return (EmotionSnapshot.objects.filter(patient=patient)
            .exclude(keep=Keep.NONE, status=EmotionSnapshot.Status.DONE).order_by("-created_at"))


# --- erasure --------------------------------------------------------------------------------------

def emotion_data_erase(*, user: User, patient: Patient | None = None, request=None) -> int:
    """Delete every emotion snapshot of the user's own record and all their stored pictures, in
    one action. Only the patient's own account may do this (PermissionDenied otherwise)."""
    own = own_patient_or_none(user)
    patient = patient or own
    if patient is None:
        raise NotFound(_("Only a patient's own account can take or erase emotion snapshots."))
    if own is None or own.pk != patient.pk:
        raise PermissionDenied(_("Only the patient can erase their emotion data."))
    with transaction.atomic():
        snapshots = EmotionSnapshot.objects.select_for_update().filter(patient=patient)
        names = [name for frames in snapshots.values_list("frames", flat=True) for name in frames]
        count, _detail = snapshots.delete()
        audit_record(action="emotion.erased", actor=user, target=patient, request=request, snapshots=count)
        _delete_files_on_commit(names, sweep=f"emotion/{patient.pk}")
    return count


def _delete_files(names) -> None:
    for name in names:
        try:
            encrypted_storage.delete(name)
        except OSError:
            logger.warning("could not delete emotion frame %s", name, exc_info=True)


def _sweep(folder: str) -> None:
    """Remove whatever is left under a patient's emotion folder (e.g. a frame whose snapshot row
    was never committed); best effort, on storages that can list."""
    storage = storages["default"]
    try:
        dirs, files = storage.listdir(folder)
    except (OSError, NotImplementedError):
        return
    for name in files:
        _delete_files([f"{folder}/{name}"])
    for sub in dirs:
        _sweep(f"{folder}/{sub}")


def _delete_files_on_commit(names, *, sweep: str | None = None) -> None:
    names = list(names)

    def run():
        _delete_files(names)
        if sweep:
            _sweep(sweep)

    transaction.on_commit(run)


# --- reads ----------------------------------------------------------------------------------------

def emotion_snapshot_get_own(*, fetched_by: User, snapshot_id) -> EmotionSnapshot:
    """A snapshot of the user's own record; 404 for missing and not-yours alike."""
    snapshot = (EmotionSnapshot.objects.filter(pk=snapshot_id, patient__user=fetched_by).first()
                if fetched_by.is_authenticated else None)
    if snapshot is None:
        raise NotFound(_("Snapshot not found."))
    return snapshot


def emotion_snapshots_of(*, fetched_by: User, patient_id) -> tuple[Patient, QuerySet[EmotionSnapshot]]:
    """A patient's snapshot history, for whoever may see their clinical data (the patient, family,
    care-team doctors, admins); 404 otherwise. Callers audit reads by others
    (``emotion_history_viewed``)."""
    patient = patient_get(fetched_by=fetched_by, patient_id=patient_id, clinical=True)
    return patient, history_of(patient)


def emotion_history_viewed(*, actor: User, patient: Patient, request=None, via: str = "") -> None:
    if patient.user_id != actor.pk:
        audit_record(action="emotion.history_viewed", actor=actor, target=patient, request=request, via=via)


def emotion_name(label: str) -> str:
    return str(EMOTION_NAMES.get(label, label))


def emotion_scores_display(snapshot: EmotionSnapshot) -> list[dict]:
    """The emotion vector as rows for a bar chart, highest first."""
    scores = snapshot.emotion_vector or {}
    return [{"label": label, "name": emotion_name(label), "percent": round(value * 100)}
            for label, value in sorted(scores.items(), key=lambda kv: -kv[1])]


def emotion_aggregates() -> dict:
    """For administrators: counts per month and dominant emotion, and the face-found rate. No
    patient, no single snapshot."""
    done = EmotionSnapshot.objects.filter(status=EmotionSnapshot.Status.DONE)
    rows = (done.annotate(month=TruncMonth("created_at")).values("month")
            .annotate(total=Count("id"), faces=Count("id", filter=Q(face_detected=True)))
            .order_by("-month"))
    # The emotion is encrypted: counted per month after decrypting (one column of the analysed rows).
    per_month: dict = {}
    for month, label in (done.filter(face_detected=True).annotate(month=TruncMonth("created_at"))
                         .values_list("month", "dominant_emotion").iterator()):
        per_month.setdefault(month, Counter())[label] += 1
    months = []
    for row in rows:
        counts = per_month.get(row["month"], Counter())
        months.append({
            "month": row["month"], "total": row["total"], "faces": row["faces"],
            "face_rate": round(100 * row["faces"] / row["total"]) if row["total"] else None,
            "counts": [counts[label] for label in EMOTION_NAMES],
        })
    totals = done.aggregate(total=Count("id"), faces=Count("id", filter=Q(face_detected=True)))
    return {
        "labels": [str(name) for name in EMOTION_NAMES.values()],
        "months": months,
        "total": totals["total"],
        "face_rate": round(100 * totals["faces"] / totals["total"]) if totals["total"] else None,
        "pending": EmotionSnapshot.objects.filter(status=EmotionSnapshot.Status.PENDING).count(),
        "failed": EmotionSnapshot.objects.filter(status=EmotionSnapshot.Status.FAILED).count(),
    }
