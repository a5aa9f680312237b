"""The oracle exchange format's case and results metadata: the ``Case`` and ``Results``
records and the checks of their JSON metadata against :mod:`.schema` (limits, names, the
model description). Nothing in a file is executed; every problem raises
:class:`~hyperlab.oracle.schema.OracleFormatError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .schema import (
    DIRECTION_ARRAYS,
    DIRECTION_COUNTS,
    FLOATS,
    INTS,
    MAX_ARRAY_ELEMENTS,
    MAX_DIM,
    MAX_DIRECTIONS,
    MAX_HESSIAN_PARAMETERS,
    QUANTITIES,
    RESULT_ARRAYS,
    build_model,
    check_sha,
    check_text,
    exact_keys,
    is_int,
    parameter_layout,
    validate_model,
)

__all__ = [
    "Case",
    "Results",
    "case_array_specs",
    "expected_result_shapes",
    "validate_case_meta",
    "validate_results_meta",
]


# --------------------------------------------------------------------------- data classes
@dataclass
class Case:
    """A read (validated) case: its JSON document, its arrays and where it came from.

    Attributes
    ----------
    meta : dict
        The contents of ``case.json``.
    arrays : dict of str to numpy.ndarray
        ``theta`` (D,), ``x`` (N, *input_shape), ``y`` (N,) and the directions: ``v1``, ``v2``
        (P, D), ``V`` (K, D), ``hvp_v`` (M, D), those that the quantities need.
    path : pathlib.Path or None
        The case directory.
    """

    meta: dict
    arrays: dict
    path: Path | None = None

    @property
    def quantities(self):
        return list(self.meta["quantities"])

    @property
    def num_parameters(self):
        return self.meta["num_parameters"]

    @property
    def sha256(self):
        """SHA-256 of ``case.npz``: results name the case they answer by it."""
        return self.meta["arrays_sha256"]

    def result_shapes(self):
        """``{result array: shape}`` of every result the case asks for."""
        return expected_result_shapes(self.meta)

    def build_model(self):
        """The case's model as a ``layers.Sequential``."""
        return build_model(self.meta["model"], self.path)


@dataclass
class Results:
    """Results of one backend for one case.

    Attributes
    ----------
    meta : dict
        The contents of ``results.json``.
    arrays : dict of str to numpy.ndarray
        The result arrays that were present and well-formed.
    problems : dict of str to str
        Result arrays that were present but unusable (wrong shape, wrong dtype, not expected),
        with the reason. ``read_results(..., strict=True)`` raises instead.
    path : pathlib.Path or None
    """

    meta: dict
    arrays: dict
    problems: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def dtype(self):
        return np.dtype(self.meta["dtype"])

    @property
    def backend(self):
        return self.meta["backend"]


# --------------------------------------------------------------------------- metadata
def case_array_specs(meta):
    """``{array: (shape, allowed dtypes)}`` of the arrays of a validated case document."""
    D, N = meta["num_parameters"], meta["batch_size"]
    specs = {
        "theta": ((D,), FLOATS),
        "x": ((N, *meta["model"]["input_shape"]), FLOATS),
        "y": ((N,), INTS + (np.dtype(np.uint64),)),
    }
    counts = meta["directions"]
    for quantity, names in DIRECTION_ARRAYS.items():
        if quantity in meta["quantities"]:
            for name in names:
                specs[name] = ((counts[DIRECTION_COUNTS[quantity]], D), FLOATS)
    return specs


def expected_result_shapes(meta):
    """``{result array: shape}`` for a validated case document."""
    D = meta["num_parameters"]
    P, K, M = (meta["directions"][k] for k in ("pairs", "kd", "hvp"))
    shapes = {
        "loss": (),
        "grad": (D,),
        "dir_d1": (P,),
        "dir_d2": (P,),
        "dir_d12": (P,),
        "kd_g": (K,),
        "kd_H": (K, K),
        "hvp": (M, D),
        "hessian": (D, D),
    }
    return {name: shapes[name] for q in meta["quantities"] for name in RESULT_ARRAYS[q]}


