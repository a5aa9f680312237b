"""What produced a result: package, NumPy and Python versions, and the git revision.

Recorded in every run's ``summary.json`` and in ``results.json`` of ``fomoh compare``, so a
number can be traced to the code and the libraries that computed it.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import numpy
import scipy

from . import __version__

__all__ = ["versions", "git_revision"]

_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The commit of the source tree this package runs from (``+dirty`` with uncommitted
    changes to tracked files), or ``None`` outside a git checkout (an installed wheel)."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != _ROOT:
            return None  # installed inside someone else's repository
        revision = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return revision + ("+dirty" if dirty else "")


def versions() -> dict:
    """``{"fomoh-hyperdual", "numpy", "scipy", "python", "git_revision"}`` of this process."""
    return {
        "fomoh-hyperdual": __version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "git_revision": git_revision(),
    }
