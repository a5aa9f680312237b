"""Running one method of a companion-paper experiment, and its table and loss plot.

Every step is the project's one step loop (:func:`hyperlab.loop.steps`) with
``obj = optimizers.ModelObjective(model, X_batch, y_batch)``; Newton-Krylov also gets
``obj.global_grad``, the gradient on a fixed set of training images.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

import optimizers
from hyperdual import namespace
from hyperlab import loop
from hyperlab.atomic import write_json
from hyperlab.data import epoch_rng, iterate_minibatches, load_dataset, num_batches
from hyperlab.evaluation import evaluate

__all__ = [
    "GLOBAL_SUBSET",
    "EVAL_SUBSET",
    "MethodSpec",
    "load_mnist",
    "subset",
    "global_gradient",
    "run_method",
    "markdown_table",
    "plot_losses",
    "write_results",
    "log_to",
]

GLOBAL_SUBSET = 1024
"""Training images in the fixed subset on which Newton-Krylov's "global gradient" is taken
(one LeNet-5 gradient on 1,024 images costs about 3 s on the 2 shared CPU cores we had)."""

EVAL_SUBSET = 10_000
"""Training images (fixed random subset) on which the final training loss is evaluated."""


# --------------------------------------------------------------------------- running one method


@dataclass
class MethodSpec:
    """One row of a table: a registry name, its settings and a label."""

    label: str
    optimizer: str
    kwargs: dict = field(default_factory=dict)
    budget: float = 300.0  # wall-clock seconds
    note: str = ""


def load_mnist(data_dir, flatten, quick):
    """MNIST in float64, no validation split; the first 2,000 training images with ``quick``."""
    return load_dataset(
        "mnist",
        data_dir=data_dir,
        flatten=flatten,
        dtype=np.float64,
        val_fraction=0.0,
        max_train=2000 if quick else None,
    )


def subset(X, y, n, seed):
    """A seeded random subset of at most ``n`` examples (in their original order)."""
    if len(y) <= n:
        return X, y
    pick = np.sort(np.random.default_rng(seed).choice(len(y), n, replace=False))
    return X[pick], y[pick]


def global_gradient(model, X, y, chunk=1024):
    """``theta -> (loss, gradient)`` averaged over the fixed set (X, y), in chunks.

    ``X`` and ``y`` stay on the host; each chunk is copied to θ's device explicitly."""

    def global_grad(theta):
        xp = namespace(theta)
        total, grad = 0.0, xp.zeros_like(theta)
        for start in range(0, len(y), chunk):
            value, g = model.value_and_grad(
                theta, xp.asarray(X[start : start + chunk]), xp.asarray(y[start : start + chunk])
            )
            n = len(y[start : start + chunk])
            total += float(value) * n
            grad += g * n
        return total / len(y), grad / len(y)

    return global_grad


