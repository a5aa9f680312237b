"""Downloading the MNIST / Fashion-MNIST files (checksums verified), and where they go."""

from __future__ import annotations

import os
from pathlib import Path

from .idx import (
    DEFAULT_BASE_URLS,
    IDX_FILES,
    SHA256,
    DataError,
    check_kind,
    check_split,
    file_sha256,
    owner_of,
)

__all__ = ["download", "default_data_dir"]


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
    import pooch  # here, not at the top: only downloads need it

    check_kind(kind)
    for s in splits:
        check_split(s)
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        present = {
            name: directory / name
            for split in splits
            for name in IDX_FILES[split]
            if (directory / name).is_file()
        }
        foreign = {name: owner_of(file_sha256(p)) for name, p in present.items()}
    except OSError as exc:
        raise DataError(
            f"{exc.filename or directory}: cannot use the data folder ({exc.strerror or exc})"
        ) from exc
    foreign = {n: o for n, o in foreign.items() if o is not None and o[0] != kind}
    if foreign:
        raise DataError(
            f"{directory}: holds {', '.join(sorted(foreign))} of "
            f"{foreign[next(iter(foreign))][0]}, "
            f"which {kind} would overwrite (same file names); download {kind} into its own "
            f"folder, e.g. {directory / kind}"
        )
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
                raise DataError(f"{directory / name}: download from {url} failed: {exc}") from exc
            paths[name] = Path(local)
    return paths


def default_data_dir(name: str) -> Path:
    """Default directory for data set ``name``.

    ``$FOMOH_DATA_DIR/<name>`` if that environment variable is set, otherwise
    ``<user cache>/fomoh/<name>`` (via :func:`pooch.os_cache`).
    """
    env = os.environ.get("FOMOH_DATA_DIR")
    if env:
        return Path(env) / name
    import pooch  # here, not at the top: only the default folder needs it

    return Path(pooch.os_cache("fomoh")) / name
