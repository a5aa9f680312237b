"""scikit-learn's embedded 8×8 handwritten digits: a data set that needs no files."""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits_dataset"]


def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's embedded handwritten digits (no network needed).

    Returns
    -------
    images : numpy.ndarray of uint8, shape (1797, 8, 8)
        Grey levels 0-16.
    labels : numpy.ndarray of int64, shape (1797,)
        Class indices 0-9.
    """
    from sklearn.datasets import load_digits  # here: scikit-learn is slow to import

    bunch = load_digits()
    images = np.asarray(bunch.images)
    return images.astype(np.uint8), np.asarray(bunch.target, dtype=np.int64)
