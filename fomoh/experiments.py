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
``plateau``), ``gamma``, ``every``, ``factor``, ``patience``, ``label``; every other key is
passed to the optimizer's constructor (``K``, ``momentum``, ``curvature``, ``damping``, ...).
Settings not given in a specification come from the common options (``--lr``,
``--batch-size``, ...), and then from the optimizer's default learning rate
(:data:`DEFAULT_LR`). The names ``backprop`` and ``bp`` mean SGD on back-propagated
gradients.

Presets
-------
:data:`PRESETS` bundles the data set, model, epochs, seeds and specifications of an
experiment: ``digits`` (the default of ``fomoh compare``), ``mnist-logreg`` (the paper's
Table 1 / appendix Table 3) and ``mnist-cnn`` (Table 2 / appendix Table 4).
"""

from __future__ import annotations

import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .train import (ConfigError, NonFiniteLossError, OutputExistsError, RunConfig, RunResult,
                    _check_output,
                    build_model, build_optimizer, prepare_data, read_history, train)

__all__ = ["Spec", "parse_spec", "Preset", "PRESETS", "DEFAULT_LR", "CompareResult",
           "compare", "summarize", "markdown_table", "write_results", "slug"]

#: Default learning rate of each optimizer when neither the specification nor ``--lr`` sets
#: one (chosen on the digits data; second-order methods are normalised by curvature).
DEFAULT_LR = {"fgd": 0.01, "fomoh": 0.5, "fomoh-bp": 0.5, "fomoh-kd": 0.5, "newton": 1.0,
              "sgd": 0.1, "adam": 0.01,
              # companion papers (issue 5): the papers' step factors
              "damped-newton": 0.5, "hf-newton": 0.5, "hf-gauss-newton": 0.5,
              "cs-newton-krylov": 1.0, "partition-newton": 1.0}

_ALIASES = {"backprop": "sgd", "bp": "sgd", "backpropagation": "sgd"}

_SPEC_KEYS = {"lr": float, "batch": int, "batch_size": int, "schedule": str, "gamma": float,
              "every": int, "factor": float, "patience": int, "label": str}


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
        :class:`~fomoh.train.RunConfig` fields to set (``lr``, ``batch_size``, ...).
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

    def config(self, base: RunConfig, seed: int, lr: float | None = None) -> RunConfig:
        """The run of this specification with ``seed``, on top of the common ``base``.

        The learning rate is the specification's ``lr``, else ``lr``, else the optimizer's
        default (:data:`DEFAULT_LR`); ``base.lr`` is not used.
        """
        values = base.to_dict()
        values.update(optimizer=self.optimizer, seed=int(seed), label=self.label)
        values["lr"] = self.settings.get("lr", lr if lr is not None
                                         else default_lr(self.optimizer))
        values["optimizer_kwargs"] = {**base.optimizer_kwargs, **self.optimizer_kwargs}
        values.update({k: v for k, v in self.settings.items() if k != "lr"})
        return RunConfig.from_dict(values).validate()


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


# The MNIST presets follow the paper's released scripts: pixels standardised (their
# Normalize((0.1307,), (0.3081,)) are the training mean and std we compute), all 60,000
# training images used for training and the 10,000 test images as the validation set.
#
# Paper, appendix A.3 (Table 3): logistic regression on MNIST. The schedule reduces the
# learning rate at each epoch where the validation NLL rises: x0.1, x0.8 for FoMoH-3D.
_LOGREG_SPECS = (
    "fgd:lr=0.00006497,batch=128",
    "fomoh:lr=0.1362,batch=1024",
    "fomoh:lr=0.1362,batch=1024,schedule=plateau,factor=0.1",
    "fomoh-2d:lr=0.04221,batch=512",
    "fomoh-2d:lr=0.04221,batch=512,schedule=plateau,factor=0.1",
    "fomoh-3d:lr=0.1,batch=512",
    "fomoh-3d:lr=0.1,batch=512,schedule=plateau,factor=0.8",
    "fomoh-bp:lr=0.04688,batch=2048",
    "sgd:lr=0.03561,batch=2048,label=Backpropagation",
)

# Paper, appendix A.4 (Table 4): the CNN on MNIST; schedules divide the rate by 10 every
# 1000 epochs.
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
        specs=_LOGREG_SPECS, standardize=True, val_set="test"),
    "mnist-cnn": Preset(
        description="paper Table 2: the CNN on MNIST, appendix Table 4 hyper-parameters "
                    "(3,000 epochs, 3 seeds in the paper)",
        dataset="mnist", model="mnist_cnn", epochs=3000, seeds=(0, 1, 2), specs=_CNN_SPECS,
        eval_max=10000, standardize=True, val_set="test"),
}


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
    """

    runs: dict
    specs: list
    rows: list
    wall_time: float
    out_dir: Path | None
    files: dict = field(default_factory=dict)


def compare(base: RunConfig, specs: list[Spec], seeds, out_dir=None, *, lr=None,
            resume=False, quiet=False, log=None, title=None, command=None,
            overwrite=False) -> CompareResult:
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
    runs: dict[str, list[RunResult]] = {}
    for spec in specs:
        runs[spec.label] = []
        for config in configs[spec.label]:
            run_dir = out / slug(spec.label) / f"seed{config.seed}" if out else None
            try:
                result = train(config, run_dir, resume=resume, quiet=quiet, data=data,
                               log=log, overwrite=overwrite)
            except NonFiniteLossError as exc:
                log(str(exc))
                result = _diverged_result(config, run_dir, str(exc))
            runs[spec.label].append(result)
            final = result.final
            if final:
                log(f"{spec.label:>24s} seed {config.seed}: {result.status}, "
                    f"{final['epoch']} epochs, train loss {final['train_loss']:.4f}, "
                    f"val loss {final['val_loss']:.4f}, val acc {final['val_acc']:.4f}, "
                    f"{result.wall_time:.1f} s")
    result = CompareResult(runs=runs, specs=list(specs), rows=summarize(runs),
                           wall_time=time.perf_counter() - t0, out_dir=out)
    if out is not None:
        result.files = write_results(result, base, seeds, title=title, command=command)
    return result


def _diverged_result(config: RunConfig, run_dir, message: str) -> RunResult:
    """The record of a run stopped by a NaN loss (history read back from its folder)."""
    history = read_history(run_dir) if run_dir and (Path(run_dir) / "history.json").exists() \
        else []
    return RunResult(config=config, theta=np.empty(0), history=history, status="diverged",
                     wall_time=float(history[-1]["wall_time"]) if history else 0.0,
                     out_dir=run_dir, message=message)


# --------------------------------------------------------------------------- tables

_METRICS = (("train_loss", "train loss"), ("val_loss", "val loss"),
            ("train_acc", "train acc"), ("val_acc", "val acc"))


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
        "deviation over seeds (ddof=0); losses are mean cross-entropy (NLL)",
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
        sched = "" if cfg.schedule == "none" else (
            f", schedule {cfg.schedule} (" + (f"x{cfg.factor} when val loss rises, patience "
                                              f"{cfg.patience}" if cfg.schedule == "plateau"
                                              else f"x{cfg.gamma} every {cfg.every} epochs")
            + ")")
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
