# %% [markdown]
# # 1. Dual and hyper-dual numbers, by hand
#
# Forward-mode automatic differentiation carries derivatives *alongside* values through a
# computation. In this notebook we build the number types that do it, from scratch, in a few
# lines of plain Python:
#
# 1. **dual numbers** $a + b\,\varepsilon$ with $\varepsilon^2 = 0$ give first derivatives;
# 2. **hyper-dual numbers**
#    $a + b\,\varepsilon_1 + c\,\varepsilon_2 + d\,\varepsilon_1\varepsilon_2$ give second
#    derivatives;
# 3. writing each function out by hand gets repetitive, and one **generic chain rule** plus a
#    table of $(f, f', f'')$ replaces it — that table is `hyperdual.rules.RULES`;
# 4. the classic worked example $f(x) = e^x / \sqrt{\sin^3 x + \cos^3 x}$ at $x = 1.5$.
#
# Every claim is followed by a check (`assert`). Run the cells top to bottom.

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np

from hyperdual import HyperDual
from hyperdual.rules import RULES
from hyperdual.testing import relative_error

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. Dual numbers: $\varepsilon^2 = 0$
#
# Take a new number $\varepsilon \neq 0$ with $\varepsilon^2 = 0$ (like $i$ with $i^2 = -1$,
# but nilpotent). Arithmetic on $a + b\,\varepsilon$ follows from that one rule:
#
# $$(a + b\varepsilon) + (p + q\varepsilon) = (a + p) + (b + q)\,\varepsilon, \qquad
#   (a + b\varepsilon)(p + q\varepsilon) = ap + (aq + bp)\,\varepsilon + bq\,\varepsilon^2
#   = ap + (aq + bp)\,\varepsilon.$$
#
# The $\varepsilon$-part of a product is exactly the **product rule**. For a smooth function,
# Taylor's series stops after the linear term because $\varepsilon^2 = 0$:
#
# $$f(a + b\varepsilon) = f(a) + f'(a)\,b\,\varepsilon.$$
#
# So evaluating $f$ at $x + 1\,\varepsilon$ returns $f(x) + f'(x)\,\varepsilon$: the value and
# the derivative, exact, in one pass. Here is the whole type:


# %%
class Dual:
    """a + b ε with ε² = 0."""

    def __init__(self, a, b=0.0):
        self.a, self.b = a, b

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.a + other.a, self.b + other.b)

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.a * other.a, self.a * other.b + self.b * other.a)

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"{self.a:.6g} {self.b:+.6g}ε"


def dual_sin(x):
    """sin(a + bε) = sin(a) + cos(a) b ε."""
    return Dual(math.sin(x.a), math.cos(x.a) * x.b)


# %% [markdown]
# Apply it to $f(x) = x^2 \sin x + 3x$, whose derivative is
# $f'(x) = 2x \sin x + x^2 \cos x + 3$:


# %%
def f(x):
    return x * x * dual_sin(x) + 3 * x


x0 = 0.7
y = f(Dual(x0, 1.0))  # seed: dx/dx = 1
print(y)
assert math.isclose(y.a, x0**2 * math.sin(x0) + 3 * x0, rel_tol=1e-15)
assert math.isclose(y.b, 2 * x0 * math.sin(x0) + x0**2 * math.cos(x0) + 3, rel_tol=1e-15)

# %% [markdown]
# No step size, no subtraction, no graph kept in memory: the derivative is computed with the
# same operations as the value, so it is exact up to ordinary rounding.
#
# ## 2. Hyper-dual numbers: two infinitesimals
#
# One $\varepsilon$ cannot hold a second derivative ($\varepsilon^2 = 0$ throws it away).
# A **hyper-dual number** has two nilpotent units whose product is *not* zero:
#
# $$x = a + b\,\varepsilon_1 + c\,\varepsilon_2 + d\,\varepsilon_1\varepsilon_2, \qquad \varepsilon_1^2 = \varepsilon_2^2 = 0, \quad \varepsilon_1\varepsilon_2 = \varepsilon_2\varepsilon_1 \neq 0.$$  # noqa: E501
#
# Multiplying out and dropping every term containing $\varepsilon_1^2$ or $\varepsilon_2^2$:
#
# $$(a + b \varepsilon_1 + c \varepsilon_2 + d \varepsilon_1\varepsilon_2)(p + q \varepsilon_1 + r \varepsilon_2 + s \varepsilon_1\varepsilon_2)  # noqa: E501
#   = ap + (aq + bp)\,\varepsilon_1 + (ar + cp)\,\varepsilon_2 + (as + br + cq + dp)\,\varepsilon_1\varepsilon_2 .$$  # noqa: E501
#
# We call the four parts `real, eps1, eps2, eps12` — the same names the library uses.


