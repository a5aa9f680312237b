"""Training checkpoints: one ``.npz`` file, written atomically, read defensively.

A checkpoint holds everything a run needs to continue *exactly* where it stopped:

* ``theta`` — the flat parameter vector;
* ``optimizer`` — ``optimizer.state_dict()`` (learning rate, moments, step counters and the
  state of its random generator);
* ``schedule`` — the learning-rate schedule's state (or ``None``);
* ``epoch`` — the number of *completed* epochs;
* ``history`` — the per-epoch records written so far;
* ``config`` — the run's settings, so that ``--resume`` can refuse a mismatched run.

File format
-----------
A NumPy ``.npz`` archive (no pickles). Every array of the state becomes one member named
``a0, a1, ...``; everything else (numbers, strings, lists, dictionaries, ``None``) goes into a
JSON document stored as the ``uint8`` member ``__meta__``. In that document an array is a
placeholder ``{"__array__": "a3", "dtype": "float32", "shape": [650]}``, so the archive can be
checked member by member: every placeholder must name a member that exists, with exactly the
declared dtype and shape, and no member may be left over. Python integers of any size
(e.g. a PCG64 generator state) and floats (written with ``repr``, so they round-trip exactly)
are kept losslessly.

Writing is atomic: the archive is written to a temporary file in the
same directory, flushed to disk and moved over the destination with :func:`os.replace`, so a
run killed mid-write leaves the previous checkpoint intact.

Reading treats the file as untrusted, with the guards of the oracle reader
(:mod:`hyperlab.oracle.format`): only numeric or boolean dtypes and no pickles; the metadata is
read first (at most ``_MAX_META_BYTES``, JSON nested at most ``_MAX_DEPTH`` deep), and
*before any array is inflated* the archive's directory must list exactly the members the
metadata declares, each no larger than its declared dtype and shape allow, and expanding at
most ``_MAX_EXPANSION`` times its compressed size (``save_checkpoint`` stores members
uncompressed), so a small file cannot make the reader allocate gigabytes. Every problem is
reported as a :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hyperlab.atomic import atomic_write

__all__ = ["CheckpointError", "FORMAT", "save_checkpoint", "load_checkpoint", "pack", "unpack"]

FORMAT = "fomoh-checkpoint-v1"
"""Value of the ``format`` key; a file with another value is refused."""

_META = "__meta__"
_MAX_META_BYTES = 64 << 20
_MAX_DEPTH = 64  # nesting of the metadata's JSON (a real checkpoint needs about 6)
_MAX_EXPANSION = 32  # inflated / compressed size of a member
_MAX_NPY_HEADER = 1 << 16
_REQUIRED_KEYS = ("format", "epoch", "theta", "optimizer", "schedule", "history", "config")


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt or does not fit the run.

    The message always names the file.
    """


# --------------------------------------------------------------------------- packing


def _is_array(x) -> bool:
    """NumPy or CuPy arrays (not NumPy scalars, which are stored as plain numbers)."""
    return isinstance(x, np.ndarray) or type(x).__module__.split(".")[0] == "cupy"


