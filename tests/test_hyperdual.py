"""The HyperDual type: pair-axis semantics, NumPy interop, dtypes, errors, derivative API.

Linear operations are checked against NumPy applied to each component and each pair
separately (the definition); products against the algebra written out by hand.
"""

import numpy as np
import pytest

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.testing import assert_close

RNG = np.random.default_rng(20261122)


def random_hd(shape, P=3, dtype=np.float64, rng=RNG):
    """A HyperDual with random parts, ε-parts of shape (P, *shape)."""
    parts = [rng.normal(size=shape)] + [rng.normal(size=(P,) + shape) for _ in range(3)]
    return HyperDual(*(p.astype(dtype) for p in parts))


def assert_linear_op(op, x, *, exact=True):
    """op(x) must equal op applied to every component and every pair separately."""
    y = op(x)
    np.testing.assert_array_equal(y.real, op(x.real))
    for name in ("eps1", "eps2", "eps12"):
        per_pair = np.stack([op(part) for part in getattr(x, name)])
        np.testing.assert_allclose(getattr(y, name), per_pair, rtol=0 if exact else 1e-15)


# ---------------------------------------------------------------- construction
def test_constructor_adds_pair_axis_and_broadcasts_scalars():
    x = HyperDual(np.ones((2, 3)), np.zeros((2, 3)), 1.0)
    assert x.shape == (2, 3) and x.eps1.shape == (1, 2, 3) and x.eps2.shape == (1, 2, 3)
    assert x.npairs == 1
    y = HyperDual(np.ones(4), RNG.normal(size=(5, 4)))
    assert y.npairs == 5 and y.eps12.shape == (1, 4)


def test_constructor_rejects_bad_shapes_and_types():
    with pytest.raises(ValueError, match=r"shape \(3,\) or \(P, \*\(3,\)\)"):
        HyperDual(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="different numbers of pairs"):
        HyperDual(np.ones(3), np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(TypeError, match="real floating"):
        HyperDual(np.ones(3) + 1j)


def test_integer_input_becomes_float64_and_float32_stays_float32():
    assert HyperDual(np.arange(3)).dtype == np.float64
    x = random_hd((4,), dtype=np.float32)
    for y in (
        np.exp(x) * 2.0 + 1.0,
        x @ np.ones((4, 2), np.float32),
        np.sum(x**3),
        x / 3.0,
        np.tanh(x).mean(),
        hd.sigmoid(x),
        np.maximum(x, 0.0),
    ):
        assert all(p.dtype == np.float32 for p in y.parts), y


# ---------------------------------------------------------------- linear operations
@pytest.mark.parametrize(
    "op",
    [
        lambda a: a.reshape(6, 4),
        lambda a: np.reshape(a, (-1,)),
        lambda a: a.T,
        lambda a: np.transpose(a, (1, 0, 2)) if a.ndim == 3 else a.T,
        lambda a: a.sum(axis=0),
        lambda a: np.sum(a, axis=-1, keepdims=True),
        lambda a: np.sum(a),
        lambda a: np.mean(a, axis=(0, 1)),
        lambda a: a[1],
        lambda a: a[..., ::2],
        lambda a: a[[0, 2, 1]],
        lambda a: a[:, [1, 0]],
        lambda a: a[[0, 2], :, [1, 0]] if a.ndim == 3 else a[[0, 2], [1, 0]],  # split advanced
        lambda a: a[None, 1:],
        lambda a: np.pad(a, ((1, 0), (0, 2), (1, 1))[: a.ndim]),
        lambda a: np.swapaxes(a, 0, -1),
        lambda a: np.moveaxis(a, 0, -1),
        lambda a: np.expand_dims(a, 1),
        lambda a: np.lib.stride_tricks.sliding_window_view(a, (2, 2), axis=(-2, -1)),
        lambda a: np.broadcast_to(a, (2,) + a.shape),
    ],
)
def test_linear_ops_act_on_every_part_and_pair(op):
    x = random_hd((3, 4, 2))
    assert_linear_op(op, x)


def test_boolean_mask_and_take_along_axis():
    x = random_hd((3, 4))
    mask = x.real > 0
    assert_linear_op(lambda a: a[mask], x)
    idx = np.array([[0], [3], [1]])
    assert_linear_op(lambda a: np.take_along_axis(a, idx, axis=1), x)


def test_concatenate_stack_where_broadcast_pairs_and_constants():
    x, y = random_hd((2, 3), P=4), HyperDual(RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3)))
    z = np.concatenate([x, y, np.ones((1, 3))], axis=0)
    assert z.shape == (5, 3) and z.eps1.shape == (4, 5, 3)
    np.testing.assert_array_equal(z.eps1[2, 2:4], y.eps1[0])
    np.testing.assert_array_equal(z.eps1[:, 4], 0.0)
    s = np.stack([x, y], axis=-1)
    assert s.shape == (2, 3, 2) and s.eps2.shape == (4, 2, 3, 2)
    cond = x.real > 0
    w = np.where(cond, x, 7.0)
    np.testing.assert_array_equal(w.real, np.where(cond, x.real, 7.0))
    np.testing.assert_array_equal(w.eps12, np.where(cond, x.eps12, 0.0))


