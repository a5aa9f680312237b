"""Bicomplex numbers ``z1 + z2 i2`` on complex arrays: the multicomplex-step oracle's number type.

A bicomplex number has two imaginary units, ``i1`` and ``i2``, with ``i1² = i2² = -1`` and
``i1 i2 = i2 i1``. It is stored as two *complex* arrays ``z1, z2`` (the ordinary imaginary
unit inside them is ``i1``)::

    z = z1 + z2 i2 = a + b i1 + c i2 + d i1i2,   z1 = a + b i1,   z2 = c + d i1.

Why it is an oracle. For ``θ + h i1 v1 + h i2 v2`` with a tiny step ``h`` (``z1 = θ + i h v1``,
``z2 = h v2``), Taylor expansion of an analytic ``F`` gives

    F = F(θ) + h ∇F·v1 i1 + h ∇F·v2 i2 + h² v1ᵀ∇²F v2 i1i2 + O(h²) in the real part,

so ``v1ᵀ∇²F v2 = Im(z2 of F) / h²`` with a truncation error of relative size ``h²`` — zero
in floating point for ``h = 1e-20``. Unlike finite differences nothing is subtracted, *provided*
every elementary function is evaluated by a formula that never subtracts two nearly equal
numbers. The generic formula through the idempotent basis,
``f(z) = [f(z1 - i z2) + f(z1 + i z2)]/2 + i2 · i[f(z1 - i z2) - f(z1 + i z2)]/2``, fails
that test: its ``z2`` part is the difference of two values that agree to ``O(h)``. So every
function below has its own closed form, written with complex functions of ``z1`` and ``z2``
separately; each says why it is cancellation-free. "Cancellation-free" means: in the step
regime (``z1 ≈ a`` real, ``z2 = O(h)``) every addition or subtraction adds quantities of
the same sign or of very different size (``O(1) ± O(h²)``), never two ``O(1)`` numbers whose
difference is ``O(h)``. (Sums of *genuine* chain-rule terms may still cancel; that is the
conditioning of the derivative itself, shared by every method.)

Operations come in the same four kinds as for ``HyperDual``:

* linear (add, reshape, indexing, sum, concatenate, where, pad, windows, ...): inherited
  from ``multipart.MultiPartArray``, acting on ``z1`` and ``z2`` alike;
* bilinear (``*``, ``@``, ``einsum``, ``dot``): ``(x1 + x2 i2)(y1 + y2 i2) =
  (x1 y1 - x2 y2) + (x1 y2 + x2 y1) i2`` (``Bicomplex.product``);
* zero-derivative (comparisons, argmax, max/min selection, sign): from ``.real = z1.real``;
* nonlinear elementwise: one closed form per function (``FUNCTIONS``); piecewise-linear ones
  (relu, abs, maximum) select by the sign of the real part, with the kinks of ``rules.py``.

Shapes: ``z1`` and ``z2`` both have the number's shape (no leading axes).
"""

from __future__ import annotations

from types import ModuleType
from typing import Self

import numpy as np

from .aliases import Array, ArrayLike, BilinearOp, DTypeLike, Operand, Parts
from .backend import namespace
from .bilinear import AlgebraArray
from .multipart import MultiPartArray, array_module
from .numpy_functions import as_multipart, where
from .rules import _TWO_OVER_SQRT_PI, sigmoid_pair, special_functions


def _complex_dtype(dtype):
    """The complex dtype holding ``dtype``'s values: float32 -> complex64, else complex128."""
    return np.result_type(np.dtype(dtype), np.complex64)


