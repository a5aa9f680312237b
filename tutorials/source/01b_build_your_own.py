# %% [markdown]
# # 1b. Build it yourself: a `Dual` and a `HyperDual` class
#
# Notebook 1 showed the algebra of dual and hyper-dual numbers. Here **you** write it, in five
# exercises, and a test checks each piece against two references that share no code with
# yours: the library (`hyperdual.Dual`, `hyperdual.HyperDual`) and the **complex step**
# $f'(x) \approx \operatorname{Im} f(x + ih)/h$ (notebook 2), which is exact to rounding for
# a tiny $h$.
#
# | exercise | you write | checked against |
# |---|---|---|
# | 1 | `Dual`: $+\;-\;\times\;\div$ (the product and quotient rules) | `hyperdual.Dual`, complex step |  # noqa: E501
# | 2 | `dual_chain` and a table of $(f, f')$ | `np.sin(hyperdual.Dual(...))`, …, complex step |
# | 3 | `HyperDual`: $+\;-\;\times\;\div$ with two units | `hyperdual.HyperDual`, complex step on your `Dual` |  # noqa: E501
# | 4 | `hyper_chain` and a table of $(f, f', f'')$ | `np.sin(hyperdual.HyperDual(...))`, …, complex step on your `Dual` |  # noqa: E501
# | 5 | gradient and Hessian of $f:\mathbb R^D\to\mathbb R$ with your `HyperDual` | `hd.gradient`, `hd.hessian`, `hd.cs_gradient`, `hd.bicomplex_hessian` |  # noqa: E501
#
# **How the exercises work.** Each exercise has three code cells:
#
# 1. a collapsed **reference solution** (tag `solution`): open it only after you have tried;
# 2. the **exercise** cell (tag `exercise`) where you write your code. As shipped it is a
#    skeleton whose methods raise `NotImplementedError`;
# 3. a **test** cell, which checks whatever is defined at that moment.
#
# Run the cells in order. Your exercise cell comes *after* the reference solution, so your
# code replaces it and the test checks yours; an unfinished skeleton fails its test with a
# `NotImplementedError` that names the exercise. (The test suite skips the exercise cells —
# they are also tagged `skip-execution` — so it runs the tests on the reference solutions.
# To see the notebook run through without doing the exercises, skip the exercise cells.)
#
# Notation (the course's table, `tutorials/README.md`): $\varepsilon$ is the unit of a dual
# number, $\varepsilon_1, \varepsilon_2$ those of a hyper-dual number; the parts are called
# `a, b` and `real, eps1, eps2, eps12`.

# %%
import numpy as np

import hyperdual as hd
from hyperdual.testing import assert_close

rng = np.random.default_rng(0)  # the seed for every random number in this notebook

H_CS = 1e-20  # the complex step's h: far below any truncation error


def complex_step(f, x):
    """f'(x) by the complex step, for an f written with operators and NumPy functions."""
    return f(x + 1j * H_CS).imag / H_CS


# %% [markdown]
# ## Exercise 1: the dual number $a + b\,\varepsilon$, $\varepsilon^2 = 0$
#
# Write the class `Dual` with parts `a` (the value) and `b` (the derivative part). Multiply
# out and drop $\varepsilon^2$:
#
# $$(a + b\varepsilon) \pm (c + d\varepsilon) = (a \pm c) + (b \pm d)\,\varepsilon, \qquad
#   (a + b\varepsilon)(c + d\varepsilon) = ac + (ad + bc)\,\varepsilon .$$
#
# For the quotient, multiply numerator and denominator by $c - d\varepsilon$ (the "conjugate";
# $(c + d\varepsilon)(c - d\varepsilon) = c^2$):
#
# $$\frac{a + b\varepsilon}{c + d\varepsilon} = \frac ac + \frac{bc - ad}{c^2}\,\varepsilon .$$
#
# Plain numbers must mix with duals on either side (`2 * x`, `1 - x`, `1 / x`): turn them into
# `Dual(number, 0)` first. Keep the parts generic — do not call `float()` on them — so that
# the complex step can run *through* your class later (exercise 3 relies on it).


