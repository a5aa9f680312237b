# %% [markdown]
# # 4c. Nesting, and perturbation confusion
#
# A hyper-dual number is a **dual number of dual numbers**: two first-order perturbations,
# one inside the other. This notebook makes that literal, then shows what goes wrong when
# two nested perturbations share one $\varepsilon$ — the classic **perturbation confusion**
# bug — and how distinct units, or *tagged* perturbations, avoid it. Finally
# forward-over-reverse (notebooks 4b and 8) appears as one more kind of nesting.
#
# Notation (the course's table): $\varepsilon$ the unit of a dual number; $\varepsilon_1,
# \varepsilon_2$ the units of a hyper-dual number; $\mathbb D(\mathbb R)$ the dual numbers
# over the reals, $\mathbb D(\mathbb D(\mathbb R))$ dual numbers whose parts are dual numbers.

# %%
import itertools

import numpy as np

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.testing import assert_close

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

# %% [markdown]
# ## 1. A dual number whose parts can be anything
#
# The `Dual` of notebook 1b, with one change: elementary functions are looked up in a small
# table of $(f, f')$ where both are *NumPy functions*, applied to the parts. If a part is
# itself a `Dual`, NumPy hands the call back to this class — the recursion is what nesting
# is.


# %%
class Dual:
    """a + b ε with ε² = 0, where a and b may be floats, complex numbers or Duals."""

    DERIVATIVES = {
        np.sin: np.cos,
        np.cos: lambda a: -np.sin(a),
        np.exp: np.exp,
        np.log: lambda a: 1 / a,
        np.sqrt: lambda a: 0.5 / np.sqrt(a),
    }

    def __init__(self, a, b=0.0):
        self.a, self.b = a, b

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    def __add__(self, other):
        other = Dual.lift(other)
        return Dual(self.a + other.a, self.b + other.b)

    def __neg__(self):
        return Dual(-self.a, -self.b)

    def __sub__(self, other):
        return self + (-Dual.lift(other))

    def __rsub__(self, other):
        return Dual.lift(other) - self

    def __mul__(self, other):
        other = Dual.lift(other)
        return Dual(self.a * other.a, self.a * other.b + self.b * other.a)

    def __truediv__(self, other):
        other = Dual.lift(other)
        return Dual(self.a / other.a, (self.b * other.a - self.a * other.b) / (other.a * other.a))

    def __rtruediv__(self, other):
        return Dual.lift(other) / self

    __radd__, __rmul__ = __add__, __mul__

    def __pow__(self, n):  # integer powers by repeated multiplication
        result = Dual(1.0)
        for _ in range(n):
            result = result * self
        return result

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """np.sin(x) etc.: f(a + b ε) = f(a) + f'(a) b ε, with f and f' applied to the parts."""
        (x,) = inputs
        return Dual(ufunc(x.a), self.DERIVATIVES[ufunc](x.a) * x.b)

    def __repr__(self):
        return f"Dual({self.a}, {self.b})"


# %% [markdown]
# ## 2. $\mathbb D(\mathbb D(\mathbb R))$ is the hyper-dual numbers
#
# Put a dual number with unit $\varepsilon_1$ inside each part of one with unit
# $\varepsilon_2$:
#
# $$(a + c\,\varepsilon_1) + (b + d\,\varepsilon_1)\,\varepsilon_2
#   = a + c\,\varepsilon_1 + b\,\varepsilon_2 + d\,\varepsilon_1\varepsilon_2 .$$
#
# That is the hyper-dual number with `real = a, eps1 = c, eps2 = b, eps12 = d`. Multiplying
# two of them with the *dual* product rule, applied twice, must give the *hyper-dual* product
# rule; and applying the *first-order* chain rule twice must give the *second-order* one —
# although the table above has no $f''$. Both checks, at random numbers, against the
# library's `HyperDual`:


# %%
def nested(real, eps1, eps2, eps12):
    """real + eps1 ε1 + eps2 ε2 + eps12 ε1ε2 as a Dual (unit ε2) of Duals (unit ε1)."""
    return Dual(Dual(real, eps1), Dual(eps2, eps12))


def flat_parts(x):
    """The four hyper-dual parts of a nested Dual."""
    return np.array([x.a.a, x.a.b, x.b.a, x.b.b])


