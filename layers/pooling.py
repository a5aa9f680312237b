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

from hyperdual.aliases import Operand

from .base import Layer, array_module, check_positive_int
from .im2col import col2im, im2col, output_size


class _Pool2d(Layer):
    """Shared shape logic of the pooling layers (window k × k, stride, padding)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        self.kernel_size = check_positive_int(kernel_size, f"{type(self).__name__} kernel_size")
        self.stride = (
            self.kernel_size
            if stride is None
            else check_positive_int(stride, f"{type(self).__name__} stride")
        )
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"{type(self).__name__} padding must be a non-negative integer")
        if 2 * padding > self.kernel_size:
            raise ValueError(
                f"{type(self).__name__} padding must be at most half the kernel "
                f"size (a window of only padding has no maximum)"
            )
        self.padding = int(padding)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3:
            raise ValueError(
                f"{self!r} expects samples of shape (C, H, W), got {tuple(input_shape)}"
            )
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
        return (
            f"{type(self).__name__}({self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding})"
        )


class MaxPool2d(_Pool2d):
    """Maximum over ``k × k`` windows (default stride ``k``); ties go to the first maximal entry.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.

    The forward pass is a *selection*: which entry of each window is the maximum is found from
    the real value alone (``_argmax``), then every part of the number is gathered at those
    pixels with one ``take`` — no window of any part is copied. Both run in the memory order
    of the input (the convolutions return channels-last memory behind an NCHW view).
    """

    kind = "maxpool"

    # ------------------------------------------------------------------ which entry wins
    @staticmethod
    def _memory_order(x):
        """The axis order (of N, C, H, W) in which ``x`` is laid out in memory: channels last
        ``(0, 2, 3, 1)`` when the channel stride is the smallest, else ``(0, 1, 2, 3)``."""
        s = x.strides
        return (0, 2, 3, 1) if s[1] < s[3] else (0, 1, 2, 3)

    def _argmax(self, real, order):
        """Offset ``a·k + b`` of the first maximal entry of each window, in axis ``order``.

        ``real`` (N, C, H, W) is the real value. The k² offsets are visited in row-major
        window order and an entry wins only when strictly larger than the best so far, so ties
        go to the first maximal entry; padding is ``-inf`` and never wins. A window with a NaN
        takes its first NaN (what ``argmax`` does), so NaNs are never hidden.
        """
        xp = array_module(real)
        k, s, p = self.kernel_size, self.stride, self.padding
        r = real.transpose(order)
        h_ax, w_ax = order.index(2), order.index(3)
        if p:
            widths = [(0, 0)] * 4
            widths[h_ax] = widths[w_ax] = (p, p)
            r = xp.pad(r, widths, constant_values=-np.inf)
        OH = (r.shape[h_ax] - k) // s + 1
        OW = (r.shape[w_ax] - k) // s + 1

        def window_entry(a, b):
            key = [slice(None)] * 4
            key[h_ax] = slice(a, a + s * (OH - 1) + 1, s)
            key[w_ax] = slice(b, b + s * (OW - 1) + 1, s)
            return r[tuple(key)]

        best = window_entry(0, 0).copy()
        index = xp.zeros(best.shape, dtype=np.min_scalar_type(k * k - 1))
        for offset in range(1, k * k):
            candidate = window_entry(*divmod(offset, k))
            larger = candidate > best
            # offsets grow, so the last offset that beat the best so far is the maximum of them
            xp.maximum(index, larger * index.dtype.type(offset), out=index)
            xp.maximum(best, candidate, out=best)
        if bool(xp.isnan(best).any()):
            windows = xp.stack([window_entry(*divmod(o, k)) for o in range(k * k)], axis=-1)
            index = xp.argmax(windows, axis=-1).astype(index.dtype)
        return index

    def _flat_sources(self, index, shape, order):
        """Flat position, in the ``order`` layout of an (N, C, H, W) image, of each winner.

        ``position = corner + step[index]``: the window's corner (a broadcast sum of small
        grids) plus the offset of its winning entry, looked up in a k²-entry table.
        """
        xp = array_module(index)
        k, s, p = self.kernel_size, self.stride, self.padding
        dims = [shape[a] for a in order]
        stride = {axis: int(np.prod(dims[i + 1 :], dtype=np.int64)) for i, axis in enumerate(order)}
        itype = np.int32 if int(np.prod(dims, dtype=np.int64)) < 2**31 else np.int64
        corner = 0
        for axis in order:
            n = index.shape[order.index(axis)]
            grid = xp.arange(n, dtype=itype).reshape([n if a == axis else 1 for a in order])
            if axis in (2, 3):
                grid = grid * s - p  # the window's first row / column
            corner = corner + grid * stride[axis]
        step = xp.asarray(
            [a * stride[2] + b * stride[3] for a in range(k) for b in range(k)], dtype=itype
        )
        return corner + xp.take(step, index)

    def forward(self, params: tuple, x: Operand) -> Operand:
        real = x.real
        order = self._memory_order(real)
        flat = self._flat_sources(self._argmax(real, order), real.shape, order)
        back = tuple(order.index(a) for a in range(4))  # the inverse permutation
        xp = array_module(x)

        def gather(part, lead=0):
            laid_out = xp.ascontiguousarray(
                part.transpose(tuple(range(lead)) + tuple(lead + a for a in order))
            )
            picked = xp.take(laid_out.reshape(laid_out.shape[:lead] + (-1,)), flat, axis=lead)
            return picked.transpose(tuple(range(lead)) + tuple(lead + a for a in back))

        return x.map_parts(gather) if hasattr(x, "map_parts") else gather(x)

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        if not need_input_grad:
            return None, ()
        xp = array_module(x)
        k2 = self.kernel_size**2
        order = (0, 2, 3, 1)
        index = self._argmax(x.real, order)[:, :, :, None, :]  # (N, OH, OW, 1, C)
        one_hot = index == xp.arange(k2).reshape(k2, 1)  # (N, OH, OW, k·k, C)
        grad_windows = np.expand_dims(self._channels_last(grad_y), 3) * one_hot
        return self._spread(grad_windows, x.shape), ()


class AvgPool2d(_Pool2d):
    """Mean over ``k × k`` windows (default stride ``k``), zero padding counted in the mean.

    Shapes: ``x`` (N, C, H, W) → ``y`` (N, C, OH, OW), ``OH = (H + 2p − k) // s + 1``.
    """

    kind = "avgpool"

    def forward(self, params: tuple, x: Operand) -> Operand:
        return self._channels_first(self._windows(x).mean(axis=3))

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        if not need_input_grad:
            return None, ()
        k2 = self.kernel_size * self.kernel_size
        share = np.expand_dims(self._channels_last(grad_y), 3) / k2  # (N, OH, OW, 1, C)
        grad_windows = np.broadcast_to(share, share.shape[:3] + (k2, share.shape[-1]))
        return self._spread(grad_windows, x.shape), ()
