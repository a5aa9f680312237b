"""``fomoh train`` (one optimizer) and ``fomoh compare`` (several, side by side)."""

from __future__ import annotations

import shlex
from pathlib import Path

from optimizers.registry import canonical_name, default_lr

from ..compare import compare, markdown_table
from ..parallel import default_jobs
from ..presets import PRESETS
from ..specs import parse_spec
from ..train import train
from .options import (
    EXIT_OK,
    Formatter,
    add_data_options,
    add_training_options,
    base_config,
    key_value,
    model_arguments,
    nonneg_int,
    positive_int,
)

__all__ = ["add_parsers"]

_TRAIN_HELP = """\
Train one model with one optimizer. Writes history.csv / history.json (per epoch: lr,
train/validation loss and accuracy, mean minibatch loss, steps, jitter, wall time),
checkpoint.npz (after every epoch, atomically), config.json and summary.json to --out.
A NaN/inf loss stops the run with exit status 3, keeping the last good checkpoint;
--resume continues exactly where an interrupted run stopped.
"""

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
{presets}
The runs go --jobs at a time, each in its own process with one BLAS thread and its own
checkpoints under --out/<label>/seed<k>/; --resume continues every unfinished run.
"""


def _presets_help() -> str:
    """One entry per registered preset (its ``details``, else its description)."""
    width = max(len(name) for name in PRESETS) + 2
    lines = []
    for name, preset in PRESETS.items():
        text = (preset.details or preset.description).splitlines()
        lines.append(f"  {name:<{width}}{text[0]}")
        lines += [f"  {'':<{width}}{line}" for line in text[1:]]
    return "\n".join(lines) + "\n"


def add_parsers(sub) -> None:
    """Add ``train`` and ``compare`` to the sub-commands ``sub``."""
    p = sub.add_parser(
        "train",
        help="train one model with one optimizer",
        description=_TRAIN_HELP,
        formatter_class=Formatter,
    )
    p.add_argument(
        "--optimizer",
        default="fomoh",
        help="fgd, fomoh, fomoh-2d, fomoh-3d, fomoh-<K>d, fomoh-bp, newton, sgd, "
        "adam (backprop = sgd)",
    )
    p.add_argument(
        "--opt-arg",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="extra optimizer argument, repeatable (e.g. momentum=0.9, curvature=abs)",
    )
    p.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="seed of the initial parameters, directions and batch order",
    )
    add_data_options(p, defaults_from_preset=False)
    add_training_options(p, defaults_from_preset=False)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "compare",
        help="several optimizers side by side (default: digits)",
        description=_COMPARE_HELP.replace("{presets}", _presets_help()),
        formatter_class=Formatter,
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="experiment preset (default: digits)",
    )
    p.add_argument(
        "--optimizers",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="run specifications (default: the preset's)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=nonneg_int,
        default=None,
        metavar="SEED",
        help="seeds (default: the preset's)",
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="runs trained at a time, each in its own process with one BLAS "
        "thread (default: one per CPU core; 1 with --backend cupy); results "
        "do not depend on it",
    )
    add_data_options(p, defaults_from_preset=True)
    add_training_options(p, defaults_from_preset=True)
    p.set_defaults(func=_cmd_compare)


def _cmd_train(args) -> int:
    optimizer = canonical_name(args.optimizer)
    config = base_config(
        args,
        optimizer=optimizer,
        seed=args.seed,
        lr=args.lr if args.lr is not None else default_lr(optimizer),
        optimizer_kwargs=dict(args.opt_arg),
    ).validate()
    out = Path(args.out or f"results/train/{optimizer}-seed{args.seed}")
    result = train(config, out, resume=args.resume, quiet=args.quiet, overwrite=args.overwrite)
    final = result.final
    print(
        f"{config.name}: {len(result.history)} epochs in {result.wall_time:.1f} s "
        f"({result.theta.shape[0]} parameters, {config.dataset}, {config.model})"
    )
    if final:
        print(
            f"  train loss {final['train_loss']:.4f}  acc {final['train_acc']:.4f}   "
            f"val loss {final['val_loss']:.4f}  acc {final['val_acc']:.4f}"
        )
    print(f"  files: {out}/history.csv, history.json, checkpoint.npz, summary.json")
    return EXIT_OK


def _cmd_compare(args) -> int:
    preset = PRESETS[args.preset or "digits"]
    model = args.model or preset.model
    model_kwargs = model_arguments(args)
    if args.model is None or model == preset.model:
        model_kwargs = {**preset.model_kwargs, **model_kwargs}
    base = base_config(
        args,
        dataset=args.dataset or preset.dataset,
        model=model,
        model_kwargs=model_kwargs,
        epochs=args.epochs or preset.epochs,
        batch_size=args.batch_size or preset.batch_size,
        eval_max=args.eval_max if args.eval_max is not None else preset.eval_max,
        standardize=preset.standardize if args.standardize is None else args.standardize,
        val_set=args.val_set or preset.val_set,
        init=args.init or preset.init,
        lr=args.lr or 1.0,
    ).validate()
    specs = [parse_spec(s) for s in (args.optimizers or preset.specs)]
    seeds = args.seeds if args.seeds is not None else list(preset.seeds)
    out = Path(
        args.out
        or ("results/compare" if args.preset in (None, "digits") else f"results/{args.preset}")
    )
    command = "fomoh " + " ".join(shlex.quote(a) for a in args.argv)
    if not args.quiet:
        description = preset.description if args.preset or not args.optimizers else ""
        print(f"fomoh compare: {description}".rstrip(": "))
        model_text = f"{base.model} {base.model_kwargs}" if base.model_kwargs else base.model
        print(
            f"  {base.dataset}, {model_text}, {base.epochs} epochs, "
            f"seeds {seeds}, {len(specs)} optimizers -> {out}/"
        )
    jobs = args.jobs or (1 if base.backend == "cupy" else default_jobs())
    if not args.quiet:
        print(f"  {jobs} run(s) at a time, one BLAS thread each")
    result = compare(
        base,
        specs,
        seeds,
        out,
        lr=args.lr,
        resume=args.resume,
        quiet=args.quiet,
        command=command.strip(),
        overwrite=args.overwrite,
        jobs=jobs,
    )
    print()
    print(markdown_table(result.rows))
    print()
    print(
        f"{len(specs)} optimizers x {len(seeds)} seed(s), {base.epochs} epochs, "
        f"total wall time {result.wall_time:.1f} s"
    )
    print(
        f"table: {result.files['markdown']} and {result.files['csv']}; "
        f"curves: {result.files['plot']}"
    )
    diverged = [r for rs in result.runs.values() for r in rs if r.status == "diverged"]
    if diverged:
        print(
            f"note: {len(diverged)} run(s) diverged (NaN/inf loss); their rows use the "
            "last good epoch - see results.md"
        )
    return EXIT_OK