# %%
class HD:
    """real + eps1 ε1 + eps2 ε2 + eps12 ε1ε2 with ε1² = ε2² = 0 (scalars only)."""

    def __init__(self, real, eps1=0.0, eps2=0.0, eps12=0.0):
        self.real, self.eps1, self.eps2, self.eps12 = real, eps1, eps2, eps12

    @property
    def parts(self):
        return self.real, self.eps1, self.eps2, self.eps12

    def __add__(self, other):
        other = other if isinstance(other, HD) else HD(other)
        return HD(*(u + v for u, v in zip(self.parts, other.parts)))

    def __neg__(self):
        return HD(*(-u for u in self.parts))

    def __sub__(self, other):
        return self + (-other)

    def __mul__(self, other):
        other = other if isinstance(other, HD) else HD(other)
        a, b, c, d = self.parts
        p, q, r, s = other.parts
        return HD(a * p, a * q + b * p, a * r + c * p, a * s + b * r + c * q + d * p)

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"{self.real:.10g} {self.eps1:+.10g} ε1 {self.eps2:+.10g} ε2 {self.eps12:+.10g} ε1ε2"


# %% [markdown]
# The multiplication table of the units, as a check on the product formula:

# %%
unit1, unit2 = HD(0, 1, 0, 0), HD(0, 0, 1, 0)  # ε1 and ε2
print("ε1·ε1 =", unit1 * unit1)
print("ε1·ε2 =", unit1 * unit2)
assert (unit1 * unit1).parts == (0, 0, 0, 0) and (unit2 * unit2).parts == (0, 0, 0, 0)
assert (unit1 * unit2).parts == (unit2 * unit1).parts == (0, 0, 0, 1)
assert (unit1 * unit2 * unit1).parts == (0, 0, 0, 0)

# %% [markdown]
# Seed $x = x_0 + 1\,\varepsilon_1 + 1\,\varepsilon_2$ and cube it. The result reads
# $x_0^3 + 3x_0^2\,\varepsilon_1 + 3x_0^2\,\varepsilon_2 + 6x_0\,\varepsilon_1\varepsilon_2$: value,
# first derivative (twice) and **second** derivative.

# %%
x0 = 1.3
y = HD(x0, 1.0, 1.0) * HD(x0, 1.0, 1.0) * HD(x0, 1.0, 1.0)
print(y)
assert np.allclose(y.parts, (x0**3, 3 * x0**2, 3 * x0**2, 6 * x0), rtol=1e-15, atol=0)

# %% [markdown]
# ## 3. One function, written out by hand
#
# Polynomials come for free from `+` and `*`. A transcendental function has to be taught.
# For $\sin$, split $x = a + h$ with
# $h = b \varepsilon_1 + c \varepsilon_2 + d \varepsilon_1\varepsilon_2$ and use the angle-addition
# formula. Powers of $h$ stop early:
#
# $$h^2 = 2bc\,\varepsilon_1\varepsilon_2, \qquad h^3 = 0,$$
#
# so $\cos h = 1 - h^2/2 = 1 - bc\,\varepsilon_1\varepsilon_2$ and $\sin h = h$ exactly, and
#
# $$\sin(a + h) = \sin a \cos h + \cos a \sin h
#   = \sin a + \cos a\,(b \varepsilon_1 + c \varepsilon_2 + d \varepsilon_1\varepsilon_2) - \sin a\; bc\; \varepsilon_1\varepsilon_2 .$$  # noqa: E501
#
# This is how Fike's C++ hyper-dual class writes every function — by hand, one at a time:


# %%
def hd_sin(x):
    """sin on a hyper-dual number, written out."""
    a, b, c, d = x.parts
    return HD(math.sin(a), math.cos(a) * b, math.cos(a) * c, math.cos(a) * d - math.sin(a) * b * c)


x0 = 0.9
y = hd_sin(HD(x0, 1.0, 1.0))
print(y)
assert np.allclose(
    y.parts, (math.sin(x0), math.cos(x0), math.cos(x0), -math.sin(x0)), rtol=1e-15, atol=0
)

