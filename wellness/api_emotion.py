"""/api/v1 for consented emotion snapshots (mounted at the API root: its paths are absolute).

POST /auth/face-capture            multipart ``frames`` (1–5 JPEG/PNG, ≤ 2 MB each) -> 202 {job_id}
GET  /auth/face-capture/{job_id}   status and result (the person who captured it; others 404)
GET  /auth/face-capture/consent    your current consent (capture, keep_images, keep)
PUT  /auth/face-capture/consent    give or change it (one ConsentRecord + audit event per change)
DELETE /auth/face-capture/consent  withdraw it (kept pictures are deleted) -> the new state
GET  /patients/{id}/emotions       snapshot history (patient, family, care team, admins; audited)
DELETE /patients/{id}/emotions     erase everything (the patient's own account only) -> 204

Every result carries ``label``: an automated estimate, not a diagnosis.
"""

import datetime as dt
from uuid import UUID

from ninja import Field, File, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from core.schemas import LimitOffsetPagination, Schema
from wellness import snapshots

emotion_router = Router()


class FaceCaptureJob(Schema):
    job_id: UUID
    status: str


class EmotionSnapshotOut(Schema):
    job_id: UUID
    status: str
    captured_at: dt.datetime
    face_detected: bool | None
    dominant_emotion: str | None
    confidence: float | None
    scores: dict[str, float]
    kept: str
    error: str
    label: str

    @staticmethod
    def resolve_job_id(obj):
        return obj.pk

    @staticmethod
    def resolve_captured_at(obj):
        return obj.created_at

    @staticmethod
    def resolve_dominant_emotion(obj):
        return obj.dominant_emotion or None

    @staticmethod
    def resolve_kept(obj):
        return obj.keep

    @staticmethod
    def resolve_scores(obj):
        return obj.emotion_vector or {}

    @staticmethod
    def resolve_label(obj):
        return str(snapshots.AI_LABEL)


class EmotionConsentOut(Schema):
    capture: bool = Field(..., description="Emotion snapshots may be taken")
    keep_images: bool = Field(..., description="The pictures of each snapshot are kept (encrypted)")
    keep: snapshots.Keep = Field(..., description="What of each result is stored")
    text_version: str = Field(..., description="The version of the consent text these choices refer to")
    label: str


class EmotionConsentIn(Schema):
    capture: bool = Field(..., description="Allow emotion snapshots (false withdraws the consent)")
    keep_images: bool = Field(False, description="Also keep the pictures (only with capture)")
    keep: snapshots.Keep | None = Field(None, description="What of each result to store; absent leaves it as it is")


def _consent_out(consent):
    return {"capture": consent.capture, "keep_images": consent.keep_images, "keep": consent.keep,
            "text_version": snapshots.CONSENT_TEXT_VERSION, "label": str(snapshots.AI_LABEL)}


@emotion_router.get("/auth/face-capture/consent", response=EmotionConsentOut, tags=["emotions"],
                    summary="Your consent to emotion snapshots (your own patient record only)")
def emotion_consent_get(request):
    snapshots.own_patient_of(request.auth)
    return _consent_out(snapshots.emotion_consent_of(request.auth))


@emotion_router.put("/auth/face-capture/consent", response=EmotionConsentOut, tags=["emotions"],
                    summary="Give, change or withdraw your consent to emotion snapshots (recorded and audited)")
def emotion_consent_put(request, payload: EmotionConsentIn):
    consent = snapshots.emotion_consent_set(user=request.auth, capture=payload.capture,
                                            keep_images=payload.keep_images, keep=payload.keep, request=request)
    return _consent_out(consent)


@emotion_router.delete("/auth/face-capture/consent", response=EmotionConsentOut, tags=["emotions"],
                       summary="Withdraw your consent: no more snapshots, kept pictures are deleted")
def emotion_consent_delete(request):
    return _consent_out(snapshots.emotion_consent_withdraw(user=request.auth, request=request))


@emotion_router.post("/auth/face-capture", response={202: FaceCaptureJob}, tags=["emotions"],
                     summary="Send 1–5 webcam frames of yourself for emotion analysis (needs your consent)")
def face_capture(request, frames: list[UploadedFile] | None = File(None)):
    # optional here so that "no frames" is reported by the service, on the ``frames`` field
    snapshot = snapshots.emotion_capture(user=request.auth, frames=frames or [], request=request)
    return Status(202, {"job_id": snapshot.pk, "status": snapshot.status})


@emotion_router.get("/auth/face-capture/{uuid:job_id}", response=EmotionSnapshotOut, tags=["emotions"],
                    summary="The status and result of one of your captures")
def face_capture_result(request, job_id: UUID):
    snapshot = snapshots.emotion_snapshot_get_own(fetched_by=request.auth, snapshot_id=job_id)
    return snapshots.emotion_result_show_once(snapshot)  # a result not kept is answered once


@emotion_router.get("/patients/{uuid:patient_id}/emotions", response=list[EmotionSnapshotOut], tags=["emotions"],
                    summary="A patient's emotion snapshot history (newest first)")
@paginate(LimitOffsetPagination, max_limit=100)
def patient_emotions(request, patient_id: UUID):
    patient, history = snapshots.emotion_snapshots_of(fetched_by=request.auth, patient_id=patient_id)
    snapshots.emotion_history_viewed(actor=request.auth, patient=patient, request=request, via="api")
    return history


@emotion_router.delete("/patients/{uuid:patient_id}/emotions", response={204: None}, tags=["emotions"],
                       summary="Erase all of your emotion snapshots and pictures (the patient only)")
def patient_emotions_erase(request, patient_id: UUID):
    patient, _history = snapshots.emotion_snapshots_of(fetched_by=request.auth, patient_id=patient_id)
    snapshots.emotion_data_erase(user=request.auth, patient=patient, request=request)
    return Status(204, None)

