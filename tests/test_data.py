"""Tests for hyperlab.data: IDX parsing and validation, downloads, splits, minibatches.

The real MNIST files are read from the shared ``data/`` folder next to the repository
(never copied into it); corrupt variants are built in ``tmp_path``; downloads use a
local HTTP server on 127.0.0.1, never the network.
"""

from __future__ import annotations

import functools
import gzip
import shutil
import threading
import tracemalloc
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from hyperlab import data
from hyperlab.data import (
    DataError,
    MissingDataError,
    epoch_rng,
    iterate_minibatches,
    load_dataset,
    load_mnist,
    num_batches,
    read_idx,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
FASHION_DIR = SHARED_DATA / "fashion-mnist"

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]

TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

needs_mnist = pytest.mark.skipif(
    not MNIST_DIR.is_dir(),
    reason=f"shared MNIST folder {MNIST_DIR} is absent (it lives next to the repository)",
)
needs_fashion = pytest.mark.skipif(
    not FASHION_DIR.is_dir(),
    reason=f"shared Fashion-MNIST folder {FASHION_DIR} is absent",
)


# --------------------------------------------------------------------------- helpers


def idx_bytes(magic: int, dims: tuple[int, ...], body: bytes) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + body


def write_gz(path: Path, raw: bytes) -> Path:
    path.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    return path


@pytest.fixture
def test_split_dir(tmp_path):
    """tmp dir holding a copy of the real test images and a writable labels slot."""
    if not MNIST_DIR.is_dir():
        pytest.skip(f"shared MNIST folder {MNIST_DIR} is absent")
    d = tmp_path / "mnist"
    d.mkdir()
    shutil.copyfile(MNIST_DIR / TEST_IMAGES, d / TEST_IMAGES)
    shutil.copyfile(MNIST_DIR / TEST_LABELS, d / TEST_LABELS)
    return d


def real_labels_raw() -> bytes:
    with gzip.open(MNIST_DIR / TEST_LABELS, "rb") as fh:
        return fh.read()


class _QuietHandler(SimpleHTTPRequestHandler):
    requests_seen: list[str]

    def log_message(self, format, *args):  # noqa: A002 - silence the server log
        pass

    def do_GET(self):
        self.server.requests_seen.append(self.path)
        super().do_GET()


