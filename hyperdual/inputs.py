"""What enters the derivative API, the oracles and the optimizers: checked in one place.

A parameter vector θ is a 1-D real floating array (shape (D,)) of NumPy or CuPy; integers
become float64. Directions are one direction (D,) or P of them as rows (P, D), on θ's device.
"""

from __future__ import annotations

import numpy as np

from .aliases import Array, ArrayLike, DTypeLike
from .backend import namespace


def as_parameters(theta: ArrayLike, dtype: DTypeLike | None = None) -> Array:
    """``theta`` as a 1-D real floating array (shape (D,)) of its own array module.

    Parameters
    ----------
    theta : array_like, shape (D,)
        Integers and booleans become float64; complex values are refused.
    dtype : numpy dtype, optional
        Return a copy in this dtype (the oracles compute on a float64 copy).

    Returns
    -------
    array, shape (D,)
    """
    theta = namespace(theta).asarray(theta)
    if theta.dtype.kind in "biu":
        theta = theta.astype(np.float64)
    if theta.dtype.kind != "f":
        raise ValueError(f"theta must be a real floating array, got dtype {theta.dtype}")
    if theta.ndim != 1:
        raise ValueError(
            f"theta must be a 1-D parameter vector of shape (D,); got shape "
            f"{theta.shape}. Flatten your parameters (and reshape inside f)."
        )
    return theta if dtype is None else theta.astype(dtype, copy=True)


def as_directions(v: ArrayLike, theta: Array, name: str) -> tuple[Array, bool]:
    """``v`` of shape (D,) or (P, D) as a (P, D) array in ``theta``'s module and dtype.

    Parameters
    ----------
    v : array_like, shape (D,) or (P, D)
    theta : array, shape (D,), as returned by ``as_parameters``
    name : str, the argument's name for error messages ("v1", "V", ...)

    Returns
    -------
    V : array, shape (P, D)
    single : bool, True when ``v`` was one direction of shape (D,)
    """
    xp = namespace(v, theta)  # raises on a device mismatch
    v, D = xp.asarray(v), theta.shape[0]
    if v.ndim == 1 and v.shape[0] == D:
        return v[None].astype(theta.dtype, copy=False), True
    if v.ndim == 2 and v.shape[1] == D:
        return v.astype(theta.dtype, copy=False), False
    raise ValueError(f"{name} must have shape (D,) or (P, D) with D = {D}; got {v.shape}")
