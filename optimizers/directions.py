"""Direction samplers: where the K search directions ``v_1..v_K`` (rows of ``V``) come from.

Every sampler is called as ``sampler(rng, K, D, xp, dtype)`` and returns an array of shape
(K, D) of the parameters' array module ``xp`` and ``dtype``. The Gaussian directions are drawn
where the parameters live, in their dtype (float32 parameters get float32 draws, no float64
copy); on CuPy a device generator is seeded from the optimizer's host generator once per draw
(``device_generator``), so no host round trip carries D numbers and the random state still
lives in one ``np.random.Generator`` owned by the optimizer (and saved in its checkpoints).
Samplers from a specification that returns host arrays (``given``, a callable) are moved to
``xp`` and ``dtype`` explicitly.

============  ===================================================  ============================
sampler       directions                                           used by
============  ===================================================  ============================
``gaussian``  ``v_k ~ N(0, I)``: ``rng.standard_normal((K, D))``   FGD, FoMoH, FoMoH-KD
``basis``     K distinct unit vectors ``e_i`` (all D, in order,    ``FoMoHKD(directions="basis")``
              when K = D)
``given``     a fixed user-given (K, D) array                      experiments, tests
============  ===================================================  ============================

(FoMoH-BP's one direction is the gradient itself, taken in ``methods.FoMoHBP``; Newton's are
the whole basis, ``eye(D)``.)
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from hyperdual import to_numpy
from hyperdual.aliases import Array, ArrayLike, DTypeLike


def device_generator(rng: np.random.Generator, xp: ModuleType) -> object:
    """A generator of module ``xp`` for one draw: ``rng`` itself on NumPy, else a device
    generator seeded from ``rng`` (reproducible per device, state kept in ``rng``)."""
    if xp is np:
        return rng
    return xp.random.default_rng(int(rng.integers(2**63)))


DRAW_CHUNK = 1 << 16
"""Numbers drawn at a time on the host (bounds the float64 scratch of a float32 draw)."""


def gaussian(
    rng: np.random.Generator, K: int, D: int, xp: ModuleType = np, dtype: DTypeLike = np.float64
) -> Array:
    """K independent standard normal directions, shape (K, D), in ``xp`` and ``dtype``.

    On the host the numbers are NumPy's float64 stream whatever the dtype (so float32 and
    float64 runs with one seed see the same directions), drawn ``DRAW_CHUNK`` at a time into
    the result: a float32 draw needs no full float64 copy. On a device they are drawn there.
    """
    dtype = np.dtype(dtype)
    if xp is not np:
        return device_generator(rng, xp).standard_normal((K, D), dtype=dtype)
    V = np.empty((K, D), dtype=dtype)
    flat = V.reshape(-1)
    for start in range(0, flat.size, DRAW_CHUNK):
        stop = min(start + DRAW_CHUNK, flat.size)
        flat[start:stop] = rng.standard_normal(stop - start)
    return V


def basis(
    rng: np.random.Generator | None,
    K: int,
    D: int,
    xp: ModuleType = np,
    dtype: DTypeLike = np.float64,
) -> Array:
    """K distinct coordinate directions ``e_i``, shape (K, D).

    With K = D this is the identity (no randomness used): the hyperplane step is then
    Newton's step. With K < D the coordinates are drawn without replacement (sorted).
    """
    if not 1 <= K <= D:
        raise ValueError(f"basis directions need 1 <= K <= D; got K = {K}, D = {D}")
    if K == D:
        return xp.eye(D, dtype=dtype)
    if rng is None:
        raise ValueError("basis directions with K < D need a random generator to pick them")
    rows = np.sort(rng.choice(D, size=K, replace=False))
    V = xp.zeros((K, D), dtype=dtype)
    V[xp.arange(K), xp.asarray(rows)] = 1
    return V


def given(V: ArrayLike, K: int | None = None, D: int | None = None) -> np.ndarray:
    """A user-given (K, D) array of directions, checked and returned as float64."""
    V = np.asarray(to_numpy(V), dtype=np.float64)
    if V.ndim == 1:
        V = V[None, :]
    if V.ndim != 2:
        raise ValueError(f"directions must have shape (K, D); got {V.shape}")
    if K is not None and V.shape[0] != K:
        raise ValueError(f"expected K = {K} directions; got {V.shape[0]}")
    if D is not None and V.shape[1] != D:
        raise ValueError(f"directions have length {V.shape[1]}; the parameters have D = {D}")
    return V


def make_sampler(spec: str | ArrayLike | Callable) -> Callable[..., Array]:
    """A sampler ``(rng, K, D) -> V`` of shape (K, D) from a short specification.

    ``spec`` is ``"gaussian"``, ``"basis"``, a fixed array of shape (K, D), or a callable
    ``(rng, K, D) -> V`` (checked on every call). The sampler returned is called as
    ``sampler(rng, K, D, xp, dtype)``.
    """
    if isinstance(spec, str):
        table = {"gaussian": gaussian, "basis": basis}
        if spec not in table:
            raise ValueError(
                f"unknown direction sampler {spec!r}; expected one of "
                f"{sorted(table)}, an array (K, D) or a callable (rng, K, D) -> V"
            )
        return table[spec]
    if callable(spec):
        return lambda rng, K, D, xp=np, dtype=np.float64: xp.asarray(
            given(spec(rng, K, D), K, D), dtype=dtype
        )
    fixed = given(spec)
    return lambda rng, K, D, xp=np, dtype=np.float64: xp.asarray(given(fixed, K, D), dtype=dtype)
