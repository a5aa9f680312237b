"""The oracle exchange format: cases and results as one small JSON file plus one ``.npz``.

The specification for people writing other backends is ``docs/oracle-format.md``; this module
is its reference reader and writer. In brief:

* a **case** is a directory holding ``case.json`` (format, version, model description,
  parameter layout, sizes, the quantities asked for, the SHA-256 of the arrays) and
  ``case.npz`` (``theta``, ``x``, ``y`` and the directions ``v1``, ``v2``, ``V``, ``hvp_v``);
* a **results** directory holds ``results.json`` (backend, dtype, the case it answers,
  optionally the on-the-spot cross-check) and ``results.npz`` (``loss``, ``grad``,
  ``dir_d1``, ``dir_d2``, ``dir_d12``, ``kd_g``, ``kd_H``, ``hvp``, ``hessian``).

Every file is untrusted (DESIGN.md, section 6). Reading checks, in this order and before any
array is allocated: the file sizes, the JSON (size, syntax, no NaN, exact keys, types,
version), the model description (known layer types, exact fields, shapes propagated layer by
layer, the parameter layout against what the model implies), the archive (only the expected
members, each ``.npy`` header's dtype and shape against the description, the member's size
against its header), then the data itself (``allow_pickle`` is never used; values finite;
labels in range; the SHA-256 against the one recorded). Every problem raises
:class:`OracleFormatError` naming the file and what is wrong. Nothing in a file is executed:
layer types are looked up in a fixed table.

Files are written atomically (a temporary file in the same directory, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hyperlab.atomic import atomic_write

from .onnx_case import is_onnx_description, load_onnx_model, validate_onnx_description

__all__ = [
    "OracleFormatError", "VERSION", "CASE_FORMAT", "RESULTS_FORMAT", "QUANTITIES",
    "RESULT_ARRAYS", "LAYER_TYPES", "Case", "Results",
    "validate_model", "parameter_layout", "describe_model", "build_model",
    "write_case", "read_case", "write_results", "read_results", "expected_result_shapes",
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
_MAX_NPY_HEADER = 1 << 16
_MAX_TEXT = 1000

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

_DIRECTION_ARRAYS = {"directional": ("v1", "v2"), "projected_hessian": ("V",), "hvp": ("hvp_v",)}
_DIRECTION_COUNTS = {"directional": "pairs", "projected_hessian": "kd", "hvp": "hvp"}

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INTS = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64,
                                    np.uint8, np.uint16, np.uint32))


class OracleFormatError(ValueError):
    """A case or results file is missing, malformed, inconsistent or hostile.

    The message names the file and says what is wrong.
    """


# --------------------------------------------------------------------------- model description
# type -> (kind used in layer names, {field: checker name})
LAYER_TYPES = {
    "Dense": ("dense", {"in_features": "pos", "out_features": "pos"}),
    "Conv2d": ("conv", {"in_channels": "pos", "out_channels": "pos", "kernel_size": "pair",
                        "stride": "pos", "padding": "nonneg"}),
    "MaxPool2d": ("maxpool", {"kernel_size": "pos", "stride": "pos", "padding": "nonneg"}),
    "AvgPool2d": ("avgpool", {"kernel_size": "pos", "stride": "pos", "padding": "nonneg"}),
    "Flatten": ("flatten", {}),
    "ReLU": ("relu", {}),
    "Sigmoid": ("sigmoid", {}),
    "Tanh": ("tanh", {}),
}
"""The layer types of format version 1 and their fields (every field is required)."""

_LOSSES = ("cross_entropy",)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_field(value, kind, where):
    if kind == "pair":
        if (not isinstance(value, list) or len(value) != 2
                or not all(_is_int(v) and 1 <= v <= MAX_DIM for v in value)):
            raise ValueError(f"{where} must be a list of two positive integers, got {value!r}")
        return tuple(value)
    low = 1 if kind == "pos" else 0
    if not _is_int(value) or not low <= value <= MAX_DIM:
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
            raise ValueError(f"{where}: Dense expects samples of shape ({spec['in_features']},), "
                             f"but its input has shape {input_shape}")
        out = spec["out_features"]
        return (out,), [("weight", (out, spec["in_features"])), ("bias", (out,))]
    if kind == "Conv2d":
        if len(input_shape) != 3 or input_shape[0] != spec["in_channels"]:
            raise ValueError(f"{where}: Conv2d expects samples of shape ({spec['in_channels']}, "
                             f"H, W), but its input has shape {input_shape}")
        (kh, kw), s, p = spec["kernel_size"], spec["stride"], spec["padding"]
        shape = (spec["out_channels"], _out_size(input_shape[1], kh, s, p, where),
                 _out_size(input_shape[2], kw, s, p, where))
        return shape, [("weight", (spec["out_channels"], spec["in_channels"], kh, kw)),
                       ("bias", (spec["out_channels"],))]
    if kind in ("MaxPool2d", "AvgPool2d"):
        if len(input_shape) != 3:
            raise ValueError(f"{where}: {kind} expects samples of shape (C, H, W), but its input "
                             f"has shape {input_shape}")
        k, s, p = spec["kernel_size"], spec["stride"], spec["padding"]
        if 2 * p > k:
            raise ValueError(f"{where}: padding {p} must be at most half the kernel size {k}")
        return (input_shape[0], _out_size(input_shape[1], k, s, p, where),
                _out_size(input_shape[2], k, s, p, where)), []
    if kind == "Flatten":
        return (math.prod(input_shape),), []
    return input_shape, []     # elementwise activations


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
    _exact_keys(model, {"input_shape", "layers", "loss"}, "'model'")
    if model["loss"] not in _LOSSES:
        raise ValueError(f"model.loss must be one of {list(_LOSSES)}, got {model['loss']!r}")
    shape = model["input_shape"]
    if (not isinstance(shape, list) or len(shape) not in (1, 3)
            or not all(_is_int(n) and 1 <= n <= MAX_DIM for n in shape)):
        raise ValueError(f"model.input_shape must be [features] or [C, H, W] of positive "
                         f"integers, got {shape!r}")
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
        _exact_keys(spec, {"type", "name", *fields}, where)
        name = spec["name"]
        if (not isinstance(name, str) or not 1 <= len(name) <= 100 or "." in name
                or not name.isprintable()):
            raise ValueError(f"{where}.name must be a printable string of 1 to 100 characters "
                             f"without '.', got {name!r}")
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
        raise ValueError(f"the model must end in a vector of logits per sample; its output has "
                         f"shape {shape} (add a Flatten and a Dense layer)")
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
    import layers as L

    loss = getattr(model.loss_fn, "name", None)
    if loss not in _LOSSES:
        raise ValueError(f"the oracle format supports the losses {list(_LOSSES)}, "
                         f"not {model.loss_fn!r}")
    specs = []
    for name, layer in model.layers:
        kind = type(layer).__name__
        if kind not in LAYER_TYPES or not isinstance(layer, getattr(L, kind)):
            raise ValueError(f"layer {name!r} ({layer!r}) has no description in the oracle format "
                             f"(supported: {sorted(LAYER_TYPES)})")
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
    import layers as L

    if is_onnx_description(description):
        return load_onnx_model(description, case_dir)
    _, layout = validate_model(description)
    built = []
    for spec in description["layers"]:
        kind = spec["type"]
        args = {k: (tuple(v) if isinstance(v, list) else v)
                for k, v in spec.items() if k not in ("type", "name")}
        built.append((spec["name"], getattr(L, kind)(**args)))
    model = L.Sequential(built, input_shape=tuple(description["input_shape"]),
                         loss=description["loss"], name="oracle_case")
    if [(n, tuple(s)) for n, s in model.param_shapes()] != layout:
        raise AssertionError("layers.Sequential's layout differs from the oracle description")
    return model


# --------------------------------------------------------------------------- data classes
@dataclass
class Case:
    """A read (validated) case: its JSON document, its arrays and where it came from.

    Attributes
    ----------
    meta : dict
        The contents of ``case.json``.
    arrays : dict of str to numpy.ndarray
        ``theta`` (D,), ``x`` (N, *input_shape), ``y`` (N,) and the directions: ``v1``, ``v2``
        (P, D), ``V`` (K, D), ``hvp_v`` (M, D), those that the quantities need.
    path : pathlib.Path or None
        The case directory.
    """

    meta: dict
    arrays: dict
    path: Path | None = None

    @property
    def quantities(self):
        return list(self.meta["quantities"])

    @property
    def num_parameters(self):
        return self.meta["num_parameters"]

    @property
    def sha256(self):
        """SHA-256 of ``case.npz``: results name the case they answer by it."""
        return self.meta["arrays_sha256"]

    def result_shapes(self):
        """``{result array: shape}`` of every result the case asks for."""
        return expected_result_shapes(self.meta)

    def build_model(self):
        """The case's model as a ``layers.Sequential``."""
        return build_model(self.meta["model"], self.path)


