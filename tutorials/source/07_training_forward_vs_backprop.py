# %% [markdown]
# # 7. Training: forward mode against back-propagation
#
# Now the optimizers of notebooks 5 and 6 train a classifier. The parameters of the model are
# one flat vector $\theta \in \mathbb R^D$; a minibatch $(X_b, y_b)$ defines the loss
# $f_b(\theta)$ = mean cross-entropy, and every step sees a fresh minibatch.
#
# | method | what one step computes | passes |
# |---|---|---|
# | FGD | $\nabla f_b\cdot v$ | 1 hyper-dual forward pass, 1 pair |
# | FoMoH | $\nabla f_b\cdot v$, $v^\top \nabla^2 f_b\, v$ | 1 forward pass, 1 pair |
# | FoMoH-KD | $\tilde g = V\nabla f_b$, $\tilde H = V\nabla^2 f_b V^\top$ | 1 forward pass, $K(K+1)/2$ pairs |  # noqa: E501
# | FoMoH-BP | $\nabla f_b$, then $\nabla f_b^\top \nabla^2 f_b \nabla f_b$ | 1 backward + 1 forward pass |  # noqa: E501
# | SGD (back-propagation) | $\nabla f_b$ | 1 forward pass storing activations + 1 backward pass |
#
# The forward-mode methods (the first three) never store activations for a backward pass —
# their memory does not grow with depth (notebook 4) — but each step learns only about the
# $K$ directions it drew. Back-propagation learns the whole gradient every step.
#
# We train multinomial logistic regression (the paper's §6.2, Table 1 and Figure 3) with the
# library's training loop `hyperlab.train`, then look at what happens to FGD when $D$ grows.

# %%
import os
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
from hyperdual.testing import assert_close
from hyperlab.data import MissingDataError, iterate_minibatches, load_dataset
from hyperlab.train import RunConfig, build_model, train
from optimizers import pretty_name

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. The data
#
# The notebook uses MNIST if it can find the four original files (`train-images-idx3-ubyte.gz`
# and so on) in **`$FOMOH_DATA_DIR/mnist/`** — set the environment variable before starting
# Jupyter — or in your user cache, where `fomoh train --dataset mnist --download` puts them.
# Otherwise it falls back to scikit-learn's embedded **8×8 digits** (1,797 images, no files, no
# network). `load_dataset` scales pixels to $[0, 1]$ and makes a stratified, seeded
# train/validation/test split. On MNIST we train on a 10,000-image subset to stay quick.

# %%
data_dir = os.environ.get("FOMOH_DATA_DIR")  # None: look in the user cache
try:
    data = load_dataset("mnist", data_dir=data_dir, flatten=True, max_train=10_000)
except MissingDataError as exc:
    print("MNIST not found:", str(exc).split(". Get")[0])
    data = load_dataset("digits", flatten=True)
print(data)
side = int(np.sqrt(data.input_shape[0]))

fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for ax, c in zip(axes, range(10)):
    ax.imshow(data.X_train[np.flatnonzero(data.y_train == c)[0]].reshape(side, side), cmap="gray_r")
    ax.set_title(str(c))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. One minibatch loss, two ways to differentiate it
#
# `layers.models.logistic_regression` is one `Dense` layer over $\theta$ (weights and biases
# flattened). `model.loss(θ, X, y)` is written with NumPy operations, so it runs on hyper-dual
# $\theta$; `model.value_and_grad` is back-propagation; `model.hvp` runs back-propagation on
# dual numbers. A forward-mode step sees exactly the projections of those:

# %%
config = RunConfig(dataset=data.name, model="logistic_regression")
model = build_model(config, data)
theta = model.init_params(seed=0)  # float64 for this check
xb, yb = next(iterate_minibatches(data.X_train, data.y_train, 64, rng))
print(model.summary())


def f(th):
    return model.loss(th, xb, yb)


v = rng.standard_normal(model.num_params)
value, slope, _, curvature = hd.directional(f, theta, v)  # one forward pass
loss, grad = model.value_and_grad(theta, xb, yb)  # back-propagation
print(f"loss {value:.6f}   ∇f·v {slope:.6f}   vᵀHv {curvature:.6f}")
assert_close(value, loss, np.float64, "exact", "loss")
assert_close(slope, grad @ v, np.float64, "exact", "∇f·v")
assert_close(curvature, v @ model.hvp(theta, xb, yb, v), np.float64, "exact", "vᵀHv")

