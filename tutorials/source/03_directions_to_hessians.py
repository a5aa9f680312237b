# %% [markdown]
# # 3. From directions to Hessians
#
# One hyper-dual evaluation of a scalar function $F:\mathbb{R}^D \to \mathbb{R}$ at
#
# $$x = \theta + v_1\,\varepsilon_1 + v_2\,\varepsilon_2 + 0\,\varepsilon_1\varepsilon_2$$
#
# returns four numbers, exact up to rounding:
#
# $$F(x) = F(\theta) + (\nabla F\cdot v_1)\,\varepsilon_1 + (\nabla F\cdot v_2)\,\varepsilon_2
#   + (v_1^\top \nabla^2 F\, v_2)\,\varepsilon_1\varepsilon_2 .$$
#
# (Apply the chain rule of notebook 1 to each elementary operation: the $\varepsilon_1\varepsilon_2$
# part collects exactly the second-order term of Taylor's series in the two directions.)
#
# Everything in this notebook is a choice of **pairs** $(v_1, v_2)$:
#
# | what | pairs | number of pairs |
# |---|---|---|
# | value, slope and curvature along $v$ | $(v, v)$ | 1 |
# | gradient $\nabla F$ (and the Hessian's diagonal) | $(e_i, e_i)$ | $D$ |
# | Hessian-vector product $\nabla^2F\,v$ | $(v, e_i)$ | $D$ |
# | projected $K\times K$ Hessian $V\,\nabla^2F\,V^\top$ | $(v_i, v_j)$, $i \le j$ | $K(K+1)/2$ |
# | full Hessian $\nabla^2 F$ | $(e_i, e_j)$, $i \le j$ | $D(D+1)/2$ |
#
# We check every result against the closed forms of the Rosenbrock function in SciPy, then
# measure what each costs.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import rosen, rosen_der, rosen_hess, rosen_hess_prod

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.testing import assert_close

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## The test function
#
# The $D$-dimensional Rosenbrock function
# $F(\theta) = \sum_{i=1}^{D-1} 100\,(\theta_{i+1} - \theta_i^2)^2 + (1 - \theta_i)^2$,
# written once with NumPy operations. The *same* code runs on floats and on hyper-dual arrays.
# SciPy's `rosen_der`, `rosen_hess` and `rosen_hess_prod` are hand-derived closed forms: our
# independent reference.


# %%
def F(theta):
    return np.sum(100.0 * (theta[1:] - theta[:-1] ** 2) ** 2 + (1.0 - theta[:-1]) ** 2)


D = 6
theta = rng.normal(size=D)
assert np.isclose(F(theta), rosen(theta))
grad_exact, H_exact = rosen_der(theta), rosen_hess(theta)
print("F(theta) =", F(theta))

# %% [markdown]
# ## 1. One pair: directional derivatives
#
# `hd.directional(F, theta, v1, v2)` builds $\theta + v_1 \varepsilon_1 + v_2 \varepsilon_2$, calls
# `F` once and unpacks the four parts. With $v_1 = v_2 = v$ we get the slope $\nabla F\cdot v$ and
# the curvature $v^\top \nabla^2F\,v$ along $v$ — all a line search needs (FoMoH, notebook 5).

# %%
v1, v2 = rng.normal(size=D), rng.normal(size=D)
value, d1, d2, d12 = hd.directional(F, theta, v1, v2)
print(f"F = {value:.6f}  ∇F·v1 = {d1:.6f}  ∇F·v2 = {d2:.6f}  v1ᵀHv2 = {d12:.6f}")

assert_close(d1, grad_exact @ v1, np.float64, "exact", "∇F·v1")
assert_close(d2, grad_exact @ v2, np.float64, "exact", "∇F·v2")
assert_close(d12, v1 @ H_exact @ v2, np.float64, "exact", "v1ᵀ H v2")

