"""Learning-rate schedules. Each changes ``optimizer.lr`` when its ``step`` is called.

* ``StepDecay``: ``lr ← γ·lr`` every ``every`` calls (the paper's CNN runs: ÷10 every 1000
  epochs).
* ``MilestoneDecay``: ``lr ← γ·lr`` once, after epoch ``milestone`` (the FoMoH paper's
  logistic regression: "we reduced the learning rate at the epoch where the NLL starts to
  increase", ×0.1, or ×0.8 for FoMoH-3D, with the epoch read off the run without a schedule,
  as the paper's released ``train_model_sched.sh <lr> <batch> <method> <device> <milestone>
  <gamma>`` takes it).
* ``ReduceOnRise``: ``lr ← factor·lr`` when the validation loss rises from one epoch to the
  next; ``max_reductions=1`` makes it the on-line reading of the same sentence (one cut, at
  the first epoch whose validation loss is higher than the previous one's).

All have ``state_dict()`` / ``load_state_dict()`` for exact resumption.

The paper's released scripts (``scripts/train_functions.py``) cut differently by method:
FoMoH-KD multiplies its rate by ``gamma`` after *every* multiple of ``milestones``
(``StepDecay(every=milestones)``), while FGD, FoMoH, FoMoH-BP and back-propagation use
``MultiStepLR(milestones=[m] * int(epochs / m))``: PyTorch counts the repeated milestone, so
the rate is multiplied *once*, at epoch ``m``, by ``gamma ** int(epochs / m)``
(``MilestoneDecay(milestone=m, gamma=gamma ** int(epochs / m))``; for the CNN's
``m = 1000`` over 3,000 epochs that is ×0.001 at epoch 1,000, where the paper's text says
÷10 every 1,000 epochs).
"""

from __future__ import annotations

import math

from .base import Optimizer


