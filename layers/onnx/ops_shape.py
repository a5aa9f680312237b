"""Shape and data-movement operators, constants, casts and the integer shape arithmetic that
exporters emit (Shape → Gather → Concat → Reshape chains for a symbolic batch dimension).

Data movement (reshape, transpose, concatenation, slicing, gathering, padding, selection) is
linear, so it acts on every part of a number alike; the implementations use the NumPy
functions every ``MultiPartArray`` supports. Integer and boolean tensors are plain arrays
(``registry.ints`` turns them into Python ints where a shape is needed).
"""

from __future__ import annotations

import math

import numpy as np

from hyperdual.multipart import MultiPartArray

from .registry import (
    ELEM_TYPES,
    REQUIRED,
    UnsupportedOnnxError,
    axis_index,
    dtype_of,
    ints,
    one_of,
    op,
    scalar,
)


# --------------------------------------------------------------------------- pass-through
@op("Identity")
def identity(ctx, attrs, x):
    return x


def _check_dropout(attrs, opset):
    if attrs["is_test"] == 0 and opset < 7:
        raise UnsupportedOnnxError("training-mode dropout is not supported")


@op("Dropout", attrs={"ratio": 0.5, "seed": None, "is_test": 0}, check=_check_dropout)
def dropout(ctx, attrs, x, ratio=None, training_mode=None):
    """Inference dropout is the identity; training mode (random masks) is refused."""
    if training_mode is not None and bool(scalar(training_mode)):
        raise UnsupportedOnnxError("training_mode=True is not supported (random masks)")
    return x


# --------------------------------------------------------------------------- constants
def _check_constant(attrs, opset):
    given = [k for k, v in attrs.items() if v is not None]
    if len(given) != 1:
        raise UnsupportedOnnxError(f"exactly one value attribute must be given, got {given}")
    one_of(
        given[0],
        ("value", "value_float", "value_floats", "value_int", "value_ints"),
        "the value attribute",
    )


@op(
    "Constant",
    attrs={
        k: None
        for k in (
            "value",
            "value_float",
            "value_floats",
            "value_int",
            "value_ints",
            "value_string",
            "value_strings",
            "sparse_value",
        )
    },
    check=_check_constant,
)
def constant(ctx, attrs, *_):
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if attrs[key] is not None:
            return ctx.constant(np.asarray(attrs[key], dtype=dtype))
    return ctx.constant(attrs["value"])


@op("ConstantOfShape", attrs={"value": None})
def constant_of_shape(ctx, attrs, shape):
    shape = ints(shape)
    ctx.check_size(shape, "output")
    value = np.zeros(1, np.float32) if attrs["value"] is None else np.asarray(attrs["value"])
    if value.size != 1:
        raise UnsupportedOnnxError(f"value must hold one element, got shape {value.shape}")
    return ctx.constant(ctx.xp.full(tuple(shape), value.reshape(()).item(), dtype=value.dtype))


@op("Shape", attrs={"start": 0, "end": None})
def shape(ctx, attrs, x):
    return ctx.xp.asarray(tuple(x.shape)[attrs["start"] : attrs["end"]], dtype=np.int64)


@op("Size")
def size(ctx, attrs, x):
    return ctx.xp.asarray(math.prod(x.shape), dtype=np.int64)


def _check_cast(attrs, opset):
    if attrs["to"] not in ELEM_TYPES:
        raise UnsupportedOnnxError(
            f"to={attrs['to']} is not a supported element type "
            f"(supported: {sorted(str(t) for t in ELEM_TYPES.values())})"
        )


@op("Cast", attrs={"to": REQUIRED, "saturate": 1}, check=_check_cast)
def cast(ctx, attrs, x):
    """A cast to a floating type keeps numbers in the evaluation's dtype (the oracle evaluates
    a float32 model in float64); integer and boolean casts apply to plain arrays only (the
    loader refuses a cast of a θ-dependent tensor to them)."""
    target = ELEM_TYPES[attrs["to"]]
    if target.kind == "f":
        if isinstance(x, MultiPartArray) or x.dtype.kind == "c":
            return x
        return x.astype(ctx.real_dtype)
    if isinstance(x, MultiPartArray) or x.dtype.kind == "c":
        raise UnsupportedOnnxError(
            f"a cast of a differentiated tensor to {target} would drop its derivatives"
        )
    return x.astype(target)


