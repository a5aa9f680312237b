"""Newton, damped Newton, Hessian-free Newton-CG and Gauss-Newton-CG.

From Z. Wang and M. Huang, "Second-order Optimization Made Practical for Deep Learning: A
Preliminary Analysis" (equation and section numbers below are the paper's). All
minimise; η is ``lr``, λ is ``damping``.

==========================  ===================  =================================================
class                       registry name        step
==========================  ===================  =================================================
``DampedNewton``            ``damped-newton``    ``θ − η (H + λI)⁻¹ g``, the full Hessian (eq. 2)
``HessianFreeNewton``       ``hf-newton``        ``θ − η x``, ``(H + λI) x = g`` by truncated CG
``HessianFreeGaussNewton``  ``hf-gauss-newton``  ``θ − η x``, ``(G + λI) x = g``, ``G = Jᵀ H_out J``
==========================  ===================  =================================================

``damping=0`` gives plain Newton (eq. 1). The defaults (``lr=0.5``; λ = 32 for Newton and
Hessian-free Newton, λ = 4 for Gauss-Newton) are the paper's MNIST settings (§4.1, where
"λ = 0.5" for all second-order methods can only be the learning rate α).

Where the curvature comes from (see ``optimizers.curvature``):

* ``DampedNewton`` assembles H either by forward mode — ``Newton``'s hyperplane step on the D
  basis directions, D(D+1)/2 hyper-dual pairs (``hessian="forward"``) — or column by column
  by back-propagation on dual numbers, ``grad(θ + E e)`` with E a block of basis vectors on
  the pair axis, D products in all (``hessian="backprop"``; the only affordable way for a
  network). ``"auto"`` picks back-propagation when ``grad`` is given;
* ``HessianFreeNewton`` needs only products ``H v``: ``hvp=`` / ``f.hvp`` if given, else
  back-propagation of ``grad`` on dual numbers ``θ + v e``, else ``hyperdual.hvp`` (forward mode);
* ``HessianFreeGaussNewton`` needs ``G v``: ``gnvp=`` or ``f.gnvp``
  (``ModelObjective(model, X, y)`` provides it; for a plain ``f = ℓ ∘ z`` use
  ``curvature.gauss_newton_vp(z, ℓ)``).

The solve. ``DampedNewton`` uses the shared jitter policy of ``optimizers.hyperplane``
(``solve_kappa``: eigen-decomposition, condition check, jitter ``1e-8·s·10^k``) up to
``EIGH_MAX`` parameters; above that an eigen-decomposition costs minutes, so it tries a
Cholesky factorisation of ``H + λI`` and, when that is not positive definite, a symmetric
indefinite (LDLᵀ) solve — Newton's step as printed — with the same jitter schedule when LAPACK
reports the matrix singular or ill-conditioned. The CG methods never factorise: truncated CG
(``curvature.truncated_cg``) stops at negative curvature, which cannot happen with
``λ`` larger than minus the smallest eigenvalue, and never for Gauss-Newton (G ⪰ 0).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import scipy.linalg

from hyperdual import Dual, namespace, to_numpy
from hyperdual.aliases import Array, ArrayLike, DTypeLike, GradientFn, Objective

from .base import Optimizer, StepInfo, as_parameters, value_and_gradient
from .curvature import KrylovStepInfo, gnvp_operator, hvp_operator, truncated_cg
from .hyperplane import JITTER_GROWTH, JITTER_START, MAX_TRIES, solve_kappa
from .methods import Newton

__all__ = [
    "DampedNewton",
    "HessianFreeNewton",
    "HessianFreeGaussNewton",
    "hessian_by_backprop",
    "dense_newton_solve",
    "EIGH_MAX",
]

EIGH_MAX = 2000
"""Largest D for which the dense Newton solve uses the hyperplane module's eigen-based policy."""


# --------------------------------------------------------------------------- full Hessian


def hessian_by_backprop(grad: GradientFn, theta: Array, chunk_size: int = 64) -> Array:
    """The full Hessian (D, D) from D Hessian-vector products by back-propagation.

    ``grad(θ + E e)`` (dual numbers) with the rows of E = ``chunk_size`` basis vectors on the
    pair axis gives ``chunk_size`` rows of H in one forward and one backward pass (the
    primal work is shared). The result is symmetrised ``(H + Hᵀ)/2`` (exact H is symmetric;
    this removes rounding asymmetry).

    Parameters
    ----------
    grad : callable, theta -> (value, gradient), runs on dual-number θ
    theta : real array, shape (D,)

    Returns
    -------
    numpy.ndarray, shape (D, D), float64 on the host
    """
    xp = namespace(theta)
    D = theta.shape[0]
    H = np.empty((D, D))
    for start in range(0, D, int(chunk_size)):
        stop = min(start + int(chunk_size), D)
        E = xp.zeros((stop - start, D), dtype=theta.dtype)
        E[xp.arange(stop - start), xp.arange(start, stop)] = 1
        _, g = grad(Dual(theta, E))
        if not isinstance(g, Dual):
            raise TypeError(
                "grad(theta + E e) did not return a dual-number gradient; "
                "hessian='backprop' needs a gradient that runs on dual numbers"
            )
        H[start:stop] = to_numpy(g.eps)
    H += H.T
    H *= 0.5
    return H