class Bicomplex(AlgebraArray):
    """An array of bicomplex numbers ``z1 + z2 i2`` (``z1, z2`` complex, unit ``i1`` inside).

    Parameters
    ----------
    z1 : array_like, shape S
        The ``1`` and ``i1`` components (``a + b i1``). Real input is made complex.
    z2 : array_like, shape S (or broadcastable to it), default 0
        The ``i2`` and ``i1i2`` components (``c + d i1``).

    float32 input gives complex64 parts, everything else complex128.

    Examples
    --------
    The bicomplex step at ``x = 1.5`` gives ``f``, ``f'`` and ``f''``:

    >>> h = 1e-20
    >>> x = Bicomplex(1.5 + 1j * h, h)             # x + h i1 + h i2
    >>> y = np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)
    >>> y.real, y.imag1 / h, y.imag12 / h**2       # f, f', f''
    """

    PART_NAMES = ("z1", "z2")
    LEAD = (0, 0)
    PART_KINDS = "c"
    ELEMENTWISE: dict = {}  # name -> closed form (``FUNCTIONS``), filled in dispatch.py

    def __init__(self, z1: ArrayLike, z2: ArrayLike = 0.0):
        xp = namespace(z1, z2)
        # Python scalars keep their weak dtype: Bicomplex(float32 array) is complex64.
        z1, z2 = (z if isinstance(z, (int, float, complex)) else xp.asarray(z) for z in (z1, z2))
        dtype = _complex_dtype(xp.result_type(z1, z2))
        z1, z2 = xp.asarray(z1), xp.asarray(z2)
        shape = np.broadcast_shapes(z1.shape, z2.shape)
        z1, z2 = z1.astype(dtype, copy=False), z2.astype(dtype, copy=False)
        self.z1 = z1 if z1.shape == shape else xp.broadcast_to(z1, shape)
        self.z2 = z2 if z2.shape == shape else xp.broadcast_to(z2, shape)

    @classmethod
    def from_components(
        cls, a: ArrayLike, b: ArrayLike = 0.0, c: ArrayLike = 0.0, d: ArrayLike = 0.0
    ) -> Self:
        """``a + b i1 + c i2 + d i1i2`` from four real arrays (broadcast together)."""
        xp = namespace(a, b, c, d)
        a, b, c, d = (p if isinstance(p, (int, float)) else xp.asarray(p) for p in (a, b, c, d))
        dtype = _complex_dtype(xp.result_type(a, b, c, d))
        return cls(xp.asarray(a).astype(dtype) + 1j * b, xp.asarray(c).astype(dtype) + 1j * d)

    @classmethod
    def constant(cls, value: ArrayLike, xp: ModuleType | None = None) -> Self:
        """Lift a real or complex array: ``z1 = value`` (made complex), ``z2 = 0``."""
        number = super().constant(value, xp)
        return cls.from_parts(
            (number.z1.astype(cls._part_dtype(number.z1.dtype), copy=False), number.z2)
        )

    @staticmethod
    def _part_dtype(dtype):
        return _complex_dtype(dtype)

    @staticmethod
    def product(op: BilinearOp, x: Parts, y: Parts) -> Parts:
        """The bicomplex multiplication table for a bilinear ``op`` on complex arrays.

        ``op(x1 + x2 i2, y1 + y2 i2) = (op(x1, y1) - op(x2, y2)) + (op(x1, y2) + op(x2, y1)) i2``
        (from ``i2² = -1``). In the step regime ``op(x2, y2) = O(h²)`` only shifts the ``O(1)``
        first term. (``op`` takes ``(p, lead_p, q, lead_q)``; Bicomplex parts have no
        leading axes.)
        """
        x1, x2 = x
        y1, y2 = y
        return (op(x1, 0, y1, 0) - op(x2, 0, y2, 0), op(x1, 0, y2, 0) + op(x2, 0, y1, 0))

    # ------------------------------------------------------------------ the four components
    @property
    def real(self) -> Array:
        """``a``, the real (primal) value: used by comparisons, max/min, relu, abs."""
        return self.z1.real

    @property
    def imag1(self) -> Array:
        """``b``, the ``i1`` component (``h ∇F·v1`` after a bicomplex step)."""
        return self.z1.imag

    @property
    def imag2(self) -> Array:
        """``c``, the ``i2`` component (``h ∇F·v2`` after a bicomplex step)."""
        return self.z2.real

    @property
    def imag12(self) -> Array:
        """``d``, the ``i1i2`` component (``h² v1ᵀ∇²F v2`` after a bicomplex step)."""
        return self.z2.imag

    def astype(self, dtype: DTypeLike) -> Self:
        """Cast the parts; a real ``dtype`` means its complex counterpart (float32 -> complex64)."""
        dtype = _complex_dtype(dtype)
        return self.map_parts(lambda p, lead: p.astype(dtype))