@pytest.fixture
def http_server():
    """Factory: serve a directory on 127.0.0.1 (random port); returns (base_url, server)."""
    servers = []

    def start(directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.requests_seen = []
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append((server, thread))
        host, port = server.server_address[:2]
        return f"http://{host}:{port}/", server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- real files


@needs_mnist
def test_checksums_of_shared_files():
    for name, digest in data.SHA256["mnist"].items():
        data.verify_checksum(MNIST_DIR / name, digest)


@needs_mnist
def test_load_mnist_test_split():
    X, y = load_mnist(MNIST_DIR, "mnist", "test", verify=True)
    assert X.shape == (10_000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (10_000,) and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == TEST_COUNTS
    assert X.max() == 255 and X.min() == 0
    assert X[:, 0, 0].max() == 0  # background corner


@needs_fashion
def test_load_fashion_mnist_test_split():
    X, y = load_mnist(FASHION_DIR, kind="fashion-mnist", split="test")
    assert X.shape == (10_000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [1000] * 10


@needs_mnist
def test_wrong_kind_fails_checksum():
    with pytest.raises(DataError, match="checksum"):
        load_mnist(MNIST_DIR, kind="fashion-mnist", split="test")


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_mnist(".", split="validation")
    with pytest.raises(ValueError, match="unknown IDX data set"):
        load_mnist(".", kind="cifar10")
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="float32 or float64"):
        load_dataset("digits", dtype=np.float16)
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset("digits", val_fraction=1.0)


# --------------------------------------------------------------------------- corrupt files


def test_read_idx_roundtrip(tmp_path):
    body = bytes(range(2 * 3 * 4))
    p = write_gz(tmp_path / "ok.gz", idx_bytes(2051, (2, 3, 4), body))
    arr = read_idx(p, 2051, (None, 3, 4))
    assert arr.shape == (2, 3, 4) and arr.dtype == np.uint8
    assert arr.tobytes() == body


def _expect_error(path: Path, match: str, **kwargs):
    with pytest.raises(DataError, match=match) as info:
        load_mnist(path.parent, split="test", verify=False, **kwargs)
    assert str(path) in str(info.value)
    return info.value


@needs_mnist
def test_wrong_magic(test_split_dir):
    raw = real_labels_raw()
    p = write_gz(test_split_dir / TEST_LABELS, (2051).to_bytes(4, "big") + raw[4:])
    _expect_error(p, "wrong IDX magic number 2051")


@needs_mnist
def test_wrong_number_of_dimensions(test_split_dir):
    # type code 0x08 but 2 dimensions instead of 3
    p = write_gz(test_split_dir / TEST_IMAGES, idx_bytes(0x0802, (10_000, 784), b""))
    _expect_error(p, "2 dimensions")


@needs_mnist
def test_wrong_dims_header(test_split_dir):
    p = write_gz(test_split_dir / TEST_IMAGES, idx_bytes(2051, (10_000, 27, 28), b"\0" * 64))
    _expect_error(p, "wrong size 27 in dimension 1")


@needs_mnist
def test_wrong_count(test_split_dir):
    p = write_gz(test_split_dir / TEST_LABELS, idx_bytes(2049, (9_999,), b"\0" * 9_999))
    _expect_error(p, "wrong size 9999 in dimension 0")


@needs_mnist
def test_huge_claimed_size_fails_before_allocating(test_split_dir, tmp_path):
    p = write_gz(test_split_dir / TEST_IMAGES, idx_bytes(2051, (0xFFFFFFFF, 28, 28), b"\0" * 100))
    _expect_error(p, "wrong size 4294967295")
    # with open sizes, the byte limit stops it, still before any allocation
    q = write_gz(tmp_path / "huge.gz", idx_bytes(2051, (0xFFFFFFFF,) * 3, b"\0" * 100))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="limit") as info:
            read_idx(q, 2051, (None, None, None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(q) in str(info.value)
    assert peak < 4 << 20


@needs_mnist
def test_truncated_gzip(test_split_dir):
    p = test_split_dir / TEST_LABELS
    blob = (MNIST_DIR / TEST_LABELS).read_bytes()
    p.write_bytes(blob[: len(blob) // 2])
    _expect_error(p, "truncated")


@needs_mnist
def test_truncated_header(test_split_dir):
    p = write_gz(test_split_dir / TEST_LABELS, (2049).to_bytes(4, "big") + b"\0\0")
    _expect_error(p, "truncated IDX header")


@needs_mnist
def test_truncated_body(test_split_dir):
    raw = real_labels_raw()
    p = write_gz(test_split_dir / TEST_LABELS, raw[:-1])
    _expect_error(p, "truncated body")


@needs_mnist
def test_trailing_bytes(test_split_dir):
    raw = real_labels_raw()
    p = write_gz(test_split_dir / TEST_LABELS, raw + b"\x07")
    _expect_error(p, "trailing bytes")


@needs_mnist
@pytest.mark.parametrize("kind", ["raw idx", "text", "empty", "gzip + garbage"])
def test_not_gzip(test_split_dir, kind):
    p = test_split_dir / TEST_LABELS
    raw = real_labels_raw()
    blob = {
        "raw idx": raw,
        "text": b"<html>404 Not Found</html>",
        "empty": b"",
        "gzip + garbage": gzip.compress(raw) + b"this is not gzip",
    }[kind]
    p.write_bytes(blob)
    _expect_error(p, "gzip|truncated")


@needs_mnist
def test_corrupt_deflate_stream(test_split_dir):
    p = test_split_dir / TEST_IMAGES
    blob = bytearray((MNIST_DIR / TEST_IMAGES).read_bytes())
    for i in range(len(blob) // 2, len(blob) // 2 + 64):
        blob[i] ^= 0xFF
    p.write_bytes(bytes(blob))
    _expect_error(p, "gzip|truncated")


@needs_mnist
def test_label_out_of_range(test_split_dir):
    raw = bytearray(real_labels_raw())
    raw[8] = 10
    p = write_gz(test_split_dir / TEST_LABELS, bytes(raw))
    _expect_error(p, "outside 0..9")


@needs_mnist
def test_checksum_mismatch(test_split_dir):
    # same content, recompressed: structurally valid, but not the original file
    p = write_gz(test_split_dir / TEST_LABELS, real_labels_raw())
    with pytest.raises(DataError, match="SHA-256 checksum mismatch") as info:
        load_mnist(test_split_dir, split="test", verify=True)
    assert str(p) in str(info.value)
    _, y = load_mnist(test_split_dir, split="test", verify=False)
    assert np.bincount(y).tolist() == TEST_COUNTS


def test_missing_files(tmp_path):
    with pytest.raises(MissingDataError) as info:
        load_mnist(tmp_path, kind="fashion-mnist", split="train")
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DataError)
    for name in data.IDX_FILES["train"]:
        assert name in msg
    assert str(tmp_path) in msg
    assert "download=True" in msg and "--download" in msg


@needs_mnist
def test_one_missing_file(test_split_dir):
    (test_split_dir / TEST_LABELS).unlink()
    with pytest.raises(MissingDataError) as info:
        load_mnist(test_split_dir, split="test")
    assert TEST_LABELS in str(info.value) and TEST_IMAGES not in str(info.value)


# --------------------------------------------------------------------------- download


@needs_mnist
def test_download_from_local_server(tmp_path, http_server):
    url, server = http_server(MNIST_DIR)
    dest = tmp_path / "dl"
    paths = data.download("mnist", dest, base_url=url, splits=("test",))
    assert sorted(paths) == sorted(data.IDX_FILES["test"])
    assert sorted(p.name for p in dest.iterdir()) == sorted(data.IDX_FILES["test"])
    X, y = load_mnist(dest, split="test")
    assert X.shape == (10_000, 28, 28)
    assert np.bincount(y).tolist() == TEST_COUNTS
    # files already present and valid are not fetched again
    n_requests = len(server.requests_seen)
    data.download("mnist", dest, base_url=url.rstrip("/"), splits=("test",))
    assert len(server.requests_seen) == n_requests


@needs_mnist
def test_download_replaces_corrupt_local_file(tmp_path, http_server):
    url, _ = http_server(MNIST_DIR)
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / TEST_LABELS).write_bytes(b"junk")
    data.download("mnist", dest, base_url=url, splits=("test",))
    _, y = load_mnist(dest, split="test")
    assert len(y) == 10_000


@needs_mnist
def test_download_rejects_corrupt_served_file(tmp_path, http_server):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(MNIST_DIR / TEST_IMAGES, served / TEST_IMAGES)
    write_gz(served / TEST_LABELS, real_labels_raw()[:-5])
    url, _ = http_server(served)
    dest = tmp_path / "dl"
    with pytest.raises(DataError, match="rejected") as info:
        data.download("mnist", dest, base_url=url, splits=("test",))
    assert TEST_LABELS in str(info.value)
    assert not (dest / TEST_LABELS).exists()


def test_download_missing_on_server(tmp_path, http_server):
    url, _ = http_server(tmp_path)  # serves nothing useful
    with pytest.raises(DataError, match="download from .* failed") as info:
        data.download("fashion-mnist", tmp_path / "dl", base_url=url, splits=("test",))
    assert TEST_IMAGES in str(info.value)


@needs_mnist
def test_load_dataset_mnist_with_download(tmp_path, http_server):
    # the one test that parses the 60,000 training images
    url, _ = http_server(MNIST_DIR)
    ds = load_dataset(
        "mnist",
        data_dir=tmp_path / "dl",
        download=True,
        base_url=url,
        val_fraction=0.1,
        seed=3,
        standardize=True,
    )
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (54_000, 6_000, 10_000)
    assert ds.X_train.shape == (54_000, 1, 28, 28) and ds.X_train.dtype == np.float32
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    counts = np.bincount(ds.y_train, minlength=10) + np.bincount(ds.y_val, minlength=10)
    assert counts.tolist() == TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == TEST_COUNTS
    # stratified: every class close to 10 % of its training count in validation
    assert np.all(np.abs(np.bincount(ds.y_val) - 0.1 * np.array(TRAIN_COUNTS)) <= 1)
    # standardised with training statistics; undoing it gives pixels in [0, 1]
    assert abs(float(ds.X_train.mean(dtype=np.float64))) < 1e-4
    assert abs(float(ds.X_train.std(dtype=np.float64)) - 1.0) < 1e-4
    assert 0.10 < ds.mean < 0.16 and 0.28 < ds.std < 0.34
    restored = ds.X_test * ds.std + ds.mean
    assert restored.min() > -1e-5 and restored.max() < 1 + 1e-5


@needs_mnist
def test_load_dataset_finds_named_subfolder():
    # data_dir may be the parent holding mnist/ (like the shared folder)
    ds = load_dataset(
        "mnist",
        data_dir=SHARED_DATA,
        flatten=True,
        dtype=np.float64,
        val_fraction=0.0,
        max_train=500,
        seed=1,
    )
    assert ds.X_train.shape == (500, 784) and ds.X_train.dtype == np.float64
    assert ds.X_val.shape == (0, 784) and ds.input_shape == (784,)
    assert ds.X_test.min() == 0.0 and ds.X_test.max() == 1.0


# --------------------------------------------------------------------------- digits & splits


def test_load_digits_dataset():
    X, y = data.load_digits_dataset()
    assert X.shape == (1797, 8, 8) and X.dtype == np.uint8 and X.max() == 16
    assert y.shape == (1797,) and y.dtype == np.int64 and set(y.tolist()) == set(range(10))


def test_digits_dataset_shapes_and_split():
    ds = load_dataset("digits", seed=0)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1294, 144, 359)
    assert ds.X_train.shape == (1294, 1, 8, 8) and ds.X_train.dtype == np.float32
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10 and ds.name == "digits"
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    flat = load_dataset("digits", seed=0, flatten=True, dtype=np.float64)
    assert flat.X_train.shape == (1294, 64) and flat.X_train.dtype == np.float64
    assert flat.input_shape == (64,)
    np.testing.assert_array_equal(flat.X_train, ds.X_train.reshape(-1, 64))
    assert "digits" in repr(ds)


def test_digits_split_is_seeded():
    a, b, c = (load_dataset("digits", seed=s) for s in (7, 7, 8))
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.X_test, c.X_test)


def test_stratified_split_partitions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, size=1001)
    keep, held = data.stratified_split(y, 0.25, np.random.default_rng(5))
    assert len(held) == round(0.25 * 1001)
    assert np.array_equal(np.sort(np.concatenate([keep, held])), np.arange(1001))
    for c in range(7):
        assert abs(np.sum(y[held] == c) - 0.25 * np.sum(y == c)) <= 1
    keep2, held2 = data.stratified_split(y, 0.25, np.random.default_rng(5))
    assert np.array_equal(held, held2) and np.array_equal(keep, keep2)


# --------------------------------------------------------------------------- minibatches


def _batch_ids(n, batch_size, rng, **kw):
    X = np.arange(n).reshape(n, 1) * np.ones((1, 3))
    y = np.arange(n)
    out = []
    for xb, yb in iterate_minibatches(X, y, batch_size, rng, **kw):
        assert np.array_equal(xb[:, 0], yb)  # X and y stay aligned
        out.append(yb)
    return out


def test_minibatches_partition_the_data():
    batches = _batch_ids(103, 10, 0)
    assert [len(b) for b in batches] == [10] * 10 + [3]  # last partial batch kept
    assert len(batches) == num_batches(103, 10)
    ids = np.concatenate(batches)
    assert np.array_equal(np.sort(ids), np.arange(103))
    assert not np.array_equal(ids, np.arange(103))  # shuffled


def test_minibatches_drop_last_and_no_shuffle():
    batches = _batch_ids(103, 10, 0, drop_last=True)
    assert [len(b) for b in batches] == [10] * 10 == [10] * num_batches(103, 10, True)
    ordered = _batch_ids(25, 10, None, shuffle=False)
    assert np.array_equal(np.concatenate(ordered), np.arange(25))
    assert [len(b) for b in ordered] == [10, 10, 5]
    assert _batch_ids(0, 4, 0) == []


def test_minibatches_reproducible():
    a = _batch_ids(50, 8, 123)
    b = _batch_ids(50, 8, np.random.default_rng(123))
    c = _batch_ids(50, 8, 124)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


def test_epoch_rng_resume_reproduces_batches():
    seed = 42
    full_run = [_batch_ids(37, 5, epoch_rng(seed, e)) for e in range(5)]
    resumed = [_batch_ids(37, 5, epoch_rng(seed, e)) for e in range(3, 5)]
    for e, epoch_batches in zip(range(3, 5), resumed):
        assert all(np.array_equal(u, v) for u, v in zip(full_run[e], epoch_batches))
    # epochs differ from each other, and seeds differ from each other
    assert not np.array_equal(np.concatenate(full_run[0]), np.concatenate(full_run[1]))
    other = _batch_ids(37, 5, epoch_rng(seed + 1, 0))
    assert not np.array_equal(np.concatenate(full_run[0]), np.concatenate(other))


def test_minibatch_argument_checks():
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_minibatches(np.zeros((4, 2)), np.zeros(4), 0, 0))
    with pytest.raises(ValueError, match="examples"):
        next(iterate_minibatches(np.zeros((4, 2)), np.zeros(3), 2, 0))
    with pytest.raises(ValueError, match="non-negative"):
        epoch_rng(-1, 0)


