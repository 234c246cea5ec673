"""common.transformer: float64 gradient checks of every new layer (input and every parameter) and of a
whole 2-layer GPT, the fast causal attention against MultiHeadAttention, the causal mask, sampling, the
size formulas, and float64 parity with PyTorch twins of the block, the GPT and the sequence loss."""

import math

import numpy as np
import pytest

from common.attention import MultiHeadAttention, causal_mask
from common.gradcheck import check_layer, rel_error
from common.layers import Dropout
from common.losses import sequence_cross_entropy
from common.transformer import (GPT, CausalSelfAttention, FeedForward, LearnedPositionalEmbedding,
                                PositionalEncoding, TransformerBlock, next_token_distribution, sample,
                                sinusoidal_encoding)

TOL = 1e-7
F64 = np.float64


def _randomize(layer, rng, scale=0.3):
    """Non-trivial values for every parameter (biases and LayerNorm gains included)."""
    for name, p in layer.params.items():
        p[...] = rng.standard_normal(p.shape) * scale + (1.0 if name.endswith("gamma") else 0.0)
    return layer


def _check(errors, layer, name):
    # b_K adds q·b_K to every score of a query's row and softmax ignores a shift of a row, so its true
    # gradient is exactly 0 and both sides are round-off: check it absolutely (as test_attention_layers).
    for key in [k for k in errors if k.endswith("b_K")]:
        errors.pop(key)
        assert np.abs(layer.grads[key]).max() < 1e-12, key
    bad = {k: e for k, e in errors.items() if e >= TOL}
    assert not bad, f"{name}: {bad}"


def _dropout_reset(layer, seed=7):
    drops = [l for _, l in layer.named_layers() if isinstance(l, Dropout)]

    def reset():
        g = np.random.default_rng(seed)
        for d in drops:
            d.rng = g
    return reset