@op("Range")
def range_(ctx, attrs, start, limit, delta):
    """``start + i·delta`` for ``i = 0, ..., max(ceil((limit - start) / delta), 0) - 1``."""
    a, b, d = scalar(start), scalar(limit), scalar(delta)
    if d == 0:
        raise UnsupportedOnnxError("delta must not be 0")
    count = max(int(math.ceil((b - a) / d)), 0)
    ctx.check_size((count,), "output")
    dtype = dtype_of(start)
    return ctx.constant(start + delta * ctx.xp.arange(count).astype(dtype))


@op("Expand")
def expand(ctx, attrs, x, shape):
    target = np.broadcast_shapes(tuple(x.shape), tuple(ints(shape)))
    ctx.check_size(target, "output")
    return np.broadcast_to(x, target)


# --------------------------------------------------------------------------- shapes
@op("Reshape", attrs={"allowzero": 0})
def reshape(ctx, attrs, x, shape):
    """``0`` copies the input's dimension (unless ``allowzero``), ``-1`` is inferred."""
    dims = ints(shape)
    if dims.count(-1) > 1:
        raise UnsupportedOnnxError(f"shape {dims} has more than one -1")
    out = [x.shape[i] if d == 0 and not attrs["allowzero"] else d for i, d in enumerate(dims)]
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or x.size % known:
            raise UnsupportedOnnxError(f"cannot reshape {tuple(x.shape)} to {dims}")
        out[out.index(-1)] = x.size // known
    if math.prod(out) != x.size:
        raise UnsupportedOnnxError(
            f"cannot reshape {tuple(x.shape)} ({x.size} elements) to {tuple(out)}"
        )
    return x.reshape(tuple(out))


