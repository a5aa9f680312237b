"""The paper's presets of ``fomoh compare`` (Tables 1 and 2) and their registration."""

from __future__ import annotations

from hyperlab.cli import main
from hyperlab.config import RunConfig
from hyperlab.presets import PRESETS
from hyperlab.specs import parse_spec
from paper_experiments.presets import PAPER_PRESETS

TABLE1_LABELS = [
    "FGD",
    "FoMoH",
    "FoMoH (LR-sch.)",
    "FoMoH-2D",
    "FoMoH-2D (LR-sch.)",
    "FoMoH-3D",
    "FoMoH-3D (LR-sch.)",
    "FoMoH-BP",
    "Backpropagation",
]


def test_table1_preset_is_the_papers():
    preset = PAPER_PRESETS["mnist-logreg"]
    specs = [parse_spec(s) for s in preset.specs]
    assert [s.label for s in specs] == TABLE1_LABELS
    assert preset.init == "pytorch" and preset.epochs == 2000 and len(preset.seeds) == 5
    scheduled = {s.label: s.settings for s in specs if "schedule" in s.settings}
    assert scheduled == {
        "FoMoH (LR-sch.)": {
            "lr": 0.1362,
            "batch_size": 1024,
            "schedule": "milestone",
            "milestone": "auto",
            "gamma": 0.1,
        },
        "FoMoH-2D (LR-sch.)": {
            "lr": 0.04221,
            "batch_size": 512,
            "schedule": "milestone",
            "milestone": "auto",
            "gamma": 0.1,
        },
        "FoMoH-3D (LR-sch.)": {
            "lr": 0.1,
            "batch_size": 512,
            "schedule": "milestone",
            "milestone": "auto",
            "gamma": 0.8,
        },
    }
    for spec in specs:
        if spec.auto_milestone:
            reference = spec.reference(specs, RunConfig())
            assert reference.label == spec.label.replace(" (LR-sch.)", "")


def test_table2_preset_follows_the_papers_text():
    preset = PAPER_PRESETS["mnist-cnn"]
    assert preset.init == "pytorch"
    specs = {parse_spec(s).label: parse_spec(s).settings for s in preset.specs}
    for label in ("FoMoH (LR-sch.)", "FoMoH-2D (LR-sch.)", "FoMoH-3D (LR-sch.)"):
        assert specs[label]["schedule"] == "step"
        assert (specs[label]["gamma"], specs[label]["every"]) == (0.1, 1000)
    assert specs["FoMoH-3D"]["batch_size"] == 512


def test_the_plugin_registers_the_presets_with_fomoh_compare(capsys):
    """Through the entry point ``hyperlab.plugins`` (the application imports nothing of
    paper_experiments): ``fomoh compare --help`` lists them and ``--preset`` accepts them."""
    assert main(["compare", "--help"]) == 0
    out = capsys.readouterr().out
    assert "FoMoH-3D" in out and "mnist-logreg" in out
    for name, preset in PAPER_PRESETS.items():
        assert PRESETS[name] is preset
