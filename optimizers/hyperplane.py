"""The hyperplane step: the one second-order step shared by FoMoH, FoMoH-BP, FoMoH-KD and Newton.

Paper, Algorithm 1. Given K directions ``v_1..v_K`` (the rows of ``V``, shape (K, D)), one
hyper-dual evaluation of ``f`` on the K(K+1)/2 pairs ``(v_i, v_j)``, ``i <= j``
(``hyperdual.projected_hessian``) gives the gradient and Hessian of
``kappa -> f(theta + sum_k kappa_k v_k)`` at 0:

    g[k]    = ∇f(θ)·v_k           shape (K,)
    H[i, j] = v_iᵀ ∇²f(θ) v_j     shape (K, K)

The K×K system ``H kappa = g`` is solved on the host with ``scipy.linalg`` and the step is

    θ ← θ − η Σ_k kappa_k v_k.

K = 1 with a Gaussian ``v`` is FoMoH, with ``v = ∇f`` FoMoH-BP; K = D with the basis is
Newton's method; anything in between is FoMoH-KD. Every method minimises.

**Negative curvature** (``curvature=``).

* ``"solve"`` (FoMoH-KD, Newton): Algorithm 1 as printed, ``kappa = H⁻¹ g`` with H as
  measured, whatever the signs of its eigenvalues. The paper does nothing else for K > 1
  (its footnote 5 only adds diagonal jitter when H "is not invertible"). On an indefinite H this
  is the stationary point of the quadratic model, which moves *uphill* along the
  negative-curvature directions, exactly as Newton's method does.
* ``"abs"`` (FoMoH eq. 1, FoMoH-BP eq. 2): the curvature's absolute value. For K = 1 this
  is ``kappa = (∇f·v) / |vᵀHv|``; for K > 1 it means ``|H| = Q |Λ| Qᵀ`` from H's eigen
  decomposition (the "saddle-free" step), an extension the paper does not state.

(The paper writes eqs. (1) and (2) with ``θ + η ...``; its released code applies them to the
log-density ``-f``, i.e. it minimises ``f`` — the sign used here and in Algorithm 1.)

**Jitter policy** (paper footnote 5: "we add jitter to the diagonal"). The matrix actually
solved is ``M = H`` ("solve") or ``|H|`` ("abs"), plus ``damping·I`` when asked. M is
*well posed* when it is finite and its condition number
``max|λ(M)| / min|λ(M)|`` is at most ``cond_max`` (default ``COND_MAX[dtype]`` =
``0.01 / eps(dtype)``: a backward-stable solve then loses at most about 1 % of kappa to
rounding). Otherwise ``λ·I`` is added with::

    λ = 1e-8 · s, then ×10 per retry (at most MAX_TRIES),
    s = trace(|M|) / K  (= trace(M)/K for positive semi-definite M; 1 if M = 0),

until ``M + λI`` is well posed and ``scipy.linalg.solve`` succeeds without a warning.
The λ used is reported (``jitter``) and the optimizers count the steps that needed it.
The policy runs whatever g is, so a singular M (condition ``inf``) always gets its jitter
and is counted — also at a stationary point, where ``g = 0`` then gives ``kappa = 0``
without a solve. A non-finite g or H gives a non-finite kappa (the caller's NaN check stops
the run; no jitter can repair it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from hyperdual import namespace, projected_hessian, to_numpy
from hyperdual.aliases import Array, ArrayLike, DTypeLike, Objective

COND_MAX = {
    np.dtype(np.float64): 0.01 / np.finfo(np.float64).eps,  # ≈ 4.5e13
    np.dtype(np.float32): 0.01 / np.finfo(np.float32).eps,
}  # ≈ 8.4e4
"""Largest condition number of the K×K matrix solved without jitter, by parameter dtype."""

JITTER_START = 1e-8
"""First jitter, relative to the scale ``s = trace(|M|)/K``."""

JITTER_GROWTH = 10.0
"""Factor by which the jitter grows per retry."""

MAX_TRIES = 30
"""Retries before giving up (λ would then be 1e21·s)."""

CURVATURE_MODES = ("solve", "abs")


@dataclass
class Solve:
    """Host-side result of solving the K×K system.

    Attributes
    ----------
    kappa : ndarray, shape (K,), float64
        The solution of ``(M + jitter·I) kappa = g``; the step is ``-η Σ kappa_k v_k``.
    eigenvalues : ndarray, shape (K,)
        Eigenvalues of the measured H (ascending): the curvature in the hyperplane.
    condition : float
        Condition number of the matrix actually solved (after jitter).
    jitter : float
        λ added to the diagonal (0.0 when none was needed).
    """

    kappa: np.ndarray
    eigenvalues: np.ndarray
    condition: float
    jitter: float


def solve_kappa(
    H: ArrayLike,
    g: ArrayLike,
    dtype: DTypeLike = np.float64,
    curvature: str = "solve",
    damping: float = 0.0,
    cond_max: float | None = None,
) -> Solve:
    """Solve ``M kappa = g`` on the host with the module's jitter policy.

    Parameters
    ----------
    H : array, shape (K, K), symmetric (NumPy or CuPy; copied to the host)
    g : array, shape (K,)
    dtype : the parameters' dtype; selects ``COND_MAX`` when ``cond_max`` is None
    curvature : "solve" (``M = H``) or "abs" (``M = |H|``)
    damping : float, a fixed λ ≥ 0 always added to M (damped Newton / Levenberg–Marquardt)

    Returns
    -------
    Solve
    """
    if curvature not in CURVATURE_MODES:
        raise ValueError(f"curvature must be one of {CURVATURE_MODES}; got {curvature!r}")
    if damping < 0:
        raise ValueError(f"damping must be >= 0; got {damping}")
    H = np.asarray(to_numpy(H), dtype=np.float64)
    g = np.asarray(to_numpy(g), dtype=np.float64)
    K = g.shape[0]
    if H.shape != (K, K):
        raise ValueError(f"H must have shape ({K}, {K}) to match g; got {H.shape}")
    if cond_max is None:
        cond_max = COND_MAX[np.dtype(dtype)]
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        nan = np.full(K, np.nan)
        return Solve(kappa=nan, eigenvalues=nan.copy(), condition=np.nan, jitter=0.0)

    eigenvalues, Q = scipy.linalg.eigh(H)
    if curvature == "abs":
        lam = np.abs(eigenvalues) + damping
        M = (Q * lam) @ Q.T  # Q |Λ| Qᵀ (+ damping I)
    else:
        lam = eigenvalues + damping
        M = H + damping * np.eye(K)
    scale = float(np.mean(np.abs(lam))) or 1.0  # trace(|M|) / K
    jitter = 0.0
    for _ in range(MAX_TRIES + 1):
        condition = _condition(lam + jitter)
        if condition <= cond_max:
            # g = 0 (a stationary point): no step, but a singular M is still reported
            kappa = np.zeros(K) if not np.any(g) else _try_solve(M + jitter * np.eye(K), g)
            if kappa is not None:
                return Solve(
                    kappa=kappa, eigenvalues=eigenvalues, condition=condition, jitter=jitter
                )
        jitter = JITTER_START * scale if jitter == 0.0 else jitter * JITTER_GROWTH
    raise np.linalg.LinAlgError(
        f"the {K}x{K} hyperplane system stayed ill-conditioned after {MAX_TRIES} jitter "
        f"retries (last λ = {jitter:.3e}, eigenvalues of H: {eigenvalues})"
    )


def _condition(lam) -> float:
    """``max|λ| / min|λ|`` (inf for a singular matrix)."""
    smallest = float(np.min(np.abs(lam)))
    return float(np.max(np.abs(lam))) / smallest if smallest > 0 else np.inf


def _try_solve(M, g):
    """``scipy.linalg.solve`` for a symmetric M; None if it fails or warns of ill-conditioning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            kappa = scipy.linalg.solve(M, g, assume_a="sym")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning):
            return None
    return kappa if np.all(np.isfinite(kappa)) else None


