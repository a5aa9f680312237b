"""Build an optimizer from its name, and the facts the application needs about each one.

Everything the project knows about an optimizer by name is in one table, :data:`TABLE`:

| name                  | optimizer                    | shown as          | default lr |
|-----------------------|------------------------------|-------------------|-----------:|
| ``fgd``               | ``FGD``                      | FGD               | 0.01       |
| ``fomoh``             | ``FoMoH``                    | FoMoH             | 0.5        |
| ``fomoh-bp``          | ``FoMoHBP``                  | FoMoH-BP          | 0.5        |
| ``fomoh-kd``          | ``FoMoHKD`` (give ``K=``)    | FoMoH-KD          | 0.5        |
| ``fomoh-<K>d``        | ``FoMoHKD(K=<K>)``           | FoMoH-<K>D        | 0.5        |
| ``newton``            | ``Newton``                   | Newton            | 1.0        |
| ``sgd``               | ``SGD``                      | Backprop (SGD)    | 0.1        |
| ``adam``              | ``Adam``                     | Backprop (Adam)   | 0.01       |
| ``damped-newton``     | ``DampedNewton``             | damped-newton     | 0.5        |
| ``hf-newton``         | ``HessianFreeNewton``        | hf-newton         | 0.5        |
| ``hf-gauss-newton``   | ``HessianFreeGaussNewton``   | hf-gauss-newton   | 0.5        |
| ``cs-newton-krylov``  | ``ComplexStepNewtonKrylov``  | cs-newton-krylov  | 1.0        |
| ``partition-newton``  | ``PartitionNewton``          | partition-newton  | 1.0        |

The last five are the companion papers' methods. ``backprop``, ``bp`` and
``backpropagation`` are aliases of ``sgd`` (:data:`ALIASES`). The default learning rates
were chosen on the digits data (the second-order methods are normalised by curvature; the
companion papers' step factors for theirs); a name not in the table gets 0.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Optimizer
from .baselines import SGD, Adam
from .hessian_free import DampedNewton, HessianFreeGaussNewton, HessianFreeNewton
from .methods import FGD, FoMoH, FoMoHBP, FoMoHKD, Newton
from .newton_krylov import ComplexStepNewtonKrylov
from .partition import PartitionNewton

__all__ = [
    "Entry",
    "TABLE",
    "ALIASES",
    "OPTIMIZERS",
    "FORWARD_ONLY",
    "DEFAULT_LR",
    "canonical_name",
    "default_lr",
    "pretty_name",
    "names",
    "build",
]


@dataclass(frozen=True)
class Entry:
    """One optimizer's facts: its class, the name shown in tables and plots, its default
    learning rate, and whether its steps use no back-propagation (``grad`` is not used)."""

    cls: type
    pretty_name: str
    default_lr: float
    forward_only: bool = False


TABLE: dict[str, Entry] = {
    "fgd": Entry(FGD, "FGD", 0.01, forward_only=True),
    "fomoh": Entry(FoMoH, "FoMoH", 0.5, forward_only=True),
    "fomoh-bp": Entry(FoMoHBP, "FoMoH-BP", 0.5),
    "fomoh-kd": Entry(FoMoHKD, "FoMoH-KD", 0.5, forward_only=True),
    "newton": Entry(Newton, "Newton", 1.0, forward_only=True),
    "sgd": Entry(SGD, "Backprop (SGD)", 0.1),
    "adam": Entry(Adam, "Backprop (Adam)", 0.01),
    # companion papers (optimizers.hessian_free, .newton_krylov, .partition)
    "damped-newton": Entry(DampedNewton, "damped-newton", 0.5),
    "hf-newton": Entry(HessianFreeNewton, "hf-newton", 0.5),
    "hf-gauss-newton": Entry(HessianFreeGaussNewton, "hf-gauss-newton", 0.5),
    "cs-newton-krylov": Entry(ComplexStepNewtonKrylov, "cs-newton-krylov", 1.0),
    "partition-newton": Entry(PartitionNewton, "partition-newton", 1.0),
}
"""name -> :class:`Entry`; ``fomoh-<K>d`` (any K) is ``fomoh-kd`` with ``K`` fixed."""

ALIASES = {"backprop": "sgd", "bp": "sgd", "backpropagation": "sgd"}
"""Other names accepted for an optimizer of :data:`TABLE`."""

OPTIMIZERS = {name: entry.cls for name, entry in TABLE.items()}
"""name -> optimizer class."""

FORWARD_ONLY = tuple(name for name, entry in TABLE.items() if entry.forward_only)
"""Names whose steps use no back-propagation (``grad`` is not used)."""

DEFAULT_LR = {name: entry.default_lr for name, entry in TABLE.items()}
"""name -> default learning rate (when neither a run's settings nor ``--lr`` set one)."""

_FOMOH_KD = re.compile(r"fomoh-(\d+)d")  # fomoh-2d, fomoh-3d, ...: FoMoH-KD with that K


def canonical_name(name: str) -> str:
    """``name`` in lower case with aliases resolved (``"Backprop"`` -> ``"sgd"``)."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


def _split_kd(name: str) -> tuple[str, int | None]:
    """``"fomoh-3d"`` -> ``("fomoh-kd", 3)``; any other name -> ``(canonical name, None)``."""
    key = canonical_name(name)
    match = _FOMOH_KD.fullmatch(key)
    return ("fomoh-kd", int(match.group(1))) if match else (key, None)


def default_lr(name: str) -> float:
    """The default learning rate of ``name`` (``fomoh-<K>d`` share FoMoH-KD's; 0.1 for a
    name not in the table)."""
    key, _ = _split_kd(name)
    return TABLE[key].default_lr if key in TABLE else 0.1


def pretty_name(name: str) -> str:
    """``fomoh-2d`` -> ``FoMoH-2D``, ``sgd`` -> ``Backprop (SGD)``; a name not in the table is
    returned as given."""
    key, K = _split_kd(name)
    if K is not None:
        return f"FoMoH-{K}D"
    return TABLE[key].pretty_name if key in TABLE else name


def names() -> list[str]:
    """The registered names (``fomoh-<K>d`` for any K as well)."""
    return sorted(OPTIMIZERS) + ["fomoh-2d", "fomoh-3d"]


def build(name: str, **kw: object) -> Optimizer:
    """``build("fomoh-2d", lr=1.0, seed=0)`` -> ``FoMoHKD(K=2, lr=1.0, seed=0)``."""
    key, K = _split_kd(name)
    if K is not None:
        if "K" in kw and int(kw["K"]) != K:
            raise ValueError(f"{name!r} means K = {K}, but K = {kw['K']} was given")
        kw["K"] = K
    if key not in TABLE:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {names()} or fomoh-<K>d")
    return TABLE[key].cls(**kw)
