"""Newton, damped Newton, Hessian-free Newton-CG and Gauss-Newton-CG against references.

References:

* SciPy's ``minimize(method="Newton-CG")`` on N-D Rosenbrock: at every one of SciPy's iterates,
  our truncated CG gives SciPy's search direction (SciPy then scales it by its line search);
* dense solves ``(H + λI)⁻¹ g`` with H from ``hyperdual.hessian`` (checked against SciPy's
  closed-form ``rosen_hess``) and ``(G + λI)⁻¹ g`` with ``G = Jᵀ H_out J`` assembled
  explicitly on a tiny network (J column by column, H_out the softmax cross-entropy Hessian
  ``(diag p − p pᵀ)/N`` per sample).
"""

import numpy as np
import pytest
import scipy.optimize as so
from backend_helpers import host, on_backend

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close, relative_error
from layers import models
from optimizers.curvature import ModelObjective, gauss_newton_vp, hvp_operator, truncated_cg
from optimizers.hessian_free import (
    DampedNewton,
    HessianFreeGaussNewton,
    HessianFreeNewton,
    dense_newton_solve,
    hessian_by_backprop,
)
from optimizers.problems import rosenbrock as rosen
from optimizers.problems import rosenbrock_value_and_grad as rosen_grad

F64 = np.float64


def tiny_problem(seed=0, N=7, hidden=3, features=5, classes=3):
    """A tiny network, its data and θ, on the backend under test."""
    model = models.mlp(hidden=hidden, n_features=features, n_classes=classes)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, features))
    y = rng.integers(0, classes, N)
    theta = model.init_params(seed=seed) + on_backend(0.1 * rng.standard_normal(model.num_params))
    return model, on_backend(X), on_backend(y), theta


# ----------------------------------------------------------------------------- CG vs SciPy


def test_rosenbrock_references_agree():
    x = np.array([-1.2, 1.0, 0.5, 0.3, 1.4])
    p = np.random.default_rng(0).standard_normal(5)
    assert_close(rosen_grad(x)[1], so.rosen_der(x), F64, "exact", "closed-form gradient")
    assert_close(hd.hessian(rosen, x), so.rosen_hess(x), F64, "exact", "hyper-dual Hessian")
    assert_close(hd.hvp(rosen, x, p), so.rosen_hess_prod(x, p), F64, "exact", "hvp")


def test_truncated_cg_gives_scipy_newton_cg_directions():
    """SciPy's Newton-CG iterates x_k: x_{k+1} − x_k = α_k · (our CG direction at x_k)."""
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.3, 0.2])
    iterates = [x0.copy()]
    result = so.minimize(
        rosen,
        x0,
        jac=so.rosen_der,
        method="Newton-CG",
        hessp=lambda x, p: hd.hvp(rosen, x, p),
        callback=lambda xk: iterates.append(np.array(xk, copy=True)),
    )
    assert result.success and np.allclose(result.x, 1.0, atol=1e-3)
    assert len(iterates) > 30
    stops, unit_steps = set(), 0
    for x, x_next in zip(iterates[:-1], iterates[1:]):
        cg = truncated_cg(lambda v, x=x: hd.hvp(rosen, x, v), so.rosen_der(x), maxiter=20 * 6)
        direction, moved = -cg.x, x_next - x
        alpha = moved @ direction / (direction @ direction)
        assert alpha > 0
        assert relative_error(alpha * direction, moved) < 1e-9
        if abs(alpha - 1) < 1e-12:  # SciPy's line search kept the unit step
            unit_steps += 1
            assert relative_error(direction, moved) < 1e-9
        stops.add(cg.stop)
    assert {"converged", "negative_curvature"} <= stops
    assert unit_steps > 10


def test_truncated_cg_on_positive_definite_system_is_exact():
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    A = (Q * np.linspace(0.5, 20, 8)) @ Q.T
    b = rng.standard_normal(8)
    res = truncated_cg(lambda v: A @ v, b, maxiter=50, tol=1e-14)
    assert res.stop == "converged" and res.iterations <= 12
    assert_close(res.x, np.linalg.solve(A, b), F64, "fd_first", "CG solution")
    assert relative_error(res.x, np.linalg.solve(A, b)) < 1e-10
    warm = truncated_cg(lambda v: A @ v, b, maxiter=50, tol=1e-14, x0=res.x)
    assert warm.iterations <= 1


def test_truncated_cg_negative_curvature_and_flat():
    A = np.diag([2.0, -1.0, 3.0])
    b = np.array([0.1, 1.0, 0.1])  # bᵀAb = 0.02 − 1 + 0.03 < 0
    res = truncated_cg(lambda v: A @ v, b)
    curv = b @ A @ b
    assert res.stop == "negative_curvature" and res.iterations == 1
    assert_close(res.x, (b @ b) / -curv * b, F64, "exact", "steepest-descent fallback")
    res = truncated_cg(lambda v: 0 * v, b)  # H = 0: flat
    assert res.stop == "flat" and not res.x.any()
    res = truncated_cg(lambda v: A @ v, np.zeros(3))
    assert res.stop == "zero_rhs" and not res.x.any()


