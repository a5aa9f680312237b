"""The ``fomoh`` command line, driven through ``hyperlab.cli.main([...])`` with tiny runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperlab.cli import main
from hyperlab.config import ConfigError
from hyperlab.presets import PRESETS
from hyperlab.specs import parse_spec

TINY = ["--max-train", "120", "--quiet"]


def test_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "compare" in capsys.readouterr().out
    assert main(["compare", "--help"]) == 0
    out = capsys.readouterr().out
    assert "FoMoH-3D" in out  # the paper presets' entries: paper_experiments/tests


def test_train_writes_its_files(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--optimizer",
            "fomoh-3d",
            "--lr",
            "0.1",
            "--epochs",
            "2",
            "--out",
            str(out),
            *TINY,
        ]
    )
    assert code == 0
    assert "val loss" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert (out / "checkpoint.npz").is_file()


def test_train_resume_continues(tmp_path):
    args = ["train", "--optimizer", "fomoh", "--lr", "0.3", "--out", str(tmp_path), *TINY]
    assert main([*args, "--epochs", "3"]) == 0
    full = json.loads((tmp_path / "history.json").read_text())
    other = tmp_path / "other"
    args[args.index(str(tmp_path))] = str(other)
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "3", "--resume"]) == 0
    resumed = json.loads((other / "history.json").read_text())
    strip = [{k: v for k, v in r.items() if k != "wall_time"} for r in full]
    assert [{k: v for k, v in r.items() if k != "wall_time"} for r in resumed] == strip


def test_compare_writes_table_and_plot(tmp_path, capsys):
    code = main(
        [
            "compare",
            "--optimizers",
            "fgd:lr=0.03",
            "fomoh-2d:lr=0.3",
            "fomoh-bp:lr=0.3",
            "backprop:lr=0.3",
            "--seeds",
            "0",
            "1",
            "--epochs",
            "2",
            "--out",
            str(tmp_path),
            *TINY,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for label in ("FGD", "FoMoH-2D", "FoMoH-BP", "Backprop (SGD)"):
        assert f"| {label} |" in printed
    assert "±" in printed
    for name in ("results.md", "results.csv", "results.json", "curves.png"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["seeds"] for r in rows] == [2, 2, 2, 2]
    assert (tmp_path / "fomoh-2d" / "seed1" / "history.csv").is_file()


def test_default_compare_runs_the_six_methods(tmp_path, capsys):
    """`fomoh compare` without a preset: FGD, FoMoH, FoMoH-2D, FoMoH-3D, FoMoH-BP, backprop
    (shortened here to one epoch, one seed, a small training subset)."""
    assert [parse_spec(s).label for s in PRESETS["digits"].specs] == [
        "FGD",
        "FoMoH",
        "FoMoH-2D",
        "FoMoH-3D",
        "FoMoH-BP",
        "Backprop (SGD)",
    ]
    assert main(["compare", "--epochs", "1", "--seeds", "0", "--out", str(tmp_path), *TINY]) == 0
    printed = capsys.readouterr().out
    assert printed.count("| 1 |") == 6
    md = (tmp_path / "results.md").read_text()
    assert "logistic_regression" in md and "digits" in md and "lr 0.3" in md


def test_compare_keeps_going_when_a_run_diverges(tmp_path, capsys):
    code = main(
        [
            "compare",
            "--model",
            "mlp",
            "--optimizers",
            "fgd:lr=10",
            "sgd:lr=0.1",
            "--seeds",
            "3",
            "--epochs",
            "6",
            "--batch-size",
            "32",
            "--max-train",
            "160",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "diverged" in printed
    assert "diverged" in (tmp_path / "results.md").read_text()


def test_check_agrees_on_logistic_regression(capsys):
    assert main(["check", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "back-prop" in out and "bicomplex" in out and "agree" in out


def test_check_reports_a_disagreement(monkeypatch, capsys):
    """A wrong back-propagation (gradient doubled) must make `check` fail."""
    from layers.sequential import Sequential

    real = Sequential.value_and_grad

    def wrong(self, theta, X, y):
        value, grad = real(self, theta, X, y)
        return value, 2 * grad

    monkeypatch.setattr(Sequential, "value_and_grad", wrong)
    assert main(["check", "--batch-size", "4"]) == 1
    assert "DISAGREEMENT" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--lr", "-1"], "positive"),
        (["train", "--dtype", "float16"], "invalid choice"),
        (["train", "--optimizer", "nope", "--epochs", "1"], "unknown optimizer"),
        (["train", "--model", "nope", "--epochs", "1"], "unknown model"),
        (["compare", "--optimizers", "fgd:lr", "--epochs", "1"], "key=value"),
        (["compare", "--optimizers", "fgd:lr=abc", "--epochs", "1"], "expected a float"),
        (["compare", "--optimizers", "fgd", "fgd", "--epochs", "1"], "duplicate labels"),
        (["compare", "--optimizers", "fgd", "nope", "--epochs", "1"], "unknown optimizer"),
        (["compare", "--optimizers", "sgd:momentum=2", "--epochs", "1"], "momentum"),
        (["compare", "--preset", "nope"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_give_clear_errors(argv, message, capsys, tmp_path):
    code = main([*argv, *(["--out", str(tmp_path)] if argv[0] in ("train", "compare") else [])])
    assert code == 2
    assert message in capsys.readouterr().err


def test_missing_mnist_files_are_named(tmp_path, capsys):
    code = main(
        [
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path / "empty"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "--download" in err


def test_corrupt_checkpoint_on_resume_is_named(tmp_path, capsys):
    args = ["train", "--epochs", "1", "--out", str(tmp_path), *TINY]
    assert main(args) == 0
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    assert main([*args[:2], "2", *args[3:], "--resume"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.npz" in err and "corrupt" in err


def test_nan_loss_exit_status(tmp_path, capsys):
    code = main(
        [
            "train",
            "--model",
            "mlp",
            "--optimizer",
            "fgd",
            "--lr",
            "10",
            "--seed",
            "3",
            "--batch-size",
            "32",
            "--epochs",
            "6",
            "--max-train",
            "160",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "epoch" in err and "step" in err and "last good checkpoint" in err


def test_cupy_backend_without_gpu(tmp_path, capsys):
    import hyperdual

    if hyperdual.cupy_available():
        pytest.skip("a GPU is available")
    try:
        code = main(["train", "--backend", "cupy", "--epochs", "1", "--out", str(tmp_path), *TINY])
    finally:
        hyperdual.set_backend("numpy")
    assert code == 2
    err = capsys.readouterr().err
    assert "--backend cupy is not usable" in err


def test_parse_spec():
    spec = parse_spec("fomoh-3d:lr=0.1,batch=512,schedule=plateau,factor=0.8,K=3")
    assert spec.optimizer == "fomoh-3d" and spec.label == "FoMoH-3D (LR-sch.)"
    assert spec.settings == {"lr": 0.1, "batch_size": 512, "schedule": "plateau", "factor": 0.8}
    assert spec.optimizer_kwargs == {"K": 3}
    assert parse_spec("bp").optimizer == "sgd"
    with pytest.raises(ConfigError):
        parse_spec(":lr=1")
    assert np.isclose(parse_spec("fgd:lr=6.497e-5").settings["lr"], 6.497e-5)
