# %% [markdown]
# # 11b. The ONNX oracle: exact references for an exported model
#
# Notebook 11 checked another backend's derivatives against this library, for functions we
# wrote ourselves and for the layer-list models of the exchange format. Real models —
# attention, LayerNorm, GELU, residual connections — are not written in this library. They
# are written in PyTorch or JAX and can be **exported to ONNX**, a framework-neutral file
# holding the computation graph and its weights.
#
# `layers.from_onnx` reads such a file and evaluates its graph with the library's own
# NumPy-level operations. So the *same file* runs on dual, hyper-dual and jet numbers (exact
# forward-mode derivatives) and on bicomplex numbers (an independent check that shares no
# rule table with them): exact references for the loss, the gradient, Hessian-vector
# products and the $K\times K$ projected Hessian of *any* exported model, which any other AD
# backend can be tested against.
#
# 1. build a small self-attention model as an ONNX graph with `onnx.helper`, save it, load it
#    with `layers.from_onnx`;
# 2. compute the references and confirm each with the bicomplex step;
# 3. test "another AD backend" — a hand-written NumPy back-propagation — against them: a
#    correct one, one with a planted bug, and Hessian-vector products by finite differences
#    with good and bad steps;
# 4. export a PyTorch model (shown; it runs where PyTorch is installed).
#
# Notation (the course's table): $\theta\in\mathbb R^D$ the parameters, $f(\theta)$ the mean
# cross-entropy of the graph's output, $g = \nabla f$, $H = \nabla^2 f$, $v$ a direction,
# $V\in\mathbb R^{K\times D}$ the directions of a plane, $\tilde H = VHV^\top$; $N$ the batch
# size, $C$ the number of classes. The file format is described in
# [`docs/oracle-format.md`](../docs/oracle-format.md), section 13.

# %%
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import hyperdual as hd
from hyperdual.testing import assert_close, relative_error, tolerance
from layers import from_onnx

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. A model as an ONNX graph
#
# One head of self-attention over $T$ tokens of width $d$, a residual connection, mean
# pooling over the tokens and a linear classifier. For one sample $x \in \mathbb R^{T\times
# d}$:
#
# $$A = \operatorname{softmax}\!\Big(\frac{(xW_q)(xW_k)^\top}{\sqrt d}\Big), \qquad
#   r = x + A\,(xW_v)\,W_o, \qquad
#   z = \Big(\frac1T\sum_t r_t\Big) W_c^\top + b_c \in \mathbb R^C .$$
#
# An ONNX graph is a list of **nodes** (an operator, its input and output names), the
# **initializers** (named weight tensors) and typed graph inputs and outputs. `onnx.helper`
# builds them; the batch axis is left symbolic (`"batch"`). The constant $\sqrt d$ is a
# `Constant` node, not an initializer: `from_onnx` takes *every* floating initializer as a
# parameter, so a constant stored as an initializer would become part of $\theta$ (or pass
# `parameters=` to choose).

# %%
d, T, C = 4, 3, 3
weights = {
    "q.weight": rng.normal(size=(d, d)) / np.sqrt(d),
    "k.weight": rng.normal(size=(d, d)) / np.sqrt(d),
    "v.weight": rng.normal(size=(d, d)) / np.sqrt(d),
    "o.weight": rng.normal(size=(d, d)) / np.sqrt(d),
    "cls.weight": rng.normal(size=(C, d)),
    "cls.bias": 0.1 * rng.normal(size=C),
}

