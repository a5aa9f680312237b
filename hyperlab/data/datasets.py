"""Normalised, split, ready-to-train arrays of digits, MNIST and Fashion-MNIST.

Normalisation used by :func:`load_dataset`
------------------------------------------
Pixels are first scaled to ``[0, 1]`` by dividing by the largest grey level of the
data set (255 for MNIST / Fashion-MNIST, 16 for digits).  With ``standardize=True``
they are then standardised with two *scalars* computed on the training split only
(the mean and the standard deviation over all training pixels): ``(x - mean) / std``.
A single scalar pair (rather than per-pixel statistics) is used because many border
pixels are constant zero in the training set, which would make per-pixel
standardisation divide by zero; using training statistics only keeps the validation
and test sets free of information leakage.  The default is ``standardize=False``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .digits import load_digits_dataset
from .fetch import default_data_dir
from .fetch import download as download_files  # load_dataset has a parameter `download`
from .idx import IDX_FILES, SHA256, DataError, file_sha256, load_mnist

__all__ = [
    "DATASET_NAMES",
    "CLASS_NAMES",
    "MAX_GREY_LEVEL",
    "Dataset",
    "stratified_split",
    "resolve_dir",
    "load_dataset",
]

#: Names accepted by :func:`load_dataset`.
DATASET_NAMES = ("digits", "mnist", "fashion-mnist")

#: Human-readable class names.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "digits": tuple(str(i) for i in range(10)),
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}

#: Largest grey level of each data set (used to scale pixels to [0, 1]).
MAX_GREY_LEVEL = {"digits": 16, "mnist": 255, "fashion-mnist": 255}


@dataclass
class Dataset:
    """Normalised, split arrays ready for training.

    Attributes
    ----------
    name : str
        ``"digits"``, ``"mnist"`` or ``"fashion-mnist"``.
    X_train, X_val, X_test : numpy.ndarray
        Inputs of shape ``(N, 1, H, W)`` (NCHW) or ``(N, H*W)`` when flattened;
        float32 or float64.
    y_train, y_val, y_test : numpy.ndarray of int64, shape (N,)
        Class indices.
    num_classes : int
    input_shape : tuple of int
        Shape of one example: ``(1, H, W)`` or ``(H*W,)``.
    class_names : tuple of str
    mean, std : float
        Standardisation scalars applied after scaling to [0, 1]
        (0.0 and 1.0 when not standardised).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...] = field(default=())
    mean: float = 0.0
    std: float = 1.0

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, dtype={self.X_train.dtype})"
        )


