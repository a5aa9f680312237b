"""The forward-mode optimizers of the FoMoH paper, and Newton's method.

All minimise f over a flat parameter vector θ (shape (D,)); η is ``lr``.

=========  ======================================================  ==============================
class      step                                                    f evaluations per step
=========  ======================================================  ==============================
FGD        θ − η (∇f·v) v,  v ~ N(0, I)                            1 jet pass, K = 1
FoMoH      θ − η (∇f·v) / abs(vᵀHv) · v                  (eq. 1)   1 jet pass, K = 1
FoMoHBP    as FoMoH with v = ∇f from back-propagation    (eq. 2)   1 backward + 1 jet pass, K = 1
FoMoHKD    θ − η Σ κ_k v_k,  H κ = g on K directions     (Alg. 1)  1 jet pass, K directions
Newton     θ − η (H + λI)⁻¹ ∇f,  the hyperplane step on the basis  jets on blocks of the D basis
=========  ======================================================  ==============================

Every pass evaluates f on the second-order K-jet ``θ + Σ_k v_k ε_k`` (``hyperdual.Jet``,
through ``hyperdual.projected_hessian``): f(θ), the K numbers ∇f·v_k and the K(K+1)/2
numbers v_iᵀ∇²f v_j in one forward evaluation.

FoMoH, FoMoH-BP, FoMoH-KD and Newton all call the one ``hyperplane_step``; they differ only
in their directions and in how negative curvature is treated (see ``optimizers.hyperplane``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hyperdual import namespace, projected_hessian
from hyperdual.aliases import Array, ArrayLike, GradientFn, Objective

from . import directions as dirs
from .base import Optimizer, StepInfo, as_parameters, value_and_gradient
from .hyperplane import CURVATURE_MODES, hyperplane_step


class FGD(Optimizer):
    """Forward gradient descent: ``θ ← θ − η (∇f·v) v`` with ``v ~ N(0, I)``.

    ``(∇f·v) v`` is an unbiased estimate of ∇f. One 1-jet pass on ``θ + v ε`` gives ``∇f·v``
    and ``vᵀHv``, reported as the curvature.
    """

    name = "fgd"

    def __init__(
        self,
        lr: float = 1e-3,
        seed: int | None = None,
        directions: str | ArrayLike | Callable = "gaussian",
    ):
        super().__init__(lr, seed)
        self.sampler = dirs.make_sampler(directions)

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        V = self._directions(self.sampler, 1, theta)
        value, dv, vHv = projected_hessian(f, theta, V)  # f(θ), (∇f·v,), ((vᵀHv,),)
        step = dv.astype(theta.dtype) @ V
        step *= -self.lr
        return self._finish(
            theta, step, value, scratch=True, curvature=np.array([float(vHv[0, 0])])
        )


class _HyperplaneOptimizer(Optimizer):
    """Shared options of the methods built on ``hyperplane_step``.

    Parameters
    ----------
    curvature : "solve" (Algorithm 1: H as measured) or "abs" (``|H|``, eqs. 1-2)
    damping : float, a fixed λ ≥ 0 added to H's diagonal on every step
    cond_max : float, optional, condition number above which jitter is added
        (default ``hyperplane.COND_MAX`` for the parameters' dtype)
    chunk_size : int, optional, direction pairs per evaluation of f
    """

    def __init__(self, lr, seed, curvature, damping=0.0, cond_max=None, chunk_size=None):
        super().__init__(lr, seed)
        if curvature not in CURVATURE_MODES:
            raise ValueError(f"curvature must be one of {CURVATURE_MODES}; got {curvature!r}")
        self.curvature, self.damping = curvature, float(damping)
        self.cond_max, self.chunk_size = cond_max, chunk_size

    def _hyperplane(self, f, theta, V):
        step, r = hyperplane_step(
            f, theta, V, self.lr, self.curvature, self.damping, self.cond_max, self.chunk_size
        )
        return self._finish(
            theta,
            step,
            r.value,
            scratch=True,
            curvature=r.eigenvalues,
            condition=r.condition,
            jitter=r.jitter,
        )


class FoMoHKD(_HyperplaneOptimizer):
    """FoMoH-KD, the K-dimensional hyperplane search (paper §5.3, Algorithms 1 and 2).

    Draws K directions, evaluates the K(K+1)/2 pairs in one vectorised hyper-dual pass,
    solves ``H κ = g`` (K×K) and steps ``θ ← θ − η Σ_k κ_k v_k``. With K = D and basis
    directions (or any D directions spanning R^D) the step is Newton's.

    Parameters
    ----------
    K : int ≥ 1, the hyperplane dimension
    lr : float, η (the paper uses 1.0 on Rosenbrock)
    seed : seed of the optimizer's ``np.random.Generator``
    directions : "gaussian" (default), "basis", a fixed (K, D) array or ``(rng, K, D) -> V``
    curvature : "solve" (default, Algorithm 1) or "abs"; see ``optimizers.hyperplane``
    """

    name = "fomoh-kd"

    def __init__(
        self,
        K: int = 2,
        lr: float = 1.0,
        seed: int | None = None,
        directions: str | ArrayLike | Callable = "gaussian",
        curvature: str = "solve",
        damping: float = 0.0,
        cond_max: float | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(lr, seed, curvature, damping, cond_max, chunk_size)
        if int(K) != K or K < 1:
            raise ValueError(f"K must be a positive integer; got {K}")
        self.K = int(K)
        self.sampler = dirs.make_sampler(directions)

    def __repr__(self):
        return f"{type(self).__name__}(K={self.K}, lr={self.lr:g}, seed={self.seed})"

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        if self.K > theta.shape[0]:
            raise ValueError(f"K = {self.K} directions exceed the dimension D = {theta.shape[0]}")
        V = self._directions(self.sampler, self.K, theta)
        return self._hyperplane(f, theta, V)


class FoMoH(FoMoHKD):
    """FoMoH, the forward-mode second-order line search (paper §5.1, eq. 1).

    ``θ ← θ − η (∇f·v) / |vᵀHv| · v`` with ``v ~ N(0, I)``: the hyperplane step with K = 1.
    The absolute value (``curvature="abs"``) is the paper's: along a direction of negative
    curvature it still steps downhill, by the distance set by ``|vᵀHv|``.
    """

    name = "fomoh"

    def __init__(
        self,
        lr: float = 1.0,
        seed: int | None = None,
        directions: str | ArrayLike | Callable = "gaussian",
        curvature: str = "abs",
        damping: float = 0.0,
        cond_max: float | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(1, lr, seed, directions, curvature, damping, cond_max, chunk_size)

    __repr__ = Optimizer.__repr__  # no K to show: it is always 1


class FoMoHBP(_HyperplaneOptimizer):
    """FoMoH-BP, the line search along the back-propagated gradient (paper §5.2, eq. 2).

    ``θ ← θ − η (∇f·∇f) / |∇fᵀH∇f| · ∇f``: one back-propagation (``grad``) for ``v = ∇f``,
    then one hyper-dual pass with the pair ``(v, v)``. Without ``grad`` the gradient comes
    from forward mode (D pairs).
    """

    name = "fomoh-bp"

    def __init__(
        self,
        lr: float = 1.0,
        seed: int | None = None,
        curvature: str = "abs",
        damping: float = 0.0,
        cond_max: float | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(lr, seed, curvature, damping, cond_max, chunk_size)

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        _, g = value_and_gradient(f, theta, grad, self.chunk_size)
        V = namespace(theta).reshape(g, (1, -1))  # v = ∇f, the one direction
        return self._hyperplane(f, theta, V)


class Newton(_HyperplaneOptimizer):
    """Newton's method ``θ ← θ − η (H + λI)⁻¹ ∇f`` from the exact forward-mode Hessian.

    The hyperplane step on the D basis directions: the D(D+1)/2 pairs ``(e_i, e_j)`` give
    the full gradient and Hessian. ``damping`` λ > 0 gives damped Newton; the jitter policy
    still guards a singular or ill-conditioned H. Deterministic (the seed is unused).
    """

    name = "newton"

    def __init__(
        self,
        lr: float = 1.0,
        seed: int | None = None,
        curvature: str = "solve",
        damping: float = 0.0,
        cond_max: float | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(lr, seed, curvature, damping, cond_max, chunk_size)

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        V = namespace(theta).eye(theta.shape[0], dtype=theta.dtype)  # basis directions e_i
        return self._hyperplane(f, theta, V)
