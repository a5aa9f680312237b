"""The table of elementwise rules: for each function, its value and first two derivatives.

Every smooth scalar function enters hyper-dual arithmetic through one chain rule
(``HyperDual.apply``)::

    f(a + b e1 + c e2 + d e1e2) = f(a) + f'(a) b e1 + f'(a) c e2 + (f'(a) d + f''(a) b c) e1e2

so a function is fully described by the triple ``(f(a), f'(a), f''(a))``. Each entry below
is ``name: rule(xp, a) -> (f, df, d2f)``, written with the array module ``xp`` of its
argument (NumPy or CuPy) and sharing subexpressions between the three values.

Conventions at kinks (chosen on purpose, tested in ``tests/test_rules.py``):

* ``relu(a) = max(a, 0)``: derivative 0 at ``a = 0`` (the subgradient PyTorch and JAX use);
* ``abs(a)``: derivative ``sign(a)``, which is 0 at ``a = 0``;
* both have second derivative 0 everywhere (the kink's delta is not represented);
* ``sqrt`` at 0: value 0, derivatives ``inf`` (no finite derivative exists); IEEE rules apply;
* ties, side by side: the elementwise ``np.maximum(x, y)`` / ``np.minimum`` *average* the
  derivative parts at ``x == y`` (½, ½), while the reductions ``np.max`` / ``np.min``
  take those of the *first* extreme entry (as ``argmax`` and max-pooling do); JAX averages
  in both (``numpy_functions.py``, "Ties, side by side");
* ``x ** n`` with a hyper-dual exponent: ``x**n.real`` times ``exp((n - n.real) log x)``, so
  a negative base with a constant exponent and ``0 ** 0 = 1`` keep their values; a
  derivative with respect to the exponent of a negative base is NaN (it is not real).

The sigmoid family is written in forms that neither overflow nor lose relative accuracy
(``sigmoid_pair``, the one sigmoid of the package), and ``1 - sigmoid(a) = sigmoid(-a)``.
"""

from __future__ import annotations

from types import ModuleType

from .aliases import Array, Operand
from .backend import namespace


def _exp(xp, a):
    e = xp.exp(a)
    return e, e, e


def _log(xp, a):
    r = 1.0 / a
    return xp.log(a), r, -r * r


def _log1p(xp, a):
    r = 1.0 / (1.0 + a)
    return xp.log1p(a), r, -r * r


def _expm1(xp, a):
    e = xp.exp(a)
    return xp.expm1(a), e, e


def _sqrt(xp, a):
    s = xp.sqrt(a)
    ds = 0.5 / s
    return s, ds, -0.5 * ds / a  # f'' = -1/4 a^(-3/2) = -(1/2) f'(a) / a


def _square(xp, a):
    return a * a, 2.0 * a, xp.full_like(a, 2.0)


def _reciprocal(xp, a):
    r = 1.0 / a
    return r, -r * r, 2.0 * r * r * r


def _sin(xp, a):
    s = xp.sin(a)
    return s, xp.cos(a), -s


def _cos(xp, a):
    c = xp.cos(a)
    return c, -xp.sin(a), -c


def _tan(xp, a):
    t = xp.tan(a)
    sec2 = 1.0 + t * t
    return t, sec2, 2.0 * t * sec2


def _sinh(xp, a):
    s = xp.sinh(a)
    return s, xp.cosh(a), s


def _cosh(xp, a):
    c = xp.cosh(a)
    return c, xp.sinh(a), c


def _tanh(xp, a):
    t = xp.tanh(a)
    e = xp.exp(-xp.abs(a))  # sech a = 2e / (1 + e²): no overflow, and
    sech2 = (2.0 * e / (1.0 + e * e)) ** 2  # unlike 1 - t*t no cancellation for |a| > 1
    return t, sech2, -2.0 * t * sech2


def _arctan(xp, a):
    r = 1.0 / (1.0 + a * a)
    return xp.arctan(a), r, -2.0 * a * r * r


def _arcsin(xp, a):
    r = 1.0 / xp.sqrt((1.0 - a) * (1.0 + a))
    return xp.arcsin(a), r, a * r * r * r


def _arccos(xp, a):
    r = 1.0 / xp.sqrt((1.0 - a) * (1.0 + a))
    return xp.arccos(a), -r, -a * r * r * r


def _arcsinh(xp, a):
    r = 1.0 / xp.sqrt(1.0 + a * a)
    return xp.arcsinh(a), r, -a * r * r * r


def _arctanh(xp, a):
    r = 1.0 / ((1.0 - a) * (1.0 + a))
    return xp.arctanh(a), r, 2.0 * a * r * r


