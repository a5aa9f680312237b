"""Pooling over image windows: ``MaxPool2d`` and ``AvgPool2d`` (NCHW).

Both look at the ``k × k`` windows of ``im2col`` and reduce each to one number.

* Max pooling picks one entry per window; it is *selection*, so its derivative is 1 for the
  chosen entry and 0 for the others. The chosen entry is the **first maximal one** (in
  row-major window order) of the real value — the same entry ``HyperDual.max`` takes its
  derivative parts from, and the one back-propagation routes the gradient to. Padding is
  by ``-inf`` (never chosen).
* Average pooling is linear: the mean of each window, padding counted as zeros
  (``count_include_pad``, PyTorch's default).

Back-propagation spreads each output gradient over its window and adds the windows back onto
the image with ``col2im``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, array_module, check_positive_int
from .im2col import col2im, im2col, output_size


class _Pool2d(Layer):
    """Shared shape logic of the pooling layers (window k × k, stride, padding)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = check_positive_int(kernel_size, f"{type(self).__name__} kernel_size")
        self.stride = self.kernel_size if stride is None else check_positive_int(
            stride, f"{type(self).__name__} stride")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"{type(self).__name__} padding must be a non-negative integer")
        if 2 * padding > self.kernel_size:
            raise ValueError(f"{type(self).__name__} padding must be at most half the kernel "
                             f"size (a window of only padding has no maximum)")
        self.padding = int(padding)

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self!r} expects samples of shape (C, H, W), "
                             f"got {tuple(input_shape)}")
        C, H, W = input_shape
        k, s, p = self.kernel_size, self.stride, self.padding
        return (C, output_size(H, k, s, p), output_size(W, k, s, p))

    def _windows(self, x, fill=0.0):
        """The windows as (N, C, OH, OW, k·k), padding filled with ``fill``."""
        k, p = self.kernel_size, self.padding
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
        cols = im2col(x, (k, k), self.stride, 0)
        return cols.reshape(cols.shape[:4] + (k * k,))

    def _spread(self, grad_windows, x_shape):
        """col2im of window gradients (N, C, OH, OW, k·k) back to the image (N, C, H, W)."""
        k = self.kernel_size
        cols = grad_windows.reshape(grad_windows.shape[:4] + (k, k))
        return col2im(cols, x_shape, self.stride, self.padding)

    def __repr__(self):
        return (f"{type(self).__name__}({self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool2d(_Pool2d):
    """Maximum over ``k × k`` windows (default stride ``k``); ties go to the first maximal entry.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.
    """

    kind = "maxpool"

    def _argmax(self, windows):
        """Index (N, C, OH, OW, 1) of the first maximal entry of each window, by real value."""
        return np.argmax(windows.real, axis=-1, keepdims=True)

    def forward(self, params, x):
        windows = self._windows(x, fill=-np.inf)
        chosen = np.take_along_axis(windows, self._argmax(windows), axis=-1)
        return chosen[..., 0]

    def backward(self, params, x, y, grad_y, need_input_grad=True):
        if not need_input_grad:
            return None, ()
        windows = self._windows(x, fill=-np.inf)
        xp = array_module(windows)
        one_hot = self._argmax(windows) == xp.arange(windows.shape[-1])  # (N, C, OH, OW, k·k)
        grad_windows = np.expand_dims(grad_y, -1) * one_hot
        return self._spread(grad_windows, x.shape), ()


class AvgPool2d(_Pool2d):
    """Mean over ``k × k`` windows (default stride ``k``), zero padding counted in the mean.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.
    """

    kind = "avgpool"

    def forward(self, params, x):
        return self._windows(x).mean(axis=-1)

    def backward(self, params, x, y, grad_y, need_input_grad=True):
        if not need_input_grad:
            return None, ()
        k2 = self.kernel_size * self.kernel_size
        grad_windows = np.broadcast_to(np.expand_dims(grad_y, -1) / k2, grad_y.shape + (k2,))
        return self._spread(grad_windows, x.shape), ()
