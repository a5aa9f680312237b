"""Sliding windows over images ("im2col") and their adjoint ("col2im").

Convolution and pooling both look at every ``kh × kw`` window of a (zero-padded) image.
``im2col`` collects those windows as a strided *view* (no copy when there is no padding):

    x (N, C, H, W)  →  cols (N, OH, OW, kh, kw, C),
    cols[n, i, j, a, b, c] = x_padded[n, c, i·s + a, j·s + b]

with ``OH = (H + 2p − kh) // s + 1`` (likewise ``OW``). A convolution is then one matrix
product over the last three axes, and a pooling a reduction over ``(kh, kw)``.

The channel axis is put *last* on purpose: gathering the windows into a matrix, and adding
them back in ``col2im``, then moves runs of ``C`` consecutive numbers instead of single
numbers scattered in memory (``col2im`` of the MNIST CNN's second convolution: about twice
as fast). The layers return NCHW *views*, so the interface stays NCHW.

``im2col`` is linear, so back-propagation needs its transpose ``col2im``: every window entry
is *added* back to the pixel it was read from (pixels covered by several windows receive
several contributions).
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Operand
from hyperdual.backend import namespace
from hyperdual.multipart import MultiPartArray

from .base import check_positive_int


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Number of windows along one axis: ``(size + 2·padding − kernel) // stride + 1``."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(
            f"a window of {kernel} (padding {padding}) does not fit an input of size {size}"
        )
    return out


def pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    """``value`` as a pair of positive ints (an int ``k`` means ``(k, k)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
        return tuple(check_positive_int(v, what) for v in value)
    k = check_positive_int(value, what)
    return (k, k)


def im2col_rows(
    x: Operand, kernel_size: int | tuple[int, int], stride: int = 1, padding: int = 0
) -> Operand:
    """The windows of ``x`` as the rows of one matrix per number part: the conv's left factor.

    Parameters
    ----------
    x : array, shape (N, C, H, W)
        Any number type.

    Returns
    -------
    rows : array, shape (N·OH·OW, kh·kw·C)
        Contiguous (the one copy im2col needs). For a multi-part number all parts are windowed
        and copied by one call on the parts stacked along a leading axis (``map_stacked``),
        so each part's rows are a contiguous block of one buffer.
    (N, OH, OW) : tuple of int
    """

    def rows_of(images):  # (..., N, C, H, W) -> (..., N·OH·OW, kh·kw·C)
        cols = _windows_array(images, kernel_size, stride, padding, 0.0)
        row = cols.shape[-3] * cols.shape[-2] * cols.shape[-1]  # kh·kw·C
        return cols.reshape(cols.shape[:-6] + (-1, row))

    kh, kw = kernel_size
    N, _, H, W = x.shape
    OH, OW = output_size(H, kh, stride, padding), output_size(W, kw, stride, padding)
    rows = x.map_stacked(rows_of) if isinstance(x, MultiPartArray) else rows_of(x)
    return rows, (N, OH, OW)


def _windows_array(x, kernel_size, stride, padding, fill):
    """``im2col`` of a plain array with any leading axes: (..., N, C, H, W) → (..., N, OH, OW,
    kh, kw, C), a strided view (of a padded copy when ``padding > 0``)."""
    kh, kw = kernel_size
    if padding:
        widths = [(0, 0)] * (x.ndim - 2) + [(padding, padding)] * 2
        x = namespace(x).pad(x, widths, constant_values=fill)
    windows = namespace(x).lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(-2, -1))
    windows = windows[..., ::stride, ::stride, :, :]  # (..., N, C, OH, OW, kh, kw)
    lead = tuple(range(x.ndim - 4))
    n, c, oh, ow, a, b = (len(lead) + i for i in range(6))
    return windows.transpose(lead + (n, oh, ow, a, b, c))


def im2col(
    x: Operand,
    kernel_size: int | tuple[int, int],
    stride: int = 1,
    padding: int = 0,
    fill: float = 0.0,
) -> Operand:
    """All ``kh × kw`` windows of the images ``x``, channels last.

    Parameters
    ----------
    x : array, shape (N, C, H, W)
        Any number type.
    kernel_size : (int, int)
        ``(kh, kw)``.
    stride, padding : int
    fill : float
        Value of the padding (0 for convolution, ``-inf`` for max pooling).

    Returns
    -------
    cols : array, shape (N, OH, OW, kh, kw, C)
        A strided view of ``x`` (of its padded copy when ``padding > 0``).
    """
    if isinstance(x, MultiPartArray):
        return x.map_parts(
            lambda part, lead: _windows_array(
                part, kernel_size, stride, padding, fill if lead == 0 else 0.0
            )
        )
    return _windows_array(x, kernel_size, stride, padding, fill)


def col2im(
    cols: Operand, input_shape: tuple[int, ...], stride: int = 1, padding: int = 0
) -> Operand:
    """The transpose of ``im2col``: add every window entry back onto its pixel.

    Parameters
    ----------
    cols : array, shape (N, OH, OW, kh, kw, C)
        Any number type.
    input_shape : tuple
        ``(N, C, H, W)``, the shape of the images ``im2col`` was applied to.
    stride, padding : int

    Returns
    -------
    x : array, shape (N, C, H, W)
        ``x[n, c, y, z] = Σ cols[n, i, j, a, b, c]`` over all windows ``(i, j)`` and offsets
        ``(a, b)`` with ``(i·s + a − p, j·s + b − p) = (y, z)``. A transposed view of
        channels-last memory.

    Notes
    -----
    ``col2im`` is linear, so on a multi-part number (hyper-dual, bicomplex) it acts on every
    component array alike (``map_parts``); on one array it accumulates the windows into a
    zero image.
    """
    if isinstance(cols, MultiPartArray):
        return cols.map_parts(lambda part, lead: _col2im_array(part, input_shape, stride, padding))
    return _col2im_array(cols, input_shape, stride, padding)


def _col2im_array(cols, input_shape, stride, padding):
    """``col2im`` of one plain array of shape (..., OH, OW, kh, kw, C) → (..., C, H, W)."""
    OH, OW, kh, kw, C = cols.shape[-5:]
    H, W = input_shape[-2:]
    lead = cols.shape[:-5]
    image = namespace(cols).zeros(lead + (H + 2 * padding, W + 2 * padding, C), dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            # Offset (a, b) of window (i, j) sits at pixel (i·s + a, j·s + b).
            rows = slice(a, a + stride * (OH - 1) + 1, stride)
            columns = slice(b, b + stride * (OW - 1) + 1, stride)
            image[..., rows, columns, :] += cols[..., a, b, :]
    image = image[..., padding : padding + H, padding : padding + W, :]
    return np.moveaxis(image, -1, -3)
