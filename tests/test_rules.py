"""Every entry of the rule table ``hyperdual.rules.RULES`` over its own declared domain.

For each ``rule(xp, a) -> (f, f', f'')``:

* ``f`` against NumPy's own function,
* ``f'`` against the analytic formula written below and against the complex step
  ``Im f(a + i h) / h`` (computed with the complex function, not the rule),
* ``f''`` against the bicomplex step ``Im_{i1 i2} f(a + h i1 + h i2) / h²``,

in float64, and in float32 (results stay float32 and are compared with float64 references
at the same points with the float32 tolerance). Then the kink conventions.

Errors are measured with ``hyperdual.testing.assert_close`` on consecutive groups of points,
so the scale is local: a derivative that spans orders of magnitude over the domain is
checked where it is small too, not only where it is largest.
"""

import numpy as np
import pytest
import scipy.special

import hyperdual as hd
from hyperdual import RULES, Bicomplex, HyperDual
from hyperdual.number import _rule_function
from hyperdual.testing import assert_close

CS_STEP = 1e-30
BC_STEP = 1e-20


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# name -> (domain (lo, hi), analytic f', complex-analytic f for the complex step)
TABLE = {
    "exp": ((-10, 10), np.exp, np.exp),
    "log": ((0.01, 100), lambda a: 1 / a, np.log),
    "log1p": ((-0.99, 100), lambda a: 1 / (1 + a), np.log1p),
    "expm1": ((-10, 10), np.exp, np.expm1),
    "sqrt": ((0.01, 100), lambda a: 0.5 / np.sqrt(a), np.sqrt),
    "square": ((-10, 10), lambda a: 2 * a, np.square),
    "reciprocal": ((0.05, 20), lambda a: -1 / a**2, np.reciprocal),
    "sin": ((-10, 10), np.cos, np.sin),
    "cos": ((-10, 10), lambda a: -np.sin(a), np.cos),
    "tan": ((-1.5, 1.5), lambda a: 1 / np.cos(a) ** 2, np.tan),
    "sinh": ((-10, 10), np.cosh, np.sinh),
    "cosh": ((-10, 10), np.sinh, np.cosh),
    "tanh": ((-20, 20), lambda a: 1 / np.cosh(a) ** 2, np.tanh),
    "arctan": ((-50, 50), lambda a: 1 / (1 + a * a), np.arctan),
    "arcsin": ((-0.99, 0.99), lambda a: 1 / np.sqrt(1 - a * a), np.arcsin),
    "arccos": ((-0.99, 0.99), lambda a: -1 / np.sqrt(1 - a * a), np.arccos),
    "arcsinh": ((-50, 50), lambda a: 1 / np.sqrt(1 + a * a), np.arcsinh),
    "arctanh": ((-0.99, 0.99), lambda a: 1 / (1 - a * a), np.arctanh),
    "sigmoid": ((-30, 30), lambda a: _sig(a) * _sig(-a), _sig),
    "softplus": ((-30, 30), _sig, lambda z: np.log1p(np.exp(z))),
    "relu": ((-5, 5), lambda a: (a > 0) * 1.0, lambda z: z * (z.real > 0)),
    "abs": ((-5, 5), np.sign, lambda z: z * np.sign(z.real)),
    "erf": ((-6, 6), lambda a: 2 / np.sqrt(np.pi) * np.exp(-a * a), scipy.special.erf),
}

# How user code reaches each rule on a HyperDual / Bicomplex.
PUBLIC = {name: getattr(np, name, None) for name in TABLE}
PUBLIC.update(
    abs=np.abs, sigmoid=hd.sigmoid, softplus=hd.softplus, relu=hd.relu, erf=_rule_function("erf")
)  # as layers.onnx reaches it


def points(name, n=400):
    """``n`` points spread over the declared domain (kinks excluded), sorted."""
    lo, hi = TABLE[name][0]
    a = np.linspace(lo, hi, n)
    return a[a != 0] if name in ("relu", "abs") else a


def assert_close_locally(actual, desired, dtype, kind, what, groups=10):
    """``assert_close`` on consecutive groups of (sorted) points: a local scale per group."""
    for k, (act, des) in enumerate(
        zip(np.array_split(actual, groups), np.array_split(desired, groups))
    ):
        assert_close(act, des, dtype, kind, f"{what} (group {k} of the domain)")


def value_reference(name, a):
    """f(a) in float64 from NumPy (the complex function's real part, except where NumPy's
    complex log1p is inaccurate for tiny arguments)."""
    if name == "softplus":
        return np.logaddexp(0.0, a)
    return TABLE[name][2](a + 0j).real


def complex_step(name, a):
    return TABLE[name][2](a + 1j * CS_STEP).imag / CS_STEP


def bicomplex_step(name, a):
    y = PUBLIC[name](Bicomplex(a + 1j * BC_STEP, BC_STEP))
    return y.imag12 / BC_STEP**2


