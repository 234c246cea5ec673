"""common.attention: masks, scaled dot-product attention (forward and backward, masks included),
multi-head attention, Bahdanau and Luong scores: float64 gradient checks and
optional torch parity."""

import numpy as np
import pytest

from common.attention import (AdditiveAttention, LuongAttention, MultiHeadAttention, causal_mask,
                              masked_softmax, multi_head_attention_naive, padding_mask,
                              scaled_dot_product_attention, scaled_dot_product_attention_backward)
from common.gradcheck import check_layer, numerical_gradient, rel_error

TOL = 1e-8


def _mha_with_biases(d: int, h: int, rng) -> MultiHeadAttention:
    """A float64 ``MultiHeadAttention(d, h)`` whose biases are random too (they start at zero), so the tests
    see their gradients."""
    mha = MultiHeadAttention(d, h, rng).astype(np.float64)
    for name in ("b_Q", "b_K", "b_V", "b_O"):
        mha.params[name][...] = rng.standard_normal(d) * 0.3
    return mha


def test_masks():
    np.testing.assert_array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    m = padding_mask(np.array([2, 3]), 4)
    assert m.shape == (2, 1, 4)
    np.testing.assert_array_equal(m[:, 0], [[1, 1, 0, 0], [1, 1, 1, 0]])


def test_masked_softmax_rows_and_fully_masked_row():
    s = np.array([[1.0, 2.0, 3.0], [5.0, 1.0, 0.0]])
    mask = np.array([[True, True, False], [False, False, False]])
    w = masked_softmax(s, mask)
    np.testing.assert_allclose(w[0], [1 / (1 + np.e), np.e / (1 + np.e), 0.0])
    np.testing.assert_array_equal(w[1], 0.0)                       # nothing to attend to: zeros, no NaN
    big = masked_softmax(np.array([[1e4, -1e4, 0.0]]))
    np.testing.assert_allclose(big, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("mask_kind", ["none", "padding", "causal", "padding+causal+empty_row"])
def test_sdpa_gradcheck(mask_kind):
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 5))
    mask = None
    if mask_kind == "padding":
        mask = padding_mask(np.array([4, 2]), 4)
    elif mask_kind == "causal":
        mask = causal_mask(4)
    elif mask_kind.startswith("padding+causal"):
        mask = padding_mask(np.array([4, 2]), 4) & causal_mask(4)
        mask = mask.copy()
        mask[1, 0, :] = False                                      # a query with no allowed key
    out, w, cache = scaled_dot_product_attention(q, k, v, mask)
    if mask is not None:
        assert not w[~np.broadcast_to(mask, w.shape)].any()         # masked weights are exactly 0
    dout = rng.standard_normal(out.shape)
    grads = scaled_dot_product_attention_backward(dout, cache)
    f = lambda: scaled_dot_product_attention(q, k, v, mask)[0]       # noqa: E731
    for g, x in zip(grads, (q, k, v)):
        assert rel_error(g, numerical_gradient(f, x, dout)) < TOL
    if mask_kind == "padding":
        assert not grads[1][1, 2:].any() and not grads[2][1, 2:].any()   # padded keys get no gradient


def test_sdpa_scaling_and_values():
    q = np.array([[[1.0, 0.0]]])
    k = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    v = np.array([[[10.0], [20.0]]])
    out, w, _ = scaled_dot_product_attention(q, k, v)
    e = np.exp(1 / np.sqrt(2))
    np.testing.assert_allclose(w[0, 0], [e / (e + 1), 1 / (e + 1)])
    np.testing.assert_allclose(out[0, 0, 0], 10 * e / (e + 1) + 20 / (e + 1))
    _, w_unscaled, _ = scaled_dot_product_attention(q, k, v, scale=False)
    np.testing.assert_allclose(w_unscaled[0, 0, 0], np.e / (np.e + 1))


@pytest.mark.parametrize("masked", [False, True])
def test_multihead_self_attention_gradcheck(masked):
    rng = np.random.default_rng(1)
    mha = _mha_with_biases(8, 2, rng)
    x = rng.standard_normal((2, 5, 8))
    mask = causal_mask(5) & padding_mask(np.array([5, 3]), 5)[:, None] if masked else None
    errors = check_layer(mha, x, rng, inputs={"mask": mask})
    # b_K cannot change the output (it adds the same q·b_K to every score of a row, and softmax ignores
    # that), so its true gradient is 0 and both sides are round-off: compare absolutely.
    assert abs(errors.pop("b_K")) <= 1.0 and np.abs(mha.grads["b_K"]).max() < 1e-12
    assert max(errors.values()) < TOL, errors
    assert mha.weights.shape == (2, 2, 5, 5)


