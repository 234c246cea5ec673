"""Solutions to the exercises of ``09-attention/attention.ipynb``."""

import numpy as np


def masked_softmax(scores, mask):
    """Softmax over the last axis with masked keys at weight 0; a fully masked row is all zeros."""
    z = np.where(mask, scores, -np.inf)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)            # a row with no allowed key
    e = np.exp(z - m)                               # exp(-inf) = 0
    s = e.sum(axis=-1, keepdims=True)
    return e / np.where(s == 0, 1.0, s)


def attention(q, k, v, mask):
    """softmax(q kᵀ / √d) v, masked: returns (out, weights)."""
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)        # (…, Tq, Tk)
    w = masked_softmax(scores, True if mask is None else mask)
    return w @ v, w


def split_heads(z, num_heads):
    """(N, T, d_model) -> (N, h, T, d_k): head i gets the i-th block of d_k columns."""
    n, t, d = z.shape
    return z.reshape(n, t, num_heads, d // num_heads).transpose(0, 2, 1, 3)


def causal_mask(T):
    """(T, T) bool: query i may attend to keys 0…i."""
    return np.tril(np.ones((T, T), dtype=bool))
