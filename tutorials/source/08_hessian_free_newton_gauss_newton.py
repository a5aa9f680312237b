# %% [markdown]
# # 8. Hessian-free Newton-CG and Gauss-Newton-CG
#
# Newton's step $x$ solves $(H + \lambda I)\,x = g$ ($g$ the gradient, $H$ the Hessian,
# $\lambda \ge 0$ a damping that keeps the system positive definite; $\theta' = \theta - \eta x$).
# For a network with $D$ parameters, forming $H$ costs $D$ Hessian-vector products and $D^2$ numbers
# of memory, and solving costs $O(D^3)$. Notebook 6 got around this by shrinking the problem to $K$
# random directions. The **Hessian-free** methods (the companion paper *Second-order optimization
# made practical*) keep all $D$ dimensions and solve the system *approximately*, by the conjugate
# gradient method (CG), which touches the matrix only through products $A p$:
#
# * **Hessian-free Newton-CG**: $A = H + \lambda I$, products $Hp$ from **back-propagation run on
#   dual numbers** — a few passes each, whatever $D$;
# * **Hessian-free Gauss-Newton-CG**: $A = G + \lambda I$ with the Gauss-Newton matrix
#   $G = J^\top H_{\text{out}} J$ — $J$ the Jacobian of the network outputs with respect to
#   $\theta$, $H_{\text{out}}$ the Hessian of the loss with respect to the outputs. $G$ is
#   positive semi-definite whenever the loss is convex in the outputs (cross-entropy is), so CG
#   never meets negative curvature.
#
# We build every piece by hand on a small network, check it against dense matrices, then train.

# %%
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
import optimizers
from hyperdual import Dual
from hyperdual.testing import assert_close, relative_error
from hyperlab.data import load_dataset
from hyperlab.train import RunConfig, train
from layers import models
from optimizers.curvature import truncated_cg
from optimizers.hessian_free import hessian_by_backprop

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# The network of the paper: Dense → ReLU → Dense with log-softmax cross-entropy (`models.mlp`),
# here with 8 hidden units on the embedded 8×8 digits: $D = 64\cdot 8 + 8 + 8\cdot 10 + 10
# = 610$, small enough to form $H$ and $G$ densely for the checks. One minibatch of 64
# images defines the loss. `optimizers.ModelObjective(model, X, y)` is that loss as a function
# of $\theta$ with the model's derivatives attached (`value_and_grad`, `hvp`, `gnvp`).

# %%
data = load_dataset("digits", flatten=True, dtype=np.float64)
model = models.mlp(hidden=8, n_features=64)
theta = model.init_params(seed=0)
D = model.num_params
X, y = data.X_train[:64], data.y_train[:64]
obj = optimizers.ModelObjective(model, X, y)
loss, g = obj.value_and_grad(theta)
print(model.summary(), f"\nloss {loss:.4f}, |g| = {np.linalg.norm(g):.4f}")

# %% [markdown]
# ## 1. Hessian-vector products from back-propagation on dual numbers
#
# Back-propagation computes $\nabla f(\theta)$ with ordinary arithmetic, so it runs on any number
# type. Feed it $\theta + v\,\varepsilon$: every intermediate carries its derivative along $v$, and
# the result is
#
# $$\nabla f(\theta + v\,\varepsilon) = \nabla f(\theta) + \big(\nabla^2 f(\theta)\, v\big)\,\varepsilon .$$  # noqa: E501
#
# ("forward-over-reverse"). One forward and one backward pass on dual numbers, whatever $D$.
# Compare with the two other ways we know: forward mode alone (`hd.hvp`: $D$ hyper-dual pairs,
# notebook 3) and the paper's eq. (3), a finite difference of gradients.

# %%
v = rng.standard_normal(D)

_, grad_dual = model.value_and_grad(Dual(theta, v), X, y)  # back-prop on θ + v ε
Hv_backprop = grad_dual.eps[0]
assert np.allclose(grad_dual.real, g) and np.allclose(Hv_backprop, model.hvp(theta, X, y, v))


