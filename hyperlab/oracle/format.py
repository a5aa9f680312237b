"""The oracle exchange format: cases and results as one small JSON file plus one ``.npz``.

The specification for people writing other backends is ``docs/oracle-format.md``; this module
is its reference reader and writer. In brief:

* a **case** is a directory holding ``case.json`` (format, version, model description,
  parameter layout, sizes, the quantities asked for, the SHA-256 of the arrays) and
  ``case.npz`` (``theta``, ``x``, ``y`` and the directions ``v1``, ``v2``, ``V``, ``hvp_v``);
* a **results** directory holds ``results.json`` (backend, dtype, the case it answers,
  optionally the on-the-spot cross-check) and ``results.npz`` (``loss``, ``grad``,
  ``dir_d1``, ``dir_d2``, ``dir_d12``, ``kd_g``, ``kd_H``, ``hvp``, ``hessian``).

Every file is untrusted. Reading checks, in this order and before any
array is allocated: the file sizes, the JSON (size, syntax, no NaN, exact keys, types,
version), the model description (known layer types, exact fields, shapes propagated layer by
layer, the parameter layout against what the model implies), the archive (only the expected
members, each ``.npy`` header's dtype and shape against the description, the member's size
against its header), then the data itself (``allow_pickle`` is never used; values finite;
labels in range; the SHA-256 against the one recorded). Every problem raises
:class:`OracleFormatError` naming the file and what is wrong. Nothing in a file is executed:
layer types are looked up in a fixed table.

Files are written atomically (a temporary file in the same directory, then ``os.replace``).

Modules: :mod:`.schema` (names, limits, model description, metadata checks), :mod:`.files`
(JSON, archives, digests); this module reads and writes whole cases and results and
re-exports the names of both.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .files import (
    MAX_NPY_HEADER,
    ShapeError,
    archive_errors,
    check_header,
    load_json,
    open_archive,
    printable,
    read_npy_member,
    sha256_file,
    write_json,
    write_npz,
)
from .metadata import (
    Case,
    Results,
    case_array_specs,
    expected_result_shapes,
    validate_case_meta,
    validate_results_meta,
)
from .schema import (
    CASE_FORMAT,
    CASE_JSON,
    CASE_NPZ,
    DIRECTION_ARRAYS,
    DIRECTION_COUNTS,
    FLOATS,
    LAYER_TYPES,
    MAX_ARRAY_ELEMENTS,
    MAX_DIM,
    MAX_DIRECTIONS,
    MAX_HESSIAN_PARAMETERS,
    MAX_JSON_BYTES,
    MAX_LAYERS,
    MAX_PARAMETERS,
    QUANTITIES,
    RESULT_ARRAYS,
    RESULTS_FORMAT,
    RESULTS_JSON,
    RESULTS_NPZ,
    VERSION,
    OracleFormatError,
    build_model,
    describe_model,
    parameter_layout,
    validate_model,
)

__all__ = [
    "OracleFormatError",
    "VERSION",
    "CASE_FORMAT",
    "RESULTS_FORMAT",
    "QUANTITIES",
    "RESULT_ARRAYS",
    "LAYER_TYPES",
    "Case",
    "Results",
    "validate_model",
    "parameter_layout",
    "describe_model",
    "build_model",
    "write_case",
    "read_case",
    "write_results",
    "read_results",
    "expected_result_shapes",
    # limits and file names (schema), helpers (files)
    "CASE_JSON",
    "CASE_NPZ",
    "RESULTS_JSON",
    "RESULTS_NPZ",
    "MAX_JSON_BYTES",
    "MAX_LAYERS",
    "MAX_DIM",
    "MAX_PARAMETERS",
    "MAX_ARRAY_ELEMENTS",
    "MAX_DIRECTIONS",
    "MAX_HESSIAN_PARAMETERS",
    "printable",
    "sha256_file",
]


# --------------------------------------------------------------------------- cases
def _case_paths(case_dir):
    case_dir = Path(case_dir)
    if case_dir.name == CASE_JSON:
        case_dir = case_dir.parent
    return case_dir, case_dir / CASE_JSON, case_dir / CASE_NPZ


def read_case(case_dir, verify_sha256=True):
    """Read and validate a case.

    Parameters
    ----------
    case_dir : path-like
        The case directory (or its ``case.json``).
    verify_sha256 : bool
        Check ``case.npz`` against the SHA-256 recorded in ``case.json``.

    Returns
    -------
    Case

    Raises
    ------
    OracleFormatError
        Naming the file and what is wrong.
    """
    case_dir, json_path, npz_path = _case_paths(case_dir)
    meta = load_json(json_path, "case")
    check_header(meta, CASE_FORMAT, json_path)
    try:
        validate_case_meta(meta, case_dir)
    except ValueError as exc:
        raise OracleFormatError(f"{json_path}: {exc}") from None
    specs = case_array_specs(meta)
    max_bytes = sum(8 * math.prod(s) + MAX_NPY_HEADER + 4096 for s, _ in specs.values())
    arrays = {}
    try:
        with open_archive(npz_path, max_bytes) as zf:
            members = {n[:-4] for n in zf.namelist()}
            if members != set(specs):
                missing, extra = sorted(set(specs) - members), sorted(members - set(specs))
                raise OracleFormatError(
                    f"{npz_path}: the case needs the arrays {sorted(specs)}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unexpected {extra}" if extra else "")
                )
            for key, (shape, dtypes) in specs.items():
                arrays[key] = read_npy_member(zf, key + ".npy", npz_path, shape, dtypes)
    except OracleFormatError:
        raise
    except archive_errors(npz_path) as exc:
        raise OracleFormatError(f"{npz_path}: corrupt or truncated archive ({exc})") from None
    for key, array in arrays.items():
        if key != "y" and not np.all(np.isfinite(array)):
            raise OracleFormatError(f"{npz_path}: array {key!r} holds NaN or infinite values")
    y, C = arrays["y"], meta["num_classes"]
    if y.size and (int(y.min()) < 0 or int(y.max()) >= C):
        raise OracleFormatError(
            f"{npz_path}: labels 'y' must lie in [0, {C}); found values in "
            f"[{int(y.min())}, {int(y.max())}]"
        )
    arrays["y"] = y.astype(np.int64)
    if verify_sha256 and sha256_file(npz_path) != meta["arrays_sha256"]:
        raise OracleFormatError(
            f"{npz_path}: SHA-256 differs from 'arrays_sha256' in "
            f"{json_path} (the files do not belong together, or one is "
            f"corrupt)"
        )
    return Case(meta=meta, arrays=arrays, path=case_dir)


def write_case(
    case_dir,
    model,
    theta,
    x,
    y,
    *,
    v1=None,
    v2=None,
    V=None,
    hvp_v=None,
    hessian=False,
    quantities=None,
    name="",
    description="",
):
    """Write a case directory (``case.json`` + ``case.npz``), then read it back to check it.

    Parameters
    ----------
    case_dir : path-like
        Created if missing; existing case files are replaced atomically.
    model : layers.Sequential or dict
        The model, or its description (``describe_model``).
    theta : array, shape (D,)
        Parameters in the layout's order (float32 or float64).
    x : array, shape (N, *input_shape)
        Inputs (NCHW for images).
    y : array of int, shape (N,)
        Class labels in ``[0, num_classes)``.
    v1, v2 : arrays, shape (P, D), optional
        Direction pairs: asks for ``∇f·v1``, ``∇f·v2`` and ``v1ᵀHv2``.
    V : array, shape (K, D), optional
        FoMoH-KD directions: asks for ``g = V∇f`` (K,) and ``V H Vᵀ`` (K, K).
    hvp_v : array, shape (M, D), optional
        Asks for the Hessian-vector products ``H hvp_v[m]``.
    hessian : bool
        Ask for the full Hessian (D ≤ ``MAX_HESSIAN_PARAMETERS``).
    quantities : list of str, optional
        Overrides the list derived from the arguments above (``loss`` and ``grad`` always).

    Returns
    -------
    Case
        The case as read back from disk.
    """
    case_dir = Path(case_dir)
    model_description = model if isinstance(model, dict) else describe_model(model)
    output_shape, layout = validate_model(model_description, case_dir)
    arrays = {"theta": _float_array(theta, "theta"), "x": _float_array(x, "x"), "y": np.asarray(y)}
    if arrays["y"].dtype.kind not in "iu":
        raise ValueError(f"labels y must be integers, got dtype {arrays['y'].dtype}")
    arrays["y"] = arrays["y"].astype(np.int64)
    if quantities is None:
        quantities = ["loss", "grad"]
        quantities += ["directional"] if v1 is not None or v2 is not None else []
        quantities += ["projected_hessian"] if V is not None else []
        quantities += ["hvp"] if hvp_v is not None else []
        quantities += ["hessian"] if hessian else []
    given = {"v1": v1, "v2": v2, "V": V, "hvp_v": hvp_v}
    counts = {"pairs": 0, "kd": 0, "hvp": 0}
    for quantity, names in DIRECTION_ARRAYS.items():
        if quantity in quantities:
            for key in names:
                if given[key] is None:
                    raise ValueError(f"quantity {quantity!r} needs the array {key!r}")
                arrays[key] = _float_array(given[key], key)
                if arrays[key].ndim != 2:
                    raise ValueError(f"{key} must have shape (count, D), got {arrays[key].shape}")
            counts[DIRECTION_COUNTS[quantity]] = arrays[names[0]].shape[0]
    meta = {
        "format": CASE_FORMAT,
        "version": VERSION,
        "name": str(name),
        "description": str(description),
        "model": model_description,
        "parameters": parameter_layout(layout),
        "num_parameters": sum(math.prod(s) for _, s in layout),
        "batch_size": int(arrays["x"].shape[0]) if arrays["x"].ndim else 0,
        "num_classes": output_shape[0],
        "quantities": [q for q in QUANTITIES if q in quantities],
        "directions": counts,
        "arrays_sha256": "0" * 64,
    }
    try:
        validate_case_meta(meta, case_dir)
    except ValueError as exc:
        raise ValueError(f"cannot write case {case_dir}: {exc}") from None
    for key, (shape, _) in case_array_specs(meta).items():
        if arrays[key].shape != tuple(shape):
            raise ValueError(
                f"cannot write case {case_dir}: {key} has shape "
                f"{arrays[key].shape}, expected {tuple(shape)}"
            )
    case_dir.mkdir(parents=True, exist_ok=True)
    write_npz(case_dir / CASE_NPZ, arrays)
    meta["arrays_sha256"] = sha256_file(case_dir / CASE_NPZ)
    write_json(case_dir / CASE_JSON, meta)
    return read_case(case_dir)


def _float_array(value, what):
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    if array.dtype not in FLOATS:
        raise ValueError(f"{what} must be float32 or float64, got dtype {array.dtype}")
    return np.array(array, order="C", copy=True)


# --------------------------------------------------------------------------- results
def _results_paths(results_dir):
    results_dir = Path(results_dir)
    if results_dir.name == RESULTS_JSON:
        results_dir = results_dir.parent
    return results_dir, results_dir / RESULTS_JSON, results_dir / RESULTS_NPZ


def write_results(results_dir, case, arrays, *, backend, dtype, cross_check=None, notes=None):
    """Write ``results.json`` + ``results.npz`` for ``case``.

    Parameters
    ----------
    results_dir : path-like
        Created if missing.
    case : Case
        The case answered (its SHA-256 is recorded).
    arrays : dict of str to array
        Result arrays (names in ``RESULT_ARRAYS``), shapes as ``case.result_shapes()``.
    backend : str
        Who computed them, e.g. ``"torch 2.13.0 torch.func"``.
    dtype : {"float32", "float64"}
        The precision of the computation; ``compare`` chooses its tolerances by it.
    cross_check : dict, optional
        Free-form agreement report (the reference writes its bicomplex-step check here).

    Returns
    -------
    pathlib.Path
        The results directory.
    """
    results_dir = Path(results_dir)
    expected = case.result_shapes()
    out = {}
    for key, value in arrays.items():
        value = np.asarray(value)
        if key not in expected:
            raise ValueError(f"{key!r} is not a result the case asks for ({sorted(expected)})")
        if value.shape != expected[key]:
            raise ValueError(f"result {key!r} has shape {value.shape}, expected {expected[key]}")
        out[key] = _float_array(value, key)
    meta = {
        "format": RESULTS_FORMAT,
        "version": VERSION,
        "backend": str(backend),
        "dtype": str(np.dtype(dtype)),
        "case_sha256": case.sha256,
        "quantities": [k for k in expected if k in out],
        "arrays_sha256": "0" * 64,
    }
    if cross_check is not None:
        meta["cross_check"] = cross_check
    if notes:
        meta["notes"] = str(notes)
    try:
        validate_results_meta(meta)
    except ValueError as exc:
        raise ValueError(f"cannot write results {results_dir}: {exc}") from None
    results_dir.mkdir(parents=True, exist_ok=True)
    write_npz(results_dir / RESULTS_NPZ, out)
    meta["arrays_sha256"] = sha256_file(results_dir / RESULTS_NPZ)
    write_json(results_dir / RESULTS_JSON, meta)
    return results_dir


def read_results(results_dir, case, strict=False):
    """Read and validate one backend's results for ``case``.

    The JSON document and the archive are validated as for a case. Result arrays are checked
    against the shapes the case implies *before* they are loaded. Arrays with a wrong shape or
    dtype, and arrays the case did not ask for, are recorded in ``Results.problems`` (or raise
    with ``strict=True``) so that ``compare`` can report them per quantity; missing arrays are
    simply absent from ``Results.arrays``.

    Raises
    ------
    OracleFormatError
        If a file is missing, malformed, corrupt, of another version, does not answer this
        case (``case_sha256``), or (``strict``) any array is unusable or missing.
    """
    results_dir, json_path, npz_path = _results_paths(results_dir)
    meta = load_json(json_path, "results")
    check_header(meta, RESULTS_FORMAT, json_path)
    try:
        validate_results_meta(meta)
    except ValueError as exc:
        raise OracleFormatError(f"{json_path}: {exc}") from None
    if meta.get("case_sha256") not in (None, case.sha256):
        raise OracleFormatError(
            f"{json_path}: these results answer another case "
            f"(case_sha256 {meta['case_sha256'][:12]}..., this case is "
            f"{case.sha256[:12]}...)"
        )
    expected = case.result_shapes()
    declared = meta["dtype"]
    dtypes = (np.dtype(np.float64),) if declared == "float64" else FLOATS
    max_bytes = sum(8 * math.prod(s) + MAX_NPY_HEADER + 4096 for s in expected.values()) + 16 * (
        MAX_NPY_HEADER + 4096
    )
    arrays, problems = {}, {}
    try:
        with open_archive(npz_path, max_bytes) as zf:
            members = sorted(n[:-4] for n in zf.namelist())
            if members != sorted(meta["quantities"]):
                raise OracleFormatError(
                    f"{npz_path}: holds the arrays {members}, but "
                    f"{json_path} lists {sorted(meta['quantities'])}"
                )
            for key in members:
                if key not in expected:
                    problems[key] = "not asked for by the case"
                    continue
                try:
                    arrays[key] = read_npy_member(zf, key + ".npy", npz_path, expected[key], dtypes)
                except ShapeError as exc:
                    problems[key] = f"shape {exc.shape}, expected {expected[key]}"
                except OracleFormatError as exc:
                    if "dtype" not in str(exc):
                        raise
                    problems[key] = str(exc).split(": ", 1)[1] + (
                        f" (declared 'dtype' is {declared})"
                    )
    except OracleFormatError:
        raise
    except archive_errors(npz_path) as exc:
        raise OracleFormatError(f"{npz_path}: corrupt or truncated archive ({exc})") from None
    if meta.get("arrays_sha256") is not None and sha256_file(npz_path) != meta["arrays_sha256"]:
        raise OracleFormatError(f"{npz_path}: SHA-256 differs from 'arrays_sha256' in {json_path}")
    if strict:
        missing = sorted(set(expected) - set(arrays) - set(problems))
        if problems or missing:
            raise OracleFormatError(
                f"{results_dir}: unusable results: "
                + "; ".join(
                    [f"{k}: {v}" for k, v in problems.items()] + [f"{k}: missing" for k in missing]
                )
            )
    return Results(meta=meta, arrays=arrays, problems=problems, path=results_dir)
