"""What every layer is: two pure functions, ``forward`` and ``backward``, and a parameter layout.

A layer holds no state besides its hyper-parameters (sizes, stride, ...). Its parameters are
passed in, as a tuple of arrays, every time:

* ``forward(params, x) -> y`` computes the output. It is written once, with NumPy operations
  only, and therefore runs unchanged when ``params`` and ``x`` are float32/float64 arrays,
  complex arrays (complex step), ``hyperdual.HyperDual`` or bicomplex numbers.
* ``backward(params, x, y, grad_y) -> (grad_x, grads)`` is back-propagation: given the input
  ``x``, the output ``y`` and the gradient of a scalar loss with respect to ``y``, it returns
  the gradients with respect to ``x`` and to each parameter. It is written with the *same*
  kind of operations, so running it on dual numbers differentiates the gradient itself
  (forward-over-reverse: Hessian-vector products).

Rules that keep this generic (every number type has them):

* ``x.real`` is the real value: a plain array for every type (for a real array, itself).
  Comparisons, ``argmax`` and stabilising shifts are computed from it and give plain arrays.
* Only linear operations (reshape, transpose, indexing, sums, padding, windows), ``+ - * /``,
  ``@`` and the elementwise functions of the rule table are used. No in-place updates.
* New plain arrays (masks, one-hot labels, zeros) are made with the array module of the data
  (``array_module``), never silently on another device.
"""

from __future__ import annotations

import math

import numpy as np

from hyperdual.aliases import Array, Operand
from hyperdual.multipart import array_module


class Layer:
    """Base class of all layers; the defaults describe a layer without parameters.

    Subclasses override ``forward`` and ``backward``, and, if they have parameters,
    ``param_shapes`` and ``init_params``. ``kind`` is the prefix of the layer's name in a
    model (``"conv"`` gives ``conv1``, ``conv2``, ...).
    """

    kind = "layer"

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """The parameters as ordered ``(name, shape)`` pairs, e.g. ``[("weight", (10, 784))]``."""
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one output sample given the shape of one input sample (no batch axis)."""
        return tuple(input_shape)

    def init_params(self, rng: np.random.Generator) -> list[Array]:
        """Initial parameters (float64 arrays in ``param_shapes`` order) drawn from ``rng``."""
        return []

    def forward(self, params: tuple, x: Operand) -> Operand:
        """The output ``y`` of the layer for the batch ``x`` (first axis: samples)."""
        raise NotImplementedError

    def backward(
        self, params: tuple, x: Operand, y: Operand, grad_y: Operand, need_input_grad: bool = True
    ) -> tuple[Operand | None, tuple]:
        """Back-propagation through the layer.

        Parameters
        ----------
        params : tuple of arrays
            The layer's parameters, shapes as in ``param_shapes``.
        x : array, shape ``(N, *input_shape)``
            The input of the forward pass.
        y : array, shape ``(N, *output_shape)``
            The output of the forward pass (``forward(params, x)``).
        grad_y : array, shape ``(N, *output_shape)``
            Gradient of the loss with respect to ``y``.
        need_input_grad : bool
            ``False`` when nothing before this layer needs a gradient; ``grad_x`` is then
            ``None`` and its cost is saved.

        Returns
        -------
        grad_x : array, shape ``(N, *input_shape)``, or None
        grads : tuple of arrays, shapes as in ``param_shapes``
        """
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- helpers
def real_dtype(x: Operand) -> np.dtype:
    """The floating dtype of the real value of ``x`` (float32 for complex64, and so on)."""
    return x.real.dtype


def glorot_uniform(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> np.ndarray:
    """Glorot/Xavier uniform: ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.

    Keeps the variance of activations and gradients roughly constant through layers with
    symmetric, saturating activations (sigmoid, tanh) and for the output layer.
    """
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def he_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """He/Kaiming uniform: ``U(-a, a)`` with ``a = sqrt(6 / fan_in)`` (for layers before a ReLU)."""
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def pytorch_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """PyTorch's default for ``Linear`` and ``Conv2d`` weights: ``U(-a, a)``, ``a = 1/sqrt(fan_in)``
    (its ``kaiming_uniform_(a=√5)``); the FoMoH paper's models were initialised this way."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


