"""Attention: scaled dot-product attention with padding and causal masks, multi-head attention, the
additive (Bahdanau) and multiplicative (Luong: dot, general, concat) scores. Introduced in chapter 09,
whose encoder–decoders (``09-attention/seq2seq.py``) compose them with the recurrent layers; chapter 10's
Transformer reuses the multi-head attention.

Shapes: N batch, Tq query positions, Tk key positions, d (d_k) the query/key width, d_v the value width,
h heads. A mask is boolean and broadcastable to the scores ``(…, Tq, Tk)``; ``True`` means "may attend".
A query whose every key is masked gets all-zero weights (and a zero output) rather than NaN.

Every forward keeps what its backward needs; every backward adds into ``grads`` and returns the input
gradients. The softmax backward used throughout::

    w = softmax(s)  ⇒  ∂L/∂s = w ⊙ (∂L/∂w - Σ_j w_j ∂L/∂w_j)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import init as initializers
from ._validation import (check_array, check_choice, check_float_array, check_float_dtype, check_generator,
                          check_grad, check_positive_int, param_dtype)
from .layers import Layer, _rows_matmul


class AttentionCache(NamedTuple):
    """What ``scaled_dot_product_attention`` keeps for its backward pass."""
    qc: np.ndarray                 # the queries times the scale c
    k: np.ndarray
    v: np.ndarray
    w: np.ndarray                  # the attention weights
    scale: float


class MHACache(NamedTuple):
    x: np.ndarray
    context: np.ndarray            # x itself for self-attention
    is_self: bool
    merged: np.ndarray             # the heads' outputs side by side, (N, Tq, d_model)
    attn: AttentionCache


class ScoreCache(NamedTuple):
    """What ``_ScoreAttention.attend`` keeps: the keys (also the values), the weights and the score's
    own cache."""
    keys: np.ndarray
    w: np.ndarray
    score: object

# --------------------------------------------------------------------------------------------------------
# Masks and the masked softmax
# --------------------------------------------------------------------------------------------------------


def causal_mask(T: int, Tk: int | None = None) -> np.ndarray:
    """(T, Tk) boolean, True on and below the diagonal: position i may look at positions ≤ i only."""
    check_positive_int("T", T)
    Tk = T if Tk is None else Tk
    check_positive_int("Tk", Tk)
    return np.tril(np.ones((T, Tk), dtype=bool))


def padding_mask(lengths, T: int) -> np.ndarray:
    """(N, 1, T) boolean key mask from the true lengths: position j is valid when j < lengths[n].
    Broadcasts against scores (N, Tq, T); add an axis for heads: ``mask[:, None]``."""
    lengths = check_array("lengths", lengths, ndim=1)
    check_positive_int("T", T)
    if not np.issubdtype(lengths.dtype, np.integer) or lengths.min(initial=0) < 0 or lengths.max(initial=0) > T:
        raise ValueError(f"lengths must be integers in [0, {T}], got {lengths}")
    return (np.arange(T)[None, :] < lengths[:, None])[:, None, :]


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None, *, inplace: bool = False) -> np.ndarray:
    """Softmax over the last axis; entries where ``mask`` is False get weight exactly 0.

    With ``inplace=True`` the result overwrites ``scores`` (the attention layers own their score arrays,
    and on (N, h, T, T) scores every avoided copy is a pass over megabytes)."""
    z = scores if inplace else np.array(scores, dtype=np.result_type(scores, np.float32))
    if mask is not None:
        np.copyto(z, -np.inf, where=~np.asarray(mask, dtype=bool))
    m = z.max(axis=-1, keepdims=True)
    if mask is not None:
        m[~np.isfinite(m)] = 0                            # a row with no allowed key: all weights 0
    z -= m
    np.exp(z, out=z)                                      # exp(-inf) = 0 at masked entries
    s = z.sum(axis=-1, keepdims=True)
    if mask is not None:
        s[s == 0] = 1
    z /= s
    return z


def softmax_backward(w: np.ndarray, dw: np.ndarray) -> np.ndarray:
    """∂L/∂s from ∂L/∂w for ``w = softmax(s)`` over the last axis: ``w ⊙ (dw - Σ w·dw)``."""
    return w * (dw - (w * dw).sum(axis=-1, keepdims=True))


def _softmax_backward_inplace(w: np.ndarray, dw: np.ndarray) -> np.ndarray:
    """``softmax_backward`` overwriting ``dw`` (a fresh array the caller owns): the same operations in
    the same order (so the same bits), one temporary instead of three on (N, h, Tq, Tk) arrays."""
    s = np.multiply(w, dw).sum(axis=-1, keepdims=True)
    dw -= s
    dw *= w
    return dw


def _check_mask(mask, scores_shape, name="mask"):
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True = may attend), got dtype {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        raise ValueError(f"{name} of shape {mask.shape} does not broadcast to the scores {scores_shape}") from None
    return mask


# --------------------------------------------------------------------------------------------------------
# Scaled dot-product attention
# --------------------------------------------------------------------------------------------------------


def scaled_dot_product_attention(q, k, v, mask=None, *, scale: bool | float = True):
    """``softmax(q kᵀ / √d) v`` with an optional mask. Returns ``(out, weights, cache)``.

    Shapes: q: (…, Tq, d); k: (…, Tk, d); v: (…, Tk, d_v); mask: broadcastable to (…, Tq, Tk);
    out: (…, Tq, d_v); weights: (…, Tq, Tk), each row sums to 1 over the allowed keys.

    ``scale=True`` divides by √d, ``False`` does not (to measure what the scaling buys), a number uses
    that factor.

    Notes
    -----
    ``S = c·QKᵀ`` (c = 1/√d), ``W = softmax(S)``, ``O = WV``. Backward::

        ∂L/∂V = Wᵀ dO      ∂L/∂W = dO Vᵀ      ∂L/∂S = W ⊙ (∂L/∂W - rowsum(W ⊙ ∂L/∂W))
        ∂L/∂Q = c·(∂L/∂S) K      ∂L/∂K = c·(∂L/∂S)ᵀ Q
    """
    q, k, v = check_float_array("q", q), check_float_array("k", k), check_float_array("v", v)
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"q, k, v must have the same number (≥ 2) of dimensions, got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of positions Tk, got {k.shape[-2]} and {v.shape[-2]}")
    if scale is True:
        c = 1.0 / math.sqrt(q.shape[-1])
    elif scale is False:
        c = 1.0
    elif isinstance(scale, (int, float, np.floating)) and not isinstance(scale, bool) and math.isfinite(scale) \
            and scale > 0:
        c = float(scale)
    else:
        raise ValueError(f"scale must be True (1/√d), False (none) or a finite number > 0, got {scale!r}")
    if k.shape[-2] == 0:
        raise ValueError(f"k and v must have at least one position (Tk >= 1), got shape {k.shape}")
    qc = q * q.dtype.type(c) if c != 1.0 else q          # scale the (…, Tq, d) queries, not the (…, Tq, Tk) scores
    out, w, cache = _attention(qc, k, v, mask)
    return out, w, cache._replace(scale=c)


def _attention(qc, k, v, mask=None, *, out=None):
    """``softmax(qc kᵀ) v`` on already-scaled queries: the shared core of ``scaled_dot_product_attention``
    and ``MultiHeadAttention``; ``out`` (a possibly strided (…, Tq, d_v) view) receives the result."""
    scores = np.matmul(qc, np.swapaxes(k, -1, -2))
    mask = _check_mask(mask, scores.shape)
    w = masked_softmax(scores, mask, inplace=True)
    out = np.matmul(w, v, out=out)
    return out, w, AttentionCache(qc, k, v, w, 1.0)


def scaled_dot_product_attention_backward(dout, cache: AttentionCache):
    """(dq, dk, dv) for ``scaled_dot_product_attention``'s ``cache``. dout: (…, Tq, d_v)."""
    qc, k, v, c = cache.qc, cache.k, cache.v, cache.scale     # qc = c·q
    dq, dk, dv = _attention_backward(dout, cache)
    if c != 1.0:
        dq *= c
    # Broadcast batch dimensions (a shared k or v) sum their gradient back to the original shape.
    return _unbroadcast(dq, qc.shape), _unbroadcast(dk, k.shape), _unbroadcast(dv, v.shape)


