"""Raw tracebacks and exit codes, and the CLI conventions of the ``fomoh`` command."""

from __future__ import annotations

import argparse
import errno
import json
import os
import pathlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperlab
from hyperlab import oracle, progress
from hyperlab.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--max-train", "120", "--quiet"]


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert str(needle) in err, (needle, err)
    return err


# --------------------------------------------------------------------------- exit codes


def test_out_that_is_a_file_is_a_one_line_usage_error(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    for out in (target, target / "sub"):
        assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 2
        one_line_error(capsys, out, "folder")


def test_out_that_cannot_be_created_is_a_one_line_usage_error(tmp_path, capsys, monkeypatch):
    def refused(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", refused)
    out = tmp_path / "locked" / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 2
    one_line_error(capsys, out, "Permission denied")


def test_full_disk_is_a_one_line_usage_error(tmp_path, capsys, monkeypatch):
    from hyperlab import atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    assert main(["train", "--epochs", "1", "--out", str(tmp_path), *TINY]) == 2
    one_line_error(capsys, tmp_path, "No space left on device")  # names the file
    assert not list(tmp_path.glob(".*.tmp"))


def test_unreadable_data_folder_is_a_clear_error(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    real_is_file = pathlib.Path.is_file

    def no_permission(self):
        if str(self).startswith(str(data_dir)):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(pathlib.Path, "is_file", no_permission)
    assert (
        main(
            [
                "train",
                "--dataset",
                "mnist",
                "--data-dir",
                str(data_dir),
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "o"),
                "--quiet",
            ]
        )
        == 2
    )
    one_line_error(capsys, data_dir, "Permission denied", "data folder")


def test_oracle_make_case_into_a_file_is_a_one_line_usage_error(tmp_path, capsys):
    target = tmp_path / "case"
    target.write_text("a file")
    assert main(["oracle", "make-case", str(target), "--model", "mlp"]) == 2
    one_line_error(capsys, target)


def test_bogus_backend_in_the_environment_is_refused(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HYPERDUAL_BACKEND", "bogus")
    for argv in (["train", "--epochs", "1", "--out", str(tmp_path), *TINY], ["check"]):
        assert main(argv) == 2
        one_line_error(capsys, "HYPERDUAL_BACKEND", "bogus")


def test_cupy_backend_in_the_environment_is_honoured(monkeypatch, capsys, tmp_path):
    """Not silently replaced by NumPy: without a GPU the run is refused."""
    import hyperdual

    if hyperdual.cupy_available():
        pytest.skip("a GPU is available")
    monkeypatch.setenv("HYPERDUAL_BACKEND", "cupy")
    try:
        assert main(["train", "--epochs", "1", "--out", str(tmp_path), *TINY]) == 2
    finally:
        hyperdual.set_backend("numpy")
    assert "cupy is not usable" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    from layers import models

    model = models.build("logistic_regression", n_features=4, n_classes=3)
    case = oracle.make_case(
        tmp_path_factory.mktemp("oracle") / "case", model, batch=3, pairs=1, kd=0, hvp=0, seed=1
    )
    return case, oracle.compute_reference(case, case.path / "reference")


def test_escape_sequences_from_a_results_file_do_not_reach_the_terminal(
    small_case, tmp_path, capsys
):
    case, reference = small_case
    evil = "\x1b[2J\x1b]0;pwned\x07torch\rok"
    out = oracle.write_results(
        tmp_path / "evil", case, reference.arrays, backend=evil, dtype="float64"
    )
    assert main(["oracle", "compare", str(case.path), str(out)]) == 0
    assert main(["oracle", "validate", str(case.path), str(out)]) == 0
    printed = capsys.readouterr()
    for text in (printed.out, printed.err):
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\\x1b[2J" in printed.out


def test_compare_with_every_quantity_skipped_is_a_usage_error(small_case, capsys):
    case, reference = small_case
    skips = [a for q in case.result_shapes() for a in ("--skip", q)]
    assert main(["oracle", "compare", str(case.path), str(reference.path), *skips]) == 2
    err = capsys.readouterr().err
    assert "nothing to compare" in err and "DISAGREE" not in err


# --------------------------------------------------------------------------- conventions


def test_version_option_and_dunder_version(capsys):
    from importlib.metadata import version

    import hyperdual

    assert hyperlab.__version__ == hyperdual.__version__ == version("fomoh-hyperdual")
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fomoh {hyperlab.__version__}"


def test_python_dash_m_hyperlab_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "hyperlab", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == f"fomoh {hyperlab.__version__}"


def test_results_json_is_strict_even_when_every_run_diverged(tmp_path, capsys):
    code = main(
        [
            "compare",
            "--model",
            "mlp",
            "--optimizers",
            "fgd:lr=10",
            "--seeds",
            "3",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--max-train",
            "160",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0 and "diverged" in capsys.readouterr().out
    for path in [tmp_path / "results.json", *tmp_path.rglob("*.json")]:
        text = path.read_text()
        json.loads(text, parse_constant=lambda token: pytest.fail(f"{path}: {token}"))  # noqa: B023 - called at once
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert rows[0]["diverged"] == 1 and rows[0]["val_loss"] is None  # no epoch: null


def test_progress_bars_show_in_notebooks_and_a_terminal(monkeypatch):
    """In Jupyter stderr is not a TTY, yet `train` must show its bars there."""
    from hyperlab.train import RunConfig, train

    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: False)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    bars = []

    class Bar:
        def __init__(self, iterable=None, disable=False, **kwargs):
            bars.append(disable)
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

        def set_postfix(self, **kwargs):
            pass

    monkeypatch.setattr(progress, "_tqdm", lambda: Bar)
    train(RunConfig(epochs=1, max_train=60), None, quiet=False)
    assert bars and not any(bars)  # epoch bar and step bars, enabled
    assert progress.mode() == "bar" and progress.mode(quiet=True) == "off"
    monkeypatch.setattr(progress, "in_notebook", lambda: False)
    assert progress.mode() == "log"  # a CI log: plain lines instead
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    assert progress.mode() == "bar"


def test_plain_log_lines_when_output_goes_to_a_log(tmp_path, capsys, monkeypatch):
    """stderr is captured here (not a terminal, not a notebook): plain lines, no bars."""
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    assert main(["train", "--epochs", "2", "--max-train", "120", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "epoch 1/2, step 1/" in err and "epoch 2/2: train loss" in err
    assert "\r" not in err and "it/s" not in err


def test_compare_prints_its_per_run_lines_on_stderr(tmp_path, capsys):
    assert (
        main(
            [
                "compare",
                "--optimizers",
                "fgd",
                "--seeds",
                "0",
                "--epochs",
                "1",
                "--max-train",
                "120",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    assert "seed 0: completed" in printed.err and "seed 0: completed" not in printed.out
    assert "| FGD |" in printed.out


def test_versions_are_recorded_with_every_run(tmp_path):
    assert (
        main(
            [
                "compare",
                "--optimizers",
                "fgd",
                "--seeds",
                "0",
                "--epochs",
                "1",
                "--out",
                str(tmp_path),
                *TINY,
            ]
        )
        == 0
    )
    for path in (tmp_path / "results.json", tmp_path / "fgd" / "seed0" / "summary.json"):
        versions = json.loads(path.read_text())["versions"]
        assert versions["fomoh-hyperdual"] == hyperlab.__version__
        assert versions["numpy"] == np.__version__
        assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
        if (ROOT / ".git").exists():
            head = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
            ).stdout.strip()
            assert versions["git_revision"].startswith(head)


def _parsers(parser, name="fomoh"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_help_describes_every_option_once_with_its_default():
    for name, parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            text = formatter._expand_help(action) if action.help else ""
            assert text.strip(), f"{name} {action.dest}: no help text"
            stated = re.findall(r"\(default[^)]*\)|[;,]\s*default\b", text)
            assert len(stated) <= 1, f"{name} {action.dest}: {text!r}"
            assert "(default: None)" not in text and "(default: [])" not in text, text
        parser.format_help()  # renders without error


def test_digits_split_in_the_help_matches_the_code(capsys):
    from hyperlab.data import load_dataset

    ds = load_dataset("digits")
    assert main(["compare", "--help"]) == 0
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    n_total = len(ds.y_train) + len(ds.y_val) + len(ds.y_test)
    assert (
        f"{n_total:,} embedded" in text
        and f"split {len(ds.y_train):,} train / {len(ds.y_val)} validation / {len(ds.y_test)} test"
        in text
    ), text[:600]


def test_environment_default_backend_is_shown_in_help(monkeypatch, capsys):
    monkeypatch.setenv("HYPERDUAL_BACKEND", "numpy")
    assert main(["train", "--help"]) == 0
    assert "HYPERDUAL_BACKEND" in capsys.readouterr().out
    assert os.environ["HYPERDUAL_BACKEND"] == "numpy"
