"""Test problems with closed-form derivatives (like ``scipy.optimize.rosen``).

Rosenbrock's function of ``θ`` (shape (D,), D ≥ 2)::

    f(θ) = Σ_{i=1}^{D-1} 100 (θ_{i+1} − θ_i²)² + (1 − θ_i)²,      minimum f(1, ..., 1) = 0.

``rosenbrock`` is written with NumPy operations only, so it runs on real arrays and on every
number type of ``hyperdual`` (forward mode gives its derivatives);
``rosenbrock_value_and_grad`` is the gradient in closed form — what back-propagation would
return — and ``rosenbrock_hessian`` the (tridiagonal) Hessian, so the optimizers can be
checked against an independent answer. ``rosenbrock_newton_step`` is ``−∇²f(θ)⁻¹ ∇f(θ)`` from the
closed forms (the red arrow of the FoMoH paper's Figure 1a).

``paper_experiments.rosenbrock`` runs the paper's experiments on this function.
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Array

__all__ = [
    "rosenbrock",
    "rosenbrock_value_and_grad",
    "rosenbrock_hessian",
    "rosenbrock_newton_step",
]


def rosenbrock(theta: Array) -> Array:
    """Rosenbrock's function of ``theta`` (shape (D,), D ≥ 2); real arrays or hyper-duals."""
    x, y = theta[:-1], theta[1:]
    return np.sum(100.0 * (y - x**2) ** 2 + (1.0 - x) ** 2)


def rosenbrock_value_and_grad(theta: Array) -> tuple[Array, Array]:
    """``(f(θ), ∇f(θ))`` in closed form: the gradient back-propagation would return.

    Written with operations every number type supports (no casts, no in-place writes), so it
    also runs on complex θ (the complex step on the gradient gives ``H p``) and on ``Dual`` θ.
    """
    x, y = theta[:-1], theta[1:]
    r = y - x**2
    d_x = -400.0 * x * r - 2.0 * (1.0 - x)  # ∂f/∂θ_i from the terms where θ_i is x
    d_y = 200.0 * r  # ∂f/∂θ_i from the terms where θ_i is y
    grad = np.concatenate([d_x, theta[-1:] * 0]) + np.concatenate([theta[:1] * 0, d_y])
    return rosenbrock(theta), grad


def rosenbrock_hessian(theta: Array) -> Array:
    """The (tridiagonal) Hessian in closed form, shape (D, D), float64."""
    theta = np.asarray(theta, dtype=float)
    x, y = theta[:-1], theta[1:]
    D = theta.shape[0]
    H = np.zeros((D, D))
    i = np.arange(D - 1)
    H[i, i] += 1200.0 * x**2 - 400.0 * y + 2.0
    H[i + 1, i + 1] += 200.0
    H[i, i + 1] = H[i + 1, i] = -400.0 * x
    return H


def rosenbrock_newton_step(theta: Array) -> Array:
    """``−∇²f(θ)⁻¹ ∇f(θ)`` of Rosenbrock's function from the closed forms, shape (D,)."""
    return -np.linalg.solve(rosenbrock_hessian(theta), rosenbrock_value_and_grad(theta)[1])