def _attention_backward(dout, cache: AttentionCache, *, out=(None, None, None)):
    """(∂L/∂qc, ∂L/∂k, ∂L/∂v) of ``_attention`` (broadcast batch dimensions not yet summed), each written
    into the matching array of ``out`` when given."""
    qc, k, v, w = cache.qc, cache.k, cache.v, cache.w
    dv = np.matmul(np.swapaxes(w, -1, -2), dout, out=out[2])
    ds = _softmax_backward_inplace(w, np.matmul(dout, np.swapaxes(v, -1, -2)))   # ∂L/∂(scores), scores = qc kᵀ
    dk = np.matmul(np.swapaxes(ds, -1, -2), qc, out=out[1])
    dq = np.matmul(ds, k, out=out[0])
    return dq, dk, dv


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, n in enumerate(shape):
        if n == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


# --------------------------------------------------------------------------------------------------------
# Multi-head attention
# --------------------------------------------------------------------------------------------------------


class MultiHeadAttention(Layer):
    """``Concat(head_1 … head_h) W_O`` with ``head_i = Attention(X W_Q^i, C W_K^i, C W_V^i)``.

    Shapes: x: (N, Tq, d_model); context (cross-attention; default x itself): (N, Tk, d_model);
    W_Q, W_K, W_V, W_O: (d_model, d_model), each head using a d_k = d_model / h slice of the columns;
    b_Q, b_K, b_V, b_O: (d_model,); mask broadcastable to (N, h, Tq, Tk) — a (Tq, Tk) causal mask or an
    (N, 1, 1, Tk) padding mask both work; out: (N, Tq, d_model).

    Extra inputs and outputs (the sequence contract of ``common.layers``): ``mask=`` and ``context=``
    in; ``extras["weights"]`` (N, h, Tq, Tk) and ``extras["heads"]`` (N, h, Tq, d_k) out; with a
    ``context``, its gradient is ``extra_grads["context"]``. For self-attention dx includes all three
    paths (x feeds the queries, the keys and the values).

    ``multi_head_attention_naive`` computes the same forward pass one head at a time, exactly as the
    formula reads; the fast path here projects all heads in one product and scales the fresh query
    projection in place.

    Notes
    -----
    Splitting W_Q into h column blocks is the same as h separate (d_model, d_k) projections, so the
    cost of h heads is that of one full-width attention. The backward pass is the scaled dot-product
    backward per head, then each projection's ``∂L/∂W = inputᵀ dZ``, ``∂L/∂input = dZ Wᵀ``.
    Maps to ``torch.nn.MultiheadAttention(batch_first=True)``: ``in_proj_weight = [W_Qᵀ; W_Kᵀ; W_Vᵀ]``,
    ``out_proj.weight = W_Oᵀ``.
    """

    def __init__(self, d_model: int, num_heads: int, rng: np.random.Generator, *, bias: bool = True,
                 dtype=np.float32, init: str = "xavier_uniform") -> None:
        super().__init__()
        check_positive_int("d_model", d_model)
        check_positive_int("num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"num_heads must divide d_model={d_model}, got {num_heads}")
        check_generator("rng", rng)
        dtype = check_float_dtype("dtype", dtype)
        init_fn = initializers.get(init)
        self.d_model, self.num_heads, self.d_k = d_model, num_heads, d_model // num_heads
        self.bias = bias
        for name in ("Q", "K", "V", "O"):
            self.params[f"W_{name}"] = init_fn((d_model, d_model), rng, dtype=dtype)
            if bias:
                self.params[f"b_{name}"] = np.zeros(d_model, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._cache = None

    @property
    def weights(self):
        """The last forward's attention weights (N, h, Tq, Tk): ``extras["weights"]``."""
        return self.extras.get("weights")

    def _proj(self, x, name):
        out = _rows_matmul(x, self.params[f"W_{name}"])
        if self.bias:
            out += self.params[f"b_{name}"]
        return out

    def _split(self, z):                                   # (N, T, d_model) → (N, h, T, d_k), a view
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, self.d_k).transpose(0, 2, 1, 3)

    def _merge(self, z):                                   # (N, h, T, d_k) → (N, T, d_model)
        N, h, T, dk = z.shape
        return z.transpose(0, 2, 1, 3).reshape(N, T, h * dk)

    def forward(self, x, training=False, *, mask=None, context=None):
        x = check_float_array("x", x, self.params["W_Q"].dtype)
        if x.ndim != 3 or x.shape[2] != self.d_model:
            raise ValueError(f"x must have shape (N, T, {self.d_model}), got {x.shape}")
        c = x if context is None else check_float_array("context", context, self.params["W_Q"].dtype)
        if c.ndim != 3 or c.shape[0] != x.shape[0] or c.shape[2] != self.d_model or c.shape[1] == 0:
            raise ValueError(f"context must have shape ({x.shape[0]}, Tk, {self.d_model}) with Tk >= 1, got {c.shape}")
        (N, Tq, d), Tk = x.shape, c.shape[1]
        q = self._proj(x, "Q")
        q *= q.dtype.type(1.0 / math.sqrt(self.d_k))      # the 1/√d_k scale, in place on the fresh projection
        q, k, v = self._split(q), self._split(self._proj(c, "K")), self._split(self._proj(c, "V"))
        # The heads' outputs are written straight into the merged (N, Tq, d_model) layout W_O reads,
        # so no transpose copy; extras["heads"] is the (N, h, Tq, d_k) view of it.
        merged = np.empty((N, Tq, d), dtype=q.dtype)
        heads, w, attn_cache = _attention(q, k, v, mask, out=self._split(merged))
        self.extras = {"weights": w, "heads": heads}        # (N, h, Tq, Tk), (N, h, Tq, d_k)
        self._cache = MHACache(x, c, context is None, merged, attn_cache)
        return self._proj(merged, "O")

    def backward(self, dout):
        self._require_cache(self._cache)
        x, c, is_self, merged, attn_cache = self._cache
        (N, Tq, d), Tk = x.shape, c.shape[1]
        dout = check_grad("dout", dout, x.shape[:2] + (d,), self.params["W_O"].dtype)
        dout2 = dout.reshape(-1, d)
        self.grads["W_O"] += merged.reshape(-1, d).T @ dout2
        if self.bias:
            self.grads["b_O"] += dout2.sum(axis=0)
        dmerged = _rows_matmul(dout, self.params["W_O"].T)
        # ∂L/∂(Q, K, V projections) written by the attention backward straight into one (N, T, 3, d_model)
        # buffer for self-attention (a (N, Tq, d) and a (N, Tk, 2, d) one for cross-attention): no
        # transpose copies back from the (N, h, T, d_k) head layout, and every projection's gradient is a
        # (N·T, d) view that BLAS reads in place.
        names = ("Q", "K", "V")
        if is_self:
            buf = np.empty((N, Tq, 3, d), dtype=dout.dtype)
            dq, dk, dv = buf[:, :, 0], buf[:, :, 1], buf[:, :, 2]
            groups = ((x, buf.reshape(N, Tq, 3 * d), names),)
        else:
            bq, bkv = np.empty((N, Tq, 1, d), dtype=dout.dtype), np.empty((N, Tk, 2, d), dtype=dout.dtype)
            dq, dk, dv = bq[:, :, 0], bkv[:, :, 0], bkv[:, :, 1]
            groups = ((x, bq.reshape(N, Tq, d), names[:1]), (c, bkv.reshape(N, Tk, 2 * d), names[1:]))
        _attention_backward(self._split(dmerged), attn_cache,
                            out=(self._split(dq), self._split(dk), self._split(dv)))
        dq *= dq.dtype.type(1.0 / math.sqrt(self.d_k))     # back through the in-place scale of the queries
        grads_in = []
        for inp, g2, group in groups:
            inp2 = inp.reshape(-1, d)
            dinp = None
            for i, name in enumerate(group):
                gz = g2[..., i * d:(i + 1) * d]              # this projection's (N, T, d) gradient, a view
                gz2 = gz.reshape(-1, d)                      # (N·T, d), still a view
                self.grads[f"W_{name}"] += inp2.T @ gz2
                if self.bias:
                    self.grads[f"b_{name}"] += gz2.sum(axis=0)
                # Σ over the projections one product at a time, in the order Q, K, V: the same sums, in
                # the same order, as the reference form (so trained numbers keep their last bits).
                if dinp is None:
                    dinp = _rows_matmul(gz, self.params[f"W_{name}"].T)
                else:
                    dinp += _rows_matmul(gz, self.params[f"W_{name}"].T)
            grads_in.append(dinp)
        dx = grads_in[0]
        self.extra_grads = {} if is_self else {"context": grads_in[1]}
        return dx

    def __repr__(self):
        return f"MultiHeadAttention(d_model={self.d_model}, heads={self.num_heads})"


def multi_head_attention_naive(x, params: dict, num_heads: int, mask=None, context=None):
    """Multi-head attention exactly as the formula reads, one head at a time (the reference
    ``MultiHeadAttention.forward`` is tested against). Returns ``(out, weights)``.

    ``head_i = softmax((X W_Q^i)(C W_K^i)ᵀ / √d_k) (C W_V^i)``, ``out = [head_1 … head_h] W_O + b_O``,
    where ``W_Q^i`` is the i-th block of d_k columns of ``W_Q`` (likewise K, V).
    """
    c = x if context is None else context
    d_model = params["W_Q"].shape[0]
    dk = d_model // num_heads
    b = lambda name: params.get(f"b_{name}", 0)
    heads, weights = [], []
    for i in range(num_heads):
        cols = slice(i * dk, (i + 1) * dk)
        q = x @ params["W_Q"][:, cols] + (b("Q")[cols] if "b_Q" in params else 0)
        k = c @ params["W_K"][:, cols] + (b("K")[cols] if "b_K" in params else 0)
        v = c @ params["W_V"][:, cols] + (b("V")[cols] if "b_V" in params else 0)
        scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(dk)
        m = None if mask is None else np.broadcast_to(mask, (x.shape[0], num_heads) + scores.shape[1:])[:, i]
        w = masked_softmax(scores, m)
        heads.append(w @ v)
        weights.append(w)
    out = np.concatenate(heads, axis=-1) @ params["W_O"] + b("O")
    return out, np.stack(weights, axis=1)


# --------------------------------------------------------------------------------------------------------
# Scores for encoder–decoder attention: Bahdanau (additive) and Luong (dot, general, concat)
# --------------------------------------------------------------------------------------------------------

class _ScoreAttention(Layer):
    """Attention of decoder queries over encoder states, which serve as both keys and values (as in
    both papers). ``attend`` returns ``(context, weights, ScoreCache)``; ``attend_backward(dcontext,
    cache)`` adds into ``grads`` and returns ``(dquery, dkeys)``; ``forward``/``backward`` wrap them for
    one call under the sequence contract: ``forward(query, keys=…, mask=…)``, ``extras["weights"]``
    (N, Tq, Tk), ``extra_grads["keys"]``.

    Shapes: query: (N, Tq, Hq); keys: (N, Tk, Hk); mask: (N, Tk) or broadcastable to (N, Tq, Tk);
    context: (N, Tq, Hk); weights: (N, Tq, Tk).
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        check_positive_int("query_size", query_size)
        check_positive_int("key_size", key_size)
        self.query_size, self.key_size = query_size, key_size
        self._cache = None

    @property
    def weights(self):
        """The last forward's attention weights (N, Tq, Tk): ``extras["weights"]``."""
        return self.extras.get("weights")

    def _scores(self, q, k):                 # → scores (N, Tq, Tk), cache
        raise NotImplementedError

    def _scores_backward(self, ds, cache):   # → dq, dk
        raise NotImplementedError

    def attend(self, query, keys, mask=None):
        dtype = param_dtype(self)
        query, keys = check_float_array("query", query, dtype), check_float_array("keys", keys, dtype)
        if query.ndim != 3 or query.shape[2] != self.query_size:
            raise ValueError(f"query must have shape (N, Tq, {self.query_size}), got {query.shape}")
        if keys.ndim != 3 or keys.shape[2] != self.key_size or keys.shape[0] != query.shape[0]:
            raise ValueError(f"keys must have shape ({query.shape[0]}, Tk, {self.key_size}), got {keys.shape}")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.ndim == 2:
                mask = mask[:, None, :]
        N, Tq, Tk = query.shape[0], query.shape[1], keys.shape[1]
        mask = _check_mask(mask, (N, Tq, Tk))
        if Tk == 0:
            raise ValueError(f"keys must have at least one position (Tk >= 1), got shape {keys.shape}")
        scores, sc = self._scores(query, keys)
        w = masked_softmax(scores, mask)
        context = w @ keys
        return context, w, ScoreCache(keys, w, sc)

    def attend_backward(self, dcontext, cache: ScoreCache):
        keys, w = cache.keys, cache.w
        dkeys = np.swapaxes(w, 1, 2) @ dcontext
        ds = softmax_backward(w, dcontext @ np.swapaxes(keys, 1, 2))
        dq, dk = self._scores_backward(ds, cache.score)
        return dq, dkeys + dk

    def forward(self, query, training=False, *, keys=None, mask=None):
        """context: (N, Tq, Hk) for ``query`` over ``keys``; the weights are ``extras["weights"]``."""
        if keys is None:
            raise ValueError("keys must be given (the encoder states to attend over)")
        context, w, self._cache = self.attend(query, keys, mask)
        self.extras = {"weights": w}
        return context

    def backward(self, dout):
        """Returns dquery; the gradient of the keys is ``extra_grads["keys"]``."""
        self._require_cache(self._cache)
        c = self._cache
        dout = check_grad("dout", dout, c.w.shape[:2] + c.keys.shape[2:], c.keys.dtype)
        dq, dk = self.attend_backward(dout, c)
        self.extra_grads = {"keys": dk}
        return dq


class AdditiveAttention(_ScoreAttention):
    """Bahdanau et al. (2015): ``score(q, k_j) = vᵀ tanh(q W_q + k_j W_k + b)``, a one-hidden-layer
    network scoring each (query, key) pair.

    Shapes: W_q: (Hq, A); W_k: (Hk, A); b: (A,); v: (A,) with A = ``attn_size``.

    Notes
    -----
    ``E_ij = tanh(q_i W_q + k_j W_k + b)`` (N, Tq, Tk, A), ``s_ij = E_ij · v``. Backward with δs::

        ∂L/∂v = Σ δs_ij E_ij      δP_ij = δs_ij v ⊙ (1 - E_ij²)
        ∂L/∂q_i = (Σ_j δP_ij) W_qᵀ      ∂L/∂k_j = (Σ_i δP_ij) W_kᵀ
    """

    def __init__(self, query_size: int, key_size: int, attn_size: int, rng: np.random.Generator, *,
                 bias: bool = True, dtype=np.float32) -> None:
        super().__init__(query_size, key_size)
        check_positive_int("attn_size", attn_size)
        check_generator("rng", rng)
        dtype = check_float_dtype("dtype", dtype)
        self.attn_size = attn_size
        self.params["W_q"] = initializers.xavier_uniform((query_size, attn_size), rng, dtype=dtype)
        self.params["W_k"] = initializers.xavier_uniform((key_size, attn_size), rng, dtype=dtype)
        if bias:
            self.params["b"] = np.zeros(attn_size, dtype=dtype)
        self.params["v"] = initializers.xavier_uniform((attn_size, 1), rng, dtype=dtype).ravel()
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _scores(self, q, k):
        pq = q @ self.params["W_q"]                               # (N, Tq, A)
        pk = k @ self.params["W_k"]                               # (N, Tk, A)
        if "b" in self.params:
            pk += self.params["b"]
        E = np.tanh(pq[:, :, None, :] + pk[:, None, :, :])        # (N, Tq, Tk, A)
        return E @ self.params["v"], (q, k, E)

    def _scores_backward(self, ds, cache):
        q, k, E = cache
        A = self.attn_size
        self.grads["v"] += ds.reshape(-1) @ E.reshape(-1, A)             # Σ_ij δs_ij E_ij
        dP = ds[..., None] * self.params["v"]
        dP *= 1 - E * E                                           # (N, Tq, Tk, A)
        dpq, dpk = dP.sum(axis=2), dP.sum(axis=1)
        self.grads["W_q"] += q.reshape(-1, self.query_size).T @ dpq.reshape(-1, A)
        self.grads["W_k"] += k.reshape(-1, self.key_size).T @ dpk.reshape(-1, A)
        if "b" in self.params:
            self.grads["b"] += dpk.reshape(-1, A).sum(axis=0)
        return dpq @ self.params["W_q"].T, dpk @ self.params["W_k"].T

    def __repr__(self):
        return f"AdditiveAttention(q={self.query_size}, k={self.key_size}, A={self.attn_size})"


class LuongAttention(_ScoreAttention):
    """Luong et al. (2015) scores between the decoder state h_t and each encoder state h̄_s:

    - ``dot``:     ``h_t · h̄_s`` (needs Hq = Hk; no parameters)
    - ``general``: ``h_t W_a h̄_sᵀ`` with W_a: (Hq, Hk)
    - ``concat``:  ``vᵀ tanh([h_t; h̄_s] W_a)``, i.e. W_a split into a query and a key block — the additive
      form without a bias.

    Notes
    -----
    dot: ``∂L/∂q_i = Σ_j δs_ij k_j``, ``∂L/∂k_j = Σ_i δs_ij q_i``. general: the same with ``k W_aᵀ`` in
    place of k, and ``∂L/∂W_a = Σ qᵀ δs k``.
    """

    SCORES = ("dot", "general", "concat")

    def __init__(self, query_size: int, key_size: int, rng: np.random.Generator | None = None, *,
                 score: str = "general", attn_size: int | None = None, dtype=np.float32) -> None:
        super().__init__(query_size, key_size)
        check_choice("score", score, self.SCORES)
        dtype = check_float_dtype("dtype", dtype)
        self.score = score
        if score == "dot" and query_size != key_size:
            raise ValueError(f"score='dot' needs query_size == key_size, got {query_size} and {key_size}")
        if score == "general":
            check_generator("rng", rng)
            self.add_param("W_a", initializers.xavier_uniform((query_size, key_size), rng, dtype=dtype))
        elif score == "concat":
            check_generator("rng", rng)
            self.additive = AdditiveAttention(query_size, key_size, attn_size or key_size, rng, bias=False,
                                              dtype=dtype)

    def _scores(self, q, k):
        if self.score == "concat":
            return self.additive._scores(q, k)
        kk = k if self.score == "dot" else k @ self.params["W_a"].T         # (N, Tk, Hq)
        return q @ np.swapaxes(kk, 1, 2), (q, k, kk)

    def _scores_backward(self, ds, cache):
        if self.score == "concat":
            return self.additive._scores_backward(ds, cache)
        q, k, kk = cache
        dq = ds @ kk
        dkk = np.swapaxes(ds, 1, 2) @ q                                   # (N, Tk, Hq)
        if self.score == "dot":
            return dq, dkk
        self.grads["W_a"] += dkk.reshape(-1, self.query_size).T @ k.reshape(-1, self.key_size)
        return dq, dkk @ self.params["W_a"]

    def __repr__(self):
        return f"LuongAttention(score={self.score!r}, q={self.query_size}, k={self.key_size})"