@dataclass
class HyperplaneResult:
    """Everything one hyperplane step measured (host scalars and small arrays).

    value : f(θ); g : (K,) ∇f·v_k; H : (K, K) v_iᵀ∇²f v_j; plus the ``Solve`` fields.
    """

    value: float
    g: np.ndarray
    H: np.ndarray
    kappa: np.ndarray
    eigenvalues: np.ndarray
    condition: float
    jitter: float


def hyperplane_step(
    f: Objective,
    theta: Array,
    V: Array,
    lr: float = 1.0,
    curvature: str = "solve",
    damping: float = 0.0,
    cond_max: float | None = None,
    chunk_size: int | None = None,
) -> tuple[Array, HyperplaneResult]:
    """The step ``-η Σ_k kappa_k v_k`` with ``H kappa = g`` on the hyperplane spanned by ``V``.

    Parameters
    ----------
    f : callable, theta (D,) -> scalar, written with NumPy operations (evaluated on hyper-duals)
    theta : array, shape (D,), NumPy or CuPy
    V : array, shape (K, D), in theta's array module (the directions v_k as rows)
    lr : float, η
    curvature : "solve" (Algorithm 1) or "abs" (eqs. 1-2); see the module docstring
    damping : float, fixed λ added to the diagonal before the jitter policy
    cond_max : float, optional, overrides ``COND_MAX[theta.dtype]``
    chunk_size : int, optional, pairs per evaluation of f (``hyperdual.projected_hessian``)

    Returns
    -------
    step : array, shape (D,), in theta's module and dtype; add it to theta
    result : HyperplaneResult
    """
    xp = namespace(theta, V)
    value, g, H = projected_hessian(f, theta, V, chunk_size=chunk_size)
    g, H = to_numpy(g), to_numpy(H)  # K and K×K numbers: solve on the host
    solved = solve_kappa(H, g, theta.dtype, curvature, damping, cond_max)
    kappa = xp.asarray(solved.kappa.astype(theta.dtype))
    step = kappa @ V  # (D,): one new vector, scaled in place
    step *= -lr
    result = HyperplaneResult(
        value=float(to_numpy(value)),
        g=g,
        H=H,
        kappa=solved.kappa,
        eigenvalues=solved.eigenvalues,
        condition=solved.condition,
        jitter=solved.jitter,
    )
    return step, result
