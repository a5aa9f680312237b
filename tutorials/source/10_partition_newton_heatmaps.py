# %% [markdown]
# # 10. Partition Newton and the inter-layer heat maps
#
# Gradient descent gives every parameter the same step size; Newton's method, in effect, a
# different one for every direction. The companion paper *A partition-based variation of
# Newton's method* sits in between: split the $D$ parameters into $S$ groups
# $\mathcal I_1, \dots, \mathcal I_S$ — for a network, naturally each weight tensor and each
# bias vector (the **canonical partition**) — and give each group its own step size, chosen
# by a second-order model. With $g = \nabla f(\theta)$, $H = \nabla^2 f(\theta)$ and
# $u_s$ = $g$ restricted to group $s$ (zero elsewhere):
#
# $$\theta' = \theta - \eta\sum_{s=1}^S \kappa_s u_s, \qquad \bar H\kappa = \bar g, \qquad
#   \bar H_{st} = u_s^\top H u_t, \quad \bar g_s = u_s^\top g = \lVert g_{\mathcal I_s}\rVert^2 .$$
#
# $\bar H$ ($S\times S$) is the **pseudo-Hessian**, $\bar g$ the pseudo-gradient (eqs. 3–4). This
# is notebook 6's hyperplane step with the $S$ directions $u_1, \dots, u_S$: one hyper-dual pass
# over the $S(S+1)/2$ pairs $(u_s, u_t)$ gives $\bar g$ and $\bar H$, and the per-group step
# sizes $\kappa_s$ are the coordinates on that plane. (The paper writes them $\eta_s$ and the
# library keeps them in `opt.last.eta`; in this course $\eta$ is the learning rate, here
# `lr`, 1 by default.) Two extremes (the paper's
# appendix C):
#
# * $S = 1$ (trivial partition): $\theta' = \theta - \frac{g^\top g}{g^\top H g}\, g$ —
#   **Cauchy's steepest descent**;
# * $S = D$ (one coordinate per group): $\theta' = \theta - H^{-1}g$ — **Newton's method**
#   (when no coordinate of $g$ is zero).
#
# We check both, see that partitions in between interpolate, then draw the paper's Figure 1:
# heat maps of $\bar H$ and $\bar H^{-1}$ between the layers of a small LeNet-style network.

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close
from hyperlab.data import epoch_rng, iterate_minibatches, load_dataset
from layers import AvgPool2d, Conv2d, Dense, Flatten, Sequential, Tanh
from optimizers.partition import partition_directions
from optimizers.problems import (
    rosenbrock,
    rosenbrock_hessian,
    rosenbrock_value_and_grad,
)

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. $S = 1$ is Cauchy, $S = D$ is Newton
#
# On the 6-D Rosenbrock function, with its closed-form gradient and Hessian as the reference.
# `optimizers.PartitionNewton(partition=...)` takes `"trivial"`, `"discrete"`, `"canonical"`
# (a model's parameter tensors) or any list of index groups.

# %%
D = 6
theta = 1 + 0.3 * rng.standard_normal(D)
f0, g = rosenbrock_value_and_grad(theta)
H = rosenbrock_hessian(theta)
assert np.all(g != 0)

cauchy = theta - (g @ g) / (g @ H @ g) * g
newton = theta - np.linalg.solve(H, g)
step_trivial, _ = optimizers.PartitionNewton(partition="trivial").step(rosenbrock, theta)
step_discrete, _ = optimizers.PartitionNewton(partition="discrete").step(rosenbrock, theta)
print("S = 1:", step_trivial, "\nCauchy:", cauchy)
print("S = D:", step_discrete, "\nNewton:", newton)
assert_close(step_trivial, cauchy, np.float64, "exact", "S = 1 vs Cauchy")
assert np.allclose(step_discrete, newton, rtol=1e-9, atol=1e-12)

