"""The training loop: a model, a data set and one optimizer, epoch by epoch.

One *run* trains one model with one optimizer from one seed and writes into its own folder:

==================  ===========================================================
``config.json``     the settings of the run (:class:`RunConfig`)
``history.csv``     one row per epoch: learning rate, train/validation loss and
``history.json``    accuracy, mean minibatch loss, steps, jitter, wall time
``checkpoint.npz``  everything needed to continue (see :mod:`hyperlab.checkpoint`),
                    rewritten atomically after every epoch
``summary.json``    final metrics, status (``"completed"`` or ``"diverged"``),
                    wall time
==================  ===========================================================

What happens in one epoch ``e`` (0-based)::

    for xb, yb in iterate_minibatches(X_train, y_train, batch_size, epoch_rng(seed, e)):
        f = lambda th: model.loss(th, xb, yb)               # evaluated on hyper-duals
        g = lambda th: model.value_and_grad(th, xb, yb)     # back-propagation
        theta, info = optimizer.step(f, theta, grad=g)
    evaluate train and validation loss/accuracy with the plain real forward pass
    schedule.step(val_loss)                                  # optional LR schedule
    save checkpoint

Two training losses are recorded per epoch (deviation 4 of issue 16): ``train_loss``, the
loss at the end of the epoch re-evaluated on the training set (or its fixed ``eval_max``
subset), and ``step_loss``, the running mean of the minibatch losses the optimizer saw
*before* each of its steps, weighted by batch size — what the FoMoH paper's scripts report
as the training loss (``loss += n_batch·loss_batch`` over the epoch, divided by N).

Reproducibility. The data split uses ``split_seed`` (fixed across seeds by default, so runs
with different seeds see the same validation set). From ``seed`` come, independently, the
model's initial parameters, the optimizer's random directions and — through
:func:`hyperlab.data.epoch_rng` — the minibatch order of every epoch. Because the batch order of
epoch ``e`` depends only on ``(seed, e)`` and the checkpoint holds θ, the optimizer state
(its random generator included) and the schedule state, a run resumed after epoch ``k``
reaches bit-for-bit the same θ and history as a run that was never interrupted (only the
``wall_time`` column differs).

Divergence. The loss reported by each step and the evaluated losses are checked; the first
NaN, infinity or loss above :data:`DIVERGENCE_LOSS` stops the run with
:class:`NonFiniteLossError`, whose message names the epoch and step. The checkpoint of the
last completed epoch (or of the initial parameters) is left untouched.

Files. Every file is written atomically (a killed run leaves the old version or the new one,
never an empty file), JSON strictly (no ``NaN`` tokens), and an ``out_dir`` that already
holds a run is refused unless ``resume`` or ``overwrite`` is given.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .atomic import remove_orphans, write_json, write_text
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import epoch_rng, iterate_minibatches, load_dataset, num_batches
from .progress import Progress

__all__ = ["RunConfig", "RunResult", "NonFiniteLossError", "ConfigError",
           "OutputExistsError", "DIVERGENCE_LOSS", "RUN_FILES", "train",
           "evaluate", "prepare_data", "build_model", "build_optimizer", "build_schedule",
           "HISTORY_FIELDS", "SCHEDULES", "INITS", "read_history", "pytorch_default_init",
           "initial_parameters"]

HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                  "step_loss", "steps", "jitter_steps", "wall_time")
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

IMAGE_MODELS = ("mnist_cnn", "lenet5")
"""Models that take images ``(N, 1, H, W)``; all other models take flattened inputs."""

DIVERGENCE_LOSS = 1e8
"""A finite loss above this also stops a run as diverged: the cross-entropy of a C-class
model starts near ln C (2.3 for 10 classes), so 1e8 means logits 1e8 apart — a run that has
left every useful region and is on its way to overflow (a loss of 1e300 is still finite)."""

RUN_FILES = ("config.json", "history.csv", "history.json", "checkpoint.npz", "summary.json")
"""The files of a run in its folder."""

# Keys of RunConfig that may differ between an interrupted run and its resumption.
_RESUME_FREE_KEYS = ("epochs", "label")

# The default value of each RunConfig field, for checkpoints written before it existed.
def _field_defaults() -> dict:
    return {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
            for f in dataclasses.fields(RunConfig)}


class ConfigError(ValueError):
    """Invalid settings for a run (bad optimizer name, learning rate, ...)."""


class OutputExistsError(ConfigError):
    """The output folder already holds a run, and neither resume nor overwrite was asked."""


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the run was stopped.

    Attributes
    ----------
    epoch : int
        1-based epoch in which it happened.
    step : int or None
        1-based step within that epoch (None when found by the end-of-epoch evaluation).
    checkpoint : pathlib.Path or None
        The last good checkpoint, kept on disk.
    """

    def __init__(self, message, epoch, step=None, checkpoint=None):
        super().__init__(message)
        self.epoch, self.step, self.checkpoint = epoch, step, checkpoint


