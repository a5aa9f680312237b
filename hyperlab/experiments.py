"""Side-by-side comparisons of optimizers: run specifications, presets, result tables.

A comparison trains the same model on the same data with several *runs specifications*,
each over one or more seeds, and reports the final metrics as ``mean ± std`` over seeds
(like Tables 1 and 2 of the FoMoH paper) together with the training curves.

Run specifications
------------------
A specification is an optimizer name optionally followed by settings::

    fomoh-2d
    fomoh-2d:lr=0.04221,batch=512
    fomoh-3d:lr=0.1,batch=512,schedule=plateau,factor=0.8,label=FoMoH-3D (LR-sch.)
    sgd:lr=0.03561,batch=2048,momentum=0.9

Recognised keys: ``lr``, ``batch`` (or ``batch_size``), ``schedule`` (``none``, ``step``,
``milestone``, ``plateau``, ``first-rise``; see :data:`hyperlab.train.SCHEDULES`), ``gamma``,
``every``, ``milestone``, ``factor``, ``patience``, ``init`` (``default``, ``pytorch``),
``label``; every other key is passed to the optimizer's constructor (``K``, ``momentum``,
``curvature``, ``damping``, ...).
Settings not given in a specification come from the common options (``--lr``,
``--batch-size``, ...), and then from the optimizer's default learning rate
(:data:`DEFAULT_LR`). The names ``backprop`` and ``bp`` mean SGD on back-propagated
gradients.

Presets
-------
:data:`PRESETS` bundles the data set, model, epochs, seeds and specifications of an
experiment: ``digits`` (the default of ``fomoh compare``), ``mnist-logreg`` (the paper's
Table 1 / appendix Table 3) and ``mnist-cnn`` (Table 2 / appendix Table 4).

Running
-------
:func:`compare` trains every (specification, seed) run, ``jobs`` at a time, each in its own
process with one BLAS thread (:mod:`hyperlab.parallel`); the results do not depend on ``jobs``.
A specification with ``milestone=auto`` (the paper's logistic-regression schedule, see
:func:`auto_milestone`) starts when the same method's runs without schedule have finished.
"""

from __future__ import annotations

import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .parallel import Task, run_all
from .train import (ConfigError, OutputExistsError, RunConfig, RunResult, _check_output,
                    build_model, build_optimizer, prepare_data)

__all__ = ["Spec", "parse_spec", "Preset", "PRESETS", "DEFAULT_LR", "CompareResult",
           "compare", "summarize", "markdown_table", "write_results", "slug", "AUTO",
           "auto_milestone"]

#: Default learning rate of each optimizer when neither the specification nor ``--lr`` sets
#: one (chosen on the digits data; second-order methods are normalised by curvature).
DEFAULT_LR = {"fgd": 0.01, "fomoh": 0.5, "fomoh-bp": 0.5, "fomoh-kd": 0.5, "newton": 1.0,
              "sgd": 0.1, "adam": 0.01,
              # companion papers (issue 5): the papers' step factors
              "damped-newton": 0.5, "hf-newton": 0.5, "hf-gauss-newton": 0.5,
              "cs-newton-krylov": 1.0, "partition-newton": 1.0}

_ALIASES = {"backprop": "sgd", "bp": "sgd", "backpropagation": "sgd"}

def _milestone(text: str):
    """``"auto"`` or a positive epoch number."""
    if text.strip().lower() == AUTO:
        return AUTO
    return int(text)


_milestone.__name__ = "positive integer or 'auto'"

AUTO = "auto"
"""``milestone=auto``: the epoch where the validation NLL of the same method without a
schedule starts to increase (see :func:`auto_milestone`)."""

_SPEC_KEYS = {"lr": float, "batch": int, "batch_size": int, "schedule": str, "gamma": float,
              "every": int, "milestone": _milestone, "factor": float, "patience": int,
              "init": str, "label": str}


def default_lr(optimizer: str) -> float:
    """The default learning rate of ``optimizer`` (``fomoh-<K>d`` share FoMoH-KD's)."""
    key = optimizer.lower()
    if re.fullmatch(r"fomoh-\d+d", key):
        key = "fomoh-kd"
    return DEFAULT_LR.get(key, 0.1)


