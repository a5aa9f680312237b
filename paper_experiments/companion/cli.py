"""``python -m paper_experiments.companion EXPERIMENT``: the command line of the companion
papers' experiments (see :mod:`paper_experiments.companion`)."""

from __future__ import annotations

import argparse

from .experiments import experiment_lenet, experiment_mlp
from .fd import experiment_fd
from .heatmaps import experiment_heatmaps
from .runs import GLOBAL_SUBSET

__all__ = ["main", "global_subset_arg"]


def global_subset_arg(text):
    """``all`` or a positive number of images (``--global-subset``)."""
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'all' or a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'all' or a positive integer, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m paper_experiments.companion",
        description="Experiments of the companion papers (Hessian-free Newton / Gauss-Newton, "
        "complex-step Newton-Krylov, partition Newton) on MNIST, CPU budgets.",
    )
    parser.add_argument(
        "experiment", choices=("mlp", "partition", "lenet", "fd", "heatmaps", "all")
    )
    parser.add_argument("--data-dir", default=None, help="MNIST directory (default: library's)")
    parser.add_argument("--out", default="results/companion", help="output folder")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="wall-clock seconds per method (default: per method, see docs)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="mlp, partition: run only the methods with these labels (exact, "
        "case-insensitive), else those whose label contains one of them",
    )
    parser.add_argument(
        "--global-subset",
        type=global_subset_arg,
        default=GLOBAL_SUBSET,
        help="lenet: Newton-Krylov's global gradient on this many fixed "
        "training images, or 'all' (the paper: the whole training set "
        "after every update)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 2,000 training images, 20 s per method"
    )
    args = parser.parse_args(argv)
    budget = 20.0 if args.quick and args.budget is None else args.budget
    common = dict(data_dir=args.data_dir, out=args.out, seed=args.seed, quick=args.quick)
    if args.experiment in ("mlp", "all"):
        experiment_mlp(budget=budget, epochs=args.epochs or 7, only=args.only, **common)
    if args.experiment in ("partition", "all"):
        experiment_mlp(
            budget=budget, epochs=args.epochs or 7, only=args.only, family="partition", **common
        )
    if args.experiment in ("lenet", "all"):
        experiment_lenet(
            budget=budget, epochs=args.epochs or 3, global_subset=args.global_subset, **common
        )
    if args.experiment in ("fd", "all"):
        experiment_fd(budget=budget, steps=4 if args.quick else 60, **common)
    if args.experiment in ("heatmaps", "all"):
        experiment_heatmaps(epochs=(1,) if args.quick else (1, 3), **common)
    return 0