# ---------------------------------------------------------------------- small helpers
def _split(x):
    """``(xp, z1, z2)`` of a Bicomplex."""
    return x.xp, x.z1, x.z2


def _new(z1, z2):
    return Bicomplex.from_parts((z1, z2))


def _plain(value, xp):
    """A plain operand as an array of ``xp``; Python scalars stay scalars (weak dtypes)."""
    if isinstance(value, (int, float, complex)):
        return value
    return xp.asarray(value)


def _log1p_complex(u):
    """``log(1 + u)`` for complex ``u``, accurate also for tiny ``|u|``.

    ``numpy.log1p`` on complex input takes ``log|1 + u|`` and so loses ``Re u`` when
    ``|u| ≪ 1``. Here ``|1 + u|² = 1 + s`` with ``s = x(2 + x) + y²`` (``u = x + i y``),
    and ``log1p(s)`` keeps it; far from 0 (``|u| ≥ 1/2``) the plain modulus is used.
    """
    xp = namespace(u)
    x, y = u.real, u.imag
    with np.errstate(all="ignore"):
        near = 0.5 * xp.log1p(x * (2.0 + x) + y * y)
        far = xp.log(xp.hypot(1.0 + x, y))
        return xp.where(xp.abs(u) < 0.5, near, far) + 1j * xp.arctan2(y, 1.0 + x)


def _log_one_plus_i2(w):
    """``log(1 + i2 w) = ½ log(1 + w²) + i2 arctan(w)`` for complex ``w``; returns both parts.

    The identity is the one for ``log(1 + i w)`` with real ``w`` (modulus and argument),
    continued analytically. For small ``w`` both parts are computed without cancellation:
    ``log1p(w²)`` by ``_log1p_complex`` and ``arctan(w) ≈ w`` by NumPy's complex arctan.
    """
    xp = namespace(w)
    return 0.5 * _log1p_complex(w * w), xp.arctan(w)


# ---------------------------------------------------------------------- elementary functions
# Each takes a Bicomplex ``z = z1 + i2 z2`` and returns one. In the notes, "step regime" means
# z1 = a + O(h) i1 and z2 = O(h), the situation of the bicomplex step.


def exp(x: Bicomplex) -> Bicomplex:
    """``exp(z1 + i2 z2) = exp(z1) (cos z2 + i2 sin z2)`` (Euler's formula in ``i2``).

    Cancellation-free: only products; ``cos z2 ≈ 1`` and ``sin z2 ≈ z2`` are evaluated by
    NumPy's complex cos/sin, which do not subtract for small arguments.
    """
    xp, z1, z2 = _split(x)
    e = xp.exp(z1)
    return _new(e * xp.cos(z2), e * xp.sin(z2))


def expm1(x: Bicomplex) -> Bicomplex:
    """``exp(z) - 1 = (expm1(z1) cos z2 - 2 sin²(z2/2)) + i2 exp(z1) sin z2``.

    ``exp(z1) cos z2 - 1`` would lose everything when ``z1 ≈ 0``; it equals
    ``expm1(z1) cos z2 + (cos z2 - 1)`` and ``cos z2 - 1 = -2 sin²(z2/2)``, a product.
    NumPy's complex expm1 uses the same rewriting, so no term subtracts.
    """
    xp, z1, z2 = _split(x)
    s = xp.sin(0.5 * z2)
    return _new(xp.expm1(z1) * xp.cos(z2) - 2.0 * s * s, xp.exp(z1) * xp.sin(z2))