def sigmoid_pair(x: Operand) -> tuple[Operand, Operand]:
    """``(σ(x), σ(−x))`` from one exponential, without overflow or cancellation. Any shape.

    With ``e = exp(−|x|)`` (in (0, 1]) and ``r = 1 / (1 + e)``: ``σ(|x|) = r`` and
    ``σ(−|x|) = e·r``; the branch is chosen by the sign of the real part. The textbook
    ``1 / (1 + exp(−x))`` overflows for ``x < −709`` in float64 (``x < −88`` in float32), and
    ``inf · 0`` then turns derivative parts into NaN; ``½ + ½ tanh(x/2)`` does not overflow
    but loses the relative accuracy of small values (``σ(−50) = 1.9e−22`` would come out
    as 0); computing ``σ(−x)`` as ``1 − σ(x)`` would lose it where σ saturates.

    Written with NumPy functions only, so it is the *one* sigmoid: on a plain array it gives
    the rule's values below; on any number type (``Bicomplex``, and ``layers.sigmoid`` on
    every type) it is a composition of ``exp``, ``where``, ``+`` and ``1/``, each
    cancellation-free here (``1 + e`` adds positive reals).
    """
    xp = namespace(x)  # NumPy or CuPy for plain arrays; NumPy's dispatch for numbers
    positive = x.real >= 0
    e = xp.exp(xp.where(positive, -x, x))  # exp(−|x|), in (0, 1]
    r = 1.0 / (1.0 + e)
    er = e * r
    return xp.where(positive, r, er), xp.where(positive, er, r)


def _sigmoid(xp, a):
    s, s_neg = sigmoid_pair(a)
    ds = s * s_neg  # sigmoid' = s (1 - s)
    return s, ds, ds * (s_neg - s)  # sigmoid'' = s (1 - s)(1 - 2 s)


def _softplus(xp, a):
    s, s_neg = sigmoid_pair(a)
    return xp.logaddexp(0.0, a), s, s * s_neg


def _relu(xp, a):
    positive = a > 0
    return xp.where(positive, a, 0.0).astype(a.dtype), positive.astype(a.dtype), xp.zeros_like(a)


def _abs(xp, a):
    return xp.abs(a), xp.sign(a), xp.zeros_like(a)


# f'' = 0 wherever these are differentiable: the chain rule skips the f'' term for them.
_relu.piecewise_linear = _abs.piecewise_linear = True


def special_functions(xp: ModuleType) -> ModuleType:
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy arrays."""
    if xp.__name__.split(".")[0] == "cupy":
        import cupyx.scipy.special as special
    else:
        import scipy.special as special
    return special


_TWO_OVER_SQRT_PI = 1.1283791670955126  # 2 / sqrt(pi)


def _erf(xp, a):
    d = _TWO_OVER_SQRT_PI * xp.exp(-a * a)  # erf' = (2/√π) exp(-a²)
    return special_functions(xp).erf(a), d, -2.0 * a * d  # erf'' = -2a erf'


RULES = {
    "exp": _exp,
    "log": _log,
    "log1p": _log1p,
    "expm1": _expm1,
    "sqrt": _sqrt,
    "square": _square,
    "reciprocal": _reciprocal,
    "sin": _sin,
    "cos": _cos,
    "tan": _tan,
    "sinh": _sinh,
    "cosh": _cosh,
    "tanh": _tanh,
    "arctan": _arctan,
    "arcsin": _arcsin,
    "arccos": _arccos,
    "arcsinh": _arcsinh,
    "arctanh": _arctanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "relu": _relu,
    "abs": _abs,
    "erf": _erf,
}
"""name -> rule(xp, a) returning (f(a), f'(a), f''(a))."""


UFUNC_TO_RULE = {
    "exp": "exp",
    "log": "log",
    "log1p": "log1p",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "square": "square",
    "reciprocal": "reciprocal",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arctan": "arctan",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arcsinh": "arcsinh",
    "arctanh": "arctanh",
    "absolute": "abs",
}
"""NumPy ufunc name -> table entry (``sigmoid``, ``softplus``, ``relu`` are not ufuncs)."""


def power_rule(xp: ModuleType, a: Array, n: float | Array) -> tuple[Array, Array, Array]:
    """``a**n`` for a real exponent ``n`` (scalar or array): (a^n, n a^(n-1), n(n-1) a^(n-2)).

    The terms whose coefficient is zero (n = 0, 1) are set to 0 explicitly, so that
    ``x**1`` and ``x**0`` have finite derivatives at ``a = 0``.
    """
    f = a**n
    if isinstance(n, (int, float)):  # a Python exponent: choose the terms here
        d1 = xp.zeros_like(f) if n == 0 else (n * a ** (n - 1)).astype(f.dtype)
        d2 = xp.zeros_like(f) if n in (0, 1) else (n * (n - 1) * a ** (n - 2)).astype(f.dtype)
        return f, d1, d2
    d1 = xp.where(n == 0, 0.0, n * a ** (n - 1)).astype(f.dtype)
    d2 = xp.where((n == 0) | (n == 1), 0.0, n * (n - 1) * a ** (n - 2)).astype(f.dtype)
    return f, d1, d2
