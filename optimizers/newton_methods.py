"""Former name of ``optimizers.curvature`` (``ModelObjective``, the curvature products, CG).

Kept so that existing imports (``from optimizers.newton_methods import truncated_cg``, the
messages of ``optimizers.partition``) keep working; new code imports ``optimizers.curvature``.
"""

from .curvature import (
    FLOAT64_EPS,
    CGResult,
    KrylovStepInfo,
    ModelObjective,
    dual_backprop_hvp,
    gauss_newton_vp,
    gnvp_operator,
    host_dot,
    hvp_operator,
    truncated_cg,
)

__all__ = [
    "ModelObjective",
    "KrylovStepInfo",
    "CGResult",
    "truncated_cg",
    "hvp_operator",
    "gnvp_operator",
    "gauss_newton_vp",
    "dual_backprop_hvp",
    "host_dot",
    "FLOAT64_EPS",
]