# %% tags=["solution"]
# Reference solution of exercise 1 (open it after you have tried).
class Dual:
    """a + b ε with ε² = 0. The parts may be any numbers (float, complex, ...)."""

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

    def __repr__(self):
        return f"Dual({self.a}, {self.b})"


# %% tags=["exercise", "skip-execution"]
# Exercise 1: your Dual. Replace each `raise NotImplementedError(...)` by your code.
class Dual:  # noqa: F811
    """a + b ε with ε² = 0. The parts may be any numbers (float, complex, ...)."""

    def __init__(self, a, b=0.0):
        self.a, self.b = a, b

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    def __add__(self, other):
        raise NotImplementedError("exercise 1: Dual.__add__")

    def __neg__(self):
        raise NotImplementedError("exercise 1: Dual.__neg__")

    def __sub__(self, other):
        raise NotImplementedError("exercise 1: Dual.__sub__")

    def __rsub__(self, other):  # other - self, other a plain number
        raise NotImplementedError("exercise 1: Dual.__rsub__")

    def __mul__(self, other):
        raise NotImplementedError("exercise 1: Dual.__mul__ (the product rule)")

    def __truediv__(self, other):
        raise NotImplementedError("exercise 1: Dual.__truediv__ (the quotient rule)")

    def __rtruediv__(self, other):  # other / self, other a plain number
        raise NotImplementedError("exercise 1: Dual.__rtruediv__")

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __repr__(self):
        return f"Dual({self.a}, {self.b})"


# %% [markdown]
# **Test 1.** Three rational functions, written once with operators, at random points:
# your `Dual` against the library's `hyperdual.Dual` (value and $\varepsilon$-part) and the
# derivative against the complex step.

# %%
RATIONAL = {
    "(3x² − x)/(x + 2) − 1/x": lambda x: (3 * x * x - x) / (x + 2) - 1 / x,
    "2 − x·x·x + 5/(1 + x·x)": lambda x: 2 - x * x * x + 5 / (1 + x * x),
    "((x − 1)(x + 3))/(x·x + 4)": lambda x: ((x - 1) * (x + 3)) / (x * x + 4),
}


def test_exercise_1():
    for name, f in RATIONAL.items():
        for x0 in rng.uniform(0.3, 3.0, size=4):
            b = rng.normal()
            mine = f(Dual(x0, b))
            library = f(hd.Dual(x0, b))
            assert_close(mine.a, library.real, np.float64, "exact", f"{name}: value")
            assert_close(mine.b, library.eps[0], np.float64, "exact", f"{name}: ε-part")
            assert_close(
                mine.b,
                b * complex_step(f, x0),
                np.float64,
                "complex_step",
                f"{name}: derivative vs complex step",
            )
    print("exercise 1 passes:", ", ".join(RATIONAL))


test_exercise_1()

# %% [markdown]
# ## Exercise 2: one chain rule and a table of $(f, f')$
#
# Taylor's series stops after the linear term: $f(a + b\varepsilon) = f(a) + f'(a)\,b\,
# \varepsilon$. So *every* elementary function is one line of a table — its value and its
# derivative — and one function, `dual_chain`, applies it. Write `dual_chain` and complete the
# table (`"sin"` is filled in as an example). Use NumPy's functions (`np.cos`, not
# `math.cos`): they also accept complex numbers, which the complex step of exercise 3 needs.


# %% tags=["solution"]
# Reference solution of exercise 2.
def dual_chain(x, f, df):
    """f(a + b ε) = f(a) + f'(a) b ε."""
    return Dual(f(x.a), df(x.a) * x.b)


DUAL_RULES = {  # name -> (f, f')
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda a: -np.sin(a)),
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda a: 1 / a),
    "sqrt": (np.sqrt, lambda a: 0.5 / np.sqrt(a)),
    "tanh": (np.tanh, lambda a: 1 - np.tanh(a) ** 2),
}


# %% tags=["exercise", "skip-execution"]
# Exercise 2: your chain rule and table.
def dual_chain(x, f, df):  # noqa: F811
    """f(a + b ε) = f(a) + f'(a) b ε."""
    raise NotImplementedError("exercise 2: dual_chain")


