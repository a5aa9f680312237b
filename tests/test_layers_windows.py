"""im2col convolution and pooling against slow loop implementations (``layers.reference``).

Forward passes are compared value by value on random shapes, strides and paddings. Backward
passes are checked with the adjoint (dot-product) identity against the loop oracle: for a
map ``y = A x`` that is linear in the argument, ``<g, A dx> = <Aᵀ g, dx>`` for all ``g, dx``.
"""

import numpy as np
import pytest

from hyperdual import HyperDual
from hyperdual.testing import assert_close
from layers import AvgPool2d, Conv2d, MaxPool2d, reference
from layers.im2col import col2im, im2col

RNG = np.random.default_rng(3)


def random_conv_case(rng):
    """A random (layer, x, weight, bias) with stride 1..3 and padding 0..2."""
    kh, kw = rng.integers(1, 4, size=2)
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    C, C_out, N = (int(n) for n in rng.integers(1, 4, size=3))
    H = int(rng.integers(max(kh - 2 * padding, 1), 9))
    W = int(rng.integers(max(kw - 2 * padding, 1), 9))
    layer = Conv2d(C, C_out, (int(kh), int(kw)), stride=stride, padding=padding)
    x = rng.normal(size=(N, C, H, W))
    weight = rng.normal(size=(C_out, C, kh, kw))
    bias = rng.normal(size=C_out)
    return layer, x, weight, bias


def random_pool_case(rng, cls):
    k = int(rng.integers(1, 4))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, k // 2 + 1))
    N, C = (int(n) for n in rng.integers(1, 4, size=2))
    H, W = (int(n) for n in rng.integers(max(k - 2 * padding, 1), 9, size=2))
    return cls(k, stride=stride, padding=padding), rng.normal(size=(N, C, H, W))


@pytest.mark.parametrize("seed", range(12))
def test_conv_forward_matches_loop(seed):
    rng = np.random.default_rng(seed)
    layer, x, weight, bias = random_conv_case(rng)
    y = layer.forward((weight, bias), x)
    expected = reference.conv2d(x, weight, bias, layer.stride, layer.padding)
    assert y.shape == expected.shape == (x.shape[0],) + layer.output_shape(x.shape[1:])
    assert_close(y, expected, np.float64, "exact", f"{layer!r}")


@pytest.mark.parametrize("seed", range(12))
def test_conv_backward_is_the_adjoint_of_the_loop_convolution(seed):
    rng = np.random.default_rng(100 + seed)
    layer, x, weight, bias = random_conv_case(rng)
    y = layer.forward((weight, bias), x)
    g = rng.normal(size=y.shape)
    grad_x, (grad_w, grad_b) = layer.backward((weight, bias), x, y, g)
    dx, dw = rng.normal(size=x.shape), rng.normal(size=weight.shape)
    db = rng.normal(size=bias.shape)
    zero_b = np.zeros_like(bias)
    s, p = layer.stride, layer.padding
    # y is linear in x (weight fixed), in weight (x fixed) and affine in the bias.
    assert_close(
        np.sum(grad_x * dx),
        np.sum(g * reference.conv2d(dx, weight, zero_b, s, p)),
        np.float64,
        "exact",
        "input",
    )
    assert_close(
        np.sum(grad_w * dw),
        np.sum(g * reference.conv2d(x, dw, zero_b, s, p)),
        np.float64,
        "exact",
        "weight",
    )
    assert_close(
        np.sum(grad_b * db),
        np.sum(g * reference.conv2d(0 * x, 0 * weight, db, s, p)),
        np.float64,
        "exact",
        "bias",
    )


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    "cls, oracle", [(MaxPool2d, reference.max_pool2d), (AvgPool2d, reference.avg_pool2d)]
)
def test_pool_forward_matches_loop(cls, oracle, seed):
    layer, x = random_pool_case(np.random.default_rng(seed), cls)
    y = layer.forward((), x)
    expected = oracle(x, layer.kernel_size, layer.stride, layer.padding)
    assert y.shape == expected.shape == (x.shape[0],) + layer.output_shape(x.shape[1:])
    assert_close(y, expected, np.float64, "exact", f"{layer!r}")


