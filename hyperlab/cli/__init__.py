"""The ``fomoh`` command-line tool.

::

    fomoh compare                         # the default experiment: digits, six optimizers
    fomoh train --optimizer fomoh-2d      # one optimizer
    fomoh check --model logreg            # derivatives of a model against the oracles
    fomoh oracle compare CASE RESULTS     # another AD backend's results against the reference
    fomoh plot results/compare --out c.png  # a comparison's curves, again (any rows)
    fomoh rosenbrock 2d                   # the paper's Rosenbrock figures (paper_experiments)

Run ``fomoh <command> --help`` for the options. Exit status: 0 success; 1 the derivative
check found a disagreement; 2 bad arguments, missing, corrupt or unwritable files (a one-line
error naming the path), an existing --out without --resume/--overwrite, unusable backend;
3 a training run diverged (NaN, infinite or huge loss). ``python -m hyperlab`` is the same.

One module per group of sub-commands: :mod:`.training` (``train``, ``compare``),
:mod:`.check`, :mod:`.plot`, :mod:`hyperlab.oracle.cli` (``oracle``); :mod:`.options`
holds what they share. Sub-commands of other packages (the paper experiments'
``rosenbrock``) are registered through :mod:`hyperlab.plugins`.
"""

from __future__ import annotations

import argparse
import os
import sys

from hyperdual import BackendUnavailableError

from .. import __version__
from ..checkpoint import CheckpointError
from ..config import ConfigError
from ..data import DataError
from ..oracle.cli import add_parser as add_oracle_parser
from ..plugins import COMMANDS, load_plugins
from ..train import NonFiniteLossError
from . import check, plot, training
from .options import (
    BACKENDS,
    EXIT_DIVERGED,
    EXIT_OK,
    EXIT_USAGE,
    Formatter,
    backend_from_environment,
)

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_USAGE", "EXIT_DIVERGED"]


def _os_error(exc: OSError) -> str:
    """One line naming the path: ``PATH: reason``."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        reason += " (a file stands where a folder is needed)"
    return f"{where}: {reason}" if where else reason


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fomoh`` and its sub-commands (plugins' included)."""
    load_plugins()
    parser = argparse.ArgumentParser(
        prog="fomoh",
        formatter_class=Formatter,
        description="Second-order forward-mode optimization (FoMoH) with hyper-dual numbers: "
        "training, comparisons, derivative checks and the oracle for other AD "
        "backends.",
        epilog="Run 'fomoh <command> --help' for each command's options.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"fomoh {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    training.add_parsers(sub)
    check.add_parser(sub)
    plot.add_parser(sub)
    add_oracle_parser(sub)  # fomoh oracle ...
    for add_parser in COMMANDS.values():  # e.g. fomoh rosenbrock (paper_experiments)
        add_parser(sub)
    return parser


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    """Entry point of the ``fomoh`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if backend_from_environment() not in BACKENDS:
        print(
            f"fomoh: error: HYPERDUAL_BACKEND={os.environ['HYPERDUAL_BACKEND']!r} is not "
            f"a backend; expected one of {', '.join(BACKENDS)} (or unset)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return int(exc.code or 0)
    args.argv = argv
    try:
        return args.func(args)
    except NonFiniteLossError as exc:
        print(f"fomoh {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except BackendUnavailableError as exc:
        what = (
            f"--backend {args.backend}"
            if getattr(args, "backend", None)
            else f"HYPERDUAL_BACKEND={backend_from_environment()}"
        )
        print(f"fomoh {args.command}: error: {what} is not usable here: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, CheckpointError, DataError) as exc:
        print(f"fomoh {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an --out that is a file or unwritable, a full disk, ...
        print(f"fomoh {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            f"fomoh {args.command}: interrupted; rerun with --resume to continue from the "
            "last checkpoint",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
