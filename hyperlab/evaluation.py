"""Loss and accuracy of a model on a data set, with the plain real forward pass."""

from __future__ import annotations

from hyperdual import namespace, to_numpy

__all__ = ["evaluate"]


def evaluate(model, theta, X, y, batch_size: int = 2048, xp=None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` at ``theta`` on ``(X, y)``.

    Uses the plain real forward pass (no derivatives), ``batch_size`` examples at a time;
    the loss of each example is the stable ``logsumexp(z) - z_y`` of its logits ``z``.

    Parameters
    ----------
    model : a model with ``forward(theta, X) -> logits (N, C)``
    theta : array, shape (D,)
    X : numpy.ndarray, shape (N, ...)
        On the host; each batch is copied to ``xp`` explicitly.
    y : numpy.ndarray of int, shape (N,)
    batch_size : int
    xp : module, optional
        Array module of ``theta`` (NumPy or CuPy); by default ``hyperdual.namespace(theta)``.

    Returns
    -------
    loss, accuracy : float
        ``nan`` loss if any logit is not finite.
    """
    if xp is None:
        xp = namespace(theta)
    n = len(y)
    total_loss, correct = 0.0, 0
    for start in range(0, n, batch_size):
        xb = xp.asarray(X[start : start + batch_size])
        yb = xp.asarray(y[start : start + batch_size])
        logits = model.forward(theta, xb)
        shift = logits.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(logits - shift).sum(axis=1)) + shift[:, 0]
        picked = xp.take_along_axis(logits, yb[:, None], axis=1)[:, 0]
        total_loss += float(to_numpy((lse - picked).sum(dtype=xp.float64)))
        correct += int(to_numpy((logits.argmax(axis=1) == yb).sum()))
    return total_loss / n, correct / n
