"""Arrays made of several component arrays, and the operations that act on every part alike.

A hyper-dual number has four parts (``real, eps1, eps2, eps12``), a bicomplex number two
(``z1, z2``). Both are *arrays* of numbers: each part is a NumPy (or CuPy) array.

**Linear operations** (reshape, transpose, indexing, sum, mean, ``+``, ``-``, ...) act on
every part in the same way, so they are written once here, as methods of ``MultiPartArray``.
The NumPy functions of the same kind (concatenate, stack, where, pad, sliding windows, ...)
are in ``numpy_functions.py``; bilinear operations (``*``, ``@``) in ``bilinear.py``; the
tables that route each NumPy function and ufunc to its implementation in ``dispatch.py``.

**Leading axes.** A part may carry extra leading axes that the number's shape does not show:
the ε-parts of a ``HyperDual`` carry one "pair" axis of length P (P direction pairs evaluated
at once) while the real part is shared. ``LEAD[k]`` is the number of such axes of part k, and
every linear operation shifts its axis arguments by it. Invariant: part k has shape
``lead_shape + shape`` where ``lead_shape`` has ``LEAD[k]`` entries (each 1 or P).

**Structural zeros.** A type with ``STRUCTURAL_ZEROS = True`` (the K-jet) stores a part that
is known to be zero as ``None`` instead of an array of zeros: θ's second-order part, or the
tangents of data. Linear operations keep ``None`` as ``None``; sums and selections treat it
as zero. Nothing is computed for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Self

import numpy as np

from .aliases import Array, ArrayLike, DTypeLike, Operand, Parts
from .backend import namespace, to_numpy


class MultiPartArray:
    """Base class: an array of numbers stored as a tuple of component arrays.

    Subclasses set ``PART_NAMES`` (attribute names of the parts, the first being the
    primal part without leading axes), ``LEAD`` (leading axes of each part), define
    ``real`` (the real, primal value used by comparisons) and the algebra-specific
    operations.
    """

    PART_NAMES: tuple[str, ...] = ()
    LEAD: tuple[int, ...] = ()
    # The dispatch tables, numpy function or ufunc -> implementation, filled for every type
    # in one place: ``dispatch.py``.
    ARRAY_FUNCTIONS: dict = {}
    UFUNCS: dict = {}
    STRUCTURAL_ZEROS = False  # True: a zero part may be stored as None (see module docstring)
    PART_KINDS: str = "f"  # dtype kinds the parts may hold: "f" real (HyperDual, Dual,
    #                             Jet), "c" complex (Bicomplex). Guarded where values enter.
    __array_priority__ = 100

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_parts(cls, parts: Iterable) -> Self:
        """Build from already validated parts (no copies, no checks)."""
        obj = object.__new__(cls)
        for name, part in zip(cls.PART_NAMES, parts):
            setattr(obj, name, part)
        return obj

    @classmethod
    def constant(cls, value: ArrayLike, xp: ModuleType | None = None) -> Self:
        """Lift a plain array into this type: the first part is ``value``, the others zero.

        The zero parts are broadcast views of one scalar, so they cost no memory.
        """
        xp = xp or namespace(value)
        value = xp.asarray(cls.check_operand(value))
        if cls.STRUCTURAL_ZEROS:
            return cls.from_parts([value] + [None] * (len(cls.LEAD) - 1))
        zero = xp.zeros((), dtype=cls._part_dtype(value.dtype))
        parts = [value] + [
            xp.broadcast_to(zero, (1,) * lead + value.shape) for lead in cls.LEAD[1:]
        ]
        return cls.from_parts(parts)

    @staticmethod
    def _part_dtype(dtype):
        return dtype

    @classmethod
    def check_operand(cls, value: object) -> object:
        """Return a plain operand unchanged, or refuse one whose values the parts cannot hold.

        A complex constant entering a real number type would make its parts complex, and
        every later rule (abs, relu, maximum, comparisons by the real part) would silently
        differentiate the wrong function. Called wherever plain values enter (lifting,
        ``+``, bilinear operations, division, powers, padding).
        """
        kind = _kind(value)
        if kind not in "biu" + ("fc" if "c" in cls.PART_KINDS else "f"):
            raise TypeError(
                f"a {_kind_name(kind)} operand cannot enter a {cls.__name__} (its parts are "
                f"{_kind_name(cls.PART_KINDS)}): the result would be silently wrong. "
                + (
                    "Use hyperdual.Bicomplex or the complex step for complex arithmetic."
                    if kind == "c"
                    else "Convert it to a floating array first."
                )
            )
        return value

    @classmethod
    def check_dtype(cls, dtype: DTypeLike | None, what: str) -> np.dtype | None:
        """``dtype`` (or None) if the parts can be cast to it; refuse a cast that would
        truncate or drop parts (``dtype=int`` in ``sum``/``mean``, ``astype(int)``)."""
        if dtype is None:
            return None
        dtype = np.dtype(dtype)
        if dtype.kind not in cls.PART_KINDS:
            raise TypeError(
                f"{what} with dtype={dtype} is not supported for {cls.__name__}: "
                f"casting its {_kind_name(cls.PART_KINDS)} parts to {dtype} "
                "would silently truncate or misrepresent them"
            )
        return dtype

    @property
    def parts(self) -> Parts:
        """The component arrays, in ``PART_NAMES`` order."""
        return tuple(getattr(self, name) for name in self.PART_NAMES)

    @property
    def xp(self) -> ModuleType:
        """The array module (numpy or cupy) the parts live in (all parts share one device:
        every constructor and operation checks its inputs with ``namespace``)."""
        return namespace(getattr(self, self.PART_NAMES[0]))

    # ----------------------------------------------------------------- array attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.parts[0].shape

    @property
    def ndim(self) -> int:
        return self.parts[0].ndim

    @property
    def size(self) -> int:
        return self.parts[0].size

    @property
    def dtype(self) -> np.dtype:
        return self.parts[0].dtype

    def __len__(self):
        return len(self.parts[0])

    def __repr__(self):
        body = ",\n  ".join(
            f"{n}={'0 (structural)' if p is None else np.array2string(to_numpy(p), prefix='  ')}"
            for n, p in zip(self.PART_NAMES, self.parts)
        )
        return f"{type(self).__name__}(\n  {body})"

    # A multi-part number must never be turned into a plain array or float silently:
    # that would drop its derivative parts.
    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"cannot convert a {type(self).__name__} to a plain array (np.asarray / np.array): "
            f"that would silently drop its {', '.join(self.PART_NAMES[1:])} parts. "
            "Use .real for the value, or a NumPy function that supports it."
        )

    def __float__(self):
        raise TypeError(
            f"float() of a {type(self).__name__} would drop its derivative parts; use .real"
        )

    __int__ = __complex__ = __float__

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"the truth value of a {type(self).__name__} array with more "
                "than one element is ambiguous"
            )
        return bool(self.real.reshape(()))

    # ----------------------------------------------------------------- helpers
    def map_parts(self, fn: Callable[[Array, int], Array]) -> Self:
        """Apply ``fn(part, lead)`` to every part; only valid for linear ``fn``.

        A structural zero (``None``) stays ``None``: a linear map of zero is zero.
        """
        return self.from_parts(
            tuple(None if p is None else fn(p, lead) for p, lead in zip(self.parts, self.LEAD))
        )

    def map_stacked(self, fn: Callable[[Array], Array]) -> Self:
        """Apply one linear ``fn`` to all parts at once, stacked on one leading axis.

        ``fn`` takes an array of shape ``(T, *shape)`` and treats its first axis as a batch
        (e.g. im2col windows over the last axes). The parts (leading axes of length 1 or P;
        the primal part gets one of length 1) are concatenated into one such array, so ``fn``
        runs once — one call, one contiguous result — instead of once per part. Only for types
        whose parts have at most one leading axis.
        """
        if max(self.LEAD) > 1:
            raise TypeError(
                f"map_stacked needs at most one leading axis per part "
                f"({type(self).__name__} has {self.LEAD})"
            )
        present = [
            (k, p if lead else p[None])
            for k, (p, lead) in enumerate(zip(self.parts, self.LEAD))
            if p is not None
        ]
        sizes = [p.shape[0] for _, p in present]
        out = fn(self.xp.concatenate([p for _, p in present]))
        parts, start = [None] * len(self.LEAD), 0
        for (k, _), size in zip(present, sizes):
            piece = out[start : start + size]
            parts[k] = piece if self.LEAD[k] else piece[0]
            start += size
        return self.from_parts(parts)

    def _axis(self, axis, lead):
        """Shift a (possibly negative) axis or tuple of axes past ``lead`` leading axes."""
        if axis is None:
            return None
        if isinstance(axis, tuple):
            return tuple(self._axis(a, lead) for a in axis)
        axis = int(axis)
        if not -self.ndim <= axis < self.ndim:
            raise np.exceptions.AxisError(axis, self.ndim)
        return axis % self.ndim + lead

    def lift(self, ndim: int) -> Self:
        """Prepend size-1 axes up to ``ndim`` dimensions (what broadcasting does implicitly)."""
        extra = ndim - self.ndim
        if extra <= 0:
            return self
        return self.map_parts(
            lambda p, lead: p.reshape(p.shape[:lead] + (1,) * extra + p.shape[lead:])
        )

    def broadcast_to(self, shape: Iterable[int]) -> Self:
        """Broadcast the number's shape to ``shape`` (leading axes of parts are kept)."""
        shape = tuple(shape)
        lifted = self.lift(len(shape))
        return lifted.map_parts(lambda p, lead: lifted.xp.broadcast_to(p, p.shape[:lead] + shape))

    # ----------------------------------------------------------------- linear: shape
    def reshape(self, *shape: int | Iterable[int]) -> Self:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        new_shape = self.parts[0].reshape(shape).shape  # resolves -1
        return self.map_parts(lambda p, lead: p.reshape(p.shape[:lead] + new_shape))

    def ravel(self) -> Self:
        return self.reshape(-1)

    def flatten(self) -> Self:
        return self.reshape(-1)

    def transpose(self, *axes: int | Iterable[int] | None) -> Self:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        axes = tuple(reversed(range(self.ndim))) if not axes else tuple(axes)
        return self.map_parts(
            lambda p, lead: p.transpose(
                tuple(range(lead)) + tuple(self._axis(a, lead) for a in axes)
            )
        )

    @property
    def T(self) -> Self:
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Self:
        return self.map_parts(
            lambda p, lead: p.swapaxes(self._axis(axis1, lead), self._axis(axis2, lead))
        )

    def moveaxis(self, source: int | Iterable[int], destination: int | Iterable[int]) -> Self:
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        return self.map_parts(
            lambda p, lead: self.xp.moveaxis(
                p, [self._axis(a, lead) for a in src], [self._axis(a, lead) for a in dst]
            )
        )

    def expand_dims(self, axis: int | Iterable[int]) -> Self:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        ndim = self.ndim + len(axes)
        axes = tuple(a % ndim for a in axes)
        return self.map_parts(lambda p, lead: self.xp.expand_dims(p, tuple(a + lead for a in axes)))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Self:
        if axis is None:
            axis = tuple(i for i, n in enumerate(self.shape) if n == 1)
        return self.map_parts(lambda p, lead: p.squeeze(self._axis(axis, lead)))

    # ----------------------------------------------------------------- linear: indexing
    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        index = tuple(k.real if isinstance(k, MultiPartArray) else k for k in index)
        has_ellipsis = any(k is Ellipsis for k in index)

        def take(p, lead):
            if lead == 0:
                return p[index]
            # Move the leading axes to the end and index them with explicit slices, so that
            # NumPy's placement rules for advanced indices never mix them up.
            xp = self.xp
            front, back = list(range(lead)), list(range(-lead, 0))
            moved = xp.moveaxis(p, front, back)
            tail = (slice(None),) * lead
            key = index + tail if has_ellipsis else index + (Ellipsis,) + tail
            return xp.moveaxis(moved[key], back, front)

        return self.map_parts(take)

    def __setitem__(self, index, value):
        raise TypeError(
            f"{type(self).__name__} is immutable (in-place updates would break "
            "forward mode's no-tape guarantee); build a new array with "
            "np.where, np.concatenate or np.pad instead"
        )

    def take_along_axis(self, indices: Array, axis: int | None) -> Self:
        def take(p, lead):
            idx = indices.reshape((1,) * lead + indices.shape)
            return self.xp.take_along_axis(
                p, idx, axis=None if axis is None else self._axis(axis, lead)
            )

        return self.map_parts(take)

    # ----------------------------------------------------------------- linear: reductions
    def sum(
        self,
        axis: int | tuple[int, ...] | None = None,
        keepdims: bool = False,
        dtype: DTypeLike | None = None,
    ) -> Self:
        dtype = self.check_dtype(dtype, "sum")

        def total(p, lead):
            ax = tuple(range(lead, p.ndim)) if axis is None else self._axis(axis, lead)
            return p.sum(axis=ax, keepdims=keepdims, dtype=dtype)

        return self.map_parts(total)

    def mean(
        self,
        axis: int | tuple[int, ...] | None = None,
        keepdims: bool = False,
        dtype: DTypeLike | None = None,
    ) -> Self:
        dtype = self.check_dtype(dtype, "mean")

        def average(p, lead):
            ax = tuple(range(lead, p.ndim)) if axis is None else self._axis(axis, lead)
            return p.mean(axis=ax, keepdims=keepdims, dtype=dtype)

        return self.map_parts(average)

    # ----------------------------------------------------------------- linear: + and -
    def __neg__(self):
        return self.map_parts(lambda p, lead: -p)

    def __pos__(self):
        return self

    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _add(self, -other)

    def __rsub__(self, other):
        return _add(other, -self)

    # ----------------------------------------------------------------- nonlinear
    # ``*``, ``@`` and ``/`` are bilinear: ``bilinear.AlgebraArray`` defines them. Powers and
    # ``abs`` depend on the number type: its own implementation, from its UFUNCS table.
    def __pow__(self, other):
        return self.UFUNCS[np.power](self, other)

    def __rpow__(self, other):
        return self.UFUNCS[np.power](other, self)

    def __abs__(self):
        return self.UFUNCS[np.absolute](self)

    # ----------------------------------------------------------------- zero-derivative
    def _compare(self, other, op):
        other = other.real if isinstance(other, MultiPartArray) else other
        return op(self.real, other)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):  # elementwise, on the real part (not identity)
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    __hash__ = None

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Array:
        return self.xp.argmax(self.real, axis=axis, keepdims=keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Array:
        return self.xp.argmin(self.real, axis=axis, keepdims=keepdims)

    def max(self, axis: int | None = None, keepdims: bool = False) -> Self:
        """Maximum; at ties the derivative parts of the *first* maximal entry are taken
        (the same entry ``argmax`` picks, and the one max-pooling back-propagates to).
        The elementwise ``np.maximum(x, y)`` *averages* at ties instead; JAX averages in
        both (see "Ties, side by side" in this module)."""
        return self._select_along(self.xp.argmax, axis, keepdims)

    def min(self, axis: int | None = None, keepdims: bool = False) -> Self:
        """Minimum; ties resolved like ``max`` (first minimal entry)."""
        return self._select_along(self.xp.argmin, axis, keepdims)

    def _select_along(self, arg_fn, axis, keepdims):
        x = self.reshape(-1) if axis is None else self
        ax = 0 if axis is None else axis
        idx = arg_fn(x.real, axis=ax, keepdims=True)
        out = x.take_along_axis(idx, ax)
        if axis is None:
            return out.reshape((1,) * self.ndim if keepdims else ())
        return out if keepdims else out.squeeze(ax)

    def astype(self, dtype: DTypeLike) -> Self:
        dtype = self.check_dtype(dtype, "astype")
        return self.map_parts(lambda p, lead: p.astype(dtype))

    def copy(self) -> Self:
        return self.map_parts(lambda p, lead: p.copy())

    # ----------------------------------------------------------------- NumPy protocol
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        cls = type(self)
        name = f"numpy.{ufunc.__name__}"
        if method != "__call__":
            raise TypeError(_unsupported(self, f"{name}.{method}"))
        if kwargs.get("out") is not None:
            raise TypeError(
                f"{name}(out=...) is not supported: {cls.__name__} arrays are immutable"
            )
        extra = {
            k
            for k, v in kwargs.items()
            if k not in ("out", "where", "casting", "order") or (k == "where" and v is not True)
        }
        if extra:
            raise TypeError(
                f"{name}: arguments {sorted(extra)} are not supported for {cls.__name__}"
            )
        if any(isinstance(v, MultiPartArray) and not isinstance(v, cls) for v in inputs):
            return NotImplemented
        impl = cls.UFUNCS.get(ufunc)
        if impl is None:
            raise TypeError(_unsupported(self, name))
        return impl(*inputs)

    @classmethod
    def supported_functions(cls) -> list[str]:
        """Names of the NumPy ufuncs and functions that accept this type."""
        return sorted(
            {f"numpy.{u.__name__}" for u in cls.UFUNCS}
            | {f"numpy.{f.__name__}" for f in cls.ARRAY_FUNCTIONS}
        )

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (type(self), np.ndarray)) or _is_cupy_type(t) for t in types):
            return NotImplemented
        impl = type(self).ARRAY_FUNCTIONS.get(func)
        if impl is None:
            raise TypeError(_unsupported(self, f"numpy.{func.__name__}"))
        return impl(*args, **kwargs)


