"""``fomoh compare --jobs N``: runs in parallel processes give the same files as one
after another, resume every unfinished run, report progress; ``milestone=auto``."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from hyperlab.checkpoint import CheckpointError
from hyperlab.cli import main
from hyperlab.compare import auto_milestone, compare
from hyperlab.config import ConfigError
from hyperlab.parallel import Task, run_all
from hyperlab.specs import parse_spec
from hyperlab.train import RunConfig, prepare_data, train

# FoMoH-2D (random directions: its generator state) and FoMoH with a schedule (its state);
# tiny digits runs (each parallel run starts a process: keep them few).
SPECS = ["fomoh-2d:lr=0.2", "fomoh:lr=0.3,schedule=plateau,factor=0.5"]
SEEDS = [0, 1]


def base(epochs=3):
    return RunConfig(dataset="digits", epochs=epochs, max_train=120, batch_size=32).validate()


def run(out, jobs, epochs=3, resume=False, specs=SPECS, seeds=SEEDS):
    return compare(
        base(epochs),
        [parse_spec(s) for s in specs],
        seeds,
        out,
        jobs=jobs,
        resume=resume,
        quiet=True,
    )


def csv_rows(path):
    """results.csv without its wall-time column (the only thing that may differ)."""
    with open(path, newline="") as fh:
        return [{k: v for k, v in row.items() if k != "wall_time"} for row in csv.DictReader(fh)]


def histories(out):
    """Every run's history.json and history.csv text, wall-time column removed."""
    found = {}
    for path in sorted(out.glob("*/seed*/history.json")):
        records = json.loads(path.read_text())
        found[str(path.relative_to(out))] = [
            {k: v for k, v in r.items() if k != "wall_time"} for r in records
        ]
        lines = path.with_suffix(".csv").read_text().splitlines()
        found[str(path.with_suffix(".csv").relative_to(out))] = [
            line.rsplit(",", 1)[0] for line in lines
        ]  # wall_time is the last column
    return found


def assert_same_results(a, b):
    assert csv_rows(a / "results.csv") == csv_rows(b / "results.csv")
    ha, hb = histories(a), histories(b)
    assert len(ha) == 2 * len(SPECS) * len(SEEDS) and ha == hb


def test_jobs_2_is_bit_identical_to_jobs_1(tmp_path):
    one = run(tmp_path / "one", jobs=1)
    two = run(tmp_path / "two", jobs=2)
    assert_same_results(tmp_path / "one", tmp_path / "two")
    for label in one.runs:
        for r1, r2 in zip(one.runs[label], two.runs[label]):
            assert r1.config == r2.config
            np.testing.assert_array_equal(r1.theta, r2.theta)
    # a different seed really gives different numbers (the comparison can fail)
    other = run(tmp_path / "other", jobs=1, seeds=[1, 2])
    assert csv_rows(tmp_path / "other" / "results.csv") != csv_rows(
        tmp_path / "one" / "results.csv"
    )
    assert other.rows[0]["seeds"] == 2


def test_resume_of_a_parallel_run_continues_every_unfinished_run(tmp_path):
    run(tmp_path / "fresh", jobs=1, epochs=4)
    cut = tmp_path / "cut"
    run(cut, jobs=2, epochs=2)  # every run stopped after epoch 2 ...
    config = parse_spec(SPECS[1]).config(base(4), 1)
    train(config, cut / "fomoh-lr-sch" / "seed1", resume=True, quiet=True)  # ... one finished
    shutil.rmtree(cut / "fomoh-2d" / "seed0")  # ... one never started
    result = run(cut, jobs=2, epochs=4, resume=True)
    assert_same_results(tmp_path / "fresh", cut)
    assert all(len(r.history) == 4 for rs in result.runs.values() for r in rs)


def test_a_run_error_in_a_child_keeps_its_type(tmp_path):
    run(tmp_path, jobs=2, epochs=1, specs=SPECS[:1])
    changed = ["fomoh-2d:lr=0.1,label=FoMoH-2D"]  # same folder, other settings
    with pytest.raises(CheckpointError, match="different settings"):
        run(tmp_path, jobs=2, epochs=2, resume=True, specs=changed)