@dataclass
class Results:
    """Results of one backend for one case.

    Attributes
    ----------
    meta : dict
        The contents of ``results.json``.
    arrays : dict of str to numpy.ndarray
        The result arrays that were present and well-formed.
    problems : dict of str to str
        Result arrays that were present but unusable (wrong shape, wrong dtype, not expected),
        with the reason. ``read_results(..., strict=True)`` raises instead.
    path : pathlib.Path or None
    """

    meta: dict
    arrays: dict
    problems: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def dtype(self):
        return np.dtype(self.meta["dtype"])

    @property
    def backend(self):
        return self.meta["backend"]


# --------------------------------------------------------------------------- helpers
def printable(text) -> str:
    """``text`` safe for a terminal: control characters (an ANSI escape sequence in a
    hostile file's ``backend`` field, a carriage return, ...) are shown as Python escapes
    (``\\x1b``) instead of being sent to the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _exact_keys(obj, keys, where, optional=()):
    missing = sorted(set(keys) - set(obj))
    extra = sorted(set(obj) - set(keys) - set(optional))
    if missing:
        raise ValueError(f"{where} lacks the key(s) {missing}")
    if extra:
        raise ValueError(f"{where} has unknown key(s) {extra}")


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} in JSON")


def _load_json(path, kind):
    """Parse a JSON object from ``path`` after checking its size; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise OracleFormatError(f"{path}: {kind} file not found")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise OracleFormatError(f"{path}: {size} bytes, larger than the limit of "
                                f"{MAX_JSON_BYTES} for a {kind} file")
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OracleFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise OracleFormatError(f"{path}: the top level must be a JSON object")
    return data


