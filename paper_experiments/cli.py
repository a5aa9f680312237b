"""``fomoh rosenbrock``: the paper's Rosenbrock experiments as a sub-command of ``fomoh``
(registered by :mod:`paper_experiments.plugin`)."""

from __future__ import annotations

from pathlib import Path

from hyperlab.atomic import write_json
from hyperlab.cli.options import EXIT_OK, Formatter, nonneg_int, positive_int
from hyperlab.progress import mode

from . import rosenbrock as R

__all__ = ["add_rosenbrock_parser"]

_ROSENBROCK_HELP = """\
The Rosenbrock experiments of the FoMoH paper (section 6.1; paper_experiments.rosenbrock):

  2d   Figure 1a / 5: 10,000 sampled single steps of FGD, FoMoH, FoMoH-BP and FoMoH-2D
       from a random start against the Newton step; Figure 1b: all methods from 10
       random starts, loss per iteration on log-log axes, median run highlighted.
  10d  Figure 2: FoMoH-KD for K = 2..10 on 10-D Rosenbrock against Newton (K = 10 with
       basis directions is Newton's method step for step).
  all  both (default).

Plots (PNG), CSV files and a JSON summary go to --out; a summary table is printed.
"""


def add_rosenbrock_parser(sub) -> None:
    """Add ``rosenbrock`` to the sub-commands ``sub`` of ``fomoh``."""
    p = sub.add_parser(
        "rosenbrock",
        help="the paper's Rosenbrock experiments",
        description=_ROSENBROCK_HELP,
        formatter_class=Formatter,
    )
    p.add_argument(
        "experiment",
        nargs="?",
        choices=("2d", "10d", "all"),
        default="all",
        help="2d: Figures 1a, 1b and 5; 10d: Figure 2; all: both",
    )
    p.add_argument("--out", default="results/rosenbrock", help="output folder")
    p.add_argument(
        "--seed", type=nonneg_int, default=0, help="seed of the random starts and directions"
    )
    p.add_argument(
        "--samples",
        type=positive_int,
        default=10_000,
        help="sampled single steps per method (Figures 1a and 5)",
    )
    p.add_argument("--starts", type=positive_int, default=10, help="random starts")
    p.add_argument(
        "--iterations",
        type=positive_int,
        default=1000,
        help="iterations per run (Figures 1b and 2)",
    )
    p.add_argument(
        "--quick", action="store_true", help="a smoke test: 200 samples, 3 starts, 50 iterations"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_rosenbrock)


def _cmd_rosenbrock(args) -> int:
    samples, starts, iterations = args.samples, args.starts, args.iterations
    if args.quick:
        samples, starts, iterations = 200, 3, 50
    progress = mode(args.quiet) == "bar"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.experiment == "all":
        summary = R.run(
            out,
            n_samples=samples,
            n_starts=starts,
            iterations_2d=iterations,
            iterations_10d=iterations,
            seed=args.seed,
            progress=progress,
        )
        parts = {
            "2-D Rosenbrock": summary["convergence_2d"],
            "10-D Rosenbrock, FoMoH-KD": summary["hyperplane_10d"],
        }
        files = summary["files"]
    else:
        # One of the two halves of R.run, with the same file names.
        files, parts = {}, {}
        if args.experiment == "2d":
            step = R.single_step(n_samples=samples, seed=args.seed)
            files["figure_1a"] = R.plot_single_step(step, out / "rosenbrock_2d_single_step.png")
            files["figure_5"] = R.plot_step_histograms(
                step, out / "rosenbrock_2d_step_histograms.png"
            )
            files["single_step_csv"] = R.write_single_step_csv(
                step, out / "rosenbrock_2d_single_step.csv"
            )
            conv = R.convergence(2, starts, iterations, seed=args.seed, progress=progress)
            files["figure_1b"] = R.plot_convergence(conv, out / "rosenbrock_2d_convergence.png")
            files["convergence_csv"] = R.write_losses_csv(conv, out / "rosenbrock_2d_losses.csv")
            parts["2-D Rosenbrock"] = R.summarise(conv)
        else:
            kd = R.hyperplane_dimensions(
                10, range(2, 11), starts, iterations, seed=args.seed, progress=progress
            )
            files["figure_2"] = R.plot_convergence(
                kd,
                out / "rosenbrock_10d_hyperplane.png",
                title=f"FoMoH-KD on 10-D Rosenbrock, {starts} random starts (thick: median run)",
            )
            files["hyperplane_csv"] = R.write_losses_csv(kd, out / "rosenbrock_10d_losses.csv")
            parts["10-D Rosenbrock, FoMoH-KD"] = R.summarise(kd)
        summary = {
            "experiment": args.experiment,
            "seed": args.seed,
            "samples": samples,
            "starts": starts,
            "iterations": iterations,
            "summary": parts,
            "files": {k: str(v) for k, v in files.items()},
        }
        path = out / f"rosenbrock_{args.experiment}_summary.json"
        write_json(path, R.json_safe(summary), indent=2)
        files["summary"] = path
    for title, table in parts.items():
        print(f"{title}: {starts} starts, {iterations} iterations (median over starts)")
        print(f"  {'method':<22} {'final f':>10} {'reached 1e-10':>14} {'iterations':>11}")
        # iterations: median over starts of the first iteration with f < 1e-10
        # ('-' when fewer than half of the starts got there)
        for label, row in table.items():
            its = row["median_iterations_to_1e-10"]
            print(
                f"  {label:<22} {row['median_final_loss']:10.3e} "
                f"{row['runs_reaching_1e-10']:>7d}/{starts:<6d} "
                f"{'-' if its is None or its == float('inf') else f'{its:g}':>11}"
            )
    print("files:")
    for name, path in files.items():
        print(f"  {name}: {path}")
    return EXIT_OK
