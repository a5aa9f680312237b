"""Elementwise activations and the (log-)softmax.

Each activation is first a plain function (``relu``, ``sigmoid``, ``tanh``, ``softmax``,
``log_softmax``) written with NumPy operations, then a parameter-free layer that adds its
back-propagation. The functions are compositions of primitives every number type supports:

* ``relu(x) = x · [x.real > 0]``: the mask is a plain array computed from the real value, so
  the derivative at exactly 0 is **0** (the PyTorch/JAX convention) and the second
  derivative is 0 everywhere.
* ``sigmoid(x) = 1 / (1 + e)`` for ``x ≥ 0`` and ``e / (1 + e)`` for ``x < 0``, with
  ``e = exp(−|x|)`` (branch chosen by the sign of the real part): no overflow, no
  cancellation. It is ``hyperdual.rules.sigmoid_pair``, the one sigmoid of the project
  (also the rule table's and the bicomplex oracle's), which says why the textbook forms fail.
* ``log_softmax(x) = z − log Σ exp(z)`` with ``z = x − max(x.real)``: the shift is a plain
  array (no derivative parts). That is exact, not an approximation — a constant shift of all
  logits cancels in ``z − log Σ exp(z)`` — and keeps ``exp`` from overflowing.
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Operand
from hyperdual.rules import sigmoid_pair

from .base import Layer


# --------------------------------------------------------------------------- functions
def relu(x: Operand) -> Operand:
    """``max(x, 0)`` elementwise, with derivative 0 at ``x = 0``. Any shape."""
    return x * (x.real > 0)


def sigmoid(x: Operand) -> Operand:
    """The logistic function ``1 / (1 + exp(−x))`` without overflow. Any shape."""
    return sigmoid_pair(x)[0]


def tanh(x: Operand) -> Operand:
    """Hyperbolic tangent elementwise. Any shape."""
    return np.tanh(x)


def log_softmax(x: Operand, axis: int = -1) -> Operand:
    """``log(softmax(x))`` along ``axis``, shifted by the maximum of the real part.

    Parameters
    ----------
    x : array, shape (..., K, ...)
    axis : int

    Returns
    -------
    array, the shape of ``x``
    """
    shift = np.max(x.real, axis=axis, keepdims=True)  # plain array: a stop-gradient constant
    z = x - shift
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax(x: Operand, axis: int = -1) -> Operand:
    """``exp(x) / Σ exp(x)`` along ``axis`` (via ``log_softmax``). Shape of ``x``."""
    return np.exp(log_softmax(x, axis=axis))


# --------------------------------------------------------------------------- layers
class ReLU(Layer):
    """``y = max(x, 0)``; back-propagation ``grad_x = grad_y · [x > 0]`` (0 at the kink)."""

    kind = "relu"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return relu(x)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        return (grad_y * (x.real > 0) if need_input_grad else None), ()


class Sigmoid(Layer):
    """``y = σ(x)``; back-propagation ``grad_x = grad_y · σ(x) σ(−x)`` (= ``y (1 − y)``, but
    accurate also where σ saturates)."""

    kind = "sigmoid"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return sigmoid(x)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        if not need_input_grad:
            return None, ()
        s, s_neg = sigmoid_pair(x)
        return grad_y * (s * s_neg), ()


class Tanh(Layer):
    """``y = tanh(x)``; back-propagation ``grad_x = grad_y · (1 − y²)``."""

    kind = "tanh"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return tanh(x)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        return (grad_y * (1.0 - y * y) if need_input_grad else None), ()


class Softmax(Layer):
    """``y = softmax(x)`` along the last axis; ``grad_x = y ⊙ (grad_y − Σ y ⊙ grad_y)``.

    Shapes: ``x`` (N, K) → ``y`` (N, K).
    """

    kind = "softmax"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return softmax(x, axis=-1)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        if not need_input_grad:
            return None, ()
        inner = np.sum(y * grad_y, axis=-1, keepdims=True)
        return y * (grad_y - inner), ()


class LogSoftmax(Layer):
    """``y = log_softmax(x)`` along the last axis; ``grad_x = grad_y − softmax(x) Σ grad_y``.

    Shapes: ``x`` (N, K) → ``y`` (N, K).
    """

    kind = "logsoftmax"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return log_softmax(x, axis=-1)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        if not need_input_grad:
            return None, ()
        return grad_y - np.exp(y) * np.sum(grad_y, axis=-1, keepdims=True), ()
