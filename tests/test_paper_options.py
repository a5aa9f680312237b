"""The application's options for reproducing the FoMoH paper: PyTorch's initialisation, the
paper's running training loss and the milestone / first-rise schedules (the paper's presets,
Newton-Krylov's global gradient and the blow-up count: paper_experiments/tests)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import hyperlab.train as train_module
from hyperlab.checkpoint import load_checkpoint, save_checkpoint
from hyperlab.cli import main
from hyperlab.compare import compare
from hyperlab.specs import parse_spec
from hyperlab.train import (
    ConfigError,
    RunConfig,
    build_model,
    prepare_data,
    pytorch_default_init,
    train,
)
from layers import models

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def tiny(**kw):
    values = dict(dataset="digits", epochs=2, max_train=150, batch_size=32, lr=0.3)
    values.update(kw)
    return RunConfig(**values).validate()


# ------------------------------------------------------------------ initialisation


@pytest.mark.parametrize("model", [models.logistic_regression(), models.mnist_cnn()])
def test_pytorch_init_bounds_and_biases(model):
    theta = pytorch_default_init(model, seed=3, dtype=np.float64)
    assert theta.shape == (model.num_params,)
    fan_in = {}
    for (name, shape), (_, sl) in zip(model.param_shapes(), model.param_groups()):
        layer, _, kind = name.rpartition(".")
        if kind == "weight":
            fan_in[layer] = int(np.prod(shape[1:]))
        bound = 1 / math.sqrt(fan_in[layer])
        values = theta[sl]
        assert np.all(np.abs(values) <= bound)
        if values.size >= 10:  # drawn over the whole interval, biases included
            assert np.max(np.abs(values)) > 0.5 * bound and np.std(values) > 0.2 * bound
    np.testing.assert_array_equal(theta, pytorch_default_init(model, seed=3, dtype=np.float64))
    assert not np.array_equal(theta, pytorch_default_init(model, seed=4, dtype=np.float64))


@pytest.mark.parametrize("layer", ["linear", "conv"])
def test_pytorch_init_matches_torchs_own_bounds(layer):
    """Oracle: PyTorch's layers. Their weights and biases fill U(-b, b) with our b."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    if layer == "linear":
        module, ours = torch.nn.Linear(784, 2000), models.logistic_regression(784, 2000)
    else:
        module = torch.nn.Conv2d(20, 500, 5)
        ours = models.Sequential([models.Conv2d(20, 500, 5)], input_shape=(20, 8, 8))
    theta = pytorch_default_init(ours, seed=0, dtype=np.float64)
    groups = dict(ours.param_groups())
    for name, tensor in (("weight", module.weight), ("bias", module.bias)):
        theirs = tensor.detach().numpy().ravel()
        mine = theta[groups[next(k for k in groups if k.endswith(name))]]
        assert mine.size == theirs.size
        # the largest draw of thousands of uniforms is within 1 % of the bound for both
        assert np.max(np.abs(mine)) == pytest.approx(np.max(np.abs(theirs)), rel=0.01)


