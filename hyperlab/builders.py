"""The parts of a run, built from its :class:`~hyperlab.config.RunConfig`: the data, the
model, the optimizer, the learning-rate schedule and the initial parameters.

Seeds. From the run's ``seed`` come, independently (:func:`derived_seed`), the model's
initial parameters, the optimizer's random directions and the fixed subset on which the
training loss is evaluated; the minibatch order comes from
:func:`hyperlab.data.epoch_rng`. The data split uses ``split_seed``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import optimizers
from layers import models
from layers.models import IMAGE_MODELS
from optimizers.schedules import MilestoneDecay, ReduceOnRise, StepDecay

from .config import ConfigError, RunConfig
from .data import load_dataset

__all__ = [
    "derived_seed",
    "canonical_model",
    "is_image_model",
    "prepare_data",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "pytorch_default_init",
    "initial_parameters",
]


def derived_seed(seed: int, purpose: str) -> int:
    """An independent 32-bit seed for ``purpose`` ("model", "optimizer", "eval") from the
    run seed."""
    key = {"model": 1, "optimizer": 2, "eval": 3}[purpose]
    return int(np.random.SeedSequence(int(seed), spawn_key=(key,)).generate_state(1)[0])


def canonical_model(name: str) -> str:
    """The model registry's name for ``name`` (resolving aliases such as ``logreg``)."""
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
        config.dataset,
        data_dir=config.data_dir,
        download=config.download,
        seed=config.split_seed,
        flatten=not is_image_model(config.model),
        dtype=np.dtype(config.dtype),
        standardize=config.standardize,
        max_train=config.max_train,
        val_fraction=0.0 if config.val_set == "test" else 0.1,
    )
    if config.val_set == "test":
        data = dataclasses.replace(data, X_val=data.X_test, y_val=data.y_test)
    return data


def build_model(config: RunConfig, data):
    """The model named in ``config``, sized for ``data`` (input shape, number of classes).

    Image models get ``input_shape=(1, H, W)``, the others ``n_features=H*W``; the
    ``model_kwargs`` of the config (e.g. ``hidden=32``) are passed on.
    """
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
    try:
        return optimizers.build(
            config.optimizer,
            lr=config.lr,
            seed=derived_seed(config.seed, "optimizer"),
            **config.optimizer_kwargs,
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build optimizer {config.optimizer!r}: {exc}") from exc


def build_schedule(config: RunConfig, optimizer):
    """The learning-rate schedule of ``config`` acting on ``optimizer`` (or None).

    A schedule is stepped once per epoch with the validation loss and changes
    ``optimizer.lr`` in place; it has ``state_dict()`` / ``load_state_dict()``.
    """
    if config.schedule == "step":
        return StepDecay(optimizer, gamma=config.gamma, every=config.every)
    if config.schedule == "milestone":
        return MilestoneDecay(optimizer, gamma=config.gamma, milestone=config.milestone)
    if config.schedule in ("plateau", "first-rise"):
        return ReduceOnRise(
            optimizer,
            factor=config.factor,
            patience=config.patience,
            max_reductions=1 if config.schedule == "first-rise" else None,
        )
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
            raise ConfigError(
                f"init='pytorch' does not know how to draw {name!r} "
                f"(shape {shape}); use init='default'"
            )
        bound = 1.0 / math.sqrt(fan_in[layer])
        tensors.append(rng.uniform(-bound, bound, size=shape).reshape(-1))
    theta = np.concatenate(tensors) if tensors else np.zeros(0)
    return theta.astype(np.dtype(dtype))


def initial_parameters(config: RunConfig, model):
    """The initial θ of a run (host NumPy or the model's backend array), seeded from
    ``config.seed``, drawn as ``config.init`` says."""
    seed = derived_seed(config.seed, "model")
    if config.init == "pytorch":
        return pytorch_default_init(model, seed, np.dtype(config.dtype))
    # init_params creates θ with the selected backend (NumPy or CuPy)
    return model.init_params(seed=seed, dtype=np.dtype(config.dtype))
