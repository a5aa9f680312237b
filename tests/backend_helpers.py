"""Test data on the backend under test, results back on the host: both moves explicit.

Models create θ on the library's default backend (``hyperdual.get_backend()``: CuPy under
``pytest --backend cupy``), and the library never copies between host and device silently.
So data a test makes with NumPy enters a model through :func:`on_backend`, and results are
compared with NumPy (or torch, onnxruntime) references after :func:`host`. With the default
backend, NumPy, both are the identity on NumPy arrays.
"""

from __future__ import annotations

import numpy as np

import hyperdual as hd


def on_backend(array):
    """``array`` (host data) on the library's default backend, dtype unchanged."""
    return hd.get_backend().asarray(array)


def host(array) -> np.ndarray:
    """A plain array of either backend as a NumPy array (``hyperdual.to_numpy``)."""
    return hd.to_numpy(array)