def _solve_or_none(M, g, assume_a):
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            if assume_a == "pos":
                x = scipy.linalg.cho_solve(
                    scipy.linalg.cho_factor(M, check_finite=False), g, check_finite=False
                )
            else:
                x = scipy.linalg.solve(M, g, assume_a="sym", check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning, ValueError):
            return None
    return x if np.all(np.isfinite(x)) else None


def dense_newton_solve(
    H: Array,
    g: Array,
    damping: float = 0.0,
    dtype: DTypeLike = np.float64,
    cond_max: float | None = None,
) -> tuple[np.ndarray, float, float]:
    """Solve ``(H + λI) x = g`` on the host; returns ``(x, jitter, condition)``.

    D ≤ ``EIGH_MAX``: ``hyperplane.solve_kappa`` (the package's one jitter policy, with the
    eigenvalues and condition number). Larger D: Cholesky if ``H + λI`` is positive definite,
    else a symmetric indefinite solve; if LAPACK fails or warns (singular / ill-conditioned),
    jitter ``λ_j = JITTER_START·s``, times ``JITTER_GROWTH`` per retry (``s`` = mean
    ``|diagonal|``), as in ``optimizers.hyperplane``, each retry one indefinite
    factorisation. The condition number is not computed there (nan).
    """
    H = np.asarray(to_numpy(H), dtype=np.float64)
    g = np.asarray(to_numpy(g), dtype=np.float64)
    D = g.shape[0]
    if D <= EIGH_MAX:
        solved = solve_kappa(H, g, dtype, "solve", damping, cond_max)
        return solved.kappa, solved.jitter, solved.condition
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        return np.full(D, np.nan), 0.0, math.nan
    if not np.any(g):
        return np.zeros(D), 0.0, math.nan
    M = H.copy()
    diagonal = np.diag(M) + damping
    scale = float(np.mean(np.abs(diagonal))) or 1.0
    jitter, kinds = 0.0, ["pos", "sym"]
    for _ in range(MAX_TRIES + 1):
        M[np.diag_indices(D)] = diagonal + jitter
        for assume_a in list(kinds):
            x = _solve_or_none(M, g, assume_a)
            if x is not None:
                return x, jitter, math.nan
            if assume_a == "pos" and jitter == 0.0:
                kinds.remove("pos")  # not positive definite: a tiny jitter will not fix it
        jitter = JITTER_START * scale if jitter == 0.0 else jitter * JITTER_GROWTH
    raise np.linalg.LinAlgError(
        f"the {D}x{D} Newton system stayed singular after {MAX_TRIES} "
        f"jitter retries (last λ = {jitter:.3e})"
    )


class DampedNewton(Newton):
    """Newton's method with damping: ``θ ← θ − η (H + λI)⁻¹ ∇f`` (paper eqs. 1-2).

    ``damping=0`` is plain Newton. The Hessian comes from forward mode (``Newton``'s
    hyperplane step on the basis) or from D back-propagations on dual numbers; see the module
    docstring for the solve and its jitter.

    Parameters
    ----------
    lr : float, η (paper: 0.5)
    damping : float, λ ≥ 0 (paper: 32)
    hessian : "auto" | "forward" | "backprop"
        ``"auto"`` uses back-propagation when ``grad`` is given, else forward mode.
    chunk_size : int, basis vectors per back-propagation (``"backprop"``) or pairs per
        forward evaluation (``"forward"``)
    """

    name = "damped-newton"

    def __init__(
        self,
        lr: float = 0.5,
        damping: float = 32.0,
        hessian: str = "auto",
        seed: int | None = None,
        cond_max: float | None = None,
        chunk_size: int | None = None,
    ):
        if damping < 0:
            raise ValueError(f"damping must be >= 0; got {damping}")
        super().__init__(lr, seed, "solve", damping, cond_max, chunk_size)
        if hessian not in ("auto", "forward", "backprop"):
            raise ValueError(f"hessian must be 'auto', 'forward' or 'backprop'; got {hessian!r}")
        self.hessian = hessian

    def __repr__(self):
        return (
            f"{type(self).__name__}(lr={self.lr:g}, damping={self.damping:g}, "
            f"hessian={self.hessian!r})"
        )

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        backprop = self.hessian == "backprop" or (self.hessian == "auto" and grad is not None)
        if not backprop:
            return super().step(f, theta, grad)  # the hyperplane step on the basis
        if grad is None:
            raise ValueError("hessian='backprop' needs grad=theta -> (value, gradient)")
        value, g = value_and_gradient(f, theta, grad)
        H = hessian_by_backprop(grad, theta, self.chunk_size or 64)
        x, jitter, condition = dense_newton_solve(H, g, self.damping, theta.dtype, self.cond_max)
        step = -self.lr * namespace(theta).asarray(x.astype(theta.dtype))
        return self._finish(theta, step, value, condition=condition, jitter=jitter)