# %% [markdown]
# Why the discrete partition is Newton: with $G = \operatorname{Diag}(g)$ the directions are
# the columns of $G$, so $\bar H = GHG$, $\bar g = Gg$ and the step is
# $G\,(GHG)^{-1}Gg = H^{-1}g$ — the scalings by $g$ cancel. The same algebra shows a property
# the paper stresses: **rescaling any group of parameters** ($\theta_{\mathcal I_s} \to
# \alpha_s\theta_{\mathcal I_s}$) does not change the step; we check it on a network below.
#
# In between, a finer partition spans a larger subspace, so the quadratic model
# $m(s) = f + g\cdot s + \tfrac12 s^\top H s$ can only decrease more. On 20-D Rosenbrock near its
# minimum ($H$ positive definite), with partitions into $S$ contiguous blocks, each refining the
# previous one:

# %%
D20 = 20
theta20 = 1 + 0.1 * rng.standard_normal(D20)
g20, H20 = rosenbrock_value_and_grad(theta20)[1], rosenbrock_hessian(theta20)
assert np.all(np.linalg.eigvalsh(H20) > 0)
newton_decrease = 0.5 * g20 @ np.linalg.solve(H20, g20)
fractions = {}
for S in (1, 2, 4, 5, 10, 20):
    groups = np.array_split(np.arange(D20), S)
    opt = optimizers.PartitionNewton(partition=[slice(b[0], b[-1] + 1) for b in groups])
    theta_new, _ = opt.step(rosenbrock, theta20)
    s = theta_new - theta20
    fractions[S] = -(g20 @ s + 0.5 * s @ H20 @ s) / newton_decrease
    print(
        f"S = {S:2d}: model decrease = {fractions[S]:.3f} × Newton's   "
        f"(κ per group: {', '.join(f'{k:.3g}' for k in opt.last.eta[:4])}"
        f"{' ...' if S > 4 else ''})"
    )
values = list(fractions.values())
assert all(b >= a - 1e-12 for a, b in zip(values, values[1:]))  # refinements never lose
assert np.isclose(fractions[20], 1.0)

# %% [markdown]
# ## 2. The canonical partition of a network
#
# A LeNet-style network for the 8×8 digits — two convolutions with average pooling, three dense
# layers, tanh activations (smooth, so the Hessian carries curvature everywhere): 5 weight
# tensors and 5 bias vectors, $S = 10$ groups for $D = 3{,}718$ parameters.
# `model.param_groups()` lists them.

# %%
data = load_dataset("digits", dtype=np.float64)  # images (N, 1, 8, 8)
model = Sequential(
    [
        Conv2d(1, 6, 3, padding=1),
        Tanh(),
        AvgPool2d(2),
        Conv2d(6, 16, 3, padding=1),
        Tanh(),
        AvgPool2d(2),
        Flatten(),
        Dense(64, 32),
        Tanh(),
        Dense(32, 16),
        Tanh(),
        Dense(16, 10),
    ],
    input_shape=(1, 8, 8),
    name="lenet_small",
)
print(model.summary())
names = [name for name, _ in model.param_groups()]
print("groups:", names)

# %% [markdown]
# One partition-Newton step on a minibatch of 64 images, from the initial parameters.
# `ModelObjective` carries the model's parameter groups, so `"canonical"` needs nothing else;
# `opt.last` keeps $\bar g$, $\bar H$ and $\kappa$ (as `eta`). We check $\bar H$ column by
# column against Hessian-vector products from back-propagation on dual numbers
# ($\bar H_{st} = u_s^\top(Hu_t)$), and the step against $\theta - \eta\sum_s \kappa_s u_s$.

# %%
theta0 = model.init_params(seed=0)
X, y = data.X_train[:64], data.y_train[:64]
obj = optimizers.ModelObjective(model, X, y)
opt = optimizers.PartitionNewton(partition="canonical")
theta1, info = opt.step(obj, theta0, grad=obj.value_and_grad)
g_bar, H_bar, kappa = opt.last.g_bar, opt.last.H_bar, opt.last.eta

