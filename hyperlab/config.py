"""The settings and the result of one training run, and the errors of bad settings.

:class:`RunConfig` is everything that determines a run (data, model, optimizer, schedule,
seed, dtype, ...), checked by :meth:`RunConfig.validate`; :class:`RunResult` is what
:func:`hyperlab.train.train` returns. Both are plain dataclasses, written to ``config.json``
and ``summary.json`` through :meth:`RunConfig.to_dict`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "RunConfig",
    "RunResult",
    "ConfigError",
    "OutputExistsError",
    "HISTORY_FIELDS",
    "SCHEDULES",
    "INITS",
    "RUN_FILES",
    "RESUME_FREE_KEYS",
    "field_defaults",
]

HISTORY_FIELDS = (
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "step_loss",
    "steps",
    "jitter_steps",
    "wall_time",
)
"""Columns of ``history.csv``; ``train_loss`` / ``train_acc`` are re-evaluated on the
training set after the epoch; ``step_loss`` is the mean of the minibatch losses seen by the
optimizer during the epoch, each taken before its step and weighted by its batch size (the
paper's "training loss"); ``jitter_steps`` how many K×K solves needed jitter, ``wall_time``
the cumulative seconds spent training and evaluating."""

SCHEDULES = ("none", "step", "milestone", "plateau", "first-rise")
"""Learning-rate schedules (stepped once after each epoch):

* ``step``: multiply the rate by ``gamma`` every ``every`` epochs;
* ``milestone``: multiply it by ``gamma`` once, after epoch ``milestone`` (the FoMoH paper's
  logistic-regression schedule, the milestone being the epoch where the validation NLL of
  the run without schedule starts to increase);
* ``plateau``: multiply it by ``factor`` at each epoch where the validation loss rises above
  the previous epoch's (after ``patience`` further such epochs);
* ``first-rise``: like ``plateau`` but only once (the first rise)."""

INITS = ("default", "pytorch")
"""Initialisations: ``default`` is the model's own (``layers.models``: Glorot/He uniform
weights, or PyTorch-like weights for the CNN; zero biases); ``pytorch`` draws every weight
*and bias* of every Dense/Conv layer from ``U(-1/√fan_in, 1/√fan_in)``, PyTorch's default for
``nn.Linear`` / ``nn.Conv2d`` and so the initialisation of the FoMoH paper's code."""

RUN_FILES = ("config.json", "history.csv", "history.json", "checkpoint.npz", "summary.json")
"""The files of a run in its folder."""

RESUME_FREE_KEYS = ("epochs", "label")
"""Keys of :class:`RunConfig` that may differ between an interrupted run and its resumption."""


def field_defaults() -> dict:
    """The default value of each :class:`RunConfig` field (for checkpoints written before
    the field existed)."""
    return {
        f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
        for f in dataclasses.fields(RunConfig)
    }


class ConfigError(ValueError):
    """Invalid settings for a run (bad optimizer name, learning rate, ...)."""


class OutputExistsError(ConfigError):
    """The output folder already holds a run, and neither resume nor overwrite was asked."""


