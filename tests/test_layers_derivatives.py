"""Every layer and loss, differentiated four independent ways, in float64 and float32.

For each layer we build a scalar function of *all* its inputs — parameters and data, packed
in one vector ``z`` — ``F(z) = Σ w ⊙ y + ½ Σ u ⊙ y²`` of the output ``y = layer(params(z),
x(z))`` with fixed random weights ``w, u`` (the quadratic term gives every layer, linear ones
included, a non-zero Hessian; for a loss, ``F`` is the loss itself). Then, in random
directions ``v1, v2``:

* hyper-dual forward pass: ``∇F·v1`` (e1 part) and ``v1ᵀ∇²F v2`` (e1e2 part);
* bicomplex step (exact to rounding) and central finite differences as references;
* back-propagation (``layer.backward``) against the forward-mode gradient;
* back-propagation on dual inputs (forward-over-reverse) against ``hyperdual.hvp``, and on
  complex inputs against the same (the complex step on the gradient).

float32 results are compared with float64 references, tolerances from the one table in
``hyperdual.testing``. Inputs are drawn away from kinks (ReLU at 0, max-pool ties) so that
the finite differences never straddle one; the kinks have their own tests.
"""

import numpy as np
import pytest

import hyperdual as hd
import layers
from hyperdual import HyperDual
from hyperdual.bicomplex import Bicomplex
from hyperdual.testing import assert_close
from layers import (
    AvgPool2d,
    Conv2d,
    CrossEntropy,
    Dense,
    Flatten,
    LogSoftmax,
    MaxPool2d,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from layers.base import Layer
from layers.losses import LOSSES

H_STEP = 1e-20  # bicomplex and complex step size


def separated(rng, shape, spacing=0.05):
    """Random values whose pairwise gaps are at least ``spacing`` (no ties, no zeros)."""
    n = int(np.prod(shape))
    values = (np.arange(n) - n / 2 + 0.5) * spacing
    return rng.permutation(values).reshape(shape)


def away_from_zero(rng, shape):
    """Random values with ``|x| ≥ 0.1``."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


class Case:
    """A layer (or loss) as a scalar function of one flat vector ``z`` = (params..., x)."""

    def __init__(self, name, layer, x_shape, rng, x_sampler=None, loss_target=None):
        self.name, self.layer = name, layer
        self.param_shapes = [s for _, s in layer.param_shapes()] if loss_target is None else []
        self.shapes = self.param_shapes + [x_shape]
        x = (x_sampler or (lambda r, s: r.normal(size=s)))(rng, x_shape)
        params = [rng.normal(size=s) * 0.5 for s in self.param_shapes]
        self.z = np.concatenate([p.ravel() for p in params] + [x.ravel()])
        self.loss_target = loss_target
        if loss_target is None:
            out_shape = layer.forward(tuple(params), x).shape
            self.w, self.u = rng.normal(size=out_shape), rng.normal(size=out_shape)

    def split(self, z):
        """Cut ``z`` into (params tuple, x), views, for any number type."""
        pieces, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            pieces.append(z[start : start + size].reshape(shape))
            start += size
        return tuple(pieces[:-1]), pieces[-1]

    def constants(self, z):
        """The weights ``(w, u)`` or the loss target, in z's real dtype (float32 stays float32)."""
        dtype = z.real.dtype
        target = self.loss_target
        if target is not None:
            return None, (target.astype(dtype) if target.dtype.kind == "f" else target)
        return (self.w.astype(dtype), self.u.astype(dtype)), None

    def F(self, z):
        params, x = self.split(z)
        weights, target = self.constants(z)
        if target is not None:
            return self.layer.value(x, target)
        w, u = weights
        y = self.layer.forward(params, x)
        return np.sum(y * w) + 0.5 * np.sum(u * y * y)

    def grad_by_backprop(self, z):
        """∇F(z) from ``backward`` (for a loss: ``grad``), in z's number type."""
        params, x = self.split(z)
        weights, target = self.constants(z)
        if target is not None:
            return self.layer.grad(x, target).reshape(-1)
        w, u = weights
        y = self.layer.forward(params, x)
        grad_x, grads = self.layer.backward(params, x, y, w + u * y)
        return np.concatenate([g.reshape(-1) for g in grads] + [grad_x.reshape(-1)])


def make_cases():
    rng = np.random.default_rng(11)
    labels = np.array([0, 3, 1])
    return [
        Case("dense", Dense(5, 4), (3, 5), rng),
        Case("conv_stride2_pad1", Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 6), rng),
        Case("conv_rect_kernel", Conv2d(2, 2, (2, 3)), (2, 2, 5, 5), rng),
        Case("maxpool2", MaxPool2d(2), (2, 2, 5, 6), rng, separated),
        Case("maxpool3_s2_p1", MaxPool2d(3, stride=2, padding=1), (1, 2, 7, 6), rng, separated),
        Case("avgpool2", AvgPool2d(2), (2, 2, 4, 5), rng),
        Case("avgpool3_s2_p1", AvgPool2d(3, stride=2, padding=1), (1, 2, 7, 6), rng),
        Case("flatten", Flatten(), (2, 2, 3, 3), rng),
        Case("relu", ReLU(), (3, 7), rng, away_from_zero),
        Case("sigmoid", Sigmoid(), (3, 7), rng, lambda r, s: 3 * r.normal(size=s)),
        Case("tanh", Tanh(), (3, 7), rng),
        Case("softmax", Softmax(), (3, 6), rng, lambda r, s: 3 * r.normal(size=s)),
        Case("logsoftmax", LogSoftmax(), (3, 6), rng, lambda r, s: 3 * r.normal(size=s)),
        Case(
            "cross_entropy",
            CrossEntropy(),
            (3, 4),
            rng,
            lambda r, s: 3 * r.normal(size=s),
            loss_target=labels,
        ),
        Case("mse", MeanSquaredError(), (3, 4), rng, loss_target=rng.normal(size=(3, 4))),
    ]