def pack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Turn a nested state into JSON-compatible data, moving arrays into ``arrays``.

    Parameters
    ----------
    obj : nested dict / list / tuple of arrays, numbers, strings, bools and None
        Dictionary keys must be strings. Tuples are stored as lists.
    arrays : dict
        Receives the arrays (as host NumPy arrays) under the names ``a0, a1, ...``.

    Returns
    -------
    JSON-compatible data with ``{"__array__": name, "dtype": ..., "shape": [...]}``
    placeholders.
    """
    if _is_array(obj):
        host = np.asarray(
            obj.get() if hasattr(obj, "get") and not isinstance(obj, np.ndarray) else obj
        )
        if host.dtype.kind not in "biufc":
            raise TypeError(f"cannot store an array of dtype {host.dtype} in a checkpoint")
        name = f"a{len(arrays)}"
        arrays[name] = host
        return {"__array__": name, "dtype": host.dtype.str, "shape": list(host.shape)}
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"checkpoint dictionary keys must be strings, got {key!r}")
            if key == "__array__":
                raise TypeError("'__array__' is a reserved key in checkpoints")
            out[key] = pack(value, arrays)
        return out
    if isinstance(obj, (list, tuple)):
        return [pack(v, arrays) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def unpack(data: Any, arrays: dict[str, np.ndarray], used: set[str], where: str = "") -> Any:
    """Inverse of :func:`pack`: replace placeholders by arrays, checking dtype and shape.

    Raises
    ------
    ValueError
        If a placeholder is malformed, names a missing member, or the member's dtype or
        shape differs from the declared one.
    """
    if isinstance(data, dict):
        if "__array__" in data:
            if set(data) != {"__array__", "dtype", "shape"}:
                raise ValueError(f"malformed array placeholder at {where or 'top level'}")
            name = data["__array__"]
            if not isinstance(name, str) or name not in arrays:
                raise ValueError(f"array {name!r} (at {where}) is missing from the archive")
            arr = arrays[name]
            if arr.dtype.str != data["dtype"] or list(arr.shape) != data["shape"]:
                raise ValueError(
                    f"array {name!r} at {where} has dtype {arr.dtype.str} and shape "
                    f"{list(arr.shape)}, but the metadata declares {data['dtype']} and "
                    f"{data['shape']}"
                )
            used.add(name)
            return arr
        return {k: unpack(v, arrays, used, f"{where}.{k}" if where else k) for k, v in data.items()}
    if isinstance(data, list):
        return [unpack(v, arrays, used, f"{where}[{i}]") for i, v in enumerate(data)]
    return data


# --------------------------------------------------------------------------- saving


def save_checkpoint(
    path: str | os.PathLike,
    *,
    theta,
    optimizer: dict | None,
    schedule: dict | None,
    epoch: int,
    history: list[dict],
    config: dict,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.npz`` file; its directory must exist.
    theta : array, shape (D,)
        Parameters after ``epoch`` completed epochs.
    optimizer : dict or None
        ``optimizer.state_dict()``.
    schedule : dict or None
        The learning-rate schedule's ``state_dict()``.
    epoch : int
        Number of completed epochs.
    history : list of dict
        Per-epoch records (numbers and strings).
    config : dict
        The run's settings (JSON-compatible).
    extra : dict, optional
        Anything else worth keeping (e.g. accumulated wall time).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    state = {
        "format": FORMAT,
        "epoch": int(epoch),
        "theta": pack(theta, arrays),
        "optimizer": pack(optimizer, arrays),
        "schedule": pack(schedule, arrays),
        "history": pack(history, arrays),
        "config": pack(config, arrays),
        "extra": pack(extra or {}, arrays),
    }
    meta = json.dumps(state, sort_keys=True).encode("utf-8")
    arrays[_META] = np.frombuffer(meta, dtype=np.uint8)

    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


# --------------------------------------------------------------------------- loading


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        Keys ``epoch`` (int), ``theta`` (NumPy array, shape (D,)), ``optimizer``,
        ``schedule``, ``history`` (list of dict), ``config`` (dict), ``extra`` (dict).

    Raises
    ------
    CheckpointError
        If the file is missing, not a valid archive (e.g. truncated), holds pickled or
        non-numeric data, or its metadata, arrays, shapes or dtypes are inconsistent. The
        message names the file and says what was wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, path)
            if _META not in members:
                raise CheckpointError(f"{path}: not a fomoh checkpoint (no {_META} member)")
            meta_arr = _read_member(archive, members[_META], path, None, _MAX_META_BYTES)
            state = _parse_meta(meta_arr, path)
            declared = _declared_arrays(state, path)
            # Everything is checked against the zip directory before an array is inflated.
            unused = sorted(set(members) - set(declared) - {_META})
            if unused:
                raise CheckpointError(
                    f"{path}: archive members {unused} are not described by the metadata"
                )
            arrays = {}
            for name, (dtype, shape) in declared.items():
                if name not in members:
                    raise CheckpointError(f"{path}: array {name!r} is missing from the archive")
                arrays[name] = _read_member(
                    archive, members[name], path, (dtype, shape), dtype.itemsize * math.prod(shape)
                )
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({exc})") from exc
    except Exception as exc:  # zlib errors, malformed .npy headers, ...
        raise CheckpointError(
            f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})"
        ) from exc

    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: metadata is not a JSON object")
    missing = [k for k in _REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: metadata lacks the keys {missing}")
    if state["format"] != FORMAT:
        raise CheckpointError(
            f"{path}: unknown checkpoint format {state['format']!r}; expected {FORMAT!r}"
        )
    used: set[str] = set()
    try:
        out = {
            key: unpack(state.get(key), arrays, used, key) for key in (*_REQUIRED_KEYS[1:], "extra")
        }
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    unused = sorted(set(arrays) - used)
    if unused:
        raise CheckpointError(f"{path}: archive members {unused} are not described by the metadata")

    epoch, theta, history = out["epoch"], out["theta"], out["history"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"{path}: epoch must be a non-negative integer, got {epoch!r}")
    if not isinstance(theta, np.ndarray) or theta.ndim != 1 or theta.dtype.kind != "f":
        raise CheckpointError(
            f"{path}: theta must be a 1-D floating array, got "
            f"{getattr(theta, 'dtype', type(theta).__name__)} "
            f"{getattr(theta, 'shape', '')}"
        )
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise CheckpointError(f"{path}: history must be a list of records")
    if len(history) != epoch:
        raise CheckpointError(
            f"{path}: history has {len(history)} records but the checkpoint is at epoch {epoch}"
        )
    if not isinstance(out["config"], dict):
        raise CheckpointError(f"{path}: config must be a dictionary")
    if out["extra"] is None:
        out["extra"] = {}
    return out


# --------------------------------------------------------------------------- reading guards


def _members(archive: zipfile.ZipFile, path: Path) -> dict:
    """``name -> ZipInfo`` of the ``.npy`` members, after checking names and sizes as the
    zip directory states them (nothing is inflated here)."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(names) != len(set(names)):
        raise CheckpointError(f"{path}: the archive holds duplicate members")
    bad = [n for n in names if not n.endswith(".npy") or "/" in n or n.startswith(".")]
    if bad:
        raise CheckpointError(f"{path}: unexpected archive members {bad[:5]}")
    compressed, on_disk = sum(info.compress_size for info in infos), path.stat().st_size
    if compressed > on_disk:
        raise CheckpointError(
            f"{path}: the zip directory claims {compressed} compressed bytes in a file of {on_disk}"
        )
    for info in infos:
        if info.file_size > _MAX_EXPANSION * max(info.compress_size, 1) + _MAX_NPY_HEADER:
            raise CheckpointError(
                f"{path}: member {info.filename!r} would inflate from {info.compress_size} to "
                f"{info.file_size} bytes (a checkpoint is stored uncompressed)"
            )
    return {info.filename[:-4]: info for info in infos}


