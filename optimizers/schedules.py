"""Learning-rate schedules. Each changes ``optimizer.lr`` when its ``step`` is called.

* ``StepDecay``: ``lr ← γ·lr`` every ``every`` calls (the paper's CNN runs: ÷10 every 1000
  epochs).
* ``ReduceOnRise``: ``lr ← factor·lr`` when the validation loss rises from one epoch to the
  next (the paper's logistic regression: "reduced the learning rate at the epoch where the NLL
  starts to increase", ×0.1, or ×0.8 for FoMoH-3D).

Both have ``state_dict()`` / ``load_state_dict()`` for exact resumption.
"""

from __future__ import annotations

import math

from .base import Optimizer


class StepDecay:
    """Multiply the learning rate by ``gamma`` every ``every`` calls of ``step()``.

    Call ``step()`` once per epoch (or per iteration, as you count ``every``).
    """

    def __init__(self, optimizer: Optimizer, gamma: float = 0.1, every: int = 1000,
                 min_lr: float = 0.0):
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
        if int(every) != every or every < 1:
            raise ValueError(f"every must be a positive integer; got {every}")
        self.optimizer, self.gamma, self.every, self.min_lr = optimizer, float(gamma), int(every), \
            float(min_lr)
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


class ReduceOnRise:
    """Multiply the learning rate by ``factor`` when the validation loss rises.

    A call is *bad* when the loss went up: ``val_loss > last + threshold·|last|`` with
    ``last`` the previous call's loss (a NaN loss is bad). After ``patience + 1`` bad calls
    in a row the rate is reduced and the count restarts; for ``cooldown`` calls after a
    reduction nothing is counted. The default ``patience=0`` reduces at the epoch where the
    loss starts to increase, as in the paper (appendix A.3).
    """

    def __init__(self, optimizer: Optimizer, factor: float = 0.1, patience: int = 0,
                 threshold: float = 0.0, cooldown: int = 0, min_lr: float = 0.0):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1); got {factor}")
        if patience < 0 or cooldown < 0 or threshold < 0:
            raise ValueError("patience, cooldown and threshold must be >= 0")
        self.optimizer, self.factor, self.patience = optimizer, float(factor), int(patience)
        self.threshold, self.cooldown, self.min_lr = float(threshold), int(cooldown), float(min_lr)
        self.last = None            # the previous loss (None: none yet, or it was NaN)
        self.bad = 0
        self.cooling = 0

    def step(self, val_loss: float) -> bool:
        """Record one validation loss; returns True when the learning rate was reduced."""
        val_loss = float(val_loss)
        if math.isnan(val_loss):
            rose = True
        else:
            rose = self.last is not None and \
                val_loss > self.last + self.threshold * abs(self.last)
        self.last = None if math.isnan(val_loss) else val_loss
        if self.cooling > 0:
            self.cooling -= 1
            return False
        self.bad = self.bad + 1 if rose else 0
        if self.bad <= self.patience:
            return False
        self.bad, self.cooling = 0, self.cooldown
        return _reduce(self.optimizer, self.factor, self.min_lr)

    def state_dict(self) -> dict:
        return {"schedule": "ReduceOnRise", "last": self.last, "bad": self.bad,
                "cooling": self.cooling}

    def load_state_dict(self, state: dict) -> None:
        _check_state(state, "ReduceOnRise", {"last", "bad", "cooling"})
        last = None if state["last"] is None else float(state["last"])
        bad, cooling = int(state["bad"]), int(state["cooling"])
        if bad < 0 or cooling < 0 or (last is not None and math.isnan(last)):
            raise ValueError(f"ReduceOnRise state is invalid: {state}")
        self.last, self.bad, self.cooling = last, bad, cooling


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
