"""Data sets for the training examples: MNIST, Fashion-MNIST and scikit-learn's digits.

Everything read from disk is treated as untrusted (see DESIGN.md, section 6):

* every gzip IDX file is checked against a SHA-256 table kept in this module
  (``verify=True``, the default);
* the IDX header (magic number, number of dimensions, sizes) is validated against
  what the file must contain *before* any array is allocated;
* decompression is bounded: at most the expected body length plus one byte is read,
  so a "gzip bomb" cannot exhaust memory and trailing garbage is detected;
* every problem is reported as a :class:`DataError` whose message names the file
  and says what was wrong.

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

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = [
    "DataError",
    "MissingDataError",
    "DATASET_NAMES",
    "IDX_FILES",
    "SHA256",
    "DEFAULT_BASE_URLS",
    "CLASS_NAMES",
    "read_idx",
    "verify_checksum",
    "load_mnist",
    "download",
    "default_data_dir",
    "load_digits_dataset",
    "Dataset",
    "load_dataset",
    "iterate_minibatches",
    "epoch_rng",
    "num_batches",
]


# --------------------------------------------------------------------------- errors


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or otherwise unusable.

    The message always names the file (or directory) and says what was wrong.
    """


class MissingDataError(DataError, FileNotFoundError):
    """Required data files are not present in the given directory."""


# --------------------------------------------------------------------------- tables

#: Names accepted by :func:`load_dataset`.
DATASET_NAMES = ("digits", "mnist", "fashion-mnist")

#: ``split -> (images file, labels file)``; identical for MNIST and Fashion-MNIST.
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: Number of examples per split (both data sets).
SPLIT_SIZES = {"train": 60_000, "test": 10_000}

#: Image height and width of MNIST / Fashion-MNIST.
IMAGE_SIZE = 28

#: IDX magic numbers: 0x08 = unsigned byte, then the number of dimensions.
IMAGES_MAGIC = 2051  # 0x00000803
LABELS_MAGIC = 2049  # 0x00000801

#: SHA-256 of the original gzip files, per data set.
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

#: Official download locations.
DEFAULT_BASE_URLS: dict[str, str] = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

#: Human-readable class names.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "digits": tuple(str(i) for i in range(10)),
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}

#: Largest grey level of each data set (used to scale pixels to [0, 1]).
MAX_GREY_LEVEL = {"digits": 16, "mnist": 255, "fashion-mnist": 255}

_IDX_KINDS = ("mnist", "fashion-mnist")
_CHUNK = 1 << 20


def _check_kind(kind: str) -> str:
    if kind not in _IDX_KINDS:
        raise ValueError(f"unknown IDX data set {kind!r}; expected one of {_IDX_KINDS}")
    return kind


def _check_split(split: str) -> str:
    if split not in IDX_FILES:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    return split


# --------------------------------------------------------------------------- checksums


