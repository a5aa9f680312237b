# %% [markdown]
# # 6. FoMoH-KD: from a line search to Newton
#
# FoMoH (notebook 5) searches along one random line. **FoMoH-KD** searches a random
# $K$-dimensional plane. Put the $K$ directions in the rows of $V \in \mathbb R^{K\times D}$
# and look at $f$ on the plane through $\theta$:
#
# $$\varphi(\kappa) = f(\theta + V^\top\kappa), \qquad
#   \nabla\varphi(0) = V g =: \tilde g \in \mathbb R^K, \qquad
#   \nabla^2\varphi(0) = V H V^\top =: \tilde H \in \mathbb R^{K\times K}$$
#
# ($g = \nabla f(\theta)$, $H = \nabla^2 f(\theta)$). One hyper-dual pass over the $K(K+1)/2$
# pairs $(v_i, v_j)$, $i \le j$, gives $\tilde g$ and $\tilde H$ (notebook 3). A Newton step
# *on the plane* is then
#
# $$\tilde H \kappa = \tilde g, \qquad \theta' = \theta - \eta\,V^\top \kappa
#   = \theta - \eta \sum_{k=1}^K \kappa_k v_k \qquad \text{(the paper's Algorithm 1).}$$
#
# * $K = 1$: $\kappa = (g\cdot v)/(v^\top H v)$ — a second-order **line search** (FoMoH uses
#   $\lvert v^\top H v\rvert$).
# * $K = D$ with $V$ invertible: $V^\top (V H V^\top)^{-1} V = V^\top V^{-\top} H^{-1} V^{-1} V
#   = H^{-1}$ — **Newton's step**, whatever the directions.
# * In between: the cost is $K(K+1)/2$ pairs and a $K\times K$ solve, independent of $D$.
#
# We check each claim, see that FoMoH, FoMoH-BP, FoMoH-KD and Newton are *one function* with
# different directions, and reproduce the paper's **Figure 2** on 10-D Rosenbrock.

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close
from optimizers import hyperplane_step
from optimizers.problems import (
    rosenbrock,
    rosenbrock_hessian,
    rosenbrock_value_and_grad,
)
from paper_experiments import rosenbrock as R

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

D = 10
theta = np.random.default_rng(0).standard_normal((5, D))[0]  # the first start of Figure 2
f0, g = rosenbrock_value_and_grad(theta)
H = rosenbrock_hessian(theta)
print("f(θ) =", f0, "\neigenvalues of H:", np.round(np.linalg.eigvalsh(H), 1))

# %% [markdown]
# ## 1. The hyperplane step, by hand
#
# `hd.projected_hessian(f, θ, V)` evaluates the $K(K+1)/2$ pairs in one vectorised pass and
# returns $f(\theta)$, $\tilde g$ and $\tilde H$. Solving $\tilde H\kappa = \tilde g$ and
# stepping along $V^\top\kappa$ is all of Algorithm 1:

# %%
K = 3
V = rng.standard_normal((K, D))
value, g_K, H_K = hd.projected_hessian(rosenbrock, theta, V)
assert_close(g_K, V @ g, np.float64, "exact", "g̃ = V g")
assert_close(H_K, V @ H @ V.T, np.float64, "exact", "H̃ = V H Vᵀ")

kappa = np.linalg.solve(H_K, g_K)
step_by_hand = -V.T @ kappa
print("κ =", kappa)
print("step =", np.round(step_by_hand, 4))

# %% [markdown]
# The library's version is `optimizers.hyperplane_step(f, θ, V, lr, curvature)`. It does the
# same, plus the safeguards of the paper's footnote 5 (diagonal jitter when $\tilde H$ is
# singular or badly conditioned), and reports what it measured:

# %%
step, info = hyperplane_step(rosenbrock, theta, V, lr=1.0)
print(
    "kappa",
    info.kappa,
    "\neigenvalues of H̃",
    info.eigenvalues,
    "\ncondition",
    f"{info.condition:.1f}",
    " jitter",
    info.jitter,
)
assert np.allclose(step, step_by_hand, rtol=1e-12, atol=1e-15)
assert info.jitter == 0.0

# %% [markdown]
# The step is the minimiser of the quadratic model restricted to the plane, so the model's
# gradient at $\theta + \text{step}$ is orthogonal to every direction in the plane:
# $V\,(g + H\,\text{step}) = 0$.

