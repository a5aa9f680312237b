"""Issue 16's options for reproducing the FoMoH paper: PyTorch's initialisation, the paper's
running training loss, the presets' schedules, Newton-Krylov's full global gradient and the
blow-up count (project and the paper's code)."""

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
from hyperlab.experiments import PRESETS, compare, parse_spec
from hyperlab.train import (ConfigError, RunConfig, build_model, prepare_data,
                         pytorch_default_init, train)
from layers import models

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers" / "fomoh" / "src"

TABLE1_LABELS = ["FGD", "FoMoH", "FoMoH (LR-sch.)", "FoMoH-2D", "FoMoH-2D (LR-sch.)",
                 "FoMoH-3D", "FoMoH-3D (LR-sch.)", "FoMoH-BP", "Backpropagation"]


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
        if values.size >= 10:            # drawn over the whole interval, biases included
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
    base = dict(dataset="mnist", data_dir=str(MNIST), standardize=True, max_train=2000,
                model="logistic_regression")
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
    assert main(["train", "--init", "pytorch", "--epochs", "1", "--max-train", "100",
                 "--quiet", "--out", str(tmp_path / "t")]) == 0
    assert json.loads((tmp_path / "t" / "config.json").read_text())["init"] == "pytorch"
    assert main(["compare", "--optimizers", "fomoh:init=pytorch", "fgd", "--epochs", "1",
                 "--seeds", "0", "--max-train", "100", "--jobs", "1", "--quiet", "--out",
                 str(tmp_path / "c")]) == 0
    runs = json.loads((tmp_path / "c" / "results.json").read_text())["runs"]
    assert runs["FoMoH"][0]["config"]["init"] == "pytorch"
    assert runs["FGD"][0]["config"]["init"] == "default"


def test_checkpoints_from_before_the_new_settings_still_resume(tmp_path):
    """Checkpoints written before `init` and `milestone` existed resume with their defaults."""
    train(tiny(epochs=1), tmp_path, quiet=True)
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    for key in ("init", "milestone"):
        del state["config"][key]
    save_checkpoint(tmp_path / "checkpoint.npz", **{k: state[k] for k in (
        "theta", "optimizer", "schedule", "epoch", "history", "config", "extra")})
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
            value = float(f(theta))                    # the loss before the step
            new, info = real_step(f, theta, grad=grad)
            seen.append((value, len(f.y)))
            return new, info
        optimizer.step = step
        return optimizer

    monkeypatch.setattr(train_module, "build_optimizer", recording_build)
    result = train(tiny(epochs=2, optimizer="sgd"), None, quiet=True)
    assert [n for _, n in seen] == [32, 32, 32, 32, 22] * 2
    for epoch, record in enumerate(result.history):
        losses = seen[5 * epoch:5 * epoch + 5]
        weighted = sum(v * n for v, n in losses) / 150
        assert record["step_loss"] == pytest.approx(weighted, rel=1e-6)
        assert abs(record["step_loss"] - np.mean([v for v, _ in losses])) > 1e-6
        assert record["step_loss"] != record["train_loss"]


