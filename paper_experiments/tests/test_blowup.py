"""The blow-up count of FoMoH-KD on the paper's CNN: the summary and table, and a tiny run
of both implementations (this project and, when available, the paper's code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_experiments.blowup import main as blowup_main
from paper_experiments.blowup import markdown_table, summarize

MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
PEERS = Path(__file__).resolve().parents[3] / "shared" / "peers" / "fomoh" / "src"


def test_blowup_summary_counts_and_table():
    records = [
        {
            "seed": 0,
            "losses": [2.3, 2.2, 2.1],
            "final_loss": 2.0,
            "seconds": 3.0,
            "eigenvalues": [[-1.0, 1.0, 2.0], [0.1, 1.0, 2.0], [0.1, 0.2, 0.3]],
        },
        {
            "seed": 1,
            "losses": [2.3, 9.0],
            "final_loss": 80.0,
            "seconds": 2.0,
            "eigenvalues": [[-1.0, 1.0, 2.0], [-3.0, -1.0, 2.0]],
        },
        {
            "seed": 2,
            "losses": [2.3, float("nan")],
            "final_loss": float("nan"),
            "seconds": 2.0,
            "eigenvalues": [[1.0, 1.0, 2.0]],
        },
    ]
    rows = summarize(records, threshold=4.6)
    assert [r["blew_up"] for r in rows] == [False, True, True]
    assert [r["blow_up_step"] for r in rows] == [None, 2, 2]
    assert [r["indefinite_steps"] for r in rows] == [1, 2, 0]
    table = markdown_table({"x": rows}, 4.6)
    assert "**2 of 3 runs blew up**" in table and "indefinite in 3 of 6 steps" in table


def test_blowup_runs_both_implementations_on_a_few_images(tmp_path):
    """Two steps of FoMoH-3D at batch 16 on the CNN, this project and the paper's code."""
    if not (MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST is not in ../shared/data/mnist")
    impls = ["project"]
    try:
        import torch  # noqa: F401

        if (PEERS / "fomoh" / "opt.py").is_file():
            impls.append("paper")
    except ImportError:
        pass
    assert (
        blowup_main(
            [
                "--data-dir",
                str(MNIST),
                "--seeds",
                "0",
                "--steps",
                "2",
                "--batch",
                "16",
                "--max-train",
                "64",
                "--impl",
                *impls,
                "--out",
                str(tmp_path),
                "--quiet",
                "--peers",
                str(PEERS),
            ]
        )
        == 0
    )
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["records"]) == len(impls)
    for records in saved["records"].values():
        (record,) = records
        assert record["seed"] == 0 and 1 <= len(record["losses"]) <= 2
        assert 2.0 < record["losses"][0] < 2.7  # PyTorch init: near log 10
        assert all(len(e) == 3 for e in record["eigenvalues"])
    assert "runs blew up" in (tmp_path / "results.md").read_text()