# %%
assert np.allclose(V @ (g + H @ step), 0.0, atol=1e-9 * np.abs(V @ g).max())

# %% [markdown]
# ## 2. One step function, four optimizers
#
# The optimizers of notebook 5 only choose the directions (and, for the line searches, take
# $\lvert\tilde H\rvert$ — `curvature="abs"` — so that a direction of negative curvature still
# leads downhill):
#
# | optimizer | directions $V$ | `curvature` |
# |---|---|---|
# | `FoMoH` | one Gaussian $v$ | `"abs"` |
# | `FoMoHBP` | $g$ from back-propagation | `"abs"` |
# | `FoMoHKD(K)` | $K$ Gaussian directions | `"solve"` |
# | `Newton` | the basis $e_1, \dots, e_D$ | `"solve"` |
#
# Each draws its directions from `default_rng(seed)`, so we can rebuild $V$ and call
# `hyperplane_step` ourselves:

# %%
seed = 3
cases = {
    "FoMoH": (
        optimizers.FoMoH(seed=seed),
        np.random.default_rng(seed).standard_normal((1, D)),
        "abs",
    ),
    "FoMoH-BP": (optimizers.FoMoHBP(seed=seed), g[None, :], "abs"),
    "FoMoH-4D": (
        optimizers.FoMoHKD(K=4, seed=seed),
        np.random.default_rng(seed).standard_normal((4, D)),
        "solve",
    ),
    "Newton": (optimizers.Newton(), np.eye(D), "solve"),
}
for name, (opt, V_case, curvature) in cases.items():
    theta_new, _ = opt.step(rosenbrock, theta, grad=rosenbrock_value_and_grad)
    step, _ = hyperplane_step(rosenbrock, theta, V_case, lr=1.0, curvature=curvature)
    print(f"{name:9s} K = {V_case.shape[0]:2d}   |step| = {np.linalg.norm(step):.4f}")
    assert np.array_equal(theta_new, theta + step), name

# %% [markdown]
# ## 3. $K = D$ is Newton's method
#
# With the $D$ basis directions, $\tilde H = H$ and the hyperplane step *is* the Newton step —
# bit for bit, so whole trajectories agree. `FoMoHKD(K=D, directions="basis")` and `Newton`
# for 60 iterations from our $\theta$:

# %%
a, b = theta.copy(), theta.copy()
kd_basis, newton = optimizers.FoMoHKD(K=D, directions="basis"), optimizers.Newton()
path = []
for _ in range(60):
    a, _ = kd_basis.step(rosenbrock, a)
    b, _ = newton.step(rosenbrock, b)
    assert np.array_equal(a, b)
    path.append(rosenbrock(a))
print("60 iterations, identical. f every 5 iterations:\n", np.array(path[::5]))
assert path[-1] < 1e-20

# %% [markdown]
# With $D$ *random* directions the algebra still gives $V^\top (VHV^\top)^{-1}V = H^{-1}$, but
# in floating point the step passes through $V$'s conditioning: $\tilde H = VHV^\top$ has a
# condition number up to $\text{cond}(V)^2\,\text{cond}(H)$, and a worst-case error analysis
# bounds the step's relative error by about that times $\epsilon_{\rm mach}$. How large is it
# really? 200 draws of $V$:

# %%
newton_step = -np.linalg.solve(H, g)
conds, errors = [], []
for _ in range(200):
    V = rng.standard_normal((D, D))
    step, info = hyperplane_step(rosenbrock, theta, V)
    conds.append(np.linalg.cond(V))
    errors.append(np.linalg.norm(step - newton_step) / np.linalg.norm(newton_step))
conds, errors = np.array(conds), np.array(errors)
bound = conds**2 * np.linalg.cond(H) * np.finfo(float).eps
exponent = np.polyfit(np.log(conds), np.log(errors), 1)[0]  # errors ∝ cond(V)^exponent
print(f"cond(H) = {np.linalg.cond(H):.1f};  cond(V) from {conds.min():.0f} to {conds.max():.0f}")
print(f"relative difference to Newton: from {errors.min():.1e} to {errors.max():.1e}")
print(f"least-squares fit of log(error) on log(cond V): error ∝ cond(V)^{exponent:.2f}")
print(
    f"error / worst-case bound: median {np.median(errors / bound):.1e}, "
    f"largest {np.max(errors / bound):.1e}"
)

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.loglog(conds, errors, ".", alpha=0.6, label="200 draws of V")
c = np.sort(conds)
ax.loglog(c, np.median(errors / conds) * c, "k:", label=r"$\propto$ cond(V)")
ax.loglog(c, np.median(errors / conds**2) * c**2, "k--", label=r"$\propto$ cond(V)$^2$")
ax.loglog(
    c,
    c**2 * np.linalg.cond(H) * np.finfo(float).eps,
    "r-",
    lw=1,
    label=r"cond(V)$^2$ cond(H) $\epsilon_{\rm mach}$",
)
ax.set(xlabel="cond(V)", ylabel="relative difference to Newton's step")
ax.legend(fontsize=8)
plt.show()

