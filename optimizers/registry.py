"""Build an optimizer from the name the command-line tool uses.

| name                  | optimizer                    |
|-----------------------|------------------------------|
| ``fgd``               | ``FGD``                      |
| ``fomoh``             | ``FoMoH``                    |
| ``fomoh-bp``          | ``FoMoHBP``                  |
| ``fomoh-kd``          | ``FoMoHKD`` (give ``K=``)    |
| ``fomoh-2d``, ``fomoh-3d``, ... ``fomoh-<K>d`` | ``FoMoHKD(K=<K>)`` |
| ``newton``            | ``Newton``                   |
| ``sgd``               | ``SGD``                      |
| ``adam``              | ``Adam``                     |
| ``damped-newton``     | ``DampedNewton``  (companion papers, issue 5)  |
| ``hf-newton``         | ``HessianFreeNewton``        |
| ``hf-gauss-newton``   | ``HessianFreeGaussNewton``   |
| ``cs-newton-krylov``  | ``ComplexStepNewtonKrylov``  |
| ``partition-newton``  | ``PartitionNewton``          |
"""

from __future__ import annotations

import re

from .baselines import SGD, Adam
from .methods import FGD, FoMoH, FoMoHBP, FoMoHKD, Newton
# Companion papers (issue 5): Hessian-free / Gauss-Newton, complex-step Newton-Krylov, partition.
from .hessian_free import DampedNewton, HessianFreeGaussNewton, HessianFreeNewton
from .newton_krylov import ComplexStepNewtonKrylov
from .partition import PartitionNewton

OPTIMIZERS = {
    "fgd": FGD,
    "fomoh": FoMoH,
    "fomoh-bp": FoMoHBP,
    "fomoh-kd": FoMoHKD,
    "newton": Newton,
    "sgd": SGD,
    "adam": Adam,
    # companion papers (optimizers.hessian_free, .newton_krylov, .partition)
    "damped-newton": DampedNewton,
    "hf-newton": HessianFreeNewton,
    "hf-gauss-newton": HessianFreeGaussNewton,
    "cs-newton-krylov": ComplexStepNewtonKrylov,
    "partition-newton": PartitionNewton,
}

FORWARD_ONLY = ("fgd", "fomoh", "fomoh-kd", "newton")
"""Names whose steps use no back-propagation (``grad`` is not used)."""


def names() -> list[str]:
    """The registered names (``fomoh-<K>d`` for any K as well)."""
    return sorted(OPTIMIZERS) + ["fomoh-2d", "fomoh-3d"]


def build(name: str, **kw):
    """``build("fomoh-2d", lr=1.0, seed=0)`` -> ``FoMoHKD(K=2, lr=1.0, seed=0)``."""
    key = name.strip().lower()
    match = re.fullmatch(r"fomoh-(\d+)d", key)
    if match:
        if "K" in kw and int(kw["K"]) != int(match.group(1)):
            raise ValueError(f"{name!r} means K = {match.group(1)}, but K = {kw['K']} was given")
        kw["K"] = int(match.group(1))
        return FoMoHKD(**kw)
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {names()} "
                         "or fomoh-<K>d")
    return OPTIMIZERS[key](**kw)
