"""Chapter 09, self-attention heads that specialise: one causal multi-head attention layer reads random
tokens and must output, at every position, both the previous token and the first one; with two heads one
learns to look one step back and the other at position 0. Re-exported by ``attention``.
"""

from __future__ import annotations

import numpy as np

from common._validation import check_generator, check_positive, check_positive_int
from common.attention import MultiHeadAttention, causal_mask
from common.layers import Dense, Layer
from common.losses import sequence_cross_entropy
from common.optimizers import Adam
from common.recurrent import Embedding
from common.training import History, fit


# --------------------------------------------------------------------------------------------------------
# Self-attention heads that specialise
# --------------------------------------------------------------------------------------------------------

HEAD_VOCAB, HEAD_T = 8, 8


def head_task(n: int, rng: np.random.Generator, T: int = HEAD_T, vocab: int = HEAD_VOCAB):
    """Random token sequences X: (n, T) and, for positions 1…T-1, the two targets: the previous token
    ``y_prev = X[:, :-1]`` and the first token ``y_first = X[:, 0]`` repeated, each (n, T-1)."""
    check_positive_int("n", n)
    check_generator("rng", rng)
    X = rng.integers(0, vocab, size=(n, T))
    return X, X[:, :-1].copy(), np.repeat(X[:, :1], T - 1, axis=1)


class HeadsModel(Layer):
    """Token + learned position embeddings → one causal ``MultiHeadAttention`` → two linear read-outs
    (previous token, first token) at every position from 1 on. No residual path: everything a read-out
    knows comes through attention.

    Shapes: X: (N, T) ids; logits: (N, 2, T-1, V), read-out 0 the previous token and 1 the first token;
    ``attn.weights``: (N, h, T, T). Children: ``tok``, ``pos``, ``attn``, ``read_prev``, ``read_first``.
    """

    def __init__(self, num_heads: int = 2, *, d_model: int = 32, seed: int = 0, T: int = HEAD_T,
                 vocab: int = HEAD_VOCAB) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.T, self.vocab, self.num_heads = T, vocab, num_heads
        self.tok = Embedding(vocab, d_model, rng)
        self.pos = Embedding(T, d_model, rng)
        self.attn = MultiHeadAttention(d_model, num_heads, rng)
        self.read_prev = Dense(d_model, vocab, rng, init="xavier_uniform")
        self.read_first = Dense(d_model, vocab, rng, init="xavier_uniform")
        self._a = None

    def embed(self, X) -> np.ndarray:
        """Token + position embedding (N, T, d): the attention layer's input."""
        return self.tok.forward(X) + self.pos.forward(np.arange(X.shape[1]))[None]

    def forward(self, X, training=False, *, causal: bool = True):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.T:
            raise ValueError(f"X must have shape (N, {self.T}), got {X.shape}")
        a = self.attn.forward(self.embed(X), mask=causal_mask(self.T) if causal else None)
        self._a = a
        return np.stack([self.read_prev.forward(a[:, 1:]), self.read_first.forward(a[:, 1:])], axis=1)

    def backward(self, dlogits):
        """dlogits: (N, 2, T-1, V). The input is token ids: returns None."""
        self._require_cache(self._a)
        da = np.zeros_like(self._a)
        da[:, 1:] = self.read_prev.backward(dlogits[:, 0]) + self.read_first.backward(dlogits[:, 1])
        de = self.attn.backward(da)
        self.tok.backward(de)
        self.pos.backward(de.sum(axis=0))


def heads_loss(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The two read-outs' cross-entropies, summed: logits (N, 2, T-1, V), y (N, 2, T-1)."""
    l1, d1 = sequence_cross_entropy(logits[:, 0], y[:, 0])
    l2, d2 = sequence_cross_entropy(logits[:, 1], y[:, 1])
    return l1 + l2, np.stack([d1, d2], axis=1)


def heads_accuracy(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(accuracy of the previous-token read-out, accuracy of the first-token read-out)."""
    pred = logits.argmax(-1)
    return float(np.mean(pred[:, 0] == y[:, 0])), float(np.mean(pred[:, 1] == y[:, 1]))


def head_batches(model: HeadsModel, batch_size: int):
    """Batches for ``fit``: random sequences and both targets stacked, (N, T) and (N, 2, T-1)."""
    check_positive_int("batch_size", batch_size)

    def batches(rng):
        X, yp, yf = head_task(batch_size, rng, model.T, model.vocab)
        return X, np.stack([yp, yf], axis=1)

    return batches


def train_heads(model: HeadsModel, *, steps: int, rng: np.random.Generator, batch_size: int = 64,
                lr: float = 1e-2, callbacks=()) -> History:
    """Adam on fresh random sequences every step, through ``common.training.fit``; returns its
    ``History`` (``batch_loss``: the two read-outs' summed loss)."""
    check_positive_int("steps", steps)
    check_generator("rng", rng)
    check_positive("lr", lr)
    return fit(model, batches=head_batches(model, batch_size), steps_per_epoch=steps, epochs=1, loss_fn=heads_loss,
               metric=None, optimizer=Adam(model, lr=lr), rng=rng, callbacks=callbacks)


def evaluate_heads(model: HeadsModel, rng: np.random.Generator, n: int = 1024) -> tuple[float, float]:
    """Accuracy of the two read-outs (previous token, first token) on ``n`` fresh sequences."""
    X, yp, yf = head_task(n, rng, model.T, model.vocab)
    return heads_accuracy(model.forward(X), np.stack([yp, yf], axis=1))


def head_roles(model: HeadsModel, rng: np.random.Generator, n: int = 256) -> np.ndarray:
    """For each head, the mean attention weight on the previous position and on position 0, over query
    positions 2…T-1 (where the two differ): (h, 2)."""
    X, _, _ = head_task(n, rng, model.T, model.vocab)
    model.forward(X)
    w = model.attn.weights.mean(axis=0)                                      # (h, T, T)
    t = np.arange(2, model.T)
    return np.stack([w[:, t, t - 1].mean(axis=1), w[:, t, 0].mean(axis=1)], axis=1)
