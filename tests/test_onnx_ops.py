"""Every operator of ``layers.onnx`` on a one-node graph built with ``onnx.helper``.

For each case the node's floating inputs are θ (initializers) or data (graph inputs):

* the primal output against a NumPy reference written from the operator's definition
  (``tests/onnx_helpers.py``; loops for convolution and pooling), in float64 and float32, and
  against onnxruntime where it is installed;
* ``F(θ) = Σ w ⊙ y + ½ Σ u ⊙ y²`` of the outputs: hyper-dual ``∇F·v1`` and ``v1ᵀ∇²F v2`` in
  float64 and float32 against the bicomplex step and central differences (float64), and the
  complex step through the graph against the hyper-dual first derivative.

The values are float32-exact, so the float32 graph that onnxruntime runs and the float64
evaluation see the same numbers. Inputs avoid kinks (ReLU at 0, max-pool ties).
"""

import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from backend_helpers import host, on_backend
from onnx_helpers import (
    check_derivatives,
    float32_exact,
    helper,
    make_model,
    numpy_helper,
    onnxruntime_outputs,
    quadratic_readout,
    ref_conv,
    ref_conv_transpose,
    ref_gelu,
    ref_layer_norm,
    ref_pool,
    ref_softmax,
)

import hyperdual as hd
from hyperdual.testing import assert_close
from layers import from_onnx
from layers.onnx import supported_ops

RNG = np.random.default_rng(20261201)
F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
INT_MAX = np.iinfo(np.int64).max


def normal(*shape, scale=1.0):
    return float32_exact(scale * RNG.normal(size=shape))


def positive(*shape):
    return float32_exact(RNG.uniform(0.5, 2.0, size=shape))


def away(*shape):
    """|x| ≥ 0.2: away from the kinks of ReLU, abs, and from zero denominators."""
    return float32_exact(RNG.choice([-1.0, 1.0], size=shape) * RNG.uniform(0.2, 2.0, size=shape))


def separated(*shape):
    """Distinct values 0.05 apart (no max-pool ties)."""
    n = math.prod(shape)
    return float32_exact(RNG.permutation((np.arange(n) - n / 2) * 0.05).reshape(shape))


def ints(*values):
    return np.array(values, dtype=np.int64)


class Case:
    """One node (plus ``pre`` nodes feeding it) with θ, data and constant inputs."""

    def __init__(
        self,
        name,
        op_type,
        inputs,
        ref,
        params=None,
        data=None,
        consts=None,
        attrs=None,
        outputs=1,
        opset=17,
        out_dtype=F32,
        pre=(),
        differentiable=True,
    ):
        self.name, self.op_type, self.opset = name, op_type, opset
        self.params, self.data, self.consts = params or {}, data or {}, consts or {}
        self.ref = ref
        self.differentiable = differentiable
        self.out_names = [f"Y{k}" for k in range(outputs)]
        self.nodes = list(pre) + [
            helper.make_node(
                op_type, inputs, self.out_names, name=f"{op_type}_under_test", **(attrs or {})
            )
        ]
        self.out_dtype = np.dtype(out_dtype)

    def arrays(self):
        return {**self.params, **self.data, **self.consts}

    def proto(self):
        initializers = {n: a.astype(np.float32) for n, a in self.params.items()}
        initializers.update(self.consts)
        inputs = {
            n: (a.astype(np.float32) if a.dtype.kind == "f" else a) for n, a in self.data.items()
        }
        return make_model(
            self.nodes,
            initializers,
            inputs,
            [(n, self.out_dtype) for n in self.out_names],
            opset=self.opset,
            name=self.name,
        )

    def expected(self):
        out = self.ref(**self.arrays())
        return list(out) if isinstance(out, tuple) else [out]


