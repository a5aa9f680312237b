"""Direction samplers: where the K search directions ``v_1..v_K`` (rows of ``V``) come from.

Every sampler returns a NumPy array of shape (K, D) on the host, in float64. The optimizer
moves it to the parameters' array module and dtype explicitly (``xp.asarray(V, dtype)``), so
a run draws the same directions on NumPy and CuPy and the random state lives in one
``np.random.Generator`` owned by the optimizer.

| sampler      | directions                                        | used by                  |
|--------------|---------------------------------------------------|--------------------------|
| ``gaussian`` | ``v_k ~ N(0, I)``: ``rng.standard_normal((K, D))`` | FGD, FoMoH, FoMoH-KD     |
| ``basis``    | K distinct unit vectors ``e_i`` (all D, in order, when K = D) | Newton       |
| ``gradient`` | the one direction ``v = ∇f(θ)``                   | FoMoH-BP                 |
| ``given``    | a fixed user-given (K, D) array                   | experiments, tests       |
"""

from __future__ import annotations

import numpy as np

from hyperdual import to_numpy


def gaussian(rng: np.random.Generator, K: int, D: int) -> np.ndarray:
    """K independent standard normal directions, shape (K, D)."""
    return rng.standard_normal((K, D))


def basis(rng: np.random.Generator | None, K: int, D: int) -> np.ndarray:
    """K distinct coordinate directions ``e_i``, shape (K, D).

    With K = D this is the identity (no randomness used): the hyperplane step is then
    Newton's step. With K < D the coordinates are drawn without replacement (sorted).
    """
    if not 1 <= K <= D:
        raise ValueError(f"basis directions need 1 <= K <= D; got K = {K}, D = {D}")
    if K == D:
        return np.eye(D)
    if rng is None:
        raise ValueError("basis directions with K < D need a random generator to pick them")
    rows = np.sort(rng.choice(D, size=K, replace=False))
    return np.eye(D)[rows]


def gradient(g) -> np.ndarray:
    """The gradient as the single direction, shape (1, D) (FoMoH-BP's ``v = ∇f(θ)``)."""
    g = np.asarray(to_numpy(g), dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"the gradient must have shape (D,); got {g.shape}")
    return g[None, :]


def given(V, K: int | None = None, D: int | None = None) -> np.ndarray:
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


def make_sampler(spec):
    """A sampler ``(rng, K, D) -> V`` of shape (K, D) from a short specification.

    ``spec`` is ``"gaussian"``, ``"basis"``, a fixed array of shape (K, D), or a callable
    ``(rng, K, D) -> V`` (checked on every call).
    """
    if isinstance(spec, str):
        table = {"gaussian": gaussian, "basis": basis}
        if spec not in table:
            raise ValueError(f"unknown direction sampler {spec!r}; expected one of "
                             f"{sorted(table)}, an array (K, D) or a callable (rng, K, D) -> V")
        return table[spec]
    if callable(spec):
        return lambda rng, K, D: given(spec(rng, K, D), K, D)
    fixed = given(spec)
    return lambda rng, K, D: given(fixed, K, D)
