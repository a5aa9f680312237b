"""Neural-network layers that run on real, complex, hyper-dual and bicomplex numbers.

Every layer is a pair of pure functions, ``forward(params, x)`` and back-propagation
``backward(params, x, y, grad_y)``, written once with NumPy operations (``layers.base``).
``Sequential`` chains layers over one flat parameter vector θ; ``models`` builds the
networks of the papers by name; ``from_onnx`` reads any exported ONNX graph as a model of θ
(``layers.onnx``; forward mode only)::

    from layers import models
    model = models.mnist_cnn()
    theta = model.init_params(seed=0)
    loss, grad = model.value_and_grad(theta, X, y)

Files, one family each: ``dense`` (Dense, Flatten), ``conv`` (Conv2d), ``im2col`` (windows
and their adjoint), ``pooling`` (MaxPool2d, AvgPool2d), ``activations`` (ReLU, Sigmoid, Tanh,
Softmax, LogSoftmax), ``losses`` (cross-entropy, MSE), ``sequential``, ``models``, and
``reference`` (slow loop implementations used as test oracles), ``onnx`` (an interpreter of
ONNX graphs written with the same operations).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import models
from .activations import (
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .base import Layer, Model
from .conv import Conv2d
from .dense import Dense, Flatten
from .im2col import col2im, im2col
from .losses import CrossEntropy, MeanSquaredError, cross_entropy, mse
from .pooling import AvgPool2d, MaxPool2d
from .sequential import Sequential

if TYPE_CHECKING:  # onnx is an optional dependency
    import onnx

    from .onnx import OnnxModel


def from_onnx(source: str | os.PathLike | onnx.ModelProto, **kwargs: Any) -> OnnxModel:
    """An ONNX model (path or ``onnx.ModelProto``) as a model of θ: see ``layers.onnx``."""
    from .onnx import from_onnx as _from_onnx

    return _from_onnx(source, **kwargs)


__all__ = [
    "Layer",
    "Model",
    "Dense",
    "Flatten",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "CrossEntropy",
    "MeanSquaredError",
    "cross_entropy",
    "mse",
    "im2col",
    "col2im",
    "Sequential",
    "models",
    "from_onnx",
]