@dataclass
class RunConfig:
    """Settings of one training run.

    Parameters
    ----------
    dataset : {"digits", "mnist", "fashion-mnist"}
    model : str
        A name for :func:`layers.models.build` (e.g. ``"logistic_regression"``, ``"mlp"``,
        ``"mnist_cnn"``).
    optimizer : str
        A name for :func:`optimizers.build` (``"fgd"``, ``"fomoh"``, ``"fomoh-2d"``,
        ``"fomoh-bp"``, ``"sgd"``, ``"adam"``, ``"newton"``, ...).
    lr : float
        Learning rate η.
    batch_size : int
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    seed : int
        Seed of the initial parameters, the optimizer's directions and the batch order.
    dtype : {"float32", "float64"}
    backend : {"numpy", "cupy"}
    schedule : {"none", "step", "milestone", "plateau", "first-rise"}
        See :data:`SCHEDULES`.
    gamma, every : float, int
        ``step`` schedule: ``lr ← gamma·lr`` every ``every`` epochs.
    milestone : int
        ``milestone`` schedule: ``lr ← gamma·lr`` once, after this epoch.
    factor, patience : float, int
        ``plateau`` and ``first-rise`` schedules: ``lr ← factor·lr`` when the validation loss
        rises (every time, or the first time only).
    init : {"default", "pytorch"}
        Initial parameters (see :data:`INITS`).
    model_kwargs, optimizer_kwargs : dict
        Extra keyword arguments for the model builder and the optimizer (e.g. ``K``,
        ``momentum``).
    data_dir : str, optional
        Directory of the MNIST / Fashion-MNIST files.
    download : bool
        Download missing data files.
    split_seed : int
        Seed of the train/validation split (default 0, the same for every ``seed``).
    val_set : {"split", "test"}
        ``"split"``: validate on 10 % of the training examples held out (stratified,
        seeded); ``"test"``: train on all training examples and validate on the official
        test set (as the FoMoH paper's scripts do for MNIST).
    max_train : int, optional
        Train on a seeded subset of at most this many examples.
    eval_max : int, optional
        Evaluate the *training* loss/accuracy on a fixed subset of at most this many
        training examples (the validation set is always used whole).
    eval_batch_size : int
        Examples per batch in the evaluation forward passes.
    standardize : bool
        Standardise pixels with the training mean and standard deviation.
    label : str, optional
        Name shown in tables and plots (default: the optimizer name).
    """

    dataset: str = "digits"
    model: str = "logistic_regression"
    optimizer: str = "fomoh"
    lr: float = 0.1
    batch_size: int = 64
    epochs: int = 10
    seed: int = 0
    dtype: str = "float32"
    backend: str = "numpy"
    schedule: str = "none"
    gamma: float = 0.1
    every: int = 1000
    milestone: int = 1000
    factor: float = 0.1
    patience: int = 0
    init: str = "default"
    model_kwargs: dict = field(default_factory=dict)
    optimizer_kwargs: dict = field(default_factory=dict)
    data_dir: str | None = None
    download: bool = False
    split_seed: int = 0
    val_set: str = "split"
    max_train: int | None = None
    eval_max: int | None = None
    eval_batch_size: int = 2048
    standardize: bool = False
    label: str | None = None

    def validate(self) -> RunConfig:
        """Check the values; raise :class:`ConfigError` with a clear message."""

        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")

        for name in ("batch_size", "epochs", "every", "milestone", "eval_batch_size"):
            positive_int(name)
        for name in ("max_train", "eval_max"):
            if getattr(self, name) is not None:
                positive_int(name)
        if not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive finite number, got {self.lr!r}")
        if int(self.seed) < 0 or int(self.split_seed) < 0:
            raise ConfigError(f"seeds must be non-negative, got {self.seed}, {self.split_seed}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.backend not in ("numpy", "cupy"):
            raise ConfigError(f"backend must be 'numpy' or 'cupy', got {self.backend!r}")
        if self.val_set not in ("split", "test"):
            raise ConfigError(f"val_set must be 'split' or 'test', got {self.val_set!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {self.init!r}")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0, got {self.patience}")
        if not 0.0 < self.gamma <= 1.0 or not 0.0 < self.factor < 1.0:
            raise ConfigError(
                f"need 0 < gamma <= 1 and 0 < factor < 1, got gamma="
                f"{self.gamma}, factor={self.factor}"
            )
        return self

    @property
    def name(self) -> str:
        """The label shown in tables and plots."""
        return self.label or self.optimizer

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown run settings {unknown}")
        return cls(**data)


@dataclass
class RunResult:
    """What :func:`hyperlab.train.train` returns.

    Attributes
    ----------
    config : RunConfig
    theta : numpy.ndarray, shape (D,)
        Final parameters (on the host).
    history : list of dict
        One record per epoch, keys :data:`HISTORY_FIELDS`.
    status : {"completed", "diverged"}
    wall_time : float
        Seconds spent in this run, summed over all its resumptions.
    out_dir : pathlib.Path or None
    message : str
        Empty, or why the run stopped early.
    """

    config: RunConfig
    theta: np.ndarray
    history: list
    status: str
    wall_time: float
    out_dir: Path | None
    message: str = ""

    @property
    def final(self) -> dict:
        """The last history record (empty dict when no epoch completed)."""
        return self.history[-1] if self.history else {}