def _todo(name):
    def rule(a):
        raise NotImplementedError(f"exercise 2: the derivative of {name}")

    return rule


DUAL_RULES = {  # name -> (f, f')
    "sin": (np.sin, np.cos),
    "cos": (np.cos, _todo("cos")),
    "exp": (np.exp, _todo("exp")),
    "log": (np.log, _todo("log")),
    "sqrt": (np.sqrt, _todo("sqrt")),
    "tanh": (np.tanh, _todo("tanh")),
}

# %% [markdown]
# **Test 2.** Each table entry through your chain rule against the same NumPy function on a
# library `hyperdual.Dual`, and against the complex step of the function itself. Then the
# worked example of notebook 1, $f(x) = e^x/\sqrt{\sin^3x + \cos^3x}$ at $x = 1.5$, whose
# derivative is known to 16 digits.

# %%
F1_GOLDEN = 4.053427893898621  # f'(1.5) of the worked example


def worked_example(x, fn):
    """e^x / sqrt(sin³x + cos³x), with the elementary functions supplied by fn(name, x)."""
    s, c = fn("sin", x), fn("cos", x)
    return fn("exp", x) / fn("sqrt", s * s * s + c * c * c)


def my_dual_fn(name, x):
    return dual_chain(Dual.lift(x), *DUAL_RULES[name])


def test_exercise_2():
    for name, (f, _) in DUAL_RULES.items():
        for _ in range(4):
            a, b = rng.uniform(0.2, 2.0), rng.normal()  # inside every domain
            mine = my_dual_fn(name, Dual(a, b))
            library = getattr(np, name)(hd.Dual(a, b))
            assert_close(mine.a, library.real, np.float64, "exact", f"{name}: value")
            assert_close(mine.b, library.eps[0], np.float64, "exact", f"{name}: ε-part")
            assert_close(
                mine.b,
                b * complex_step(f, a),
                np.float64,
                "complex_step",
                f"{name}: derivative vs complex step",
            )
    y = worked_example(Dual(1.5, 1.0), my_dual_fn)
    assert_close(y.b, F1_GOLDEN, np.float64, "exact", "worked example f'(1.5)")
    print("exercise 2 passes:", ", ".join(DUAL_RULES), "and the worked example")


test_exercise_2()

# %% [markdown]
# ## Exercise 3: the hyper-dual number, two units
#
# $x = a + b\,\varepsilon_1 + c\,\varepsilon_2 + d\,\varepsilon_1\varepsilon_2$ with
# $\varepsilon_1^2 = \varepsilon_2^2 = 0$ and $\varepsilon_1\varepsilon_2 = \varepsilon_2
# \varepsilon_1 \neq 0$. Write `HyperDual` with parts `real, eps1, eps2, eps12` (the library's
# names). Multiplying out and dropping every term with $\varepsilon_1^2$ or $\varepsilon_2^2$:
#
# $$(a + b\varepsilon_1 + c\varepsilon_2 + d\varepsilon_1\varepsilon_2)
#   (p + q\varepsilon_1 + r\varepsilon_2 + s\varepsilon_1\varepsilon_2)
#   = ap + (aq + bp)\,\varepsilon_1 + (ar + cp)\,\varepsilon_2
#     + (as + br + cq + dp)\,\varepsilon_1\varepsilon_2 .$$
#
# For division, $x / y = x \cdot (1/y)$, and the reciprocal follows from the geometric series:
# write $y = p + h$ with $h = q\varepsilon_1 + r\varepsilon_2 + s\varepsilon_1\varepsilon_2$;
# then $h^2 = 2qr\,\varepsilon_1\varepsilon_2$ and $h^3 = 0$, so
#
# $$\frac1{p + h} = \frac1p - \frac h{p^2} + \frac{h^2}{p^3}
#   = \frac1p - \frac q{p^2}\,\varepsilon_1 - \frac r{p^2}\,\varepsilon_2
#     + \Big(\frac{2qr}{p^3} - \frac s{p^2}\Big)\,\varepsilon_1\varepsilon_2 .$$


