"""A chain of layers over one flat parameter vector θ, with back-propagation.

The optimizers see a model as a function of a 1-D vector ``theta`` (shape (D,)). The model
cuts ``theta`` into per-layer tensors in one place, ``unflatten``, which returns *views*
(slices reshaped), also when ``theta`` is a hyper-dual or bicomplex number — no parameter is
ever copied.

Three ways to differentiate the loss, all exact to rounding:

* **forward mode** — call ``model.loss`` on a hyper-dual ``theta`` (``hyperdual.directional``,
  ``hyperdual.projected_hessian``, ...). ``forward`` keeps only the current activation alive:
  no tape, so its memory does not grow with depth;
* **back-propagation** — ``value_and_grad`` stores every activation, then walks the layers
  backwards (memory grows with depth; cost a small multiple of one forward pass, for all D
  partial derivatives at once);
* **forward-over-reverse** — ``value_and_grad`` on ``theta + v e1`` carries ``e1`` parts
  through both passes; the ``e1`` part of the gradient is ``H v`` (``hvp``). On a complex
  ``theta + i h v`` the imaginary part of the gradient is ``h H v`` (the complex step).

``gnvp`` applies the Gauss-Newton matrix ``G = Jᵀ H_out J`` (J: Jacobian of the outputs with
respect to θ, H_out: Hessian of the loss with respect to the outputs).
"""

from __future__ import annotations

import numpy as np

from hyperdual.aliases import Array, ArrayLike, DTypeLike, Operand
from hyperdual.backend import get_backend
from hyperdual.multipart import MultiPartArray
from hyperdual.number import Dual

from .base import Layer, Model, array_module, real_dtype
from .losses import LOSSES