class StepDecay:
    """Multiply the learning rate by ``gamma`` every ``every`` calls of ``step()``.

    Call ``step()`` once per epoch (or per iteration, as you count ``every``).
    """

    def __init__(
        self, optimizer: Optimizer, gamma: float = 0.1, every: int = 1000, min_lr: float = 0.0
    ):
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
        if int(every) != every or every < 1:
            raise ValueError(f"every must be a positive integer; got {every}")
        self.optimizer, self.gamma, self.every, self.min_lr = (
            optimizer,
            float(gamma),
            int(every),
            float(min_lr),
        )
        self.count = 0

    def step(self, val_loss: float | None = None) -> bool:
        """Count one epoch; returns True when the learning rate was reduced."""
        self.count += 1
        if self.count % self.every:
            return False
        return _reduce(self.optimizer, self.gamma, self.min_lr)

    def state_dict(self) -> dict:
        return {"schedule": "StepDecay", "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        _check_state(state, "StepDecay", {"count"})
        count = int(state["count"])
        if count < 0:
            raise ValueError(f"StepDecay state has a negative count {count}")
        self.count = count


class MilestoneDecay:
    """Multiply the learning rate by ``gamma`` once, after ``milestone`` calls of ``step()``.

    Call ``step()`` once per epoch, after the epoch: with ``milestone=m`` epochs ``1..m`` run
    at the initial rate and epochs ``m+1, ...`` at ``gamma`` times it (as PyTorch's
    ``MultiStepLR(milestones=[m])`` stepped once per epoch).
    """

    def __init__(
        self, optimizer: Optimizer, gamma: float = 0.1, milestone: int = 1000, min_lr: float = 0.0
    ):
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
        if int(milestone) != milestone or milestone < 1:
            raise ValueError(f"milestone must be a positive integer; got {milestone}")
        self.optimizer, self.gamma, self.milestone = optimizer, float(gamma), int(milestone)
        self.min_lr = float(min_lr)
        self.count = 0

    def step(self, val_loss: float | None = None) -> bool:
        """Count one epoch; returns True when the learning rate was reduced."""
        self.count += 1
        if self.count != self.milestone:
            return False
        return _reduce(self.optimizer, self.gamma, self.min_lr)

    def state_dict(self) -> dict:
        return {"schedule": "MilestoneDecay", "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        _check_state(state, "MilestoneDecay", {"count"})
        count = int(state["count"])
        if count < 0:
            raise ValueError(f"MilestoneDecay state has a negative count {count}")
        self.count = count


class ReduceOnRise:
    """Multiply the learning rate by ``factor`` when the validation loss rises.

    A call is *bad* when the loss went up: ``val_loss > last + threshold·|last|`` with
    ``last`` the previous call's loss (a NaN loss is bad). After ``patience + 1`` bad calls
    in a row the rate is reduced and the count restarts; for ``cooldown`` calls after a
    reduction nothing is counted. With ``patience=0`` the rate is reduced at every epoch
    where the loss went up; ``max_reductions=1`` reduces it only the first time (the on-line
    reading of the paper's "at the epoch where the NLL starts to increase", appendix A.3);
    ``None`` (default) sets no limit.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 0.1,
        patience: int = 0,
        threshold: float = 0.0,
        cooldown: int = 0,
        min_lr: float = 0.0,
        max_reductions: int | None = None,
    ):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1); got {factor}")
        if patience < 0 or cooldown < 0 or threshold < 0:
            raise ValueError("patience, cooldown and threshold must be >= 0")
        if max_reductions is not None and (
            int(max_reductions) != max_reductions or max_reductions < 1
        ):
            raise ValueError(
                f"max_reductions must be a positive integer or None; got {max_reductions}"
            )
        self.optimizer, self.factor, self.patience = optimizer, float(factor), int(patience)
        self.threshold, self.cooldown, self.min_lr = float(threshold), int(cooldown), float(min_lr)
        self.max_reductions = None if max_reductions is None else int(max_reductions)
        self.last = None  # the previous loss (None: none yet, or it was NaN)
        self.bad = 0
        self.cooling = 0
        self.reductions = 0  # how many times the rate was reduced

    def step(self, val_loss: float) -> bool:
        """Record one validation loss; returns True when the learning rate was reduced."""
        val_loss = float(val_loss)
        if self.max_reductions is not None and self.reductions >= self.max_reductions:
            return False
        if math.isnan(val_loss):
            rose = True
        else:
            rose = self.last is not None and val_loss > self.last + self.threshold * abs(self.last)
        self.last = None if math.isnan(val_loss) else val_loss
        if self.cooling > 0:
            self.cooling -= 1
            return False
        self.bad = self.bad + 1 if rose else 0
        if self.bad <= self.patience:
            return False
        self.bad, self.cooling = 0, self.cooldown
        self.reductions += 1
        return _reduce(self.optimizer, self.factor, self.min_lr)

    def state_dict(self) -> dict:
        return {
            "schedule": "ReduceOnRise",
            "last": self.last,
            "bad": self.bad,
            "cooling": self.cooling,
            "reductions": self.reductions,
        }

    def load_state_dict(self, state: dict) -> None:
        _check_state(state, "ReduceOnRise", {"last", "bad", "cooling"})
        last = None if state["last"] is None else float(state["last"])
        bad, cooling = int(state["bad"]), int(state["cooling"])
        # "reductions" is absent from states written before max_reductions existed
        reductions = int(state.get("reductions", 0))
        if bad < 0 or cooling < 0 or reductions < 0 or (last is not None and math.isnan(last)):
            raise ValueError(f"ReduceOnRise state is invalid: {state}")
        self.last, self.bad, self.cooling, self.reductions = last, bad, cooling, reductions


def _reduce(optimizer, factor, min_lr) -> bool:
    new_lr = max(optimizer.lr * factor, min_lr)
    changed = new_lr < optimizer.lr
    optimizer.lr = new_lr
    return changed


def _check_state(state, name, keys):
    if not isinstance(state, dict) or state.get("schedule") != name:
        raise ValueError(f"not a {name} state: {state!r}")
    missing = keys - set(state)
    if missing:
        raise ValueError(f"{name} state is missing {sorted(missing)}")