def stratified_split(
    y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (kept, held-out), stratified by class.

    Exactly ``round(fraction * len(y))`` examples are held out, shared among the
    classes in proportion to their sizes (largest-remainder rounding); which
    examples of a class are held out is drawn with ``rng``.  Both index arrays are
    returned sorted (original order preserved).
    """
    classes, counts = np.unique(y, return_counts=True)
    n_held = int(round(fraction * len(y)))
    quota = fraction * counts
    per_class = np.floor(quota).astype(np.int64)
    short = n_held - int(per_class.sum())
    if short > 0:
        # stable sort: ties go to the smaller class label
        order = np.argsort(-(quota - per_class), kind="stable")
        per_class[order[:short]] += 1
    held = []
    for c, k in zip(classes, per_class):
        idx = np.flatnonzero(y == c)
        held.append(idx[rng.permutation(len(idx))[:k]])
    held_idx = np.sort(np.concatenate(held)) if held else np.empty(0, np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[held_idx] = False
    return np.flatnonzero(mask), held_idx


def resolve_dir(name: str, data_dir, splits=("train", "test"), download=False) -> Path:
    """The folder of data set ``name`` under ``data_dir``: its sub-folder ``<name>/`` or
    ``data_dir`` itself (a flat folder) when that holds the files.

    Downloads go to ``<data_dir>/<name>/`` (or to ``data_dir`` when it is named ``<name>``
    or already holds this data set's files), so that MNIST and Fashion-MNIST, whose files
    have the same names, never land in the same folder.
    """
    if data_dir is None:
        return default_data_dir(name)
    data_dir = Path(data_dir)
    needed = [n for s in splits for n in IDX_FILES[s]]
    sub = data_dir / name
    try:
        if all((sub / n).is_file() for n in needed):
            return sub
        flat = all((data_dir / n).is_file() for n in needed)
        if flat and (
            not download or all(file_sha256(data_dir / n) == SHA256[name][n] for n in needed)
        ):
            return data_dir
    except OSError as exc:
        raise DataError(
            f"{exc.filename or data_dir}: cannot read the data folder ({exc.strerror or exc})"
        ) from exc
    if download:
        return data_dir if data_dir.name == name else sub
    return data_dir


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    flatten: bool = False,
    dtype=np.float32,
    standardize: bool = False,
    test_fraction: float = 0.2,
    max_train: int | None = None,
    verify: bool = True,
    base_url: str | None = None,
) -> Dataset:
    """Load, normalise and split a data set.

    Parameters
    ----------
    name : {"digits", "mnist", "fashion-mnist"}
        ``"digits"`` is embedded in scikit-learn and needs no files.
    data_dir : path-like, optional
        Directory holding the four gzip IDX files, or a parent directory holding
        them in a sub-folder named ``name`` (like the shared ``data/`` folder).
        Default :func:`default_data_dir`.  Ignored for ``"digits"``.
    download : bool, default False
        Download missing files first (see :func:`download`), into ``<data_dir>/<name>/``
        (``data_dir`` itself when it is named ``name``), never over another data set's
        files.
    val_fraction : float, default 0.1
        Fraction of the training examples held out for validation (stratified by
        class, seeded).  For MNIST / Fashion-MNIST the validation set is carved out
        of the 60,000 training images; the official 10,000 test images are the test
        set.
    seed : int, default 0
        Seed of the split (and of the ``max_train`` subset).
    flatten : bool, default False
        ``False``: images as NCHW ``(N, 1, H, W)``; ``True``: ``(N, H*W)``.
    dtype : {numpy.float32, numpy.float64}, default float32
    standardize : bool, default False
        After scaling to [0, 1], subtract the training-set mean pixel value and
        divide by the training-set pixel standard deviation (two scalars computed
        on the training split only, applied to all splits).
    test_fraction : float, default 0.2
        Digits only: fraction of the 1,797 examples used as test set (stratified,
        seeded); ``val_fraction`` then applies to the rest.
    max_train : int, optional
        Keep a seeded random subset of at most this many training examples
        (useful for quick runs); validation and test sets are unaffected.
    verify : bool, default True
        Verify SHA-256 checksums of the IDX files.
    base_url : str, optional
        Download location used with ``download=True`` (default: the official one,
        :data:`DEFAULT_BASE_URLS`).

    Returns
    -------
    Dataset
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASET_NAMES}")
    for label, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"{label} must be in [0, 1), got {frac}")
    if max_train is not None and max_train < 1:
        raise ValueError(f"max_train must be a positive integer, got {max_train}")

    rng = np.random.default_rng(seed)
    if name == "digits":
        X, y = load_digits_dataset()
        rest, test_idx = stratified_split(y, test_fraction, rng)
        X_test, y_test = X[test_idx], y[test_idx]
        X_all, y_all = X[rest], y[rest]
    else:
        directory = resolve_dir(name, data_dir, download=download)
        if download:
            download_files(name, directory, base_url=base_url)
        X_all, y_all = load_mnist(directory, name, "train", verify=verify)
        X_test, y_test = load_mnist(directory, name, "test", verify=verify)

    train_idx, val_idx = stratified_split(y_all, val_fraction, rng)
    if max_train is not None and len(train_idx) > max_train:
        train_idx = np.sort(rng.choice(train_idx, size=max_train, replace=False))

    scale = float(MAX_GREY_LEVEL[name])

    def prep(images: np.ndarray) -> np.ndarray:
        out = images.astype(dtype)
        out /= dtype.type(scale)
        return out

    X_train, y_train = prep(X_all[train_idx]), y_all[train_idx]
    X_val, y_val = prep(X_all[val_idx]), y_all[val_idx]
    X_test = prep(X_test)

    mean, std = 0.0, 1.0
    if standardize:
        mean = float(X_train.mean(dtype=np.float64))
        std = float(X_train.std(dtype=np.float64))
        if not std > 0.0:
            raise DataError(f"{name}: training pixels are constant, cannot standardise")
        for arr in (X_train, X_val, X_test):
            arr -= dtype.type(mean)
            arr /= dtype.type(std)

    h, w = X_train.shape[1:]
    if flatten:
        input_shape: tuple[int, ...] = (h * w,)
    else:
        input_shape = (1, h, w)
    X_train, X_val, X_test = (a.reshape((len(a),) + input_shape) for a in (X_train, X_val, X_test))

    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        num_classes=10,
        input_shape=input_shape,
        class_names=CLASS_NAMES[name],
        mean=mean,
        std=std,
    )
