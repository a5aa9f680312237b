# %% [markdown]
# # 5. FoMoH, FoMoH-BP and FGD on Rosenbrock
#
# Notebook 3 showed that one hyper-dual pass with the pair $(v, v)$ returns the slope
# $\nabla f\cdot v$ and the curvature $v^\top\nabla^2 f\,v$ along a direction $v$. That is all
# a **line search** needs. This notebook turns it into optimizers (all of them *minimise*;
# $\eta$ is the learning rate, $v \sim \mathcal N(0, I)$, $g = \nabla f(\theta)$,
# $H = \nabla^2 f(\theta)$):
#
# | method | step $\theta' - \theta$ | derivatives per step |
# |---|---|---|
# | FGD (forward gradient descent) | $-\eta\,(g\cdot v)\,v$ | 1 pass, 1 pair |
# | FoMoH (eq. 1 of the paper) | $-\eta\,\dfrac{g\cdot v}{\lvert v^\top H v\rvert}\,v$ | 1 pass, 1 pair |  # noqa: E501
# | FoMoH-BP (eq. 2) | $-\eta\,\dfrac{g\cdot g}{\lvert g^\top H g\rvert}\,g$ | 1 back-propagation + 1 pass |  # noqa: E501
# | FoMoH-2D (Algorithm 1, $K=2$) | $-\eta\,V^\top (V H V^\top)^{-1} V g$, $V \in \mathbb R^{2\times D}$ | 1 pass, 3 pairs |  # noqa: E501
# | Newton | $-\eta\,H^{-1} g$ | $D(D+1)/2$ pairs |
#
# **A sign convention.** The paper prints eqs. (1), (2) and (4) with a *plus* sign,
# $\theta' = \theta + \eta\,\frac{g\cdot v}{|v^\top Hv|}\,v$, which would step uphill; only its
# Algorithm 1 returns the minus sign ($-\tilde H^{-1}\tilde g$ along $V$). We write the minus
# sign everywhere, as the paper's code and `optimizers` do: every method here minimises.
#
# We reproduce the paper's **Figure 1** on the 2-D Rosenbrock function
# $f(\theta) = 100(\theta_2 - \theta_1^2)^2 + (1 - \theta_1)^2$ (minimum $f(1, 1) = 0$):
#
# * (a) the distribution of a *single* step of each method from one starting point, its mean
#   (the *expected* step) and Newton's step, on the contour plot;
# * (b) the loss against the iteration from several random starts.
#
# The optimizers and the function live in `optimizers` (`optimizers.problems`), the paper's
# experiment in `paper_experiments.rosenbrock` (the command `fomoh rosenbrock 2d` runs the
# full-size version and writes the figures).

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close
from optimizers.problems import (
    rosenbrock,
    rosenbrock_hessian,
    rosenbrock_newton_step,
    rosenbrock_value_and_grad,
)
from paper_experiments import rosenbrock as R

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. The function, its gradient and its Hessian
#
# `optimizers.problems` has the function (written with NumPy operations, so it runs on
# hyper-dual numbers) and, as an independent reference, its gradient and Hessian in closed form. The
# starting point is the one `fomoh rosenbrock` uses: `default_rng(0).standard_normal(2)`.

# %%
theta0 = np.random.default_rng(0).standard_normal(2)
f0, g0 = rosenbrock_value_and_grad(theta0)
H0 = rosenbrock_hessian(theta0)
print("θ0 =", theta0, "  f(θ0) =", f0)
print("g  =", g0)
print("H  =\n", H0, "\neigenvalues of H:", np.linalg.eigvalsh(H0))

v = rng.standard_normal(2)
value, slope, _, curvature = hd.directional(rosenbrock, theta0, v)  # one pass, pair (v, v)
assert_close(slope, g0 @ v, np.float64, "exact", "∇f·v")
assert_close(curvature, v @ H0 @ v, np.float64, "exact", "vᵀHv")
assert np.all(np.linalg.eigvalsh(H0) > 0)  # H is positive definite at θ0

