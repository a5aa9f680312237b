"""The forward-mode number types: ``Dual`` (first order) and ``HyperDual`` (second order).

Hyper-dual algebra: ``e1² = e2² = 0`` and ``e1 e2 = e2 e1 ≠ 0``. Hence the product rule

    (a + b e1 + c e2 + d e1e2)(p + q e1 + r e2 + s e1e2)
        = ap + (aq + bp) e1 + (ar + cp) e2 + (as + br + cq + dp) e1e2

and, for any smooth elementwise f, the chain rule

    f(a + b e1 + c e2 + d e1e2) = f(a) + f'(a) b e1 + f'(a) c e2 + (f'(a) d + f''(a) b c) e1e2.

A dual number ``a + b e`` (``e² = 0``) is the first-order special case: ``(ap, aq + bp)`` and
``f(a) + f'(a) b e``. It costs 3 array products per multiplication where a hyper-dual number
costs 9, so first-order quantities (``J v``, and ``H v`` by back-propagation on dual inputs)
use it.

Operations come in four kinds, one helper each:

* linear (add, reshape, transpose, indexing, sum, pad, im2col windows, ...): act on every
  component alike (``multipart.MultiPartArray``, ``numpy_functions``);
* bilinear (``*``, ``@``, ``einsum``, ``dot``): the product rule (``product`` below, applied
  by ``bilinear.bilinear``);
* zero-derivative (comparisons, argmax, sign, floor): plain arrays computed from ``real``;
* nonlinear elementwise: the ``(f, f', f'')`` table in ``rules.py`` (``apply`` below).

``dispatch.py`` routes every NumPy function and ufunc to the helper of its kind.

Shapes: ``real`` has the number's shape S. The ε-parts always carry one leading *pair axis*:
shape ``(P, *S)``. P direction pairs are evaluated at once while the real part (the primal
computation) is shared; a single pair has P = 1.
"""

from __future__ import annotations

import functools
from typing import Self

import numpy as np

from .aliases import ArrayLike, BilinearOp, Operand, Parts, Rule
from .backend import namespace
from .bicomplex import Bicomplex
from .bilinear import AlgebraArray
from .multipart import MultiPartArray, array_module
from .rules import RULES, power_rule


def _component_dtype(xp, components, name):
    """The floating dtype of a number built from ``components`` (integers become float64).

    Python scalars are "weak" (NEP 50): ``HyperDual(float32_array, 1.0)`` stays float32.
    Complex components are refused (use ``Bicomplex``).
    """
    dtype = xp.result_type(
        *(v if isinstance(v, (int, float)) else xp.asarray(v) for v in components)
    )
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if dtype.kind != "f":
        raise TypeError(f"{name} components must be real floating arrays, got {dtype}")
    return dtype


def _frozen(array):
    """``array`` made read-only (NumPy; CuPy arrays have no such flag)."""
    if isinstance(array, np.ndarray):
        array.flags.writeable = False
    return array


class ForwardNumber(AlgebraArray):
    """Common ground of ``Dual`` and ``HyperDual``: a real part and ε-parts with a pair axis.

    Subclasses state their algebra in two static methods: ``product`` (the product rule, for
    every bilinear operation) and ``chain`` (the chain rule, for every table function).

    Immutable: the constructor copies its inputs (NumPy parts are also marked read-only), so
    a number never changes when the arrays it was built from do.
    """

    def __init__(self, real: ArrayLike, *eps: ArrayLike):
        xp = namespace(real, *eps)
        name = type(self).__name__
        dtype = _component_dtype(xp, (real, *eps), name)
        # Copies, made read-only below where the backend allows it (NumPy): the number is
        # immutable, so it must not change when the arrays it was built from do.
        real = xp.array(real, dtype=dtype, copy=True)
        shape = real.shape
        parts, pairs = [real], set()
        for part_name, e in zip(self.PART_NAMES[1:], eps):
            e = xp.array(e, dtype=dtype, copy=True)
            if e.ndim == 0:
                e = xp.broadcast_to(e, (1,) + shape)
            elif e.shape == shape:
                e = e[None]
            elif not (e.ndim == len(shape) + 1 and e.shape[1:] == shape):
                raise ValueError(
                    f"{name} {part_name} must have the real part's shape {shape} or "
                    f"(P, *{shape}) with a leading pair axis; got {e.shape}"
                )
            if e.shape[0] != 1:
                pairs.add(e.shape[0])
            parts.append(e)
        if len(pairs) > 1:
            raise ValueError(f"{name} ε-parts have different numbers of pairs: {sorted(pairs)}")
        for part_name, part in zip(self.PART_NAMES, parts):
            setattr(self, part_name, _frozen(part))

    @property
    def npairs(self) -> int:
        """P, the length of the ε-parts' leading pair axis."""
        return max(e.shape[0] for e in self.parts[1:])

    @staticmethod
    def _part_dtype(dtype):
        return dtype if dtype.kind == "f" else np.dtype(np.float64)

    def apply(self, rule: Rule) -> Self:
        """An elementwise function given by ``rule(xp, a) -> (f(a), f'(a), f''(a))``.

        A rule marked ``piecewise_linear`` (relu, abs) has ``f'' = 0`` wherever it is
        differentiable: its ``f''`` is passed on as ``None``, so no second-order work is done.
        """
        f, df, d2f = rule(self.xp, self.real)
        if getattr(rule, "piecewise_linear", False):
            d2f = None
        return self.from_parts(self.chain(self.parts, (f, df, d2f)))


