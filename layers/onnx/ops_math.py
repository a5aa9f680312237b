"""Arithmetic, elementwise functions, activations, (log-)softmax, normalisations, reductions,
matrix products and comparisons.

Every operator is written with NumPy functions and operators only, so it runs on every number
type (real, complex, ``Dual``, ``HyperDual``, ``Bicomplex``, ...). Nonlinear elementwise
functions come from NumPy's ufuncs or from the rule table (``erf``); composites (sigmoid,
softmax, GELU, normalisations) are compositions of those, as in ``layers.activations``.
Comparisons are zero-derivative: they look at real parts and return plain boolean arrays.
"""

from __future__ import annotations

import math

import numpy as np

from hyperdual.multipart import MultiPartArray
from hyperdual.number import _rule_function

from ..activations import log_softmax, relu, sigmoid
from .registry import UnsupportedOnnxError, axis_index, dtype_of, ints, one_of, op

erf = _rule_function("erf")
"""``erf`` on every number type: the rule table on Dual/HyperDual, Bicomplex's own closed form,
``scipy.special.erf`` on plain real or complex arrays (the same dispatch as
``hyperdual.sigmoid``)."""


# --------------------------------------------------------------------------- arithmetic
@op("Add")
def add(ctx, attrs, a, b):
    return a + b


@op("Sub")
def sub(ctx, attrs, a, b):
    return a - b


@op("Mul")
def mul(ctx, attrs, a, b):
    return a * b


@op("Div")
def div(ctx, attrs, a, b):
    if not _is_integer(a) or not _is_integer(b):
        return a / b
    # Integer division truncates towards zero (ONNX, C); NumPy's // rounds down.
    quotient = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -quotient, quotient)


def _is_integer(value):
    return not isinstance(value, MultiPartArray) and dtype_of(value).kind in "iub"


@op("Mod", attrs={"fmod": 0})
def mod(ctx, attrs, a, b):
    """Remainder of plain tensors (the shape arithmetic exporters emit): the divisor's sign
    (``fmod=0``, integers) or the dividend's (``fmod=1``). Its derivative (1 in ``a``,
    ``-floor(a/b)`` in ``b``, jumps at every multiple) is not offered."""
    if isinstance(a, MultiPartArray) or isinstance(b, MultiPartArray):
        raise UnsupportedOnnxError("Mod of differentiated tensors is not supported")
    return np.fmod(a, b) if attrs["fmod"] else np.mod(a, b)


@op("Neg")
def neg(ctx, attrs, x):
    return -x


@op("Pow")
def pow_(ctx, attrs, x, y):
    return x**y


@op("Sqrt")
def sqrt(ctx, attrs, x):
    return np.sqrt(x)


@op("Exp")
def exp(ctx, attrs, x):
    return np.exp(x)


@op("Log")
def log(ctx, attrs, x):
    return np.log(x)


@op("Reciprocal")
def reciprocal(ctx, attrs, x):
    return 1.0 / x


@op("Abs")
def abs_(ctx, attrs, x):
    """``|x| = sign(real) x``: derivative ``sign``, 0 at 0 (the rule table's kink); never the
    complex modulus, which would destroy a complex step."""
    if _is_integer(x):
        return np.abs(x)
    return x * np.sign(x.real).astype(x.real.dtype)


@op("Erf")
def erf_op(ctx, attrs, x):
    return erf(x)


@op("Tanh")
def tanh(ctx, attrs, x):
    return np.tanh(x)


@op("Sigmoid")
def sigmoid_op(ctx, attrs, x):
    return sigmoid(x)


# --------------------------------------------------------------------------- activations
@op("Relu")
def relu_op(ctx, attrs, x):
    """``max(x, 0)`` with derivative 0 at 0 (``layers.activations.relu``)."""
    return relu(x)


@op("LeakyRelu", attrs={"alpha": 0.01})
def leaky_relu(ctx, attrs, x):
    slope = np.where(x.real > 0, 1.0, attrs["alpha"]).astype(x.real.dtype)
    return x * slope


def _check_gelu(attrs, opset):
    one_of(attrs["approximate"], ("none", "tanh"), "approximate")


@op("Gelu", attrs={"approximate": "none"}, check=_check_gelu)
def gelu(ctx, attrs, x):
    """``x Φ(x) = ½ x (1 + erf(x / √2))``, or the tanh approximation
    ``½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))``."""
    if attrs["approximate"] == "tanh":
        inner = (x + 0.044715 * (x * x * x)) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def _softmax_axis(ctx, attrs, x):
    """``(x as used, axis, original shape)``: before opset 13 the input is coerced to 2-D at
    ``axis`` (default 1) and the softmax runs over the flattened trailing block."""
    if ctx.opset >= 13:
        axis = -1 if attrs["axis"] is None else attrs["axis"]
        return x, axis_index(axis, x.ndim), None
    axis = axis_index(1 if attrs["axis"] is None else attrs["axis"], x.ndim)
    shape = tuple(x.shape)
    rows = math.prod(shape[:axis])
    return x.reshape(rows, -1), 1, shape