# %% [markdown]
# ## 2. One step of each method, written out — and the same step from `optimizers`
#
# Each optimizer owns one random generator, `np.random.default_rng(seed)`, and draws its
# directions from it with `standard_normal((K, D))`. So we can redo the first step of each
# method by hand with the same random numbers and compare. `opt.step(f, θ, grad=...)` takes
# the function (evaluated on hyper-dual numbers) and, for the methods that back-propagate,
# a function returning `(f(θ), ∇f(θ))`: here the closed form, exactly what back-propagation
# would return.

# %%
seed = 7
v = np.random.default_rng(seed).standard_normal((1, 2))[0]  # FGD's and FoMoH's direction
V = np.random.default_rng(seed).standard_normal((2, 2))  # FoMoH-2D's two directions

by_hand = {
    "FGD": -1e-3 * (g0 @ v) * v,  # η = 1e-3
    "FoMoH": -(g0 @ v) / abs(v @ H0 @ v) * v,  # η = 1
    "FoMoH-BP": -(g0 @ g0) / abs(g0 @ H0 @ g0) * g0,
    "FoMoH-2D": -V.T @ np.linalg.solve(V @ H0 @ V.T, V @ g0),
    "Newton": -np.linalg.solve(H0, g0),
}
library = {
    "FGD": optimizers.FGD(lr=1e-3, seed=seed),
    "FoMoH": optimizers.FoMoH(lr=1.0, seed=seed),
    "FoMoH-BP": optimizers.FoMoHBP(lr=1.0, seed=seed),
    "FoMoH-2D": optimizers.FoMoHKD(K=2, lr=1.0, seed=seed),
    "Newton": optimizers.Newton(lr=1.0),
}
for name, opt in library.items():
    theta1, info = opt.step(rosenbrock, theta0, grad=rosenbrock_value_and_grad)
    print(f"{name:9s} by hand {by_hand[name]}   optimizers {theta1 - theta0}")
    assert np.allclose(theta1 - theta0, by_hand[name], rtol=1e-10, atol=1e-14)

# %% [markdown]
# Two things are already visible:
#
# * **FoMoH-BP is deterministic** — its direction is the gradient itself — and points exactly
#   along $-g$, with a length chosen by the curvature along $g$ instead of a learning rate.
# * **FoMoH-2D equals Newton's step.** In 2-D, two random directions span the whole plane, and
#   $V^\top (V H V^\top)^{-1} V = H^{-1}$ for any invertible $V$. (Notebook 6 follows this from
#   $K = 1$ up to $K = D$ in 10 dimensions.)

# %%
assert np.allclose(
    by_hand["FoMoH-BP"] / np.linalg.norm(by_hand["FoMoH-BP"]), -g0 / np.linalg.norm(g0), rtol=1e-12
)
assert np.allclose(by_hand["FoMoH-2D"], by_hand["Newton"], rtol=1e-10)

# %% [markdown]
# ## 3. The distribution of a single step (Figure 1a)
#
# The random methods take a different step for every draw of $v$. Their **expected step**
# tells us where they head on average:
#
# * **FGD:** $\mathbb E[(g\cdot v)\,v] = \mathbb E[v v^\top]\,g = g$, so the mean FGD step is
#   $-\eta\,g$, plain gradient descent — with a spread as large as the step itself.
# * **FoMoH:** every sampled step $s = -\frac{g\cdot v}{v^\top H v}\,v$ (with $H$ positive
#   definite) satisfies
#   $$s^\top H s = \frac{(g\cdot v)^2}{v^\top H v} = -\,g\cdot s
#   \quad\Longleftrightarrow\quad s^\top H s + g\cdot s = 0 .$$
#   That is an **ellipse** through $s = 0$ (the start) and $s = -H^{-1}g$ (the Newton step),
#   centred halfway between them, shaped by $H$: the minimum of the quadratic model
#   $f + g\cdot s + \tfrac12 s^\top H s$ along each line through $\theta$ lies on it. FoMoH's
#   steps never overshoot that ellipse, whatever the scale of $f$ — no learning rate to tune.
#
# Because a step is a closed-form expression in $v$, 10,000 samples take one vectorised NumPy
# line each. We first check that these vectorised formulas give, sample for sample, the steps
# the optimizers take (200 steps from $\theta_0$, each with a fresh direction).


