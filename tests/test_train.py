"""Training loop and checkpoints: exact resume, atomic writes, corrupt files, NaN stop."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from hyperlab import checkpoint as ckpt
from hyperlab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from hyperlab.train import NonFiniteLossError, RunConfig, train


def tiny(**kw) -> RunConfig:
    """A run that takes a fraction of a second: 160 digits, logistic regression."""
    values = dict(
        dataset="digits",
        model="logistic_regression",
        optimizer="fomoh-2d",
        lr=0.3,
        batch_size=32,
        epochs=4,
        seed=3,
        max_train=160,
    )
    values.update(kw)
    return RunConfig(**values)


def strip_time(history):
    return [{k: v for k, v in record.items() if k != "wall_time"} for record in history]


def sample_state():
    rng = np.random.default_rng(7)
    rng.standard_normal(5)
    return {
        "theta": np.linspace(-1, 1, 6, dtype=np.float32),
        "optimizer": {
            "optimizer": "Adam",
            "lr": 0.1 + 0.2,
            "t": 12,
            "rng": rng.bit_generator.state,
            "arrays": {"m": np.arange(6, dtype=np.float32), "v": None},
        },
        "schedule": {"schedule": "ReduceOnRise", "best": float("inf"), "bad": 0},
        "epoch": 1,
        "history": [{"epoch": 1, "val_loss": 1 / 3}],
        "config": {"optimizer": "adam", "sizes": (1, 2)},
    }


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_is_lossless(tmp_path):
    state = sample_state()
    path = save_checkpoint(tmp_path / "c.npz", **state)
    back = load_checkpoint(path)
    assert back["epoch"] == 1
    np.testing.assert_array_equal(back["theta"], state["theta"])
    assert back["theta"].dtype == np.float32
    assert back["optimizer"]["lr"] == 0.1 + 0.2  # float repr is exact
    assert back["optimizer"]["rng"] == state["optimizer"]["rng"]  # 128-bit integers
    assert back["optimizer"]["arrays"]["v"] is None
    assert back["optimizer"]["arrays"]["m"].dtype == np.float32
    assert back["schedule"]["best"] == float("inf")
    assert back["history"] == state["history"]
    assert back["config"]["sizes"] == [1, 2]  # tuples become lists
    rng = np.random.default_rng()
    rng.bit_generator.state = back["optimizer"]["rng"]
    original = np.random.default_rng(7)
    original.standard_normal(5)
    assert rng.random() == original.random()


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A write that fails half-way leaves the previous checkpoint and no temporary file."""
    path = tmp_path / "c.npz"
    state = sample_state()
    save_checkpoint(path, **state)
    before = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.np, "savez", broken_savez)
    state["epoch"] = 2
    state["history"] = state["history"] * 2
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, **state)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
    assert load_checkpoint(path)["epoch"] == 1


