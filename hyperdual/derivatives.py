"""Derivatives of a scalar function ``f: R^D -> R`` from hyper-dual evaluations.

Evaluating ``f`` at ``theta + v1 e1 + v2 e2`` gives, exactly up to rounding,

    real = f(theta),  eps1 = ∇f·v1,  eps2 = ∇f·v2,  eps12 = v1ᵀ ∇²f v2.

Every function here chooses pairs ``(v1, v2)`` and evaluates them in *chunks* of at most
``chunk_size`` pairs: one call of ``f`` per chunk, with the pairs on the ε-parts' leading
axis, so the primal work is shared within a chunk and memory stays bounded.

=====================  ===========================  ===============
function               pairs                        number of pairs
=====================  ===========================  ===============
``directional``        the given (v1, v2)           P
``gradient``           e_i (first order, ``Dual``)  D
``hvp``                (v, e_i)                     D
``projected_hessian``  K-jet on V (``Jet``)         K(K+1)/2
``hessian``            K-jets on blocks of e_i      D(D+1)/2
=====================  ===========================  ===============

``projected_hessian`` and ``hessian`` use the second-order K-jet (``hyperdual.jet``) rather
than independent pairs: one evaluation on ``θ + Σ_k v_k ε_k`` gives all K first and
K(K+1)/2 second directional derivatives, each first-order tangent computed once. When
K(K+1)/2 exceeds ``chunk_size`` the directions are cut into blocks and each pair of blocks
is one jet evaluation, so memory stays bounded by ``chunk_size`` second-order parts.
"""

from __future__ import annotations

import math

from .aliases import Array, ArrayLike, Objective
from .backend import namespace
from .inputs import as_directions, as_parameters
from .jet import Jet, npairs, seed
from .multipart import MultiPartArray
from .number import Dual, HyperDual

DEFAULT_CHUNK_SIZE = 256
"""Default number of direction pairs per evaluation of ``f``."""


def _scalar_result(y, number_type):
    """``f``'s result as a 0-d ``number_type``, or ``None`` when ``f`` returned a plain scalar
    (it does not depend on θ; its derivatives are zero). Anything else is an error."""
    if not isinstance(y, MultiPartArray):
        shape = namespace(y).asarray(y).shape
        if math.prod(shape) != 1:
            raise ValueError(f"f must return a scalar; it returned shape {shape}")
        return None
    if not isinstance(y, number_type):
        raise TypeError(
            f"f returned a {type(y).__name__}, expected a {number_type.__name__} scalar"
        )
    if y.size != 1:
        raise ValueError(f"f must return a scalar (shape () or (1,)); it returned shape {y.shape}")
    return y.reshape(())


def _evaluate(f, theta, v1, v2):
    """One call of ``f`` on ``theta + v1 e1 + v2 e2`` (v1, v2 of shape (P, D)).

    Returns ``(value, d1, d2, d12)`` with ``value`` a 0-d array and the rest of shape (P,).
    """
    xp = namespace(theta)
    P = max(v1.shape[0], v2.shape[0])
    x = HyperDual.from_parts((theta, v1, v2, xp.zeros((1, theta.shape[0]), dtype=theta.dtype)))
    y = f(x)
    number = _scalar_result(y, HyperDual)
    if number is None:
        zeros = xp.zeros(P, dtype=theta.dtype)
        return xp.asarray(y).reshape(()), zeros, zeros, zeros
    shape = (P,)
    return (
        number.real,
        xp.broadcast_to(number.eps1, shape),
        xp.broadcast_to(number.eps2, shape),
        xp.broadcast_to(number.eps12, shape),
    )


def _chunk_size(chunk_size):
    """``chunk_size`` as a positive int (``None``: ``DEFAULT_CHUNK_SIZE``)."""
    if chunk_size is None:
        return DEFAULT_CHUNK_SIZE
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    return int(chunk_size)


