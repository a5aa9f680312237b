"""The independent oracles (finite differences, complex step, bicomplex step) on functions
with known derivatives, their shapes and options, and the ``compare`` report."""

import numpy as np
import pytest

import hyperdual as hd
from hyperdual import oracles
from hyperdual.testing import assert_close

RNG = np.random.default_rng(20261124)
F64 = np.float64
D = 5
A = RNG.normal(size=(D, D))
A = A @ A.T + np.eye(D)
B = RNG.normal(size=D)
THETA = RNG.normal(size=D)


def quadratic(x):
    """½ xᵀAx + bᵀx: gradient Ax + b, Hessian A."""
    return 0.5 * x @ A @ x + B @ x


def quadratic_batched(X):
    """The same on rows: (P, D) -> (P,)."""
    return 0.5 * np.einsum("pi,pi->p", X @ A, X) + X @ B


def smooth(x):
    """exp(b·x) + log(1 + x·x) + sin(x0) x1: a non-polynomial with closed-form derivatives."""
    return np.exp(B @ x / 4) + np.log(1.0 + x @ x) + np.sin(x[0]) * x[1]


def smooth_derivatives(t):
    e, s = np.exp(B @ t / 4), 1.0 + t @ t
    g = e * B / 4 + 2 * t / s
    g[0] += np.cos(t[0]) * t[1]
    g[1] += np.sin(t[0])
    Hm = e * np.outer(B, B) / 16 + 2 * np.eye(D) / s - 4 * np.outer(t, t) / s**2
    Hm[0, 0] -= np.sin(t[0]) * t[1]
    Hm[0, 1] += np.cos(t[0])
    Hm[1, 0] += np.cos(t[0])
    return g, Hm


KNOWN = [(quadratic, lambda t: (A @ t + B, A)), (smooth, smooth_derivatives)]


# ---------------------------------------------------------------- gradients and Hessians
@pytest.mark.parametrize("f, derivs", KNOWN)
def test_gradients_of_known_functions(f, derivs):
    g, _ = derivs(THETA)
    assert_close(oracles.fd_gradient(f, THETA), g, F64, "fd_first", "fd_gradient")
    assert_close(oracles.cs_gradient(f, THETA), g, F64, "complex_step", "cs_gradient")
    assert_close(oracles.bicomplex_gradient(f, THETA), g, F64, "exact", "bicomplex_gradient")


@pytest.mark.parametrize("f, derivs", KNOWN)
def test_hessians_of_known_functions(f, derivs):
    _, Hm = derivs(THETA)
    fd = oracles.fd_hessian(f, THETA)
    assert_close(fd, Hm, F64, "fd_second", "fd_hessian")
    np.testing.assert_array_equal(fd, fd.T)
    bc = oracles.bicomplex_hessian(f, THETA)
    assert_close(bc, Hm, F64, "exact", "bicomplex_hessian")
    np.testing.assert_array_equal(bc, bc.T)


