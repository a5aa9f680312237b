"""Minibatches: a seeded generator per epoch and the batches of one epoch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["epoch_rng", "num_batches", "iterate_minibatches"]


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