# %% [markdown]
# ## 3. Training with `hyperlab.train`
#
# `hyperlab.train.train(config)` runs the loop
#
# ```python
# for xb, yb in minibatches(seeded per epoch):
#     f = lambda th: model.loss(th, xb, yb)            # evaluated on hyper-duals
#     g = lambda th: model.value_and_grad(th, xb, yb)  # back-propagation
#     theta, info = optimizer.step(f, theta, grad=g)
# evaluate train and validation loss and accuracy (plain float forward pass)
# ```
#
# and returns the per-epoch history (it can also write checkpoints and resume; here
# `out_dir=None` writes nothing). Each run is the common `RunConfig` `base` with the
# optimizer's name (as `optimizers.build` takes it), learning rate and batch size replaced;
# `optimizers.pretty_name` gives its label (on the command line the same runs are
# `fomoh compare --optimizers fgd:lr=0.03 ...`). On the digits the learning rates come from a
# small grid search (minibatches of 64); on MNIST they are the paper's appendix Table 3, with
# its batch sizes (the paper also standardises the pixels and trains for 2,000 epochs; we
# train 10 epochs on 10,000 images, so expect far less progress).

# %%
if data.name == "digits":  # (optimizer, learning rate, batch size)
    methods = [
        ("fgd", 0.03, 64),
        ("fomoh", 0.3, 64),
        ("fomoh-2d", 0.2, 64),
        ("fomoh-3d", 0.2, 64),
        ("fomoh-bp", 0.3, 64),
        ("sgd", 1.0, 64),
    ]
    epochs = 15
else:
    methods = [
        ("fgd", 0.00006497, 128),
        ("fomoh", 0.1362, 1024),
        ("fomoh-2d", 0.04221, 512),
        ("fomoh-3d", 0.1, 512),
        ("fomoh-bp", 0.04688, 2048),
        ("sgd", 0.03561, 2048),
    ]
    epochs = 10
    data = load_dataset(
        "mnist", data_dir=data_dir, flatten=True, max_train=10_000, standardize=True
    )
base = RunConfig(
    dataset=data.name, model="logistic_regression", epochs=epochs, batch_size=64, dtype="float32"
)
runs = {}
for name, lr, batch_size in methods:
    label = pretty_name(name)  # "fomoh-2d" -> "FoMoH-2D", "sgd" -> "Backprop (SGD)"
    run_config = replace(base, optimizer=name, lr=lr, batch_size=batch_size, label=label)
    runs[label] = train(run_config, out_dir=None, quiet=True, data=data)
    last = runs[label].final
    steps_per_epoch = int(np.ceil(len(data.y_train) / run_config.batch_size))
    print(
        f"{label:16s} lr {run_config.lr:<9g} batch {run_config.batch_size:<5d}"
        f"({steps_per_epoch:3d} steps/epoch)  val loss {last['val_loss']:.3f}  "
        f"val acc {last['val_acc']:.3f}  {last['wall_time']:5.1f} s"
    )

# %%
colors = {
    "FGD": "tab:green",
    "FoMoH": "tab:blue",
    "FoMoH-2D": "tab:purple",
    "FoMoH-3D": "tab:pink",
    "FoMoH-BP": "tab:orange",
}
fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
for label, run in runs.items():
    h = run.history
    epoch = [r["epoch"] for r in h]
    style = dict(color=colors.get(label, "k"), ls="--" if label not in colors else "-")
    axes[0].plot(epoch, [r["val_loss"] for r in h], label=label, **style)
    axes[1].plot(epoch, [r["val_acc"] for r in h], **style)
    axes[2].plot([r["wall_time"] for r in h], [r["val_loss"] for r in h], **style)
axes[0].set(xlabel="epoch", ylabel="validation loss (NLL)", yscale="log")
axes[1].set(xlabel="epoch", ylabel="validation accuracy")
axes[2].set(xlabel="wall-clock seconds", ylabel="validation loss (NLL)", yscale="log")
axes[0].legend(fontsize=8)
fig.suptitle(f"Logistic regression on {data.name}, D = {model.num_params}")
plt.show()