_, g_net = obj.value_and_grad(theta0)
U = partition_directions(g_net, model.param_groups())  # rows u_s, shape (S, D)
H_bar_hvp = np.array([U @ model.hvp(theta0, X, y, u) for u in U])
assert_close(H_bar, H_bar_hvp, np.float64, "exact", "H̄ by HVPs")
assert_close(g_bar, np.sum(U * g_net, axis=1), np.float64, "exact", "ḡ")
assert np.allclose(theta1, theta0 - info.lr * kappa @ U, rtol=1e-12, atol=1e-15)
for name, k, gb in zip(names, kappa, g_bar):
    print(f"{name:14s} |g_s|² = {gb:9.2e}   step size κ_s = {k:10.3f}")

# %% [markdown]
# The step sizes differ widely between tensors, and about half are negative — the model says
# to move those tensors *against* their own gradient because of their coupling to the others.
# That coupling lives in the off-diagonal entries of $\bar H$. (And the step is large: an
# undamped Newton step from the initial parameters, trusting the quadratic model far out.)
#
# **Invariance under rescaling each tensor.** Train $\tilde\theta = A\theta$ instead, with
# $A$ multiplying each group by its own $\alpha_s$ (e.g. the NTK parameterisation): the loss is
# $\tilde f(\tilde\theta) = f(A^{-1}\tilde\theta)$. The partition step in $\tilde\theta$, mapped
# back, is the same step:

# %%
alphas = 10.0 ** rng.uniform(-2, 2, size=len(names))
scale = np.concatenate(
    [np.full(sl.stop - sl.start, a) for a, (_, sl) in zip(alphas, model.param_groups())]
)


def f_rescaled(theta_tilde):
    return model.loss(theta_tilde / scale, X, y)


def grad_rescaled(theta_tilde):  # back-propagation and the chain rule
    value, g = model.value_and_grad(theta_tilde / scale, X, y)
    return value, g / scale


opt_tilde = optimizers.PartitionNewton(partition=model.param_groups())
theta1_tilde, _ = opt_tilde.step(f_rescaled, scale * theta0, grad=grad_rescaled)
print("α_s:", np.round(alphas, 3))
print(
    "largest difference of the mapped-back step:",
    np.abs(theta1_tilde / scale - theta1).max(),
    " (step size",
    np.abs(theta1 - theta0).max(),
    ")",
)
assert np.allclose(theta1_tilde / scale, theta1, rtol=1e-6, atol=1e-9 * np.abs(theta1).max())

# %% [markdown]
# Plain gradient descent has no such invariance: its step in $\tilde\theta$ maps back to
# $-\eta A^{-2}g$, a different direction. For the heat maps this means: the raw entries of
# $\bar H$ depend on how each tensor happens to be scaled (and on the size of its gradient), but
# the **normalised** matrix $\bar H_{st}/\sqrt{\lvert\bar H_{ss}\bar H_{tt}\rvert}$ does not. We
# draw that.
#
# ## 3. Heat maps of $\bar H$ and $\bar H^{-1}$ (Figure 1)
#
# Train the network with SGD (momentum 0.9, η = 0.1, minibatches of 64) and take $\bar H$ on a
# fixed batch of 128 training images after 1 and after 10 epochs (the paper: LeNet-5 on
# CIFAR-10 after 1 and 21 epochs). As in the paper, split each matrix into weight–weight,
# bias–bias and weight–bias blocks, rows and columns ordered by layer. (SGD's hyper-parameters
# matter little here: the heat maps are about the loss surface along the way.)


# %%
def pseudo_hessian(theta, X, y):
    """ḡ (S,) and H̄ (S, S) of the canonical partition: one pass over S(S+1)/2 pairs."""
    batch = optimizers.ModelObjective(model, X, y)
    _, g = batch.value_and_grad(theta)
    V = partition_directions(g, model.param_groups())
    _, g_bar, H_bar = hd.projected_hessian(batch, theta, V)
    return g_bar, H_bar


def normalised(M):
    d = np.sqrt(np.abs(np.diag(M)))
    return M / np.outer(d, d)