def _case_list():
    cases = []

    def add(*args, **kwargs):
        cases.append(Case(*args, **kwargs))

    # ------------------------------------------------------------ arithmetic, broadcasting
    add(
        "add_broadcast",
        "Add",
        ["A", "B"],
        lambda A, B: A + B,
        params={"A": normal(2, 3, 4), "B": normal(3, 1)},
    )
    add("sub", "Sub", ["A", "B"], lambda A, B: A - B, params={"A": normal(2, 3), "B": normal(3)})
    add(
        "mul_theta_theta",
        "Mul",
        ["A", "B"],
        lambda A, B: A * B,
        params={"A": normal(3), "B": normal(2, 3)},
    )
    add(
        "mul_theta_data",
        "Mul",
        ["A", "X"],
        lambda A, X: A * X,
        params={"A": normal(2, 3)},
        data={"X": normal(2, 3)},
    )
    add("div", "Div", ["A", "B"], lambda A, B: A / B, params={"A": normal(2, 3), "B": away(2, 3)})
    add(
        "div_by_data",
        "Div",
        ["A", "X"],
        lambda A, X: A / X,
        params={"A": normal(2, 3)},
        data={"X": away(2, 3)},
    )
    add(
        "div_integer_truncates",
        "Div",
        ["I", "J"],
        lambda I, J: np.array([3, -3, -3, 3]),
        consts={"I": ints(7, -7, 7, -7), "J": ints(2, 2, -2, -2)},
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "mod_integers",
        "Mod",
        ["I", "J"],
        lambda I, J: ints(1, 2, -2, -1),
        consts={"I": ints(7, -7, 7, -7), "J": ints(3, 3, -3, -3)},
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "mod_fmod",
        "Mod",
        ["I", "J"],
        lambda I, J: ints(1, -1, 1, -1),
        consts={"I": ints(7, -7, 7, -7), "J": ints(3, 3, -3, -3)},
        attrs={"fmod": 1},
        out_dtype=I64,
        differentiable=False,
    )
    add("neg", "Neg", ["A"], lambda A: -A, params={"A": normal(2, 3)})
    add(
        "pow_theta_exponent",
        "Pow",
        ["A", "B"],
        lambda A, B: A**B,
        params={"A": positive(2, 3), "B": normal(2, 3, scale=0.5)},
    )
    add(
        "pow_fractional",
        "Pow",
        ["A", "E"],
        lambda A, E: A**E,
        params={"A": positive(2, 3)},
        data={"E": np.array(2.5)},
    )
    add(
        "pow_cube_negative_base",
        "Pow",
        ["A", "E"],
        lambda A, E: A**3,
        params={"A": normal(2, 3)},
        data={"E": np.array(3.0)},
    )
    # ------------------------------------------------------------ elementwise functions
    for op_type, sample, ref in [
        ("Sqrt", positive, np.sqrt),
        ("Exp", normal, np.exp),
        ("Log", positive, np.log),
        ("Reciprocal", away, lambda a: 1 / a),
        ("Abs", away, np.abs),
        ("Tanh", lambda *s: normal(*s, scale=2.0), np.tanh),
        ("Erf", lambda *s: normal(*s, scale=1.5), None),
        ("Sigmoid", lambda *s: normal(*s, scale=3.0), lambda a: 1 / (1 + np.exp(-a))),
        ("Relu", away, lambda a: np.maximum(a, 0)),
    ]:
        if op_type == "Erf":
            import scipy.special

            ref = scipy.special.erf
        add(op_type.lower(), op_type, ["A"], lambda A, _r=ref: _r(A), params={"A": sample(2, 3, 2)})
    # ONNX stores float attributes in float32: the tests use float32-exact values.
    add(
        "leaky_relu",
        "LeakyRelu",
        ["A"],
        lambda A: np.where(A > 0, A, 0.25 * A),
        params={"A": away(3, 4)},
        attrs={"alpha": 0.25},
    )
    add(
        "gelu",
        "Gelu",
        ["A"],
        lambda A: ref_gelu(A),
        params={"A": normal(3, 4, scale=2.0)},
        opset=20,
    )
    add(
        "gelu_tanh",
        "Gelu",
        ["A"],
        lambda A: ref_gelu(A, "tanh"),
        params={"A": normal(3, 4, scale=2.0)},
        attrs={"approximate": "tanh"},
        opset=20,
    )
    add(
        "softmax_axis1",
        "Softmax",
        ["A"],
        lambda A: ref_softmax(A, 1),
        params={"A": normal(2, 3, 4, scale=2.0)},
        attrs={"axis": 1},
        opset=13,
    )
    add(
        "softmax_opset11_coerced_2d",
        "Softmax",
        ["A"],
        lambda A: ref_softmax(A.reshape(2, 12), 1).reshape(2, 3, 4),
        params={"A": normal(2, 3, 4, scale=2.0)},
        attrs={"axis": 1},
        opset=11,
    )
    add(
        "log_softmax",
        "LogSoftmax",
        ["A"],
        lambda A: np.log(ref_softmax(A, -1)),
        params={"A": normal(2, 5, scale=3.0)},
    )
    # ------------------------------------------------------------ products, normalisations
    add(
        "matmul_3d_2d",
        "MatMul",
        ["A", "B"],
        lambda A, B: A @ B,
        params={"A": normal(2, 3, 4), "B": normal(4, 5)},
    )
    add(
        "matmul_batched",
        "MatMul",
        ["A", "B"],
        lambda A, B: A @ B,
        params={"A": normal(2, 3, 4), "B": normal(2, 4, 2)},
    )
    add(
        "matmul_vector",
        "MatMul",
        ["A", "B"],
        lambda A, B: A @ B,
        params={"A": normal(4), "B": normal(4, 3)},
    )
    add(
        "gemm_transB_alpha_beta",
        "Gemm",
        ["A", "B", "C"],
        lambda A, B, C: 0.75 * A @ B.T + 1.25 * C,
        params={"A": normal(3, 4), "B": normal(5, 4), "C": normal(5)},
        attrs={"transB": 1, "alpha": 0.75, "beta": 1.25},
    )
    add(
        "gemm_transA_no_bias",
        "Gemm",
        ["A", "B"],
        lambda A, B: A.T @ B,
        params={"A": normal(4, 3), "B": normal(4, 2)},
        attrs={"transA": 1},
    )
    add(
        "batch_norm",
        "BatchNormalization",
        ["X", "s", "b", "m", "v"],
        lambda X, s, b, m, v: (
            (X - m[:, None, None]) / np.sqrt(v[:, None, None] + 0.0625) * s[:, None, None]
            + b[:, None, None]
        ),
        params={
            "X": normal(2, 3, 2, 2),
            "s": normal(3),
            "b": normal(3),
            "m": normal(3),
            "v": positive(3),
        },
        attrs={"epsilon": 0.0625},
    )
    add(
        "layer_norm_last_axis",
        "LayerNormalization",
        ["X", "s", "b"],
        lambda X, s, b: ref_layer_norm(X, s, b, -1, 0.0625),
        params={"X": normal(2, 3, 4), "s": normal(4), "b": normal(4)},
        attrs={"epsilon": 0.0625},
    )
    add(
        "layer_norm_two_axes_no_bias",
        "LayerNormalization",
        ["X", "s"],
        lambda X, s: ref_layer_norm(X, s, 0.0, 1, 2.0**-10),
        params={"X": normal(2, 3, 4), "s": normal(3, 4)},
        attrs={"axis": 1, "epsilon": 2.0**-10},
    )
    add(
        "reduce_mean_opset18",
        "ReduceMean",
        ["A", "axes"],
        lambda A, axes: A.mean(axis=1),
        params={"A": normal(2, 3, 4)},
        consts={"axes": ints(1)},
        attrs={"keepdims": 0},
        opset=18,
    )
    add(
        "reduce_mean_attr_axes",
        "ReduceMean",
        ["A"],
        lambda A: A.mean(axis=-1, keepdims=True),
        params={"A": normal(2, 3, 4)},
        attrs={"axes": [-1]},
        opset=13,
    )
    add(
        "reduce_sum_axes_input",
        "ReduceSum",
        ["A", "axes"],
        lambda A, axes: A.sum(axis=(0, 2), keepdims=True),
        params={"A": normal(2, 3, 4)},
        consts={"axes": ints(0, 2)},
        opset=13,
    )
    add(
        "reduce_sum_all",
        "ReduceSum",
        ["A"],
        lambda A: A.sum(keepdims=True),
        params={"A": normal(2, 3)},
        opset=13,
    )
    # ------------------------------------------------------------ convolution
    add(
        "conv_strided_dilated_asym_pads",
        "Conv",
        ["X", "W", "B"],
        lambda X, W, B: ref_conv(X, W, B, (2, 1), (1, 0, 0, 1), (1, 2)),
        params={"X": normal(2, 3, 6, 5), "W": normal(4, 3, 3, 2, scale=0.5), "B": normal(4)},
        attrs={"strides": [2, 1], "pads": [1, 0, 0, 1], "dilations": [1, 2]},
    )
    add(
        "conv_groups",
        "Conv",
        ["X", "W", "B"],
        lambda X, W, B: ref_conv(X, W, B, pads=(1,) * 4, group=2),
        params={"X": normal(1, 4, 5, 5), "W": normal(6, 2, 3, 3, scale=0.5), "B": normal(6)},
        attrs={"group": 2, "pads": [1, 1, 1, 1]},
    )
    add(
        "conv_depthwise",
        "Conv",
        ["X", "W"],
        lambda X, W: ref_conv(X, W, group=4),
        params={"X": normal(1, 4, 5, 5), "W": normal(4, 1, 2, 2)},
        attrs={"group": 4},
    )
    add(
        "conv_same_upper",
        "Conv",
        ["X", "W"],
        lambda X, W: ref_conv(X, W, strides=(2, 2), pads=(1, 0, 1, 1)),
        params={"X": normal(1, 2, 5, 6), "W": normal(3, 2, 3, 3, scale=0.5)},
        attrs={"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    )
    add(
        "conv_1d",
        "Conv",
        ["X", "W", "B"],
        lambda X, W, B: ref_conv(X[:, :, None], W[:, :, None], B, (1, 2), (0, 1, 0, 2))[:, :, 0],
        params={"X": normal(2, 3, 7), "W": normal(2, 3, 3), "B": normal(2)},
        attrs={"strides": [2], "pads": [1, 2]},
    )
    add(
        "conv_data_input",
        "Conv",
        ["X", "W"],
        lambda X, W: ref_conv(X, W),
        params={"W": normal(3, 2, 2, 2)},
        data={"X": normal(2, 2, 4, 4)},
    )
    add(
        "conv_transpose",
        "ConvTranspose",
        ["X", "W", "B"],
        lambda X, W, B: ref_conv_transpose(X, W, B, (2, 2), (1, 0, 0, 1), (1, 0)),
        params={"X": normal(1, 2, 3, 4), "W": normal(2, 3, 3, 3, scale=0.5), "B": normal(3)},
        attrs={"strides": [2, 2], "pads": [1, 0, 0, 1], "output_padding": [1, 0]},
    )
    add(
        "conv_transpose_groups",
        "ConvTranspose",
        ["X", "W"],
        lambda X, W: ref_conv_transpose(X, W, strides=(2, 2), group=2),
        params={"X": normal(1, 4, 2, 3), "W": normal(4, 1, 2, 2)},
        attrs={"strides": [2, 2], "group": 2},
    )
    # ------------------------------------------------------------ pooling
    add(
        "max_pool_pads_strides",
        "MaxPool",
        ["X"],
        lambda X: ref_pool(X, "max", (3, 2), (2, 2), (1, 0, 1, 1)),
        params={"X": separated(1, 2, 5, 6)},
        attrs={"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1]},
    )
    add(
        "max_pool_ceil_mode",
        "MaxPool",
        ["X"],
        lambda X: ref_pool(X, "max", (2, 2), (2, 2), ceil_mode=1),
        params={"X": separated(1, 1, 5, 5)},
        attrs={"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1},
    )
    add(
        "max_pool_dilated",
        "MaxPool",
        ["X"],
        lambda X: ref_pool(X, "max", (2, 2), dilations=(2, 1)),
        params={"X": separated(1, 1, 5, 4)},
        attrs={"kernel_shape": [2, 2], "dilations": [2, 1]},
    )
    add(
        "max_pool_1d",
        "MaxPool",
        ["X"],
        lambda X: ref_pool(X[:, :, None], "max", (1, 3), (1, 2), (0, 1, 0, 1))[:, :, 0],
        params={"X": separated(1, 2, 7)},
        attrs={"kernel_shape": [3], "strides": [2], "pads": [1, 1]},
    )
    for cip in (0, 1):
        add(
            f"average_pool_pads_cip{cip}",
            "AveragePool",
            ["X"],
            lambda X, _c=cip: ref_pool(
                X, "avg", (3, 3), (2, 2), (1, 1, 1, 1), count_include_pad=_c
            ),
            params={"X": normal(1, 2, 5, 6)},
            attrs={
                "kernel_shape": [3, 3],
                "strides": [2, 2],
                "pads": [1, 1, 1, 1],
                "count_include_pad": cip,
            },
        )
        add(
            f"average_pool_ceil_cip{cip}",
            "AveragePool",
            ["X"],
            lambda X, _c=cip: ref_pool(
                X, "avg", (3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=1, count_include_pad=_c
            ),
            params={"X": normal(1, 1, 6, 6)},
            attrs={
                "kernel_shape": [3, 3],
                "strides": [2, 2],
                "pads": [1, 1, 1, 1],
                "ceil_mode": 1,
                "count_include_pad": cip,
            },
        )
    add(
        "global_average_pool",
        "GlobalAveragePool",
        ["X"],
        lambda X: X.mean(axis=(2, 3), keepdims=True),
        params={"X": normal(2, 3, 2, 3)},
    )
    # ------------------------------------------------------------ data movement
    add(
        "reshape_zero_and_minus_one",
        "Reshape",
        ["A", "shape"],
        lambda A, shape: A.reshape(2, 6, 2),
        params={"A": normal(2, 3, 4)},
        consts={"shape": ints(0, -1, 2)},
    )
    add(
        "flatten_axis2",
        "Flatten",
        ["A"],
        lambda A: A.reshape(6, 4),
        params={"A": normal(2, 3, 2, 2)},
        attrs={"axis": 2},
    )
    add(
        "transpose",
        "Transpose",
        ["A"],
        lambda A: A.transpose(2, 0, 1),
        params={"A": normal(2, 3, 4)},
        attrs={"perm": [2, 0, 1]},
    )
    add(
        "concat_theta_and_data",
        "Concat",
        ["A", "X", "B"],
        lambda A, X, B: np.concatenate([A, X, B], axis=1),
        params={"A": normal(2, 3), "B": normal(2, 1)},
        data={"X": normal(2, 2)},
        attrs={"axis": -1},
    )
    add(
        "split_sizes",
        "Split",
        ["A", "sizes"],
        lambda A, sizes: (A[:, :2], A[:, 2:]),
        params={"A": normal(2, 6)},
        consts={"sizes": ints(2, 4)},
        attrs={"axis": 1},
        outputs=2,
        opset=13,
    )
    add(
        "split_num_outputs",
        "Split",
        ["A"],
        lambda A: (A[:, :3], A[:, 3:6], A[:, 6:]),
        params={"A": normal(2, 7)},
        attrs={"axis": 1, "num_outputs": 3},
        outputs=3,
        opset=18,
    )
    add(
        "slice_negative_steps",
        "Slice",
        ["A", "starts", "ends", "axes", "steps"],
        lambda A, **_: A[3:0:-1, ::-2],
        params={"A": normal(4, 5)},
        consts={
            "starts": ints(3, -1),
            "ends": ints(0, -100),
            "axes": ints(0, 1),
            "steps": ints(-1, -2),
        },
    )
    add(
        "slice_int_max_end",
        "Slice",
        ["A", "starts", "ends", "axes"],
        lambda A, **_: A[:, 1:],
        params={"A": normal(3, 4)},
        consts={"starts": ints(1), "ends": ints(INT_MAX), "axes": ints(-1)},
    )
    add(
        "gather_axis1_negative_indices",
        "Gather",
        ["A", "idx"],
        lambda A, idx: A[:, [[2, 3], [0, 1]]],
        params={"A": normal(3, 4)},
        consts={"idx": ints(2, -1, 0, 1).reshape(2, 2)},
        attrs={"axis": 1},
    )
    add(
        "gather_scalar_index",
        "Gather",
        ["A", "idx"],
        lambda A, idx: A[1],
        params={"A": normal(3, 4)},
        consts={"idx": np.array(1, dtype=np.int64)},
    )
    add(
        "squeeze",
        "Squeeze",
        ["A", "axes"],
        lambda A, axes: A.reshape(2, 3),
        params={"A": normal(2, 1, 3, 1)},
        consts={"axes": ints(1, 3)},
        opset=13,
    )
    add(
        "unsqueeze",
        "Unsqueeze",
        ["A", "axes"],
        lambda A, axes: A[None, :, :, None],
        params={"A": normal(2, 3)},
        consts={"axes": ints(0, -1)},
        opset=13,
    )
    add(
        "where",
        "Where",
        ["C", "A", "B"],
        lambda C, A, B: np.where(C, A, B),
        params={"A": normal(2, 3), "B": normal(3)},
        data={"C": RNG.random((2, 3)) > 0.5},
    )
    add(
        "pad_negative_crops",
        "Pad",
        ["A", "pads", "value"],
        lambda A, **_: np.pad(A[:, 1:], ((1, 0), (0, 2)), constant_values=0.5),
        params={"A": normal(2, 3)},
        data={"value": np.array(0.5)},
        consts={"pads": ints(1, -1, 0, 2)},
        opset=13,
    )
    add(
        "pad_axes_opset18",
        "Pad",
        ["A", "pads", "", "axes"],
        lambda A, **_: np.pad(A, ((0, 0), (2, 1))),
        params={"A": normal(2, 3)},
        consts={"pads": ints(2, 1), "axes": ints(1)},
        opset=18,
    )
    add("identity", "Identity", ["A"], lambda A: A, params={"A": normal(2, 3)})
    add("dropout_inference", "Dropout", ["A"], lambda A: A, params={"A": normal(2, 3)}, opset=13)
    add(
        "expand",
        "Expand",
        ["A", "shape"],
        lambda A, shape: np.broadcast_to(A, (2, 3, 4)),
        params={"A": normal(3, 1)},
        consts={"shape": ints(2, 1, 4)},
    )
    add(
        "cast_to_double",
        "Cast",
        ["A"],
        lambda A: A,
        params={"A": normal(2, 3)},
        attrs={"to": onnx.TensorProto.DOUBLE},
        out_dtype=F64,
    )
    # ------------------------------------------------------------ constants and integers
    constant = helper.make_node(
        "Constant",
        [],
        ["K"],
        name="constant",
        value=numpy_helper.from_array(np.float32([0.5, -1.5, 2.0])),
    )
    add(
        "constant_tensor",
        "Add",
        ["A", "K"],
        lambda A: A + np.array([0.5, -1.5, 2.0]),
        params={"A": normal(2, 3)},
        pre=[constant],
    )
    floats = helper.make_node("Constant", [], ["K"], name="floats", value_floats=[0.25, 4.0])
    add(
        "constant_value_floats",
        "Mul",
        ["A", "K"],
        lambda A: A * np.array([0.25, 4.0]),
        params={"A": normal(3, 2)},
        pre=[floats],
    )
    add(
        "shape",
        "Shape",
        ["A"],
        lambda A: ints(2, 3, 4),
        params={"A": normal(2, 3, 4)},
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "shape_start",
        "Shape",
        ["A"],
        lambda A: ints(3, 4),
        params={"A": normal(2, 3, 4)},
        attrs={"start": 1},
        opset=15,
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "size",
        "Size",
        ["A"],
        lambda A: np.array(24),
        params={"A": normal(2, 3, 4)},
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "constant_of_shape",
        "ConstantOfShape",
        ["shape"],
        lambda shape: np.full((2, 3), 1.5),
        consts={"shape": ints(2, 3)},
        attrs={"value": numpy_helper.from_array(np.float32([1.5]))},
        differentiable=False,
    )
    add(
        "range",
        "Range",
        ["a", "b", "d"],
        lambda a, b, d: ints(1, 4, 7),
        consts={"a": np.array(1), "b": np.array(10), "d": np.array(3)},
        out_dtype=I64,
        differentiable=False,
    )
    add(
        "range_float_data",
        "Range",
        ["a", "b", "d"],
        lambda a, b, d: np.array([0.5, 0.25, 0.0]),
        data={"a": np.array(0.5), "b": np.array(-0.1), "d": np.array(-0.25)},
        differentiable=False,
    )
    add(
        "cast_int_to_float",
        "Cast",
        ["I"],
        lambda I: I.astype(float),
        consts={"I": ints(1, -2, 3)},
        attrs={"to": onnx.TensorProto.FLOAT},
        differentiable=False,
    )
    for op_type, ufunc in [
        ("Equal", np.equal),
        ("Less", np.less),
        ("Greater", np.greater),
        ("LessOrEqual", np.less_equal),
        ("GreaterOrEqual", np.greater_equal),
    ]:
        X = normal(2, 3)
        add(
            op_type.lower(),
            op_type,
            ["A", "X"],
            lambda A, X, _u=ufunc: _u(A, X),
            params={"A": np.where(RNG.random((2, 3)) < 0.3, X, normal(2, 3))},
            data={"X": X},
            out_dtype=np.bool_,
            opset=16,
            differentiable=False,
        )
    P, Q = RNG.random((2, 3)) > 0.5, RNG.random((2, 3)) > 0.5
    for op_type, fn in [("And", np.logical_and), ("Or", np.logical_or)]:
        add(
            op_type.lower(),
            op_type,
            ["P", "Q"],
            lambda P, Q, _f=fn: _f(P, Q),
            data={"P": P, "Q": Q},
            out_dtype=np.bool_,
            differentiable=False,
        )
    add("not", "Not", ["P"], lambda P: ~P, data={"P": P}, out_dtype=np.bool_, differentiable=False)
    return cases


CASES = _case_list()
DIFFERENTIABLE = [c for c in CASES if c.differentiable]
IDS = [c.name for c in CASES]


def data_on_backend(case):
    """The case's data inputs on the backend under test, where θ is."""
    return {name: on_backend(a) for name, a in case.data.items()}


def evaluate(case, dtype):
    """Our outputs, θ in ``dtype``, and the model."""
    model = from_onnx(case.proto())
    theta = model.init_params().astype(dtype)
    return model.outputs(theta, data_on_backend(case)), theta, model


def test_every_operator_has_a_case():
    covered = {node.op_type for case in CASES for node in case.nodes}
    assert covered == set(supported_ops())


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_primal_against_numpy_reference(case, dtype):
    outputs, theta, _ = evaluate(case, dtype)
    expected = case.expected()
    assert len(outputs) == len(expected)
    for k, (out, ref) in enumerate(zip(outputs, expected)):
        out, ref = host(out), np.asarray(ref)
        assert tuple(out.shape) == ref.shape, f"{case.name}: output {k} shape"
        if ref.dtype.kind in "biu":
            assert out.dtype.kind == ref.dtype.kind
            np.testing.assert_array_equal(out, ref, err_msg=case.name)
        else:
            assert out.dtype == dtype, f"{case.name}: output {k} dtype {out.dtype}"
            assert_close(out, ref, dtype, "exact", f"{case.name}: output {k}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_primal_against_onnxruntime(case):
    proto = case.proto()
    feeds = {n: (a.astype(np.float32) if a.dtype.kind == "f" else a) for n, a in case.data.items()}
    theirs = onnxruntime_outputs(proto, feeds)
    if theirs is None:
        pytest.skip("onnxruntime is not installed")
    ours, _, _ = evaluate(case, F64)
    for k, (out, ref) in enumerate(zip(ours, theirs)):
        out = host(out)
        if ref.dtype.kind in "biu":
            np.testing.assert_array_equal(out, ref, err_msg=case.name)
        else:  # onnxruntime computes in float32
            assert_close(out, ref.astype(np.float64), F32, "exact", f"{case.name}: output {k}")


def readout(case):
    """``F(θ) = Σ w ⊙ y + ½ Σ u ⊙ y²`` over the case's outputs, and the model."""
    model = from_onnx(case.proto())
    rng = np.random.default_rng(len(case.name))
    shapes = [np.shape(r) for r in case.expected()]
    w = [on_backend(rng.normal(size=s)) for s in shapes]
    u = [on_backend(rng.normal(size=s)) for s in shapes]
    data = data_on_backend(case)
    return (lambda t: quadratic_readout(model.outputs(t, data), w, u)), model


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[c.name for c in DIFFERENTIABLE])
def test_first_and_second_derivatives(case, dtype):
    F, model = readout(case)
    check_derivatives(F, model.init_params().astype(F64), dtype, 3, case.name, assert_close)


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[c.name for c in DIFFERENTIABLE])
def test_complex_step_flows_through(case):
    F, model = readout(case)
    theta = model.init_params().astype(F64)
    v = on_backend(np.random.default_rng(5).normal(size=theta.shape))
    h = 1e-30
    expected = hd.directional(F, theta, v)[1]
    assert_close(np.imag(F(theta + 1j * h * v)) / h, expected, F64, "complex_step", case.name)
