"""Independent derivative oracles: finite differences, complex step, bicomplex step; a report.

These check the hyper-dual results by *other* means. None of them uses the ``(f, f', f'')``
rule table of ``rules.py`` or the ``HyperDual`` type: finite differences only evaluate ``f``
on real arrays, the complex step on complex arrays, and the bicomplex step on ``Bicomplex``
numbers, whose elementary functions are separate closed forms (``bicomplex.py``).

* central differences: ``(f(θ+hv) - f(θ-hv)) / 2h`` and a 4-point mixed second difference;
  limited by cancellation (~1e-10 relative for first, ~1e-8 for second derivatives);
* complex step: ``Im f(θ + i h v) / h``; first derivatives exact to rounding;
* bicomplex step: ``f(θ + h i1 v1 + h i2 v2)``, ``∇f·v1 = Im_{i1} / h`` and
  ``v1ᵀ∇²f v2 = Im_{i1 i2} / h²``; exact to rounding.

**Precision.** Every oracle works in float64 (complex128) on a float64 copy of ``theta`` and
of the directions, whatever their dtype: a float32 ``theta`` gets float64 reference values
(compare them with the float32 row of ``hyperdual.testing.TOLERANCES``).

**What f must accept.** Finite differences call ``f`` on real float64 arrays of shape (D,);
the complex step on complex128 arrays; the bicomplex step on ``Bicomplex`` arrays. ``f``
must stay analytic on those: write ``relu`` as ``hyperdual.relu``, ``x * (x.real > 0)`` or
``np.maximum``; ``np.abs`` of a plain complex array is the modulus, which destroys the
complex step's imaginary part (``compare`` reports that as a disagreement).

**Batched evaluation.** With ``batched=True``, ``f`` maps an array of shape (P, D) to shape
(P,) (rows independent) and the complex-step and bicomplex oracles need a single call of
``f`` for all their directions
(e.g. all ``D(D+1)/2`` Hessian pairs). By default ``f`` is called once per direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .aliases import Array, ArrayLike, DTypeLike, Objective
from .backend import namespace, to_numpy
from .bicomplex import Bicomplex
from .inputs import as_directions, as_parameters
from .multipart import MultiPartArray
from .testing import relative_error, tolerance

CS_STEP = 1e-30
"""Default complex step. Nothing is subtracted, so any tiny h works; the truncation error
``h² |f'''| / 6`` vanishes in float64 for h ≤ 1e-20, and ``h |v|`` must stay far above the
underflow threshold 1e-308."""

BICOMPLEX_STEP = 1e-20
"""Default bicomplex step ``h`` (per unit of ``max|v|``). ``h²`` = 1e-40 must neither make the
truncation error (relative ``O(h²)``) visible, which needs ``h ≲ 1e-8``, nor underflow, which
needs ``h² ≫ 1e-308``; 1e-20 leaves ~260 orders of magnitude of headroom for the tiny
intermediate products (``h⁴`` terms) and for small second derivatives."""


def _pair_up(v1, v2):
    """Broadcast two (P, D) direction arrays to a common number of rows."""
    P1, P2 = v1.shape[0], v2.shape[0]
    if P1 != P2 and 1 not in (P1, P2):
        raise ValueError(f"v1 and v2 hold different numbers of directions: {P1} and {P2}")
    xp = namespace(v1, v2)
    P = max(P1, P2)
    return xp.broadcast_to(v1, (P, v1.shape[1])), xp.broadcast_to(v2, (P, v2.shape[1]))


def _scale(v):
    """``max|v|`` per row (shape (P,)), 1 for a zero row (its derivatives are 0 anyway)."""
    xp = namespace(v)
    norm = xp.max(xp.abs(v), axis=1)
    return xp.where(norm > 0, norm, 1.0)


def _squeeze(single, *arrays):
    return tuple(a[0] for a in arrays) if single else arrays


# ---------------------------------------------------------------------- calling f
def _call_rows(f, X, batched):
    """``f`` on every row of ``X`` (shape (P, D)); returns an array of shape ``(P, *out)``.

    ``X`` is a real/complex array or a Bicomplex; the result has the same kind. With
    ``batched`` one call ``f(X)`` must return shape ``(P, *out)``.
    """
    P = X.shape[0]
    if batched:
        y = f(X)
        if getattr(y, "shape", ())[:1] != (P,):
            raise ValueError(
                f"batched f must map shape (P, D) = {X.shape} to (P, ...); "
                f"it returned shape {getattr(y, 'shape', ())}"
            )
        return y
    rows = [f(X[p]) for p in range(P)]
    if any(isinstance(r, MultiPartArray) for r in rows):
        xp = X.xp
        rows = [r if isinstance(r, Bicomplex) else Bicomplex.constant(xp.asarray(r)) for r in rows]
        return Bicomplex.from_parts(
            tuple(
                xp.stack([xp.broadcast_to(r.parts[k], rows[0].shape) for r in rows])
                for k in range(2)
            )
        )
    xp = namespace(X)
    return xp.stack([xp.asarray(r) for r in rows])


def _scalar_rows(y, P, what):
    """Check that ``f`` returned one scalar per row; reshape (P, 1) to (P,)."""
    if y.size != P:
        raise ValueError(
            f"{what} needs a scalar-valued f; it returned shape {y.shape[1:]} per evaluation"
        )
    return y.reshape(P)


# ---------------------------------------------------------------------- finite differences
def default_fd_step(theta: Array, order: int, dtype: DTypeLike = np.float64) -> Array:
    """Central-difference step per coordinate: ``eps^(1/3)`` (first derivatives) or
    ``eps^(1/4)`` (second derivatives) times ``max(1, |θ_i|)``.

    These balance truncation (``O(h²)``) against rounding (``eps/h`` resp. ``eps/h²``) for
    a function of unit scale. The oracles evaluate in float64, so ``dtype`` is float64 there.

    Parameters
    ----------
    theta : array, shape (D,)
    order : 1 or 2
    """
    xp = namespace(theta)
    eps = float(np.finfo(dtype).eps)
    base = eps ** (1.0 / 3.0) if order == 1 else eps**0.25
    return base * xp.maximum(1.0, xp.abs(xp.asarray(theta, dtype=np.float64)))


def _exact_step(theta, step):
    """Round the step so that ``θ + h`` is exact: ``h = (θ + h) - θ`` (a classic FD trick;
    the difference quotient then divides by the step actually taken)."""
    return (theta + step) - theta


def _f_real(f, x):
    y = f(x)
    if isinstance(y, MultiPartArray):
        raise TypeError(f"f returned a {type(y).__name__} for a real input")
    return namespace(y).asarray(y)


def fd_gradient(f: Objective, theta: ArrayLike, h: float | ArrayLike | None = None) -> Array:
    """∇f(θ) by central differences, one coordinate at a time (2D evaluations).

    Parameters
    ----------
    f : callable, (D,) -> scalar, evaluated on float64 arrays
    theta : array, shape (D,) (any real dtype; computed on a float64 copy)
    h : float or array of shape (D,), optional
        Step per coordinate; default ``default_fd_step(theta, 1)`` (``~6e-6 max(1, |θ_i|)``).

    Returns
    -------
    array, shape (D,), float64. Accuracy ~1e-10 relative for smooth f of unit scale.
    """
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    D = theta.shape[0]
    steps = (
        default_fd_step(theta, 1)
        if h is None
        else xp.broadcast_to(xp.asarray(h, dtype=np.float64), (D,))
    )
    steps = _exact_step(theta, steps)
    g = xp.empty(D)
    for i in range(D):
        e = xp.zeros(D)
        e[i] = steps[i]
        g[i] = (_f_real(f, theta + e) - _f_real(f, theta - e)).reshape(()) / (2.0 * steps[i])
    return g


def _mixed_difference(f, theta, u, w):
    """The 4-point central second difference ``f(θ+u+w) - f(θ+u-w) - f(θ-u+w) + f(θ-u-w)``,
    which is ``4 uᵀ∇²f w + O(|u|³|w| + |u||w|³)``."""
    return (
        _f_real(f, theta + u + w)
        - _f_real(f, theta + u - w)
        - _f_real(f, theta - u + w)
        + _f_real(f, theta - u - w)
    )


def fd_hessian(f: Objective, theta: ArrayLike, h: float | ArrayLike | None = None) -> Array:
    """∇²f(θ) by 4-point central second differences (about 2D² evaluations).

    ``H_ij ≈ [f(θ + h_i e_i + h_j e_j) - f(θ + h_i e_i - h_j e_j) - f(θ - h_i e_i + h_j e_j)
    + f(θ - h_i e_i - h_j e_j)] / (4 h_i h_j)``; on the diagonal this is the three-point
    formula with step ``2h_i``. Symmetric by construction.

    Parameters
    ----------
    f : callable, (D,) -> scalar, evaluated on float64 arrays
    theta : array, shape (D,) (computed on a float64 copy)
    h : float or array of shape (D,), optional
        Default ``default_fd_step(theta, 2)`` (``~1.2e-4 max(1, |θ_i|)``).

    Returns
    -------
    array, shape (D, D), float64. Accuracy ~1e-7 relative for smooth f of unit scale.
    """
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    D = theta.shape[0]
    steps = (
        default_fd_step(theta, 2)
        if h is None
        else xp.broadcast_to(xp.asarray(h, dtype=np.float64), (D,))
    )
    steps = _exact_step(theta, steps)
    basis = xp.diag(steps)
    H = xp.empty((D, D))
    for i in range(D):
        for j in range(i, D):
            H[i, j] = H[j, i] = _mixed_difference(f, theta, basis[i], basis[j]).reshape(()) / (
                4.0 * steps[i] * steps[j]
            )
    return H


def fd_directional(
    f: Objective,
    theta: ArrayLike,
    v1: ArrayLike,
    v2: ArrayLike | None = None,
    h: float | None = None,
) -> tuple[Array, Array]:
    """First and mixed second directional derivatives by central differences.

    ``d1 = (f(θ + t v1) - f(θ - t v1)) / 2t`` and ``d12 = [f(θ + s1 v1 + s2 v2) -
    f(θ + s1 v1 - s2 v2) - f(θ - s1 v1 + s2 v2) + f(θ - s1 v1 - s2 v2)] / (4 s1 s2)``.

    Parameters
    ----------
    f : callable, (D,) -> array (usually a scalar), evaluated on float64 arrays
    theta : array, shape (D,) (computed on a float64 copy)
    v1, v2 : arrays, shape (D,) or (P, D); ``v2=None`` means ``v2 = v1``
    h : float, optional
        The step along each direction. Default: ``eps^(1/3)`` (for ``d1``) and ``eps^(1/4)``
        (for ``d12``) times ``max(1, max|θ|) / max|v|``, so the largest coordinate moves by
        the per-coordinate step of ``default_fd_step``.

    Returns
    -------
    d1 : array, shape () or (P,) (times f's output shape), ∇f·v1
    d12 : array, same shape, v1ᵀ∇²f v2
    """
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    v1, single1 = as_directions(v1, theta, "v1")
    v2, single2 = (v1, single1) if v2 is None else as_directions(v2, theta, "v2")
    v1, v2 = _pair_up(v1, v2)
    size = float(max(1.0, float(xp.max(xp.abs(theta), initial=0.0))))
    eps = float(np.finfo(np.float64).eps)
    d1, d12 = [], []
    for p in range(v1.shape[0]):
        n1, n2 = (float(xp.max(xp.abs(v), initial=0.0)) or 1.0 for v in (v1[p], v2[p]))
        t = h if h is not None else eps ** (1 / 3) * size / n1
        s1 = h if h is not None else eps**0.25 * size / n1
        s2 = h if h is not None else eps**0.25 * size / n2
        d1.append((_f_real(f, theta + t * v1[p]) - _f_real(f, theta - t * v1[p])) / (2.0 * t))
        d12.append(_mixed_difference(f, theta, s1 * v1[p], s2 * v2[p]) / (4.0 * s1 * s2))
    return _squeeze(single1 and single2, xp.stack(d1), xp.stack(d12))


# ---------------------------------------------------------------------- complex step
def _complex_rows(f, theta, V, h, batched):
    """``Im f(θ + i h_p V[p]) / h_p`` for every row (step ``h_p = h / max|V[p]|``)."""
    xp = namespace(theta)
    steps = h / _scale(V)
    y = _call_rows(f, theta[None, :] + 1j * steps[:, None] * V, batched)
    y = xp.asarray(y)
    return (
        y.imag / steps.reshape((-1,) + (1,) * (y.ndim - 1))
        if y.dtype.kind == "c"
        else xp.zeros(y.shape)
    )


def cs_directional(
    f: Objective, theta: ArrayLike, v: ArrayLike, h: float = CS_STEP, batched: bool = False
) -> Array:
    """Directional derivative ``∇f·v = Im f(θ + i h v) / h`` by the complex step.

    No subtraction, so exact to rounding for tiny ``h``. The step taken along ``v`` is
    ``h / max|v|`` (each coordinate moves by at most ``h``).

    Parameters
    ----------
    f : callable, (D,) -> array; must accept complex128 input and be analytic in it.
        Vector-valued f are fine: e.g. ``f = gradient`` gives a Hessian-vector product.
    theta : array, shape (D,) (computed on a float64 copy)
    v : array, shape (D,) or (P, D)
    batched : bool
        ``f`` maps (P, D) to ``(P, *out)``: one call for all directions.

    Returns
    -------
    array, shape f's output (v of shape (D,)) or ``(P, *out)``, float64
    """
    theta = as_parameters(theta, np.float64)
    V, single = as_directions(v, theta, "v")
    d1 = _complex_rows(f, theta, V, h, batched)
    return d1[0] if single else d1


def cs_gradient(f: Objective, theta: ArrayLike, h: float = CS_STEP, batched: bool = False) -> Array:
    """∇f(θ), shape (D,), by the complex step along each basis vector (D evaluations,
    or one with ``batched=True``). Float64 result, exact to rounding."""
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    D = theta.shape[0]
    return _scalar_rows(_complex_rows(f, theta, xp.eye(D), h, batched), D, "cs_gradient")


# ---------------------------------------------------------------------- bicomplex step
def _bicomplex_rows(f, theta, V1, V2, h, batched):
    """``f(θ + t1 i1 V1[p] + t2 i2 V2[p])`` for every row; returns (value, d1, d12), each (P,).

    ``t_k = h / max|V_k[p]|``. ``d1 = Im_{i1} / t1`` and ``d12 = Im_{i1 i2} / (t1 t2)``.
    """
    xp = namespace(theta)
    t1, t2 = h / _scale(V1), h / _scale(V2)
    X = Bicomplex(theta[None, :] + 1j * (t1[:, None] * V1), t2[:, None] * V2 + 0j)
    y = _call_rows(f, X, batched)
    if not isinstance(y, Bicomplex):  # f does not depend on theta
        y = Bicomplex.constant(xp.asarray(y))
    P = V1.shape[0]
    y = Bicomplex.from_parts(tuple(_scalar_rows(p, P, "the bicomplex step") for p in y.parts))
    return y.real, y.imag1 / t1, y.imag12 / (t1 * t2)


def bicomplex_directional(
    f: Objective,
    theta: ArrayLike,
    v1: ArrayLike,
    v2: ArrayLike | None = None,
    h: float = BICOMPLEX_STEP,
    batched: bool = False,
) -> tuple[Array, Array, Array]:
    """Value, ``∇f·v1`` and ``v1ᵀ∇²f v2`` from one bicomplex evaluation per pair.

    ``f(θ + t1 i1 v1 + t2 i2 v2) = f(θ) + t1 ∇f·v1 i1 + t2 ∇f·v2 i2 + t1 t2 v1ᵀ∇²f v2 i1i2
    + O(t²)``, with ``t_k = h / max|v_k|``. Exact to rounding when every function in ``f`` is
    evaluated cancellation-free (``Bicomplex`` does that); see ``BICOMPLEX_STEP`` for ``h``.

    Parameters
    ----------
    f : callable, (D,) -> scalar, written with NumPy operations ``Bicomplex`` supports
    theta : array, shape (D,) (computed on a float64 copy)
    v1, v2 : arrays, shape (D,) or (P, D); ``v2=None`` means ``v2 = v1``
    batched : bool
        ``f`` maps (P, D) to (P,): one call for all pairs.

    Returns
    -------
    value : array, shape () or (P,), f(θ) (the same for every pair)
    d1 : array, shape () or (P,), ∇f·v1
    d12 : array, shape () or (P,), v1ᵀ∇²f v2
    """
    theta = as_parameters(theta, np.float64)
    v1, single1 = as_directions(v1, theta, "v1")
    v2, single2 = (v1, single1) if v2 is None else as_directions(v2, theta, "v2")
    v1, v2 = _pair_up(v1, v2)
    return _squeeze(single1 and single2, *_bicomplex_rows(f, theta, v1, v2, h, batched))


def bicomplex_gradient(
    f: Objective, theta: ArrayLike, h: float = BICOMPLEX_STEP, batched: bool = False
) -> Array:
    """∇f(θ), shape (D,), from the pairs ``(e_i, e_i)`` (the i1 part; D evaluations)."""
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    basis = xp.eye(theta.shape[0])
    return _bicomplex_rows(f, theta, basis, basis, h, batched)[1]


def bicomplex_hessian(
    f: Objective, theta: ArrayLike, h: float = BICOMPLEX_STEP, batched: bool = False
) -> Array:
    """∇²f(θ), shape (D, D), from the ``D(D+1)/2`` pairs ``(e_i, e_j)``, ``i ≤ j``.

    Each pair needs its own evaluation (one bicomplex number carries one mixed derivative);
    ``batched=True`` evaluates all pairs in one call of ``f`` on a (D(D+1)/2, D) array.
    """
    theta = as_parameters(theta, np.float64)
    xp = namespace(theta)
    D = theta.shape[0]
    i, j = (xp.asarray(k) for k in np.triu_indices(D))
    basis = xp.eye(D)
    d12 = _bicomplex_rows(f, theta, basis[i], basis[j], h, batched)[2]
    H = xp.zeros((D, D))
    H[i, j] = d12
    H[j, i] = d12
    return H


# ---------------------------------------------------------------------- comparison report
METHODS = ("bicomplex", "complex step", "finite diff")

_KIND = {  # (quantity, method) -> tolerance kind of hyperdual.testing
    ("value", "bicomplex"): "exact",
    ("value", "complex step"): "exact",
    ("value", "finite diff"): "exact",
    ("gradient", "bicomplex"): "exact",
    ("gradient", "complex step"): "complex_step",
    ("gradient", "finite diff"): "fd_first",
    ("d1", "bicomplex"): "exact",
    ("d1", "complex step"): "complex_step",
    ("d1", "finite diff"): "fd_first",
    ("d12", "bicomplex"): "exact",
    ("d12", "finite diff"): "fd_second",
    ("hessian", "bicomplex"): "exact",
    ("hessian", "finite diff"): "fd_second",
}

_QUANTITY_LABELS = {
    "value": "f(θ)",
    "gradient": "∇f",
    "d1": "∇f·v1",
    "d12": "v1ᵀ∇²f v2",
    "hessian": "∇²f",
}


@dataclass
class Comparison:
    """One row of a ``ComparisonReport``: hyper-dual against one oracle for one quantity."""

    quantity: str  # "value", "gradient", "d1", "d12" or "hessian"
    method: str  # one of METHODS
    max_abs: float = float("nan")  # max |hyper-dual - oracle|
    max_rel: float = float("nan")  # max_abs / max |oracle| (hyperdual.testing.relative_error)
    rtol: float = float("nan")  # hyperdual.testing.tolerance(dtype, kind)
    error: str | None = None  # why the oracle could not be evaluated

    @property
    def ok(self) -> bool:
        """Evaluated, and within the tolerance of the dtype and kind of oracle."""
        return self.error is None and self.max_rel <= self.rtol


@dataclass
class ComparisonReport:
    """Hyper-dual derivatives of ``f`` at ``θ`` against the oracles.

    ``str(report)`` is a table. ``values[quantity][method]`` holds the arrays compared
    (``method`` also ``"hyper-dual"``); ``rows`` the differences.
    """

    dtype: np.dtype
    D: int
    rows: list[Comparison] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every oracle ran and agrees within its tolerance."""
        return all(row.ok for row in self.rows)

    def row(self, quantity: str, method: str) -> Comparison:
        """The row for ``quantity`` checked against ``method``."""
        for r in self.rows:
            if (r.quantity, r.method) == (quantity, method):
                return r
        raise KeyError((quantity, method))

    def __str__(self):
        head = (
            f"hyper-dual ({self.dtype}) vs oracles (float64), D = {self.D}\n"
            f"{'quantity':<11} {'oracle':<13} {'max abs diff':>12} {'max rel diff':>12} "
            f"{'rtol':>8}  ok"
        )
        lines = [head, "-" * len(head.splitlines()[1])]
        for r in self.rows:
            label = _QUANTITY_LABELS[r.quantity]
            if r.error is not None:
                lines.append(f"{label:<11} {r.method:<13} {'n/a: ' + r.error}")
            else:
                lines.append(
                    f"{label:<11} {r.method:<13} {r.max_abs:12.3e} {r.max_rel:12.3e} "
                    f"{r.rtol:8.1e}  {'yes' if r.ok else 'NO'}"
                )
        return "\n".join(lines)


def compare(
    f: Objective,
    theta: ArrayLike,
    v1: ArrayLike | None = None,
    v2: ArrayLike | None = None,
    *,
    hessian: bool | None = None,
    batched: bool = False,
    seed: int = 0,
) -> ComparisonReport:
    """Compare hyper-dual derivatives of ``f`` at ``theta`` with every oracle.

    Quantities: the value, the gradient, ``∇f·v1``, ``v1ᵀ∇²f v2`` and (when ``D ≤ 50`` or
    ``hessian=True``) the full Hessian; oracles: bicomplex step, complex step (first
    derivatives and value only) and central differences. Hyper-dual results are computed in
    ``theta``'s dtype through ``hyperdual.directional``, ``gradient`` and ``hessian``; the
    oracles in float64 from float64 copies of the same ``theta`` and directions. An oracle
    that cannot evaluate ``f`` (e.g. ``f`` does not accept complex input) is reported with
    its error instead of numbers.

    Parameters
    ----------
    f : callable, (D,) -> scalar, written with NumPy operations
    theta : array, shape (D,)
    v1, v2 : arrays, shape (D,), optional
        Default: independent standard normal directions drawn with ``seed``.
    hessian : bool, optional
        Compare full Hessians (default: when ``D ≤ 50``; they cost ``O(D²)`` evaluations).
    batched : bool
        Passed to the complex-step and bicomplex oracles.

    Returns
    -------
    ComparisonReport
    """
    from . import derivatives  # the code path under test; the oracles above never use it

    theta = as_parameters(theta)
    xp = namespace(theta)
    D, dtype = theta.shape[0], theta.dtype
    rng = np.random.default_rng(seed)
    v1 = xp.asarray(rng.standard_normal(D) if v1 is None else v1).astype(dtype)
    v2 = xp.asarray(rng.standard_normal(D) if v2 is None else v2).astype(dtype)
    if hessian is None:
        hessian = D <= 50

    value, d1, _, d12 = derivatives.directional(f, theta, v1, v2)
    subject = {"value": value, "gradient": derivatives.gradient(f, theta), "d1": d1, "d12": d12}
    if hessian:
        subject["hessian"] = derivatives.hessian(f, theta)

    theta64 = theta.astype(np.float64)

    def bicomplex():
        val, b1, b12 = bicomplex_directional(f, theta64, v1, v2, batched=batched)
        out = {
            "value": val,
            "gradient": bicomplex_gradient(f, theta64, batched=batched),
            "d1": b1,
            "d12": b12,
        }
        if hessian:
            out["hessian"] = bicomplex_hessian(f, theta64, batched=batched)
        return out

    def complex_step():
        z = xp.asarray(f(theta64 + 0j))
        return {
            "value": z.real.reshape(z.shape),
            "gradient": cs_gradient(f, theta64, batched=batched),
            "d1": cs_directional(f, theta64, v1, batched=batched),
        }

    def finite_differences():
        fd1, fd12 = fd_directional(f, theta64, v1, v2)
        out = {
            "value": _f_real(f, theta64),
            "gradient": fd_gradient(f, theta64),
            "d1": fd1,
            "d12": fd12,
        }
        if hessian:
            out["hessian"] = fd_hessian(f, theta64)
        return out

    report = ComparisonReport(dtype=np.dtype(dtype), D=D)
    report.values = {q: {"hyper-dual": to_numpy(a)} for q, a in subject.items()}
    for method, oracle in zip(METHODS, (bicomplex, complex_step, finite_differences)):
        try:
            results, error = oracle(), None
        except Exception as exc:  # noqa: BLE001 - reported, not hidden: see Comparison.error
            results, error = {}, f"{type(exc).__name__}: {exc}"
        for quantity, actual in subject.items():
            kind = _KIND.get((quantity, method))
            if kind is None:
                continue
            row = Comparison(quantity, method, rtol=tolerance(dtype, kind), error=error)
            if error is None:
                desired = to_numpy(results[quantity])
                report.values[quantity][method] = desired
                diff = np.abs(np.asarray(to_numpy(actual), np.float64) - desired)
                row.max_abs = float(np.max(diff, initial=0.0))
                row.max_rel = relative_error(actual, desired)
            report.rows.append(row)
    return report