CASES = make_cases()
DTYPES = [np.float64, np.float32]


def test_every_layer_and_loss_has_a_derivative_case():
    """A new layer (or loss) exported by ``layers`` gets a ``Case`` above."""
    exported = {
        obj
        for obj in vars(layers).values()
        if isinstance(obj, type)
        and ((issubclass(obj, Layer) and obj is not Layer) or obj in LOSSES.values())
    }
    assert exported == {type(case.layer) for case in CASES}


def directions(case, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=case.z.shape), rng.normal(size=case.z.shape)


def bicomplex_reference(case, v1, v2):
    """``(∇F·v1, v1ᵀ∇²F v2)`` by the bicomplex step in float64."""
    out = case.F(Bicomplex(case.z + 1j * H_STEP * v1, H_STEP * v2))
    return out.imag1 / H_STEP, out.imag12 / H_STEP**2


def central_differences(case, v1, v2, step1=1e-6, step2=1e-4):
    """``(∇F·v1, v1ᵀ∇²F v2)`` by central differences of F in float64."""
    F, z = case.F, case.z
    d1 = (F(z + step1 * v1) - F(z - step1 * v1)) / (2 * step1)
    d12 = (
        F(z + step2 * (v1 + v2))
        - F(z + step2 * (v1 - v2))
        - F(z - step2 * (v1 - v2))
        + F(z - step2 * (v1 + v2))
    ) / (4 * step2**2)
    return d1, d12


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hyperdual_pass_matches_bicomplex_step_and_finite_differences(case, dtype):
    v1, v2 = directions(case, 1)
    out = case.F(HyperDual(case.z.astype(dtype), v1.astype(dtype), v2.astype(dtype)))
    assert out.dtype == dtype
    d1, d12 = out.eps1[0], out.eps12[0]
    ref1, ref12 = bicomplex_reference(case, v1, v2)
    assert_close(d1, ref1, dtype, "exact", f"{case.name}: e1 vs bicomplex")
    assert_close(d12, ref12, dtype, "exact", f"{case.name}: e1e2 vs bicomplex")
    fd1, fd12 = central_differences(case, v1, v2)
    assert_close(d1, fd1, dtype, "fd_first", f"{case.name}: e1 vs central difference")
    assert_close(d12, fd12, dtype, "fd_second", f"{case.name}: e1e2 vs central difference")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_complex_step_through_the_forward_pass(case):
    v1, _ = directions(case, 2)
    out = case.F(case.z + 1j * H_STEP * v1)
    expected = case.F(HyperDual(case.z, v1)).eps1[0]
    assert_close(np.imag(out) / H_STEP, expected, np.float64, "complex_step", case.name)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backprop_gradient_matches_forward_mode(case, dtype):
    grad = case.grad_by_backprop(case.z.astype(dtype))
    assert grad.dtype == dtype
    assert_close(grad, hd.gradient(case.F, case.z), dtype, "exact", f"{case.name}: gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backprop_on_dual_numbers_gives_hessian_vector_products(case, dtype):
    v, _ = directions(case, 3)
    grad = case.grad_by_backprop(HyperDual(case.z.astype(dtype), v.astype(dtype)))
    assert grad.dtype == dtype
    expected = hd.hvp(case.F, case.z, v)
    assert_close(grad.eps1[0], expected, dtype, "exact", f"{case.name}: Hv by forward-over-reverse")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backprop_on_complex_numbers_gives_the_complex_step_hvp(case):
    v, _ = directions(case, 4)
    grad = case.grad_by_backprop(case.z + 1j * H_STEP * v)
    assert_close(
        np.imag(grad) / H_STEP,
        hd.hvp(case.F, case.z, v),
        np.float64,
        "complex_step",
        f"{case.name}: Hv by the complex step",
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backprop_on_bicomplex_numbers(case):
    """Back-propagation also runs on bicomplex numbers: its i1 part is h H v1."""
    v1, v2 = directions(case, 5)
    grad = case.grad_by_backprop(Bicomplex(case.z + 1j * H_STEP * v1, H_STEP * v2))
    assert_close(grad.imag1 / H_STEP, hd.hvp(case.F, case.z, v1), np.float64, "exact", case.name)
    assert_close(grad.imag2 / H_STEP, hd.hvp(case.F, case.z, v2), np.float64, "exact", case.name)


# ------------------------------------------------------------------------- kinks and choices
def test_relu_derivative_is_zero_at_zero_in_both_modes():
    x = HyperDual(np.array([-1.0, 0.0, 2.0]), np.ones(3), np.ones(3))
    y = ReLU().forward((), x)
    np.testing.assert_array_equal(y.real, [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(y.eps1[0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(y.eps12[0], [0.0, 0.0, 0.0])
    grad_x, _ = ReLU().backward((), x.real, y.real, np.ones(3))
    np.testing.assert_array_equal(grad_x, [0.0, 0.0, 1.0])


def test_sigmoid_and_log_softmax_do_not_overflow():
    x = HyperDual(np.array([-800.0, -50.0, 0.0, 50.0, 800.0]), np.ones(5), np.ones(5))
    s = Sigmoid().forward((), x)
    assert all(np.all(np.isfinite(p)) for p in s.parts)
    np.testing.assert_allclose(s.real, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], atol=1e-300)
    logits = HyperDual(np.array([[1000.0, 0.0, -1000.0]]), np.ones((1, 3)), np.ones((1, 3)))
    out = LogSoftmax().forward((), logits)
    assert all(np.all(np.isfinite(p)) for p in out.parts)
    np.testing.assert_allclose(out.real, [[0.0, -1000.0, -2000.0]])


def test_log_softmax_shift_is_exact_in_the_derivative_parts():
    """Shifting by max(real) must not change any part: compare with the unshifted formula."""
    rng = np.random.default_rng(7)
    z = HyperDual(rng.normal(size=(2, 5)), rng.normal(size=(3, 2, 5)), rng.normal(size=(3, 2, 5)))
    shifted = LogSoftmax().forward((), z)
    plain = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    for a, b in zip(shifted.parts, plain.parts):
        assert_close(a, b, np.float64, "exact", "log_softmax parts")


def test_losses_validate_their_targets():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        CrossEntropy().value(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        CrossEntropy().value(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        CrossEntropy().value(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="target shape"):
        MeanSquaredError().value(logits, np.zeros((2, 2)))


def test_sigmoid_backward_keeps_relative_accuracy_where_it_saturates():
    x = np.array([-30.0, -5.0, 0.0, 5.0, 30.0])
    y = Sigmoid().forward((), x)
    grad_x, _ = Sigmoid().backward((), x, y, np.ones(5))
    exact = np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))) ** 2  # σ'(x), symmetric
    np.testing.assert_allclose(grad_x, exact, rtol=1e-15)
