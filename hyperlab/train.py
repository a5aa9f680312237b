"""The training loop: a model, a data set and one optimizer, epoch by epoch.

One *run* trains one model with one optimizer from one seed and writes into its own folder:

==================  ===========================================================
``config.json``     the settings of the run (:class:`~hyperlab.config.RunConfig`)
``history.csv``     one row per epoch: learning rate, train/validation loss and
``history.json``    accuracy, mean minibatch loss, steps, jitter, wall time
``checkpoint.npz``  everything needed to continue (see :mod:`hyperlab.checkpoint`),
                    rewritten atomically after every epoch
``summary.json``    final metrics, status (``"completed"`` or ``"diverged"``),
                    wall time
==================  ===========================================================

What happens in one epoch ``e`` (0-based), the steps being :func:`hyperlab.loop.steps`::

    for xb, yb in iterate_minibatches(X_train, y_train, batch_size, epoch_rng(seed, e)):
        f = ModelObjective(model, xb, yb)           # f(θ) = model.loss(θ, xb, yb)
        theta, info = optimizer.step(f, theta, grad=f.value_and_grad)
    evaluate train and validation loss/accuracy with the plain real forward pass
    schedule.step(val_loss)                          # optional LR schedule
    save checkpoint

Two training losses are recorded per epoch: ``train_loss``, the loss at the end of the epoch
re-evaluated on the training set (or its fixed ``eval_max`` subset), and ``step_loss``, the
running mean of the minibatch losses the optimizer saw *before* each of its steps, weighted
by batch size — what the FoMoH paper's scripts report as the training loss
(``loss += n_batch·loss_batch`` over the epoch, divided by N).

Reproducibility. The data split uses ``split_seed`` (fixed across seeds by default, so runs
with different seeds see the same validation set). From ``seed`` come, independently, the
model's initial parameters, the optimizer's random directions and — through
:func:`hyperlab.data.epoch_rng` — the minibatch order of every epoch. Because the batch order
of epoch ``e`` depends only on ``(seed, e)`` and the checkpoint holds θ, the optimizer state
(its random generator included) and the schedule state, a run resumed after epoch ``k``
reaches bit-for-bit the same θ and history as a run that was never interrupted (only the
``wall_time`` column differs).

Divergence. The loss reported by each step and the evaluated losses are checked; the first
NaN, infinity or loss above :data:`DIVERGENCE_LOSS` stops the run with
:class:`NonFiniteLossError`, whose message names the epoch and step. The checkpoint of the
last completed epoch (or of the initial parameters) is left untouched.

Files. Every file is written atomically (a killed run leaves the old version or the new one,
never an empty file), JSON strictly (no ``NaN`` tokens), and an ``out_dir`` that already
holds a run is refused unless ``resume`` or ``overwrite`` is given.

The settings live in :mod:`hyperlab.config`, the parts of a run (data, model, optimizer,
schedule, initial θ) in :mod:`hyperlab.builders`; their names are re-exported here.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import hyperdual
from optimizers import ModelObjective

from .atomic import remove_orphans, write_json, write_text
from .builders import (
    build_model,
    build_optimizer,
    build_schedule,
    canonical_model,
    derived_seed,
    initial_parameters,
    is_image_model,
    prepare_data,
    pytorch_default_init,
)
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import (
    HISTORY_FIELDS,
    INITS,
    RESUME_FREE_KEYS,
    RUN_FILES,
    SCHEDULES,
    ConfigError,
    OutputExistsError,
    RunConfig,
    RunResult,
    field_defaults,
)
from .data import epoch_rng, iterate_minibatches, num_batches
from .evaluation import evaluate
from .loop import DIVERGENCE_LOSS, diverged, divergence_message, info_value, steps
from .progress import Progress
from .provenance import versions

__all__ = [
    "RunConfig",
    "RunResult",
    "NonFiniteLossError",
    "ConfigError",
    "OutputExistsError",
    "DIVERGENCE_LOSS",
    "RUN_FILES",
    "train",
    "evaluate",
    "prepare_data",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "HISTORY_FIELDS",
    "SCHEDULES",
    "INITS",
    "read_history",
    "pytorch_default_init",
    "initial_parameters",
    "canonical_model",
    "is_image_model",
    "check_output",
]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the run was stopped.

    Attributes
    ----------
    epoch : int
        1-based epoch in which it happened.
    step : int or None
        1-based step within that epoch (None when found by the end-of-epoch evaluation).
    checkpoint : pathlib.Path or None
        The last good checkpoint, kept on disk.
    """

    def __init__(self, message, epoch, step=None, checkpoint=None):
        super().__init__(message)
        self.epoch, self.step, self.checkpoint = epoch, step, checkpoint


