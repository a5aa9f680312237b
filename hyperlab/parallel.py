"""Independent training runs in parallel processes (``fomoh compare --jobs N``).

A comparison is many independent (specification, seed) runs. :func:`run_all` trains them
``jobs`` at a time, each in a fresh process started with the ``spawn`` method, so nothing is
inherited from the parent but the arguments:

* **one BLAS thread per run**: ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
  ``MKL_NUM_THREADS`` (and the other variables of :data:`BLAS_ENV`) are set to 1 in the
  child's environment before it starts, i.e. before it imports NumPy, and
  ``threadpoolctl`` limits the pools again inside it. With ``jobs=1`` the runs are trained
  one after another in this process, under the same one-thread limit, so a run's numbers do
  not depend on ``jobs`` (a BLAS library may sum in another order with another thread count).
* **own checkpoints**: each run writes its own folder (``<out>/<label>/seed<k>/``), so
  ``resume=True`` continues every run that did not finish and reads back those that did.
* **progress**: a bar over the runs (runs done / total, the slowest unfinished run's epoch)
  on a terminal, else a plain log line when a run finishes and every ``interval`` seconds.

The results are the same objects :func:`hyperlab.train.train` returns, in the order of the
tasks, so a comparison run with ``jobs=4`` writes the same ``results.csv`` and histories as
one run with ``jobs=1`` (only the wall-time columns differ).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue as queue_module
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .builders import prepare_data
from .checkpoint import CheckpointError, load_checkpoint
from .config import ConfigError, RunResult
from .data import DataError
from .train import NonFiniteLossError, read_history, train

__all__ = ["Task", "run_all", "default_jobs", "one_blas_thread", "BLAS_ENV"]

BLAS_ENV = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""Environment variables that fix the thread count of the BLAS / OpenMP libraries."""


def default_jobs() -> int:
    """One job per CPU core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Task:
    """One run of a comparison.

    Attributes
    ----------
    key : tuple
        ``(label, seed)``; names the run in progress lines and results.
    config : hyperlab.train.RunConfig
    run_dir : pathlib.Path or None
        The run's own folder (checkpoints, history), or None to write nothing.
    after : tuple of keys
        Runs that must finish first (``milestone=auto`` reads their histories).
    prepare : callable, optional
        ``results -> RunConfig``, called with the finished runs (``key -> RunResult``) just
        before this one starts; its return value replaces ``config``.
    """

    key: tuple
    config: Any
    run_dir: Path | None
    after: tuple = ()
    prepare: Callable | None = None

    def ready(self, results: dict) -> bool:
        return all(key in results for key in self.after)

    def resolve(self, results: dict) -> Task:
        """Set the final ``config`` from the finished runs (when ``prepare`` is given)."""
        if self.prepare is not None:
            self.config = self.prepare(results)
            self.prepare = None
        return self


@contextlib.contextmanager
def one_blas_thread():
    """Limit the BLAS/OpenMP thread pools already loaded in this process to one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; be lenient
        yield
        return
    with threadpool_limits(limits=1):
        yield


