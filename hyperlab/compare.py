"""Side-by-side comparisons of optimizers: several runs, one table, one plot.

A comparison trains the same model on the same data with several run specifications
(:mod:`hyperlab.specs`), each over one or more seeds, and reports the final metrics as
``mean ± std`` over seeds (like Tables 1 and 2 of the FoMoH paper) together with the training
curves.

:func:`compare` trains every (specification, seed) run, ``jobs`` at a time, each in its own
process with one BLAS thread (:mod:`hyperlab.parallel`); the results do not depend on
``jobs``. A specification with ``milestone=auto`` (the paper's logistic-regression schedule,
see :func:`auto_milestone`) starts when the same method's runs without schedule have
finished. Named bundles of data, model, epochs, seeds and specifications are in
:mod:`hyperlab.presets`.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_json, write_text
from .builders import build_model, build_optimizer, prepare_data
from .config import ConfigError, OutputExistsError, RunConfig, RunResult
from .parallel import Task, run_all
from .plots import plot_curves
from .provenance import versions
from .specs import Spec, slug
from .train import check_output

__all__ = [
    "CompareResult",
    "compare",
    "summarize",
    "markdown_table",
    "write_results",
    "auto_milestone",
]


def auto_milestone(histories: list[list[dict]]) -> int:
    """The epoch where the seed-mean validation NLL of ``histories`` starts to increase.

    That is the epoch ``m`` (1-based) with the lowest mean validation loss over the runs
    (over the epochs that all runs completed, should one have diverged); a
    ``milestone=m`` schedule then runs epochs ``m+1, ...`` at the reduced rate — the FoMoH
    paper's "we reduced the learning rate at the epoch where the NLL starts to increase"
    (appendix A.3), read off the runs without a schedule as the paper's
    ``train_model_sched.sh <lr> <batch> <method> <device> <milestone> <gamma>`` takes it.
    If the minimum is the last epoch, the rate is never reduced.
    """
    n = min((len(h) for h in histories), default=0)
    if n == 0:
        raise ConfigError("milestone=auto: the runs without a schedule completed no epoch")
    curve = np.mean([[r["val_loss"] for r in h[:n]] for h in histories], axis=0)
    return int(np.argmin(curve)) + 1


# --------------------------------------------------------------------------- running


@dataclass
class CompareResult:
    """All runs of a comparison, grouped by specification label.

    Attributes
    ----------
    runs : dict
        ``label -> list of RunResult`` (one per seed).
    specs : list of Spec
    rows : list of dict
        The summary table (see :func:`summarize`).
    wall_time : float
        Seconds for the whole comparison.
    out_dir : pathlib.Path or None
    files : dict
        ``"markdown"``, ``"csv"``, ``"plot"``, ``"json"`` -> written paths.
    references : dict
        ``label -> label`` of the runs without schedule that placed each
        ``milestone=auto``.
    """

    runs: dict
    specs: list
    rows: list
    wall_time: float
    out_dir: Path | None
    files: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)


def compare(
    base: RunConfig,
    specs: list[Spec],
    seeds,
    out_dir=None,
    *,
    lr=None,
    resume=False,
    quiet=False,
    log=None,
    title=None,
    command=None,
    overwrite=False,
    jobs: int = 1,
) -> CompareResult:
    """Train every specification with every seed on the same data; tabulate and plot.

    Parameters
    ----------
    base : RunConfig
        Common settings (data set, model, epochs, dtype, ...).
    specs : list of Spec
        Labels must be distinct.
    seeds : iterable of int
    out_dir : path-like, optional
        Each run goes to ``out_dir/<label>/seed<k>/``; the table (``results.md``,
        ``results.csv``), the curves (``curves.png``) and ``results.json`` go to ``out_dir``.
    lr : float, optional
        Learning rate of the specifications that do not set one (default: each
        optimizer's default, :func:`optimizers.registry.default_lr`).
    resume : bool
        Resume every run from its checkpoint (finished runs are read back, not redone).
    quiet : bool
    log : callable, optional
        Receives progress lines (default: printed to stderr, like ``train``'s).
    title, command : str, optional
        Written into ``results.md``.
    overwrite : bool
        Replace earlier runs in ``out_dir``; without it (or ``resume``) a run folder that
        already holds a run is refused before anything is trained.
    jobs : int
        Runs trained at a time, each in its own process with one BLAS thread
        (:mod:`hyperlab.parallel`); 1 trains them one after another in this process, also with
        one BLAS thread, so the results do not depend on ``jobs`` (only wall times do).

    Returns
    -------
    CompareResult
        Diverged runs are kept (status ``"diverged"``); the others still run.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("give at least one seed")
    if not specs:
        raise ConfigError("give at least one optimizer")
    labels = [s.label for s in specs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(f"duplicate labels {dupes}; add label=... to the specifications")
    if len({slug(x) for x in labels}) != len(labels):
        raise ConfigError(f"labels {labels} map to the same folder names; rename them")
    configs = {s.label: [s.config(base, seed, lr) for seed in seeds] for s in specs}
    # milestone=auto waits for the same method's runs without a schedule
    references = {s.label: s.reference(specs, base, lr).label for s in specs if s.auto_milestone}
    if log is None:
        log = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:  # refuse before training anything, not after the first runs
        if not (resume or overwrite) and (out / "results.json").exists():
            raise OutputExistsError(
                f"{out} already holds a comparison (results.json); use "
                "--resume, --overwrite or another --out folder"
            )
        for spec in specs:
            for config in configs[spec.label]:
                check_output(out / slug(spec.label) / f"seed{config.seed}", resume, overwrite)
    t0 = time.perf_counter()
    data = prepare_data(base.validate())
    # Fail before training anything if a model or optimizer name or argument is wrong.
    build_model(base, data)
    for spec in specs:
        build_optimizer(configs[spec.label][0])
    tasks = []
    for spec in specs:
        reference = references.get(spec.label)
        for config in configs[spec.label]:
            task = Task(
                (spec.label, config.seed),
                config,
                out / slug(spec.label) / f"seed{config.seed}" if out else None,
            )
            if reference is not None:
                task.after = tuple((reference, seed) for seed in seeds)
                task.prepare = _auto_milestone_preparer(spec, base, config.seed, lr, task.after)
            tasks.append(task)
    results = run_all(
        tasks,
        base,
        jobs=int(jobs),
        resume=resume,
        quiet=quiet,
        log=log,
        overwrite=overwrite,
        data=data,
    )
    runs: dict[str, list[RunResult]] = {spec.label: [] for spec in specs}
    for task, run in zip(tasks, results):
        runs[task.key[0]].append(run)
    result = CompareResult(
        runs=runs,
        specs=list(specs),
        rows=summarize(runs),
        wall_time=time.perf_counter() - t0,
        out_dir=out,
        references=references,
    )
    if out is not None:
        result.files = write_results(result, base, seeds, title=title, command=command)
    return result


def _auto_milestone_preparer(spec, base, seed, lr, after):
    """``results -> RunConfig`` of a ``milestone=auto`` run, once its references finished."""

    def prepare(results):
        milestone = auto_milestone([results[key].history for key in after])
        return spec.config(base, seed, lr, milestone=milestone)

    return prepare


# --------------------------------------------------------------------------- tables

_METRICS = (
    ("train_loss", "train loss"),
    ("val_loss", "val loss"),
    ("train_acc", "train acc"),
    ("val_acc", "val acc"),
    ("step_loss", "train loss (running)"),
)
"""The final metrics of the tables. ``train_loss`` / ``train_acc`` are re-evaluated on the
training set after the last epoch; ``step_loss`` is the running mean of that epoch's
pre-step minibatch losses (the FoMoH paper's "training loss"; see hyperlab.train)."""


def summarize(runs: dict) -> list[dict]:
    """One row per label: mean and standard deviation (over seeds) of the final metrics.

    The standard deviation is the population one (``ddof=0``); with one seed it is 0.
    A diverged run contributes its last good epoch and is counted in ``diverged``.
    """
    rows = []
    for label, results in runs.items():
        finals = [r.final for r in results if r.final]
        row = {
            "label": label,
            "seeds": len(results),
            "diverged": sum(r.status == "diverged" for r in results),
            "epochs": max((f["epoch"] for f in finals), default=0),
            "wall_time": float(np.mean([r.wall_time for r in results])),
        }
        for key, _ in _METRICS:
            values = np.array([f[key] for f in finals], dtype=float)
            row[key] = float(values.mean()) if len(values) else float("nan")
            row[key + "_std"] = float(values.std()) if len(values) else float("nan")
        rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The summary rows as a Markdown table (``mean ± std`` per metric)."""
    head = ["approach", "epochs", *(name for _, name in _METRICS), "time / run (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        epochs = str(row["epochs"])
        if row["diverged"]:
            epochs += f" ({row['diverged']}/{row['seeds']} diverged)"
        cells = [row["label"], epochs]
        cells += [f"{row[k]:.4f} ± {row[k + '_std']:.4f}" for k, _ in _METRICS]
        cells.append(f"{row['wall_time']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _describe_schedule(spec: Spec, cfg: RunConfig, reference: str | None) -> str:
    """``, schedule ... (...)`` for the settings list of results.md ('' without one);
    ``reference``: the label whose runs placed a ``milestone=auto``."""
    if cfg.schedule == "none":
        return ""
    if cfg.schedule == "step":
        what = f"x{cfg.gamma} every {cfg.every} epochs"
    elif cfg.schedule == "milestone":
        what = f"x{cfg.gamma} once, after epoch {cfg.milestone}"
        if spec.auto_milestone:
            what += f" = milestone=auto: the lowest seed-mean validation NLL of {reference}" + (
                " (its last epoch: no cut)" if cfg.milestone >= cfg.epochs else ""
            )
    elif cfg.schedule == "plateau":
        what = f"x{cfg.factor} whenever the val loss rises, patience {cfg.patience}"
    else:
        what = f"x{cfg.factor} once, at the first rise of the val loss, patience {cfg.patience}"
    return f", schedule {cfg.schedule} ({what})"


def write_results(result: CompareResult, base: RunConfig, seeds, title=None, command=None) -> dict:
    """Write ``results.md``, ``results.csv``, ``results.json`` and ``curves.png``."""
    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    fields = ["label", "seeds", "diverged", "epochs", "wall_time"]
    fields += [k for key, _ in _METRICS for k in (key, key + "_std")]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(result.rows)
    files["csv"] = out / "results.csv"

    curves = {label: [r.history for r in results] for label, results in result.runs.items()}
    num_params = next(
        (int(r.theta.shape[0]) for rs in result.runs.values() for r in rs if r.theta.size), 0
    )
    title = title or (f"{base.model} on {base.dataset}: mean ± std over {len(list(seeds))} seed(s)")
    files["plot"] = plot_curves(curves, out / "curves.png", title=title)

    train_set = (
        "all training examples"
        if base.eval_max is None
        else f"a fixed subset of at most {base.eval_max} training examples"
    )
    lines = [f"# {title}", ""]
    if command:
        lines += ["Command:", "", f"    {command}", ""]
    lines += [
        f"* data set: `{base.dataset}`; model: `{base.model}`"
        f"{' ' + str(base.model_kwargs) if base.model_kwargs else ''} "
        f"({num_params} parameters); dtype {base.dtype}; backend {base.backend}",
        f"* epochs: {base.epochs}; seeds: {list(seeds)}; final metrics are mean ± standard "
        "deviation over seeds (ddof=0); losses are mean cross-entropy (NLL); 'train loss' "
        "and 'train acc' are re-evaluated after the last epoch, 'train loss (running)' is the "
        "mean of that epoch's minibatch losses before each step (the FoMoH paper's training "
        "loss)",
        f"* initialisation: {base.init}",
        f"* train metrics on {train_set}; "
        + (
            "validation on the test set (training on all training examples)"
            if base.val_set == "test"
            else f"validation on 10% held out of the training set (split_seed {base.split_seed})"
        )
        + (
            "; pixels standardised with the training mean and std"
            if base.standardize
            else "; pixels scaled to [0, 1]"
        )
        + (f"; training on a seeded subset of {base.max_train} examples" if base.max_train else ""),
        f"* total wall time: {result.wall_time:.1f} s",
        "",
        markdown_table(result.rows),
        "",
        "Settings per approach:",
        "",
    ]
    for spec in result.specs:
        cfg = result.runs[spec.label][0].config
        sched = _describe_schedule(spec, cfg, result.references.get(spec.label))
        extra = f", {cfg.optimizer_kwargs}" if cfg.optimizer_kwargs else ""
        lines.append(
            f"* {spec.label}: `{cfg.optimizer}`, lr {cfg.lr:g}, batch "
            f"{cfg.batch_size}{sched}{extra}"
        )
    diverged = [r for rs in result.runs.values() for r in rs if r.status == "diverged"]
    if diverged:
        lines += ["", "Diverged runs (metrics above use their last good epoch):", ""]
        lines += [f"* {r.message}" for r in diverged]
    lines += ["", f"Curves: `{files['plot'].name}`; per-run files under `<label>/seed<k>/`.", ""]
    write_text(out / "results.md", "\n".join(lines))
    files["markdown"] = out / "results.md"

    write_json(
        out / "results.json",
        {  # strict JSON: a diverged row's NaN is null
            "command": command,
            "title": title,
            "wall_time": result.wall_time,
            "seeds": list(seeds),
            "base": base.to_dict(),
            "rows": result.rows,
            "runs": {
                label: [
                    {
                        "seed": r.config.seed,
                        "status": r.status,
                        "wall_time": r.wall_time,
                        "final": r.final,
                        "config": r.config.to_dict(),
                    }
                    for r in rs
                ]
                for label, rs in result.runs.items()
            },
            "versions": versions(),
        },
    )
    files["json"] = out / "results.json"
    return files