def _check_header(data, fmt, path):
    if data.get("format") != fmt:
        raise OracleFormatError(f"{path}: 'format' must be {fmt!r}, got {data.get('format')!r}")
    version = data.get("version")
    if not _is_int(version):
        raise OracleFormatError(f"{path}: 'version' must be an integer, got {version!r}")
    if version != VERSION:
        raise OracleFormatError(f"{path}: format version {version} is not supported "
                                f"(this reader knows version {VERSION})")


def _check_text(value, where, allow_empty=True):
    if not isinstance(value, str) or len(value) > _MAX_TEXT or (not allow_empty and not value):
        raise ValueError(f"{where} must be a string of at most {_MAX_TEXT} characters")


def _check_sha(value, where):
    if (not isinstance(value, str) or len(value) != 64
            or any(c not in "0123456789abcdef" for c in value)):
        raise ValueError(f"{where} must be a lower-case hexadecimal SHA-256 (64 characters)")


def sha256_file(path):
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dumps(obj, indent=0, used=0, width=92):
    """JSON, indented by two, with every container that fits on its line kept on one line."""
    flat = json.dumps(obj, allow_nan=False, ensure_ascii=False)
    if not isinstance(obj, (dict, list)) or not obj or indent + used + len(flat) <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            head = json.dumps(key, ensure_ascii=False) + ": "
            items.append(pad + head + _dumps(value, indent + 2, len(head), width))
    else:
        items = [pad + _dumps(value, indent + 2, 0, width) for value in obj]
    brackets = "{}" if isinstance(obj, dict) else "[]"
    return brackets[0] + "\n" + ",\n".join(items) + "\n" + " " * indent + brackets[1]


