"""The API reference (docs/api) builds from the docstrings without a single warning."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

# Asked of the installed distributions, not by importing: a stray namespace package named
# "sphinx" would pass an import check, fail the build and break scipy's docstring parser
# for every later test in the process (seen on a machine without Sphinx).
try:
    importlib.metadata.distribution("sphinx")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("sphinx is in the test extra: pip install -e '.[test]'", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_warning_free(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs" / "api"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, f"sphinx-build -W failed:\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "html" / "index.html").exists()
