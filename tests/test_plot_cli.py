"""``fomoh plot`` and ``hyperlab.plots.load_curves``: a comparison folder re-plotted from its
per-run histories (finished, diverged or still running; JSON, CSV or gzipped CSV)."""

import csv
import gzip
import json

import numpy as np
import pytest

from hyperlab.cli import main
from hyperlab.config import HISTORY_FIELDS
from hyperlab.plots import load_curves


def _write_run(folder, label, seed, val_losses, *, json_history=True, config=True, gz=False):
    """A run folder as `fomoh compare` leaves it: history.csv (+ history.json, config.json)."""
    run = folder / label.lower().replace(" ", "-") / f"seed{seed}"
    run.mkdir(parents=True)
    records = [
        {key: 0.5 for key in HISTORY_FIELDS} | {"epoch": e + 1, "val_loss": v, "train_loss": v}
        for e, v in enumerate(val_losses)
    ]
    opener = (
        (lambda: gzip.open(run / "history.csv.gz", "wt", newline=""))
        if gz
        else (lambda: open(run / "history.csv", "w", newline=""))
    )
    with opener() as fh:
        writer = csv.DictWriter(fh, fieldnames=("label", "seed") + HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows({"label": label, "seed": seed} | r for r in records)
    if json_history:
        (run / "history.json").write_text(json.dumps(records))
    if config:
        (run / "config.json").write_text(json.dumps({"label": label, "seed": seed}))
    return run


@pytest.fixture
def comparison(tmp_path):
    rng = np.random.default_rng(3)
    folder = tmp_path / "cmp"
    losses = {label: rng.uniform(0.1, 2.0, size=(2, 4)) for label in ("FGD", "FoMoH-2D")}
    _write_run(folder, "FGD", 0, losses["FGD"][0])
    _write_run(folder, "FGD", 1, losses["FGD"][1][:2], json_history=False)  # still running
    _write_run(folder, "FoMoH-2D", 1, losses["FoMoH-2D"][1], config=False)
    _write_run(folder, "FoMoH-2D", 0, losses["FoMoH-2D"][0], json_history=False, gz=True)
    rows = [{"label": "FoMoH-2D"}, {"label": "FGD"}]
    (folder / "results.json").write_text(json.dumps({"rows": rows}))
    return folder, losses


def test_load_curves_reads_every_run_in_results_order_and_seed_order(comparison):
    folder, losses = comparison
    curves = load_curves(folder)
    assert list(curves) == ["FoMoH-2D", "FGD"]  # the order of results.json
    for label in curves:
        got = [[record["val_loss"] for record in h] for h in curves[label]]
        expected = [list(losses[label][0]), list(losses[label][1])]
        if label == "FGD":
            expected[1] = expected[1][:2]  # the run in progress, read from its CSV
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-15)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-15)


def test_load_curves_selects_and_orders_labels_and_names_unknown_ones(comparison):
    folder, _ = comparison
    assert list(load_curves(folder, ["FGD"])) == ["FGD"]
    with pytest.raises(ValueError, match="'SGD'.*found 'FoMoH-2D', 'FGD'"):
        load_curves(folder, ["FGD", "SGD"])
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_curves(folder / "absent")
    (folder.parent / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no <label>/seed<k>/history.csv"):
        load_curves(folder.parent / "empty")


def test_cli_plot_writes_the_image_and_refuses_bad_input(comparison, capsys):
    folder, _ = comparison
    out = folder.parent / "fig.png"
    assert main(["plot", str(folder), "--out", str(out), "--labels", "FGD", "FoMoH-2D"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == str(out)
    assert main(["plot", str(folder), "--out", str(out), "--labels", "Adam"]) == 2
    assert "no runs labelled 'Adam'" in capsys.readouterr().err
    assert main(["plot", str(folder / "absent"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err
