"""Complex-step Newton-Krylov: CSDD / CSDD2 against hyper-dual values, and Algorithm 1's parts.

* ``Hp`` by the complex step on the back-propagated gradient (complex θ through
  ``model.value_and_grad``) against ``model.hvp`` (back-propagation on dual numbers) and
  ``hyperdual.hvp`` (forward mode), on LeNet-5 (sigmoid) and a sigmoid MLP;
* ``pᵀHp`` by the bicomplex step on the loss against the hyper-dual pair ``(p, p)``;
* forward differences of the gradient lose accuracy at large and at small steps (the
  supplementary comparison) while the complex step stays exact to rounding;
* the optimizer: the same trajectory with complex-step and hyper-dual derivatives, batch
  screening, early termination, the small-curvature fix, post-batch screening, the
  Taylor-ratio step size, checkpoints.
"""

import numpy as np
import pytest
from backend_helpers import on_backend

import hyperdual as hd
import optimizers
from hyperdual.testing import assert_close, relative_error
from layers import models
from optimizers.curvature import ModelObjective
from optimizers.newton_krylov import ComplexStepNewtonKrylov, csdd, csdd2, curvature_oracles
from optimizers.problems import rosenbrock as rosen
from optimizers.problems import rosenbrock_value_and_grad as rosen_grad

F64 = np.float64


@pytest.fixture(scope="module")
def lenet_batch():
    model = models.lenet5()
    rng = np.random.default_rng(0)
    X = on_backend(rng.uniform(0, 1, (3, 1, 28, 28)))
    y = on_backend(rng.integers(0, 10, 3))
    theta = model.init_params(seed=0)
    return ModelObjective(model, X, y), theta


def test_csdd_and_csdd2_match_hyperdual_on_lenet5(lenet_batch):
    obj, theta = lenet_batch
    p = on_backend(np.random.default_rng(1).standard_normal(theta.shape[0]))
    hp_dual = obj.hvp(theta, p)  # back-prop on θ + p e1
    assert_close(
        csdd(obj.value_and_grad, theta, p),
        hp_dual,
        F64,
        "complex_step",
        "Hp: complex step vs hyper-dual back-propagation (LeNet-5)",
    )
    pHp_dual = float(hd.directional(obj, theta, p)[3])  # hyper-dual pair (p, p)
    assert_close(
        csdd2(obj, theta, p),
        pHp_dual,
        F64,
        "complex_step",
        "pᵀHp: bicomplex step vs hyper-dual (LeNet-5)",
    )
    assert_close(float(p @ hp_dual), pHp_dual, F64, "exact", "pᵀ(Hp) vs pᵀHp")


def test_csdd_matches_forward_mode_hvp_on_a_sigmoid_mlp():
    model = models.deep_mlp(width=5, depth=2, n_features=6, n_classes=3, activation="sigmoid")
    rng = np.random.default_rng(2)
    X, y = on_backend(rng.standard_normal((8, 6))), on_backend(rng.integers(0, 3, 8))
    obj = ModelObjective(model, X, y)
    theta = model.init_params(seed=1)
    p = on_backend(rng.standard_normal(model.num_params))
    assert_close(
        csdd(obj.value_and_grad, theta, p),
        hd.hvp(obj, theta, p),
        F64,
        "complex_step",
        "Hp: complex step vs forward-mode hvp",
    )
    assert_close(
        csdd2(obj, theta, p),
        float(hd.directional(obj, theta, p)[3]),
        F64,
        "complex_step",
        "pᵀHp: bicomplex vs hyper-dual",
    )


def test_finite_differences_vs_complex_step_accuracy(lenet_batch):
    """The supplementary comparison: forward differences of the gradient are limited by the
    step (large h) and by cancellation (small h); the complex step is not."""
    obj, theta = lenet_batch
    p = on_backend(np.random.default_rng(3).standard_normal(theta.shape[0]))
    exact = obj.hvp(theta, p)
    errors = {}
    for h in (1e-2, 1e-5, 1e-8, 1e-12, 1e-16):
        hp, _ = curvature_oracles(obj, obj.value_and_grad, "fd", fd_step=h)
        errors[h] = relative_error(hp(theta, p), exact)
    cs = relative_error(csdd(obj.value_and_grad, theta, p), exact)
    assert cs < 1e-12
    assert min(errors.values()) > 100 * cs
    assert errors[1e-2] > 1e-3  # truncation error O(h)
    assert errors[1e-12] > 1e-6  # cancellation error O(eps / h)
    assert errors[1e-16] > 0.1  # θ + h p mostly rounds to θ
    assert errors[1e-5] < 1e-3 and errors[1e-8] < 1e-3


# ----------------------------------------------------------------------------- the optimizer


def test_complex_and_hyperdual_derivatives_give_the_same_trajectory():
    x0 = np.array([-1.2, 1.0, 0.5, 0.3])
    a = ComplexStepNewtonKrylov(derivatives="complex")
    b = ComplexStepNewtonKrylov(derivatives="hyperdual")
    ta = tb = x0
    for _ in range(8):
        ta, ia = a.step(rosen, ta, grad=rosen_grad, global_grad=rosen_grad)
        tb, ib = b.step(rosen, tb, grad=rosen_grad, global_grad=rosen_grad)
        assert ia.iterations == ib.iterations and ia.stop == ib.stop
        assert relative_error(ta, tb) < 1e-9
    assert float(rosen(ta)) < 0.5 * float(rosen(x0))


