"""Fully connected layers: ``Dense`` (an affine map) and ``Flatten`` (a reshape).

Both are linear in their input, so their backward passes are transposes of their forward
passes: ``Dense`` multiplies by ``Wᵀ``, ``Flatten`` reshapes back.
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Array, Operand

from .base import Layer, check_positive_int, init_weight


class Dense(Layer):
    """``y = x Wᵀ + b``, the weight laid out as ``(out_features, in_features)`` (as in PyTorch).

    Parameters
    ----------
    in_features, out_features : int
    init : {"glorot", "he"}
        Weight initialisation (see ``layers.base``); the bias starts at zero.

    Shapes: ``x`` (N, in_features) → ``y`` (N, out_features); ``weight`` (out_features,
    in_features), ``bias`` (out_features,).
    """

    kind = "dense"

    def __init__(self, in_features: int, out_features: int, init: str = "glorot"):
        self.in_features = check_positive_int(in_features, "Dense in_features")
        self.out_features = check_positive_int(out_features, "Dense out_features")
        self.init = init

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("weight", (self.out_features, self.in_features)), ("bias", (self.out_features,))]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(
                f"Dense({self.in_features}, {self.out_features}) expects samples of "
                f"shape ({self.in_features},), got {tuple(input_shape)}"
            )
        return (self.out_features,)

    def init_params(self, rng: np.random.Generator) -> list[Array]:
        weight = init_weight(
            rng,
            self.init,
            (self.out_features, self.in_features),
            self.in_features,
            self.out_features,
        )
        return [weight, np.zeros(self.out_features)]

    def forward(self, params: tuple, x: Operand) -> Operand:
        weight, bias = params
        return x @ weight.T + bias

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        weight, _ = params
        grad_weight = grad_y.T @ x  # (out, N) @ (N, in)
        grad_bias = grad_y.sum(axis=0)
        grad_x = grad_y @ weight if need_input_grad else None
        return grad_x, (grad_weight, grad_bias)

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features}, init={self.init!r})"


class Flatten(Layer):
    """Reshape each sample to a vector: (N, C, H, W) → (N, C·H·W), C-order (as in PyTorch)."""

    kind = "flatten"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, params: tuple, x: Operand) -> Operand:
        return x.reshape(x.shape[0], -1)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        return (grad_y.reshape(x.shape) if need_input_grad else None), ()
