"""Chapter 04: batch vs stochastic vs mini-batch: how noisy a mini-batch gradient is, and what it costs.

- ``per_sample_gradient_stats``: the full-batch gradient ḡ and σ² = (1/N) Σᵢ ‖gᵢ - ḡ‖², the spread of
  single-example gradients, without forming the per-example gradients;
- ``expected_batch_variance``: E‖g_B - ḡ‖² = (σ²/B)·(N-B)/(N-1) for a batch drawn without replacement,
  and ``measured_batch_variance``, its Monte-Carlo estimate from real mini-batch gradients;
- ``time_per_update`` and ``epoch_seconds``: the cost side, measured by training with ``fit``.

Shapes: X: (N, D) inputs; y: (N,) labels; a flattened gradient: (P,).

>>> expected_batch_variance(1.0, n=10, batch_size=10)         # the full batch is the exact gradient
0.0
"""

from __future__ import annotations

import copy
import time

import numpy as np

from common._validation import check_array, check_generator, check_positive_int
from common.layers import Dense, Sequential
from common.losses import softmax_cross_entropy
from common.training import Callback, fit

from optimizer_race import make_optimizer


def _flat_grads(model: Sequential) -> np.ndarray:
    return np.concatenate([g.ravel() for _, g in model.parameters()]).astype(np.float64)


