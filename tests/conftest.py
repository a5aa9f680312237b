"""Shared fixtures: every backend that is usable here (CuPy only with a working GPU)."""

import numpy as np
import pytest

import hyperdual as hd

_CUPY = hd.cupy_available()
BACKENDS = ["numpy", pytest.param("cupy", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not _CUPY, reason="CuPy with a usable GPU is not available here"),
])]


@pytest.fixture(params=BACKENDS)
def xp(request):
    """The array module of one backend (numpy, and cupy when a GPU is usable)."""
    if request.param == "cupy":
        import cupy
        return cupy
    return np