INIT_SCHEMES = ("glorot", "he", "pytorch")


def init_weight(
    rng: np.random.Generator, scheme: str, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> np.ndarray:
    """A weight tensor of ``shape`` drawn with ``scheme`` (one of ``INIT_SCHEMES``)."""
    if scheme == "glorot":
        return glorot_uniform(rng, shape, fan_in, fan_out)
    if scheme == "he":
        return he_uniform(rng, shape, fan_in)
    if scheme == "pytorch":
        return pytorch_uniform(rng, shape, fan_in)
    raise ValueError(f"unknown init scheme {scheme!r}; expected one of {INIT_SCHEMES}")


def check_positive_int(value: object, what: str) -> int:
    """``value`` as a positive int, or a ``ValueError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- models of θ
class Model:
    """What every model of one flat parameter vector θ shares (``Sequential``, ``OnnxModel``).

    A subclass sets ``name``, ``num_params`` (D), ``loss_fn`` (``layers.losses``) and
    ``_layout``, the list ``[(name, slice of θ, shape)]`` of its parameter tensors in θ order,
    and defines ``forward(theta, X)``. The rest follows here: cutting θ into tensors (views,
    for any number type), the loss, predictions.
    """

    name: str
    num_params: int
    _layout: list

    def forward(self, theta: Operand, X: Array) -> Operand:
        """The model's outputs (logits) for the batch ``X``, of θ's number type."""
        raise NotImplementedError

    # ------------------------------------------------------------------ parameters
    def param_groups(self) -> list[tuple[str, slice]]:
        """Every parameter tensor's name and slice of θ: ``[("conv1.weight", slice(0, 500)), ...]``.

        These are the groups of the partition (pseudo-Hessian) method: each weight tensor and
        each bias is one group.
        """
        return [(name, sl) for name, sl, _ in self._layout]

    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Every parameter tensor's name and shape, in θ order."""
        return [(name, shape) for name, _, shape in self._layout]

    def _check_theta(self, theta):
        if theta.ndim != 1 or theta.shape[0] != self.num_params:
            raise ValueError(
                f"{self.name}: theta must have shape ({self.num_params},), got {tuple(theta.shape)}"
            )
        return theta

    def unflatten(self, theta: Operand) -> list[tuple[str, Operand]]:
        """θ cut into the named parameter tensors, as views into ``theta``.

        Parameters
        ----------
        theta : array, shape (D,)
            Real, complex, hyper-dual or bicomplex.

        Returns
        -------
        list of (str, array)
            In θ order, e.g. ``("conv1.weight", (C_out, C_in, kh, kw))``,
            ``("conv1.bias", (C_out,))``, ``("dense1.weight", (out, in))``. Views: no copies.
        """
        self._check_theta(theta)
        return [(name, theta[sl].reshape(shape)) for name, sl, shape in self._layout]

    def flatten(self, tensors: list[Array]) -> Array:
        """The inverse of ``unflatten``: concatenate tensors (θ order) into a vector (D,)."""
        return np.concatenate([t.reshape(-1) for t in tensors])

    # ------------------------------------------------------------------ loss and predictions
    def loss(self, theta: Operand, X: Array, y: Array) -> Operand:
        """The loss (a scalar of θ's number type): mean cross-entropy for integer labels ``y``
        (N,), or the loss the model was built with."""
        return self.loss_fn.value(self.forward(theta, X), self._prepare_target(theta, y))

    def _prepare_target(self, theta, y):
        """``y`` on θ's device; floating targets in θ's real dtype."""
        y = array_module(theta, y).asarray(y)
        return y.astype(real_dtype(theta), copy=False) if y.dtype.kind == "f" else y

    def predict(self, theta: Operand, X: Array) -> Array:
        """Predicted classes (N,): the argmax of the real outputs."""
        return np.argmax(self.forward(theta, X).real, axis=-1)

    def accuracy(self, theta: Operand, X: Array, y: Array) -> float:
        """Fraction of samples whose predicted class equals the label."""
        return float(np.mean(self.predict(theta, X) == array_module(theta, y).asarray(y)))
