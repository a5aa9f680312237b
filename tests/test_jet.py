"""The second-order K-jet (``hyperdual.Jet``) against independent oracles.

* random programs (the vocabulary of ``test_properties``): ``b_k`` and ``c_ij`` against the
  bicomplex step, against K(K+1)/2 independent hyper-dual pairs (≤ 1e-14 relative: the two
  paths compute the same products in different groupings), and against central differences;
* every rule of the table, broadcasting, structural zeros, float32 staying float32;
* every layer and model on the jet against hyper-dual pairs, the kinks (ReLU at 0, max-pool
  ties) by the documented conventions;
* ``projected_hessian`` with K up to 10 against ``V H Vᵀ`` from the bicomplex Hessian, chunked
  and unchunked, and K = D basis directions giving the Hessian;
* memory: one FoMoH-2D step grows by at most the stored directions per extra layer.
"""

import tracemalloc

import numpy as np
import pytest
from backend_helpers import host, on_backend
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import UNARY, draw_point, make_program

import hyperdual as hd
import layers
import optimizers
from hyperdual import HyperDual, Jet
from hyperdual.rules import RULES
from hyperdual.testing import assert_close, relative_error

PAIRS_RTOL = 1e-14


def jet_of(f, theta, V):
    """``f`` on the jet ``θ + Σ V[k] ε_k``: (value, first (K,), Hessian form (K, K))."""
    y = f(Jet(theta, V)).reshape(())
    return y.real, y.first, y.hessian()


def pairs_of(f, theta, V):
    """The same numbers from the K(K+1)/2 independent hyper-dual pairs (V[i], V[j]), on the
    host (NumPy) whatever device θ and V are on."""
    K = V.shape[0]
    xp = hd.namespace(V)
    I, J = np.triu_indices(K)
    value, d1, _, d12 = hd.directional(f, theta, V[xp.asarray(I)], V[xp.asarray(J)])
    d1, d12 = hd.to_numpy(d1), hd.to_numpy(d12)
    H = np.zeros((K, K), dtype=d12.dtype)
    H[I, J] = d12
    H[J, I] = d12
    return hd.to_numpy(value), d1[I == J], H


programs = st.tuples(
    st.lists(
        st.sampled_from(
            sorted(UNARY)
            + [
                "mul",
                "div",
                "matmul",
                "einsum",
                "outer_sum",
                "broadcast_mean",
                "einsum_outer",
                "matmul_2d",
                "sum_keepdims",
                "concat",
                "permute",
                "add",
                "rdiv",
            ]
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 2**32 - 1),
    st.integers(1, 5),
    st.integers(1, 4),
)


@settings(max_examples=60, deadline=None)
@given(programs)
def test_random_programs_match_pairs_and_bicomplex(program):
    ops, seed, D, K = program
    f = make_program(ops, seed, D, np.float64)
    theta, V, _ = draw_point(seed, D, np.float64, P=K)
    value, g, H = jet_of(f, theta, V)
    p_value, p_g, p_H = pairs_of(f, theta, V)
    scale = max(1.0, float(np.max(np.abs(f.terms(theta)))))
    assert relative_error(value, p_value, scale) <= PAIRS_RTOL
    assert relative_error(g, p_g, 1.0) <= PAIRS_RTOL, (g, p_g)
    assert relative_error(H, p_H, 1.0) <= PAIRS_RTOL, (H, p_H)
    # the bicomplex step: separate closed forms, no rule table
    I, J = np.triu_indices(K)
    _, b1, b12 = hd.bicomplex_directional(f, theta, V[I], V[J])
    assert_close(g, b1[I == J], np.float64, "exact", f"{ops}: ∇f·v_k vs bicomplex")
    assert_close(H[I, J], b12, np.float64, "exact", f"{ops}: v_iᵀHv_j vs bicomplex")


@settings(max_examples=25, deadline=None)
@given(programs)
def test_random_programs_float32_stay_float32(program):
    ops, seed, D, K = program
    f = make_program(ops, seed, D, np.float32)
    theta, V, _ = draw_point(seed, D, np.float32, P=K)
    value, g, H = jet_of(f, theta, V)
    assert value.dtype == g.dtype == H.dtype == np.float32
    I, J = np.triu_indices(K)
    _, b1, b12 = hd.bicomplex_directional(
        f, theta.astype(np.float64), V[I].astype(np.float64), V[J].astype(np.float64)
    )
    assert_close(g, b1[I == J], np.float32, "exact", f"{ops}: float32 ∇f·v_k")
    assert_close(H[I, J], b12, np.float32, "exact", f"{ops}: float32 v_iᵀHv_j")


def test_finite_differences_of_a_smooth_function():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 6))
    f = lambda t: np.sum(np.tanh(A @ t) ** 2) + np.exp(0.3 * t[0] * t[1])
    theta, V = rng.normal(size=6), rng.normal(size=(3, 6))
    _, g, H = jet_of(f, theta, V)
    I, J = np.triu_indices(3)
    fd1, fd12 = hd.fd_directional(f, theta, V[I], V[J])
    assert_close(g, fd1[I == J], np.float64, "fd_first", "∇f·v_k vs finite differences")
    assert_close(H[I, J], fd12, np.float64, "fd_second", "v_iᵀHv_j vs finite differences")


