"""The models of the papers, each built by name.

=======================  ===========================================================  ==========
name                     architecture (MNIST defaults)                                parameters
=======================  ===========================================================  ==========
``logistic_regression``  Dense 784→10                                                      7,850
``mlp``                  Dense 784→16, ReLU, Dense 16→10 (``hidden=16``)                  12,730
``mnist_cnn``            Conv 1→20 5×5, ReLU, MaxPool 2, Conv 20→50 5×5, ReLU,           431,080
                         MaxPool 2, Flatten (800), Dense 800→500, ReLU, Dense 500→10
``lenet5``               Conv 1→6 5×5 pad 2, Sigmoid, AvgPool 2, Conv 6→16 5×5,           61,706
                         Sigmoid, AvgPool 2, Flatten (400), Dense 400→120, Sigmoid,
                         Dense 120→84, Sigmoid, Dense 84→10
``deep_mlp``             ``depth`` × (Dense → ``width``, ReLU), then Dense               (formula)
                         ``width`` → 10
=======================  ===========================================================  ==========

All end in logits; the loss is the mean cross-entropy with integer labels. Weights are
initialised He-uniform when a ReLU follows and Glorot-uniform otherwise (sigmoid layers and
the output layer); biases start at zero (``layers.base``).

``build(name, **kwargs)`` builds any of them by name (the command-line tool uses it).
"""

from __future__ import annotations

from typing import Any

from .activations import ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .dense import Dense, Flatten
from .im2col import output_size
from .pooling import AvgPool2d, MaxPool2d
from .sequential import Sequential


def logistic_regression(n_features: int = 784, n_classes: int = 10) -> Sequential:
    """Multinomial logistic regression: one Dense layer, ``n_features·n_classes + n_classes``
    parameters (7,850 for MNIST). Inputs (N, n_features); images are flattened."""
    return Sequential(
        [Dense(n_features, n_classes)], input_shape=(n_features,), name="logistic_regression"
    )


def mlp(hidden: int = 16, n_features: int = 784, n_classes: int = 10) -> Sequential:
    """The two-layer ReLU network of "Second-order optimization made practical" (Newton,
    Hessian-free Newton-CG and Gauss-Newton on MNIST): Dense → ReLU → Dense.

    The paper does not give the hidden width; it asks for a network small enough that the
    full Hessian can be computed. We choose ``hidden=16``: D = 12,730 parameters, so the dense
    Hessian takes 1.3 GB in float64 (D² · 8 bytes) and one Cholesky factorisation is a matter
    of seconds. Pass a smaller ``hidden`` for cheaper Newton experiments
    (``D = hidden·(n_features + 1) + n_classes·(hidden + 1)``).
    """
    return Sequential(
        [Dense(n_features, hidden, init="he"), ReLU(), Dense(hidden, n_classes)],
        input_shape=(n_features,),
        name="mlp",
    )


def mnist_cnn(input_shape: tuple[int, int, int] = (1, 28, 28), n_classes: int = 10) -> Sequential:
    """The CNN of the FoMoH paper (431,080 parameters for 28×28 MNIST images).

    Conv 1→20 5×5, ReLU, MaxPool 2; Conv 20→50 5×5, ReLU, MaxPool 2; Flatten (50·4·4 = 800);
    Dense 800→500, ReLU; Dense 500→10. Inputs (N, 1, 28, 28). Weights are drawn like
    PyTorch's defaults (``init="pytorch"``, as in the paper's code), so the initial loss is
    near log(10); He initialisation made it start near 6.
    """
    C, H, W = input_shape
    h, w = H, W
    for _ in range(2):  # conv 5×5 then max-pool 2, twice
        h, w = output_size(h, 5, 1, 0) // 2, output_size(w, 5, 1, 0) // 2
    flat = 50 * h * w
    return Sequential(
        [
            Conv2d(C, 20, 5, init="pytorch"),
            ReLU(),
            MaxPool2d(2),
            Conv2d(20, 50, 5, init="pytorch"),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Dense(flat, 500, init="pytorch"),
            ReLU(),
            Dense(500, n_classes, init="pytorch"),
        ],
        input_shape=(C, H, W),
        name="mnist_cnn",
    )