def pretty_name(optimizer: str) -> str:
    """``fomoh-2d`` -> ``FoMoH-2D``, ``sgd`` -> ``Backprop (SGD)`` and so on."""
    key = optimizer.lower()
    table = {"fgd": "FGD", "fomoh": "FoMoH", "fomoh-bp": "FoMoH-BP", "newton": "Newton",
             "sgd": "Backprop (SGD)", "adam": "Backprop (Adam)", "fomoh-kd": "FoMoH-KD"}
    match = re.fullmatch(r"fomoh-(\d+)d", key)
    if match:
        return f"FoMoH-{match.group(1)}D"
    return table.get(key, optimizer)


def slug(text: str) -> str:
    """A folder name for a label: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "run"


@dataclass
class Spec:
    """One line of a comparison: an optimizer and its settings.

    Attributes
    ----------
    optimizer : str
        Registry name (aliases resolved).
    settings : dict
        :class:`~hyperlab.train.RunConfig` fields to set (``lr``, ``batch_size``, ...).
    optimizer_kwargs : dict
        Extra constructor arguments of the optimizer.
    label : str
        Name in tables, plots and folder names.
    """

    optimizer: str
    settings: dict = field(default_factory=dict)
    optimizer_kwargs: dict = field(default_factory=dict)
    label: str = ""

    def __post_init__(self):
        self.optimizer = _ALIASES.get(self.optimizer.lower(), self.optimizer.lower())
        if not self.label:
            self.label = pretty_name(self.optimizer)
            if self.settings.get("schedule", "none") != "none":
                self.label += " (LR-sch.)"

    def describe(self) -> str:
        """Settings as ``key=value`` text (for the results document)."""
        items = dict(self.settings)
        items.update(self.optimizer_kwargs)
        return ", ".join(f"{k}={v}" for k, v in items.items())

    @property
    def auto_milestone(self) -> bool:
        """True for ``schedule=milestone,milestone=auto`` (resolved during a comparison)."""
        return self.settings.get("milestone") == AUTO

    def config(self, base: RunConfig, seed: int, lr: float | None = None,
               milestone: int | None = None) -> RunConfig:
        """The run of this specification with ``seed``, on top of the common ``base``.

        The learning rate is the specification's ``lr``, else ``lr``, else the optimizer's
        default (:data:`DEFAULT_LR`); ``base.lr`` is not used. ``milestone`` replaces the
        specification's (needed for ``milestone=auto``; until it is known, the run's last
        epoch stands in).
        """
        values = base.to_dict()
        values.update(optimizer=self.optimizer, seed=int(seed), label=self.label)
        values["lr"] = self.settings.get("lr", lr if lr is not None
                                         else default_lr(self.optimizer))
        values["optimizer_kwargs"] = {**base.optimizer_kwargs, **self.optimizer_kwargs}
        values.update({k: v for k, v in self.settings.items() if k != "lr"})
        if milestone is not None:
            values["milestone"] = int(milestone)
        elif values.get("milestone") == AUTO:
            values["milestone"] = values["epochs"]
        return RunConfig.from_dict(values).validate()

    def reference(self, specs: list["Spec"], base: RunConfig,
                  lr: float | None = None) -> "Spec":
        """The specification in ``specs`` that is this one without a schedule (same
        optimizer, learning rate, batch size, initialisation and optimizer arguments):
        the run whose validation NLL places ``milestone=auto``."""
        mine = self.config(base, 0, lr)
        for other in specs:
            if other is self:
                continue
            theirs = other.config(base, 0, lr)
            if theirs.schedule == "none" and all(getattr(mine, k) == getattr(theirs, k) for k in
                   ("optimizer", "lr", "batch_size", "init", "optimizer_kwargs")):
                return other
        raise ConfigError(
            f"{self.label}: milestone=auto takes the epoch where the validation NLL of the same "
            f"method without a schedule starts to increase, but no specification runs "
            f"{self.optimizer} with lr={mine.lr:g}, batch={mine.batch_size} and no schedule; "
            "add it, or give milestone=<epoch>")


def _parse_value(text: str):
    """``"3"`` -> 3, ``"0.1"`` -> 0.1, ``"true"`` -> True, otherwise the text itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_spec(text: str) -> Spec:
    """Parse ``name[:key=value,key=value,...]`` (see the module docstring).

    Raises
    ------
    ConfigError
        For an empty name, an item without ``=``, or a value of the wrong type.
    """
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"empty optimizer name in {text!r}")
    settings, kwargs, label = {}, {}, ""
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not key:
                raise ConfigError(f"bad setting {item!r} in {text!r}; expected key=value, "
                                  "e.g. fomoh-2d:lr=0.05,batch=512")
            if key == "label":
                label = value
            elif key in _SPEC_KEYS:
                try:
                    parsed = _SPEC_KEYS[key](value)
                except ValueError:
                    raise ConfigError(f"{key}={value!r} in {text!r}: expected a "
                                      f"{_SPEC_KEYS[key].__name__}") from None
                settings["batch_size" if key == "batch" else key] = parsed
            else:
                kwargs[key] = _parse_value(value)
    return Spec(name, settings, kwargs, label)