def test_multihead_cross_attention_gradcheck_context():
    rng = np.random.default_rng(2)
    mha = MultiHeadAttention(6, 3, rng).astype(np.float64)
    x, c = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 4, 6))
    mask = padding_mask(np.array([4, 2]), 4)[:, None]
    errors = check_layer(mha, x, rng, inputs={"context": c, "mask": mask})
    assert set(errors) == {"x", "context", *mha.params}
    errors.pop("b_K")                      # no effect on the output (see the self-attention test)
    assert max(errors.values()) < TOL, errors
    assert not mha.extra_grads["context"][1, 2:].any()


@pytest.mark.parametrize("masked", [False, True])
def test_multihead_fast_equals_the_naive_reference(masked):
    rng = np.random.default_rng(11)
    mha = _mha_with_biases(12, 3, rng)
    x, c = rng.standard_normal((2, 5, 12)), rng.standard_normal((2, 6, 12))
    mask = padding_mask(np.array([6, 4]), 6)[:, None] if masked else None
    out = mha.forward(x, context=c, mask=mask)
    ref, w = multi_head_attention_naive(x, mha.params, 3, mask=mask, context=c)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mha.extras["weights"], w, rtol=1e-12, atol=1e-14)


def test_multihead_heads_are_column_blocks():
    """Head i uses columns i·d_k:(i+1)·d_k of W_Q/W_K/W_V: recompute head 1's weights by hand."""
    rng = np.random.default_rng(3)
    mha = MultiHeadAttention(8, 4, rng, bias=False).astype(np.float64)
    x = rng.standard_normal((1, 5, 8))
    mha.forward(x)
    sl = slice(2, 4)
    q, k = x[0] @ mha.params["W_Q"][:, sl], x[0] @ mha.params["W_K"][:, sl]
    s = q @ k.T / np.sqrt(2)
    w = np.exp(s - s.max(1, keepdims=True))
    np.testing.assert_allclose(mha.weights[0, 1], w / w.sum(1, keepdims=True), rtol=1e-12)


ATTN = [
    ("additive", lambda rng: AdditiveAttention(4, 6, 5, rng)),
    ("luong-dot", lambda rng: LuongAttention(6, 6, score="dot")),
    ("luong-general", lambda rng: LuongAttention(4, 6, rng, score="general")),
    ("luong-concat", lambda rng: LuongAttention(4, 6, rng, score="concat", attn_size=5)),
]


@pytest.mark.parametrize("name,make", ATTN)
def test_score_attention_gradcheck_with_padding_mask(name, make):
    rng = np.random.default_rng(4)
    attn = make(rng).astype(np.float64)
    q, keys = rng.standard_normal((2, 3, attn.query_size)), rng.standard_normal((2, 5, 6))
    mask = np.ones((2, 5), dtype=bool)
    mask[1, 3:] = False
    errors = check_layer(attn, q, rng, inputs={"keys": keys, "mask": mask})
    assert max(errors.values()) < TOL, errors
    assert set(errors) == {"x", "keys", *attn.params}
    assert not attn.weights[1, :, 3:].any()
    np.testing.assert_allclose(attn.weights.sum(-1), 1.0)