# --------------------------------------------------------------------------- two data sets


def _flat_mnist_folder(tmp_path):
    """A flat folder holding (links to) the four MNIST files, as a user might keep them."""
    flat = tmp_path / "data"
    flat.mkdir()
    for name in (*data.IDX_FILES["train"], *data.IDX_FILES["test"]):
        (flat / name).symlink_to(MNIST_DIR / name)
    return flat


@needs_mnist
@needs_fashion
def test_fashion_download_beside_flat_mnist_goes_into_its_own_folder(tmp_path, http_server):
    """Same file names: downloading Fashion-MNIST into a flat MNIST folder used to replace
    MNIST. It now goes into <data-dir>/fashion-mnist/."""
    flat = _flat_mnist_folder(tmp_path)
    url, _ = http_server(FASHION_DIR)
    ds = load_dataset(
        "fashion-mnist", data_dir=flat, download=True, base_url=url, val_fraction=0.0, max_train=10
    )
    assert ds.name == "fashion-mnist" and len(ds.y_test) == 10_000
    assert sorted(p.name for p in (flat / "fashion-mnist").iterdir()) == sorted(
        [*data.IDX_FILES["train"], *data.IDX_FILES["test"]]
    )
    for name in data.IDX_FILES["test"]:  # MNIST untouched
        assert (flat / name).is_symlink()
        data.verify_checksum(flat / name, data.SHA256["mnist"][name])
    # and MNIST is still read from the flat folder
    assert load_dataset("mnist", data_dir=flat, val_fraction=0.0, max_train=10).name == "mnist"