assert np.all(errors < bound)  # the worst-case bound holds...
assert 1.2 < exponent < 1.9  # ...and the typical error grows faster than
# cond(V), slower than cond(V)²

# %% [markdown]
# What the numbers show: the errors grow faster than $\text{cond}(V)$ — the fitted exponent,
# printed above, lies between 1 and 2, and the $\text{cond}(V)^2$ line through the median
# describes the badly conditioned draws well — with a scatter of one to two orders of
# magnitude between draws of similar conditioning. They stay two to four orders of magnitude
# below the worst-case bound $\text{cond}(V)^2\,\text{cond}(H)\,\epsilon_{\rm mach}$.
# Random directions reproduce Newton's step only up to an error that their conditioning
# amplifies; basis directions reproduce it exactly.

# %% [markdown]
# ## 4. Between a line search and Newton
#
# How much of Newton's progress does a $K$-plane capture? Near a minimum, where $H$ is
# positive definite, measure the decrease of the quadratic model
# $m(s) = f + g\cdot s + \tfrac12 s^\top H s$ achieved by the plane step:
#
# $$m(0) - m(s_K) = \tfrac12\, \tilde g^\top \tilde H^{-1} \tilde g
#   \;\le\; \tfrac12\, g^\top H^{-1} g = m(0) - m(s_{\text{Newton}}).$$
#
# If the planes are **nested** (take the first $K$ rows of one random $D\times D$ matrix), the
# decrease can only grow with $K$ — each plane contains the previous one — and reaches
# Newton's at $K = D$. On average over random planes it grows smoothly.

# %%
theta_near = 1 + 0.2 * np.random.default_rng(0).standard_normal(D)  # near the minimum
g_near = rosenbrock_value_and_grad(theta_near)[1]
H_near = rosenbrock_hessian(theta_near)
assert np.all(np.linalg.eigvalsh(H_near) > 0)
newton_decrease = 0.5 * g_near @ np.linalg.solve(H_near, g_near)

n_draws = 200
fraction = np.empty((n_draws, D))  # decrease(K) / Newton's, K = 1..D
for n in range(n_draws):
    W = rng.standard_normal((D, D))
    for K in range(1, D + 1):
        gK, HK = W[:K] @ g_near, W[:K] @ H_near @ W[:K].T
        fraction[n, K - 1] = 0.5 * gK @ np.linalg.solve(HK, gK) / newton_decrease

assert np.all(np.diff(fraction, axis=1) > -1e-12)  # nested planes: never worse
assert np.allclose(fraction[:, -1], 1.0)  # K = D: Newton

# the closed forms agree with one hyper-dual pass for one of the planes
_, gK, HK = hd.projected_hessian(rosenbrock, theta_near, W[:4])
assert_close(HK, W[:4] @ H_near @ W[:4].T, np.float64, "exact", "H̃")

# %%
Ks = np.arange(1, D + 1)
fig, ax = plt.subplots(figsize=(6.5, 4))
for row in fraction[:30]:
    ax.plot(Ks, row, color="tab:blue", alpha=0.15, lw=0.8)
ax.plot(Ks, fraction.mean(axis=0), "o-", color="tab:blue", lw=2, label="mean over 200 draws")
ax.plot(Ks, Ks / D, "k:", label="K / D")
ax.set_xlabel("K, dimension of the random plane")
ax.set_ylabel("model decrease / Newton's")
ax.set_title("Share of Newton's model decrease on a random K-plane")
ax.legend()
plt.show()
print("mean fraction by K:", np.round(fraction.mean(axis=0), 3))