def log(x: Bicomplex) -> Bicomplex:
    """``log(z1 + i2 z2) = log z1 + log(1 + i2 w)``, ``w = z2 / z1``.

    ``log(1 + i2 w) = ½ log(1 + w²) + i2 arctan w`` (modulus and argument in ``i2``).
    Cancellation-free: ``w = O(h)`` in the step regime, ``log1p(w²)`` is evaluated without
    forming ``1 + w²`` and ``arctan w ≈ w``. The ``i1i2`` part is
    ``Im arctan(w) ≈ Im(z2/z1) = (Re z1 Im z2 - Im z1 Re z2)/|z1|²``: the two chain-rule terms
    ``f' d`` and ``f'' b c``, nothing else. The more obvious ``½ log(z1² + z2²)`` has the
    same parts but overflows for ``|z1| > 1e154``.
    """
    xp, z1, z2 = _split(x)
    w = z2 / z1
    w1, w2 = _log_one_plus_i2(w)
    return _new(xp.log(z1) + w1, w2)


def log1p(x: Bicomplex) -> Bicomplex:
    """``log(1 + z) = log1p(z1) + log(1 + i2 w)``, ``w = z2 / (1 + z1)``.

    As ``log``, with ``log1p`` of ``z1`` computed accurately for tiny ``z1``
    (``_log1p_complex``) so that ``log1p(a)`` keeps its relative accuracy near ``a = 0``.
    """
    z1, z2 = x.z1, x.z2
    w1, w2 = _log_one_plus_i2(z2 / (1.0 + z1))
    return _new(_log1p_complex(z1) + w1, w2)


def sqrt(x: Bicomplex) -> Bicomplex:
    """``sqrt(z1 + i2 z2) = sqrt(z1) (p + i2 q)`` with ``w = z2/z1``,
    ``p = sqrt((1 + sqrt(1 + w²))/2)``, ``q = w / (2p)``.

    This is ``sqrt(1 + i2 w)`` by the half-angle formulas, chosen so that ``(p + i2 q)² =
    p² - q² + 2pq i2 = 1 + w i2``. Cancellation-free: ``1 + sqrt(1 + w²) ≈ 2`` is a sum of
    positive numbers; the tempting ``r2 = sqrt((|z| - z1)/2)`` form would subtract.
    At ``z1 = 0`` (the kink of sqrt) no derivative exists and the step gives no meaning.
    """
    xp, z1, z2 = _split(x)
    r = xp.sqrt(z1)
    w = z2 / z1
    p = xp.sqrt(0.5 * (1.0 + xp.sqrt(1.0 + w * w)))
    return _new(r * p, r * (w / (2.0 * p)))


def square(x: Bicomplex) -> Bicomplex:
    """``z² = (z1² - z2²) + i2 2 z1 z2``; in the step regime ``z2² = O(h²)`` only shifts
    the real part by a truncation-size amount, so the subtraction loses nothing."""
    z1, z2 = x.z1, x.z2
    return _new(z1 * z1 - z2 * z2, 2.0 * z1 * z2)


def reciprocal(x: Bicomplex) -> Bicomplex:
    """``1/(z1 + i2 z2) = (1 - i2 w) / (z1 (1 + w²))``, ``w = z2/z1``.

    Multiply by the "i2-conjugate" ``z1 - i2 z2``: ``(z1 + i2 z2)(z1 - i2 z2) = z1² + z2²``,
    written ``z1² (1 + w²)`` so that nothing overflows for large ``|z1|``. Cancellation-free:
    ``1 + w² ≈ 1`` and the rest are products and quotients.
    """
    z1, z2 = x.z1, x.z2
    w = z2 / z1
    r = 1.0 / (z1 * (1.0 + w * w))
    return _new(r, -w * r)


def sin(x: Bicomplex) -> Bicomplex:
    """``sin(z1 + i2 z2) = sin z1 cosh z2 + i2 cos z1 sinh z2`` (addition theorem,
    ``cos(i2 z2) = cosh z2``, ``sin(i2 z2) = i2 sinh z2``): products only."""
    xp, z1, z2 = _split(x)
    return _new(xp.sin(z1) * xp.cosh(z2), xp.cos(z1) * xp.sinh(z2))


