"""What the sub-commands of ``fomoh`` share: exit statuses, the help formatter, argument
types, the data / model and training option groups, and the run settings they make."""

from __future__ import annotations

import argparse
import os

from ..config import RunConfig
from ..data import DATASET_NAMES
from ..specs import parse_value

__all__ = [
    "EXIT_OK",
    "EXIT_DISAGREE",
    "EXIT_USAGE",
    "EXIT_DIVERGED",
    "Formatter",
    "BACKENDS",
    "backend_from_environment",
    "positive_int",
    "nonneg_int",
    "positive_float",
    "key_value",
    "add_data_options",
    "add_training_options",
    "model_arguments",
    "base_config",
]

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3
"""Exit statuses: success; a derivative disagreement; a usage error (bad arguments, missing,
corrupt or unwritable files, an existing --out, an unusable backend); a diverged run."""


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the descriptions' line breaks and show defaults (once: not when the help text
    already states its default, and not for options without one)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text.lower()
            or action.default is None
            or action.default is False
            or action.default == []
        ):
            return text
        return super()._get_help_string(action)


BACKENDS = ("numpy", "cupy")


def backend_from_environment() -> str:
    """``$HYPERDUAL_BACKEND`` (validated in ``main``), else ``numpy``."""
    return os.environ.get("HYPERDUAL_BACKEND", "").strip().lower() or "numpy"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def key_value(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` (``--model-arg``, ``--opt-arg``): the key and the parsed value."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), parse_value(value.strip())


# --------------------------------------------------------------------------- options


def add_data_options(p, defaults_from_preset: bool):
    """--dataset, --data-dir, --download, --model (defaults None when a preset may set them)."""
    g = p.add_argument_group("data and model")
    g.add_argument(
        "--dataset",
        choices=DATASET_NAMES,
        default=None if defaults_from_preset else "digits",
        help="data set; 'digits' is embedded in scikit-learn (no files, no network)"
        + ("; default: from the preset (digits)" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--data-dir",
        default=None,
        help="folder with the MNIST / Fashion-MNIST gzip IDX files (or a parent "
        "folder with mnist/ and fashion-mnist/ sub-folders); default "
        "$FOMOH_DATA_DIR/<name> or the user cache",
    )
    g.add_argument(
        "--download",
        action="store_true",
        help="download missing MNIST / Fashion-MNIST files into --data-dir (checksums verified)",
    )
    g.add_argument(
        "--model",
        default=None if defaults_from_preset else "logistic_regression",
        help="logistic_regression (logreg), mlp, mnist_cnn (cnn), lenet5, deep_mlp"
        + ("; default: from the preset" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--model-arg",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="extra model argument, repeatable (e.g. hidden=32, width=64, depth=4)",
    )
    g.add_argument(
        "--max-train",
        type=positive_int,
        default=None,
        help="train on a seeded subset of at most this many training examples",
    )
    g.add_argument(
        "--eval-max",
        type=positive_int,
        default=None,
        help="report training loss/accuracy on a fixed subset of at most this many "
        "training examples (saves time on MNIST)",
    )
    g.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None if defaults_from_preset else False,
        help="standardise pixels with the training mean and std"
        + (" (default: from the preset)" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--val-set",
        choices=("split", "test"),
        default=None if defaults_from_preset else "split",
        help="validate on 10%% held out of the training set ('split') or on the "
        "test set, training on all training examples ('test')"
        + ("; default: from the preset" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--split-seed",
        type=nonneg_int,
        default=0,
        help="seed of the train/validation split (the same for all --seeds)",
    )


def add_training_options(p, defaults_from_preset: bool):
    g = p.add_argument_group("training")
    g.add_argument(
        "--epochs",
        type=positive_int,
        default=None if defaults_from_preset else 10,
        help="total number of epochs"
        + ("; default: from the preset" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--batch-size",
        type=positive_int,
        default=None if defaults_from_preset else 64,
        help="minibatch size"
        + (
            "; default: from the preset (a run specification's batch=... wins)"
            if defaults_from_preset
            else ""
        ),
    )
    g.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="learning rate; default: the optimizer's default (a run specification's lr=... wins)",
    )
    g.add_argument(
        "--schedule",
        choices=("none", "step", "milestone", "plateau", "first-rise"),
        default="none",
        help="learning-rate schedule: 'step' multiplies the rate by --gamma every "
        "--every epochs; 'milestone' by --gamma once, after epoch --milestone; "
        "'plateau' by --factor whenever the validation loss rises (after "
        "--patience more such epochs); 'first-rise' likewise, but only once",
    )
    g.add_argument(
        "--gamma",
        type=positive_float,
        default=0.1,
        help="'step' and 'milestone' schedules: factor applied to the rate",
    )
    g.add_argument(
        "--every",
        type=positive_int,
        default=1000,
        help="'step' schedule: epochs between two rate changes",
    )
    g.add_argument(
        "--milestone",
        type=positive_int,
        default=1000,
        help="epoch after which the 'milestone' schedule cuts the rate (in a run "
        "specification also 'auto': where the validation NLL of the same "
        "method without schedule starts to increase)",
    )
    g.add_argument(
        "--factor",
        type=positive_float,
        default=0.1,
        help="'plateau' and 'first-rise' schedules: factor applied to the rate when "
        "the validation loss rises",
    )
    g.add_argument(
        "--patience",
        type=nonneg_int,
        default=0,
        help="'plateau' schedule: further rising epochs tolerated before the rate changes",
    )
    g.add_argument(
        "--init",
        choices=("default", "pytorch"),
        default=None if defaults_from_preset else "default",
        help="initial parameters: the model's own ('default') or PyTorch's "
        "default for Linear/Conv layers, U(±1/√fan_in) for weights and biases "
        "('pytorch', as the FoMoH paper's code)"
        + ("; default: from the preset" if defaults_from_preset else ""),
    )
    g.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="floating-point precision of parameters, data and derivatives",
    )
    g.add_argument(
        "--backend",
        choices=BACKENDS,
        default=backend_from_environment(),
        help="array backend; 'cupy' needs CuPy and a GPU (default: "
        "$HYPERDUAL_BACKEND if set, else numpy)",
    )
    g.add_argument(
        "--eval-batch-size",
        type=positive_int,
        default=2048,
        help="examples per forward pass when evaluating",
    )
    o = p.add_argument_group("output")
    o.add_argument(
        "--out",
        default=None,
        help="output folder (default: results/train/<optimizer>-seed<seed> for "
        "train, results/compare or results/<preset> for compare)",
    )
    o.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoints in --out (settings must match, "
        "--epochs may grow); finished runs are not redone",
    )
    o.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files of an earlier run in --out (without it, or "
        "--resume, an --out that already holds a run is refused)",
    )
    o.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or log lines (bars show on a terminal or in a "
        "notebook; elsewhere, e.g. in a CI log, a plain line every "
        "$FOMOH_LOG_INTERVAL seconds, default 30)",
    )


def model_arguments(args) -> dict:
    """The ``--model-arg KEY=VALUE`` options as a dictionary."""
    return dict(args.model_arg)


def base_config(args, **overrides):
    """The :class:`~hyperlab.config.RunConfig` of the data, model and training options."""
    values = dict(
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        model=args.model,
        model_kwargs=model_arguments(args),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        dtype=args.dtype,
        backend=args.backend,
        schedule=args.schedule,
        gamma=args.gamma,
        every=args.every,
        milestone=args.milestone,
        factor=args.factor,
        patience=args.patience,
        init=args.init or "default",
        max_train=args.max_train,
        eval_max=args.eval_max,
        eval_batch_size=args.eval_batch_size,
        standardize=args.standardize,
        val_set=args.val_set,
        split_seed=args.split_seed,
    )
    values.update(overrides)
    return RunConfig(**values)