# --------------------------------------------------------------------------- files


def _write_history(out_dir: Path, history: list[dict], config: RunConfig) -> None:
    """``history.csv`` (with ``label`` and ``seed`` columns, so that the files of several
    runs can be concatenated) and ``history.json``, both atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=("label", "seed") + HISTORY_FIELDS)
    writer.writeheader()
    for record in history:
        writer.writerow(
            {
                "label": config.name,
                "seed": config.seed,
                **{k: record.get(k) for k in HISTORY_FIELDS},
            }
        )
    write_text(out_dir / "history.csv", text.getvalue())
    write_json(out_dir / "history.json", history)


def read_history(out_dir) -> list[dict]:
    """The per-epoch records of the run in ``out_dir`` (from ``history.json``)."""
    return json.loads((Path(out_dir) / "history.json").read_text())


def _write_summary(out_dir: Path, result: RunResult) -> None:
    summary = {
        "label": result.config.name,
        "status": result.status,
        "message": result.message,
        "epochs": len(result.history),
        "wall_time": result.wall_time,
        "final": result.final,
        "num_params": int(result.theta.shape[0]),
        "config": result.config.to_dict(),
        "versions": versions(),
    }
    write_json(out_dir / "summary.json", summary)


def check_output(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``out`` that already holds a run unless it is resumed or overwritten."""
    if resume or overwrite or not out.is_dir():
        return
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing:
        raise OutputExistsError(
            f"{out} already holds a run ({', '.join(existing)}); use --resume to continue "
            "it, --overwrite to replace it, or another --out folder"
        )


def _check_resumable(saved: dict, config: RunConfig, path: Path) -> None:
    """Refuse to resume a checkpoint written by a run with other settings."""
    mine, defaults = config.to_dict(), field_defaults()
    # a setting missing from an older checkpoint had its default value then
    diff = [
        k
        for k in mine
        if k not in RESUME_FREE_KEYS
        and json.loads(json.dumps(saved.get(k, defaults[k]))) != json.loads(json.dumps(mine[k]))
    ]
    if diff:
        details = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {mine[k]!r}" for k in diff)
        raise CheckpointError(
            f"{path}: written by a run with different settings ({details}); "
            "use another --out folder or the original settings"
        )


# --------------------------------------------------------------------------- a run


def _eval_subset(config: RunConfig, data):
    """The fixed part of the training set on which the training loss and accuracy are
    reported: all of it, or a seeded subset of ``config.eval_max`` examples."""
    X, y = data.X_train, data.y_train
    if config.eval_max is not None and len(y) > config.eval_max:
        pick = np.sort(
            np.random.default_rng(derived_seed(config.seed, "eval")).choice(
                len(y), config.eval_max, replace=False
            )
        )
        X, y = X[pick], y[pick]
    return X, y