# Each rule applied to u = 0.4 tanh(t) + shift: |u| < 1 (arcsin, arccos, arctanh), and
# shifted away from 0 where the function needs a positive argument or has a kink there.
SHIFT = {"log": 1.5, "sqrt": 1.5, "reciprocal": 1.5, "relu": 0.7, "abs": -0.7}


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_matches_pairs(name):
    """Every entry of the rule table, applied through the generic chain rule of each type."""
    rng = np.random.default_rng(len(name))
    theta, V = rng.normal(size=4), rng.normal(size=(3, 4))
    w = rng.normal(size=4)
    f = lambda t: np.sum(w * (0.4 * np.tanh(t) + SHIFT.get(name, 0.1)).apply(RULES[name]))
    _, g, H = jet_of(f, theta, V)
    _, p_g, p_H = pairs_of(f, theta, V)
    assert relative_error(g, p_g, 1.0) <= PAIRS_RTOL
    assert relative_error(H, p_H, 1.0) <= PAIRS_RTOL
    I, J = np.triu_indices(3)
    if name not in ("relu", "abs"):  # smooth where evaluated: the bicomplex step too
        plain = lambda t: np.sum(
            w * hd.number._rule_function(name)(0.4 * np.tanh(t) + SHIFT.get(name, 0.1))
        )
        _, b1, b12 = hd.bicomplex_directional(plain, theta, V[I], V[J])
        assert_close(H[I, J], b12, np.float64, "exact", f"{name}: v_iᵀHv_j vs bicomplex")


def test_chain_rule_in_hessian_form():
    """f(x) for x = a + b ε: first f'(a) b, second f''(a) b_i b_j (+ f'(a) c_ij)."""
    a = np.array([0.3, -1.2])
    b = np.array([[1.0, 2.0], [-0.5, 0.25]])
    c = np.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]])
    y = np.sin(Jet(a, b, c))
    I, J = np.triu_indices(2)
    np.testing.assert_allclose(y.first, np.cos(a) * b, rtol=1e-15)
    np.testing.assert_allclose(y.second, np.cos(a) * c - np.sin(a) * b[I] * b[J], rtol=1e-15)


def test_product_rule_in_hessian_form():
    rng = np.random.default_rng(2)
    a, p = rng.normal(size=3), rng.normal(size=3)
    b, q = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    c, r = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    z = Jet(a, b, c) * Jet(p, q, r)
    I, J = np.triu_indices(2)
    np.testing.assert_allclose(z.first, a * q + b * p, rtol=1e-15)
    np.testing.assert_allclose(z.second, a * r + b[I] * q[J] + b[J] * q[I] + c * p, rtol=1e-14)


def test_matmul_cross_term_is_one_product_of_every_pair():
    rng = np.random.default_rng(3)
    x = Jet(rng.normal(size=(5, 4)), rng.normal(size=(3, 5, 4)))
    w = Jet(rng.normal(size=(4, 2)), rng.normal(size=(3, 4, 2)))
    z = x @ w
    I, J = np.triu_indices(3)
    b, q = x.first, w.first
    expected = np.stack([b[i] @ q[j] + b[j] @ q[i] for i, j in zip(I, J)])
    np.testing.assert_allclose(z.second, expected, rtol=1e-13)
    xb = Jet(rng.normal(size=(2, 5, 4)), rng.normal(size=(3, 2, 5, 4)))  # batched left side
    for left, right in ((xb, w), (w.T, xb.transpose(0, 2, 1))):
        z = left @ right
        b, q = left.first, right.first
        expected = np.stack([b[i] @ q[j] + b[j] @ q[i] for i, j in zip(I, J)])
        np.testing.assert_allclose(z.second, expected, rtol=1e-13)


