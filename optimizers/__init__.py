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
* ``build(name, **kw)`` — the optimizer the command-line tool names ("fomoh-2d", ...);
  ``optimizers.registry`` holds every per-optimizer fact (``default_lr``, ``pretty_name``).
* ``optimizers.problems`` — test problems with closed-form derivatives (Rosenbrock).
"""

from . import (
    directions,
    newton_methods,  # noqa: F401 - former name of .curvature, kept as an attribute
    problems,
)
from .base import Optimizer, StepInfo
from .baselines import SGD, Adam
from .curvature import ModelObjective
from .hessian_free import DampedNewton, HessianFreeGaussNewton, HessianFreeNewton
from .hyperplane import COND_MAX, HyperplaneResult, Solve, hyperplane_step, solve_kappa
from .methods import FGD, FoMoH, FoMoHBP, FoMoHKD, Newton
from .newton_krylov import ComplexStepNewtonKrylov
from .partition import PartitionNewton, pseudo_hessian
from .problems import (
    rosenbrock,
    rosenbrock_hessian,
    rosenbrock_newton_step,
    rosenbrock_value_and_grad,
)
from .registry import (
    DEFAULT_LR,
    FORWARD_ONLY,
    OPTIMIZERS,
    build,
    canonical_name,
    default_lr,
    names,
    pretty_name,
)
from .schedules import ReduceOnRise, StepDecay

__all__ = [
    "FGD",
    "FoMoH",
    "FoMoHBP",
    "FoMoHKD",
    "Newton",
    "SGD",
    "Adam",
    "Optimizer",
    "StepInfo",
    "hyperplane_step",
    "solve_kappa",
    "Solve",
    "HyperplaneResult",
    "COND_MAX",
    "directions",
    "StepDecay",
    "ReduceOnRise",
    "build",
    "names",
    "OPTIMIZERS",
    "FORWARD_ONLY",
    # companion papers
    "DampedNewton",
    "HessianFreeNewton",
    "HessianFreeGaussNewton",
    "ComplexStepNewtonKrylov",
    "PartitionNewton",
    "ModelObjective",
    "pseudo_hessian",
    # per-optimizer facts (optimizers.registry) and test problems (optimizers.problems)
    "DEFAULT_LR",
    "default_lr",
    "pretty_name",
    "canonical_name",
    "problems",
    "rosenbrock",
    "rosenbrock_value_and_grad",
    "rosenbrock_hessian",
    "rosenbrock_newton_step",
]