class Dual(ForwardNumber):
    """An array of dual numbers ``real + eps e`` with ``e² = 0`` (first-order forward mode).

    Parameters
    ----------
    real : array_like, shape S
    eps : array_like, shape S or ``(P, *S)``, or scalar
        The tangent; a leading axis of length P holds P directions.

    Examples
    --------
    >>> x = Dual(2.0, 1.0)
    >>> y = x * x * x           # 8 + 12 e: the value and the derivative of x³
    """

    PART_NAMES = ("real", "eps")
    LEAD = (0, 1)

    def __init__(self, real: ArrayLike, eps: ArrayLike = 0.0):
        super().__init__(real, eps)

    @staticmethod
    def product(op: BilinearOp, x: Parts, y: Parts) -> Parts:
        """``op(a + b e, p + q e) = op(a, p) + (op(a, q) + op(b, p)) e`` for bilinear ``op``."""
        a, b = x
        p, q = y
        return op(a, 0, p, 0), op(a, 0, q, 1) + op(b, 1, p, 0)

    @staticmethod
    def chain(parts: Parts, rule_values: tuple) -> Parts:
        """``f(a + b e) = f(a) + f'(a) b e``."""
        _, b = parts
        f, df, _ = rule_values
        return f, df * b


class HyperDual(ForwardNumber):
    """An array of hyper-dual numbers ``real + eps1 e1 + eps2 e2 + eps12 e1e2``.

    Parameters
    ----------
    real : array_like, shape S
        The real (primal) part. Integers are converted to float64.
    eps1, eps2, eps12 : array_like, shape S or ``(P, *S)``, or scalar
        The ε-parts. A leading axis of length P holds P direction pairs; without it P = 1.

    Examples
    --------
    >>> x = HyperDual(1.5, 1.0, 1.0)          # x + e1 + e2: derivatives with respect to x
    >>> y = np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)
    >>> float(y.real), y.eps1.item(), y.eps12.item()   # f, f', f''
    """

    PART_NAMES = ("real", "eps1", "eps2", "eps12")
    LEAD = (0, 1, 1, 1)

    def __init__(
        self, real: ArrayLike, eps1: ArrayLike = 0.0, eps2: ArrayLike = 0.0, eps12: ArrayLike = 0.0
    ):
        super().__init__(real, eps1, eps2, eps12)

    @staticmethod
    def product(op: BilinearOp, x: Parts, y: Parts) -> Parts:
        """The product rule for a bilinear ``op`` (``*``, ``@``, einsum) on the parts."""
        a, b, c, d = x
        p, q, r, s = y
        return (
            op(a, 0, p, 0),
            op(a, 0, q, 1) + op(b, 1, p, 0),
            op(a, 0, r, 1) + op(c, 1, p, 0),
            op(a, 0, s, 1) + op(b, 1, r, 1) + op(c, 1, q, 1) + op(d, 1, p, 0),
        )

    @staticmethod
    def chain(parts: Parts, rule_values: tuple) -> Parts:
        """The chain rule ``f(a + b e1 + c e2 + d e1e2)
        = f(a) + f'(a)b e1 + f'(a)c e2 + (f'(a)d + f''(a)bc) e1e2``."""
        _, b, c, d = parts
        f, df, d2f = rule_values
        return f, df * b, df * c, df * d if d2f is None else df * d + d2f * b * c


