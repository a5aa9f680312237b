"""``paper_experiments.tables``: a run's result at its final epoch or at its lowest
validation NLL, over seeds, beside the paper's Table 1."""

import json

import numpy as np
import pytest

from hyperlab.specs import parse_spec
from paper_experiments import tables
from paper_experiments.presets import PAPER_PRESETS


def _archive(folder, label, seed, val_losses, rng):
    """A run folder holding only history.json (as ``fomoh compare`` writes it)."""
    run = folder / label.lower() / f"seed{seed}"
    run.mkdir(parents=True)
    records = [
        {
            "epoch": e + 1,
            "val_loss": float(v),
            "step_loss": float(rng.uniform(0.2, 0.4)),
            "train_loss": 0.3,
            "train_acc": float(rng.uniform(0.8, 0.9)),
            "val_acc": float(rng.uniform(0.8, 0.9)),
        }
        for e, v in enumerate(val_losses)
    ]
    (run / "history.json").write_text(json.dumps(records))
    (run / "config.json").write_text(json.dumps({"label": label}))
    return records


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(7)
    runs = {
        seed: _archive(tmp_path, "FoMoH", seed, rng.uniform(0.3, 1.0, size=6), rng)
        for seed in (0, 1)
    }
    return tmp_path, runs


@pytest.mark.parametrize("at", ["final", "best"])
def test_summarise_picks_each_seeds_epoch_and_averages_over_seeds(folder, at):
    path, runs = folder
    (row,) = tables.summarise(path, at)
    chosen = [
        h[-1] if at == "final" else h[int(np.argmin([r["val_loss"] for r in h]))]
        for h in runs.values()
    ]
    assert row["epoch"] == " ".join(str(r["epoch"]) for r in chosen)
    for key in tables.METRICS:
        values = [r[key] for r in chosen]
        assert row[key] == pytest.approx(np.mean(values), rel=1e-15)
        assert row[key + "_std"] == pytest.approx(np.std(values), rel=1e-12, abs=1e-15)
    assert row["seeds"] == 2 and row["epochs"] == "6"


def test_markdown_puts_the_papers_row_beside_ours(folder):
    path, _ = folder
    text = tables.markdown(tables.summarise(path, "best"), "best")
    line = next(line for line in text.splitlines() if line.startswith("| FoMoH |"))
    assert line.endswith("| " + " | ".join(tables.PAPER_TABLE1["FoMoH"]) + " |")


def test_unknown_reading_is_refused():
    with pytest.raises(ValueError, match="'final' or 'best'"):
        tables.run_result([{"val_loss": 1.0}], "last")


def test_cli_prints_both_tables_and_writes_the_csv(folder, tmp_path, capsys):
    path, _ = folder
    out = tmp_path / "best.csv"
    assert tables.main(["--from", str(path), "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| final epoch |" in text and "| epoch of the lowest validation NLL |" in text
    assert out.read_text().splitlines()[0].startswith("label,seeds,epochs,epoch,step_loss")


def test_paper_table_has_the_nine_rows_of_the_preset():
    labels = [parse_spec(s).label for s in PAPER_PRESETS["mnist-logreg"].specs]
    assert list(tables.PAPER_TABLE1) == labels
