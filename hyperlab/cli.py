"""The ``fomoh`` command-line tool.

::

    fomoh compare                         # the default experiment: digits, six optimizers
    fomoh train --optimizer fomoh-2d      # one optimizer
    fomoh rosenbrock 2d                   # the paper's Rosenbrock figures
    fomoh check --model logreg            # derivatives of a model against the oracles
    fomoh oracle compare CASE RESULTS     # another AD backend's results against the reference

Run ``fomoh <command> --help`` for the options. Exit status: 0 success; 1 the derivative
check found a disagreement; 2 bad arguments, missing, corrupt or unwritable files (a one-line
error naming the path), an existing --out without --resume/--overwrite, unusable backend;
3 a training run diverged (NaN, infinite or huge loss). ``python -m hyperlab`` is the same.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class _Formatter(argparse.RawDescriptionHelpFormatter,
                 argparse.ArgumentDefaultsHelpFormatter):
    """Keep the descriptions' line breaks and show defaults (once: not when the help text
    already states its default, and not for options without one)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text.lower() or action.default is None or action.default is False
                or action.default == []):
            return text
        return super()._get_help_string(action)


_BACKENDS = ("numpy", "cupy")


def _backend_from_environment() -> str:
    """``$HYPERDUAL_BACKEND`` (validated in ``main``), else ``numpy``."""
    return os.environ.get("HYPERDUAL_BACKEND", "").strip().lower() or "numpy"