def cos(x: Bicomplex) -> Bicomplex:
    """``cos(z1 + i2 z2) = cos z1 cosh z2 - i2 sin z1 sinh z2``: products only."""
    xp, z1, z2 = _split(x)
    return _new(xp.cos(z1) * xp.cosh(z2), -xp.sin(z1) * xp.sinh(z2))


def sinh(x: Bicomplex) -> Bicomplex:
    """``sinh(z1 + i2 z2) = sinh z1 cos z2 + i2 cosh z1 sin z2``: products only."""
    xp, z1, z2 = _split(x)
    return _new(xp.sinh(z1) * xp.cos(z2), xp.cosh(z1) * xp.sin(z2))


def cosh(x: Bicomplex) -> Bicomplex:
    """``cosh(z1 + i2 z2) = cosh z1 cos z2 + i2 sinh z1 sin z2``: products only."""
    xp, z1, z2 = _split(x)
    return _new(xp.cosh(z1) * xp.cos(z2), xp.sinh(z1) * xp.sin(z2))


def tan(x: Bicomplex) -> Bicomplex:
    """``tan(z1 + i2 z2) = (T sech² z2 + i2 u sec² z1) / (1 + T² u²)``,
    ``T = tan z1``, ``u = tanh z2``.

    From the addition theorem ``(T + i2 u)/(1 - i2 T u)`` (``tan(i2 z2) = i2 tanh z2``),
    multiplied through by ``1 + i2 T u``. Cancellation-free: ``1 - u²`` and ``1 + T²`` are
    evaluated as ``sech²`` and ``sec²`` (no subtraction), and ``1 + T²u² ≈ 1``.
    """
    xp, z1, z2 = _split(x)
    T, u = xp.tan(z1), xp.tanh(z2)
    sec2, sech2 = 1.0 / xp.cos(z1) ** 2, 1.0 / xp.cosh(z2) ** 2
    den = 1.0 + (T * u) ** 2
    return _new(T * sech2 / den, u * sec2 / den)


def tanh(x: Bicomplex) -> Bicomplex:
    """``tanh(z1 + i2 z2) = (t sec² z2 + i2 v sech² z1) / (1 + t² v²)``,
    ``t = tanh z1``, ``v = tan z2``.

    The mirror image of ``tan`` (``tanh(i2 z2) = i2 tan z2``). ``sech z1`` is taken as
    ``2e / (1 + e²)`` with ``e = exp(-s z1)``, ``s`` the sign of ``a``: no subtraction (unlike
    ``1 - t²``, which cancels for large ``|a|``) and no overflow where ``tanh`` saturates.
    """
    xp, z1, z2 = _split(x)
    t, v = xp.tanh(z1), xp.tan(z2)
    e = xp.exp(-z1 * xp.where(z1.real < 0, -1.0, 1.0).astype(z1.real.dtype))
    sech2, sec2 = (2.0 * e / (1.0 + e * e)) ** 2, 1.0 / xp.cos(z2) ** 2
    den = 1.0 + (t * v) ** 2
    return _new(t * sec2 / den, v * sech2 / den)


def arctan(x: Bicomplex) -> Bicomplex:
    """``arctan(z1 + i2 z2) = A + i2 B`` with

    * ``B = ½ artanh(2 z2 / (1 + z1² + z2²))``,
    * ``A = arctan z1 + ½ arctan(2 z1 z2² / ((1 + z1²)² - z2² (1 - z1²)))``.

    These are the complex formulas ``arctan(x + iy) = ½ atan2(2x, 1 - x² - y²) +
    i ½ artanh(2y / (1 + x² + y²))`` continued to complex ``x = z1``, ``y = z2``, with
    ``A`` written as ``arctan z1`` plus the (second-order) correction from the subtraction
    formula for ``arctan``, which avoids the ``atan2`` quadrant choice. Cancellation-free:
    ``1 + z1² + z2²`` adds positive reals, and the correction's denominator is
    ``(1 + a²)² - O(h²)``. Valid (principal branch) while the correction is small, which
    includes every step regime.
    """
    xp, z1, z2 = _split(x)
    z1sq, z2sq = z1 * z1, z2 * z2
    one_plus = 1.0 + z1sq
    B = 0.5 * xp.arctanh(2.0 * z2 / (one_plus + z2sq))
    A = xp.arctan(z1) + 0.5 * xp.arctan(2.0 * z1 * z2sq / (one_plus**2 - z2sq * (1.0 - z1sq)))
    return _new(A, B)


