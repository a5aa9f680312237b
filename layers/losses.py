"""Losses: mean cross-entropy from logits with integer labels, and mean squared error.

Each loss ``L(z, target)`` of the network output ``z`` (N, K) offers three things:

* ``value(z, target)``: the scalar loss, written with NumPy operations (runs on every
  number type);
* ``grad(z, target)``: ``∂L/∂z`` (N, K), where back-propagation starts;
* ``hessian_vector(z, target, u)``: ``H_out u`` (N, K), the Hessian of the loss with respect
  to the output applied to ``u`` — the middle factor of the Gauss-Newton product
  ``Jᵀ H_out J v``. ``z`` is real here (it is the linearisation point).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from hyperdual.aliases import Array, DTypeLike, Operand

from .activations import log_softmax, softmax
from .base import array_module, real_dtype


def check_labels(labels: Array, logits: Operand) -> Array:
    """Integer class labels (N,) valid for ``logits`` (N, K); raises ``ValueError`` otherwise."""
    labels = array_module(logits, labels).asarray(labels)  # raises if on another device
    N, K = logits.shape
    if labels.shape != (N,):
        raise ValueError(
            f"labels must have shape ({N},) to match the outputs {logits.shape}; got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if N and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(
            f"labels must lie in [0, {K}); got values in [{int(labels.min())}, {int(labels.max())}]"
        )
    return labels


def one_hot(labels: Array, K: int, dtype: DTypeLike, xp: ModuleType = np) -> Array:
    """``(N, K)`` array of ``dtype`` with a 1 in column ``labels[n]`` of row ``n``."""
    return (labels[:, None] == xp.arange(K)).astype(dtype)


class CrossEntropy:
    """Mean negative log-likelihood of integer labels under ``softmax(z)``.

    ``L = −(1/N) Σ_n log softmax(z_n)[y_n]``, computed from the logits ``z`` (N, K) through the
    stable ``log_softmax``. Derivatives with respect to the logits:
    ``∂L/∂z = (p − onehot(y)) / N`` and ``H_out = (diag(p) − p pᵀ) / N`` per sample, with
    ``p = softmax(z)``.
    """

    name = "cross_entropy"

    def value(self, logits: Operand, labels: Array) -> Operand:
        labels = check_labels(labels, logits)
        log_p = log_softmax(logits, axis=-1)
        picked = np.take_along_axis(log_p, labels[:, None], axis=1)  # (N, 1)
        return -np.mean(picked)

    def grad(self, logits: Operand, labels: Array) -> Operand:
        labels = check_labels(labels, logits)
        N, K = logits.shape
        target = one_hot(labels, K, real_dtype(logits), array_module(logits))
        return (softmax(logits, axis=-1) - target) / N

    def hessian_vector(self, logits: Operand, labels: Array, u: Operand) -> Operand:
        p = softmax(logits, axis=-1)
        pu = p * u
        return (pu - p * np.sum(pu, axis=-1, keepdims=True)) / logits.shape[0]

    def __repr__(self):
        return "CrossEntropy()"


class MeanSquaredError:
    """``L = mean((z − t)²)`` over all N·K entries; ``∂L/∂z = 2 (z − t) / (N K)``,
    ``H_out = 2 I / (N K)``. The target ``t`` has the shape of ``z``."""

    name = "mse"

    @staticmethod
    def _check(outputs, target):
        if tuple(target.shape) != tuple(outputs.shape):
            raise ValueError(
                f"MSE target shape {tuple(target.shape)} must equal the output "
                f"shape {tuple(outputs.shape)}"
            )

    def value(self, outputs: Operand, target: Array) -> Operand:
        self._check(outputs, target)
        diff = outputs - target
        return np.mean(diff * diff)

    def grad(self, outputs: Operand, target: Array) -> Operand:
        self._check(outputs, target)
        return (outputs - target) * (2.0 / outputs.size)

    def hessian_vector(self, outputs: Operand, target: Array, u: Operand) -> Operand:
        return u * (2.0 / outputs.size)

    def __repr__(self):
        return "MeanSquaredError()"


LOSSES = {"cross_entropy": CrossEntropy, "mse": MeanSquaredError}


def cross_entropy(logits: Operand, labels: Array) -> Operand:
    """Mean cross-entropy of integer ``labels`` (N,) under ``softmax(logits)`` (N, K); a scalar."""
    return CrossEntropy().value(logits, labels)


def mse(outputs: Operand, target: Array) -> Operand:
    """Mean squared error between ``outputs`` and ``target`` (same shape); a scalar."""
    return MeanSquaredError().value(outputs, target)