@pytest.mark.parametrize("seed", range(10))
def test_avg_pool_backward_is_the_adjoint_of_the_loop(seed):
    rng = np.random.default_rng(200 + seed)
    layer, x = random_pool_case(rng, AvgPool2d)
    y = layer.forward((), x)
    g = rng.normal(size=y.shape)
    grad_x, grads = layer.backward((), x, y, g)
    dx = rng.normal(size=x.shape)
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    assert grads == ()
    assert_close(
        np.sum(grad_x * dx),
        np.sum(g * reference.avg_pool2d(dx, k, s, p)),
        np.float64,
        "exact",
        f"{layer!r}",
    )


@pytest.mark.parametrize("seed", range(10))
def test_max_pool_backward_routes_like_the_loop(seed):
    rng = np.random.default_rng(300 + seed)
    layer, x = random_pool_case(rng, MaxPool2d)
    x = np.round(x * 2) / 2  # many ties: first maximal entry wins
    y = layer.forward((), x)
    g = rng.normal(size=y.shape)
    grad_x, _ = layer.backward((), x, y, g)
    route = reference.max_pool2d_routing(x, layer.kernel_size, layer.stride, layer.padding)
    expected = np.einsum("ncij,ncijhw->nchw", g, route)
    assert_close(grad_x, expected, np.float64, "exact", f"{layer!r}")


def test_max_pool_ties_take_the_first_entry_in_forward_mode_too():
    # Window [[1, 1], [0, 1]]: three tied maxima; the first (top-left) one must be chosen,
    # by the forward pass (derivative parts) and by back-propagation alike.
    x = HyperDual(
        np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    )
    y = MaxPool2d(2).forward((), x)
    assert y.real.item() == 1.0 and y.eps1.item() == 10.0
    grad_x, _ = MaxPool2d(2).backward((), x.real, y.real, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(grad_x, [[[[1.0, 0.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("seed", range(6))
def test_col2im_is_the_transpose_of_im2col(seed):
    rng = np.random.default_rng(400 + seed)
    N, C = (int(n) for n in rng.integers(1, 3, size=2))
    kh, kw = (int(n) for n in rng.integers(1, 4, size=2))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    H, W = (int(n) for n in rng.integers(max(kh, kw), 9, size=2))
    x = rng.normal(size=(N, C, H, W))
    cols = im2col(x, (kh, kw), stride, padding)
    c = rng.normal(size=cols.shape)
    back = col2im(c, x.shape, stride, padding)
    assert back.shape == x.shape
    assert_close(np.sum(cols * c), np.sum(x * back), np.float64, "exact", "<im2col x, c>")


def test_im2col_is_a_view_without_padding():
    x = RNG.normal(size=(2, 3, 6, 6))
    assert np.shares_memory(im2col(x, (3, 3), 2, 0), x)


def test_im2col_layout_is_windows_with_channels_last():
    x = RNG.normal(size=(2, 3, 7, 6))
    cols = im2col(x, (3, 2), stride=2, padding=1)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert cols.shape == (2, 4, 4, 3, 2, 3)
    np.testing.assert_array_equal(cols[1, 2, 1, 0, 1, :], padded[1, :, 4, 3])


@pytest.mark.parametrize(
    "bad", [dict(kernel_size=0), dict(kernel_size=2, stride=0), dict(kernel_size=2, padding=2)]
)
def test_pool_rejects_bad_hyperparameters(bad):
    with pytest.raises(ValueError):
        MaxPool2d(**bad)


def test_conv_rejects_wrong_input_shape_and_too_small_images():
    with pytest.raises(ValueError, match="expects samples of shape"):
        Conv2d(3, 4, 3).output_shape((2, 8, 8))
    with pytest.raises(ValueError, match="does not fit"):
        Conv2d(1, 1, 5).output_shape((1, 3, 3))
