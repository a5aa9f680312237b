# %% [markdown]
# # 4. Layers on hyper-dual numbers
#
# A neural network is a composition of a few kinds of operations, and each kind already knows
# how to carry hyper-dual numbers (notebook 1):
#
# | layer | operation | kind |
# |---|---|---|
# | `Dense` | $y = xW^\top + b$ | bilinear (`@`) + linear (`+`) |
# | `Conv2d` | windows (im2col), then one matrix product | linear (a strided view) + bilinear |
# | `ReLU`, `Tanh`, `Sigmoid` | elementwise | rule table $(f, f', f'')$ |
# | `MaxPool2d` | pick the window maximum | selection by the real part |
# | softmax, cross-entropy | $z - \log\sum e^{z}$, a mean | composition of the above |
#
# So the layers in `layers/` are written **once**, with NumPy operations, and run unchanged on
# floats, complex numbers, hyper-dual and bicomplex numbers. This notebook checks each layer
# on hyper-dual numbers against an independent reference, then compares forward mode with
# back-propagation — in results, time and **memory as the network gets deeper**.
#
# Data: scikit-learn's embedded 8×8 digits (no files, no network), through `hyperlab.data`.

# %%
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.testing import assert_close
from hyperlab.data import load_dataset
from layers import (
    Conv2d,
    CrossEntropy,
    Dense,
    Flatten,
    MaxPool2d,
    Sequential,
    Tanh,
    im2col,
    models,
    reference,
    softmax,
)

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

data = load_dataset("digits", dtype=np.float64, seed=0)
X, y = data.X_train[:64], data.y_train[:64]  # (64, 1, 8, 8) images, (64,) labels
print("images", X.shape, "labels", y.shape, "pixel range", X.min(), X.max())

# %% [markdown]
# ## 1. Dense: the product rule at work
#
# Write the parameters as hyper-dual numbers, $W = W_0 + V_1 \varepsilon_1 + V_2 \varepsilon_2$
# and $b = b_0 + u_1 \varepsilon_1 + u_2 \varepsilon_2$, and keep the data $x$ a plain array.
# Then
#
# $$y = xW^\top + b = (xW_0^\top + b_0) + (xV_1^\top + u_1)\,\varepsilon_1
#   + (xV_2^\top + u_2)\,\varepsilon_2 + 0\,\varepsilon_1\varepsilon_2 :$$
#
# a layer that is *linear in its parameters* has no second derivative with respect to them.

# %%
dense = Dense(64, 10)
W0, b0 = dense.init_params(rng)
V1, u1, V2, u2 = (rng.normal(size=s) for s in [W0.shape, b0.shape, W0.shape, b0.shape])
W, b = HyperDual(W0, V1, V2), HyperDual(b0, u1, u2)

x = X.reshape(len(X), -1)  # (64, 64): 64 pixels each
out = dense.forward((W, b), x)
print("real", out.real.shape, " eps1", out.eps1.shape)
assert_close(out.real, x @ W0.T + b0, np.float64, "exact", "value")
assert_close(out.eps1[0], x @ V1.T + u1, np.float64, "exact", "ε1 part")
assert np.all(out.eps12 == 0)

# %% [markdown]
# Stack a nonlinearity and a second layer and the $\varepsilon_1\varepsilon_2$ part appears. A whole
# network is a `Sequential` over **one flat parameter vector** $\theta$; `unflatten` cuts $\theta$
# into per-layer tensors as *views*, also when $\theta$ is hyper-dual:

# %%
mlp = Sequential([Dense(64, 16), Tanh(), Dense(16, 10)], input_shape=(64,), name="tiny_mlp")
print(mlp.summary())
theta = mlp.init_params(seed=0)
v1, v2 = rng.normal(size=(2, mlp.num_params))

for name, tensor in mlp.unflatten(HyperDual(theta, v1, v2)):
    print(f"{name:14s} {type(tensor).__name__} {tensor.shape}")

# %% [markdown]
# One hyper-dual pass through the loss gives $L$, $\nabla L\cdot v_1$, $\nabla L\cdot v_2$ and
# $v_1^\top\nabla^2L\,v_2$ (notebook 3). The bicomplex step (notebook 2) computes the same
# numbers with none of the hyper-dual code:


# %%
def loss(theta):
    return mlp.loss(theta, x, y)


