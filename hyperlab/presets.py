"""Presets of ``fomoh compare``: named bundles of data set, model, epochs, seeds and runs.

The application has one, ``digits`` (the default: offline, a minute or two on a 2-core CPU).
Other packages add theirs with :func:`register_preset` — the paper experiments register
``mnist-logreg`` and ``mnist-cnn`` (``paper_experiments.presets``) through the plugin hook
of :mod:`hyperlab.plugins`, so the application does not depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Preset", "PRESETS", "register_preset"]


@dataclass
class Preset:
    """A named experiment: data, model, length, seeds and the runs to compare.

    ``specs`` are run specifications (:func:`hyperlab.specs.parse_spec`); ``description`` is
    one line (printed when the preset runs), ``details`` optional further lines for
    ``fomoh compare --help``.
    """

    description: str
    dataset: str
    model: str
    epochs: int
    seeds: tuple
    specs: tuple
    model_kwargs: dict = field(default_factory=dict)
    batch_size: int = 64
    eval_max: int | None = None
    standardize: bool = False
    val_set: str = "split"
    init: str = "default"
    details: str = ""


# The default `fomoh compare`: small enough for a 2-core CPU in a few minutes. Learning rates:
# the best final validation loss (mean of seeds 0-2, 100 epochs, batch 64) on the grids
# FGD {0.01, 0.03, 0.1}, FoMoH/FoMoH-2D {0.1, 0.2, 0.3, 0.5}, FoMoH-3D {0.05, 0.1, 0.2, 0.3},
# FoMoH-BP and SGD {0.1, 0.3, 1.0}.
_DIGITS_SPECS = (
    "fgd:lr=0.03",
    "fomoh:lr=0.3",
    "fomoh-2d:lr=0.2",
    "fomoh-3d:lr=0.2",
    "fomoh-bp:lr=0.3",
    "sgd:lr=1.0,label=Backprop (SGD)",
)

PRESETS: dict[str, Preset] = {
    "digits": Preset(
        description="logistic regression on the embedded 8x8 digits (offline, 1-2 minutes)",
        dataset="digits",
        model="logistic_regression",
        epochs=100,
        seeds=(0, 1, 2),
        specs=_DIGITS_SPECS,
        batch_size=64,
        details="the default above",
    ),
}
"""name -> :class:`Preset`: ``digits`` and those registered by plugins."""


def register_preset(name: str, preset: Preset) -> None:
    """Make ``preset`` available as ``fomoh compare --preset <name>``.

    Raises
    ------
    ValueError
        If another preset already has this name (registering the same one twice is fine).
    """
    if name in PRESETS and PRESETS[name] is not preset:
        raise ValueError(f"a preset named {name!r} is already registered")
    PRESETS[name] = preset