def test_add_constant_broadcasts_eps_parts_to_the_result_shape():
    x = random_hd((3,))
    y = x + np.ones((2, 3))
    assert y.shape == (2, 3) and y.eps1.shape == (3, 2, 3)
    # Summing over the broadcast axis must count each copy (a classic broadcasting bug).
    np.testing.assert_allclose(y.sum(axis=0).eps1, 2 * x.eps1)


# ---------------------------------------------------------------- products, by hand
def test_product_rule_written_out():
    x, y = random_hd((3,)), random_hd((3,))
    z = x * y
    a, b, c, d = x.parts
    p, q, r, s = y.parts
    np.testing.assert_allclose(z.real, a * p)
    np.testing.assert_allclose(z.eps1, a * q + b * p)
    np.testing.assert_allclose(z.eps2, a * r + c * p)
    np.testing.assert_allclose(z.eps12, a * s + b * r + c * q + d * p)


def per_pair_parts(v, p):
    """(real, eps1, eps2, eps12) of pair p as plain arrays; a plain array has zero ε-parts."""
    if not isinstance(v, HyperDual):
        return v, 0 * v, 0 * v, 0 * v
    return (v.real,) + tuple(e[min(p, e.shape[0] - 1)] for e in (v.eps1, v.eps2, v.eps12))


def product_rule_reference(op, x, y, p):
    """The product rule for pair p, written out on plain arrays."""
    a, b, c, d = per_pair_parts(x, p)
    q0, q, r, s = per_pair_parts(y, p)
    return (
        op(a, q0),
        op(a, q) + op(b, q0),
        op(a, r) + op(c, q0),
        op(a, s) + op(b, r) + op(c, q) + op(d, q0),
    )


@pytest.mark.parametrize(
    "xs, ys",
    [
        ((3, 4), (4, 2)),
        ((4,), (4, 2)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 5)),
        ((3, 4), (2, 4, 5)),
    ],
)
def test_matmul_matches_the_product_rule_per_pair(xs, ys):
    x, y = random_hd(xs), random_hd(ys)
    W = RNG.normal(size=ys)
    for left, right in ((x, y), (x, W)):
        got = left @ right
        for p in range(3):
            expected = product_rule_reference(np.matmul, left, right, p)
            actual = (got.real,) + tuple(e[p] for e in (got.eps1, got.eps2, got.eps12))
            for act, exp in zip(actual, expected):
                np.testing.assert_allclose(act, exp, rtol=1e-12, atol=1e-12)