def verify_checksum(path: str | os.PathLike, expected_sha256: str) -> None:
    """Check the SHA-256 digest of a file.

    Parameters
    ----------
    path : path-like
        File to hash (read in 1 MiB chunks).
    expected_sha256 : str
        Expected hexadecimal digest (case-insensitive).

    Raises
    ------
    DataError
        If the digest differs; the message names the file and both digests.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read file for checksum: {exc}") from exc
    actual = digest.hexdigest()
    other = _owner(actual)
    if actual != expected_sha256.lower() and other is not None:
        raise DataError(
            f"{path}: its SHA-256 checksum is that of the {other[0]} file {other[1]}, not the "
            f"expected {expected_sha256.lower()}; keep each data set in its own folder "
            "(<data-dir>/mnist/, <data-dir>/fashion-mnist/)")
    if actual != expected_sha256.lower():
        raise DataError(
            f"{path}: SHA-256 checksum mismatch (got {actual}, expected "
            f"{expected_sha256.lower()}); the file is corrupt, truncated or not the "
            "original - delete it and download it again"
        )


def _owner(sha256: str):
    """``(data set, file name)`` whose original file has this SHA-256, or None."""
    for kind, table in SHA256.items():
        for name, digest in table.items():
            if digest == sha256:
                return kind, name
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- IDX reader


def _read_exactly(fh, n: int, path: Path, what: str) -> bytes:
    """Read exactly ``n`` bytes of the decompressed stream or raise DataError."""
    data = fh.read(n)
    if len(data) != n:
        raise DataError(
            f"{path}: truncated {what}: expected {n} bytes, the file ends after {len(data)}"
        )
    return data


def read_idx(
    path: str | os.PathLike,
    expected_magic: int,
    expected_shape: tuple[int | None, ...],
    *,
    max_bytes: int = 1 << 30,
) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes, validating it first.

    Parameters
    ----------
    path : path-like
        The ``.gz`` file.
    expected_magic : int
        2051 for images (unsigned bytes, 3 dimensions) or 2049 for labels
        (unsigned bytes, 1 dimension).  Its low byte is the number of dimensions.
    expected_shape : tuple of (int or None)
        Required size of each dimension; ``None`` accepts any size.  Its length must
        equal the number of dimensions encoded in ``expected_magic``.
    max_bytes : int, optional
        Upper bound on the body length when some sizes are left open (default 1 GiB).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of the shape given in the header.

    Raises
    ------
    DataError
        If the file is not gzip, the magic number, number of dimensions or a size is
        wrong, the body is shorter or longer than the header says, or the gzip
        stream is truncated or corrupt.  The header is checked, and the body length
        computed, before anything is allocated; at most ``body length + 1`` bytes
        are decompressed.
    """
    path = Path(path)
    ndim = expected_magic & 0xFF
    if len(expected_shape) != ndim:
        raise ValueError(
            f"expected_shape {expected_shape} does not match the {ndim} dimensions "
            f"of magic number {expected_magic}"
        )
    try:
        with gzip.open(path, "rb") as fh:
            magic = int.from_bytes(_read_exactly(fh, 4, path, "IDX header"), "big")
            if magic != expected_magic:
                raise DataError(
                    f"{path}: wrong IDX magic number {magic} (0x{magic:08x}: type code "
                    f"0x{(magic >> 8) & 0xFF:02x}, {magic & 0xFF} dimensions); expected "
                    f"{expected_magic} (0x{expected_magic:08x}: unsigned bytes, "
                    f"{ndim} dimensions)"
                )
            header = _read_exactly(fh, 4 * ndim, path, "IDX header")
            shape = tuple(
                int.from_bytes(header[4 * i: 4 * i + 4], "big") for i in range(ndim)
            )
            for axis, (got, want) in enumerate(zip(shape, expected_shape)):
                if want is not None and got != want:
                    raise DataError(
                        f"{path}: wrong size {got} in dimension {axis} of the IDX "
                        f"header (header sizes {shape}); expected "
                        f"{tuple('any' if w is None else w for w in expected_shape)}"
                    )
            n_body = 1
            for s in shape:
                n_body *= s
            if n_body > max_bytes:
                raise DataError(
                    f"{path}: IDX header claims {shape} = {n_body} bytes, more than "
                    f"the limit of {max_bytes} bytes"
                )
            out = np.empty(n_body, dtype=np.uint8)
            view = memoryview(out)
            filled = 0
            while filled < n_body:
                got = fh.readinto(view[filled: filled + _CHUNK])
                if not got:
                    break
                filled += got
            if filled != n_body:
                raise DataError(
                    f"{path}: truncated body: the header {shape} needs {n_body} bytes "
                    f"of data, the file holds only {filled}"
                )
            if fh.read(1):
                raise DataError(
                    f"{path}: trailing bytes after the {n_body} bytes of data the "
                    f"header {shape} announces"
                )
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise MissingDataError(f"{path}: file not found") from exc
    except gzip.BadGzipFile as exc:
        raise DataError(f"{path}: not a valid gzip file, or corrupt gzip data ({exc})") from exc
    except EOFError as exc:
        raise DataError(f"{path}: truncated gzip stream ({exc})") from exc
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc})") from exc
    return out.reshape(shape)


# --------------------------------------------------------------------------- MNIST


def _missing_message(kind: str, directory: Path, missing: list[str]) -> str:
    return (
        f"{kind} data not found: missing {', '.join(missing)} in directory "
        f"{directory}. Get the files with hyperlab.data.download({kind!r}, "
        f"{str(directory)!r}), load_dataset({kind!r}, data_dir=..., download=True) "
        f"or the command line option `fomoh ... --download`, or copy the four "
        f"original gzip IDX files from {DEFAULT_BASE_URLS[kind]} into that directory."
    )