class Sequential(Model):
    """Layers applied one after the other, parameters in one flat vector θ.

    Parameters
    ----------
    layers : list of Layer or (str, Layer)
        Unnamed layers are named ``kind + index`` (``conv1``, ``relu1``, ``dense1``, ...).
    input_shape : tuple of int
        Shape of one input sample, e.g. ``(784,)`` or ``(1, 28, 28)``.
    loss : {"cross_entropy", "mse"} or a loss object
        The loss of the outputs (``layers.losses``); default mean cross-entropy on logits.
    name : str

    Notes
    -----
    θ holds the parameters layer by layer, in the order of ``param_shapes`` (weight, then
    bias), each tensor in C order; ``param_groups`` gives every tensor's slice of θ.
    """

    def __init__(
        self,
        layers: list[Layer | tuple[str, Layer]],
        input_shape: tuple[int, ...],
        loss: str | object = "cross_entropy",
        name: str = "sequential",
    ):
        self.name = name
        self.input_shape = tuple(int(n) for n in input_shape)
        self.loss_fn = LOSSES[loss]() if isinstance(loss, str) else loss
        self.layers = []  # [(name, Layer)]
        counts = {}
        for item in layers:
            layer_name, layer = item if isinstance(item, tuple) else (None, item)
            if not isinstance(layer, Layer):
                raise TypeError(f"expected a Layer, got {type(layer).__name__}")
            if layer_name is None:
                counts[layer.kind] = counts.get(layer.kind, 0) + 1
                layer_name = f"{layer.kind}{counts[layer.kind]}"
            self.layers.append((layer_name, layer))
        if len({n for n, _ in self.layers}) != len(self.layers):
            raise ValueError("layer names must be unique")
        self._build_layout()

    def _build_layout(self):
        """Shapes of all activations and the slice of θ of every parameter tensor."""
        self.shapes = [self.input_shape]  # per-sample shape before each layer, and after
        self._layer_layout = []  # per layer: [(full name, slice, shape)]
        start = 0
        for layer_name, layer in self.layers:
            self.shapes.append(tuple(layer.output_shape(self.shapes[-1])))
            entries = []
            for param_name, shape in layer.param_shapes():
                size = int(np.prod(shape, dtype=np.int64))
                entries.append(
                    (f"{layer_name}.{param_name}", slice(start, start + size), tuple(shape))
                )
                start += size
            self._layer_layout.append(entries)
        self.num_params = start
        self._layout = [entry for entries in self._layer_layout for entry in entries]
        # Layers before the first one with parameters need no input gradient.
        with_params = [k for k, entries in enumerate(self._layer_layout) if entries]
        self._first_trainable = with_params[0] if with_params else len(self.layers)

    # ------------------------------------------------------------------ parameters
    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output sample, e.g. ``(10,)``."""
        return self.shapes[-1]

    def _layer_params(self, theta):
        """Per layer, the tuple of its parameter views."""
        self._check_theta(theta)
        return [
            tuple(theta[sl].reshape(shape) for _, sl, shape in entries)
            for entries in self._layer_layout
        ]

    def init_params(self, seed: int | None = 0, dtype: DTypeLike = np.float64) -> Array:
        """A seeded initial θ of ``dtype`` on the current backend (``hyperdual.get_backend``).

        Each layer draws its tensors in order from one ``numpy.random.default_rng(seed)`` in
        float64 (Glorot/He uniform weights, zero biases; see each layer), then θ is cast, so
        float32 and float64 start from the same point.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"init_params dtype must be a real floating type, got {dtype}")
        rng = np.random.default_rng(seed)
        tensors = [
            np.asarray(t, dtype=np.float64).reshape(-1)
            for _, layer in self.layers
            for t in layer.init_params(rng)
        ]
        theta = np.concatenate(tensors) if tensors else np.zeros(0)
        return get_backend().asarray(theta.astype(dtype))

    # ------------------------------------------------------------------ forward
    def _prepare_inputs(self, theta, X):
        """``X`` on θ's device, of θ's real dtype, with per-sample shape ``input_shape``."""
        if isinstance(X, MultiPartArray):
            raise TypeError("X must be a plain array (differentiate with respect to theta)")
        X = array_module(theta, X).asarray(X)  # never copied to another device
        size = int(np.prod(self.input_shape, dtype=np.int64))
        if X.ndim < 1 or int(np.prod(X.shape[1:], dtype=np.int64)) != size:
            raise ValueError(
                f"{self.name}: X must have shape (N, *{self.input_shape}) "
                f"(or any (N, ...) with {size} values per sample); got {X.shape}"
            )
        return X.reshape((X.shape[0],) + self.input_shape).astype(real_dtype(theta), copy=False)

    def forward(self, theta: Operand, X: ArrayLike) -> Operand:
        """The network outputs (logits) for the batch ``X``.

        Parameters
        ----------
        theta : array, shape (D,)
            Real, complex, hyper-dual or bicomplex.
        X : array, shape ``(N, *input_shape)``
            Plain data; images are NCHW.

        Returns
        -------
        array, shape ``(N, *output_shape)``
            Of θ's number type. Only the current activation is kept alive.
        """
        x = self._prepare_inputs(theta, X)
        for (_, layer), params in zip(self.layers, self._layer_params(theta)):
            x = layer.forward(params, x)
        return x

    # ------------------------------------------------------------------ back-propagation
    def _forward_storing(self, theta, X):
        """Forward pass that keeps every activation (what back-propagation needs)."""
        params = self._layer_params(theta)
        activations = [self._prepare_inputs(theta, X)]
        for (_, layer), p in zip(self.layers, params):
            activations.append(layer.forward(p, activations[-1]))
        return params, activations

    def _backward(self, params, activations, grad_output):
        """Walk the layers backwards from ``∂L/∂output``; returns ∂L/∂θ (D,)."""
        grads = [()] * len(self.layers)
        grad = grad_output
        for k in reversed(range(len(self.layers))):
            _, layer = self.layers[k]
            grad, grads[k] = layer.backward(
                params[k],
                activations[k],
                activations[k + 1],
                grad,
                need_input_grad=k > self._first_trainable,
            )
        flat = [g.reshape(-1) for layer_grads in grads for g in layer_grads]
        if not flat:  # a model without parameters
            return array_module(grad_output).zeros(0, dtype=real_dtype(grad_output))
        return np.concatenate(flat)

    def value_and_grad(self, theta: Operand, X: ArrayLike, y: ArrayLike) -> tuple[Operand, Operand]:
        """The loss and its gradient by back-propagation.

        Parameters
        ----------
        theta : array, shape (D,)
            Real, complex, hyper-dual or bicomplex. On ``theta + v e1`` (hyper-dual) the
            ``e1`` part of the gradient is ``H v``; on complex ``theta + i h v`` its imaginary
            part is ``h H v`` (plus O(h³)).
        X : array, shape ``(N, *input_shape)``
        y : array, shape (N,) of int (cross-entropy) or the outputs' shape (MSE)

        Returns
        -------
        loss : scalar of θ's number type
        grad : array, shape (D,), of θ's number type
        """
        params, activations = self._forward_storing(theta, X)
        target = self._prepare_target(theta, y)
        output = activations[-1]
        value = self.loss_fn.value(output, target)
        grad = self._backward(params, activations, self.loss_fn.grad(output, target))
        return value, grad

    def vjp(self, theta: Operand, X: ArrayLike, cotangent: Operand) -> Operand:
        """``Jᵀ u``: back-propagate a cotangent ``u`` of the outputs to θ.

        Parameters
        ----------
        theta : array, shape (D,)
        X : array, shape ``(N, *input_shape)``
        cotangent : array, shape ``(N, *output_shape)``

        Returns
        -------
        array, shape (D,): ``Σ_n Σ_k u[n, k] ∂z[n, k]/∂θ``
        """
        params, activations = self._forward_storing(theta, X)
        return self._backward(params, activations, cotangent)

    def jvp(self, theta: Array, X: ArrayLike, v: ArrayLike) -> tuple[Array, Array]:
        """``J v``: outputs and their derivative along ``v`` from one hyper-dual forward pass.

        Parameters
        ----------
        theta : real array, shape (D,)
        X : array, shape ``(N, *input_shape)``
        v : real array, shape (D,) or (K, D)

        Returns
        -------
        outputs : real array, shape ``(N, *output_shape)``
        tangent : real array
            Shape ``(N, *output_shape)``, or ``(K, N, *output_shape)`` for a (K, D) ``v``.
        """
        out = self.forward(self._dual(theta, v, "jvp"), X)
        return out.real, (out.eps if np.ndim(v) == 2 else out.eps[0])

    def hvp(self, theta: Array, X: ArrayLike, y: ArrayLike, v: ArrayLike) -> Array:
        """Hessian-vector product ``∇²L(θ) v`` by back-propagation on ``theta + v e1``.

        Parameters
        ----------
        theta : real array, shape (D,)
        v : real array, shape (D,), or (K, D) for K products in one pass (on the pair axis)

        Returns
        -------
        real array, shape (D,) or (K, D)
        """
        _, grad = self.value_and_grad(self._dual(theta, v, "hvp"), X, y)
        return grad.eps if np.ndim(v) == 2 else grad.eps[0]

    def gnvp(self, theta: Array, X: ArrayLike, y: ArrayLike, v: ArrayLike) -> Array:
        """Gauss-Newton-vector product ``Jᵀ H_out J v``.

        ``J v`` comes from one hyper-dual forward pass (``jvp``), ``H_out`` is applied in
        closed form (``loss_fn.hessian_vector``) and ``Jᵀ`` by back-propagation (``vjp``).

        Parameters
        ----------
        theta : real array, shape (D,)
        v : real array, shape (D,), or (K, D) (one back-propagation per row)

        Returns
        -------
        real array, shape (D,) or (K, D)
        """
        outputs, Jv = self.jvp(theta, X, v)
        target = self._prepare_target(theta, y)
        params, activations = self._forward_storing(theta, X)
        products = [
            self._backward(
                params, activations, self.loss_fn.hessian_vector(outputs, target, tangent)
            )
            for tangent in (Jv if np.ndim(v) == 2 else [Jv])
        ]
        return np.stack(products) if np.ndim(v) == 2 else products[0]

    def _dual(self, theta, v, what):
        """``theta + v e`` as a ``Dual`` of θ's dtype, after checks (first order suffices:
        J v, and H v by back-propagating the dual loss, need no e2 parts).

        ``v`` of shape (D,) or (K, D): K directions ride on the pair axis of one pass.
        """
        if isinstance(theta, MultiPartArray) or theta.dtype.kind != "f":
            raise TypeError(
                f"{what} expects a real theta (float32/float64), got "
                f"{type(theta).__name__} of dtype {theta.dtype}"
            )
        self._check_theta(theta)
        v = array_module(theta, v).asarray(v)
        if v.shape[-1:] != theta.shape or v.ndim > 2:
            raise ValueError(
                f"{what}: v must have shape (D,) or (K, D) with D = {theta.shape[0]}, got {v.shape}"
            )
        return Dual(theta, v.astype(theta.dtype, copy=False))

    # ------------------------------------------------------------------ conveniences
    def summary(self) -> str:
        """A text table: layer, output shape, parameter count."""
        rows = [f"{self.name}: input {self.input_shape}"]
        for (layer_name, layer), shape, entries in zip(
            self.layers, self.shapes[1:], self._layer_layout
        ):
            count = sum(sl.stop - sl.start for _, sl, _ in entries)
            rows.append(f"  {layer_name:<12} {layer!r:<58} -> {str(shape):<16} {count:>9,}")
        rows.append(f"  total parameters: {self.num_params:,}")
        return "\n".join(rows)

    def __repr__(self):
        return f"<Sequential {self.name!r}: {len(self.layers)} layers, {self.num_params} params>"
