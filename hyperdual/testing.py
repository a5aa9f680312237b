"""The one tolerance table, by dtype and by kind of check, and the comparison helper.

Kinds of check (what the *reference* is):

* ``"exact"``: a reference exact to rounding (closed form, bicomplex step, another
  hyper-dual evaluation, back-propagation); only a few thousand ulps are allowed.
* ``"complex_step"``: the complex step (first derivatives, exact to rounding for tiny h).
* ``"fd_first"``, ``"fd_second"``: central finite differences, limited by cancellation.

Errors are measured *relative to the scale of the reference*: ``|actual - desired| <=
rtol * max(|desired|, floor)`` elementwise with the scale ``max|desired|`` for entries that
cancel to nearly zero. Float32 results are compared against float64 references.
"""

from __future__ import annotations

import numpy as np

from .aliases import ArrayLike, DTypeLike
from .backend import to_numpy

TOLERANCES = {
    np.dtype(np.float64): {
        "exact": 1e-11,
        "complex_step": 1e-11,
        "fd_first": 1e-6,
        "fd_second": 1e-4,
    },
    np.dtype(np.float32): {
        "exact": 2e-4,
        "complex_step": 2e-4,
        "fd_first": 1e-2,
        "fd_second": 5e-2,
    },
}
"""rtol by dtype of the tested result and kind of reference."""


def tolerance(dtype: DTypeLike, kind: str) -> float:
    """The relative tolerance for results of ``dtype`` checked against a ``kind`` reference."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        dtype = np.dtype(np.float64 if dtype.itemsize >= 16 else np.float32)
    try:
        return TOLERANCES[dtype][kind]
    except KeyError:
        raise KeyError(
            f"no tolerance for dtype {dtype} and kind {kind!r}; "
            f"dtypes {list(map(str, TOLERANCES))}, kinds "
            f"{list(TOLERANCES[np.dtype(np.float64)])}"
        ) from None


def relative_error(actual: ArrayLike, desired: ArrayLike, scale: float | None = None) -> float:
    """``max|actual - desired| / max(max|desired|, scale, tiny)``: error relative to the scale.

    ``scale`` is a floor for quantities that cancel to nearly zero (e.g. the size of the
    terms they were summed from); by default the scale is ``max|desired|`` alone.
    """
    actual = np.asarray(to_numpy(actual), dtype=np.float64)
    desired = np.asarray(to_numpy(desired), dtype=np.float64)
    scale = max(
        float(np.max(np.abs(desired), initial=0.0)), float(scale or 0.0), np.finfo(np.float64).tiny
    )
    return float(np.max(np.abs(actual - desired), initial=0.0)) / scale


def assert_close(
    actual: ArrayLike,
    desired: ArrayLike,
    dtype: DTypeLike,
    kind: str,
    what: str = "",
    scale: float | None = None,
) -> None:
    """Assert ``actual`` matches ``desired`` within ``tolerance(dtype, kind)`` (scale-relative).

    Also checks the shapes agree and that nothing is NaN where the reference is finite.
    ``scale`` optionally floors the scale errors are measured against (see ``relative_error``).
    """
    actual_np = np.asarray(to_numpy(actual))
    desired_np = np.asarray(to_numpy(desired))
    if actual_np.shape != desired_np.shape:
        raise AssertionError(f"{what}: shape {actual_np.shape} != expected {desired_np.shape}")
    if np.any(np.isfinite(desired_np) & ~np.isfinite(actual_np)):
        raise AssertionError(f"{what}: non-finite values where the reference is finite")
    rtol = tolerance(dtype, kind)
    err = relative_error(actual_np, desired_np, scale)
    if not err <= rtol:
        raise AssertionError(
            f"{what}: relative error {err:.3e} exceeds {rtol:.1e} "
            f"({np.dtype(dtype)}, {kind})\nactual={actual_np}\n"
            f"desired={desired_np}"
        )
