"""The derivative API and the number type on every available backend (CuPy on a GPU)."""

import numpy as np

import hyperdual as hd
from hyperdual import HyperDual
from hyperdual.testing import assert_close


def loss(theta):
    """A smooth function touching matmul, reductions, the rule table and indexing."""
    W = theta[:6].reshape(2, 3)
    b = theta[6:8]
    xp = theta.xp if isinstance(theta, hd.MultiPartArray) else hd.namespace(theta)
    X = xp.linspace(-1.0, 1.0, 12).reshape(4, 3).astype(theta.dtype)  # on θ's device
    h = np.tanh(X @ W.T + b)
    return np.mean(np.exp(-(h**2))) + np.sum(hd.sigmoid(theta) ** 2)


def test_derivatives_agree_with_numpy_on_every_backend(xp):
    rng = np.random.default_rng(3)
    theta_np = rng.normal(size=8)
    V_np = rng.normal(size=(3, 8))
    theta, V = xp.asarray(theta_np), xp.asarray(V_np)
    value, g, H = hd.projected_hessian(loss, theta, V)
    assert type(H) is type(theta)  # results stay on the device they came from
    _, d1, _, d12 = hd.directional(loss, theta, V[0], V[1])  # the pairwise path too
    assert hd.namespace(d1, d12, g) is xp
    ref_value, ref_g, ref_H = hd.projected_hessian(loss, theta_np, V_np)
    assert_close(hd.to_numpy(g), ref_g, np.float64, "exact", "g")
    assert_close(hd.to_numpy(H), ref_H, np.float64, "exact", "H")
    full = hd.hessian(loss, theta)
    assert_close(hd.to_numpy(full), hd.hessian(loss, theta_np), np.float64, "exact", "Hessian")


def test_hyperdual_parts_live_in_the_operands_namespace(xp):
    x = HyperDual(xp.ones(3), xp.ones((2, 3)))
    y = np.exp(x) @ xp.ones(3)
    assert hd.namespace(*y.parts) is xp and y.xp is xp
    assert x.xp is xp
