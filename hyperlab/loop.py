"""The one step loop of the project: build the objective, step, check, record.

Every loop that trains something — :func:`hyperlab.train.train` (epochs of minibatches),
the companion papers' runs and the Rosenbrock runs of ``paper_experiments`` — is
:func:`steps`::

    for batch in batches:
        f = objective(batch)                        # e.g. ModelObjective(model, xb, yb)
        θ_new, info = optimizer.step(f, θ, grad=f.value_and_grad)
        stop if info.loss is NaN, infinite or above max_loss, or θ_new is not finite
        θ ← θ_new

It yields one :class:`StepRecord` per step; the caller records what it needs (losses,
batch sizes, jitter, timings) and may stop earlier (a wall-clock budget, a number of
steps) by leaving the loop.

Divergence. ``info.loss`` is the loss at θ *before* the step (what every optimizer
reports). The first step whose loss is NaN, infinite or above ``max_loss``
(:data:`DIVERGENCE_LOSS` by default) or whose new θ has a non-finite entry is the last: its
record says why (``record.problem``), and the loop's θ stays the one before that step.
:func:`divergence_message` words a divergence the same way for every run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DIVERGENCE_LOSS",
    "Objective",
    "StepRecord",
    "steps",
    "diverged",
    "divergence_message",
    "info_value",
]

DIVERGENCE_LOSS = 1e8
"""A finite loss above this also stops a run as diverged: the cross-entropy of a C-class
model starts near ln C (2.3 for 10 classes), so 1e8 means logits 1e8 apart — a run that has
left every useful region and is on its way to overflow (a loss of 1e300 is still finite)."""


@dataclass(frozen=True)
class Objective:
    """A loss ``f(θ)`` with its back-propagated ``value_and_grad(θ) -> (f, ∇f)`` (optional),
    the interface :class:`optimizers.ModelObjective` has for a model and a batch."""

    f: Callable
    value_and_grad: Callable | None = None

    def __call__(self, theta):
        return self.f(theta)


@dataclass
class StepRecord:
    """One step of :func:`steps`.

    Attributes
    ----------
    step : int
        1-based number of the step in this loop.
    batch : object
        What the objective was built from (a minibatch ``(X, y)``, an iteration number).
    loss : float
        The loss the optimizer reported: at θ before the step.
    theta : array, shape (D,)
        θ after the step (for a diverged step: the rejected one).
    info : optimizers.StepInfo
        Everything else the step measured (jitter, curvature, ...).
    seconds : float
        Wall-clock time of ``optimizer.step``.
    problem : str or None
        Why the step diverged, in words (``"loss = nan"``, ...); None when it did not.
    """

    step: int
    batch: Any
    loss: float
    theta: Any
    info: Any
    seconds: float
    problem: str | None = None

    @property
    def diverged(self) -> bool:
        return self.problem is not None


def diverged(loss: float, max_loss: float = DIVERGENCE_LOSS) -> bool:
    """NaN, infinite, or above ``max_loss``."""
    return not (math.isfinite(loss) and loss <= max_loss)


def info_value(info, key: str, default=None):
    """A field of an optimizer's step info (a dataclass or a dict)."""
    if isinstance(info, dict):
        return info.get(key, default)
    return getattr(info, key, default)


def _problem(loss: float, new_theta, max_loss: float, xp) -> str | None:
    """Why a step with this loss and this new θ diverged, or None."""
    if diverged(loss, max_loss):
        if math.isfinite(loss):
            return f"loss = {loss:g}, above the divergence limit {max_loss:g},"
        return f"loss = {loss}"
    if not bool(xp.isfinite(new_theta).all()):
        return f"the parameters became non-finite (loss before the step = {loss:.6g})"
    return None


def steps(
    optimizer,
    theta,
    batches: Iterable,
    objective: Callable,
    *,
    max_loss: float = DIVERGENCE_LOSS,
    xp=np,
) -> Iterator[StepRecord]:
    """Step ``optimizer`` once per batch from ``theta``; yield a :class:`StepRecord` each.

    Parameters
    ----------
    optimizer : an ``optimizers`` optimizer (``step(f, theta, grad=...)``)
    theta : array, shape (D,)
    batches : iterable
        One item per step (minibatches, or ``range(iterations)`` for a fixed function).
    objective : callable
        ``batch -> f``; ``f(θ)`` is the loss, and ``f.value_and_grad`` (when present) is
        passed as ``grad`` (the back-propagated gradient).
    max_loss : float
        A loss above it is a divergence (default :data:`DIVERGENCE_LOSS`; ``math.inf``
        stops only at NaN or infinity).
    xp : module
        Array module of θ (NumPy or CuPy).

    The loop ends after the first diverged step (see the module docstring); floating-point
    warnings of the step are silenced (the check reports them).
    """
    for step, batch in enumerate(batches, start=1):
        f = objective(batch)
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            new_theta, info = optimizer.step(f, theta, grad=getattr(f, "value_and_grad", None))
        seconds = time.perf_counter() - start
        loss = float(info_value(info, "loss", math.nan))
        problem = _problem(loss, new_theta, max_loss, xp)
        yield StepRecord(step, batch, loss, new_theta, info, seconds, problem)
        if problem is not None:
            return
        theta = new_theta


def divergence_message(
    label: str,
    what: str,
    *,
    epoch: int,
    lr: float,
    step: int | None = None,
    n_steps: int | None = None,
    checkpoint=None,
) -> str:
    """The one wording of a stopped run.

    ``what`` says what went wrong (a :class:`StepRecord`'s ``problem``, or the evaluated
    losses); ``epoch`` is 1-based; ``step`` (with ``n_steps``) places it inside the epoch,
    without it the end-of-epoch evaluation found it; ``checkpoint``, the last good one.
    """
    where = (
        f"at epoch {epoch}, step {step} of {n_steps}"
        if step is not None
        else f"after epoch {epoch}"
    )
    message = f"[{label}] {what} {where} (lr = {lr:g}); run stopped."
    if checkpoint is not None:
        message += f" The last good checkpoint (after epoch {epoch - 1}) is kept: {checkpoint}"
    return message