CASES = {
    "PositionalEncoding": lambda rng: (PositionalEncoding(6, 8), rng.standard_normal((2, 5, 8)), {}),
    "LearnedPositionalEmbedding": lambda rng: (LearnedPositionalEmbedding(6, 8, rng, dtype=F64),
                                               rng.standard_normal((2, 5, 8)), {}),
    "FeedForward": lambda rng: (FeedForward(8, 16, rng, dtype=F64), rng.standard_normal((2, 5, 8)), {}),
    "CausalSelfAttention": lambda rng: (CausalSelfAttention(8, 2, rng, dtype=F64), rng.standard_normal((2, 5, 8)), {}),
    "TransformerBlock": lambda rng: (TransformerBlock(8, 2, rng, dtype=F64), rng.standard_normal((2, 5, 8)), {}),
    "TransformerBlock (not causal)": lambda rng: (TransformerBlock(8, 2, rng, causal=False, dtype=F64),
                                                  rng.standard_normal((2, 5, 8)), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_gradients(name):
    rng = np.random.default_rng(0)
    layer, x, kwargs = CASES[name](rng)
    _randomize(layer, rng)
    errors = check_layer(layer, x, rng, **kwargs)
    assert set(errors) == {"x", *layer.params}
    _check(errors, layer, name)


def test_transformer_block_with_dropout_in_training():
    rng = np.random.default_rng(1)
    block = _randomize(TransformerBlock(8, 2, rng, dropout=0.3, dtype=F64), rng)
    reset = _dropout_reset(block)
    errors = check_layer(block, rng.standard_normal((2, 5, 8)), rng, training=True, before_forward=reset)
    _check(errors, block, "dropout block")
    reset()
    a = block.forward(np.ones((2, 5, 8)), training=True)
    assert not np.array_equal(a, block.forward(np.ones((2, 5, 8)), training=False))   # dropout acts


@pytest.mark.parametrize("positions, tied", [("learned", True),
                                             pytest.param("learned", False, marks=pytest.mark.slow),
                                             pytest.param("sinusoidal", True, marks=pytest.mark.slow),
                                             pytest.param(None, False, marks=pytest.mark.slow)])
def test_whole_gpt_gradients_wrt_every_parameter_and_embedding(positions, tied):
    rng = np.random.default_rng(2)
    gpt = GPT(7, 6, 2, 2, 8, rng, positions=positions, tie_weights=tied, dtype=F64)
    _randomize(gpt, rng)
    ids = rng.integers(0, 7, (2, 5))
    errors = check_layer(gpt, ids, rng)
    assert "x" not in errors and set(errors) == set(gpt.params)     # token ids have no gradient
    assert "tok_emb.W" in errors and ("head.W" in errors) is not tied
    _check(errors, gpt, f"GPT {positions} tied={tied}")


def test_causal_attention_equals_multihead_attention_with_the_causal_mask():
    rng = np.random.default_rng(3)
    fast = _randomize(CausalSelfAttention(12, 3, rng, dtype=F64), rng)
    ref = MultiHeadAttention(12, 3, np.random.default_rng(9), dtype=F64)
    for k, p in ref.params.items():
        p[...] = fast.params[k]
    x, dout = rng.standard_normal((2, 7, 12)), rng.standard_normal((2, 7, 12))
    np.testing.assert_allclose(fast.forward(x), ref.forward(x, mask=causal_mask(7)), rtol=0, atol=1e-13)
    np.testing.assert_allclose(fast.extras["weights"], ref.extras["weights"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(fast.extras["heads"], ref.extras["heads"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(fast.backward(dout), ref.backward(dout), rtol=0, atol=1e-12)
    for k in ref.grads:
        np.testing.assert_allclose(fast.grads[k], ref.grads[k], rtol=0, atol=1e-12, err_msg=k)
    # float32, the training dtype: the same to float32 round-off
    f32 = CausalSelfAttention(12, 3, rng)
    for k, p in f32.params.items():
        p[...] = fast.params[k]
    np.testing.assert_allclose(f32.forward(x.astype(np.float32)), ref.forward(x, mask=causal_mask(7)), atol=2e-5)


def test_changing_a_later_token_never_changes_earlier_logits():
    rng = np.random.default_rng(4)
    gpt = GPT(11, 16, 2, 2, 16, rng)
    ids = rng.integers(0, 11, (3, 16))
    base = gpt.forward(ids)
    for t in range(15):
        changed = ids.copy()
        changed[:, t + 1:] = (changed[:, t + 1:] + 1 + rng.integers(0, 10, changed[:, t + 1:].shape)) % 11
        out = gpt.forward(changed)
        np.testing.assert_array_equal(out[:, :t + 1], base[:, :t + 1])      # bit for bit
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:])
    for block in gpt.blocks:
        w = block.attn.extras["weights"]                                     # (N, h, T, T)
        assert not w[..., ~causal_mask(16)].any()                            # exactly 0 above the diagonal
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)


def test_without_positions_attention_sees_a_set():
    """No positions: the first block's output at the last position is the same for two prompts with the
    same characters in another order and the same last character (a causal mask alone cannot order
    them); learned positions can tell them apart."""
    rng = np.random.default_rng(5)
    a, b = np.array([[1, 2, 3, 4, 5]]), np.array([[3, 1, 4, 2, 5]])
    for positions, same in ((None, True), ("learned", False)):
        gpt = _randomize(GPT(7, 8, 2, 2, 8, np.random.default_rng(0), positions=positions, dtype=F64), rng, 0.5)
        gpt.forward(a)
        ra = [r[0, -1].copy() for r in gpt.extras["residual"]]
        gpt.forward(b)
        rb = [r[0, -1] for r in gpt.extras["residual"]]
        assert np.allclose(ra[1], rb[1], rtol=0, atol=1e-12) is same, positions
        assert not np.allclose(ra[2], rb[2])             # the second block sees the first's ordered outputs


def test_gpt_shapes_extras_and_validation():
    rng = np.random.default_rng(6)
    gpt = GPT(9, 8, 3, 2, 8, rng)
    out = gpt.forward(rng.integers(0, 9, (2, 5)))
    assert out.shape == (2, 5, 9) and out.dtype == np.float32
    assert len(gpt.extras["residual"]) == 4 and gpt.extras["residual"][0].shape == (2, 5, 8)
    assert list(gpt.params)[:3] == ["tok_emb.W", "pos_emb.W", "blocks.0.ln1.gamma"]
    assert gpt.backward(rng.standard_normal(out.shape).astype(np.float32)) is None
    for bad, match in ((np.zeros((2, 9), int), "block_size"), (np.zeros(4, int), "shape"),
                       (np.full((1, 3), 9), r"\[0, 8\]")):
        with pytest.raises(ValueError, match=match):
            gpt.forward(bad)
    with pytest.raises(ValueError, match="n_head must divide"):
        GPT(9, 8, 1, 3, 8, rng)
    with pytest.raises(ValueError, match="positions"):
        GPT(9, 8, 1, 2, 8, rng, positions="rotary")
    with pytest.raises(ValueError, match="dropout"):
        TransformerBlock(8, 2, rng, dropout=1.5)


def test_gpt_initialisation_follows_gpt2():
    gpt = GPT(50, 64, 4, 4, 64, np.random.default_rng(0), tie_weights=False)
    P = gpt.params
    assert P["blocks.0.attn.W_Q"].std() == pytest.approx(0.02, rel=0.05)
    assert P["blocks.2.attn.W_O"].std() == pytest.approx(0.02 / math.sqrt(8), rel=0.05)
    assert P["blocks.3.ffn.proj.W"].std() == pytest.approx(0.02 / math.sqrt(8), rel=0.05)
    assert P["tok_emb.W"].std() == pytest.approx(0.02, rel=0.05)
    assert not P["blocks.1.ffn.fc.b"].any() and (P["ln_f.gamma"] == 1).all() and not P["ln_f.beta"].any()


def test_parameter_counts_and_flops():
    L, d, V, T = 4, 128, 65, 64
    gpt = GPT(V, T, L, 4, d, np.random.default_rng(0), tie_weights=True)
    c = gpt.parameter_counts()
    assert c["total"] == gpt.num_params()
    assert c["embeddings"] == V * d + T * d and c["head"] == 0
    assert c["attention"] == L * (4 * d * d + 4 * d) and c["ffn"] == L * (8 * d * d + 5 * d)
    assert c["layernorm"] == (2 * L + 1) * 2 * d
    assert c["attention"] + c["ffn"] - 12 * L * d * d == L * 9 * d                       # 12·L·d² + biases
    f = gpt.flops_per_token()
    assert f["matmul"] == 2 * (12 * L * d * d + V * d) and f["attention"] == 4 * L * T * d
    untied = GPT(V, T, L, 4, d, np.random.default_rng(0))
    assert untied.parameter_counts()["head"] == d * V and untied.num_params() == gpt.num_params() + d * V


def test_sinusoidal_encoding():
    P = sinusoidal_encoding(50, 16)
    assert P.shape == (50, 16)
    np.testing.assert_allclose(P[:, 0], np.sin(np.arange(50)))
    np.testing.assert_allclose(P[:, 1], np.cos(np.arange(50)))
    np.testing.assert_allclose(P[7, 6], math.sin(7 / 10000 ** (6 / 16)))
    np.testing.assert_allclose(P[7, 7], math.cos(7 / 10000 ** (6 / 16)))
    # every pair of columns is a rotation: P[t + k] = R_k P[t] for a fixed R_k per frequency
    w = 10000 ** (-4 / 16)
    R = np.array([[math.cos(3 * w), -math.sin(3 * w)], [math.sin(3 * w), math.cos(3 * w)]])
    np.testing.assert_allclose(P[13:33, 4:6], P[10:30, 4:6] @ R, atol=1e-12)
    assert sinusoidal_encoding(4, 5).shape == (4, 5)


def test_next_token_distribution_temperature_and_top_k():
    z = np.array([[2.0, 1.0, 0.0, -1.0]])
    p1 = next_token_distribution(z)
    np.testing.assert_allclose(p1, np.exp(z) / np.exp(z).sum())
    p_half = next_token_distribution(z, temperature=0.5)
    np.testing.assert_allclose(p_half, np.exp(2 * z) / np.exp(2 * z).sum())
    assert p_half[0, 0] > p1[0, 0]                                      # colder: sharper
    np.testing.assert_array_equal(next_token_distribution(z, temperature=0), [[1, 0, 0, 0]])
    p2 = next_token_distribution(z, top_k=2)
    np.testing.assert_allclose(p2, [[math.e / (math.e + 1), 1 / (math.e + 1), 0, 0]])
    np.testing.assert_allclose(next_token_distribution(z, top_k=10), p1)
    with pytest.raises(ValueError, match="temperature"):
        next_token_distribution(z, temperature=-1)


def test_sample_follows_the_distribution_and_never_picks_zero_probability():
    p = np.array([[0.1, 0.0, 0.6, 0.3]] * 20000)
    draws = sample(p, np.random.default_rng(0))
    counts = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(counts, p[0], atol=0.01)
    assert counts[1] == 0


def test_generate_is_seeded_greedy_and_crops_the_context():
    gpt = GPT(6, 4, 1, 2, 8, np.random.default_rng(0))
    ids = np.array([[1, 2, 3]])
    a = gpt.generate(ids, 10, rng=np.random.default_rng(1))
    assert a.shape == (1, 13) and (a[:, :3] == ids).all()
    np.testing.assert_array_equal(a, gpt.generate(ids, 10, rng=np.random.default_rng(1)))
    greedy = gpt.generate(ids, 5, temperature=0, rng=np.random.default_rng(2))
    for t in range(3, 8):                                                # each token is the argmax
        assert greedy[0, t] == gpt.forward(greedy[:, max(0, t - 4):t])[0, -1].argmax()
    steps = list(gpt.stream(ids, 3, top_k=1, rng=np.random.default_rng(3)))
    assert all(probs.max() == 1.0 for _, probs in steps)


# --------------------------------------------------------------------------------------------------------
# PyTorch twins, float64
# --------------------------------------------------------------------------------------------------------

def _torch_block(block, torch):
    """A torch twin of a causal ``TransformerBlock`` (pre-LN, nn.MultiheadAttention, tanh GELU) holding
    a copy of its weights."""
    nn = torch.nn
    P = {k: torch.tensor(v) for k, v in block.params.items()}
    d, h = block.d_model, block.n_heads

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d, dtype=torch.float64), nn.LayerNorm(d, dtype=torch.float64)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64)
            self.fc, self.proj = nn.Linear(d, block.d_ff, dtype=torch.float64), nn.Linear(block.d_ff, d, dtype=torch.float64)
            with torch.no_grad():
                for ln, k in ((self.ln1, "ln1"), (self.ln2, "ln2")):
                    ln.weight.copy_(P[f"{k}.gamma"])
                    ln.bias.copy_(P[f"{k}.beta"])
                self.attn.in_proj_weight.copy_(torch.cat([P[f"attn.W_{n}"].T for n in "QKV"]))
                self.attn.in_proj_bias.copy_(torch.cat([P[f"attn.b_{n}"] for n in "QKV"]))
                self.attn.out_proj.weight.copy_(P["attn.W_O"].T)
                self.attn.out_proj.bias.copy_(P["attn.b_O"])
                for lin, k in ((self.fc, "ffn.fc"), (self.proj, "ffn.proj")):
                    lin.weight.copy_(P[f"{k}.W"].T)
                    lin.bias.copy_(P[f"{k}.b"])

        def forward(self, x):
            T = x.shape[1]
            blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)       # torch: True = may NOT attend
            a = self.ln1(x)
            x = x + self.attn(a, a, a, attn_mask=blocked, need_weights=False)[0]
            return x + self.proj(nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    return Block()


def _torch_grads(tb, torch):
    """The torch twin's gradients under our parameter names."""
    g = {"ln1.gamma": tb.ln1.weight.grad, "ln1.beta": tb.ln1.bias.grad, "ln2.gamma": tb.ln2.weight.grad,
         "ln2.beta": tb.ln2.bias.grad, "attn.W_O": tb.attn.out_proj.weight.grad.T, "attn.b_O": tb.attn.out_proj.bias.grad,
         "ffn.fc.W": tb.fc.weight.grad.T, "ffn.fc.b": tb.fc.bias.grad, "ffn.proj.W": tb.proj.weight.grad.T,
         "ffn.proj.b": tb.proj.bias.grad}
    for i, n in enumerate("QKV"):
        d = tb.ln1.weight.shape[0]
        g[f"attn.W_{n}"] = tb.attn.in_proj_weight.grad[i * d:(i + 1) * d].T
        g[f"attn.b_{n}"] = tb.attn.in_proj_bias.grad[i * d:(i + 1) * d]
    return {k: v.detach().numpy() for k, v in g.items()}


def test_torch_parity_transformer_block():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    block = _randomize(TransformerBlock(16, 4, rng, dtype=F64), rng)
    tb = _torch_block(block, torch)
    x, dout = rng.standard_normal((3, 9, 16)), rng.standard_normal((3, 9, 16))
    xt = torch.tensor(x, requires_grad=True)
    out_t = tb(xt)
    (out_t * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(block.forward(x), out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(block.backward(dout), xt.grad.numpy(), rtol=0, atol=1e-12)
    for k, g in _torch_grads(tb, torch).items():
        np.testing.assert_allclose(block.grads[k], g, rtol=0, atol=1e-11, err_msg=k)


def test_torch_parity_gpt_and_sequence_loss():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    V, T = 13, 10
    gpt = _randomize(GPT(V, T, 2, 2, 16, rng, tie_weights=True, dtype=F64), rng)
    blocks = [_torch_block(b, torch) for b in gpt.blocks]
    wte = torch.tensor(gpt.params["tok_emb.W"], requires_grad=True)
    wpe = torch.tensor(gpt.params["pos_emb.W"], requires_grad=True)
    ln_f = torch.nn.LayerNorm(16, dtype=torch.float64)
    with torch.no_grad():
        ln_f.weight.copy_(torch.tensor(gpt.params["ln_f.gamma"]))
        ln_f.bias.copy_(torch.tensor(gpt.params["ln_f.beta"]))
    ids, y = rng.integers(0, V, (4, T)), rng.integers(0, V, (4, T))
    x = wte[torch.tensor(ids)] + wpe[:T]
    for b in blocks:
        x = b(x)
    logits_t = ln_f(x) @ wte.T                                              # the tied head
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, V), torch.tensor(y).reshape(-1))
    loss_t.backward()
    logits = gpt.forward(ids)
    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=0, atol=1e-12)
    loss, dlogits = sequence_cross_entropy(logits, y)
    assert loss == pytest.approx(loss_t.item(), abs=1e-13)
    gpt.zero_grad()
    gpt.backward(dlogits)
    np.testing.assert_allclose(gpt.grads["tok_emb.W"], wte.grad.numpy(), rtol=0, atol=1e-12)   # lookup + head
    np.testing.assert_allclose(gpt.grads["pos_emb.W"], wpe.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gpt.grads["ln_f.gamma"], ln_f.weight.grad.numpy(), rtol=0, atol=1e-12)
    for i, tb in enumerate(blocks):
        for k, g in _torch_grads(tb, torch).items():
            np.testing.assert_allclose(gpt.grads[f"blocks.{i}.{k}"], g, rtol=0, atol=1e-12, err_msg=f"{i}.{k}")


def test_torch_parity_sequence_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    logits, y = rng.standard_normal((3, 7, 11)) * 4, rng.integers(0, 11, (3, 7))
    logits[0, 0, 0] = 1e4                                                   # log-sum-exp keeps this finite
    zt = torch.tensor(logits, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt.reshape(-1, 11), torch.tensor(y).reshape(-1))
    lt.backward()
    loss, d = sequence_cross_entropy(logits, y)
    assert loss == pytest.approx(lt.item(), rel=1e-14)
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=1e-15)
    assert rel_error(d, zt.grad.numpy()) < 1e-13
