"""The second-order K-jet: K directions' first and second derivatives, each computed once.

Evaluating ``f`` at ``θ + Σ_k v_k ε_k``, where products of any three ε's vanish
(``ε_i ε_j ε_k = 0``) but ``ε_i ε_j ≠ 0``, carries

    x = a + Σ_k b_k ε_k + Σ_{i≤j} c_ij ε_i ε_j

and gives ``a = f(θ)``, ``b_k = ∇f·v_k`` and ``c_ij = v_iᵀ ∇²f v_j`` — the gradient and
Hessian of f projected onto the K directions, in one forward pass. (``c`` is kept in
*Hessian form*: the coefficient of ``ε_i ε_j`` is ``c_ij`` for ``i < j`` and ``c_kk / 2`` for
``i = j``; written that way every rule below is the same on and off the diagonal.)

The rules, from the same ``(f, f', f'')`` table as the hyper-dual numbers:

    f(x):  a → f(a),   b_k → f'(a) b_k,   c_ij → f'(a) c_ij + f''(a) b_i b_j
    x·y:   a → a p,    b_k → a q_k + b_k p,   c_ij → a r_ij + b_i q_j + b_j q_i + c_ij p

Compared with the K(K+1)/2 independent hyper-dual pairs ``(v_i, v_j)``, which carry
``3·K(K+1)/2`` ε-arrays and push every first-order tangent through the computation K + 1
times, the jet carries ``K + K(K+1)/2`` arrays and computes each first-order part once. K = 1
is the line search's ``(v, v)`` pair without the duplicated ``eps1 = eps2``.

Shapes: ``real`` has the number's shape S, ``first`` is ``(K, *S)`` and ``second`` is
``(K(K+1)/2, *S)``, the pairs ``i ≤ j`` in the row-major order of ``numpy.triu_indices(K)``.
A part that is known to be zero is stored as ``None`` (a *structural zero*, see
``multipart``): θ's second-order part, and the first-order part of data. Nothing is ever
computed for it, so a layer applied to data and a jet weight with no second-order part
produces no second-order part either.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np

from .aliases import Array, ArrayLike, BilinearOp, Parts
from .backend import namespace
from .number import ForwardNumber, _component_dtype, _frozen


@functools.cache
def _host_pairs(K: int):
    """``(I, J)``: the K(K+1)/2 pairs i ≤ j of ``numpy.triu_indices(K)``, on the host."""
    return np.triu_indices(K)


_DEVICE_PAIRS: dict = {}


def pair_index(K: int, xp: ModuleType = np) -> tuple[Array, Array]:
    """The pair indices ``(I, J)`` (each shape (K(K+1)/2,)) as arrays of module ``xp``.

    Cached per module, so a GPU step uploads them once, not once per operation.
    """
    if xp is np:
        return _host_pairs(K)
    key = (K, xp.__name__, int(xp.cuda.Device().id) if hasattr(xp, "cuda") else 0)
    if key not in _DEVICE_PAIRS:
        _DEVICE_PAIRS[key] = tuple(xp.asarray(ix) for ix in _host_pairs(K))
    return _DEVICE_PAIRS[key]


def npairs(K: int) -> int:
    """K(K+1)/2, the number of second-order parts of a K-jet."""
    return K * (K + 1) // 2


def _K_from_pairs(M: int) -> int:
    """The K with K(K+1)/2 = M (``ValueError`` when there is none)."""
    K = int((np.sqrt(8 * M + 1) - 1) // 2)
    if npairs(K) != M:
        raise ValueError(f"a K-jet has K(K+1)/2 second-order parts; {M} is not of that form")
    return K


def _stacked(value: Array, parts: Array) -> Array:
    """``[value; parts]``: shape (1 + K, *S). A view, without copying, when ``parts`` directly
    follows ``value`` in one NumPy buffer (as the parts of ``map_stacked``'s im2col do);
    otherwise a concatenation."""
    base = value.base
    if (
        isinstance(value, np.ndarray)
        and base is not None
        and parts.base is base
        and value.flags.c_contiguous
        and parts.flags.c_contiguous
        and parts.shape[1:] == value.shape
        and parts.dtype == value.dtype
        and parts.__array_interface__["data"][0]
        == value.__array_interface__["data"][0] + value.nbytes
    ):
        return np.lib.stride_tricks.as_strided(
            value,
            (1 + parts.shape[0],) + value.shape,
            (value.nbytes,) + value.strides,
            writeable=False,
        )
    return namespace(value, parts).concatenate([value[None], parts])


def _sum(terms):
    """The sum of the terms that are not structural zeros (``None`` if there are none)."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


class Jet(ForwardNumber):
    """An array of second-order K-jets ``a + Σ b_k ε_k + Σ_{i≤j} c_ij ε_i ε_j``.

    Parameters
    ----------
    real : array_like, shape S
        The value ``a``. Integers are converted to float64.
    first : array_like, shape ``(K, *S)``, or None
        The first-order parts ``b_k``; ``None`` means zero (a constant).
    second : array_like, shape ``(K(K+1)/2, *S)``, or None
        The second-order parts ``c_ij`` (pairs ``i ≤ j`` in ``numpy.triu_indices(K)`` order,
        Hessian form); ``None`` means zero.

    Examples
    --------
    >>> theta, V = np.array([0.5, -1.0]), np.array([[1.0, 0.0], [0.3, 2.0]])
    >>> y = np.sum(np.sin(Jet(theta, V)) ** 2)    # f at θ + V[0] ε_0 + V[1] ε_1
    >>> y.first, y.hessian()                       # (∇f·v_k) (2,), (v_iᵀ∇²f v_j) (2, 2)
    """

    PART_NAMES = ("real", "first", "second")
    LEAD = (0, 1, 1)
    STRUCTURAL_ZEROS = True

    def __init__(
        self, real: ArrayLike, first: ArrayLike | None = None, second: ArrayLike | None = None
    ):
        given = [v for v in (real, first, second) if v is not None]
        xp = namespace(*given)
        dtype = _component_dtype(xp, given, "Jet")
        # Copies, read-only where the backend allows it (NumPy), like every number type's
        # constructor: the jet must not change when the arrays it was built from do.
        self.real = _frozen(xp.array(real, dtype=dtype, copy=True))
        S = self.real.shape
        self.first = self._checked(xp, first, dtype, S, "first")
        self.second = self._checked(xp, second, dtype, S, "second")
        if self.second is not None:
            K = _K_from_pairs(self.second.shape[0])
            if self.first is not None and self.first.shape[0] != K:
                raise ValueError(
                    f"Jet: {self.first.shape[0]} first-order parts need "
                    f"{npairs(self.first.shape[0])} second-order parts, "
                    f"got {self.second.shape[0]}"
                )

    @staticmethod
    def _checked(xp, part, dtype, S, name):
        if part is None:
            return None
        part = xp.array(part, dtype=dtype, copy=True)
        if part.ndim != len(S) + 1 or part.shape[1:] != S:
            raise ValueError(
                f"Jet {name} must have shape (n, *{S}) with a leading axis of "
                f"parts; got {part.shape}"
            )
        return _frozen(part)

    # ------------------------------------------------------------------ the jet's size
    @property
    def K(self) -> int:
        """The number of directions (0 for a constant)."""
        if self.first is not None:
            return self.first.shape[0]
        if self.second is not None:
            return _K_from_pairs(self.second.shape[0])
        return 0

    @property
    def npairs(self) -> int:
        """K(K+1)/2, the number of second-order parts."""
        return npairs(self.K)

    def hessian(self) -> Array:
        """The second-order parts as symmetric matrices: shape ``(K, K, *S)``, ``[i, j] = c_ij``."""
        K, xp = self.K, self.xp
        H = xp.zeros((K, K) + self.shape, dtype=self.dtype)
        if self.second is not None:
            I, J = pair_index(K, xp)
            H[I, J] = self.second
            H[J, I] = self.second
        return H

    # ------------------------------------------------------------------ the algebra
    @staticmethod
    def product(op: BilinearOp, x: Parts, y: Parts) -> Parts:
        """The product rule for a bilinear ``op`` (``*``, ``@``, einsum) on the parts.

        ``c_ij = a r_ij + c_ij p + (b_i q_j + b_j q_i)``. The cross term needs ``op(b_i, q_j)``
        for all i, j: when ``op`` has a ``cross`` form (matmul: one stacked GEMM), the value,
        first-order and cross terms all come from one call on the stacks ``[a; b]`` and
        ``[p; q]``; otherwise the pairs are gathered.
        """
        a, b, c = x
        p, q, r = y
        cross_form = getattr(op, "cross", None)
        if cross_form is not None and b is not None and q is not None:
            # All of a p, a q_k, b_k p and b_i q_j from ONE product of the stacks [a; b] and
            # [p; q] (matmul: one wide GEMM instead of four narrow ones)
            Z = cross_form(_stacked(a, b), _stacked(p, q))  # (1+K, 1+K, ...)
            I, J = pair_index(b.shape[0], namespace(b, q))
            real, first = Z[0, 0], Z[0, 1:] + Z[1:, 0]
            cross = Z[1:, 1:][I, J] + Z[1:, 1:][J, I]
        else:
            real = op(a, 0, p, 0)
            first = _sum(
                [None if q is None else op(a, 0, q, 1), None if b is None else op(b, 1, p, 0)]
            )
            cross = None
            if b is not None and q is not None:
                I, J = pair_index(b.shape[0], namespace(b, q))
                cross = op(b[I], 1, q[J], 1) + op(b[J], 1, q[I], 1)
        second = _sum(
            [None if r is None else op(a, 0, r, 1), None if c is None else op(c, 1, p, 0), cross]
        )
        return real, first, second

    @staticmethod
    def chain(parts: Parts, rule_values: tuple) -> Parts:
        """``f(a) + f'(a) b_k ε_k + (f'(a) c_ij + f''(a) b_i b_j) ε_i ε_j``."""
        _, b, c = parts
        f, df, d2f = rule_values
        first = None if b is None else df * b
        curvature = None
        if b is not None and d2f is not None:
            I, J = pair_index(b.shape[0], namespace(b))
            curvature = d2f * (b[I] * b[J])
        return f, first, _sum([None if c is None else df * c, curvature])


def seed(theta: Array, V: Array) -> Jet:
    """The jet ``θ + Σ_k V[k] ε_k`` (no second-order part): where ``f`` is evaluated.

    Parameters
    ----------
    theta : array, shape (D,)
    V : array, shape (K, D)
    """
    return Jet.from_parts((theta, V, None))
