"""``ruff check`` (configured in pyproject.toml) passes on the library, tests and tools."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = [
    "hyperdual",
    "layers",
    "optimizers",
    "hyperlab",
    "paper_experiments",
    "tests",
    "benchmarks",
    "examples",
    "tutorials/source",
]


def _ruff():
    """The ruff command of this environment (the test extra installs it), else None."""
    try:
        import ruff  # noqa: F401 - only to see whether it is installed here
    except ImportError:
        return [shutil.which("ruff")] if shutil.which("ruff") else None
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_is_clean():
    command = _ruff()
    if command is None:
        pytest.skip("ruff is in the test extra: pip install -e '.[test]'")
    result = subprocess.run(
        [*command, "check", *PATHS], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


def test_ruff_format_is_applied():
    """The tree is formatted by ``ruff format`` (settings in pyproject.toml)."""
    command = _ruff()
    if command is None:
        pytest.skip("ruff is in the test extra: pip install -e '.[test]'")
    result = subprocess.run(
        [*command, "format", "--check", *PATHS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, f"ruff format would change:\n{result.stdout}{result.stderr}"