def test_luong_general_and_dot_scores_by_hand():
    rng = np.random.default_rng(5)
    q, k = rng.standard_normal((1, 1, 3)), rng.standard_normal((1, 4, 3))
    dot = LuongAttention(3, 3, score="dot")
    dot.forward(q, keys=k)
    s = (k[0] @ q[0, 0])
    np.testing.assert_allclose(dot.weights[0, 0], np.exp(s) / np.exp(s).sum(), rtol=1e-12)
    gen = LuongAttention(3, 3, rng, score="general").astype(np.float64)
    gen.forward(q, keys=k)
    s = k[0] @ gen.params["W_a"].T @ q[0, 0]
    np.testing.assert_allclose(gen.weights[0, 0], np.exp(s) / np.exp(s).sum(), rtol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda: MultiHeadAttention(10, 3, np.random.default_rng(0)), "num_heads must divide"),
    (lambda: MultiHeadAttention(8, 2, np.random.default_rng(0)).forward(np.zeros((1, 3, 7))), "x must have shape"),
    (lambda: MultiHeadAttention(8, 2, np.random.default_rng(0)).forward(np.zeros((1, 3, 8)), mask=np.ones((4, 4), bool)),
     "does not broadcast"),
    (lambda: scaled_dot_product_attention(np.zeros((1, 2, 3)), np.zeros((1, 2, 4)), np.zeros((1, 2, 4))),
     "same last dimension"),
    (lambda: scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 2))),
     "boolean"),
    (lambda: LuongAttention(3, 4, score="dot"), "query_size == key_size"),
    (lambda: LuongAttention(3, 4, np.random.default_rng(0), score="bilinear"), "score must be one of"),
    (lambda: padding_mask(np.array([5]), 3), "lengths"),
    (lambda: AdditiveAttention(3, 3, 3, np.random.default_rng(0)).forward(np.zeros((1, 1, 3))), "keys must be given"),
])
def test_bad_input_raises_valueerror(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------
# PyTorch parity (float64)
# ---------------------------------------------------------------------------------------------------------

def test_torch_parity_sdpa_with_masks():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    q, k, v = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 5, 3))
    mask = causal_mask(5) & padding_mask(np.array([5, 4]), 5)[:, None]
    out, w, cache = scaled_dot_product_attention(q, k, v, mask)
    dout = rng.standard_normal(out.shape)
    dq, dk, dv = scaled_dot_product_attention_backward(dout, cache)
    tq, tk, tv = (torch.from_numpy(a).requires_grad_(True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(mask))
    tout.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, t in ((dq, tq), (dk, tk), (dv, tv)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_torch_parity_multihead():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    d, h = 8, 2
    mha = _mha_with_biases(d, h, rng)
    x = rng.standard_normal((2, 5, d))
    allow = causal_mask(5)
    out = mha.forward(x, mask=allow)
    dout = rng.standard_normal(out.shape)
    mha.zero_grad()
    dx = mha.backward(dout)
    P = mha.params
    tm = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.from_numpy(np.concatenate([P["W_Q"].T, P["W_K"].T, P["W_V"].T])))
        tm.in_proj_bias.copy_(torch.from_numpy(np.concatenate([P["b_Q"], P["b_K"], P["b_V"]])))
        tm.out_proj.weight.copy_(torch.from_numpy(P["W_O"].T))
        tm.out_proj.bias.copy_(torch.from_numpy(P["b_O"]))
    tx = torch.from_numpy(x).requires_grad_(True)
    tout, tw = tm(tx, tx, tx, attn_mask=torch.from_numpy(~allow), average_attn_weights=False)  # torch: True = blocked
    tout.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mha.weights, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    g_in = tm.in_proj_weight.grad.numpy()
    np.testing.assert_allclose(mha.grads["W_Q"], g_in[:d].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mha.grads["W_V"], g_in[2 * d:].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mha.grads["W_O"], tm.out_proj.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)


def test_torch_parity_bahdanau_and_luong_general():
    """The score formulas written directly in torch autograd: same context and same gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    q, keys = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 6))
    dout = rng.standard_normal((2, 3, 6))
    add = AdditiveAttention(4, 6, 5, rng).astype(np.float64)
    add.params["b"][...] = rng.standard_normal(5) * 0.3
    gen = LuongAttention(4, 6, rng, score="general").astype(np.float64)
    for layer, kind in ((add, "add"), (gen, "gen")):
        ctx = layer.forward(q, keys=keys)
        dq = layer.backward(dout)
        tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in layer.params.items()}
        tq, tk = torch.from_numpy(q).requires_grad_(True), torch.from_numpy(keys).requires_grad_(True)
        if kind == "add":
            e = torch.tanh((tq @ tp["W_q"])[:, :, None] + (tk @ tp["W_k"] + tp["b"])[:, None])
            s = e @ tp["v"]
        else:
            s = tq @ tp["W_a"] @ tk.transpose(1, 2)
        tctx = torch.softmax(s, -1) @ tk
        tctx.backward(torch.from_numpy(dout))
        np.testing.assert_allclose(ctx, tctx.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dq, tq.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.extra_grads["keys"], tk.grad.numpy(), rtol=1e-9, atol=1e-12)
        for k in layer.params:
            np.testing.assert_allclose(layer.grads[k], tp[k].grad.numpy(), rtol=1e-9, atol=1e-12)