def library_parts(x):
    return np.array([x.real.item(), x.eps1.item(), x.eps2.item(), x.eps12.item()])


for _ in range(5):
    p, q = rng.normal(size=4), rng.normal(size=4)
    p[0] = abs(p[0]) + 0.5  # log and sqrt need real > 0
    assert_close(
        flat_parts(nested(*p) * nested(*q)),
        library_parts(HyperDual(*p) * HyperDual(*q)),
        np.float64,
        "exact",
        "product",
    )
    for ufunc in Dual.DERIVATIVES:
        assert_close(
            flat_parts(ufunc(nested(*p))),
            library_parts(ufunc(HyperDual(*p))),
            np.float64,
            "exact",
            f"{ufunc.__name__}",
        )
print("Dual(Dual) products and functions equal the library's HyperDual ones")

# %% [markdown]
# Why does the nested chain rule know $f''$? The outer rule computes $f'(A)\,B$ with
# $A = a + c\,\varepsilon_1$ — so $f'$ is evaluated on a dual number, and *its* chain rule
# produces $f'(a) + f''(a)\,c\,\varepsilon_1$. Differentiating $f'$ is the inner level's job;
# the flattened hyper-dual type has to be told $f''$ instead (the third column of
# `hyperdual.rules.RULES`).
#
# The classic worked example (notebook 1) with nested duals: seed $x = 1.5 + \varepsilon_1 +
# \varepsilon_2$.


# %%
def worked_example(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


GOLDEN = np.array([4.497780053946162, 4.053427893898621, 4.053427893898621, 9.463073681596601])
y = worked_example(nested(1.5, 1.0, 1.0, 0.0))
print("nested duals:", flat_parts(y))
assert_close(flat_parts(y), GOLDEN, np.float64, "exact", "worked example")

# %% [markdown]
# **The cost is the same.** Count the multiplications of real numbers in one product: the
# nested form does 3 dual products (the $\varepsilon_2^2$ term is dropped), each 3 real
# products — 9, exactly the hyper-dual product rule's $ap$, $aq$, $bp$, $ar$, $cp$, $as$,
# $br$, $cq$, $dp$. A float that counts its multiplications:


# %%
class CountingFloat(float):
    """A float that counts the multiplications it takes part in (class-wide)."""

    count = 0

    def __mul__(self, other):
        CountingFloat.count += 1
        return CountingFloat(float(self) * float(other))

    __rmul__ = __mul__

    def __add__(self, other):
        return CountingFloat(float(self) + float(other))

    __radd__ = __add__


p, q = (nested(*map(CountingFloat, rng.normal(size=4))) for _ in range(2))
CountingFloat.count = 0
_ = p * q
print("real multiplications in one nested product:", CountingFloat.count)
assert CountingFloat.count == 9

# %% [markdown]
# What the flat layout buys is engineering: four arrays instead of a tree of objects, and
# the pair axis — many $(v_1, v_2)$ pairs sharing one real part (notebook 3).
#
# ## 3. Perturbation confusion
#
# Nesting derivatives is natural: a derivative operator applied to a function that itself
# takes a derivative. Write the operator the obvious way, with our `Dual`:
#
# $$\mathcal D f(x) = \text{the } \varepsilon\text{-part of } f(x + 1\,\varepsilon).$$
#
# and evaluate the example of Siskind and Pearlmutter (2005):
#
# $$\frac{d}{dx}\Big[\,x \cdot \frac{d}{dy}(x + y)\Big|_{y=1}\Big]_{x=1} .$$
#
# The inner derivative is $1$ for every $x$, so the answer is $\frac{d}{dx}[x] = 1$.


# %%
def derivative(f, x):
    """f'(x): the ε-part of f(x + ε), with ONE ε for everybody (the naive operator)."""
    return f(Dual(x, 1.0)).b


naive = derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0)
print("naive nested derivative:", naive, "  (correct: 1)")
assert naive == 2.0