# %% tags=["solution"]
# Reference solution of exercise 3.
class HyperDual:
    """real + eps1 ε1 + eps2 ε2 + eps12 ε1ε2 with ε1² = ε2² = 0 (scalars of any kind)."""

    def __init__(self, real, eps1=0.0, eps2=0.0, eps12=0.0):
        self.real, self.eps1, self.eps2, self.eps12 = real, eps1, eps2, eps12

    @property
    def parts(self):
        return self.real, self.eps1, self.eps2, self.eps12

    @staticmethod
    def lift(x):
        return x if isinstance(x, HyperDual) else HyperDual(x)

    def __add__(self, other):
        other = HyperDual.lift(other)
        return HyperDual(*(u + w for u, w in zip(self.parts, other.parts)))

    def __neg__(self):
        return HyperDual(*(-u for u in self.parts))

    def __sub__(self, other):
        return self + (-HyperDual.lift(other))

    def __rsub__(self, other):
        return HyperDual.lift(other) - self

    def __mul__(self, other):
        a, b, c, d = self.parts
        p, q, r, s = HyperDual.lift(other).parts
        return HyperDual(a * p, a * q + b * p, a * r + c * p, a * s + b * r + c * q + d * p)

    def reciprocal(self):
        p, q, r, s = self.parts
        return HyperDual(1 / p, -q / p**2, -r / p**2, 2 * q * r / p**3 - s / p**2)

    def __truediv__(self, other):
        return self * HyperDual.lift(other).reciprocal()

    def __rtruediv__(self, other):
        return HyperDual.lift(other) * self.reciprocal()

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"HyperDual({', '.join(map(str, self.parts))})"


# %% tags=["exercise", "skip-execution"]
# Exercise 3: your HyperDual.
class HyperDual:  # noqa: F811
    """real + eps1 ε1 + eps2 ε2 + eps12 ε1ε2 with ε1² = ε2² = 0 (scalars of any kind)."""

    def __init__(self, real, eps1=0.0, eps2=0.0, eps12=0.0):
        self.real, self.eps1, self.eps2, self.eps12 = real, eps1, eps2, eps12

    @property
    def parts(self):
        return self.real, self.eps1, self.eps2, self.eps12

    @staticmethod
    def lift(x):
        return x if isinstance(x, HyperDual) else HyperDual(x)

    def __add__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__add__")

    def __neg__(self):
        raise NotImplementedError("exercise 3: HyperDual.__neg__")

    def __sub__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__sub__")

    def __rsub__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__rsub__")

    def __mul__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__mul__ (the product rule)")

    def reciprocal(self):
        raise NotImplementedError("exercise 3: HyperDual.reciprocal (1 / self)")

    def __truediv__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__truediv__")

    def __rtruediv__(self, other):
        raise NotImplementedError("exercise 3: HyperDual.__rtruediv__")

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __repr__(self):
        return f"HyperDual({', '.join(map(str, self.parts))})"


# %% [markdown]
# **Test 3.** The rational functions of test 1 on hyper-dual numbers with random parts,
# against the library's `hyperdual.HyperDual`. Then the second derivative, with
# $x_0 + \varepsilon_1 + \varepsilon_2$, against a reference that uses no hyper-dual code at
# all: the **complex step run through your `Dual`**. The function
# $g(x) = \varepsilon\text{-part of } f(x + 1\,\varepsilon) = f'(x)$ is analytic, so
# $f''(x) = \operatorname{Im} g(x + ih)/h$ — your dual numbers with complex parts.


# %%
def second_derivative_by_complex_step(f, x0):
    """f''(x0) = Im f'(x0 + ih) / h, with f' from your Dual (complex parts)."""
    return f(Dual(x0 + 1j * H_CS, 1.0)).b.imag / H_CS


