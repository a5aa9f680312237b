"""Models over a flat θ: parameter counts, layout, and every derivative against forward mode.

References are independent of back-propagation: ``hyperdual.gradient``, ``hyperdual.hvp``,
``hyperdual.hessian`` and ``hyperdual.projected_hessian`` run the *forward* pass on
hyper-dual numbers, and the complex and bicomplex steps run it on (bi)complex numbers.
"""

import tracemalloc

import numpy as np
import pytest
from backend_helpers import host, on_backend

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.bicomplex import Bicomplex
from hyperdual.testing import assert_close
from layers import (
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    models,
)

H_STEP = 1e-20


def tiny_cnn():
    """Every layer kind in one small network (212 parameters), input (2, 8, 8)."""
    return Sequential(
        [
            Conv2d(2, 3, 3, padding=1),
            ReLU(),
            MaxPool2d(2),
            Conv2d(3, 4, 3, stride=2, padding=1),
            Tanh(),
            AvgPool2d(2),
            Flatten(),
            Dense(4, 5),
            Sigmoid(),
            Dense(5, 3),
        ],
        input_shape=(2, 8, 8),
        name="tiny_cnn",
    )


def small_mlp(loss="cross_entropy"):
    return Sequential(
        [Dense(6, 5), Tanh(), Dense(5, 4), ReLU(), Dense(4, 3)],
        input_shape=(6,),
        loss=loss,
        name="small_mlp",
    )


def problem(model, N=4, seed=0):
    """A random θ (init plus noise, so biases are not 0), inputs X and labels y, all on the
    backend under test (where ``init_params`` puts θ)."""
    rng = np.random.default_rng(seed)
    theta = model.init_params(seed) + on_backend(0.3 * rng.normal(size=model.num_params))
    X = rng.normal(size=(N,) + model.input_shape)
    if model.loss_fn.name == "mse":
        y = rng.normal(size=(N,) + model.output_shape)
    else:
        y = rng.integers(0, model.output_shape[0], size=N)
    return theta, on_backend(X), on_backend(y)


SMALL = [
    tiny_cnn,
    small_mlp,
    lambda: small_mlp("mse"),
    lambda: models.logistic_regression(n_features=7, n_classes=3),
]
SMALL_IDS = ["tiny_cnn", "mlp_ce", "mlp_mse", "logreg"]


# ------------------------------------------------------------------------- the models
@pytest.mark.parametrize(
    "name, kwargs, count",
    [
        ("logistic_regression", {}, 7_850),
        ("mnist_cnn", {}, 431_080),
        ("lenet5", {}, 61_706),
        ("mlp", {}, 12_730),  # hidden = 16
        ("mlp", {"hidden": 8}, 8 * 785 + 10 * 9),
        ("deep_mlp", {"width": 32, "depth": 5}, 785 * 32 + 4 * 33 * 32 + 33 * 10),
    ],
)
def test_parameter_counts(name, kwargs, count):
    model = models.build(name, **kwargs)
    assert model.num_params == count
    assert model.param_groups()[-1][1].stop == count
    assert model.init_params(0).shape == (count,)


def test_mnist_cnn_layout_and_output_shape():
    model = models.mnist_cnn()
    assert model.param_shapes() == [
        ("conv1.weight", (20, 1, 5, 5)),
        ("conv1.bias", (20,)),
        ("conv2.weight", (50, 20, 5, 5)),
        ("conv2.bias", (50,)),
        ("dense1.weight", (500, 800)),
        ("dense1.bias", (500,)),
        ("dense2.weight", (10, 500)),
        ("dense2.bias", (10,)),
    ]
    assert model.shapes[7] == (800,) and model.output_shape == (10,)
    X = on_backend(np.random.default_rng(0).random((3, 1, 28, 28)))
    assert model.forward(model.init_params(0), X).shape == (3, 10)


def test_build_by_name_and_aliases():
    assert models.available() == sorted(models.MODELS)
    assert models.build("cnn").num_params == models.build("mnist_cnn").num_params
    assert models.build("logreg").num_params == 7_850
    with pytest.raises(ValueError, match="unknown model 'resnet'.*mnist_cnn"):
        models.build("resnet")