# %% [markdown]
# **Why two units?** Seed *different* variables with different units: $x = x_0 + \varepsilon_1$,
# $y = y_0 + \varepsilon_2$. Then the $\varepsilon_1\varepsilon_2$ part is the **mixed** partial
# derivative $\partial^2 f / \partial x\,\partial y$. For $f(x, y) = \sin(xy)$:
#
# $$\frac{\partial^2}{\partial x\,\partial y}\sin(xy) = \cos(xy) - xy\,\sin(xy).$$

# %%
x0, y0 = 0.8, -1.7
out = hd_sin(HD(x0, 1.0, 0.0) * HD(y0, 0.0, 1.0))
print(out)
assert math.isclose(out.eps1, y0 * math.cos(x0 * y0), rel_tol=1e-14)  # ∂f/∂x
assert math.isclose(out.eps2, x0 * math.cos(x0 * y0), rel_tol=1e-14)  # ∂f/∂y
assert math.isclose(out.eps12, math.cos(x0 * y0) - x0 * y0 * math.sin(x0 * y0), rel_tol=1e-14)

# %% [markdown]
# ## 4. The generic chain rule replaces the hand-written functions
#
# Nothing in the derivation above was special to $\sin$. For *any* smooth $f$, Taylor's series
# in $h = b \varepsilon_1 + c \varepsilon_2 + d \varepsilon_1\varepsilon_2$ stops after
# $h^2/2 = bc\,\varepsilon_1\varepsilon_2$:
#
# $$f(a + h) = f(a) + f'(a)\,h + \tfrac12 f''(a)\,h^2
#   = f(a) + f'(a)\,b\,\varepsilon_1 + f'(a)\,c\,\varepsilon_2 + \big(f'(a)\,d + f''(a)\,bc\big)\,\varepsilon_1\varepsilon_2 .$$  # noqa: E501
#
# So a function is completely described by three numbers at $a$: $f(a), f'(a), f''(a)$. One
# function applies the rule; each elementary function becomes one line of a table.


# %%
def chain_rule(x, f, df, d2f):
    """f(a + b ε1 + c ε2 + d ε1ε2) from the triple (f(a), f'(a), f''(a))."""
    a, b, c, d = x.parts
    fa, dfa, d2fa = f(a), df(a), d2f(a)
    return HD(fa, dfa * b, dfa * c, dfa * d + d2fa * b * c)


# Our own little table, written from a calculus book: name -> (f, f', f'').
MY_RULES = {
    "sin": (math.sin, math.cos, lambda a: -math.sin(a)),
    "cos": (math.cos, lambda a: -math.sin(a), lambda a: -math.cos(a)),
    "exp": (math.exp, math.exp, math.exp),
    "log": (math.log, lambda a: 1 / a, lambda a: -1 / a**2),
    "sqrt": (math.sqrt, lambda a: 0.5 / math.sqrt(a), lambda a: -0.25 * a**-1.5),
    "reciprocal": (lambda a: 1 / a, lambda a: -1 / a**2, lambda a: 2 / a**3),
    "tanh": (
        math.tanh,
        lambda a: 1 - math.tanh(a) ** 2,
        lambda a: -2 * math.tanh(a) * (1 - math.tanh(a) ** 2),
    ),
}

x = HD(0.9, 0.3, -1.1, 0.25)  # arbitrary parts, not just seeds
by_hand, by_table = hd_sin(x), chain_rule(x, *MY_RULES["sin"])
print(by_hand, "\n", by_table, sep="")
assert np.allclose(by_hand.parts, by_table.parts, rtol=1e-15, atol=0)

# %% [markdown]
# ### The library's table: `hyperdual.rules.RULES`
#
# The library does exactly this. `RULES` maps a name to a function `rule(xp, a)` returning
# the triple `(f(a), f'(a), f''(a))`, written with the array module `xp` (NumPy, or CuPy on a
# GPU) and sharing work between the three values:

# %%
print(len(RULES), "rules:", ", ".join(RULES))
print(inspect.getsource(RULES["sin"]))
print(inspect.getsource(RULES["tanh"]))

# %% [markdown]
# …and **one** generic chain rule, `HyperDual.chain` — the same lines as our `chain_rule`,
# given the triple already evaluated:

# %%
print(inspect.getsource(HyperDual.chain))

# %% [markdown]
# `np.sin(x)` on a library `HyperDual` calls `x.apply(RULES["sin"])`, and `apply` (shared
# with the first-order `Dual`, whose own `chain` drops the second-order part) evaluates the
# rule at the real part and hands the triple to `chain`:

# %%
print(inspect.getsource(HyperDual.apply))

# %% [markdown]
# Check the library against our independently written table, at random points and random
# parts:

# %%
for name, triple in MY_RULES.items():
    ufunc = np.reciprocal if name == "reciprocal" else getattr(np, name)
    for _ in range(5):
        a = rng.uniform(0.2, 2.0)  # inside every function's domain
        b, c, d = rng.normal(size=3)
        ours = chain_rule(HD(a, b, c, d), *triple)
        theirs = ufunc(HyperDual(a, b, c, d))
        got = (theirs.real.item(), theirs.eps1.item(), theirs.eps2.item(), theirs.eps12.item())
        assert np.allclose(got, ours.parts, rtol=1e-13, atol=1e-15), (name, got, ours)
print("library rules agree with the hand-written table:", ", ".join(MY_RULES))

# %% [markdown]
# The library's `HyperDual` holds **arrays**, so one call differentiates at many points at
# once (and the ε-parts get a leading "pair" axis, of length 1 here — notebook 3 uses it).

# %%
xs = np.linspace(0.0, 2.0, 5)
y = np.sin(HyperDual(xs, 1.0, 1.0))
print("real  shape", y.real.shape, " eps1 shape", y.eps1.shape)
assert np.allclose(y.real, np.sin(xs)) and np.allclose(y.eps1[0], np.cos(xs))
assert np.allclose(y.eps12[0], -np.sin(xs))

# %% [markdown]
# ## 5. The classic worked example
#
# The test case from the hyper-dual literature (Fike & Alonso):
#
# $$f(x) = \frac{e^x}{\sqrt{\sin^3 x + \cos^3 x}}, \qquad x = 1.5,$$
#
# with $f = 4.497780053946162$, $f' = 4.053427893898621$, $f'' = 9.463073681596601$.
#
# First with **our** little `HD` class: division is multiplication by the reciprocal, and
# $\exp$, $\cos$, $\sqrt{\cdot}$ and $1/u$ come from our table.


# %%
def worked_example_by_hand(x):
    def apply(name, u):
        return chain_rule(u, *MY_RULES[name])

    s, c = apply("sin", x), apply("cos", x)
    return apply("exp", x) * apply("reciprocal", apply("sqrt", s * s * s + c * c * c))


GOLDEN = (4.497780053946162, 4.053427893898621, 9.463073681596601)  # f, f', f''

y = worked_example_by_hand(HD(1.5, 1.0, 1.0))
print(y)
assert np.allclose((y.real, y.eps1, y.eps12), GOLDEN, rtol=1e-14, atol=0)
assert y.eps1 == y.eps2  # both units were seeded with 1: both carry f'

# %% [markdown]
# Then with the **library**: the function is written with ordinary NumPy calls, and the same
# code runs on floats, arrays and hyper-dual numbers.