# %% [markdown]
# `assert_close(actual, desired, dtype, kind)` is the library's one tolerance table
# (`hyperdual.testing`). For `kind="exact"` in float64 it allows a relative error of
# $10^{-11}$ — a few thousand rounding steps, nothing like a finite difference's $10^{-6}$.
#
# Under the hood there is nothing but the number type. The same result by hand:

# %%
x = HyperDual(theta, v1, v2)  # eps12 defaults to 0
y = F(x)
print(y)
assert np.isclose(y.eps12.item(), d12, rtol=1e-15, atol=0)

# %% [markdown]
# ## 2. Many pairs in one pass: the pair axis
#
# Evaluating $P$ pairs one by one repeats the *primal* computation — $\theta_i^2$,
# $\theta_{i+1} - \theta_i^2$, … — $P$ times, although it does not depend on the directions.
# A library `HyperDual` therefore stores
#
# * `real` with the number's shape $S$ (here $(D,)$), computed **once**, and
# * `eps1, eps2, eps12` with a leading **pair axis**: shape $(P, *S)$.
#
# Every rule broadcasts the shared real part against the $P$ stacked ε-parts.

# %%
P = 4
V1, V2 = rng.normal(size=(P, D)), rng.normal(size=(P, D))
x = HyperDual(theta, V1, V2)
print("x.real", x.real.shape, " x.eps1", x.eps1.shape, " x.npairs =", x.npairs)
y = F(x)
print("y.real", y.real.shape, " y.eps12", y.eps12.shape)

for p in range(P):  # pair p is the one-pair answer for (V1[p], V2[p])
    assert_close(y.eps1[p], grad_exact @ V1[p], np.float64, "exact", "∇F·v1")
    assert_close(y.eps12[p], V1[p] @ H_exact @ V2[p], np.float64, "exact", "v1ᵀHv2")

# %% [markdown]
# The derivative API does exactly this, in **chunks** of at most `chunk_size` pairs per call of
# `F` (default `hd.DEFAULT_CHUNK_SIZE`), so memory stays bounded however many pairs we ask for.
# To see what each function costs, count calls and pairs with a small wrapper:


# %%
class Counted:
    """Wrap F; count its calls and the direction pairs it was given."""

    def __init__(self, fn):
        self.fn, self.calls, self.pairs = fn, 0, 0

    def __call__(self, x):
        self.calls += 1
        self.pairs += x.npairs
        return self.fn(x)


counted = Counted(F)
_, d1s, _, d12s = hd.directional(counted, theta, V1, V2)
print(f"{counted.calls} call, {counted.pairs} pairs")
assert (counted.calls, counted.pairs) == (1, P)
assert np.allclose(d12s, y.eps12)

# %% [markdown]
# ## 3. The gradient: $D$ basis pairs $(e_i, e_i)$
#
# With $v_1 = v_2 = e_i$ (the $i$-th unit vector) the parts are $\partial F/\partial\theta_i$
# and $\partial^2F/\partial\theta_i^2$. So $D$ pairs give the gradient — **and the Hessian's
# diagonal for free**.

# %%
counted = Counted(F)
basis = np.eye(D)
_, grad, _, diag = hd.directional(counted, theta, basis)  # v2 = v1 when omitted
print("pairs:", counted.pairs)
assert counted.pairs == D
assert_close(grad, grad_exact, np.float64, "exact", "gradient")
assert_close(diag, np.diag(H_exact), np.float64, "exact", "Hessian diagonal")
assert_close(hd.gradient(F, theta), grad_exact, np.float64, "exact", "hd.gradient")

# %% [markdown]
# `hd.gradient` computes the same gradient more cheaply: it needs no second-order parts, so it
# evaluates the $D$ directions $\theta + e_i\,\varepsilon$ on first-order `Dual` numbers (3
# array products per multiplication instead of the hyper-dual 9). Section 7 times both.