@needs_mnist
def test_download_never_replaces_another_data_sets_file(tmp_path, http_server):
    flat = _flat_mnist_folder(tmp_path)
    url, server = http_server(tmp_path)
    with pytest.raises(DataError, match="mnist") as info:
        data.download("fashion-mnist", flat, base_url=url, splits=("test",))
    assert str(flat) in str(info.value) and "fashion-mnist" in str(info.value)
    assert server.requests_seen == []
    for name in data.IDX_FILES["test"]:
        assert (flat / name).is_symlink()


@needs_mnist
def test_reading_the_other_data_sets_file_says_so():
    with pytest.raises(DataError, match="that of the mnist file"):
        load_mnist(MNIST_DIR, kind="fashion-mnist", split="test")


def test_permission_error_on_the_data_folder_is_a_data_error(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    real_is_file, real_mkdir = Path.is_file, Path.mkdir

    def denied(self, *args, **kwargs):
        if str(self).startswith(str(folder)):
            raise PermissionError(13, "Permission denied", str(self))
        return (real_is_file if not args and not kwargs else real_mkdir)(self, *args, **kwargs)

    monkeypatch.setattr(Path, "is_file", denied)
    with pytest.raises(DataError, match="Permission denied") as info:
        load_mnist(folder, split="test")
    assert str(folder) in str(info.value)
    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(DataError, match="Permission denied"):
        data.download("mnist", folder, base_url="http://127.0.0.1:9/", splits=("test",))