# %%
def sampled_steps(directions, g, H, lr_fgd=1e-3):
    """Steps of FGD, FoMoH and FoMoH-2D for directions (N, 2) (FoMoH-2D pairs them up)."""
    slope = directions @ g  # g·v, shape (N,)
    curv = np.einsum("ni,ij,nj->n", directions, H, directions)  # vᵀHv, shape (N,)
    pairs = directions.reshape(-1, 2, 2)  # N/2 matrices V (2, 2)
    HV = pairs @ H @ pairs.transpose(0, 2, 1)  # V H Vᵀ, shape (N/2, 2, 2)
    kappa = np.linalg.solve(HV, (pairs @ g)[..., None])[..., 0]
    return {
        "FGD": -lr_fgd * slope[:, None] * directions,
        "FoMoH": -(slope / np.abs(curv))[:, None] * directions,
        "FoMoH-2D": -np.einsum("nk,nkd->nd", kappa, pairs),
    }


n_check = 200
check = sampled_steps(np.random.default_rng(seed).standard_normal((2 * n_check, 2)), g0, H0)
for name, opt in [
    ("FGD", optimizers.FGD(lr=1e-3, seed=seed)),
    ("FoMoH", optimizers.FoMoH(lr=1.0, seed=seed)),
    ("FoMoH-2D", optimizers.FoMoHKD(K=2, lr=1.0, seed=seed)),
]:
    steps = np.array([opt.step(rosenbrock, theta0)[0] - theta0 for _ in range(n_check)])
    expected = check[name][:n_check] if name != "FoMoH-2D" else check[name]
    assert np.allclose(steps, expected, rtol=1e-9, atol=1e-13), name
print(f"the vectorised formulas reproduce {n_check} steps of each optimizer")

# %% [markdown]
# Now 10,000 samples of each, their means, and the checks of the claims above.

# %%
n_samples = 10_000
steps = sampled_steps(rng.standard_normal((2 * n_samples, 2)), g0, H0)
steps["FGD"], steps["FoMoH"] = steps["FGD"][:n_samples], steps["FoMoH"][:n_samples]
mean = {name: s.mean(axis=0) for name, s in steps.items()}
newton = rosenbrock_newton_step(theta0)
bp = by_hand["FoMoH-BP"]
for name in steps:
    print(f"{name:9s} mean step {mean[name]}   std {steps[name].std(axis=0)}")
print(f"FoMoH-BP  step      {bp}\nNewton    step      {newton}")

# FGD: the mean is -η g, within 4 standard errors
stderr = steps["FGD"].std(axis=0) / np.sqrt(n_samples)
assert np.all(np.abs(mean["FGD"] + 1e-3 * g0) < 4 * stderr)
# FoMoH: every sample on the ellipse sᵀHs + g·s = 0
s = steps["FoMoH"]
on_ellipse = np.einsum("ni,ij,nj->n", s, H0, s) + s @ g0
assert np.allclose(on_ellipse, 0.0, atol=1e-12 * np.abs(s @ g0).max())
# FoMoH-BP's step (the line search along g) is on it as well
assert np.isclose(bp @ H0 @ bp + bp @ g0, 0.0, atol=1e-12)
# Newton's step is on it too, diametrically opposite θ0
assert np.isclose(newton @ H0 @ newton + newton @ g0, 0.0, atol=1e-12)
# FoMoH-2D: every sample is Newton's step (up to the conditioning of the random V)
assert np.allclose(steps["FoMoH-2D"], newton, rtol=1e-6, atol=1e-9)

# %% [markdown]
# The picture. The ellipse $s^\top H s + g\cdot s = 0$ is
# $(s - c)^\top H (s - c) = c^\top H c$ with centre $c = -\tfrac12 H^{-1} g$: its semi-axes
# point along $H$'s eigenvectors with lengths $\sqrt{c^\top H c / \lambda_i(H)}$.

# %%
lam, Q = np.linalg.eigh(H0)
centre = newton / 2
radii = np.sqrt(centre @ H0 @ centre / lam)
phi = np.linspace(0, 2 * np.pi, 400)
ellipse = theta0 + centre + (np.stack([np.cos(phi), np.sin(phi)], axis=1) * radii) @ Q.T
assert np.allclose(
    [(e - theta0) @ H0 @ (e - theta0) + (e - theta0) @ g0 for e in ellipse], 0, atol=1e-12
)