def arctanh(x: Bicomplex) -> Bicomplex:
    """``artanh(z1 + i2 z2) = A + i2 B`` with

    * ``B = ½ arctan(2 z2 / ((1 - z1)(1 + z1) - z2²))``,
    * ``A = artanh z1 - ½ artanh(2 z1 z2² / ((1 - z1)²(1 + z1)² + z2² (1 + z1²)))``.

    The mirror image of ``arctan``. ``1 - z1²`` is formed as ``(1 - z1)(1 + z1)``, whose
    factors lose nothing (``1 - a`` is exact to rounding for ``a`` near 1); the only other
    subtraction is ``O(1) - O(h²)``. Domain ``|a| < 1``.
    """
    xp, z1, z2 = _split(x)
    one_minus = (1.0 - z1) * (1.0 + z1)
    z2sq = z2 * z2
    B = 0.5 * xp.arctan(2.0 * z2 / (one_minus - z2sq))
    A = xp.arctanh(z1) - 0.5 * xp.arctanh(2.0 * z1 * z2sq / (one_minus**2 + z2sq * (1.0 + z1 * z1)))
    return _new(A, B)


def arcsin(x: Bicomplex) -> Bicomplex:
    """``arcsin z = arctan(z / sqrt((1 - z)(1 + z)))`` for ``|a| < 1``.

    A composition of cancellation-free steps: ``1 - z`` and ``1 + z`` subtract only ``a``
    from 1 (the derivative parts of ``1 ± z`` are those of ``z``), then sqrt, a quotient and
    ``arctan``. It keeps ``arcsin a ≈ a`` accurate for tiny ``a``.
    """
    return arctan(x / sqrt((1.0 - x) * (1.0 + x)))


def arccos(x: Bicomplex) -> Bicomplex:
    """``arccos z = 2 arctan(sqrt((1 - z) / (1 + z)))`` for ``-1 < a ≤ 1``.

    Cancellation-free like ``arcsin``; unlike ``π/2 - arcsin z`` it keeps the value
    ``arccos a`` accurate near ``a = 1``.
    """
    return 2.0 * arctan(sqrt((1.0 - x) / (1.0 + x)))


def arcsinh(x: Bicomplex) -> Bicomplex:
    """``arcsinh z = s log1p(y + y² / (1 + sqrt(1 + y²)))`` with ``y = s z``, ``s = ±1`` the
    sign of the real part (``+1`` at 0).

    ``log(y + sqrt(y² + 1))`` rewritten with ``sqrt(y² + 1) - 1 = y² / (1 + sqrt(y² + 1))``:
    for ``Re y ≥ 0`` every sum adds numbers with positive real parts; the odd symmetry
    ``arcsinh(-z) = -arcsinh z`` covers ``a < 0``.
    """
    xp = x.xp
    s = xp.where(x.real < 0, -1.0, 1.0).astype(x.real.dtype)
    y = x * s
    y2 = square(y)
    return log1p(y + y2 / (1.0 + sqrt(1.0 + y2))) * s


def sigmoid(x: Bicomplex) -> Bicomplex:
    """``sigmoid z = 1/(1 + exp(-z))`` for ``a ≥ 0`` and ``exp(z)/(1 + exp(z))`` for ``a < 0``:
    ``rules.sigmoid_pair``, the package's one sigmoid, on bicomplex numbers.

    Both branches use ``e = exp(-|z|)`` (real part in (0, 1]): no overflow, and ``1 + e``
    adds positive reals, so the composition of ``exp``, ``+`` and ``reciprocal`` is
    cancellation-free. The branch is chosen by the sign of the real part.
    """
    return sigmoid_pair(x)[0]