@pytest.mark.parametrize("shapes", [((3, 1), (4,)), ((2, 3), (1, 3)), ((), (2, 2))])
def test_broadcasting_and_structural_zeros(shapes):
    rng = np.random.default_rng(4)
    sx, sy = shapes
    K = 2
    x = Jet(rng.normal(size=sx), rng.normal(size=(K,) + sx))  # no second part
    y = Jet(rng.normal(size=sy), None, rng.normal(size=(3,) + sy))  # no first part
    for out in (x + y, x * y, np.maximum(x, y), np.where(x.real > 0, x, y)):
        shape = np.broadcast_shapes(sx, sy)
        assert out.shape == shape
        for part in (out.first, out.second):
            assert part is None or part.shape[1:] == shape
    assert (x * 2.0).second is None and (x + 1.0).second is None
    assert np.exp(x).second is not None  # f'' b_i b_j appears
    assert layers.activations.relu(x).second is None  # a mask: linear, stays zero
    assert np.abs(x).second is None  # piecewise linear: f'' skipped


def test_constructor_errors_and_mixing():
    with pytest.raises(ValueError, match="K\\(K\\+1\\)/2"):
        Jet(np.zeros(2), None, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="second-order parts"):
        Jet(np.zeros(2), np.zeros((2, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        Jet(np.zeros(2), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="real floating"):
        Jet(np.zeros(2, dtype=complex))
    with pytest.raises(TypeError, match="cannot mix"):
        Jet(np.zeros(2), np.ones((1, 2))) + HyperDual(np.zeros(2), 1.0)
    with pytest.raises(TypeError, match="plain array"):
        np.asarray(Jet(np.zeros(2), np.ones((1, 2))))


# ----------------------------------------------------------------------- layers and models
MODELS = [
    ("logistic_regression", {}, (5, 784)),
    ("mlp", {"hidden": 6}, (4, 784)),
    ("lenet5", {}, (2, 1, 28, 28)),
    ("mnist_cnn", {}, (2, 1, 28, 28)),
]


@pytest.mark.parametrize("name, kwargs, x_shape", MODELS)
def test_models_on_the_jet_match_pairs(name, kwargs, x_shape, xp):
    """On every backend (``xp``): the data, θ and V live on the device under test."""
    model = layers.models.build(name, **kwargs)
    rng = np.random.default_rng(5)
    X = xp.asarray(rng.random(x_shape))
    y = xp.asarray(rng.integers(0, 10, x_shape[0]))
    theta = xp.asarray(model.init_params(1))
    V = xp.asarray(rng.normal(size=(3, model.num_params)))
    f = lambda t: model.loss(t, X, y)
    value, g, H = hd.projected_hessian(f, theta, V)
    assert hd.namespace(g, H) is xp  # the results stay on the device
    p_value, p_g, p_H = pairs_of(f, theta, V)
    assert relative_error(value, p_value) <= PAIRS_RTOL
    assert relative_error(g, p_g) <= PAIRS_RTOL
    assert relative_error(H, p_H) <= 1e-13
    theta32 = theta.astype(np.float32)
    _, g32, H32 = hd.projected_hessian(f, theta32, V.astype(np.float32))
    assert g32.dtype == H32.dtype == np.float32
    assert_close(H32, H, np.float32, "exact", f"{name}: float32 H")


def test_tiny_cnn_on_the_jet_matches_the_bicomplex_step():
    model = layers.Sequential(
        [
            layers.Conv2d(2, 3, 3, padding=1),
            layers.ReLU(),
            layers.MaxPool2d(2),
            layers.Conv2d(3, 2, 2),
            layers.Sigmoid(),
            layers.AvgPool2d(2),
            layers.Flatten(),
            layers.Dense(2, 3),
        ],
        input_shape=(2, 6, 6),
    )
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(3, 2, 6, 6)), rng.integers(0, 3, 3)
    X, y = on_backend(X), on_backend(y)
    theta = model.init_params(2)
    V = on_backend(rng.normal(size=(4, model.num_params)))
    f = lambda t: model.loss(t, X, y)
    _, g, H = hd.projected_hessian(f, theta, V)
    I, J = np.triu_indices(4)
    _, b1, b12 = hd.bicomplex_directional(f, theta, V[on_backend(I)], V[on_backend(J)])
    assert_close(g, host(b1)[I == J], np.float64, "exact", "tiny CNN ∇f·v_k")
    assert_close(host(H)[I, J], b12, np.float64, "exact", "tiny CNN v_iᵀHv_j")


def test_kinks_follow_the_documented_conventions():
    """ReLU at exactly 0 has derivative 0; a max-pool tie takes the first maximal entry."""
    x = Jet(np.array([0.0, 1.0, -1.0]), np.array([[2.0, 3.0, 4.0]]))
    assert np.array_equal(layers.activations.relu(x).first, [[0.0, 3.0, 0.0]])
    image = np.array([[[[1.0, 1.0], [0.5, 1.0]]]])  # a tie of three
    tangent = np.array([[[[[10.0, 20.0], [30.0, 40.0]]]]])
    out = layers.MaxPool2d(2).forward((), Jet(image, tangent))
    assert out.real.item() == 1.0 and out.first.item() == 10.0  # first maximal
    pairs = layers.MaxPool2d(2).forward((), HyperDual(image, tangent, tangent))
    assert pairs.eps1.item() == out.first.item()


def test_max_pool_does_not_hide_nan():
    image = np.array([[[[1.0, np.nan], [0.5, 2.0]]]])
    out = layers.MaxPool2d(2).forward((), Jet(image, np.ones((1,) + image.shape)))
    assert np.isnan(out.real.item())


# ----------------------------------------------------------------------- projected_hessian
def _quartic(D, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(D + 2, D)) / np.sqrt(D)
    return lambda t: np.sum(np.log1p((A @ t) ** 2)) + 0.1 * np.sum(np.sin(t) * t[::-1])


@pytest.mark.parametrize("K", [1, 2, 5, 10])
def test_projected_hessian_up_to_K_10(K):
    D = 12
    f = _quartic(D, K)
    rng = np.random.default_rng(K)
    theta, V = rng.normal(size=D), rng.normal(size=(K, D))
    H_full = hd.bicomplex_hessian(f, theta)
    grad = hd.bicomplex_gradient(f, theta)
    for chunk in (None, 3, 7):  # one pass, and blocks of directions
        value, g, H = hd.projected_hessian(f, theta, V, chunk_size=chunk)
        assert_close(g, V @ grad, np.float64, "exact", f"K={K} chunk={chunk}: g")
        assert_close(H, V @ H_full @ V.T, np.float64, "exact", f"K={K} chunk={chunk}: H")
        assert np.array_equal(H, H.T)


def test_basis_directions_give_the_hessian_and_newton():
    D = 6
    f = _quartic(D, 0)
    theta = np.random.default_rng(0).normal(size=D)
    H = hd.hessian(f, theta, chunk_size=4)
    assert_close(H, hd.bicomplex_hessian(f, theta), np.float64, "exact", "hessian")
    assert np.array_equal(H, hd.projected_hessian(f, theta, np.eye(D), chunk_size=4)[2])
    newton, _ = optimizers.Newton(lr=1.0).step(f, theta)
    basis, _ = optimizers.FoMoHKD(K=D, lr=1.0, directions="basis").step(f, theta)
    np.testing.assert_allclose(basis, newton, rtol=1e-12, atol=0)
    H_ref, g_ref = hd.bicomplex_hessian(f, theta), hd.bicomplex_gradient(f, theta)
    expected = theta - np.linalg.solve(H_ref, g_ref)
    assert_close(newton, expected, np.float64, "exact", "Newton step")


# ----------------------------------------------------------------------- memory
def test_fomoh_2d_step_memory_grows_only_by_the_directions():
    """tracemalloc: the working memory of one FoMoH-2D step (its peak minus the new θ it
    returns) grows per extra layer by at most the two stored directions' slices. Host memory
    (``tracemalloc`` does not see a GPU's), so on the host whatever the backend under test."""
    width, N = 64, 32
    rng = np.random.default_rng(0)
    X, y = rng.random((N, 784)), rng.integers(0, 10, N)
    depths, working = (2, 4, 8), []
    for depth in depths:
        model = layers.models.deep_mlp(width=width, depth=depth)
        theta = host(model.init_params(0))
        opt = optimizers.FoMoHKD(2, lr=0.01, seed=0)
        f = lambda t: model.loss(t, X, y)  # noqa: B023 - used in this iteration only
        opt.step(f, theta)
        tracemalloc.start()
        new_theta, _ = opt.step(f, theta)
        working.append(tracemalloc.get_traced_memory()[1] - new_theta.nbytes)
        tracemalloc.stop()
    per_layer = np.polyfit(depths, working, 1)[0] / ((width * width + width) * 8)
    assert per_layer <= 2.0 + 0.05, f"{per_layer:.2f} parameter slices per extra layer"


def test_the_shared_guards_apply_to_the_jet():
    """The checks where values enter (``check_operand``) and the constructor's copy hold for
    the jet as for every number type: no complex constant, no integer reduction, immutable."""
    theta = np.array([2.0, -1.0])
    x = Jet(theta, np.eye(2))
    for bad in (lambda: x * 1j, lambda: x + np.array([1j, 0]), lambda: x / (2 + 0j)):
        with pytest.raises(TypeError, match="(?i)complex"):
            bad()
    with pytest.raises(TypeError):
        np.sum(x, dtype=np.int64)
    theta[0] = 5.0
    assert x.real[0] == 2.0
    with pytest.raises(ValueError):
        x.real[0] = 1.0
    f = lambda t: np.sum((3.0 + t) ** (np.array([2.0, 3.0]) + t[::-1]))
    _, g, H = jet_of(f, np.array([2.0, -1.0]), np.eye(2))
    _, p_g, p_H = pairs_of(f, np.array([2.0, -1.0]), np.eye(2))
    assert relative_error(g, p_g, 1.0) <= PAIRS_RTOL and relative_error(H, p_H, 1.0) <= PAIRS_RTOL
    negative = Jet(np.array([-2.0]), np.array([[1.0]])) ** Jet(np.array([2.0]))  # constant n
    assert negative.real.item() == 4.0 and negative.first.item() == -4.0


def test_hessian_memory_is_bounded_by_the_chunk_not_by_D_cubed():
    """``hessian`` makes its basis directions block by block: its peak memory is the (D, D)
    result plus a few jets of at most ``chunk_size`` second-order parts — not the D(D+1)/2
    gathered direction pairs (2 · 20,100 · 200 floats = 64 MB here) it once built up front."""
    D = 200
    w = np.random.default_rng(0).normal(size=D)
    f = lambda t: np.sum(w * np.sin(t) * t[::-1])  # noqa: E731
    theta = np.random.default_rng(1).normal(size=D)
    tracemalloc.start()
    H = hd.hessian(f, theta, chunk_size=64)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < H.nbytes + 4e6, f"peak {peak / 1e6:.1f} MB"
    assert_close(H, hd.bicomplex_hessian(f, theta), np.float64, "exact", "Hessian")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_forward_optimizer_steps_on_every_backend(xp, dtype):
    """One step of each optimizer on the jet, with data and θ on the device under test: θ
    stays there and keeps its dtype; the deterministic steps (FoMoH-BP along the gradient,
    Newton) equal the host's."""
    model = layers.models.mlp(hidden=3, n_features=5, n_classes=3)
    rng = np.random.default_rng(7)
    X_host, y_host = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    theta_host = host(model.init_params(2)).astype(dtype)

    def objective(X, y):
        return lambda t: model.loss(t, X, y)

    def grad(X, y):
        return lambda t: model.value_and_grad(t, X, y)

    on_device = (
        objective(xp.asarray(X_host), xp.asarray(y_host)),
        grad(xp.asarray(X_host), xp.asarray(y_host)),
    )
    on_host = (objective(X_host, y_host), grad(X_host, y_host))
    theta = xp.asarray(theta_host)
    makers = {
        "fgd": lambda: optimizers.FGD(lr=0.1, seed=0),
        "fomoh": lambda: optimizers.FoMoH(lr=0.5, seed=0),
        "fomoh-3d": lambda: optimizers.FoMoHKD(3, lr=0.5, seed=0),
        "fomoh-bp": lambda: optimizers.FoMoHBP(lr=0.5),
        "newton": lambda: optimizers.Newton(lr=1.0, damping=1.0),
    }
    for name, make in makers.items():
        new, info = make().step(on_device[0], theta, grad=on_device[1])
        assert hd.namespace(new) is xp and new.dtype == dtype, name
        assert np.all(np.isfinite(hd.to_numpy(new))) and np.isfinite(info.loss), name
        if name in ("fomoh-bp", "newton"):
            expected, _ = make().step(on_host[0], theta_host, grad=on_host[1])
            assert_close(hd.to_numpy(new), expected, dtype, "exact", f"{name} on {xp.__name__}")
