"""Optimizers: each step against a hand-computed reference, jitter, seeds, checkpoints, schedules.

The references are computed here with plain NumPy from the closed-form gradient and Hessian of
a quadratic ``f(θ) = ½ θᵀAθ − bᵀθ`` (∇f = Aθ − b, ∇²f = A), using the optimizers' documented
drawing convention for directions: ``V = default_rng(seed).standard_normal((K, D))``.
"""

import json

import numpy as np
import pytest

import optimizers
from hyperdual.testing import assert_close, relative_error
from optimizers import (
    COND_MAX,
    FGD,
    SGD,
    Adam,
    FoMoH,
    FoMoHBP,
    FoMoHKD,
    Newton,
    ReduceOnRise,
    StepDecay,
    build,
    hyperplane_step,
    solve_kappa,
)
from optimizers import directions as dirs

F64 = np.float64
D = 6


def make_quadratic(D=D, seed=1, indefinite=False):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    lam = np.linspace(1.0, 10.0, D)
    if indefinite:
        lam[0] = -2.0
    A = (Q * lam) @ Q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(D)

    def f(theta):
        return 0.5 * (theta @ (A @ theta)) - b @ theta

    def grad(theta):
        return float(f(theta)), A @ theta - b

    return f, grad, A, b


@pytest.fixture
def quad():
    return make_quadratic()


def theta0(D=D, seed=7):
    return np.random.default_rng(seed).standard_normal(D)


# ----------------------------------------------------------------------------- exact steps
WELL_CONDITIONED = 1e4
"""cond(H̃) up to which a K = D step is compared with Newton's at the "exact" tolerance."""


def assert_equals_newton(actual, newton, condition, what):
    """A step over K = D directions equals Newton's in exact arithmetic.

    In floating point the K×K system ``H̃ = V H Vᵀ`` of a random frame V carries rounding
    errors that its solve amplifies by up to ``cond(H̃)``: for cond(H̃) ≤ 1e4 the step must
    agree with Newton's to the "exact" tolerance (1e4·eps ≈ 2e-12 < 1e-11); for worse-
    conditioned frames, to the first-order perturbation bound ``10·cond(H̃)·eps``.
    """
    if condition <= WELL_CONDITIONED:
        assert_close(actual, newton, F64, "exact", what)
    else:
        err = relative_error(actual, newton)
        bound = 10 * condition * np.finfo(F64).eps
        assert err <= bound, f"{what}: error {err:.2e} above 10·cond·eps = {bound:.2e}"


def test_newton_and_fomoh_kd_with_K_equal_D_land_on_the_minimum(quad):
    f, _, A, b = quad
    minimum = np.linalg.solve(A, b)
    th = theta0()
    for opt in (Newton(lr=1.0), FoMoHKD(K=D, lr=1.0, directions="basis")):
        new, info = opt.step(f, th)
        assert_close(new, minimum, F64, "exact", f"{opt!r} one step")
        assert info.jitter == 0.0 and opt.jitter_count == 0
    conditions = []
    for seed in range(10):  # random Gaussian frames span R^D too
        new, info = FoMoHKD(K=D, lr=1.0, seed=seed).step(f, th)
        assert_equals_newton(new, minimum, info.condition, f"FoMoH-{D}D, seed {seed}")
        assert info.jitter == 0.0
        conditions.append(info.condition)
    assert sum(c <= WELL_CONDITIONED for c in conditions) >= 5  # most checks are the exact kind


def test_fomoh_kd_with_basis_directions_is_newton_bit_for_bit(quad):
    f = make_quadratic(indefinite=True)[0]
    a, b = theta0(), theta0()
    newton, kd = Newton(lr=0.5), FoMoHKD(K=D, lr=0.5, directions="basis")
    for _ in range(3):
        a, _ = newton.step(f, a)
        b, _ = kd.step(f, b)
        assert np.array_equal(a, b)


def test_fomoh_kd_step_matches_hand_computation(quad):
    f, _, A, b = quad
    th, K, lr = theta0(), 3, 0.7
    new, info = FoMoHKD(K=K, lr=lr, seed=11).step(f, th)
    V = np.random.default_rng(11).standard_normal((K, D))
    g_k, H_k = V @ (A @ th - b), V @ A @ V.T
    kappa = np.linalg.solve(H_k, g_k)
    assert_close(new, th - lr * kappa @ V, F64, "exact", "FoMoH-3D step")
    assert_close(info.curvature, np.linalg.eigvalsh(H_k), F64, "exact", "eigenvalues of H")
    assert info.loss == pytest.approx(float(f(th)), rel=1e-15)
    assert_close(info.step_norm, np.linalg.norm(lr * kappa @ V), F64, "exact", "step norm")


