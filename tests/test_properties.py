"""Property tests: randomly composed programs, differentiated by hyper-dual numbers, agree
with the bicomplex step (exact to rounding) and with central differences.

A program starts from the parameter vector ``x`` (shape (D,)) and applies a random list of
operations to a 1-D value ``y``: elementwise functions of the rule table (each wrapped so
its argument stays in the function's domain), ``+ - * /`` with random smooth functions of
``x``, powers, matmul / einsum with random shapes, broadcasting such as ``(n, 1) + (k,)``,
and sums or means over a random axis. It ends with ``sum(c * y)`` for a random ``c`` (never
all ones). Directions are random normal, three pairs at once.

Then the golden checks: Rosenbrock's gradient and Hessian in closed form (2-D and 10-D) and
the classic hyper-dual example ``e^x / sqrt(sin(x)^3 + cos(x)^3)`` at ``x = 1.5``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperdual as hd
from hyperdual import Bicomplex, HyperDual
from hyperdual.testing import assert_close

# ---------------------------------------------------------------- the program vocabulary
# Elementwise functions of the rule table, each on a safe domain: the wrapper maps any real
# input into the function's domain and keeps values of order one (so that finite differences
# stay meaningful). relu/abs are left out: a finite difference across a kink is meaningless
# (their conventions are tested in test_rules.py).
UNARY = {
    "exp": lambda y: np.exp(np.sin(y)),
    "log": lambda y: np.log(1.5 + np.cos(y)),
    "log1p": lambda y: np.log1p(np.square(np.sin(y))),
    "expm1": lambda y: np.expm1(np.tanh(y)),
    "sqrt": lambda y: np.sqrt(2.0 + np.sin(y)),
    "square": lambda y: np.square(np.tanh(y)),
    "reciprocal": lambda y: np.reciprocal(1.5 + np.cos(y)),
    "sin": np.sin,
    "cos": np.cos,
    "tan": lambda y: np.tan(np.tanh(y)),
    "sinh": lambda y: np.sinh(np.sin(y)),
    "cosh": lambda y: np.cosh(np.sin(y)),
    "tanh": np.tanh,
    "arctan": np.arctan,
    "arcsin": lambda y: np.arcsin(0.9 * np.tanh(y)),
    "arccos": lambda y: np.arccos(0.9 * np.sin(y)),
    "arcsinh": np.arcsinh,
    "arctanh": lambda y: np.arctanh(0.9 * np.tanh(y)),
    "sigmoid": hd.sigmoid,
    "softplus": lambda y: hd.softplus(np.sin(y)),
    "pow2": lambda y: np.tanh(y) ** 2,
    "pow3": lambda y: np.sin(y) ** 3,
    "pow_neg": lambda y: 0.5 * (1.5 + np.cos(y)) ** -2,
    "pow_half": lambda y: (1.5 + np.cos(y)) ** 0.5,
    "pow_real": lambda y: 0.25 * (1.5 + np.cos(y)) ** 2.5,
}
BINARY_OPS = {
    "add": lambda y, w: y + w,
    "sub": lambda y, w: y - w,
    "mul": lambda y, w: y * w,
    "div": lambda y, w: y / (2.0 + w),
    "rdiv": lambda y, w: w / (1.5 + np.cos(y)),
}
BINARY = list(BINARY_OPS)
SHAPE = [
    "matmul",
    "einsum",
    "outer_sum",
    "broadcast_mean",
    "einsum_outer",
    "matmul_2d",
    "sum_keepdims",
    "concat",
    "permute",
]
OPS = sorted(UNARY) + BINARY + SHAPE


def make_program(ops, seed, D, dtype):
    """A function ``f(x)`` (x of shape (D,), any number type) built from ``ops``.

    Constants are drawn from ``seed`` and rounded to ``dtype``; for a float32 program the
    float64 reference program uses the very same (float32-representable) constants.
    """
    rng = np.random.default_rng(seed)

    def const(*shape, fan_in=1):
        """Random normal constants scaled by 1/sqrt(fan_in), rounded to ``dtype``."""
        return (rng.normal(size=shape) / np.sqrt(fan_in)).astype(dtype)

    steps, n = [], D
    for op in ops:
        if op in UNARY:
            steps.append(("unary", UNARY[op]))
        elif op in BINARY:
            steps.append((op, const(n, D, fan_in=D), const(n)))
        elif op in ("matmul", "einsum"):
            m = int(rng.integers(1, 5))
            steps.append((op, const(m, n, fan_in=n)))
            n = m
        elif op in ("outer_sum", "broadcast_mean", "einsum_outer", "matmul_2d"):
            # y (n,) meets u (k,) in an (n, k) array [(n, m) after matmul_2d], reduced
            # over a random axis: ``keep`` is the axis that survives.
            k, keep = int(rng.integers(1, 4)), int(rng.integers(0, 2))
            m = int(rng.integers(1, 4))
            steps.append((op, const(k, D, fan_in=D), keep, const(k, m, fan_in=k)))
            n = n if keep == 0 else (m if op == "matmul_2d" else k)
        elif op == "sum_keepdims":
            steps.append((op,))
        elif op == "concat":
            steps.append((op,))
            n += 1
        elif op == "permute":
            steps.append((op, rng.permutation(n)))
    c = const(n)

    def side(x, B, b=0.0):
        """A smooth bounded function of x, shape (len(B),)."""
        return np.sin(B @ x + b)

    def terms(x):
        """The summands ``c * y`` of the program's output, shape (n,)."""
        y = x
        for step in steps:
            kind = step[0]
            if kind == "unary":
                y = step[1](y)
            elif kind in BINARY:
                w = side(x, step[1], step[2])
                y = BINARY_OPS[kind](y, w)
            elif kind == "matmul":
                y = step[1] @ y
            elif kind == "einsum":
                y = np.einsum("ij,j->i", step[1], y)
            elif kind in ("outer_sum", "broadcast_mean", "einsum_outer", "matmul_2d"):
                _, C, keep, M = step
                u = np.cos(C @ x)  # shape (k,)
                if kind == "outer_sum":
                    y = (y[:, None] * u[None, :]).sum(axis=1 - keep)
                elif kind == "broadcast_mean":
                    y = np.mean(y.reshape(-1, 1) + u, axis=1 - keep)  # (n, 1) + (k,)
                elif kind == "einsum_outer":
                    y = np.einsum("i,j->ij", y, u).sum(axis=1 - keep)
                else:
                    Z = (y[:, None] * u) @ M  # (n, k) @ (k, m)
                    y = Z.mean(axis=1 - keep)
            elif kind == "sum_keepdims":
                y = 0.5 * y + y.sum(keepdims=True) / y.shape[0]
            elif kind == "concat":
                y = np.concatenate([y, np.tanh(y[:1])])
            elif kind == "permute":
                y = y[step[1]]
        return c * y

    def f(x):
        return np.sum(terms(x))

    f.terms = terms
    return f