def _rewrite(path, members: dict):
    """Write an .npz with the given members (arrays) directly."""
    with open(path, "wb") as fh:
        np.savez(fh, **members)


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "garbage",
        "empty",
        "no-meta",
        "bad-json",
        "wrong-shape",
        "extra-member",
        "object-array",
        "history-length",
        "missing-key",
        "not-found",
    ],
)
def test_corrupt_checkpoints_give_clear_errors(tmp_path, damage):
    path = tmp_path / "c.npz"
    save_checkpoint(path, **sample_state())
    raw = path.read_bytes()
    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    meta = json.loads(members["__meta__"].tobytes())

    def with_meta(m):
        return {**members, "__meta__": np.frombuffer(json.dumps(m).encode(), np.uint8)}

    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100 + raw[100:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no-meta":
        _rewrite(path, {k: v for k, v in members.items() if k != "__meta__"})
    elif damage == "bad-json":
        _rewrite(path, {**members, "__meta__": np.frombuffer(b"{not json", np.uint8)})
    elif damage == "wrong-shape":
        meta["theta"]["shape"] = [7]
        _rewrite(path, with_meta(meta))
    elif damage == "extra-member":
        _rewrite(path, {**members, "intruder": np.zeros(3)})
    elif damage == "object-array":
        with open(path, "wb") as fh:
            np.savez(fh, **{**members, "a0": np.array([{"x": 1}], dtype=object)})
    elif damage == "history-length":
        meta["epoch"] = 5
        _rewrite(path, with_meta(meta))
    elif damage == "missing-key":
        del meta["optimizer"]
        _rewrite(path, with_meta(meta))
    elif damage == "not-found":
        path.unlink()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_checkpoint_is_a_plain_zip_without_pickles(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", **sample_state())
    with zipfile.ZipFile(path) as z:
        assert all(name.endswith(".npy") for name in z.namelist())
    with np.load(path, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


# --------------------------------------------------------------------------- training


def test_train_writes_history_and_is_reproducible(tmp_path):
    a = train(tiny(epochs=2), tmp_path / "a", quiet=True)
    b = train(tiny(epochs=2), tmp_path / "b", quiet=True)
    assert a.status == "completed" and len(a.history) == 2
    np.testing.assert_array_equal(a.theta, b.theta)
    assert strip_time(a.history) == strip_time(b.history)
    for name in ("history.csv", "history.json", "checkpoint.npz", "config.json", "summary.json"):
        assert (tmp_path / "a" / name).is_file()
    lines = (tmp_path / "a" / "history.csv").read_text().splitlines()
    # label and seed columns: the files of several runs can be concatenated
    assert lines[0].startswith("label,seed,epoch,lr,train_loss,train_acc,val_loss,val_acc")
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["fomoh-2d", "3", "1"],
        ["fomoh-2d", "3", "2"],
    ]
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["status"] == "completed"
    c = train(tiny(epochs=2, seed=4), None, quiet=True)
    assert not np.array_equal(a.theta, c.theta)


@pytest.mark.parametrize(
    "kw",
    [
        dict(optimizer="fomoh-2d"),  # RNG state
        dict(optimizer="adam", lr=0.01),  # moments
        dict(optimizer="fomoh", lr=0.3, schedule="plateau", factor=0.5),  # schedule state
        dict(optimizer="sgd", lr=0.5, optimizer_kwargs={"momentum": 0.9}, dtype="float64"),
    ],
)
def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch, kw):
    """Interrupted during epoch 3 and resumed == never interrupted (θ and history)."""
    full = train(tiny(**kw), tmp_path / "full", quiet=True)

    import hyperlab.train as train_module

    real_evaluate, calls = train_module.evaluate, {"n": 0}

    def interrupting_evaluate(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # epoch 3's first evaluation
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", interrupting_evaluate)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(**kw), tmp_path / "cut", quiet=True)
    monkeypatch.setattr(train_module, "evaluate", real_evaluate)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz")["epoch"] == 2

    resumed = train(tiny(**kw), tmp_path / "cut", resume=True, quiet=True)
    assert resumed.theta.dtype == full.theta.dtype
    np.testing.assert_array_equal(resumed.theta, full.theta)
    assert strip_time(resumed.history) == strip_time(full.history)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]


def test_resume_can_extend_a_finished_run(tmp_path):
    full = train(tiny(epochs=3), tmp_path / "full", quiet=True)
    train(tiny(epochs=1), tmp_path / "grow", quiet=True)
    grown = train(tiny(epochs=3), tmp_path / "grow", resume=True, quiet=True)
    np.testing.assert_array_equal(grown.theta, full.theta)
    assert strip_time(grown.history) == strip_time(full.history)


def test_resume_refuses_other_settings(tmp_path):
    train(tiny(epochs=1), tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match="different settings.*lr"):
        train(tiny(epochs=2, lr=0.1), tmp_path, resume=True, quiet=True)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    # a far too large rate: the loss passes DIVERGENCE_LOSS in epoch 2 (NaN/inf later)
    config = tiny(optimizer="fgd", model="mlp", lr=1.0, epochs=6)
    with pytest.raises(NonFiniteLossError) as info:
        train(config, tmp_path, quiet=True)
    err = info.value
    assert err.epoch >= 2  # at least one good epoch was checkpointed
    assert f"epoch {err.epoch}, step {err.step}" in str(err)
    assert "last good checkpoint" in str(err)
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved["epoch"] == err.epoch - 1
    assert np.all(np.isfinite(saved["theta"]))
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == err.epoch - 1
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "diverged"


def test_float64_and_float32(tmp_path):
    r64 = train(tiny(epochs=1, dtype="float64"), None, quiet=True)
    r32 = train(tiny(epochs=1, dtype="float32"), None, quiet=True)
    assert r64.theta.dtype == np.float64 and r32.theta.dtype == np.float32
    assert abs(r64.final["val_loss"] - r32.final["val_loss"]) < 1e-3


def test_train_leaves_the_default_backend_as_it_found_it(monkeypatch):
    """``train`` selects ``config.backend`` for the run only. It used to call ``set_backend``,
    so one NumPy run switched the rest of the process (a test session under ``--backend
    cupy``) to NumPy; a run that fails must not change it either."""
    import types

    import hyperdual
    import hyperdual.backend

    selected = types.ModuleType("selected_before_the_run")  # stands in for another backend
    monkeypatch.setattr(hyperdual.backend, "_BACKEND_NAME", "selected")
    monkeypatch.setattr(hyperdual.backend, "_BACKEND_MODULE", selected)
    result = train(tiny(epochs=1), None, quiet=True)
    assert type(result.theta) is np.ndarray  # the run itself used its own backend, NumPy
    assert hyperdual.get_backend() is selected
    with pytest.raises(NonFiniteLossError):
        train(tiny(optimizer="fgd", model="mlp", lr=1.0, epochs=6), None, quiet=True)
    assert hyperdual.get_backend() is selected


def test_cupy_backend_without_gpu_is_a_clear_error(tmp_path):
    import hyperdual

    if hyperdual.cupy_available():
        pytest.skip("a GPU is available")
    try:
        with pytest.raises(hyperdual.BackendUnavailableError, match="(?i)cupy"):
            train(tiny(backend="cupy"), tmp_path, quiet=True)
    finally:
        hyperdual.set_backend("numpy")
    assert not os.path.exists(tmp_path / "checkpoint.npz")
