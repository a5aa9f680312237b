"""The names used in type annotations across ``hyperdual``, ``layers`` and ``optimizers``.

Annotations say what *kind* of object an argument is; shapes and dtypes are in the
docstrings (``theta : array, shape (D,)``). Arrays are NumPy arrays or, with the GPU backend,
CuPy arrays: there is no common static type for both, so ``Array`` is an alias that documents
the intent and checks nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeAlias

from numpy.typing import ArrayLike, DTypeLike  # re-exported: annotations import from here

__all__ = [
    "Array",
    "ArrayLike",
    "ArrayModule",
    "DTypeLike",
    "Operand",
    "Objective",
    "GradientFn",
    "Rule",
    "Parts",
    "BilinearOp",
]

Array: TypeAlias = Any
"""A plain array: ``numpy.ndarray``, or ``cupy.ndarray`` with the GPU backend."""

ArrayModule: TypeAlias = ModuleType
"""The array module an array lives in: ``numpy`` or ``cupy`` (see ``hyperdual.namespace``)."""

Operand: TypeAlias = Any
"""What the generic code computes on: a plain array (real or complex), a Python scalar, or an
array of numbers (``HyperDual``, ``Dual``, ``Jet``, ``Bicomplex``: a ``MultiPartArray``)."""

Objective: TypeAlias = Callable[[Any], Any]
"""``f(theta) -> scalar``, written with NumPy operations, evaluated on any number type."""

GradientFn: TypeAlias = Callable[[Any], tuple[Any, Any]]
"""``grad(theta) -> (value, gradient)``, e.g. back-propagation (``model.value_and_grad``)."""

Rule: TypeAlias = Callable[[ModuleType, Any], tuple[Any, Any, Any]]
"""An entry of the rule table: ``rule(xp, a) -> (f(a), f'(a), f''(a))``."""

Parts: TypeAlias = tuple
"""The component arrays of a number, in its ``PART_NAMES`` order (``None``: a structural
zero, see ``hyperdual.multipart``)."""

BilinearOp: TypeAlias = Callable[[Any, int, Any, int], Any]
"""A bilinear operation on two parts, ``op(p, lead_p, q, lead_q)``, each part with its
number of leading pair axes (``hyperdual.bilinear``)."""
