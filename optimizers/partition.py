"""Partition Newton: one step size per group of parameters, from the S×S pseudo-Hessian.

From ``papers/partition-pseudo-hessian-higher-order-summary.txt`` (Wolinski), eqs. (3)-(4).
Split the indices of θ (D,) into S groups ``I_1..I_S`` (the *canonical* partition of a
network: each weight tensor and each bias). With ``g = ∇f(θ)`` let ``u_s`` be g restricted to
group s (zero elsewhere). Then

    ḡ_s  = u_sᵀ g            (S,)      the pseudo-gradient
    H̄_st = u_sᵀ ∇²f(θ) u_t    (S, S)    the pseudo-Hessian  (= I G H G Iᵀ, G = Diag(g))
    η    = H̄⁻¹ ḡ,            θ ← θ − lr · Σ_s η_s u_s  =  θ − lr · G Iᵀ η.

This *is* the hyperplane step of ``optimizers.hyperplane`` with the S directions
``V = [u_1; ...; u_S]``: one hyper-dual pass over the S(S+1)/2 pairs ``(u_s, u_t)`` gives
ḡ and H̄, and ``solve_kappa`` solves for η with the package's jitter policy when H̄ is
singular or ill-conditioned. So this module only chooses the directions.

Special partitions (paper appendix C):

* ``"trivial"`` (S = 1): ``θ − (gᵀg / gᵀHg) g`` — Cauchy's steepest descent;
* ``"discrete"`` (S = D, one coordinate per group): ``θ − H⁻¹ g`` — Newton's step, when no
  coordinate of g is 0 (``G H G`` is then invertible iff H is);
* ``"canonical"``: the groups of ``f.param_groups()`` (``curvature.ModelObjective``) or
  of ``groups=`` — a list of slices, index arrays, or ``(name, slice)`` pairs (what
  ``model.param_groups()`` returns).

Groups whose gradient is exactly zero contribute nothing to the step (``u_s = 0``); they are
left out of the solve so they do not make H̄ singular. ``last`` keeps the most recent
``(names, ḡ, H̄, η)`` for inspection (heat maps of H̄ and H̄⁻¹).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyperdual import namespace, projected_hessian, to_numpy
from hyperdual.aliases import Array, GradientFn, Objective

from .base import Optimizer, as_parameters, value_and_gradient
from .hyperplane import CURVATURE_MODES, hyperplane_step

__all__ = [
    "PartitionNewton",
    "partition_directions",
    "resolve_groups",
    "PartitionStep",
    "pseudo_hessian",
]

PARTITIONS = ("canonical", "trivial", "discrete")


def resolve_groups(spec: object, D: int, f: Objective | None = None) -> list[tuple[str, object]]:
    """The groups as a list of ``(name, index)`` with ``index`` a slice or an int array.

    ``spec`` is ``"trivial"``, ``"discrete"``, ``"canonical"`` (from ``f.param_groups()``) or
    an explicit list of slices / index arrays / ``(name, slice-or-indices)`` pairs. Checks
    that the groups are disjoint and cover ``0..D-1``.
    """
    if isinstance(spec, str):
        if spec == "trivial":
            return [("all", slice(0, D))]
        if spec == "discrete":
            return [(f"θ[{i}]", slice(i, i + 1)) for i in range(D)]
        if spec == "canonical":
            groups = getattr(f, "param_groups", None)
            if groups is None:
                raise ValueError(
                    "the canonical partition needs the model's parameter groups: pass "
                    "groups=model.param_groups(), or an objective with .param_groups() "
                    "(optimizers.ModelObjective(model, X, y))"
                )
            spec = groups() if callable(groups) else groups
        else:
            raise ValueError(
                f"partition must be one of {PARTITIONS} or a list of groups; got {spec!r}"
            )
    out = []
    for k, item in enumerate(spec):
        name, index = (
            item
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            else (f"group{k}", item)
        )
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = index.astype(np.int64)
        out.append((name, index))
    covered = np.zeros(D, dtype=np.int64)
    for name, index in out:
        if isinstance(index, slice) and (index.stop or 0) > D:
            raise ValueError(f"group {name!r} {index} exceeds D = {D}")
        np.add.at(covered, np.arange(D)[index], 1)
    if not np.all(covered == 1):
        raise ValueError(
            f"the groups must partition θ: {int(np.sum(covered == 0))} indices "
            f"uncovered, {int(np.sum(covered > 1))} in several groups"
        )
    return out


def partition_directions(g: Array, groups: list[tuple[str, object]]) -> Array:
    """``V`` (S, D): row s is the gradient ``g`` restricted to group s (zero elsewhere)."""
    xp = namespace(g)
    V = xp.zeros((len(groups), g.shape[0]), dtype=g.dtype)
    for s, (_, index) in enumerate(groups):
        V[s, index] = g[index]
    return V


def pseudo_hessian(
    model: object, theta: Array, X: Array, y: Array, chunk_size: int = 6
) -> tuple[Array, Array]:
    """H̄ (S, S) and ḡ (S,) of the canonical partition of ``model`` at θ on the batch (X, y).

    ``u_s`` = the back-propagated gradient restricted to tensor s; one hyper-dual pass over
    the S(S+1)/2 pairs (``hyperdual.projected_hessian``, as in the partition step).
    Returns ``(names, g_bar, H_bar)``: the S group names, ḡ and H̄ as NumPy arrays.
    """
    groups = resolve_groups(model.param_groups(), theta.shape[0])
    _, g = model.value_and_grad(theta, X, y)
    V = partition_directions(g, groups)
    _, g_bar, H_bar = projected_hessian(
        lambda t: model.loss(t, X, y), theta, V, chunk_size=chunk_size
    )
    return [name for name, _ in groups], to_numpy(g_bar), to_numpy(H_bar)


@dataclass
class PartitionStep:
    """The most recent partition step: group names, ḡ (S,), H̄ (S, S), η (S,), jitter."""

    names: list
    g_bar: np.ndarray
    H_bar: np.ndarray
    eta: np.ndarray
    jitter: float


class PartitionNewton(Optimizer):
    """Partition Newton (Wolinski): θ ← θ − lr · Σ_s η_s u_s with ``H̄ η = ḡ``.

    Parameters
    ----------
    lr : float, a global factor on the step (1 is the paper's step)
    partition : "canonical" (default), "trivial" (S = 1, Cauchy), "discrete" (S = D,
        Newton), or a list of groups (see ``resolve_groups``)
    curvature : "solve" (paper: H̄⁻¹ ḡ as measured) or "abs" (``|H̄|``, the saddle-free
        variant of ``optimizers.hyperplane``)
    damping : float, λ ≥ 0 added to H̄'s diagonal before the jitter policy
    chunk_size : int, optional, hyper-dual pairs per evaluation of f (bounds memory)

    ``step(f, theta, grad=None, groups=None)``: ``grad`` gives g by back-propagation (forward
    mode otherwise); ``groups`` overrides the partition for this step.
    """

    name = "partition-newton"

    def __init__(
        self,
        lr: float = 1.0,
        partition: object = "canonical",
        curvature: str = "solve",
        damping: float = 0.0,
        cond_max: float | None = None,
        chunk_size: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(lr, seed)
        if curvature not in CURVATURE_MODES:
            raise ValueError(f"curvature must be one of {CURVATURE_MODES}; got {curvature!r}")
        if damping < 0:
            raise ValueError(f"damping must be >= 0; got {damping}")
        if isinstance(partition, str) and partition not in PARTITIONS:
            raise ValueError(
                f"partition must be one of {PARTITIONS} or a list of groups; got {partition!r}"
            )
        self.partition, self.curvature, self.damping = partition, curvature, float(damping)
        self.cond_max, self.chunk_size = cond_max, chunk_size
        self.last = None

    def __repr__(self):
        part = (
            self.partition if isinstance(self.partition, str) else f"<{len(self.partition)} groups>"
        )
        return f"{type(self).__name__}(lr={self.lr:g}, partition={part!r})"

    def step(
        self, f: Objective, theta: Array, grad: GradientFn | None = None, groups: object = None
    ) -> tuple[Array, object]:
        theta = as_parameters(theta)
        D = theta.shape[0]
        groups = resolve_groups(groups if groups is not None else self.partition, D, f)
        value, g = value_and_gradient(f, theta, grad, self.chunk_size)
        V = partition_directions(g, groups)
        nonzero = np.flatnonzero(to_numpy(namespace(V).any(V != 0, axis=1)))
        names = [groups[s][0] for s in nonzero]
        if nonzero.size == 0:  # g = 0: a stationary point, no step
            self.last = PartitionStep(names, np.zeros(0), np.zeros((0, 0)), np.zeros(0), 0.0)
            return self._finish(theta, namespace(theta).zeros_like(theta), value)
        V = V[namespace(V).asarray(nonzero)]
        step, r = hyperplane_step(
            f, theta, V, self.lr, self.curvature, self.damping, self.cond_max, self.chunk_size
        )
        self.last = PartitionStep(names, r.g, r.H, r.kappa, r.jitter)
        return self._finish(
            theta,
            step,
            value,
            scratch=True,
            curvature=r.eigenvalues,
            condition=r.condition,
            jitter=r.jitter,
        )