# %% [markdown]
# ## 4. Hessian-vector products: pairs $(v, e_i)$
#
# $(\nabla^2F\,v)_i = v^\top \nabla^2F\, e_i$, so pairing one $v$ with each basis vector gives
# the whole product from $D$ pairs. Hessian-free Newton-CG (notebook 8) needs many of these.
# (Back-propagation run on dual numbers gets $\nabla^2F\,v$ for the price of a few passes,
# independent of $D$ — notebook 4 compares forward mode and back-propagation.)

# %%
v = rng.normal(size=D)
counted = Counted(F)
Hv = hd.hvp(counted, theta, v)
print("Hv =", Hv, "  pairs:", counted.pairs)
assert counted.pairs == D
assert_close(Hv, rosen_hess_prod(theta, v), np.float64, "exact", "Hessian-vector product")

# %% [markdown]
# ## 5. The $K\times K$ projected Hessian: pairs $(v_i, v_j)$, $i \le j$
#
# Stack $K$ directions as the rows of $V \in \mathbb{R}^{K\times D}$. The projections
#
# $$\tilde g = V\,\nabla F \in \mathbb{R}^K, \qquad \tilde H = V\,\nabla^2F\,V^\top \in \mathbb{R}^{K\times K}$$  # noqa: E501
#
# (in code `g_K` and `H_K`) describe $F$ to second order on the $K$-dimensional plane through
# $\theta$ spanned by the directions: with coordinates $\kappa \in \mathbb R^K$ on the plane,
# $F(\theta + V^\top\kappa) \approx F(\theta) + \tilde g^\top\kappa + \tfrac12\kappa^\top
# \tilde H\,\kappa$. $\tilde H$ is symmetric, so the $K(K+1)/2$ pairs with $i \le j$ suffice,
# and the diagonal pairs $(v_k, v_k)$ carry $\tilde g_k$ in their `eps1`. This is what FoMoH-KD
# (notebook 6) evaluates at every step — **independent of $D$** in the number of pairs.

