"""Solutions to the exercises of ``10-transformer/gpt.ipynb``."""

import numpy as np


def pre_ln_block(x, ln1, attn, ln2, ffn):
    """GPT-2's pre-LN block: each sublayer reads the normalised stream and adds its output to it."""
    x1 = x + attn(ln1(x))
    return x1 + ffn(ln2(x1))


def sinusoidal_encoding(T, d_model):
    """(T, d_model): P[t, 2i] = sin(t / 10000^(2i/D)), P[t, 2i+1] = cos(t / 10000^(2i/D))."""
    t = np.arange(T)[:, None]                                   # (T, 1)
    freq = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)      # (⌈D/2⌉,): one per column pair
    angles = t * freq                                            # (T, ⌈D/2⌉)
    P = np.empty((T, d_model))
    P[:, 0::2] = np.sin(angles)
    P[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return P


def count_parameters(V, block_size, n_layer, d_model, tied):
    """Parameters of common.transformer.GPT with learned positions and d_ff = 4·d_model."""
    d = d_model
    embeddings = V * d + block_size * d                          # tokens, positions
    attention = 4 * (d * d + d)                                  # W_Q, W_K, W_V, W_O and their biases
    ffn = (d * 4 * d + 4 * d) + (4 * d * d + d)                  # D → 4D → D, with biases
    layernorms = 2 * (2 * d)                                     # ln1, ln2: γ and β
    head = 0 if tied else V * d                                  # no bias; tied: the embedding itself
    return embeddings + n_layer * (attention + ffn + layernorms) + 2 * d + head     # + the final LayerNorm


def sampling_distribution(logits, temperature, top_k):
    """(N, V): softmax(z / τ) over each row's top_k largest logits, 0 elsewhere; τ = 0 is greedy."""
    z = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        p = np.zeros_like(z)
        p[np.arange(len(z)), z.argmax(axis=1)] = 1.0
        return p
    z = z / temperature
    if top_k is not None:
        kth = np.sort(z, axis=1)[:, -top_k][:, None]             # the k-th largest of each row
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)                         # exp cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