def load_mnist(
    directory: str | os.PathLike,
    kind: str = "mnist",
    split: str = "train",
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST or Fashion-MNIST from the original gzip IDX files.

    Parameters
    ----------
    directory : path-like
        Directory that directly contains the gzip IDX files
        (``train-images-idx3-ubyte.gz`` etc.).
    kind : {"mnist", "fashion-mnist"}
        Which data set; selects the checksum table.
    split : {"train", "test"}
        60,000 training or 10,000 test examples.
    verify : bool, default True
        Check the SHA-256 digest of both files before parsing them.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (N, 28, 28)
        Grey levels 0-255, background 0.
    labels : numpy.ndarray of int64, shape (N,)
        Class indices 0-9.

    Raises
    ------
    MissingDataError
        If a file is missing (the message lists them and how to get them).
    DataError
        If a file fails its checksum or is malformed.
    """
    _check_kind(kind)
    _check_split(split)
    directory = Path(directory)
    names = IDX_FILES[split]
    try:
        missing = [n for n in names if not (directory / n).is_file()]
    except OSError as exc:        # e.g. no permission to look into the folder
        raise DataError(f"{directory}: cannot read the data folder "
                        f"({exc.strerror or exc})") from exc
    if missing:
        raise MissingDataError(_missing_message(kind, directory, missing))
    img_path, lbl_path = (directory / n for n in names)
    if verify:
        for p in (img_path, lbl_path):
            verify_checksum(p, SHA256[kind][p.name])
    count = SPLIT_SIZES[split]
    images = read_idx(img_path, IMAGES_MAGIC, (count, IMAGE_SIZE, IMAGE_SIZE))
    labels = read_idx(lbl_path, LABELS_MAGIC, (count,))
    if labels.max(initial=0) > 9:
        raise DataError(f"{lbl_path}: label {int(labels.max())} outside 0..9")
    return images, labels.astype(np.int64)


def download(
    kind: str,
    directory: str | os.PathLike,
    base_url: str | None = None,
    splits: tuple[str, ...] = ("train", "test"),
    progressbar: bool = False,
) -> dict[str, Path]:
    """Download the gzip IDX files of MNIST or Fashion-MNIST with :mod:`pooch`.

    Files already present with the right SHA-256 are not downloaded again; a present
    file with a wrong digest is replaced, *unless* its digest is that of another data set's
    file (MNIST and Fashion-MNIST use the same file names): that is refused with a
    :class:`DataError` and nothing is replaced.  Every downloaded file is checked against
    :data:`SHA256` and rejected (removed) if it does not match.

    Parameters
    ----------
    kind : {"mnist", "fashion-mnist"}
    directory : path-like
        Where to store the files (created if needed).
    base_url : str, optional
        URL of the folder holding the four files; default
        :data:`DEFAULT_BASE_URLS` ``[kind]``.
    splits : tuple of {"train", "test"}, default ("train", "test")
        Which splits to fetch.
    progressbar : bool, default False
        Show a tqdm progress bar.

    Returns
    -------
    dict of str to pathlib.Path
        File name -> local path.

    Raises
    ------
    DataError
        If a download fails or a file does not match its checksum.
    """
    import pooch  # imported lazily: only needed for downloads

    _check_kind(kind)
    for s in splits:
        _check_split(s)
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        present = {name: directory / name for split in splits for name in IDX_FILES[split]
                   if (directory / name).is_file()}
        foreign = {name: _owner(_sha256(p)) for name, p in present.items()}
    except OSError as exc:
        raise DataError(f"{exc.filename or directory}: cannot use the data folder "
                        f"({exc.strerror or exc})") from exc
    foreign = {n: o for n, o in foreign.items() if o is not None and o[0] != kind}
    if foreign:
        raise DataError(
            f"{directory}: holds {', '.join(sorted(foreign))} of {foreign[next(iter(foreign))][0]}, "
            f"which {kind} would overwrite (same file names); download {kind} into its own "
            f"folder, e.g. {directory / kind}")
    base = base_url or DEFAULT_BASE_URLS[kind]
    if not base.endswith("/"):
        base += "/"
    paths: dict[str, Path] = {}
    for split in splits:
        for name in IDX_FILES[split]:
            url = base + name
            try:
                local = pooch.retrieve(
                    url=url,
                    known_hash="sha256:" + SHA256[kind][name],
                    fname=name,
                    path=directory,
                    progressbar=progressbar,
                )
            except ValueError as exc:  # pooch: hash mismatch
                raise DataError(
                    f"{directory / name}: downloaded from {url} but rejected: {exc}"
                ) from exc
            except Exception as exc:  # network / HTTP errors
                raise DataError(
                    f"{directory / name}: download from {url} failed: {exc}"
                ) from exc
            paths[name] = Path(local)
    return paths


_download_files = download  # `load_dataset` has a parameter named `download`


def default_data_dir(name: str) -> Path:
    """Default directory for data set ``name``.

    ``$FOMOH_DATA_DIR/<name>`` if that environment variable is set, otherwise
    ``<user cache>/fomoh/<name>`` (via :func:`pooch.os_cache`).
    """
    env = os.environ.get("FOMOH_DATA_DIR")
    if env:
        return Path(env) / name
    import pooch

    return Path(pooch.os_cache("fomoh")) / name


# --------------------------------------------------------------------------- digits


def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's embedded handwritten digits (no network needed).

    Returns
    -------
    images : numpy.ndarray of uint8, shape (1797, 8, 8)
        Grey levels 0-16.
    labels : numpy.ndarray of int64, shape (1797,)
        Class indices 0-9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images)
    return images.astype(np.uint8), np.asarray(bunch.target, dtype=np.int64)


# --------------------------------------------------------------------------- Dataset


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


def _stratified_split(
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


def _resolve_dir(name: str, data_dir, splits=("train", "test"), download=False) -> Path:
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
        if flat and (not download or all(_sha256(data_dir / n) == SHA256[name][n]
                                         for n in needed)):
            return data_dir
    except OSError as exc:
        raise DataError(f"{exc.filename or data_dir}: cannot read the data folder "
                        f"({exc.strerror or exc})") from exc
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
        rest, test_idx = _stratified_split(y, test_fraction, rng)
        X_test, y_test = X[test_idx], y[test_idx]
        X_all, y_all = X[rest], y[rest]
    else:
        directory = _resolve_dir(name, data_dir, download=download)
        if download:
            _download_files(name, directory, base_url=base_url)
        X_all, y_all = load_mnist(directory, name, "train", verify=verify)
        X_test, y_test = load_mnist(directory, name, "test", verify=verify)

    train_idx, val_idx = _stratified_split(y_all, val_fraction, rng)
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
        X_train=X_train, y_train=y_train,
        X_val=X_val, y_val=y_val,
        X_test=X_test, y_test=y_test,
        num_classes=10,
        input_shape=input_shape,
        class_names=CLASS_NAMES[name],
        mean=mean, std=std,
    )


# --------------------------------------------------------------------------- minibatches


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """Random generator for epoch ``epoch`` of a run seeded with ``seed``.

    Each (seed, epoch) pair gets its own independent stream (derived with
    :class:`numpy.random.SeedSequence` and ``spawn_key=(epoch,)``), so the batch
    order of epoch ``e`` can be reproduced without replaying epochs ``0..e-1``:
    a training run resumed at epoch ``e`` continues exactly::

        for epoch in range(start_epoch, n_epochs):
            for xb, yb in iterate_minibatches(X, y, 128, epoch_rng(seed, epoch)):
                ...

    Parameters
    ----------
    seed : int
        Non-negative run seed.
    epoch : int
        Non-negative epoch index.

    Returns
    -------
    numpy.random.Generator
    """
    if int(seed) < 0 or int(epoch) < 0:
        raise ValueError(f"seed and epoch must be non-negative, got {seed}, {epoch}")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(epoch),)))


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of minibatches :func:`iterate_minibatches` yields for ``n`` examples."""
    return n // batch_size if drop_last else -(-n // batch_size)


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` minibatches covering the data once (one epoch).

    Parameters
    ----------
    X : numpy.ndarray, shape (N, ...)
    y : numpy.ndarray, shape (N,)
    batch_size : int
        Examples per batch.
    rng : numpy.random.Generator or int or None
        Source of the shuffling order: a Generator (e.g. from :func:`epoch_rng`) or
        an integer seed.  ``None`` draws fresh OS entropy (not reproducible).
        Unused when ``shuffle=False``.
    shuffle : bool, default True
        Visit the examples in a random permutation; otherwise in order.
    drop_last : bool, default False
        By default the last, partial batch (``N % batch_size`` examples) is kept, so
        every example is visited exactly once per epoch; ``True`` drops it.

    Yields
    ------
    X_batch : numpy.ndarray, shape (B, ...)
    y_batch : numpy.ndarray, shape (B,)
        Copies (fancy-indexed) when shuffling, views otherwise.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} examples but y has {len(y)}")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if shuffle:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        order = gen.permutation(n)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            yield X[start:end], y[start:end]
        else:
            idx = order[start:end]
            yield X[idx], y[idx]