def _chunks(n, chunk_size):
    """Slices of at most ``chunk_size`` of ``range(n)``."""
    size = _chunk_size(chunk_size)
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def directional(
    f: Objective,
    theta: ArrayLike,
    v1: ArrayLike,
    v2: ArrayLike | None = None,
    chunk_size: int | None = None,
) -> tuple[Array, Array, Array, Array]:
    """Value, first and second directional derivatives of ``f`` at ``theta``.

    Parameters
    ----------
    f : callable
        Maps a 1-D parameter vector (shape (D,)) to a scalar, written with NumPy operations.
    theta : array, shape (D,)
    v1 : array, shape (D,) or (P, D)
    v2 : array, shape (D,) or (P, D), optional
        ``None`` means ``v2 = v1``. A (D,) direction is paired with every row of the other.
    chunk_size : int, optional
        Pairs per evaluation of ``f`` (default ``DEFAULT_CHUNK_SIZE``).

    Returns
    -------
    value : 0-d array, f(θ)
    d1, d2 : arrays of shape () or (P,), ∇f·v1 and ∇f·v2
    d12 : array of shape () or (P,), v1ᵀ ∇²f v2
        Shape () when both directions were given as 1-D vectors.
    """
    theta = as_parameters(theta)
    xp = namespace(theta)
    D = theta.shape[0]
    v1, single1 = as_directions(v1, theta, "v1")
    if v2 is None:
        v2, single2 = v1, single1
    else:
        v2, single2 = as_directions(v2, theta, "v2")
    if v1.shape[0] != v2.shape[0] and 1 not in (v1.shape[0], v2.shape[0]):
        raise ValueError(
            f"v1 and v2 hold different numbers of directions: {v1.shape[0]} and {v2.shape[0]}"
        )
    P = max(v1.shape[0], v2.shape[0])
    v1, v2 = xp.broadcast_to(v1, (P, D)), xp.broadcast_to(v2, (P, D))
    value, out = None, []
    for chunk in _chunks(P, chunk_size):
        value, d1, d2, d12 = _evaluate(f, theta, v1[chunk], v2[chunk])
        out.append((d1, d2, d12))
    d1, d2, d12 = (xp.concatenate([o[k] for o in out]) for k in range(3))
    if single1 and single2:
        d1, d2, d12 = d1[0], d2[0], d12[0]
    return value, d1, d2, d12


def gradient(f: Objective, theta: ArrayLike, chunk_size: int | None = None) -> Array:
    """∇f(θ), shape (D,), from D first-order evaluations ``f(θ + e_i e)`` on ``Dual`` numbers.

    Only first derivatives are needed, so dual numbers (3 array products per multiplication)
    replace hyper-dual ones (9); the basis directions ride on the pair axis, in chunks.
    """
    theta = as_parameters(theta)
    xp = namespace(theta)
    D = theta.shape[0]
    basis = xp.eye(D, dtype=theta.dtype)
    pieces = []
    for chunk in _chunks(D, chunk_size):
        number = _scalar_result(f(Dual(theta, basis[chunk])), Dual)
        P = chunk.stop - chunk.start
        pieces.append(
            xp.zeros(P, dtype=theta.dtype) if number is None else xp.broadcast_to(number.eps, (P,))
        )
    return xp.concatenate(pieces)


def hvp(f: Objective, theta: ArrayLike, v: ArrayLike, chunk_size: int | None = None) -> Array:
    """Hessian-vector product ∇²f(θ) v, shape (D,), from the pairs (v, e_i).

    Costs D pairs; back-propagation on dual numbers (``layers``) is cheaper for large D.
    """
    theta = as_parameters(theta)
    xp = namespace(theta)
    D = theta.shape[0]
    v, single = as_directions(v, theta, "v")
    if not single:
        raise ValueError(f"v must have shape (D,) = ({D},); got {v.shape}")
    basis = xp.eye(D, dtype=theta.dtype)
    return directional(f, theta, v[0], basis, chunk_size=chunk_size)[3]


