"""Bilinear operations — ``*``, ``@``, ``einsum``, ``dot`` — and division, for every number type.

A bilinear ``op(x, y)`` of two numbers expands into ``op`` applied to their parts, combined
by the algebra's multiplication table. Each number type states that table once, as
``cls.product(op, x_parts, y_parts)``; for hyper-dual numbers it is the product rule

    (a + b e1 + c e2 + d e1e2)(p + q e1 + r e2 + s e1e2)
        = ap + (aq + bp) e1 + (ar + cp) e2 + (as + br + cq + dp) e1e2.

When one operand is a plain array the operation is linear in the other, so it simply acts
on every part (``map_parts``).

``op`` is called as ``op(p, lead_p, q, lead_q)``: each part comes with its number of leading
pair axes (see ``multipart``), so that ``einsum`` can give the pair axis a subscript of its own.

Every number type inherits the operators ``*``, ``@`` and ``/`` from ``AlgebraArray`` (at the
end of this module), so ``x * y`` is ``bilinear(_multiply_parts, x, y)`` directly.
"""

from __future__ import annotations

import numpy as np

from .aliases import BilinearOp, Operand, Parts
from .backend import namespace
from .multipart import MultiPartArray, _like, array_module

_WEAK_SCALARS = (int, float, complex)


def bilinear(op: BilinearOp, x: Operand, y: Operand, lift: bool = True) -> MultiPartArray:
    """``op(x, y)`` for a bilinear ``op`` and at least one multi-part operand.

    ``lift=True`` first gives both operands the same number of dimensions (what NumPy's
    broadcasting does implicitly), so that the pair axes line up; einsum, whose subscripts
    name every axis, passes ``lift=False``.
    """
    cls = _like((x, y))
    xp = array_module(x, y)
    x_is, y_is = isinstance(x, cls), isinstance(y, cls)
    # Python scalars stay Python scalars ("weak": a float32 number times 2.0 stays float32).
    # A plain operand the parts cannot hold (a complex constant for HyperDual) is refused.
    if not x_is:
        x = cls.check_operand(x if isinstance(x, _WEAK_SCALARS) else xp.asarray(x))
    if not y_is:
        y = cls.check_operand(y if isinstance(y, _WEAK_SCALARS) else xp.asarray(y))
    nd = max(np.ndim(x) if not x_is else x.ndim, np.ndim(y) if not y_is else y.ndim)
    if lift:
        x = x.lift(nd) if x_is else x
        y = y.lift(nd) if y_is else y
    if x_is and y_is:
        return cls.from_parts(cls.product(op, x.parts, y.parts))
    if x_is:
        return x.map_parts(lambda part, lead: op(part, lead, y, 0))
    if getattr(op, "stack_right", False) and max(y.LEAD) == 1 and y.size <= np.size(x):
        # data @ weights: all parts of the (small) weight side side by side, one wide product
        return y.map_stacked(lambda parts: op(x, 0, parts, 1))
    return y.map_parts(lambda part, lead: op(x, 0, part, lead))


# ---------------------------------------------------------------------- the operations
def _multiply_parts(p, lead_p, q, lead_q):
    return p * q


def multiply(x: Operand, y: Operand) -> MultiPartArray:
    """Elementwise ``x * y`` with NumPy broadcasting."""
    return bilinear(_multiply_parts, x, y)


def _matmul_parts(p, lead_p, q, lead_q):
    """``p @ q`` for one term of the product rule.

    When one side is a plain matrix and the other a stack of P pairs, NumPy's batched
    matmul would run P small products; folding the stack into one matrix runs one large
    product instead (same numbers, several times faster).
    """
    xp = namespace(p, q)
    if q.ndim == 2 and p.ndim > 2:  # (..., N, D) @ (D, K): fold the batch into rows
        return (p.reshape(-1, p.shape[-1]) @ q).reshape(p.shape[:-1] + (q.shape[-1],))
    if p.ndim == 2 and q.ndim > 2:  # (N, D) @ (..., D, K): fold the batch into columns
        folded = xp.moveaxis(q, -2, 0).reshape(q.shape[-2], -1)  # (D, ...*K)
        out = (p @ folded).reshape((p.shape[0],) + q.shape[:-2] + (q.shape[-1],))
        return xp.moveaxis(out, 0, -2)
    return p @ q


def _matmul_cross(b, q):
    """Every product ``b_i @ q_j`` at once: (Kb, ..., L, F), (Kq, ..., F, O) → (Kb, Kq, ..., L, O).

    The K-jet's cross term ``b_i q_j + b_j q_i`` needs them all. When one side's terms are
    plain matrices they are laid side by side and the other side's stack is folded into rows,
    so all K² products are ONE matrix product (wide, so it runs near peak speed) instead of
    K² narrow ones.
    """
    xp = namespace(b, q)
    if q.ndim == 3 and b.ndim >= 3:  # q_j are (F, O) matrices
        F = q.shape[1]
        Q = xp.moveaxis(q, 0, 1).reshape(F, -1)  # (F, Kq·O)
        out = (b.reshape(-1, F) @ Q).reshape(b.shape[:-1] + (q.shape[0], q.shape[2]))
        return xp.moveaxis(out, -2, 1)  # (Kb, Kq, ..., L, O)
    if b.ndim == 3 and q.ndim >= 3:  # b_i are (L, F) matrices
        L, F = b.shape[1:]
        Q = xp.moveaxis(q, -2, 0).reshape(F, -1)  # (F, Kq·…·O)
        out = (b.reshape(-1, F) @ Q).reshape((b.shape[0], L) + q.shape[:-2] + (q.shape[-1],))
        return xp.moveaxis(out, 1, -2)  # (Kb, Kq, ..., L, O)
    return b[:, None] @ q[None, :]


