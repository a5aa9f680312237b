"""First-order baselines on back-propagated gradients: SGD with momentum, and Adam.

Both take the gradient from ``grad`` (``theta -> (value, gradient)``, back-propagation) when
it is given, and from forward mode (D hyper-dual pairs) otherwise.
"""

from __future__ import annotations

from hyperdual import namespace
from hyperdual.aliases import Array, ArrayLike, GradientFn, Objective

from .base import Optimizer, StepInfo, as_parameters, value_and_gradient


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum μ.

    ``b ← μ b + g``, ``θ ← θ − η b`` (the buffer b starts at g; μ = 0 is plain SGD).
    """

    name = "sgd"

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        seed: int | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(lr, seed)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}")
        self.momentum, self.chunk_size = float(momentum), chunk_size
        self.buffer = None

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        value, g = value_and_gradient(f, theta, grad, self.chunk_size)
        if self.buffer is None:
            self.buffer = g
        else:
            self.buffer = self.momentum * _on_device(self.buffer, theta) + g
        return self._finish(theta, -self.lr * self.buffer, value)

    def _arrays(self):
        return {"buffer": self.buffer}

    def _set_arrays(self, arrays):
        self.buffer = arrays["buffer"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    ``m ← β1 m + (1−β1) g``, ``s ← β2 s + (1−β2) g²``,
    ``θ ← θ − η m̂ / (√ŝ + ε)`` with ``m̂ = m / (1−β1ᵗ)``, ``ŝ = s / (1−β2ᵗ)``, t = 1, 2, ...
    """

    name = "adam"

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        seed: int | None = None,
        chunk_size: int | None = None,
    ):
        super().__init__(lr, seed)
        beta1, beta2 = map(float, betas)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"betas must lie in [0, 1); got {betas}")
        self.beta1, self.beta2, self.eps, self.chunk_size = beta1, beta2, float(eps), chunk_size
        self.m = self.s = None

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        theta = as_parameters(theta)
        value, g = value_and_gradient(f, theta, grad, self.chunk_size)
        xp = namespace(theta)
        if self.m is None:
            self.m, self.s = xp.zeros_like(theta), xp.zeros_like(theta)
        t = self.t + 1
        self.m = self.beta1 * _on_device(self.m, theta) + (1 - self.beta1) * g
        self.s = self.beta2 * _on_device(self.s, theta) + (1 - self.beta2) * g * g
        m_hat = self.m / (1 - self.beta1**t)
        s_hat = self.s / (1 - self.beta2**t)
        step = -self.lr * m_hat / (xp.sqrt(s_hat) + self.eps)
        return self._finish(theta, step, value)

    def _arrays(self):
        return {"m": self.m, "s": self.s}

    def _set_arrays(self, arrays):
        self.m, self.s = arrays["m"], arrays["s"]


def _on_device(state, theta):
    """A state vector in theta's module and dtype (an explicit copy after loading a checkpoint)."""
    if state.shape != theta.shape:
        raise ValueError(f"optimizer state has shape {state.shape}; theta has {theta.shape}")
    return namespace(theta).asarray(state, dtype=theta.dtype)
