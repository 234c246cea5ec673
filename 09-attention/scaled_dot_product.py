"""Chapter 09, scaled dot-product attention measured: what the 1/√d scale buys (the entropy of the softmax
as the width d grows) and the deep dive's worked example (one query, three keys, d = 2) through
``common.attention.scaled_dot_product_attention`` and its backward. Re-exported by ``attention``.
"""

from __future__ import annotations

import numpy as np

from common._validation import check_generator, check_positive_int
from common.attention import masked_softmax, scaled_dot_product_attention, scaled_dot_product_attention_backward
from common.markdown import markdown_table


# --------------------------------------------------------------------------------------------------------
# Scaled dot-product: what √d buys
# --------------------------------------------------------------------------------------------------------

def softmax_entropy_vs_d(dims, rng: np.random.Generator, n_keys: int = 16, trials: int = 200):
    """Mean entropy (nats) of softmax(q·kⱼ) over ``n_keys`` keys for q, k with N(0, 1) entries, for each
    width d in ``dims``: (scaled by 1/√d, unscaled). The maximum is log(n_keys) (uniform weights).

    Unscaled, q·k has variance d, so for large d one key takes almost all the weight (entropy → 0) and
    the softmax's gradient vanishes; scaled, the variance stays 1 whatever d is.
    """
    check_generator("rng", rng)
    check_positive_int("n_keys", n_keys)
    scaled, unscaled = [], []
    for d in dims:
        q = rng.standard_normal((trials, 1, int(d)))
        k = rng.standard_normal((trials, n_keys, int(d)))
        s = (q @ k.transpose(0, 2, 1))[:, 0]                                  # (trials, n_keys)
        for store, scores in ((scaled, s / np.sqrt(d)), (unscaled, s)):
            w = masked_softmax(scores)
            store.append(float(np.mean(-(w * np.log(np.clip(w, 1e-300, None))).sum(axis=1))))
    return np.array(scaled), np.array(unscaled)


def entropy_table() -> str:
    """Deep dive: ``softmax_entropy_vs_d`` for d = 4, 16, 64, 256 (seed 0)."""
    dims = (4, 16, 64, 256)
    sc, un = softmax_entropy_vs_d(dims, np.random.default_rng(0))
    return markdown_table(["d", "entropy, scaled", "entropy, unscaled"],
                     [[d, f"{a:.3f}", f"{b:.3f}"] for d, a, b in zip(dims, sc, un)])


#: The deep dive's worked example: one query, three keys and values, d = 2.
SDPA_Q = np.array([[1.0, 0.5]])
SDPA_K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
SDPA_V = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


def sdpa_example() -> dict:
    """The worked example through ``scaled_dot_product_attention`` and its backward with δO = [1, 0]:
    scores s, weights w, output, and ∂L/∂s, ∂L/∂q, ∂L/∂k, ∂L/∂v."""
    out, w, cache = scaled_dot_product_attention(SDPA_Q, SDPA_K, SDPA_V)
    dout = np.array([[1.0, 0.0]])
    dq, dk, dv = scaled_dot_product_attention_backward(dout, cache)
    dw = dout @ SDPA_V.T
    return {"s": (SDPA_Q @ SDPA_K.T)[0], "w": w[0], "out": out[0], "dw": dw[0],
            "ds": (w * (dw - (w * dw).sum()))[0], "dq": dq[0], "dk": dk, "dv": dv}


def _vec(a, fmt=".4f") -> str:
    return "[" + ", ".join(format(x, fmt) for x in a) + "]"


def sdpa_inputs_table() -> str:
    rows = [["q", _vec(SDPA_Q[0], ".1f")]]
    rows += [[f"k{'₁₂₃'[j]}, v{'₁₂₃'[j]}", f"{_vec(SDPA_K[j], '.0f')}, {_vec(SDPA_V[j], '.0f')}"] for j in range(3)]
    return markdown_table(["", "vector"], rows)


def sdpa_forward_table() -> str:
    e = sdpa_example()
    return markdown_table(["key", "q·k", "q·k/√2", "weight"],
                     [[j + 1, f"{e['s'][j]:.4f}", f"{e['s'][j] / np.sqrt(2):.4f}", f"{e['w'][j]:.4f}"] for j in range(3)])


def sdpa_backward_table() -> str:
    e = sdpa_example()
    return markdown_table(["key", "∂L/∂s", "∂L/∂k", "∂L/∂v"],
                     [[j + 1, f"{e['ds'][j]:.4f}", _vec(e["dk"][j]), _vec(e["dv"][j])] for j in range(3)])
