# %% [markdown]
# # 9. Complex-step Newton-Krylov
#
# Hyper-dual numbers are one way to get exact second derivatives from ordinary code. The
# companion paper *Complex-step directional derivatives and Newton-Krylov* takes another: run
# the code on **complex** (and bicomplex) numbers. For an analytic $f$ and a tiny real $h$,
#
# $$f(\theta + i h p) = f(\theta) + i h\,\nabla f\cdot p - \tfrac{h^2}{2}\,p^\top\nabla^2 f\,p
#   + O(h^3) \quad\Rightarrow\quad \nabla f\cdot p = \frac{\operatorname{Im} f(\theta + ihp)}{h}
#   + O(h^2).$$
#
# Nothing is subtracted, so $h$ can be as small as $10^{-30}$: the result is exact to rounding,
# like hyper-dual numbers and unlike finite differences. The paper uses two such
# **complex-step directional derivatives**:
#
# * **CSDD** (eq. 10): $Hp = \operatorname{Im}\nabla f(\theta + ihp)/h$ — back-propagation run on
#   complex numbers;
# * **CSDD2** (eq. 11): $p^\top H p = \operatorname{Im}_{i_1 i_2} f(\theta + h i_1 p + h i_2 p)/h^2$
#   — the loss run on **bicomplex** numbers $z_1 + z_2 i_2$ with two imaginary units
#   ($i_1^2 = i_2^2 = -1$), the same role as $\varepsilon_1, \varepsilon_2$ of a hyper-dual number.
#
# With them it builds a **stochastic Newton-Krylov** method (Algorithm 1): CG on the minibatch
# Hessian that stops at the first direction of negative curvature, and a step size chosen by
# how well the quadratic model predicts the loss. This notebook checks CSDD and CSDD2 against
# hyper-dual numbers, compares their accuracy with finite differences, takes one step of
# Algorithm 1 by hand, and trains.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
import optimizers
from hyperdual import Bicomplex
from hyperdual.testing import assert_close, relative_error
from hyperlab.data import epoch_rng, iterate_minibatches, load_dataset
from layers import models
from optimizers.newton_krylov import csdd, csdd2

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# The test bed: a sigmoid network on the embedded 8×8 digits (the paper uses LeNet-5 with sigmoid
# activations on MNIST: smooth activations carry curvature everywhere, unlike ReLU).
# `models.deep_mlp(width=32, depth=1, activation="sigmoid")` is Dense 64→32, Sigmoid, Dense
# 32→10: $D = 2{,}410$. The layers are written once with NumPy operations, so the same code runs
# on real, complex, hyper-dual and bicomplex parameters.

# %%
data = load_dataset("digits", flatten=True, dtype=np.float64)
model = models.deep_mlp(width=32, depth=1, n_features=64, activation="sigmoid")
theta = model.init_params(seed=0)
D = model.num_params
X, y = data.X_train[:128], data.y_train[:128]  # one minibatch
obj = optimizers.ModelObjective(model, X, y)  # f(θ) and its back-propagation
print(model.summary())

# %% [markdown]
# ## 1. CSDD: $Hp$ from back-propagation on complex numbers

# %%
p = rng.standard_normal(D)
h = 1e-30
_, grad_complex = model.value_and_grad(theta + 1j * h * p, X, y)  # θ + i h p
Hp_complex = grad_complex.imag / h
Hp_hyperdual = model.hvp(theta, X, y, p)  # back-prop on θ + p ε
print("Hp[:4]  complex step:", Hp_complex[:4], "\n        hyper-dual:  ", Hp_hyperdual[:4])
assert_close(Hp_complex, Hp_hyperdual, np.float64, "exact", "Hp")
assert_close(csdd(obj.value_and_grad, theta, p), Hp_complex, np.float64, "exact", "csdd")

# %% [markdown]
# The real part of that complex gradient is the ordinary gradient, untouched by $h$ (the
# perturbation enters it only at order $h^2 = 10^{-60}$).
#
# ## 2. CSDD2: $p^\top H p$ from the loss on bicomplex numbers
#
# `Bicomplex(z1, z2)` stores $z_1 + z_2 i_2$ with complex arrays $z_1, z_2$ (their own imaginary
# unit is $i_1$). So $\theta + h i_1 p + h i_2 p$ is `Bicomplex(theta + 1j*h*p, h*p)`; the
# $i_1 i_2$ part of the loss is `imag12`. Here $h^2$ must not underflow, so $h = 10^{-20}$.

# %%
h2 = 1e-20
value = model.loss(Bicomplex(theta + 1j * h2 * p, h2 * p + 0j), X, y)
pHp_bicomplex = value.imag12 / h2**2
pHp_hyperdual = hd.directional(obj, theta, p)[3]  # one (p, p) pair
print(f"pᵀHp  bicomplex step {pHp_bicomplex:.15f}\n      hyper-dual     {pHp_hyperdual:.15f}")
assert_close(pHp_bicomplex, pHp_hyperdual, np.float64, "exact", "pᵀHp")
assert_close(csdd2(obj, theta, p), pHp_hyperdual, np.float64, "exact", "csdd2")
assert_close(pHp_hyperdual, p @ Hp_hyperdual, np.float64, "exact", "pᵀ(Hp)")

# %% [markdown]
# Bicomplex arithmetic needs care that complex arithmetic does not: each elementary function
# needs a formula that never subtracts two nearly equal numbers (`hyperdual.bicomplex` has one
# for every function in the rule table), or the $i_1 i_2$ part — of size $h^2$ — drowns in
# rounding. Hyper-dual numbers avoid the issue altogether: $\varepsilon_1^2 = 0$ truncates the
# series exactly, with no $h$ at all.
#
# ## 3. Accuracy against finite differences
#
# The Hessian-free paper (notebook 8) and the supplement of the complex-step paper also use
# **finite differences** of the gradient, $Hp \approx (\nabla f(\theta + hp) - \nabla f(\theta))/h$.
# The truncation error falls with $h$, the cancellation error grows like $\epsilon/h$; only the
# complex step escapes the trade-off. Relative error against the hyper-dual $Hp$ and $p^\top H p$:

# %%
g0 = obj.value_and_grad(theta)[1]
f0 = obj(theta)
steps_fd = 10.0 ** -np.arange(1, 17)
steps_cs = 10.0 ** -np.arange(1, 41, 3)
err = {
    "forward difference": [],
    "central difference": [],
    "complex step": [],
    "second difference": [],
    "bicomplex step": [],
}
for s in steps_fd:
    fwd = (obj.value_and_grad(theta + s * p)[1] - g0) / s
    cen = (obj.value_and_grad(theta + s * p)[1] - obj.value_and_grad(theta - s * p)[1]) / (2 * s)
    sec = (obj(theta + s * p) - 2 * f0 + obj(theta - s * p)) / s**2
    err["forward difference"].append(relative_error(fwd, Hp_hyperdual))
    err["central difference"].append(relative_error(cen, Hp_hyperdual))
    err["second difference"].append(relative_error(sec, pHp_hyperdual))
for s in steps_cs:
    err["complex step"].append(
        relative_error(csdd(obj.value_and_grad, theta, p, h=s), Hp_hyperdual)
    )
    err["bicomplex step"].append(relative_error(csdd2(obj, theta, p, h=s), pHp_hyperdual))

# %%
floor = 1e-17
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
for name, style in [("forward difference", "o-"), ("central difference", "s-")]:
    axes[0].loglog(steps_fd, np.maximum(err[name], floor), style, label=name)