class Counted:
    """Wrap the loss; count its calls and the direction pairs it was given."""

    def __init__(self, fn):
        self.fn, self.calls, self.pairs = fn, 0, 0

    def __call__(self, t):
        self.calls += 1
        self.pairs += t.npairs
        return self.fn(t)


def best_time(fn, repeat=3):
    """Seconds of the fastest of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


counted = Counted(obj)
Hv_forward = hd.hvp(counted, theta, v)
t_backprop = best_time(lambda: model.hvp(theta, X, y, v))
t_forward = best_time(lambda: hd.hvp(obj, theta, v))
h = 1e-6
Hv_fd = (obj.value_and_grad(theta + h * v)[1] - g) / h

print(f"back-prop on dual numbers: 1 forward + 1 backward pass, {1e3 * t_backprop:7.2f} ms")
print(
    f"forward mode: {counted.pairs} hyper-dual pairs in {counted.calls} calls, "
    f"{1e3 * t_forward:7.1f} ms, relative difference "
    f"{relative_error(Hv_forward, Hv_backprop):.1e}"
)
print(f"finite difference, h = {h:g}: relative error {relative_error(Hv_fd, Hv_backprop):.1e}")
assert_close(Hv_forward, Hv_backprop, np.float64, "exact", "Hv")
assert relative_error(Hv_fd, Hv_backprop) > 1e3 * relative_error(Hv_forward, Hv_backprop)
assert counted.pairs == D  # the work: D pairs against one dual pass

# %% [markdown]
# ## 2. The dense Hessian, for reference
#
# $D$ products $H e_i$ give $H$ column by column; `hessian_by_backprop` puts a block of basis
# vectors on the dual numbers' pair axis so that many columns share one pass. (We only do this to
# check the Hessian-free methods. Newton's method with the full Hessian — `DampedNewton` — pays
# it on every step.)

# %%
start = time.perf_counter()
H = hessian_by_backprop(obj.value_and_grad, theta)
print(f"H: {D}×{D} in {time.perf_counter() - start:.2f} s")
assert np.allclose(H @ v, Hv_backprop, rtol=1e-10, atol=1e-12)
eig_H = np.linalg.eigvalsh(H)
print("smallest eigenvalues:", eig_H[:3], "\nlargest:", eig_H[-3:])
assert eig_H[0] < 0  # the loss of a ReLU network is not convex in θ

# %% [markdown]
# $H$ is **indefinite**: some directions curve downwards. An undamped Newton step
# ($\lambda = 0$) moves *up* along them. Damping with $\lambda > -\lambda_{\min}(H)$ makes
# $H + \lambda I$ positive definite.
#
# ## 3. The Gauss-Newton matrix $G = J^\top H_{\text{out}} J$
#
# Write the loss as $f(\theta) = \ell(z(\theta))$ with $z \in \mathbb R^{N\times 10}$ the logits.
# The chain rule twice gives (the paper's eq. 7)
#
# $$\nabla^2 f = J^\top H_{\text{out}} J + \sum_a \frac{\partial \ell}{\partial z_a}\,\nabla^2 z_a,
# \qquad J = \frac{\partial z}{\partial\theta},\quad
# H_{\text{out}} = \nabla^2_z \ell .$$
#
# Gauss-Newton keeps the first term. For the mean cross-entropy, $H_{\text{out}}$ is
# block-diagonal with one $10\times10$ block $(\operatorname{diag}(p_n) - p_n p_n^\top)/N$ per
# image ($p_n$ the softmax of $z_n$), positive semi-definite, so $G$ is too.
#
# The product $Gv$ needs three steps (`model.gnvp`): $Jv$ by one forward pass on dual numbers,
# $H_{\text{out}}(Jv)$ in closed form, $J^\top(\cdot)$ by one back-propagation. Check it against a
# dense $G$: $J$ from forward mode with the $D$ basis vectors on the pair axis (one column of $J$
# per pair), and $H_{\text{out}}$ from the closed form — itself checked against a hyper-dual
# Hessian of one image's loss.


# %%
def jacobian_forward(model, theta, X, block=256):
    """J (N·10, D): column i is the derivative of all outputs along e_i (forward mode)."""
    cols = []
    for start in range(0, D, block):
        E = np.eye(D)[start : start + block]  # basis vectors as pairs
        out = model.forward(Dual(theta, E), X)  # eps: (pairs, N, 10)
        cols.append(out.eps.reshape(len(E), -1))
    return np.concatenate(cols).T


J = jacobian_forward(model, theta, X)
z = model.forward(theta, X)
p = np.exp(z - z.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
N = len(y)
blocks = (np.einsum("nk,kl->nkl", p, np.eye(10)) - np.einsum("nk,nl->nkl", p, p)) / N
H_out = np.zeros((10 * N, 10 * N))
for n in range(N):
    H_out[10 * n : 10 * n + 10, 10 * n : 10 * n + 10] = blocks[n]
G = J.T @ H_out @ J
print("J", J.shape, " H_out", H_out.shape, " G", G.shape)


# H_out's first block against forward mode: the 10×10 Hessian of image 0's share of the loss
def loss_of_first_logits(z0):
    return -(z0[y[0]] - np.log(np.sum(np.exp(z0)))) / N


assert_close(hd.hessian(loss_of_first_logits, z[0]), blocks[0], np.float64, "exact", "H_out block")
assert_close(model.gnvp(theta, X, y, v), G @ v, np.float64, "exact", "G v")
eig_G = np.linalg.eigvalsh(G)
print("smallest eigenvalues of G:", eig_G[:3])
assert eig_G[0] > -1e-12 * eig_G[-1]  # positive semi-definite, up to rounding

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(eig_H[::-1], label="Hessian H")
ax.plot(eig_G[::-1], label="Gauss-Newton G")
ax.set_yscale("symlog", linthresh=1e-3)
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("index (largest first)")
ax.set_ylabel("eigenvalue (symlog)")
ax.set_title(f"Spectra of H and G, D = {D}, one minibatch of {N}")
ax.legend()
plt.show()
print(
    f"H has {np.sum(eig_H < -1e-10)} negative eigenvalues; G has rank "
    f"{np.sum(eig_G > 1e-10 * eig_G[-1])} (≤ 9·N = {9 * N}) of D = {D}"
)
assert np.sum(eig_G > 1e-10 * eig_G[-1]) <= 9 * N

# %% [markdown]
# Two differences to remember: $H$ has negative eigenvalues, $G$ none; and $G$ is singular. Its
# rank is at most $9N$ (each image's $H_{\text{out}}$ block has rank 9, since the softmax ignores
# a common shift of the logits) and here even less, because hidden units that are off for every
# image contribute nothing to $J$. Damping $\lambda > 0$ is what makes $G + \lambda I$
# invertible.
#
# ## 4. Conjugate gradient with products only
#
# CG minimises the quadratic $\tfrac12 x^\top A x - g^\top x$ over growing Krylov subspaces
# $\operatorname{span}\{g, Ag, A^2g, \dots\}$; it needs one product $A p$ per iteration and a
# handful of vectors (the paper's Algorithm 1):


# %%
def conjugate_gradient(matvec, b, iterations):
    """x_0 = 0, ..., x_k for A x = b: the paper's Algorithm 1, every iterate returned."""
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    iterates = []
    for _ in range(iterations):
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x, r = x + alpha * p, r - alpha * Ap
        rr, rr_old = r @ r, rr
        p = r + (rr / rr_old) * p
        iterates.append(x)
    return iterates


