"""The IDX files of MNIST and Fashion-MNIST: their names, sizes and checksums, a validating
reader, and the loader of one split.

Everything read from disk is treated as untrusted:

* every gzip IDX file is checked against a SHA-256 table kept in this module
  (``verify=True``, the default);
* the IDX header (magic number, number of dimensions, sizes) is validated against
  what the file must contain *before* any array is allocated;
* decompression is bounded: at most the expected body length plus one byte is read,
  so a "gzip bomb" cannot exhaust memory and trailing garbage is detected;
* every problem is reported as a :class:`DataError` whose message names the file
  and says what was wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DataError",
    "MissingDataError",
    "IDX_FILES",
    "SPLIT_SIZES",
    "IMAGE_SIZE",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "SHA256",
    "DEFAULT_BASE_URLS",
    "IDX_KINDS",
    "check_kind",
    "check_split",
    "verify_checksum",
    "owner_of",
    "file_sha256",
    "read_idx",
    "load_mnist",
]


# --------------------------------------------------------------------------- errors


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or otherwise unusable.

    The message always names the file (or directory) and says what was wrong.
    """


class MissingDataError(DataError, FileNotFoundError):
    """Required data files are not present in the given directory."""


# --------------------------------------------------------------------------- tables

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


IDX_KINDS = ("mnist", "fashion-mnist")
"""The data sets stored as IDX files."""
CHUNK = 1 << 20
"""Bytes read at a time (hashing, decompressing)."""


def check_kind(kind: str) -> str:
    """``kind`` if it is an IDX data set, else ValueError."""
    if kind not in IDX_KINDS:
        raise ValueError(f"unknown IDX data set {kind!r}; expected one of {IDX_KINDS}")
    return kind


def check_split(split: str) -> str:
    """``split`` if it is ``"train"`` or ``"test"``, else ValueError."""
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
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read file for checksum: {exc}") from exc
    actual = digest.hexdigest()
    other = owner_of(actual)
    if actual != expected_sha256.lower() and other is not None:
        raise DataError(
            f"{path}: its SHA-256 checksum is that of the {other[0]} file {other[1]}, not the "
            f"expected {expected_sha256.lower()}; keep each data set in its own folder "
            "(<data-dir>/mnist/, <data-dir>/fashion-mnist/)"
        )
    if actual != expected_sha256.lower():
        raise DataError(
            f"{path}: SHA-256 checksum mismatch (got {actual}, expected "
            f"{expected_sha256.lower()}); the file is corrupt, truncated or not the "
            "original - delete it and download it again"
        )


def owner_of(sha256: str):
    """``(data set, file name)`` whose original file has this SHA-256, or None."""
    for kind, table in SHA256.items():
        for name, digest in table.items():
            if digest == sha256:
                return kind, name
    return None


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
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
            shape = tuple(int.from_bytes(header[4 * i : 4 * i + 4], "big") for i in range(ndim))
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
                got = fh.readinto(view[filled : filled + CHUNK])
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
    check_kind(kind)
    check_split(split)
    directory = Path(directory)
    names = IDX_FILES[split]
    try:
        missing = [n for n in names if not (directory / n).is_file()]
    except OSError as exc:  # e.g. no permission to look into the folder
        raise DataError(
            f"{directory}: cannot read the data folder ({exc.strerror or exc})"
        ) from exc
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