def test_batched_evaluation_agrees_with_one_call_per_direction():
    calls = []

    def counted(X):
        calls.append(X.shape)
        return quadratic_batched(X)

    H_batched = oracles.bicomplex_hessian(counted, THETA, batched=True)
    assert calls == [(D * (D + 1) // 2, D)]  # one call for all pairs
    assert_close(H_batched, oracles.bicomplex_hessian(quadratic, THETA), F64, "exact", "H")
    assert_close(
        oracles.cs_gradient(quadratic_batched, THETA, batched=True),
        oracles.cs_gradient(quadratic, THETA),
        F64,
        "exact",
        "cs batched",
    )
    assert_close(
        oracles.bicomplex_gradient(quadratic_batched, THETA, batched=True),
        A @ THETA + B,
        F64,
        "exact",
        "bicomplex batched gradient",
    )


def test_batched_f_with_the_wrong_output_shape_is_refused():
    with pytest.raises(ValueError, match=r"batched f must map shape \(P, D\)"):
        oracles.cs_gradient(lambda X: X.sum(), THETA, batched=True)


# ---------------------------------------------------------------- directional derivatives
def test_directional_oracles_single_and_many_directions():
    V1, V2 = RNG.normal(size=(2, 4, D))
    g, Hm = smooth_derivatives(THETA)
    value, d1, d12 = oracles.bicomplex_directional(smooth, THETA, V1, V2)
    assert value.shape == d1.shape == d12.shape == (4,)
    assert_close(value, np.full(4, smooth(THETA)), F64, "exact", "value")
    assert_close(d1, V1 @ g, F64, "exact", "bicomplex d1")
    assert_close(d12, np.einsum("pi,ij,pj->p", V1, Hm, V2), F64, "exact", "bicomplex d12")
    assert_close(oracles.cs_directional(smooth, THETA, V1), V1 @ g, F64, "complex_step", "cs")
    fd1, fd12 = oracles.fd_directional(smooth, THETA, V1, V2)
    assert_close(fd1, V1 @ g, F64, "fd_first", "fd d1")
    assert_close(fd12, np.einsum("pi,ij,pj->p", V1, Hm, V2), F64, "fd_second", "fd d12")
    # one direction: scalars; v2 omitted means v2 = v1
    value, d1, d12 = oracles.bicomplex_directional(smooth, THETA, V1[0])
    assert d1.shape == d12.shape == ()
    assert_close(d12, V1[0] @ Hm @ V1[0], F64, "exact", "vᵀHv")
    fd1, fd12 = oracles.fd_directional(smooth, THETA, V1[0])
    assert fd1.shape == fd12.shape == ()
    assert_close(fd12, V1[0] @ Hm @ V1[0], F64, "fd_second", "fd vᵀHv")


def test_directions_of_very_different_lengths_are_normalised():
    """Steps are taken per unit of max|v|: huge or tiny directions are as accurate."""
    g, Hm = smooth_derivatives(THETA)
    v = RNG.normal(size=D)
    for scale in (1e-12, 1.0, 1e12):
        _, d1, d12 = oracles.bicomplex_directional(smooth, THETA, scale * v)
        assert_close(d1, scale * v @ g, F64, "exact", f"d1 at |v| ~ {scale}")
        assert_close(d12, scale**2 * v @ Hm @ v, F64, "exact", f"d12 at |v| ~ {scale}")
        assert_close(
            oracles.cs_directional(smooth, THETA, scale * v),
            scale * v @ g,
            F64,
            "complex_step",
            f"cs at |v| ~ {scale}",
        )
        assert_close(
            oracles.fd_directional(smooth, THETA, scale * v)[0],
            scale * v @ g,
            F64,
            "fd_first",
            f"fd at |v| ~ {scale}",
        )


def test_complex_step_on_a_vector_valued_function_gives_a_hessian_vector_product():
    """The complex-step Newton-Krylov building block: Hv = Im ∇f(θ + i h v) / h."""

    def grad(x):
        return A @ x + B + np.exp(x)

    v = RNG.normal(size=D)
    expected = A @ v + np.exp(THETA) * v
    assert_close(oracles.cs_directional(grad, THETA, v), expected, F64, "complex_step", "Hv")
    assert oracles.cs_directional(grad, THETA, np.stack([v, v])).shape == (2, D)


def test_float32_theta_gives_float64_references():
    theta32 = THETA.astype(np.float32)
    t = theta32.astype(F64)
    for result in (
        oracles.fd_gradient(quadratic, theta32),
        oracles.cs_gradient(quadratic, theta32),
        oracles.bicomplex_gradient(quadratic, theta32),
    ):
        assert result.dtype == F64
    assert_close(oracles.bicomplex_gradient(quadratic, theta32), A @ t + B, F64, "exact", "g")
    assert oracles.bicomplex_hessian(quadratic, theta32).dtype == F64


def test_default_steps_follow_the_dtype_rule():
    theta = np.array([0.0, 0.5, -3.0, 1e3])
    eps = np.finfo(F64).eps
    np.testing.assert_allclose(
        oracles.default_fd_step(theta, 1), eps ** (1 / 3) * np.array([1, 1, 3, 1e3])
    )
    np.testing.assert_allclose(
        oracles.default_fd_step(theta, 2), eps**0.25 * np.array([1, 1, 3, 1e3])
    )
    assert oracles.default_fd_step(theta, 1, np.float32)[0] == pytest.approx(
        np.finfo(np.float32).eps ** (1 / 3)
    )
    # the bicomplex step's h² neither shows nor underflows
    assert oracles.BICOMPLEX_STEP**2 < np.finfo(F64).eps ** 2
    assert oracles.BICOMPLEX_STEP**4 > np.finfo(F64).tiny


def test_constant_function_has_zero_derivatives():
    def const(x):
        return 3.0

    assert np.all(oracles.cs_gradient(const, THETA) == 0)
    assert np.all(oracles.bicomplex_hessian(const, THETA) == 0)
    assert np.all(oracles.fd_gradient(const, THETA) == 0)


def test_input_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="1-D parameter vector"):
        oracles.fd_gradient(quadratic, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(D,\) or \(P, D\)"):
        oracles.bicomplex_directional(quadratic, THETA, np.ones(D + 1))
    with pytest.raises(ValueError, match="different numbers of directions"):
        oracles.bicomplex_directional(quadratic, THETA, np.ones((2, D)), np.ones((3, D)))
    with pytest.raises(ValueError, match="scalar-valued"):
        oracles.bicomplex_gradient(lambda x: x * 2.0, THETA)


# ---------------------------------------------------------------- the comparison report
def test_compare_report_for_a_smooth_function():
    report = hd.compare(smooth, THETA)
    assert report.ok, str(report)
    assert report.D == D and report.dtype == F64
    quantities = {(r.quantity, r.method) for r in report.rows}
    assert ("hessian", "bicomplex") in quantities and ("d12", "finite diff") in quantities
    assert ("d12", "complex step") not in quantities  # the complex step has no 2nd order
    row = report.row("d12", "bicomplex")
    assert row.max_rel < 1e-13 and row.rtol == 1e-11
    assert report.row("hessian", "finite diff").max_rel < 1e-6
    text = str(report)
    for label in (
        "f(θ)",
        "∇f",
        "∇f·v1",
        "v1ᵀ∇²f v2",
        "∇²f",
        "bicomplex",
        "complex step",
        "finite diff",
        "max rel diff",
    ):
        assert label in text
    assert "NO" not in text
    assert_close(
        report.values["hessian"]["bicomplex"],
        smooth_derivatives(THETA)[1],
        F64,
        "exact",
        "stored Hessian",
    )


def test_compare_float32_uses_the_float32_tolerances():
    def f(x):  # no float64 constants, so the hyper-dual pass stays float32
        return np.sum(np.sin(x) * x) + np.exp(x[0] * x[1]) / (2.0 + x[2] ** 2)

    report = hd.compare(f, THETA.astype(np.float32), v1=np.ones(D) * 0.5 - np.arange(D))
    assert report.ok, str(report)
    assert report.dtype == np.float32
    assert report.row("d12", "bicomplex").rtol == 2e-4
    assert report.values["gradient"]["hyper-dual"].dtype == np.float32


def test_compare_flags_disagreement_and_oracles_that_cannot_run():
    # np.abs of a complex number is the modulus: the complex step then disagrees with the
    # hyper-dual sign(a) rule, and the report says so instead of passing silently.
    report = hd.compare(lambda x: np.sum(np.abs(x) * x), THETA)
    assert not report.ok
    assert not report.row("gradient", "complex step").ok
    assert report.row("gradient", "bicomplex").ok  # Bicomplex abs follows sign(a)
    assert "NO" in str(report)

    # an oracle that cannot evaluate f: reported with the reason, not hidden
    def f(x):
        if isinstance(x, hd.Bicomplex):
            np.sort(x)
        return np.sum(x * x)

    report = hd.compare(f, THETA)
    row = report.row("d12", "bicomplex")
    assert row.error is not None and "numpy.sort" in row.error and not report.ok
    assert "n/a" in str(report)


def test_compare_skips_the_full_hessian_for_large_d():
    theta = RNG.normal(size=60)
    report = hd.compare(lambda x: np.sum(np.sin(x) * x), theta)
    assert "hessian" not in {r.quantity for r in report.rows}
    assert report.ok, str(report)
