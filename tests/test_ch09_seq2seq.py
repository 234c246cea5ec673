"""Chapter 09's encoder–decoder layers (seq2seq.py): float64 gradient checks of every decoder through
the encoder, greedy decoding against teacher forcing, and clear errors."""

import numpy as np
import pytest

from common.gradcheck import numerical_gradient, rel_error
from seq2seq import Seq2Seq


@pytest.mark.parametrize("attention", Seq2Seq.ATTENTIONS)
def test_seq2seq_gradcheck(attention):
    rng = np.random.default_rng(6)
    model = Seq2Seq(7, 6, rng, embed_size=3, hidden_size=4, attention=attention).astype(np.float64)
    for name, p in model.params.items():
        if name.startswith("decoder.attn."):
            p *= 3.0          # sharper attention: larger, better-conditioned gradients to compare
    src, tgt_in = rng.integers(0, 7, (2, 5)), rng.integers(0, 6, (2, 4))
    smask = None if attention is None else np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    f = lambda: model.forward(src, tgt_in=tgt_in, src_mask=smask)        # noqa: E731
    logits = f()
    assert logits.shape == (2, 4, 6)
    dout = rng.standard_normal(logits.shape)
    model.zero_grad()
    f()
    assert model.backward(dout) is None                                     # token ids have no gradient
    errors = {k: rel_error(model.grads[k], numerical_gradient(f, p, dout)) for k, p in model.params.items()}
    # Bound 1e-6, not 1e-7: the gradient passes through two recurrences, attention and tanh read-outs, and
    # the largest errors sit on entries whose true gradient is ~1e-6 (round-off of the centred difference).
    assert max(errors.values()) < 1e-6, sorted(errors.items(), key=lambda kv: -kv[1])[:3]
    if attention is not None:
        assert not model.attention_weights[0, :, 4].any()


@pytest.mark.parametrize("attention", [None, "bahdanau", "luong-general"])
def test_greedy_decode_matches_teacher_forcing_on_its_own_output(attention):
    """Feeding the greedy output back as the teacher-forced input gives the same argmaxes and the same
    attention weights: the stepwise decoder and the batched training path are the same model."""
    rng = np.random.default_rng(7)
    model = Seq2Seq(9, 8, rng, embed_size=5, hidden_size=6, attention=attention).astype(np.float64)
    src = rng.integers(0, 9, (3, 6))
    out = model.greedy_decode(src, 5, bos=0)
    w_greedy = model.attention_weights
    tgt_in = np.concatenate([np.zeros((3, 1), dtype=np.int64), out[:, :-1]], axis=1)
    logits = model.forward(src, tgt_in=tgt_in)
    np.testing.assert_array_equal(logits.argmax(-1), out)
    if attention is not None:
        np.testing.assert_allclose(model.attention_weights, w_greedy, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0), attention="luong"), "attention must be one of"),
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0)).forward(np.array([[7]]), tgt_in=np.array([[0]])),
     "src must hold ids"),
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0)).greedy_decode(np.array([[1]]), 3, bos=-1), "bos must be"),
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0)).greedy_decode(np.array([[1]]), 3, bos=1.5), "bos must be"),
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0)).greedy_decode(np.array([[1]]), 3, bos=99), "bos must be"),
    (lambda: Seq2Seq(5, 5, np.random.default_rng(0)).forward(np.zeros((1, 0), int), tgt_in=np.array([[0]])),
     "at least one position"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