def test_fomoh_step_matches_equation_1(quad):
    f, _, A, b = quad
    th, lr = theta0(), 0.9
    new, info = FoMoH(lr=lr, seed=5).step(f, th)
    v = np.random.default_rng(5).standard_normal((1, D))[0]
    g = A @ th - b
    expected = th - lr * (g @ v) / abs(v @ A @ v) * v
    assert_close(new, expected, F64, "exact", "FoMoH step")
    assert_close(info.curvature, [v @ A @ v], F64, "exact", "vᵀHv")


def test_fomoh_bp_step_matches_equation_2_with_and_without_backprop(quad):
    f, grad, A, b = quad
    th, lr = theta0(), 1.0
    g = A @ th - b
    expected = th - lr * (g @ g) / abs(g @ A @ g) * g
    with_bp, _ = FoMoHBP(lr=lr).step(f, th, grad=grad)
    forward_only, _ = FoMoHBP(lr=lr).step(f, th)
    assert_close(with_bp, expected, F64, "exact", "FoMoH-BP with back-propagated gradient")
    assert_close(forward_only, expected, F64, "exact", "FoMoH-BP with forward-mode gradient")


def test_fgd_step_matches_hand_computation(quad):
    f, _, A, b = quad
    th, lr = theta0(), 0.01
    new, info = FGD(lr=lr, seed=2).step(f, th)
    v = np.random.default_rng(2).standard_normal((1, D))[0]
    assert_close(new, th - lr * ((A @ th - b) @ v) * v, F64, "exact", "FGD step")
    assert_close(info.curvature, [v @ A @ v], F64, "exact", "FGD reports vᵀHv")


def test_every_method_minimises_a_convex_quadratic(quad):
    f, grad, _, _ = quad
    th = theta0()
    for name in ("fgd", "fomoh", "fomoh-bp", "fomoh-2d", "newton", "sgd", "adam"):
        opt = build(name, lr={"fgd": 0.01, "sgd": 0.05, "adam": 0.05}.get(name, 1.0), seed=0)
        x = th
        for _ in range(5):
            x, _ = opt.step(f, x, grad=grad)
        assert f(x) < f(th), name


# ----------------------------------------------------------------------------- negative curvature
def test_negative_curvature_fomoh_uses_the_absolute_value_and_fomoh_kd_solves_as_is():
    A = np.diag([1.0, -2.0])
    f = lambda th: 0.5 * (th @ (A @ th))
    th = np.array([0.3, 0.4])
    g = A @ th
    v = np.array([[0.0, 1.0]])  # vᵀHv = -2 < 0
    fomoh, _ = FoMoH(lr=1.0, directions=v).step(f, th)
    assert_close(fomoh, th - (g @ v[0]) / 2.0 * v[0], F64, "exact", "FoMoH with |vᵀHv|")
    assert f(fomoh) < f(th)  # still downhill
    plain, info = FoMoHKD(K=1, lr=1.0, directions=v).step(f, th)  # Algorithm 1 with K = 1
    assert_close(plain, th - (g @ v[0]) / -2.0 * v[0], F64, "exact", "Algorithm 1, K = 1")
    assert_close(info.curvature, [-2.0], F64, "exact", "negative vᵀHv reported")
    saddle, _ = Newton(lr=1.0).step(f, th)  # Newton goes to the saddle
    assert_close(saddle, [0.0, 0.0], F64, "exact", "Newton on an indefinite quadratic")
    free, _ = Newton(lr=1.0, curvature="abs").step(f, th)  # saddle-free: |H|
    assert_close(free, th - np.linalg.solve(np.abs(A), g), F64, "exact", "|H| step")
    assert f(free) < f(th)


def test_fomoh_equals_fomoh_kd_with_K_1_where_the_curvature_is_positive(quad):
    f = quad[0]
    th = theta0()
    a, _ = FoMoH(lr=1.0, seed=4).step(f, th)
    b, _ = FoMoHKD(K=1, lr=1.0, seed=4).step(f, th)
    assert np.array_equal(a, b)