def test_exercise_3():
    for name, f in RATIONAL.items():
        for x0 in rng.uniform(0.3, 3.0, size=4):
            b, c, d = rng.normal(size=3)
            mine = f(HyperDual(x0, b, c, d))
            library = f(hd.HyperDual(x0, b, c, d))
            for part in ("real", "eps1", "eps2", "eps12"):
                theirs = getattr(library, part)
                assert_close(
                    getattr(mine, part),
                    theirs if part == "real" else theirs[0],
                    np.float64,
                    "exact",
                    f"{name}: {part}",
                )
            y = f(HyperDual(x0, 1.0, 1.0))
            assert_close(
                y.eps12,
                second_derivative_by_complex_step(f, x0),
                np.float64,
                "complex_step",
                f"{name}: f'' vs complex step on Dual",
            )
    print("exercise 3 passes:", ", ".join(RATIONAL))


test_exercise_3()

# %% [markdown]
# ## Exercise 4: the generic chain rule, a table of $(f, f', f'')$
#
# Split $x = a + h$ with $h = b\varepsilon_1 + c\varepsilon_2 + d\varepsilon_1\varepsilon_2$.
# Taylor's series stops after $h^2/2 = bc\,\varepsilon_1\varepsilon_2$:
#
# $$f(a + h) = f(a) + f'(a)\,b\,\varepsilon_1 + f'(a)\,c\,\varepsilon_2
#   + \big(f'(a)\,d + f''(a)\,bc\big)\,\varepsilon_1\varepsilon_2 .$$
#
# Write `hyper_chain(x, f, df, d2f)` and complete the table `HYPER_RULES` (`"sin"` is given).


# %% tags=["solution"]
# Reference solution of exercise 4.
def hyper_chain(x, f, df, d2f):
    """f(a + b ε1 + c ε2 + d ε1ε2) from the triple (f(a), f'(a), f''(a))."""
    a, b, c, d = x.parts
    fa, dfa, d2fa = f(a), df(a), d2f(a)
    return HyperDual(fa, dfa * b, dfa * c, dfa * d + d2fa * b * c)


HYPER_RULES = {  # name -> (f, f', f'')
    "sin": (np.sin, np.cos, lambda a: -np.sin(a)),
    "cos": (np.cos, lambda a: -np.sin(a), lambda a: -np.cos(a)),
    "exp": (np.exp, np.exp, np.exp),
    "log": (np.log, lambda a: 1 / a, lambda a: -1 / a**2),
    "sqrt": (np.sqrt, lambda a: 0.5 / np.sqrt(a), lambda a: -0.25 / (a * np.sqrt(a))),
    "tanh": (
        np.tanh,
        lambda a: 1 - np.tanh(a) ** 2,
        lambda a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2),
    ),
}


# %% tags=["exercise", "skip-execution"]
# Exercise 4: your generic chain rule and table.
def hyper_chain(x, f, df, d2f):  # noqa: F811
    """f(a + b ε1 + c ε2 + d ε1ε2) from the triple (f(a), f'(a), f''(a))."""
    raise NotImplementedError("exercise 4: hyper_chain")


def _todo2(name):
    def rule(a):
        raise NotImplementedError(f"exercise 4: a derivative of {name}")

    return rule


HYPER_RULES = {  # name -> (f, f', f'')
    "sin": (np.sin, np.cos, lambda a: -np.sin(a)),
    "cos": (np.cos, _todo2("cos"), _todo2("cos")),
    "exp": (np.exp, _todo2("exp"), _todo2("exp")),
    "log": (np.log, _todo2("log"), _todo2("log")),
    "sqrt": (np.sqrt, _todo2("sqrt"), _todo2("sqrt")),
    "tanh": (np.tanh, _todo2("tanh"), _todo2("tanh")),
}

# %% [markdown]
# **Test 4.** Each rule with random parts against the library, the second derivative against
# the complex step through your `Dual` (exercise 2's table supplies $f'$ there), and the
# worked example's $f''(1.5) = 9.463073681596601$ from your classes alone.

# %%
F2_GOLDEN = 9.463073681596601  # f''(1.5) of the worked example


def my_hyper_fn(name, x):
    return hyper_chain(HyperDual.lift(x), *HYPER_RULES[name])