# %%
K = 3
V = rng.normal(size=(K, D))
counted = Counted(F)
value, g_K, H_K = hd.projected_hessian(counted, theta, V)
print("g_K =", g_K)
print("H_K =\n", H_K)
print("pairs:", counted.pairs, "= K(K+1)/2 =", K * (K + 1) // 2)
assert counted.pairs == K * (K + 1) // 2
assert_close(g_K, V @ grad_exact, np.float64, "exact", "projected gradient")
assert_close(H_K, V @ H_exact @ V.T, np.float64, "exact", "projected Hessian")

# %% [markdown]
# Check the second-order model on the plane: for a small step $\kappa$, the error of the
# quadratic model must shrink like $|\kappa|^3$ (halve $\kappa$, error $\div 8$).

# %%
kappa = rng.normal(size=K)
errors = []
for scale in [1e-2, 5e-3, 2.5e-3, 1.25e-3]:
    step = scale * kappa
    model = value + g_K @ step + 0.5 * step @ H_K @ step
    errors.append(abs(F(theta + V.T @ step) - model))
ratios = np.array(errors[:-1]) / np.array(errors[1:])
print("model errors:", np.array(errors), "\nratios:      ", ratios)
assert np.all((ratios > 7) & (ratios < 9))  # ≈ 8: a third-order remainder

# %% [markdown]
# ## 6. The full Hessian: all basis pairs $(e_i, e_j)$, $i \le j$
#
# The projected Hessian with $V = I$: $D(D+1)/2$ pairs. With $K = D$ basis directions a
# FoMoH-KD step *is* a Newton step.

# %%
counted = Counted(F)
H = hd.hessian(counted, theta)
print("pairs:", counted.pairs, "= D(D+1)/2 =", D * (D + 1) // 2)
assert counted.pairs == D * (D + 1) // 2
assert_close(H, H_exact, np.float64, "exact", "Hessian")
assert np.array_equal(H, H.T)
np.set_printoptions(precision=1, suppress=True, linewidth=100)
print(H)

# %% [markdown]
# ## 7. What each costs, measured
#
# One pair costs a small constant times one evaluation of $F$, and one evaluation of this $F$
# costs $O(D)$. So we expect
#
# | | pairs | work |
# |---|---|---|
# | directional | 1 | $O(D)$ |
# | projected, fixed $K$ | $K(K+1)/2$ | $O(K^2 D)$ |
# | gradient, Hessian-vector product | $D$ | $O(D^2)$ |
# | full Hessian | $D(D+1)/2$ | $O(D^3)$ |
#
# Measure it. Each time is the fastest of at least three runs (more for fast calls, until
# they add up to 20 ms), the same rule at every size; the full Hessian only up to $D = 256$,
# where it already evaluates 32,896 pairs. The gradient appears twice: by `hd.gradient`
# ($D$ first-order `Dual` directions) and by $D$ hyper-dual pairs $(e_i, e_i)$, which also
# give the Hessian's diagonal.


# %%
def best_time(fn, min_total=0.02, max_repeat=200):
    """Seconds of the fastest run: at least 3 runs, more until they add up to min_total."""
    times = []
    while len(times) < 3 or (sum(times) < min_total and len(times) < max_repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


dims = [8, 16, 32, 64, 128, 256, 512, 1024]
methods = {  # name -> run(f, θ, V): V holds 4 directions
    "F itself (floats)": lambda f, th, V: f(th),
    "directional, 1 pair": lambda f, th, V: hd.directional(f, th, V[0]),
    "projected, K = 4 (10 pairs)": lambda f, th, V: hd.projected_hessian(f, th, V),
    "gradient, D Dual directions": lambda f, th, V: hd.gradient(f, th),
    "gradient + diag, D pairs": lambda f, th, V: hd.directional(f, th, np.eye(len(th))),
    "hvp, D pairs": lambda f, th, V: hd.hvp(f, th, V[0]),
    "Hessian, D(D+1)/2 pairs": lambda f, th, V: hd.hessian(f, th),
}
timings = {name: [] for name in methods}
for dim in dims:
    th, Vd = rng.normal(size=dim), rng.normal(size=(4, dim))
    for name, run in methods.items():
        if name.startswith("Hessian") and dim > 256:
            timings[name].append(np.nan)
            continue
        timings[name].append(best_time(lambda: run(F, th, Vd)))  # noqa: B023

print(f"{'D':29s}", "  ".join(f"{dim:8d}" for dim in dims))
for name, ts in timings.items():
    print(f"{name:29s}", "  ".join(f"{t:8.1e}" for t in ts))

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.8))
for name, ts in timings.items():
    ax.loglog(dims, ts, "o-", label=name)
d = np.array(dims, dtype=float)
c2 = timings["hvp, D pairs"][-1] / d[-1] ** 2  # reference slopes through the
c3 = timings["Hessian, D(D+1)/2 pairs"][5] / d[5] ** 3  # last measured points
ax.loglog(d[3:], c2 * d[3:] ** 2, "k:", lw=1)
ax.loglog(d[2:6], c3 * d[2:6] ** 3, "k--", lw=1)
ax.text(d[3], c2 * d[3] ** 2, r"$\propto D^2$ ", va="center", ha="right")
ax.text(d[2], c3 * d[2] ** 3, r"$\propto D^3$ ", va="center", ha="right")
ax.set_xlabel("dimension D")
ax.set_ylabel("seconds (fastest run)")
ax.set_title("Cost of derivatives of the D-dimensional Rosenbrock function")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# What to read off the plot:
#
# * at small $D$ every call costs a fixed Python overhead (≈ 0.1–1 ms): the library is written
#   to be read, not to win benchmarks;
# * the directional derivative and the projected Hessian stay nearly flat — a fixed number of
#   pairs, each as cheap as $F$ on a vector;
# * the gradient and the Hessian-vector product grow like $D^2$ and the full Hessian like
#   $D^3$ once the arrays are large enough for the arithmetic to dominate; the gradient on
#   `Dual` numbers sits below the same $D$ directions on hyper-dual pairs.
#
# Times vary from machine to machine and from run to run, so the checks are on what does not:
# the **work**, counted as the number of direction pairs each method evaluates (each pair
# costs a small constant times one evaluation of $F$).
#
# `projected_hessian` and `hessian` do not use independent pairs: they evaluate $F$ on one
# **second-order $K$-jet** $\theta + \sum_k v_k\varepsilon_k$ (`hyperdual.Jet`), which carries
# the $K$ first-order parts once and the $K(K+1)/2$ second-order parts $v_i^\top\nabla^2F\,v_j$
# (notebook 4d). Its `npairs` is $K(K+1)/2$, so the same counter measures it. The full Hessian
# cuts the $D$ basis directions into blocks of $B$ and evaluates one jet per pair of blocks,
# with $2B$ directions, the largest $B$ whose $2B(2B+1)/2$ second-order parts fit in
# `chunk_size`; the diagonal blocks are met more than once, so it counts more than
# $D(D+1)/2$ second-order parts — and still runs as fast as $D(D+1)/2$ pairs, since each
# first-order tangent is pushed through $F$ once per jet instead of once per pair.


# %%
def hessian_work(D, chunk=hd.DEFAULT_CHUNK_SIZE):
    """(calls, second-order parts) of hd.hessian: one jet if its D(D+1)/2 parts fit in
    ``chunk``, else one jet per pair of blocks of B directions (at least one)."""
    pairs = lambda k: k * (k + 1) // 2  # noqa: E731
    if pairs(D) <= chunk:
        return 1, pairs(D)
    B = max([1] + [b for b in range(1, D + 1) if pairs(2 * b) <= chunk])
    sizes = [min(B, D - s) for s in range(0, D, B)]
    off = [(a, b) for i, a in enumerate(sizes) for b in sizes[i + 1 :]]
    return len(sizes) + len(off), sum(map(pairs, sizes)) + sum(pairs(a + b) for a, b in off)


dim = 256
th, Vd = rng.normal(size=dim), rng.normal(size=(4, dim))
calls_H, pairs_H = hessian_work(dim)
expected = {
    "directional, 1 pair": (1, 1),
    "projected, K = 4 (10 pairs)": (1, 10),
    "gradient, D Dual directions": (1, dim),
    "gradient + diag, D pairs": (1, dim),
    "hvp, D pairs": (1, dim),
    "Hessian, D(D+1)/2 pairs": (calls_H, pairs_H),
}
for name, (calls, pairs) in expected.items():
    counted = Counted(F)
    methods[name](counted, th, Vd)
    print(f"{name:29s} {counted.pairs:6d} pairs in {counted.calls:4d} call(s) of F")
    assert (counted.calls, counted.pairs) == (calls, pairs)
print(f"the Hessian's jets: {pairs_H} second-order parts for D(D+1)/2 = {dim * (dim + 1) // 2}")

# %% [markdown]
# ### Why the pair axis matters
#
# The same Hessian, once with the default chunk of pairs per call of $F$ and once with the
# smallest chunk (blocks of one direction: each jet carries two basis directions, three
# second-order parts). The answer is identical; the number of calls is not — and with it the
# time, because NumPy does the work of many pairs in one vectorised operation and the primal
# part is computed once per call.

# %%
th32 = rng.normal(size=32)
for chunk_size in (None, 1):
    counted = Counted(F)
    hd.hessian(counted, th32, chunk_size=chunk_size)
    seconds = best_time(lambda: hd.hessian(F, th32, chunk_size=chunk_size))  # noqa: B023
    print(
        f"D = 32, chunk_size = {chunk_size or hd.DEFAULT_CHUNK_SIZE:3d}: {counted.calls:3d} "
        f"calls of F for {counted.pairs} pairs, {seconds:.4f} s (fastest of 3 or more)"
    )
    assert (counted.calls, counted.pairs) == hessian_work(32, chunk_size or hd.DEFAULT_CHUNK_SIZE)
assert np.allclose(hd.hessian(F, th32), hd.hessian(F, th32, chunk_size=1), rtol=1e-14, atol=0)

# %% [markdown]
# ## Summary
#
# * One hyper-dual pass gives $F$, two directional derivatives and one entry
#   $v_1^\top\nabla^2F\,v_2$ of the Hessian's bilinear form.
# * Everything else is a choice of pairs: `directional`, `gradient`, `hvp`,
#   `projected_hessian`, `hessian`.
# * The cost is the number of pairs times the cost of $F$. Directions you choose
#   ($K$ of them) cost $K(K+1)/2$ pairs however large $D$ is — the idea behind FoMoH-KD.
#
# ## Exercises
#
# **Try it 1:** time `hd.hessian` on a function whose Hessian is dense,
# $F_A(\theta) = \log\sum_k e^{(A\theta)_k}$ with a random $A \in \mathbb R^{D\times D}$, and
# compare the slope with Rosenbrock's. Check the result against the closed form
# $\nabla^2 F_A = A^\top(\operatorname{diag}p - pp^\top)A$, $p = \operatorname{softmax}(A\theta)$.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the number of pairs is the same,
# $D(D+1)/2$, but one evaluation of $F_A$ now costs $O(D^2)$ (a $D\times D$ matrix-vector
# product) instead of $O(D)$, so the Hessian costs $O(D^4)$ once the arithmetic dominates —
# the printed slope approaches 4 only at sizes where Python overhead no longer matters.

# %% tags=["solution"]
sizes, seconds = [16, 32, 64, 128], []
for dim in sizes:
    A_dense, th = rng.normal(size=(dim, dim)) / np.sqrt(dim), rng.normal(size=dim)

    def F_A(t):
        return np.log(np.sum(np.exp(A_dense @ t)))  # noqa: B023

    seconds.append(best_time(lambda: hd.hessian(F_A, th)))  # noqa: B023
    p = np.exp(A_dense @ th - np.max(A_dense @ th))
    p /= p.sum()
    H_closed = A_dense.T @ (np.diag(p) - np.outer(p, p)) @ A_dense
    assert_close(
        hd.hessian(F_A, th), H_closed, np.float64, "exact", f"log-sum-exp Hessian, D = {dim}"
    )
slopes = np.diff(np.log(seconds)) / np.diff(np.log(sizes))
print(
    "D:",
    sizes,
    " seconds:",
    [f"{t:.2e}" for t in seconds],
    "\nlocal slopes of log(time) against log(D):",
    [f"{k:.1f}" for k in slopes],
)
assert len(seconds) == len(sizes)

# %% [markdown]
# **Try it 2:** one hyper-dual pair $(v, v)$ gives only the *diagonal* value $v^\top H v$.
# Show that two such pairs suffice for a mixed term, by the polarisation identity
# $v_1^\top H v_2 = \tfrac14\big[(v_1 + v_2)^\top H (v_1 + v_2) - (v_1 - v_2)^\top H (v_1 - v_2)\big]$,  # noqa: E501
# and compare with `d12` from section 1.
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
_, _, _, plus = hd.directional(F, theta, v1 + v2)
_, _, _, minus = hd.directional(F, theta, v1 - v2)
polarised = (plus - minus) / 4
print(f"from two diagonal pairs: {polarised:.12f}   from the pair (v1, v2): {d12:.12f}")
assert np.isclose(polarised, d12, rtol=1e-12)

# %% [markdown]
# Next: [4. Layers on hyper-dual numbers](04_layers_on_hyperdual.ipynb).
