"""The NumPy functions and ufuncs that every multi-part number type shares.

``np.concatenate``, ``np.where``, ``np.pad``, sliding windows, ... act on every part alike
(linear), ``np.maximum`` and friends select by the real part, comparisons give plain arrays
(zero derivative). Two tables collect them: ``ARRAY_FUNCTIONS`` (for
``__array_function__``) and ``COMMON_UFUNCS`` (for ``__array_ufunc__``); ``dispatch.py``
registers them, with each type's own bilinear and nonlinear entries, on the number types.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import numpy as np

from .aliases import ArrayLike, DTypeLike, Operand
from .multipart import MultiPartArray, _add, _like, array_module

__all__ = [
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "concatenate",
    "stack",
    "where",
    "pad",
    "sliding_window_view",
    "as_multipart",
    "COMMON_UFUNCS",
    "ARRAY_FUNCTIONS",
]


# --------------------------------------------------------------------- plain operands
def as_multipart(
    cls: type[MultiPartArray], value: Operand, xp: ModuleType, dtype: DTypeLike | None = None
) -> MultiPartArray:
    """``value`` as a ``cls`` number (plain arrays become constants with zero parts).

    A Python scalar takes ``dtype`` (that of the other operands), as NumPy's weak scalars do.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, MultiPartArray):
        raise TypeError(f"cannot mix {cls.__name__} and {type(value).__name__}")
    if isinstance(value, (int, float)) and dtype is not None:
        value = xp.asarray(value, dtype=dtype)
    return cls.constant(value, xp)


def _dtype_of(values):
    """The dtype of the multi-part values among ``values`` (for lifting Python scalars)."""
    return np.result_type(*(v.dtype for v in values if isinstance(v, MultiPartArray)))


# --------------------------------------------------------------------- piecewise selection
# Ties, side by side (both kept on purpose; JAX averages in both):
#   * ``np.maximum(x, y)`` / ``np.minimum`` (elementwise, two operands): at x == y the other
#     parts are averaged (½, ½), the symmetric convention (JAX's);
#   * ``np.max(x)`` / ``x.max(axis)`` / ``np.min`` (reductions): the derivative parts of the
#     *first* extreme entry are taken, the entry ``argmax`` picks and max-pooling
#     back-propagates to (JAX averages over the tied entries instead).
# NaN: ``maximum``/``minimum`` propagate it (the NaN operand is selected, parts included);
# ``fmax``/``fmin`` ignore it (the other operand is selected), as NumPy does.
def maximum(x: Operand, y: Operand) -> MultiPartArray:
    """Elementwise maximum by the real parts. At ties (x == y) the other parts are averaged
    (½, ½), the symmetric convention (JAX's); ``relu`` has derivative 0 at 0 instead, and the
    reduction ``max`` takes the first maximal entry (see the note above). NaN propagates."""
    return _select_extreme(x, y, lambda a, p: a > p)


def minimum(x: Operand, y: Operand) -> MultiPartArray:
    """Elementwise minimum by the real parts; ties averaged like ``maximum``; NaN propagates."""
    return _select_extreme(x, y, lambda a, p: a < p)


def fmax(x: Operand, y: Operand) -> MultiPartArray:
    """``np.fmax``: like ``maximum`` but a NaN operand is ignored (the other one is taken)."""
    return _select_extreme(x, y, lambda a, p: a > p, ignore_nan=True)


def fmin(x: Operand, y: Operand) -> MultiPartArray:
    """``np.fmin``: like ``minimum`` but a NaN operand is ignored (the other one is taken)."""
    return _select_extreme(x, y, lambda a, p: a < p, ignore_nan=True)


def _select_extreme(x, y, wins, ignore_nan=False):
    cls = _like((x, y))
    xp = array_module(x, y)
    dtype = _dtype_of((x, y))  # Python scalars take the operands' dtype
    x, y = as_multipart(cls, x, xp, dtype), as_multipart(cls, y, xp, dtype)
    a, p = x.real, y.real
    # x where it wins, or where NaN decides for it (its own NaN propagates; fmax/fmin skip
    # y's NaN); y where it wins or is NaN itself (or x's NaN is skipped); ties: the mean.
    take_x = wins(a, p) | (xp.isnan(p) if ignore_nan else xp.isnan(a))
    mean = (x + y) * 0.5
    return where(take_x, x, where(a == p, mean, y))


def _zero_derivative(fn):
    """A ufunc whose derivative is zero (comparisons, sign, rounding): a plain array."""

    def impl(*inputs):
        return fn(*(v.real if isinstance(v, MultiPartArray) else v for v in inputs))

    return impl


