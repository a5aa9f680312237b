# %% [markdown]
# # 2. Checking derivatives
#
# How do we know the hyper-dual numbers of notebook 1 are right? By computing the same
# derivatives in ways that share **no code** with them. This notebook compares four methods:
#
# | method | first derivative | second derivative | step $h$? |
# |---|---|---|---|
# | central finite differences | $\dfrac{f(x+h) - f(x-h)}{2h}$ | $\dfrac{f(x+h) - 2f(x) + f(x-h)}{h^2}$ | yes, and it matters |  # noqa: E501
# | complex step | $\dfrac{\operatorname{Im} f(x + ih)}{h}$ | — | yes, any tiny $h$ works |
# | bicomplex step | $\dfrac{\operatorname{Im}_{i_1} f(x + h i_1 + h i_2)}{h}$ | $\dfrac{\operatorname{Im}_{i_1 i_2} f(x + h i_1 + h i_2)}{h^2}$ | yes, any tiny $h$ works |  # noqa: E501
# | hyper-dual | `eps1` of $f(x + \varepsilon_1 + \varepsilon_2)$ | `eps12` | **no step at all** |
#
# and shows, with one plot, why a finite difference can never be trusted to more than a few
# digits while the others are exact to rounding — in float64 and in float32.

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperdual as hd
from hyperdual import Bicomplex, HyperDual
from hyperdual.oracles import default_fd_step
from hyperdual.testing import TOLERANCES, assert_close, relative_error

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. One function, known derivatives
#
# The worked example of notebook 1, $f(x) = e^x / \sqrt{\sin^3 x + \cos^3 x}$ at $x = 1.5$,
# whose derivatives we know to 16 digits. The *same* Python function will be called with
# floats, complex numbers, bicomplex numbers and hyper-dual numbers.