def test_einsum_equals_matmul_and_sum():
    x, y = random_hd((3, 4)), random_hd((4, 2))
    e, m = np.einsum("ij,jk->ik", x, y), x @ y
    t1, t2 = np.einsum("ij->", x), x.sum()
    implicit = np.einsum("ij,jk", x, y)
    for name in HyperDual.PART_NAMES:
        np.testing.assert_allclose(getattr(e, name), getattr(m, name), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(
            getattr(implicit, name), getattr(m, name), rtol=1e-13, atol=1e-13
        )
        np.testing.assert_allclose(getattr(t1, name), getattr(t2, name), rtol=1e-13)


def test_rmatmul_and_reflected_operators_with_plain_arrays():
    x = random_hd((4, 2))
    W = RNG.normal(size=(3, 4))
    y = W @ x
    np.testing.assert_allclose(y.eps1, np.einsum("ij,pjk->pik", W, x.eps1))
    z = 2.0 - x / 4.0
    np.testing.assert_allclose(z.eps12, -x.eps12 / 4.0)
    w = 1.0 / x
    np.testing.assert_allclose(w.real, 1.0 / x.real)


def test_powers_real_and_hyperdual_exponents():
    x = HyperDual(np.array([0.7, 1.3]), np.array([0.3, -0.2]), np.array([1.1, 0.4]))
    for n in (2, 3, 0.5, -1.5):
        y = x**n
        a, b, c, _ = (np.asarray(p).reshape(-1) for p in (x.real, x.eps1, x.eps2, x.eps12))
        np.testing.assert_allclose(y.real, a**n, rtol=1e-14)
        np.testing.assert_allclose(y.eps1[0], n * a ** (n - 1) * b, rtol=1e-14)
        np.testing.assert_allclose(y.eps12[0], n * (n - 1) * a ** (n - 2) * b * c, rtol=1e-13)
    # x ** x = exp(x log x); 2 ** x = exp(x log 2)
    xx = x**x
    a, b, c = x.real, x.eps1[0], x.eps2[0]
    d1 = a**a * (np.log(a) + 1)
    d2 = a**a * ((np.log(a) + 1) ** 2 + 1 / a)
    np.testing.assert_allclose(xx.eps1[0], d1 * b, rtol=1e-13)
    np.testing.assert_allclose(xx.eps12[0], d2 * b * c, rtol=1e-13)
    np.testing.assert_allclose((2.0**x).eps12[0], 2.0**a * np.log(2) ** 2 * b * c, rtol=1e-13)
    # Integer powers at 0 have finite derivatives.
    z = HyperDual(np.zeros(1), 1.0, 1.0) ** 1
    assert np.isfinite(z.eps12).all() and z.eps1.item() == 1.0


# ---------------------------------------------------------------- kinks and reductions
def test_kink_conventions():
    x = HyperDual(np.array([-1.0, 0.0, 2.0]), np.array([1.0, 1.0, 1.0]), np.array([3.0, 3.0, 3.0]))
    np.testing.assert_array_equal(hd.relu(x).eps1[0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(np.abs(x).eps1[0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(hd.relu(x).eps12[0], 0.0)
    # maximum: ties average the derivative parts (½, ½).
    y = HyperDual(np.array([0.0, 0.0, 0.0]), np.array([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(np.maximum(x, y).eps1[0], [5.0, 3.0, 1.0])
    np.testing.assert_array_equal(np.minimum(x, y).eps1[0], [1.0, 3.0, 5.0])
    # max reduction: first maximal entry.
    t = HyperDual(np.array([1.0, 3.0, 3.0]), np.array([10.0, 20.0, 30.0]))
    assert t.max().eps1.item() == 20.0 and np.max(t).real == 3.0
    # sqrt at 0: no finite derivative (IEEE inf, with NumPy's divide warning silenced here).
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isinf(np.sqrt(HyperDual(0.0, 1.0)).eps1).all()


def test_comparisons_and_zero_derivative_ops_return_plain_arrays():
    x = random_hd((5,))
    for out in (
        x > 0,
        x <= 0.5,
        x == x,
        np.greater(x, 0),
        np.sign(x),
        np.floor(x),
        np.argmax(x),
        x.argmin(),
    ):
        assert isinstance(out, (np.ndarray, np.integer, np.bool_))


# ---------------------------------------------------------------- errors
def test_unsupported_numpy_functions_raise_type_error_naming_them():
    x = random_hd((3,))
    with pytest.raises(TypeError, match="numpy.cumsum"):
        np.cumsum(x)
    with pytest.raises(TypeError, match="numpy.arctan2"):
        np.arctan2(x, x)
    with pytest.raises(TypeError, match="numpy.add.reduce"):
        np.add.reduce(x)
    with pytest.raises(TypeError, match="drop"):
        np.asarray(x)
    with pytest.raises(TypeError, match="drop"):
        float(HyperDual(1.0, 1.0))
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 1.0
    with pytest.raises(TypeError, match="out="):
        np.exp(x, out=np.empty(3))


def test_supported_functions_lists_the_interop_surface():
    names = hd.supported_functions()
    for name in (
        "numpy.exp",
        "numpy.matmul",
        "numpy.einsum",
        "numpy.sum",
        "numpy.pad",
        "numpy.maximum",
        "hyperdual.sigmoid",
    ):
        assert name in names


def test_mixing_devices_is_refused():
    class FakeCupyArray:  # stands in for a CuPy array: only its module name matters
        __module__ = "cupy._core.core"
        device = type("Dev", (), {"id": 0})()

    with pytest.raises(hd.DeviceMismatchError, match="different devices"):
        hd.namespace(np.ones(2), FakeCupyArray())


def test_unknown_backend_and_cupy_without_gpu_give_clear_errors():
    with pytest.raises(ValueError, match="unknown backend"):
        hd.set_backend("tensorflow")
    if not hd.cupy_available():
        with pytest.raises(hd.BackendUnavailableError, match="cupy"):
            hd.set_backend("cupy")
        assert hd.backend_name() == "numpy"


def test_using_backend_selects_for_a_block_and_restores(monkeypatch):
    import types

    import hyperdual.backend

    selected = types.ModuleType("selected_before")  # stands in for another backend
    monkeypatch.setattr(hyperdual.backend, "_BACKEND_NAME", "selected")
    monkeypatch.setattr(hyperdual.backend, "_BACKEND_MODULE", selected)
    with hd.using_backend("numpy") as xp:
        assert xp is np and hd.get_backend() is np and hd.backend_name() == "numpy"
    assert hd.get_backend() is selected
    with pytest.raises(RuntimeError, match="inside"):
        with hd.using_backend("numpy"):
            raise RuntimeError("inside the block")
    assert hd.get_backend() is selected
    with pytest.raises(ValueError, match="unknown backend"):
        with hd.using_backend("tensorflow"):
            pass
    assert hd.get_backend() is selected
    if not hd.cupy_available():
        with pytest.raises(hd.BackendUnavailableError, match="cupy"):
            with hd.using_backend("cupy"):
                pass
        assert hd.get_backend() is selected


# ---------------------------------------------------------------- derivative API
def quartic(t):
    """f(θ) = Σ θ_i⁴/4 + (θ·w)², with closed-form gradient and Hessian."""
    w = np.linspace(-1.0, 1.0, t.shape[0]).astype(t.dtype)
    return np.sum(t**4) / 4.0 + (t @ w) ** 2


def quartic_grad_hess(t):
    w = np.linspace(-1.0, 1.0, t.shape[0])
    return t**3 + 2 * (t @ w) * w, np.diag(3 * t**2) + 2 * np.outer(w, w)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_derivative_api_against_closed_form(dtype):
    theta = RNG.normal(size=7).astype(dtype)
    g_ref, H_ref = quartic_grad_hess(theta.astype(np.float64))
    V = RNG.normal(size=(3, 7)).astype(dtype)
    v = V[0]
    value, g, H = hd.projected_hessian(quartic, theta, V)
    assert value.dtype == dtype and g.dtype == dtype and H.dtype == dtype
    assert_close(hd.gradient(quartic, theta), g_ref, dtype, "exact", "gradient")
    assert_close(hd.hessian(quartic, theta), H_ref, dtype, "exact", "hessian")
    assert_close(hd.hvp(quartic, theta, v), H_ref @ v, dtype, "exact", "hvp")
    V64 = V.astype(np.float64)
    assert_close(g, V64 @ g_ref, dtype, "exact", "projected g")
    assert_close(H, V64 @ H_ref @ V64.T, dtype, "exact", "projected H")
    val, d1, d2, d12 = hd.directional(quartic, theta, V[0], V[1])
    assert np.shape(d1) == () and np.shape(d12) == ()
    assert_close(d12, V64[0] @ H_ref @ V64[1], dtype, "exact", "v1ᵀHv2")


def test_directional_vectorised_pairs_and_chunking_agree():
    theta = RNG.normal(size=5)
    v1, v2 = RNG.normal(size=(9, 5)), RNG.normal(size=(9, 5))
    whole = hd.directional(quartic, theta, v1, v2)
    chunked = hd.directional(quartic, theta, v1, v2, chunk_size=2)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert whole[1].shape == (9,)
    # A single v2 is paired with every v1; v2=None means v2 = v1.
    single = hd.directional(quartic, theta, v1, v2[0])
    _, H = quartic_grad_hess(theta)
    np.testing.assert_allclose(single[3], v1 @ H @ v2[0], rtol=1e-12)
    same = hd.directional(quartic, theta, v1)
    np.testing.assert_allclose(same[3], np.einsum("pi,ij,pj->p", v1, H, v1), rtol=1e-12)
    assert hd.hessian(quartic, theta, chunk_size=3).shape == (5, 5)


def test_derivative_api_errors_say_what_was_expected():
    theta = np.ones(4)
    with pytest.raises(ValueError, match=r"1-D parameter vector of shape \(D,\)"):
        hd.gradient(quartic, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"v1 must have shape \(D,\) or \(P, D\) with D = 4"):
        hd.directional(quartic, theta, np.ones(3))
    with pytest.raises(ValueError, match="must return a scalar"):
        hd.gradient(lambda t: t * 2.0, theta)
    with pytest.raises(ValueError, match="chunk_size"):
        hd.gradient(quartic, theta, chunk_size=0)
    with pytest.raises(ValueError, match="different numbers of directions"):
        hd.directional(quartic, theta, np.ones((2, 4)), np.ones((3, 4)))


def test_constant_function_has_zero_derivatives():
    g = hd.gradient(lambda t: 3.0, np.ones(3))
    np.testing.assert_array_equal(g, 0.0)


def test_assert_close_measures_error_against_the_reference_scale():
    from hyperdual.testing import relative_error, tolerance

    assert relative_error([1.0, 2e-12], [1.0, 0.0]) == pytest.approx(2e-12)
    assert relative_error([1e-15], [0.0], scale=1.0) == pytest.approx(1e-15)
    assert tolerance(np.float32, "exact") > tolerance(np.float64, "exact")
    with pytest.raises(AssertionError, match="relative error"):
        assert_close([1.0 + 1e-9], [1.0], np.float64, "exact", "tight")
    with pytest.raises(AssertionError, match="shape"):
        assert_close([1.0, 2.0], [1.0], np.float64, "exact", "shapes")


# ---------------------------------------------------------------- the first-order Dual type
def test_dual_is_the_first_order_part_of_hyperdual():
    """Every operation on Dual(a, b) gives the eps1 part of HyperDual(a, b, c, d)."""
    theta = RNG.normal(size=5)
    v = RNG.normal(size=(3, 5))
    W = RNG.normal(size=(5, 4))

    def f(t):
        h = np.tanh(t @ W) * t[:4] + np.exp(-(t[1:] ** 2)).sum() / (1.0 + t[0] ** 2)
        return np.einsum("i,i->", h, np.sqrt(1.5 + np.sin(t[:4]))) + hd.sigmoid(t).max()

    dual = f(hd.Dual(theta, v))
    hyper = f(HyperDual(theta, v, RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))))
    assert dual.PART_NAMES == ("real", "eps") and dual.eps.shape == (3,)
    np.testing.assert_array_equal(dual.real, hyper.real)
    np.testing.assert_allclose(dual.eps, hyper.eps1, rtol=1e-14, atol=1e-14)


def test_dual_product_and_chain_rule_written_out():
    x = hd.Dual(np.array([0.5, -1.2]), np.array([[2.0, 0.3]]))
    y = hd.Dual(np.array([1.1, 0.7]), np.array([[-0.4, 1.9]]))
    z = x * y
    np.testing.assert_allclose(z.eps, x.real * y.eps + x.eps * y.real)
    s = np.sin(x)
    np.testing.assert_allclose(s.eps, np.cos(x.real) * x.eps)
    with pytest.raises(TypeError, match="cannot mix"):
        x * HyperDual(np.ones(2))