def test_exercise_4():
    for name in HYPER_RULES:
        for _ in range(4):
            a = rng.uniform(0.2, 2.0)
            b, c, d = rng.normal(size=3)
            mine = my_hyper_fn(name, HyperDual(a, b, c, d))
            library = getattr(np, name)(hd.HyperDual(a, b, c, d))
            for part in ("real", "eps1", "eps2", "eps12"):
                theirs = getattr(library, part)
                assert_close(
                    getattr(mine, part),
                    theirs if part == "real" else theirs[0],
                    np.float64,
                    "exact",
                    f"{name}: {part}",
                )
            y = my_hyper_fn(name, HyperDual(a, 1.0, 1.0))
            reference = second_derivative_by_complex_step(lambda x: my_dual_fn(name, x), a)  # noqa: B023
            assert_close(
                y.eps12,
                reference,
                np.float64,
                "complex_step",
                f"{name}: f'' vs complex step on Dual",
            )
    y = worked_example(HyperDual(1.5, 1.0, 1.0), my_hyper_fn)
    assert_close(
        [y.eps1, y.eps12], [F1_GOLDEN, F2_GOLDEN], np.float64, "exact", "worked example f', f''"
    )
    print(
        "exercise 4 passes:",
        ", ".join(HYPER_RULES),
        "and the worked example:",
        f"f'' = {y.eps12:.16g}",
    )


test_exercise_4()

# %% [markdown]
# ## Exercise 5: gradient and Hessian of a function of $D$ variables
#
# With $\theta + v_1\varepsilon_1 + v_2\varepsilon_2$ a function $f:\mathbb R^D \to \mathbb R$
# returns $v_1^\top\nabla^2 f\,v_2$ in its $\varepsilon_1\varepsilon_2$ part (notebook 3). With
# the basis vectors $v_1 = e_i$, $v_2 = e_j$ that is the entry $H_{ij}$, and the
# $\varepsilon_1$ part is $\partial f/\partial\theta_i$. Write `my_gradient(f, theta)` and
# `my_hessian(f, theta)` that build $\theta$ as a **list of your `HyperDual` scalars**, one
# evaluation per pair $(i, j)$ with $i \le j$ (use symmetry for the rest).
#
# The test function is a Rosenbrock-like sum with a quotient, written with operators only, so
# that it runs on your list of scalars as well as on the library's arrays.


# %% tags=["solution"]
# Reference solution of exercise 5.
def seeded(theta, i, j):
    """θ as a list of HyperDual scalars: θ + e_i ε1 + e_j ε2."""
    return [HyperDual(t, float(k == i), float(k == j)) for k, t in enumerate(theta)]


def my_gradient(f, theta):
    """∇f(θ), shape (D,): the ε1 part of f(θ + e_i ε1 + e_i ε2), i = 0..D-1."""
    return np.array([f(seeded(theta, i, i)).eps1 for i in range(len(theta))])


def my_hessian(f, theta):
    """∇²f(θ), shape (D, D): H[i, j] is the ε1ε2 part of f(θ + e_i ε1 + e_j ε2), i ≤ j."""
    D = len(theta)
    H = np.zeros((D, D))
    for i in range(D):
        for j in range(i, D):
            H[i, j] = H[j, i] = f(seeded(theta, i, j)).eps12
    return H


# %% tags=["exercise", "skip-execution"]
# Exercise 5: your gradient and Hessian.
def my_gradient(f, theta):  # noqa: F811
    """∇f(θ), shape (D,)."""
    raise NotImplementedError("exercise 5: my_gradient")


def my_hessian(f, theta):  # noqa: F811
    """∇²f(θ), shape (D, D)."""
    raise NotImplementedError("exercise 5: my_hessian")


# %% [markdown]
# **Test 5.** Against the library's hyper-dual `hd.gradient` and `hd.hessian`, and against
# oracles that use no hyper-dual code: the complex-step gradient `hd.cs_gradient` and the
# bicomplex-step Hessian `hd.bicomplex_hessian` (notebook 2).


# %%
def f_test(t):
    """Σ 100 (t[i+1] − t[i]²)² + (1 − t[i])², plus t[0] / (1 + t[-1]²): operators only."""
    total = t[0] / (1 + t[-1] * t[-1])
    for i in range(len(t) - 1):
        u, w = t[i + 1] - t[i] * t[i], 1 - t[i]
        total = total + 100 * u * u + w * w
    return total