# %%
def f(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


X0 = 1.5
F0, F1, F2 = 4.497780053946162, 4.053427893898621, 9.463073681596601  # f, f', f''

# %% [markdown]
# ## 2. Finite differences: truncation against cancellation
#
# Taylor's theorem gives the central difference's **truncation error**:
#
# $$\frac{f(x+h) - f(x-h)}{2h} = f'(x) + \frac{h^2}{6} f'''(x) + O(h^4).$$
#
# So make $h$ small? No: $f(x \pm h)$ are each stored with a relative rounding error of about
# $\epsilon_{\rm mach}$ (machine epsilon: $2.2\times10^{-16}$ in float64, $1.2\times10^{-7}$ in
# float32), and subtracting two nearly equal numbers keeps their *absolute* error while the
# difference shrinks. The **cancellation error** is about $\epsilon_{\rm mach} |f| / h$. The total
#
# $$\text{error}(h) \approx \frac{h^2}{6}|f'''| + \frac{\epsilon_{\rm mach} |f|}{h}$$
#
# is smallest near $h \sim \epsilon_{\rm mach}^{1/3}$ with an error
# $\sim \epsilon_{\rm mach}^{2/3}$: about $10^{-11}$ in float64 and only $10^{-5}$ in float32. For
# the second difference it is worse: cancellation $\sim \epsilon_{\rm mach}/h^2$, best
# $h \sim \epsilon_{\rm mach}^{1/4}$, best error $\sim \epsilon_{\rm mach}^{1/2}$.


# %%
def central_first(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def central_second(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / (h * h)


for h in [1e-2, 1e-5, 1e-8, 1e-11]:
    print(f"h = {h:.0e}:  f' ≈ {central_first(f, X0, h):.15f}   (exact {F1:.15f})")

# %% [markdown]
# ## 3. The complex step: no subtraction
#
# For an analytic $f$ and real $x$, Taylor's series in the imaginary direction is
#
# $$f(x + ih) = f(x) + ih f'(x) - \frac{h^2}{2} f''(x) - \frac{ih^3}{6} f'''(x) + \dots$$
#
# so $\operatorname{Im} f(x+ih)/h = f'(x) - h^2 f'''(x)/6 + \dots$ — **nothing is
# subtracted**. Take $h = 10^{-20}$: the truncation error $10^{-40}$ vanishes and there is no
# cancellation. The only demand on $f$: it must accept complex input and be analytic there.


# %%
def complex_step_first(f, x, h, dtype=np.complex128):
    return f(dtype(x + 1j * h)).imag / h


print(f"complex step, h = 1e-20:  f' ≈ {complex_step_first(f, X0, 1e-20):.15f}")
assert abs(complex_step_first(f, X0, 1e-20) - F1) <= 4 * np.finfo(np.float64).eps * F1

# %% [markdown]
# The complex step has no second derivative for free. The *real* part gives one,
# $f''(x) \approx 2\,[f(x) - \operatorname{Re} f(x + ih)]/h^2$ — but that formula subtracts
# again, and cancellation is back (we plot it below).
#
# ## 4. The bicomplex step: two imaginary units
#
# The cure mirrors the step from dual to hyper-dual numbers: use **two** imaginary units
# $i_1, i_2$ with $i_1^2 = i_2^2 = -1$ and $i_1 i_2 = i_2 i_1$. Then
#
# $$f(x + h i_1 + h i_2) = \dots + h f'(x)\, i_1 + h f'(x)\, i_2 + h^2 f''(x)\, i_1 i_2 + O(h^3)$$
#
# and $f''(x) = \operatorname{Im}_{i_1 i_2} f(\cdot) / h^2$ with a relative error $O(h^2)$ and
# no subtraction — *provided* every elementary function of a bicomplex number is evaluated
# with its own cancellation-free formula. That is what `hyperdual.Bicomplex` implements (one
# closed form per function, none taken from the hyper-dual rule table). It stores
# $z_1 + z_2 i_2$ with complex $z_1, z_2$; the parts are `real, imag1, imag2, imag12`.


# %%
def bicomplex_step_second(f, x, h, dtype=np.complex128):
    y = f(Bicomplex(dtype(x + 1j * h), dtype(h)))  # x + h i1 + h i2
    return y.imag12 / (h * h)


y = f(Bicomplex(X0 + 1e-20j, 1e-20))
print("f  =", y.real, "\nf' =", y.imag1 / 1e-20, "\nf''=", y.imag12 / 1e-40)
assert np.allclose([y.real, y.imag1 / 1e-20, y.imag12 / 1e-40], [F0, F1, F2], rtol=1e-15, atol=0)

# %% [markdown]
# ## 5. Error against step size, float64 and float32
#
# Now sweep $h$ from $10^{-1}$ down to $10^{-30}$ and compute each method in both precisions
# (float32 uses complex64 for the complex and bicomplex steps). The hyper-dual numbers have no
# $h$, so they are horizontal lines.

# %%
steps = 10.0 ** -np.arange(1.0, 30.01, 0.5)


def rel_err(approx, exact):
    return abs(float(approx) - exact) / abs(exact)


errors = {}
with np.errstate(all="ignore"):  # tiny h underflows to 0/0 in float32: NaN, on purpose
    for real, cplx in [(np.float32, np.complex64), (np.float64, np.complex128)]:
        x = real(X0)
        e = {
            name: []
            for name in [
                "FD first",
                "complex step first",
                "FD second",
                "complex step second",
                "bicomplex second",
            ]
        }
        for h in steps:
            h = real(h)
            e["FD first"].append(rel_err(central_first(f, x, h), F1))
            e["FD second"].append(rel_err(central_second(f, x, h), F2))
            e["complex step first"].append(rel_err(complex_step_first(f, x, h, cplx), F1))
            z = f(cplx(x + 1j * h))
            e["complex step second"].append(rel_err(2 * (f(x) - z.real) / (h * h), F2))
            e["bicomplex second"].append(rel_err(bicomplex_step_second(f, x, h, cplx), F2))
        y = f(HyperDual(x, 1.0, 1.0))
        assert y.real.dtype == real  # float32 in, float32 all the way
        e["hyper-dual first"] = rel_err(y.eps1.item(), F1)
        e["hyper-dual second"] = rel_err(y.eps12.item(), F2)
        errors[np.dtype(real).name] = {k: np.array(v) for k, v in e.items()}

for dtype, e in errors.items():
    print(
        f"{dtype}: best FD first {np.nanmin(e['FD first']):.1e}, "
        f"best FD second {np.nanmin(e['FD second']):.1e}, "
        f"hyper-dual {e['hyper-dual first']:.1e} / {e['hyper-dual second']:.1e}"
    )

# %%
FLOOR = 1e-17  # an error of exactly 0 is drawn here so it shows on a log scale
ORDERS = {
    "first": ["FD first", "complex step first"],
    "second": ["FD second", "complex step second", "bicomplex second"],
}
# one y-range per row, from the floor to above the largest finite error in either precision
top = {
    order: 10 * max(np.nanmax(errors[dtype][name]) for dtype in errors for name in names)
    for order, names in ORDERS.items()
}
fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True, sharey="row")
for col, dtype in enumerate(["float64", "float32"]):
    e, eps = errors[dtype], np.finfo(dtype).eps
    for row, order in enumerate(["first", "second"]):
        ax = axes[row, col]
        for name in ORDERS[order]:
            ax.loglog(steps, np.maximum(e[name], FLOOR), ".-", label=name)
        ax.axhline(
            max(e[f"hyper-dual {order}"], FLOOR),
            color="k",
            lw=2,
            label=f"hyper-dual {order} (no h)",
        )
        ax.axhline(eps, color="gray", lw=0.8, ls=":")
        ax.axvline(eps ** (1 / 3 if order == "first" else 1 / 4), color="gray", lw=0.8, ls="--")
        ax.set_title(f"{order} derivative, {dtype}")
        ax.set_ylim(FLOOR / 3, top[order])
        if row == 1:
            ax.set_xlabel("step h")
        if col == 0:
            ax.set_ylabel("relative error")
        if col == 1:
            ax.legend(fontsize=8, loc="lower left" if row == 0 else "upper right")
fig.suptitle("Error against step size (dotted: machine epsilon; dashed: the best FD step)")
fig.tight_layout()
plt.show()

# %% [markdown]
# What the plot shows:
#
# * **Finite differences** draw a **V**: right of the dashed line the truncation error grows
#   like $h^2$; left of it the cancellation error grows like $1/h$ (first derivative) or
#   $1/h^2$ (second), until $x \pm h = x$ and the difference is 0 (error 1). The best cases printed
#   above match the estimates $\epsilon_{\rm mach}^{2/3}$ and $\epsilon_{\rm mach}^{1/2}$: about
#   $10^{-11}$ for $f'$ and $10^{-8}$ for $f''$ in float64, but only $10^{-5}$ and $10^{-4}$ in
#   float32.
# * The **complex step** falls like $h^2$ as $h$ shrinks and then stays **flat at machine
#   precision** for every smaller $h$: there is nothing to cancel.
# * The complex step's **second** derivative subtracts, so it has a V too — a steep one:
#   $f(x) - \operatorname{Re} f(x + ih)$ is a rounding-level difference divided by $h^2$, so
#   in float64 its error keeps growing like $1/h^2$, far off the top of the first row's
#   scale (each row has its own scale, from $10^{-17}$ to above its largest error). In float32
#   the difference is exactly 0 for all small $h$ (error 1).
# * The **bicomplex step** is flat for $f''$ — until, in float32, $h^2$ underflows
#   (below $\approx 10^{-19}$, $h^2 < 10^{-38}$) and the result is garbage or NaN. In float64
#   that happens only below $h \approx 10^{-154}$. (This is why the library's oracles always
#   compute in float64, whatever the dtype of the result they check.)
# * **Hyper-dual numbers** need no $h$ and are exact to rounding in either precision.
#
# The same statements as checks:

# %%
e64, e32 = errors["float64"], errors["float32"]
tiny = steps <= 1e-8

# Finite differences: a V with a best value far above machine precision.
assert 1e-12 < np.nanmin(e64["FD first"]) < 1e-9 and 1e-9 < np.nanmin(e64["FD second"]) < 1e-6
assert e64["FD first"][steps == 1e-13][0] > 1e-4  # too small an h: cancellation
assert np.nanmin(e32["FD first"]) > 1e-6 and np.nanmin(e32["FD second"]) > 1e-5
# The complex step: flat at machine precision for every tiny h.
assert np.all(e64["complex step first"][tiny] < 2 * np.finfo(np.float64).eps)
assert np.all(e32["complex step first"][tiny] < 2 * np.finfo(np.float32).eps)
assert np.nanmin(e64["complex step second"]) > 1e-9  # the subtraction comes back
# The bicomplex step: flat in float64; in float32 only while h² does not underflow.
assert np.all(e64["bicomplex second"][tiny] < 4 * np.finfo(np.float64).eps)
assert np.all(e32["bicomplex second"][tiny & (steps >= 1e-18)] < 4 * np.finfo(np.float32).eps)
assert not np.all(e32["bicomplex second"][steps <= 1e-22] < 1e-3)
# Hyper-dual numbers: exact to rounding, no step.
assert e64["hyper-dual first"] < 4e-16 and e64["hyper-dual second"] < 4e-16
assert e32["hyper-dual first"] < 4e-7 and e32["hyper-dual second"] < 4e-7

# %% [markdown]
# ## 6. The library's oracles, for functions of many variables
#
# `hyperdual.oracles` (also exported as `hd.fd_gradient`, `hd.cs_gradient`, …) packages these
# formulas for $F:\mathbb{R}^D\to\mathbb{R}$ — with none of the hyper-dual code:
#
# | oracle | gradient | Hessian | directional |
# |---|---|---|---|
# | central differences | `fd_gradient` ($2D$ calls) | `fd_hessian` ($\approx 2D^2$ calls) | `fd_directional` |  # noqa: E501
# | complex step | `cs_gradient` ($D$ complex calls) | — | `cs_directional` |
# | bicomplex step | `bicomplex_gradient` | `bicomplex_hessian` ($D(D+1)/2$ calls) | `bicomplex_directional` |  # noqa: E501
#
# Default finite-difference steps are the balance points of section 2,
# $\epsilon_{\rm mach}^{1/3}\max(1, |\theta_i|)$ and
# $\epsilon_{\rm mach}^{1/4}\max(1, |\theta_i|)$ — the dashed lines in the plot:

# %%
print(
    "default FD steps at theta = 1.5:",
    default_fd_step(np.array([X0]), 1),
    default_fd_step(np.array([X0]), 2),
)
assert np.isclose(default_fd_step(np.array([X0]), 1)[0], 1.5 * np.finfo(float).eps ** (1 / 3))

# %% [markdown]
# A test function of $D = 5$ variables: a log-sum-exp of linear functions plus a smooth
# penalty, written once with NumPy operations.

# %%
D = 5
A = rng.normal(size=(4, D))
theta = rng.normal(size=D)


def F(theta):
    return np.log(np.sum(np.exp(A @ theta))) + 0.5 * np.sum(np.tanh(theta) ** 2)


grad_hd, H_hd = hd.gradient(F, theta), hd.hessian(F, theta)
grads = {
    "finite differences": hd.fd_gradient(F, theta),
    "complex step": hd.cs_gradient(F, theta),
    "bicomplex step": hd.bicomplex_gradient(F, theta),
}
hessians = {
    "finite differences": hd.fd_hessian(F, theta),
    "bicomplex step": hd.bicomplex_hessian(F, theta),
}
for name, g in grads.items():
    print(f"gradient, {name:18s} relative difference {relative_error(grad_hd, g):.1e}")
for name, H in hessians.items():
    print(f"Hessian,  {name:18s} relative difference {relative_error(H_hd, H):.1e}")

# %% [markdown]
# How close is close enough? `hyperdual.testing` keeps **one tolerance table**, by the dtype
# of the result being checked and the *kind* of reference. References exact to rounding
# (bicomplex, complex step, a closed form) get tight tolerances; finite differences loose
# ones — loose tolerances everywhere would hide bugs in second derivatives.

# %%
for dtype, row in TOLERANCES.items():
    print(f"{str(dtype):8s}", "  ".join(f"{kind} {rtol:.0e}" for kind, rtol in row.items()))

assert_close(grad_hd, grads["bicomplex step"], np.float64, "exact", "gradient vs bicomplex")
assert_close(grad_hd, grads["complex step"], np.float64, "complex_step", "gradient vs CS")
assert_close(grad_hd, grads["finite differences"], np.float64, "fd_first", "gradient vs FD")
assert_close(H_hd, hessians["bicomplex step"], np.float64, "exact", "Hessian vs bicomplex")
assert_close(H_hd, hessians["finite differences"], np.float64, "fd_second", "Hessian vs FD")

# %% [markdown]
# ## 7. All at once: `hd.compare`
#
# `compare(F, theta)` computes the value, gradient, one directional derivative, one mixed
# second derivative $v_1^\top\nabla^2F\,v_2$ and (for small $D$) the Hessian with hyper-dual
# numbers, checks each against every oracle with the right tolerance, and prints a table.

# %%
report = hd.compare(F, theta)
print(report)
assert report.ok

# %% [markdown]
# With a **float32** `theta` the hyper-dual numbers are computed in float32 and checked
# against float64 oracles, with the float32 row of the tolerance table:

# %%
report32 = hd.compare(F, theta.astype(np.float32))
print(report32)
assert report32.ok and report32.dtype == np.float32

# %% [markdown]
# ## 8. A pitfall: the complex step needs an analytic $f$
#
# `np.abs` of a complex number is its *modulus* — a real number. Any imaginary part that
# went in is gone, so the complex step returns a derivative of 0 through `abs` without a
# warning. Hyper-dual numbers (rule table: $|a|' = \operatorname{sign} a$) and bicomplex
# numbers (their own `abs`, by the sign of the real part) are fine, and so are finite
# differences. `compare` exposes the disagreement — here it is the *oracle* that is wrong:


# %%
def G(theta):
    return np.sum(np.abs(theta) ** 3) + np.sum(theta[:-1] * theta[1:])


report = hd.compare(G, theta)
print(report)
assert not report.ok
assert not report.row("gradient", "complex step").ok
assert all(row.ok for row in report.rows if row.method != "complex step")

# %% [markdown]
# That is why several independent oracles are better than one: when two agree with the
# hyper-dual result and one does not, look at what that one assumes.
#
# ## Summary
#
# * Finite differences: simple, work on any function, but their error has a floor
#   ($\sim\epsilon_{\rm mach}^{2/3}$ first, $\sim\epsilon_{\rm mach}^{1/2}$ second) that is terrible
#   in float32.
# * Complex step: exact first derivatives for any tiny $h$; needs an analytic $f$.
# * Bicomplex step: exact second derivatives; needs cancellation-free elementary functions
#   and an $h$ whose square does not underflow.
# * Hyper-dual numbers: exact, no step, any precision — and checked by all of the above.
#
# ## Exercises
#
# **Try it 1:** replace `np.abs` in `G` by `np.sqrt(theta ** 2)` (analytic away from 0) and
# run `compare` again.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** with complex input, $\sqrt{(\theta + ih)^2}
# = \sqrt{\theta^2 + 2i\theta h - h^2} \approx |\theta| + i\,\operatorname{sign}(\theta)\,h$,
# so the complex step now sees the derivative $\operatorname{sign}\theta$ and all methods
# agree (no entry of `theta` is 0).


# %% tags=["solution"]
def G_smooth(theta):
    return np.sum(np.sqrt(theta**2) ** 3) + np.sum(theta[:-1] * theta[1:])


report = hd.compare(G_smooth, theta)
print(report)
assert report.ok and np.all(theta != 0)

# %% [markdown]
# **Try it 2:** how small may $h$ be? Compute $f'(1.5)$ by the complex step and $f''(1.5)$
# by the bicomplex step (section 4) with $h = 10^{-200}$ in float64. Which one survives, and
# why?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the complex step divides $\operatorname{Im} f$ (of size $h$) by $h$: fine as
# long as $h$ itself is a normal float (down to about $10^{-308}$). The bicomplex step divides
# by $h^2 = 10^{-400}$, which underflows to 0: the result is not a number.

# %% tags=["solution"]
h = 1e-200
first = complex_step_first(f, X0, h)
with np.errstate(all="ignore"):
    second = bicomplex_step_second(f, X0, h)
print(f"complex step f' = {first!r} (error {rel_err(first, F1):.1e});  bicomplex f'' = {second!r}")
assert rel_err(first, F1) < 4 * np.finfo(np.float64).eps and not np.isfinite(second)

# %% [markdown]
# Next: [3. From directions to Hessians](03_directions_to_hessians.ipynb).