X_fixed, y_fixed = data.X_train[:128], data.y_train[:128]
sgd = optimizers.SGD(lr=0.1, momentum=0.9, seed=0)
theta = model.init_params(seed=0)
snapshots, losses = {}, []
for epoch in range(10):
    for xb, yb in iterate_minibatches(data.X_train, data.y_train, 64, epoch_rng(0, epoch)):
        batch = optimizers.ModelObjective(model, xb, yb)
        theta, _ = sgd.step(batch, theta, grad=batch.value_and_grad)
    losses.append(float(model.loss(theta, data.X_train, data.y_train)))
    if epoch + 1 in (1, 10):
        title = f"after {epoch + 1} epoch{'s' if epoch else ''}"
        snapshots[title] = pseudo_hessian(theta, X_fixed, y_fixed)
print("training loss by epoch:", np.round(losses, 3))
assert losses[-1] < 0.3 * losses[0]

# %%
w_idx = [i for i, n in enumerate(names) if n.endswith("weight")]
b_idx = [i for i, n in enumerate(names) if n.endswith("bias")]
layers = [names[i].rsplit(".", 1)[0] for i in w_idx]
blocks = {"WW": (w_idx, w_idx), "BB": (b_idx, b_idx), "WB": (w_idx, b_idx)}

from matplotlib.colors import Normalize, SymLogNorm  # noqa: E402

matrices = {
    "H̄": [normalised(H_snap) for _, H_snap in snapshots.values()],
    "H̄⁻¹": [normalised(np.linalg.inv(H_snap)) for _, H_snap in snapshots.values()],
}
# One colour scale per row, shared by its six maps: linear for H̄ (entries about ±1);
# for H̄⁻¹, whose entries range from ±1 to ±10 and more, linear within ±1 and logarithmic
# beyond, so that both snapshots stay readable on the same scale.
vmax = {what: max(np.abs(M).max() for M in Ms) for what, Ms in matrices.items()}
norms = {
    "H̄": Normalize(-vmax["H̄"], vmax["H̄"]),
    "H̄⁻¹": SymLogNorm(linthresh=1.0, vmin=-vmax["H̄⁻¹"], vmax=vmax["H̄⁻¹"]),
}
fig, axes = plt.subplots(2, 6, figsize=(19, 6.6), layout="constrained")
for row, (what, Ms) in enumerate(matrices.items()):
    for k, (title, M) in enumerate(zip(snapshots, Ms)):
        for c, (key, (rows, cols)) in enumerate(blocks.items()):
            ax = axes[row, 3 * k + c]
            im = ax.imshow(M[np.ix_(rows, cols)], cmap="RdBu_r", norm=norms[what])
            ax.set_xticks(range(len(layers)), layers, rotation=60, fontsize=7)
            ax.set_yticks(range(len(layers)), layers, fontsize=7)
            ax.set_title(f"{title}: {what} {key}", fontsize=9)
    fig.colorbar(
        im,
        ax=axes[row, :],
        fraction=0.02,
        label="normalised entry" + (" (symlog beyond ±1)" if row else ""),
    )
fig.suptitle(
    "Normalised pseudo-Hessian (top) and its inverse (bottom), one colour scale per "
    "row — red positive, blue negative, white ≈ 0"
)
plt.show()

# %% [markdown]
# How to read the maps: entry $(l_1, l_2)$ of the WW block is the (normalised) curvature
# coupling the weights of layer $l_1$ with those of $l_2$ — how much moving one tensor along its
# gradient changes the slope of the loss along the other's. Diagonal entries are $\pm 1$
# (−1: negative curvature along that tensor's own gradient).
#
# * $\bar H$ is **dense**, not block-diagonal: almost every pair of layers is strongly coupled,
#   with normalised entries near 1 — the matrix is nearly rank one (below: one eigenvalue of
#   the normalised $\bar H$ carries most of the total). An approximation of the Hessian that
#   ignores the interactions between layers (block-diagonal, as in K-FAC) discards most of it.
# * Why near 1? Most of $H$ is the Gauss-Newton part $J^\top H_{\text{out}} J$ (notebook 8), so
#   $\bar H_{st} \approx (Ju_s)^\top H_{\text{out}}(Ju_t)$: the normalised entry is the cosine,
#   in the metric $H_{\text{out}}$, between the changes of the network's *outputs* caused by
#   moving tensor $s$ and tensor $t$ along their gradients. All tensors push the outputs towards
#   the labels, so these changes point in nearly the same direction.
# * $\bar H^{-1}$ is **not** close to block-diagonal either: nearly parallel rows make $\bar H$
#   ill-conditioned, and its inverse has large entries of both signs (in this small network and
#   on this data; the paper found $\bar H^{-1}$ closer to block-diagonal for LeNet-5 on CIFAR-10,
#   but not for the larger VGG-11).
#
# The measurements behind those sentences:


# %%
def off_layer_mass(M):
    """Mean |entry| between different layers / mean |entry| within a layer (normalised M)."""
    layer_of = [n.rsplit(".", 1)[0] for n in names]
    same = np.array([[a == b for b in layer_of] for a in layer_of])
    A = np.abs(normalised(M))
    return A[~same].mean() / A[same].mean()


np.set_printoptions(precision=2, suppress=True, linewidth=110)
for title, (_, H_snap) in snapshots.items():
    eig = np.linalg.eigvalsh(normalised(H_snap))[::-1]
    print(
        f"{title}: off-layer/within-layer mass  H̄ {off_layer_mass(H_snap):.2f}, "
        f"H̄⁻¹ {off_layer_mass(np.linalg.inv(H_snap)):.2f}\n"
        f"  eigenvalues of the normalised H̄: {eig}\n"
        f"  largest eigenvalue's share of the total |λ|: {eig[0] / np.abs(eig).sum():.2f}"
    )
    assert off_layer_mass(H_snap) > 0.5  # far from block-diagonal
    assert eig[0] / np.abs(eig).sum() > 0.6  # one direction dominates

# the Gauss-Newton explanation, at the last snapshot (θ after 10 epochs): u_sᵀGu_t vs u_sᵀHu_t
U_last = partition_directions(
    model.value_and_grad(theta, X_fixed, y_fixed)[1], model.param_groups()
)
G_bar = np.array([U_last @ model.gnvp(theta, X_fixed, y_fixed, u) for u in U_last])
H_last = snapshots["after 10 epochs"][1]
print(
    "normalised H̄ − normalised Ḡ, largest entry:",
    np.abs(normalised(H_last) - normalised(G_bar)).max(),
)
assert np.abs(normalised(H_last) - normalised(G_bar)).max() < 0.25

# %% [markdown]
# ## 4. What this means for the step
#
# A nearly rank-one $\bar H$ is the reason the partition step needs care in practice. The step
# $\bar H^{-1}\bar g$ solves an ill-conditioned $S\times S$ system, its step sizes $\kappa_s$ can
# be large and of opposite signs, and — like any undamped Newton step — it trusts the quadratic
# model far beyond where it holds, especially on a minibatch that the network could fit
# exactly. The library solves with the jitter policy of notebook 6 (`info.jitter`,
# `opt.jitter_count`), and `PartitionNewton(lr=..., damping=..., curvature="abs")` offers the
# usual safeguards; the coarsest partition ($S = 1$, Cauchy) is the most robust, the finest
# the most ambitious.
#
# ## Summary
#
# * Partition Newton = the hyperplane step on the gradient split by tensor: $S(S+1)/2$
#   hyper-dual pairs for $\bar H$, an $S\times S$ solve, one step size per tensor.
# * $S = 1$ is Cauchy's steepest descent, $S = D$ Newton's method; refining the partition can
#   only improve the quadratic model's decrease. The step is invariant under rescaling each
#   tensor.
# * The normalised pseudo-Hessian shows how strongly the layers of a network interact: here
#   almost all of them, through the outputs they all move.
#
# ## Exercises
#
# **Try it 1:** train a small network with partition Newton: `Dense(64, 16)`, `Tanh`,
# `Dense(16, 10)` on the flattened digits ($S = 4$ groups, cheap enough to train here — the
# LeNet-style network above costs about half a second per step), two epochs, minibatches of
# 64, each step a `ModelObjective`. Compare `PartitionNewton()` (the full step, $\eta = 1$),
# `PartitionNewton(lr=0.3)`, `PartitionNewton(partition="trivial")` and
# `PartitionNewton(curvature="abs")`; watch `opt.jitter_count` and the training loss.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the undamped full step diverges — the
# quadratic model of a 64-image minibatch is trusted far outside where it holds, and
# $\bar H$ becomes so ill-conditioned that the solver adds jitter. $\eta = 0.3$ trains well,
# better than Cauchy's step (the trivial partition). `curvature="abs"` does *not* rescue the
# full step here: $\lvert\bar H\rvert$ makes every step go downhill on the model, but its
# length is still the undamped model's, and it diverges too.