# %% [markdown]
# What to read off the curves (compare the paper's Figure 3 and Table 1):
#
# * Among the forward-mode-only methods, **more directions per step means more progress per
#   step**: each step solves a small Newton problem on the $K$-plane it drew. On the digits,
#   where every method takes the same minibatches, the validation losses order as
#   FoMoH-3D < FoMoH-2D < FoMoH ≈ FGD. On MNIST with the paper's settings, compare only
#   FoMoH-2D and FoMoH-3D (both batch 512): the methods' batch sizes differ, so an epoch is 79
#   steps for FGD (batch 128) but 10 for FoMoH (batch 1024), and after 10 epochs FGD can
#   still be ahead of FoMoH and FoMoH-2D — the paper's ordering is after 2,000 epochs.
# * **FoMoH-BP and back-propagation** are far ahead per epoch: every step uses the full
#   gradient, $D$ numbers instead of $K$. FoMoH-BP's curvature-chosen step comes close to
#   SGD with its best learning rate from a grid.
# * Per second (right), back-propagation is cheapest here: one layer leaves nothing for
#   forward mode to save, and in this NumPy reference implementation a hyper-dual pass over
#   several pairs costs more than a backward pass.
#
# The checks, on whichever data set ran (the ordering claim as stated for each):

# %%
final = {label: run.final for label, run in runs.items()}
start_loss = np.log(10)  # uniform prediction over 10 classes
for label, last in final.items():
    assert runs[label].status == "completed", label
    assert last["val_loss"] < start_loss, label
forward = [label for label in final if label.startswith(("FGD", "FoMoH")) and label != "FoMoH-BP"]
backprop = [label for label in final if label not in forward]
print("forward-mode only:", forward, "\nwith back-propagation:", backprop)
assert min(final[b]["val_loss"] for b in backprop) < min(final[f]["val_loss"] for f in forward)
order = sorted(forward, key=lambda label: final[label]["val_loss"])
print("forward-mode methods, best first:", order)
if data.name == "digits":  # same minibatches for every method
    assert (
        final["FoMoH-3D"]["val_loss"] < final["FoMoH-2D"]["val_loss"] < final["FoMoH"]["val_loss"]
    )
else:  # MNIST, the paper's batch sizes: compare equal batches only
    assert final["FoMoH-3D"]["val_loss"] < final["FoMoH-2D"]["val_loss"]

# %% [markdown]
# ## 4. FGD and the dimension
#
# The paper's CNN experiment (§6.3, 431,080 parameters) shows FGD falling behind as $D$ grows.
# The reason is in the variance of its step $s = -\eta\,(g\cdot v)\,v$. It is unbiased,
# $\mathbb E[s] = -\eta\, g$, but
#
# $$\mathbb E\,\lVert (g\cdot v)\,v\rVert^2 = (D + 2)\,\lVert g\rVert^2 ,$$
#
# so a learning rate that is safe in $D = 650$ dimensions is too large in $D = 2{,}410$: the
# noise grows with $D$ while the useful part does not. FoMoH divides by $v^\top H v$, whose
# mean $\operatorname{tr} H$ is a sum of curvatures over all $D$ dimensions, so its step length
# shrinks as $D$ grows, by itself.
#
# First the identity, by Monte Carlo:

# %%
for dim in (10, 650, 2410):
    g_test = rng.standard_normal(dim)
    V = rng.standard_normal((4000, dim))
    second_moment = np.mean((V @ g_test) ** 2 * np.sum(V**2, axis=1))
    ratio = second_moment / ((dim + 2) * g_test @ g_test)
    print(f"D = {dim:5d}:  E|(g·v)v|² / ((D+2)|g|²) = {ratio:.3f}")
    assert abs(ratio - 1) < 0.1

# %% [markdown]
# Then training, on the digits whatever data set section 3 used, with the learning rates that
# suit logistic regression on the digits (section 3's digits settings): FGD with
# $\eta = 0.03$ and FoMoH with $\eta = 0.3$, now on a one-hidden-layer network `mlp`
# (64 → 32 → 10, $D = 2{,}410$ instead of 650).

# %%
digits = data if data.name == "digits" else load_dataset("digits", flatten=True)
mlp_base = RunConfig(
    dataset="digits",
    model="mlp",
    model_kwargs={"hidden": 32},
    epochs=12,
    batch_size=64,
    dtype="float32",
)
mlp_runs = {}
for name, lr in (("fgd", 0.03), ("fomoh", 0.3)):
    config = replace(mlp_base, optimizer=name, lr=lr, label=pretty_name(name))
    mlp_runs[config.label] = train(config, quiet=True, data=digits)
D_mlp = build_model(mlp_base, digits).num_params