node = helper.make_node
nodes = [
    node("MatMul", ["x", "q.weight"], ["q"]),  # (N, T, d)
    node("MatMul", ["x", "k.weight"], ["k"]),
    node("MatMul", ["x", "v.weight"], ["v"]),
    node("Transpose", ["k"], ["kT"], perm=[0, 2, 1]),  # (N, d, T)
    node("MatMul", ["q", "kT"], ["scores"]),  # (N, T, T)
    node("Constant", [], ["sqrt_d"], value=numpy_helper.from_array(np.array(np.sqrt(d)))),
    node("Div", ["scores", "sqrt_d"], ["scaled"]),
    node("Softmax", ["scaled"], ["attn"], axis=-1),
    node("MatMul", ["attn", "v"], ["ctx"]),
    node("MatMul", ["ctx", "o.weight"], ["proj"]),
    node("Add", ["x", "proj"], ["res"]),  # the residual
    node("ReduceMean", ["res"], ["pooled"], axes=[1], keepdims=0),  # (N, d)
    node("Gemm", ["pooled", "cls.weight", "cls.bias"], ["logits"], transB=1),  # (N, C)
]
graph = helper.make_graph(
    nodes,
    "attention",
    inputs=[helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", T, d])],
    outputs=[helper.make_tensor_value_info("logits", TensorProto.DOUBLE, ["batch", C])],
    initializer=[numpy_helper.from_array(w, name) for name, w in weights.items()],
)
proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
proto.ir_version = 8
onnx.checker.check_model(proto)  # the ONNX package's own validation

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "attention.onnx"
    onnx.save(proto, path)  # what an exporter would hand us
    model = from_onnx(path)  # reads (and checks) the whole file
print(model.summary())

# %% [markdown]
# $\theta$ is the initializers, each flattened in C order, in the graph's order (the table
# above); `model.unflatten(theta)` cuts it back into named tensors. First check: the
# interpreter's forward pass against the formula above written in plain NumPy — the forward
# pass of the backend we test in section 3.


# %%
def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def numpy_forward(p, X):
    """The model in plain NumPy: a dict of every intermediate value, for X (N, T, d)."""
    s = {"q": X @ p["q.weight"], "k": X @ p["k.weight"], "v": X @ p["v.weight"]}
    s["attn"] = softmax(s["q"] @ s["k"].transpose(0, 2, 1) / X.shape[-1] ** 0.5)
    s["ctx"] = s["attn"] @ s["v"]
    s["pooled"] = (X + s["ctx"] @ p["o.weight"]).mean(axis=1)
    s["logits"] = s["pooled"] @ p["cls.weight"].T + p["cls.bias"]
    return s


N = 5
X, y = rng.normal(size=(N, T, d)), rng.integers(0, C, size=N)
theta = model.init_params()
D = model.num_params
params = {name: np.asarray(tensor) for name, tensor in model.unflatten(theta)}
logits = model.forward(theta, X)
print(f"D = {D}; logits of the first sample: {logits[0]}")
assert_close(
    logits,
    numpy_forward(params, X)["logits"],
    np.float64,
    "exact",
    "ONNX interpreter vs plain NumPy",
)

# %% [markdown]
# ## 2. The references, each confirmed by the bicomplex step
#
# $f(\theta)$ = `model.loss(theta, X, y)`, the mean cross-entropy of the logits. Forward mode
# gives every quantity exactly (notebook 3); the bicomplex step (notebook 2) recomputes each
# one with separate closed forms for every function:
#
# | quantity | forward mode | evaluations | bicomplex step | evaluations |
# |---|---|---|---|---|
# | $f(\theta)$, $g$ | `hd.gradient` (dual numbers, $e_i$) | $D$ directions, 1 call | `hd.bicomplex_gradient` | $D$ |  # noqa: E501
# | $Hv$ | `hd.hvp` (pairs $(v, e_i)$) | $D$ pairs, 1 call | `hd.bicomplex_directional(f, θ, v, np.eye(D))` | $D$ |  # noqa: E501
# | $\tilde H = VHV^\top$ | `hd.projected_hessian` (a $K$-jet, notebook 4d) | 1 call | pairs $(v_i, v_j)$ | $K(K+1)/2$ |  # noqa: E501
#
# ONNX models have no back-propagation here: every reference is forward mode, $D$
# directions per gradient or product (a few milliseconds for this $D$).


# %%
def f(t):
    return model.loss(t, X, y)


K = 4
v, V = rng.normal(size=D), rng.normal(size=(K, D))
I, J = np.triu_indices(K)

start = time.perf_counter()
reference = {
    "loss": model.loss(theta, X, y),
    "grad": hd.gradient(f, theta),
    "Hv": hd.hvp(f, theta, v),
    "H_K": hd.projected_hessian(f, theta, V)[2],
}
t_forward = time.perf_counter() - start

start = time.perf_counter()
b_loss = hd.bicomplex_directional(f, theta, v)[0]
b_grad = hd.bicomplex_gradient(f, theta)
b_Hv = hd.bicomplex_directional(f, theta, v, np.eye(D))[2]
b_HK = np.zeros((K, K))
b_HK[I, J] = b_HK[J, I] = hd.bicomplex_directional(f, theta, V[I], V[J])[2]
t_bicomplex = time.perf_counter() - start

print(f"forward mode {1e3 * t_forward:.0f} ms, bicomplex step {1e3 * t_bicomplex:.0f} ms")
for name, check in [("loss", b_loss), ("grad", b_grad), ("Hv", b_Hv), ("H_K", b_HK)]:
    print(
        f"{name:5s} shape {str(np.shape(reference[name])):8s} relative error vs bicomplex "
        f"{relative_error(reference[name], check):.1e}"
    )
    assert_close(reference[name], check, np.float64, "exact", f"{name} vs bicomplex step")

# %% [markdown]
# Two methods that share no derivative code agree to rounding: these four arrays are now the
# references. Everything above took the file and nothing else.
#
# ## 3. Another AD backend, tested against the references
#
# The backend under test: back-propagation through the model, written by hand in NumPy, the
# way a fused kernel or a paper's appendix would. Reverse mode from the loss down (notebook
# 4b), with $\bar z = (\operatorname{softmax}(z) - \operatorname{onehot}(y))/N$ at the
# logits. The only delicate step is attention: with $S = QK^\top/\sqrt d$ and $A =
# \operatorname{softmax}(S)$ row by row,
#
# $$\bar S = A \odot \big(\bar A - \operatorname{rowsum}(\bar A \odot A)\big), \qquad
#   \bar Q = \bar S K/\sqrt d, \qquad \bar K = \bar S^\top Q/\sqrt d .$$
#
# That step is a separate function, so that it can be swapped for a broken one.


# %%
def attention_backward(S_bar, Q, K_, d):
    """(Q̄, K̄) for S = Q Kᵀ/√d, batched over samples: S̄ (N, T, T), Q and K (N, T, d)."""
    return S_bar @ K_ / d**0.5, S_bar.transpose(0, 2, 1) @ Q / d**0.5


def backend_grad(p, X, y, attention_backward=attention_backward):
    """The backend: (loss, {parameter name: gradient}) by hand-written back-propagation."""
    N, T, d = X.shape
    s = numpy_forward(p, X)
    probabilities = softmax(s["logits"])
    loss = -np.mean(np.log(probabilities[np.arange(N), y]))
    one_hot = np.eye(probabilities.shape[1], dtype=probabilities.dtype)[y]
    z_bar = (probabilities - one_hot) / N
    grad = {"cls.weight": z_bar.T @ s["pooled"], "cls.bias": z_bar.sum(axis=0)}
    r_bar = np.repeat(z_bar[:, None, :] @ p["cls.weight"] / T, T, axis=1)  # mean over T
    grad["o.weight"] = np.einsum("ntd,nte->de", s["ctx"], r_bar)
    ctx_bar = r_bar @ p["o.weight"].T
    A_bar = ctx_bar @ s["v"].transpose(0, 2, 1)
    v_bar = s["attn"].transpose(0, 2, 1) @ ctx_bar
    S_bar = s["attn"] * (A_bar - np.sum(A_bar * s["attn"], axis=-1, keepdims=True))
    q_bar, k_bar = attention_backward(S_bar, s["q"], s["k"], d)
    for name, bar in (("q.weight", q_bar), ("k.weight", k_bar), ("v.weight", v_bar)):
        grad[name] = np.einsum("ntd,nte->de", X, bar)  # Xᵀ · bar
    return loss, grad


# %% [markdown]
# **The report.** One row per quantity: the error relative to the reference's scale,
# $\max|{\rm candidate} - {\rm reference}| / \max|{\rm reference}|$
# (`hyperdual.testing.relative_error`), against the tolerance of the library's one table
# for the dtype the backend computes in and the kind of reference (`"exact"`: $10^{-11}$ in
# float64). The gradient gets one row per parameter tensor, named by its ONNX name, so that
# a failure points at the place in the backend to look.


# %%
def report(candidate, reference, dtype=np.float64, kind="exact"):
    """Print one row per quantity; return the names that fail."""
    rtol, failing = tolerance(dtype, kind), []
    print(
        f"{'quantity':14s} {'shape':8s} {'max abs err':>11s} {'rel err':>9s} "
        f"{'tolerance':>9s}  status"
    )
    for name, desired in reference.items():
        actual = np.asarray(candidate[name], dtype=np.float64)
        error = relative_error(actual, desired)
        status = "ok" if error <= rtol else "FAIL"
        if status == "FAIL":
            failing.append(name)
        print(
            f"{name:14s} {str(np.shape(desired)):8s} "
            f"{np.max(np.abs(actual - desired)):11.3e} {error:9.2e} {rtol:9.1e}  {status}"
        )
    verdict = "AGREE" if not failing else "DISAGREE"
    print(f"{verdict}: {len(reference) - len(failing)} of {len(reference)} within tolerance")
    return failing


def per_tensor(loss, grad):
    """A backend's loss and gradient dict, as report rows."""
    return {"loss": loss, **grad}


reference_rows = {
    "loss": reference["loss"],
    **{
        name: reference["grad"][sl].reshape(shape)
        for (name, sl), (_, shape) in zip(model.param_groups(), model.param_shapes())
    },
}

failing = report(per_tensor(*backend_grad(params, X, y)), reference_rows)
assert failing == []

# %% [markdown]
# ### A planted bug
#
# A missing transpose in the attention backward: $\bar K = \bar S\,Q/\sqrt d$ instead of
# $\bar S^\top Q/\sqrt d$. The shapes still fit ($T\times T$ times $T\times d$), the loss is
# untouched, and every other gradient is right:


# %%
def attention_backward_missing_transpose(S_bar, Q, K_, d):
    return S_bar @ K_ / d**0.5, S_bar @ Q / d**0.5  # BUG: S̄ instead of S̄ᵀ


failing = report(
    per_tensor(*backend_grad(params, X, y, attention_backward_missing_transpose)), reference_rows
)
assert failing == ["k.weight"]

# %% [markdown]
# Only `k.weight` fails, by an error the size of the gradient itself: the report names the
# tensor, and the tensor names the line. (A check of the loss alone, or of a training curve,
# would not have found it: training with a wrong $\bar K$ often still makes progress.)
#
# ### Hessian-vector products by finite differences
#
# Many backends get $Hv$ by differencing their gradient, $Hv \approx (g(\theta + hv) -
# g(\theta - hv))/2h$. Its error has two parts (notebook 2): truncation, $O(h^2)$, and
# cancellation, $O(\epsilon_{\rm mach}/h)$. A backend that does this is an approximation, and
# must be judged by a finite-difference tolerance (`"fd_first"`: $10^{-6}$ in float64) —
# and even then a bad step is caught:


# %%
def backend_grad_flat(t):
    _, grad = backend_grad({name: np.asarray(w) for name, w in model.unflatten(t)}, X, y)
    return np.concatenate([grad[name].ravel() for name, _ in model.param_shapes()])


steps = [1e-1, 1e-3, 1e-5, 1e-6, 1e-8, 1e-12]
candidates = {
    f"Hv, h={h:.0e}": (backend_grad_flat(theta + h * v) - backend_grad_flat(theta - h * v))
    / (2 * h)
    for h in steps
}
failing = report(candidates, {name: reference["Hv"] for name in candidates}, kind="fd_first")
print("\njudged as exact (the tolerance for a backend that claims exact derivatives):")
failing_exact = report(candidates, {name: reference["Hv"] for name in candidates})
assert failing == ["Hv, h=1e-01", "Hv, h=1e-03", "Hv, h=1e-12"]
assert failing_exact == list(candidates)

# %% [markdown]
# The classic V: the error falls as $h^2$ down to below $10^{-10}$ near $h = 10^{-6}$, then
# rises as $1/h$. Steps from $10^{-5}$ to $10^{-8}$ pass the finite-difference tolerance;
# $10^{-1}$ and $10^{-3}$ (truncation) and $10^{-12}$ (cancellation) fail it — and no step
# comes within the exact tolerance: an exact reference can tell a finite-difference backend
# from an exact one, which finite differences themselves cannot.
#
# ## 4. From PyTorch
#
# A PyTorch model gets to the oracle by `torch.onnx.export`. Two options matter:
#
# * `dynamo=False`: the TorchScript exporter, which writes the plain operators the
#   interpreter reads (`layers.onnx.supported_ops()`);
# * `do_constant_folding=False`: otherwise the exporter pre-computes, e.g., transposed weights
#   and stores them under new names; without folding the initializers keep the module's
#   parameter names (`q.weight`, …), so $\theta$ maps onto `module.named_parameters()` by
#   name and the gradients can be compared tensor by tensor.
#
# Export in float64 (`module.double()`) for exact comparisons, and randomise every parameter
# before exporting (the exporter merges initializers with equal values, which would tie
# two parameters; `docs/oracle-format.md` §13 lists this and the float32 attribute trap).
# The cell below runs where PyTorch is installed; the test suite does not install it, and
# then the cell only says so. It compares PyTorch's autograd — gradient, and $Hv$ by double
# back-propagation — with the references of the exported file.

# %%
try:
    import torch
except ImportError:
    torch = None

if torch is None:
    print(
        "PyTorch is not installed: the export below was skipped "
        "(pip install torch --index-url https://download.pytorch.org/whl/cpu to run it)."
    )
else:
    import io
    import warnings

    class Attention(torch.nn.Module):
        """The model of section 1; nn.Linear stores (out, in) and computes x Wᵀ."""

        def __init__(self, d=4, classes=3):
            super().__init__()
            self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
            self.cls = torch.nn.Linear(d, classes)

        def forward(self, x):
            scores = self.q(x) @ self.k(x).transpose(1, 2) / x.shape[-1] ** 0.5
            r = x + self.o(torch.softmax(scores, dim=-1) @ self.v(x))
            return self.cls(r.mean(dim=1))

    torch.manual_seed(0)
    module = Attention(d, C).double()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, T, d, dtype=torch.float64),),
            buffer,
            dynamo=False,
            do_constant_folding=False,
            opset_version=17,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        )
    exported = from_onnx(onnx.load_model_from_string(buffer.getvalue()))
    named = dict(module.named_parameters())
    print("θ layout:", [name for name, _ in exported.param_shapes()])
    theta_torch = exported.init_params()

    def f_torch(t):
        return exported.loss(t, X, y)

    loss = torch.nn.functional.cross_entropy(module(torch.tensor(X)), torch.tensor(y))
    grads = torch.autograd.grad(loss, list(named.values()), create_graph=True)
    assert np.array_equal(
        theta_torch,
        np.concatenate(  # θ is the module's parameters
            [named[name].detach().numpy().ravel() for name, _ in exported.param_shapes()]
        ),
    )
    torch_rng = np.random.default_rng(1)  # not `rng`: the exercises draw the same numbers
    v_named = {
        name: torch.tensor(piece)
        for (name, piece) in exported.unflatten(torch_rng.normal(size=exported.num_params))
    }
    dot = sum((g_ * v_named[name]).sum() for name, g_ in zip(named, grads))
    hvps = torch.autograd.grad(dot, list(named.values()))  # double backward: H v
    v_flat = np.concatenate([v_named[name].numpy().ravel() for name, _ in exported.param_shapes()])
    torch_rows = {
        "loss": loss.item(),
        **{name: g_.detach().numpy() for name, g_ in zip(named, grads)},
        **{f"Hv[{name}]": h_.numpy() for name, h_ in zip(named, hvps)},
    }
    grad_ref = hd.gradient(f_torch, theta_torch)
    hv_ref = hd.hvp(f_torch, theta_torch, v_flat)
    slices = dict(exported.param_groups())
    shapes = dict(exported.param_shapes())
    torch_reference = {
        "loss": f_torch(theta_torch),
        **{name: grad_ref[slices[name]].reshape(shapes[name]) for name in named},
        **{f"Hv[{name}]": hv_ref[slices[name]].reshape(shapes[name]) for name in named},
    }
    print(f"torch {torch.__version__}, float64, autograd against the ONNX references:")
    assert report(torch_rows, torch_reference) == []