lam = 1.0  # > -λ_min(H), so H + λI is positive definite
assert eig_H[0] + lam > 0
systems = {
    "Newton: H + λI": (lambda u: model.hvp(theta, X, y, u) + lam * u, H),
    "Gauss-Newton: G + λI": (lambda u: model.gnvp(theta, X, y, u) + lam * u, G),
}
errors = {}
for name, (matvec, A) in systems.items():
    exact = np.linalg.solve(A + lam * np.eye(D), g)  # the dense reference
    iterates = conjugate_gradient(matvec, g, 40)
    errors[name] = [np.linalg.norm(x - exact) / np.linalg.norm(exact) for x in iterates]
    eig = eig_H if A is H else eig_G
    print(
        f"{name:22s} cond = {(eig[-1] + lam) / (eig[0] + lam):6.1f}   error after "
        f"10 products {errors[name][9]:.1e}, after 40 {errors[name][-1]:.1e}"
    )
    assert errors[name][-1] < 1e-8

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, err in errors.items():
    ax.semilogy(np.arange(1, len(err) + 1), err, "o-", ms=3, label=name)
ax.axvline(10, color="gray", ls=":", label="10 products (the optimizers' default cg_maxiter)")
ax.set_xlabel("CG iterations = curvature products")
ax.set_ylabel("relative error vs dense solve")
ax.set_title(f"CG on (A + λI) x = g, λ = {lam:g}, D = {D}")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# After a few dozen products CG has the dense solution to 8 digits — without ever forming a
# $D\times D$ matrix. Gauss-Newton converges faster here because its damped matrix is better
# conditioned (CG's error falls roughly like $((\sqrt c - 1)/(\sqrt c + 1))^k$ for the
# condition number $c = \operatorname{cond}(A + \lambda I)$ printed above). The other
# difference is robustness. With $\lambda$ too small,
# $H + \lambda I$ is indefinite and CG runs into a direction $p$ with $p^\top A p < 0$: the
# library's `truncated_cg` (the same algorithm with SciPy Newton-CG's safeguards) stops there.
# $G + \lambda I$ never does.