# %% tags=["solution"]
flat = load_dataset("digits", flatten=True, dtype=np.float64)
small = Sequential([Dense(64, 16), Tanh(), Dense(16, 10)], input_shape=(64,), name="small_mlp")
variants = {
    "full step (η = 1)": optimizers.PartitionNewton(),
    "η = 0.3": optimizers.PartitionNewton(lr=0.3),
    "trivial (Cauchy)": optimizers.PartitionNewton(partition="trivial"),
    "|H̄|, η = 1": optimizers.PartitionNewton(curvature="abs"),
}
trained = {}
for label, opt_try in variants.items():
    theta_try = small.init_params(seed=0)
    curve = [float(small.loss(theta_try, flat.X_train, flat.y_train))]
    for epoch in range(2):
        for xb, yb in iterate_minibatches(flat.X_train, flat.y_train, 64, epoch_rng(0, epoch)):
            batch = optimizers.ModelObjective(small, xb, yb)
            theta_try, _ = opt_try.step(batch, theta_try, grad=batch.value_and_grad)
        curve.append(float(small.loss(theta_try, flat.X_train, flat.y_train)))
    trained[label] = curve
    print(
        f"{label:18s} training loss by epoch: {' '.join(f'{x:.3g}' for x in curve)}   "
        f"jitter used in {opt_try.jitter_count} steps"
    )
start = trained["η = 0.3"][0]
assert (
    trained["full step (η = 1)"][-1] > 10 * start and variants["full step (η = 1)"].jitter_count > 0
)
assert (
    trained["η = 0.3"][-1] < trained["trivial (Cauchy)"][-1] < start
    and trained["|H̄|, η = 1"][-1] > 10 * start
)

# %% [markdown]
# **Try it 2:** "$S = D$ is Newton's method — when no coordinate of $g$ is zero." Make one
# zero: on 6-D Rosenbrock, $\partial f/\partial\theta_6 = 200(\theta_6 - \theta_5^2)$, so set
# $\theta_6 = \theta_5^2$. What does the discrete partition do now?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the sixth direction $u_6 = g_6 e_6$ is zero, so the step cannot move
# $\theta_6$ at all, and the other five coordinates solve a smaller problem: the step is no
# longer Newton's.

# %% tags=["solution"]
theta_zero = 1 + 0.3 * rng.standard_normal(6)
theta_zero[-1] = theta_zero[-2] ** 2
_, g_zero = rosenbrock_value_and_grad(theta_zero)
discrete = optimizers.PartitionNewton(partition="discrete")
step_zero = discrete.step(rosenbrock, theta_zero)[0] - theta_zero
newton_zero = -np.linalg.solve(rosenbrock_hessian(theta_zero), g_zero)
print(
    "g:", g_zero, "\ndiscrete partition step:", step_zero, "\nNewton's step:          ", newton_zero
)
assert (
    g_zero[-1] == 0
    and step_zero[-1] == 0
    and newton_zero[-1] != 0
    and not np.allclose(step_zero, newton_zero)
)

# %% [markdown]
# This is the last notebook of the optimizer part of the course; notebook
# [11](11_correctness_oracle.ipynb) turns the library into a correctness oracle for other
# automatic-differentiation back-ends.