# --------------------------------------------------------------------------- Hessian-free


class _CGOptimizer(Optimizer):
    """Shared: gradient, a curvature product, ``(A + λI) x = g`` by truncated CG, ``θ − η x``."""

    def __init__(self, lr, damping, cg_maxiter, cg_tol, seed):
        super().__init__(lr, seed)
        if damping < 0:
            raise ValueError(f"damping must be >= 0; got {damping}")
        if cg_maxiter is not None and int(cg_maxiter) < 1:
            raise ValueError(f"cg_maxiter must be a positive integer; got {cg_maxiter}")
        self.damping = float(damping)
        self.cg_maxiter = None if cg_maxiter is None else int(cg_maxiter)
        self.cg_tol = cg_tol
        self.cg_iterations = 0  # total curvature products, for reports

    def __repr__(self):
        return (
            f"{type(self).__name__}(lr={self.lr:g}, damping={self.damping:g}, "
            f"cg_maxiter={self.cg_maxiter})"
        )

    def _cg_step(self, f, theta, grad, product):
        value, g = value_and_gradient(f, theta, grad)
        lam = self.damping

        def matvec(v):
            return product(v) + lam * v if lam else product(v)

        res = truncated_cg(matvec, g, maxiter=self.cg_maxiter, tol=self.cg_tol)
        self.cg_iterations += res.iterations
        curv = np.asarray(res.curvatures[:1]) if res.curvatures else None
        return self._finish(
            theta,
            -self.lr * res.x,
            value,
            curvature=curv,
            iterations=res.iterations,
            stop=res.stop,
            residual=res.residual,
        )

    def _finish(self, theta, step, loss, **info):
        extra = {k: info.pop(k) for k in ("iterations", "stop", "residual") if k in info}
        theta_new, base = super()._finish(theta, step, loss, **info)
        return theta_new, KrylovStepInfo(**vars(base), **extra)


class HessianFreeNewton(_CGOptimizer):
    """Hessian-free (truncated) Newton-CG: ``(H + λI) x = g`` by CG on products ``H v`` only.

    The paper's Algorithm 2: gradient, damping, CG-minimise the quadratic model, ``θ − η x``.
    CG stops on SciPy's forcing term (``cg_tol=None``) or ``‖r‖ ≤ cg_tol‖g‖``, after
    ``cg_maxiter`` products, or at negative curvature (see ``truncated_cg``).

    ``step(f, theta, grad=None, hvp=None)``: ``hvp`` is ``(theta, v) -> H v``; without it
    ``f.hvp``, then back-propagation of ``grad`` on dual numbers, then forward mode.
    """

    name = "hf-newton"

    def __init__(
        self,
        lr: float = 0.5,
        damping: float = 32.0,
        cg_maxiter: int | None = 10,
        cg_tol: float | None = None,
        hvp_mode: str = "auto",
        seed: int | None = None,
    ):
        super().__init__(lr, damping, cg_maxiter, cg_tol, seed)
        self.hvp_mode = hvp_mode

    def step(
        self,
        f: Objective,
        theta: ArrayLike,
        grad: GradientFn | None = None,
        hvp: Callable[[Array, Array], Array] | None = None,
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        product, _ = hvp_operator(f, theta, grad, hvp, self.hvp_mode)
        return self._cg_step(f, theta, grad, product)


class HessianFreeGaussNewton(_CGOptimizer):
    """Hessian-free Gauss-Newton: ``(Jᵀ H_out J + λI) x = g`` by CG (paper §3.4).

    ``G = Jᵀ H_out J`` is positive semi-definite for a convex output loss, so CG never meets
    negative curvature (with λ > 0 the system is positive definite).

    ``step(f, theta, grad=None, gnvp=None)``: ``gnvp`` is ``(theta, v) -> G v``, or ``f.gnvp``
    (``curvature.ModelObjective``).
    """

    name = "hf-gauss-newton"

    def __init__(
        self,
        lr: float = 0.5,
        damping: float = 4.0,
        cg_maxiter: int | None = 10,
        cg_tol: float | None = None,
        seed: int | None = None,
    ):
        super().__init__(lr, damping, cg_maxiter, cg_tol, seed)

    def step(
        self,
        f: Objective,
        theta: ArrayLike,
        grad: GradientFn | None = None,
        gnvp: Callable[[Array, Array], Array] | None = None,
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        product = gnvp_operator(f, theta, gnvp)
        return self._cg_step(f, theta, grad, product)
