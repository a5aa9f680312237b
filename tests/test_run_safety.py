"""Data loss and resource bounds: no lost run, bounded memory on hostile files."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from hyperlab import atomic
from hyperlab import train as training
from hyperlab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from hyperlab.cli import main
from hyperlab.train import RunConfig, train

TINY = ["--max-train", "120", "--quiet"]


def tiny(**kw) -> RunConfig:
    values = dict(
        dataset="digits",
        model="logistic_regression",
        optimizer="fomoh",
        lr=0.3,
        batch_size=32,
        epochs=1,
        seed=0,
        max_train=120,
    )
    values.update(kw)
    return RunConfig(**values)


# --------------------------------------------------------------------------- overwriting


def test_rerun_into_an_existing_out_is_refused_and_keeps_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), *TINY]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--resume" in err and "--overwrite" in err
    assert err.count("\n") == 1  # one line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing replaced
    assert main(["train", "--epochs", "1", "--out", str(out), "--overwrite", *TINY]) == 0
    assert len(json.loads((out / "history.json").read_text())) == 1


def test_library_train_refuses_too(tmp_path):
    train(tiny(), tmp_path, quiet=True)
    with pytest.raises(training.OutputExistsError, match="already holds a run"):
        train(tiny(), tmp_path, quiet=True)
    assert train(tiny(epochs=2), tmp_path, resume=True, quiet=True).status == "completed"


def test_compare_refuses_before_training_anything(tmp_path, capsys, monkeypatch):
    args = [
        "compare",
        "--optimizers",
        "fgd",
        "sgd",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--jobs",
        "1",
        "--out",
        str(tmp_path),
        *TINY,
    ]
    assert main(args) == 0
    import hyperlab.train as training

    trained = []
    monkeypatch.setattr(training, "train", lambda *a, **k: trained.append(a))
    assert main(args) == 2
    assert trained == [] and "already holds" in capsys.readouterr().err


# --------------------------------------------------------------------------- checkpoints


def _state(theta):
    return dict(
        theta=theta, optimizer={"lr": 0.1}, schedule=None, epoch=0, history=[], config={"x": 1}
    )


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_member_that_inflates_far_beyond_its_file_is_refused_without_inflating(tmp_path):
    """A small file whose declared member (64 MiB of zeros) deflates from a few KiB."""
    n = 8 << 20  # float64 elements = 64 MiB
    good = save_checkpoint(tmp_path / "good.npz", **_state(np.zeros(4)))
    meta = json.loads(np.load(good)["__meta__"].tobytes())
    meta["theta"]["shape"] = [n]
    bomb = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (n,)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("__meta__.npy", "w") as fh:
            np.lib.format.write_array(fh, np.frombuffer(json.dumps(meta).encode(), np.uint8))
        with zf.open("a0.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            chunk = bytes(1 << 20)
            for _ in range(64):
                fh.write(chunk)
    assert bomb.stat().st_size < 1 << 20

    def load():
        with pytest.raises(CheckpointError, match="inflate"):
            load_checkpoint(bomb)

    assert _peak_bytes(load) < 8 << 20


def test_an_undeclared_member_is_refused_before_it_is_read(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", **_state(np.zeros(4)))
    with zipfile.ZipFile(path, "a") as zf:  # 16 MiB, stored: ratio 1
        with zf.open("extra.npy", "w") as fh:
            np.lib.format.write_array(fh, np.ones(2 << 20))

    def load():
        with pytest.raises(CheckpointError, match="not described by the metadata"):
            load_checkpoint(path)

    assert _peak_bytes(load) < 4 << 20


def test_a_member_larger_than_its_declaration_is_refused_before_it_is_read(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", **_state(np.zeros(4)))
    members = _members(path)
    big = tmp_path / "big.npz"
    with zipfile.ZipFile(big, "w") as zf:
        zf.writestr("__meta__.npy", members["__meta__.npy"])
        with zf.open("a0.npy", "w") as fh:  # declared (4,), holds 2M values
            np.lib.format.write_array(fh, np.ones(2 << 20))

    def load():
        with pytest.raises(CheckpointError, match="more than"):
            load_checkpoint(big)

    assert _peak_bytes(load) < 4 << 20


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_metadata_is_a_clear_error(tmp_path, depth):
    path = save_checkpoint(tmp_path / "c.npz", **_state(np.zeros(4)))
    meta = json.loads(np.load(path)["__meta__"].tobytes())
    text = json.dumps(meta)[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    np.savez(path, __meta__=np.frombuffer(text.encode(), np.uint8), a0=np.zeros(4))
    with pytest.raises(CheckpointError, match="nested"):
        load_checkpoint(path)


def test_regular_checkpoints_still_load(tmp_path):
    rng = np.random.default_rng(0)
    state = _state(rng.standard_normal(1000).astype(np.float32))
    state["optimizer"] = {
        "m": rng.standard_normal(1000),
        "rng": rng.bit_generator.state,
        "nested": [[{"a": np.arange(3)}]],
    }
    back = load_checkpoint(save_checkpoint(tmp_path / "c.npz", **state))
    np.testing.assert_array_equal(back["theta"], state["theta"])
    np.testing.assert_array_equal(back["optimizer"]["nested"][0][0]["a"], np.arange(3))


# --------------------------------------------------------------------------- run files


def test_history_json_is_written_atomically(tmp_path, monkeypatch):
    """A kill between writing and renaming leaves the previous, complete history.json."""
    train(tiny(), tmp_path, quiet=True)
    before = (tmp_path / "history.json").read_text()

    real_replace = atomic.os.replace

    def killed_at_history(src, dst):
        if str(dst).endswith("history.json"):
            raise KeyboardInterrupt  # the process dies before the rename
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", killed_at_history)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(epochs=2), tmp_path, resume=True, quiet=True)
    assert (tmp_path / "history.json").read_text() == before
    assert len(json.loads(before)) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_orphan_temporary_files_are_removed(tmp_path):
    train(tiny(), tmp_path, quiet=True)
    orphans = [tmp_path / ".checkpoint.npz.k1llz9.tmp", tmp_path / ".history.json.a8b.tmp"]
    for p in orphans:
        p.write_bytes(b"half a file")
    other = tmp_path / ".notes.txt.tmp"  # not a run file: kept
    other.write_text("mine")
    train(tiny(epochs=2), tmp_path, resume=True, quiet=True)
    assert not any(p.exists() for p in orphans) and other.exists()


def test_a_huge_finite_loss_is_flagged_as_diverging(tmp_path, capsys):
    """SGD with lr 1e298 in float64: the loss reaches ~1e298 without becoming inf."""
    code = main(
        [
            "train",
            "--optimizer",
            "sgd",
            "--lr",
            "1e298",
            "--dtype",
            "float64",
            "--epochs",
            "2",
            "--out",
            str(tmp_path),
            *TINY,
        ]
    )
    assert code == 3
    assert "divergence limit" in capsys.readouterr().err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "diverged"
