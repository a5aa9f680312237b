"""Data sets for the training examples: MNIST, Fashion-MNIST and scikit-learn's digits.

Everything read from disk is treated as untrusted: checksums, validated headers, bounded
decompression, and a :class:`DataError` naming the file for every problem (see
:mod:`hyperlab.data.idx`).

Public API
----------
DataError, MissingDataError
    Exceptions (both subclass :class:`ValueError`; the latter also
    :class:`FileNotFoundError`).
read_idx(path, expected_magic, expected_shape)
    Low-level validated IDX reader.
load_mnist(directory, kind="mnist", split="train", verify=True)
    Raw ``uint8`` images ``(N, 28, 28)`` and ``int64`` labels ``(N,)``.
download(kind, directory, base_url=None, splits=("train", "test"), progressbar=False)
    Fetch the IDX files with :mod:`pooch`, verifying their SHA-256.
load_digits_dataset()
    scikit-learn's embedded 8x8 digits, no network needed.
Dataset, load_dataset(name, data_dir=None, download=False, ...)
    Normalised, split, ready-to-train arrays.
iterate_minibatches(X, y, batch_size, rng=None, shuffle=True, drop_last=False)
    Seeded minibatch generator.
epoch_rng(seed, epoch)
    The random generator of epoch ``epoch`` of a run seeded with ``seed``, so that a
    resumed run reproduces the exact batch sequence.


Modules: :mod:`.idx` (IDX files, checksums, reader, MNIST loader), :mod:`.fetch`
(downloads), :mod:`.digits`, :mod:`.datasets` (:class:`Dataset`, :func:`load_dataset`,
normalisation and splits), :mod:`.batches` (minibatches).
"""

from .batches import epoch_rng, iterate_minibatches, num_batches
from .datasets import (
    CLASS_NAMES,
    DATASET_NAMES,
    MAX_GREY_LEVEL,
    Dataset,
    load_dataset,
    stratified_split,
)
from .digits import load_digits_dataset
from .fetch import default_data_dir, download
from .idx import (
    DEFAULT_BASE_URLS,
    IDX_FILES,
    SHA256,
    DataError,
    MissingDataError,
    load_mnist,
    read_idx,
    verify_checksum,
)

__all__ = [
    "DataError",
    "MissingDataError",
    "DATASET_NAMES",
    "IDX_FILES",
    "SHA256",
    "DEFAULT_BASE_URLS",
    "CLASS_NAMES",
    "MAX_GREY_LEVEL",
    "read_idx",
    "verify_checksum",
    "load_mnist",
    "download",
    "default_data_dir",
    "load_digits_dataset",
    "Dataset",
    "load_dataset",
    "stratified_split",
    "iterate_minibatches",
    "epoch_rng",
    "num_batches",
]