COMMON_UFUNCS = {
    np.add: lambda x, y: _add(x, y),
    np.subtract: lambda x, y: _add(x, -y),
    np.negative: lambda x: -x,
    np.positive: lambda x: x,
    np.maximum: maximum,
    np.minimum: minimum,
    np.fmax: fmax,
    np.fmin: fmin,
    **{
        u: _zero_derivative(u)
        for u in (
            np.greater,
            np.greater_equal,
            np.less,
            np.less_equal,
            np.equal,
            np.not_equal,
            np.sign,
            np.floor,
            np.ceil,
            np.rint,
        )
    },
}
"""The ufuncs every number type shares: affine (+, -), selections by the real part
(maximum, minimum, fmax, fmin) and zero-derivative ones (comparisons, sign, rounding)."""


# --------------------------------------------------------------------- functions of sequences
def _align(values, cls, xp):
    """Lift all values to ``cls`` and to a common shape-length and leading-axis size."""
    dtype = _dtype_of(values)
    values = [as_multipart(cls, v, xp, dtype) for v in values]
    nd = max(v.ndim for v in values)
    values = [v.lift(nd) for v in values]
    aligned = []
    for k, lead in enumerate(cls.LEAD):
        present = [v.parts[k] for v in values if v.parts[k] is not None]
        if not present:  # a structural zero in every value stays one
            aligned.append(None)
            continue
        lead_shape = np.broadcast_shapes(*(p.shape[:lead] for p in present))
        zero = xp.zeros((), dtype=present[0].dtype)
        aligned.append(
            [
                xp.broadcast_to(
                    zero if v.parts[k] is None else v.parts[k],
                    lead_shape + (v.shape if v.parts[k] is None else v.parts[k].shape[lead:]),
                )
                for v in values
            ]
        )
    return values, aligned


def concatenate(
    arrays: Sequence[Operand], axis: int | None = 0, **kwargs: object
) -> MultiPartArray:
    if kwargs.get("out") is not None:
        raise TypeError("numpy.concatenate(out=...) is not supported for multi-part arrays")
    cls = _like(arrays)
    xp = array_module(*arrays)
    if axis is None:
        arrays = [as_multipart(cls, a, xp, _dtype_of(arrays)).reshape(-1) for a in arrays]
        axis = 0
    values, aligned = _align(arrays, cls, xp)
    first = values[0]
    return cls.from_parts(
        [
            None if parts is None else xp.concatenate(parts, axis=first._axis(axis, lead))
            for parts, lead in zip(aligned, cls.LEAD)
        ]
    )


def stack(arrays: Sequence[Operand], axis: int = 0, **kwargs: object) -> MultiPartArray:
    if kwargs.get("out") is not None:
        raise TypeError("numpy.stack(out=...) is not supported for multi-part arrays")
    cls = _like(arrays)
    xp = array_module(*arrays)
    values, aligned = _align(arrays, cls, xp)
    axis = axis % (values[0].ndim + 1)
    return cls.from_parts(
        [
            None if parts is None else xp.stack(parts, axis=axis + lead)
            for parts, lead in zip(aligned, cls.LEAD)
        ]
    )


def where(condition: ArrayLike, x: Operand, y: Operand) -> MultiPartArray:
    """Select elementwise by a plain boolean ``condition``; the parts follow the choice."""
    if isinstance(condition, MultiPartArray):
        raise TypeError("np.where condition must be a plain boolean array")
    cls = _like((x, y))
    xp = array_module(condition, x, y)
    condition = xp.asarray(condition)
    dtype = _dtype_of((x, y))
    x, y = as_multipart(cls, x, xp, dtype), as_multipart(cls, y, xp, dtype)
    nd = max(condition.ndim, x.ndim, y.ndim)
    x, y = x.lift(nd), y.lift(nd)
    cond = condition.reshape((1,) * (nd - condition.ndim) + condition.shape)
    shape = np.broadcast_shapes(cond.shape, x.shape, y.shape)
    return cls.from_parts(
        [
            _where_parts(xp, cond, p, q, lead, shape)
            for p, q, lead in zip(x.parts, y.parts, cls.LEAD)
        ]
    )


def _where_parts(xp, cond, p, q, lead, shape):
    """``where(cond, p, q)`` for two parts of numbers of the broadcast ``shape`` (``None`` is
    zero; two zeros stay ``None``)."""
    if p is None and q is None:
        return None
    present = q if p is None else p
    zero = xp.zeros((), dtype=present.dtype)
    out = xp.where(cond, zero if p is None else p, zero if q is None else q)
    return xp.broadcast_to(out, present.shape[:lead] + shape)