def _read_member(archive, info, path: Path, expected, max_data: int) -> np.ndarray:
    """One ``.npy`` member, at most ``max_data`` bytes of data, with the declared
    ``expected = (dtype, shape)`` (``None``: the metadata, a 1-D uint8 array)."""
    name = info.filename[:-4]
    if info.file_size > max_data + _MAX_NPY_HEADER:
        raise CheckpointError(
            f"{path}: member {name!r} is {info.file_size} bytes, more than "
            f"the {max_data} bytes of data its declaration allows"
        )
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise CheckpointError(f"{path}: member {name!r} has .npy version {version}")
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(fh)
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biufc":
            raise CheckpointError(f"{path}: member {name!r} has unsupported dtype {dtype}")
        if expected is None:
            if dtype != np.uint8 or len(shape) != 1:
                raise CheckpointError(
                    f"{path}: metadata member has dtype {dtype} and shape "
                    f"{shape}; expected a 1-D uint8 array"
                )
        elif dtype.str != expected[0].str or tuple(shape) != expected[1]:
            raise CheckpointError(
                f"{path}: array {name!r} has dtype {dtype.str} and shape {list(shape)}, but "
                f"the metadata declares {expected[0].str} and {list(expected[1])}"
            )
        nbytes = dtype.itemsize * math.prod(shape)
        if nbytes > max_data:
            raise CheckpointError(
                f"{path}: member {name!r} claims {nbytes} bytes, more than the limit of {max_data}"
            )
        data = fh.read(nbytes)
        if len(data) != nbytes or fh.read(1):
            raise CheckpointError(
                f"{path}: member {name!r} does not hold the {nbytes} bytes its header declares"
            )
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    return np.array(array, order="C")  # writable, native layout


def _parse_meta(meta_arr: np.ndarray, path: Path):
    """The metadata's JSON document, nested at most ``_MAX_DEPTH`` deep."""
    try:
        state = json.loads(meta_arr.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({exc})") from exc
    except RecursionError:
        raise CheckpointError(
            f"{path}: metadata is nested too deeply (limit {_MAX_DEPTH})"
        ) from None
    stack = [(state, 1)]
    while stack:  # iterative: no recursion on hostile input
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > _MAX_DEPTH:
                raise CheckpointError(
                    f"{path}: metadata is nested more than {_MAX_DEPTH} levels deep"
                )
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)
    return state


def _declared_arrays(state, path: Path) -> dict:
    """``name -> (dtype, shape)`` of every array placeholder in the metadata."""
    declared, stack = {}, [state]
    while stack:
        value = stack.pop()
        if isinstance(value, dict) and "__array__" in value:
            name, dtype, shape = value.get("__array__"), value.get("dtype"), value.get("shape")
            try:
                dtype = np.dtype(dtype) if isinstance(dtype, str) else None
            except TypeError:
                dtype = None
            if (
                not isinstance(name, str)
                or name == _META
                or dtype is None
                or dtype.kind not in "biufc"
                or not isinstance(shape, list)
                or len(shape) > 32
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            ):
                raise CheckpointError(f"{path}: malformed array placeholder {value!r:.200}")
            if name in declared and declared[name] != (dtype, tuple(shape)):
                raise CheckpointError(f"{path}: array {name!r} is declared twice, differently")
            declared[name] = (dtype, tuple(shape))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return declared
