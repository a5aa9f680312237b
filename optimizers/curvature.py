"""Shared machinery of the companion-paper optimizers: the objective, curvature products, CG.

The optimizers of ``hessian_free`` (Newton, damped Newton, Hessian-free Newton-CG and
Gauss-Newton-CG), ``newton_krylov`` (complex-step Newton-Krylov) and ``partition``
(partition Newton) keep the common interface of every optimizer in this package::

    theta, info = opt.step(f, theta, grad=g)

and need more than ``f`` and ``g``: Hessian-vector products, Gauss-Newton-vector products,
the parameter groups of a model, a gradient over more data than the minibatch. They find
them, in this order:

1. an explicit keyword argument of ``step`` (``hvp=``, ``gnvp=``, ``groups=``,
   ``global_grad=``), each a callable of θ documented where it is used;
2. an attribute of the objective ``f`` of the same name: :class:`ModelObjective` wraps a model
   and a minibatch as a callable ``f(θ) = model.loss(θ, X, y)`` that also carries
   ``value_and_grad``, ``hvp``, ``gnvp`` and ``param_groups``. Any callable with those
   attributes works;
3. a derivation from ``f`` and ``grad`` alone (see :func:`hvp_operator`), or a clear error
   when none exists (Gauss-Newton needs the network's outputs; see :func:`gnvp_operator`).

So a plain function ``f`` (e.g. Rosenbrock) and a training loop that only passes closures
both work, and a loop that passes ``ModelObjective(model, X, y)`` gets the cheaper,
model-specific products.

Also here: :func:`truncated_cg`, the conjugate-gradient solver of the Hessian-free methods
(the paper's Algorithm 1 with the safeguards of SciPy's Newton-CG), and
:class:`KrylovStepInfo`, the step record with the CG statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hyperdual import Dual, namespace, to_numpy
from hyperdual import hvp as forward_hvp
from hyperdual.aliases import Array, ArrayLike, GradientFn, Objective

from .base import StepInfo

__all__ = [
    "ModelObjective",
    "KrylovStepInfo",
    "CGResult",
    "truncated_cg",
    "hvp_operator",
    "gnvp_operator",
    "gauss_newton_vp",
    "dual_backprop_hvp",
    "host_dot",
]

FLOAT64_EPS = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- the objective


class ModelObjective:
    """The minibatch loss of a model as a callable objective with its derivatives attached.

    ``ModelObjective(model, X, y)(theta) == model.loss(theta, X, y)``, on any number type the
    model supports (real, complex, hyper-dual, bicomplex). The optimizers of this module use
    the attributes below when present.

    Parameters
    ----------
    model : a ``layers`` model (``loss``, ``value_and_grad``, ``hvp``, ``gnvp``,
        ``param_groups``)
    X : array, shape ``(N, *input_shape)``, the minibatch inputs
    y : array, shape (N,), the labels
    global_grad : callable, optional
        ``theta -> (value, gradient)`` over more data than the minibatch (the "global
        gradient" of the complex-step Newton-Krylov method); None if not available.
    """

    def __init__(
        self, model: object, X: ArrayLike, y: ArrayLike, global_grad: GradientFn | None = None
    ):
        self.model, self.X, self.y = model, X, y
        self.global_grad = global_grad

    def __call__(self, theta):
        return self.model.loss(theta, self.X, self.y)

    def value_and_grad(self, theta: Array) -> tuple[object, Array]:
        """Loss and gradient (D,) by back-propagation (θ of any supported number type)."""
        return self.model.value_and_grad(theta, self.X, self.y)

    def hvp(self, theta: Array, v: Array) -> Array:
        """``∇²L(θ) v`` (D,) by back-propagation on dual numbers ``θ + v e`` (real θ, v)."""
        return self.model.hvp(theta, self.X, self.y, v)

    def gnvp(self, theta: Array, v: Array) -> Array:
        """``Jᵀ H_out J v`` (D,), the Gauss-Newton-vector product (real θ and v)."""
        return self.model.gnvp(theta, self.X, self.y, v)

    def param_groups(self) -> list[tuple[str, slice]]:
        """``[(name, slice), ...]``: each weight tensor and each bias of the model."""
        return self.model.param_groups()

    def __repr__(self):
        return f"ModelObjective({self.model!r}, N={len(self.y)})"


# --------------------------------------------------------------------------- step record


@dataclass
class KrylovStepInfo(StepInfo):
    """``StepInfo`` plus the statistics of the inner Krylov (CG) loop.

    Attributes
    ----------
    iterations : int
        Matrix-vector products used by CG (Hessian-free methods) or Krylov iterations
        (Newton-Krylov).
    stop : str
        Why the inner loop stopped: "converged", "negative_curvature", "flat", "maxiter",
        "skipped" (batch screened out), "zero_gradient", "dense" (direct solve).
    residual : float
        ``‖b − A x‖₂ / ‖b‖₂`` at the end of the inner loop (nan when not tracked).
    step_size : float
        Factor γ applied to the inner solution besides ``lr`` (Newton-Krylov's Taylor-ratio
        step sizing; 1.0 elsewhere).
    """

    iterations: int = 0
    stop: str = ""
    residual: float = math.nan
    step_size: float = 1.0


# --------------------------------------------------------------------------- CG


@dataclass
class CGResult:
    """What :func:`truncated_cg` found.

    x : array (D,), the approximate solution of ``A x = b``
    iterations : int, products with A used
    stop : "converged" | "negative_curvature" | "flat" | "maxiter" | "zero_rhs"
    residual : float, ``‖b − A x‖₂ / ‖b‖₂`` (tracked by the recurrence, not recomputed)
    curvatures : list of float, ``pᵀAp`` of every CG direction
    """

    x: object
    iterations: int
    stop: str
    residual: float
    curvatures: list


def host_dot(a: Array, b: Array) -> float:
    """``a·b`` of two vectors (D,) as a Python float (one number back from the device)."""
    return float(to_numpy(namespace(a).dot(a, b)))


def truncated_cg(
    matvec: Callable[[Array], Array],
    b: Array,
    maxiter: int | None = None,
    tol: float | None = None,
    x0: ArrayLike | None = None,
) -> CGResult:
    """Truncated conjugate gradient for ``A x = b`` with A given only through ``matvec``.

    The conjugate-gradient method of the Hessian-free paper (its Algorithm 1), with the
    safeguards of SciPy's ``minimize(method="Newton-CG")`` so that, with the defaults, the
    iterates are SciPy's to rounding:

    * **stopping** — ``tol=None`` uses SciPy's forcing term (Dembo–Steihaug):
      stop when ``‖r‖₁ ≤ min(0.5, √‖b‖₁)·‖b‖₁``. A float ``tol`` stops when
      ``‖r‖₂ ≤ tol·‖b‖₂`` instead;
    * **negative curvature** ``pᵀAp < 0`` — stop; if it happens on the first direction
      (``x = 0``), return ``x = (bᵀb / |bᵀAb|) b``, a steepest-descent step sized by the
      absolute curvature (SciPy's fallback);
    * **flat direction** ``0 ≤ pᵀAp ≤ 3·eps·‖p‖²`` — stop with the current x (SciPy
      tests ``pᵀAp ≤ 3·eps`` without the ``‖p‖²``, which also stops CG whenever the residual,
      and with it p, becomes small; the relative test is scale-invariant);
    * **truncation** — at most ``maxiter`` products (default ``len(b)``, where exact CG has
      converged on a positive-definite A).

    Parameters
    ----------
    matvec : callable, v (D,) -> A v (D,), A symmetric
    b : array, shape (D,), e.g. the gradient g (the step is then ``−x``)
    maxiter : int, optional
    tol : float, optional, relative 2-norm tolerance (None: SciPy's l1 forcing term)
    x0 : array (D,), optional warm start (default 0)

    Returns
    -------
    CGResult
    """
    xp = namespace(b)
    D = b.shape[0]
    maxiter = D if maxiter is None else int(maxiter)
    if maxiter < 1:
        raise ValueError(f"maxiter must be at least 1; got {maxiter}")
    b_norm = math.sqrt(host_dot(b, b))
    if b_norm == 0.0:
        return CGResult(xp.zeros_like(b), 0, "zero_rhs", 0.0, [])
    if tol is None:
        b_l1 = float(to_numpy(xp.sum(xp.abs(b))))
        threshold = min(0.5, math.sqrt(b_l1)) * b_l1

        def small(r):
            return float(to_numpy(xp.sum(xp.abs(r)))) <= threshold
    else:
        threshold = float(tol) * b_norm

        def small(r):
            return math.sqrt(host_dot(r, r)) <= threshold

    if x0 is None:
        x, r = xp.zeros_like(b), b.copy()
    else:
        x = xp.asarray(x0, dtype=b.dtype).copy()
        r = b - matvec(x)
    p = r.copy()
    rr = host_dot(r, r)
    curvatures, stop = [], "maxiter"
    for it in range(maxiter):
        if small(r):
            stop = "converged"
            break
        Ap = matvec(p)
        curv = host_dot(p, Ap)
        curvatures.append(curv)
        if not math.isfinite(curv):
            x = x + math.nan
            stop = "negative_curvature"
            break
        if 0.0 <= curv <= 3 * FLOAT64_EPS * host_dot(p, p):
            stop = "flat"
            break
        if curv < 0.0:
            if it == 0 and x0 is None:
                x = (rr / -curv) * b
            stop = "negative_curvature"
            break
        alpha = rr / curv
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = host_dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    else:
        if small(r):
            stop = "converged"
    iterations = len(curvatures)
    return CGResult(x, iterations, stop, math.sqrt(rr) / b_norm, curvatures)


# --------------------------------------------------------------------------- curvature products


def dual_backprop_hvp(grad: GradientFn, theta: Array, v: Array) -> Array:
    """``H v`` by forward-over-reverse: ``grad`` evaluated on the dual number ``theta + v e``.

    ``grad`` is ``theta -> (value, gradient)`` written with operations the number types
    support (back-propagation in ``layers``, or any NumPy gradient formula); the ``e`` part
    of the gradient is ``H v``. First-order ``Dual`` numbers suffice (cheaper than
    hyper-duals: two parts instead of four).
    """
    _, g = grad(Dual(theta, v))
    if not isinstance(g, Dual):
        raise TypeError(
            "grad(theta + v e) did not return a dual-number gradient; it cannot "
            "give Hessian-vector products. Pass hvp=(theta, v) -> H v instead."
        )
    return g.eps[0]


def hvp_operator(
    f: Objective,
    theta: Array,
    grad: GradientFn | None = None,
    hvp: Callable[[Array, Array], Array] | None = None,
    mode: str = "auto",
) -> tuple[Callable[[Array], Array], str]:
    """The map ``v -> ∇²f(θ) v`` and the name of its source.

    Sources, in order of preference (``mode="auto"``):

    * ``hvp`` — an explicit callable ``(theta, v) -> H v``, or ``f.hvp`` (``"given"``);
    * ``grad`` on dual numbers (``"dual-backprop"``): back-propagation run on
      ``theta + v e`` — one forward and one backward pass per product;
    * ``hyperdual.hvp(f, theta, v)`` (``"forward"``): D hyper-dual pairs per product, fine for
      small D.

    ``mode`` forces one of ``"given"``, ``"dual-backprop"``, ``"forward"``.
    """
    modes = ("auto", "given", "dual-backprop", "forward")
    if mode not in modes:
        raise ValueError(f"hvp mode must be one of {modes}; got {mode!r}")
    given = hvp if hvp is not None else getattr(f, "hvp", None)
    if mode in ("auto", "given") and given is not None:
        return (lambda v: given(theta, v)), "given"
    if mode == "given":
        raise ValueError("hvp mode 'given' needs hvp=(theta, v) -> H v or an objective with .hvp")
    if mode in ("auto", "dual-backprop") and grad is not None:
        return (lambda v: dual_backprop_hvp(grad, theta, v)), "dual-backprop"
    if mode == "dual-backprop":
        raise ValueError("hvp mode 'dual-backprop' needs grad=theta -> (value, gradient)")
    return (lambda v: forward_hvp(f, theta, v)), "forward"


def gnvp_operator(
    f: Objective, theta: Array, gnvp: Callable[[Array, Array], Array] | None = None
) -> Callable[[Array], Array]:
    """The map ``v -> G v`` with ``G = Jᵀ H_out J`` (Gauss-Newton matrix) at θ.

    From ``gnvp=(theta, v) -> G v`` or ``f.gnvp`` (:class:`ModelObjective`). A plain loss
    function does not expose the network outputs that G needs; build a product for it with
    :func:`gauss_newton_vp`.
    """
    given = gnvp if gnvp is not None else getattr(f, "gnvp", None)
    if given is None:
        raise ValueError(
            "Gauss-Newton needs Gauss-Newton-vector products: pass gnvp=(theta, v) -> G v, "
            "an objective with .gnvp (optimizers.curvature.ModelObjective(model, X, y)), "
            "or build one with optimizers.curvature.gauss_newton_vp(outputs, out_loss)"
        )
    return lambda v: given(theta, v)


def gauss_newton_vp(
    outputs: Callable, out_loss: Objective, chunk_size: int | None = None
) -> Callable[[Array, Array], Array]:
    """A Gauss-Newton-vector product ``(theta, v) -> Jᵀ H_out J v`` for ``f = out_loss ∘ outputs``.

    For plain functions (no ``layers`` model): everything by forward mode.

    * ``J v``: the ε part of ``outputs(theta + v e)`` (one dual-number pass);
    * ``u = H_out (J v)``: ``hyperdual.hvp(out_loss, z, J v)`` at the outputs ``z``;
    * ``Jᵀ u``: the gradient of ``θ -> u · outputs(θ)`` (D forward pairs).

    Parameters
    ----------
    outputs : callable, theta (D,) -> z (M,) (any shape; flattened)
    out_loss : callable, z (M,) -> scalar, convex for G to be positive semi-definite
    """
    from hyperdual import gradient

    def product(theta, v):
        xp = namespace(theta)
        out = outputs(Dual(theta, v))
        z, Jv = xp.reshape(out.real, (-1,)), xp.reshape(out.eps[0], (-1,))
        u = forward_hvp(out_loss, z, Jv, chunk_size=chunk_size)
        return gradient(
            lambda th: (outputs(th).reshape(-1) * u).sum(), theta, chunk_size=chunk_size
        )

    return product
