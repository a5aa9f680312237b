"""Two whole graphs built with ``onnx.helper``: a CNN with batch norm and padding, and a
transformer block (multi-head attention, softmax, LayerNorm, Erf-based GELU, residuals, a
LayerNorm spelled out in primitive ops, mean pooling), both with a symbolic batch dimension.

* the forward pass against plain-NumPy references (and onnxruntime where installed);
* ``hyperdual.projected_hessian`` with K = 3 against the full Hessian (``hyperdual.hessian``)
  projected, and against the bicomplex step, ≤ 1e-12 relative in float64 (tighter than the
  tolerance table's 1e-11: the bar set for ONNX models); float32 against the float64 references;
* the gradient (Dual numbers) against central differences and the projected gradient, HVPs
  against the Hessian, the MSE loss, and FoMoH-KD steps on the model (batch-norm statistics
  held constant).
"""

import numpy as np
import pytest

pytest.importorskip("onnx")

from backend_helpers import host, on_backend
from onnx_helpers import (
    as_float32,
    cnn_model,
    cnn_reference,
    onnxruntime_outputs,
    transformer_model,
    transformer_reference,
)

import hyperdual as hd
from hyperdual.testing import assert_close, relative_error
from layers import from_onnx

STRICT = 1e-12  # the bar for projected Hessians in float64