def _is_cupy_type(t):
    return t.__module__.split(".")[0] == "cupy"


def _unsupported(x, what):
    return (
        f"{what} is not supported for {type(x).__name__} inputs (it might silently drop "
        "derivative parts). Rewrite the computation with supported operations "
        "(see hyperdual.supported_functions()) or ask for it to be added."
    )


def _kind(value):
    """The NumPy dtype kind of a plain operand ("b", "i", "u", "f", "c", ...)."""
    for kind, types in (("b", bool), ("i", int), ("f", float), ("c", complex)):
        if isinstance(value, types):  # Python scalars (and NumPy's float64, complex128)
            return kind
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype).kind if dtype is not None else np.asarray(value).dtype.kind


def _kind_name(kinds):
    return (
        "complex"
        if "c" in kinds
        else {"b": "boolean", "i": "integer", "u": "integer", "f": "real floating"}.get(
            kinds, f"kind {kinds!r}"
        )
    )


def _like(values):
    """The MultiPartArray subclass among ``values`` (error if two different ones)."""
    classes = {type(v) for v in values if isinstance(v, MultiPartArray)}
    if len(classes) != 1:
        raise TypeError(f"cannot mix {sorted(c.__name__ for c in classes)} in one operation")
    return classes.pop()


def array_module(*values: Operand) -> ModuleType:
    """The array module (NumPy or CuPy) that the data in ``values`` lives in.

    Multi-part numbers contribute their parts; Python scalars and ``None`` (a structural zero)
    are ignored. Raises ``DeviceMismatchError`` when host and device arrays are mixed.
    """
    arrays = []
    for v in values:
        arrays.extend(v.parts if isinstance(v, MultiPartArray) else (v,))
    return namespace(*arrays)