def run_method(
    spec: MethodSpec,
    model,
    data,
    *,
    batch_size=64,
    epochs=7,
    seed=0,
    global_subset=None,
    eval_every=None,
    eval_max=EVAL_SUBSET,
    log=print,
):
    """Train ``model`` with one optimizer until ``epochs`` or ``spec.budget`` seconds.

    The steps are :func:`hyperlab.loop.steps` with ``obj = optimizers.ModelObjective(model,
    X_batch, y_batch)`` (Newton-Krylov also gets ``obj.global_grad``, the gradient on
    ``global_subset`` fixed training images, or on all of them for ``global_subset="all"``,
    the paper's choice); a NaN, infinite or huge (above 1e8) loss or a non-finite θ stops
    the run as diverged. The wall time counts the optimizer steps only, not the evaluations.
    θ starts on the current backend (``model.init_params``); the data stay on the host and
    each minibatch is copied to θ's device explicitly, as in :func:`hyperlab.train.train`.

    Returns a dict: label, optimizer, settings, steps, epochs (fractional), wall time,
    seconds per step, per-step batch losses, evaluation curve points ``(step, time,
    train_loss, test_acc)``, final training loss (``eval_max`` fixed training images),
    test loss and accuracy (10,000 test images), status ("epochs", "budget" or "diverged"),
    and optimizer counters.
    """
    opt = optimizers.build(spec.optimizer, seed=seed, **spec.kwargs)
    theta = model.init_params(seed=seed, dtype=np.float64)
    xp = namespace(theta)
    X_eval, y_eval = subset(data.X_train, data.y_train, eval_max, seed + 1)
    global_grad = None
    if global_subset == "all":
        global_grad = global_gradient(model, data.X_train, data.y_train)
    elif global_subset:
        Xg, yg = subset(data.X_train, data.y_train, int(global_subset), seed + 2)
        global_grad = global_gradient(model, Xg, yg)
    per_epoch = num_batches(len(data.y_train), batch_size)
    if eval_every is None:
        eval_every = per_epoch

    def objective(batch):
        X, y = batch
        return optimizers.ModelObjective(
            model, xp.asarray(X), xp.asarray(y), global_grad=global_grad
        )

    def evaluation(step, wall):
        with np.errstate(all="ignore"):
            train_loss, train_acc = evaluate(model, theta, X_eval, y_eval)
            test_loss, test_acc = evaluate(model, theta, data.X_test, data.y_test)
        return {
            "step": step,
            "time": wall,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "test_loss": test_loss,
            "test_acc": test_acc,
        }

    losses, curve, wall, step, status = [], [], 0.0, 0, "epochs"
    curve.append(evaluation(0, 0.0))
    log(
        f"[{spec.label}] start: train loss {curve[0]['train_loss']:.4f}, "
        f"budget {spec.budget:.0f} s, {per_epoch} steps per epoch"
    )
    for epoch in range(epochs):
        batches = iterate_minibatches(
            data.X_train, data.y_train, batch_size, epoch_rng(seed, epoch)
        )
        for taken in loop.steps(opt, theta, batches, objective, xp=xp):
            wall += taken.seconds
            step += 1
            losses.append(taken.loss)
            if taken.diverged:
                status = "diverged"
                log(f"[{spec.label}] diverged at step {step} ({taken.problem.rstrip(',')})")
                break
            theta = taken.theta
            if step % eval_every == 0:
                curve.append(evaluation(step, wall))
                log(
                    f"[{spec.label}] step {step} ({step / per_epoch:.2f} epochs, {wall:.0f} s): "
                    f"train loss {curve[-1]['train_loss']:.4f}, "
                    f"test acc {curve[-1]['test_acc']:.4f}"
                )
            if wall >= spec.budget:
                status = "budget"
                break
        if status != "epochs":
            break
    if curve[-1]["step"] != step and status != "diverged":
        curve.append(evaluation(step, wall))
    final = curve[-1]
    counters = {
        k: getattr(opt, k)
        for k in (
            "jitter_count",
            "skipped",
            "early_terminations",
            "small_curvature_fixes",
            "fallbacks",
            "adjustments",
            "cg_iterations",
        )
        if hasattr(opt, k)
    }
    record = {
        "label": spec.label,
        "optimizer": spec.optimizer,
        "settings": spec.kwargs,
        "note": spec.note,
        "budget": spec.budget,
        "status": status,
        "steps": step,
        "epochs": step / per_epoch,
        "wall_time": wall,
        "seconds_per_step": wall / step if step else math.nan,
        "train_loss": final["train_loss"],
        "train_acc": final["train_acc"],
        "test_loss": final["test_loss"],
        "test_acc": final["test_acc"],
        "last_batch_loss": float(np.mean(losses[-50:])) if losses else math.nan,
        "batch_losses": losses,
        "curve": curve,
        "counters": counters,
    }
    log(
        f"[{spec.label}] {status}: {step} steps ({record['epochs']:.2f} epochs) in {wall:.0f} s; "
        f"train loss {record['train_loss']:.4f}, test acc {record['test_acc']:.4f}"
    )
    return record


# --------------------------------------------------------------------------- tables and plots


def markdown_table(records, extra_columns=()):
    """The results table: one row per method."""
    head = [
        "method",
        "settings",
        "steps (epochs)",
        "stopped by",
        "wall time (s)",
        "s / step",
        "train loss",
        "test acc",
    ] + [c for c, _ in extra_columns]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
        cells = [
            r["label"],
            settings,
            f"{r['steps']} ({r['epochs']:.2f})",
            r["status"],
            f"{r['wall_time']:.0f}",
            f"{r['seconds_per_step']:.3g}",
            f"{r['train_loss']:.4f}",
            f"{r['test_acc']:.4f}",
        ]
        cells += [fn(r) for _, fn in extra_columns]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot_losses(records, path, title, smooth=20):
    """Minibatch losses (moving average of ``smooth``) against steps and against wall time."""
    fig = Figure(figsize=(11, 4), layout="tight")
    axes = fig.subplots(1, 2)
    for r in records:
        loss = np.asarray(r["batch_losses"])
        if loss.size == 0:
            continue
        k = min(smooth, loss.size)
        smoothed = np.convolve(loss, np.ones(k) / k, mode="valid")
        steps = np.arange(k, loss.size + 1)
        times = np.linspace(0, r["wall_time"], loss.size + 1)[k:]
        axes[0].plot(steps, smoothed, label=r["label"])
        axes[1].plot(times, smoothed, label=r["label"])
    for ax, xlabel in zip(axes, ("step", "wall time of the steps (s)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"minibatch training loss (moving average of {smooth})")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    return path


def write_results(out, name, records, table, header):
    """``results.json`` (every record) and ``results.md`` (``header`` and ``table``)."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"experiment": name, "records": records})
    (out / "results.md").write_text(header + "\n\n" + table + "\n")


def log_to(log):
    """``log``, or printing to stderr (flushed) when it is None."""
    return log if log is not None else (lambda msg: print(msg, file=sys.stderr, flush=True))