def softplus(x: Bicomplex) -> Bicomplex:
    """``softplus z = log(1 + exp z) = relu(z) + log1p(exp(-|z|))``: overflow-free and
    cancellation-free (``log1p`` of a number with real part in (0, 1])."""
    negative_abs = where(x.real > 0, -x, x)
    return relu(x) + log1p(exp(negative_abs))


def relu(x: Bicomplex) -> Bicomplex:
    """``max(z, 0)`` selected by the real part: derivative parts 0 at ``a = 0`` (as in
    ``rules.py``)."""
    return where(x.real > 0, x, 0.0)


def absolute(x: Bicomplex) -> Bicomplex:
    """``|z| = sign(a) z``: derivative parts ``sign(a)``, 0 at ``a = 0`` (as ``rules.py``).

    Not the complex modulus: that would destroy the step's imaginary parts.
    """
    return x * x.xp.sign(x.real)


# ---------------------------------------------------------------------- functions without an
# addition theorem (erf): the i2 direction as an average of the derivative along a segment
_GAUSS_NODES = 16
"""Gauss-Legendre nodes on [0, 1] for the segment averages below."""


def _segment_form(x, f, df, d2f):
    """``f(z1 + i2 z2)`` for a real-analytic ``f``, given ``f``, ``f'``, ``f''`` on complex arrays.

    Through the idempotent basis, ``f(z) = [f(z1 - i z2) + f(z1 + i z2)]/2 + i2 · i[f(z1 - i z2)
    - f(z1 + i z2)]/2``; each bracket is rewritten as an integral along the segment
    ``z1 + i s z2``, ``s ∈ [-1, 1]``, so that nothing is subtracted:

    * ``i2`` part: ``z2 ∫₀¹ g₁(s) ds``, the step times the mean of ``f'`` on the segment;
    * ``1`` part: ``f(z1) - z2² ∫₀¹ (1 - s) g₂(s) ds`` (Taylor's remainder of the even part),

    with ``g_k(s) = [f⁽ᵏ⁾(z1 + i s z2) + f⁽ᵏ⁾(z1 - i s z2)] / 2``. Cancellation-free: in the step
    regime ``g_k ≈ f⁽ᵏ⁾(z1)`` at every node, so the quadrature adds numbers of one sign, and the
    ``1`` part is ``f(z1)`` plus an ``O(h²)`` product. The integrands are entire in ``s``;
    ``_GAUSS_NODES``-point Gauss-Legendre is exact to rounding for ``|z2|`` small against the
    scale on which ``f'`` varies (every step regime; ``exp`` checked against Euler's formula
    in the tests).
    """
    xp, z1, z2 = _split(x)
    nodes, weights = np.polynomial.legendre.leggauss(_GAUSS_NODES)
    mean1, rem2 = 0.0, 0.0
    for node, weight in zip(nodes.tolist(), weights.tolist()):  # Python floats: keep float32
        s, w = 0.5 * (node + 1.0), 0.5 * weight  # mapped to [0, 1]
        up, down = z1 + 1j * s * z2, z1 - 1j * s * z2
        mean1 = mean1 + w * 0.5 * (df(up) + df(down))
        rem2 = rem2 + w * (1.0 - s) * 0.5 * (d2f(up) + d2f(down))
    return _new(f(z1) - z2 * z2 * rem2, z2 * mean1)


def erf(x: Bicomplex) -> Bicomplex:
    """``erf(z1 + i2 z2)`` by ``_segment_form`` with ``erf' = (2/√π) exp(-ζ²)`` and
    ``erf'' = -2ζ erf'`` (complex ``erf`` of ``z1`` from ``scipy.special``, accurate also
    for tiny imaginary parts)."""
    special = special_functions(x.xp)

    def d1(zeta):
        return _TWO_OVER_SQRT_PI * x.xp.exp(-zeta * zeta)

    return _segment_form(x, special.erf, d1, lambda zeta: -2.0 * zeta * d1(zeta))