def _add(x, y):
    """x + y: the parts add, a plain operand only shifts the first part (an affine op)."""
    xp = array_module(x, y)
    if isinstance(x, MultiPartArray) and isinstance(y, MultiPartArray):
        _like((x, y))
        nd = max(x.ndim, y.ndim)
        shape = np.broadcast_shapes(x.shape, y.shape)
        return x.from_parts(
            tuple(
                _add_parts(xp, p, q, lead, shape)
                for p, q, lead in zip(x.lift(nd).parts, y.lift(nd).parts, x.LEAD)
            )
        )
    number = x if isinstance(x, MultiPartArray) else y
    number.check_operand(y if number is x else x)
    first = x.parts[0] + y if number is x else x + y.parts[0]
    shape = first.shape
    lifted = number.lift(len(shape))
    rest = [
        None if p is None else xp.broadcast_to(p, p.shape[:lead] + shape)
        for p, lead in zip(lifted.parts[1:], number.LEAD[1:])
    ]
    return number.from_parts([first] + rest)


def _add_parts(xp, p, q, lead, shape):
    """``p + q`` for two parts of numbers of broadcast ``shape`` (``None`` is zero)."""
    if p is None and q is None:
        return None
    if p is None or q is None:
        part = q if p is None else p
        return xp.broadcast_to(part, part.shape[:lead] + shape)
    return p + q


def __getattr__(name):
    """Former names: the NumPy functions (``where``, ``concatenate``, ``maximum``, ...) moved
    to ``numpy_functions.py``; importing them from here keeps working."""
    from . import numpy_functions

    if name in numpy_functions.__all__:
        return getattr(numpy_functions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
