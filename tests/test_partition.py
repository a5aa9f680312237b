"""Partition Newton against its identities (paper appendix C) and a dense reference.

* S = 1 (trivial partition) is Cauchy's steepest descent ``−(gᵀg / gᵀHg) g``;
* S = D (discrete partition) is Newton's step ``−H⁻¹ g``;
* the canonical partition of a network (each weight tensor and each bias) gives
  ``H̄ = U H Uᵀ`` and ``ḡ = U g`` with U the masked gradients, H from ``hyperdual.hessian``;
* invariance under a per-group rescaling of the parameters (paper §3.1, fifth property);
* jitter when H̄ is singular.
"""

import numpy as np
import pytest
from backend_helpers import host, on_backend

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close, relative_error
from layers import models
from optimizers.curvature import ModelObjective
from optimizers.partition import (
    PartitionNewton,
    partition_directions,
    pseudo_hessian,
    resolve_groups,
)
from optimizers.problems import rosenbrock as rosen
from optimizers.problems import rosenbrock_value_and_grad as rosen_grad

F64 = np.float64


def tiny_network(seed=0, N=9, hidden=3, features=4, classes=3, activation="tanh"):
    model = models.deep_mlp(
        width=hidden, depth=1, n_features=features, n_classes=classes, activation=activation
    )
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, features))
    y = rng.integers(0, classes, N)
    theta = model.init_params(seed=seed) + on_backend(0.2 * rng.standard_normal(model.num_params))
    return model, ModelObjective(model, on_backend(X), on_backend(y)), theta


def regression_network(seed=0, N=20):
    """Dense 4→3, tanh, Dense 3→2 with mean squared error: a non-singular Hessian (a softmax
    cross-entropy Hessian is singular: adding a constant to every logit changes nothing)."""
    from layers.activations import Tanh
    from layers.dense import Dense
    from layers.sequential import Sequential

    model = Sequential([Dense(4, 3), Tanh(), Dense(3, 2)], input_shape=(4,), loss="mse")
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((N, 4)), rng.standard_normal((N, 2))
    theta = model.init_params(seed=seed) + on_backend(0.3 * rng.standard_normal(model.num_params))
    obj = ModelObjective(model, on_backend(X), on_backend(Y))
    return obj, obj.value_and_grad, theta