# ----------------------------------------------------------------------------- jitter
def test_singular_hessian_gets_jitter_and_is_counted():
    f = lambda th: (th[0] + th[1]) ** 2 + th[2]  # H singular
    opt = Newton(lr=1.0)
    th = np.array([0.5, 0.2, 0.0])
    new, info = opt.step(f, th)
    assert info.jittered and opt.jitter_count == 1
    # eigenvalues of H: 0, 0, 4; s = trace/K = 4/3; the first retry λ = 1e-8 s suffices.
    assert info.jitter == pytest.approx(1e-8 * 4 / 3, rel=1e-12)
    assert np.all(np.isfinite(new)) and info.condition <= COND_MAX[np.dtype(F64)]
    opt.step(f, new)
    assert opt.jitter_count == 2


def test_duplicate_directions_make_H_singular_every_step(quad):
    """Jitter fires on every step, also once the line search has zeroed ∇f·v exactly (a
    singular H must never give a silent zero step, whatever the BLAS rounds to)."""
    f = quad[0]
    v = np.random.default_rng(0).standard_normal(D)
    opt = FoMoHKD(K=2, lr=1.0, directions=np.stack([v, v]))
    th = theta0()
    for _ in range(3):
        th, info = opt.step(f, th)
        assert info.jittered
    assert opt.jitter_count == 3
    g = np.array([0.0, 0.0])
    singular = solve_kappa(np.ones((2, 2)), g)  # the exact-zero gradient case itself
    assert singular.jitter > 0.0 and np.array_equal(singular.kappa, g)


def test_ill_conditioned_H_gets_the_smallest_sufficient_jitter():
    H, g = np.diag([1.0, 1e-15]), np.array([1.0, 1.0])
    solved = solve_kappa(H, g)
    s = (1.0 + 1e-15) / 2
    assert solved.jitter == pytest.approx(1e-8 * s, rel=1e-12)  # cond 1e15 > 4.5e13: one retry
    assert_close(solved.kappa, g / (np.diag(H) + solved.jitter), F64, "exact", "jittered kappa")
    fine = solve_kappa(np.diag([1.0, 1e-12]), g)  # cond 1e12: left alone
    assert fine.jitter == 0.0
    assert solve_kappa(H, g, np.float32).jitter > 1e-5 * s  # float32: cond_max 8.4e4


def test_zero_gradient_and_non_finite_cases_need_no_jitter():
    zero = solve_kappa(np.zeros((2, 2)), np.zeros(2))
    assert np.array_equal(zero.kappa, np.zeros(2))
    assert zero.jitter == 1e-8  # H = 0 is singular: reported, never silent
    stationary = solve_kappa(np.diag([2.0, 3.0]), np.zeros(2))
    assert np.array_equal(stationary.kappa, np.zeros(2)) and stationary.jitter == 0.0
    bad = solve_kappa(np.array([[np.nan, 0.0], [0.0, 1.0]]), np.ones(2))
    assert np.all(np.isnan(bad.kappa)) and bad.jitter == 0.0


# ----------------------------------------------------------------------------- baselines
def test_sgd_with_momentum_matches_hand_computed_steps(quad):
    f, grad, A, b = quad
    lr, mu = 0.05, 0.9
    opt = SGD(lr=lr, momentum=mu)
    th, ref, buf = theta0(), theta0(), None
    for _ in range(4):
        th, info = opt.step(f, th, grad=grad)
        g = A @ ref - b
        buf = g if buf is None else mu * buf + g
        ref = ref - lr * buf
        assert_close(th, ref, F64, "exact", "SGD with momentum")
    forward, _ = SGD(lr=lr).step(f, theta0())  # gradient from forward mode
    assert_close(forward, theta0() - lr * (A @ theta0() - b), F64, "exact", "SGD, forward grad")


def test_adam_matches_hand_computed_steps(quad):
    f, grad, A, b = quad
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = Adam(lr=lr, betas=(b1, b2), eps=eps)
    th = ref = theta0()
    m = s = np.zeros(D)
    for t in range(1, 5):
        th, _ = opt.step(f, th, grad=grad)
        g = A @ ref - b
        m, s = b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g * g
        ref = ref - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
        assert_close(th, ref, F64, "exact", f"Adam step {t}")