# %% [markdown]
# On average a random $K$-plane captures about $K/D$ of Newton's decrease (the dotted line);
# the spread between draws is large — a lucky plane does much better, an unlucky one much
# worse — and only $K = D$ is guaranteed to get it all. Why about $K/D$: write $w = H^{-1/2}g$ and
# $W = VH^{1/2}$; then the fraction is $\lVert P_W w\rVert^2/\lVert w\rVert^2$, the share of a fixed
# vector that lies in the row space of $W$. If that row space were a *uniformly* random
# $K$-dimensional subspace — as it is for $H \propto I$ — the expected share would be exactly $K/D$.
# Here $W$'s rows are Gaussian with covariance $H$, not isotropic, so $K/D$ is only an
# approximation. Both statements, checked: the isotropic case ($H = I$, same draws) against $K/D$
# within sampling error, and the deviation for this $H$, measured:

# %%
W_draws = np.random.default_rng(1).standard_normal((n_draws, D, D))
g_unit = g_near / np.linalg.norm(g_near)
isotropic = np.array(
    [
        [
            np.linalg.norm(np.linalg.lstsq(W[:K].T, g_unit, rcond=None)[0] @ W[:K]) ** 2
            for K in range(1, D + 1)
        ]
        for W in W_draws
    ]
)  # ‖P_W g‖²/‖g‖², H = I
for name, frac in [("H = I", isotropic), ("Rosenbrock H", fraction)]:
    mean, stderr = frac.mean(axis=0), frac.std(axis=0, ddof=1) / np.sqrt(n_draws)
    dev = mean - Ks / D
    print(
        f"{name:13s} mean − K/D:",
        np.round(dev, 3),
        f"  (largest |deviation| = {np.max(np.abs(dev[:-1]) / stderr[:-1]):.1f} standard errors)",
    )
    if name == "H = I":
        assert np.all(np.abs(dev[:-1]) < 4 * stderr[:-1])  # exactly K/D in expectation
    else:
        assert np.max(np.abs(dev)) < 0.05  # "about K/D": within 0.05 here


# %% [markdown]
# ## 5. Convergence on 10-D Rosenbrock (Figure 2)
#
# `paper_experiments.rosenbrock.convergence` with $K = 1$ (FoMoH), $2, 4, 6, 8, 10$ and Newton, all
# with $\eta = 1$, from the same random starts `default_rng(0).standard_normal((5, 10))` (the
# paper uses 10 starts and 1,000 iterations; `fomoh rosenbrock 10d` runs that).

# %%
methods = {"FoMoH (K=1)": ("fomoh", {"lr": 1.0})}
methods.update({f"FoMoH-{K}D": ("fomoh-kd", {"K": K, "lr": 1.0}) for K in (2, 4, 6, 8, 10)})
methods["Newton"] = ("newton", {"lr": 1.0})
n_starts, iterations = 5, 300
result = R.convergence(D=D, n_starts=n_starts, iterations=iterations, methods=methods, seed=0)

hits = {}
print(f"{'method':12s} {'median f':>10s}   final f of each start")
for label, L in result["losses"].items():
    hits[label] = [int(np.argmax(row < 1e-10)) if np.any(row < 1e-10) else None for row in L]
    print(f"{label:12s} {np.median(L[:, -1]):10.2e}   " + "  ".join(f"{x:8.1e}" for x in L[:, -1]))

# %%
ramp = plt.get_cmap("viridis")
colors = {label: ramp(n / 5) for n, label in enumerate(list(methods)[:-1])}
colors["Newton"] = "red"
Ks_run = {
    "FoMoH (K=1)": 1,
    "FoMoH-2D": 2,
    "FoMoH-4D": 4,
    "FoMoH-6D": 6,
    "FoMoH-8D": 8,
    "FoMoH-10D": 10,
    "Newton": 10.5,
}
LO, HI = 1e-3, 1e8  # the right panel's range: the spread between K = 1 and K = 8
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=[1.6, 1])
for label, L in result["losses"].items():
    t = np.arange(1, L.shape[1])
    shown = np.clip(L[:, 1:], R.LOSS_FLOOR, 1e12)
    for row in shown:
        ax.plot(t, row, color=colors[label], alpha=0.15, lw=0.7)
    style = dict(ls=":", lw=3) if label == "Newton" else dict(lw=2.2)
    ax.plot(t, np.median(shown, axis=0), color=colors[label], label=label, **style)
    final = L[:, -1]
    inside = (final >= LO) & (final <= HI)
    x_pos = np.full(len(final), Ks_run[label])
    ax2.plot(x_pos[inside], final[inside], "o", color=colors[label], alpha=0.7)
    ax2.plot(
        x_pos[final < LO],
        np.full(np.sum(final < LO), LO),
        "v",
        color=colors[label],
        ms=9,
        alpha=0.7,
    )  # below the axis: at the minimum
    ax2.plot(
        x_pos[final > HI],
        np.full(np.sum(final > HI), HI),
        "^",
        color=colors[label],
        ms=9,
        alpha=0.7,
    )
    ax2.plot(Ks_run[label], np.clip(np.median(final), LO, HI), "_", color="k", ms=18, mew=2)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(R.LOSS_FLOOR / 10, 1e12)
