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

ELEM = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.bool_): TensorProto.BOOL,
}


def make_model(nodes, initializers, inputs, outputs, opset=17, name="test"):
    """An ONNX model from nodes, ``{name: array}`` initializers, ``{name: array}`` data inputs
    (the batch axis symbolic) and ``[(name, dtype)]`` outputs."""
    graph = helper.make_graph(
        nodes,
        name,
        [
            helper.make_tensor_value_info(
                n,
                ELEM[np.asarray(a).dtype],
                ["batch"] + list(np.shape(a)[1:]) if np.ndim(a) else [],
            )
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, ELEM[np.dtype(d)], None) for n, d in outputs],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers.items()],
    )
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
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, inputs)


def check_derivatives(f, theta, dtype, seed, what, assert_close):
    """Hyper-dual ``∇f·v1`` and ``v1ᵀ∇²f v2`` in ``dtype`` against the bicomplex step and
    central differences (float64 references), along random directions (drawn on the host,
    used on θ's device)."""
    rng = np.random.default_rng(seed)
    v1, v2 = hd.namespace(theta).asarray(rng.normal(size=(2,) + theta.shape))  # on θ's device
    value, d1, _, d12 = hd.directional(f, theta.astype(dtype), v1.astype(dtype), v2.astype(dtype))
    assert hd.to_numpy(d12).dtype == dtype, what
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


def ref_conv_transpose(
    x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0), group=1
):
    """Scatter: ``y[n, g·Mg + m, i s0 + a - p0, j s1 + e - p1] += x[n, c, i, j] w[c, m, a, e]``."""
    N, C, H, W = x.shape
    _, Mg, kh, kw = w.shape
    Cg = C // group
    OH = strides[0] * (H - 1) + output_padding[0] + kh - pads[0] - pads[2]
    OW = strides[1] * (W - 1) + output_padding[1] + kw - pads[1] - pads[3]
    y = np.zeros((N, Mg * group, OH, OW))
    for n, c, i, j, m, a, e in itertools.product(
        range(N), range(C), range(H), range(W), range(Mg), range(kh), range(kw)
    ):
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


def ref_pool(
    x,
    kind,
    kernel,
    strides=(1, 1),
    pads=(0, 0, 0, 0),
    dilations=(1, 1),
    ceil_mode=0,
    count_include_pad=0,
):
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
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + scipy.special.erf(x / math.sqrt(2)))