# --------------------------------------------------------------------------- presets


@dataclass
class Preset:
    """A named experiment: data, model, length, seeds and the runs to compare."""

    description: str
    dataset: str
    model: str
    epochs: int
    seeds: tuple
    specs: tuple
    model_kwargs: dict = field(default_factory=dict)
    batch_size: int = 64
    eval_max: int | None = None
    standardize: bool = False
    val_set: str = "split"
    init: str = "default"


# The MNIST presets follow the paper's released scripts: pixels standardised (their
# Normalize((0.1307,), (0.3081,)) are the training mean and std we compute), all 60,000
# training images used for training and the 10,000 test images as the validation set, and
# PyTorch's default initialisation (init="pytorch": weights and biases U(±1/√fan_in)).
#
# Paper, appendix A.3 (Table 3): logistic regression on MNIST. "For the learning rate
# scheduler, we reduced the learning rate at the epoch where the NLL starts to increase. For
# FoMoH-3D we multiplied the learning rate by 0.8, whereas for the other approaches we
# multiplied the learning rate by 0.1." The released train_model_sched.sh takes that epoch as
# a fixed milestone per method; milestone=auto reads it off this comparison's runs of the same
# method without schedule (the epoch of their lowest seed-mean validation NLL) and cuts once,
# after it. Other readings are options: schedule=first-rise (one cut at the first epoch whose
# validation NLL is higher than the previous one's), schedule=plateau (a cut at every such
# epoch; this preset's schedule before issue 16), or a fixed milestone=<epoch>. The scripts'
# code repeats the cut for FoMoH-KD (schedule=step,every=<m>) and, for FoMoH, multiplies by
# gamma**int(2000/m) once at epoch m (milestone=<m>,gamma=<gamma**int(2000/m)>); see
# optimizers/schedules.py.
_LOGREG_SPECS = (
    "fgd:lr=0.00006497,batch=128",
    "fomoh:lr=0.1362,batch=1024",
    "fomoh:lr=0.1362,batch=1024,schedule=milestone,milestone=auto,gamma=0.1",
    "fomoh-2d:lr=0.04221,batch=512",
    "fomoh-2d:lr=0.04221,batch=512,schedule=milestone,milestone=auto,gamma=0.1",
    "fomoh-3d:lr=0.1,batch=512",
    "fomoh-3d:lr=0.1,batch=512,schedule=milestone,milestone=auto,gamma=0.8",
    "fomoh-bp:lr=0.04688,batch=2048",
    "sgd:lr=0.03561,batch=2048,label=Backpropagation",
)