axes[0].loglog(steps_cs, np.maximum(err["complex step"], floor), "^-", label="complex step (CSDD)")
axes[0].set(title="Hp", xlabel="step h", ylabel="relative error vs hyper-dual")
axes[1].loglog(
    steps_fd, np.maximum(err["second difference"], floor), "o-", label="second difference"
)
axes[1].loglog(
    steps_cs, np.maximum(err["bicomplex step"], floor), "^-", label="bicomplex step (CSDD2)"
)
axes[1].set(title="pᵀHp", xlabel="step h")
for ax in axes:
    ax.invert_xaxis()
    ax.axhline(np.finfo(float).eps, color="gray", ls=":", lw=1)
    ax.legend(fontsize=8)
plt.show()

# %%
best_fd = min(err["forward difference"] + err["central difference"])
print(
    f"best finite difference for Hp: {best_fd:.1e};  complex step for h ≤ 1e-10: "
    f"{max(e for s, e in zip(steps_cs, err['complex step']) if s <= 1e-10):.1e}"
)
assert all(e < 1e-13 for s, e in zip(steps_cs, err["complex step"]) if s <= 1e-7)
assert all(e < 1e-13 for s, e in zip(steps_cs, err["bicomplex step"]) if s <= 1e-7)
assert best_fd > 1e-11
assert err["forward difference"][-1] > 1e-2 and err["second difference"][-1] >= 0.5

# %% [markdown]
# Finite differences bottom out at about $10^{-8}$ (forward) or $10^{-10}$ (central) for one
# well-chosen $h$, the second difference for $p^\top Hp$ at about $10^{-8}$; at smaller $h$
# cancellation takes over and at $h = 10^{-16}$ they are garbage. The
# complex and bicomplex steps are exact to rounding for every $h \lesssim 10^{-7}$, down to
# $10^{-40}$ and beyond.
#
# ## 4. One step of Algorithm 1, by hand
#
# One pass of the algorithm over a minibatch $\mathcal B_j$ ($g$ = the *global* gradient, on
# the whole training set; $g_j$ = the minibatch gradient; $H_j$ = the minibatch Hessian):
#
# 1. **pre-batch screening**: skip the batch if $g_j\cdot g < 0$;
# 2. **Krylov loop with early termination**: CG on $H_j\,\Delta w = -g$ from $\Delta w = 0$;
#    before each CG update compute the curvature $c = p^\top H_j p$ (CSDD2; the paper calls it
#    $\kappa$, a letter this course keeps for coordinates on a plane) and *stop* if $c < 0$
#    (a direction the quadratic model cannot handle); if $0 \le c < 10^{-8}$, use
#    $c = 0.01\lVert p\rVert$; otherwise $\alpha = \lVert r\rVert^2/c$,
#    $\Delta w \mathrel{+}= \alpha p$, $r \mathrel{-}= \alpha H_j p$ (CSDD); at most 20
#    iterations;
# 3. **post-batch screening**: remove any component of $\Delta w$ along $+g$;
# 4. **step sizing by the Taylor ratio** (eq. 13):
#    $\rho(\gamma) = \left|\frac{f_j(w + \gamma\Delta w) - f_j(w) - E_Q(\gamma)}{f_j(w + \gamma\Delta w) - f_j(w)}\right|$,  # noqa: E501
#    $E_Q(\gamma) = \gamma\, g_j\cdot\Delta w + \tfrac12\gamma^2\,\Delta w^\top H_j\Delta w$:
#    the share of the actual loss change the quadratic model gets wrong. Keep $\gamma = 1$ if
#    $\rho(1) \le \tilde\rho$, else shrink or stretch $\gamma$ until
#    $\rho \in [\tilde\rho/2, \tilde\rho]$ ($\tilde\rho = 0.05$). The paper writes the ratio
#    $\eta$ and the tolerance $\tilde\eta$ — the library's argument is `eta=` — but in this
#    course $\eta$ is always a learning rate;
# 5. $w \leftarrow w + \gamma\,\Delta w$.
#
# (`optimizers.newton_krylov` documents where the printed algorithm needs reading: e.g. its
# line 21 prints $\alpha = \lVert r\rVert/\kappa$ where CG needs the square.)

