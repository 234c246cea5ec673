"""Chapter 09's encoder–decoder, as layers: an ``Encoder`` and three decoders (no attention, Bahdanau,
Luong), composed into ``Seq2Seq``. Every piece is a ``common`` layer; this file only wires them.

- ``Encoder``: ``Embedding`` → ``LSTM``. ``forward(src)`` gives the encoder states (N, Ts, H); the final
  state is ``extras["state"]``.
- ``PlainDecoder`` (no attention): ``Embedding`` → ``LSTM`` started from the encoder's final state →
  ``Dense``. It sees nothing else of the source: the bottleneck.
- ``BahdanauDecoder``: at step t the previous decoder state s_{t-1} scores every encoder state
  (``AdditiveAttention``), and the context c_t joins the input: ``s_t = LSTMCell([emb(y_{t-1}); c_t],
  s_{t-1})``. Attention sits inside the recurrence, so the decoder runs its cell step by step.
- ``LuongDecoder``: the decoder LSTM runs first, then its state s_t scores the encoder states
  (``LuongAttention``: dot, general or concat), ``c_t = Σ_j a_tj h̄_j``.

With attention the output is ``h̃_t = tanh([c_t; s_t] W_c + b_c)``, ``logits_t = h̃_t W_out + b``
(Luong's attentional hidden state; used for both, so the two differ only in the score and in where
attention sits). Simplifications, said plainly: one unidirectional encoder layer (Bahdanau used a
bidirectional one), no input feeding in the Luong decoder (so it runs as one sequence layer), and a
batch shares one source length and one target length (the task generators bucket by length), so only
attention needs a padding mask (``src_mask``).

Every decoder follows the sequence contract of ``common.layers``: ``forward(tgt_in, state=…, keys=…,
mask=…)`` → logits; ``extras["weights"]`` (N, Tt, Ts) with attention; ``backward(dlogits)`` fills the
gradients and leaves ``extra_grads["state"]`` and ``extra_grads["keys"]`` for the encoder. Each also has
``step(y, state, keys, mask)``, one greedy-decoding step through the same layers.
"""

from __future__ import annotations

import numpy as np

from common._validation import check_array, check_generator, check_positive_int
from common.attention import AdditiveAttention, LuongAttention, masked_softmax, softmax_backward
from common.layers import Dense, Layer
from common.recurrent import LSTM, Embedding, LSTMCell, LSTMState


