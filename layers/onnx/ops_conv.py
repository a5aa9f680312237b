"""Convolution, transposed convolution and pooling over NCHW images (and NCL sequences).

All of them look at the windows of ``layers.im2col``: the input is padded explicitly
(asymmetric pads, ``auto_pad``, ceil mode), ``im2col`` with stride 1 collects every window of
the *dilated* kernel's extent, and slicing keeps every stride-th window and every
dilation-th offset:

    cols[n, i, j, a, b, c] = x_pad[n, c, i·s_h + a·d_h, j·s_w + b·d_w]     (N, OH, OW, kh, kw, C)

A convolution is then one matrix product of these windows with the kernel (an ``einsum`` per
group when ``group > 1``), a max-pool a selection of the first maximal entry by real value, an
average pool a sum divided by the number of counted entries. The transposed convolution is
the adjoint: one matrix product, then ``layers.col2im`` adds the windows back onto the image.
One-dimensional inputs (N, C, L) run as images of height 1.
"""

from __future__ import annotations

import math

import numpy as np

from ..im2col import col2im, im2col
from .registry import REQUIRED, UnsupportedOnnxError, one_of, op

_AUTO_PAD = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def _check_spatial(attrs, opset):
    one_of(attrs["auto_pad"], _AUTO_PAD, "auto_pad")
    if attrs.get("ceil_mode") not in (None, 0, 1):
        raise UnsupportedOnnxError(f"ceil_mode={attrs['ceil_mode']!r} is not supported")
    if attrs.get("storage_order", 0) != 0:
        raise UnsupportedOnnxError("storage_order=1 is not supported")


def _geometry(attrs, spatial, kernel):
    """Strides, dilations, begin and end pads per spatial axis (``auto_pad`` resolved)."""
    k = len(kernel)
    strides = attrs["strides"] or [1] * k
    dilations = attrs.get("dilations") or [1] * k
    pads = attrs["pads"] or [0] * (2 * k)
    if not len(strides) == len(dilations) == k or len(pads) != 2 * k:
        raise UnsupportedOnnxError(
            f"strides {strides}, dilations {dilations} and pads {pads} do "
            f"not match a {k}-D kernel {kernel}"
        )
    if min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise UnsupportedOnnxError("strides and dilations must be positive, pads non-negative")
    begin, end = list(pads[:k]), list(pads[k:])
    mode = attrs["auto_pad"]
    if mode == "VALID":
        begin, end = [0] * k, [0] * k
    elif mode in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(k):
            out = -(-spatial[i] // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i], 0)
            small, large = total // 2, total - total // 2
            begin[i], end[i] = (small, large) if mode == "SAME_UPPER" else (large, small)
    return list(strides), list(dilations), begin, end


def _as_images(x, *rest):
    """One spatial axis (N, C, L) becomes (N, C, 1, L); two stay; more are refused."""
    if x.ndim == 4:
        return False, x
    if x.ndim == 3:
        return True, x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    raise UnsupportedOnnxError(
        f"only 1-D and 2-D inputs (N, C, L) or (N, C, H, W) are "
        f"supported, got shape {tuple(x.shape)}"
    )


def _lift_attrs(attrs, one_d):
    """Attributes of a 1-D operator as those of the equivalent 2-D one (height 1)."""
    if not one_d:
        return attrs
    lifted = dict(attrs)
    for key in ("strides", "dilations", "kernel_shape", "output_padding"):
        if lifted.get(key):
            lifted[key] = [1] + list(lifted[key])
    if lifted.get("pads"):
        lifted["pads"] = [0, lifted["pads"][0], 0, lifted["pads"][1]]
    return lifted


def _windows(x, kernel, strides, dilations, begin, end, fill):
    """The windows (N, OH, OW, kh, kw, C) of ``x`` (N, C, H, W) padded by ``fill``."""
    if any(begin) or any(end):
        x = np.pad(
            x,
            ((0, 0), (0, 0), (begin[0], end[0]), (begin[1], end[1])),
            mode="constant",
            constant_values=fill,
        )
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if extent[0] > x.shape[2] or extent[1] > x.shape[3]:
        raise UnsupportedOnnxError(
            f"a window of extent {tuple(extent)} does not fit the padded input {tuple(x.shape[2:])}"
        )
    cols = im2col(x, tuple(extent), stride=1)
    return cols[:, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1], :]


