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
        """The windows as (N, OH, OW, k·k, C), padding filled with ``fill``."""
        k = self.kernel_size
        cols = im2col(x, (k, k), self.stride, self.padding, fill=fill)  # (N, OH, OW, k, k, C)
        return cols.reshape(cols.shape[:3] + (k * k, cols.shape[-1]))

    def _spread(self, grad_windows, x_shape):
        """col2im of window gradients (N, OH, OW, k·k, C) back to the image (N, C, H, W)."""
        k = self.kernel_size
        cols = grad_windows.reshape(grad_windows.shape[:3] + (k, k, grad_windows.shape[-1]))
        return col2im(cols, x_shape, self.stride, self.padding)

    @staticmethod
    def _channels_last(a):
        """(N, C, OH, OW) → (N, OH, OW, C), a view."""
        return a.transpose(0, 2, 3, 1)

    @staticmethod
    def _channels_first(a):
        """(N, OH, OW, C) → (N, C, OH, OW), a view."""
        return a.transpose(0, 3, 1, 2)

    def __repr__(self):
        return (f"{type(self).__name__}({self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool2d(_Pool2d):
    """Maximum over ``k × k`` windows (default stride ``k``); ties go to the first maximal entry.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.
    """

    kind = "maxpool"

    def _argmax(self, windows):
        """Index (N, OH, OW, 1, C) of the first maximal entry of each window, by real value."""
        return np.argmax(windows.real, axis=3, keepdims=True)

    def forward(self, params, x):
        windows = self._windows(x, fill=-np.inf)
        chosen = np.take_along_axis(windows, self._argmax(windows), axis=3)   # (N, OH, OW, 1, C)
        return self._channels_first(chosen[:, :, :, 0, :])

    def backward(self, params, x, y, grad_y, need_input_grad=True):
        if not need_input_grad:
            return None, ()
        windows = self._windows(x, fill=-np.inf)
        xp = array_module(windows)
        k2 = windows.shape[3]
        one_hot = self._argmax(windows) == xp.arange(k2).reshape(k2, 1)   # (N, OH, OW, k·k, C)
        grad_windows = np.expand_dims(self._channels_last(grad_y), 3) * one_hot
        return self._spread(grad_windows, x.shape), ()


class AvgPool2d(_Pool2d):
    """Mean over ``k × k`` windows (default stride ``k``), zero padding counted in the mean.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.
    """

    kind = "avgpool"

    def forward(self, params, x):
        return self._channels_first(self._windows(x).mean(axis=3))

    def backward(self, params, x, y, grad_y, need_input_grad=True):
        if not need_input_grad:
            return None, ()
        k2 = self.kernel_size * self.kernel_size
        share = np.expand_dims(self._channels_last(grad_y), 3) / k2      # (N, OH, OW, 1, C)
        grad_windows = np.broadcast_to(share, share.shape[:3] + (k2, share.shape[-1]))
        return self._spread(grad_windows, x.shape), ()