def validate_case_meta(meta, case_dir=None):
    """Check a case document (everything but the arrays); raises ``ValueError``."""
    exact_keys(
        meta,
        {
            "format",
            "version",
            "model",
            "parameters",
            "num_parameters",
            "batch_size",
            "num_classes",
            "quantities",
            "directions",
            "arrays_sha256",
        },
        "the case",
        optional=("name", "description"),
    )
    for key in ("name", "description"):
        if key in meta:
            check_text(meta[key], f"'{key}'")
    for key in ("num_parameters", "batch_size", "num_classes"):
        if not is_int(meta[key]):
            raise ValueError(f"'{key}' must be an integer, got {meta[key]!r}")
    output_shape, layout = validate_model(meta["model"], case_dir)
    D = sum(math.prod(s) for _, s in layout)
    if meta["num_parameters"] != D:
        raise ValueError(
            f"'num_parameters' is {meta['num_parameters']!r} but the model "
            f"description has {D} parameters"
        )
    if meta["parameters"] != parameter_layout(layout):
        expected = parameter_layout(layout)
        got = meta["parameters"]
        if not isinstance(got, list) or len(got) != len(expected):
            raise ValueError(
                f"'parameters' must list the {len(expected)} parameter tensors "
                f"{[e['name'] for e in expected]}"
            )
        for k, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                raise ValueError(
                    f"'parameters'[{k}] is {g!r}, but the model description implies {e!r}"
                )
    if meta["num_classes"] != output_shape[0]:
        raise ValueError(
            f"'num_classes' is {meta['num_classes']!r} but the model outputs "
            f"{output_shape[0]} logits per sample"
        )
    N = meta["batch_size"]
    if not is_int(N) or not 1 <= N <= MAX_DIM:
        raise ValueError(f"'batch_size' must be a positive integer, got {N!r}")
    if N * math.prod(meta["model"]["input_shape"]) > MAX_ARRAY_ELEMENTS:
        raise ValueError(f"the batch of {N} inputs is too large")
    quantities = meta["quantities"]
    if (
        not isinstance(quantities, list)
        or not quantities
        or any(not isinstance(q, str) or q not in QUANTITIES for q in quantities)
        or len(set(quantities)) != len(quantities)
    ):
        raise ValueError(
            f"'quantities' must be a non-empty list of distinct names from "
            f"{list(QUANTITIES)}, got {quantities!r}"
        )
    if "hessian" in quantities and D > MAX_HESSIAN_PARAMETERS:
        raise ValueError(
            f"the full Hessian is available for at most {MAX_HESSIAN_PARAMETERS} "
            f"parameters; this model has {D}"
        )
    directions = meta["directions"]
    if not isinstance(directions, dict):
        raise ValueError('\'directions\' must be an object {"pairs", "kd", "hvp"}')
    exact_keys(directions, {"pairs", "kd", "hvp"}, "'directions'")
    for quantity, key in DIRECTION_COUNTS.items():
        count = directions[key]
        low = 1 if quantity in quantities else 0
        high = MAX_DIRECTIONS if quantity in quantities else 0
        if not is_int(count) or not low <= count <= high:
            raise ValueError(
                f"'directions'.{key} must be an integer in [{low}, {high}] "
                f"(it is 0 exactly when {quantity!r} is not asked for), "
                f"got {count!r}"
            )
        if count * D > MAX_ARRAY_ELEMENTS:
            raise ValueError(
                f"'directions'.{key}: {count} directions of {D} parameters are too many"
            )
    check_sha(meta["arrays_sha256"], "'arrays_sha256'")


def validate_results_meta(meta):
    exact_keys(
        meta,
        {"format", "version", "backend", "dtype", "quantities"},
        "the results",
        optional=("arrays_sha256", "case_sha256", "cross_check", "notes"),
    )
    check_text(meta["backend"], "'backend'", allow_empty=False)
    if meta["dtype"] not in ("float32", "float64"):
        raise ValueError(
            f"'dtype' must be 'float32' or 'float64' (the precision the backend "
            f"computed in), got {meta['dtype']!r}"
        )
    quantities = meta["quantities"]
    if (
        not isinstance(quantities, list)
        or len(quantities) > 64
        or any(
            not isinstance(q, str)
            or not 1 <= len(q) <= 64
            or not q.replace("_", "a").isalnum()
            or not q.isascii()
            for q in quantities
        )
        or len(set(quantities)) != len(quantities)
    ):
        raise ValueError(
            f"'quantities' must list the distinct names (letters, digits, '_') "
            f"of the arrays in the archive, got {quantities!r}"
        )
    for key in ("arrays_sha256", "case_sha256"):
        if meta.get(key) is not None:
            check_sha(meta[key], f"'{key}'")
    if "notes" in meta:
        check_text(meta["notes"], "'notes'")
    if "cross_check" in meta and not isinstance(meta["cross_check"], dict):
        raise ValueError("'cross_check' must be an object")