FUNCTIONS = {
    "exp": exp,
    "expm1": expm1,
    "log": log,
    "log1p": log1p,
    "sqrt": sqrt,
    "square": square,
    "reciprocal": reciprocal,
    "sin": sin,
    "cos": cos,
    "tan": tan,
    "sinh": sinh,
    "cosh": cosh,
    "tanh": tanh,
    "arctan": arctan,
    "arctanh": arctanh,
    "arcsin": arcsin,
    "arccos": arccos,
    "arcsinh": arcsinh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "abs": absolute,
    "erf": erf,
}
"""name -> function of a Bicomplex; the same names as ``rules.RULES``."""


# ---------------------------------------------------------------------- powers
_MAX_INTEGER_POWER = 1 << 16


def power(x: Bicomplex, n: Operand) -> Bicomplex:
    """``x ** n``.

    * integer-valued ``n`` (``2``, ``3.0``, ``-1``, integer arrays): exact repeated
      multiplication by binary exponentiation, so ``x**2`` *is* ``x*x`` and ``x**3`` is
      ``x*(x*x)`` (negative ``n``: the reciprocal of ``x**|n|``; ``x**0 = 1`` with zero
      derivative parts). Correct for negative bases too.
    * other real ``n``: ``exp(n log x)``, a composition of cancellation-free functions
      (real part of ``x`` must be positive, as for real non-integer powers).
    * Bicomplex exponent: ``exp(n log x)``.
    """
    if isinstance(n, MultiPartArray):
        if not isinstance(n, Bicomplex):
            raise TypeError(f"cannot raise to a {type(n).__name__} power")
        base = as_multipart(Bicomplex, x, array_module(x, n), n.dtype)
        return exp(n * log(base))
    xp = x.xp
    n_arr = xp.asarray(n)
    integral = bool(xp.all(n_arr == xp.round(n_arr))) if n_arr.dtype.kind in "fc" else True
    small = integral and float(xp.max(xp.abs(n_arr))) <= _MAX_INTEGER_POWER
    if n_arr.dtype.kind in "biu" or small:
        if n_arr.ndim == 0:
            return _integer_power_scalar(x, int(n_arr.real))
        return _integer_power_array(x, n_arr.real.astype(np.int64))
    return exp(log(x) * _plain(n, xp))


def _integer_power_scalar(x, n):
    """``x ** n`` for a Python int ``n`` by binary exponentiation (square and multiply)."""
    if n == 0:
        return Bicomplex.constant(x.xp.ones(x.shape, dtype=x.real.dtype))
    result, base, m = None, x, abs(n)
    while True:
        if m & 1:
            result = base if result is None else result * base
        m >>= 1
        if not m:
            break
        base = base * base
    return reciprocal(result) if n < 0 else result


def _integer_power_array(x, n):
    """``x ** n`` for an integer array ``n``: binary exponentiation with a per-element
    choice (``where``) of whether each bit's square is multiplied in."""
    xp = x.xp
    shape = np.broadcast_shapes(x.shape, n.shape)
    x = x.broadcast_to(shape)
    m = xp.broadcast_to(xp.abs(n), shape)
    result = Bicomplex.constant(xp.ones(shape, dtype=x.real.dtype))
    base = x
    for bit in range(int(xp.max(m)).bit_length() if m.size else 0):
        if bit:
            base = base * base
        result = where((m >> bit) & 1 == 1, result * base, result)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = reciprocal(result)
    return where(n < 0, inverse, result)


def supported_functions() -> list[str]:
    """Names of the NumPy functions and ufuncs that accept Bicomplex inputs."""
    return sorted(
        set(Bicomplex.supported_functions())
        | {"hyperdual.sigmoid", "hyperdual.softplus", "hyperdual.relu"}
    )