# %%
def f(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


y = f(HyperDual(1.5, 1.0, 1.0))
print(y)
values = (y.real.item(), y.eps1.item(), y.eps12.item())
assert np.allclose(values, GOLDEN, rtol=1e-14, atol=0)
assert math.isclose(f(1.5), y.real.item(), rel_tol=1e-15)  # the real part: the plain result
print("relative errors:", [abs(v - g) / g for v, g in zip(values, GOLDEN)])

# %% [markdown]
# The errors are at the level of one rounding step ($\approx 10^{-16}$): hyper-dual
# derivatives have **no truncation error** and **no step size** to choose. Notebook 2 puts
# that next to finite differences and the complex step.
#
# Finally a picture: $f$, $f'$ and $f''$ on a whole grid from **one** call. As an independent
# check, $f'$ must match the slope of $f$ that `np.gradient` measures on the grid (a
# finite difference, so only to about $10^{-3}$ on this grid). `relative_error(actual, desired)`
# from `hyperdual.testing` measures $\max|{\rm actual} - {\rm desired}| / \max|{\rm desired}|$.

# %%
xs = np.linspace(0.0, 2.0, 401)
y = f(HyperDual(xs, 1.0, 1.0))
value, d1, d2 = y.real, y.eps1[0], y.eps12[0]

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(xs, value, label="$f$")
ax.plot(xs, d1, label="$f'$ (eps1)")
ax.plot(xs, d2, label="$f''$ (eps12)")
ax.axvline(1.5, color="gray", lw=0.8, ls=":")
ax.set_xlabel("$x$")
ax.set_title(r"$f(x) = e^x/\sqrt{\sin^3x + \cos^3x}$ and its derivatives")
ax.legend()
plt.show()

inner = slice(1, -1)  # np.gradient is less accurate at the two ends
print("f'  vs slope of f :", relative_error(np.gradient(value, xs)[inner], d1[inner]))
print("f'' vs slope of f':", relative_error(np.gradient(d1, xs)[inner], d2[inner]))
assert relative_error(np.gradient(value, xs)[inner], d1[inner]) < 1e-3
assert relative_error(np.gradient(d1, xs)[inner], d2[inner]) < 1e-3
assert np.allclose(d2[300], GOLDEN[2])  # the grid point xs[300] is x = 1.5

# %% [markdown]
# ## Summary
#
# | idea | where in the library |
# |---|---|
# | four parts `real, eps1, eps2, eps12` | `hyperdual.HyperDual` |
# | product rule for `*`, `@`, `einsum` | `hyperdual.bilinear.bilinear` (with `HyperDual.product`) |
# | one triple $(f, f', f'')$ per function | `hyperdual.rules.RULES` |
# | one generic chain rule | `HyperDual.chain` (called by `apply`) |
#
# Notebook [1b](01b_build_your_own.ipynb) has you write all of this yourself, with tests.
#
# ## Exercises
#
# **Try it 1:** add `"arctan"` to `MY_RULES` (with $f' = 1/(1+a^2)$,
# $f'' = -2a/(1+a^2)^2$) and check it against `np.arctan(HyperDual(...))`.
#
# *Worked solution below (collapsed).*

# %% tags=["solution"]
MY_RULES["arctan"] = (math.atan, lambda a: 1 / (1 + a * a), lambda a: -2 * a / (1 + a * a) ** 2)
ours, theirs = [], []
for _ in range(5):
    a, b, c, d = rng.normal(size=4)
    ours.append(chain_rule(HD(a, b, c, d), *MY_RULES["arctan"]).parts)
    y = np.arctan(HyperDual(a, b, c, d))
    theirs.append((y.real.item(), y.eps1.item(), y.eps2.item(), y.eps12.item()))
    print(HD(*ours[-1]))
assert np.allclose(ours, theirs, rtol=1e-13, atol=1e-15)

# %% [markdown]
# **Try it 2:** with our `HD` class and the table, compute all second partial derivatives of
# $g(x, y) = x^2 y^3 + e^{xy}$ at $(x, y) = (0.6, -1.1)$ — $\partial^2 g/\partial x^2$,
# $\partial^2 g/\partial x\,\partial y$ and $\partial^2 g/\partial y^2$ — by choosing which
# variable gets which unit, and compare with the closed forms
# $g_{xx} = 2y^3 + y^2e^{xy}$, $g_{xy} = 6xy^2 + (1 + xy)\,e^{xy}$,
# $g_{yy} = 6x^2y + x^2e^{xy}$.
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** seed $x$ with $\varepsilon_1$ and $\varepsilon_2$ for $g_{xx}$; $x$ with
# $\varepsilon_1$ and $y$ with $\varepsilon_2$ for $g_{xy}$; $y$ with both for $g_{yy}$.


# %% tags=["solution"]
def g(x, y):
    return x * x * y * y * y + chain_rule(x * y, *MY_RULES["exp"])


x0, y0 = 0.6, -1.1
seeds = {"g_xx": ((1, 1), (0, 0)), "g_xy": ((1, 0), (0, 1)), "g_yy": ((0, 0), (1, 1))}
second = {name: g(HD(x0, *sx), HD(y0, *sy)).eps12 for name, (sx, sy) in seeds.items()}
exact = {
    "g_xx": 2 * y0**3 + y0**2 * math.exp(x0 * y0),
    "g_xy": 6 * x0 * y0**2 + (1 + x0 * y0) * math.exp(x0 * y0),
    "g_yy": 6 * x0**2 * y0 + x0**2 * math.exp(x0 * y0),
}
print(second)
assert all(math.isclose(second[k], exact[k], rel_tol=1e-14) for k in exact)

# %% [markdown]
# Next: [1b. Build it yourself](01b_build_your_own.ipynb) — write these classes yourself,
# with tests; then [2. Checking derivatives](02_checking_derivatives.ipynb) — how else could we
# have computed these numbers, and how accurate would they be?