# %%
for name, product in [
    ("H", lambda u: model.hvp(theta, X, y, u)),
    ("G", lambda u: model.gnvp(theta, X, y, u)),
]:
    res = truncated_cg(lambda u: product(u) + 0.01 * u, g, maxiter=200, tol=1e-10)  # noqa: B023
    print(f"{name} + 0.01 I: stop = {res.stop!r} after {res.iterations} products")
    assert res.stop == ("negative_curvature" if name == "H" else "converged")

# %% [markdown]
# ### One optimizer step against the dense solve
#
# `HessianFreeNewton` and `HessianFreeGaussNewton` are exactly this: gradient, CG on the damped
# system, $\theta' = \theta - \eta x$. `DampedNewton` forms $H$ (by back-propagation on dual
# numbers) and solves densely. Run to convergence, all three agree with `np.linalg.solve`:

# %%
steps = {
    "DampedNewton": (optimizers.DampedNewton(lr=1.0, damping=lam), H),
    "HessianFreeNewton": (
        optimizers.HessianFreeNewton(lr=1.0, damping=lam, cg_maxiter=D, cg_tol=1e-12),
        H,
    ),
    "HessianFreeGaussNewton": (
        optimizers.HessianFreeGaussNewton(lr=1.0, damping=lam, cg_maxiter=D, cg_tol=1e-12),
        G,
    ),
}
for name, (opt, A) in steps.items():
    theta_new, info = opt.step(obj, theta, grad=obj.value_and_grad)
    exact = theta - np.linalg.solve(A + lam * np.eye(D), g)
    err = relative_error(theta_new - theta, exact - theta)
    print(
        f"{name:23s} relative error of the step {err:.1e}   "
        f"({getattr(info, 'iterations', '-')} products, stop: {getattr(info, 'stop', '-')})"
    )
    assert err < 1e-9