ax.set_xlabel("iteration")
ax.set_ylabel(f"f(θ)  (clipped to [{R.LOSS_FLOOR:g}, 1e12])")
ax.set_title(f"{n_starts} starts (thick: median over starts)")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
ax2.set_yscale("log")
ax2.set_ylim(LO / 2, HI * 2)
ax2.set_xticks(list(Ks_run.values()), ["1", "2", "4", "6", "8", "10", "N"])
ax2.set_xlabel("K  (N = Newton)")
ax2.set_title(
    f"f after {iterations} iterations (bar: median)\n▼: below {LO:g}, ▲: above {HI:g}", fontsize=10
)
ax2.grid(alpha=0.3)
fig.suptitle("FoMoH-KD on 10-D Rosenbrock")
plt.show()

# %% [markdown]
# What to read off the plot and the table:
#
# * From $K = 1$ to $K = 6$ the typical loss after 300 iterations falls with $K$ (right
#   panel): a larger plane captures more of Newton's step (section 4).
# * **FoMoH-10D and Newton are the same method**: they reach $f < 10^{-10}$ at the same
#   iteration from every start. (With Gaussian directions the iterates differ by rounding,
#   section 3, so their curves part only where Newton's own iterates are unstable.)
# * That includes Newton's weaknesses. Plain Newton ($\eta = 1$, no damping) reaches the
#   global minimum $f(1,\dots,1) = 0$ from two of these starts within about 50 iterations,
#   converges to a *local* minimum $f \approx 3.99$ near $(-1, 1, \dots, 1)$ from two, and from
#   one jumps to $f \approx 10^6$, where $H$ is nearly singular, and crawls.
# * Large $K < D$ sits in between. Where the plane's Hessian $\tilde H$ has an eigenvalue
#   near zero or below, the stationary point of the model — where Algorithm 1 steps, with
#   $\eta = 1$ and no damping — can be very far away, even uphill: the spikes of FoMoH-8D.
#
# The paper's "perfect ordering" in $K$ is a statement about medians over 10 starts and 1,000
# iterations; with 5 starts and 300 iterations we see the trend up to $K \approx 6$ and, beyond
# it, the undamped Newton-like steps. (`fomoh rosenbrock 10d` runs the full size.)
#
# That second minimum is real: Newton from the fourth start, 50 iterations, ends at a point
# with zero gradient and a positive definite Hessian.

# %%
t = result["starts"][3].copy()
opt = optimizers.Newton()
for _ in range(50):
    t, _ = opt.step(rosenbrock, t)
f_t, g_t = rosenbrock_value_and_grad(t)
print(
    "θ =",
    np.round(t, 3),
    f"\nf = {f_t:.6f}   |∇f| = {np.linalg.norm(g_t):.1e}   "
    f"smallest eigenvalue of H = {np.linalg.eigvalsh(rosenbrock_hessian(t))[0]:.3f}",
)
assert abs(f_t - 3.9866) < 1e-3 and np.linalg.norm(g_t) < 1e-8 and t[0] < -0.9
assert np.all(np.linalg.eigvalsh(rosenbrock_hessian(t)) > 0)

# %% [markdown]
# The checks of the figure:

# %%
med = {label: np.median(L[:, -1]) for label, L in result["losses"].items()}
assert hits["FoMoH-10D"] == hits["Newton"]  # start by start
assert sum(h is not None for h in hits["Newton"]) >= 2
assert med["FoMoH-6D"] < med["FoMoH-4D"] < med["FoMoH-2D"] < med["FoMoH (K=1)"]

