"""``OnnxModel``: an ONNX graph behind the interface of ``layers.Sequential``.

θ is the concatenation of the graph's floating-point initializers, each flattened in C order,
in the graph's initializer order (``param_shapes`` names them by their ONNX names). The model
is a function of θ only: the data inputs are constants. ``loss`` is the mean cross-entropy of
the first output as logits (N, K) with integer labels (N,), or the MSE. Derivatives come from
forward mode — ``hyperdual.directional / gradient / hvp / projected_hessian`` on ``model.loss``
— there is no back-propagation for ONNX models.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from hyperdual.aliases import Array, DTypeLike, Operand
from hyperdual.backend import get_backend
from hyperdual.multipart import MultiPartArray

from ..base import Model, array_module, real_dtype
from ..losses import LOSSES
from .graph import Graph
from .loading import MAX_MODEL_BYTES, load_model

if TYPE_CHECKING:  # onnx is an optional dependency
    import onnx


def from_onnx(
    source: str | os.PathLike | onnx.ModelProto,
    *,
    loss: str | object = "cross_entropy",
    parameters: Collection[str] | None = None,
    name: str | None = None,
    max_bytes: int = MAX_MODEL_BYTES,
) -> OnnxModel:
    """Read an ONNX model (path or ``onnx.ModelProto``) as a model of θ.

    Parameters
    ----------
    source : path-like or onnx.ModelProto
        The file is untrusted input: size-limited, external data only from its folder.
    loss : {"cross_entropy", "mse"} or a loss object
        Of the graph's first output.
    parameters : collection of str, optional
        The floating initializers that make up θ (default: all, in graph order); the others
        are held constant.
    name : str, optional
        Default: the graph's name.
    max_bytes : int
        Largest accepted file size.

    Returns
    -------
    OnnxModel

    Raises
    ------
    layers.onnx.OnnxFileError, UnsupportedOnnxError, OnnxDifferentiationError
    """
    model, _ = load_model(source, max_bytes=max_bytes)
    return OnnxModel(
        Graph(model, parameters=parameters), loss=loss, name=name or model.graph.name or "onnx"
    )


class OnnxModel(Model):
    """An ONNX graph evaluated on any number type, as a function of one flat vector θ.

    Attributes
    ----------
    graph : layers.onnx.graph.Graph
    input_names, output_names : list of str
        The data inputs (graph inputs that are not initializers) and the outputs.
    num_params : int
        D, the length of θ.
    """

    def __init__(self, graph: Graph, loss: str | object = "cross_entropy", name: str = "onnx"):
        self.graph, self.name = graph, name
        self.loss_fn = LOSSES[loss]() if isinstance(loss, str) else loss
        self.input_names = [n for n, _, _ in graph.inputs]
        self.output_names = [n for n, _, _ in graph.outputs]
        self._layout, start = [], 0
        for param in graph.param_names:
            shape = tuple(graph.initializers[param].shape)
            size = math.prod(shape)
            self._layout.append((param, slice(start, start + size), shape))
            start += size
        self.num_params = start

    # ------------------------------------------------------------------ parameters
    def init_params(self, seed: int | None = None, dtype: DTypeLike | None = None) -> Array:
        """θ as stored in the graph, on the current backend.

        ``seed`` is accepted for the interface of ``Sequential`` and ignored: the initializers
        *are* the parameters. ``dtype`` defaults to the initializers' own (their common type).
        """
        arrays = [self.graph.initializers[name].reshape(-1) for name in self.graph.param_names]
        theta = np.concatenate(arrays) if arrays else np.zeros(0)
        if dtype is not None:
            if np.dtype(dtype).kind != "f":
                raise ValueError(f"init_params dtype must be a real floating type, got {dtype}")
            theta = theta.astype(dtype)
        return get_backend().asarray(theta)

    # ------------------------------------------------------------------ shapes
    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """Per-sample shape of the first data input (without the batch axis), or None when it
        has symbolic dimensions besides the batch."""
        dims = self.graph.inputs[0][2] if self.graph.inputs else None
        if not dims or not all(isinstance(d, int) and d > 0 for d in dims[1:]):
            return None
        return tuple(dims[1:])

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        """Declared per-sample shape of the first output, or None if not static."""
        dims = self.graph.outputs[0][2]
        if not dims or not all(isinstance(d, int) and d > 0 for d in dims[1:]):
            return None
        return tuple(dims[1:])

    # ------------------------------------------------------------------ forward
    def _data_inputs(self, theta, X):
        """``X`` as ``{input name: array}`` on θ's device; floating data in θ's real dtype."""
        if isinstance(X, dict):
            given = dict(X)
        elif isinstance(X, (tuple, list)):
            given = dict(zip(self.input_names, X))
            if len(X) != len(self.input_names):
                raise ValueError(
                    f"{self.name}: {len(X)} inputs given, the graph takes {self.input_names}"
                )
        else:
            if len(self.input_names) != 1:
                raise ValueError(
                    f"{self.name}: the graph takes the inputs {self.input_names}; "
                    "pass a dict or a tuple"
                )
            given = {self.input_names[0]: X}
        if set(given) != set(self.input_names):
            raise ValueError(
                f"{self.name}: inputs {sorted(given)} given, the graph takes {self.input_names}"
            )
        dtype = real_dtype(theta)
        out = {}
        for name, declared, _ in self.graph.inputs:
            value = given[name]
            if isinstance(value, MultiPartArray):
                raise TypeError("inputs must be plain arrays (differentiate with respect to theta)")
            value = array_module(theta, value).asarray(value)
            if value.dtype.kind == "f" or (declared is not None and declared.kind == "f"):
                value = value.astype(dtype, copy=False)
            out[name] = value
        return out

    def outputs(
        self, theta: Operand, X: Array | tuple | dict, names: list[str] | None = None
    ) -> list[Operand]:
        """The graph's outputs (all, or ``names``) for parameters θ and data ``X``.

        Parameters
        ----------
        theta : array, shape (D,)
            Real, complex, Dual, HyperDual, Bicomplex, ...
        X : array, tuple of arrays, or dict {input name: array}
            The data inputs; one array when the graph has one input.
        """
        self._check_theta(theta)
        params = dict(self.unflatten(theta))
        inputs = self._data_inputs(theta, X)
        return self.graph.run(
            params, inputs, real_dtype(theta), array_module(theta), list(names or self.output_names)
        )

    def forward(self, theta: Operand, X: Array | tuple | dict) -> Operand:
        """The graph's first output (the logits) for the batch ``X``."""
        return self.outputs(theta, X, self.output_names[:1])[0]

    # ------------------------------------------------------------------ description
    def summary(self) -> str:
        """A text description: inputs, outputs, operators used, parameters."""
        rows = [
            f"{self.name}: ONNX opset {self.graph.opset}, {len(self.graph.nodes)} nodes",
            "  inputs:  " + ", ".join(f"{n} {d}" for n, _, d in self.graph.inputs),
            "  outputs: " + ", ".join(f"{n} {d}" for n, _, d in self.graph.outputs),
            "  operators: " + ", ".join(f"{k} ×{v}" for k, v in self.graph.op_counts().items()),
        ]
        rows += [
            f"  {name:<40} {str(shape):<20} {sl.stop - sl.start:>9,}"
            for name, sl, shape in self._layout
        ]
        rows.append(f"  total parameters: {self.num_params:,}")
        return "\n".join(rows)

    def __repr__(self):
        return f"<OnnxModel {self.name!r}: {len(self.graph.nodes)} nodes, {self.num_params} params>"
