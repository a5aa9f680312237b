"""The one backend switch: NumPy (default) or CuPy.

* ``get_backend()`` is the array module new arrays are created with (directions, basis vectors).
* ``namespace(*arrays)`` is the module that *existing* arrays belong to; every rule uses the
  namespace of its operands, so nothing is ever copied between host and device silently.
* ``HYPERDUAL_BACKEND=cupy`` in the environment, or ``set_backend("cupy")``, selects CuPy;
  ``with using_backend("cupy"):`` selects it for a block only and restores the previous choice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import numpy as np

_BACKEND_NAME = os.environ.get("HYPERDUAL_BACKEND", "numpy").strip().lower() or "numpy"
_BACKEND_MODULE = None


class DeviceMismatchError(TypeError):
    """Arrays from different devices (host NumPy / GPU CuPy, or two GPUs) were mixed."""


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used on this machine."""


def _load_cupy():
    """Import CuPy and check that a GPU is usable; raise with the reason otherwise."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        raise BackendUnavailableError(
            f"HYPERDUAL_BACKEND=cupy was requested but CuPy cannot be imported ({exc!r}). "
            "Install it with `pip install 'fomoh-hyperdual[cuda12]'` (or `[cuda13]`, by the "
            "CUDA major version of the driver) on a machine with an NVIDIA GPU."
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count < 1:
            raise RuntimeError("no CUDA device found")
        cupy.zeros(1).sum().item()  # a real allocation and kernel launch
    except Exception as exc:
        raise BackendUnavailableError(
            f"HYPERDUAL_BACKEND=cupy was requested but no usable GPU was found ({exc})."
        ) from exc
    return cupy


def set_backend(name: str) -> ModuleType:
    """Select the array module ("numpy" or "cupy") used to create new arrays; returns it."""
    global _BACKEND_NAME, _BACKEND_MODULE
    name = name.strip().lower()
    if name == "numpy":
        module = np
    elif name == "cupy":
        module = _load_cupy()
    else:
        raise ValueError(f"unknown backend {name!r}; expected 'numpy' or 'cupy'")
    _BACKEND_NAME, _BACKEND_MODULE = name, module
    return module


@contextmanager
def using_backend(name: str) -> Iterator[ModuleType]:
    """Select the backend ``name`` for a ``with`` block; the previous selection comes back after
    it, also when the block raises (a library function such as a training run must not change
    the process-wide default as a side effect).

    Yields the array module, as ``set_backend`` returns it. An unusable backend raises on entry
    (``ValueError``, ``BackendUnavailableError``) and leaves the selection unchanged.
    """
    global _BACKEND_NAME, _BACKEND_MODULE
    saved = _BACKEND_NAME, _BACKEND_MODULE
    module = set_backend(name)
    try:
        yield module
    finally:
        _BACKEND_NAME, _BACKEND_MODULE = saved


def get_backend() -> ModuleType:
    """The array module selected by ``set_backend`` or ``HYPERDUAL_BACKEND`` (default NumPy)."""
    if _BACKEND_MODULE is None:
        return set_backend(_BACKEND_NAME)
    return _BACKEND_MODULE


def backend_name() -> str:
    """``"numpy"`` or ``"cupy"``."""
    get_backend()
    return _BACKEND_NAME


def cupy_available() -> bool:
    """True when CuPy imports and a GPU is usable (used by the tests to skip cleanly)."""
    try:
        _load_cupy()
    except BackendUnavailableError:
        return False
    return True


def _is_cupy_array(a) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def namespace(*arrays: object) -> ModuleType:
    """The array module (numpy or cupy) of ``arrays``; Python scalars are ignored.

    Raises ``DeviceMismatchError`` when host and device arrays (or two GPUs) are mixed.
    """
    devices = set()
    for a in arrays:
        if isinstance(a, np.ndarray):  # the common case first
            devices.add(("numpy", 0))
        elif a is None or isinstance(a, (int, float, bool, complex, np.generic)):
            continue
        elif _is_cupy_array(a):
            devices.add(("cupy", a.device.id))
    if len(devices) > 1:
        names = ", ".join(
            "host (NumPy)" if d[0] == "numpy" else f"GPU {d[1]} (CuPy)" for d in sorted(devices)
        )
        raise DeviceMismatchError(
            f"arrays on different devices were mixed: {names}. Move them explicitly "
            "(cupy.asarray / hyperdual.to_numpy); nothing is copied silently."
        )
    if devices and next(iter(devices))[0] == "cupy":
        import cupy

        return cupy
    return np


def to_numpy(a: object) -> np.ndarray:
    """Copy a CuPy array to the host (a NumPy array is returned unchanged)."""
    return a.get() if _is_cupy_array(a) else np.asarray(a)