# --------------------------------------------------------------------------- configuration


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

    def validate(self) -> "RunConfig":
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
            raise ConfigError(f"need 0 < gamma <= 1 and 0 < factor < 1, got gamma="
                              f"{self.gamma}, factor={self.factor}")
        return self

    @property
    def name(self) -> str:
        """The label shown in tables and plots."""
        return self.label or self.optimizer

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown run settings {unknown}")
        return cls(**data)


@dataclass
class RunResult:
    """What :func:`train` returns.

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


# --------------------------------------------------------------------------- building blocks


def _derived_seed(seed: int, purpose: str) -> int:
    """An independent 32-bit seed for ``purpose`` ("model", "optimizer") from the run seed."""
    key = {"model": 1, "optimizer": 2, "eval": 3}[purpose]
    return int(np.random.SeedSequence(int(seed), spawn_key=(key,)).generate_state(1)[0])


def canonical_model(name: str) -> str:
    """The model registry's name for ``name`` (resolving aliases such as ``logreg``)."""
    from layers import models

    return models.ALIASES.get(name, name)


def is_image_model(name: str) -> bool:
    """True for models that take ``(N, 1, H, W)`` images rather than flat vectors."""
    return canonical_model(name) in IMAGE_MODELS


def prepare_data(config: RunConfig):
    """Load the data set of ``config`` (flattened unless the model is convolutional).

    With ``val_set="test"`` nothing is held out of the training set and the test set
    serves as the validation set.
    """
    data = load_dataset(
        config.dataset, data_dir=config.data_dir, download=config.download,
        seed=config.split_seed, flatten=not is_image_model(config.model),
        dtype=np.dtype(config.dtype), standardize=config.standardize,
        max_train=config.max_train, val_fraction=0.0 if config.val_set == "test" else 0.1)
    if config.val_set == "test":
        data = dataclasses.replace(data, X_val=data.X_test, y_val=data.y_test)
    return data


def build_model(config: RunConfig, data):
    """The model named in ``config``, sized for ``data`` (input shape, number of classes).

    Image models get ``input_shape=(1, H, W)``, the others ``n_features=H*W``; the
    ``model_kwargs`` of the config (e.g. ``hidden=32``) are passed on.
    """
    from layers import models

    kwargs = dict(config.model_kwargs)
    kwargs.setdefault("n_classes", int(data.num_classes))
    if is_image_model(config.model):
        kwargs.setdefault("input_shape", tuple(data.input_shape))
    else:
        kwargs.setdefault("n_features", int(np.prod(data.input_shape)))
    try:
        return models.build(config.model, **kwargs)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build model {config.model!r}: {exc}") from exc


