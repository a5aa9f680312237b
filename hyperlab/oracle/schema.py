"""The oracle exchange format's schema: names, limits and the model description, with their
checks (the case and results metadata are checked in :mod:`.metadata`; the reference reader
is :mod:`.format`).

Nothing in a file is executed: layer types are looked up in a fixed table
(:data:`LAYER_TYPES`), and every value is checked for its type, range and consistency before
anything is allocated. Every problem raises :class:`OracleFormatError` (or a ``ValueError``
that the reader turns into one, naming the file).
"""

from __future__ import annotations

import math

import numpy as np

import layers as L

from .onnx_case import is_onnx_description, load_onnx_model, validate_onnx_description

__all__ = [
    "OracleFormatError",
    "VERSION",
    "CASE_FORMAT",
    "RESULTS_FORMAT",
    "QUANTITIES",
    "RESULT_ARRAYS",
    "LAYER_TYPES",
    "validate_model",
    "parameter_layout",
    "describe_model",
    "build_model",
]

VERSION = 1
"""The format version this module reads and writes."""
CASE_FORMAT = "fomoh-oracle-case"
RESULTS_FORMAT = "fomoh-oracle-results"
CASE_JSON, CASE_NPZ = "case.json", "case.npz"
RESULTS_JSON, RESULTS_NPZ = "results.json", "results.npz"

# --------------------------------------------------------------------------- limits
MAX_JSON_BYTES = 1 << 20
"""A case or results JSON file larger than this is refused before it is parsed."""
MAX_LAYERS = 256
MAX_DIM = 1 << 24
"""Largest allowed size of any one axis or layer width."""
MAX_PARAMETERS = 10_000_000
MAX_ARRAY_ELEMENTS = 1 << 27
"""Largest number of elements of any one array (1 GiB in float64)."""
MAX_DIRECTIONS = 4096
"""Largest number of direction pairs, KD directions or HVP vectors."""
MAX_HESSIAN_PARAMETERS = 4096
"""The full Hessian (D × D) may be asked for only up to this many parameters."""
MAX_TEXT = 1000
"""Longest text field (backend, notes, ...)."""

QUANTITIES = ("loss", "grad", "directional", "projected_hessian", "hvp", "hessian")
"""What a case may ask for, in this order."""

RESULT_ARRAYS = {
    "loss": ("loss",),
    "grad": ("grad",),
    "directional": ("dir_d1", "dir_d2", "dir_d12"),
    "projected_hessian": ("kd_g", "kd_H"),
    "hvp": ("hvp",),
    "hessian": ("hessian",),
}
"""The result arrays of each quantity."""

DIRECTION_ARRAYS = {"directional": ("v1", "v2"), "projected_hessian": ("V",), "hvp": ("hvp_v",)}
DIRECTION_COUNTS = {"directional": "pairs", "projected_hessian": "kd", "hvp": "hvp"}

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
INTS = tuple(
    np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)
)


class OracleFormatError(ValueError):
    """A case or results file is missing, malformed, inconsistent or hostile.

    The message names the file and says what is wrong.
    """


def exact_keys(obj, keys, where, optional=()):
    missing = sorted(set(keys) - set(obj))
    extra = sorted(set(obj) - set(keys) - set(optional))
    if missing:
        raise ValueError(f"{where} lacks the key(s) {missing}")
    if extra:
        raise ValueError(f"{where} has unknown key(s) {extra}")


def check_text(value, where, allow_empty=True):
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not allow_empty and not value):
        raise ValueError(f"{where} must be a string of at most {MAX_TEXT} characters")


def check_sha(value, where):
    if (
        not isinstance(value, str)
        or len(value) != 64
        or any(c not in "0123456789abcdef" for c in value)
    ):
        raise ValueError(f"{where} must be a lower-case hexadecimal SHA-256 (64 characters)")


# --------------------------------------------------------------------------- model description
# type -> (kind used in layer names, {field: checker name})
LAYER_TYPES = {
    "Dense": ("dense", {"in_features": "pos", "out_features": "pos"}),
    "Conv2d": (
        "conv",
        {
            "in_channels": "pos",
            "out_channels": "pos",
            "kernel_size": "pair",
            "stride": "pos",
            "padding": "nonneg",
        },
    ),
    "MaxPool2d": ("maxpool", {"kernel_size": "pos", "stride": "pos", "padding": "nonneg"}),
    "AvgPool2d": ("avgpool", {"kernel_size": "pos", "stride": "pos", "padding": "nonneg"}),
    "Flatten": ("flatten", {}),
    "ReLU": ("relu", {}),
    "Sigmoid": ("sigmoid", {}),
    "Tanh": ("tanh", {}),
}
"""The layer types of format version 1 and their fields (every field is required)."""