def test_param_groups_tile_theta_in_order():
    model = tiny_cnn()
    groups = model.param_groups()
    assert [name for name, _ in groups] == [name for name, _ in model.param_shapes()]
    stops = [0] + [sl.stop for _, sl in groups]
    assert [sl.start for _, sl in groups] == stops[:-1] and stops[-1] == model.num_params


def test_unflatten_returns_views_for_every_number_type():
    model = tiny_cnn()
    theta = model.init_params(0)
    D = model.num_params
    rng = np.random.default_rng(1)
    numbers = {
        "real": theta,
        "hyperdual": HyperDual(
            theta, on_backend(rng.normal(size=(3, D))), on_backend(rng.normal(size=D))
        ),
        "bicomplex": Bicomplex(
            theta + 1j * on_backend(rng.normal(size=D)), on_backend(rng.normal(size=D))
        ),
    }
    for kind, number in numbers.items():
        pieces = model.unflatten(number)
        assert [(n, a.shape) for n, a in pieces] == model.param_shapes()
        for (name, sl), (_, piece) in zip(model.param_groups(), pieces):
            parts = piece.parts if kind != "real" else (piece,)
            whole = number.parts if kind != "real" else (number,)
            for part, whole_part in zip(parts, whole):
                assert np.shares_memory(part, whole_part), (kind, name)
            np.testing.assert_array_equal(host(piece.real.reshape(-1)), host(theta[sl]))
    flat = model.flatten([a for _, a in model.unflatten(theta)])
    np.testing.assert_array_equal(host(flat), host(theta))