def build_optimizer(config: RunConfig):
    """The optimizer named in ``config``, seeded from the run seed."""
    import optimizers

    try:
        return optimizers.build(config.optimizer, lr=config.lr,
                                seed=_derived_seed(config.seed, "optimizer"),
                                **config.optimizer_kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build optimizer {config.optimizer!r}: {exc}") from exc


def build_schedule(config: RunConfig, optimizer):
    """The learning-rate schedule of ``config`` acting on ``optimizer`` (or None).

    A schedule is stepped once per epoch with the validation loss and changes
    ``optimizer.lr`` in place; it has ``state_dict()`` / ``load_state_dict()``.
    """
    from optimizers.schedules import MilestoneDecay, ReduceOnRise, StepDecay

    if config.schedule == "step":
        return StepDecay(optimizer, gamma=config.gamma, every=config.every)
    if config.schedule == "milestone":
        return MilestoneDecay(optimizer, gamma=config.gamma, milestone=config.milestone)
    if config.schedule in ("plateau", "first-rise"):
        return ReduceOnRise(optimizer, factor=config.factor, patience=config.patience,
                            max_reductions=1 if config.schedule == "first-rise" else None)
    return None


def pytorch_default_init(model, seed: int, dtype=np.float32):
    """θ drawn like PyTorch's default ``nn.Linear`` / ``nn.Conv2d`` initialisation.

    Every weight tensor ``W`` (shape ``(out, in, *kernel)``) and the bias that follows it are
    drawn from ``U(-b, b)`` with ``b = 1/√fan_in``, ``fan_in = in·prod(kernel)`` (PyTorch's
    ``kaiming_uniform_(a=√5)`` for the weight and its bias rule), in θ order from one
    ``numpy.random.default_rng(seed)`` in float64, then cast to ``dtype``. For MNIST logistic
    regression ``b = 1/√784 = 0.0357`` and the initial NLL is ≈ log 10 = 2.30.

    Parameters
    ----------
    model : a ``layers`` model with ``param_shapes()`` (``[("dense1.weight", (10, 784)),
        ("dense1.bias", (10,)), ...]`` in θ order)
    seed : int
    dtype : floating dtype

    Returns
    -------
    numpy.ndarray, shape (D,)
    """
    rng = np.random.default_rng(seed)
    tensors, fan_in = [], {}
    for name, shape in model.param_shapes():
        layer, _, kind = name.rpartition(".")
        if kind == "weight":
            fan_in[layer] = int(np.prod(shape[1:], dtype=np.int64))
        if layer not in fan_in or kind not in ("weight", "bias"):
            raise ConfigError(f"init='pytorch' does not know how to draw {name!r} "
                              f"(shape {shape}); use init='default'")
        bound = 1.0 / math.sqrt(fan_in[layer])
        tensors.append(rng.uniform(-bound, bound, size=shape).reshape(-1))
    theta = np.concatenate(tensors) if tensors else np.zeros(0)
    return theta.astype(np.dtype(dtype))


def initial_parameters(config: RunConfig, model):
    """The initial θ of a run (host NumPy or the model's backend array), seeded from
    ``config.seed``, drawn as ``config.init`` says."""
    seed = _derived_seed(config.seed, "model")
    if config.init == "pytorch":
        return pytorch_default_init(model, seed, np.dtype(config.dtype))
    # init_params creates θ with the selected backend (NumPy or CuPy)
    return model.init_params(seed=seed, dtype=np.dtype(config.dtype))


def _info_value(info, key, default=None):
    """A field of an optimizer's step info (a dataclass or a dict)."""
    if isinstance(info, dict):
        return info.get(key, default)
    return getattr(info, key, default)


def _to_host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


# --------------------------------------------------------------------------- evaluation


def evaluate(model, theta, X, y, batch_size: int = 2048, xp=np) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` at ``theta`` on ``(X, y)``.

    Uses the plain real forward pass (no derivatives), ``batch_size`` examples at a time;
    the loss of each example is the stable ``logsumexp(z) - z_y`` of its logits ``z``.

    Parameters
    ----------
    model : a model with ``forward(theta, X) -> logits (N, C)``
    theta : array, shape (D,)
    X : numpy.ndarray, shape (N, ...)
        On the host; each batch is copied to ``xp`` explicitly.
    y : numpy.ndarray of int, shape (N,)
    batch_size : int
    xp : module
        Array module of ``theta`` (NumPy or CuPy).

    Returns
    -------
    loss, accuracy : float
        ``nan`` loss if any logit is not finite.
    """
    n = len(y)
    total_loss, correct = 0.0, 0
    for start in range(0, n, batch_size):
        xb = xp.asarray(X[start:start + batch_size])
        yb = xp.asarray(y[start:start + batch_size])
        logits = model.forward(theta, xb)
        shift = logits.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(logits - shift).sum(axis=1)) + shift[:, 0]
        picked = xp.take_along_axis(logits, yb[:, None], axis=1)[:, 0]
        total_loss += float(_to_host((lse - picked).sum(dtype=xp.float64)))
        correct += int(_to_host((logits.argmax(axis=1) == yb).sum()))
    return total_loss / n, correct / n


# --------------------------------------------------------------------------- files


def _write_history(out_dir: Path, history: list[dict], config: RunConfig) -> None:
    """``history.csv`` (with ``label`` and ``seed`` columns, so that the files of several
    runs can be concatenated) and ``history.json``, both atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=("label", "seed") + HISTORY_FIELDS)
    writer.writeheader()
    for record in history:
        writer.writerow({"label": config.name, "seed": config.seed,
                         **{k: record.get(k) for k in HISTORY_FIELDS}})
    write_text(out_dir / "history.csv", text.getvalue())
    write_json(out_dir / "history.json", history)


def read_history(out_dir) -> list[dict]:
    """The per-epoch records of the run in ``out_dir`` (from ``history.json``)."""
    return json.loads((Path(out_dir) / "history.json").read_text())


def _write_summary(out_dir: Path, result: RunResult) -> None:
    from .provenance import versions

    summary = {"label": result.config.name, "status": result.status,
               "message": result.message, "epochs": len(result.history),
               "wall_time": result.wall_time, "final": result.final,
               "num_params": int(result.theta.shape[0]), "config": result.config.to_dict(),
               "versions": versions()}
    write_json(out_dir / "summary.json", summary)


def _check_output(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``out`` that already holds a run unless it is resumed or overwritten."""
    if resume or overwrite or not out.is_dir():
        return
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing:
        raise OutputExistsError(
            f"{out} already holds a run ({', '.join(existing)}); use --resume to continue "
            "it, --overwrite to replace it, or another --out folder")


def _check_resumable(saved: dict, config: RunConfig, path: Path) -> None:
    """Refuse to resume a checkpoint written by a run with other settings."""
    mine, defaults = config.to_dict(), _field_defaults()
    # a setting missing from an older checkpoint had its default value then
    diff = [k for k in mine if k not in _RESUME_FREE_KEYS and
            json.loads(json.dumps(saved.get(k, defaults[k]))) != json.loads(json.dumps(mine[k]))]
    if diff:
        details = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {mine[k]!r}"
                            for k in diff)
        raise CheckpointError(f"{path}: written by a run with different settings ({details}); "
                              "use another --out folder or the original settings")


# --------------------------------------------------------------------------- the loop


def _diverged(loss: float) -> bool:
    """NaN, infinite, or above :data:`DIVERGENCE_LOSS`."""
    return not (math.isfinite(loss) and loss <= DIVERGENCE_LOSS)


def train(config: RunConfig, out_dir=None, *, resume: bool = False, quiet: bool = False,
          data=None, log: Callable[[str], Any] | None = None,
          overwrite: bool = False,
          on_epoch: Callable[[dict], Any] | None = None) -> RunResult:
    """Train one model with one optimizer; write history, checkpoints and summary.

    Parameters
    ----------
    config : RunConfig
    out_dir : path-like, optional
        Folder of the run's files (created). ``None`` writes nothing (no checkpoints).
    resume : bool
        Continue from ``out_dir/checkpoint.npz`` if it exists (its settings must match
        ``config`` except ``epochs``); otherwise start from scratch.
    quiet : bool
        No progress bars and no log lines. Otherwise bars on a terminal or in a notebook,
        and plain periodic lines elsewhere (a CI log; see :mod:`hyperlab.progress`).
    data : hyperlab.data.Dataset, optional
        Already loaded data (must match ``config``); loaded from ``config`` otherwise.
    log : callable, optional
        Receives one line of text per event (default: print to stderr unless ``quiet``).
    overwrite : bool
        Replace the files of an earlier run in ``out_dir``; without it (or ``resume``) a
        folder that already holds a run is refused with :class:`OutputExistsError`.
    on_epoch : callable, optional
        Called with each epoch's history record once it is checkpointed (progress reports
        of parallel comparisons).

    Returns
    -------
    RunResult

    Raises
    ------
    NonFiniteLossError
        The loss became NaN/inf; the last good checkpoint is kept and the history up to
        the last completed epoch has been written.
    ConfigError, CheckpointError, hyperlab.data.DataError, hyperdual.BackendUnavailableError
    OSError
        An unusable ``out_dir`` (a file, not writable) or a full disk.
    """
    import hyperdual
    from optimizers import ModelObjective

    config.validate()
    if log is None:
        log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _check_output(out, resume, overwrite)
    xp = hyperdual.set_backend(config.backend)
    dtype = np.dtype(config.dtype)
    if data is None:
        data = prepare_data(config)
    model = build_model(config, data)
    optimizer = build_optimizer(config)
    schedule = build_schedule(config, optimizer)

    ckpt_path = out / "checkpoint.npz" if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        remove_orphans(out, RUN_FILES)   # left by a run killed while writing

    # Fixed subset of the training set used to report the training loss and accuracy.
    X_eval, y_eval = data.X_train, data.y_train
    if config.eval_max is not None and len(y_eval) > config.eval_max:
        pick = np.sort(np.random.default_rng(_derived_seed(config.seed, "eval"))
                       .choice(len(y_eval), config.eval_max, replace=False))
        X_eval, y_eval = X_eval[pick], y_eval[pick]

    history: list[dict] = []
    start_epoch, wall_before = 0, 0.0
    if resume and ckpt_path is not None and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        _check_resumable(state["config"], config, ckpt_path)
        theta = state["theta"]
        if theta.dtype != dtype or theta.shape != (model.num_params,):
            raise CheckpointError(f"{ckpt_path}: theta has dtype {theta.dtype} and shape "
                                  f"{theta.shape}; the model needs {dtype} ({model.num_params},)")
        try:
            optimizer.load_state_dict(state["optimizer"])
            if schedule is not None:
                schedule.load_state_dict(state["schedule"])
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{ckpt_path}: invalid optimizer or schedule state: {exc}"
                                  ) from exc
        history = state["history"]
        start_epoch = state["epoch"]
        wall_before = float(state["extra"].get("wall_time", 0.0))
        log(f"[{config.name}] resumed from {ckpt_path} after epoch {start_epoch}")
    else:
        theta = initial_parameters(config, model)
    theta = xp.asarray(theta)        # a resumed θ is copied to the device explicitly

    def checkpoint(epoch):
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, theta=theta, optimizer=optimizer.state_dict(),
                        schedule=schedule.state_dict() if schedule is not None else None,
                        epoch=epoch, history=history, config=config.to_dict(),
                        extra={"wall_time": wall_before + (time.perf_counter() - t0)})

    t0 = time.perf_counter()
    if out is not None:
        write_json(out / "config.json", config.to_dict())
        if start_epoch == 0:
            checkpoint(0)            # the initial parameters: a good state to fall back on

    def finish(status, message=""):
        result = RunResult(config=config, theta=_to_host(theta), history=history,
                           status=status, wall_time=wall_before + time.perf_counter() - t0,
                           out_dir=out, message=message)
        if out is not None:
            _write_history(out, history, config)
            _write_summary(out, result)
        return result

    n_steps = num_batches(len(data.y_train), config.batch_size)
    progress = Progress(quiet, log)
    progress.line(f"[{config.name}] training epochs {start_epoch + 1}-{config.epochs}, "
                  f"{n_steps} steps each", force=True)
    epochs = progress.bar(range(start_epoch, config.epochs), desc=config.name,
                          unit="epoch", initial=start_epoch, total=config.epochs)
    for epoch in epochs:
        losses, sizes, jitter = [], [], 0
        batches = iterate_minibatches(data.X_train, data.y_train, config.batch_size,
                                      epoch_rng(config.seed, epoch))
        for step, (xb, yb) in enumerate(progress.bar(batches, total=n_steps, leave=False,
                                                     desc=f"epoch {epoch + 1}"), start=1):
            xb, yb = xp.asarray(xb), xp.asarray(yb)

            # f(th) = model.loss(th, xb, yb); the objective also carries the model's hvp,
            # gnvp and param_groups for the companion-paper optimizers (Gauss-Newton,
            # partition Newton; see optimizers.newton_methods).
            f = ModelObjective(model, xb, yb)
            g = f.value_and_grad

            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                new_theta, info = optimizer.step(f, theta, grad=g)
            loss = float(_info_value(info, "loss", math.nan))
            if _diverged(loss) or not bool(xp.isfinite(new_theta).all()):
                if not _diverged(loss):
                    what = f"the parameters became non-finite (loss before the step = {loss:.6g})"
                elif math.isfinite(loss):
                    what = f"loss = {loss:g}, above the divergence limit {DIVERGENCE_LOSS:g},"
                else:
                    what = f"loss = {loss}"
                message = (f"[{config.name}] {what} at epoch {epoch + 1}, step {step} of "
                           f"{n_steps} (lr = {optimizer.lr:g}); run stopped.")
                if ckpt_path is not None:
                    message += (f" The last good checkpoint (after epoch {epoch}) is kept: "
                                f"{ckpt_path}")
                finish("diverged", message)
                raise NonFiniteLossError(message, epoch + 1, step, ckpt_path)
            theta = new_theta
            losses.append(loss)
            sizes.append(len(yb))
            jitter += int(_info_value(info, "jitter", 0.0) > 0.0)
            progress.line(lambda: f"[{config.name}] epoch {epoch + 1}/{config.epochs}, step "
                                  f"{step}/{n_steps}: loss {loss:.4g}")

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            train_loss, train_acc = evaluate(model, theta, X_eval, y_eval,
                                             config.eval_batch_size, xp)
            val_loss, val_acc = evaluate(model, theta, data.X_val, data.y_val,
                                         config.eval_batch_size, xp)
        if _diverged(train_loss) or _diverged(val_loss):
            message = (f"[{config.name}] the evaluated loss is not finite (or above "
                       f"{DIVERGENCE_LOSS:g}) after epoch "
                       f"{epoch + 1} (train {train_loss}, validation {val_loss}; lr = "
                       f"{optimizer.lr:g}); run stopped.")
            if ckpt_path is not None:
                message += f" The last good checkpoint (after epoch {epoch}) is kept: {ckpt_path}"
            finish("diverged", message)
            raise NonFiniteLossError(message, epoch + 1, None, ckpt_path)

        history.append({
            "epoch": epoch + 1, "lr": float(optimizer.lr),
            "train_loss": train_loss, "train_acc": train_acc,
            "val_loss": val_loss, "val_acc": val_acc,
            "step_loss": float(np.dot(losses, sizes) / np.sum(sizes)), "steps": len(losses),
            "jitter_steps": jitter,
            "wall_time": wall_before + time.perf_counter() - t0,
        })
        if schedule is not None:
            schedule.step(val_loss)
        checkpoint(epoch + 1)
        if out is not None:
            _write_history(out, history, config)
        progress.line(lambda: f"[{config.name}] epoch {epoch + 1}/{config.epochs}: train loss "
                              f"{train_loss:.4f}, val loss {val_loss:.4f}, val acc "
                              f"{val_acc:.4f}, {history[-1]['wall_time']:.1f} s",
                      force=epoch + 1 == config.epochs)
        if on_epoch is not None:
            on_epoch(history[-1])
        if hasattr(epochs, "set_postfix"):
            epochs.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}",
                               acc=f"{val_acc:.3f}")
    return finish("completed")
