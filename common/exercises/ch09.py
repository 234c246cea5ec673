"""Chapter 09 (attention): the masked softmax, scaled dot-product attention, the causal mask and the
head split of multi-head attention, each against ``common.attention``."""

from __future__ import annotations

import numpy as np

from ..attention import MultiHeadAttention, causal_mask, masked_softmax, padding_mask, scaled_dot_product_attention
from ._core import as_array, call, checker, compare, fail, seed_for, unpack


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@checker("masked_softmax", "masked_softmax")
def check_masked_softmax(fn):
    """``masked_softmax(scores, mask) -> weights``: softmax over the last axis, weight exactly 0 where
    ``mask`` is False; a row with no allowed key gets all zeros (not NaN)."""
    rng = np.random.default_rng(seed_for("masked_softmax"))
    scores = rng.standard_normal((2, 3, 5))
    mask = padding_mask(np.array([5, 3]), 5)                 # (2, 1, 5): the second sequence has 2 pads
    cases = [(scores, mask, "a padding mask: the last 2 keys of sequence 2 are padding"),
             (rng.standard_normal((4, 4)), causal_mask(4), "a causal mask"),
             (1000 + 100 * rng.standard_normal((2, 4)), np.ones((2, 4), bool), "large scores (around 1000)")]
    for s, m, case in cases:
        want = masked_softmax(s, m)
        with np.errstate(all="ignore"):
            leak = _softmax(np.where(m, s, 0.0))
            unmasked = _softmax(s) * m
        compare("the weights", want, call(fn, s, m), case=case,
                hint="set the scores of masked keys to -inf before the softmax (exp(-inf) = 0), and subtract "
                     "each row's max before exp so large scores cannot overflow.",
                mistakes={"set masked scores to 0 instead of -inf (a masked key still gets weight)": leak,
                          "zero the masked weights after the softmax without renormalising (rows no longer sum to 1)": unmasked,
                          "take the softmax over the query axis instead of the keys": masked_softmax(
                              np.swapaxes(s, -1, -2), np.swapaxes(np.broadcast_to(m, s.shape), -1, -2)).swapaxes(-1, -2)
                          if s.shape[-1] == s.shape[-2] else None})
    s, m = rng.standard_normal((2, 3)), np.array([[True, True, False], [False, False, False]])
    got = as_array("the weights", call(fn, s, m))
    if got.shape == s.shape and not np.all(np.isfinite(got[1])):
        fail("a row whose every key is masked came out as NaN; it should be all zeros.",
             "after the -inf fill, a fully masked row has max -inf: use 0 for its max and 1 for its sum.")
    compare("the weights", masked_softmax(s, m), got, case="row 2 has every key masked",
            hint="a query with nothing to attend to gets all-zero weights.")
    return "It matches common.attention.masked_softmax, padding, causal and fully-masked rows included."


@checker("attention", "attention")
def check_attention(fn):
    """``attention(q, k, v, mask) -> (out, weights)``: ``softmax(q kᵀ/√d + mask) v``."""
    rng = np.random.default_rng(seed_for("attention"))
    for (n, tq, tk, d, dv), mask in (((2, 3, 5, 4, 6), None), ((1, 4, 4, 8, 8), causal_mask(4)),
                                     ((2, 2, 4, 4, 3), padding_mask(np.array([4, 2]), 4))):
        q, k, v = rng.standard_normal((n, tq, d)), rng.standard_normal((n, tk, d)), rng.standard_normal((n, tk, dv))
        out_ref, w_ref, _ = scaled_dot_product_attention(q, k, v, mask)
        w_noscale = scaled_dot_product_attention(q, k, v, mask, scale=False)[1]
        w_d = scaled_dot_product_attention(q, k, v, mask, scale=1.0 / d)[1]
        out, w = unpack(call(fn, q, k, v, mask), ("out", "weights"))
        case = f"q: {q.shape}, k: {k.shape}, v: {v.shape}, mask: {'none' if mask is None else np.shape(mask)}"
        compare("the weights", w_ref, w, case=case,
                hint="scores = q kᵀ / √d (one row per query, one column per key), masked, then a softmax over the keys.",
                mistakes={"leave out the 1/√d scale": w_noscale, "divide by d instead of √d": w_d,
                          "take the softmax over the queries (axis -2)": _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(d), -2)
                          if mask is None else None})
        compare("out", out_ref, out, case=case, hint="each output row is the weighted average of the value rows: weights @ v.")
    return "out and the weights match common.attention.scaled_dot_product_attention, with and without masks."


@checker("causal_mask", "causal_mask")
def check_causal_mask(fn):
    """``causal_mask(T) -> (T, T) bool``: True where query i may look at key j, i.e. j ≤ i."""
    for T in (1, 2, 5, 8):
        want = causal_mask(T)
        got = call(fn, T)
        g = np.asarray(got)
        if g.shape != want.shape:
            fail(f"T = {T}: the mask has shape {g.shape}, expected {want.shape}.")
        if g.dtype != bool:
            fail(f"T = {T}: the mask holds {g.dtype} values; it must be boolean (True = may attend).",
                 "compare, or use .astype(bool): an integer 0/1 mask would be read as numbers.")
        if not np.array_equal(g, want):
            i, j = (int(a) for a in np.argwhere(g != want)[0])
            allowed = np.flatnonzero(g[i]).tolist()
            if np.array_equal(g, want.T):
                hint = "this is the transpose: row i is query i, and it may see keys 0…i (the past), not i…T-1."
            elif np.array_equal(g, np.tril(np.ones((T, T), bool), -1)):
                hint = "each position may also attend to itself: the diagonal is True."
            else:
                hint = "row i is query position i; it may attend to keys 0, 1, …, i and never to a later one."
            fail(f"T = {T}: position {i} may attend to keys {allowed}, expected 0…{i} "
                 f"(entry [{i}, {j}] should be {bool(want[i, j])}).", hint)
    return "It matches common.attention.causal_mask: every position sees itself and the past, never the future."


@checker("split_heads", "split_heads")
def check_split_heads(fn):
    """``split_heads(z, num_heads) -> (N, h, T, d_k)`` from (N, T, d_model), d_k = d_model / h: head i gets
    the columns i·d_k … (i+1)·d_k - 1."""
    rng = np.random.default_rng(seed_for("split_heads"))
    for n, t, d, h in ((2, 3, 8, 2), (1, 4, 12, 3), (2, 5, 4, 4)):
        z = rng.standard_normal((n, t, d))
        mha = MultiHeadAttention(d, h, rng, dtype=np.float64)
        want = mha._split(z)
        compare("the heads", want, call(fn, z, h), case=f"z: {z.shape}, {h} heads",
                hint="first reshape (N, T, d_model) → (N, T, h, d_k), so each head's columns stay together, "
                     "then swap the T and h axes.",
                mistakes={"reshape straight to (N, h, T, d_k) (that mixes positions into heads)": z.reshape(n, h, t, d // h),
                          "give head i every h-th column instead of a block of d_k":
                          z.reshape(n, t, d // h, h).transpose(0, 3, 1, 2)})
    return "It splits exactly as common.attention.MultiHeadAttention does."