# %%
X_all, y_all = data.X_train, data.y_train


def global_grad(th):
    """(loss, gradient) on the whole training set: the paper's global gradient."""
    return model.value_and_grad(th, X_all, y_all)


def krylov(theta, obj, g, max_iter=20, rtol=1e-3):
    """Steps 2-3 for one minibatch: Δw from CG with early termination and post-screening."""
    delta, r = np.zeros_like(g), -g.copy()
    p, rr = r.copy(), r @ r
    for i in range(max_iter):  # noqa: B007
        if np.sqrt(rr) <= rtol * np.linalg.norm(g):
            break
        c = csdd2(obj, theta, p)  # pᵀ H_j p
        if c < 0:
            break  # early termination
        if c < 1e-8:
            c = 0.01 * np.linalg.norm(p)  # small-curvature fix
        alpha = rr / c
        delta = delta + alpha * p
        r = r - alpha * csdd(obj.value_and_grad, theta, p)  # H_j p
        rr, rr_old = r @ r, rr
        p = r + (rr / rr_old) * p
    if delta @ g > 0:
        delta = delta - (delta @ g) / (g @ g) * g  # post-batch screening
    return delta, i, c


g_global = global_grad(theta)[1]
f_j, g_j = obj.value_and_grad(theta)
print("pre-batch screening: g_j·g =", g_j @ g_global, "> 0, keep the batch")
delta, iterations, last_c = krylov(theta, obj, g_global)
print(
    f"Krylov loop: {iterations} CG updates, stopped at pᵀH_jp = {last_c:.3g}; |Δw| = "
    f"{np.linalg.norm(delta):.3f}, Δw·g = {delta @ g_global:.3f} (< 0: a descent direction)"
)
assert delta @ g_global < 0

# %% [markdown]
# Now the Taylor ratio along $\Delta w$, and the step the library takes from the same point and
# batch: `ComplexStepNewtonKrylov()` with `global_grad` attached to the objective. Its first
# Krylov loop starts from $\Delta w = 0$, as ours does; later ones start from $0.95\times$ the
# previous step (the paper leaves the start $\Delta\tilde w$ undefined; this is Martens'
# warm start for Hessian-free optimisation).

# %%
slope, curv = g_j @ delta, csdd2(obj, theta, delta)


def taylor_ratio(gamma):
    change = obj(theta + gamma * delta) - f_j
    return abs((change - gamma * slope - 0.5 * gamma**2 * curv) / change)


opt = optimizers.ComplexStepNewtonKrylov(eta=0.05)
obj_global = optimizers.ModelObjective(model, X, y, global_grad=global_grad)
theta_new, info = opt.step(obj_global, theta, grad=obj_global.value_and_grad)
library_delta = (theta_new - theta) / info.step_size
print(
    f"library: {info.iterations} Krylov iterations, stop {info.stop!r}, γ = "
    f"{info.step_size:.4f}, ρ(γ) = {taylor_ratio(info.step_size):.4f}"
)
assert np.allclose(library_delta, delta, rtol=1e-10, atol=1e-12)
assert taylor_ratio(info.step_size) <= opt.eta
assert obj(theta_new) < f_j