# %% [markdown]
# The answer is **2**. Trace it: the outer call makes $x = 1 + \varepsilon$. The inner call
# makes $y = 1 + \varepsilon$ with the *same* $\varepsilon$, so $x + y = 2 + 2\varepsilon$ and
# the inner "derivative" reads off $2$: it counted the outer perturbation of $x$ as if it were
# its own. Two different perturbations were *confused* because nothing told them apart.
#
# ### Distinct units avoid it
#
# Give the outer perturbation the unit $\varepsilon_1$ and the inner one $\varepsilon_2$, as a
# hyper-dual number does. Then $x + y = 2 + \varepsilon_1 + \varepsilon_2$, and the inner
# derivative is the $\varepsilon_2$-part — which, as a number that may still depend on
# $\varepsilon_1$, is `eps2 + eps12 ε1` $= 1 + 0\,\varepsilon_1$. The outer product
# $x \cdot (1 + 0\,\varepsilon_1) = 1 + \varepsilon_1$ has the derivative 1. With the
# library's `HyperDual`:

# %%
x = HyperDual(1.0, 1.0, 0.0)  # x = 1 + ε1 (outer)
y = HyperDual(1.0, 0.0, 1.0)  # y = 1 + ε2 (inner)
s = x + y
inner = hd.Dual(s.eps2.item(), s.eps12.item())  # d/dy (x + y), still a number in ε1
outer = hd.Dual(x.real.item(), x.eps1.item()) * inner  # x · (d/dy ...), in ε1
print("with distinct units:", outer.eps.item())
assert outer.eps.item() == 1.0

# %% [markdown]
# ### Tagged perturbations
#
# A hyper-dual number fixes two units in advance. A derivative *operator* that can be nested
# any number of times needs a fresh unit per call. The standard cure (used by AD systems
# since Siskind and Pearlmutter; JAX's tracers carry the same kind of level): every call of
# the operator creates a new **tag**, and a number knows which perturbation its
# $\varepsilon$ belongs to. Two rules make it work:
#
# * in an operation on numbers with different tags, the newer tag is the outer level and the
#   other number is a *constant* for it (its tangent for that tag is 0);
# * the operator reads off only the tangent of *its own* tag.

# %%
_tags = itertools.count(1)


class Tagged:
    """a + b ε_tag. a and b may be Tagged numbers with older (smaller) tags."""

    def __init__(self, tag, a, b):
        self.tag, self.a, self.b = tag, a, b

    @staticmethod
    def split(x, tag):
        """(primal, tangent) of x with respect to the perturbation ``tag``."""
        if isinstance(x, Tagged) and x.tag == tag:
            return x.a, x.b
        return x, 0.0  # a constant for this perturbation

    @staticmethod
    def binary(x, y, rule):
        tag = max(getattr(x, "tag", 0), getattr(y, "tag", 0))
        (a, b), (c, d) = Tagged.split(x, tag), Tagged.split(y, tag)
        return Tagged(tag, *rule(a, b, c, d))

    def __add__(self, other):
        return Tagged.binary(self, other, lambda a, b, c, d: (a + c, b + d))

    def __sub__(self, other):
        return Tagged.binary(self, other, lambda a, b, c, d: (a - c, b - d))

    def __rsub__(self, other):
        return Tagged.binary(other, self, lambda a, b, c, d: (a - c, b - d))

    def __mul__(self, other):
        return Tagged.binary(self, other, lambda a, b, c, d: (a * c, a * d + b * c))

    def __truediv__(self, other):
        return Tagged.binary(self, other, lambda a, b, c, d: (a / c, (b * c - a * d) / (c * c)))

    def __rtruediv__(self, other):
        return Tagged.binary(other, self, lambda a, b, c, d: (a / c, (b * c - a * d) / (c * c)))

    def __neg__(self):
        return Tagged(self.tag, -self.a, -self.b)

    __radd__, __rmul__ = __add__, __mul__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        (x,) = inputs
        return Tagged(x.tag, ufunc(x.a), Dual.DERIVATIVES[ufunc](x.a) * x.b)


def tangent(y, tag):
    """The ε_tag-part of y (0 if y does not depend on that perturbation)."""
    if not isinstance(y, Tagged) or y.tag < tag:
        return 0.0
    if y.tag == tag:
        return y.b
    return Tagged(y.tag, tangent(y.a, tag), tangent(y.b, tag))  # a newer level on top


def derivative_tagged(f, x):
    """f'(x) with a fresh perturbation for this call."""
    tag = next(_tags)
    return tangent(f(Tagged(tag, x, 1.0)), tag)


correct = derivative_tagged(lambda x: x * derivative_tagged(lambda y: x + y, 1.0), 1.0)
print("tagged nested derivative:", correct)
assert correct == 1.0

