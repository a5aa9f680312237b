"""What every optimizer shares: the step interface, the info record, the RNG and checkpoints.

Interface::

    theta, info = opt.step(f, theta)            # f: theta (D,) -> scalar, on hyper-duals
    theta, info = opt.step(f, theta, grad=g)    # g: theta -> (value, gradient), back-propagation

``grad`` is used by the methods that back-propagate (FoMoH-BP, SGD, Adam); without it they
get the gradient from forward mode (D hyper-dual pairs). The forward-only methods (FGD, FoMoH,
FoMoH-KD, Newton) accept it and do not use it, so a training loop can pass it to all.

Reproducibility: each optimizer owns one ``np.random.Generator`` (``seed=``), draws its
directions from it on the host, and ``state_dict()`` / ``load_state_dict()`` capture
everything that determines the next steps (learning rate, step count, RNG state, jitter count,
momentum and Adam moments), so a resumed run continues bit for bit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from hyperdual import gradient, namespace, to_numpy
from hyperdual.aliases import Array, ArrayLike, GradientFn, Objective
from hyperdual.inputs import as_parameters  # noqa: F401 - the optimizers import it from here


@dataclass
class StepInfo:
    """What one step measured.

    Attributes
    ----------
    loss : float
        f(θ) at the parameters the step started from.
    step_norm : float
        ``‖θ_new − θ‖₂``.
    curvature : ndarray of shape (K,) or None
        Eigenvalues (ascending) of the K×K projected Hessian H; for K = 1 this is ``vᵀHv``.
        None for first-order methods that measured none.
    condition : float or None
        Condition number of the K×K matrix solved (after jitter), None without a solve.
    jitter : float
        λ added to H's diagonal by the jitter policy (0.0 when none was needed).
    lr : float
        The learning rate η used.
    """

    loss: float
    step_norm: float
    curvature: np.ndarray | None = None
    condition: float | None = None
    jitter: float = 0.0
    lr: float = 0.0

    @property
    def jittered(self) -> bool:
        """True when the step needed diagonal jitter."""
        return self.jitter > 0.0


class Optimizer:
    """Base class. Subclasses implement ``step`` and, if stateful, ``_arrays``."""

    name = "optimizer"

    def __init__(self, lr: float, seed: int | None = None):
        lr = float(lr)
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive finite number; got {lr}")
        self.lr = lr
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.t = 0  # steps taken
        self.jitter_count = 0  # steps whose K×K solve needed jitter

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr:g}, seed={self.seed})"

    def step(
        self, f: Objective, theta: ArrayLike, grad: GradientFn | None = None
    ) -> tuple[Array, StepInfo]:
        """One step from ``theta`` (shape (D,)); returns ``(new_theta, StepInfo)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _finish(self, theta, step, loss, scratch=False, **info):
        """``theta + step`` and its StepInfo; counts the step and any jitter.

        ``scratch=True`` says ``step`` is a fresh array nobody else holds: the new θ is then
        written into it, so a step costs one parameter vector, not two.
        """
        self.t += 1
        if info.get("jitter", 0.0) > 0.0:
            self.jitter_count += 1
        xp = namespace(step)
        step_norm = float(to_numpy(xp.linalg.norm(step)))
        new_theta = xp.add(theta, step, out=step) if scratch else theta + step
        return new_theta, StepInfo(loss=float(loss), step_norm=step_norm, lr=self.lr, **info)

    def _directions(self, sampler, K, theta):
        """K directions (K, D) from ``sampler``, drawn in theta's array module and dtype."""
        return sampler(self.rng, K, theta.shape[0], namespace(theta), theta.dtype)

    # ------------------------------------------------------------------ checkpoints
    def _arrays(self) -> dict:
        """Name -> array (or None) of the optimizer's state vectors (momentum, moments)."""
        return {}

    def _set_arrays(self, arrays: dict) -> None:
        pass

    def state_dict(self) -> dict:
        """Everything that determines the next steps.

        Arrays (momentum, moments) are NumPy arrays on the host under ``"arrays"``; the
        rest are plain Python values (JSON-serialisable; the RNG state holds big integers).
        """
        return {
            "optimizer": type(self).__name__,
            "lr": self.lr,
            "t": self.t,
            "jitter_count": self.jitter_count,
            "rng": copy.deepcopy(self.rng.bit_generator.state),
            "arrays": {
                k: None if v is None else np.array(to_numpy(v)) for k, v in self._arrays().items()
            },
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``; validates it (checkpoints are untrusted input).

        State arrays come back as NumPy arrays; a step on CuPy parameters moves them to the
        device explicitly (``cupy.asarray``) the first time they are used.
        """
        if not isinstance(state, dict):
            raise TypeError(f"optimizer state must be a dict; got {type(state).__name__}")
        missing = {"optimizer", "lr", "t", "jitter_count", "rng", "arrays"} - set(state)
        if missing:
            raise ValueError(f"optimizer state is missing {sorted(missing)}")
        if state["optimizer"] != type(self).__name__:
            raise ValueError(
                f"optimizer state is for {state['optimizer']!r}, not {type(self).__name__!r}"
            )
        lr = float(state["lr"])
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"optimizer state has an invalid lr {state['lr']!r}")
        t, jitter_count = int(state["t"]), int(state["jitter_count"])
        if t < 0 or jitter_count < 0:
            raise ValueError("optimizer state has a negative step or jitter count")
        expected = set(self._arrays())
        arrays = state["arrays"]
        if not isinstance(arrays, dict) or set(arrays) != expected:
            raise ValueError(
                f"optimizer state arrays must be {sorted(expected)}; "
                f"got {sorted(arrays) if isinstance(arrays, dict) else arrays!r}"
            )
        checked = {}
        for name, value in arrays.items():
            if value is not None:
                value = np.asarray(value)
                if value.ndim != 1 or value.dtype.kind != "f":
                    raise ValueError(
                        f"optimizer state array {name!r} must be a 1-D float "
                        f"array; got dtype {value.dtype}, shape {value.shape}"
                    )
                value = value.copy()
            checked[name] = value
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]  # validates type and contents
        self.lr, self.t, self.jitter_count, self.rng = lr, t, jitter_count, rng
        self._set_arrays(checked)


def value_and_gradient(
    f: Objective, theta: Array, grad: GradientFn | None = None, chunk_size: int | None = None
) -> tuple[float, Array]:
    """``(f(θ), ∇f(θ))``: from ``grad`` (back-propagation) if given, else forward mode.

    Forward mode (``hyperdual.gradient``) evaluates f on the D first-order dual numbers
    ``θ + e_i ε``, in chunks: the gradient's i-th entry is the ε part of number i.
    """
    xp = namespace(theta)
    if grad is None:
        g = gradient(f, theta, chunk_size=chunk_size)
        return float(to_numpy(f(theta))), g.astype(theta.dtype, copy=False)
    value, g = grad(theta)
    namespace(theta, g)  # a gradient on another device is an error
    g = xp.asarray(g)
    if g.shape != theta.shape:
        raise ValueError(
            f"grad(theta) returned a gradient of shape {g.shape}; theta has shape {theta.shape}"
        )
    return float(to_numpy(value)), g.astype(theta.dtype, copy=False)