programs = st.tuples(
    st.lists(st.sampled_from(OPS), min_size=1, max_size=5),
    st.integers(0, 2**32 - 1),
    st.integers(1, 5),
)


def draw_point(seed, D, dtype, P=3):
    """θ in [-2, 2]^D and P pairs of random normal directions, rounded to ``dtype``."""
    rng = np.random.default_rng(seed + 1)
    theta = rng.uniform(-2, 2, D).astype(dtype)
    V1, V2 = (rng.normal(size=(P, D)).astype(dtype) for _ in range(2))
    return theta, V1, V2


def assert_close_on_scale(actual, desired, scale, dtype, kind, what):
    """``assert_close`` with the reference's scale taken as at least ``scale``."""
    assert_close(np.append(actual, scale), np.append(desired, scale), dtype, kind, what)


def check_program(ops, seed, D, dtype):
    """Hyper-dual derivatives of one program in ``dtype`` against the float64 oracles.

    The oracles evaluate the same program (its constants are ``dtype`` values, which NumPy
    promotes exactly) on float64 / complex128 / Bicomplex inputs.
    """
    f = make_program(ops, seed, D, dtype)
    theta, V1, V2 = draw_point(seed, D, dtype)
    value, d1, d2, d12 = hd.directional(f, theta, V1, V2)
    assert value.dtype == d1.dtype == d12.dtype == dtype
    ref_value, ref_d1, ref_d12 = hd.bicomplex_directional(f, theta, V1, V2)
    # The value is one number that may be small by cancellation (inside the program or in
    # the final sum of terms c_i y_i). Every intermediate of these programs is of order one,
    # so its rounding error is of order eps in absolute terms: it is measured on the scale
    # max(1, |c_i y_i|). The same holds for the derivatives: θ is in [-2, 2] and the
    # directions are standard normal, so every intermediate derivative is of order one too,
    # and a derivative that is small by cancellation inside the program carries an absolute
    # error of order eps. They are compared on the scale max(1, the 3 pairs'). (Found by
    # hypothesis: matmul_2d, div, outer_sum at D = 1 gives ∇f·v ≈ 9e-5 with a float32
    # error of 2.3e-8, 0.4 eps in absolute terms.)
    term_scale = max(1.0, float(np.max(np.abs(f.terms(theta.astype(np.float64))))))
    assert_close_on_scale(
        value, ref_value[0], term_scale, dtype, "exact", f"{ops}: value vs bicomplex"
    )
    assert_close_on_scale(d1, ref_d1, 1.0, dtype, "exact", f"{ops}: ∇f·v1 vs bicomplex")
    assert_close_on_scale(d12, ref_d12, 1.0, dtype, "exact", f"{ops}: v1ᵀHv2 vs bicomplex")
    ref_d2 = hd.bicomplex_directional(f, theta, V2)[1]
    assert_close_on_scale(d2, ref_d2, 1.0, dtype, "exact", f"{ops}: ∇f·v2 vs bicomplex")
    # Central differences carry an absolute noise of about eps |f| / h (first) and
    # eps |f| / h² (second derivatives), i.e. ~1e-10 |f| and ~1e-8 |f| in float64: they can
    # only check derivatives well above that floor (a program that is linear in x has
    # v1ᵀHv2 = 0 exactly, and its difference quotient is pure noise).
    fd1, fd12 = hd.fd_directional(f, theta, V1, V2)
    scale = max(1.0, abs(float(ref_value[0])))
    if np.max(np.abs(ref_d1)) > 1e-4 * scale:
        assert_close(d1, fd1, dtype, "fd_first", f"{ops}: ∇f·v1 vs finite differences")
    if np.max(np.abs(ref_d12)) > 1e-3 * scale:
        assert_close(d12, fd12, dtype, "fd_second", f"{ops}: v1ᵀHv2 vs finite differences")