def _write_json(path, data):
    text = _dumps(data) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def _write_npz(path, arrays):
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def _read_npy_member(zf, name, path, shape, dtypes):
    """One member of an archive, checked against ``shape`` and ``dtypes`` before allocation.

    Returns the array, or raises ``OracleFormatError``; ``shape=None`` accepts any shape whose
    size is within the limits (the caller checks it).
    """
    key = name[:-4]
    info = zf.getinfo(name)
    if info.file_size > _MAX_NPY_HEADER + 8 * (
            math.prod(shape) if shape is not None else MAX_ARRAY_ELEMENTS):
        raise OracleFormatError(f"{path}: array {key!r} is {info.file_size} bytes, more than "
                                f"its expected shape {shape} can take")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise OracleFormatError(f"{path}: array {key!r} has .npy version {version}, "
                                    f"expected 1.0 or 2.0")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise OracleFormatError(f"{path}: array {key!r} has dtype {dtype}; only plain "
                                    f"numeric dtypes are allowed (no objects, no pickles)")
        native = dtype.newbyteorder("=")
        if native not in dtypes:
            raise OracleFormatError(f"{path}: array {key!r} has dtype {dtype}, expected one of "
                                    f"{[str(d) for d in dtypes]}")
        if shape is not None and tuple(got_shape) != tuple(shape):
            raise _ShapeError(f"{path}: array {key!r} has shape {tuple(got_shape)}, expected "
                              f"{tuple(shape)}", tuple(got_shape))
        count = math.prod(got_shape)
        if count > MAX_ARRAY_ELEMENTS:
            raise OracleFormatError(f"{path}: array {key!r} of shape {got_shape} is too large")
        nbytes = count * dtype.itemsize
        data = fh.read(nbytes)
        if len(data) != nbytes:
            raise OracleFormatError(f"{path}: array {key!r} is truncated ({len(data)} of "
                                    f"{nbytes} bytes)")
        if fh.read(1):
            raise OracleFormatError(f"{path}: array {key!r} has data after its end")
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(got_shape[::-1]).T if fortran else array.reshape(got_shape)
    return np.array(array, dtype=native, order="C", copy=True)


class _ShapeError(OracleFormatError):
    def __init__(self, message, shape):
        super().__init__(message)
        self.shape = shape


def _open_archive(path, max_bytes):
    path = Path(path)
    if not path.is_file():
        raise OracleFormatError(f"{path}: array file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise OracleFormatError(f"{path}: {size} bytes, more than the {max_bytes} that the "
                                f"arrays described in the JSON file can take")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OracleFormatError(f"{path}: not a valid .npz archive ({exc})") from None
    names = zf.namelist()
    if len(names) != len(set(names)):
        zf.close()
        raise OracleFormatError(f"{path}: the archive holds duplicate members")
    bad = [n for n in names if not n.endswith(".npy") or "/" in n or n.startswith(".")]
    if bad:
        zf.close()
        raise OracleFormatError(f"{path}: unexpected archive members {bad[:5]}")
    return zf


def _archive_errors(path):
    """The exceptions that mean a corrupt archive, turned into ``OracleFormatError``."""
    return (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, RuntimeError)


# --------------------------------------------------------------------------- cases
def _case_array_specs(meta):
    """``{array: (shape, allowed dtypes)}`` of the arrays of a validated case document."""
    D, N = meta["num_parameters"], meta["batch_size"]
    specs = {"theta": ((D,), _FLOATS),
             "x": ((N, *meta["model"]["input_shape"]), _FLOATS),
             "y": ((N,), _INTS + (np.dtype(np.uint64),))}
    counts = meta["directions"]
    for quantity, names in _DIRECTION_ARRAYS.items():
        if quantity in meta["quantities"]:
            for name in names:
                specs[name] = ((counts[_DIRECTION_COUNTS[quantity]], D), _FLOATS)
    return specs


def expected_result_shapes(meta):
    """``{result array: shape}`` for a validated case document."""
    D = meta["num_parameters"]
    P, K, M = (meta["directions"][k] for k in ("pairs", "kd", "hvp"))
    shapes = {"loss": (), "grad": (D,), "dir_d1": (P,), "dir_d2": (P,), "dir_d12": (P,),
              "kd_g": (K,), "kd_H": (K, K), "hvp": (M, D), "hessian": (D, D)}
    return {name: shapes[name] for q in meta["quantities"] for name in RESULT_ARRAYS[q]}