def _os_error(exc: OSError) -> str:
    """One line naming the path: ``PATH: reason``."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        reason += " (a file stands where a folder is needed)"
    return f"{where}: {reason}" if where else reason


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}"
                                         ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _key_value(text: str) -> tuple[str, object]:
    from .experiments import _parse_value

    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), _parse_value(value.strip())


# --------------------------------------------------------------------------- options


def _add_data_options(p, defaults_from_preset: bool):
    """--dataset, --data-dir, --download, --model (defaults None when a preset may set them)."""
    from .data import DATASET_NAMES

    g = p.add_argument_group("data and model")
    g.add_argument("--dataset", choices=DATASET_NAMES,
                   default=None if defaults_from_preset else "digits",
                   help="data set; 'digits' is embedded in scikit-learn (no files, no network)"
                        + ("; default: from the preset (digits)" if defaults_from_preset
                           else ""))
    g.add_argument("--data-dir", default=None,
                   help="folder with the MNIST / Fashion-MNIST gzip IDX files (or a parent "
                        "folder with mnist/ and fashion-mnist/ sub-folders); default "
                        "$FOMOH_DATA_DIR/<name> or the user cache")
    g.add_argument("--download", action="store_true",
                   help="download missing MNIST / Fashion-MNIST files into --data-dir "
                        "(checksums verified)")
    g.add_argument("--model", default=None if defaults_from_preset else "logistic_regression",
                   help="logistic_regression (logreg), mlp, mnist_cnn (cnn), lenet5, deep_mlp"
                        + ("; default: from the preset" if defaults_from_preset else ""))
    g.add_argument("--model-arg", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE",
                   help="extra model argument, repeatable (e.g. hidden=32, width=64, depth=4)")
    g.add_argument("--max-train", type=_positive_int, default=None,
                   help="train on a seeded subset of at most this many training examples")
    g.add_argument("--eval-max", type=_positive_int, default=None,
                   help="report training loss/accuracy on a fixed subset of at most this many "
                        "training examples (saves time on MNIST)")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction,
                   default=None if defaults_from_preset else False,
                   help="standardise pixels with the training mean and std"
                        + (" (default: from the preset)" if defaults_from_preset else ""))
    g.add_argument("--val-set", choices=("split", "test"),
                   default=None if defaults_from_preset else "split",
                   help="validate on 10%% held out of the training set ('split') or on the "
                        "test set, training on all training examples ('test')"
                        + ("; default: from the preset" if defaults_from_preset else ""))
    g.add_argument("--split-seed", type=_nonneg_int, default=0,
                   help="seed of the train/validation split (the same for all --seeds)")


def _add_training_options(p, defaults_from_preset: bool):
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=None if defaults_from_preset else 10,
                   help="total number of epochs" + ("; default: from the preset"
                                                    if defaults_from_preset else ""))
    g.add_argument("--batch-size", type=_positive_int,
                   default=None if defaults_from_preset else 64,
                   help="minibatch size" + ("; default: from the preset (a run "
                                            "specification's batch=... wins)"
                                            if defaults_from_preset else ""))
    g.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate; default: the optimizer's default (a run "
                        "specification's lr=... wins)")
    g.add_argument("--schedule", choices=("none", "step", "milestone", "plateau", "first-rise"),
                   default="none",
                   help="learning-rate schedule: 'step' multiplies the rate by --gamma every "
                        "--every epochs; 'milestone' by --gamma once, after epoch --milestone; "
                        "'plateau' by --factor whenever the validation loss rises (after "
                        "--patience more such epochs); 'first-rise' likewise, but only once")
    g.add_argument("--gamma", type=_positive_float, default=0.1,
                   help="'step' and 'milestone' schedules: factor applied to the rate")
    g.add_argument("--every", type=_positive_int, default=1000,
                   help="'step' schedule: epochs between two rate changes")
    g.add_argument("--milestone", type=_positive_int, default=1000,
                   help="epoch after which the 'milestone' schedule cuts the rate (in a run "
                        "specification also 'auto': where the validation NLL of the same "
                        "method without schedule starts to increase)")
    g.add_argument("--factor", type=_positive_float, default=0.1,
                   help="'plateau' and 'first-rise' schedules: factor applied to the rate when "
                        "the validation loss rises")
    g.add_argument("--patience", type=_nonneg_int, default=0,
                   help="'plateau' schedule: further rising epochs tolerated before the "
                        "rate changes")
    g.add_argument("--init", choices=("default", "pytorch"),
                   default=None if defaults_from_preset else "default",
                   help="initial parameters: the model's own ('default') or PyTorch's "
                        "default for Linear/Conv layers, U(±1/√fan_in) for weights and biases "
                        "('pytorch', as the FoMoH paper's code)"
                        + ("; default: from the preset" if defaults_from_preset else ""))
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="floating-point precision of parameters, data and derivatives")
    g.add_argument("--backend", choices=_BACKENDS, default=_backend_from_environment(),
                   help="array backend; 'cupy' needs CuPy and a GPU (default: "
                        "$HYPERDUAL_BACKEND if set, else numpy)")
    g.add_argument("--eval-batch-size", type=_positive_int, default=2048,
                   help="examples per forward pass when evaluating")
    o = p.add_argument_group("output")
    o.add_argument("--out", default=None,
                   help="output folder (default: results/train/<optimizer>-seed<seed> for "
                        "train, results/compare or results/<preset> for compare)")
    o.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints in --out (settings must match, "
                        "--epochs may grow); finished runs are not redone")
    o.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier run in --out (without it, or "
                        "--resume, an --out that already holds a run is refused)")
    o.add_argument("--quiet", action="store_true",
                   help="no progress bars or log lines (bars show on a terminal or in a "
                        "notebook; elsewhere, e.g. in a CI log, a plain line every "
                        "$FOMOH_LOG_INTERVAL seconds, default 30)")


# --------------------------------------------------------------------------- parser

_COMPARE_HELP = """\
Train several optimizers on the same model and data, side by side: prints a results
table (mean ± std over seeds of the final training/validation loss and accuracy), and
writes results.md, results.csv, results.json and curves.png to --out.

