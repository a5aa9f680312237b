"""Shared fixtures and the one backend switch of the test suite.

``python -m pytest --backend cupy`` runs the backend-aware tests (those taking the ``xp``
fixture) on CuPy only and makes CuPy the library's default backend for the session
(``hyperdual.set_backend``); without a usable GPU those tests skip cleanly. By default
(``--backend numpy``) the ``xp`` tests run on NumPy, and also on CuPy when a GPU is usable.

Under ``--backend cupy`` every other test runs with CuPy as the default too: ``init_params``
puts θ on the GPU, so a test's own data enter the library through
``backend_helpers.on_backend`` and results meet host references through
``backend_helpers.host`` (nothing is copied between host and device silently).

``HYPERDUAL_STRICT_CUPY=1`` in the environment puts ``tests/strict_cupy`` first on
``sys.path`` before anything imports CuPy, so that ``import cupy`` finds the strict CPU
stand-in: ``HYPERDUAL_STRICT_CUPY=1 python -m pytest --backend cupy`` checks host/device
discipline without a GPU. It is not a GPU test; the pytest header and the last line of the
run say so. The explicit switch wins over a real CuPy installed as well (the header names it).
"""

import importlib.util
import os
import sys
from pathlib import Path

STRICT_CUPY_DIR = Path(__file__).resolve().parent / "strict_cupy"
_STRICT_SWITCH = os.environ.get("HYPERDUAL_STRICT_CUPY", "")
if _STRICT_SWITCH not in ("", "0", "1"):
    raise ValueError(f"HYPERDUAL_STRICT_CUPY must be 1 (or 0, or unset), got {_STRICT_SWITCH!r}")
STRICT_CUPY = _STRICT_SWITCH == "1"
if STRICT_CUPY:
    if "cupy" in sys.modules:
        raise RuntimeError(
            "HYPERDUAL_STRICT_CUPY=1, but cupy was imported before tests/conftest.py; "
            "the strict stand-in cannot replace it"
        )
    _REAL_CUPY = importlib.util.find_spec("cupy")  # looked up before the stand-in shadows it
    sys.path.insert(0, str(STRICT_CUPY_DIR))

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


def pytest_report_header(config):
    if not STRICT_CUPY:
        return None
    lines = [
        f"cupy: STRICT CPU STAND-IN from {STRICT_CUPY_DIR} (HYPERDUAL_STRICT_CUPY=1): "
        "not CuPy and not a GPU run; it checks host/device discipline only"
    ]
    if _REAL_CUPY is not None:
        lines.append(f"cupy: the real CuPy at {_REAL_CUPY.origin} is installed but not used")
    return lines


def pytest_terminal_summary(terminalreporter):
    if STRICT_CUPY:
        terminalreporter.write_line(
            "cupy was the strict CPU stand-in (HYPERDUAL_STRICT_CUPY=1): not a GPU run"
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