def _validate_case_meta(meta, case_dir=None):
    """Check a case document (everything but the arrays); raises ``ValueError``."""
    _exact_keys(meta, {"format", "version", "model", "parameters", "num_parameters",
                       "batch_size", "num_classes", "quantities", "directions",
                       "arrays_sha256"}, "the case", optional=("name", "description"))
    for key in ("name", "description"):
        if key in meta:
            _check_text(meta[key], f"'{key}'")
    for key in ("num_parameters", "batch_size", "num_classes"):
        if not _is_int(meta[key]):
            raise ValueError(f"'{key}' must be an integer, got {meta[key]!r}")
    output_shape, layout = validate_model(meta["model"], case_dir)
    D = sum(math.prod(s) for _, s in layout)
    if meta["num_parameters"] != D:
        raise ValueError(f"'num_parameters' is {meta['num_parameters']!r} but the model "
                         f"description has {D} parameters")
    if meta["parameters"] != parameter_layout(layout):
        expected = parameter_layout(layout)
        got = meta["parameters"]
        if not isinstance(got, list) or len(got) != len(expected):
            raise ValueError(f"'parameters' must list the {len(expected)} parameter tensors "
                             f"{[e['name'] for e in expected]}")
        for k, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                raise ValueError(f"'parameters'[{k}] is {g!r}, but the model description "
                                 f"implies {e!r}")
    if meta["num_classes"] != output_shape[0]:
        raise ValueError(f"'num_classes' is {meta['num_classes']!r} but the model outputs "
                         f"{output_shape[0]} logits per sample")
    N = meta["batch_size"]
    if not _is_int(N) or not 1 <= N <= MAX_DIM:
        raise ValueError(f"'batch_size' must be a positive integer, got {N!r}")
    if N * math.prod(meta["model"]["input_shape"]) > MAX_ARRAY_ELEMENTS:
        raise ValueError(f"the batch of {N} inputs is too large")
    quantities = meta["quantities"]
    if (not isinstance(quantities, list) or not quantities
            or any(not isinstance(q, str) or q not in QUANTITIES for q in quantities)
            or len(set(quantities)) != len(quantities)):
        raise ValueError(f"'quantities' must be a non-empty list of distinct names from "
                         f"{list(QUANTITIES)}, got {quantities!r}")
    if "hessian" in quantities and D > MAX_HESSIAN_PARAMETERS:
        raise ValueError(f"the full Hessian is available for at most {MAX_HESSIAN_PARAMETERS} "
                         f"parameters; this model has {D}")
    directions = meta["directions"]
    if not isinstance(directions, dict):
        raise ValueError("'directions' must be an object {\"pairs\", \"kd\", \"hvp\"}")
    _exact_keys(directions, {"pairs", "kd", "hvp"}, "'directions'")
    for quantity, key in _DIRECTION_COUNTS.items():
        count = directions[key]
        low = 1 if quantity in quantities else 0
        high = MAX_DIRECTIONS if quantity in quantities else 0
        if not _is_int(count) or not low <= count <= high:
            raise ValueError(f"'directions'.{key} must be an integer in [{low}, {high}] "
                             f"(it is 0 exactly when {quantity!r} is not asked for), "
                             f"got {count!r}")
        if count * D > MAX_ARRAY_ELEMENTS:
            raise ValueError(f"'directions'.{key}: {count} directions of {D} parameters are "
                             f"too many")
    _check_sha(meta["arrays_sha256"], "'arrays_sha256'")


def _case_paths(case_dir):
    case_dir = Path(case_dir)
    if case_dir.name == CASE_JSON:
        case_dir = case_dir.parent
    return case_dir, case_dir / CASE_JSON, case_dir / CASE_NPZ