lo, hi = ellipse.min(axis=0) - 0.03, ellipse.max(axis=0) + 0.03
xs, ys = np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300)
X, Y = np.meshgrid(xs, ys)
Z = 100 * (Y - X**2) ** 2 + (1 - X) ** 2

colors = {
    "FGD": "tab:green",
    "FoMoH": "tab:blue",
    "FoMoH-BP": "tab:orange",
    "FoMoH-2D": "tab:purple",
    "Newton": "red",
}
# Newton first (wide, dashed, underneath), FoMoH-2D on top (thin, its tip circled): the two
# steps coincide, and each must stay visible.
arrows = {
    "Newton": (newton, "step"),
    "FoMoH-BP": (bp, "step"),
    "FGD": (mean["FGD"], "mean step, along FoMoH-BP's"),
    "FoMoH": (mean["FoMoH"], "mean step"),
    "FoMoH-2D": (mean["FoMoH-2D"], "mean step = Newton's; tip circled"),
}
fig, ax = plt.subplots(figsize=(8, 6))
ax.contour(X, Y, np.log10(Z), levels=25, cmap="Greys", linewidths=0.6)
for name in ("FGD", "FoMoH"):
    pts = theta0 + steps[name][:2000]
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.15, color=colors[name])
ax.plot(*ellipse.T, "k:", lw=1, label=r"$s^\top H s + g\cdot s = 0$")
widths = {"Newton": 5, "FGD": 3.5, "FoMoH-2D": 1.5}
for z, (name, (step, what)) in enumerate(arrows.items()):
    dashed = name == "Newton"
    ax.annotate(
        "",
        xy=theta0 + step,
        xytext=theta0,
        zorder=5 + z,
        arrowprops=dict(
            arrowstyle="->",
            color=colors[name],
            lw=widths.get(name, 2),
            ls="--" if dashed else "-",
            alpha=0.6 if dashed else 1,
        ),
    )
    ax.plot([], [], color=colors[name], lw=2, ls="--" if dashed else "-", label=f"{name} ({what})")