@op("Flatten", attrs={"axis": 1})
def flatten(ctx, attrs, x):
    axis = attrs["axis"]
    if not -x.ndim <= axis <= x.ndim:
        raise UnsupportedOnnxError(f"axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim + 1
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


@op("Transpose", attrs={"perm": None})
def transpose(ctx, attrs, x):
    perm = attrs["perm"]
    if perm is None:
        perm = list(reversed(range(x.ndim)))
    if sorted(perm) != list(range(x.ndim)):
        raise UnsupportedOnnxError(f"perm {perm} is not a permutation of the {x.ndim} axes")
    return np.transpose(x, tuple(perm))


@op("Squeeze", attrs={"axes": None})
def squeeze(ctx, attrs, x, axes=None):
    axes = attrs["axes"] if axes is None else ints(axes)
    if axes is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    axes = tuple(sorted({axis_index(a, x.ndim, "axes") for a in axes}))
    if any(x.shape[a] != 1 for a in axes):
        raise UnsupportedOnnxError(f"cannot squeeze axes {axes} of shape {tuple(x.shape)}")
    return np.squeeze(x, axis=axes) if axes else x


@op("Unsqueeze", attrs={"axes": None})
def unsqueeze(ctx, attrs, x, axes=None):
    axes = attrs["axes"] if axes is None else ints(axes)
    if axes is None:
        raise UnsupportedOnnxError("axes are required")
    ndim = x.ndim + len(axes)
    axes = tuple(sorted({axis_index(a, ndim, "axes") for a in axes}))
    if len(axes) != ndim - x.ndim:
        raise UnsupportedOnnxError("axes must be distinct")
    return np.expand_dims(x, axes)


# --------------------------------------------------------------------------- joining, cutting
@op("Concat", attrs={"axis": REQUIRED})
def concat(ctx, attrs, *inputs):
    axis = axis_index(attrs["axis"], inputs[0].ndim)
    return np.concatenate(list(inputs), axis=axis)


def _cut(x, axis, start, stop, step=1):
    return x[(slice(None),) * axis + (slice(start, stop, step),)]


@op("Split", attrs={"axis": 0, "split": None, "num_outputs": None}, outputs=None)
def split(ctx, attrs, x, sizes=None):
    axis = axis_index(attrs["axis"], x.ndim)
    n, dim = ctx.num_outputs, x.shape[axis]
    sizes = attrs["split"] if sizes is None else ints(sizes)
    if sizes is None:
        if attrs["num_outputs"] is not None:  # opset 18: ceil-sized chunks, last smaller
            chunk = -(-dim // attrs["num_outputs"])
            sizes = [min(chunk, dim - k * chunk) for k in range(attrs["num_outputs"])]
        elif dim % n:
            raise UnsupportedOnnxError(f"cannot split {dim} into {n} equal parts")
        else:
            sizes = [dim // n] * n
    if len(sizes) != n or sum(sizes) != dim or min(sizes) < 0:
        raise UnsupportedOnnxError(f"split sizes {sizes} do not cut {dim} into {n} parts")
    offsets = np.cumsum([0] + list(sizes)).tolist()
    return tuple(_cut(x, axis, offsets[k], offsets[k + 1]) for k in range(n))


@op("Slice", attrs={"starts": None, "ends": None, "axes": None})
def slice_(ctx, attrs, x, starts=None, ends=None, axes=None, steps=None):
    """NumPy slicing, whose clamping rules are ONNX's (also for negative steps and ±INT_MAX)."""
    if ctx.opset < 10:
        starts, ends, axes = attrs["starts"], attrs["ends"], attrs["axes"]
    else:
        starts, ends = ints(starts), ints(ends)
        axes = None if axes is None else ints(axes)
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else ints(steps)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise UnsupportedOnnxError("starts, ends, axes and steps must have the same length")
    key = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis_index(axis, x.ndim, "axes")
        if step == 0 or key[axis] != slice(None):
            raise UnsupportedOnnxError("steps must be non-zero and axes distinct")
        key[axis] = slice(start, end, step)
    return x[tuple(key)]


@op("Gather", attrs={"axis": 0})
def gather(ctx, attrs, data, indices):
    """``take`` along ``axis``; negative indices count from the end. On numbers it is
    indexing, so the derivative parts follow the selected entries."""
    axis = axis_index(attrs["axis"], data.ndim)
    if isinstance(indices, MultiPartArray) or dtype_of(indices).kind not in "iu":
        raise UnsupportedOnnxError("indices must be an integer tensor")
    dim = data.shape[axis]
    if indices.size and (int(indices.min()) < -dim or int(indices.max()) >= dim):
        raise UnsupportedOnnxError(f"indices out of range [-{dim}, {dim - 1}]")
    indices = np.where(indices < 0, indices + dim, indices)
    return data[(slice(None),) * axis + (indices,)]


@op("Where")
def where(ctx, attrs, condition, x, y):
    if isinstance(condition, MultiPartArray):
        raise UnsupportedOnnxError("the condition must be a boolean tensor")
    return np.where(condition, x, y)


def _check_pad(attrs, opset):
    one_of(attrs["mode"], ("constant",), "mode")


@op("Pad", attrs={"mode": "constant", "pads": None, "value": 0.0}, check=_check_pad)
def pad(ctx, attrs, x, pads=None, constant_value=None, axes=None):
    """Constant padding; negative pads crop. ``pads`` is ``[begin_1, ..., begin_k, end_1,
    ..., end_k]`` for the axes ``axes`` (default: all)."""
    pads = attrs["pads"] if pads is None else ints(pads)
    axes = list(range(x.ndim)) if axes is None else [axis_index(a, x.ndim) for a in ints(axes)]
    if pads is None or len(pads) != 2 * len(axes):
        raise UnsupportedOnnxError(f"pads must hold 2 × {len(axes)} values, got {pads}")
    if isinstance(constant_value, MultiPartArray):
        raise UnsupportedOnnxError("a differentiated constant_value is not supported")
    fill = attrs["value"] if constant_value is None else scalar(constant_value)
    widths = [[0, 0] for _ in range(x.ndim)]
    for k, axis in enumerate(axes):
        widths[axis] = [pads[k], pads[k + len(axes)]]
    out_shape = [n + b + e for n, (b, e) in zip(x.shape, widths)]
    ctx.check_size([max(n, 0) for n in out_shape], "output")
    grow = [[max(b, 0), max(e, 0)] for b, e in widths]
    if any(b or e for b, e in grow):
        x = np.pad(x, grow, mode="constant", constant_values=fill)
    crop = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(widths))
    return x[crop]