# %% [markdown]
# Nesting the tagged operator twice is a second derivative — the same four numbers as a
# hyper-dual evaluation, now built from two *first-order* perturbations with different tags:


# %%
def sin_cubed(x):
    return np.sin(x) * np.sin(x) * np.sin(x)


x0 = 0.7
second = derivative_tagged(lambda x: derivative_tagged(sin_cubed, x), x0)
reference = sin_cubed(HyperDual(x0, 1.0, 1.0)).eps12.item()
print(f"d²/dx² sin³x at {x0}: tagged {second:.15f}, hyper-dual {reference:.15f}")
assert_close(second, reference, np.float64, "exact", "second derivative")

# %% [markdown]
# ## 4. Forward-over-reverse is nesting too
#
# Back-propagation (notebook 4b) is a program: it runs the function forward, stores the
# values, and sweeps back multiplying local partial derivatives. Run that *program* on dual
# numbers $\theta + v\,\varepsilon$ and every stored value and every adjoint becomes a dual
# number; the gradient comes out as
#
# $$\nabla f(\theta + v\,\varepsilon) = \nabla f(\theta) + \big(\nabla^2 f(\theta)\,v\big)\,\varepsilon .$$  # noqa: E501
#
# A forward-mode perturbation **outside**, a reverse sweep **inside**. There is only one
# forward perturbation, and the adjoints are a different kind of quantity (they flow
# backwards, they are not units), so nothing can be confused.
#
# A scalar reverse mode in a few lines — a tape of (value, parents with local partials) as in
# notebook 4b — written with generic arithmetic, so that the values may be our `Dual`s:


# %%
class Var:
    """A scalar on a tape: value, and the (parent, local partial) pairs it was made from."""

    def __init__(self, value, parents=()):
        self.value, self.parents, self.adjoint = value, parents, 0.0

    def __add__(self, other):
        other = other if isinstance(other, Var) else Var(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __sub__(self, other):
        other = other if isinstance(other, Var) else Var(other)
        return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))

    def __mul__(self, other):
        other = other if isinstance(other, Var) else Var(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    __radd__, __rmul__ = __add__, __mul__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        (x,) = inputs
        return Var(ufunc(x.value), ((x, Dual.DERIVATIVES[ufunc](x.value)),))


def gradient(f, values):
    """∇f at ``values`` by one reverse sweep; the values may be floats or Duals."""
    inputs = [Var(v) for v in values]
    out = f(inputs)
    order, seen = [], set()

    def visit(node):  # topological order of the tape
        if id(node) not in seen:
            seen.add(id(node))
            for parent, _ in node.parents:
                visit(parent)
            order.append(node)

    visit(out)
    out.adjoint = 1.0
    for node in reversed(order):
        for parent, partial in node.parents:
            parent.adjoint = parent.adjoint + node.adjoint * partial
    return [x.adjoint for x in inputs]


def f_small(t):
    """A function of three variables, written with operators and NumPy functions."""
    return np.sin(t[0] * t[1]) + t[2] * t[2] * t[0] - np.exp(t[1] - t[2])


theta, v = rng.normal(size=3), rng.normal(size=3)
g = gradient(f_small, theta)  # reverse
g_dual = gradient(f_small, [Dual(t, vi) for t, vi in zip(theta, v)])  # forward-over-reverse
Hv = np.array([gi.b for gi in g_dual])
assert_close(g, hd.gradient(f_small, theta), np.float64, "exact", "reverse gradient")
assert_close([gi.a for gi in g_dual], g, np.float64, "exact", "real part = gradient")
assert_close(Hv, hd.hessian(f_small, theta) @ v, np.float64, "exact", "Hv")
print("gradient:", np.array(g), "\nHv (forward-over-reverse):", Hv)

# %% [markdown]
# The library does the same at scale: `Sequential.value_and_grad` is the reverse program
# and `Sequential.hvp` runs it on `hyperdual.Dual(θ, v)`; the complex step of notebook 9 runs
# it on $\theta + ihv$ instead. The other nestings: forward-over-forward is the hyper-dual
# number (section 2); reverse-over-forward and reverse-over-reverse need a reverse mode that
# can record *any* program — a forward-mode computation, or its own backward pass. The
# project's back-propagation is written layer by layer, not recorded, so it has neither;
# forward mode on the outside is the cheap way to add one order of differentiation to any
# program written with NumPy operations.
#
# ## Summary
#
# * $\mathbb D(\mathbb D(\mathbb R))$ with units $\varepsilon_1$ (inside) and
#   $\varepsilon_2$ (outside) *is* the hyper-dual numbers: the same product (9 real
#   multiplications), and the first-order chain rule nested twice gives the second-order one.
# * Two nested perturbations sharing one $\varepsilon$ get confused: $\frac{d}{dx}[x\cdot
#   \frac{d}{dy}(x + y)] = 2$ instead of 1. Distinct units ($\varepsilon_1 \ne
#   \varepsilon_2$) or a fresh tag per derivative call keep them apart.
# * Forward-over-reverse is a forward perturbation around a reverse program: $Hv$ from one
#   pass on dual numbers.
#
# ## Exercises
#
# **Try it 1:** evaluate $\frac{d}{dx}\big[x\cdot\frac{d}{dy}(x\,y)\big|_{y=1}\big]$ at
# $x = 1$ and $x = 2$ with the naive `derivative` and with `derivative_tagged`. The correct
# answer is $\frac{d}{dx}x^2 = 2x$. At which $x$ does the naive operator happen to be right?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the naive inner derivative at
# $x = x_0 + \varepsilon$ is the $\varepsilon$-part of $(x_0 + \varepsilon)(1 + \varepsilon)$,
# i.e. $x_0 + 1$; the outer result is then $x_0 + 1$ instead of $2x_0$ — right only at
# $x_0 = 1$.

# %% tags=["solution"]
results = {}
for x0 in (1.0, 2.0):
    naive = derivative(lambda x: x * derivative(lambda y: x * y, 1.0), x0)
    tagged = derivative_tagged(lambda x: x * derivative_tagged(lambda y: x * y, 1.0), x0)
    results[x0] = (naive, tagged)
    print(f"x = {x0}: naive {naive}, tagged {tagged}, correct {2 * x0}")
assert results == {1.0: (2.0, 2.0), 2.0: (3.0, 4.0)}  # naive = x + 1, tagged = 2x

# %% [markdown]
# **Try it 2:** nest `derivative_tagged` three times for the third derivative of
# $f(x) = \sin(x^2)$ at $x = 0.9$ and check it against
# $f'''(x) = -12x\sin(x^2) - 8x^3\cos(x^2)$.
#
# *Worked solution below (collapsed).*


# %% tags=["solution"]
def sin_of_square(x):
    return np.sin(x * x)


x0 = 0.9
third = derivative_tagged(
    lambda a: derivative_tagged(lambda b: derivative_tagged(sin_of_square, b), a), x0
)
exact = -12 * x0 * np.sin(x0**2) - 8 * x0**3 * np.cos(x0**2)
print(f"f'''({x0}): nested {third:.15f}, closed form {exact:.15f}")
assert abs(third - exact) <= 1e-13 * abs(exact)

# %% [markdown]
# **Try it 3:** build a hyper-dual number as `Dual(Dual(...), Dual(...))` the *other* way
# round — unit $\varepsilon_2$ inside, $\varepsilon_1$ outside — and check that the parts
# come out with `eps1` and `eps2` swapped, i.e. that the two units commute
# ($\varepsilon_1\varepsilon_2 = \varepsilon_2\varepsilon_1$).
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** with $\varepsilon_2$ inside, $x = (a + b\,\varepsilon_2) + (c + d\,
# \varepsilon_2)\,\varepsilon_1$ is `Dual(Dual(a, b), Dual(c, d))`; the function's value at it
# must equal the library's result with the parts read accordingly.

# %% tags=["solution"]
a, b, c, d = 1.5, 0.3, -0.7, 0.2  # real, eps1, eps2, eps12
swapped = worked_example(Dual(Dual(a, c), Dual(b, d)))  # ε2 inside, ε1 outside
reference = library_parts(worked_example(HyperDual(a, b, c, d)))
parts = np.array([swapped.a.a, swapped.b.a, swapped.a.b, swapped.b.b])  # real, eps1, eps2, eps12
print(parts, reference)
assert np.allclose(parts, reference, rtol=1e-14, atol=0)

# %% [markdown]
# Next: [4d. From $K$ hyper-dual pairs to one $K$-jet](04d_the_k_jet.ipynb).