# ----------------------------------------------------------------------------- optimizers


def test_hf_newton_converges_quadratically_on_rosenbrock():
    opt = HessianFreeNewton(lr=1.0, damping=0.0, cg_maxiter=None, cg_tol=1e-12)
    theta = np.array([0.9, 0.8, 0.65, 0.42])
    errors = []
    for _ in range(12):
        theta, info = opt.step(rosen, theta, grad=rosen_grad)
        errors.append(np.max(np.abs(theta - 1)))
    assert errors[-1] < 1e-12
    k = next(i for i, e in enumerate(errors) if e < 1e-3)
    assert errors[k + 1] < 100 * errors[k] ** 2 + 1e-14  # quadratic convergence


@pytest.mark.parametrize("damping", [0.0, 50.0])
def test_hf_newton_full_cg_equals_dense_damped_newton(damping):
    theta = np.array([0.95, 0.9, 0.8, 0.66, 0.4])  # H positive definite here
    H = hd.hessian(rosen, theta)
    assert np.all(np.linalg.eigvalsh(H) > 0)
    g = rosen_grad(theta)[1]
    expected = -0.5 * np.linalg.solve(H + damping * np.eye(5), g)
    hf = HessianFreeNewton(lr=0.5, damping=damping, cg_maxiter=100, cg_tol=1e-15)
    new, info = hf.step(rosen, theta, grad=rosen_grad)
    assert relative_error(new - theta, expected) < 1e-9
    assert info.stop == "converged" and info.iterations <= 10
    for hessian in ("forward", "backprop"):
        dn = DampedNewton(lr=0.5, damping=damping, hessian=hessian)
        new, info = dn.step(rosen, theta, grad=rosen_grad)
        assert relative_error(new - theta, expected) < 1e-10, hessian
        assert info.jitter == 0.0
    assert_close(
        hessian_by_backprop(rosen_grad, theta, chunk_size=2),
        H,
        F64,
        "exact",
        "Hessian by back-propagation on dual numbers",
    )


def test_damped_newton_zero_damping_is_newton():
    theta = np.array([-1.2, 1.0, 0.5])
    a, _ = DampedNewton(lr=1.0, damping=0.0).step(rosen, theta, grad=rosen_grad)
    b, _ = optimizers.Newton(lr=1.0).step(rosen, theta)
    assert relative_error(a - theta, b - theta) < 1e-10


def test_dense_newton_solve_large_path_jitters_singular(monkeypatch):
    """Above EIGH_MAX: Cholesky / LDLᵀ, jitter on a singular H (checked with a low EIGH_MAX)."""
    import optimizers.hessian_free as hf

    monkeypatch.setattr(hf, "EIGH_MAX", 2)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    H = A @ A.T + np.eye(6)
    g = rng.standard_normal(6)
    x, jitter, _ = dense_newton_solve(H, g, damping=1.0)
    assert jitter == 0.0 and relative_error(x, np.linalg.solve(H + np.eye(6), g)) < 1e-12
    H_ind = H - 3 * np.eye(6) * np.linalg.eigvalsh(H)[0]  # indefinite: LDLᵀ path
    x, jitter, _ = dense_newton_solve(H_ind, g)
    assert jitter == 0.0 and relative_error(x, np.linalg.solve(H_ind, g)) < 1e-9
    u = rng.standard_normal(6)
    x, jitter, _ = dense_newton_solve(np.outer(u, u), g)  # rank 1: singular
    assert jitter > 0 and np.all(np.isfinite(x))


# ----------------------------------------------------------------------------- tiny network


def test_hvp_sources_agree_on_a_network():
    model, X, y, theta = tiny_problem()
    obj = ModelObjective(model, X, y)
    v = on_backend(np.random.default_rng(1).standard_normal(model.num_params))
    given, src1 = hvp_operator(obj, theta)
    dual, src2 = hvp_operator(lambda t: model.loss(t, X, y), theta, grad=obj.value_and_grad)
    fwd, src3 = hvp_operator(lambda t: model.loss(t, X, y), theta)
    assert (src1, src2, src3) == ("given", "dual-backprop", "forward")
    assert_close(given(v), fwd(v), F64, "exact", "model.hvp vs forward mode")
    assert_close(dual(v), fwd(v), F64, "exact", "dual back-propagation vs forward mode")