Without arguments (the default preset 'digits') it runs, offline, on the 1,797 embedded
8×8 scikit-learn digits (split 1,294 train / 144 validation / 359 test, pixels scaled to
[0, 1]): multinomial logistic regression (64 → 10, 650 parameters), 3 seeds, 100 epochs,
minibatches of 64, float32, comparing

    FGD       lr 0.03        FoMoH-3D        lr 0.2
    FoMoH     lr 0.3         FoMoH-BP        lr 0.3
    FoMoH-2D  lr 0.2         Backprop (SGD)  lr 1.0

Each learning rate is the best of a small grid by final validation loss (mean over the
three seeds, 100 epochs): FGD {0.01, 0.03, 0.1}, FoMoH and FoMoH-2D {0.1, 0.2, 0.3, 0.5},
FoMoH-3D {0.05, 0.1, 0.2, 0.3}, FoMoH-BP and SGD {0.1, 0.3, 1.0}. It takes about a minute
or two on a 2-core CPU; results go to results/compare/.

Run specifications (--optimizers) are an optimizer name with optional settings:
    NAME[:key=value,...]   keys: lr, batch, schedule, gamma, every, milestone, factor,
                           patience, init, label; other keys go to the optimizer (K, ...)
  optimizers: fgd, fomoh, fomoh-2d, fomoh-3d, fomoh-<K>d, fomoh-bp, newton, sgd, adam
  (backprop = sgd). Example:
    fomoh compare --optimizers fgd:lr=0.03 "fomoh-2d:lr=0.3,label=FoMoH-2D" adam:lr=0.003

Presets (--preset) fix the data, model, epochs, seeds and specifications:
  digits        the default above
  mnist-logreg  paper Table 1: logistic regression on MNIST with the appendix Table 3
                hyper-parameters, 2,000 epochs, 5 seeds (shorten with --epochs), PyTorch's
                default initialisation; "LR-sch." rows cut the rate once (x0.1, x0.8 for
                FoMoH-3D) after the epoch where the seed-mean validation NLL of the same
                method without schedule is lowest (milestone=auto: they start when those
                runs have finished)
  mnist-cnn     paper Table 2: the 431,080-parameter CNN, appendix Table 4, 3,000
                epochs, 3 seeds; "LR-sch." divides the rate by 10 every 1,000 epochs
  e.g.  fomoh compare --preset mnist-logreg --data-dir /path/to/mnist --epochs 2000