gammas = np.logspace(-2, 1, 60)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(gammas, [taylor_ratio(c) for c in gammas], label="ρ(γ)")
ax.axhspan(opt.eta / 2, opt.eta, color="tab:green", alpha=0.2, label="target [ρ̃/2, ρ̃]")
ax.axvline(info.step_size, color="k", ls=":", label=f"chosen γ = {info.step_size:.3f}")
ax.set(
    xlabel="step size γ along Δw",
    ylabel="Taylor ratio ρ",
    title="How wrong the quadratic model is, along the Newton-Krylov direction",
)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Small steps: the quadratic model is nearly exact ($\rho \to 0$ like $\gamma$). Long steps:
# the cubic and higher terms take over (the spike is where the actual loss change passes
# through zero, the ratio's denominator). The method takes the longest step whose model error
# stays a few per cent of the actual loss change — a trust region measured in loss, not in
# $\lVert\Delta w\rVert$.
#
# ## 5. Training: Newton-Krylov against Adam
#
# Minibatches of 128, the global gradient on the whole training set (1,294 images — the paper
# recomputes it on all of MNIST after every update), $\tilde\rho = 0.05$. Adam, the paper's
# baseline, with the best learning rate of $\{0.03, 0.1, 0.3\}$ (0.1), runs 20 times as many
# epochs (100 against 5), to see where it gets with many more, much cheaper steps; the
# wall-clock time of each run is printed below. We plot the loss on the whole training set:
# this small network can fit the digits, so the minimum is near 0 (the paper makes the same
# choice with LeNet-5 on MNIST).

# %%
COUNTERS = ("skipped", "early_terminations", "small_curvature_fixes", "fallbacks")


def run(opt, epochs, batch_size=128, counters=None):
    """Train from the same start; the training loss after each epoch and the elapsed time.

    ``counters``: a list that receives, per epoch, the Newton-Krylov counters' increments."""
    theta = model.init_params(seed=0)
    losses, times, start = [float(model.loss(theta, X_all, y_all))], [0.0], time.perf_counter()
    for epoch in range(epochs):
        before = {k: getattr(opt, k, 0) for k in COUNTERS + ("t",)}
        for xb, yb in iterate_minibatches(X_all, y_all, batch_size, epoch_rng(0, epoch)):
            batch = optimizers.ModelObjective(model, xb, yb, global_grad=global_grad)
            theta, _ = opt.step(batch, theta, grad=batch.value_and_grad)
        times.append(time.perf_counter() - start)
        losses.append(float(model.loss(theta, X_all, y_all)))
        if counters is not None:
            counters.append({k: getattr(opt, k) - before[k] for k in COUNTERS + ("t",)})
    return np.array(losses), np.array(times)


nk, nk_counters = optimizers.ComplexStepNewtonKrylov(), []
curves = {
    "Newton-Krylov (complex step)": run(nk, epochs=5, counters=nk_counters),
    "Adam (lr 0.1)": run(optimizers.Adam(lr=0.1), epochs=100),
}
for label, (losses, times) in curves.items():
    print(f"{label:30s} {len(losses) - 1:3d} epochs in {times[-1]:.1f} s (this machine, this run)")
