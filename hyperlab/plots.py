"""Plots of training curves (matplotlib's object API: no display and no global backend).

The layout follows the FoMoH paper's Figures 3 and 4: a 2×2 grid with the training and
validation negative log-likelihood on top and the accuracies below, one colour per
optimizer, the mean over seeds as a line and ± one standard deviation as a band.
"""

from __future__ import annotations

import csv
import gzip
import json
import warnings
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["plot_curves", "stack_histories", "load_curves"]

_PANELS = (
    ("train_loss", "training NLL"),
    ("val_loss", "validation NLL"),
    ("train_acc", "training accuracy"),
    ("val_acc", "validation accuracy"),
)


def stack_histories(histories: list[list[dict]], key: str) -> np.ndarray:
    """One metric of several runs as an array ``(runs, epochs)``.

    Runs shorter than the longest (e.g. a diverged one) are padded with NaN, so means and
    standard deviations are taken over the runs that reached each epoch.
    """
    length = max((len(h) for h in histories), default=0)
    out = np.full((len(histories), length), np.nan)
    for i, history in enumerate(histories):
        out[i, : len(history)] = [record[key] for record in history]
    return out


_HISTORY_FILES = ("history.json", "history.csv", "history.csv.gz")
"""What a run folder's history may be kept as (an archive keeps the compressed CSV)."""


def _open_csv(run_dir: Path):
    """The run's ``history.csv`` (or ``history.csv.gz``) opened as text."""
    if (run_dir / "history.csv").is_file():
        return open(run_dir / "history.csv", newline="")
    return gzip.open(run_dir / "history.csv.gz", "rt", newline="")


def _read_run_history(run_dir: Path) -> list[dict]:
    """One run's per-epoch records: ``history.json``, else the CSV (numbers parsed)."""
    if (run_dir / "history.json").is_file():
        return json.loads((run_dir / "history.json").read_text())
    with _open_csv(run_dir) as fh:
        rows = list(csv.DictReader(fh))
    # an empty cell is a metric the run did not record (e.g. an older run's step_loss)
    return [
        {
            k: float(v) if v != "" else float("nan")
            for k, v in row.items()
            if k not in ("label", "seed")
        }
        for row in rows
    ]


def _run_label(run_dir: Path) -> str:
    """The label a run was written under (``config.json``'s ``label``, else the history's)."""
    config = run_dir / "config.json"
    if config.is_file():
        label = json.loads(config.read_text()).get("label")
        if label:
            return label
    with _open_csv(run_dir) as fh:
        return next(csv.DictReader(fh))["label"]


def load_curves(run_dir, labels: list[str] | None = None) -> dict[str, list[list[dict]]]:
    """The histories of a ``fomoh compare`` folder, ``label -> [history per seed]``.

    Reads every ``<run_dir>/<label>/seed<k>/`` holding a history (finished, diverged or
    still running; ``history.json``, ``history.csv`` or ``history.csv.gz``), so a comparison
    can be re-plotted while it runs or from an archive of its histories. Labels are ordered
    as in ``results.json`` when it exists, else by folder name; ``labels`` selects and
    orders them (an unknown label is a ``ValueError``).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder")
    found: dict[str, list[tuple[int, list[dict]]]] = {}
    for seed_dir in sorted(run_dir.glob("*/seed*")):
        if not any((seed_dir / name).is_file() for name in _HISTORY_FILES):
            continue
        seed = int(seed_dir.name.removeprefix("seed"))
        found.setdefault(_run_label(seed_dir), []).append((seed, _read_run_history(seed_dir)))
    if not found:
        raise FileNotFoundError(f"{run_dir}: no <label>/seed<k>/history.csv below it")
    order = list(found)
    results = run_dir / "results.json"
    if results.is_file():
        listed = [row["label"] for row in json.loads(results.read_text()).get("rows", [])]
        order = [label for label in listed if label in found]
        order += [label for label in found if label not in order]
    if labels is not None:
        unknown = [label for label in labels if label not in found]
        if unknown:
            raise ValueError(
                f"{run_dir}: no runs labelled {', '.join(map(repr, unknown))}; "
                f"found {', '.join(map(repr, order))}"
            )
        order = list(labels)
    return {label: [h for _, h in sorted(found[label], key=lambda t: t[0])] for label in order}


def plot_curves(
    curves: dict[str, list[list[dict]]], path, title: str | None = None, log_loss: bool = True
) -> Path:
    """Plot loss and accuracy curves of several optimizers and save the figure.

    Parameters
    ----------
    curves : dict
        ``label -> list of histories`` (one history per seed; a history is the list of
        per-epoch records written by :func:`hyperlab.train.train`).
    path : path-like
        Output image (``.png``, ``.pdf``, ``.svg``).
    title : str, optional
        Figure title.
    log_loss : bool, default True
        Logarithmic y-axis for the loss panels.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fig = Figure(figsize=(11, 7.5), layout="tight")
    axes = fig.subplots(2, 2, sharex=True)
    colours = colormaps["tab10"]
    styles = _line_styles(list(curves))
    for label, histories in curves.items():
        histories = [h for h in histories if h]
        if not histories:
            continue
        colour, style = styles[label]
        colour = colours(colour % 10)
        for ax, (key, _) in zip(axes.flat, _PANELS):
            values = stack_histories(histories, key)
            epochs = np.arange(1, values.shape[1] + 1)
            with np.errstate(invalid="ignore"), _quiet_nan_warnings():
                mean = np.nanmean(values, axis=0)
                std = np.nanstd(values, axis=0)
            ax.plot(
                epochs,
                mean,
                style,
                color=colour,
                lw=1.6,
                label=f"{label} (n={len(histories)})" if len(histories) > 1 else label,
                marker="o" if len(epochs) == 1 else None,
            )
            if len(histories) > 1:
                ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
    for ax, (key, name) in zip(axes.flat, _PANELS):
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        if key.endswith("loss") and log_loss:
            ax.set_yscale("log")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _line_styles(labels: list[str]) -> dict[str, tuple[int, str]]:
    """Colour index and line style per label.

    Variants of one method share its colour: the part of the label before `` (`` is the
    method ("FoMoH-2D (LR-sch.)" is a variant of "FoMoH-2D"); the first label of a method is
    drawn solid, further variants dashed, then dotted.
    """
    bases: dict[str, int] = {}
    seen: dict[str, int] = {}
    out = {}
    for label in labels:
        base = label.split(" (")[0]
        bases.setdefault(base, len(bases))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[label] = (bases[base], ("-", "--", ":", "-.")[n % 4])
    return out


class _quiet_nan_warnings:
    """Silence 'Mean of empty slice' warnings for epochs no run reached."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
