"""Correctness oracle for other AD backends: exchange format, reference results, comparison.

A *case* (``case.json`` + ``case.npz``, see ``docs/oracle-format.md``) describes a model,
its parameters, a batch of inputs with integer labels and the directions to differentiate
along. ``compute_reference`` answers it with hyper-dual numbers, cross-checked on the spot
against the bicomplex step; another backend writes its own results in the same format, and
``compare_results`` (``fomoh oracle compare``) says per quantity whether they agree::

    from hyperlab import oracle
    case = oracle.make_case("case", "mlp")           # or oracle.write_case(...)
    oracle.compute_reference(case, "case/reference")
    cmp = oracle.compare_results(case, oracle.read_results("case/torch", case),
                                 oracle.read_results("case/reference", case))
    print(cmp.table()); assert cmp.ok

Modules: ``schema`` (names, limits, validation), ``files`` (JSON, archives), ``format``
(reading and writing cases and results), ``make`` (random cases), ``onnx_case`` (ONNX
models), ``reference``, ``compare``, ``cli``.
"""

from .compare import Comparison, Row, compare_results
from .format import (
    CASE_FORMAT,
    LAYER_TYPES,
    QUANTITIES,
    RESULT_ARRAYS,
    RESULTS_FORMAT,
    VERSION,
    Case,
    OracleFormatError,
    Results,
    build_model,
    describe_model,
    expected_result_shapes,
    read_case,
    read_results,
    validate_model,
    write_case,
    write_results,
)
from .make import make_case, make_onnx_case
from .reference import CrossCheckError, compute_reference

__all__ = [
    "VERSION",
    "CASE_FORMAT",
    "RESULTS_FORMAT",
    "QUANTITIES",
    "RESULT_ARRAYS",
    "LAYER_TYPES",
    "OracleFormatError",
    "CrossCheckError",
    "Case",
    "Results",
    "Comparison",
    "Row",
    "validate_model",
    "describe_model",
    "build_model",
    "expected_result_shapes",
    "write_case",
    "read_case",
    "write_results",
    "read_results",
    "make_case",
    "compute_reference",
    "compare_results",
    "make_onnx_case",
]
