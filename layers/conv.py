"""Two-dimensional convolution as one matrix product over image windows (im2col).

For images ``x`` (N, C, H, W), a kernel ``W`` (C_out, C, kh, kw) and a bias ``b`` (C_out,),

    y[n, o, i, j] = b[o] + Σ_{c, a, b'} W[o, c, a, b'] · x_padded[n, c, i·s + a, j·s + b']

(cross-correlation, as in PyTorch and the papers). Gathering every window into one row,
``rows`` (N·OH·OW, kh·kw·C) (channels last, see ``im2col``), turns the whole layer into
``rows @ W_matᵀ + b`` with ``W_mat`` the kernel as a (C_out, kh·kw·C) matrix. The matrix
product is bilinear, so its derivatives follow from the product rule for every number type;
back-propagation is two more matrix products and ``col2im``.
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Array, Operand

from .base import Layer, check_positive_int, init_weight
from .im2col import col2im, im2col_rows, output_size, pair


class Conv2d(Layer):
    """2-D convolution over NCHW images, with stride and zero padding.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int
    padding : int
        Zeros added on every side of both spatial axes.
    init : {"glorot", "he"}
        Weight initialisation with ``fan_in = C·kh·kw`` and ``fan_out = C_out·kh·kw``;
        the bias starts at zero.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C_out, OH, OW) with
    ``OH = (H + 2p − kh) // s + 1``; ``weight`` (C_out, C, kh, kw), ``bias`` (C_out,).
    """

    kind = "conv"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int = 0,
        init: str = "glorot",
    ):
        self.in_channels = check_positive_int(in_channels, "Conv2d in_channels")
        self.out_channels = check_positive_int(out_channels, "Conv2d out_channels")
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride = check_positive_int(stride, "Conv2d stride")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"Conv2d padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        self.init = init

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [
            ("weight", (self.out_channels, self.in_channels) + self.kernel_size),
            ("bias", (self.out_channels,)),
        ]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(
                f"{self!r} expects samples of shape ({self.in_channels}, H, W), "
                f"got {tuple(input_shape)}"
            )
        _, H, W = input_shape
        kh, kw = self.kernel_size
        return (
            self.out_channels,
            output_size(H, kh, self.stride, self.padding),
            output_size(W, kw, self.stride, self.padding),
        )

    def init_params(self, rng: np.random.Generator) -> list[Array]:
        kh, kw = self.kernel_size
        weight = init_weight(
            rng,
            self.init,
            self.param_shapes()[0][1],
            self.in_channels * kh * kw,
            self.out_channels * kh * kw,
        )
        return [weight, np.zeros(self.out_channels)]

    # ------------------------------------------------------------------ the two passes
    def _weight_matrix(self, weight):
        """The kernel as a matrix (C_out, kh·kw·C), columns in the order of ``im2col`` rows."""
        return weight.transpose(0, 2, 3, 1).reshape(self.out_channels, -1)

    def _window_matrix(self, x):
        """The windows of ``x`` as rows: shape (N·OH·OW, kh·kw·C), and (N, OH, OW)."""
        return im2col_rows(x, self.kernel_size, self.stride, self.padding)

    def forward(self, params: tuple, x: Operand) -> Operand:
        weight, bias = params
        rows, (N, OH, OW) = self._window_matrix(x)
        out = rows @ self._weight_matrix(weight).T + bias  # (N·OH·OW, C_out)
        return out.reshape(N, OH, OW, self.out_channels).transpose(0, 3, 1, 2)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        weight, _ = params
        rows, (N, OH, OW) = self._window_matrix(x)
        grad_out = grad_y.transpose(0, 2, 3, 1).reshape(N * OH * OW, self.out_channels)
        grad_weight = (
            (grad_out.T @ rows)
            .reshape((self.out_channels,) + self.kernel_size + (self.in_channels,))
            .transpose(0, 3, 1, 2)
        )
        grad_bias = grad_out.sum(axis=0)
        if not need_input_grad:
            return None, (grad_weight, grad_bias)
        grad_rows = grad_out @ self._weight_matrix(weight)  # (N·OH·OW, kh·kw·C)
        grad_cols = grad_rows.reshape((N, OH, OW) + self.kernel_size + (self.in_channels,))
        grad_x = col2im(grad_cols, x.shape, self.stride, self.padding)
        return grad_x, (grad_weight, grad_bias)

    def __repr__(self):
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, init={self.init!r})"
        )
