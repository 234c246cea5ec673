"""Chapter 04: exponentially weighted moving averages, the averages inside Momentum, RMSProp and Adam.

- ``ewma(x, β, bias_correction=False)``: vₜ = βvₜ₋₁ + (1-β)xₜ from v₀ = 0, optionally divided by 1 - βᵗ;
- ``ewma_weights``: the weights (1-β)β^{t-k} the average gives to each past value (they sum to 1 - βᵗ);
- ``effective_window``: 1/(1-β), roughly how many recent values the average spans;
- ``noisy_series``: the playground's test signals (sine, constant, step) with Gaussian noise.

Shapes: a series x: (T,) or (T, ...).

>>> ewma(np.full(3, 1.0), 0.9).round(3).tolist()              # biased toward the 0 it starts from
[0.1, 0.19, 0.271]
>>> ewma(np.full(3, 1.0), 0.9, bias_correction=True).round(12).tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from common._validation import check_array, check_choice, check_generator, check_in_range, check_positive, \
    check_positive_int


def ewma(x: np.ndarray, beta: float, bias_correction: bool = False) -> np.ndarray:
    """Exponentially weighted moving average of a series.

    Shapes: x: (T,) or (T, ...); out: the same.

    Notes
    -----
    ``v₀ = 0``, ``v_t = β v_{t-1} + (1-β) x_t``, so ``v_t = (1-β) Σ_{k≤t} β^{t-k} x_k``: the weights
    sum to ``1 - βᵗ``, not 1, which biases early values toward 0. Bias correction divides by that sum:
    ``v̂_t = v_t / (1 - βᵗ)``. (A loop over time steps, like an RNN: each value needs the previous one.)
    """
    x = check_array("x", x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty series, got shape {x.shape}")
    check_in_range("beta", beta, 0.0, 1.0)
    out = np.empty(x.shape, dtype=np.float64)
    v = np.zeros(x.shape[1:])
    for t in range(len(x)):
        v = beta * v + (1 - beta) * x[t]
        out[t] = v / (1 - beta ** (t + 1)) if bias_correction else v
    return out


def ewma_weights(t: int, beta: float) -> np.ndarray:
    """The weights (1-β)β^{t-k} that v_t gives to x_1 … x_t: (t,)."""
    check_positive_int("t", t)
    check_in_range("beta", beta, 0.0, 1.0)
    return (1 - beta) * beta ** np.arange(t - 1, -1, -1, dtype=np.float64)


def effective_window(beta: float) -> float:
    """1/(1-β): roughly how many recent values an EWMA averages over."""
    check_in_range("beta", beta, 0.0, 1.0)
    return 1.0 / (1.0 - beta)


def steps_to_reach(fraction: float, beta: float) -> int:
    """The first t at which an uncorrected EWMA of a constant c has reached ``fraction`` of c:
    1 - βᵗ ≥ fraction, t = ⌈log(1 - fraction)/log β⌉ (β = 0.99: 100 steps for 63%, 299 for 95%)."""
    check_in_range("fraction", fraction, 0.0, 1.0, include_low=False)
    check_in_range("beta", beta, 0.0, 1.0, include_low=False)
    t = int(np.ceil(np.log1p(-fraction) / np.log(beta)))
    return t if 1 - beta ** t >= fraction else t + 1     # guard the round-off at an exact boundary


SERIES_KINDS = ("sine", "constant", "step")


def noisy_series(n: int, rng: np.random.Generator, kind: str = "sine", noise: float = 0.5,
                 level: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A clean signal and a noisy observation of it, both (n,).

    "sine": level + sin(2πt/100); "constant": level; "step": level, jumping by 2 at t = n/2.
    """
    check_positive_int("n", n)
    check_generator("rng", rng)
    check_choice("kind", kind, SERIES_KINDS)
    check_positive("noise", noise, allow_zero=True)
    t = np.arange(n, dtype=np.float64)
    if kind == "sine":
        clean = level + np.sin(2 * np.pi * t / 100)
    elif kind == "constant":
        clean = np.full(n, float(level))
    else:
        clean = level + 2.0 * (t >= n // 2)
    return clean, clean + noise * rng.standard_normal(n)


__all__ = ["ewma", "ewma_weights", "effective_window", "steps_to_reach", "SERIES_KINDS", "noisy_series"]