PROBLEMS = {
    "rosenbrock": lambda: (rosen, rosen_grad, np.array([-1.2, 1.0, 0.5, 0.3, 0.9])),
    "classifier": lambda: (lambda o, t: (o, o.value_and_grad, t))(*tiny_network()[1:]),
    "regression": regression_network,
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_trivial_partition_is_cauchy_steepest_descent(problem):
    f, grad, theta = PROBLEMS[problem]()
    g = grad(theta)[1]
    H = hd.hessian(f, theta)
    cauchy = -(g @ g) / (g @ H @ g) * g
    new, info = PartitionNewton(partition="trivial").step(f, theta, grad=grad)
    assert_close(new - theta, cauchy, F64, "exact", "S = 1 step")
    assert info.jitter == 0.0


@pytest.mark.parametrize("problem", ["rosenbrock", "regression"])
def test_discrete_partition_is_newton(problem):
    f, grad, theta = PROBLEMS[problem]()
    g = host(grad(theta)[1])  # the dense reference on the host
    assert np.all(g != 0)
    H = host(hd.hessian(f, theta))
    assert np.linalg.cond(H) < 1e6
    newton = -np.linalg.solve(H, g)
    opt = PartitionNewton(partition="discrete")
    new, info = opt.step(f, theta, grad=grad)
    # H̄ = G H G is solved, then multiplied back by G: rounding grows with cond(G H G)
    assert relative_error(new - theta, newton) < 1e-8
    b, _ = optimizers.Newton(lr=1.0).step(f, theta)
    assert relative_error(new - theta, b - theta) < 1e-7


def test_canonical_partition_of_a_network():
    model, obj, theta = tiny_network()
    groups = model.param_groups()
    assert [name for name, _ in groups] == [
        "dense1.weight",
        "dense1.bias",
        "dense2.weight",
        "dense2.bias",
    ]
    g = host(obj.value_and_grad(theta)[1])  # the dense reference on the host
    U = np.zeros((len(groups), len(theta)))
    for s, (_, sl) in enumerate(groups):
        U[s, sl] = g[sl]
    H = host(hd.hessian(obj, theta))
    H_bar, g_bar = U @ H @ U.T, U @ g
    eta = np.linalg.solve(H_bar, g_bar)
    opt = optimizers.build("partition-newton", lr=1.0)
    new, info = opt.step(obj, theta, grad=obj.value_and_grad)
    assert opt.last.names == [name for name, _ in groups]
    assert_close(opt.last.H_bar, H_bar, F64, "exact", "pseudo-Hessian")
    assert_close(opt.last.g_bar, g_bar, F64, "exact", "pseudo-gradient")
    assert_close(opt.last.eta, eta, F64, "fd_first", "step sizes η")
    assert relative_error(new - theta, -U.T @ eta) < 1e-9
    # explicit groups= gives the same step as f.param_groups()
    new2, _ = PartitionNewton().step(
        lambda t: obj(t), theta, grad=obj.value_and_grad, groups=groups
    )
    assert relative_error(new2, new) < 1e-14


def test_invariance_under_per_group_rescaling():
    """Training θ̃ = α_s θ_s (per group) follows the same trajectory (paper §3.1)."""
    model, obj, theta = tiny_network()
    groups = model.param_groups()
    scale = np.ones_like(theta)
    for s, (_, sl) in enumerate(groups):
        scale[sl] = [0.1, 3.0, 7.0, 0.5][s]

    def f_scaled(t):
        return obj(t / scale)

    def grad_scaled(t):
        value, g = obj.value_and_grad(t / scale)
        return value, g / scale

    a, b = PartitionNewton(lr=0.5), PartitionNewton(lr=0.5)
    t, ts = theta, theta * scale
    for _ in range(3):
        t, _ = a.step(obj, t, grad=obj.value_and_grad)
        ts, _ = b.step(f_scaled, ts, grad=grad_scaled, groups=groups)
    assert relative_error(ts / scale, t) < 1e-10


def test_singular_pseudo_hessian_gets_jitter():
    def f(x):
        return 0.5 * (x[0] + x[1]) ** 2 + 0 * x[2] + x[2]

    theta = np.array([1.0, 1.0, 0.0])
    opt = PartitionNewton(partition=[[0], [1], [2]])
    new, info = opt.step(f, theta)
    # groups 0 and 1: u = g_i e_i with g_0 = g_1 = 2, H̄ = 4 [[1, 1], [1, 1]] (singular)
    assert info.jitter > 0 and opt.jitter_count == 1
    assert np.all(np.isfinite(new))
    assert float(f(new)) < float(f(theta))


def test_zero_gradient_groups_are_left_out():
    def f(x):
        return np.sum((x[:2] - 1) ** 2) + np.sum(x[2:] ** 2)

    theta = np.array([0.0, 3.0, 0.0, 0.0])  # group 1 (x[2:]) has g = 0
    opt = PartitionNewton(partition=[("a", slice(0, 2)), ("b", slice(2, 4))])
    new, info = opt.step(f, theta)
    assert opt.last.names == ["a"] and info.jitter == 0.0
    assert_close(new, np.array([1.0, 1.0, 0.0, 0.0]), F64, "exact", "exact minimiser")
    new, info = opt.step(f, np.array([1.0, 1.0, 0.0, 0.0]))  # g = 0: no step
    assert info.step_norm == 0.0


def test_group_validation():
    with pytest.raises(ValueError, match="partition"):
        resolve_groups([slice(0, 2), slice(1, 3)], 3)
    with pytest.raises(ValueError, match="partition"):
        resolve_groups([slice(0, 2)], 3)
    with pytest.raises(ValueError, match="canonical partition needs"):
        PartitionNewton().step(rosen, np.zeros(3))
    groups = resolve_groups([("w", slice(0, 2)), np.array([2])], 3)
    V = partition_directions(np.array([1.0, 2.0, 3.0]), groups)
    assert_close(V, np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]), F64, "exact", "masks")


def test_pseudo_hessian_is_the_partition_steps():
    """optimizers.partition.pseudo_hessian: H̄ and ḡ of the canonical partition, as the
    optimizer builds them (its heat maps: paper_experiments/tests/test_companion.py)."""
    model, obj, theta = tiny_network()
    names, g_bar, H_bar = pseudo_hessian(model, theta, obj.X, obj.y)
    opt = PartitionNewton()
    opt.step(obj, theta, grad=obj.value_and_grad)
    assert names == opt.last.names
    assert_close(H_bar, opt.last.H_bar, F64, "exact", "pseudo-Hessian of the experiment")
    assert_close(g_bar, opt.last.g_bar, F64, "exact", "pseudo-gradient of the experiment")
