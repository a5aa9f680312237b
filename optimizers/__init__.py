"""FoMoH and the other optimizers, each a short step on a flat parameter vector θ (D,).

    from optimizers import FoMoHKD
    opt = FoMoHKD(K=2, lr=1.0, seed=0)
    theta, info = opt.step(f, theta)            # f: theta -> scalar, on hyper-dual numbers
    theta, info = opt.step(f, theta, grad=g)    # g: theta -> (value, gradient)

* ``hyperplane_step`` — the one second-order step (paper Algorithm 1) shared by FoMoH,
  FoMoH-BP, FoMoH-KD and Newton; ``optimizers.hyperplane`` documents the negative-curvature
  and jitter policies.
* ``optimizers.directions`` — the direction samplers (Gaussian, basis, given).
* ``StepDecay``, ``ReduceOnRise`` — learning-rate schedules.
* ``build(name, **kw)`` — the optimizer the command-line tool names ("fomoh-2d", ...).
"""

from . import (
    directions,
    newton_methods,  # noqa: F401 - former name of .curvature, kept as an attribute
)
from .base import Optimizer, StepInfo
from .baselines import SGD, Adam
from .curvature import ModelObjective
from .hessian_free import DampedNewton, HessianFreeGaussNewton, HessianFreeNewton
from .hyperplane import COND_MAX, HyperplaneResult, Solve, hyperplane_step, solve_kappa
from .methods import FGD, FoMoH, FoMoHBP, FoMoHKD, Newton
from .newton_krylov import ComplexStepNewtonKrylov
from .partition import PartitionNewton
from .registry import FORWARD_ONLY, OPTIMIZERS, build, names
from .schedules import ReduceOnRise, StepDecay

__all__ = [
    "FGD", "FoMoH", "FoMoHBP", "FoMoHKD", "Newton", "SGD", "Adam",
    "Optimizer", "StepInfo", "hyperplane_step", "solve_kappa", "Solve", "HyperplaneResult",
    "COND_MAX", "directions", "StepDecay", "ReduceOnRise", "build", "names", "OPTIMIZERS",
    "FORWARD_ONLY",
    # companion papers: Wang & Huang, Shen et al., Wolinski
    "DampedNewton", "HessianFreeNewton", "HessianFreeGaussNewton", "ComplexStepNewtonKrylov",
    "PartitionNewton", "ModelObjective",
]