value, d1, d2, d12 = hd.directional(loss, theta, v1, v2)
ref_value, ref_d1, ref_d12 = hd.bicomplex_directional(loss, theta, v1, v2)
print(f"L = {value:.6f}   ∇L·v1 = {d1:.6f}   v1ᵀHv2 = {d12:.6f}")
assert_close(d1, ref_d1, np.float64, "exact", "∇L·v1 vs bicomplex")
assert_close(d12, ref_d12, np.float64, "exact", "v1ᵀHv2 vs bicomplex")

# %% [markdown]
# ## 2. Conv2d by im2col
#
# A convolution slides a $k_h\times k_w$ kernel over the image:
#
# $$y_{n,o,i,j} = b_o + \sum_{c,a,a'} W_{o,c,a,a'}\; x_{n,c,\,i s + a,\,j s + a'} .$$
#
# **im2col** gathers every window into one row — for an unpadded image it is a *strided view*,
# no copy — so the whole layer becomes one matrix product
# $\text{rows}\;W_{\text{mat}}^\top + b$, and the product rule does the rest.

# %%
cols = im2col(X, (3, 3))  # (N, OH, OW, kh, kw, C)
print("windows", cols.shape, "- a view of X:", np.shares_memory(cols, X))
assert np.shares_memory(cols, X)
assert np.array_equal(cols[5, 2, 3, :, :, 0], X[5, 0, 2:5, 3:6])  # window (2, 3) of image 5

# %% [markdown]
# Check the vectorised layer against `layers.reference.conv2d`, an obviously correct loop over
# output pixels — first on real numbers, then the $\varepsilon_1$ part on hyper-dual weights
# (by linearity in $W$, the $\varepsilon_1$ part is the convolution with the direction's
# kernel):

# %%
conv = Conv2d(1, 4, 3)
K0, c0 = conv.init_params(rng)
VK, vc = rng.normal(size=K0.shape), rng.normal(size=c0.shape)

x_few = X[:8]
assert_close(
    conv.forward((K0, c0), x_few),
    reference.conv2d(x_few, K0, c0),
    np.float64,
    "exact",
    "conv vs loop",
)
out = conv.forward((HyperDual(K0, VK), HyperDual(c0, vc)), x_few)
assert_close(out.eps1[0], reference.conv2d(x_few, VK, vc), np.float64, "exact", "conv ε1 part")
print("conv output", out.shape, "- matches the loop reference")

# %% [markdown]
# ## 3. Softmax and cross-entropy, by composition
#
# No special rule is needed: `log_softmax` is $z - \log\sum_k e^{z_k}$, built from `exp`,
# `sum` and `log`. For stability it first subtracts $m = \max_k \operatorname{real}(z_k)$ —
# a **plain** number, so it carries no derivative. That is exact, not an approximation: a
# constant shift of all logits cancels in $z - \log\sum e^z$. Huge logits therefore do not
# overflow, on any number type:

# %%
z = HyperDual(np.array([[1000.0, 0.0, -1000.0]]), rng.normal(size=(1, 3)))
p = softmax(z)
print("softmax of huge logits:", p.real, " ε1 part:", p.eps1[0])
assert np.all(np.isfinite(p.real)) and np.all(np.isfinite(p.eps1))

# %% [markdown]
# The directional derivative of softmax is $p\odot(u - p^\top u)$, and the Hessian of the mean
# cross-entropy $L(z) = -\frac1N\sum_n \log\operatorname{softmax}(z_n)_{y_n}$ with respect to
# the logits is block diagonal with blocks $(\operatorname{diag}p_n - p_np_n^\top)/N$.
# Check both, the Hessian from `hd.hessian` of the loss as a function of the flattened
# logits:

# %%
N, C = 3, 4  # samples, classes
logits, labels = rng.normal(size=(N, C)), np.array([0, 3, 1])
u = rng.normal(size=(N, C))
p = softmax(logits)
assert_close(
    softmax(HyperDual(logits, u)).eps1[0],
    p * (u - np.sum(p * u, axis=1, keepdims=True)),
    np.float64,
    "exact",
    "softmax directional derivative",
)

ce = CrossEntropy()
H = hd.hessian(lambda flat: ce.value(flat.reshape(N, C), labels), logits.ravel())
blocks = [(np.diag(p[n]) - np.outer(p[n], p[n])) / N for n in range(N)]
H_exact = np.block(
    [[blocks[i] if i == j else np.zeros((C, C)) for j in range(N)] for i in range(N)]
)
assert_close(H, H_exact, np.float64, "exact", "cross-entropy Hessian")
np.set_printoptions(precision=3, suppress=True, linewidth=110)
print(H[:C, :C])