def read_case(case_dir, verify_sha256=True):
    """Read and validate a case.

    Parameters
    ----------
    case_dir : path-like
        The case directory (or its ``case.json``).
    verify_sha256 : bool
        Check ``case.npz`` against the SHA-256 recorded in ``case.json``.

    Returns
    -------
    Case

    Raises
    ------
    OracleFormatError
        Naming the file and what is wrong.
    """
    case_dir, json_path, npz_path = _case_paths(case_dir)
    meta = _load_json(json_path, "case")
    _check_header(meta, CASE_FORMAT, json_path)
    try:
        _validate_case_meta(meta, case_dir)
    except ValueError as exc:
        raise OracleFormatError(f"{json_path}: {exc}") from None
    specs = _case_array_specs(meta)
    max_bytes = sum(8 * math.prod(s) + _MAX_NPY_HEADER + 4096 for s, _ in specs.values())
    arrays = {}
    try:
        with _open_archive(npz_path, max_bytes) as zf:
            members = {n[:-4] for n in zf.namelist()}
            if members != set(specs):
                missing, extra = sorted(set(specs) - members), sorted(members - set(specs))
                raise OracleFormatError(
                    f"{npz_path}: the case needs the arrays {sorted(specs)}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unexpected {extra}" if extra else ""))
            for key, (shape, dtypes) in specs.items():
                arrays[key] = _read_npy_member(zf, key + ".npy", npz_path, shape, dtypes)
    except OracleFormatError:
        raise
    except _archive_errors(npz_path) as exc:
        raise OracleFormatError(f"{npz_path}: corrupt or truncated archive ({exc})") from None
    for key, array in arrays.items():
        if key != "y" and not np.all(np.isfinite(array)):
            raise OracleFormatError(f"{npz_path}: array {key!r} holds NaN or infinite values")
    y, C = arrays["y"], meta["num_classes"]
    if y.size and (int(y.min()) < 0 or int(y.max()) >= C):
        raise OracleFormatError(f"{npz_path}: labels 'y' must lie in [0, {C}); found values in "
                                f"[{int(y.min())}, {int(y.max())}]")
    arrays["y"] = y.astype(np.int64)
    if verify_sha256 and sha256_file(npz_path) != meta["arrays_sha256"]:
        raise OracleFormatError(f"{npz_path}: SHA-256 differs from 'arrays_sha256' in "
                                f"{json_path} (the files do not belong together, or one is "
                                f"corrupt)")
    return Case(meta=meta, arrays=arrays, path=case_dir)


def write_case(case_dir, model, theta, x, y, *, v1=None, v2=None, V=None, hvp_v=None,
               hessian=False, quantities=None, name="", description=""):
    """Write a case directory (``case.json`` + ``case.npz``), then read it back to check it.

    Parameters
    ----------
    case_dir : path-like
        Created if missing; existing case files are replaced atomically.
    model : layers.Sequential or dict
        The model, or its description (``describe_model``).
    theta : array, shape (D,)
        Parameters in the layout's order (float32 or float64).
    x : array, shape (N, *input_shape)
        Inputs (NCHW for images).
    y : array of int, shape (N,)
        Class labels in ``[0, num_classes)``.
    v1, v2 : arrays, shape (P, D), optional
        Direction pairs: asks for ``∇f·v1``, ``∇f·v2`` and ``v1ᵀHv2``.
    V : array, shape (K, D), optional
        FoMoH-KD directions: asks for ``g = V∇f`` (K,) and ``V H Vᵀ`` (K, K).
    hvp_v : array, shape (M, D), optional
        Asks for the Hessian-vector products ``H hvp_v[m]``.
    hessian : bool
        Ask for the full Hessian (D ≤ ``MAX_HESSIAN_PARAMETERS``).
    quantities : list of str, optional
        Overrides the list derived from the arguments above (``loss`` and ``grad`` always).

    Returns
    -------
    Case
        The case as read back from disk.
    """
    case_dir = Path(case_dir)
    model_description = model if isinstance(model, dict) else describe_model(model)
    output_shape, layout = validate_model(model_description, case_dir)
    arrays = {"theta": _float_array(theta, "theta"), "x": _float_array(x, "x"),
              "y": np.asarray(y)}
    if arrays["y"].dtype.kind not in "iu":
        raise ValueError(f"labels y must be integers, got dtype {arrays['y'].dtype}")
    arrays["y"] = arrays["y"].astype(np.int64)
    if quantities is None:
        quantities = ["loss", "grad"]
        quantities += ["directional"] if v1 is not None or v2 is not None else []
        quantities += ["projected_hessian"] if V is not None else []
        quantities += ["hvp"] if hvp_v is not None else []
        quantities += ["hessian"] if hessian else []
    given = {"v1": v1, "v2": v2, "V": V, "hvp_v": hvp_v}
    counts = {"pairs": 0, "kd": 0, "hvp": 0}
    for quantity, names in _DIRECTION_ARRAYS.items():
        if quantity in quantities:
            for key in names:
                if given[key] is None:
                    raise ValueError(f"quantity {quantity!r} needs the array {key!r}")
                arrays[key] = _float_array(given[key], key)
                if arrays[key].ndim != 2:
                    raise ValueError(f"{key} must have shape (count, D), got "
                                     f"{arrays[key].shape}")
            counts[_DIRECTION_COUNTS[quantity]] = arrays[names[0]].shape[0]
    meta = {
        "format": CASE_FORMAT, "version": VERSION, "name": str(name),
        "description": str(description),
        "model": model_description,
        "parameters": parameter_layout(layout),
        "num_parameters": sum(math.prod(s) for _, s in layout),
        "batch_size": int(arrays["x"].shape[0]) if arrays["x"].ndim else 0,
        "num_classes": output_shape[0],
        "quantities": [q for q in QUANTITIES if q in quantities],
        "directions": counts,
        "arrays_sha256": "0" * 64,
    }
    try:
        _validate_case_meta(meta, case_dir)
    except ValueError as exc:
        raise ValueError(f"cannot write case {case_dir}: {exc}") from None
    for key, (shape, _) in _case_array_specs(meta).items():
        if arrays[key].shape != tuple(shape):
            raise ValueError(f"cannot write case {case_dir}: {key} has shape "
                             f"{arrays[key].shape}, expected {tuple(shape)}")
    case_dir.mkdir(parents=True, exist_ok=True)
    _write_npz(case_dir / CASE_NPZ, arrays)
    meta["arrays_sha256"] = sha256_file(case_dir / CASE_NPZ)
    _write_json(case_dir / CASE_JSON, meta)
    return read_case(case_dir)