def pad(
    array: MultiPartArray, pad_width: ArrayLike, mode: str = "constant", **kwargs: object
) -> MultiPartArray:
    """Pad every part; a constant fill value applies to the first part only (the others get 0)."""
    if mode != "constant":
        raise TypeError(f"numpy.pad(mode={mode!r}) is not supported; only mode='constant'")
    xp = array.xp
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (array.ndim, 2))
    widths = [tuple(int(w) for w in row) for row in widths]
    fill = array.check_operand(kwargs.get("constant_values", 0))
    parts = []
    for k, (p, lead) in enumerate(zip(array.parts, array.LEAD)):
        if p is None:
            parts.append(None)
            continue
        pw = [(0, 0)] * lead + widths
        parts.append(xp.pad(p, pw, mode="constant", constant_values=fill if k == 0 else 0))
    return array.from_parts(parts)


def sliding_window_view(
    x: MultiPartArray,
    window_shape: int | Sequence[int],
    axis: int | Sequence[int] | None = None,
    *,
    subok: bool = False,
    writeable: bool = False,
) -> MultiPartArray:
    """Windows over the number's axes (the im2col building block); views, no copies."""
    if writeable:
        raise TypeError("sliding_window_view(writeable=True) is not supported")
    window_shape = (window_shape,) if np.ndim(window_shape) == 0 else tuple(window_shape)
    if axis is None:
        axis = tuple(range(x.ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    swv = x.xp.lib.stride_tricks.sliding_window_view
    return x.map_parts(
        lambda p, lead: swv(p, window_shape, axis=tuple(x._axis(a, lead) for a in axes))
    )


def _reduce_kwargs(kwargs, name):
    bad = {
        k
        for k, v in kwargs.items()
        if v is not None
        and k not in ("axis", "keepdims", "dtype")
        and not (k == "where" and v is True)
    }
    if bad:
        raise TypeError(
            f"numpy.{name}: arguments {sorted(bad)} are not supported for multi-part arrays"
        )
    return {k: v for k, v in kwargs.items() if k in ("axis", "keepdims", "dtype") and v is not None}


def _method(name, reduce=False):
    def impl(a, *args, **kwargs):
        if reduce:
            kwargs = _reduce_kwargs(kwargs, name)
        return getattr(a, name)(*args, **kwargs)

    impl.__name__ = name
    return impl


def _reshape(a, shape=None, order="C", **kwargs):
    if order != "C":
        raise TypeError("numpy.reshape: only order='C' is supported for multi-part arrays")
    shape = kwargs.get("newshape", shape)
    return a.reshape(shape)


def _transpose(a, axes=None):
    return a.transpose(axes)


def _broadcast_to(a, shape, subok=False):
    return a.broadcast_to((shape,) if isinstance(shape, int) else shape)


def _take_along_axis(arr, indices, axis=-1):
    return arr.take_along_axis(indices, axis)


def _max(a, axis=None, out=None, keepdims=False, **kwargs):
    if out is not None:
        raise TypeError("numpy.max(out=...) is not supported for multi-part arrays")
    return a.max(axis=axis, keepdims=keepdims)


def _min(a, axis=None, out=None, keepdims=False, **kwargs):
    if out is not None:
        raise TypeError("numpy.min(out=...) is not supported for multi-part arrays")
    return a.min(axis=axis, keepdims=keepdims)


def _argmax(a, axis=None, out=None, keepdims=False):
    return a.argmax(axis=axis, keepdims=keepdims)


def _argmin(a, axis=None, out=None, keepdims=False):
    return a.argmin(axis=axis, keepdims=keepdims)


def _shape(a):
    return a.shape


def _ndim(a):
    return a.ndim


def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


ARRAY_FUNCTIONS = {
    np.reshape: _reshape,
    np.ravel: _method("ravel"),
    np.transpose: _transpose,
    np.swapaxes: _method("swapaxes"),
    np.moveaxis: _method("moveaxis"),
    np.expand_dims: _method("expand_dims"),
    np.squeeze: _method("squeeze"),
    np.broadcast_to: _broadcast_to,
    np.sum: _method("sum", reduce=True),
    np.mean: _method("mean", reduce=True),
    np.concatenate: concatenate,
    np.stack: stack,
    np.where: where,
    np.pad: pad,
    np.lib.stride_tricks.sliding_window_view: sliding_window_view,
    np.take_along_axis: _take_along_axis,
    np.max: _max,
    np.amax: _max,
    np.min: _min,
    np.amin: _min,
    np.argmax: _argmax,
    np.argmin: _argmin,
    np.shape: _shape,
    np.ndim: _ndim,
    np.size: _size,
}
"""The NumPy functions every number type shares (``__array_function__``): linear ones, and
selections by the real part. (``np.maximum`` and the other ufuncs never come through
``__array_function__``: they are in ``COMMON_UFUNCS``.)"""