def _jet_evaluate(f, theta, V):
    """One call of ``f`` on the jet ``θ + Σ_k V[k] ε_k``: ``(value, g (K,), H (K, K))``."""
    xp = namespace(theta)
    K = V.shape[0]
    y = f(seed(theta, V))
    number = _scalar_result(y, Jet)
    if number is None:
        return (
            xp.asarray(y).reshape(()),
            xp.zeros(K, dtype=theta.dtype),
            xp.zeros((K, K), dtype=theta.dtype),
        )
    g = xp.zeros(K, dtype=theta.dtype) if number.first is None else number.first
    return number.real, g, number.hessian()


def _block_size(K, chunk_size):
    """Directions per block: the largest B with 2B directions within ``chunk_size`` pairs."""
    size = _chunk_size(chunk_size)
    if npairs(K) <= size:
        return K
    B = 1
    while npairs(2 * (B + 1)) <= size:
        B += 1
    return B


def _blockwise(f, theta, K, rows, chunk_size):
    """``(value, g, H)`` on K directions given block by block by ``rows(slice) -> (B, D)``.

    One jet evaluation per pair of blocks ``s ≤ t`` on the directions of both blocks, so at
    most 2B directions (and ``chunk_size`` second-order parts) are alive at a time.
    """
    xp = namespace(theta)
    B = _block_size(K, chunk_size)
    blocks = [slice(s, min(s + B, K)) for s in range(0, K, B)]
    g = xp.zeros(K, dtype=theta.dtype)
    H = xp.zeros((K, K), dtype=theta.dtype)
    value = None
    for s, bs in enumerate(blocks):
        value, g_s, H_s = _jet_evaluate(f, theta, rows(bs))
        g[bs], H[bs, bs] = g_s, H_s
        n = bs.stop - bs.start
        for bt in blocks[s + 1 :]:
            _, _, H_st = _jet_evaluate(f, theta, xp.concatenate([rows(bs), rows(bt)]))
            H[bs, bt] = H_st[:n, n:]
            H[bt, bs] = H_st[n:, :n]
    return value, g, H


def projected_hessian(
    f: Objective, theta: ArrayLike, V: ArrayLike, chunk_size: int | None = None
) -> tuple[Array, Array, Array]:
    """Projection of gradient and Hessian onto the K directions in the rows of ``V``.

    Parameters
    ----------
    f : callable
        Maps a 1-D parameter vector (shape (D,)) to a scalar, written with NumPy operations.
    theta : array, shape (D,)
    V : array, shape (K, D)
    chunk_size : int, optional
        Second-order parts per evaluation of ``f`` (default ``DEFAULT_CHUNK_SIZE``): up to
        K(K+1)/2 ≤ chunk_size it is one evaluation, beyond it one per pair of blocks.

    Returns
    -------
    value : 0-d array, f(θ)
    g : array, shape (K,), ``g[k] = ∇f·V[k]``
    H : array, shape (K, K), symmetric, ``H[i, j] = V[i]ᵀ ∇²f V[j]``
        From the K-jet ``θ + Σ_k V[k] ε_k`` (``hyperdual.Jet``).
    """
    theta = as_parameters(theta)
    V, _ = as_directions(V, theta, "V")
    return _blockwise(f, theta, V.shape[0], lambda rows: V[rows], chunk_size)


def hessian(f: Objective, theta: ArrayLike, chunk_size: int | None = None) -> Array:
    """The full Hessian ∇²f(θ), shape (D, D), from jets on the basis directions ``e_i``.

    The basis rows are made block by block, so besides the (D, D) result the memory is
    bounded by ``chunk_size`` second-order parts.
    """
    theta = as_parameters(theta)
    xp = namespace(theta)
    D = theta.shape[0]

    def basis_rows(rows):
        E = xp.zeros((rows.stop - rows.start, D), dtype=theta.dtype)
        E[xp.arange(E.shape[0]), xp.arange(rows.start, rows.stop)] = 1
        return E

    return _blockwise(f, theta, D, basis_rows, chunk_size)[2]