@op("LogSoftmax", attrs={"axis": None})
def log_softmax_op(ctx, attrs, x):
    """Stable ``z - log Σ exp z`` with ``z = x - max(real)`` (``layers.activations``)."""
    x2, axis, shape = _softmax_axis(ctx, attrs, x)
    y = log_softmax(x2, axis=axis)
    return y if shape is None else y.reshape(shape)


@op("Softmax", attrs={"axis": None})
def softmax_op(ctx, attrs, x):
    return np.exp(log_softmax_op(ctx, attrs, x))


# --------------------------------------------------------------------------- matrix products
@op("MatMul")
def matmul(ctx, attrs, a, b):
    return a @ b


@op("Gemm", attrs={"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
def gemm(ctx, attrs, a, b, c=None):
    """``alpha · A' B' + beta · C`` with ``A' = Aᵀ`` if transA (likewise B); C broadcasts."""
    a = a.T if attrs["transA"] else a
    b = b.T if attrs["transB"] else b
    y = a @ b
    if attrs["alpha"] != 1.0:
        y = y * attrs["alpha"]
    if c is not None:
        y = y + (c if attrs["beta"] == 1.0 else c * attrs["beta"])
    return y


# --------------------------------------------------------------------------- normalisations
def _check_batch_norm(attrs, opset):
    if attrs["training_mode"]:
        raise UnsupportedOnnxError(
            "training_mode=1 is not supported (inference only: the "
            "running mean and variance are used)"
        )
    if attrs["spatial"] != 1:
        raise UnsupportedOnnxError("spatial=0 is not supported")


@op(
    "BatchNormalization",
    attrs={"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0, "spatial": 1},
    check=_check_batch_norm,
)
def batch_normalization(ctx, attrs, x, scale, bias, mean, var):
    """Inference: ``(x - mean) / sqrt(var + ε) · scale + bias`` per channel (axis 1).

    Shapes: ``x`` (N, C, ...), the four statistics (C,). All four may be parameters.
    """
    shape = (-1,) + (1,) * (x.ndim - 2)
    scale, bias, mean, var = (np.reshape(t, shape) for t in (scale, bias, mean, var))
    return (x - mean) / np.sqrt(var + attrs["epsilon"]) * scale + bias


@op("LayerNormalization", attrs={"axis": -1, "epsilon": 1e-5, "stash_type": 1})
def layer_normalization(ctx, attrs, x, scale, bias=None):
    """``(x - μ) / sqrt(σ² + ε) · scale + bias`` over the axes ``axis, ..., rank-1``
    (population variance, as ONNX and PyTorch). ``scale`` and ``bias`` broadcast from the right.
    """
    start = axis_index(attrs["axis"], x.ndim)
    axes = tuple(range(start, x.ndim))
    centred = x - np.mean(x, axis=axes, keepdims=True)
    variance = np.mean(centred * centred, axis=axes, keepdims=True)
    y = centred / np.sqrt(variance + attrs["epsilon"]) * scale
    return y if bias is None else y + bias


# --------------------------------------------------------------------------- reductions
def _reduce(ctx, attrs, x, axes_input, reduce):
    axes = attrs["axes"] if axes_input is None else ints(axes_input)
    if not axes:
        if attrs["noop_with_empty_axes"]:
            return x
        axes = range(x.ndim)
    axes = tuple(sorted({axis_index(a, x.ndim, "axes") for a in axes}))
    return reduce(x, axis=axes, keepdims=bool(attrs["keepdims"]))


_REDUCE_ATTRS = {"axes": None, "keepdims": 1, "noop_with_empty_axes": 0}


@op("ReduceSum", attrs=_REDUCE_ATTRS)
def reduce_sum(ctx, attrs, x, axes=None):
    return _reduce(ctx, attrs, x, axes, np.sum)


@op("ReduceMean", attrs=_REDUCE_ATTRS)
def reduce_mean(ctx, attrs, x, axes=None):
    return _reduce(ctx, attrs, x, axes, np.mean)


# --------------------------------------------------------------------------- comparisons
# Zero-derivative: real parts compared (also of a complex step), plain boolean arrays out.
def _comparison(ufunc):
    def compare(ctx, attrs, a, b):
        return ufunc(a.real, b.real)

    return compare


for _name, _ufunc in (
    ("Equal", np.equal),
    ("Less", np.less),
    ("Greater", np.greater),
    ("LessOrEqual", np.less_equal),
    ("GreaterOrEqual", np.greater_equal),
):
    op(_name)(_comparison(_ufunc))


@op("Not")
def not_(ctx, attrs, x):
    return np.logical_not(x)


@op("And")
def and_(ctx, attrs, a, b):
    return np.logical_and(a, b)


@op("Or")
def or_(ctx, attrs, a, b):
    return np.logical_or(a, b)