def batch_gradient(model: Sequential, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the mean loss over (X, y) with respect to every parameter, flattened: (P,).

    A measurement at fixed weights, not training: one forward and one backward pass and no optimizer
    step, so it calls the model directly instead of ``fit`` (which would update the weights)."""
    model.zero_grad()
    out = model.forward(X, training=True)
    _, dout = softmax_cross_entropy(out, y)
    model.backward(dout, input_grad=False)
    g = _flat_grads(model)
    model.zero_grad()
    return g


def per_sample_gradient_stats(model: Sequential, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The full-batch gradient and σ² = (1/N) Σᵢ ‖gᵢ - ḡ‖², the spread of single-example gradients.

    Shapes: X: (N, D); y: (N,). Returns (ḡ: (P,), σ²). Only Dense and elementwise layers are supported
    (the chapter's MLP). Like ``batch_gradient``, a measurement at fixed weights (no step is taken).

    Notes
    -----
    For a Dense layer the per-example gradient is ``gᵢ = xᵢ δᵢᵀ`` (and ``δᵢ`` for the bias), so
    ``‖gᵢ‖² = ‖xᵢ‖²‖δᵢ‖²`` and ``gᵢ·ḡ = xᵢᵀ Ḡ δᵢ``: no (N, D, H) tensor is ever formed, and
    ``‖gᵢ - ḡ‖² = ‖gᵢ‖² - 2 gᵢ·ḡ + ‖ḡ‖²``.
    """
    X = check_array("X", X, ndim=2)
    n = len(X)
    inputs, h = [], X
    for layer in model.layers:
        inputs.append(h)
        h = layer.forward(h, training=False)
    _, dout = softmax_cross_entropy(h, y)
    d = dout * n  # (N, C) the per-example loss gradients, not divided by N
    sq_norm = np.zeros(n)
    dots = np.zeros(n)
    mean_parts, dense_terms = [], []
    for layer, inp in zip(reversed(model.layers), reversed(inputs)):
        if isinstance(layer, Dense):
            dense_terms.append((layer, inp.astype(np.float64), d.astype(np.float64)))
        elif layer.params:
            raise ValueError(f"model must contain only Dense and parameter-free layers, got {layer!r}")
        if layer is not model.layers[0]:
            d = layer.backward(d)
    model.zero_grad()
    for layer, x, dd in reversed(dense_terms):             # first layer first, like model.parameters()
        G = x.T @ dd / n                                   # (D, H) mean gradient of W
        gb = dd.mean(axis=0)                               # (H,)
        sq_norm += (x * x).sum(1) * (dd * dd).sum(1)
        dots += ((x @ G) * dd).sum(1)                      # xᵢᵀ G δᵢ
        mean_parts.append(G.ravel())
        if "b" in layer.params:
            sq_norm += (dd * dd).sum(1)
            dots += dd @ gb
            mean_parts.append(gb)
    g_mean = np.concatenate(mean_parts)
    sigma2 = float(np.mean(sq_norm - 2 * dots) + g_mean @ g_mean)
    return g_mean, sigma2


def expected_batch_variance(sigma2: float, n: int, batch_size: int) -> float:
    """E‖g_B - ḡ‖² for a batch of B examples drawn without replacement from N: (σ²/B)·(N-B)/(N-1)."""
    check_positive_int("n", n)
    check_positive_int("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n ({n}), got {batch_size}")
    if n == 1:
        return 0.0
    return sigma2 / batch_size * (n - batch_size) / (n - 1)


def measured_batch_variance(model: Sequential, X, y, batch_size: int, draws: int,
                            rng: np.random.Generator, g_full: np.ndarray | None = None) -> float:
    """Monte-Carlo mean of ‖g_B - ḡ‖² over ``draws`` batches drawn without replacement."""
    check_positive_int("batch_size", batch_size)
    check_positive_int("draws", draws)
    check_generator("rng", rng)
    if g_full is None:
        g_full = batch_gradient(model, X, y)
    total = 0.0
    for _ in range(draws):
        idx = rng.choice(len(X), size=min(batch_size, len(X)), replace=False)
        diff = batch_gradient(model, X[idx], y[idx]) - g_full
        total += float(diff @ diff)
    return total / draws


class _StepClock(Callback):
    """Seconds from the moment a batch is in hand (``start``, set by the batch function) to the end of
    its step: forward, loss, backward and the optimizer's update."""

    def __init__(self, clock) -> None:
        self.clock, self.start, self.times = clock, 0.0, []

    def on_batch_end(self, state):
        self.times.append(self.clock() - self.start)


def time_per_update(model: Sequential, X, y, batch_size: int | None, optimizer: str = "SGD",
                    repeats: int = 20, rng: np.random.Generator | None = None, clock=time.perf_counter) -> float:
    """Seconds for one training step of ``fit`` (forward, backward, optimizer step) at this batch size:
    the best of ``repeats`` timed steps (like ``timeit``), since other work on the machine only ever adds
    time. Each step trains on a batch of ``batch_size`` rows drawn without replacement (all rows for
    ``None``); drawing and gathering the batch is not timed.

    ``clock=time.process_time`` counts the CPU time of this process instead of the wall clock: with one
    BLAS thread, what the step costs whatever else runs on the machine (the README's measurements).
    The model is trained on a deep copy, so ``model`` is left unchanged."""
    check_positive_int("repeats", repeats)
    rng = np.random.default_rng(0) if rng is None else rng
    m = copy.deepcopy(model)
    bs = len(X) if batch_size is None else min(batch_size, len(X))
    timer = _StepClock(clock)

    def batch(r):
        idx = r.choice(len(X), size=bs, replace=False)
        xb, yb = X[idx], y[idx]
        timer.start = clock()
        return xb, yb

    fit(m, batches=batch, steps_per_epoch=repeats, epochs=1, loss_fn=softmax_cross_entropy,
        optimizer=make_optimizer(optimizer, m), rng=rng, metric=None, callbacks=[timer])
    return float(np.min(timer.times))


def epoch_seconds(model: Sequential, X, y, batch_size: int | None, optimizer: str = "SGD",
                  repeats: int = 3, seed: int = 0, clock=time.perf_counter) -> float:
    """Seconds for one epoch of ``fit`` over all of (X, y) at this batch size (every update, plus the
    shuffle and the batch gathering ``fit`` does), the best of ``repeats`` epochs, each from a fresh copy
    of ``model`` (left unchanged). ``clock`` as for ``time_per_update``."""
    check_positive_int("repeats", repeats)
    best = np.inf
    for r in range(repeats):
        m = copy.deepcopy(model)
        opt = make_optimizer(optimizer, m)
        start = clock()
        fit(m, X, y, loss_fn=softmax_cross_entropy, optimizer=opt, epochs=1, batch_size=batch_size,
            rng=np.random.default_rng(seed + r), metric=None)
        best = min(best, clock() - start)
    return float(best)


__all__ = ["batch_gradient", "per_sample_gradient_stats", "expected_batch_variance", "measured_batch_variance",
           "time_per_update", "epoch_seconds"]