def _float_array(value, what):
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    if array.dtype not in _FLOATS:
        raise ValueError(f"{what} must be float32 or float64, got dtype {array.dtype}")
    return np.array(array, order="C", copy=True)


# --------------------------------------------------------------------------- results
def _results_paths(results_dir):
    results_dir = Path(results_dir)
    if results_dir.name == RESULTS_JSON:
        results_dir = results_dir.parent
    return results_dir, results_dir / RESULTS_JSON, results_dir / RESULTS_NPZ


def _validate_results_meta(meta):
    _exact_keys(meta, {"format", "version", "backend", "dtype", "quantities"}, "the results",
                optional=("arrays_sha256", "case_sha256", "cross_check", "notes"))
    _check_text(meta["backend"], "'backend'", allow_empty=False)
    if meta["dtype"] not in ("float32", "float64"):
        raise ValueError(f"'dtype' must be 'float32' or 'float64' (the precision the backend "
                         f"computed in), got {meta['dtype']!r}")
    quantities = meta["quantities"]
    if (not isinstance(quantities, list) or len(quantities) > 64
            or any(not isinstance(q, str) or not 1 <= len(q) <= 64
                   or not q.replace("_", "a").isalnum() or not q.isascii() for q in quantities)
            or len(set(quantities)) != len(quantities)):
        raise ValueError(f"'quantities' must list the distinct names (letters, digits, '_') "
                         f"of the arrays in the archive, got {quantities!r}")
    for key in ("arrays_sha256", "case_sha256"):
        if meta.get(key) is not None:
            _check_sha(meta[key], f"'{key}'")
    if "notes" in meta:
        _check_text(meta["notes"], "'notes'")
    if "cross_check" in meta and not isinstance(meta["cross_check"], dict):
        raise ValueError("'cross_check' must be an object")


def write_results(results_dir, case, arrays, *, backend, dtype, cross_check=None, notes=None):
    """Write ``results.json`` + ``results.npz`` for ``case``.

    Parameters
    ----------
    results_dir : path-like
        Created if missing.
    case : Case
        The case answered (its SHA-256 is recorded).
    arrays : dict of str to array
        Result arrays (names in ``RESULT_ARRAYS``), shapes as ``case.result_shapes()``.
    backend : str
        Who computed them, e.g. ``"torch 2.13.0 torch.func"``.
    dtype : {"float32", "float64"}
        The precision of the computation; ``compare`` chooses its tolerances by it.
    cross_check : dict, optional
        Free-form agreement report (the reference writes its bicomplex-step check here).

    Returns
    -------
    pathlib.Path
        The results directory.
    """
    results_dir = Path(results_dir)
    expected = case.result_shapes()
    out = {}
    for key, value in arrays.items():
        value = np.asarray(value)
        if key not in expected:
            raise ValueError(f"{key!r} is not a result the case asks for ({sorted(expected)})")
        if value.shape != expected[key]:
            raise ValueError(f"result {key!r} has shape {value.shape}, expected {expected[key]}")
        out[key] = _float_array(value, key)
    meta = {"format": RESULTS_FORMAT, "version": VERSION, "backend": str(backend),
            "dtype": str(np.dtype(dtype)), "case_sha256": case.sha256,
            "quantities": [k for k in expected if k in out], "arrays_sha256": "0" * 64}
    if cross_check is not None:
        meta["cross_check"] = cross_check
    if notes:
        meta["notes"] = str(notes)
    try:
        _validate_results_meta(meta)
    except ValueError as exc:
        raise ValueError(f"cannot write results {results_dir}: {exc}") from None
    results_dir.mkdir(parents=True, exist_ok=True)
    _write_npz(results_dir / RESULTS_NPZ, out)
    meta["arrays_sha256"] = sha256_file(results_dir / RESULTS_NPZ)
    _write_json(results_dir / RESULTS_JSON, meta)
    return results_dir