# %% [markdown]
# ## Summary
#
# * The hyperplane step $\theta - \eta V^\top (VHV^\top)^{-1} V g$ needs $K(K+1)/2$ hyper-dual
#   pairs and a $K\times K$ solve: `optimizers.hyperplane_step`.
# * FoMoH ($K = 1$), FoMoH-BP ($V = g$), FoMoH-KD and Newton ($V = I$) are that one step
#   with different directions; partition Newton (notebook 10) is another choice.
# * $K = D$ is Newton's method — exactly with basis directions, to rounding with random ones.
#   Newton's fast convergence comes with its lack of safeguards; smaller $K$ trades speed for
#   cost per step.
#
# ## Exercises
#
# **Try it 1:** rerun section 5 with `("fomoh-kd", {"K": 10, "lr": 1.0, "curvature": "abs"})`
# (the saddle-free $\lvert\tilde H\rvert$) or `("newton", {"lr": 1.0, "damping": 10.0})`
# and watch what happens to the start where Newton jumped away.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the third start (index 2) is the one where
# Newton jumped to $f \approx 10^6$. Starts are drawn in order, so three starts reproduce it.
# Damping rescues it (it reaches the global minimum) — but the same damping leaves the second
# start far from any minimum after 300 iterations: $\lambda = 10$ is a trust region, right
# for one place and too timid for another. The saddle-free $\lvert\tilde H\rvert$ avoids the
# jump and settles in the local minimum $f \approx 3.99$.

# %% tags=["solution"]
variants = {
    "Newton, damping 10": ("newton", {"lr": 1.0, "damping": 10.0}),
    "FoMoH-10D, |H̃|": ("fomoh-kd", {"K": 10, "lr": 1.0, "curvature": "abs"}),
}
rerun = R.convergence(D=D, n_starts=3, iterations=iterations, methods=variants, seed=0)
assert np.array_equal(rerun["starts"], result["starts"][:3])
for label, L in rerun["losses"].items():
    print(f"{label:20s} final f of starts 0, 1, 2:", "  ".join(f"{x:9.2e}" for x in L[:, -1]))
print(
    f"{'plain Newton':20s} final f of starts 0, 1, 2:",
    "  ".join(f"{x:9.2e}" for x in result["losses"]["Newton"][:3, -1]),
)
damped, saddle_free = rerun["losses"]["Newton, damping 10"], rerun["losses"]["FoMoH-10D, |H̃|"]
assert result["losses"]["Newton"][2, -1] > 1e5
assert damped[2, -1] < 1e-10 and damped[1, -1] > 1 and abs(saddle_free[2, -1] - 3.9866) < 1e-3

# %% [markdown]
# **Try it 2:** show that the plane step is the $H$-orthogonal projection of Newton's step
# onto the plane: with $P = V^\top (VHV^\top)^{-1} V H$, check $P^2 = P$,
# $s_K = P\,s_\text{Newton}$, and that the remainder $s_\text{Newton} - s_K$ is $H$-orthogonal to
# every direction of the plane, for $K = 4$ random directions (at the $\theta$ of section 1).
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** $P\,s_\text{Newton} = -V^\top(VHV^\top)^{-1}VHH^{-1}g = -V^\top(VHV^\top)^{-1}Vg
# = s_K$; $P^2 = V^\top(VHV^\top)^{-1}(VHV^\top)(VHV^\top)^{-1}VH = P$; and
# $VH(s_\text{Newton} - s_K) = -Vg + (VHV^\top)\kappa = 0$.

# %% tags=["solution"]
V4 = rng.standard_normal((4, D))
P = V4.T @ np.linalg.solve(V4 @ H @ V4.T, V4 @ H)
s_newton = -np.linalg.solve(H, g)
s_plane, _ = hyperplane_step(rosenbrock, theta, V4, lr=1.0)
print(
    "‖P² − P‖ =",
    np.linalg.norm(P @ P - P),
    "  ‖s_K − P s_Newton‖ =",
    np.linalg.norm(s_plane - P @ s_newton),
)
assert (
    np.allclose(P @ P, P, atol=1e-10)
    and np.allclose(s_plane, P @ s_newton, rtol=1e-9, atol=1e-12)
    and np.allclose(V4 @ H @ (s_newton - s_plane), 0, atol=1e-8 * np.abs(V4 @ g).max())
)

# %% [markdown]
# Next: [7. Training: forward mode against back-propagation](07_training_forward_vs_backprop.ipynb).