class _Run:
    """One training run in progress: its parts (data, model, optimizer, schedule, files) and
    its state (θ, the history, the epochs done, the time spent), one method per stage."""

    def __init__(self, config: RunConfig, out: Path | None, data, xp, log):
        self.config, self.out, self.data, self.xp, self.log = config, out, data, xp, log
        self.model = build_model(config, data)
        self.optimizer = build_optimizer(config)
        self.schedule = build_schedule(config, self.optimizer)
        self.X_eval, self.y_eval = _eval_subset(config, data)
        self.ckpt_path = out / "checkpoint.npz" if out is not None else None
        self.n_steps = num_batches(len(data.y_train), config.batch_size)
        self.history: list[dict] = []
        self.epoch, self.wall_before = 0, 0.0
        self.theta = None
        self.t0 = time.perf_counter()

    def wall_time(self) -> float:
        """Seconds spent in this run, its earlier sessions included."""
        return self.wall_before + time.perf_counter() - self.t0

    # ---- start
    def start(self, resume: bool) -> None:
        """Create the folder, then continue from the checkpoint (``resume``) or start from the
        initial parameters; write ``config.json`` and the epoch-0 checkpoint."""
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            remove_orphans(self.out, RUN_FILES)  # left by a run killed while writing
        if resume and self.ckpt_path is not None and self.ckpt_path.exists():
            self._resume()
        else:
            self.theta = initial_parameters(self.config, self.model)
        self.theta = self.xp.asarray(self.theta)  # a resumed θ is copied to the device
        self.t0 = time.perf_counter()
        if self.out is not None:
            write_json(self.out / "config.json", self.config.to_dict())
            if self.epoch == 0:
                self.save_checkpoint()  # the initial parameters: a good state to fall back on

    def _resume(self) -> None:
        """θ, optimizer and schedule state, history and time from the checkpoint."""
        path, config = self.ckpt_path, self.config
        state = load_checkpoint(path)
        _check_resumable(state["config"], config, path)
        theta, dtype = state["theta"], np.dtype(config.dtype)
        if theta.dtype != dtype or theta.shape != (self.model.num_params,):
            raise CheckpointError(
                f"{path}: theta has dtype {theta.dtype} and shape "
                f"{theta.shape}; the model needs {dtype} "
                f"({self.model.num_params},)"
            )
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.schedule is not None:
                self.schedule.load_state_dict(state["schedule"])
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{path}: invalid optimizer or schedule state: {exc}") from exc
        self.theta, self.history, self.epoch = theta, state["history"], state["epoch"]
        self.wall_before = float(state["extra"].get("wall_time", 0.0))
        self.log(f"[{config.name}] resumed from {path} after epoch {self.epoch}")

    # ---- one epoch
    def train_epoch(self, progress: Progress) -> dict:
        """The optimizer steps of epoch ``self.epoch + 1``: the shared step loop over the
        epoch's minibatches. Returns the step statistics of the epoch's history record."""
        config, epoch = self.config, self.epoch
        losses, sizes, jitter = [], [], 0
        batches = progress.bar(
            iterate_minibatches(
                self.data.X_train,
                self.data.y_train,
                config.batch_size,
                epoch_rng(config.seed, epoch),
            ),
            total=self.n_steps,
            leave=False,
            desc=f"epoch {epoch + 1}",
        )
        for record in steps(self.optimizer, self.theta, batches, self._objective, xp=self.xp):
            if record.diverged:
                self.stop(record.problem, step=record.step)
            self.theta = record.theta
            losses.append(record.loss)
            sizes.append(len(record.batch[1]))
            jitter += int(info_value(record.info, "jitter", 0.0) > 0.0)
            progress.line(
                lambda r=record: (
                    f"[{config.name}] epoch {epoch + 1}/{config.epochs}, "
                    f"step {r.step}/{self.n_steps}: loss {r.loss:.4g}"
                )
            )
        return {
            "step_loss": float(np.dot(losses, sizes) / np.sum(sizes)),
            "steps": len(losses),
            "jitter_steps": jitter,
        }

    def _objective(self, batch):
        """``f(θ) = model.loss(θ, xb, yb)``; the objective also carries the model's
        back-propagation, hvp, gnvp and param_groups for the companion-paper optimizers
        (Gauss-Newton, partition Newton; see ``optimizers.curvature``)."""
        xb, yb = batch
        return ModelObjective(self.model, self.xp.asarray(xb), self.xp.asarray(yb))

    def evaluate(self) -> dict:
        """Loss and accuracy on the training (sub)set and the validation set at θ."""
        size, xp = self.config.eval_batch_size, self.xp
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            train_loss, train_acc = evaluate(
                self.model, self.theta, self.X_eval, self.y_eval, size, xp
            )
            val_loss, val_acc = evaluate(
                self.model, self.theta, self.data.X_val, self.data.y_val, size, xp
            )
        if diverged(train_loss) or diverged(val_loss):
            self.stop(
                f"the evaluated loss is not finite or above {DIVERGENCE_LOSS:g} (train "
                f"{train_loss}, validation {val_loss})"
            )
        return {
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
        }

    def end_epoch(self, metrics: dict, stats: dict) -> dict:
        """Record the epoch, step the schedule, save the checkpoint and the history."""
        self.history.append(
            {
                "epoch": self.epoch + 1,
                "lr": float(self.optimizer.lr),
                **metrics,
                **stats,
                "wall_time": self.wall_time(),
            }
        )
        if self.schedule is not None:
            self.schedule.step(metrics["val_loss"])
        self.epoch += 1
        self.save_checkpoint()
        if self.out is not None:
            _write_history(self.out, self.history, self.config)
        return self.history[-1]

    # ---- files and the end
    def save_checkpoint(self) -> None:
        """θ, optimizer and schedule state, history and time after ``self.epoch`` epochs."""
        if self.ckpt_path is None:
            return
        schedule = self.schedule.state_dict() if self.schedule is not None else None
        save_checkpoint(
            self.ckpt_path,
            theta=self.theta,
            optimizer=self.optimizer.state_dict(),
            schedule=schedule,
            epoch=self.epoch,
            history=self.history,
            config=self.config.to_dict(),
            extra={"wall_time": self.wall_time()},
        )

    def stop(self, what: str, step: int | None = None):
        """The run diverged in the current epoch: write what there is, raise."""
        message = divergence_message(
            self.config.name,
            what,
            epoch=self.epoch + 1,
            step=step,
            n_steps=self.n_steps,
            lr=self.optimizer.lr,
            checkpoint=self.ckpt_path,
        )
        self.finish("diverged", message)
        raise NonFiniteLossError(message, self.epoch + 1, step, self.ckpt_path)

    def finish(self, status: str, message: str = "") -> RunResult:
        """The result; the history and ``summary.json`` written."""
        result = RunResult(
            config=self.config,
            theta=hyperdual.to_numpy(self.theta),
            history=self.history,
            status=status,
            wall_time=self.wall_time(),
            out_dir=self.out,
            message=message,
        )
        if self.out is not None:
            _write_history(self.out, self.history, self.config)
            _write_summary(self.out, result)
        return result


