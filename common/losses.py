"""Losses. Each returns ``(loss, dlogits)``: the mean loss over the batch and its gradient with respect
to the model's raw output, ready for ``model.backward``.

Fusing the final activation into the loss (softmax with cross-entropy, sigmoid with binary
cross-entropy) gives the famously simple gradient ``p - y`` and lets the loss use log-sum-exp, so logits
of ±1e4 produce finite numbers.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_array, check_float_array


def _check_labels(y, n: int, num_classes: int) -> np.ndarray:
    y = check_array("y", y, ndim=1)
    if len(y) != n:
        raise ValueError(f"y must have one label per row of logits ({n}), got {len(y)}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold labels in [0, {num_classes - 1}], got range [{y.min()}, {y.max()}]")
    return y


def _check_target(name: str, target, of: str, ref: np.ndarray) -> np.ndarray:
    """``target`` as a float array of ``ref``'s dtype and shape; for ``ref`` of shape (N, 1) a target (N,)
    is accepted (and reshaped). The messages name the arguments ``name`` and ``of``."""
    target = check_float_array(name, target, ref.dtype)
    if target.shape != ref.shape:
        if ref.ndim == 2 and ref.shape[1] == 1 and target.shape == ref.shape[:1]:
            target = target.reshape(-1, 1)
        else:
            raise ValueError(f"{name} must have the shape of {of} {ref.shape}, got {target.shape}")
    return target


def _check_logits(logits, ndim: int) -> np.ndarray:
    logits = check_float_array("logits", logits, ndim=ndim)
    if logits.size == 0:
        if logits.ndim >= 2 and logits.shape[-1] == 0 and 0 not in logits.shape[:-1]:
            raise ValueError(f"logits must have at least one class (a last axis of size >= 1), got shape {logits.shape}")
        raise ValueError(f"logits must have at least one sample, got shape {logits.shape}: the mean loss over no "
                         "samples is undefined (an empty batch is a bug upstream)")
    return logits


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z - logsumexp(z)``, computed with the max shifted out.

    A row holding ``+inf`` gets its limit rather than NaN: softmax puts all the mass on the infinite
    logits, shared equally (log-probability ``-log k`` for k of them, ``-inf`` elsewhere). A row that is
    all ``-inf`` has no defined softmax and stays NaN, as NaN logits do."""
    logits = check_float_array("logits", logits)
    m = logits.max(axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        return _log_softmax_nonfinite(logits, m, axis)
    shifted = logits - m
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _log_softmax_nonfinite(logits: np.ndarray, m: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = logits - np.where(np.isfinite(m), m, 0)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        inf = np.isposinf(logits)
        k = inf.sum(axis=axis, keepdims=True)
        limit = np.where(inf, -np.log(np.maximum(k, 1)), -np.inf)
    return np.where(np.isposinf(m), limit, out).astype(logits.dtype, copy=False)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels.

    Shapes: logits: (N, C); y: (N,) integers in [0, C); dlogits: (N, C).

    Notes
    -----
    ``L = -(1/N) Σₙ log softmax(zₙ)[yₙ]`` and ``∂L/∂z = (softmax(z) - onehot(y)) / N``.
    """
    logits = _check_logits(logits, 2)
    n, c = logits.shape
    y = _check_labels(y, n, c)
    logp = log_softmax(logits)
    rows = np.arange(n)
    loss = -logp[rows, y].mean()
    dlogits = np.exp(logp)
    dlogits[rows, y] -= 1
    dlogits /= n
    return float(loss), dlogits


def sequence_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over every position of a batch of sequences (a language model's loss).

    Shapes: logits: (N, T, V); y: (N, T) integers in [0, V); dlogits: (N, T, V).

    Notes
    -----
    ``softmax_cross_entropy`` over the N·T positions as rows: ``L = -(1/NT) Σ log softmax(z_nt)[y_nt]``,
    ``∂L/∂z = (softmax(z) - onehot(y)) / (NT)``, with the same log-sum-exp stabilisation.
    """
    logits = _check_logits(logits, 3)
    y = check_array("y", y, ndim=2)
    if y.shape != logits.shape[:2]:
        raise ValueError(f"y must have shape {logits.shape[:2]} (one label per position), got {y.shape}")
    N, T, V = logits.shape
    loss, d = softmax_cross_entropy(logits.reshape(N * T, V), y.reshape(-1))
    return loss, d.reshape(N, T, V)


def binary_cross_entropy_with_logits(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of sigmoid(logits) against 0/1 targets.

    Shapes: logits: (N,) or (N, 1) or (N, K); y: the same shape (or (N,) for (N, 1) logits).

    Notes
    -----
    ``L = mean(max(z, 0) - z·y + log(1 + e^{-|z|}))`` (the stable form of
    ``-y log σ(z) - (1-y) log(1-σ(z))``) and ``∂L/∂z = (σ(z) - y) / (number of elements)``.
    """
    logits = _check_logits(logits, None)
    y = _check_target("y", y, "logits", logits)
    if not ((y >= 0) & (y <= 1)).all():          # written so that NaN fails too
        found = "NaN" if np.isnan(y).any() else f"range [{np.min(y)}, {np.max(y)}]"
        raise ValueError(f"y must hold targets in [0, 1], got {found}")
    y = y.astype(logits.dtype, copy=False)
    if np.isfinite(logits).all():
        loss = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    else:
        # z = ±inf: the limits (1 - y)·z and -y·z, where 0·inf is 0 (a certain, correct prediction).
        with np.errstate(invalid="ignore"):
            loss = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
            wrong = np.where(logits > 0, 1 - y, y)
            loss = np.where(np.isinf(logits), np.where(wrong == 0, 0.0, np.inf), loss).astype(loss.dtype, copy=False)
    z = np.exp(-np.abs(logits))
    prob = np.where(logits >= 0, 1 / (1 + z), z / (1 + z))
    return float(loss.mean()), ((prob - y) / logits.size).astype(logits.dtype, copy=False)


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements.

    Shapes: pred and target: the same shape (target (N,) is accepted for pred (N, 1)).

    Notes
    -----
    ``L = mean((p - t)²)`` and ``∂L/∂p = 2(p - t) / (number of elements)``.
    """
    pred = check_float_array("pred", pred)
    if pred.size == 0:
        raise ValueError(f"pred must have at least one element, got shape {pred.shape}: the mean over no values "
                         "is undefined")
    target = _check_target("target", target, "pred", pred)
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 * diff / diff.size).astype(pred.dtype, copy=False)


LOSSES = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "sequence_cross_entropy": sequence_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "mse": mse,
}
