"""The decoder-only Transformer: positional encodings, the position-wise feed-forward network, the pre-LN
block and a small GPT. Introduced in chapter 10, where it is trained on Tiny Shakespeare one character at
a time; every piece is one of the earlier chapters' layers (chapter 09's ``MultiHeadAttention``, chapter
07's ``LayerNorm`` and residual sum, chapter 02's MLP with a GELU, chapter 08's ``Embedding``).

Shapes: N batch, T positions (at most the block size, the context length), D = d_model, V the vocabulary,
h heads, L blocks. One block, pre-LN (GPT-2's order; Xiong et al. 2020 explain why it trains without a
warmup-sensitive start)::

    x ← x + Dropout(MHA(LN₁(x), causal mask))         (N, T, D)
    x ← x + Dropout(FFN(LN₂(x)))                      FFN: D → 4D → D, GELU between

The GPT: ``logits = LN_f(blocks(Emb(ids) + P)) W_head`` with ``W_head = Embᵀ`` when the weights are tied.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> gpt = GPT(vocab_size=65, block_size=16, n_layer=2, n_head=2, d_model=32, rng=rng)
>>> gpt.forward(np.zeros((3, 16), dtype=np.int64)).shape
(3, 16, 65)
>>> gpt.num_params() == gpt.parameter_counts()["total"]
True
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from ._validation import (check_array, check_choice, check_float_array, check_float_dtype, check_generator,
                          check_grad, check_in_range, check_positive, check_positive_int)
from .activations import GELU
from .attention import MultiHeadAttention, causal_mask
from .layers import Dense, Dropout, Layer, Sequential
from .norm import LayerNorm
from .recurrent import Embedding

__all__ = ["sinusoidal_encoding", "PositionalEncoding", "LearnedPositionalEmbedding", "CausalSelfAttention",
           "FeedForward", "TransformerBlock", "GPT", "next_token_distribution", "sample", "POSITIONS"]

#: The ways ``GPT`` can tell positions apart: a learned table, Vaswani et al.'s fixed sinusoids, or none.
POSITIONS = ("learned", "sinusoidal", None)


# --------------------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------------------

def sinusoidal_encoding(T: int, d_model: int, base: float = 10000.0, dtype=np.float64) -> np.ndarray:
    """The fixed encoding of Vaswani et al. (2017), (T, D)::

        P[t, 2i] = sin(t / base^(2i/D))      P[t, 2i+1] = cos(t / base^(2i/D))

    Each pair of columns is a rotation at its own frequency, from one turn every 2π positions (i = 0) to
    one every 2π·base positions, so ``P[t+k]`` is a fixed linear map of ``P[t]`` for every offset k.
    An odd D gets one sine column more than cosines.
    """
    check_positive_int("T", T)
    check_positive_int("d_model", d_model)
    check_positive("base", base)
    t = np.arange(T, dtype=np.float64)[:, None]                           # (T, 1)
    freq = base ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)  # (⌈D/2⌉,)
    angles = t * freq                                                     # (T, ⌈D/2⌉)
    P = np.empty((T, d_model))
    P[:, 0::2] = np.sin(angles)
    P[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return P.astype(dtype)


class PositionalEncoding(Layer):
    """Adds the fixed sinusoidal encoding: ``out = x + P[:T]`` (no parameters).

    Shapes: x: (N, T, D) with T ≤ block_size; out: (N, T, D). Backward: ``dx = dout``.
    Introduced in chapter 10.
    """

    def __init__(self, block_size: int, d_model: int, *, base: float = 10000.0) -> None:
        super().__init__()
        self.block_size, self.d_model, self.base = block_size, d_model, float(base)
        self.encoding = sinusoidal_encoding(block_size, d_model, base)      # (block_size, D), float64

    def forward(self, x, training=False):
        x = _check_positions_input(x, self.block_size, self.d_model, self)
        return x + self.encoding[: x.shape[1]].astype(x.dtype, copy=False)

    def backward(self, dout):
        return dout

    def __repr__(self):
        return f"PositionalEncoding({self.block_size}, {self.d_model})"


class LearnedPositionalEmbedding(Layer):
    """A learned vector per position, added to the input: ``out = x + W[:T]`` (GPT-2's choice).

    Shapes: x: (N, T, D) with T ≤ block_size; W: (block_size, D); out: (N, T, D).
    Backward: ``∂L/∂W[t] = Σₙ dout[n, t]`` for t < T, ``dx = dout``. Introduced in chapter 10.
    """

    def __init__(self, block_size: int, d_model: int, rng: np.random.Generator, *, std: float = 0.02,
                 dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("block_size", block_size)
        check_positive_int("d_model", d_model)
        check_generator("rng", rng)
        check_positive("std", std)
        self.block_size, self.d_model = block_size, d_model
        self.add_param("W", (rng.standard_normal((block_size, d_model)) * std).astype(dtype))
        self._T = None

    def forward(self, x, training=False):
        x = _check_positions_input(x, self.block_size, self.d_model, self)
        self._T = x.shape[1]
        return x + self.params["W"][: self._T]

    def backward(self, dout):
        self._require_cache(self._T)
        self.grads["W"][: self._T] += dout.sum(axis=0)
        return dout

    def __repr__(self):
        return f"LearnedPositionalEmbedding({self.block_size}, {self.d_model})"


def _check_positions_input(x, block_size, d_model, layer):
    x = check_float_array("x", x, next(iter(layer.params.values())).dtype if layer.params else None)
    if x.ndim != 3 or x.shape[2] != d_model or not 1 <= x.shape[1] <= block_size:
        raise ValueError(f"x must have shape (N, T, {d_model}) with 1 ≤ T ≤ {block_size} for {layer!r}, "
                         f"got {x.shape}")
    return x


# --------------------------------------------------------------------------------------------------------
# The block
# --------------------------------------------------------------------------------------------------------

class SelfAttentionCache(NamedTuple):
    x: np.ndarray                  # (N, T, D) the input
    w_qkv: np.ndarray              # (D, 3D) [c·W_Q | W_K | W_V] as used in the forward pass
    qkv: np.ndarray                # (N, T, 3, h, d_k) the projections, the queries scaled by c
    wT: np.ndarray                 # (N, h, Tk, Tq) the attention weights, transposed
    merged: np.ndarray             # (N, T, D) the heads side by side


@functools.lru_cache(maxsize=16)
def _causal_bias_T(T: int, dtype) -> np.ndarray:
    """(Tk, Tq): 0 where key j ≤ query i, -inf after it; read-only, shared."""
    bias = np.where(causal_mask(T).T, 0.0, -np.inf).astype(dtype)
    bias.flags.writeable = False
    return bias


class CausalSelfAttention(MultiHeadAttention):
    """Multi-head self-attention with the causal mask, computed the fast way (a decoder's attention).

    The same layer as ``MultiHeadAttention(d_model, num_heads)`` called as ``forward(x,
    mask=causal_mask(T))`` (same parameters ``W_Q``…``b_O``, same ``extras["weights"]`` (N, h, Tq, Tk) and
    ``extras["heads"]``), which is the reference it is tested against, forward and backward. What is
    faster here:

    - the three projections are one product with ``[c·W_Q | W_K | W_V]`` (D, 3D), forward and backward,
      the 1/√d_k scale c folded into the query weights instead of a pass over the queries;
    - the scores are kept transposed, ``Sᵀ = K Qᵀ`` (N, h, Tk, Tq), so the softmax's max and sum run along
      axis -2, which NumPy reduces several times faster than a short last axis; the causal mask is an
      added bias (0 or -inf) instead of a masked copy, and ``extras["weights"]`` is a transposed view;
    - the scores, softmax and weighted sum run a few samples at a time (about 64k scores), so the
      softmax's passes stay in the CPU cache; its backward's sums ``Σⱼ wⱼ ∂L/∂wⱼ`` are one ``einsum``.

    Shapes: x: (N, T, d_model); out: (N, T, d_model). Introduced in chapter 10.

    Notes
    -----
    Per head, with Q already scaled by c = 1/√d_k: ``Sᵀ = K Qᵀ + B`` (B the mask bias), ``Wᵀ = softmax
    over keys``, ``O = W V``. Backward: ``∂L/∂V = Wᵀ dO``, ``(∂L/∂W)ᵀ = V dOᵀ``, ``∂L/∂Sᵀ = Wᵀ ⊙ ((∂L/∂W)ᵀ -
    Σ_keys Wᵀ ⊙ (∂L/∂W)ᵀ)``, ``∂L/∂Q = (∂L/∂Sᵀ)ᵀ K``, ``∂L/∂K = (∂L/∂Sᵀ) Q``, then ``c`` for Q and the fused
    projection's ``∂L/∂W_qkv = Xᵀ [dQ | dK | dV]``, ``∂L/∂X = [dQ | dK | dV] W_qkvᵀ``.
    """

    _BLOCK = 1 << 16                     # score values per block of samples (256 KB of float32)

    def _fused(self):
        """[c·W_Q | W_K | W_V] (D, 3D) and [c·b_Q | b_K | b_V], c = 1/√d_k: the scale folded into the
        query projection instead of a pass over the queries."""
        P, c = self.params, 1.0 / math.sqrt(self.d_k)
        w = np.concatenate([P["W_Q"] * P["W_Q"].dtype.type(c), P["W_K"], P["W_V"]], axis=1)
        b = np.concatenate([P["b_Q"] * P["b_Q"].dtype.type(c), P["b_K"], P["b_V"]]) if self.bias else None
        return w, b

    def _groups(self, N, T):
        step = max(1, self._BLOCK // (self.num_heads * T * T))
        return [slice(n, min(n + step, N)) for n in range(0, N, step)]

    def forward(self, x, training=False):
        x = check_float_array("x", x, self.params["W_Q"].dtype)
        if x.ndim != 3 or x.shape[2] != self.d_model or x.shape[1] == 0:
            raise ValueError(f"x must have shape (N, T, {self.d_model}) with T >= 1, got {x.shape}")
        N, T, D = x.shape
        h, dk = self.num_heads, self.d_k
        w_qkv, b_qkv = self._fused()
        qkv = x.reshape(N * T, D) @ w_qkv                                         # (N·T, 3D)
        if b_qkv is not None:
            qkv += b_qkv
        qkv = qkv.reshape(N, T, 3, h, dk)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))          # (N, h, T, d_k) views
        wT = np.empty((N, h, T, T), dtype=qkv.dtype)                              # (N, h, Tk, Tq)
        heads = np.empty((N, h, T, dk), dtype=qkv.dtype)
        bias = _causal_bias_T(T, wT.dtype)
        for g in self._groups(N, T):           # a few samples at a time, so the softmax runs in cache
            w = np.matmul(k[g], q[g].swapaxes(-1, -2), out=wT[g])                # Sᵀ = K Qᵀ
            w += bias
            w -= w.max(axis=-2, keepdims=True)
            np.exp(w, out=w)
            w *= 1 / np.einsum("...ji->...i", w)[..., None, :]
            np.matmul(w.swapaxes(-1, -2), v[g], out=heads[g])                    # O = W V
        merged = heads.transpose(0, 2, 1, 3).reshape(N, T, D)
        self.extras = {"weights": wT.swapaxes(-1, -2), "heads": heads}
        self._cache = SelfAttentionCache(x, w_qkv, qkv, wT, merged)
        return self._proj(merged, "O")

    def backward(self, dout):
        self._require_cache(self._cache)
        x, w_qkv, qkv, wT, merged = self._cache
        N, T, D = x.shape
        h, dk = self.num_heads, self.d_k
        dout = check_grad("dout", dout, x.shape, self.params["W_O"].dtype)
        d2 = dout.reshape(N * T, D)
        self.grads["W_O"] += merged.reshape(N * T, D).T @ d2
        if self.bias:
            self.grads["b_O"] += d2.sum(axis=0)
        dheads = (d2 @ self.params["W_O"].T).reshape(N, T, h, dk).transpose(0, 2, 1, 3)    # (N, h, T, d_k)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        dqkv = np.empty((N, T, 3, h, dk), dtype=dout.dtype)
        dq, dk_, dv = (dqkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        for g in self._groups(N, T):
            w, dh = wT[g], dheads[g]
            dv[g] = w @ dh                                                        # ∂L/∂V = Wᵀ dO
            ds = v[g] @ dh.swapaxes(-1, -2)                                       # (∂L/∂W)ᵀ (…, Tk, Tq)
            ds -= np.einsum("...ji,...ji->...i", w, ds)[..., None, :]
            ds *= w                                                               # ∂L/∂Sᵀ
            dq[g] = ds.swapaxes(-1, -2) @ k[g]                                    # ∂L/∂(c·Q)
            dk_[g] = ds @ q[g]
        dqkv = dqkv.reshape(N * T, 3 * D)
        grad = x.reshape(N * T, D).T @ dqkv                                       # (D, 3D)
        c = grad.dtype.type(1.0 / math.sqrt(dk))
        for i, name in enumerate("QKV"):
            gi = grad[:, i * D:(i + 1) * D]
            self.grads[f"W_{name}"] += gi * c if name == "Q" else gi
        if self.bias:
            gb = dqkv.sum(axis=0)
            for i, name in enumerate("QKV"):
                self.grads[f"b_{name}"] += gb[i * D:(i + 1) * D] * (c if name == "Q" else 1)
        self.extra_grads = {}
        return (dqkv @ w_qkv.T).reshape(N, T, D)                                 # w_qkv holds c·W_Q

    def __repr__(self):
        return f"CausalSelfAttention(d_model={self.d_model}, heads={self.num_heads})"


class FeedForward(Layer):
    """The position-wise MLP of a Transformer block: ``Dense(D → d_ff) → GELU → Dense(d_ff → D)``,
    applied to every position separately (chapter 02's hidden layer, with GPT-2's GELU).

    Shapes: x: (N, T, D) (or any (..., D)); hidden: (..., d_ff), 4D by default; out: (..., D).
    Children ``fc``, ``act``, ``proj`` (params ``"fc.W"``, ``"fc.b"``, ``"proj.W"``, ``"proj.b"``).
    Introduced in chapter 10.

    Notes
    -----
    ``u = x W₁ + b₁``, ``out = GELU(u) W₂ + b₂``; backward ``∂L/∂u = (dout W₂ᵀ) ⊙ GELU′(u)``, then each
    Dense's ``∂L/∂W = inputᵀ dZ``. GELU is the tanh approximation (``torch.nn.GELU(approximate="tanh")``).
    """

    def __init__(self, d_model: int, d_ff: int, rng: np.random.Generator | None = None, *,
                 init: str = "he_normal", dtype=np.float32) -> None:
        super().__init__()
        self.fc = Dense(d_model, d_ff, rng, init=init, dtype=dtype)
        self.act = GELU()
        self.proj = Dense(d_ff, d_model, rng, init=init, dtype=dtype)

    def forward(self, x, training=False):
        return self.proj.forward(self.act.forward(self.fc.forward(x)))

    def backward(self, dout):
        return self.fc.backward(self.act.backward(self.proj.backward(dout)))

    def __repr__(self):
        return f"FeedForward({self.fc.in_features} → {self.fc.out_features} → {self.proj.out_features})"


class BlockCache(NamedTuple):
    T: int


class TransformerBlock(Layer):
    """One pre-LN Transformer block (GPT-2):

        x₁  = x  + Dropout(MHA(LN₁(x), mask))
        out = x₁ + Dropout(FFN(LN₂(x₁)))

    Shapes: x: (N, T, D); out: (N, T, D). ``causal=True`` (a decoder) masks every key after the query's
    position, so position t only ever sees positions ≤ t. Children ``ln1``, ``attn``, ``drop1``, ``ln2``,
    ``ffn``, ``drop2``; ``attn.extras["weights"]`` (N, h, T, T) after a forward. Introduced in chapter 10.

    ``Residual(Sequential(LayerNorm, attention, Dropout))`` from ``common.norm`` would compute the same; the
    two sums are written out so that the code reads as the two equations and the parameters keep short
    names (``ln1.gamma``, not ``0.body.0.gamma``). ``causal=False`` (an encoder block) uses a plain
    ``MultiHeadAttention`` without a mask.

    Notes
    -----
    Backward, with δ the gradient arriving at ``out`` (each sum passes δ to both of its terms, the
    chapter 07 highway)::

        δx₁ = δ   + LN₂′ᵀ FFN′ᵀ Dropout′ᵀ δ
        δx  = δx₁ + LN₁′ᵀ MHA′ᵀ  Dropout′ᵀ δx₁
    """

    def __init__(self, d_model: int, n_heads: int, rng: np.random.Generator, *, d_ff: int | None = None,
                 dropout: float = 0.0, causal: bool = True, dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("d_model", d_model)
        check_positive_int("n_heads", n_heads)
        check_generator("rng", rng)
        check_in_range("dropout", dropout, 0.0, 1.0)
        d_ff = 4 * d_model if d_ff is None else d_ff
        check_positive_int("d_ff", d_ff)
        self.d_model, self.n_heads, self.d_ff, self.causal = d_model, n_heads, d_ff, bool(causal)
        self.ln1 = LayerNorm(d_model, dtype=dtype)
        self.attn = (CausalSelfAttention if causal else MultiHeadAttention)(d_model, n_heads, rng, dtype=dtype)
        self.drop1 = Dropout(dropout, rng)
        self.ln2 = LayerNorm(d_model, dtype=dtype)
        self.ffn = FeedForward(d_model, d_ff, rng, dtype=dtype)
        self.drop2 = Dropout(dropout, rng)
        self._cache = None

    def forward(self, x, training=False):
        x = check_float_array("x", x, self.ln1.params["gamma"].dtype)
        if x.ndim != 3 or x.shape[2] != self.d_model:
            raise ValueError(f"x must have shape (N, T, {self.d_model}) for {self!r}, got {x.shape}")
        x1 = x + self.drop1.forward(self.attn.forward(self.ln1.forward(x)), training=training)
        out = x1 + self.drop2.forward(self.ffn.forward(self.ln2.forward(x1)), training=training)
        self._cache = BlockCache(x.shape[1])
        return out

    def backward(self, dout):
        self._require_cache(self._cache)
        dx1 = dout + self.ln2.backward(self.ffn.backward(self.drop2.backward(dout)))
        return dx1 + self.ln1.backward(self.attn.backward(self.drop1.backward(dx1)))

    def __repr__(self):
        return (f"TransformerBlock(d_model={self.d_model}, heads={self.n_heads}, d_ff={self.d_ff}, "
                f"dropout={self.drop1.p}{'' if self.causal else ', causal=False'})")


# --------------------------------------------------------------------------------------------------------
# GPT
# --------------------------------------------------------------------------------------------------------

class GPT(Layer):
    """A decoder-only Transformer language model (Radford et al. 2018/2019; Karpathy's nanoGPT).

    ``forward(ids) → logits``: token embedding, plus positions, dropout, ``n_layer`` causal
    ``TransformerBlock``s, a final LayerNorm and a linear head to the vocabulary. The logits at position
    t are the model's prediction of token t+1 from tokens ≤ t.

    Shapes: ids: (N, T) integers in [0, V) with T ≤ block_size; logits: (N, T, V).

    Children: ``tok_emb`` (``Embedding`` (V, D)), ``pos_emb`` (``LearnedPositionalEmbedding``, or
    ``PositionalEncoding`` for ``positions="sinusoidal"``, absent for ``positions=None``), ``drop``,
    ``blocks`` (a ``Sequential``: ``"blocks.0.attn.W_Q"``…), ``ln_f``, and ``head`` (``Dense(D, V)``
    without bias) unless ``tie_weights=True``, in which case the head is ``tok_emb.W`` transposed and its
    gradient is added to the embedding's (a weight used twice gets both contributions).

    Initialisation as GPT-2/nanoGPT: every weight N(0, 0.02²), the two projections that write into the
    residual stream (``attn.W_O``, ``ffn.proj.W``) N(0, (0.02/√(2L))²) so the stream's variance does not
    grow with depth, biases 0, LayerNorm γ = 1, β = 0.

    After a forward, ``extras["residual"]`` is the residual stream: L + 1 arrays (N, T, D), the input of
    the first block and the output of every block. Introduced in chapter 10.

    Notes
    -----
    Backward from ``dlogits``: the head's ``∂L/∂W = hᵀ dlogits`` (tied: ``∂L/∂Emb += dlogitsᵀ h``) and
    ``∂L/∂h = dlogits W_headᵀ``, then LN_f, the blocks in reverse, and the embeddings: row v of ``∂L/∂Emb``
    sums the gradient at every position holding token v; the learned positions get ``Σₙ``. ``ids`` are
    discrete, so ``backward`` returns ``None``.
    """

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, d_model: int,
                 rng: np.random.Generator, *, d_ff: int | None = None, dropout: float = 0.0,
                 positions: str | None = "learned", tie_weights: bool = False, init_std: float = 0.02,
                 dtype=np.float32) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size), ("n_layer", n_layer),
                            ("n_head", n_head), ("d_model", d_model)):
            check_positive_int(name, value)
        check_generator("rng", rng)
        check_choice("positions", positions, POSITIONS)
        check_positive("init_std", init_std)
        dtype = check_float_dtype("dtype", dtype)
        if d_model % n_head:
            raise ValueError(f"n_head must divide d_model={d_model}, got {n_head}")
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.n_head, self.d_model, self.positions = n_head, d_model, positions
        self.tie_weights = bool(tie_weights)
        self.tok_emb = Embedding(vocab_size, d_model, rng, dtype=dtype, std=init_std)
        if positions == "learned":
            self.pos_emb = LearnedPositionalEmbedding(block_size, d_model, rng, std=init_std, dtype=dtype)
        elif positions == "sinusoidal":
            self.pos_emb = PositionalEncoding(block_size, d_model)
        self.drop = Dropout(dropout, rng)
        self.blocks = Sequential(*[TransformerBlock(d_model, n_head, rng, d_ff=d_ff, dropout=dropout, dtype=dtype)
                                   for _ in range(n_layer)])
        self.ln_f = LayerNorm(d_model, dtype=dtype)
        if not self.tie_weights:
            self.head = Dense(d_model, vocab_size, init="zeros", bias=False, dtype=dtype)
        self._init_weights(rng, init_std)
        self._cache = None

    def _init_weights(self, rng, std):
        resid_std = std / math.sqrt(2 * self.n_layer)
        for name, p in self.params.items():
            if name.startswith(("tok_emb.", "pos_emb.")):
                continue                                   # drawn N(0, std²) when built
            leaf = name.rsplit(".", 1)[-1]
            if p.ndim >= 2:
                s = resid_std if name.endswith(("attn.W_O", "ffn.proj.W")) else std
                p[...] = rng.standard_normal(p.shape) * s
            elif leaf == "gamma":
                p[...] = 1
            else:
                p[...] = 0

    @property
    def head_weight(self) -> np.ndarray:
        """W_head, (D, V): the head's own matrix, or the embedding transposed when tied."""
        return self.tok_emb.params["W"].T if self.tie_weights else self.head.params["W"]

    def forward(self, ids, training=False):
        ids = check_array("ids", ids)
        if ids.ndim != 2 or not 1 <= ids.shape[1] <= self.block_size:
            raise ValueError(f"ids must have shape (N, T) with 1 ≤ T ≤ block_size={self.block_size}, got {ids.shape}")
        x = self.tok_emb.forward(ids)                                       # (N, T, D)
        if "pos_emb" in self._children:
            x = self.pos_emb.forward(x)
        x = self.drop.forward(x, training=training)
        stream = [x]
        for block in self.blocks:
            x = block.forward(x, training=training)
            stream.append(x)
        h = self.ln_f.forward(x)                                            # (N, T, D)
        self.extras = {"residual": stream}
        self._cache = h
        if self.tie_weights:
            return h @ self.tok_emb.params["W"].T                           # (N, T, V)
        return self.head.forward(h)

    def backward(self, dout):
        self._require_cache(self._cache)
        h = self._cache
        dout = check_grad("dout", dout, h.shape[:2] + (self.vocab_size,), h.dtype)
        N, T, V = dout.shape
        if self.tie_weights:
            W = self.tok_emb.params["W"]                                    # (V, D)
            self.tok_emb.grads["W"] += dout.reshape(-1, V).T @ h.reshape(-1, self.d_model)
            dx = dout @ W
        else:
            dx = self.head.backward(dout)
        dx = self.ln_f.backward(dx)
        for block in reversed(self.blocks.layers):
            dx = block.backward(dx)
        dx = self.drop.backward(dx)
        if "pos_emb" in self._children:
            dx = self.pos_emb.backward(dx)
        self.tok_emb.backward(dx)
        return None

    # ---- sampling -------------------------------------------------------------------------------------
    def next_token_probs(self, ids, *, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
        """p(next token | ids), (N, V), from the last block_size tokens of ``ids`` (N, T):
        ``next_token_distribution`` of the logits at the last position."""
        ids = check_array("ids", ids, ndim=2)
        logits = self.forward(ids[:, -self.block_size:], training=False)[:, -1]     # (N, V)
        return next_token_distribution(logits, temperature=temperature, top_k=top_k)

    def stream(self, ids, max_new_tokens: int, *, temperature: float = 1.0, top_k: int | None = None,
               rng: np.random.Generator):
        """Yield ``(token, probs)`` for each new token, (N,) ids and the (N, V) distribution it was drawn
        from; each step feeds the last block_size tokens (the prompt and what came so far) back in."""
        ids = check_array("ids", ids, ndim=2)
        check_positive_int("max_new_tokens", max_new_tokens, allow_zero=True)
        check_generator("rng", rng)
        if not np.issubdtype(ids.dtype, np.integer) or ids.shape[1] == 0:
            raise ValueError(f"ids must be a non-empty (N, T) array of integer token ids, got {ids.dtype} {ids.shape}")
        for _ in range(max_new_tokens):
            probs = self.next_token_probs(ids, temperature=temperature, top_k=top_k)
            token = sample(probs, rng)
            ids = np.concatenate([ids, token[:, None]], axis=1)
            yield token, probs

    def generate(self, ids, max_new_tokens: int, *, temperature: float = 1.0, top_k: int | None = None,
                 rng: np.random.Generator) -> np.ndarray:
        """``ids`` (N, T) followed by ``max_new_tokens`` sampled tokens, (N, T + max_new_tokens).
        ``temperature=0`` takes the most likely token every step (greedy)."""
        ids = check_array("ids", ids, ndim=2)
        new = [t[:, None] for t, _ in self.stream(ids, max_new_tokens, temperature=temperature, top_k=top_k, rng=rng)]
        return np.concatenate([ids, *new], axis=1)

    # ---- size and cost --------------------------------------------------------------------------------
    def parameter_counts(self) -> dict[str, int]:
        """Parameters per component, counted from the arrays: ``embeddings`` (tokens and positions),
        ``attention``, ``ffn``, ``layernorm`` (every LN, the final one included), ``head`` (0 when tied)
        and ``total``."""
        counts = {"embeddings": 0, "attention": 0, "ffn": 0, "layernorm": 0, "head": 0}
        for name, p in self.params.items():
            part = ("embeddings" if name.startswith(("tok_emb.", "pos_emb.")) else
                    "attention" if ".attn." in name else "ffn" if ".ffn." in name else
                    "layernorm" if name.startswith("ln_f.") or ".ln" in name else "head")
            counts[part] += p.size
        counts["total"] = sum(counts.values())
        return counts

    def flops_per_token(self, T: int | None = None) -> dict[str, int]:
        """Multiply-adds ×2 of one forward pass per token with a context of T (default block_size):
        ``matmul = 2·(params in the blocks' and head's matrices)`` and ``attention = 2·L·2·T·D`` (the
        scores q·k and the weighted sum of values, each T·D per token per layer). Training costs about 3×
        (the backward pass is two products per forward product)."""
        T = self.block_size if T is None else T
        check_positive_int("T", T)
        matrices = sum(p.size for n, p in self.params.items()
                       if p.ndim >= 2 and not n.startswith(("tok_emb.", "pos_emb.")))
        if self.tie_weights:
            matrices += self.tok_emb.params["W"].size
        out = {"matmul": 2 * matrices, "attention": 2 * self.n_layer * 2 * T * self.d_model}
        out["total"] = out["matmul"] + out["attention"]
        return out

    def config(self) -> dict:
        """The constructor's arguments (without rng and dtype), enough to rebuild the model."""
        block = self.blocks[0]
        return {"vocab_size": self.vocab_size, "block_size": self.block_size, "n_layer": self.n_layer,
                "n_head": self.n_head, "d_model": self.d_model, "d_ff": block.d_ff, "dropout": block.drop1.p,
                "positions": self.positions, "tie_weights": self.tie_weights}

    def __repr__(self):
        return (f"GPT(V={self.vocab_size}, block={self.block_size}, L={self.n_layer}, h={self.n_head}, "
                f"D={self.d_model}, positions={self.positions}, tied={self.tie_weights})")


# --------------------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------------------

def next_token_distribution(logits, *, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """The sampling distribution from last-position logits z, (N, V) → (N, V)::

        p_i ∝ exp(z_i / τ)   for the k largest z_i,   0 for the others

    τ < 1 sharpens the distribution toward the argmax, τ > 1 flattens it toward uniform; τ = 0 is the
    limit, all mass on the argmax (ties: the first). top-k keeps only the k most likely tokens (ties at
    the k-th value are all kept). Computed in float64.
    """
    z = check_array("logits", logits, ndim=2).astype(np.float64)
    check_positive("temperature", temperature, allow_zero=True)
    if top_k is not None:
        check_positive_int("top_k", top_k)
    V = z.shape[1]
    if temperature == 0:
        p = np.zeros_like(z)
        p[np.arange(len(z)), z.argmax(axis=1)] = 1.0
        return p
    z = z / temperature
    if top_k is not None and top_k < V:
        kth = np.partition(z, V - top_k, axis=1)[:, V - top_k][:, None]        # the k-th largest per row
        z = np.where(z >= kth, z, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def sample(probs, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of ``probs`` (N, V) by inverting the cumulative distribution; (N,) int64."""
    probs = check_array("probs", probs, ndim=2)
    check_generator("rng", rng)
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((len(probs), 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), probs.shape[1] - 1).astype(np.int64)