def test_init_params_is_seeded_and_documented():
    model = models.lenet5()
    a, b, c = (host(model.init_params(seed)) for seed in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    f32 = model.init_params(0, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(host(f32), a.astype(np.float32))
    params = dict(model.unflatten(a))
    assert all(np.all(p == 0) for n, p in params.items() if n.endswith(".bias"))
    w = params["dense1.weight"]  # Glorot: sqrt(6 / (400 + 120))
    assert np.abs(w).max() <= np.sqrt(6 / 520) and np.abs(w).max() > 0.9 * np.sqrt(6 / 520)
    cnn = dict(models.mnist_cnn().unflatten(host(models.mnist_cnn().init_params(0))))
    assert np.abs(cnn["conv2.weight"]).max() <= np.sqrt(6 / 500)  # He: sqrt(6 / fan_in)
    with pytest.raises(ValueError, match="real floating"):
        model.init_params(0, dtype=np.complex128)


def test_inputs_of_the_right_size_are_reshaped_and_others_rejected():
    model = models.logistic_regression()
    theta = model.init_params(0)
    X = on_backend(np.random.default_rng(0).random((2, 1, 28, 28)))
    np.testing.assert_array_equal(
        host(model.forward(theta, X)), host(model.forward(theta, X.reshape(2, 784)))
    )
    with pytest.raises(ValueError, match=r"X must have shape \(N, \*\(784,\)\)"):
        model.forward(theta, on_backend(np.zeros((2, 783))))
    with pytest.raises(ValueError, match=r"theta must have shape \(7850,\)"):
        model.forward(theta[:-1], X)
    with pytest.raises(TypeError, match="real theta"):
        model.hvp(HyperDual(theta), X, on_backend(np.array([0, 1])), theta)


# ------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("build", SMALL, ids=SMALL_IDS)
def test_backprop_gradient_matches_forward_mode_gradient(build, dtype):
    model = build()
    theta, X, y = problem(model)
    loss, grad = model.value_and_grad(theta.astype(dtype), X, y)
    assert grad.dtype == dtype and grad.shape == theta.shape
    f = lambda t: model.loss(t, X, y)
    assert_close(loss, f(theta), dtype, "exact", "loss")
    assert_close(grad, hd.gradient(f, theta), dtype, "exact", "gradient")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("build", SMALL, ids=SMALL_IDS)
def test_hvp_by_backprop_on_duals_matches_forward_mode_hvp(build, dtype):
    model = build()
    theta, X, y = problem(model, seed=1)
    v = on_backend(np.random.default_rng(2).normal(size=theta.shape))
    Hv = model.hvp(theta.astype(dtype), X, y, v.astype(dtype))
    assert Hv.dtype == dtype
    assert_close(Hv, hd.hvp(lambda t: model.loss(t, X, y), theta, v), dtype, "exact", "Hv")


@pytest.mark.parametrize("build", SMALL, ids=SMALL_IDS)
def test_hvp_by_complex_and_bicomplex_steps_on_the_gradient(build):
    model = build()
    theta, X, y = problem(model, seed=3)
    rng = np.random.default_rng(4)
    v1, v2 = on_backend(rng.normal(size=theta.shape)), on_backend(rng.normal(size=theta.shape))
    Hv1 = model.hvp(theta, X, y, v1)
    _, g_complex = model.value_and_grad(theta + 1j * H_STEP * v1, X, y)
    assert_close(g_complex.imag / H_STEP, Hv1, np.float64, "complex_step", "complex step")
    loss, g_bc = model.value_and_grad(Bicomplex(theta + 1j * H_STEP * v1, H_STEP * v2), X, y)
    assert_close(g_bc.imag1 / H_STEP, Hv1, np.float64, "exact", "bicomplex i1")
    assert_close(g_bc.imag2 / H_STEP, model.hvp(theta, X, y, v2), np.float64, "exact", "i2")
    forward = model.loss(HyperDual(theta, v1, v2), X, y)
    assert_close(loss.imag12 / H_STEP**2, forward.eps12[0], np.float64, "exact", "v1ᵀHv2")


def explicit_gauss_newton(model, theta, X, y):
    """G = Σ_n J_nᵀ H_n J_n with J from forward mode (one basis pair per parameter)."""
    D = model.num_params
    xp = hd.namespace(theta)  # the identities on θ's device
    out = model.forward(HyperDual(theta, xp.eye(D)), X)  # eps1: (D, N, K)
    J = np.moveaxis(out.eps1, 0, -1)  # (N, K, D)
    z = out.real
    N = z.shape[0]
    if model.loss_fn.name == "mse":
        H_out = np.broadcast_to(2.0 / z.size * xp.eye(z.shape[1]), (N,) + (z.shape[1],) * 2)
    else:
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        H_out = (np.einsum("nk,kl->nkl", p, xp.eye(z.shape[1])) - np.einsum("nk,nl->nkl", p, p)) / N
    return np.einsum("nkd,nkl,nle->de", J, H_out, J)


@pytest.mark.parametrize("build", SMALL, ids=SMALL_IDS)
def test_gnvp_matches_explicit_jacobian_product(build):
    model = build()
    theta, X, y = problem(model, seed=5)
    G = explicit_gauss_newton(model, theta, X, y)
    rng = np.random.default_rng(6)
    for _ in range(2):
        v = on_backend(rng.normal(size=theta.shape))
        Gv = model.gnvp(theta, X, y, v)
        assert_close(Gv, G @ v, np.float64, "exact", "Gv")
        assert v @ Gv >= 0  # the loss is convex in the outputs


@pytest.mark.parametrize("build", SMALL, ids=SMALL_IDS)
def test_vjp_is_the_gradient_of_the_cotangent_weighted_outputs(build):
    """``vjp(θ, X, u) = Jᵀu``, the gradient of ``θ -> Σ u ⊙ outputs(θ)``, by forward mode."""
    model = build()
    theta, X, _ = problem(model, seed=11)
    u = on_backend(np.random.default_rng(12).normal(size=(X.shape[0],) + model.output_shape))
    reference = hd.gradient(lambda t: np.sum(u * model.forward(t, X)), theta)
    assert_close(model.vjp(theta, X, u), reference, np.float64, "exact", "Jᵀu")


def test_gnvp_equals_hvp_for_a_model_linear_in_theta():
    """Logistic regression's outputs are linear in θ, so G = H exactly."""
    model = models.logistic_regression(n_features=7, n_classes=3)
    theta, X, y = problem(model, seed=7)
    v = on_backend(np.random.default_rng(8).normal(size=theta.shape))
    assert_close(model.gnvp(theta, X, y, v), model.hvp(theta, X, y, v), np.float64, "exact", "G=H")


def test_projected_hessian_of_a_small_cnn_matches_the_full_hessian_projected():
    model = tiny_cnn()
    theta, X, y = problem(model, N=3, seed=9)
    f = lambda t: model.loss(t, X, y)
    H = hd.hessian(f, theta, chunk_size=2048)  # all D(D+1)/2 basis pairs
    assert_close(H, H.T, np.float64, "exact", "symmetry")
    V = on_backend(np.random.default_rng(10).normal(size=(4, model.num_params)))
    value, g, HK = hd.projected_hessian(f, theta, V)
    assert_close(HK, V @ H @ V.T, np.float64, "exact", "K×K projected Hessian")
    assert_close(g, V @ model.value_and_grad(theta, X, y)[1], np.float64, "exact", "projected g")
    by_backprop = np.stack([model.hvp(theta, X, y, v) for v in V])  # (K, D) rows H V_k
    assert_close(V @ by_backprop.T, HK, np.float64, "exact", "V H Vᵀ by forward-over-reverse")
    columns = np.stack(
        [model.hvp(theta, X, y, e) for e in on_backend(np.eye(model.num_params)[:20])]
    )
    assert_close(columns, H[:20], np.float64, "exact", "Hessian rows by hvp")


@pytest.mark.parametrize("name", ["mnist_cnn", "lenet5", "mlp"])
def test_full_size_models_directional_derivatives(name):
    """On the papers' models, check along random directions (D is too large for a full Hessian)."""
    model = models.build(name)
    theta, X, y = problem(model, N=2, seed=11)
    theta = model.init_params(11) + on_backend(
        0.01 * np.random.default_rng(11).normal(size=theta.shape)
    )
    rng = np.random.default_rng(12)
    v1, v2 = on_backend(rng.normal(size=theta.shape)), on_backend(rng.normal(size=theta.shape))
    forward = model.loss(HyperDual(theta, v1, v2), X, y)
    loss, grad = model.value_and_grad(theta, X, y)
    assert_close(loss, forward.real, np.float64, "exact", "loss")
    assert_close(grad @ v1, forward.eps1[0], np.float64, "exact", "∇L·v1")
    assert_close(model.hvp(theta, X, y, v2) @ v1, forward.eps12[0], np.float64, "exact", "v1ᵀHv2")
    forward32 = model.loss(HyperDual(*(a.astype(np.float32) for a in (theta, v1, v2))), X, y)
    assert forward32.dtype == np.float32
    assert_close(forward32.eps12[0], forward.eps12[0], np.float32, "exact", "float32 v1ᵀHv2")


# ------------------------------------------------------------------------- kinks
def test_relu_at_exactly_zero_agrees_between_forward_mode_and_backprop():
    model = Sequential([Dense(3, 4), ReLU(), Dense(4, 2)], input_shape=(3,))
    theta, _, _ = problem(model, seed=13)
    params = dict(model.unflatten(theta))
    bias_slice = dict(model.param_groups())["dense1.bias"]
    theta[bias_slice] = on_backend(np.array([0.0, 0.5, 0.0, -0.3]))  # X = 0 rows: at the kink
    X = np.zeros((3, 3))
    X[2] = [0.4, -0.2, 0.7]
    X, y = on_backend(X), on_backend(np.array([0, 1, 1]))
    f = lambda t: model.loss(t, X, y)
    grad = model.value_and_grad(theta, X, y)[1]
    assert_close(grad, hd.gradient(f, theta), np.float64, "exact", "gradient at the kink")
    v = on_backend(np.random.default_rng(14).normal(size=theta.shape))
    assert_close(model.hvp(theta, X, y, v), hd.hvp(f, theta, v), np.float64, "exact", "Hv")
    hidden = model.layers[0][1].forward((params["dense1.weight"], params["dense1.bias"]), X)
    assert np.sum(hidden[:2] == 0.0) == 4  # the kinks really are hit (a view of θ)


def test_max_pool_ties_agree_between_forward_mode_and_backprop():
    """Four tied window entries with different derivatives: both modes take the first."""
    model = Sequential(
        [Conv2d(2, 1, 1), MaxPool2d(2), Flatten(), Dense(1, 2)], input_shape=(2, 2, 2)
    )
    theta = np.array([1.0, 1.0, 0.0, 0.5, -0.25, 0.125, 0.0])  # conv w = (1, 1), b = 0
    X = np.array(
        [[[[0.25, 0.75], [0.5, 0.125]], [[0.75, 0.25], [0.5, 0.875]]]]
    )  # every pixel sums to 1.0
    y = np.array([1])
    f = lambda t: model.loss(t, X, y)
    grad = model.value_and_grad(theta, X, y)[1]
    assert_close(grad, hd.gradient(f, theta), np.float64, "exact", "gradient at ties")
    # the first pixel (0.25, 0.75) is the one chosen: ∂L/∂w ∝ (0.25, 0.75)
    np.testing.assert_allclose(grad[:2] / grad[2], [0.25, 0.75], rtol=1e-15)


# ------------------------------------------------------------------------- memory
def peak_bytes(fn, *args):
    """Peak traced memory (bytes) allocated while ``fn(*args)`` runs."""
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_forward_mode_memory_does_not_grow_with_depth_but_backprop_does():
    """Host memory, as ``tracemalloc`` traces it (it does not see a GPU's), so on the host
    whatever the backend under test."""
    rng = np.random.default_rng(15)
    X, y = rng.normal(size=(256, 32)), rng.integers(0, 10, size=256)
    peaks = {}
    for depth in (4, 32):
        model = models.deep_mlp(width=64, depth=depth, n_features=32)
        theta = host(model.init_params(0))
        dual = HyperDual(theta, rng.normal(size=theta.shape), rng.normal(size=theta.shape))
        peaks[depth] = (
            peak_bytes(model.loss, dual, X, y),
            peak_bytes(model.value_and_grad, theta, X, y),
        )
    (fwd4, bp4), (fwd32, bp32) = peaks[4], peaks[32]
    assert fwd32 <= 1.2 * fwd4, peaks  # hyper-dual forward: flat in depth
    assert bp32 >= 4 * bp4, peaks  # back-propagation stores activations


def test_hvp_and_gnvp_take_several_directions_at_once():
    model = tiny_cnn()
    theta, X, y = problem(model, seed=16)
    V = on_backend(np.random.default_rng(17).normal(size=(3, model.num_params)))
    HV = model.hvp(theta, X, y, V)  # the 3 directions ride on the pair axis
    GV = model.gnvp(theta, X, y, V)
    assert HV.shape == GV.shape == V.shape
    for k in range(3):
        assert_close(HV[k], model.hvp(theta, X, y, V[k]), np.float64, "exact", "HV row")
        assert_close(GV[k], model.gnvp(theta, X, y, V[k]), np.float64, "exact", "GV row")
    with pytest.raises(ValueError, match=r"v must have shape \(D,\) or \(K, D\)"):
        model.hvp(theta, X, y, V[:, :-1])


def test_models_run_on_every_backend(xp):
    """The same code on NumPy and, where a GPU is usable, CuPy (θ and data on the device)."""
    model = tiny_cnn()
    theta, X, y = (host(a) for a in problem(model, seed=18))  # the reference runs on the host
    v = np.random.default_rng(19).normal(size=theta.shape)
    loss, grad = model.value_and_grad(xp.asarray(theta), xp.asarray(X), xp.asarray(y))
    Hv = model.hvp(xp.asarray(theta), xp.asarray(X), xp.asarray(y), xp.asarray(v))
    assert hd.namespace(grad) is xp and hd.namespace(Hv) is xp
    ref_loss, ref_grad = model.value_and_grad(theta, X, y)
    assert_close(hd.to_numpy(grad), ref_grad, np.float64, "exact", "gradient")
    assert_close(hd.to_numpy(Hv), model.hvp(theta, X, y, v), np.float64, "exact", "Hv")


def test_mnist_cnn_starts_near_chance_with_pytorch_style_init():
    """The paper's CNN is initialised like PyTorch's defaults: loss near log(10) at the start."""
    model = models.mnist_cnn()
    theta = model.init_params(seed=0)
    X = on_backend(np.random.default_rng(0).normal(size=(16, 1, 28, 28)))
    y = on_backend(np.arange(16) % 10)
    assert abs(float(model.loss(theta, X, y)) - np.log(10)) < 0.5
