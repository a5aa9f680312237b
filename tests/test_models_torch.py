"""The models against PyTorch (an independent reverse-mode implementation), float64.

The network is rebuilt from ``model.layers`` with ``torch.nn.functional`` and fed the same
flat θ cut by ``model.param_shapes()`` (weights (out, in) and (C_out, C_in, kh, kw), NCHW,
C-order flattening — the PyTorch conventions). Loss, gradient, a directional second
derivative and a Hessian-vector product (``torch.func``: forward-over-reverse) must agree to
the "exact" tolerance. Skipped when PyTorch is not installed.
"""

import numpy as np
import pytest
from backend_helpers import host, on_backend

from hyperdual import HyperDual
from hyperdual.testing import assert_close
from layers import (
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    models,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, at import


def torch_loss(model, theta, X, y):
    """The model's mean cross-entropy written with torch.nn.functional."""
    tensors, start = [], 0
    for _, shape in model.param_shapes():
        size = int(np.prod(shape))
        tensors.append(theta[start : start + size].reshape(shape))
        start += size
    x, k = X, 0
    for _, layer in model.layers:
        if isinstance(layer, Conv2d):
            x = F.conv2d(x, tensors[k], tensors[k + 1], stride=layer.stride, padding=layer.padding)
            k += 2
        elif isinstance(layer, Dense):
            x = F.linear(x, tensors[k], tensors[k + 1])
            k += 2
        elif isinstance(layer, MaxPool2d):
            x = F.max_pool2d(x, layer.kernel_size, layer.stride, layer.padding)
        elif isinstance(layer, AvgPool2d):
            x = F.avg_pool2d(x, layer.kernel_size, layer.stride, layer.padding)
        elif isinstance(layer, Flatten):
            x = x.reshape(x.shape[0], -1)
        else:
            x = {
                ReLU: F.relu,
                Sigmoid: torch.sigmoid,
                Tanh: torch.tanh,
                Softmax: lambda t: F.softmax(t, -1),
                LogSoftmax: lambda t: F.log_softmax(t, -1),
            }[type(layer)](x)
    return F.cross_entropy(x, y)


def strided_cnn():
    return Sequential(
        [
            Conv2d(2, 4, 3, stride=2, padding=1),
            Tanh(),
            MaxPool2d(3, 2, 1),
            Conv2d(4, 3, 2, padding=1),
            Sigmoid(),
            AvgPool2d(2, 1, 1),
            Flatten(),
            Dense(75, 6),
            ReLU(),
            Dense(6, 4),
        ],
        input_shape=(2, 9, 9),
    )


def deep_mlp_tanh():
    return models.deep_mlp(16, 3, n_features=20, activation="tanh")


@pytest.mark.parametrize(
    "build",
    [models.mnist_cnn, models.lenet5, models.mlp, strided_cnn, deep_mlp_tanh],
    ids=["mnist_cnn", "lenet5", "mlp", "strided_cnn", "deep_mlp_tanh"],
)
def test_loss_gradient_and_hvp_match_pytorch(build):
    model = build()
    rng = np.random.default_rng(0)
    theta = host(model.init_params(1)) + 0.05 * rng.normal(size=model.num_params)
    X = rng.random((3,) + model.input_shape)
    y = rng.integers(0, model.output_shape[0], size=3)
    v1, v2 = rng.normal(size=(2, model.num_params))

    t_theta, t_X, t_y = torch.from_numpy(theta), torch.from_numpy(X), torch.from_numpy(y)
    f = lambda t: torch_loss(model, t, t_X, t_y)
    t_loss, t_grad = torch.func.grad_and_value(f)(t_theta)[::-1]
    _, t_hvp = torch.func.jvp(torch.func.grad(f), (t_theta,), (torch.from_numpy(v1),))

    # ours on the backend under test (PyTorch's inputs stay on the host)
    theta_b, X_b, y_b, v1_b, v2_b = (on_backend(a) for a in (theta, X, y, v1, v2))
    loss, grad = model.value_and_grad(theta_b, X_b, y_b)
    assert_close(loss, t_loss.numpy(), np.float64, "exact", "loss")
    assert_close(grad, t_grad.numpy(), np.float64, "exact", "gradient")
    assert_close(model.hvp(theta_b, X_b, y_b, v1_b), t_hvp.numpy(), np.float64, "exact", "Hv")
    forward = model.loss(HyperDual(theta_b, v1_b, v2_b), X_b, y_b)
    assert_close(forward.eps12[0], t_hvp.numpy() @ v2, np.float64, "exact", "v1ᵀHv2")