def _check_ids(name, ids, vocab):
    ids = check_array(name, ids, ndim=2)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.shape[1] == 0:
        raise ValueError(f"{name} must have at least one position, got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab):
        raise ValueError(f"{name} must hold ids in [0, {vocab - 1}], got range [{ids.min()}, {ids.max()}]")
    return ids


class Encoder(Layer):
    """Embedding → LSTM. src: (N, Ts) ids → encoder states (N, Ts, H); ``extras["state"]`` the final
    ``LSTMState``. ``backward(dstates, state=dfinal)``: the gradients of both reach the embedding."""

    differentiable_extras = ("state",)

    def __init__(self, vocab: int, embed_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float32):
        super().__init__()
        self.vocab = vocab
        self.emb = Embedding(vocab, embed_size, rng, dtype=dtype, std=0.5)
        self.rnn = LSTM(embed_size, hidden_size, rng, dtype=dtype)

    def forward(self, src, training=False):
        src = _check_ids("src", src, self.vocab)
        hs = self.rnn.forward(self.emb.forward(src))
        self.extras = {"state": self.rnn.extras["state"]}
        return hs

    def backward(self, dout, *, state=None):
        return self.emb.backward(self.rnn.backward(dout, state=state))


class _Decoder(Layer):
    """Shared parts: the target embedding first and the read-out last (their order in ``parameters()``
    is the order they are built in, which fixes the random initialisation)."""

    attention = None

    def _check(self, tgt_in):
        return _check_ids("tgt_in", tgt_in, self.vocab)

    def step(self, y, state, keys, mask=None):
        """One greedy-decoding step: previous tokens y: (N,) → (logits (N, V), new state, weights (N, Ts)
        or None), through the same layers as ``forward``."""
        raise NotImplementedError


class PlainDecoder(_Decoder):
    """Embedding → LSTM (from the encoder's final state) → Dense. No attention: ``keys`` are ignored."""

    def __init__(self, vocab, embed_size, hidden_size, rng, dtype=np.float32):
        super().__init__()
        self.vocab = vocab
        self.emb = Embedding(vocab, embed_size, rng, dtype=dtype, std=0.5)
        self.rnn = LSTM(embed_size, hidden_size, rng, dtype=dtype)
        self.out = Dense(hidden_size, vocab, rng, init="xavier_uniform", dtype=dtype)

    def forward(self, tgt_in, training=False, *, state, keys=None, mask=None):
        hs = self.rnn.forward(self.emb.forward(self._check(tgt_in)), state=state)
        self.extras = {}
        return self.out.forward(hs)

    def backward(self, dlogits):
        self.emb.backward(self.rnn.backward(self.out.backward(dlogits)))
        self.extra_grads = {"state": self.rnn.extra_grads["state"], "keys": None}

    def step(self, y, state, keys, mask=None):
        state, _ = self.rnn.cell.step(self.emb.forward(y), state)
        return self.out.forward(state.h), state, None


class _AttentionDecoder(_Decoder):
    """Both attention decoders end the same way: ``h̃ = tanh([c; s] W_c + b_c)``, ``logits = h̃ W_out + b``."""

    def _readout(self, ctx, hs):
        ht = np.tanh(self.combine.forward(np.concatenate([ctx, hs], axis=-1)))
        return self.out.forward(ht), ht

    def _readout_backward(self, dlogits, ht):
        """(∂L/∂context, ∂L/∂decoder state) from ∂L/∂logits."""
        dcat = self.combine.backward(self.out.backward(dlogits) * (1 - ht * ht))
        H = self.hidden_size
        return dcat[..., :H], dcat[..., H:]


class LuongDecoder(_AttentionDecoder):
    """Embedding → LSTM → Luong attention over the encoder states with the decoder's current state →
    combine → Dense. ``score`` is "dot", "general" or "concat"."""

    def __init__(self, vocab, embed_size, hidden_size, rng, score="general", dtype=np.float32):
        super().__init__()
        self.vocab, self.hidden_size, self.attention = vocab, hidden_size, f"luong-{score}"
        self.emb = Embedding(vocab, embed_size, rng, dtype=dtype, std=0.5)
        self.rnn = LSTM(embed_size, hidden_size, rng, dtype=dtype)
        self.attn = LuongAttention(hidden_size, hidden_size, rng, score=score, dtype=dtype)
        self.combine = Dense(2 * hidden_size, hidden_size, rng, init="xavier_uniform", dtype=dtype)
        self.out = Dense(hidden_size, vocab, rng, init="xavier_uniform", dtype=dtype)
        self._ht = None

    def forward(self, tgt_in, training=False, *, state, keys, mask=None):
        hs = self.rnn.forward(self.emb.forward(self._check(tgt_in)), state=state)
        ctx = self.attn.forward(hs, keys=keys, mask=mask)
        logits, self._ht = self._readout(ctx, hs)
        self.extras = {"weights": self.attn.extras["weights"]}
        return logits

    def backward(self, dlogits):
        self._require_cache(self._ht)
        dctx, dhs = self._readout_backward(dlogits, self._ht)
        dq = self.attn.backward(dctx)
        self.emb.backward(self.rnn.backward(dhs + dq))
        self.extra_grads = {"state": self.rnn.extra_grads["state"], "keys": self.attn.extra_grads["keys"]}

    def step(self, y, state, keys, mask=None):
        state, _ = self.rnn.cell.step(self.emb.forward(y), state)
        ctx, w, _ = self.attn.attend(state.h[:, None, :], keys, mask)
        logits, _ = self._readout(ctx[:, 0], state.h)
        return logits, state, w[:, 0]


class BahdanauDecoder(_AttentionDecoder):
    """Embedding → (additive attention with the previous state, then an LSTM cell on [embedding;
    context]) step by step → combine → Dense."""

    attention = "bahdanau"

    def __init__(self, vocab, embed_size, hidden_size, rng, dtype=np.float32):
        super().__init__()
        self.vocab, self.embed_size, self.hidden_size = vocab, embed_size, hidden_size
        self.emb = Embedding(vocab, embed_size, rng, dtype=dtype, std=0.5)
        self.cell = LSTMCell(embed_size + hidden_size, hidden_size, rng, dtype=dtype)
        self.attn = AdditiveAttention(hidden_size, hidden_size, hidden_size, rng, dtype=dtype)
        self.combine = Dense(2 * hidden_size, hidden_size, rng, init="xavier_uniform", dtype=dtype)
        self.out = Dense(hidden_size, vocab, rng, init="xavier_uniform", dtype=dtype)
        self._steps = self._ht = self._keys = None

    def forward(self, tgt_in, training=False, *, state, keys, mask=None):
        """The additive score of ``AdditiveAttention._scores``, written out for the loop: the key side
        ``h̄_j W_k + b`` does not change from one output step to the next, so it is projected once per
        sequence here (and its gradients, ``∂L/∂W_k``, ``∂L/∂b`` and ``∂L/∂h̄`` through W_k, are summed over
        the steps and applied once in ``backward``), not once per step as ``attend`` on its own would.
        ``step`` (greedy decoding) goes through ``attend``; a test checks that the two agree."""
        emb = self.emb.forward(self._check(tgt_in))                     # (N, Tt, E)
        P = self.attn.params
        keys = np.asarray(keys, dtype=emb.dtype)
        pk = keys @ P["W_k"]                                            # (N, Ts, A), once per sequence
        if "b" in P:
            pk += P["b"]
        allowed = None if mask is None else np.asarray(mask, dtype=bool).reshape(keys.shape[:2])
        steps, states, contexts, weights = [], [], [], []
        for t in range(emb.shape[1]):
            h_prev = state.h
            E = np.tanh((h_prev @ P["W_q"])[:, None, :] + pk)           # (N, Ts, A)
            w = masked_softmax(E @ P["v"], allowed)                      # (N, Ts)
            ctx = np.einsum("ns,nsh->nh", w, keys)                       # (N, H)
            state, ccache = self.cell.step(np.concatenate([emb[:, t], ctx], axis=1), state)
            steps.append((h_prev, E, w, ccache))
            states.append(state.h)
            contexts.append(ctx)
            weights.append(w)
        self._steps, self._keys = steps, keys
        logits, self._ht = self._readout(np.stack(contexts, axis=1), np.stack(states, axis=1))
        self.extras = {"weights": np.stack(weights, axis=1)}
        return logits

    def backward(self, dlogits):
        self._require_cache(self._steps)
        dctx, ddec = self._readout_backward(dlogits, self._ht)
        P, G, keys = self.attn.params, self.attn.grads, self._keys
        E_size = self.embed_size
        N, Tt = ddec.shape[:2]
        demb = np.empty((N, Tt, E_size), dtype=ddec.dtype)
        dkeys = np.zeros(keys.shape, dtype=ddec.dtype)
        dpk = np.zeros(keys.shape[:2] + (self.attn.attn_size,), dtype=ddec.dtype)   # Σ over steps
        h_prevs, dpqs = [], []
        dh_carry, dc_carry = None, None
        for t in range(Tt - 1, -1, -1):
            h_prev, E, w, ccache = self._steps[t]
            dh = ddec[:, t] if dh_carry is None else ddec[:, t] + dh_carry
            dinp, (dh_prev, dc_carry) = self.cell.step_backward(LSTMState(dh, dc_carry), ccache)
            demb[:, t] = dinp[:, :E_size]
            dc = dctx[:, t] + dinp[:, E_size:]                           # (N, H): ∂L/∂c_t
            dkeys += w[:, :, None] * dc[:, None, :]                      # c_t = Σ_j w_j h̄_j
            ds = softmax_backward(w, np.einsum("nsh,nh->ns", keys, dc))       # (N, Ts)
            G["v"] += np.einsum("ns,nsa->a", ds, E)
            dP = ds[..., None] * P["v"] * (1 - E * E)                    # (N, Ts, A)
            dpk += dP
            dpq = dP.sum(axis=1)                                         # (N, A)
            h_prevs.append(h_prev)
            dpqs.append(dpq)
            dh_carry = dh_prev + dpq @ P["W_q"].T
        G["W_q"] += np.concatenate(h_prevs).T @ np.concatenate(dpqs)
        G["W_k"] += keys.reshape(-1, keys.shape[2]).T @ dpk.reshape(-1, dpk.shape[2])
        if "b" in P:
            G["b"] += dpk.reshape(-1, dpk.shape[2]).sum(axis=0)
        dkeys += dpk @ P["W_k"].T
        self.emb.backward(demb)
        self.extra_grads = {"state": LSTMState(dh_carry, dc_carry), "keys": dkeys}

    def step(self, y, state, keys, mask=None):
        ctx, w, _ = self.attn.attend(state.h[:, None, :], keys, mask)
        state, _ = self.cell.step(np.concatenate([self.emb.forward(y), ctx[:, 0]], axis=1), state)
        logits, _ = self._readout(ctx[:, 0], state.h)
        return logits, state, w[:, 0]


class Seq2Seq(Layer):
    """An encoder and a decoder, trained with teacher forcing and decoded greedily.

    ``attention``: None, "bahdanau", "luong-dot", "luong-general" or "luong-concat".

    Shapes: src: (N, Ts) ints; tgt_in: (N, Tt) ints (BOS then the target shifted right: teacher forcing
    feeds the true previous token); logits: (N, Tt, V_tgt); ``attention_weights``: (N, Tt, Ts) from the
    last forward or decode (None without attention).

    ``forward(src, tgt_in=…, src_mask=…)`` follows the sequence contract (the decoder's input is an extra
    input), so ``common.training.fit`` trains it on batches ``(src, tgt_out, {"tgt_in": tgt_in})``.
    """

    ATTENTIONS = (None, "bahdanau", "luong-dot", "luong-general", "luong-concat")

    def __init__(self, src_vocab: int, tgt_vocab: int, rng: np.random.Generator, *, embed_size: int = 32,
                 hidden_size: int = 64, attention: str | None = "bahdanau", dtype=np.float32) -> None:
        super().__init__()
        if attention not in self.ATTENTIONS:
            raise ValueError(f"attention must be one of {list(self.ATTENTIONS)}, got {attention!r}")
        for name, v in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab), ("embed_size", embed_size),
                        ("hidden_size", hidden_size)):
            check_positive_int(name, v)
        check_generator("rng", rng)
        self.attention, self.src_vocab, self.tgt_vocab = attention, src_vocab, tgt_vocab
        self.embed_size, self.hidden_size = embed_size, hidden_size
        self.encoder = Encoder(src_vocab, embed_size, hidden_size, rng, dtype=dtype)
        if attention is None:
            self.decoder = PlainDecoder(tgt_vocab, embed_size, hidden_size, rng, dtype=dtype)
        elif attention == "bahdanau":
            self.decoder = BahdanauDecoder(tgt_vocab, embed_size, hidden_size, rng, dtype=dtype)
        else:
            self.decoder = LuongDecoder(tgt_vocab, embed_size, hidden_size, rng, score=attention.split("-")[1],
                                        dtype=dtype)
        self.attention_weights = None
        self._keys_shape = None

    def _check_mask(self, src_mask, shape):
        if src_mask is not None and np.shape(src_mask) != shape:
            raise ValueError(f"src_mask must have shape {shape}, got {np.shape(src_mask)}")
        return src_mask

    def forward(self, src, training=False, *, tgt_in, src_mask=None):
        """Logits (N, Tt, V_tgt) with teacher forcing."""
        keys = self.encoder.forward(src)
        self._keys_shape = keys.shape
        mask = self._check_mask(src_mask, keys.shape[:2])
        logits = self.decoder.forward(tgt_in, state=self.encoder.extras["state"], keys=keys, mask=mask)
        self.attention_weights = self.decoder.extras.get("weights")
        self.extras = {} if self.attention_weights is None else {"weights": self.attention_weights}
        return logits

    def backward(self, dlogits):
        """Backpropagate dlogits: (N, Tt, V_tgt) through the decoder, then the encoder (its states get
        the attention's key gradients, its final state the decoder's initial-state gradient)."""
        self.decoder.backward(dlogits)
        g = self.decoder.extra_grads
        dkeys = g["keys"] if g["keys"] is not None else np.zeros(self._keys_shape, dtype=dlogits.dtype)
        return self.encoder.backward(dkeys, state=g["state"])

    def greedy_decode(self, src, max_len: int, bos: int, src_mask=None) -> np.ndarray:
        """Feed back the argmax token each step (no teacher), one ``decoder.step`` at a time. Returns
        tokens (N, max_len); the attention weights are in ``attention_weights`` (N, max_len, Ts)."""
        check_positive_int("max_len", max_len)
        if isinstance(bos, (bool, np.bool_)) or not isinstance(bos, (int, np.integer)) or not 0 <= bos < self.tgt_vocab:
            raise ValueError(f"bos must be an integer token id in [0, {self.tgt_vocab - 1}], got {bos!r}")
        keys = self.encoder.forward(src)
        mask = self._check_mask(src_mask, keys.shape[:2])
        state = self.encoder.extras["state"]
        N = keys.shape[0]
        y = np.full(N, bos, dtype=np.int64)
        out, weights = np.empty((N, max_len), dtype=np.int64), []
        for t in range(max_len):
            logits, state, w = self.decoder.step(y, state, keys, mask)
            if w is not None:
                weights.append(w)
            y = logits.argmax(axis=1)
            out[:, t] = y
        self.attention_weights = np.stack(weights, axis=1) if weights else None
        return out

    def __repr__(self):
        return (f"Seq2Seq(attention={self.attention!r}, E={self.embed_size}, H={self.hidden_size}, "
                f"params={self.num_params()})")