def test_results_csv_has_both_training_losses(tmp_path):
    result = compare(tiny(epochs=2), [parse_spec("fomoh-2d:lr=0.2")], [0, 1], tmp_path,
                     quiet=True)
    with open(tmp_path / "results.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    finals = [r.final for r in result.runs["FoMoH-2D"]]
    assert float(row["step_loss"]) == pytest.approx(np.mean([f["step_loss"] for f in finals]))
    assert float(row["train_loss"]) == pytest.approx(np.mean([f["train_loss"] for f in finals]))
    assert "step_loss_std" in row
    assert "train loss (running)" in (tmp_path / "results.md").read_text()


# ------------------------------------------------------------------ presets


def test_table1_preset_is_the_papers():
    preset = PRESETS["mnist-logreg"]
    specs = [parse_spec(s) for s in preset.specs]
    assert [s.label for s in specs] == TABLE1_LABELS
    assert preset.init == "pytorch" and preset.epochs == 2000 and len(preset.seeds) == 5
    scheduled = {s.label: s.settings for s in specs if "schedule" in s.settings}
    assert scheduled == {
        "FoMoH (LR-sch.)": {"lr": 0.1362, "batch_size": 1024, "schedule": "milestone",
                            "milestone": "auto", "gamma": 0.1},
        "FoMoH-2D (LR-sch.)": {"lr": 0.04221, "batch_size": 512, "schedule": "milestone",
                               "milestone": "auto", "gamma": 0.1},
        "FoMoH-3D (LR-sch.)": {"lr": 0.1, "batch_size": 512, "schedule": "milestone",
                               "milestone": "auto", "gamma": 0.8}}
    for spec in specs:
        if spec.auto_milestone:
            reference = spec.reference(specs, RunConfig())
            assert reference.label == spec.label.replace(" (LR-sch.)", "")


def test_table2_preset_follows_the_papers_text():
    preset = PRESETS["mnist-cnn"]
    assert preset.init == "pytorch"
    specs = {parse_spec(s).label: parse_spec(s).settings for s in preset.specs}
    for label in ("FoMoH (LR-sch.)", "FoMoH-2D (LR-sch.)", "FoMoH-3D (LR-sch.)"):
        assert specs[label]["schedule"] == "step"
        assert (specs[label]["gamma"], specs[label]["every"]) == (0.1, 1000)
    assert specs["FoMoH-3D"]["batch_size"] == 512


def test_cli_milestone_and_first_rise_schedules(tmp_path):
    for schedule in ("milestone", "first-rise"):
        out = tmp_path / schedule
        assert main(["train", "--optimizer", "sgd", "--lr", "3", "--schedule", schedule,
                     "--milestone", "2", "--epochs", "3", "--max-train", "120",
                     "--batch-size", "32", "--quiet", "--out", str(out)]) == 0
        config = json.loads((out / "config.json").read_text())
        assert config["schedule"] == schedule and config["milestone"] == 2
    lrs = [r["lr"] for r in json.loads((tmp_path / "milestone" / "history.json").read_text())]
    assert lrs == pytest.approx([3.0, 3.0, 0.3])


# ------------------------------------------------------------------ Newton-Krylov


@pytest.mark.parametrize("subset", ["all", 40])
def test_newton_krylov_global_gradient_on_the_whole_training_set(monkeypatch, subset):
    import optimizers
    from hyperlab.companion_experiments import MethodSpec, run_method

    data = prepare_data(RunConfig(dataset="digits", max_train=120, dtype="float64"))
    model = models.mlp(hidden=4, n_features=64)
    captured = []

    class Recording(optimizers.ModelObjective):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured.append(self.global_grad)

    monkeypatch.setattr(optimizers, "ModelObjective", Recording)
    spec = MethodSpec("NK", "cs-newton-krylov", {"eta": 0.05, "max_krylov": 3}, 60.0)
    record = run_method(spec, model, data, batch_size=64, epochs=1, global_subset=subset,
                        eval_max=50, log=lambda m: None)
    assert record["steps"] == 2 and captured[0] is not None
    theta = model.init_params(seed=1)
    value, grad = captured[0](theta)
    full_value, full_grad = model.value_and_grad(theta, data.X_train, data.y_train)
    if subset == "all":      # the paper's: the gradient of the loss over every training image
        assert value == pytest.approx(float(full_value), rel=1e-12)
        np.testing.assert_allclose(grad, full_grad, rtol=1e-10, atol=1e-14)
    else:
        assert not np.allclose(grad, full_grad)


def test_companion_cli_accepts_global_subset():
    from hyperlab.companion_experiments import _global_subset

    assert _global_subset("all") == "all" and _global_subset("1024") == 1024
    with pytest.raises(Exception):
        _global_subset("0")


# ------------------------------------------------------------------ blow-up count


def test_blowup_summary_counts_and_table():
    from hyperlab.blowup import markdown_table, summarize

    records = [
        {"seed": 0, "losses": [2.3, 2.2, 2.1], "final_loss": 2.0, "seconds": 3.0,
         "eigenvalues": [[-1.0, 1.0, 2.0], [0.1, 1.0, 2.0], [0.1, 0.2, 0.3]]},
        {"seed": 1, "losses": [2.3, 9.0], "final_loss": 80.0, "seconds": 2.0,
         "eigenvalues": [[-1.0, 1.0, 2.0], [-3.0, -1.0, 2.0]]},
        {"seed": 2, "losses": [2.3, float("nan")], "final_loss": float("nan"), "seconds": 2.0,
         "eigenvalues": [[1.0, 1.0, 2.0]]}]
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
    from hyperlab.blowup import main as blowup_main

    assert blowup_main(["--data-dir", str(MNIST), "--seeds", "0", "--steps", "2",
                        "--batch", "16", "--max-train", "64", "--impl", *impls,
                        "--out", str(tmp_path), "--quiet", "--peers", str(PEERS)]) == 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["records"]) == len(impls)
    for records in saved["records"].values():
        (record,) = records
        assert record["seed"] == 0 and 1 <= len(record["losses"]) <= 2
        assert 2.0 < record["losses"][0] < 2.7        # PyTorch init: near log 10
        assert all(len(e) == 3 for e in record["eigenvalues"])
    assert "runs blew up" in (tmp_path / "results.md").read_text()