def test_damped_newton_backprop_hessian_on_a_network():
    model, X, y, theta = tiny_problem()
    obj = ModelObjective(model, X, y)
    H = hd.hessian(obj, theta)
    assert_close(
        hessian_by_backprop(obj.value_and_grad, theta, 7),
        H,
        F64,
        "exact",
        "network Hessian by back-propagation",
    )
    g = obj.value_and_grad(theta)[1]
    new, _ = DampedNewton(lr=0.5, damping=2.0).step(obj, theta, grad=obj.value_and_grad)
    expected = -0.5 * np.linalg.solve(host(H) + 2 * np.eye(len(g)), host(g))  # on the host
    assert relative_error(new - theta, expected) < 1e-9


def dense_gauss_newton(model, X, y, theta):
    """G = Jᵀ H_out J explicitly: J (N·C, D) by basis JVPs, H_out for the mean cross-entropy
    (assembled on the host)."""
    D = model.num_params
    basis = on_backend(np.eye(D))
    J = host(np.stack([model.jvp(theta, X, e)[1].reshape(-1) for e in basis], axis=1))
    z = host(model.forward(theta, X))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    N, C = p.shape
    H_out = np.zeros((N * C, N * C))
    for n in range(N):
        H_out[n * C : (n + 1) * C, n * C : (n + 1) * C] = (np.diag(p[n]) - np.outer(p[n], p[n])) / N
    return J.T @ H_out @ J


def test_gauss_newton_cg_equals_dense_solve_on_a_network():
    model, X, y, theta = tiny_problem()
    obj = ModelObjective(model, X, y)
    G = dense_gauss_newton(model, X, y, theta)
    assert np.linalg.eigvalsh(G).min() > -1e-12  # positive semi-definite
    v_host = np.random.default_rng(2).standard_normal(model.num_params)
    v = on_backend(v_host)
    assert_close(obj.gnvp(theta, v), G @ v_host, F64, "exact", "model.gnvp vs dense JᵀHJ")
    generic = gauss_newton_vp(
        lambda t: model.forward(t, X), lambda z: model.loss_fn.value(z.reshape(len(y), -1), y)
    )
    assert_close(generic(theta, v), G @ v_host, F64, "exact", "forward-mode GN product")
    lam = 0.5
    g = obj.value_and_grad(theta)[1]
    opt = HessianFreeGaussNewton(lr=1.0, damping=lam, cg_maxiter=200, cg_tol=1e-14)
    new, info = opt.step(obj, theta, grad=obj.value_and_grad)
    expected = -np.linalg.solve(G + lam * np.eye(len(g)), host(g))
    assert relative_error(new - theta, expected) < 1e-9
    assert info.stop == "converged"
    # the same through an explicit gnvp= and through the plain-function product
    new2, _ = HessianFreeGaussNewton(lr=1.0, damping=lam, cg_maxiter=200, cg_tol=1e-14).step(
        lambda t: model.loss(t, X, y), theta, grad=obj.value_and_grad, gnvp=generic
    )
    assert relative_error(new2 - theta, expected) < 1e-9


def test_gauss_newton_without_products_raises_clearly():
    model, X, y, theta = tiny_problem()
    with pytest.raises(ValueError, match="Gauss-Newton-vector products"):
        HessianFreeGaussNewton().step(lambda t: model.loss(t, X, y), theta)


def test_registry_and_training_loop_style_closures():
    """The training loop passes closures f and g only: HF-Newton and damped Newton work."""
    model, X, y, theta = tiny_problem()

    def f(t):
        return model.loss(t, X, y)

    def g(t):
        return model.value_and_grad(t, X, y)

    for name, kw in [
        ("hf-newton", {}),
        ("damped-newton", {"damping": 1.0}),
        ("hf-gauss-newton", {}),
    ]:
        opt = optimizers.build(name, lr=0.5, seed=0, **kw)
        objective = ModelObjective(model, X, y) if name == "hf-gauss-newton" else f
        losses = [float(f(theta))]
        t = theta
        for _ in range(5):
            t, info = opt.step(objective, t, grad=g)
            losses.append(float(f(t)))
        assert losses[-1] < losses[0], name
        state = opt.state_dict()
        opt.load_state_dict(state)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("hf-gauss-newton", {}),
        ("hf-newton", {}),
        ("partition-newton", {}),
        ("cs-newton-krylov", {"max_krylov": 3}),
    ],
)
def test_training_loop_runs_the_companion_optimizers(name, kw):
    """hyperlab.train passes ModelObjective(model, X, y): the model-based methods get their
    products (Gauss-Newton's G v, the partition's parameter groups) through it."""
    from hyperlab.train import RunConfig, train

    config = RunConfig(
        dataset="digits",
        model="mlp",
        model_kwargs={"hidden": 8},
        optimizer=name,
        lr=1.0 if name == "cs-newton-krylov" else 0.5,
        epochs=1,
        batch_size=256,
        dtype="float64",
        max_train=768,
        optimizer_kwargs=kw,
    )
    result = train(config, None, quiet=True)
    assert result.status == "completed"
    history = result.history[0]
    assert np.isfinite(history["train_loss"]) and history["steps"] == 3