_matmul_parts.cross = _matmul_cross
_matmul_parts.stack_right = True  # plain @ number: one product against all parts at once


def _ndim(v):
    return v.ndim if isinstance(v, MultiPartArray) else np.ndim(v)


def matmul(x: Operand, y: Operand) -> MultiPartArray:
    """``x @ y`` with NumPy's rules for 1-D operands (a vector is promoted, then squeezed)."""
    x_nd, y_nd = _ndim(x), _ndim(y)
    if x_nd == 0 or y_nd == 0:
        raise ValueError("matmul: input operand does not have enough dimensions (use *)")
    if x_nd == 1:
        return matmul(x[None, :], y)[..., 0, :] if y_nd > 1 else (x * y).sum()
    if y_nd == 1:
        return matmul(x, y[:, None])[..., 0]
    return bilinear(_matmul_parts, x, y)


def dot(a: Operand, b: Operand, out: None = None) -> MultiPartArray:
    """``np.dot``: a scalar product, a matrix product or ``sum(a[i] * b[i])`` for vectors."""
    if out is not None:
        raise TypeError("numpy.dot(out=...) is not supported for multi-part arrays")
    if _ndim(a) == 0 or _ndim(b) == 0:
        return multiply(a, b)
    if max(_ndim(a), _ndim(b)) > 2:
        raise TypeError(
            "numpy.dot on arrays with more than 2 dimensions is not supported for "
            "multi-part arrays; use np.einsum or @"
        )
    return matmul(a, b)


def einsum(subscripts: str, *operands: Operand, **kwargs: object) -> MultiPartArray:
    """``np.einsum`` for one or two operands (chain longer contractions yourself).

    A part's pair axis is given a subscript letter of its own, kept in the output.
    """
    if kwargs.get("out") is not None:
        raise TypeError("numpy.einsum(out=...) is not supported for multi-part arrays")
    if not isinstance(subscripts, str):
        raise TypeError(
            "numpy.einsum: only the string-subscripts form is supported for multi-part arrays"
        )
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands) or len(operands) not in (1, 2):
        raise TypeError("numpy.einsum with multi-part arrays supports one or two operands")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        letters = inputs.replace(",", "").replace("...", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(ch for ch in set(letters) if letters.count(ch) == 1)
        )
    pair = next(
        ch for ch in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if ch not in subscripts
    )
    extra = {k: v for k, v in kwargs.items() if k != "out"}

    def spec(term, lead):
        return pair + term if lead else term

    def contract(p, lead_p, q=None, lead_q=0):
        xp = namespace(p, q)
        if q is None:
            return xp.einsum(f"{spec(terms[0], lead_p)}->{spec(output, lead_p)}", p, **extra)
        out = spec(output, lead_p or lead_q)
        return xp.einsum(f"{spec(terms[0], lead_p)},{spec(terms[1], lead_q)}->{out}", p, q, **extra)

    if len(operands) == 1:
        return operands[0].map_parts(lambda p, lead: contract(p, lead))
    return bilinear(contract, *operands, lift=False)


def divide(x: Operand, y: Operand) -> MultiPartArray:
    """``x / y``: by a plain array it is linear; by a number, ``x * reciprocal(y)``."""
    if isinstance(y, MultiPartArray):
        return multiply(x, y.UFUNCS[np.reciprocal](y))
    if not isinstance(y, _WEAK_SCALARS):
        y = x.xp.asarray(y)
    x.check_operand(y)
    return x.lift(np.ndim(y)).map_parts(lambda p, lead: p / y)


UFUNCS = {np.multiply: multiply, np.matmul: matmul, np.divide: divide}
"""The bilinear ufuncs, for a number type's ``UFUNCS`` table."""

ARRAY_FUNCTIONS = {np.einsum: einsum, np.dot: dot}
"""The bilinear array functions, for a number type's ``ARRAY_FUNCTIONS`` table (``np.matmul``
is a ufunc: it never comes through ``__array_function__``)."""


# ---------------------------------------------------------------------- the operators
class AlgebraArray(MultiPartArray):
    """A multi-part array whose numbers multiply by their algebra's table, ``product``.

    Every number type is one (``Dual``, ``HyperDual``, ``Jet``, ``Bicomplex``); each states
    its table as ``product(op, x_parts, y_parts)``. The operators ``*``, ``@`` and ``/`` are
    the bilinear operations of this module, so ``x * y`` takes three steps:
    ``__mul__`` -> ``bilinear(_multiply_parts, x, y)`` -> ``type(x).product``.
    """

    @staticmethod
    def product(op: BilinearOp, x: Parts, y: Parts) -> Parts:
        """The parts of ``op(x, y)`` from the parts of ``x`` and ``y`` (the algebra's table)."""
        raise NotImplementedError

    def __mul__(self, other):
        return bilinear(_multiply_parts, self, other)

    def __rmul__(self, other):
        return bilinear(_multiply_parts, other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __truediv__(self, other):
        return divide(self, other)

    def __rtruediv__(self, other):
        return divide(other, self)
