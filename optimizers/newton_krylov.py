"""Complex-step stochastic Newton-Krylov (Shen et al., Algorithm 1).

From S. Shen, T. Shao, K. Zhou, C. Jiang, F. Luo and Y. Yang, "Second-order Neural Network
Training Using Complex-step Directional Derivative" (equation and line numbers below are the
paper's). Two complex-step directional derivatives ("CSDD") supply all the curvature:

* ``CSDD(w, p) = Hp = Im ∇f(w + i h p) / h`` — the back-propagated gradient run on a complex
  θ (``hyperdual.oracles.cs_directional`` on ``grad``), eq. (10);
* ``CSDD2(w, p) = pᵀHp = Im_{i1 i2} f(w + h i1 p + h i2 p) / h²`` — the loss run on a
  bicomplex θ (``hyperdual.oracles.bicomplex_directional``), eq. (11).

Both are exact to rounding (nothing is subtracted). ``derivatives="hyperdual"`` computes the
same two quantities exactly with dual and hyper-dual numbers (back-propagation on
``w + p e`` and one hyper-dual ``(p, p)`` pair) and ``derivatives="fd"`` by forward
differences with step ``fd_step`` (``(∇f(w + h p) − ∇f(w)) / h`` and ``p·`` of it) — the
supplementary comparison.

One ``step`` is one pass of the loop of Algorithm 1 over a minibatch ``B_j``:

1. **global gradient** ``g`` (line 1, 48): ``global_grad(θ)`` (keyword or ``f.global_grad``),
   recomputed only when θ has moved since the last call. See deviations for the default;
2. **pre-batch screening** (lines 4-8): the batch gradient ``g_j``; if ``g_j·g < 0`` the batch
   is skipped (θ unchanged, ``stop="skipped"``);
3. **Krylov loop** (lines 10-28): ``Δw ← Δw̃`` (warm start), ``r = −(g + H_j Δw)``,
   ``p = r``; while ``‖r‖ > rtol·‖g‖`` and fewer than ``max_krylov`` iterations:
   ``κ = pᵀH_j p`` (CSDD2); **early termination** if ``κ < 0``; the **small-curvature fix**
   ``κ ← 0.01‖p‖`` if ``0 ≤ κ < small_curvature``; ``α = ‖r‖²/κ``, ``Δw += αp``,
   ``q = H_j p`` (CSDD), ``r −= αq``, ``β = ‖r_new‖²/‖r‖²``, ``p = r + βp``;
4. **post-batch screening** (lines 29-31): if ``Δw·g > 0`` remove Δw's component along g;
5. **step sizing** (lines 33-46): the Taylor ratio
   ``η(γ) = |(f_j(w + γΔw) − f_j(w) − E_Q(γ)) / (f_j(w + γΔw) − f_j(w))|`` with
   ``E_Q(γ) = γ g_j·Δw + ½γ² ΔwᵀH_jΔw`` (eq. 13); γ = 1 is kept when η ≤ η̃; otherwise γ
   starts at ``|η̃/η|`` and is halved while η > η̃ and stretched ×1.5 while η < η̃/2, until
   ``η ∈ [η̃/2, η̃]``; after ``max_adjust`` tries γ = 1e-6 (the paper's fallback);
6. ``w ← w + lr·γ·Δw`` (lr = 1 is the paper's); ``Δw̃ ← warm_start·lr·γ·Δw`` for the next
   batch.

Deviations from the printed algorithm (each a reading of an evident misprint, or a choice the
paper leaves open):

* line 21 prints ``α = ‖r‖/κ``; conjugate gradient needs ``‖r‖²/κ`` (line 25 squares);
* line 19 prints ``0.01·‖p_j‖``; the text says ``0.01·‖p_i‖`` (the current direction);
  ``0 ≤ κ`` (not ``0 < κ``) so that an exactly flat direction gets the fix too;
* line 30 prints ``Δw ← (1 + Δw·g/(‖Δw‖‖g‖)) Δw``, a rescaling that cannot remove anything;
  the text says post-screening "removes any search components along g": we project,
  ``Δw ← Δw − (Δw·g/‖g‖²) g``;
* line 35 tests ``η > η̃/2`` before adjusting, then loops while ``η ∉ [η̃/2, η̃]``; we keep
  γ = 1 when ``η ≤ η̃`` (for ``η < η̃/2`` the full Newton step is already accurate: the printed
  test also keeps it) and use ``s = |η̃/η|`` as the first trial γ (line 36 "an initial test
  size"). The ×0.5 / ×1.5 moves can jump over an interval whose ends differ by a factor
  of 2 (η grows about like γ²), so after ``max_adjust`` trials we take the largest tried γ
  whose η was below the interval (a safe step) and fall back to the paper's γ = 1e-6 only
  when there is none (``fallbacks`` counts both). The Taylor ratio uses the minibatch loss
  f_j, its gradient g_j and H_j, so that ``E_Q`` is the quadratic model of the function
  being evaluated; the paper does not say which loss line 44 evaluates (the global loss
  would cost a pass over the data per trial);
* ``Δw̃`` (line 10) is not defined in the paper; we warm-start with the step actually taken
  on the previous batch, ``lr·γ·Δw``, times ``warm_start`` (0.95, as in Martens' Hessian-free
  optimisation; 0 = cold start). Carrying the unscaled Δw instead lets a direction that the
  step sizing shrank to γ = 1e-6 grow without bound from batch to batch (we saw ‖Δw‖ reach
  1e7 within 20 steps on a small MLP);
* the Krylov loop stops at ``‖r‖ ≤ rtol·‖g‖`` ("not small enough" is not quantified) or
  after ``max_krylov`` = 20 iterations ("seldom iterates more than 20 loops");
* **global gradient**: the paper computes the full training-set gradient after every update
  (89.8 % of its run time). Pass ``global_grad=`` over the whole training set for the paper's
  version (it is re-evaluated whenever θ has moved, i.e. after every update):
  ``hyperlab.companion_experiments`` does that with ``--global-subset all`` and by default uses
  a fixed subset of 1,024 training images (cheaper; documented there). Without
  ``global_grad``, the global gradient is estimated by an exponential moving average of past
  minibatch gradients (``global_momentum``; the first batch uses its own gradient) — cheaper
  and stale, a documented substitute.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from hyperdual import directional, namespace, to_numpy
from hyperdual.aliases import Array, ArrayLike, GradientFn, Objective
from hyperdual.oracles import BICOMPLEX_STEP, CS_STEP, bicomplex_directional, cs_directional

from .base import Optimizer, StepInfo, as_parameters, value_and_gradient
from .curvature import KrylovStepInfo, dual_backprop_hvp, host_dot

__all__ = ["ComplexStepNewtonKrylov", "csdd", "csdd2", "curvature_oracles", "DERIVATIVES"]

DERIVATIVES = ("complex", "hyperdual", "fd")


def csdd(grad: GradientFn, theta: Array, p: Array, h: float = CS_STEP) -> Array:
    """``Hp`` by the complex step on the gradient: ``Im ∇f(θ + i t p) / t`` (eq. 10).

    ``grad`` is ``theta -> (value, gradient)`` and must run on complex θ (back-propagation in
    ``layers`` does). The step along p is ``t = h / max|p|`` (``oracles.cs_directional``).
    Returns a float64 array (D,).
    """
    return cs_directional(lambda th: grad(th)[1], theta, p, h=h)


def csdd2(f: Objective, theta: Array, p: Array, h: float = BICOMPLEX_STEP) -> float:
    """``pᵀHp`` by the bicomplex step on the loss: ``Im_{i1i2} f(θ + t i1 p + t i2 p) / t²``
    (eq. 11; ``oracles.bicomplex_directional``). Returns a float."""
    return float(to_numpy(bicomplex_directional(f, theta, p, h=h)[2]))


def curvature_oracles(
    f: Objective,
    grad: GradientFn,
    derivatives: str = "complex",
    fd_step: float = 1e-6,
    cs_step: float = CS_STEP,
    bc_step: float = BICOMPLEX_STEP,
) -> tuple[Callable, Callable]:
    """The pair ``(Hp, pᵀHp)`` of callables ``(theta, p) ->`` for one kind of derivative.

    ``"complex"``: :func:`csdd`, :func:`csdd2`; ``"hyperdual"``: back-propagation on the
    dual number ``θ + p e`` and the hyper-dual pair ``(p, p)``; ``"fd"``: forward differences of the
    gradient with step ``fd_step`` (unscaled, as in the paper's supplement), ``pᵀHp = p·Hp``.
    """
    if derivatives == "complex":
        return (lambda th, p: csdd(grad, th, p, cs_step)), (lambda th, p: csdd2(f, th, p, bc_step))
    if derivatives == "hyperdual":
        return (
            (lambda th, p: dual_backprop_hvp(grad, th, p)),
            (lambda th, p: float(to_numpy(directional(f, th, p)[3]))),
        )
    if derivatives == "fd":

        def hp(th, p):
            return (grad(th + fd_step * p)[1] - grad(th)[1]) / fd_step

        return hp, (lambda th, p: host_dot(p, hp(th, p)))
    raise ValueError(f"derivatives must be one of {DERIVATIVES}; got {derivatives!r}")


class ComplexStepNewtonKrylov(Optimizer):
    """Stochastic Newton-Krylov with complex-step curvature (Shen et al., Algorithm 1).

    Parameters
    ----------
    lr : float, a factor on the sized step γΔw (1 = the paper)
    eta : float, η̃, the target Taylor ratio (paper: 0.05; "0.01 < η̃ < 0.2")
    max_krylov : int, Krylov iterations per batch (20)
    rtol : float, the loop stops when ``‖r‖ ≤ rtol·‖g‖``
    small_curvature : float, the threshold of the small-curvature fix (1e-8)
    max_adjust : int, step-size trials before the fallback γ = 1e-6
    warm_start : float in [0, 1], decay of the carried-over Δw̃
    global_momentum : float, EMA factor of the global-gradient substitute
    derivatives : "complex" (paper), "hyperdual" or "fd"; fd_step, cs_step, bc_step: steps

    Notes
    -----
    ``step(f, theta, grad=None, global_grad=None)``: ``f`` the minibatch loss (must run on
    bicomplex θ for ``"complex"``), ``grad`` its back-propagated ``(value, gradient)`` (must
    run on complex θ; required), ``global_grad`` ``theta -> (value, gradient)`` over the
    training set (or ``f.global_grad``).

    Counters: ``skipped`` (batches screened out), ``early_terminations`` (κ < 0),
    ``small_curvature_fixes``, ``fallbacks`` (γ = 1e-6), ``adjustments`` (trial steps).
    """

    name = "cs-newton-krylov"

    def __init__(
        self,
        lr: float = 1.0,
        eta: float = 0.05,
        max_krylov: int = 20,
        rtol: float = 1e-3,
        small_curvature: float = 1e-8,
        max_adjust: int = 10,
        warm_start: float = 0.95,
        global_momentum: float = 0.9,
        derivatives: str = "complex",
        fd_step: float = 1e-6,
        cs_step: float = CS_STEP,
        bc_step: float = BICOMPLEX_STEP,
        seed: int | None = None,
    ):
        super().__init__(lr, seed)
        if not eta > 0:
            raise ValueError(f"eta (the target Taylor ratio) must be positive; got {eta}")
        if int(max_krylov) < 1 or int(max_adjust) < 1:
            raise ValueError("max_krylov and max_adjust must be positive integers")
        if not 0.0 <= warm_start <= 1.0 or not 0.0 <= global_momentum < 1.0:
            raise ValueError("need 0 <= warm_start <= 1 and 0 <= global_momentum < 1")
        if derivatives not in DERIVATIVES:
            raise ValueError(f"derivatives must be one of {DERIVATIVES}; got {derivatives!r}")
        self.eta, self.max_krylov, self.rtol = float(eta), int(max_krylov), float(rtol)
        self.small_curvature, self.max_adjust = float(small_curvature), int(max_adjust)
        self.warm_start, self.global_momentum = float(warm_start), float(global_momentum)
        self.derivatives, self.fd_step = derivatives, float(fd_step)
        self.cs_step, self.bc_step = float(cs_step), float(bc_step)
        self.delta = None  # Δw̃, carried over between batches
        self.g_ema = None  # the global-gradient substitute without global_grad
        self._g_cache = None  # (θ, g) of the last global-gradient evaluation
        self.skipped = self.early_terminations = self.small_curvature_fixes = 0
        self.fallbacks = self.adjustments = 0

    def __repr__(self):
        return (
            f"{type(self).__name__}(eta={self.eta:g}, max_krylov={self.max_krylov}, "
            f"derivatives={self.derivatives!r})"
        )

    # ------------------------------------------------------------------ pieces
    def _global_gradient(self, theta, global_grad, g_batch):
        """g at θ: from ``global_grad`` (cached while θ is unchanged) or the EMA substitute."""
        if global_grad is not None:
            cached = self._g_cache
            if (
                cached is not None
                and cached[0].shape == theta.shape
                and bool(namespace(theta).array_equal(cached[0], theta))
            ):
                return cached[1]
            _, g = value_and_gradient(None, theta, global_grad)
            self._g_cache = (theta.copy(), g)
            return g
        g = g_batch if self.g_ema is None else self.g_ema
        return g

    def _update_ema(self, g_batch):
        m = self.global_momentum
        self.g_ema = g_batch.copy() if self.g_ema is None else m * self.g_ema + (1 - m) * g_batch

    def _taylor_ratio(self, f, theta, delta, gamma, f0, slope, curv):
        """η(γ) of eq. (13) with E_Q(γ) = γ·slope + ½γ²·curv."""
        with np.errstate(all="ignore"):
            f1 = float(to_numpy(f(theta + gamma * delta)))
        change = f1 - f0
        model = gamma * slope + 0.5 * gamma * gamma * curv
        if not math.isfinite(change):
            return math.inf
        if change == 0.0:
            return math.inf if model != 0.0 else 0.0
        return abs((change - model) / change)

    def _step_size(self, f, theta, delta, f0, slope, curv):
        """Lines 33-46: γ with η(γ) in [η̃/2, η̃] (γ = 1 kept when η(1) ≤ η̃)."""
        eta_t = self.eta
        gamma = 1.0
        eta = self._taylor_ratio(f, theta, delta, gamma, f0, slope, curv)
        self.adjustments += 1
        if eta <= eta_t:
            return gamma, eta
        gamma = min(1.0, abs(eta_t / eta)) if math.isfinite(eta) else 0.5
        safe = None  # largest γ tried with η ≤ η̃
        for _ in range(self.max_adjust):
            eta = self._taylor_ratio(f, theta, delta, gamma, f0, slope, curv)
            self.adjustments += 1
            if 0.5 * eta_t <= eta <= eta_t:
                return gamma, eta
            if eta < 0.5 * eta_t and (safe is None or gamma > safe[0]):
                safe = (gamma, eta)
            gamma = 0.5 * gamma if eta > eta_t else 1.5 * gamma
        self.fallbacks += 1
        return safe if safe is not None else (1e-6, eta)

    # ------------------------------------------------------------------ the step
    def step(
        self,
        f: Objective,
        theta: ArrayLike,
        grad: GradientFn | None = None,
        global_grad: GradientFn | None = None,
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        xp = namespace(theta)
        if grad is None:
            grad = getattr(f, "value_and_grad", None)
        if grad is None:
            raise ValueError(
                "complex-step Newton-Krylov needs grad=theta -> (value, gradient) "
                "running on complex θ (back-propagation)"
            )
        if global_grad is None:
            global_grad = getattr(f, "global_grad", None)
        hp, php = curvature_oracles(
            f, grad, self.derivatives, self.fd_step, self.cs_step, self.bc_step
        )

        f0, g_j = value_and_gradient(f, theta, grad)  # line 4
        g = self._global_gradient(theta, global_grad, g_j)  # line 1 / 48
        if global_grad is None:
            self._update_ema(g_j)
        if host_dot(g_j, g) < 0.0:  # lines 5-8
            self.skipped += 1
            return self._finish(theta, xp.zeros_like(theta), f0, stop="skipped")

        # ---- Krylov loop with early termination (lines 10-28)
        D = theta.shape[0]
        if self.delta is not None and self.delta.shape == (D,) and self.warm_start > 0:
            delta = self.warm_start * xp.asarray(self.delta, dtype=theta.dtype)
            h_delta = xp.asarray(hp(theta, delta), dtype=theta.dtype)  # line 11
        else:
            delta, h_delta = xp.zeros_like(theta), xp.zeros_like(theta)
        r = -(g + h_delta)  # line 12
        p = r.copy()
        rr = host_dot(r, r)
        g_norm = math.sqrt(host_dot(g, g))
        stop, kappas, i = "maxiter", [], 0
        while True:
            if math.sqrt(rr) <= self.rtol * g_norm:  # line 13
                stop = "converged"
                break
            if i >= self.max_krylov:
                break
            kappa = php(theta, p)  # line 14
            kappas.append(kappa)
            if not math.isfinite(kappa) or kappa < 0.0:  # lines 15-17
                self.early_terminations += 1
                stop = "negative_curvature"
                break
            if kappa < self.small_curvature:  # lines 18-20
                kappa = 0.01 * math.sqrt(host_dot(p, p))
                self.small_curvature_fixes += 1
            alpha = rr / kappa  # line 21
            delta = delta + alpha * p  # line 22
            q = xp.asarray(hp(theta, p), dtype=theta.dtype)  # line 23
            r = r - alpha * q  # line 24
            rr_new = host_dot(r, r)
            p = r + (rr_new / rr) * p  # lines 25-26
            rr = rr_new
            i += 1

        # ---- post-batch screening (lines 29-31)
        dg = host_dot(delta, g)
        if dg > 0.0:
            delta = delta - (dg / (g_norm * g_norm)) * g
        if not bool(xp.any(delta != 0)):
            self.delta = None
            return self._finish(
                theta,
                xp.zeros_like(theta),
                f0,
                iterations=i,
                stop=stop,
                residual=math.sqrt(rr) / (g_norm or 1.0),
                step_size=0.0,
                curvature=np.asarray(kappas[:1]) if kappas else None,
            )

        # ---- step sizing by the Taylor ratio (lines 33-46), on the minibatch loss
        slope = host_dot(g_j, delta)
        curv = php(theta, delta)
        gamma, _ = self._step_size(f, theta, delta, f0, slope, curv)
        step = (self.lr * gamma) * delta  # line 47
        self.delta = step  # the step taken is the next warm start
        return self._finish(
            theta,
            step,
            f0,
            iterations=i,
            stop=stop,
            residual=math.sqrt(rr) / (g_norm or 1.0),
            step_size=gamma,
            curvature=np.asarray(kappas[:1]) if kappas else None,
        )

    def _finish(self, theta, step, loss, **info):
        extra = {
            k: info.pop(k) for k in ("iterations", "stop", "residual", "step_size") if k in info
        }
        theta_new, base = super()._finish(theta, step, loss, **info)
        return theta_new, KrylovStepInfo(**vars(base), **extra)

    # ------------------------------------------------------------------ checkpoints
    def _arrays(self):
        return {"delta": self.delta, "g_ema": self.g_ema}

    def _set_arrays(self, arrays):
        self.delta, self.g_ema = arrays["delta"], arrays["g_ema"]
        self._g_cache = None