# Paper, appendix A.4 (Table 4): the CNN on MNIST. "All learning rate schedulers reduced the
# learning rate by 10 every 1000 epochs": schedule=step,gamma=0.1,every=1000, for all three
# LR-sch. rows. The released code does that for FoMoH-KD, but for FoMoH (K = 1) it builds
# MultiStepLR(milestones=[1000] * 3): PyTorch counts the repeated milestone, so the rate is
# multiplied by 0.1**3 = 0.001 once, at epoch 1,000, and not again. We follow the text; the
# code's variant is "fomoh:lr=0.542,batch=2048,schedule=milestone,milestone=1000,gamma=0.001"
# (identical for the first 1,000 epochs).
_CNN_SPECS = (
    "fgd:lr=0.0001376,batch=2048",
    "fomoh:lr=0.542,batch=2048",
    "fomoh:lr=0.542,batch=2048,schedule=step,gamma=0.1,every=1000",
    "fomoh-2d:lr=0.3032,batch=2048",
    "fomoh-2d:lr=0.3032,batch=2048,schedule=step,gamma=0.1,every=1000",
    "fomoh-3d:lr=0.3032,batch=512",
    "fomoh-3d:lr=0.3032,batch=2048,schedule=step,gamma=0.1,every=1000",
    "fomoh-bp:lr=0.04688,batch=2048",
    "sgd:lr=0.03561,batch=2048,label=Backpropagation",
)

# The default `fomoh compare`: small enough for a 2-core CPU in a few minutes. Learning rates:
# the best final validation loss (mean of seeds 0-2, 100 epochs, batch 64) on the grids
# FGD {0.01, 0.03, 0.1}, FoMoH/FoMoH-2D {0.1, 0.2, 0.3, 0.5}, FoMoH-3D {0.05, 0.1, 0.2, 0.3},
# FoMoH-BP and SGD {0.1, 0.3, 1.0}.
_DIGITS_SPECS = (
    "fgd:lr=0.03",
    "fomoh:lr=0.3",
    "fomoh-2d:lr=0.2",
    "fomoh-3d:lr=0.2",
    "fomoh-bp:lr=0.3",
    "sgd:lr=1.0,label=Backprop (SGD)",
)

PRESETS: dict[str, Preset] = {
    "digits": Preset(
        description="logistic regression on the embedded 8x8 digits (offline, 1-2 minutes)",
        dataset="digits", model="logistic_regression", epochs=100, seeds=(0, 1, 2),
        specs=_DIGITS_SPECS, batch_size=64),
    "mnist-logreg": Preset(
        description="paper Table 1: logistic regression on MNIST, appendix Table 3 "
                    "hyper-parameters (2,000 epochs, 5 seeds in the paper)",
        dataset="mnist", model="logistic_regression", epochs=2000, seeds=(0, 1, 2, 3, 4),
        specs=_LOGREG_SPECS, standardize=True, val_set="test", init="pytorch"),
    "mnist-cnn": Preset(
        description="paper Table 2: the CNN on MNIST, appendix Table 4 hyper-parameters "
                    "(3,000 epochs, 3 seeds in the paper)",
        dataset="mnist", model="mnist_cnn", epochs=3000, seeds=(0, 1, 2), specs=_CNN_SPECS,
        eval_max=10000, standardize=True, val_set="test", init="pytorch"),
}


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


def compare(base: RunConfig, specs: list[Spec], seeds, out_dir=None, *, lr=None,
            resume=False, quiet=False, log=None, title=None, command=None,
            overwrite=False, jobs: int = 1) -> CompareResult:
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
        optimizer's :data:`DEFAULT_LR`).
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
    references = {s.label: s.reference(specs, base, lr).label for s in specs
                  if s.auto_milestone}
    if log is None:
        log = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:     # refuse before training anything, not after the first runs
        if not (resume or overwrite) and (out / "results.json").exists():
            raise OutputExistsError(f"{out} already holds a comparison (results.json); use "
                                    "--resume, --overwrite or another --out folder")
        for spec in specs:
            for config in configs[spec.label]:
                _check_output(out / slug(spec.label) / f"seed{config.seed}", resume, overwrite)
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
            task = Task((spec.label, config.seed), config,
                        out / slug(spec.label) / f"seed{config.seed}" if out else None)
            if reference is not None:
                task.after = tuple((reference, seed) for seed in seeds)
                task.prepare = _auto_milestone_preparer(spec, base, config.seed, lr,
                                                        task.after)
            tasks.append(task)
    results = run_all(tasks, base, jobs=int(jobs), resume=resume, quiet=quiet, log=log,
                      overwrite=overwrite,
                      data=data)
    runs: dict[str, list[RunResult]] = {spec.label: [] for spec in specs}
    for task, run in zip(tasks, results):
        runs[task.key[0]].append(run)
    result = CompareResult(runs=runs, specs=list(specs), rows=summarize(runs),
                           wall_time=time.perf_counter() - t0, out_dir=out,
                           references=references)
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

