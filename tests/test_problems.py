"""optimizers.problems (Rosenbrock): closed forms against SciPy and forward mode, Newton's
step, FoMoH-10D against Newton, and hyper-dual evaluation (the paper's experiments on it:
paper_experiments/tests/test_rosenbrock.py)."""

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

import hyperdual as hd
from hyperdual.testing import assert_close
from optimizers import FoMoHKD, Newton
from optimizers import problems as R

F64 = np.float64
STARTS_10D = np.random.default_rng(0).standard_normal((10, 10))


def test_closed_forms_match_scipy_and_forward_mode():
    for theta in np.random.default_rng(3).standard_normal((5, 7)):
        value, grad = R.rosenbrock_value_and_grad(theta)
        assert_close(value, rosen(theta), F64, "exact", "f")
        assert_close(grad, rosen_der(theta), F64, "exact", "closed-form gradient")
        assert_close(R.rosenbrock_hessian(theta), rosen_hess(theta), F64, "exact", "Hessian")
        assert_close(
            hd.gradient(R.rosenbrock, theta),
            rosen_der(theta),
            F64,
            "exact",
            "forward-mode gradient",
        )
        assert_close(
            hd.hessian(R.rosenbrock, theta), rosen_hess(theta), F64, "exact", "forward-mode Hessian"
        )


def test_newton_step_matches_scipy_closed_form_at_the_starts():
    for theta in STARTS_10D:
        new, _ = Newton().step(R.rosenbrock, theta)
        expected = -np.linalg.solve(rosen_hess(theta), rosen_der(theta))
        assert_close(new - theta, expected, F64, "exact", "Newton step")


def test_fomoh_10d_with_basis_directions_is_newton_on_10d_rosenbrock():
    for theta in STARTS_10D[:3]:
        a = b = theta
        newton, kd = Newton(), FoMoHKD(K=10, directions="basis")
        for _ in range(30):
            a, _ = newton.step(R.rosenbrock, a)
            b, _ = kd.step(R.rosenbrock, b)
            assert np.array_equal(a, b)


def test_fomoh_10d_with_gaussian_directions_takes_newtons_step():
    """K = D random directions span R^D, so the hyperplane step is Newton's step.

    Compared at the 10 random starts of the experiment, to the "exact" tolerance where the
    10×10 system V H Vᵀ is well conditioned and to 10·cond·eps otherwise (see
    tests/test_optimizers.py::assert_equals_newton)."""
    from test_optimizers import WELL_CONDITIONED, assert_equals_newton

    exact = 0
    for i, theta in enumerate(STARTS_10D):
        newton, _ = Newton().step(R.rosenbrock, theta)
        kd, info = FoMoHKD(K=10, seed=[0, i]).step(R.rosenbrock, theta)
        assert_equals_newton(kd - theta, newton - theta, info.condition, f"start {i}")
        exact += info.condition <= WELL_CONDITIONED
    assert exact >= 5


@pytest.mark.parametrize("D", [2, 5])
def test_rosenbrock_runs_on_hyperdual_numbers(D):
    theta = np.linspace(-1, 1, D)
    value, g, H = hd.projected_hessian(R.rosenbrock, theta, np.eye(D))
    assert_close(H, rosen_hess(theta), F64, "exact", "H")
