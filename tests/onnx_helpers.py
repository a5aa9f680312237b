"""Shared by the ONNX tests: graphs built with ``onnx.helper`` and slow NumPy references.

The references are written from the operators' definitions with explicit loops and index
arithmetic (no im2col, no padding tricks), independently of ``layers.onnx``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import hyperdual as hd

ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
        np.dtype(np.int64): TensorProto.INT64, np.dtype(np.bool_): TensorProto.BOOL}


def make_model(nodes, initializers, inputs, outputs, opset=17, name="test"):
    """An ONNX model from nodes, ``{name: array}`` initializers, ``{name: array}`` data inputs
    (the batch axis symbolic) and ``[(name, dtype)]`` outputs."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, ELEM[np.asarray(a).dtype],
                                       ["batch"] + list(np.shape(a)[1:]) if np.ndim(a) else [])
         for n, a in inputs.items()],
        [helper.make_tensor_value_info(n, ELEM[np.dtype(d)], None) for n, d in outputs],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def quadratic_readout(outputs, w, u):
    """``Σ_k Σ w_k ⊙ y_k + ½ Σ u_k ⊙ y_k²``: a scalar whose Hessian is non-zero for every op."""
    total = 0.0
    for y, wk, uk in zip(outputs, w, u):
        dtype = y.real.dtype
        total = total + np.sum(y * wk.astype(dtype)) + 0.5 * np.sum(uk.astype(dtype) * y * y)
    return total


def onnxruntime_outputs(model, inputs):
    """The outputs of ``model`` by onnxruntime (CPU), or None when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def check_derivatives(f, theta, dtype, seed, what, assert_close):
    """Hyper-dual ``∇f·v1`` and ``v1ᵀ∇²f v2`` in ``dtype`` against the bicomplex step and
    central differences (float64 references), along random directions."""
    rng = np.random.default_rng(seed)
    v1, v2 = rng.normal(size=(2,) + theta.shape)
    value, d1, _, d12 = hd.directional(f, theta.astype(dtype), v1.astype(dtype),
                                       v2.astype(dtype))
    assert np.asarray(d12).dtype == dtype, what
    b_value, b1, b12 = hd.bicomplex_directional(f, theta, v1, v2)
    assert_close(value, b_value, dtype, "exact", f"{what}: value vs bicomplex")
    assert_close(d1, b1, dtype, "exact", f"{what}: ∇f·v1 vs bicomplex step")
    assert_close(d12, b12, dtype, "exact", f"{what}: v1ᵀHv2 vs bicomplex step")
    fd1, fd12 = hd.fd_directional(f, theta, v1, v2)
    assert_close(d1, fd1, dtype, "fd_first", f"{what}: ∇f·v1 vs central differences")
    assert_close(d12, fd12, dtype, "fd_second", f"{what}: v1ᵀHv2 vs central differences")
    return d1, d12


# --------------------------------------------------------------------------- references
def ref_conv(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1):
    """``y[n, m, i, j] = b[m] + Σ_{c, a, e} w[m, c, a, e] x[n, g·Cg + c, i s0 + a d0 - p0,
    j s1 + e d1 - p1]`` (zero outside the image), m in group g."""
    N, C, H, W = x.shape
    M, Cg, kh, kw = w.shape
    Mg = M // group
    OH = (H + pads[0] + pads[2] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    OW = (W + pads[1] + pads[3] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    y = np.zeros((N, M, OH, OW))
    for n, m, i, j in itertools.product(range(N), range(M), range(OH), range(OW)):
        g = m // Mg
        total = 0.0 if b is None else b[m]
        for c, a, e in itertools.product(range(Cg), range(kh), range(kw)):
            r = i * strides[0] + a * dilations[0] - pads[0]
            s = j * strides[1] + e * dilations[1] - pads[1]
            if 0 <= r < H and 0 <= s < W:
                total += w[m, c, a, e] * x[n, g * Cg + c, r, s]
        y[n, m, i, j] = total
    return y


def ref_conv_transpose(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                       group=1):
    """Scatter: ``y[n, g·Mg + m, i s0 + a - p0, j s1 + e - p1] += x[n, c, i, j] w[c, m, a, e]``."""
    N, C, H, W = x.shape
    _, Mg, kh, kw = w.shape
    Cg = C // group
    OH = strides[0] * (H - 1) + output_padding[0] + kh - pads[0] - pads[2]
    OW = strides[1] * (W - 1) + output_padding[1] + kw - pads[1] - pads[3]
    y = np.zeros((N, Mg * group, OH, OW))
    for n, c, i, j, m, a, e in itertools.product(range(N), range(C), range(H), range(W),
                                                 range(Mg), range(kh), range(kw)):
        r, s = i * strides[0] + a - pads[0], j * strides[1] + e - pads[1]
        if 0 <= r < OH and 0 <= s < OW:
            y[n, (c // Cg) * Mg + m, r, s] += x[n, c, i, j] * w[c, m, a, e]
    if b is not None:
        y += b[None, :, None, None]
    return y


def _pool_size(size, k, s, d, pb, pe, ceil_mode):
    extent = (k - 1) * d + 1
    span = size + pb + pe - extent
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + pb:
        out -= 1
    return out


def ref_pool(x, kind, kernel, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
             ceil_mode=0, count_include_pad=0):
    """Max or average pooling by index arithmetic. Max: over the entries inside the image
    (padding never wins). Average: sum of those entries / their number, or / the number of
    window positions inside the padded image when ``count_include_pad``."""
    N, C, H, W = x.shape
    OH = _pool_size(H, kernel[0], strides[0], dilations[0], pads[0], pads[2], ceil_mode)
    OW = _pool_size(W, kernel[1], strides[1], dilations[1], pads[1], pads[3], ceil_mode)
    y = np.zeros((N, C, OH, OW))
    for n, c, i, j in itertools.product(range(N), range(C), range(OH), range(OW)):
        values, positions = [], 0
        for a, e in itertools.product(range(kernel[0]), range(kernel[1])):
            r = i * strides[0] + a * dilations[0] - pads[0]
            s = j * strides[1] + e * dilations[1] - pads[1]
            if -pads[0] <= r < H + pads[2] and -pads[1] <= s < W + pads[3]:
                positions += 1
            if 0 <= r < H and 0 <= s < W:
                values.append(x[n, c, r, s])
        if kind == "max":
            y[n, c, i, j] = max(values)
        else:
            y[n, c, i, j] = sum(values) / (positions if count_include_pad else len(values))
    return y


def ref_softmax(x, axis):
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def ref_layer_norm(x, scale, bias, axis, eps):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def ref_gelu(x, approximate="none"):
    import scipy.special
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + scipy.special.erf(x / math.sqrt(2)))


def float32_exact(array):
    """``array`` rounded to float32 and back: values a float32 graph holds exactly."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


__all__ = ["onnx", "make_model", "quadratic_readout", "onnxruntime_outputs",
           "check_derivatives", "ref_conv", "ref_conv_transpose", "ref_pool", "ref_softmax",
           "ref_layer_norm", "ref_gelu", "float32_exact", "helper", "numpy_helper",
           "TensorProto"]