The runs go --jobs at a time, each in its own process with one BLAS thread and its own
checkpoints under --out/<label>/seed<k>/; --resume continues every unfinished run.
"""

_TRAIN_HELP = """\
Train one model with one optimizer. Writes history.csv / history.json (per epoch: lr,
train/validation loss and accuracy, mean minibatch loss, steps, jitter, wall time),
checkpoint.npz (after every epoch, atomically), config.json and summary.json to --out.
A NaN/inf loss stops the run with exit status 3, keeping the last good checkpoint;
--resume continues exactly where an interrupted run stopped.
"""

_ROSENBROCK_HELP = """\
The Rosenbrock experiments of the FoMoH paper (section 6.1), from hyperlab.rosenbrock:

  2d   Figure 1a / 5: 10,000 sampled single steps of FGD, FoMoH, FoMoH-BP and FoMoH-2D
       from a random start against the Newton step; Figure 1b: all methods from 10
       random starts, loss per iteration on log-log axes, median run highlighted.
  10d  Figure 2: FoMoH-KD for K = 2..10 on 10-D Rosenbrock against Newton (K = 10 with
       basis directions is Newton's method step for step).
  all  both (default).

Plots (PNG), CSV files and a JSON summary go to --out; a summary table is printed.
"""

_CHECK_HELP = """\
Check a model's loss derivatives on a small batch: hyper-dual forward mode against the
bicomplex step, the complex step, central finite differences and back-propagation, with
the tolerances of hyperdual.testing (by dtype and kind of reference). Quantities:
f(θ), ∇f·v1 and v1ᵀ∇²f v2 for random directions v1, v2, the full gradient ∇f when
D ≤ --max-dim, and the full Hessian when D ≤ 50. Exits with status 1 on disagreement.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fomoh`` and its sub-commands."""
    from .experiments import PRESETS

    parser = argparse.ArgumentParser(
        prog="fomoh", formatter_class=_Formatter,
        description="Second-order forward-mode optimization (FoMoH) with hyper-dual numbers: "
                    "training, comparisons, Rosenbrock experiments and derivative checks.",
        epilog="Run 'fomoh <command> --help' for each command's options.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"fomoh {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("train", help="train one model with one optimizer",
                       description=_TRAIN_HELP, formatter_class=_Formatter)
    p.add_argument("--optimizer", default="fomoh",
                   help="fgd, fomoh, fomoh-2d, fomoh-3d, fomoh-<K>d, fomoh-bp, newton, sgd, "
                        "adam (backprop = sgd)")
    p.add_argument("--opt-arg", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE",
                   help="extra optimizer argument, repeatable (e.g. momentum=0.9, "
                        "curvature=abs)")
    p.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of the initial parameters, directions and batch order")
    _add_data_options(p, defaults_from_preset=False)
    _add_training_options(p, defaults_from_preset=False)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("compare", help="several optimizers side by side (default: digits)",
                       description=_COMPARE_HELP, formatter_class=_Formatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="experiment preset (default: digits)")
    p.add_argument("--optimizers", nargs="+", default=None, metavar="SPEC",
                   help="run specifications (default: the preset's)")
    p.add_argument("--seeds", nargs="+", type=_nonneg_int, default=None, metavar="SEED",
                   help="seeds (default: the preset's)")
    p.add_argument("--jobs", type=_positive_int, default=None,
                   help="runs trained at a time, each in its own process with one BLAS "
                        "thread (default: one per CPU core; 1 with --backend cupy); results "
                        "do not depend on it")
    _add_data_options(p, defaults_from_preset=True)
    _add_training_options(p, defaults_from_preset=True)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("rosenbrock", help="the paper's Rosenbrock experiments",
                       description=_ROSENBROCK_HELP, formatter_class=_Formatter)
    p.add_argument("experiment", nargs="?", choices=("2d", "10d", "all"), default="all",
                   help="2d: Figures 1a, 1b and 5; 10d: Figure 2; all: both")
    p.add_argument("--out", default="results/rosenbrock", help="output folder")
    p.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of the random starts and directions")
    p.add_argument("--samples", type=_positive_int, default=10_000,
                   help="sampled single steps per method (Figures 1a and 5)")
    p.add_argument("--starts", type=_positive_int, default=10, help="random starts")
    p.add_argument("--iterations", type=_positive_int, default=1000,
                   help="iterations per run (Figures 1b and 2)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: 200 samples, 3 starts, 50 iterations")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_rosenbrock)

    p = sub.add_parser("check", help="oracle agreement report for a model's derivatives",
                       description=_CHECK_HELP, formatter_class=_Formatter)
    _add_data_options(p, defaults_from_preset=False)
    p.add_argument("--batch-size", type=_positive_int, default=8,
                   help="examples in the batch the loss is computed on")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                   help="dtype of the hyper-dual computation (oracles are float64)")
    p.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of θ, the directions and the batch")
    p.add_argument("--max-dim", type=_positive_int, default=2000,
                   help="compare full gradients only up to this many parameters")
    p.set_defaults(func=_cmd_check)

    from .oracle.cli import add_parser as add_oracle_parser  # fomoh oracle ... (issue 7)
    add_oracle_parser(sub)
    return parser


# --------------------------------------------------------------------------- commands


def _model_kwargs(args) -> dict:
    return dict(args.model_arg)


def _base_config(args, **overrides):
    from .train import RunConfig

    values = dict(
        dataset=args.dataset, data_dir=args.data_dir, download=args.download,
        model=args.model, model_kwargs=_model_kwargs(args), epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, dtype=args.dtype, backend=args.backend,
        schedule=args.schedule, gamma=args.gamma, every=args.every, milestone=args.milestone,
        factor=args.factor, patience=args.patience, init=args.init or "default",
        max_train=args.max_train, eval_max=args.eval_max,
        eval_batch_size=args.eval_batch_size, standardize=args.standardize,
        val_set=args.val_set, split_seed=args.split_seed)
    values.update(overrides)
    return RunConfig(**values)


def _cmd_train(args) -> int:
    from .experiments import _ALIASES, default_lr
    from .train import train

    optimizer = _ALIASES.get(args.optimizer.lower(), args.optimizer.lower())
    config = _base_config(args, optimizer=optimizer, seed=args.seed,
                          lr=args.lr if args.lr is not None else default_lr(optimizer),
                          optimizer_kwargs=dict(args.opt_arg)).validate()
    out = Path(args.out or f"results/train/{optimizer}-seed{args.seed}")
    result = train(config, out, resume=args.resume, quiet=args.quiet,
                   overwrite=args.overwrite)
    final = result.final
    print(f"{config.name}: {len(result.history)} epochs in {result.wall_time:.1f} s "
          f"({result.theta.shape[0]} parameters, {config.dataset}, {config.model})")
    if final:
        print(f"  train loss {final['train_loss']:.4f}  acc {final['train_acc']:.4f}   "
              f"val loss {final['val_loss']:.4f}  acc {final['val_acc']:.4f}")
    print(f"  files: {out}/history.csv, history.json, checkpoint.npz, summary.json")
    return EXIT_OK


def _cmd_compare(args) -> int:
    from .experiments import PRESETS, compare, markdown_table, parse_spec
    from .parallel import default_jobs

    preset = PRESETS[args.preset or "digits"]
    model = args.model or preset.model
    model_kwargs = _model_kwargs(args)
    if args.model is None or model == preset.model:
        model_kwargs = {**preset.model_kwargs, **model_kwargs}
    base = _base_config(
        args, dataset=args.dataset or preset.dataset, model=model, model_kwargs=model_kwargs,
        epochs=args.epochs or preset.epochs, batch_size=args.batch_size or preset.batch_size,
        eval_max=args.eval_max if args.eval_max is not None else preset.eval_max,
        standardize=preset.standardize if args.standardize is None else args.standardize,
        val_set=args.val_set or preset.val_set, init=args.init or preset.init,
        lr=args.lr or 1.0).validate()
    specs = [parse_spec(s) for s in (args.optimizers or preset.specs)]
    seeds = args.seeds if args.seeds is not None else list(preset.seeds)
    out = Path(args.out or ("results/compare" if args.preset in (None, "digits")
                            else f"results/{args.preset}"))
    command = "fomoh " + " ".join(shlex.quote(a) for a in args.argv)
    if not args.quiet:
        print(f"fomoh compare: {preset.description if args.preset or not args.optimizers else ''}"
              .rstrip(": "))
        model_text = f"{base.model} {base.model_kwargs}" if base.model_kwargs else base.model
        print(f"  {base.dataset}, {model_text}, {base.epochs} epochs, "
              f"seeds {seeds}, {len(specs)} optimizers -> {out}/")
    jobs = args.jobs or (1 if base.backend == "cupy" else default_jobs())
    if not args.quiet:
        print(f"  {jobs} run(s) at a time, one BLAS thread each")
    result = compare(base, specs, seeds, out, lr=args.lr, resume=args.resume,
                     quiet=args.quiet, command=command.strip(), overwrite=args.overwrite,
                     jobs=jobs)
    print()
    print(markdown_table(result.rows))
    print()
    print(f"{len(specs)} optimizers x {len(seeds)} seed(s), {base.epochs} epochs, "
          f"total wall time {result.wall_time:.1f} s")
    print(f"table: {result.files['markdown']} and {result.files['csv']}; "
          f"curves: {result.files['plot']}")
    diverged = [r for rs in result.runs.values() for r in rs if r.status == "diverged"]
    if diverged:
        print(f"note: {len(diverged)} run(s) diverged (NaN/inf loss); their rows use the "
              "last good epoch - see results.md")
    return EXIT_OK


def _cmd_rosenbrock(args) -> int:
    from . import rosenbrock as R
    from .atomic import write_json

    samples, starts, iterations = args.samples, args.starts, args.iterations
    if args.quick:
        samples, starts, iterations = 200, 3, 50
    from .progress import mode

    progress = mode(args.quiet) == "bar"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.experiment == "all":
        summary = R.run(out, n_samples=samples, n_starts=starts, iterations_2d=iterations,
                        iterations_10d=iterations, seed=args.seed, progress=progress)
        parts = {"2-D Rosenbrock": summary["convergence_2d"],
                 "10-D Rosenbrock, FoMoH-KD": summary["hyperplane_10d"]}
        files = summary["files"]
    else:
        # One of the two halves of R.run, with the same file names.
        files, parts = {}, {}
        if args.experiment == "2d":
            step = R.single_step(n_samples=samples, seed=args.seed)
            files["figure_1a"] = R.plot_single_step(step, out / "rosenbrock_2d_single_step.png")
            files["figure_5"] = R.plot_step_histograms(
                step, out / "rosenbrock_2d_step_histograms.png")
            files["single_step_csv"] = R._write_single_step_csv(
                step, out / "rosenbrock_2d_single_step.csv")
            conv = R.convergence(2, starts, iterations, seed=args.seed, progress=progress)
            files["figure_1b"] = R.plot_convergence(conv, out / "rosenbrock_2d_convergence.png")
            files["convergence_csv"] = R._write_losses_csv(conv,
                                                           out / "rosenbrock_2d_losses.csv")
            parts["2-D Rosenbrock"] = R.summarise(conv)
        else:
            kd = R.hyperplane_dimensions(10, range(2, 11), starts, iterations, seed=args.seed,
                                         progress=progress)
            files["figure_2"] = R.plot_convergence(
                kd, out / "rosenbrock_10d_hyperplane.png",
                title=f"FoMoH-KD on 10-D Rosenbrock, {starts} random starts "
                      "(thick: median run)")
            files["hyperplane_csv"] = R._write_losses_csv(kd, out / "rosenbrock_10d_losses.csv")
            parts["10-D Rosenbrock, FoMoH-KD"] = R.summarise(kd)
        summary = {"experiment": args.experiment, "seed": args.seed, "samples": samples,
                   "starts": starts, "iterations": iterations, "summary": parts,
                   "files": {k: str(v) for k, v in files.items()}}
        path = out / f"rosenbrock_{args.experiment}_summary.json"
        write_json(path, R._json_safe(summary), indent=2)
        files["summary"] = path
    for title, table in parts.items():
        print(f"{title}: {starts} starts, {iterations} iterations (median over starts)")
        print(f"  {'method':<22} {'final f':>10} {'reached 1e-10':>14} {'iterations':>11}")
        # iterations: median over starts of the first iteration with f < 1e-10
        # ('-' when fewer than half of the starts got there)
        for label, row in table.items():
            its = row["median_iterations_to_1e-10"]
            print(f"  {label:<22} {row['median_final_loss']:10.3e} "
                  f"{row['runs_reaching_1e-10']:>7d}/{starts:<6d} "
                  f"{'-' if its is None or its == float('inf') else f'{its:g}':>11}")
    print("files:")
    for name, path in files.items():
        print(f"  {name}: {path}")
    return EXIT_OK


def _cmd_check(args) -> int:
    import numpy as np

    from .train import RunConfig, build_model, prepare_data

    config = RunConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                       model=args.model, model_kwargs=_model_kwargs(args), dtype=args.dtype,
                       split_seed=args.split_seed, max_train=args.max_train,
                       standardize=args.standardize, val_set=args.val_set)
    data = prepare_data(config)
    model = build_model(config, data)
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(data.y_train), size=min(args.batch_size, len(data.y_train)),
                      replace=False)
    X, y = data.X_train[pick], data.y_train[pick]
    theta = model.init_params(seed=args.seed, dtype=np.dtype(args.dtype))
    report = check_model(model, theta, X, y, seed=args.seed, max_dim=args.max_dim)
    kinks = sorted({layer.kind for _, layer in getattr(model, "layers", ())
                    if layer.kind in _KINKED_LAYERS})
    print(f"model {config.model} ({model.num_params} parameters) on {len(y)} "
          f"{config.dataset} examples, seed {args.seed}")
    print(report)
    advisory = set()
    if kinks:
        advisory = {r.method for r in report.rows if r.method.startswith("finite")}
        print(f"note: the model has kinks ({', '.join(kinks)}); central differences step "
              "across them, so their rows are shown for information and do not decide the "
              "result. The exact references (bicomplex, complex step, back-prop) do.")
    bad = [r for r in report.rows if not r.ok and r.method not in advisory]
    if not bad:
        print("all derivatives agree within tolerance" if not advisory else
              "all exact references agree within tolerance")
        return EXIT_OK
    print(f"DISAGREEMENT in {len(bad)} comparison(s): "
          + ", ".join(f"{r.quantity} vs {r.method}" for r in bad))
    return EXIT_DISAGREE


_KINKED_LAYERS = ("relu", "maxpool")
"""Layer kinds whose derivatives jump (ReLU at 0, ties in max-pooling)."""


def check_model(model, theta, X, y, seed=0, max_dim=2000):
    """Hyper-dual derivatives of ``model.loss`` against the oracles and back-propagation.

    Parameters
    ----------
    model : a ``layers.Sequential``-like model (``loss``, ``value_and_grad``, ``hvp``)
    theta : array, shape (D,)
    X, y : the batch
    seed : int
        Seed of the directions ``v1``, ``v2``.
    max_dim : int
        Up to this D the report (``hyperdual.oracles.compare``) includes full gradients
        (O(D) oracle evaluations); above it only ``f``, ``∇f·v1`` and ``v1ᵀ∇²f v2``.

    Returns
    -------
    hyperdual.oracles.ComparisonReport
        With extra rows for back-propagation (``method="back-prop"``, computed in float64).
    """
    import numpy as np

    from hyperdual import oracles, to_numpy
    from hyperdual.testing import relative_error, tolerance

    def f(th):
        return model.loss(th, X, y)

    D, dtype = int(theta.shape[0]), np.dtype(theta.dtype)
    rng = np.random.default_rng(seed)
    v1, v2 = rng.standard_normal(D), rng.standard_normal(D)
    xp_v1, xp_v2 = v1.astype(dtype), v2.astype(dtype)
    if D <= max_dim:
        report = oracles.compare(f, theta, xp_v1, xp_v2, hessian=D <= 50)
    else:
        report = _directional_report(f, theta, xp_v1, xp_v2)

    # Back-propagation, in float64, as one more reference.
    theta64 = np.asarray(to_numpy(theta), dtype=np.float64)
    value_bp, grad_bp = model.value_and_grad(theta64, X, y)
    hv_bp = model.hvp(theta64, X, y, np.asarray(xp_v2, np.float64))
    refs = {"value": float(value_bp),
            "d1": float(np.dot(to_numpy(grad_bp), np.asarray(xp_v1, np.float64))),
            "d12": float(np.dot(to_numpy(hv_bp), np.asarray(xp_v1, np.float64)))}
    if "gradient" in report.values:
        refs["gradient"] = to_numpy(grad_bp)
    for quantity, desired in refs.items():
        actual = report.values[quantity]["hyper-dual"]
        desired = np.asarray(desired, dtype=np.float64)
        report.values[quantity]["back-prop"] = desired
        report.rows.append(oracles.Comparison(
            quantity, "back-prop",
            max_abs=float(np.max(np.abs(np.asarray(actual, np.float64) - desired),
                                 initial=0.0)),
            max_rel=relative_error(actual, desired), rtol=tolerance(dtype, "exact")))
    return report


def _directional_report(f, theta, v1, v2):
    """Like ``hyperdual.oracles.compare`` without the O(D) full-gradient rows."""
    import numpy as np

    from hyperdual import directional, oracles, to_numpy
    from hyperdual.testing import relative_error, tolerance

    dtype = np.dtype(theta.dtype)
    value, d1, _, d12 = directional(f, theta, v1, v2)
    subject = {"value": value, "d1": d1, "d12": d12}
    theta64 = np.asarray(to_numpy(theta), np.float64)
    v1_64, v2_64 = np.asarray(v1, np.float64), np.asarray(v2, np.float64)

    def bicomplex():
        val, b1, b12 = oracles.bicomplex_directional(f, theta64, v1_64, v2_64)
        return {"value": val, "d1": b1, "d12": b12}

    def complex_step():
        return {"d1": oracles.cs_directional(f, theta64, v1_64)}

    def finite_differences():
        fd1, fd12 = oracles.fd_directional(f, theta64, v1_64, v2_64)
        return {"d1": fd1, "d12": fd12}

    kinds = {("value", "bicomplex"): "exact", ("d1", "bicomplex"): "exact",
             ("d12", "bicomplex"): "exact", ("d1", "complex step"): "complex_step",
             ("d1", "finite diff"): "fd_first", ("d12", "finite diff"): "fd_second"}
    report = oracles.ComparisonReport(dtype=dtype, D=int(theta.shape[0]))
    report.values = {q: {"hyper-dual": to_numpy(a)} for q, a in subject.items()}
    for method, oracle in (("bicomplex", bicomplex), ("complex step", complex_step),
                           ("finite diff", finite_differences)):
        try:
            results, error = oracle(), None
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results, error = {}, f"{type(exc).__name__}: {exc}"
        for quantity, actual in subject.items():
            kind = kinds.get((quantity, method))
            if kind is None:
                continue
            row = oracles.Comparison(quantity, method, rtol=tolerance(dtype, kind), error=error)
            if error is None:
                desired = np.asarray(to_numpy(results[quantity]), np.float64)
                report.values[quantity][method] = desired
                row.max_abs = float(np.max(np.abs(np.asarray(to_numpy(actual), np.float64)
                                                  - desired), initial=0.0))
                row.max_rel = relative_error(actual, desired)
            report.rows.append(row)
    return report


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    """Entry point of the ``fomoh`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    from hyperdual import BackendUnavailableError

    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import ConfigError, NonFiniteLossError

    argv = list(sys.argv[1:] if argv is None else argv)
    if _backend_from_environment() not in _BACKENDS:
        print(f"fomoh: error: HYPERDUAL_BACKEND={os.environ['HYPERDUAL_BACKEND']!r} is not "
              f"a backend; expected one of {', '.join(_BACKENDS)} (or unset)", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:           # --help (0) or a usage error (2, already printed)
        return int(exc.code or 0)
    args.argv = argv
    try:
        return args.func(args)
    except NonFiniteLossError as exc:
        print(f"fomoh {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except BackendUnavailableError as exc:
        what = (f"--backend {args.backend}" if getattr(args, "backend", None)
                else f"HYPERDUAL_BACKEND={_backend_from_environment()}")
        print(f"fomoh {args.command}: error: {what} is not usable here: {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, CheckpointError, DataError) as exc:
        print(f"fomoh {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:   # an --out that is a file or unwritable, a full disk, ...
        print(f"fomoh {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"fomoh {args.command}: interrupted; rerun with --resume to continue from the "
              "last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
