"""Run specifications: an optimizer name with settings, as ``fomoh compare`` takes them.

A specification is an optimizer name optionally followed by settings::

    fomoh-2d
    fomoh-2d:lr=0.04221,batch=512
    fomoh-3d:lr=0.1,batch=512,schedule=plateau,factor=0.8,label=FoMoH-3D (LR-sch.)
    sgd:lr=0.03561,batch=2048,momentum=0.9

Recognised keys: ``lr``, ``batch`` (or ``batch_size``), ``schedule`` (``none``, ``step``,
``milestone``, ``plateau``, ``first-rise``; see :data:`hyperlab.config.SCHEDULES`),
``gamma``, ``every``, ``milestone`` (an epoch, or ``auto``: see
:func:`hyperlab.compare.auto_milestone`), ``factor``, ``patience``, ``init`` (``default``,
``pytorch``), ``label``; every other key is passed to the optimizer's constructor (``K``,
``momentum``, ``curvature``, ``damping``, ...). Settings not given in a specification come
from the common options (``--lr``, ``--batch-size``, ...), and then from the optimizer's
default learning rate (:func:`optimizers.registry.default_lr`). The names ``backprop`` and
``bp`` mean SGD on back-propagated gradients (:data:`optimizers.registry.ALIASES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from optimizers.registry import canonical_name, default_lr, pretty_name

from .config import ConfigError, RunConfig

__all__ = ["Spec", "parse_spec", "parse_value", "slug", "AUTO"]

AUTO = "auto"
"""``milestone=auto``: the epoch where the validation NLL of the same method without a
schedule starts to increase (see :func:`hyperlab.compare.auto_milestone`)."""


def _milestone(text: str):
    """``"auto"`` or a positive epoch number."""
    if text.strip().lower() == AUTO:
        return AUTO
    return int(text)


_milestone.__name__ = "positive integer or 'auto'"

_SPEC_KEYS = {
    "lr": float,
    "batch": int,
    "batch_size": int,
    "schedule": str,
    "gamma": float,
    "every": int,
    "milestone": _milestone,
    "factor": float,
    "patience": int,
    "init": str,
    "label": str,
}


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
        :class:`~hyperlab.config.RunConfig` fields to set (``lr``, ``batch_size``, ...).
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
        self.optimizer = canonical_name(self.optimizer)
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

    def config(
        self, base: RunConfig, seed: int, lr: float | None = None, milestone: int | None = None
    ) -> RunConfig:
        """The run of this specification with ``seed``, on top of the common ``base``.

        The learning rate is the specification's ``lr``, else ``lr``, else the optimizer's
        default (:func:`optimizers.registry.default_lr`); ``base.lr`` is not used.
        ``milestone`` replaces the specification's (needed for ``milestone=auto``; until it is
        known, the run's last epoch stands in).
        """
        values = base.to_dict()
        values.update(optimizer=self.optimizer, seed=int(seed), label=self.label)
        values["lr"] = self.settings.get("lr", lr if lr is not None else default_lr(self.optimizer))
        values["optimizer_kwargs"] = {**base.optimizer_kwargs, **self.optimizer_kwargs}
        values.update({k: v for k, v in self.settings.items() if k != "lr"})
        if milestone is not None:
            values["milestone"] = int(milestone)
        elif values.get("milestone") == AUTO:
            values["milestone"] = values["epochs"]
        return RunConfig.from_dict(values).validate()

    def reference(self, specs: list[Spec], base: RunConfig, lr: float | None = None) -> Spec:
        """The specification in ``specs`` that is this one without a schedule (same
        optimizer, learning rate, batch size, initialisation and optimizer arguments):
        the run whose validation NLL places ``milestone=auto``."""
        mine = self.config(base, 0, lr)
        for other in specs:
            if other is self:
                continue
            theirs = other.config(base, 0, lr)
            if theirs.schedule == "none" and all(
                getattr(mine, k) == getattr(theirs, k)
                for k in ("optimizer", "lr", "batch_size", "init", "optimizer_kwargs")
            ):
                return other
        raise ConfigError(
            f"{self.label}: milestone=auto takes the epoch where the validation NLL of the same "
            f"method without a schedule starts to increase, but no specification runs "
            f"{self.optimizer} with lr={mine.lr:g}, batch={mine.batch_size} and no schedule; "
            "add it, or give milestone=<epoch>"
        )


def parse_value(text: str):
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
                raise ConfigError(
                    f"bad setting {item!r} in {text!r}; expected key=value, "
                    "e.g. fomoh-2d:lr=0.05,batch=512"
                )
            if key == "label":
                label = value
            elif key in _SPEC_KEYS:
                try:
                    parsed = _SPEC_KEYS[key](value)
                except ValueError:
                    raise ConfigError(
                        f"{key}={value!r} in {text!r}: expected a {_SPEC_KEYS[key].__name__}"
                    ) from None
                settings["batch_size" if key == "batch" else key] = parsed
            else:
                kwargs[key] = parse_value(value)
    return Spec(name, settings, kwargs, label)
