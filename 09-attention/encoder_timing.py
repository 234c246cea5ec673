"""Chapter 09, recurrence vs self-attention on the wall clock: an LSTM encoder's T steps one after the
other against one multi-head self-attention layer's few matrix products. Re-exported by ``attention``.
"""

from __future__ import annotations

import numpy as np

from common._validation import check_positive_int
from common.attention import MultiHeadAttention
from common.markdown import markdown_table


# --------------------------------------------------------------------------------------------------------
# Recurrence vs self-attention: the wall clock across sequence lengths
# --------------------------------------------------------------------------------------------------------

TIMING_LENGTHS = (8, 16, 32, 64, 128, 256)


def encoder_timing(lengths=TIMING_LENGTHS, *, batch_size: int = 32, d: int = 64, heads: int = 4,
                   repeats: int = 7, min_seconds: float = 0.05, seed: int = 0) -> dict:
    """Seconds for one forward pass over a batch of (batch_size, T, d) inputs, for each T in ``lengths``:
    an LSTM encoder (``common.recurrent.LSTM``, T steps one after the other) and one multi-head
    self-attention layer (``common.attention.MultiHeadAttention``, all T positions in a few matrix
    products). The best of at least ``repeats`` runs (more, up to 200, until both together took
    ``min_seconds``), the two measured in turn so both see the same machine load.
    Returns {"lengths", "lstm", "attention", "ratio"} (ratio = LSTM time ÷ self-attention time)."""
    import time

    from common.recurrent import LSTM
    check_positive_int("repeats", repeats)
    rng = np.random.default_rng(seed)
    lstm, mha = LSTM(d, d, rng), MultiHeadAttention(d, heads, rng)
    out = {"lengths": [int(T) for T in lengths], "lstm": [], "attention": []}
    for T in out["lengths"]:
        check_positive_int("length", T)
        x = rng.standard_normal((batch_size, T, d)).astype(np.float32)
        best = {"lstm": np.inf, "attention": np.inf}
        runs, spent = 0, 0.0
        while runs < repeats or (spent < min_seconds and runs < 200):     # short lengths: more runs
            for name, fn in (("lstm", lambda: lstm.forward(x)), ("attention", lambda: mha.forward(x))):
                t0 = time.perf_counter()
                fn()
                dt = time.perf_counter() - t0
                best[name] = min(best[name], dt)
                spent += dt
            runs += 1
        out["lstm"].append(best["lstm"])
        out["attention"].append(best["attention"])
    out["ratio"] = [a / b for a, b in zip(out["lstm"], out["attention"])]
    return out


def timing_table(timing=None) -> str:
    """README: ``encoder_timing`` (a timing: the test compares its shape and ratios within a factor, not
    its digits)."""
    timing = encoder_timing() if timing is None else timing
    rows = [[T, f"{1e3 * a:.2f}", f"{1e3 * b:.2f}", f"{r:.1f}"]
            for T, a, b, r in zip(timing["lengths"], timing["lstm"], timing["attention"], timing["ratio"])]
    return markdown_table(["T", "LSTM encoder, ms", "self-attention, ms", "LSTM ÷ self-attention"], rows)
