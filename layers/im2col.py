"""Sliding windows over images ("im2col") and their adjoint ("col2im").

Convolution and pooling both look at every ``kh × kw`` window of a (padded) image. ``im2col``
collects those windows as a strided *view* (no copy when there is no padding):

    x (N, C, H, W)  →  cols (N, C, OH, OW, kh, kw),
    cols[n, c, i, j, a, b] = x_padded[n, c, i·s + a, j·s + b]

with ``OH = (H + 2p − kh) // s + 1`` (likewise ``OW``). A convolution is then one matrix
product and a pooling a reduction over the last two axes.

``im2col`` is linear, so back-propagation needs its transpose ``col2im``: every window entry
is *added* back to the pixel it was read from (pixels covered by several windows receive
several contributions). It is written without in-place updates, as a sum over the
``kh · kw`` kernel offsets of shifted copies, so that it runs on every number type.
"""

from __future__ import annotations

import numpy as np

from .base import check_positive_int


def output_size(size, kernel, stride, padding):
    """Number of windows along one axis: ``(size + 2·padding − kernel) // stride + 1``."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"a window of {kernel} (padding {padding}) does not fit an input of "
                         f"size {size}")
    return out


def pair(value, what):
    """``value`` as a pair of positive ints (an int ``k`` means ``(k, k)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
        return tuple(check_positive_int(v, what) for v in value)
    k = check_positive_int(value, what)
    return (k, k)


def pad_images(x, padding):
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W) by ``padding`` on every side."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def im2col(x, kernel_size, stride=1, padding=0):
    """All ``kh × kw`` windows of the images ``x``.

    Parameters
    ----------
    x : array, shape (N, C, H, W)
    kernel_size : (int, int)
        ``(kh, kw)``.
    stride, padding : int

    Returns
    -------
    cols : array, shape (N, C, OH, OW, kh, kw)
        A strided view of ``x`` (of its padded copy when ``padding > 0``).
    """
    kh, kw = kernel_size
    padded = pad_images(x, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return windows[:, :, ::stride, ::stride]


def dilate(x, stride):
    """Insert ``stride − 1`` zeros between neighbouring entries of the last two axes.

    (…, h, w) → (…, (h − 1)·stride + 1, (w − 1)·stride + 1). Spreads the output grid of a
    strided window back onto the input grid.
    """
    if stride == 1:
        return x
    h, w = x.shape[-2:]
    lead = [(0, 0)] * (x.ndim - 2)
    # Along w: append stride-1 zeros after each entry, then merge and drop the trailing zeros.
    x = np.pad(np.expand_dims(x, -1), lead + [(0, 0), (0, 0), (0, stride - 1)])
    x = x.reshape(x.shape[:-3] + (h, w * stride))[..., : (w - 1) * stride + 1]
    # Along h: the same on the second-to-last axis.
    x = np.pad(np.expand_dims(x, -2), lead + [(0, 0), (0, stride - 1), (0, 0)])
    x = x.reshape(x.shape[:-3] + (h * stride, x.shape[-1]))
    return x[..., : (h - 1) * stride + 1, :]


def col2im(cols, input_shape, stride=1, padding=0):
    """The transpose of ``im2col``: add every window entry back onto its pixel.

    Parameters
    ----------
    cols : array, shape (N, C, OH, OW, kh, kw)
    input_shape : tuple
        ``(N, C, H, W)``, the shape of the images ``im2col`` was applied to.
    stride, padding : int

    Returns
    -------
    x : array, shape (N, C, H, W)
        ``x[n, c, y, z] = Σ cols[n, c, i, j, a, b]`` over all windows ``(i, j)`` and offsets
        ``(a, b)`` with ``(i·s + a − p, j·s + b − p) = (y, z)``.
    """
    N, C, OH, OW, kh, kw = cols.shape
    H, W = input_shape[-2:]
    Hp, Wp = H + 2 * padding, W + 2 * padding
    total = None
    for a in range(kh):
        for b in range(kw):
            # The entries at offset (a, b) of all windows sit on a grid with spacing `stride`
            # that starts at pixel (a, b): dilate onto that grid, then shift it there.
            grid = dilate(cols[:, :, :, :, a, b], stride)
            gh, gw = grid.shape[-2:]
            shifted = np.pad(grid, ((0, 0), (0, 0), (a, Hp - a - gh), (b, Wp - b - gw)))
            total = shifted if total is None else total + shifted
    return total[:, :, padding: padding + H, padding: padding + W]