# %% [markdown]
# ## 4. A small CNN: forward mode against back-propagation
#
# Conv 3×3 → tanh → max-pool → dense: $D = 410$ parameters, small enough to compare every
# quantity both ways. The layers also implement **back-propagation** (`value_and_grad`),
# which gets the whole gradient from one backward pass, and, run on dual numbers
# $\theta + v\,\varepsilon$, the Hessian-vector product (`hvp`, "forward-over-reverse";
# notebook 4b writes the backward pass out).

# %%
cnn = Sequential(
    [Conv2d(1, 4, 3), Tanh(), MaxPool2d(2), Flatten(), Dense(36, 10)],
    input_shape=(1, 8, 8),
    name="digits_cnn",
)
print(cnn.summary())
theta = cnn.init_params(seed=0)
D = cnn.num_params
v = rng.normal(size=D)
V = rng.normal(size=(4, D))


def cnn_loss(theta):
    return cnn.loss(theta, X, y)


# %%
def best_time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


(_, grad_bp), t_grad_bp = best_time(lambda: cnn.value_and_grad(theta, X, y))
grad_fm, t_grad_fm = best_time(lambda: hd.gradient(cnn_loss, theta, chunk_size=64))
(_, d1_fm, _, _), t_dir_fm = best_time(lambda: hd.directional(cnn_loss, theta, v))
hv_bp, t_hvp_bp = best_time(lambda: cnn.hvp(theta, X, y, v))
hv_fm, t_hvp_fm = best_time(lambda: hd.hvp(cnn_loss, theta, v, chunk_size=64))
(_, g_K, H_K), t_proj_fm = best_time(lambda: hd.projected_hessian(cnn_loss, theta, V))

assert_close(grad_fm, grad_bp, np.float64, "exact", "gradient: forward vs back-prop")
assert_close(d1_fm, grad_bp @ v, np.float64, "exact", "directional vs back-prop")
assert_close(hv_fm, hv_bp, np.float64, "exact", "Hv: forward vs forward-over-reverse")
H_K_bp = np.stack([V @ cnn.hvp(theta, X, y, V[k]) for k in range(len(V))])
assert_close(H_K, H_K_bp, np.float64, "exact", "projected Hessian vs back-prop")
print("forward mode and back-propagation agree to rounding")

# %%
rows = [
    ("gradient (all D)", f"forward, D = {D} duals", t_grad_fm, "back-prop", t_grad_bp),
    ("∇L·v (one direction)", "forward, 1 pair", t_dir_fm, "back-prop, then dot", t_grad_bp),
    ("Hv", f"forward, D = {D} pairs", t_hvp_fm, "forward-over-reverse", t_hvp_bp),
    (
        "4×4 projected Hessian",
        "forward, 10 pairs",
        t_proj_fm,
        "4 × forward-over-reverse",
        4 * t_hvp_bp,
    ),
]
print(f"{'quantity':24s}{'forward mode':>32s}{'back-propagation':>38s}")
for what, fm, t_fm, bp, t_bp in rows:
    print(f"{what:24s}{fm:>22s} {t_fm * 1e3:7.1f} ms{bp:>27s} {t_bp * 1e3:7.1f} ms")

# %% [markdown]
# Read the table as a cost model, not a benchmark:
#
# * for **all $D$ partial derivatives** back-propagation wins by a wide margin — that is why it
#   trains networks;
# * for **a few directions** (one slope and curvature, a $K\times K$ projected Hessian)
#   forward mode needs no backward pass and a cost independent of $D$ in the number of
#   pairs. That is what FoMoH and FoMoH-KD use (notebooks 5–7);
# * forward-over-reverse is the efficient route to a full $Hv$ (Hessian-free methods,
#   notebook 8).
#
# The asserts above already say the numbers agree. The times are this machine's; the cost
# model is the number of directions each forward-mode call evaluates (one back-propagation
# is one forward pass that stores its activations plus one backward pass), counted:


# %%
class Counted:
    """Wrap a loss; count its calls and the directions (pairs) it was given."""

    def __init__(self, fn):
        self.fn, self.calls, self.directions = fn, 0, 0

    def __call__(self, t):
        self.calls += 1
        self.directions += t.npairs
        return self.fn(t)