def _epoch_line(config: RunConfig, record: dict) -> str:
    return (
        f"[{config.name}] epoch {record['epoch']}/{config.epochs}: train loss "
        f"{record['train_loss']:.4f}, val loss {record['val_loss']:.4f}, val acc "
        f"{record['val_acc']:.4f}, {record['wall_time']:.1f} s"
    )


def train(
    config: RunConfig,
    out_dir=None,
    *,
    resume: bool = False,
    quiet: bool = False,
    data=None,
    log: Callable[[str], Any] | None = None,
    overwrite: bool = False,
    on_epoch: Callable[[dict], Any] | None = None,
) -> RunResult:
    """Train one model with one optimizer; write history, checkpoints and summary.

    Parameters
    ----------
    config : RunConfig
    out_dir : path-like, optional
        Folder of the run's files (created). ``None`` writes nothing (no checkpoints).
    resume : bool
        Continue from ``out_dir/checkpoint.npz`` if it exists (its settings must match
        ``config`` except ``epochs``); otherwise start from scratch.
    quiet : bool
        No progress bars and no log lines. Otherwise bars on a terminal or in a notebook,
        and plain periodic lines elsewhere (a CI log; see :mod:`hyperlab.progress`).
    data : hyperlab.data.Dataset, optional
        Already loaded data (must match ``config``); loaded from ``config`` otherwise.
    log : callable, optional
        Receives one line of text per event (default: print to stderr unless ``quiet``).
    overwrite : bool
        Replace the files of an earlier run in ``out_dir``; without it (or ``resume``) a
        folder that already holds a run is refused with :class:`OutputExistsError`.
    on_epoch : callable, optional
        Called with each epoch's history record once it is checkpointed (progress reports
        of parallel comparisons).

    Returns
    -------
    RunResult

    Raises
    ------
    NonFiniteLossError
        The loss became NaN/inf; the last good checkpoint is kept and the history up to
        the last completed epoch has been written.
    ConfigError, CheckpointError, hyperlab.data.DataError, hyperdual.BackendUnavailableError
    OSError
        An unusable ``out_dir`` (a file, not writable) or a full disk.
    """
    config.validate()
    if log is None:
        log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_output(out, resume, overwrite)
    # The run's backend for this call only: training must not change the process-wide default.
    with hyperdual.using_backend(config.backend) as xp:
        run = _Run(config, out, data if data is not None else prepare_data(config), xp, log)
        run.start(resume)

        progress = Progress(quiet, log)
        progress.line(
            f"[{config.name}] training epochs {run.epoch + 1}-{config.epochs}, "
            f"{run.n_steps} steps each",
            force=True,
        )
        epochs = progress.bar(
            range(run.epoch, config.epochs),
            desc=config.name,
            unit="epoch",
            initial=run.epoch,
            total=config.epochs,
        )
        for _ in epochs:
            stats = run.train_epoch(progress)
            record = run.end_epoch(run.evaluate(), stats)
            progress.line(_epoch_line(config, record), force=run.epoch == config.epochs)
            if on_epoch is not None:
                on_epoch(record)
            if hasattr(epochs, "set_postfix"):
                epochs.set_postfix(
                    train=f"{record['train_loss']:.4f}",
                    val=f"{record['val_loss']:.4f}",
                    acc=f"{record['val_acc']:.3f}",
                )
        return run.finish("completed")