def test_pytorch_init_starts_logistic_regression_near_log10():
    if not (MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST is not in ../shared/data/mnist")
    base = dict(
        dataset="mnist",
        data_dir=str(MNIST),
        standardize=True,
        max_train=2000,
        model="logistic_regression",
    )
    data = prepare_data(RunConfig(**base))
    for init, low, high in (("pytorch", 2.1, 2.5), ("default", 2.5, 4.0)):
        config = RunConfig(**base, init=init)
        model = build_model(config, data)
        theta = train_module.initial_parameters(config, model)
        loss = train_module.evaluate(model, theta, data.X_val, data.y_val)[0]
        assert low < loss < high, (init, loss)


def test_init_is_a_setting_of_train_and_compare(tmp_path, capsys):
    a = train(tiny(init="pytorch", epochs=1), None, quiet=True)
    b = train(tiny(init="default", epochs=1), None, quiet=True)
    assert not np.array_equal(a.theta, b.theta)
    with pytest.raises(ConfigError, match="init"):
        tiny(init="xavier")
    assert (
        main(
            [
                "train",
                "--init",
                "pytorch",
                "--epochs",
                "1",
                "--max-train",
                "100",
                "--quiet",
                "--out",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "t" / "config.json").read_text())["init"] == "pytorch"
    assert (
        main(
            [
                "compare",
                "--optimizers",
                "fomoh:init=pytorch",
                "fgd",
                "--epochs",
                "1",
                "--seeds",
                "0",
                "--max-train",
                "100",
                "--jobs",
                "1",
                "--quiet",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    runs = json.loads((tmp_path / "c" / "results.json").read_text())["runs"]
    assert runs["FoMoH"][0]["config"]["init"] == "pytorch"
    assert runs["FGD"][0]["config"]["init"] == "default"


def test_checkpoints_from_before_the_new_settings_still_resume(tmp_path):
    """Checkpoints written before `init` and `milestone` existed resume with their defaults."""
    train(tiny(epochs=1), tmp_path, quiet=True)
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    for key in ("init", "milestone"):
        del state["config"][key]
    save_checkpoint(
        tmp_path / "checkpoint.npz",
        **{
            k: state[k]
            for k in ("theta", "optimizer", "schedule", "epoch", "history", "config", "extra")
        },
    )
    assert len(train(tiny(epochs=2), tmp_path, resume=True, quiet=True).history) == 2
    with pytest.raises(Exception, match="init"):
        train(tiny(epochs=3, init="pytorch"), tmp_path, resume=True, quiet=True)


# ------------------------------------------------------------------ training loss


def test_step_loss_is_the_batch_weighted_mean_of_pre_step_losses(monkeypatch):
    """150 examples in batches of 32: four of 32 and one of 22, so the paper's weighted
    mean differs from the plain mean of the five minibatch losses."""
    seen = []
    real_build = train_module.build_optimizer

    def recording_build(config):
        optimizer = real_build(config)
        real_step = optimizer.step

        def step(f, theta, grad=None):
            value = float(f(theta))  # the loss before the step
            new, info = real_step(f, theta, grad=grad)
            seen.append((value, len(f.y)))
            return new, info

        optimizer.step = step
        return optimizer

    monkeypatch.setattr(train_module, "build_optimizer", recording_build)
    result = train(tiny(epochs=2, optimizer="sgd"), None, quiet=True)
    assert [n for _, n in seen] == [32, 32, 32, 32, 22] * 2
    for epoch, record in enumerate(result.history):
        losses = seen[5 * epoch : 5 * epoch + 5]
        weighted = sum(v * n for v, n in losses) / 150
        assert record["step_loss"] == pytest.approx(weighted, rel=1e-6)
        assert abs(record["step_loss"] - np.mean([v for v, _ in losses])) > 1e-6
        assert record["step_loss"] != record["train_loss"]


def test_results_csv_has_both_training_losses(tmp_path):
    result = compare(tiny(epochs=2), [parse_spec("fomoh-2d:lr=0.2")], [0, 1], tmp_path, quiet=True)
    with open(tmp_path / "results.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    finals = [r.final for r in result.runs["FoMoH-2D"]]
    assert float(row["step_loss"]) == pytest.approx(np.mean([f["step_loss"] for f in finals]))
    assert float(row["train_loss"]) == pytest.approx(np.mean([f["train_loss"] for f in finals]))
    assert "step_loss_std" in row
    assert "train loss (running)" in (tmp_path / "results.md").read_text()


# ------------------------------------------------------------------ schedules


def test_cli_milestone_and_first_rise_schedules(tmp_path):
    for schedule in ("milestone", "first-rise"):
        out = tmp_path / schedule
        assert (
            main(
                [
                    "train",
                    "--optimizer",
                    "sgd",
                    "--lr",
                    "3",
                    "--schedule",
                    schedule,
                    "--milestone",
                    "2",
                    "--epochs",
                    "3",
                    "--max-train",
                    "120",
                    "--batch-size",
                    "32",
                    "--quiet",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        config = json.loads((out / "config.json").read_text())
        assert config["schedule"] == schedule and config["milestone"] == 2
    lrs = [r["lr"] for r in json.loads((tmp_path / "milestone" / "history.json").read_text())]
    assert lrs == pytest.approx([3.0, 3.0, 0.3])