def lenet5(input_shape: tuple[int, int, int] = (1, 28, 28), n_classes: int = 10) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) with sigmoid activations and average pooling, the test
    bed of the complex-step Newton-Krylov paper: 61,706 parameters for 28×28 MNIST.

    The first convolution pads by 2, so a 28×28 digit is seen like the original 32×32 input:
    Conv 1→6 5×5 (28×28), Sigmoid, AvgPool 2 (14×14); Conv 6→16 5×5 (10×10), Sigmoid,
    AvgPool 2 (5×5); Flatten (400); Dense 400→120, Sigmoid; Dense 120→84, Sigmoid;
    Dense 84→10. Sigmoid keeps every layer twice differentiable (unlike ReLU), so the Hessian
    carries curvature everywhere.
    """
    C, H, W = input_shape
    h, w = H, W
    for pad in (2, 0):  # conv 5×5 then average-pool 2, twice
        h, w = output_size(h, 5, 1, pad) // 2, output_size(w, 5, 1, pad) // 2
    return Sequential(
        [
            Conv2d(C, 6, 5, padding=2),
            Sigmoid(),
            AvgPool2d(2),
            Conv2d(6, 16, 5),
            Sigmoid(),
            AvgPool2d(2),
            Flatten(),
            Dense(16 * h * w, 120),
            Sigmoid(),
            Dense(120, 84),
            Sigmoid(),
            Dense(84, n_classes),
        ],
        input_shape=(C, H, W),
        name="lenet5",
    )


_ACTIVATIONS = {"relu": (ReLU, "he"), "tanh": (Tanh, "glorot"), "sigmoid": (Sigmoid, "glorot")}


def deep_mlp(
    width: int = 64,
    depth: int = 4,
    n_features: int = 784,
    n_classes: int = 10,
    activation: str = "relu",
) -> Sequential:
    """A deep multilayer perceptron for memory and depth experiments.

    ``depth`` hidden layers of ``width`` units (Dense then activation), then Dense
    ``width``→``n_classes``. Parameters:
    ``D = (n_features + 1)·width + (depth − 1)(width + 1)·width + (width + 1)·n_classes``.
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    if int(depth) < 1:
        raise ValueError(f"depth must be at least 1, got {depth!r}")
    act, init = _ACTIVATIONS[activation]
    layers = []
    n_in = n_features
    for _ in range(int(depth)):
        layers += [Dense(n_in, width, init=init), act()]
        n_in = width
    layers.append(Dense(width, n_classes))
    return Sequential(layers, input_shape=(n_features,), name=f"deep_mlp_{width}x{depth}")


MODELS = {
    "logistic_regression": logistic_regression,
    "mlp": mlp,
    "mnist_cnn": mnist_cnn,
    "lenet5": lenet5,
    "deep_mlp": deep_mlp,
}
"""name -> builder; every builder's keyword arguments have defaults."""

ALIASES = {"logreg": "logistic_regression", "cnn": "mnist_cnn", "lenet": "lenet5"}

IMAGE_MODELS = ("mnist_cnn", "lenet5")
"""Models that take images ``(N, 1, H, W)``; all other models take flattened inputs."""


def available() -> list[str]:
    """The model names ``build`` accepts (aliases excluded)."""
    return sorted(MODELS)


def build(name: str, **kwargs: Any) -> Sequential:
    """Build a model by name, e.g. ``build("deep_mlp", width=128, depth=8)``.

    Names: ``logistic_regression`` (alias ``logreg``), ``mlp``, ``mnist_cnn`` (``cnn``),
    ``lenet5`` (``lenet``), ``deep_mlp``. Keyword arguments go to the builder.
    """
    key = ALIASES.get(name, name)
    if key not in MODELS:
        raise ValueError(
            f"unknown model {name!r}; available: {', '.join(available())} "
            f"(aliases: {', '.join(sorted(ALIASES))})"
        )
    return MODELS[key](**kwargs)