_LOSSES = ("cross_entropy",)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_field(value, kind, where):
    if kind == "pair":
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(is_int(v) and 1 <= v <= MAX_DIM for v in value)
        ):
            raise ValueError(f"{where} must be a list of two positive integers, got {value!r}")
        return tuple(value)
    low = 1 if kind == "pos" else 0
    if not is_int(value) or not low <= value <= MAX_DIM:
        raise ValueError(f"{where} must be an integer in [{low}, {MAX_DIM}], got {value!r}")
    return value


def _out_size(n, k, s, p, where):
    if n + 2 * p < k:
        raise ValueError(f"{where}: kernel {k} is larger than the padded input {n + 2 * p}")
    return (n + 2 * p - k) // s + 1


def _layer_shapes(spec, input_shape, where):
    """Output shape and ``[(param name, shape)]`` of one validated layer spec."""
    kind = spec["type"]
    if kind == "Dense":
        if input_shape != (spec["in_features"],):
            raise ValueError(
                f"{where}: Dense expects samples of shape ({spec['in_features']},), "
                f"but its input has shape {input_shape}"
            )
        out = spec["out_features"]
        return (out,), [("weight", (out, spec["in_features"])), ("bias", (out,))]
    if kind == "Conv2d":
        if len(input_shape) != 3 or input_shape[0] != spec["in_channels"]:
            raise ValueError(
                f"{where}: Conv2d expects samples of shape ({spec['in_channels']}, "
                f"H, W), but its input has shape {input_shape}"
            )
        (kh, kw), s, p = spec["kernel_size"], spec["stride"], spec["padding"]
        shape = (
            spec["out_channels"],
            _out_size(input_shape[1], kh, s, p, where),
            _out_size(input_shape[2], kw, s, p, where),
        )
        return shape, [
            ("weight", (spec["out_channels"], spec["in_channels"], kh, kw)),
            ("bias", (spec["out_channels"],)),
        ]
    if kind in ("MaxPool2d", "AvgPool2d"):
        if len(input_shape) != 3:
            raise ValueError(
                f"{where}: {kind} expects samples of shape (C, H, W), but its input "
                f"has shape {input_shape}"
            )
        k, s, p = spec["kernel_size"], spec["stride"], spec["padding"]
        if 2 * p > k:
            raise ValueError(f"{where}: padding {p} must be at most half the kernel size {k}")
        return (
            input_shape[0],
            _out_size(input_shape[1], k, s, p, where),
            _out_size(input_shape[2], k, s, p, where),
        ), []
    if kind == "Flatten":
        return (math.prod(input_shape),), []
    return input_shape, []  # elementwise activations


