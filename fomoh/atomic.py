"""Atomic file writes: an interrupted run never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path, write):
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is flushed and fsynced before ``os.replace`` (atomic on POSIX and
    Windows), and removed if anything fails, so ``path`` holds either the old or the new
    complete contents.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