# %% [markdown]
# ## Summary
#
# * An ONNX file is the whole model: graph and weights. `layers.from_onnx` evaluates it on
#   every number type of the library, so one file gives the loss, $g$, $Hv$ and $\tilde H$
#   exactly (forward mode) and, independently, by the bicomplex step.
# * $\theta$ is the graph's floating initializers in graph order, named; constants belong in
#   `Constant` nodes (or pass `parameters=`).
# * A backend is checked quantity by quantity, tensor by tensor, against the tolerance for its
#   dtype and for what it claims to be (exact, or finite differences): a missing transpose
#   shows up as one failing row; a finite-difference step far from $10^{-6}$ fails even the
#   finite-difference tolerance, and no step passes the exact one.
# * From PyTorch: `torch.onnx.export(..., dynamo=False, do_constant_folding=False)`, in
#   float64, parameters randomised.
#
# ## Exercises
#
# **Try it 1:** build a small CNN block with `onnx.helper` — `Conv` (2 → 3 channels, 3×3,
# `pads=[1, 1, 1, 1]`, with bias), `Tanh`, `GlobalAveragePool`, `Flatten`, `Gemm` to 3
# classes — for inputs of shape $(N, 2, 5, 5)$. Load it with `from_onnx` and check its
# gradient and its $3\times 3$ projected Hessian against the bicomplex step.
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
cnn_weights = {
    "conv.weight": 0.5 * rng.normal(size=(3, 2, 3, 3)),
    "conv.bias": 0.1 * rng.normal(size=3),
    "fc.weight": rng.normal(size=(3, 3)),
    "fc.bias": 0.1 * rng.normal(size=3),
}
cnn_graph = helper.make_graph(
    [
        node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], pads=[1, 1, 1, 1]),
        node("Tanh", ["c"], ["t"]),
        node("GlobalAveragePool", ["t"], ["g"]),  # (N, 3, 1, 1)
        node("Flatten", ["g"], ["flat"], axis=1),  # (N, 3)
        node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ],
    "cnn",
    inputs=[helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 2, 5, 5])],
    outputs=[helper.make_tensor_value_info("logits", TensorProto.DOUBLE, ["batch", 3])],
    initializer=[numpy_helper.from_array(w, name) for name, w in cnn_weights.items()],
)
cnn_proto = helper.make_model(cnn_graph, opset_imports=[helper.make_opsetid("", 17)])
cnn_proto.ir_version = 8
onnx.checker.check_model(cnn_proto)
cnn = from_onnx(cnn_proto)
X_cnn, y_cnn = rng.normal(size=(4, 2, 5, 5)), rng.integers(0, 3, size=4)
theta_cnn = cnn.init_params()


