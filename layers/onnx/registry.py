"""The operator table: one entry per ONNX op type, and the helpers every operator uses.

An operator is a plain function ``fn(ctx, attrs, *inputs) -> output or tuple of outputs``
registered with ``@op("OpType", attrs={name: default})``. ``inputs`` are the node's inputs in
order, ``None`` for an omitted optional one; ``attrs`` holds every declared attribute (the
node's value or the default). A node using an attribute that is not declared is refused when
the model is loaded, with the op's list of supported attributes.

Values flowing through the graph are of two sorts:

* **numbers**: anything derived from θ or from floating inputs — a real or complex array, a
  ``Dual``, ``HyperDual``, ``Bicomplex`` (or any other ``MultiPartArray``). Operators touch them
  only through NumPy functions and operators, so every number type flows through;
* **plain arrays**: integer and boolean tensors (shapes, indices, masks) and floating
  constants, always NumPy-style arrays of the evaluation's array module. Floating constants are
  held in the evaluation's real dtype (``ctx.real_dtype``, that of θ), so that a float32 θ stays
  float32 and the float64 oracle evaluates a float32 model in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from hyperdual.aliases import Array, ArrayLike, DTypeLike, Operand
from hyperdual.backend import to_numpy
from hyperdual.multipart import MultiPartArray

from .errors import UnsupportedOnnxError

REQUIRED = object()
"""Default of an attribute that must be given."""

ELEM_TYPES = {
    1: np.dtype(np.float32),
    2: np.dtype(np.uint8),
    3: np.dtype(np.int8),
    4: np.dtype(np.uint16),
    5: np.dtype(np.int16),
    6: np.dtype(np.int32),
    7: np.dtype(np.int64),
    9: np.dtype(np.bool_),
    10: np.dtype(np.float16),
    11: np.dtype(np.float64),
    12: np.dtype(np.uint32),
    13: np.dtype(np.uint64),
}
"""ONNX ``TensorProto.DataType`` -> NumPy dtype, for the element types the interpreter reads
(strings, complex, bfloat16 and the 4/8-bit types are refused)."""


@dataclass(frozen=True)
class OpSpec:
    """One operator: its function, its attributes with defaults, how many outputs it gives."""

    name: str
    fn: object
    attrs: dict = field(default_factory=dict)
    outputs: int = 1
    check: object = None  # check(attrs, opset) -> None, raises UnsupportedOnnxError


OPS: dict = {}
"""op type -> OpSpec, filled by the ``ops_*`` modules."""


def op(
    name: str,
    attrs: dict | None = None,
    outputs: int = 1,
    check: Callable[[dict, int], None] | None = None,
) -> Callable[[Callable], Callable]:
    """Register ``fn`` as the implementation of the ONNX op type ``name``."""

    def register(fn):
        OPS[name] = OpSpec(name, fn, dict(attrs or {}), outputs, check)
        return fn

    return register


def supported_ops() -> list[str]:
    """The op types the interpreter evaluates, sorted."""
    return sorted(OPS)


class Context:
    """What an operator may need besides its inputs: opset, real dtype, array module."""

    def __init__(self, opset: int, real_dtype: DTypeLike, xp: ModuleType, max_elements: int):
        self.opset = opset
        self.num_outputs = 1  # outputs of the node being evaluated (Split)
        self.real_dtype = np.dtype(real_dtype)
        self.xp = xp
        self.max_elements = max_elements

    def constant(self, array: ArrayLike) -> Array:
        """A plain array on this evaluation's device; floating ones in the real dtype."""
        array = self.xp.asarray(array)
        if array.dtype.kind == "f" and array.dtype != self.real_dtype:
            array = array.astype(self.real_dtype)
        return array

    def check_size(self, shape: Iterable[int], what: str) -> None:
        """Refuse an array of ``shape`` above the element limit (data-dependent sizes)."""
        count = 1
        for n in shape:
            if n < 0:
                raise UnsupportedOnnxError(f"{what}: negative dimension in shape {tuple(shape)}")
            count *= int(n)
        if count > self.max_elements:
            raise UnsupportedOnnxError(
                f"{what}: shape {tuple(shape)} has {count} elements, "
                f"more than the limit {self.max_elements}"
            )


# --------------------------------------------------------------------------- helpers
def ints(value: Operand) -> list[int]:
    """A plain integer tensor (shape, axes, pads) as a list of Python ints."""
    if isinstance(value, MultiPartArray):
        raise UnsupportedOnnxError(
            "an integer input (shape, axes, indices) carries derivative parts"
        )
    return [int(v) for v in np.asarray(to_numpy(value)).reshape(-1)]


def dtype_of(value: ArrayLike) -> np.dtype:
    """The dtype of a plain tensor of either backend, read without converting it
    (``np.asarray`` of a CuPy array is refused: nothing is copied to the host silently)."""
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.result_type(value)


def scalar(value: ArrayLike) -> int | float | bool:
    """A plain one-element tensor as a Python number."""
    array = np.asarray(to_numpy(value))
    if array.size != 1:
        raise UnsupportedOnnxError(f"expected a single value, got shape {array.shape}")
    return array.reshape(()).item()


def axis_index(axis: int, ndim: int, what: str = "axis") -> int:
    """A possibly negative ONNX axis as an index in ``[0, ndim)``."""
    if not -ndim <= axis < ndim:
        raise UnsupportedOnnxError(f"{what} {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def one_of(value: object, allowed: Iterable, what: str) -> None:
    """Refuse an attribute value outside ``allowed`` (names it and the allowed values)."""
    if value not in allowed:
        raise UnsupportedOnnxError(
            f"{what}={value!r} is not supported (supported: {', '.join(map(repr, allowed))})"
        )