# ----------------------------------------------------------------------------- seeds, checkpoints
ALL = [
    ("fgd", {"lr": 0.01}),
    ("fomoh", {}),
    ("fomoh-bp", {}),
    ("fomoh-3d", {}),
    ("fomoh-kd", {"K": 2, "directions": "basis"}),
    ("newton", {}),
    ("sgd", {"momentum": 0.9, "lr": 0.05}),
    ("adam", {"lr": 0.05}),
]


def run_steps(opt, f, grad, th, n):
    out = []
    for _ in range(n):
        th, _ = opt.step(f, th, grad=grad)
        out.append(th)
    return th, np.array(out)


@pytest.mark.parametrize("name,kw", ALL, ids=[a for a, _ in ALL])
def test_same_seed_same_run_and_state_dict_resumes_exactly(quad, name, kw):
    f, grad, _, _ = quad
    a, traj_a = run_steps(build(name, seed=42, **kw), f, grad, theta0(), 4)
    _, traj_b = run_steps(build(name, seed=42, **kw), f, grad, theta0(), 4)
    assert np.array_equal(traj_a, traj_b)

    opt = build(name, seed=42, **kw)
    mid, _ = run_steps(opt, f, grad, theta0(), 2)
    state = opt.state_dict()
    # what a checkpoint does: arrays to .npz-able arrays, the rest through JSON
    plain = json.loads(
        json.dumps({k: v for k, v in state.items() if k != "arrays"}, allow_nan=False)
    )
    plain["arrays"] = {k: None if v is None else np.array(v) for k, v in state["arrays"].items()}
    _, rest_a = run_steps(opt, f, grad, mid, 2)
    resumed = build(name, seed=999, **kw)
    resumed.load_state_dict(plain)
    _, rest_b = run_steps(resumed, f, grad, mid, 2)
    assert np.array_equal(rest_a, rest_b)
    assert np.array_equal(rest_a, traj_a[2:])
    assert resumed.t == opt.t == 4


def test_different_seeds_draw_different_directions(quad):
    f = quad[0]
    a, _ = FoMoHKD(K=2, seed=0).step(f, theta0())
    b, _ = FoMoHKD(K=2, seed=1).step(f, theta0())
    assert not np.array_equal(a, b)


def test_load_state_dict_rejects_bad_states(quad):
    opt = Adam(lr=0.1)
    opt.step(quad[0], theta0(), grad=quad[1])
    state = opt.state_dict()
    with pytest.raises(ValueError, match="for 'Adam', not 'SGD'"):
        SGD().load_state_dict(state)
    for broken in (
        {**state, "lr": -1.0},
        {**state, "arrays": {"m": None}},
        {**state, "arrays": {"m": np.zeros((2, 2)), "s": None}},
    ):
        with pytest.raises(ValueError):
            Adam().load_state_dict(broken)
    with pytest.raises((ValueError, TypeError, KeyError)):
        Adam().load_state_dict({**state, "rng": {"bit_generator": "PCG64", "state": "x"}})


# ----------------------------------------------------------------------------- float32
def test_float32_parameters_stay_float32():
    f64, _, A, b = make_quadratic()
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    f32 = lambda th: 0.5 * (th @ (A32 @ th)) - b32 @ th
    th = theta0().astype(np.float32)
    for f in (f32, f64):  # also when f itself computes in float64
        for opt in (
            FoMoHKD(K=D, seed=0),
            FoMoH(seed=0),
            FGD(seed=0),
            Newton(),
            FoMoHBP(),
            SGD(),
            Adam(),
        ):
            new, _ = opt.step(f, th)
            assert new.dtype == np.float32, (opt, f)
    new, _ = Newton().step(f32, th)
    assert_close(new, np.linalg.solve(A, b), np.float32, "exact", "float32 Newton")


# ----------------------------------------------------------------------------- the shared step
def test_hyperplane_step_is_the_shared_core(quad, monkeypatch):
    import optimizers.methods as methods

    calls = []
    real = methods.hyperplane_step

    def spy(f, theta, V, *args):
        calls.append(V.shape)
        return real(f, theta, V, *args)

    monkeypatch.setattr(methods, "hyperplane_step", spy)
    f, grad = quad[0], quad[1]
    for opt in (FoMoH(), FoMoHBP(), FoMoHKD(K=3), Newton()):
        opt.step(f, theta0(), grad=grad)
    assert calls == [(1, D), (1, D), (3, D), (D, D)]
    step, r = hyperplane_step(f, theta0(), np.eye(D)[:2], lr=1.0)
    assert r.H.shape == (2, 2) and step.shape == (D,)