def test_taylor_ratio_step_size_lies_in_the_target_interval():
    opt = ComplexStepNewtonKrylov(eta=0.05)
    theta = np.array([-1.2, 1.0, 0.5, 0.3])
    seen = 0
    for _ in range(6):
        delta_before = theta
        theta, info = opt.step(rosen, theta, grad=rosen_grad, global_grad=rosen_grad)
        gamma = info.step_size
        delta = (theta - delta_before) / gamma  # Δw, the unsized direction
        assert np.allclose(opt.delta, theta - delta_before)  # next warm start: the step
        f0, g = rosen_grad(delta_before)
        f1 = float(rosen(delta_before + gamma * delta))
        curv = float(hd.directional(rosen, delta_before, delta)[3])
        model = gamma * (g @ delta) + 0.5 * gamma**2 * curv
        eta = abs((f1 - f0 - model) / (f1 - f0))
        assert f1 < f0  # every step descends
        if gamma == 1.0:
            assert eta <= 0.05
        else:
            assert 0.025 <= eta <= 0.05 or opt.fallbacks > 0
            seen += 1
    assert seen >= 1


def test_batch_screening_skips_batches_against_the_global_gradient():
    opt = ComplexStepNewtonKrylov()
    theta = np.array([-1.2, 1.0, 0.5])
    new, info = opt.step(
        rosen, theta, grad=rosen_grad, global_grad=lambda t: (0.0, -rosen_grad(t)[1])
    )
    assert info.stop == "skipped" and opt.skipped == 1
    assert np.array_equal(new, theta)


def test_early_termination_on_negative_curvature():
    def f(x):  # saddle: curvature −1 along x0, +1 along x1
        return -0.5 * x[0] ** 2 + 0.5 * x[1] ** 2

    def grad(x):
        return f(x), np.stack([-x[0], x[1]])

    opt = ComplexStepNewtonKrylov()
    theta = np.array([2.0, 1.0])  # p = −g = (2, −1): pᵀHp = −4 + 1 < 0
    new, info = opt.step(f, theta, grad=grad, global_grad=grad)
    assert info.stop == "negative_curvature" and opt.early_terminations == 1
    assert info.iterations == 0 and info.curvature[0] == pytest.approx(-3.0)
    assert np.array_equal(new, theta)  # no direction found on this batch


def test_small_curvature_fix_on_a_linear_function():
    def f(x):
        return np.sum(x * np.array([1.0, -2.0, 0.5]))

    def grad(x):
        return f(x), np.array([1.0, -2.0, 0.5]) + 0 * x

    opt = ComplexStepNewtonKrylov(max_krylov=1)
    theta = np.zeros(3)
    new, info = opt.step(f, theta, grad=grad, global_grad=grad)
    g = np.array([1.0, -2.0, 0.5])
    # κ = 0 → 0.01‖p‖, α = ‖r‖² / κ = 100 ‖g‖, Δw = −α g; linear f: η = 0, γ = 1
    assert opt.small_curvature_fixes == 1 and info.step_size == 1.0
    assert_close(new, -100 * np.linalg.norm(g) * g, F64, "exact", "fixed step")


def test_post_batch_screening_removes_the_ascent_component():
    def f(x):
        return 0.5 * np.sum(x * x) - 0.0 * x[0]

    def grad(x):
        return f(x), x

    # warm start along +g (ascent), Krylov loop ended immediately by rtol: the direction
    # along g must be projected out, leaving Δw·g = 0 → no step
    opt = ComplexStepNewtonKrylov(rtol=1e9, warm_start=1.0)
    theta = np.array([1.0, 2.0])
    opt.delta = 0.3 * theta + np.array([2.0, -1.0])  # Δw̃·g = 0.3‖g‖² > 0
    new, info = opt.step(f, theta, grad=grad, global_grad=grad)
    assert info.iterations == 0
    step = new - theta
    assert abs(step @ theta) < 1e-12 * np.linalg.norm(step) * np.linalg.norm(theta)
    assert np.linalg.norm(step) > 0


def test_global_gradient_substitute_and_checkpoint_roundtrip():
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((16, 4)) for _ in range(6)]
    targets = [b @ np.array([1.0, -1.0, 0.5, 2.0]) for b in batches]

    def batch_fns(k):
        X, t = batches[k], targets[k]

        def f(w):
            return np.mean((X @ w - t) ** 2) + 0.1 * np.sum(w**4)

        def g(w):
            r = X @ w - t
            return f(w), 2 * X.T @ r / len(t) + 0.4 * w**3

        return f, g

    a = ComplexStepNewtonKrylov(seed=0)
    w = np.zeros(4)
    for k in range(3):
        w, _ = a.step(*batch_fns(k)[:1], w, grad=batch_fns(k)[1])
    assert a.g_ema is not None
    state = a.state_dict()
    b = ComplexStepNewtonKrylov(seed=0)
    b.load_state_dict(state)
    wa = wb = w
    for k in range(3, 6):
        f, g = batch_fns(k)
        wa, _ = a.step(f, wa, grad=g)
        wb, _ = b.step(f, wb, grad=g)
    assert np.array_equal(wa, wb)
    assert float(batch_fns(0)[0](wa)) < float(batch_fns(0)[0](np.zeros(4)))


def test_trains_lenet5_on_a_fixed_batch(lenet_batch):
    obj, theta = lenet_batch
    opt = optimizers.build("cs-newton-krylov", lr=1.0, max_krylov=5)
    losses = [float(obj(theta))]
    t = theta
    for _ in range(3):
        t, info = opt.step(obj, t)  # grad from obj.value_and_grad
        losses.append(float(obj(t)))
    assert losses[-1] < losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