def f_cnn(t):
    return cnn.loss(t, X_cnn, y_cnn)


V_cnn = rng.normal(size=(3, cnn.num_params))
I3, J3 = np.triu_indices(3)
_, g_K, H_K = hd.projected_hessian(f_cnn, theta_cnn, V_cnn)
_, b1, b12 = hd.bicomplex_directional(f_cnn, theta_cnn, V_cnn[I3], V_cnn[J3])
error_g = relative_error(hd.gradient(f_cnn, theta_cnn), hd.bicomplex_gradient(f_cnn, theta_cnn))
error_H = relative_error(H_K[I3, J3], b12)
print(
    f"D = {cnn.num_params}; vs bicomplex: gradient {error_g:.1e}, 3×3 Hessian {error_H:.1e}, "
    f"Vg {relative_error(g_K, b1[I3 == J3]):.1e}"
)
assert max(error_g, error_H, relative_error(g_K, b1[I3 == J3])) <= tolerance(np.float64, "exact")

# %% [markdown]
# **Try it 2:** plant a different bug: an attention backward that forgets the $1/\sqrt d$ in
# $\bar Q$ only (a constant factor — the kind of slip a fused kernel makes when the scale is
# folded into $Q$ in the forward pass but not in the backward). Which rows of the report fail?
#
# *Worked solution below (collapsed).*