ax.plot(
    *(theta0 + mean["FoMoH-2D"]), "o", ms=14, mfc="none", mec=colors["FoMoH-2D"], mew=2, zorder=20
)
ax.plot(*theta0, "ko", ms=4, zorder=6)
ax.set_xlim(lo[0], hi[0])
ax.set_ylim(lo[1], hi[1])
ax.set_aspect("equal")
ax.set_xlabel(r"$\theta_1$")
ax.set_ylabel(r"$\theta_2$")
ax.set_title("One step from θ0: 2,000 samples (dots) and mean steps (arrows)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
plt.show()

# %% [markdown]
# What to read off the plot (compare the paper's Figure 1a):
#
# * FGD's mean step (the short green arrow) is the gradient step $-\eta g$, so it lies along
#   FoMoH-BP's step; single FGD steps scatter over a region much larger than their mean, and
#   how far they go depends entirely on $\eta$.
# * FoMoH's samples (blue dots) all lie on the dotted ellipse. Their mean (blue arrow) points
#   between the gradient direction and Newton's; Newton's step (red, dashed) is the point of
#   the ellipse opposite $\theta_0$.
# * FoMoH-BP (orange) goes along $-g$, exactly as far as the curvature along $g$ says: its
#   tip is on the ellipse too (it is the line-search minimum along the line $v = g$).
# * FoMoH-2D (thin purple arrow, its tip circled) coincides with Newton's step (the wide red
#   dashed arrow under it) — in 2-D, the hyperplane *is* the whole space.

# %% [markdown]
# ## 4. Convergence from several starts (Figure 1b)
#
# `paper_experiments.rosenbrock.convergence` runs each method from the same random starts
# (`default_rng(0).standard_normal((n_starts, 2))`), seeding the optimizer of start $i$ with
# `[0, i]`, and records $f$ after every iteration (`inf` once a run diverges). The learning
# rates are those of `paper_experiments.rosenbrock.METHODS_2D`: $\eta = 1$ for every FoMoH variant
# and Newton (the paper's choice), $\eta = 10^{-3}$ for FGD (the paper's script), $2\cdot 10^{-4}$
# for SGD with momentum 0.9 and $0.2$ for Adam; SGD, Adam and FoMoH-BP get the closed-form
# gradient, exactly what back-propagation would return.
#
# The paper runs 10 starts for 1,000 iterations. To keep this notebook quick we run 5 starts,
# 400 iterations for the first-order methods and the line searches, and only 40 for FoMoH-2D
# and Newton, which are at $f = 0$ (exactly) long before that. (`fomoh rosenbrock 2d` runs the
# full size.)

# %%
n_starts = 5
slow = ["FGD (η=1e-3)", "SGD (momentum 0.9)", "Adam", "FoMoH", "FoMoH-BP"]
fast = ["FoMoH-2D", "Newton"]
result = R.convergence(
    D=2,
    n_starts=n_starts,
    iterations=400,
    seed=0,
    methods={label: R.METHODS_2D[label] for label in slow},
)
quick = R.convergence(
    D=2,
    n_starts=n_starts,
    iterations=40,
    seed=0,
    methods={label: R.METHODS_2D[label] for label in fast},
)
for key in ("losses", "jitter", "seconds"):  # same starts, same seeds: one table
    result[key].update(quick[key])
summary = R.summarise(result)

print(
    f"{'method':20s} {'iterations':>10s} {'median final f':>15s} {'runs < 1e-10':>13s} "
    f"{'median its to 1e-10':>20s}"
)
for label, row in summary.items():
    its = row["median_iterations_to_1e-10"]
    its = "-" if its is None or not np.isfinite(its) else f"{its:.0f}"
    print(
        f"{label:20s} {result['losses'][label].shape[1] - 1:10d} "
        f"{row['median_final_loss']:15.3e} {row['runs_reaching_1e-10']:13d} {its:>20s}"
    )


# %%
def plot_runs(result, colors, title):
    """f per iteration from every start (thin) and the median run (thick), log-log axes."""
    fig, ax = plt.subplots(figsize=(9, 5))
    for label, L in result["losses"].items():
        t = np.arange(1, L.shape[1])
        for row in L:
            ax.plot(t, np.maximum(row[1:], R.LOSS_FLOOR), color=colors[label], alpha=0.2, lw=0.7)
        median_run = np.argsort(L[:, -1], kind="stable")[(len(L) - 1) // 2]
        style = dict(ls=":", lw=2.5) if label == "Newton" else dict(lw=2)
        ax.plot(
            t,
            np.maximum(L[median_run, 1:], R.LOSS_FLOOR),
            color=colors[label],
            label=label,
            **style,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"f(θ)  (floored at {R.LOSS_FLOOR:g})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    plt.show()


plot_runs(result, R.COLORS, f"2-D Rosenbrock, {n_starts} starts (thick: median run)")

# %% [markdown]
# What the curves say (compare the paper's Figure 1b):
#
# * **FoMoH-2D and Newton** reach $f = 0$ within a handful of iterations from every start:
#   in 2-D they are the same method.
# * **FoMoH**, a line search along *random* directions using forward mode only, ends orders of
#   magnitude below every first-order method — including SGD and Adam, which are given the
#   exact gradient.
# * **FoMoH-BP** (the line search along the true gradient) beats FGD and SGD, but it is
#   steepest descent with a well-chosen step: in Rosenbrock's long curved valley the gradient
#   points mostly across the valley, so progress along it is slow.
# * **FGD** is the slowest: its steps are unbiased but noisy, and their length is whatever
#   $\eta$ makes it.
#
# The checks:

# %%
med = {label: np.median(L[:, -1]) for label, L in result["losses"].items()}
assert summary["FoMoH-2D"]["runs_reaching_1e-10"] == n_starts
assert summary["Newton"]["runs_reaching_1e-10"] == n_starts
assert summary["FoMoH-2D"]["median_iterations_to_1e-10"] <= 10
hits = {label: [int(np.argmax(row < 1e-10)) for row in result["losses"][label]] for label in fast}
assert hits["FoMoH-2D"] == hits["Newton"]  # start by start, the same iteration
assert med["FoMoH"] < 1e-6
for first_order in ["FGD (η=1e-3)", "SGD (momentum 0.9)", "Adam"]:
    assert med["FoMoH"] < 1e-3 * med[first_order], first_order
for first_order in ["FGD (η=1e-3)", "SGD (momentum 0.9)"]:
    assert med["FoMoH-BP"] < med[first_order], first_order

# %% [markdown]
# ## Summary
#
# * One hyper-dual pass along $v$ gives slope and curvature; dividing one by the other is a
#   **second-order line search** (FoMoH). Its steps lie on the ellipse
#   $s^\top H s + g\cdot s = 0$ that also holds Newton's step: the curvature sets the step
#   length, so $\eta = 1$ works where FGD needs a tuned learning rate.
# * FoMoH-BP does the same line search along the back-propagated gradient.
# * FoMoH-KD searches a $K$-dimensional plane; with $K = D$ it is Newton's method (here
#   $K = D = 2$).
#
# ## Exercises
#
# **Try it 1:** pick a start where $H$ is indefinite, e.g. `theta0 = np.array([0.35, 0.82])`
# (eigenvalues of opposite sign). Where do FoMoH's samples lie now, and what does the
# absolute value in $\lvert v^\top H v\rvert$ do to steps along directions of negative
# curvature?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** with $c = v^\top Hv$ the step is
# $s = -\frac{g\cdot v}{|c|}\,v$, so $g\cdot s = -\frac{(g\cdot v)^2}{|c|} < 0$ always: every
# step goes **downhill**. And $s^\top H s = \frac{(g\cdot v)^2}{c^2}\,c$, so the samples lie on
# two conics — $s^\top Hs + g\cdot s = 0$ for directions of positive curvature,
# $s^\top Hs - g\cdot s = 0$ for negative curvature (hyperbolas now, since $H$ is
# indefinite). Without the absolute value the negative-curvature steps would go *uphill*, to
# the model's maximum along $v$.

# %% tags=["solution"]
theta_ind = np.array([0.35, 0.82])
_, g_ind = rosenbrock_value_and_grad(theta_ind)
H_ind = rosenbrock_hessian(theta_ind)
print("eigenvalues of H:", np.linalg.eigvalsh(H_ind))
directions = rng.standard_normal((2000, 2))
curv = np.einsum("ni,ij,nj->n", directions, H_ind, directions)
s_abs = -((directions @ g_ind) / np.abs(curv))[:, None] * directions  # FoMoH
s_signed = -((directions @ g_ind) / curv)[:, None] * directions  # without | |
quad = np.einsum("ni,ij,nj->n", s_abs, H_ind, s_abs)
negative = curv < 0
print(
    f"{negative.mean():.0%} of the directions have negative curvature; uphill steps: "
    f"FoMoH {np.mean(s_abs @ g_ind > 0):.0%}, without |·| {np.mean(s_signed @ g_ind > 0):.0%}"
)
scale = np.abs(s_abs @ g_ind).max()
assert np.all(s_abs @ g_ind < 0) and np.all(s_signed[negative] @ g_ind > 0)
assert np.allclose((quad + s_abs @ g_ind)[~negative], 0, atol=1e-10 * scale) and np.allclose(
    (quad - s_abs @ g_ind)[negative], 0, atol=1e-10 * scale
)

# %% [markdown]
# **Try it 2:** multiply $f$ by 10. What happens to one step of FGD and of FoMoH (same seed,
# same $\eta$)?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** FGD's step $-\eta\,(g\cdot v)\,v$ is ten times longer — its $\eta$ must be
# retuned whenever the scale of $f$ changes. FoMoH's step divides the slope by the curvature;
# both scale by 10, and the step does not change.


# %% tags=["solution"]
def f_times_10(theta):
    return 10 * rosenbrock(theta)


steps_by_scale = {}
for name, make in [
    ("FGD", lambda: optimizers.FGD(lr=1e-3, seed=3)),
    ("FoMoH", lambda: optimizers.FoMoH(lr=1.0, seed=3)),
]:
    plain = make().step(rosenbrock, theta0)[0] - theta0
    scaled = make().step(f_times_10, theta0)[0] - theta0
    steps_by_scale[name] = (plain, scaled)
    print(f"{name:6s} step for f: {plain}   for 10 f: {scaled}")
fgd, fomoh = steps_by_scale["FGD"], steps_by_scale["FoMoH"]
assert np.allclose(fgd[1], 10 * fgd[0], rtol=1e-12) and np.allclose(fomoh[1], fomoh[0], rtol=1e-12)

# %% [markdown]
# Next: [6. FoMoH-KD from a line search to Newton](06_fomoh_kd_line_search_to_newton.ipynb).