MODELS = {
    "cnn": (cnn_model, cnn_reference, (2, 6, 6), 3),
    "transformer": (transformer_model, transformer_reference, (3, 4), 3),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def setup(request):
    build, reference, sample_shape, classes = MODELS[request.param]
    proto = build()
    model = from_onnx(proto)
    rng = np.random.default_rng(17)  # the CNN's ReLU and max-pool kinks are ≥ 5e-3 away
    X = on_backend(rng.normal(size=(4,) + sample_shape))
    y = on_backend(rng.integers(0, classes, size=4))
    theta = model.init_params()

    def f(t):
        return model.loss(t, X, y)

    H = hd.hessian(f, theta)  # D(D+1)/2 hyper-dual pairs, once per model
    return dict(
        name=request.param,
        proto=proto,
        model=model,
        reference=reference,
        X=X,
        y=y,
        theta=theta,
        f=f,
        H=H,
    )


def test_parameters_are_the_initializers_in_graph_order(setup):
    model, proto = setup["model"], setup["proto"]
    names = [t.name for t in proto.graph.initializer]
    assert [n for n, _ in model.param_shapes()] == names
    assert [n for n, _ in model.param_groups()] == names
    theta = setup["theta"]
    assert theta.dtype == np.float64 and theta.shape == (model.num_params,)
    for name, view in model.unflatten(theta):
        np.testing.assert_array_equal(host(view), host(dict(model.unflatten(theta))[name]))
    flat = model.flatten([v for _, v in model.unflatten(theta)])
    np.testing.assert_array_equal(host(flat), host(theta))


@pytest.mark.parametrize("batch", [1, 4, 7])
def test_forward_matches_numpy_reference_for_any_batch(setup, batch):
    model = setup["model"]
    X = np.random.default_rng(batch).normal(size=(batch,) + setup["X"].shape[1:])
    params = {n: host(v) for n, v in model.unflatten(setup["theta"])}
    out = model.forward(setup["theta"], on_backend(X))
    assert out.shape == (batch, 3)
    assert_close(out, setup["reference"](params, X), np.float64, "exact", setup["name"])


def test_forward_matches_onnxruntime(setup):
    """onnxruntime has no double Conv or Erf kernels: it runs a float32 copy."""
    ours = setup["model"].forward(setup["theta"], setup["X"])
    feeds = {"x": host(setup["X"]).astype(np.float32)}
    theirs = onnxruntime_outputs(as_float32(setup["proto"]), feeds)
    if theirs is None:
        pytest.skip("onnxruntime is not installed")
    assert_close(ours, theirs[0], np.float32, "exact", setup["name"])


def test_projected_hessian_k3_against_full_hessian_and_bicomplex(setup):
    f, theta, H = setup["f"], setup["theta"], setup["H"]
    V = on_backend(np.random.default_rng(2).normal(size=(3, theta.size)))
    value, g, Hk = hd.projected_hessian(f, theta, V)
    np.testing.assert_array_equal(host(Hk), host(Hk.T))
    err_full = relative_error(Hk, V @ H @ V.T)
    i, j = np.triu_indices(3)
    b_value, b1, b12 = (host(b) for b in hd.bicomplex_directional(f, theta, V[i], V[j]))
    B = np.zeros((3, 3))
    B[i, j] = B[j, i] = b12
    err_bc = relative_error(Hk, B)
    err_g = relative_error(g, b1[i == j])
    print(
        f"{setup['name']}: D = {theta.size}, K×K Hessian rel. error vs full Hessian "
        f"{err_full:.2e}, vs bicomplex {err_bc:.2e}; g vs bicomplex {err_g:.2e}"
    )
    assert err_full <= STRICT and err_bc <= STRICT and err_g <= STRICT
    assert relative_error(value, b_value[0]) <= STRICT


def test_projected_hessian_float32(setup):
    f, theta = setup["f"], setup["theta"]
    V = on_backend(np.random.default_rng(3).normal(size=(3, theta.size)))
    value, g, Hk = hd.projected_hessian(f, theta.astype(np.float32), V.astype(np.float32))
    assert Hk.dtype == np.float32
    assert_close(Hk, V @ setup["H"] @ V.T, np.float32, "exact", "float32 K×K Hessian")
    assert_close(g, V @ hd.gradient(f, theta), np.float32, "exact", "float32 projected gradient")


def test_hessian_is_symmetric_and_matches_hvp(setup):
    f, theta, H = setup["f"], setup["theta"], setup["H"]
    assert relative_error(H, H.T) <= STRICT
    v = on_backend(np.random.default_rng(4).normal(size=theta.size))
    assert_close(hd.hvp(f, theta, v), H @ v, np.float64, "exact", "H v")


def kink_distance(setup):
    """How far the CNN's ReLU inputs are from 0 and its max-pool winners from the runners-up
    (finite differences need both well above their step); inf for the smooth transformer."""
    if setup["name"] != "cnn":
        return np.inf
    bn, r1 = (host(a) for a in setup["model"].outputs(setup["theta"], setup["X"], ["bn", "r1"]))
    windows = np.sort(
        r1.reshape(4, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(4, 3, 3, 3, 4), axis=-1
    )
    positive = windows[..., -1] > 0
    return min(np.min(np.abs(bn)), np.min((windows[..., -1] - windows[..., -2])[positive]))


def test_gradient_by_dual_numbers_against_finite_differences(setup):
    f, theta = setup["f"], setup["theta"]
    assert kink_distance(setup) > 1e-3
    g = hd.gradient(f, theta)
    assert_close(g, hd.fd_gradient(f, theta), np.float64, "fd_first", "gradient")
    u = on_backend(np.random.default_rng(5).normal(size=theta.size))
    assert_close(u @ g, hd.bicomplex_directional(f, theta, u)[1], np.float64, "exact", "uᵀg")


def test_mse_loss_option(setup):
    model = from_onnx(setup["proto"], loss="mse")
    X, theta = setup["X"], setup["theta"]
    target = on_backend(np.random.default_rng(6).normal(size=(X.shape[0], 3)))
    expected = np.mean((model.forward(theta, X) - target) ** 2)
    assert_close(model.loss(theta, X, target), expected, np.float64, "exact", "mse")
    v = on_backend(np.random.default_rng(7).normal(size=theta.size))
    d1 = hd.directional(lambda t: model.loss(t, X, target), theta, v)[1]
    assert_close(
        d1,
        hd.bicomplex_directional(lambda t: model.loss(t, X, target), theta, v)[1],
        np.float64,
        "exact",
        "mse derivative",
    )


def test_optimizers_step_on_the_model(setup):
    """FoMoH-KD runs on the ONNX objective. Batch-norm statistics are held constant
    (``parameters=``): as parameters an optimizer could make a running variance negative."""
    from optimizers import FoMoHKD

    proto, X, y = setup["proto"], setup["X"], setup["y"]
    trainable = [t.name for t in proto.graph.initializer if "running" not in t.name]
    model = from_onnx(proto, parameters=trainable)
    assert [n for n, _ in model.param_shapes()] == trainable

    def f(t):
        return model.loss(t, X, y)

    theta = model.init_params()
    optimizer = FoMoHKD(K=3, lr=0.1, seed=0)
    for _ in range(3):
        new_theta, info = optimizer.step(f, theta)
        assert np.all(np.isfinite(new_theta)) and np.any(new_theta != theta)
        assert_close(info.loss, f(theta), np.float64, "exact", "loss reported by the step")
        theta = new_theta