def power(x: Operand, n: Operand) -> MultiPartArray:
    """``x ** n``: real exponent by the power rule; a number as exponent by
    ``_number_exponent``."""
    if isinstance(n, MultiPartArray):
        return _number_exponent(x, n)
    x.check_operand(n)
    if not isinstance(n, (int, float)):
        n = x.xp.asarray(n)
        if n.ndim > x.ndim:
            x = x.broadcast_to(np.broadcast_shapes(x.shape, n.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        return x.apply(lambda xp_, a: power_rule(xp_, a, n))


def _number_exponent(x, n):
    """``x ** n`` for a number ``n``: ``x ** p · exp(δ log x)`` with ``p = n.real`` (plain)
    and ``δ = n - p`` (the exponent's ε-parts; real part 0).

    ``x ** p`` is the power rule, so a negative base with an integer exponent and
    ``0 ** 0 = 1`` keep their values (``exp(n log x)`` would give NaN). ``exp(δ log x)`` is 1
    plus ε-terms, each with a factor of ``δ``'s ε-parts: where those are zero (a pair along
    which the exponent does not vary) the terms are set to 0 explicitly, whatever ``log x``
    is; where they are not, a negative base gives NaN (the derivative with respect to the
    exponent is not real) and a zero base IEEE infinities.
    """
    cls, xp = type(n), array_module(x, n)
    if not isinstance(x, MultiPartArray):
        cls.check_operand(x)
        x = xp.asarray(
            x,
            dtype=n.dtype
            if isinstance(x, (int, float))
            else xp.result_type(xp.asarray(x).dtype, n.dtype),
        )
    p = n.real
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.log(x) if isinstance(x, MultiPartArray) else xp.log(x)
        t = (n - p) * log_x
        parts = [xp.zeros_like(t.parts[0])] + (
            _vanishing_jet_terms(n, t) if n.STRUCTURAL_ZEROS else _vanishing_pair_terms(n, t)
        )
        growth = np.exp(t.from_parts(parts))
        return (power(x, p) if isinstance(x, MultiPartArray) else xp.power(x, p)) * growth


def _vanishing_pair_terms(n, t):
    """The ε-parts of ``t = δ log x`` with 0 where all of ``n``'s ε-parts are 0 (a pair along
    which the exponent does not vary), for the types whose ε-parts share one pair axis."""
    xp = t.xp
    constant = functools.reduce(xp.logical_and, (e == 0 for e in n.parts[1:]))
    parts = []
    for part, lead in zip(t.parts[1:], t.LEAD[1:]):
        mask = constant.reshape(
            constant.shape[:lead] + (1,) * (t.ndim - n.ndim) + constant.shape[lead:]
        )
        parts.append(xp.where(mask, xp.zeros((), part.dtype), part))
    return parts


def _vanishing_jet_terms(n, t):
    """The same for a K-jet: ``t.first_k`` is 0 where ``n.first_k`` is, ``t.second_ij`` where
    ``n.second_ij``, ``n.first_i`` and ``n.first_j`` all are (a structural zero is zero)."""
    from .jet import pair_index  # here: jet.py imports this module

    xp, K = t.xp, t.K
    shape = (1,) * (t.ndim - n.ndim) + n.shape
    first_zero = (
        xp.ones((K,) + shape, dtype=bool)
        if n.first is None
        else (n.first == 0).reshape((K,) + shape)
    )
    I, J = pair_index(K, xp)
    second_zero = first_zero[I] & first_zero[J]
    if n.second is not None:
        second_zero = second_zero & (n.second == 0).reshape(second_zero.shape[:1] + shape)
    return [
        None if part is None else xp.where(mask, xp.zeros((), part.dtype), part)
        for part, mask in ((t.first, first_zero), (t.second, second_zero))
    ]


# ---------------------------------------------------------------------- public elementwise
def _rule_function(name):
    def fn(x):
        if isinstance(x, ForwardNumber):
            return x.apply(RULES[name])
        if isinstance(x, MultiPartArray):
            # Other number types (Bicomplex) register their own closed forms by name.
            impl = getattr(type(x), "ELEMENTWISE", {}).get(name)
            if impl is None:
                raise TypeError(
                    f"hyperdual.{name} supports Dual, HyperDual and real arrays, "
                    f"not {type(x).__name__}"
                )
            return impl(x)
        xp = namespace(x)
        x = xp.asarray(x)
        if x.dtype.kind == "c":
            # Complex input (the complex step): a complex number is a bicomplex one with
            # z2 = 0, and bicomplex.py has analytic, cancellation-free forms of these.
            return Bicomplex.ELEMENTWISE[name](Bicomplex(x)).z1
        return RULES[name](xp, x)[0]

    fn.__name__ = name
    fn.__doc__ = (
        f"``{name}`` on a HyperDual (by the rule table), a Bicomplex, or a plain real "
        "or complex array (its value only)."
    )
    return fn


sigmoid = _rule_function("sigmoid")
softplus = _rule_function("softplus")
relu = _rule_function("relu")


def supported_functions() -> list[str]:
    """Names of the NumPy functions and ufuncs that accept HyperDual inputs."""
    return sorted(
        set(HyperDual.supported_functions())
        | {"hyperdual.sigmoid", "hyperdual.softplus", "hyperdual.relu"}
    )


def __getattr__(name):
    """Former name: ``register_forward_type`` moved to ``dispatch.py`` (where every dispatch
    table is filled); importing it from here keeps working."""
    if name == "register_forward_type":
        from .dispatch import register_forward_type

        return register_forward_type
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