def test_every_rule_has_a_declared_domain_and_references():
    assert set(TABLE) == set(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_rule_named_after_a_numpy_ufunc_is_what_that_ufunc_does(name):
    """``np.<name>`` on a HyperDual or a Bicomplex goes to the rule / the closed form of the
    same name (``rules.UFUNC_TO_RULE``, registered in ``dispatch.py``); the other rules are
    ``hyperdual.<name>`` functions."""
    ufunc = getattr(np, name, None)
    if not isinstance(ufunc, np.ufunc):
        return
    a = 0.3 * np.tanh(np.linspace(-2.0, 2.0, 7)) + 0.4  # in (0.1, 0.7): every domain
    x = HyperDual(a, 1.0, 0.5, 0.25)
    assert ufunc in HyperDual.UFUNCS and ufunc in Bicomplex.UFUNCS, name
    y, expected = ufunc(x), x.apply(RULES[name])
    for part, want in zip(y.parts, expected.parts):
        np.testing.assert_array_equal(part, want)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_rule_float64(name):
    a = points(name)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        f, df, d2f = RULES[name](np, a)
    assert f.dtype == df.dtype == d2f.dtype == np.float64
    assert_close_locally(f, value_reference(name, a), np.float64, "exact", f"{name}: f")
    assert_close_locally(df, TABLE[name][1](a), np.float64, "exact", f"{name}: f' (analytic)")
    assert_close_locally(
        df, complex_step(name, a), np.float64, "complex_step", f"{name}: f' (complex step)"
    )
    assert_close_locally(
        d2f, bicomplex_step(name, a), np.float64, "exact", f"{name}: f'' (bicomplex step)"
    )


@pytest.mark.parametrize("name", sorted(TABLE))
def test_rule_float32_stays_float32_and_meets_the_float32_tolerance(name):
    a32 = points(name).astype(np.float32)
    a = a32.astype(np.float64)  # the same points, as references see them
    f, df, d2f = RULES[name](np, a32)
    assert f.dtype == df.dtype == d2f.dtype == np.float32, name
    assert_close_locally(f, value_reference(name, a), np.float32, "exact", f"{name}: f")
    assert_close_locally(
        df, complex_step(name, a), np.float32, "complex_step", f"{name}: f' (complex step)"
    )
    assert_close_locally(
        d2f, bicomplex_step(name, a), np.float32, "exact", f"{name}: f'' (bicomplex step)"
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(TABLE))
def test_public_entry_points_reach_the_rule_through_the_chain_rule(name, dtype):
    """``np.exp(x)``, ``hd.sigmoid(x)``, ... on a HyperDual give
    ``f + f' b e1 + f' c e2 + (f' d + f'' b c) e1e2`` with the table's values."""
    rng = np.random.default_rng(7)
    a = points(name, 40).astype(dtype)
    b, c, d = (rng.normal(size=(2,) + a.shape).astype(dtype) for _ in range(3))
    y = PUBLIC[name](HyperDual(a, b, c, d))
    f, df, d2f = RULES[name](np, a)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.real, f)
    np.testing.assert_array_equal(y.eps1, df * b)
    np.testing.assert_array_equal(y.eps2, df * c)
    np.testing.assert_allclose(y.eps12, df * d + d2f * b * c, rtol=4 * np.finfo(dtype).eps, atol=0)


# ---------------------------------------------------------------- kink conventions
def test_relu_and_abs_have_derivative_zero_at_zero():
    zero = np.zeros(3)
    for name in ("relu", "abs"):
        f, df, d2f = RULES[name](np, zero)
        assert np.all(f == 0) and np.all(df == 0) and np.all(d2f == 0), name
        y = PUBLIC[name](HyperDual(zero, 1.0, 1.0, 1.0))
        assert np.all(y.eps1 == 0) and np.all(y.eps12 == 0), name
    f, df, d2f = RULES["relu"](np, np.array([-1.0, 2.0]))
    assert df.tolist() == [0.0, 1.0] and d2f.tolist() == [0.0, 0.0]


def test_maximum_and_minimum_ties_average_the_derivatives():
    x = HyperDual(np.array([1.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]), 0.0, 5.0)
    y = HyperDual(np.array([1.0, 1.0, 3.0]), np.array([3.0, 3.0, 3.0]), 0.0, 7.0)
    top, bottom = np.maximum(x, y), np.minimum(x, y)
    assert top.eps1[0].tolist() == [2.0, 1.0, 3.0]  # tie -> (1 + 3) / 2
    assert top.eps12[0].tolist() == [6.0, 5.0, 7.0]
    assert bottom.eps1[0].tolist() == [2.0, 3.0, 1.0]


def test_max_reduction_ties_take_the_first_maximal_entry():
    x = HyperDual(np.array([1.0, 3.0, 3.0, -2.0, -2.0]), np.arange(5.0))
    assert x.max().eps1.item() == 1.0 and np.max(x).eps1.item() == 1.0
    assert x.min().eps1.item() == 3.0
    rows = HyperDual(np.array([[3.0, 3.0], [0.0, 5.0]]), np.array([[10.0, 20.0], [30.0, 40.0]]))
    assert rows.max(axis=1).eps1[0].tolist() == [10.0, 40.0]


def test_sqrt_at_zero_has_infinite_derivatives():
    with np.errstate(divide="ignore", invalid="ignore"):
        f, df, d2f = RULES["sqrt"](np, np.zeros(1))
        y = np.sqrt(HyperDual(np.zeros(1), 1.0, 1.0))
    assert f[0] == 0 and df[0] == np.inf and d2f[0] == -np.inf
    assert y.real[0] == 0 and y.eps1[0, 0] == np.inf


def test_kink_conventions_are_documented():
    import hyperdual.numpy_functions as numpy_functions
    import hyperdual.rules as rules

    doc = rules.__doc__
    assert "relu" in doc and "derivative 0" in doc and "sqrt" in doc and "inf" in doc
    assert "ties" in numpy_functions.maximum.__doc__.lower()
    assert "first" in hd.MultiPartArray.max.__doc__