for what, run, expected in [
    ("gradient", lambda c: hd.gradient(c, theta, chunk_size=64), D),
    ("∇L·v", lambda c: hd.directional(c, theta, v), 1),
    ("Hv", lambda c: hd.hvp(c, theta, v, chunk_size=64), D),
    ("4×4 projected Hessian", lambda c: hd.projected_hessian(c, theta, V), 10),
]:
    counted = Counted(cnn_loss)
    run(counted)
    print(f"{what:22s} forward mode: {counted.directions:4d} directions in {counted.calls} call(s)")
    assert counted.directions == expected

# %% [markdown]
# ## 5. Memory as the network gets deeper
#
# Back-propagation must **store every activation** of the forward pass to walk back through
# them, so its memory grows with depth. Forward mode carries the derivative parts *along*
# with the values and drops each activation once the next is computed: no tape.
#
# Measure the peak memory that each call allocates with Python's `tracemalloc` (NumPy reports
# its array allocations to it), for `deep_mlp(width, depth)` networks of growing depth on a
# batch of 512 digits:


# %%
def peak_bytes(fn):
    """Peak memory (bytes) allocated while fn() runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


X_flat, y_big = data.X_train[:512].reshape(512, -1), data.y_train[:512]
depths = [1, 2, 4, 8, 16]
memory = {
    "loss only (floats)": [],
    "forward mode: hyper-dual, 1 pair": [],
    "back-propagation: value_and_grad": [],
    "forward-over-reverse: hvp (Dual)": [],
}
sizes = []
for depth in depths:
    deep = models.deep_mlp(width=32, depth=depth, n_features=64)
    th = deep.init_params(seed=0)
    direction = rng.normal(size=deep.num_params)
    sizes.append(deep.num_params)
    calls = [  # each lambda is called at once, in this iteration
        lambda: deep.loss(th, X_flat, y_big),  # noqa: B023
        lambda: hd.directional(lambda t: deep.loss(t, X_flat, y_big), th, direction),  # noqa: B023
        lambda: deep.value_and_grad(th, X_flat, y_big),  # noqa: B023
        lambda: deep.hvp(th, X_flat, y_big, direction),  # noqa: B023
    ]
    for name, call in zip(memory, calls):
        memory[name].append(peak_bytes(call) / 1e6)

print("depth:", depths, " parameters D:", sizes)
for name, mb in memory.items():
    print(f"{name:36s}", "  ".join(f"{m:6.2f}" for m in mb), "MB")

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
for name, mb in memory.items():
    ax.plot(depths, mb, "o-", label=name)
ax.set_xlabel("depth (hidden layers of width 32)")
ax.set_ylabel("peak memory allocated (MB)")
ax.set_title("Memory against depth, batch of 512 digits")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# What the curves say:
#
# * **Back-propagation** grows linearly with depth: it stores two activations per hidden layer
#   (the `Dense` output and the ReLU output, 512 × 32 numbers each).
# * **Forward-over-reverse** (`hvp`) runs the same back-propagation on first-order `Dual`
#   numbers $\theta + v\,\varepsilon$ — two arrays (real and ε part) per stored activation —
#   so it grows about **twice** as fast (the ratio is printed below).
# * **Forward mode** stays nearly flat: what little it grows is the ε-parts of $\theta$ itself
#   ($D$ grows with depth), not activations.
# * For shallow networks the forward-mode curve lies **above** back-propagation's. Its peak is
#   not a tape but the working set of *one* layer on hyper-dual numbers: the four parts of an
#   activation plus the temporaries of the product rule (the ε1ε2 part alone sums four matrix
#   products) — about nine activations' worth, printed below — while back-propagation through
#   a few layers has only a few activations to store. As the network deepens the tape
#   overtakes it (the first depth where it does is printed below).
#
# Checked (memory allocations are deterministic, unlike times):

# %%
growth = {name: (mb[-1] - mb[0]) / (depths[-1] - depths[0]) for name, mb in memory.items()}
for name, g in growth.items():
    print(f"{name:36s} {g * 1e3:8.1f} kB per extra layer")
activation_mb = 512 * 32 * 8 / 1e6  # one float64 activation
theta_parts_kb = 3 * (32 + 1) * 32 * 8 / 1e3  # a layer's share of θ's ε-parts
ratio = growth["forward-over-reverse: hvp (Dual)"] / growth["back-propagation: value_and_grad"]
fm, bp = (
    np.array(memory["forward mode: hyper-dual, 1 pair"]),
    np.array(memory["back-propagation: value_and_grad"]),
)
print(f"forward-over-reverse / back-propagation, per extra layer: {ratio:.2f}")
print(
    f"forward mode's peak at depth 1: {fm[0] / activation_mb:.1f} activations of 512×32; "
    f"back-propagation's: {bp[0] / activation_mb:.1f}"
)
print("first depth where back-propagation needs more:", depths[int(np.argmax(bp > fm))])
assert growth["back-propagation: value_and_grad"] > 0.9 * 2 * activation_mb  # two per layer
assert growth["forward mode: hyper-dual, 1 pair"] * 1e3 < 0.5 * activation_mb * 1e3 + theta_parts_kb
assert growth["back-propagation: value_and_grad"] > 3 * growth["forward mode: hyper-dual, 1 pair"]
assert 1.5 < ratio < 2.5  # Dual: two arrays per activation
assert fm[0] > bp[0] and fm[-1] < bp[-1]  # the curves cross

# %% [markdown]
# ## Summary
#
# * Every layer is a composition of linear, bilinear, elementwise and selection operations;
#   hyper-dual numbers flow through all of them, checked here against loops, closed forms and
#   the bicomplex step.
# * Back-propagation: all $D$ partial derivatives at once, memory growing with depth.
#   Forward mode: a few directions at a time, exact curvature along them, memory flat in depth.
#
# ## Exercises
#
# **Try it 1:** replace `Tanh()` by `ReLU()` in the CNN. The Hessian-vector products still
# agree — what happens to the $\varepsilon_1\varepsilon_2$ part inside a ReLU layer?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** ReLU's second derivative is 0 (away from the
# kink), so the chain rule's $f''(a)\,bc$ term vanishes: the ε1ε2 part of the output is the
# input's ε1ε2 part times the 0/1 mask, nothing more. Curvature still reaches the loss from
# the products of ε-parts in the layers after it and in the cross-entropy.

# %% tags=["solution"]
from layers import ReLU, relu  # noqa: E402

cnn_relu = Sequential(
    [Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Dense(36, 10)],
    input_shape=(1, 8, 8),
    name="digits_cnn_relu",
)
theta_relu = cnn_relu.init_params(seed=0)
hv_forward = hd.hvp(lambda t: cnn_relu.loss(t, X, y), theta_relu, v, chunk_size=64)
hv_backprop = cnn_relu.hvp(theta_relu, X, y, v)
assert_close(hv_forward, hv_backprop, np.float64, "exact", "Hv with ReLU")

z = HyperDual(
    rng.normal(size=(3, 5)),
    rng.normal(size=(3, 5)),
    rng.normal(size=(3, 5)),
    rng.normal(size=(3, 5)),
)
out = relu(z)
mask = z.real > 0
print("ε1ε2 part in / out of ReLU:\n", z.eps12[0], "\n", out.eps12[0])
assert np.array_equal(out.eps12[0], z.eps12[0] * mask) and np.array_equal(
    out.eps1[0], z.eps1[0] * mask
)

# %% [markdown]
# **Try it 2:** check a convolution with stride 2 and padding 1 on hyper-dual weights against
# the loop reference `layers.reference.conv2d`: the real part, and the ε1 and ε2 parts (the
# convolutions with the two direction kernels).
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
conv_s2 = Conv2d(1, 3, 3, stride=2, padding=1)
K0, c0 = conv_s2.init_params(rng)
(V1K, v1c), (V2K, v2c) = [(rng.normal(size=K0.shape), rng.normal(size=c0.shape)) for _ in range(2)]
out = conv_s2.forward((HyperDual(K0, V1K, V2K), HyperDual(c0, v1c, v2c)), X[:4])
for part, (kernel, bias) in [("real", (K0, c0)), ("eps1", (V1K, v1c)), ("eps2", (V2K, v2c))]:
    got = out.real if part == "real" else getattr(out, part)[0]
    assert_close(
        got,
        reference.conv2d(X[:4], kernel, bias, stride=2, padding=1),
        np.float64,
        "exact",
        f"stride-2 conv, {part}",
    )
print("output shape", out.shape, "- real, ε1 and ε2 parts match the loop reference")
assert out.shape == (4, 3, 4, 4) and np.all(out.eps12 == 0)

# %% [markdown]
# Next: [4b. Forward and reverse mode, and what each costs](04b_forward_and_reverse.ipynb).
