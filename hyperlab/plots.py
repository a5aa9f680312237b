"""Plots of training curves (matplotlib's object API: no display and no global backend).

The layout follows the FoMoH paper's Figures 3 and 4: a 2×2 grid with the training and
validation negative log-likelihood on top and the accuracies below, one colour per
optimizer, the mean over seeds as a line and ± one standard deviation as a band.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["plot_curves", "stack_histories"]

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
