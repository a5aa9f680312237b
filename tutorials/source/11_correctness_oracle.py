# %% [markdown]
# # 11. Using the library as a correctness oracle for another AD backend
#
# You maintain derivative code somewhere else — a PyTorch extension, a JAX custom rule, a fused
# GPU kernel, or a hand-derived formula in a paper. How do you *know* its gradients and
# Hessian-vector products are right?
#
# This library computes them in a completely different way — forward mode with hyper-dual
# numbers, exact to rounding, written with plain NumPy — and can cross-check itself with the
# bicomplex step, which shares none of its code. That makes it a **reference** you can
# test another implementation against, with tolerances tight enough to catch real bugs.
#
# The recipe, used throughout this notebook:
#
# 1. write the function once with NumPy operations (the *specification*);
# 2. get reference derivatives from hyper-dual numbers, and confirm them with the bicomplex
#    step (two independent methods agreeing to rounding);
# 3. compare the foreign implementation at many random points and directions, in every dtype
#    it supports, with `hyperdual.testing.assert_close` and the tolerance table;
# 4. include the hard inputs: large values, mixed signs, tiny batches.
#
# Here the "foreign backends" are small NumPy re-implementations, some of them deliberately
# broken, so that the notebook runs anywhere.

# %%
import numpy as np

import hyperdual as hd
from hyperdual import Bicomplex, HyperDual
from hyperdual.testing import TOLERANCES, assert_close, relative_error, tolerance
from layers import CrossEntropy

rng = np.random.default_rng(0)  # the seed for every random number in this notebook


def caught(check, *args, **kwargs):
    """Run a check that is expected to fail; return the first line of its AssertionError."""
    try:
        check(*args, **kwargs)
    except AssertionError as error:
        return str(error).splitlines()[0]
    raise RuntimeError("the check passed, but it should have caught a bug")


# %% [markdown]
# ## 1. A hand-written second derivative
#
# The swish activation $f(x) = x\,\sigma(x)$, $\sigma(x) = 1/(1 + e^{-x})$. With
# $\sigma' = \sigma(1-\sigma)$ and $\sigma'' = \sigma(1-\sigma)(1-2\sigma)$, the product rule gives
#
# $$f'(x) = \sigma + x\,\sigma(1-\sigma), \qquad
#   f''(x) = \sigma(1-\sigma)\,\big(2 + x(1 - 2\sigma)\big).$$
#
# A foreign backend would ship these formulas as its derivative rule:


# %%
def foreign_swish(x):
    """A 'foreign' swish with hand-written (f, f', f'')."""
    s = 1.0 / (1.0 + np.exp(-x))
    return x * s, s + x * s * (1.0 - s), s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s))


def swish(x):
    """The specification: plain NumPy operations, runs on every number type."""
    return x / (1.0 + np.exp(-x))


# %% [markdown]
# The references. Seeding $x + \varepsilon_1 + \varepsilon_2$ over a whole grid gives $f, f', f''$
# at every point in one pass; the bicomplex step $x + h i_1 + h i_2$ gives them again,
# independently. First the two references must agree with each other:

# %%
xs = np.linspace(-20.0, 20.0, 2001)
y = swish(HyperDual(xs, 1.0, 1.0))
ref = (y.real, y.eps1[0], y.eps12[0])

h = 1e-20
z = swish(Bicomplex(xs + 1j * h, h + 0j))
ref_bicomplex = (z.real, z.imag1 / h, z.imag12 / h**2)
for what, a, b in zip(["f", "f'", "f''"], ref, ref_bicomplex):
    assert_close(a, b, np.float64, "exact", f"hyper-dual vs bicomplex, {what}")
print(
    "references agree; largest difference relative to scale:",
    max(relative_error(a, b) for a, b in zip(ref, ref_bicomplex)),
)

# %% [markdown]
# Then the foreign implementation is checked against them with the **exact** tolerance of
# the dtype it computes in:


# %%
def check_swish(foreign, dtype=np.float64):
    values = foreign(xs.astype(dtype))
    for what, actual, desired in zip(["f", "f'", "f''"], values, ref):
        assert_close(actual, desired, dtype, "exact", f"swish {what} ({np.dtype(dtype)})")


check_swish(foreign_swish, np.float64)
check_swish(foreign_swish, np.float32)
print("foreign swish passes in float64 and float32")

# %% [markdown]
# A typical slip: forgetting that the product rule applies twice, so the $2$ becomes $1$.
# The first derivative is still right; the check names the quantity that is wrong:


# %%
def foreign_swish_broken(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return x * s, s + x * s * (1.0 - s), s * (1.0 - s) * (1.0 + x * (1.0 - 2.0 * s))


print(caught(check_swish, foreign_swish_broken))

# %% [markdown]
# ## 2. Softmax + cross-entropy: gradient and Hessian-vector product
#
# The workhorse of classification. For logits $z \in \mathbb{R}^{N\times C}$ and labels $y$,
#
# $$L(z) = -\frac1N\sum_n \log \operatorname{softmax}(z_n)_{y_n}, \qquad
#   \nabla L = \frac{p - \operatorname{onehot}(y)}{N}, \qquad
#   \nabla^2L\,u = \frac{p\odot u - p\,(p^\top u)}{N}\ \text{(row by row)},$$
#
# with $p_n = \operatorname{softmax}(z_n)$. A fused kernel would implement the last two
# directly. Our foreign backend:


# %%
def foreign_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def foreign_grad(z, labels):
    N, C = z.shape
    return (foreign_softmax(z) - np.eye(C, dtype=z.dtype)[labels]) / N


def foreign_hvp(z, labels, u):
    p = foreign_softmax(z)
    return (p * u - p * np.sum(p * u, axis=1, keepdims=True)) / z.shape[0]


# %% [markdown]
# **The reference.** The specification is the library's `CrossEntropy` (a composition of
# `log_softmax`, `take_along_axis` and `mean`), seen as a function of the flattened logits.
# One hyper-dual pass with the $NC$ pairs $(u, e_i)$ gives *both* quantities at once: the
# $\varepsilon_2$ parts are $\nabla L\cdot e_i$ — the gradient — and the
# $\varepsilon_1\varepsilon_2$ parts are $u^\top\nabla^2L\,e_i$ — the Hessian-vector product. The
# bicomplex step confirms both.

# %%
ce = CrossEntropy()


def compare(actual, desired, dtype, kind, what, floor=0.0):
    """``assert_close``; with a ``floor``, errors are measured relative to
    ``max(max|desired|, floor)`` instead of ``max|desired|`` (section 5 explains when)."""
    if floor == 0.0:
        return assert_close(actual, desired, dtype, kind, what)
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    if np.any(np.isfinite(desired) & ~np.isfinite(actual)):
        raise AssertionError(f"{what}: non-finite values where the reference is finite")
    error = np.max(np.abs(actual - desired)) / max(np.max(np.abs(desired)), floor)
    if not error <= tolerance(dtype, kind):
        raise AssertionError(
            f"{what}: error {error:.3e} relative to the scale "
            f"{max(np.max(np.abs(desired)), floor):.2g} exceeds "
            f"{tolerance(dtype, kind):.1e} ({np.dtype(dtype)}, {kind})"
        )


def reference(z, labels, u, floor=False):
    """(∇L, ∇²L u) at the logits z (N, C), in float64, confirmed by the bicomplex step."""
    N, C = z.shape
    z, u = z.astype(np.float64), u.astype(np.float64)

    def loss(flat):
        return ce.value(flat.reshape(N, C), labels)

    basis = np.eye(N * C)
    _, _, grad, hv = hd.directional(loss, z.ravel(), u.ravel(), basis)
    _, _, hv_bicomplex = hd.bicomplex_directional(loss, z.ravel(), u.ravel(), basis)
    grad_floor, hv_floor = (1 / N, np.max(np.abs(u)) / N) if floor else (0.0, 0.0)
    compare(
        hv, hv_bicomplex, np.float64, "exact", "reference Hv: hyper-dual vs bicomplex", hv_floor
    )
    compare(
        grad,
        hd.bicomplex_gradient(loss, z.ravel()),
        np.float64,
        "exact",
        "reference gradient: hyper-dual vs bicomplex",
        grad_floor,
    )
    return grad.reshape(N, C), hv.reshape(N, C)


# %% [markdown]
# **The harness**: random batch sizes (including $N = 1$), random numbers of classes, logits
# of a chosen scale, random directions — the foreign code in the dtype under test, the
# reference always in float64.


# %%
def check_softmax_ce(
    grad_fn,
    hvp_fn,
    dtype=np.float64,
    trials=25,
    scale=3.0,
    seed=1,
    kinds=("exact", "exact"),
    floor=False,
):
    """Compare a foreign gradient and Hv with the reference at random points.

    kinds: the tolerance kinds for the gradient and Hv; floor: see section 5.
    """
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        N, C = int(rng.integers(1, 6)), int(rng.integers(2, 8))
        z = scale * rng.normal(size=(N, C))
        labels = rng.integers(0, C, size=N)
        u = rng.normal(size=(N, C))
        grad_ref, hv_ref = reference(z, labels, u, floor)
        grad_floor, hv_floor = (1 / N, np.max(np.abs(u)) / N) if floor else (0.0, 0.0)
        zd, ud = z.astype(dtype), u.astype(dtype)
        compare(
            grad_fn(zd, labels),
            grad_ref,
            dtype,
            kinds[0],
            f"gradient, trial {trial} (N={N}, C={C}, {np.dtype(dtype)})",
            grad_floor,
        )
        compare(
            hvp_fn(zd, labels, ud),
            hv_ref,
            dtype,
            kinds[1],
            f"Hessian-vector product, trial {trial} (N={N}, C={C}, {np.dtype(dtype)})",
            hv_floor,
        )


for dtype in (np.float64, np.float32):
    check_softmax_ce(foreign_grad, foreign_hvp, dtype)
    print(f"foreign softmax-CE passes in {np.dtype(dtype)} (rtol {tolerance(dtype, 'exact'):.0e})")

# %% [markdown]
# ## 3. A broken backend: the wrong softmax second derivative
#
# The Jacobian of softmax is $\operatorname{diag}(p) - pp^\top$. Keeping only its diagonal,
# $p\odot(1-p)$, is a classic mistake (it is what you get by differentiating each
# $p_k$ "with respect to its own logit" only). The gradient is untouched — every gradient
# check passes — but the Hessian-vector product is wrong:


# %%
def broken_hvp(z, labels, u):
    p = foreign_softmax(z)
    return p * (1.0 - p) * u / z.shape[0]  # BUG: drops the -p pᵀ coupling


print(caught(check_softmax_ce, foreign_grad, broken_hvp))

# %% [markdown]
# Gradient-only testing would never have found it. Any second-order method built on it — a
# Newton-CG step, a Gauss-Newton preconditioner — would silently use the wrong curvature.
#
# ## 4. Why tight tolerances: a bug of size $10^{-8}$
#
# Another common "fix": an epsilon in a denominator "for stability", here in the softmax of a
# fused Hessian-vector kernel. It biases every probability by a relative $10^{-8}$ or less:


# %%
def epsilon_hvp(z, labels, u):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / (e.sum(axis=1, keepdims=True) + 1e-8)  # BUG: biased probabilities
    return (p * u - p * np.sum(p * u, axis=1, keepdims=True)) / z.shape[0]


# %% [markdown]
# Judged with the tolerance one would allow a **finite-difference** reference it passes, and
# in float32 it hides below rounding. Against the exact float64 reference it is caught:

# %%
print("float64 tolerances (rtol):", {k: v for k, v in TOLERANCES[np.dtype(np.float64)].items()})

check_softmax_ce(foreign_grad, epsilon_hvp, np.float64, kinds=("fd_first", "fd_second"))
check_softmax_ce(foreign_grad, epsilon_hvp, np.float32)  # below float32 rounding
print("finite-difference tolerance: passes; float32: passes.   Exact float64 reference:")
print(caught(check_softmax_ce, foreign_grad, epsilon_hvp, np.float64))

# %% [markdown]
# This is the point of an *exact* reference: finite differences cannot tell a $10^{-8}$ bug
# from their own truncation and cancellation error (notebook 2); against hyper-dual and
# bicomplex results, anything above about $10^{-11}$ shows.
#
# ## 5. Hard inputs: large logits
#
# The textbook softmax $e^{z}/\sum e^{z}$ without the max-shift passes every ordinary test:


# %%
def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def naive_grad(z, labels):
    N, C = z.shape
    return (naive_softmax(z) - np.eye(C, dtype=z.dtype)[labels]) / N


def naive_hvp(z, labels, u):
    p = naive_softmax(z)
    return (p * u - p * np.sum(p * u, axis=1, keepdims=True)) / z.shape[0]


check_softmax_ce(naive_grad, naive_hvp, np.float64, scale=3.0)
print("naive softmax, ordinary logits: passes")

# %% [markdown]
# Large logits occur in real training, so they belong in the test domain. But first a
# surprise: there, the **references themselves** stop agreeing to 16 digits. Take one sample,
# two classes, logits $(g, 0)$ with a gap $g$. With $\delta = \sigma(-g)$ the exact answer is
# $\nabla^2L\,u = \delta(1-\delta)(u_1 - u_2)\,(1, -1)$, which we can evaluate accurately:

# %%
u_pair, label = np.array([[0.3, -1.1]]), np.array([0])
print(
    f"{'gap':>4} {'Hv (exact)':>12} {'hyper-dual rel. err':>20} {'bicomplex rel. err':>19}"
    f" {'abs. err':>9}"
)
for gap in [5.0, 20.0, 30.0]:
    z_pair = np.array([[gap, 0.0]])
    delta = 1.0 / (1.0 + np.exp(gap))
    exact = delta * (1 - delta) * (u_pair[0, 0] - u_pair[0, 1]) * np.array([1.0, -1.0])
    loss = lambda flat: ce.value(flat.reshape(1, 2), label)
    hv = hd.directional(loss, z_pair.ravel(), u_pair.ravel(), np.eye(2))[3]
    hv_bc = hd.bicomplex_directional(loss, z_pair.ravel(), u_pair.ravel(), np.eye(2))[2]
    print(
        f"{gap:4.0f} {exact[0]:12.3e} {relative_error(hv, exact):20.1e} "
        f"{relative_error(hv_bc, exact):19.1e} {np.max(np.abs(hv - exact)):9.1e}"
    )
    assert np.max(np.abs(hv - exact)) < 1e-15 and np.max(np.abs(hv_bc - exact)) < 1e-15

# %% [markdown]
# The *relative* error grows with the gap, the *absolute* error stays at rounding level
# ($\approx 10^{-17}$). The specification computes $\log\sum e^{z}$ and differentiates it;
# its second derivative comes out as $p_1 - p_1^2$ with $p_1 \approx 1$ — a tiny number obtained
# by cancelling numbers of size 1. Both references evaluate the same specification, so both
# inherit that cancellation (so does the foreign kernel's $p\odot u - p\,(p^\top u)$). Two
# independent *methods* do not protect you from the conditioning of the *formula*.
#
# The fix is to measure errors against the right scale: the gradient is built from numbers of
# size $1/N$ and the Hessian-vector product from numbers of size $\max|u|/N$. With that
# `floor` (the `compare` helper of section 2) the references agree again, the stable foreign
# backend passes at any scale of logits, and the naive one is still caught: its $e^{z}$
# overflows for $z > 709$ in float64 and $z > 88$ in float32, and a non-finite value where
# the reference is finite is always an error.

# %%
with np.errstate(over="ignore", invalid="ignore"):
    print(
        "naive, float32, logits of scale 100: ",
        caught(check_softmax_ce, naive_grad, naive_hvp, np.float32, scale=100.0, floor=True),
    )
    print(
        "naive, float64, logits of scale 1000:",
        caught(check_softmax_ce, naive_grad, naive_hvp, np.float64, scale=1000.0, floor=True),
    )

check_softmax_ce(foreign_grad, foreign_hvp, np.float64, scale=1000.0, floor=True)
check_softmax_ce(foreign_grad, foreign_hvp, np.float32, scale=100.0, floor=True)
print("stable foreign backend, logits of scale 100 (float32) and 1000 (float64): passes")

# %% [markdown]
# ## 6. Whole models across frameworks: the exchange format
#
# So far the foreign code was a function we could call from Python. A PyTorch or JAX model, or
# a GPU kernel, lives elsewhere: it needs the problem handed over as files, and its answers
# handed back the same way. That is the exchange format of `hyperlab.oracle`
# (`docs/oracle-format.md`):
#
# * a **case** — `case.json` (model description, parameter layout, sizes, what to compute)
#   and `case.npz` (θ, a batch with integer labels, the directions);
# * **results** — `results.json` (who computed them, in which dtype) and `results.npz`
#   (`loss`, `grad`, `dir_d1/d2/d12`, the FoMoH-KD `kd_g` and `kd_H`, `hvp`, `hessian`).
#
# `compute_reference` answers a case with hyper-dual numbers and cross-checks every quantity
# with the bicomplex step on the spot; `compare_results` (`fomoh oracle compare CASE RESULTS`
# on the command line) prints one row per quantity. The round trip, on a small logistic
# regression:

# %%
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hyperlab import oracle  # noqa: E402
from layers import models  # noqa: E402

workdir = Path(tempfile.mkdtemp())
model = models.logistic_regression(n_features=6, n_classes=4)
case = oracle.make_case(
    workdir / "case", model, batch=5, pairs=2, kd=3, hvp=2, hessian=True, seed=0
)
print("case files:", sorted(p.name for p in case.path.iterdir()))
print("asks for:", case.quantities)
reference_results = oracle.compute_reference(case, case.path / "reference")
checks = reference_results.meta["cross_check"]["checks"]
print(
    f"reference: {len(checks)} cross-checks, all agree: "
    f"{reference_results.meta['cross_check']['all_agree']}, worst relative error "
    f"{max(c['rel_error'] for c in checks):.1e}"
)

# %% [markdown]
# The "other backend": logistic regression in closed form with NumPy, reading the case's
# arrays and its parameter layout (θ = the weight `(out, in)` in C order, then the bias), and
# optionally carrying the bug of section 3 — the diagonal-only softmax Jacobian.


# %%
def numpy_backend(case, diagonal_softmax_jacobian=False):
    """Every quantity of a one-Dense-layer case, in closed form."""
    a = case.arrays
    (layer,) = case.meta["model"]["layers"]
    n_out, n_in = layer["out_features"], layer["in_features"]
    x, labels, N = a["x"], a["y"], len(a["y"])

    def unpack(t):
        return t[: n_out * n_in].reshape(n_out, n_in), t[n_out * n_in :]

    W, b = unpack(a["theta"])
    p = foreign_softmax(x @ W.T + b)

    def hv(v):  # H v through the softmax Jacobian
        dW, db = unpack(v)
        dz = x @ dW.T + db
        if diagonal_softmax_jacobian:
            dp = p * (1 - p) * dz  # BUG of section 3
        else:
            dp = p * dz - p * np.sum(p * dz, axis=1, keepdims=True)
        return np.concatenate([(dp.T @ x).ravel(), dp.sum(axis=0)]) / N

    r = p - np.eye(n_out)[labels]
    g = np.concatenate([(r.T @ x).ravel(), r.sum(axis=0)]) / N
    H = np.stack([hv(e) for e in np.eye(g.size)])
    return {
        "loss": -np.mean(np.log(p[np.arange(N), labels])),
        "grad": g,
        "dir_d1": a["v1"] @ g,
        "dir_d2": a["v2"] @ g,
        "dir_d12": np.einsum("pd,de,pe->p", a["v1"], H, a["v2"]),
        "kd_g": a["V"] @ g,
        "kd_H": a["V"] @ H @ a["V"].T,
        "hvp": a["hvp_v"] @ H,
        "hessian": H,
    }


# %% [markdown]
# Both versions write their results in the format; the comparison is done from the files,
# with the tolerance of the dtype the backend declares:

# %%
for bug in (False, True):
    path = oracle.write_results(
        workdir / f"numpy-bug-{bug}",
        case,
        numpy_backend(case, diagonal_softmax_jacobian=bug),
        backend=f"numpy closed form (bug: {bug})",
        dtype="float64",
    )
    comparison = oracle.compare_results(case, oracle.read_results(path, case), reference_results)
    print(comparison.table(), end="\n\n")
assert [row.quantity for row in comparison.failures] == ["dir_d12", "kd_H", "hvp", "hessian"]
shutil.rmtree(workdir)

# %% [markdown]
# The correct backend agrees to rounding; the broken one passes every first-order row and
# fails exactly the four second-order ones. From the shell the same round trip is
#
# ```bash
# fomoh oracle make-case case --model mlp --model-arg hidden=8 --hessian
# fomoh oracle reference case
# python -m hyperlab.oracle.adapters.oracle_torch case   # or .oracle_jax: torch.func / nested
# jax.jvp fomoh oracle compare case case/torch-float64  # exit status 1 on any disagreement
# ```

# %% [markdown]
# ## Summary: a checklist for testing a derivative backend
#
# | step | tool |
# |---|---|
# | write the function once with NumPy operations | the specification |
# | reference gradient, $Hv$, $v_1^\top H v_2$, $K\times K$ or full Hessian | `hd.directional`, `hd.gradient`, `hd.hvp`, `hd.projected_hessian`, `hd.hessian` |  # noqa: E501
# | confirm the reference independently | `hd.bicomplex_directional`, `hd.bicomplex_gradient`, `hd.bicomplex_hessian`, or all at once `hd.compare` |  # noqa: E501
# | compare with the right tolerance | `hyperdual.testing.assert_close(actual, desired, dtype, kind)` |  # noqa: E501
# | …relative to the right scale | a floor where results cancel (saturated softmax) |
# | random points, random directions, small and odd shapes, every dtype | a seeded loop |
# | a whole model in another framework | `fomoh oracle` cases and results (section 6) |
# | hard inputs: large magnitudes, kinks, ties | a test domain per function |
#
# The results here: a correct backend passes in float64 and float32; a wrong second
# derivative is caught although every gradient is right; a $10^{-8}$ bias is caught by the
# exact tolerance and hidden by a finite-difference one; an overflow is caught as soon as the
# test domain includes large logits — where errors must be measured against the scale of the
# numbers a result is computed from, not against the (tiny) result itself.
#
# ## Exercises
#
# **Try it 1:** write `foreign_hvp` for the mean squared error $L(z) = \operatorname{mean}
# ((z - t)^2)$ and check it with `layers.MeanSquaredError` as the specification.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** over the $NC$ entries,
# $\nabla L = 2(z - t)/(NC)$ and $\nabla^2 L = 2I/(NC)$, so $\nabla^2L\,u = 2u/(NC)$. The
# reference: one hyper-dual pass over the pairs $(u, e_i)$ on the flattened outputs, confirmed
# by the bicomplex step, as in section 2.

# %% tags=["solution"]
from layers import MeanSquaredError  # noqa: E402

mse_spec = MeanSquaredError()


def foreign_mse_grad(z, t):
    return 2.0 * (z - t) / z.size


def foreign_mse_hvp(z, t, u):
    return 2.0 * u / z.size


rng_mse = np.random.default_rng(2)
for trial in range(10):
    N, C = int(rng_mse.integers(1, 6)), int(rng_mse.integers(1, 8))
    z, t, u = rng_mse.normal(size=(3, N, C))
    loss = lambda flat: mse_spec.value(flat.reshape(N, C), t)  # noqa: B023
    _, _, grad_ref, hv_ref = hd.directional(loss, z.ravel(), u.ravel(), np.eye(N * C))
    _, _, hv_bicomplex = hd.bicomplex_directional(loss, z.ravel(), u.ravel(), np.eye(N * C))
    assert_close(hv_ref, hv_bicomplex, np.float64, "exact", "reference Hv vs bicomplex")
    assert_close(
        foreign_mse_grad(z, t), grad_ref.reshape(N, C), np.float64, "exact", f"MSE gradient {trial}"
    )
    assert_close(
        foreign_mse_hvp(z, t, u), hv_ref.reshape(N, C), np.float64, "exact", f"MSE Hv {trial}"
    )
print("foreign MSE gradient and Hessian-vector product pass 10 random trials")
assert np.allclose(foreign_mse_hvp(z, t, u), mse_spec.hessian_vector(z, t, u))

# %% [markdown]
# **Try it 2:** a common slip in a fused kernel is to normalise by the batch size only,
# $1/N$, where the loss is a mean over all $NC$ entries (or to forget the normalisation
# altogether). Write such a `foreign_mse_grad` and check that the harness of Try it 1 catches
# it — except in the one shape where the slip is harmless.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** with $1/N$ instead of $1/(NC)$ the gradient is $C$ times too large: caught for
# every $C > 1$, invisible for $C = 1$, where the two normalisations coincide — another reason
# to test random shapes, including odd ones.


# %% tags=["solution"]
def slipped_mse_grad(z, t):
    return 2.0 * (z - t) / z.shape[0]  # BUG: 1/N instead of 1/(N·C)


def check_mse_grad(grad_fn, N, C, seed=3):
    z, t = np.random.default_rng(seed).normal(size=(2, N, C))
    reference_grad = hd.gradient(lambda flat: mse_spec.value(flat.reshape(N, C), t), z.ravel())
    assert_close(
        grad_fn(z, t),
        reference_grad.reshape(N, C),
        np.float64,
        "exact",
        f"MSE gradient, N={N}, C={C}",
    )


print(caught(check_mse_grad, slipped_mse_grad, 4, 3))
check_mse_grad(slipped_mse_grad, 4, 1)  # C = 1: the slip is invisible
assert caught(check_mse_grad, slipped_mse_grad, 2, 5).startswith("MSE gradient")

# %% [markdown]
# Next: [11b. The ONNX oracle: exact references for an exported model](11b_onnx_oracle.ipynb).
