"""Slow, obviously correct loop implementations: the oracles for the vectorised layers.

Every function here follows the textbook definition with explicit Python loops over output
pixels and works on plain NumPy arrays only (real or complex). They are for tests and for
checking another implementation, never for training.
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Operand


def conv2d(
    x: Operand, weight: Operand, bias: Operand, stride: int = 1, padding: int = 0
) -> Operand:
    """``y[n, o, i, j] = b[o] + Σ_{c,a,b} W[o, c, a, b] x_pad[n, c, i·s + a, j·s + b]``.

    Shapes: ``x`` (N, C, H, W), ``weight`` (C_out, C, kh, kw), ``bias`` (C_out,)
    → (N, C_out, OH, OW).
    """
    N, C, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    OH = (H + 2 * padding - kh) // stride + 1
    OW = (W + 2 * padding - kw) // stride + 1
    y = np.zeros((N, C_out, OH, OW), dtype=np.result_type(x, weight, bias))
    for n in range(N):
        for o in range(C_out):
            for i in range(OH):
                for j in range(OW):
                    window = xp[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    y[n, o, i, j] = np.sum(window * weight[o]) + bias[o]
    return y


def _pool(x, kernel, stride, padding, fill, reduce):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    OH = (H + 2 * padding - kernel) // stride + 1
    OW = (W + 2 * padding - kernel) // stride + 1
    y = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = xp[
                        n, c, i * stride : i * stride + kernel, j * stride : j * stride + kernel
                    ]
                    y[n, c, i, j] = reduce(window)
    return y


def max_pool2d(x: Operand, kernel: int, stride: int | None = None, padding: int = 0) -> Operand:
    """Maximum over each ``kernel × kernel`` window (padding by −inf).
    (N, C, H, W) → (N, C, OH, OW)."""
    return _pool(x, kernel, stride or kernel, padding, -np.inf, np.max)


def avg_pool2d(x: Operand, kernel: int, stride: int | None = None, padding: int = 0) -> Operand:
    """Mean over each window, zero padding counted. (N, C, H, W) → (N, C, OH, OW)."""
    return _pool(x, kernel, stride or kernel, padding, 0.0, np.mean)


def max_pool2d_routing(
    x: np.ndarray, kernel: int, stride: int | None = None, padding: int = 0
) -> np.ndarray:
    """Where max pooling sends the gradient: a 0/1 array (N, C, OH, OW, H, W) marking, for
    each output, the first maximal input pixel of its window (row-major order)."""
    stride = stride or kernel
    N, C, H, W = x.shape
    OH = (H + 2 * padding - kernel) // stride + 1
    OW = (W + 2 * padding - kernel) // stride + 1
    route = np.zeros((N, C, OH, OW, H, W))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    best, where = -np.inf, None
                    for a in range(kernel):
                        for b in range(kernel):
                            r, s = i * stride + a - padding, j * stride + b - padding
                            if 0 <= r < H and 0 <= s < W and x[n, c, r, s] > best:
                                best, where = x[n, c, r, s], (r, s)
                    route[(n, c, i, j) + where] = 1.0
    return route