# %% tags=["solution"]
def attention_backward_unscaled_q(S_bar, Q, K_, d):
    return S_bar @ K_, S_bar.transpose(0, 2, 1) @ Q / d**0.5  # BUG: Q̄ not divided by √d


failing = report(
    per_tensor(*backend_grad(params, X, y, attention_backward_unscaled_q)), reference_rows
)
assert failing == ["q.weight"]

# %% [markdown]
# **Try it 3:** run the correct backend in float32 (cast the parameters and the data) and
# report it twice: with the float32 tolerance, and with the float64 one. Why must a backend's
# results say which dtype it computed in?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** float32 rounding ($\epsilon_{\rm mach} \approx 1.2\times10^{-7}$) leaves
# relative errors near $10^{-7}$: well inside float32's $2\times10^{-4}$, far outside
# float64's $10^{-11}$. Judged by the wrong dtype, a correct float32 backend would fail — and,
# the other way round, a float64 backend that silently computes in float32 would pass a
# float32 check. The references stay float64 either way.
#
# A trap on the way: the backend stays in float32 only because it divides by the Python
# float `d ** 0.5` and builds its one-hot in the probabilities' dtype. A NumPy float64
# scalar such as `np.sqrt(d)` or a float64 `np.eye` would silently promote everything after
# it to float64 (NumPy's promotion rules, NEP 50) — hence the dtype check in the assert.

# %% tags=["solution"]
params32 = {name: w.astype(np.float32) for name, w in params.items()}
rows32 = per_tensor(*backend_grad(params32, X.astype(np.float32), y))
print("judged as float32:")
failing32 = report(rows32, reference_rows, dtype=np.float32)
print("\njudged as float64:")
failing64 = report(rows32, reference_rows, dtype=np.float64)
assert rows32["q.weight"].dtype == np.float32 and failing32 == [] and len(failing64) > 0

# %% [markdown]
# Back to the course outline: [tutorials/README.md](README.md).