# %% [markdown]
# ## 5. Training
#
# `hyperlab.train` passes each optimizer a `ModelObjective` of the minibatch, so the
# Hessian-free methods find `hvp` and `gnvp` on it. Six epochs on the digits (minibatches of
# 64), float64, with the paper's settings where it states them ($\eta = 0.5$, λ = 32 for
# Newton-CG and λ = 4 for Gauss-Newton; SGD with $\eta = 0.1$) and with smaller dampings. The
# paper does not say how many CG iterations it runs per step; we use the optimizers' default
# of at most 10 (`cg_maxiter=10`). The
# paper tuned λ for MNIST; on this smaller problem the curvature is small (eigenvalues of $H$ of
# order 1), so λ = 32 turns Newton-CG into gradient descent with step $\approx g/64$.
#
# (`DampedNewton` with the full Hessian is left out: its $D$ products and dense solve per step
# would make this run minutes long; the companion paper found it slowest by far, too.)

# %%
base = RunConfig(
    dataset="digits",
    model="mlp",
    model_kwargs={"hidden": 8},
    epochs=6,
    batch_size=64,
    dtype="float64",
)
methods = [  # label, optimizer (an optimizers.build name), learning rate, its arguments
    ("SGD (η=0.1)", "sgd", 0.1, {}),
    ("SGD (η=0.5)", "sgd", 0.5, {}),
    ("HF Newton (λ=32)", "hf-newton", 0.5, {"damping": 32}),
    ("HF Newton (λ=1)", "hf-newton", 0.5, {"damping": 1}),
    ("HF Gauss-Newton (λ=4)", "hf-gauss-newton", 0.5, {"damping": 4}),
    ("HF Gauss-Newton (λ=0.1)", "hf-gauss-newton", 0.5, {"damping": 0.1}),
]
# One short untimed run first: the first training in a fresh kernel pays one-time costs
# (imports, caches, memory allocation) that would otherwise be charged to whichever method
# happens to run first and distort the time axis below.
train(replace(base, optimizer="sgd", lr=0.1, epochs=1), quiet=True, data=data)