def validate_model(model, case_dir=None):
    """Check a model description; return its per-sample output shape and parameter layout.

    Parameters
    ----------
    model : dict
        ``{"input_shape": [...], "layers": [...], "loss": "cross_entropy"}`` as in
        ``docs/oracle-format.md``, or an ONNX description ``{"onnx": {...}, "input_shape",
        "loss"}`` (``onnx_case``), whose file is read from ``case_dir``.
    case_dir : path-like, optional
        The case directory (needed for ONNX descriptions only).

    Returns
    -------
    output_shape : tuple of int
    layout : list of (name, shape)
        The parameter tensors in θ order.

    Raises
    ------
    ValueError
        Saying which field of which layer is wrong (callers add the file name).
    """
    if not isinstance(model, dict):
        raise ValueError(f"'model' must be an object, got {type(model).__name__}")
    if is_onnx_description(model):
        return validate_onnx_description(model, case_dir)
    exact_keys(model, {"input_shape", "layers", "loss"}, "'model'")
    if model["loss"] not in _LOSSES:
        raise ValueError(f"model.loss must be one of {list(_LOSSES)}, got {model['loss']!r}")
    shape = model["input_shape"]
    if (
        not isinstance(shape, list)
        or len(shape) not in (1, 3)
        or not all(is_int(n) and 1 <= n <= MAX_DIM for n in shape)
    ):
        raise ValueError(
            f"model.input_shape must be [features] or [C, H, W] of positive integers, got {shape!r}"
        )
    shape = tuple(shape)
    layers = model["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise ValueError(f"model.layers must be a list of 1 to {MAX_LAYERS} layers")
    layout, names = [], set()
    for index, spec in enumerate(layers):
        where = f"model.layers[{index}]"
        if not isinstance(spec, dict):
            raise ValueError(f"{where} must be an object, got {type(spec).__name__}")
        kind = spec.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise ValueError(f"{where}.type must be one of {sorted(LAYER_TYPES)}, got {kind!r}")
        _, fields = LAYER_TYPES[kind]
        exact_keys(spec, {"type", "name", *fields}, where)
        name = spec["name"]
        if (
            not isinstance(name, str)
            or not 1 <= len(name) <= 100
            or "." in name
            or not name.isprintable()
        ):
            raise ValueError(
                f"{where}.name must be a printable string of 1 to 100 characters "
                f"without '.', got {name!r}"
            )
        if name in names:
            raise ValueError(f"{where}.name {name!r} is used twice")
        names.add(name)
        for key, checker in fields.items():
            _check_field(spec[key], checker, f"{where}.{key}")
        shape, params = _layer_shapes(spec, shape, f"{where} ({kind} {name!r})")
        if math.prod(shape) > MAX_ARRAY_ELEMENTS:
            raise ValueError(f"{where}: activation shape {shape} is too large")
        layout += [(f"{name}.{p}", s) for p, s in params]
    if len(shape) != 1:
        raise ValueError(
            f"the model must end in a vector of logits per sample; its output has "
            f"shape {shape} (add a Flatten and a Dense layer)"
        )
    D = sum(math.prod(s) for _, s in layout)
    if D > MAX_PARAMETERS:
        raise ValueError(f"the model has {D} parameters, more than the limit {MAX_PARAMETERS}")
    return shape, layout


def parameter_layout(layout):
    """The ``parameters`` entries of a case: name, shape, offset and size of each tensor in θ."""
    entries, offset = [], 0
    for name, shape in layout:
        size = math.prod(shape)
        entries.append({"name": name, "shape": list(shape), "offset": offset, "size": size})
        offset += size
    return entries


def describe_model(model):
    """The format's model description of a ``layers.Sequential`` (only the supported layers).

    Parameters
    ----------
    model : layers.Sequential
        Its layers must be of the types in ``LAYER_TYPES`` and its loss cross-entropy.

    Returns
    -------
    dict
        ``{"input_shape", "layers", "loss"}``; its layout equals ``model.param_shapes()``.
    """
    loss = getattr(model.loss_fn, "name", None)
    if loss not in _LOSSES:
        raise ValueError(
            f"the oracle format supports the losses {list(_LOSSES)}, not {model.loss_fn!r}"
        )
    specs = []
    for name, layer in model.layers:
        kind = type(layer).__name__
        if kind not in LAYER_TYPES or not isinstance(layer, getattr(L, kind)):
            raise ValueError(
                f"layer {name!r} ({layer!r}) has no description in the oracle format "
                f"(supported: {sorted(LAYER_TYPES)})"
            )
        spec = {"type": kind, "name": name}
        for key in LAYER_TYPES[kind][1]:
            value = getattr(layer, key)
            spec[key] = list(value) if isinstance(value, tuple) else int(value)
        specs.append(spec)
    description = {"input_shape": list(model.input_shape), "layers": specs, "loss": loss}
    _, layout = validate_model(description)
    if layout != [(n, tuple(s)) for n, s in model.param_shapes()]:
        raise AssertionError("oracle layout differs from the model's own layout")
    return description


def build_model(description, case_dir=None):
    """A ``layers.Sequential`` from a (validated) model description.

    Layers keep their names, so ``model.param_shapes()`` equals the description's layout and
    ``model.unflatten(theta)`` cuts θ exactly as ``parameters`` says. An ONNX description
    gives a ``layers.onnx.OnnxModel`` (its file read from ``case_dir``).
    """
    if is_onnx_description(description):
        return load_onnx_model(description, case_dir)
    _, layout = validate_model(description)
    built = []
    for spec in description["layers"]:
        kind = spec["type"]
        args = {
            k: (tuple(v) if isinstance(v, list) else v)
            for k, v in spec.items()
            if k not in ("type", "name")
        }
        built.append((spec["name"], getattr(L, kind)(**args)))
    model = L.Sequential(
        built,
        input_shape=tuple(description["input_shape"]),
        loss=description["loss"],
        name="oracle_case",
    )
    if [(n, tuple(s)) for n, s in model.param_shapes()] != layout:
        raise AssertionError("layers.Sequential's layout differs from the oracle description")
    return model