def test_progress_lines_without_a_terminal(tmp_path):
    lines = []
    tasks = [
        Task(
            (label, seed), parse_spec(spec).config(base(2), seed), tmp_path / label / f"seed{seed}"
        )
        for label, spec in (("a", SPECS[0]), ("b", "fgd:lr=0.03"))
        for seed in (0, 1)
    ]
    results = run_all(
        tasks, base(2), jobs=2, log=lines.append, interval=0.0, data=prepare_data(base(2))
    )
    assert [r.config.seed for r in results] == [0, 1, 0, 1]
    text = "\n".join(lines)
    assert "4 runs, 2 at a time" in text
    assert "[4/4 runs done" in text and "[1/4 runs done" in text
    assert "slowest" in text and "at epoch" in text


def test_cli_jobs_option(tmp_path, capsys):
    argv = [
        "compare",
        "--optimizers",
        "fgd:lr=0.03",
        SPECS[0],
        "--seeds",
        "0",
        "--epochs",
        "2",
        "--max-train",
        "120",
        "--batch-size",
        "32",
        "--quiet",
    ]
    assert main([*argv, "--jobs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--jobs", "1", "--out", str(tmp_path / "b")]) == 0
    assert csv_rows(tmp_path / "a" / "results.csv") == csv_rows(tmp_path / "b" / "results.csv")
    assert main([*argv, "--jobs", "0", "--out", str(tmp_path / "c")]) == 2
    assert "positive integer" in capsys.readouterr().err


# ------------------------------------------------------------------ milestone=auto


def test_auto_milestone_is_the_lowest_seed_mean_validation_loss():
    h = [
        [{"val_loss": v} for v in (3.0, 2.0, 1.0, 1.5, 2.0)],
        [{"val_loss": v} for v in (3.0, 1.0, 2.0, 0.9, 2.0)],
    ]
    assert auto_milestone(h) == 4  # means 3, 1.5, 1.5, 1.2, 2
    assert auto_milestone([h[0], h[1][:3]]) == 2  # a diverged run: common epochs only
    with pytest.raises(ConfigError):
        auto_milestone([[]])


@pytest.mark.parametrize("jobs", [1, 2])
def test_auto_milestone_cuts_where_the_unscheduled_runs_turn(tmp_path, jobs):
    """SGD at a high rate on 120 digits over-fits: the validation NLL turns upward before
    the last epoch, so the scheduled run cuts there and matches its twin until then."""
    specs = [
        parse_spec("sgd:lr=3.0"),
        parse_spec("sgd:lr=3.0,schedule=milestone,milestone=auto,gamma=0.1"),
    ]
    config = RunConfig(dataset="digits", epochs=8, max_train=120, batch_size=32).validate()
    result = compare(config, specs, [0, 1], tmp_path, jobs=jobs, quiet=True)
    plain, scheduled = result.runs["Backprop (SGD)"], result.runs["Backprop (SGD) (LR-sch.)"]
    m = auto_milestone([r.history for r in plain])
    assert 1 <= m < 8, "the test needs a run whose validation loss turns before the end"
    for p, s in zip(plain, scheduled):
        assert s.config.schedule == "milestone" and s.config.milestone == m
        strip = [{k: v for k, v in r.items() if k != "wall_time"} for r in p.history[:m]]
        assert [{k: v for k, v in r.items() if k != "wall_time"} for r in s.history[:m]] == strip
        assert [r["lr"] for r in s.history] == pytest.approx([3.0] * m + [0.3] * (8 - m))
    assert f"once, after epoch {m} = milestone=auto" in (tmp_path / "results.md").read_text()


def test_auto_milestone_needs_the_unscheduled_row(tmp_path):
    specs = [parse_spec("sgd:lr=3.0,schedule=milestone,milestone=auto")]
    with pytest.raises(ConfigError, match="no schedule"):
        compare(base(1), specs, [0], tmp_path, quiet=True)
    with pytest.raises(ConfigError, match="positive integer or 'auto'"):
        parse_spec("sgd:schedule=milestone,milestone=soon")
