"""Atomic file writes: an interrupted run never leaves a half-written file behind."""

from __future__ import annotations

import json
import math
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
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # e.g. a full disk while writing: say which file could not be written
            raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    return path


def write_text(path, text: str):
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data))


def finite_or_none(obj):
    """``obj`` with every non-finite float (NaN, ±inf) replaced by ``None`` (and NumPy
    scalars by Python numbers).

    Strict JSON has no NaN or infinity; Python's ``json`` would write the bare tokens
    ``NaN``/``Infinity``, which other JSON readers refuse. A missing metric is ``null``.
    """
    if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0:
        obj = obj.item()  # NumPy scalars as Python numbers
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, data, indent: int | None = 1):
    """Write ``data`` as strict JSON (no NaN/Infinity tokens: see :func:`finite_or_none`),
    atomically, so that a killed run leaves the old file or the new one, never an empty one."""
    return write_text(path, json.dumps(finite_or_none(data), indent=indent, allow_nan=False))


def remove_orphans(directory, names) -> list[Path]:
    """Remove the temporary files :func:`atomic_write` leaves when a process is killed
    mid-write (``.<name>.*.tmp`` beside each of ``names`` in ``directory``); returns them.

    Call it only where no other process writes the same files (a run owns its folder).
    """
    removed = []
    for name in names:
        for tmp in Path(directory).glob(f".{name}.*.tmp"):
            try:
                tmp.unlink()
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed
