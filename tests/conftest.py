"""Shared fixtures and the one backend switch of the test suite.

``python -m pytest --backend cupy`` runs the backend-aware tests (those taking the ``xp``
fixture) on CuPy only and makes CuPy the library's default backend for the session
(``hyperdual.set_backend``); without a usable GPU those tests skip cleanly. By default
(``--backend numpy``) the ``xp`` tests run on NumPy, and also on CuPy when a GPU is usable.

Under ``--backend cupy`` every other test runs with CuPy as the default too: ``init_params``
puts θ on the GPU, so a test's own data enter the library through
``backend_helpers.on_backend`` and results meet host references through
``backend_helpers.host`` (nothing is copied between host and device silently).
"""

import numpy as np
import pytest

import hyperdual as hd

_CUPY = hd.cupy_available()


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=("numpy", "cupy"),
        default="numpy",
        help="array backend of the backend-aware tests (default numpy; cupy "
        "needs a GPU and makes CuPy the library's default for the run)",
    )


def pytest_configure(config):
    if config.getoption("--backend") == "cupy" and _CUPY:
        hd.set_backend("cupy")


def pytest_generate_tests(metafunc):
    if "xp" not in metafunc.fixturenames:
        return
    gpu = pytest.mark.skipif(not _CUPY, reason="CuPy with a usable GPU is not available here")
    cupy_param = pytest.param("cupy", marks=[pytest.mark.gpu, gpu])
    if metafunc.config.getoption("--backend") == "cupy":
        metafunc.parametrize("xp", [cupy_param], indirect=True)
    else:
        metafunc.parametrize("xp", ["numpy", cupy_param], indirect=True)


@pytest.fixture
def xp(request):
    """The array module of the backend under test (numpy, or cupy on a GPU)."""
    if request.param == "cupy":
        import cupy

        return cupy
    return np