@settings(max_examples=80, deadline=None)
@given(programs)
def test_random_programs_float64(program):
    ops, seed, D = program
    check_program(ops, seed, D, np.float64)


@settings(max_examples=50, deadline=None)
@given(programs)
def test_random_programs_float32(program):
    ops, seed, D = program
    check_program(ops, seed, D, np.float32)


@pytest.mark.parametrize("op", OPS)
def test_every_operation_appears_in_a_checked_program(op):
    """Each operation alone and inside a fixed composition, so none depends on hypothesis
    happening to draw it."""
    for ops in ([op], ["mul", op, "matmul", "tanh"]):
        check_program(ops, seed=11, D=3, dtype=np.float64)
        check_program(ops, seed=12, D=3, dtype=np.float32)


# ---------------------------------------------------------------- golden: Rosenbrock
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    """Closed form: ∂/∂x_i of Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²."""
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    """Closed form: tridiagonal."""
    D = x.shape[0]
    Hm = np.zeros((D, D))
    diag = np.zeros(D)
    diag[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    Hm[np.arange(D), np.arange(D)] = diag
    off = -400.0 * x[:-1]
    Hm[np.arange(D - 1), np.arange(1, D)] = off
    Hm[np.arange(1, D), np.arange(D - 1)] = off
    return Hm


@pytest.mark.parametrize(
    "theta", [np.array([-1.2, 1.0]), np.random.default_rng(3).uniform(-2, 2, 10)]
)
def test_rosenbrock_gradient_and_hessian_golden(theta):
    from scipy.optimize import rosen_der, rosen_hess

    g, Hm = rosenbrock_gradient(theta), rosenbrock_hessian(theta)
    assert_close(g, rosen_der(theta), np.float64, "exact", "closed form vs SciPy gradient")
    assert_close(Hm, rosen_hess(theta), np.float64, "exact", "closed form vs SciPy Hessian")
    assert_close(hd.gradient(rosenbrock, theta), g, np.float64, "exact", "hyper-dual ∇f")
    assert_close(hd.hessian(rosenbrock, theta), Hm, np.float64, "exact", "hyper-dual ∇²f")
    assert_close(hd.bicomplex_gradient(rosenbrock, theta), g, np.float64, "exact", "bicomplex ∇f")
    assert_close(hd.bicomplex_hessian(rosenbrock, theta), Hm, np.float64, "exact", "bicomplex ∇²f")
    theta32 = theta.astype(np.float32)
    t = theta32.astype(np.float64)
    assert_close(
        hd.hessian(rosenbrock, theta32),
        rosenbrock_hessian(t),
        np.float32,
        "exact",
        "hyper-dual ∇²f float32",
    )


# ---------------------------------------------------------------- golden: the classic example
CLASSIC = (4.497780053946162, 4.053427893898621, 9.463073681596601)


def classic(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def test_classic_example_through_every_route():
    y = classic(HyperDual(1.5, 1.0, 1.0))
    for actual, desired, what in zip((y.real, y.eps1[0], y.eps12[0]), CLASSIC, "f f' f''".split()):
        assert_close(actual, desired, np.float64, "exact", f"HyperDual {what}")
    h = 1e-20
    z = classic(Bicomplex(1.5 + 1j * h, h))
    for actual, desired, what in zip(
        (z.real, z.imag1 / h, z.imag12 / h**2), CLASSIC, "f f' f''".split()
    ):
        assert_close(actual, desired, np.float64, "exact", f"Bicomplex {what}")

    def f(x):
        return classic(x[0])

    theta = np.array([1.5])
    value, d1, _, d12 = hd.directional(f, theta, np.ones(1))
    assert_close(np.stack([value, d1, d12]), np.array(CLASSIC), np.float64, "exact", "directional")
    assert_close(hd.gradient(f, theta), np.array([CLASSIC[1]]), np.float64, "exact", "gradient")
    assert_close(hd.hessian(f, theta), np.array([[CLASSIC[2]]]), np.float64, "exact", "hessian")
    assert hd.compare(f, theta).ok