def _channels_first(out, one_d):
    """(N, OH, OW, C) -> (N, C, OH, OW), or (N, C, OW) for a 1-D operator."""
    out = out.transpose(0, 3, 1, 2)
    return out.reshape(out.shape[0], out.shape[1], out.shape[3]) if one_d else out


# --------------------------------------------------------------------------- convolution
_CONV_ATTRS = {
    "auto_pad": "NOTSET",
    "dilations": None,
    "group": 1,
    "kernel_shape": None,
    "pads": None,
    "strides": None,
}


@op("Conv", attrs=_CONV_ATTRS, check=_check_spatial)
def conv(ctx, attrs, x, weight, bias=None):
    """Cross-correlation, ``y[n, m] = b[m] + Σ W[m, c] ⋆ x[n, group(m) channels]``.

    Shapes: ``x`` (N, C, H, W), ``weight`` (M, C / group, kh, kw), ``bias`` (M,).
    """
    one_d, x = _as_images(x)
    if one_d:
        weight = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    attrs = _lift_attrs(attrs, one_d)
    M, Cg, kh, kw = weight.shape
    G, C = attrs["group"], x.shape[1]
    if C != Cg * G or M % G:
        raise UnsupportedOnnxError(
            f"{C} input channels, group {G} and a weight of shape "
            f"{tuple(weight.shape)} do not fit together"
        )
    if attrs["kernel_shape"] and list(attrs["kernel_shape"]) != [kh, kw]:
        raise UnsupportedOnnxError(
            f"kernel_shape {attrs['kernel_shape']} differs from the weight's {[kh, kw]}"
        )
    geometry = _geometry(attrs, x.shape[2:], (kh, kw))
    cols = _windows(x, (kh, kw), *geometry, fill=0.0)  # (N, OH, OW, kh, kw, C)
    N, OH, OW = cols.shape[:3]
    if G == 1:
        rows = cols.reshape(N * OH * OW, kh * kw * C)
        out = rows @ weight.transpose(0, 2, 3, 1).reshape(M, -1).T  # (N·OH·OW, M)
    else:
        grouped = cols.reshape(N, OH, OW, kh, kw, G, Cg)
        kernels = weight.reshape(G, M // G, Cg, kh, kw)
        out = np.einsum("nijabgc,gmcab->nijgm", grouped, kernels).reshape(N * OH * OW, M)
    if bias is not None:
        out = out + bias
    return _channels_first(out.reshape(N, OH, OW, M), one_d)


def _check_conv_transpose(attrs, opset):
    one_of(attrs["auto_pad"], ("NOTSET",), "auto_pad")
    if attrs["output_shape"]:
        raise UnsupportedOnnxError("output_shape is not supported (give pads instead)")
    if attrs["dilations"] and set(attrs["dilations"]) != {1}:
        raise UnsupportedOnnxError("dilations other than 1 are not supported")
    if attrs["strides"] and len(set(attrs["strides"])) > 1:
        raise UnsupportedOnnxError("different strides per axis are not supported")


@op(
    "ConvTranspose",
    attrs={**_CONV_ATTRS, "output_padding": None, "output_shape": None},
    check=_check_conv_transpose,
)
def conv_transpose(ctx, attrs, x, weight, bias=None):
    """The adjoint of ``Conv``: every input pixel spreads ``x[n, c, i, j] W[c, m]`` over the
    output window at ``(i·s, j·s)``; ``col2im`` adds the windows up, the pads are cropped.

    Shapes: ``x`` (N, C, H, W), ``weight`` (C, M / group, kh, kw), ``bias`` (M,); output
    ``OH = s (H - 1) + output_padding + kh - pad_begin - pad_end``.
    """
    one_d, x = _as_images(x)
    if one_d:
        weight = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    attrs = _lift_attrs(attrs, one_d)
    C, Mg, kh, kw = weight.shape
    G = attrs["group"]
    N, _, H, W = x.shape
    if x.shape[1] != C or C % G:
        raise UnsupportedOnnxError(
            f"{x.shape[1]} input channels and a weight of shape "
            f"{tuple(weight.shape)} with group {G} do not fit together"
        )
    s = (attrs["strides"] or [1, 1])[0]
    extra = attrs["output_padding"] or [0, 0]
    pads = attrs["pads"] or [0, 0, 0, 0]
    full = (s * (H - 1) + kh + extra[0], s * (W - 1) + kw + extra[1])
    Cg, pieces = C // G, []
    for g in range(G):
        xg = x[:, g * Cg : (g + 1) * Cg].transpose(0, 2, 3, 1).reshape(N * H * W, Cg)
        wg = weight[g * Cg : (g + 1) * Cg].reshape(Cg, Mg * kh * kw)
        cols = (xg @ wg).reshape(N, H, W, Mg, kh, kw).transpose(0, 1, 2, 4, 5, 3)
        pieces.append(col2im(cols, (N, Mg) + full, stride=s, padding=0))
    out = pieces[0] if G == 1 else np.concatenate(pieces, axis=1)
    out = out[:, :, pads[0] : full[0] - pads[2], pads[1] : full[1] - pads[3]]
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    return out.reshape(out.shape[0], out.shape[1], out.shape[3]) if one_d else out


# --------------------------------------------------------------------------- pooling
_POOL_ATTRS = {
    "auto_pad": "NOTSET",
    "ceil_mode": 0,
    "dilations": None,
    "kernel_shape": REQUIRED,
    "pads": None,
    "strides": None,
}


def _pool_geometry(attrs, spatial):
    """Geometry of a pooling, with the extra end padding that ceil mode needs.

    Returns ``(kernel, strides, dilations, begin, end, extra)``; ``extra`` is the part of
    ``end`` added for ceil mode (never counted by average pooling). As in PyTorch and ONNX, a
    last window that would start in the end padding is dropped.
    """
    kernel = list(attrs["kernel_shape"])
    if len(kernel) != 2:
        raise UnsupportedOnnxError(f"kernel_shape {kernel} must be 1-D or 2-D")
    strides, dilations, begin, end = _geometry(attrs, spatial, kernel)
    extra = [0, 0]
    if attrs["ceil_mode"]:
        for i in range(2):
            padded = spatial[i] + begin[i] + end[i]
            extent = (kernel[i] - 1) * dilations[i] + 1
            out = -(-(padded - extent) // strides[i]) + 1
            if (out - 1) * strides[i] >= spatial[i] + begin[i]:
                out -= 1
            extra[i] = max((out - 1) * strides[i] + extent - padded, 0)
    return kernel, strides, dilations, begin, [e + x for e, x in zip(end, extra)], extra


@op("MaxPool", attrs={**_POOL_ATTRS, "storage_order": 0}, check=_check_spatial)
def max_pool(ctx, attrs, x):
    """The first maximal entry (by real value) of each window; padding is ``-inf``."""
    one_d, x = _as_images(x)
    kernel, strides, dilations, begin, end, _ = _pool_geometry(
        _lift_attrs(attrs, one_d), x.shape[2:]
    )
    cols = _windows(x, kernel, strides, dilations, begin, end, fill=-np.inf)
    windows = cols.reshape(cols.shape[:3] + (math.prod(kernel), cols.shape[-1]))
    first_max = np.argmax(windows.real, axis=3)[:, :, :, None, :]
    return _channels_first(np.take_along_axis(windows, first_max, axis=3)[:, :, :, 0, :], one_d)


@op("AveragePool", attrs={**_POOL_ATTRS, "count_include_pad": 0}, check=_check_spatial)
def average_pool(ctx, attrs, x):
    """Window sums divided by the number of counted entries: the entries of ``x``, plus the
    pads when ``count_include_pad`` (never the extra end padding of ceil mode)."""
    one_d, x = _as_images(x)
    kernel, strides, dilations, begin, end, extra = _pool_geometry(
        _lift_attrs(attrs, one_d), x.shape[2:]
    )
    cols = _windows(x, kernel, strides, dilations, begin, end, fill=0.0)
    sums = cols.reshape(cols.shape[:3] + (math.prod(kernel), cols.shape[-1])).sum(axis=3)
    counted = ctx.xp.ones((1, 1) + tuple(x.shape[2:]), dtype=ctx.real_dtype)
    if attrs["count_include_pad"]:
        counted = np.pad(
            counted,
            ((0, 0), (0, 0), (begin[0], end[0] - extra[0]), (begin[1], end[1] - extra[1])),
            constant_values=1.0,
        )
        begin, end = [0, 0], extra
    counts = _windows(counted, kernel, strides, dilations, begin, end, fill=0.0)
    counts = counts.reshape(counts.shape[:3] + (-1,)).sum(axis=3)[..., None]  # (1, OH, OW, 1)
    return _channels_first(sums / counts, one_d)


@op("GlobalAveragePool")
def global_average_pool(ctx, attrs, x):
    return np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)