def read_results(results_dir, case, strict=False):
    """Read and validate one backend's results for ``case``.

    The JSON document and the archive are validated as for a case. Result arrays are checked
    against the shapes the case implies *before* they are loaded. Arrays with a wrong shape or
    dtype, and arrays the case did not ask for, are recorded in ``Results.problems`` (or raise
    with ``strict=True``) so that ``compare`` can report them per quantity; missing arrays are
    simply absent from ``Results.arrays``.

    Raises
    ------
    OracleFormatError
        If a file is missing, malformed, corrupt, of another version, does not answer this
        case (``case_sha256``), or (``strict``) any array is unusable or missing.
    """
    results_dir, json_path, npz_path = _results_paths(results_dir)
    meta = _load_json(json_path, "results")
    _check_header(meta, RESULTS_FORMAT, json_path)
    try:
        _validate_results_meta(meta)
    except ValueError as exc:
        raise OracleFormatError(f"{json_path}: {exc}") from None
    if meta.get("case_sha256") not in (None, case.sha256):
        raise OracleFormatError(f"{json_path}: these results answer another case "
                                f"(case_sha256 {meta['case_sha256'][:12]}..., this case is "
                                f"{case.sha256[:12]}...)")
    expected = case.result_shapes()
    declared = meta["dtype"]
    dtypes = (np.dtype(np.float64),) if declared == "float64" else _FLOATS
    max_bytes = sum(8 * math.prod(s) + _MAX_NPY_HEADER + 4096 for s in expected.values()) \
        + 16 * (_MAX_NPY_HEADER + 4096)
    arrays, problems = {}, {}
    try:
        with _open_archive(npz_path, max_bytes) as zf:
            members = sorted(n[:-4] for n in zf.namelist())
            if members != sorted(meta["quantities"]):
                raise OracleFormatError(f"{npz_path}: holds the arrays {members}, but "
                                        f"{json_path} lists {sorted(meta['quantities'])}")
            for key in members:
                if key not in expected:
                    problems[key] = "not asked for by the case"
                    continue
                try:
                    arrays[key] = _read_npy_member(zf, key + ".npy", npz_path, expected[key],
                                                   dtypes)
                except _ShapeError as exc:
                    problems[key] = f"shape {exc.shape}, expected {expected[key]}"
                except OracleFormatError as exc:
                    if "dtype" not in str(exc):
                        raise
                    problems[key] = str(exc).split(": ", 1)[1] + (
                        f" (declared 'dtype' is {declared})")
    except OracleFormatError:
        raise
    except _archive_errors(npz_path) as exc:
        raise OracleFormatError(f"{npz_path}: corrupt or truncated archive ({exc})") from None
    if meta.get("arrays_sha256") is not None and sha256_file(npz_path) != meta["arrays_sha256"]:
        raise OracleFormatError(f"{npz_path}: SHA-256 differs from 'arrays_sha256' in "
                                f"{json_path}")
    if strict:
        missing = sorted(set(expected) - set(arrays) - set(problems))
        if problems or missing:
            raise OracleFormatError(f"{results_dir}: unusable results: "
                                    + "; ".join([f"{k}: {v}" for k, v in problems.items()]
                                                + [f"{k}: missing" for k in missing]))
    return Results(meta=meta, arrays=arrays, problems=problems, path=results_dir)