print(f"\n{'epoch':>5s} {'steps':>5s} " + " ".join(f"{k:>21s}" for k in COUNTERS) + "   loss after")
nk_losses = curves["Newton-Krylov (complex step)"][0][1:]
for epoch, (row, loss) in enumerate(zip(nk_counters, nk_losses)):
    print(
        f"{epoch + 1:5d} {row['t']:5d} "
        + " ".join(f"{row[k]:21d}" for k in COUNTERS)
        + f"   {loss:.2e}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for label, (losses, times) in curves.items():
    steps_per_epoch = int(np.ceil(len(y_all) / 128))
    epochs_done = np.arange(1, len(losses))  # log axis: from the first epoch on
    axes[0].semilogy(epochs_done * steps_per_epoch, losses[1:], "o-", ms=3, label=label)
    axes[1].semilogy(times, losses, "o-", ms=3)
axes[0].set(xlabel="optimizer steps", ylabel="training loss (all 1,294 images)", xscale="log")
axes[1].set(xlabel="wall-clock seconds", ylabel="training loss")
axes[0].legend()
plt.show()
nk_loss, adam_loss = curves["Newton-Krylov (complex step)"][0], curves["Adam (lr 0.1)"][0]
print(
    f"after 5 epochs: Newton-Krylov {nk_loss[5]:.4f}, Adam {adam_loss[5]:.4f};  "
    f"Adam after 100 epochs: {adam_loss[-1]:.4f}"
)

# %%
assert nk_loss[1] < 0.5 and nk_loss[5] < 0.01  # an order of magnitude per epoch
assert nk_loss[5] < 0.1 * adam_loss[5]  # far ahead per step
assert nk.early_terminations > 0
fixes = [row["small_curvature_fixes"] for row in nk_counters]
assert fixes[-1] == max(fixes) > sum(fixes[:-1])  # the absolute threshold, late in training

# %% [markdown]
# Per step, Newton-Krylov is in a different league: a few CG iterations on the minibatch
# Hessian extract far more from each batch than Adam's gradient step. Per second, Adam wins
# here (the printed times and the right panel): each Newton-Krylov step costs some 10–40
# passes (CSDD, CSDD2 and the step-size trials) against Adam's one, and on a model this small
# a pass costs next to nothing.
#
# The counters, per epoch, say what the safeguards of Algorithm 1 did:
#
# * **skipped** — pre-batch screening: the minibatch gradient pointed against the global one
#   ($g_j\cdot g < 0$) and the batch was left out (θ unchanged);
# * **early_terminations** — the Krylov loop met $p^\top H_j p < 0$ and stopped (at most once
#   per step). It happens in most steps: the minibatch Hessian of this sigmoid network is
#   indefinite almost everywhere, and the method stops there instead of damping;
# * **small_curvature_fixes** — a CG iteration met $0 \le p^\top H_j p < 10^{-8}$ and used
#   $0.01\lVert p\rVert$ instead (counted per CG iteration, so it can exceed the number of
#   steps). The threshold is absolute: once the loss is tiny the residuals $p$ are tiny too,
#   their curvature falls below $10^{-8}$ although it is positive, and the fix fires in
#   almost every iteration — in the last epoch here;
# * **fallbacks** — the step-size search did not land the Taylor ratio in
#   $[\tilde\rho/2, \tilde\rho]$ within its trials and took the largest safe trial (or the
#   paper's $\gamma = 10^{-6}$ if there was none).
#
# ## 6. Finite differences inside the optimizer
#
# The paper's supplement trains with forward differences in place of CSDD and finds training
# fragile in the step $h$. `derivatives="fd"` swaps them in (`fd_step` = $h$);
# `derivatives="hyperdual"` uses back-propagation on dual numbers and a hyper-dual pair. Two
# epochs each, from the same start and batches as section 5 (whose complex-step run gives the
# first row):

# %%
short = {"complex step": curves["Newton-Krylov (complex step)"][0][:3]}
variants = {
    "hyper-dual": {"derivatives": "hyperdual"},
    "finite differences, h = 1e-8": {"derivatives": "fd", "fd_step": 1e-8},
    "finite differences, h = 1e-16": {"derivatives": "fd", "fd_step": 1e-16},
}
for label, kwargs in variants.items():
    short[label] = run(optimizers.ComplexStepNewtonKrylov(**kwargs), epochs=2)[0]
for label, losses in short.items():
    print(f"{label:30s} training loss after 1, 2 epochs: {losses[1]:.4f}  {losses[2]:.4f}")

# %%
assert np.isclose(short["hyper-dual"][1], short["complex step"][1], rtol=1e-2)
assert np.isclose(short["hyper-dual"][2], short["complex step"][2], rtol=0.25)
assert short["finite differences, h = 1e-16"][2] > 5 * short["complex step"][2]

# %% [markdown]
# Complex step and hyper-dual numbers train alike: both are exact, and they agree to three
# digits after one epoch; after that their last-digit differences, amplified by the step-size
# trials and the warm start, begin to show. Finite differences work for a reasonable $h$ on this
# small problem — the Taylor-ratio step sizing forgives a lot — but at $h = 10^{-16}$ the curvature
# is rounding noise and training falls far behind (exactly how far depends on that noise, so it
# changes with the machine and the BLAS library). With the exact methods there is no $h$ to
# choose.
#
# ## Summary
#
# * $Hp$ = back-propagation on $\theta + ihp$ (complex), $p^\top Hp$ = the loss on
#   $\theta + hi_1p + hi_2p$ (bicomplex): exact to rounding, checked against hyper-dual
#   numbers; finite differences lose half the digits or more.
# * Algorithm 1: CG on the minibatch Hessian, stopped at the first negative curvature, the
#   direction cleaned against the global gradient, the step sized by the Taylor ratio.
#
# **More to run:** $\tilde\rho$ = 0.01 and 0.2 (`ComplexStepNewtonKrylov(eta=...)`), the
# ends of the range the paper recommends, in section 5's training.
#
# ## Exercises
#
# **Try it 1:** the paper's supplement finds that with ReLU activations — zero curvature
# almost everywhere — Newton-Krylov gains little over Adam. Build the network with
# `activation="relu"` and compare two epochs of each with section 5's sigmoid results.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** on this small problem the gain shrinks but
# does not vanish. ReLU's second derivative is 0, so $H_j$ keeps only its Gauss-Newton-like
# part, and the ratio of Newton-Krylov's loss to Adam's after two epochs is larger (a
# smaller gain) than with sigmoids; per step Newton-Krylov is still ahead. The supplement's
# finding is for LeNet-5 on MNIST; we do not reproduce its size here.

# %% tags=["solution"]
relu_model = models.deep_mlp(width=32, depth=1, n_features=64, activation="relu")
sigmoid_model = model
model = relu_model  # run() and global_grad() use `model`
relu_curves = {
    "Newton-Krylov": run(optimizers.ComplexStepNewtonKrylov(), epochs=2)[0],
    "Adam (lr 0.1)": run(optimizers.Adam(lr=0.1), epochs=2)[0],
}
model = sigmoid_model
ratio_relu = relu_curves["Newton-Krylov"][2] / relu_curves["Adam (lr 0.1)"][2]
ratio_sigmoid = nk_loss[2] / adam_loss[2]
print(
    f"loss after 2 epochs, Newton-Krylov / Adam: ReLU {ratio_relu:.3f}, sigmoid {ratio_sigmoid:.3f}"
)
assert ratio_sigmoid < ratio_relu < 1

# %% [markdown]
# **Try it 2:** CSDD2 divides by $h^2$. Find, in float64, the smallest $h$ for which it is
# still exact: try $h = 10^{-20}, 10^{-150}, 10^{-160}, 10^{-170}$.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** $h^2$ must stay a *normal* float (above $2.2\times10^{-308}$). At
# $h = 10^{-150}$ it does; at $10^{-160}$, $h^2 = 10^{-320}$ is subnormal and keeps only a
# few significant digits; at $10^{-170}$ it underflows to 0 and the result is not a number.
# (The complex step's CSDD divides by $h$ only, so it works down to $h \approx 10^{-300}$.)

# %% tags=["solution"]
csdd2_errors = {}
with np.errstate(all="ignore"):
    for h_try in (1e-20, 1e-150, 1e-160, 1e-170):
        value = csdd2(obj, theta, p, h=h_try)
        csdd2_errors[h_try] = abs(value - pHp_hyperdual) / abs(pHp_hyperdual)
        print(f"h = {h_try:.0e}: pᵀHp = {value:.15g}, relative error {csdd2_errors[h_try]:.1e}")
assert (
    csdd2_errors[1e-150] < 1e-13 and csdd2_errors[1e-160] > 1e-8 and np.isnan(csdd2_errors[1e-170])
)

# %% [markdown]
# Next: [10. Partition Newton and the inter-layer heat maps](10_partition_newton_heatmaps.ipynb).