@contextlib.contextmanager
def _child_environment():
    """``os.environ`` with one BLAS thread while child processes are started (restored)."""
    saved = {name: os.environ.get(name) for name in BLAS_ENV}
    os.environ.update({name: "1" for name in BLAS_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------- one run


def _train_one(task: Task, base, data, resume, quiet, log, on_epoch, overwrite=False):
    """Train one task; a diverged run becomes a result with status "diverged"."""
    try:
        return train(
            task.config,
            task.run_dir,
            resume=resume,
            quiet=quiet,
            data=data,
            log=log,
            on_epoch=on_epoch,
            overwrite=overwrite,
        )
    except NonFiniteLossError as exc:
        log(str(exc))
        return _diverged_result(task.config, task.run_dir, str(exc))


def _diverged_result(config, run_dir, message: str):
    """The record of a run stopped by a NaN loss (history read back from its folder)."""
    history = read_history(run_dir) if run_dir and (Path(run_dir) / "history.json").exists() else []
    return RunResult(
        config=config,
        theta=np.empty(0),
        history=history,
        status="diverged",
        wall_time=float(history[-1]["wall_time"]) if history else 0.0,
        out_dir=run_dir,
        message=message,
    )


def _start_epoch(task: Task, resume: bool) -> int:
    """The epoch a run starts from (that of its checkpoint when resuming)."""
    if not resume or task.run_dir is None:
        return 0
    path = Path(task.run_dir) / "checkpoint.npz"
    if not path.exists():
        return 0
    try:
        return int(load_checkpoint(path)["epoch"])
    except CheckpointError:
        return 0  # train() reports it properly


def _load_data(base, data_file):
    """The run's data: the parent's copy (a pickle it wrote for its children) or loaded."""
    if data_file is not None:
        with open(data_file, "rb") as fh:
            return pickle.load(fh)
    return prepare_data(base)


def _child(task: Task, base, resume: bool, messages, data_file=None, overwrite=False) -> None:
    """Entry point of a child process: train ``task``, report through ``messages``."""
    for name in BLAS_ENV:  # normally already set by the parent
        os.environ.setdefault(name, "1")
    key = task.key
    try:
        with one_blas_thread():
            messages.put(("epoch", key, _start_epoch(task, resume)))
            data = _load_data(base, data_file)
            result = _train_one(
                task,
                base,
                data,
                resume,
                True,
                lambda line: messages.put(("log", key, line)),
                lambda record: messages.put(("epoch", key, record["epoch"])),
                overwrite,
            )
        messages.put(("done", key, result))
    except KeyboardInterrupt:
        messages.put(("interrupted", key, None))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises it
        messages.put(("error", key, (type(exc), str(exc), traceback.format_exc())))


# --------------------------------------------------------------------------- progress


class _Progress:
    """Runs done / total and the slowest unfinished run's epoch, as a bar or log lines."""

    def __init__(self, tasks, quiet, log, interval):
        self.total = len(tasks)
        self.epochs = {t.key: 0 for t in tasks}
        self.target = {t.key: t.config.epochs for t in tasks}
        self.running: set = set()
        self.done = 0
        self.quiet, self.log, self.interval = quiet, log, interval
        self.bar = None
        self.last_line = time.monotonic()
        if not quiet and sys.stderr.isatty():
            self.bar = tqdm(total=self.total, desc="runs", unit="run", dynamic_ncols=True)

    def slowest(self) -> str:
        """``label seed k at epoch e/E`` for the unfinished run with the fewest epochs."""
        waiting = [k for k in self.epochs if k in self.running]
        if not waiting:
            return "none running"
        key = min(waiting, key=lambda k: (self.epochs[k] / self.target[k], k[1]))
        return f"slowest {key[0]} seed {key[1]} at epoch {self.epochs[key]}/{self.target[key]}"

    def status(self) -> str:
        if self.done == self.total:
            return f"[{self.done}/{self.total} runs done]"
        return f"[{self.done}/{self.total} runs done, {len(self.running)} running] {self.slowest()}"

    def started(self, key):
        self.running.add(key)

    def epoch(self, key, epoch):
        self.epochs[key] = epoch
        if self.bar is not None:
            self.bar.set_postfix_str(self.slowest())
        elif not self.quiet and time.monotonic() - self.last_line >= self.interval:
            self.line(self.status())

    def finished(self, key, summary: str):
        self.running.discard(key)
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(self.slowest())
            self.bar.write(summary)
        elif not self.quiet:
            self.line(f"{summary}\n  {self.status()}")

    def line(self, text):
        self.last_line = time.monotonic()
        if self.bar is not None:
            self.bar.write(text)
        else:
            self.log(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _summary(key, result) -> str:
    final = result.final
    if not final:
        return f"{key[0]:>24s} seed {key[1]}: {result.status}, no completed epoch"
    return (
        f"{key[0]:>24s} seed {key[1]}: {result.status}, {final['epoch']} epochs, "
        f"train loss {final['train_loss']:.4f}, val loss {final['val_loss']:.4f}, "
        f"val acc {final['val_acc']:.4f}, {result.wall_time:.1f} s"
    )


# --------------------------------------------------------------------------- the pool


def run_all(
    tasks: list[Task],
    base,
    *,
    jobs: int = 1,
    resume: bool = False,
    quiet: bool = False,
    log: Callable[[str], Any] = print,
    data=None,
    interval: float = 60.0,
    overwrite: bool = False,
) -> list:
    """Train every task, ``jobs`` at a time; return their results in the order of ``tasks``.

    Parameters
    ----------
    tasks : list of Task
    base : hyperlab.train.RunConfig
        The common settings; its data fields (data set, split, dtype, ...) say which data
        every run trains on (each child process loads them once).
    jobs : int
        Processes at a time; 1 trains the runs in this process, one after another.
    resume : bool
        Continue every run from its checkpoint (finished runs are read back).
    quiet : bool
        No progress output.
    log : callable
        Receives the progress lines (when stderr is not a terminal) and run summaries.
    data : hyperlab.data.Dataset, optional
        Already loaded data (``prepare_data(base)``); with ``jobs > 1`` it is written once
        to a temporary file that every child reads, instead of each loading the data set.
    interval : float
        Seconds between plain progress lines.
    overwrite : bool
        Replace the files of earlier runs in the tasks' folders (``hyperlab.train.train``).

    Raises
    ------
    The first error of any run (``ConfigError``, ``CheckpointError``, ``DataError`` keep their
    type; others become ``RuntimeError`` with the child's traceback). The other runs are
    stopped; their checkpoints stay, so ``resume=True`` continues them.
    KeyboardInterrupt
        After stopping the children.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs}")
    if not tasks:
        return []
    keys = {t.key for t in tasks}
    missing = sorted({str(k) for t in tasks for k in t.after if k not in keys})
    if missing or len(keys) != len(tasks):
        raise ValueError(
            f"tasks must have distinct keys and wait only for each other (unknown: {missing})"
        )
    if jobs == 1:
        return _run_here(tasks, base, resume, quiet, log, data, interval, overwrite)
    with tempfile.TemporaryDirectory(prefix="fomoh-compare-") as tmp:
        data_file = None
        if data is not None:
            data_file = os.path.join(tmp, "data.pickle")
            with open(data_file, "wb") as fh:
                pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return _run_in_processes(
            tasks, base, min(jobs, len(tasks)), resume, quiet, log, interval, data_file, overwrite
        )


def _run_here(tasks, base, resume, quiet, log, data, interval, overwrite=False):
    progress = _Progress(tasks, True, log, interval)  # each run shows its own bars
    results: dict[tuple, Any] = {}
    pending = list(tasks)
    with one_blas_thread():
        if data is None:
            data = prepare_data(base)
        while pending:
            task = _next_ready(pending, results)
            progress.started(task.key)
            result = _train_one(
                task.resolve(results),
                base,
                data,
                resume,
                quiet,
                log if not quiet else (lambda line: None),
                None,
                overwrite,
            )
            results[task.key] = result
            progress.finished(task.key, "")
            if not quiet:
                log(_summary(task.key, result) + f"  [{progress.done}/{progress.total}]")
    return [results[t.key] for t in tasks]


def _next_ready(pending: list, results: dict, block: bool = True):
    """Remove and return the first pending task whose ``after`` runs have finished."""
    for i, task in enumerate(pending):
        if task.ready(results):
            return pending.pop(i)
    if block:
        raise ValueError(
            "the remaining runs wait for each other: " + ", ".join(str(t.key) for t in pending)
        )
    return None


def _run_in_processes(
    tasks, base, jobs, resume, quiet, log, interval, data_file=None, overwrite=False
):
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    pending = list(tasks)
    running: dict[tuple, Any] = {}  # key -> Process
    results: dict[tuple, Any] = {}
    progress = _Progress(tasks, quiet, log, interval)
    if not quiet and progress.bar is None:
        log(f"{len(tasks)} runs, {jobs} at a time (one process and one BLAS thread each)")
    try:
        while pending or running:
            while pending and len(running) < jobs:
                task = _next_ready(pending, results, block=bool(not running))
                if task is None:
                    break
                task.resolve(results)
                process = ctx.Process(
                    target=_child,
                    args=(task, base, resume, messages, data_file, overwrite),
                    name=f"fomoh-run-{task.key[0]}-seed{task.key[1]}",
                    daemon=True,
                )
                with _child_environment():
                    process.start()
                running[task.key] = process
                progress.started(task.key)
            try:
                kind, key, payload = messages.get(timeout=1.0)
            except queue_module.Empty:
                _check_alive(running, results)
                if (
                    not quiet
                    and progress.bar is None
                    and time.monotonic() - progress.last_line >= interval
                ):
                    progress.line(progress.status())
                continue
            if kind == "epoch":
                progress.epoch(key, payload)
            elif kind == "log":
                if not quiet:
                    progress.line(payload)
            elif kind == "done":
                results[key] = payload
                running.pop(key).join()
                progress.finished(key, _summary(key, payload))
            elif kind == "interrupted":
                raise KeyboardInterrupt
            elif kind == "error":
                cls, message, trace = payload
                running.pop(key).join()
                if isinstance(cls, type) and issubclass(
                    cls, (ConfigError, CheckpointError, DataError)
                ):
                    raise cls(message)
                raise RuntimeError(f"run {key[0]!r} seed {key[1]} failed:\n{trace}")
    finally:
        progress.close()
        for process in running.values():  # an error or Ctrl-C: stop the others
            if process.is_alive():
                process.terminate()
        for process in running.values():
            process.join()
        messages.close()
    return [results[t.key] for t in tasks]


def _check_alive(running, results):
    """Raise if a child died without reporting (killed, out of memory, ...)."""
    for key, process in running.items():
        if not process.is_alive() and key not in results and process.exitcode not in (0, None):
            raise RuntimeError(
                f"the process of run {key[0]!r} seed {key[1]} died with exit code "
                f"{process.exitcode} (killed or out of memory?); its last checkpoint is kept, "
                "rerun with --resume to continue"
            )
