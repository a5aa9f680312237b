"""fomoh oracle: make a case, compute reference results, validate, compare.

Subcommands::

    fomoh oracle make-case DIR --model NAME [--model-arg KEY=VALUE ...] [--batch N]
                               [--pairs P] [--kd K] [--hvp M] [--hessian] [--seed S]
    fomoh oracle make-case DIR --onnx FILE [--input-shape 3,4] [--constant NAME ...] [...]
    fomoh oracle reference CASE [-o OUT]        # default OUT: CASE/reference
    fomoh oracle validate CASE [RESULTS]
    fomoh oracle compare CASE RESULTS [--reference REF] [--skip NAME ...] [--rtol X]

Exit status: 0 when everything agrees, 1 on disagreement (a quantity above tolerance, missing,
of the wrong shape or dtype), 2 when a file is unreadable or invalid.

The same commands run as ``python -m hyperlab.oracle ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from layers import models
from layers.onnx import OnnxError

from .compare import compare_results
from .format import (
    CASE_JSON,
    RESULTS_JSON,
    OracleFormatError,
    printable,
    read_case,
    read_results,
)
from .make import make_case, make_onnx_case
from .reference import CrossCheckError, compute_reference

__all__ = ["add_parser", "run", "main"]


def _shape_arg(text):
    try:
        shape = [int(n) for n in text.replace("[", "").replace("]", "").split(",") if n.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers like 3,4, got {text!r}"
        ) from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 3,4, got {text!r}")
    return shape


def _model_arg(text):
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def add_parser(subparsers):
    """Add the ``oracle`` command (and its subcommands) to an argparse ``subparsers``."""
    parser = subparsers.add_parser(
        "oracle",
        help="correctness oracle for other AD backends (exchange format, reference "
        "results, comparison)",
        description=__doc__.split("\nThe same commands")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build_parser(parser)
    return parser


def build_parser(parser):
    """Fill ``parser`` with the oracle subcommands; ``run(args)`` executes the parsed result."""
    sub = parser.add_subparsers(dest="oracle_command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "make-case", help="write a random case for a model of layers.models or an ONNX file"
    )
    p.add_argument("case_dir", type=Path, help="directory to write case.json and case.npz to")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a layers.models name, e.g. mlp, lenet5")
    which.add_argument(
        "--onnx",
        type=Path,
        metavar="FILE",
        help="an ONNX model (copied into the case as model.onnx; θ = its floating initializers)",
    )
    p.add_argument(
        "--input-shape",
        type=_shape_arg,
        default=None,
        metavar="D1,D2,...",
        help="--onnx: per-sample input shape, when the graph's is symbolic",
    )
    p.add_argument(
        "--constant",
        action="append",
        default=[],
        metavar="NAME",
        help="--onnx: a floating initializer held constant (not in θ), e.g. "
        "batch-norm running statistics; repeatable",
    )
    p.add_argument(
        "--model-arg",
        type=_model_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument of the model builder "
        "(e.g. hidden=8, n_features=64, input_shape=[1,8,8]); repeatable",
    )
    p.add_argument("--batch", type=int, default=4, help="inputs in the batch (default 4)")
    p.add_argument("--pairs", type=int, default=2, help="direction pairs (v1, v2) (default 2)")
    p.add_argument("--kd", type=int, default=3, help="FoMoH-KD directions K (default 3)")
    p.add_argument("--hvp", type=int, default=2, help="Hessian-vector products (default 2)")
    p.add_argument("--hessian", action="store_true", help="also ask for the full Hessian")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of θ's perturbation, the inputs, labels and directions (default 0)",
    )
    p.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="dtype of the stored arrays (default float64)",
    )

    p = sub.add_parser("reference", help="compute reference results for a case")
    p.add_argument("case_dir", type=Path, help="the case directory (case.json, case.npz)")
    p.add_argument(
        "-o", "--out", type=Path, default=None, help="results directory (default: CASE/reference)"
    )
    p.add_argument(
        "--method",
        choices=("auto", "forward", "reverse"),
        default="auto",
        help="gradient and HVPs by pure forward mode or forward-over-reverse (default auto)",
    )
    p.add_argument(
        "--probes",
        type=int,
        default=3,
        help="random projections per large array checked by the bicomplex step (default 3)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=128,
        help="hyper-dual direction pairs per model evaluation (default 128)",
    )

    p = sub.add_parser("validate", help="check a case (and optionally results) for validity")
    p.add_argument("case_dir", type=Path, help="the case directory (case.json, case.npz)")
    p.add_argument(
        "results_dir",
        type=Path,
        nargs="?",
        help="a results directory (results.json, results.npz) answering the case",
    )

    p = sub.add_parser("compare", help="compare a backend's results with the reference")
    p.add_argument("case_dir", type=Path, help="the case directory (case.json, case.npz)")
    p.add_argument("results_dir", type=Path, help="the other backend's results directory")
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="reference results (default: CASE/reference if present, else computed now)",
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="NAME",
        help="result array not to compare (repeatable)",
    )
    p.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="override the tolerance chosen by the candidate's dtype",
    )
    parser.set_defaults(func=run)
    return parser


def _print_checks(results):
    cc = results.meta["cross_check"]
    print(f"{'quantity':<9} {'against':<22} {'rel err':>10} {'tolerance':>9}  agree  checked")
    for c in cc["checks"]:  # from results.json: strings shown with escapes
        print(
            f"{printable(c['quantity']):<9} {printable(c['against']):<22} "
            f"{c['rel_error']:10.2e} {c['tolerance']:9.0e}  "
            f"{'yes' if c['agree'] else 'NO':<5}  {printable(c['checked'])}"
        )


def run(args):
    """Execute parsed ``oracle`` arguments; returns the exit status."""
    try:
        return _COMMANDS[args.oracle_command](args)
    except OracleFormatError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a case directory that is a file, an unwritable folder, ...
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"error: {printable(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:  # bad arguments (e.g. --skip, --model-arg)
        print(f"error: {type(exc).__name__}: {printable(exc)}", file=sys.stderr)
        return 2


def _make_case(args):
    common = dict(
        batch=args.batch,
        pairs=args.pairs,
        kd=args.kd,
        hvp=args.hvp,
        hessian=args.hessian,
        seed=args.seed,
        dtype=args.dtype,
    )
    if args.onnx is not None:
        if args.model_arg:
            raise ValueError("--model-arg applies to --model, not to --onnx")
        try:
            case = make_onnx_case(
                args.case_dir,
                args.onnx,
                input_shape=args.input_shape,
                constants=args.constant,
                **common,
            )
        except OnnxError as exc:
            raise OracleFormatError(f"{args.onnx}: {exc}") from None
    else:
        if args.input_shape is not None or args.constant:
            raise ValueError("--input-shape and --constant apply to --onnx models")
        case = make_case(
            args.case_dir,
            args.model if not args.model_arg else _build(args),
            name=args.model,
            **common,
        )
    print(
        f"wrote {args.case_dir / CASE_JSON} and case.npz: D = {case.num_parameters}, "
        f"batch {case.meta['batch_size']}, quantities {', '.join(case.quantities)}"
    )
    return 0


def _build(args):
    return models.build(args.model, **dict(args.model_arg))


def _reference(args):
    case = read_case(args.case_dir)
    out = args.out if args.out is not None else args.case_dir / "reference"
    try:
        results = compute_reference(
            case, out, method=args.method, probes=args.probes, chunk_size=args.chunk_size, log=print
        )
        status = 0
    except CrossCheckError as exc:
        results = read_results(out, case)
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    _print_checks(results)
    print(f"wrote {out / RESULTS_JSON} and results.npz")
    return status


def _validate(args):
    case = read_case(args.case_dir)
    print(
        f"case {args.case_dir}: valid (format version {case.meta['version']}, "
        f"D = {case.num_parameters}, quantities {', '.join(case.quantities)})"
    )
    if args.results_dir is not None:
        results = read_results(args.results_dir, case, strict=True)
        print(
            f"results {args.results_dir}: valid ({printable(results.backend)}, "
            f"{results.meta['dtype']}, {len(results.arrays)} arrays)"
        )
    return 0


def _compare(args):
    case = read_case(args.case_dir)
    candidate = read_results(args.results_dir, case)
    ref_dir = args.reference
    if ref_dir is None and (args.case_dir / "reference" / RESULTS_JSON).is_file():
        ref_dir = args.case_dir / "reference"
    if ref_dir is not None:
        reference = read_results(ref_dir, case, strict=True)
    else:
        print("no reference results given: computing them now (fomoh oracle reference)")
        reference = compute_reference(case)
    cc = reference.meta.get("cross_check")
    if cc is not None and not cc.get("all_agree", False):
        print("warning: the reference results did not pass their own cross-checks", file=sys.stderr)
    comparison = compare_results(case, candidate, reference, skip=args.skip, rtol=args.rtol)
    print(comparison.table())
    return 0 if comparison.ok else 1


_COMMANDS = {
    "make-case": _make_case,
    "reference": _reference,
    "validate": _validate,
    "compare": _compare,
}


def main(argv=None):
    """``python -m hyperlab.oracle``: the ``oracle`` command on its own."""
    parser = argparse.ArgumentParser(
        prog="fomoh oracle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build_parser(parser)
    args = parser.parse_args(argv)
    return run(args)