def test_direction_samplers():
    rng = np.random.default_rng(0)
    assert dirs.gaussian(rng, 3, 5).shape == (3, 5)
    B = dirs.basis(rng, 3, 5)
    assert np.array_equal(np.sort(np.flatnonzero(B.sum(axis=0))), np.flatnonzero(B.sum(axis=0)))
    assert B.sum() == 3 and np.all(B.sum(axis=1) == 1) and np.all(B.sum(axis=0) <= 1)
    assert np.array_equal(dirs.basis(None, 4, 4), np.eye(4))
    with pytest.raises(ValueError):
        dirs.given(np.ones((2, 3)), K=2, D=4)
    with pytest.raises(ValueError):
        FoMoHKD(K=7).step(lambda th: th @ th, np.ones(3))


# ----------------------------------------------------------------------------- registry
def test_registry_names():
    assert isinstance(build("fgd"), FGD)
    assert isinstance(build("fomoh"), FoMoH)
    assert isinstance(build("fomoh-bp"), FoMoHBP)
    assert build("fomoh-2d").K == 2 and build("FoMoH-3D").K == 3 and build("fomoh-7d").K == 7
    assert build("fomoh-kd", K=5).K == 5
    assert isinstance(build("newton"), Newton)
    assert isinstance(build("sgd", momentum=0.9), SGD) and isinstance(build("adam"), Adam)
    with pytest.raises(ValueError, match="unknown optimizer"):
        build("lbfgs")
    with pytest.raises(ValueError):
        build("fomoh-2d", K=3)
    assert set(optimizers.names()) >= {
        "fgd",
        "fomoh",
        "fomoh-bp",
        "fomoh-2d",
        "fomoh-3d",
        "fomoh-kd",
        "newton",
        "sgd",
        "adam",
    }


# ----------------------------------------------------------------------------- schedules
class _Opt:
    lr = 1.0


def test_step_decay():
    opt = _Opt()
    opt.lr = 1.0
    sched = StepDecay(opt, gamma=0.1, every=2)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])
    other = StepDecay(opt, gamma=0.1, every=2)
    other.load_state_dict(sched.state_dict())
    assert other.count == 5


def test_reduce_on_rise():
    opt = _Opt()
    opt.lr = 1.0
    sched = ReduceOnRise(opt, factor=0.1)
    reduced = [sched.step(v) for v in (1.0, 0.9, 0.95, 0.8, 0.85, 0.7)]
    assert reduced == [False, False, True, False, True, False]
    assert opt.lr == pytest.approx(0.01)
    # a loss that falls again after a reduction, though still above the best, is no rise
    falling = ReduceOnRise(opt, factor=0.5)
    assert [falling.step(v) for v in (1.0, 0.8, 0.9, 0.85, 0.84)] == [
        False,
        False,
        True,
        False,
        False,
    ]

    opt.lr = 1.0
    patient = ReduceOnRise(opt, factor=0.5, patience=1)
    assert [patient.step(v) for v in (1.0, 1.1, 0.9, 1.2, 1.3)] == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert patient.step(float("nan")) is False and patient.step(float("nan")) is True

    opt.lr = 1.0
    a = ReduceOnRise(opt, factor=0.5, patience=1)
    for v in (1.0, 1.1):
        a.step(v)
    b = ReduceOnRise(opt, factor=0.5, patience=1)
    b.load_state_dict(json.loads(json.dumps(a.state_dict(), allow_nan=False)))
    json.dumps(ReduceOnRise(opt).state_dict(), allow_nan=False)  # fresh state: strict JSON
    assert a.step(1.2) is True
    opt.lr = 1.0
    assert b.step(1.2) is True


def test_schedule_state_is_part_of_an_exact_resume(quad):
    f, grad = quad[0], quad[1]
    opt = FoMoH(lr=1.0, seed=0)
    sched = StepDecay(opt, gamma=0.5, every=1)
    th = theta0()
    th, _ = opt.step(f, th, grad=grad)
    sched.step()
    o2, s2 = FoMoH(seed=5), None
    o2.load_state_dict(opt.state_dict())
    s2 = StepDecay(o2, gamma=0.5, every=1)
    s2.load_state_dict(sched.state_dict())
    a, _ = opt.step(f, th)
    b, _ = o2.step(f, th)
    assert np.array_equal(a, b) and o2.lr == 0.5