runs = {}
for label, name, lr, kwargs in methods:
    config = replace(base, optimizer=name, lr=lr, optimizer_kwargs=kwargs, label=label)
    runs[label] = train(config, quiet=True, data=data)
    last = runs[label].final
    print(
        f"{label:26s} val loss {last['val_loss']:.3f}  val acc {last['val_acc']:.3f}  "
        f"{last['wall_time']:.1f} s"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for label, run in runs.items():
    h = run.history
    style = "--" if label.startswith("SGD") else "-"
    axes[0].plot(
        [r["epoch"] for r in h], [r["val_loss"] for r in h], style, marker="o", ms=3, label=label
    )
    axes[1].plot([r["wall_time"] for r in h], [r["val_loss"] for r in h], style, marker="o", ms=3)
axes[0].set(xlabel="epoch", ylabel="validation loss", yscale="log")
axes[1].set(xlabel="wall-clock seconds", ylabel="validation loss", yscale="log")
axes[0].legend(fontsize=8)
fig.suptitle(f"MLP (D = {D}) on the digits")
plt.show()

# %% [markdown]
# What to read off the curves:
#
# * With damping suited to the problem, **Hessian-free Gauss-Newton** is the fastest per epoch
#   — the paper's conclusion too. Newton-CG with λ just above $-\lambda_{\min}(H)$ beats SGD
#   with the paper's $\eta = 0.1$, though not SGD with a larger rate.
# * With the paper's MNIST dampings both behave like slow gradient descent: λ sets the
#   trust region, and it has to match the scale of the curvature.
# * Per second, SGD's single backward pass per step is hard to beat on a model this small: a
#   CG step costs up to 10 products, each a forward and backward pass on dual numbers. (The
#   times are this machine's, measured after a warm-up run; the counts of passes are not.)

# %%
final = {label: run.final["val_loss"] for label, run in runs.items()}
assert all(run.status == "completed" for run in runs.values())
assert final["HF Gauss-Newton (λ=0.1)"] < min(final["SGD (η=0.1)"], final["SGD (η=0.5)"])
assert final["HF Newton (λ=1)"] < final["HF Newton (λ=32)"]
assert final["HF Gauss-Newton (λ=0.1)"] < final["HF Gauss-Newton (λ=4)"]

# %% [markdown]
# ## Summary
#
# * $Hv$ costs one forward and one backward pass on dual numbers (`model.hvp`); $Gv =
#   J^\top H_{\text{out}} J v$ one dual forward pass, a closed form and one backward pass
#   (`model.gnvp`).
# * CG solves the damped Newton system with those products alone; truncated after a few
#   iterations it gives most of the Newton step. `truncated_cg` stops at negative curvature,
#   which only $H$ can have.
# * The damping λ matters more than the method: too large and the step is a timid gradient
#   step, too small (for $H$) and CG meets negative curvature.
#
# ## Exercises
#
# **Try it 1:** run `truncated_cg` (from `optimizers.curvature`, imported above) on
# $H + \lambda I$ for λ between $0.5\,|\lambda_{\min}(H)|$ and $3\,|\lambda_{\min}(H)|$:
# where does it switch from stopping at negative curvature to converging, and how does that
# compare with `eig_H[0]`?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** for $\lambda > -\lambda_{\min}(H)$ the
# matrix is positive definite, so CG cannot meet negative curvature and converges — that
# part is a theorem. Below it, $H + \lambda I$ has negative eigenvalues and CG *may* run into
# one; here it does for every λ tried, so the switch sits exactly at $-\lambda_{\min}(H)$.
# Closer to the switch CG needs more products: the damped matrix is nearly singular.

# %% tags=["solution"]
lam_min, stops = eig_H[0], {}
for factor in (0.5, 0.9, 0.99, 1.01, 1.1, 1.5, 3.0):
    lam_try = -lam_min * factor
    res = truncated_cg(
        lambda u: model.hvp(theta, X, y, u) + lam_try * u,  # noqa: B023 - called at once
        g,
        maxiter=2000,
        tol=1e-10,
    )
    stops[factor] = res.stop
    print(
        f"λ = {lam_try:.4f} ({factor:4.2f} × |λ_min|): stop = {res.stop!r} after "
        f"{res.iterations} products"
    )
assert all(
    stop == ("converged" if factor > 1 else "negative_curvature") for factor, stop in stops.items()
)

# %% [markdown]
# **Try it 2:** find a direction that $G$ (and $H$) send to zero *exactly*, whatever $\theta$:
# think of what the softmax ignores. Check with `model.gnvp` and `model.hvp`.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** adding the same constant to all ten logits of every image changes no
# probability, so the loss is constant along the direction that adds 1 to each bias of the
# output layer: $Jv$ is a common shift of the logits, $H_{\text{out}}Jv = 0$, so $Gv = 0$;
# and since the loss is constant along that line, $Hv = 0$ as well. Damping is what makes
# such directions harmless for CG.

# %% tags=["solution"]
v_shift = np.zeros(D)
v_shift[dict(model.param_groups())["dense2.bias"]] = 1.0
Gv, Hv_shift = model.gnvp(theta, X, y, v_shift), model.hvp(theta, X, y, v_shift)
print(
    f"|G v| = {np.abs(Gv).max():.1e},  |H v| = {np.abs(Hv_shift).max():.1e}  "
    f"(a generic direction: |G v| = {np.abs(model.gnvp(theta, X, y, v)).max():.1e})"
)
assert np.abs(Gv).max() < 1e-14 and np.abs(Hv_shift).max() < 1e-14

# %% [markdown]
# Next: [9. Complex-step Newton-Krylov](09_complex_step_newton_krylov.ipynb).