def test_exercise_5():
    theta = rng.normal(size=5)
    g, H = my_gradient(f_test, theta), my_hessian(f_test, theta)
    assert_close(g, hd.gradient(f_test, theta), np.float64, "exact", "gradient vs library")
    assert_close(
        g, hd.cs_gradient(f_test, theta), np.float64, "complex_step", "gradient vs complex step"
    )
    assert_close(H, hd.hessian(f_test, theta), np.float64, "exact", "Hessian vs library")
    assert_close(
        H, hd.bicomplex_hessian(f_test, theta), np.float64, "exact", "Hessian vs bicomplex step"
    )
    assert np.array_equal(H, H.T)
    print("exercise 5 passes; your Hessian:")
    print(np.array2string(H, precision=2, suppress_small=True))


test_exercise_5()

# %% [markdown]
# ## What the library adds to what you built
#
# Your classes hold one number each; the library's hold **arrays**, with a leading *pair axis*
# on the ε-parts so that many direction pairs share one primal computation (notebook 3). It
# sorts the operations into four kinds — linear (act on every part alike), bilinear (one
# product-rule helper for `*`, `@`, `einsum`), zero-derivative (comparisons) and nonlinear
# elementwise (your `hyper_chain` with the table `hyperdual.rules.RULES`) — and hooks them into
# NumPy so that `np.sin(x)` and `x @ W.T` just work. The algebra is the one you wrote.
#
# Your `my_hessian` makes $D(D+1)/2$ separate calls of $f$; the library evaluates the same
# pairs on the pair axis, in chunks, with one call per chunk:


# %%
class Counted:
    """Wrap f and count its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


theta = rng.normal(size=6)
mine, library = Counted(f_test), Counted(f_test)
assert_close(my_hessian(mine, theta), hd.hessian(library, theta), np.float64, "exact", "Hessian")
print(f"D = 6: your Hessian called f {mine.calls} times, the library {library.calls} time(s)")
assert mine.calls == 6 * 7 // 2 and library.calls == 1

# %% [markdown]
# ## More to try
#
# **Try it 1:** add `__pow__` to your `Dual` for a real exponent $n$ (the rule
# $(a + b\varepsilon)^n = a^n + n a^{n-1} b\,\varepsilon$) and check `x ** 2.5` against the
# library.
#
# *Worked solution below (collapsed).*


# %% tags=["solution"]
def dual_pow(x, n):
    """(a + b ε)^n for a real exponent n."""
    return Dual(x.a**n, n * x.a ** (n - 1) * x.b)


Dual.__pow__ = dual_pow
x0, b0 = 1.7, -0.4
mine, library = Dual(x0, b0) ** 2.5, hd.Dual(x0, b0) ** 2.5
print(mine, library.real, library.eps[0])
assert np.isclose(mine.a, library.real, rtol=1e-14) and np.isclose(
    mine.b, library.eps[0], rtol=1e-14
)

# %% [markdown]
# **Try it 2:** a hyper-dual number seeded $x_0 + \varepsilon_1 + \varepsilon_2$ carries
# $f'$ *twice* (in $\varepsilon_1$ and in $\varepsilon_2$). Seed $x_0 + \varepsilon_1 +
# 0\,\varepsilon_2$ instead: what is left in the $\varepsilon_1\varepsilon_2$ part, and why?
#
# *Worked solution below (collapsed).*

# %% [markdown] tags=["solution"]
# **Solution.** the $\varepsilon_1\varepsilon_2$ part is $f'(a)\,d + f''(a)\,bc$ with $c = 0$
# and $d = 0$: nothing. A second derivative needs a perturbation in *both* units.

# %% tags=["solution"]
y = worked_example(HyperDual(1.5, 1.0, 0.0), my_hyper_fn)
print(y)
assert y.eps2 == 0 and y.eps12 == 0 and np.isclose(y.eps1, F1_GOLDEN, rtol=1e-14)

# %% [markdown]
# Next: [2. Checking derivatives](02_checking_derivatives.ipynb) — the references used here
# (complex step, bicomplex step) in detail, and why finite differences are not among them.