_METRICS = (("train_loss", "train loss"), ("val_loss", "val loss"),
            ("train_acc", "train acc"), ("val_acc", "val acc"),
            ("step_loss", "train loss (running)"))
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
        row = {"label": label, "seeds": len(results),
               "diverged": sum(r.status == "diverged" for r in results),
               "epochs": max((f["epoch"] for f in finals), default=0),
               "wall_time": float(np.mean([r.wall_time for r in results]))}
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
            what += (f" = milestone=auto: the lowest seed-mean validation NLL of "
                     f"{reference}" + (" (its last epoch: no cut)"
                                       if cfg.milestone >= cfg.epochs else ""))
    elif cfg.schedule == "plateau":
        what = f"x{cfg.factor} whenever the val loss rises, patience {cfg.patience}"
    else:
        what = f"x{cfg.factor} once, at the first rise of the val loss, patience {cfg.patience}"
    return f", schedule {cfg.schedule} ({what})"


def write_results(result: CompareResult, base: RunConfig, seeds, title=None,
                  command=None) -> dict:
    """Write ``results.md``, ``results.csv``, ``results.json`` and ``curves.png``."""
    from .atomic import write_json, write_text
    from .plots import plot_curves
    from .provenance import versions

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
    num_params = next((int(r.theta.shape[0]) for rs in result.runs.values() for r in rs
                       if r.theta.size), 0)
    title = title or (f"{base.model} on {base.dataset}: mean ± std over "
                      f"{len(list(seeds))} seed(s)")
    files["plot"] = plot_curves(curves, out / "curves.png", title=title)

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
        f"* train metrics on {'all training examples' if base.eval_max is None else f'a fixed subset of at most {base.eval_max} training examples'}; "
        + ("validation on the test set (training on all training examples)"
           if base.val_set == "test" else
           f"validation on 10% held out of the training set (split_seed {base.split_seed})")
        + ("; pixels standardised with the training mean and std" if base.standardize
           else "; pixels scaled to [0, 1]")
        + (f"; training on a seeded subset of {base.max_train} examples"
           if base.max_train else ""),
        f"* total wall time: {result.wall_time:.1f} s", "",
        markdown_table(result.rows), "", "Settings per approach:", ""]
    for spec in result.specs:
        cfg = result.runs[spec.label][0].config
        sched = _describe_schedule(spec, cfg, result.references.get(spec.label))
        extra = f", {cfg.optimizer_kwargs}" if cfg.optimizer_kwargs else ""
        lines.append(f"* {spec.label}: `{cfg.optimizer}`, lr {cfg.lr:g}, batch "
                     f"{cfg.batch_size}{sched}{extra}")
    diverged = [r for rs in result.runs.values() for r in rs if r.status == "diverged"]
    if diverged:
        lines += ["", "Diverged runs (metrics above use their last good epoch):", ""]
        lines += [f"* {r.message}" for r in diverged]
    lines += ["", f"Curves: `{files['plot'].name}`; per-run files under `<label>/seed<k>/`.",
              ""]
    write_text(out / "results.md", "\n".join(lines))
    files["markdown"] = out / "results.md"

    write_json(out / "results.json", {     # strict JSON: a diverged row's NaN is null
        "command": command, "title": title, "wall_time": result.wall_time,
        "seeds": list(seeds), "base": base.to_dict(), "rows": result.rows,
        "runs": {label: [{"seed": r.config.seed, "status": r.status,
                          "wall_time": r.wall_time, "final": r.final,
                          "config": r.config.to_dict()} for r in rs]
                 for label, rs in result.runs.items()},
        "versions": versions(),
    })
    files["json"] = out / "results.json"
    return files
