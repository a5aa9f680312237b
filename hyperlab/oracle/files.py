"""The oracle exchange format's files, byte by byte: strict JSON in and out, ``.npz``
archives written plainly and read member by member with every size checked before anything
is inflated, and SHA-256 digests. Files are written atomically (a temporary file in the same
directory, then ``os.replace``)."""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from hyperlab.atomic import atomic_write

from .schema import (
    MAX_ARRAY_ELEMENTS,
    MAX_JSON_BYTES,
    VERSION,
    OracleFormatError,
    is_int,
)

__all__ = [
    "printable",
    "load_json",
    "check_header",
    "sha256_file",
    "write_json",
    "write_npz",
    "read_npy_member",
    "ShapeError",
    "open_archive",
    "archive_errors",
    "MAX_NPY_HEADER",
]

MAX_NPY_HEADER = 1 << 16
"""Largest ``.npy`` header accepted in an archive member (bytes)."""


def printable(text) -> str:
    """``text`` safe for a terminal: control characters (an ANSI escape sequence in a
    hostile file's ``backend`` field, a carriage return, ...) are shown as Python escapes
    (``\\x1b``) instead of being sent to the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} in JSON")


def load_json(path, kind):
    """Parse a JSON object from ``path`` after checking its size; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise OracleFormatError(f"{path}: {kind} file not found")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise OracleFormatError(
            f"{path}: {size} bytes, larger than the limit of {MAX_JSON_BYTES} for a {kind} file"
        )
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OracleFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise OracleFormatError(f"{path}: the top level must be a JSON object")
    return data


def check_header(data, fmt, path):
    if data.get("format") != fmt:
        raise OracleFormatError(f"{path}: 'format' must be {fmt!r}, got {data.get('format')!r}")
    version = data.get("version")
    if not is_int(version):
        raise OracleFormatError(f"{path}: 'version' must be an integer, got {version!r}")
    if version != VERSION:
        raise OracleFormatError(
            f"{path}: format version {version} is not supported "
            f"(this reader knows version {VERSION})"
        )


def sha256_file(path):
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dumps(obj, indent=0, used=0, width=92):
    """JSON, indented by two, with every container that fits on its line kept on one line."""
    flat = json.dumps(obj, allow_nan=False, ensure_ascii=False)
    if not isinstance(obj, (dict, list)) or not obj or indent + used + len(flat) <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            head = json.dumps(key, ensure_ascii=False) + ": "
            items.append(pad + head + _dumps(value, indent + 2, len(head), width))
    else:
        items = [pad + _dumps(value, indent + 2, 0, width) for value in obj]
    brackets = "{}" if isinstance(obj, dict) else "[]"
    return brackets[0] + "\n" + ",\n".join(items) + "\n" + " " * indent + brackets[1]


def write_json(path, data):
    text = _dumps(data) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def write_npz(path, arrays):
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def read_npy_member(zf, name, path, shape, dtypes):
    """One member of an archive, checked against ``shape`` and ``dtypes`` before allocation.

    Returns the array, or raises ``OracleFormatError``; ``shape=None`` accepts any shape whose
    size is within the limits (the caller checks it).
    """
    key = name[:-4]
    info = zf.getinfo(name)
    if info.file_size > MAX_NPY_HEADER + 8 * (
        math.prod(shape) if shape is not None else MAX_ARRAY_ELEMENTS
    ):
        raise OracleFormatError(
            f"{path}: array {key!r} is {info.file_size} bytes, more than "
            f"its expected shape {shape} can take"
        )
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise OracleFormatError(
                f"{path}: array {key!r} has .npy version {version}, expected 1.0 or 2.0"
            )
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise OracleFormatError(
                f"{path}: array {key!r} has dtype {dtype}; only plain "
                f"numeric dtypes are allowed (no objects, no pickles)"
            )
        native = dtype.newbyteorder("=")
        if native not in dtypes:
            raise OracleFormatError(
                f"{path}: array {key!r} has dtype {dtype}, expected one of "
                f"{[str(d) for d in dtypes]}"
            )
        if shape is not None and tuple(got_shape) != tuple(shape):
            raise ShapeError(
                f"{path}: array {key!r} has shape {tuple(got_shape)}, expected {tuple(shape)}",
                tuple(got_shape),
            )
        count = math.prod(got_shape)
        if count > MAX_ARRAY_ELEMENTS:
            raise OracleFormatError(f"{path}: array {key!r} of shape {got_shape} is too large")
        nbytes = count * dtype.itemsize
        data = fh.read(nbytes)
        if len(data) != nbytes:
            raise OracleFormatError(
                f"{path}: array {key!r} is truncated ({len(data)} of {nbytes} bytes)"
            )
        if fh.read(1):
            raise OracleFormatError(f"{path}: array {key!r} has data after its end")
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(got_shape[::-1]).T if fortran else array.reshape(got_shape)
    return np.array(array, dtype=native, order="C", copy=True)


class ShapeError(OracleFormatError):
    def __init__(self, message, shape):
        super().__init__(message)
        self.shape = shape


def open_archive(path, max_bytes):
    path = Path(path)
    if not path.is_file():
        raise OracleFormatError(f"{path}: array file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise OracleFormatError(
            f"{path}: {size} bytes, more than the {max_bytes} that the "
            f"arrays described in the JSON file can take"
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OracleFormatError(f"{path}: not a valid .npz archive ({exc})") from None
    names = zf.namelist()
    if len(names) != len(set(names)):
        zf.close()
        raise OracleFormatError(f"{path}: the archive holds duplicate members")
    bad = [n for n in names if not n.endswith(".npy") or "/" in n or n.startswith(".")]
    if bad:
        zf.close()
        raise OracleFormatError(f"{path}: unexpected archive members {bad[:5]}")
    return zf


def archive_errors(path):
    """The exceptions that mean a corrupt archive, turned into ``OracleFormatError``."""
    return (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, RuntimeError)