def float32_exact(array):
    """``array`` rounded to float32 and back: values a float32 graph holds exactly."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


# --------------------------------------------------------------------------- two small models
def _node(op_type, inputs, outputs, **attrs):
    return helper.make_node(op_type, inputs, outputs, name=outputs[0], **attrs)


def _const(name, value):
    return helper.make_node(
        "Constant", [], [name], name=name, value=numpy_helper.from_array(np.asarray(value))
    )


def _batch_reshape(x, out, tail):
    """Exporter-style reshape keeping the symbolic batch: Shape → Gather → Unsqueeze → Concat."""
    return [
        _node("Shape", [x], [f"{out}_shape"]),
        _const(f"{out}_zero", np.array(0, dtype=np.int64)),
        _node("Gather", [f"{out}_shape", f"{out}_zero"], [f"{out}_n"], axis=0),
        _const(f"{out}_axes", np.array([0], dtype=np.int64)),
        _node("Unsqueeze", [f"{out}_n", f"{out}_axes"], [f"{out}_n1"]),
        _const(f"{out}_tail", np.array(tail, dtype=np.int64)),
        _node("Concat", [f"{out}_n1", f"{out}_tail"], [f"{out}_target"], axis=0),
        _node("Reshape", [x, f"{out}_target"], [out]),
    ]


def cnn_model(seed=0):
    """A small CNN with padding and batch norm, D = 132, input (batch, 2, 6, 6), 3 classes:
    Conv(pad 1) → BatchNorm → Relu → MaxPool 2 → Conv(pads 0,0,1,1, no bias) → Tanh →
    GlobalAveragePool → exporter-style flatten → Gemm."""
    rng = np.random.default_rng(seed)
    params = {
        "conv1.weight": 0.5 * rng.normal(size=(3, 2, 3, 3)),
        "conv1.bias": 0.1 * rng.normal(size=3),
        "bn.weight": rng.uniform(0.5, 1.5, 3),
        "bn.bias": 0.1 * rng.normal(size=3),
        "bn.running_mean": 0.1 * rng.normal(size=3),
        "bn.running_var": rng.uniform(0.5, 1.5, 3),
        "conv2.weight": 0.5 * rng.normal(size=(4, 3, 2, 2)),
        "fc.weight": rng.normal(size=(3, 4)),
        "fc.bias": 0.1 * rng.normal(size=3),
    }
    nodes = [
        _node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], pads=[1, 1, 1, 1]),
        _node(
            "BatchNormalization",
            ["c1", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
            ["bn"],
            epsilon=2.0**-10,
        ),
        _node("Relu", ["bn"], ["r1"]),
        _node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        _node("Conv", ["p1", "conv2.weight"], ["c2"], pads=[0, 0, 1, 1]),
        _node("Tanh", ["c2"], ["t2"]),
        _node("GlobalAveragePool", ["t2"], ["g"]),
        *_batch_reshape("g", "flat", [-1]),
        _node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ]
    x = np.zeros((1, 2, 6, 6))
    return make_model(nodes, params, {"x": x}, [("logits", np.float64)], name="cnn")


def cnn_reference(params, x):
    """The CNN in plain NumPy (loop convolution and pooling)."""
    h = ref_conv(x, params["conv1.weight"], params["conv1.bias"], pads=(1, 1, 1, 1))
    s = (params["bn.weight"] / np.sqrt(params["bn.running_var"] + 2.0**-10))[:, None, None]
    h = (h - params["bn.running_mean"][:, None, None]) * s + params["bn.bias"][:, None, None]
    h = ref_pool(np.maximum(h, 0), "max", (2, 2), (2, 2))
    h = np.tanh(ref_conv(h, params["conv2.weight"], pads=(0, 0, 1, 1)))
    return h.mean(axis=(2, 3)) @ params["fc.weight"].T + params["fc.bias"]


def _linear(x, name, out):
    return [
        _node("MatMul", [x, f"{name}.weight"], [f"{out}_mm"]),
        _node("Add", [f"{out}_mm", f"{name}.bias"], [out]),
    ]


def transformer_model(seed=0, d=4, heads=2, hidden=8, classes=3):
    """A transformer block, input (batch, T, d): multi-head self-attention (linear
    projections, scaled dot products, softmax), residual, LayerNormalization, an Erf-based
    GELU feed-forward layer, residual, a LayerNorm spelled out with ReduceMean/Sub/Pow/Sqrt/
    Div, mean pooling over T and a Gemm classifier. D = 187 for the defaults."""
    rng = np.random.default_rng(seed)
    dh = d // heads
    params = {}
    for name in ("q", "k", "v", "o"):
        params[f"{name}.weight"] = rng.normal(size=(d, d)) / np.sqrt(d)
        params[f"{name}.bias"] = 0.1 * rng.normal(size=d)
    params.update(
        {
            "ln1.weight": rng.uniform(0.5, 1.5, d),
            "ln1.bias": 0.1 * rng.normal(size=d),
            "ff1.weight": rng.normal(size=(d, hidden)) / np.sqrt(d),
            "ff1.bias": 0.1 * rng.normal(size=hidden),
            "ff2.weight": rng.normal(size=(hidden, d)) / np.sqrt(hidden),
            "ff2.bias": 0.1 * rng.normal(size=d),
            "ln2.weight": rng.uniform(0.5, 1.5, d),
            "ln2.bias": 0.1 * rng.normal(size=d),
            "cls.weight": rng.normal(size=(classes, d)),
            "cls.bias": 0.1 * rng.normal(size=classes),
        }
    )
    nodes = []
    for name in ("q", "k", "v"):
        nodes += _linear("x", name, name)
        nodes += _batch_reshape(name, f"{name}_heads", [-1, heads, dh])  # (N, T, h, dh)
    nodes += [
        _node("Transpose", ["q_heads"], ["qh"], perm=[0, 2, 1, 3]),  # (N, h, T, dh)
        _node("Transpose", ["k_heads"], ["khT"], perm=[0, 2, 3, 1]),  # (N, h, dh, T)
        _node("Transpose", ["v_heads"], ["vh"], perm=[0, 2, 1, 3]),
        _node("MatMul", ["qh", "khT"], ["scores"]),
        _const("scale", np.array(np.sqrt(dh))),
        _node("Div", ["scores", "scale"], ["scaled"]),
        _node("Softmax", ["scaled"], ["attn"], axis=-1),
        _node("MatMul", ["attn", "vh"], ["ctx_heads"]),
        _node("Transpose", ["ctx_heads"], ["ctx_t"], perm=[0, 2, 1, 3]),
        _const("merge", np.array([0, 0, -1], dtype=np.int64)),
        _node("Reshape", ["ctx_t", "merge"], ["ctx"]),
    ]
    nodes += _linear("ctx", "o", "attn_out")
    nodes += [
        _node("Add", ["x", "attn_out"], ["res1"]),
        _node(
            "LayerNormalization",
            ["res1", "ln1.weight", "ln1.bias"],
            ["h1"],
            axis=-1,
            epsilon=2.0**-10,
        ),
    ]
    nodes += _linear("h1", "ff1", "f1")
    nodes += [
        _const("sqrt2", np.array(np.sqrt(2.0))),
        _const("one", np.array(1.0)),
        _const("half", np.array(0.5)),
        _node("Div", ["f1", "sqrt2"], ["f1s"]),
        _node("Erf", ["f1s"], ["erf"]),
        _node("Add", ["erf", "one"], ["erf1"]),
        _node("Mul", ["f1", "erf1"], ["g0"]),
        _node("Mul", ["g0", "half"], ["gelu"]),
    ]
    nodes += _linear("gelu", "ff2", "f2")
    nodes += [
        _node("Add", ["h1", "f2"], ["res2"]),
        _const("last", np.array([-1], dtype=np.int64)),
        _node("ReduceMean", ["res2"], ["mu"], axes=[-1]),
        _node("Sub", ["res2", "mu"], ["centred"]),
        _const("two", np.array(2.0)),
        _node("Pow", ["centred", "two"], ["sq"]),
        _node("ReduceMean", ["sq"], ["var"], axes=[-1]),
        _const("eps", np.array(2.0**-10)),
        _node("Add", ["var", "eps"], ["var_eps"]),
        _node("Sqrt", ["var_eps"], ["std"]),
        _node("Div", ["centred", "std"], ["normed"]),
        _node("Mul", ["normed", "ln2.weight"], ["scaled2"]),
        _node("Add", ["scaled2", "ln2.bias"], ["h2"]),
        _node("ReduceMean", ["h2"], ["pooled"], axes=[1], keepdims=0),
        _node("Gemm", ["pooled", "cls.weight", "cls.bias"], ["logits"], transB=1),
    ]
    x = np.zeros((1, 3, d))
    return make_model(
        nodes, params, {"x": x}, [("logits", np.float64)], opset=17, name="transformer"
    )


def transformer_reference(p, x, heads=2):
    """The transformer block in plain NumPy."""
    import scipy.special

    N, T, d = x.shape
    dh = d // heads

    def split(h):
        return h.reshape(N, T, heads, dh).transpose(0, 2, 1, 3)

    q, k, v = (split(x @ p[f"{n}.weight"] + p[f"{n}.bias"]) for n in "qkv")
    attn = ref_softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh), -1)
    ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(N, T, d)
    h1 = ref_layer_norm(
        x + ctx @ p["o.weight"] + p["o.bias"], p["ln1.weight"], p["ln1.bias"], -1, 2.0**-10
    )
    f = h1 @ p["ff1.weight"] + p["ff1.bias"]
    f = 0.5 * f * (1 + scipy.special.erf(f / np.sqrt(2)))
    h2 = ref_layer_norm(
        h1 + f @ p["ff2.weight"] + p["ff2.bias"], p["ln2.weight"], p["ln2.bias"], -1, 2.0**-10
    )
    return h2.mean(axis=1) @ p["cls.weight"].T + p["cls.bias"]


def as_float32(proto):
    """A copy of ``proto`` with every double tensor, constant and declared type made float32
    (onnxruntime has no double kernels for several operators, e.g. Conv and Erf)."""
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    tensors = list(model.graph.initializer) + [
        a.t for n in model.graph.node for a in n.attribute if a.HasField("t")
    ]
    for tensor in tensors:
        if tensor.data_type == TensorProto.DOUBLE:
            tensor.CopyFrom(
                numpy_helper.from_array(
                    numpy_helper.to_array(tensor).astype(np.float32), tensor.name
                )
            )
    for info in list(model.graph.input) + list(model.graph.output):
        if info.type.tensor_type.elem_type == TensorProto.DOUBLE:
            info.type.tensor_type.elem_type = TensorProto.FLOAT
    return model
