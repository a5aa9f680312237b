"""Oracle cases whose model is an ONNX graph (``fomoh oracle make-case --onnx model.onnx``).

The case directory holds the ONNX file itself, always named ``model.onnx``, next to
``case.json`` and ``case.npz``. The model description records its SHA-256 and size::

    "model": {"onnx": {"file": "model.onnx", "sha256": "...", "bytes": 20741},
              "input_shape": [3, 4], "constants": ["bn.running_mean", "bn.running_var"],
              "loss": "cross_entropy"}

θ is the graph's floating-point initializers in graph order, except the ``constants`` (held
fixed; e.g. batch-norm statistics, which some frameworks cannot differentiate); the
``parameters`` layout names them by their ONNX names. The model is evaluated by
``layers.from_onnx``, so reading a case also checks the graph (supported operators, no
derivatives through integer tensors) and evaluates it once on zeros to learn the number of
classes. The file is untrusted like the rest of the case: its size and SHA-256 are checked
against ``case.json`` before it is parsed, and ``layers.onnx`` applies its own limits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hyperdual.backend import to_numpy
from layers.onnx import MAX_MODEL_BYTES, Graph, OnnxError, OnnxModel, from_onnx, load_model
from layers.onnx.registry import ELEM_TYPES

ONNX_FILE = "model.onnx"
"""The fixed name of the ONNX file inside a case directory (no paths are read from a case)."""

_KEYS = {"onnx", "input_shape", "loss"}
_OPTIONAL = {"constants"}


def is_onnx_description(model):
    """True for the model description of an ONNX case."""
    return isinstance(model, dict) and "onnx" in model


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_keys(obj, keys, optional, where):
    missing, extra = sorted(keys - set(obj)), sorted(set(obj) - keys - optional)
    if missing:
        raise ValueError(f"{where} lacks the key(s) {missing}")
    if extra:
        raise ValueError(f"{where} has unknown key(s) {extra}")


def _check_description(model):
    """Types and values of an ONNX model description (nothing is read)."""
    _check_keys(model, _KEYS, _OPTIONAL, "'model'")
    ref = model["onnx"]
    if not isinstance(ref, dict):
        raise ValueError('model.onnx must be an object {"file", "sha256", "bytes"}')
    _check_keys(ref, {"file", "sha256", "bytes"}, set(), "model.onnx")
    if ref["file"] != ONNX_FILE:
        raise ValueError(
            f"model.onnx.file must be {ONNX_FILE!r} (the file next to case.json), "
            f"got {ref['file']!r}"
        )
    sha = ref["sha256"]
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError("model.onnx.sha256 must be a lower-case hexadecimal SHA-256")
    size = ref["bytes"]
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_MODEL_BYTES:
        raise ValueError(f"model.onnx.bytes must be an integer in [1, {MAX_MODEL_BYTES}]")
    shape = model["input_shape"]
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 8
        or not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 1 << 24 for n in shape
        )
    ):
        raise ValueError(
            f"model.input_shape must be a list of positive integers (one sample's "
            f"shape), got {shape!r}"
        )
    constants = model.get("constants", [])
    if (
        not isinstance(constants, list)
        or len(constants) > 10_000
        or not all(isinstance(c, str) and 1 <= len(c) <= 1000 for c in constants)
    ):
        raise ValueError("model.constants must be a list of initializer names")
    if model["loss"] != "cross_entropy":
        raise ValueError(f"model.loss must be 'cross_entropy', got {model['loss']!r}")


def load_onnx_model(model, case_dir):
    """The ``layers.onnx.OnnxModel`` of a (checked) description, after checking the file's
    size and SHA-256 against it."""
    if case_dir is None:
        raise ValueError(
            "an ONNX model description needs its case directory (the file "
            f"{ONNX_FILE} next to case.json)"
        )
    path = Path(case_dir) / ONNX_FILE
    if not path.is_file():
        raise ValueError(f"{path}: ONNX file not found")
    size = path.stat().st_size
    if size != model["onnx"]["bytes"]:
        raise ValueError(
            f"{path}: {size} bytes, but model.onnx.bytes says {model['onnx']['bytes']}"
        )
    if _sha256(path) != model["onnx"]["sha256"]:
        raise ValueError(
            f"{path}: SHA-256 differs from model.onnx.sha256 (the files do not "
            "belong together, or one is corrupt)"
        )
    try:
        proto, _ = load_model(path, external_data=False)  # a case's file is self-contained
        floating = [
            t.name
            for t in proto.graph.initializer
            if ELEM_TYPES.get(t.data_type, np.dtype(int)).kind == "f"
        ]
        constants = set(model.get("constants", []))
        unknown = sorted(constants - set(floating))
        if unknown:
            raise ValueError(f"model.constants {unknown} are not floating initializers of {path}")
        graph = Graph(proto, parameters=[n for n in floating if n not in constants])
    except (OnnxError, ImportError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return OnnxModel(graph, name="oracle_case")


def validate_onnx_description(model, case_dir):
    """Check an ONNX model description and its file; return (output shape, layout).

    The graph must take one floating input of the declared per-sample shape and give logits
    of shape (N, K); it is evaluated once on zeros (batch 1) to learn K.
    """
    _check_description(model)
    onnx_model = load_onnx_model(model, case_dir)
    if len(onnx_model.input_names) != 1:
        raise ValueError(
            f"the ONNX graph takes the inputs {onnx_model.input_names}; an oracle "
            "case supports graphs with one (floating) data input"
        )
    declared = onnx_model.graph.inputs[0][1]
    if declared is not None and declared.kind != "f":
        raise ValueError(
            f"the ONNX graph's input has type {declared}; the case format stores "
            "floating inputs only"
        )
    shape = tuple(model["input_shape"])
    if onnx_model.input_shape is not None and onnx_model.input_shape != shape:
        raise ValueError(
            f"model.input_shape {list(shape)} differs from the graph's input "
            f"shape {list(onnx_model.input_shape)} (per sample)"
        )
    try:
        theta = to_numpy(onnx_model.init_params(dtype=np.float64))  # host, as the probe input
        out = onnx_model.forward(theta, np.zeros((1,) + shape))
    except Exception as exc:
        raise ValueError(
            f"the ONNX graph cannot be evaluated on inputs of shape "
            f"(1, {', '.join(map(str, shape))}): {exc}"
        ) from None
    if out.ndim != 2 or out.shape[0] != 1:
        raise ValueError(
            f"the ONNX graph's first output must be logits (N, K); for one sample "
            f"it has shape {tuple(out.shape)}"
        )
    return (int(out.shape[1]),), [(n, tuple(s)) for n, s in onnx_model.param_shapes()]


def describe_onnx(path, input_shape=None, constants=()):
    """The model description of the ONNX file ``path`` (per-sample ``input_shape`` taken from
    the graph when not given)."""
    path = Path(path)
    model = from_onnx(path)
    if input_shape is None:
        input_shape = model.input_shape
        if input_shape is None:
            raise ValueError(
                f"{path}: the graph's input has symbolic dimensions besides the "
                "batch; give the per-sample input shape (--input-shape)"
            )
    description = {
        "onnx": {"file": ONNX_FILE, "sha256": _sha256(path), "bytes": path.stat().st_size},
        "input_shape": [int(n) for n in input_shape],
        "loss": "cross_entropy",
    }
    if constants:
        description["constants"] = list(constants)
    return description