fig, ax = plt.subplots(figsize=(6.5, 4))
for label, run in mlp_runs.items():
    ax.plot(
        [r["epoch"] for r in run.history],
        [r["val_loss"] for r in run.history],
        "o-",
        color=colors[label],
        label=f"{label} (η = {run.config.lr:g})",
    )
ax.set(
    xlabel="epoch",
    ylabel="validation loss (NLL)",
    yscale="log",
    title=f"MLP on the digits, D = {D_mlp:,}",
)
ax.legend()
plt.show()
for label, run in mlp_runs.items():
    print(
        f"{label:6s} validation loss by epoch:",
        " ".join(f"{r['val_loss']:.3g}" for r in run.history),
    )

# %%
fgd_curve = [r["val_loss"] for r in mlp_runs["FGD"].history]
fomoh_curve = [r["val_loss"] for r in mlp_runs["FoMoH"].history]
assert D_mlp == 2410
assert max(fgd_curve) > 10 * start_loss  # FGD at η = 0.03 blows up in D = 2,410
assert fomoh_curve[-1] < fomoh_curve[0] < start_loss + 0.5  # FoMoH keeps learning

# %% [markdown]
# ## Summary
#
# * A forward-mode step sees the loss only through $K$ random directions; more directions per
#   step (FoMoH-KD) means more progress per step.
# * With the gradient from back-propagation (FoMoH-BP, SGD) a step sees everything — the
#   trade is memory: back-propagation stores every activation, forward mode none.
# * FGD's step noise grows like $D$: its learning rate must shrink as the model grows. The
#   curvature in FoMoH's denominator does that automatically.
#
# **More to run:** `fomoh compare` (command line) runs the digits comparison with three seeds
# and writes a table like the paper's Table 1; `fomoh compare --preset mnist-logreg
# --data-dir …` the paper's settings on MNIST.
#
# ## Exercises
#
# **Try it 1:** give FGD on the MLP $\eta = 0.01$: does it learn now, and how fast compared
# with FoMoH?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** at a third of the learning rate FGD's step
# noise no longer blows up; it learns steadily, but after 12 epochs it is still behind
# FoMoH, whose step length the curvature chose.

# %% tags=["solution"]
fgd_small = train(replace(mlp_base, optimizer="fgd", lr=0.01), quiet=True, data=digits)
fgd_curve_small = [r["val_loss"] for r in fgd_small.history]
print("FGD (η = 0.01) validation loss by epoch:", " ".join(f"{x:.3g}" for x in fgd_curve_small))
print("FoMoH (η = 0.3)                        :", " ".join(f"{x:.3g}" for x in fomoh_curve))
assert (
    max(fgd_curve_small) < start_loss + 0.5
    and fgd_curve_small[-1] < fgd_curve_small[0]
    and fomoh_curve[-1] < fgd_curve_small[-1]
)

# %% [markdown]
# **Try it 2:** prove the identity of section 4 in matrix form: for $v \sim \mathcal N(0, I)$,
# $\mathbb E\big[(g\cdot v)^2\, vv^\top\big] = \lVert g\rVert^2 I + 2\,gg^\top$, whose trace is
# $(D + 2)\lVert g\rVert^2$. Check it by Monte Carlo for $D = 4$.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** entrywise, $\mathbb E[(g\cdot v)^2 v_iv_j] = \sum_{k,l} g_kg_l\,
# \mathbb E[v_kv_lv_iv_j]$, and Isserlis' theorem gives $\mathbb E[v_kv_lv_iv_j] =
# \delta_{kl}\delta_{ij} + \delta_{ki}\delta_{lj} + \delta_{kj}\delta_{li}$, so the sum is
# $\lVert g\rVert^2\delta_{ij} + 2g_ig_j$.

# %% tags=["solution"]
g4 = rng.standard_normal(4)
V4 = rng.standard_normal((400_000, 4))
weights = (V4 @ g4) ** 2
monte_carlo = (V4 * weights[:, None]).T @ V4 / len(V4)
exact = (g4 @ g4) * np.eye(4) + 2 * np.outer(g4, g4)
print(np.round(monte_carlo, 2), "\n", np.round(exact, 2))
assert np.allclose(monte_carlo, exact, atol=0.05 * np.abs(exact).max()) and np.isclose(
    np.trace(exact), 6 * g4 @ g4
)

# %% [markdown]
# Next: [8. Hessian-free Newton-CG and Gauss-Newton](08_hessian_free_newton_gauss_newton.ipynb).
