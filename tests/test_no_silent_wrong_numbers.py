"""Silent wrong numbers: each case used to return a plausible but wrong number.

The guards sit where values enter the shared machinery (multipart / bilinear / number), so
every forward number type (Dual, HyperDual, and new ones built the same way) gets them.
"""

import numpy as np
import pytest

import hyperdual as hd
from hyperdual import Bicomplex, Dual, HyperDual

RNG = np.random.default_rng(11)
TYPES = [Dual, HyperDual]


def number(cls, a, P=2):
    a = np.asarray(a, dtype=float)
    eps = [RNG.normal(size=(P,) + a.shape) for _ in cls.PART_NAMES[1:]]
    return cls(a, *eps)


# ---------------------------------------------------------------- complex constants
def test_complex_constant_no_longer_flips_a_gradient():
    """The original bug returned [-1, 1]; the true gradient of |i t| summed is sign(t)."""
    with pytest.raises(TypeError, match="complex"):
        hd.gradient(lambda t: np.sum(np.abs(1j * t)), np.array([2.0, -1.0]))


@pytest.mark.parametrize("cls", TYPES)
@pytest.mark.parametrize(
    "op",
    [
        lambda x: 1j * x,
        lambda x: x * np.array([1j, 2.0, 1.0]),
        lambda x: x + 1j,
        lambda x: 1j - x,
        lambda x: x / 1j,
        lambda x: x @ np.ones(3, complex),
        lambda x: np.einsum("i,i->", x, np.ones(3, complex)),
        lambda x: np.maximum(x, 1j),
        lambda x: hd.relu(x * np.complex128(2.0)),
        lambda x: np.where(x > 0, x, 1j),
        lambda x: np.concatenate([x, np.array([1j])]),
        lambda x: x**1j,
        lambda x: 1j**x,
        lambda x: np.pad(x, 1, constant_values=1j),
    ],
    ids=[
        "rmul",
        "mul-array",
        "add",
        "rsub",
        "div",
        "matmul",
        "einsum",
        "maximum",
        "relu",
        "where",
        "concatenate",
        "pow",
        "rpow",
        "pad",
    ],
)
def test_complex_operands_are_refused_wherever_they_enter(cls, op):
    x = number(cls, [0.5, -1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        op(x)


def test_bicomplex_still_takes_complex_constants():
    z = Bicomplex(np.array([1.0, 2.0]), 0.5)
    np.testing.assert_array_equal((1j * z).z1, [1j, 2j])
    np.testing.assert_array_equal((z + 1j).z1, [1 + 1j, 2 + 1j])


# ---------------------------------------------------------------- fmax / fmin and NaN
@pytest.mark.parametrize("fn", [np.fmax, np.fmin, np.maximum, np.minimum])
def test_nan_handling_matches_numpy_and_the_parts_follow_the_choice(fn):
    a = np.array([1.0, np.nan, np.nan, 3.0, 4.0])
    p = np.array([np.nan, 2.0, np.nan, 3.0, -1.0])
    x, y = HyperDual(a, 1.0, 2.0, 3.0), HyperDual(p, 10.0, 20.0, 30.0)
    out = fn(x, y)
    np.testing.assert_array_equal(out.real, fn(a, p))
    chosen_x = ~np.isnan(out.real) & (out.real == a) & (a != p)
    np.testing.assert_array_equal(out.eps1[0][chosen_x], 1.0)
    np.testing.assert_array_equal(out.eps1[0][~np.isnan(out.real) & (a == p)], 5.5)
    # against a plain NaN constant (the reported case): fmax(x, nan) is x, parts included
    if fn in (np.fmax, np.fmin):
        z = fn(x, np.nan)
        np.testing.assert_array_equal(z.real, a)
        np.testing.assert_array_equal(z.eps1[0][~np.isnan(a)], 1.0)


# ---------------------------------------------------------------- integer dtypes
@pytest.mark.parametrize("cls", TYPES)
@pytest.mark.parametrize(
    "op",
    [
        lambda x: np.sum(x, dtype=np.int64),
        lambda x: x.sum(dtype=int),
        lambda x: np.mean(x, dtype=int),
        lambda x: x.mean(axis=0, dtype=np.int32),
        lambda x: x.astype(int),
        lambda x: x.astype(np.uint8),
        lambda x: x.astype(complex),
    ],
    ids=["np.sum", "sum", "np.mean", "mean-axis", "astype-int", "astype-uint8", "astype-complex"],
)
def test_casts_that_truncate_the_parts_are_refused(cls, op):
    x = number(cls, [[0.5, -1.5], [2.7, 3.2]])
    with pytest.raises(TypeError, match="dtype"):
        op(x)


def test_floating_dtypes_are_still_accepted():
    x = number(HyperDual, [0.5, -1.5, 2.7])
    assert np.sum(x, dtype=np.float32).dtype == np.float32
    assert x.astype(np.float32).eps12.dtype == np.float32
    np.testing.assert_allclose(x.mean(dtype=np.float64).eps1, x.eps1.mean(axis=1))


# ---------------------------------------------------------------- hyper-dual exponents
def test_negative_base_with_a_constant_exponent_keeps_value_and_derivatives():
    x = HyperDual(-2.0, 1.0, 1.0)
    y = x ** HyperDual(2.0)  # exponent without ε-parts: x ** 2
    assert (y.real.item(), y.eps1.item(), y.eps12.item()) == (4.0, -4.0, 2.0)
    z = (-2.0) ** HyperDual(3.0, 0.0, 0.0)  # plain negative base, constant exponent
    assert z.real.item() == -8.0 and z.eps1.item() == 0.0


def test_zero_to_the_zero_is_one():
    assert (0.0 ** HyperDual(0.0)).real.item() == 1.0
    y = HyperDual(0.0, 1.0, 1.0) ** HyperDual(0.0)
    assert (y.real.item(), y.eps1.item(), y.eps12.item()) == (1.0, 0.0, 0.0)


def test_exponent_derivatives_per_direction():
    """d/dx x**y = y x**(y-1) exists at x < 0 for integer y; d/dy = x**y log x does not."""
    g = hd.gradient(lambda t: t[0] ** t[1], np.array([-2.0, 2.0]))
    assert g[0] == -4.0 and np.isnan(g[1])
    theta = np.array([1.7, 2.3])
    a, b = theta
    H = hd.hessian(lambda t: t[0] ** t[1], theta)
    H_ref = [
        [b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * np.log(a))],
        [a ** (b - 1) * (1 + b * np.log(a)), a**b * np.log(a) ** 2],
    ]
    hd.testing.assert_close(H, np.array(H_ref), np.float64, "exact", "Hessian of x**y")


# ---------------------------------------------------------------- immutability
@pytest.mark.parametrize("cls", TYPES)
def test_a_number_does_not_share_memory_with_its_input_arrays(cls):
    real, eps = np.array([1.0, 2.0]), np.array([[3.0, 4.0]])
    x = cls(real, *([eps] * (len(cls.PART_NAMES) - 1)))
    real[0], eps[0, 0] = 50.0, 90.0
    assert x.real.tolist() == [1.0, 2.0] and x.parts[1].tolist() == [[3.0, 4.0]]
    for part in x.parts:
        assert not np.shares_memory(part, real) and not np.shares_memory(part, eps)
        with pytest.raises(ValueError, match="read-only"):
            part[...] = 0.0


# ---------------------------------------------------------------- ties, side by side
def test_tie_conventions_are_documented_side_by_side():
    import hyperdual.numpy_functions as numpy_functions
    import hyperdual.rules as rules

    x = HyperDual(np.array([3.0, 3.0]), np.array([10.0, 20.0]))
    assert np.max(x).eps1.item() == 10.0  # first maximal entry
    assert np.maximum(x[0], x[1]).eps1.item() == 15.0  # average
    assert "averag" in hd.MultiPartArray.max.__doc__  # each names the other
    assert "first" in numpy_functions.maximum.__doc__
    assert "JAX" in rules.__doc__ and "average" in rules.__doc__ and "first" in rules.__doc__
