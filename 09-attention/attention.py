"""Chapter 09: stop compressing, start looking back.

Two experiments, each a real trained model built from ``common.attention`` and ``common.recurrent``:

1. **Sequence to sequence with reordering** (``common.sequence_tasks.seq2seq_task``): reverse a sequence of
   symbols, or turn subject–object–verb clauses into subject–verb–object. Three LSTM encoder–decoders are
   trained with teacher forcing on the same data: no attention (the decoder sees only the encoder's final
   state), Bahdanau (additive) attention and Luong (multiplicative) attention. We measure accuracy against
   length (greedy decoding), the learned alignment matrices, and how much each input position still
   influences the encoder's final state (the bottleneck).
2. **Self-attention heads that specialise**: one causal multi-head attention layer reads random tokens and
   must output, at every position, both the previous token and the first token of the sequence. With two
   heads, training makes one head look one step back and the other look at position 0.

Plus the √d measurement: the entropy of softmax(q·k) for random q, k as the width d grows, scaled by
1/√d and not.

The encoder–decoders are layers in ``seq2seq.py`` (an ``Encoder`` and one decoder per kind of
attention); every model here trains through ``common.training.fit``.

>>> import numpy as np, attention
>>> history = attention.train_seq2seq(attention.make_seq2seq("bahdanau", seed=0), task="reverse", steps=20,
...                                   rng=np.random.default_rng(1))
>>> history.steps, history.batch_loss[-1] < history.batch_loss[0]
(20, True)
"""

from __future__ import annotations

import numpy as np

from common._validation import check_choice, check_generator, check_positive, check_positive_int
from common.attention import (MultiHeadAttention, causal_mask, masked_softmax, scaled_dot_product_attention,
                              scaled_dot_product_attention_backward)
from common.layers import Dense, Layer
from common.losses import sequence_cross_entropy
from common.optimizers import Adam
from common.recurrent import Embedding
from common.sequence_tasks import SEQ2SEQ_KINDS, Seq2SeqVocab, seq2seq_task, source_positions
from common.training import History, fit
from seq2seq import Seq2Seq

VOCAB = Seq2SeqVocab(12)
#: the three models the chapter compares, by the name the page shows
MODELS = {"none": None, "bahdanau": "bahdanau", "luong": "luong-general"}
MODEL_NAMES = {"none": "No attention", "bahdanau": "Bahdanau (additive)", "luong": "Luong (general)"}


# --------------------------------------------------------------------------------------------------------
# Sequence to sequence
# --------------------------------------------------------------------------------------------------------

def make_seq2seq(which: str, *, seed: int = 0, hidden_size: int = 64, embed_size: int = 32,
                 luong_score: str = "general") -> Seq2Seq:
    """An encoder–decoder over ``VOCAB``: ``which`` is "none", "bahdanau" or "luong" (with
    ``luong_score`` dot, general or concat)."""
    check_choice("which", which, MODELS)
    attention = MODELS[which] if which != "luong" else f"luong-{luong_score}"
    return Seq2Seq(VOCAB.size, VOCAB.size, np.random.default_rng(seed), embed_size=embed_size,
                   hidden_size=hidden_size, attention=attention)


def _length_for(task: str, rng, lo: int, hi: int) -> int:
    if task == "sov":
        return 3 * int(rng.integers(-(-lo // 3), hi // 3 + 1))
    return int(rng.integers(lo, hi + 1))


def _check_lengths(lengths, task: str = "reverse") -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in lengths)
    except (TypeError, ValueError):
        raise ValueError(f"lengths must be a pair (low, high) of integers, got {lengths!r}") from None
    if lo < 1 or hi < lo:
        raise ValueError(f"lengths must satisfy 1 <= low <= high, got {lengths!r}")
    if task == "sov" and hi // 3 < -(-lo // 3):
        raise ValueError(f"lengths must include a multiple of 3 for the SOV task (whole clauses), got {lo}–{hi}")
    return lo, hi


def seq2seq_batches(task: str, lengths, batch_size: int):
    """The batch function ``fit`` draws from: one length per batch from ``lengths`` (for "sov" a multiple
    of 3), ``(src, tgt_out, {"tgt_in": tgt_in})``."""
    check_choice("task", task, SEQ2SEQ_KINDS)
    check_positive_int("batch_size", batch_size)
    lo, hi = _check_lengths(lengths, task)

    def batches(rng):
        src, tgt_in, tgt_out = seq2seq_task(task, batch_size, _length_for(task, rng, lo, hi), rng, VOCAB)
        return src, tgt_out, {"tgt_in": tgt_in}

    return batches


def train_seq2seq(model: Seq2Seq, *, task: str = "reverse", steps: int, rng: np.random.Generator,
                  lengths=(4, 12), batch_size: int = 64, lr: float = 1e-2, clip: float = 5.0,
                  callbacks=()) -> History:
    """Teacher forcing with Adam through ``common.training.fit``: each step one batch of one length drawn
    from ``lengths`` (for "sov", a multiple of 3 in that range), gradients clipped to norm ``clip``.
    Returns fit's ``History`` (``batch_loss`` per step, ``wall_time``); ``callbacks`` go to ``fit``."""
    check_positive_int("steps", steps)
    check_generator("rng", rng)
    check_positive("lr", lr)
    check_positive("clip", clip)
    return fit(model, batches=seq2seq_batches(task, lengths, batch_size), steps_per_epoch=steps, epochs=1,
               loss_fn=sequence_cross_entropy, metric=None, optimizer=Adam(model, lr=lr), rng=rng, clip_norm=clip,
               callbacks=callbacks)


def ms_per_step(history: History) -> float:
    """Milliseconds per training step of a finished run (NaN while it has not finished an epoch)."""
    return 1000 * history.wall_time[-1] / history.steps if history.wall_time else float("nan")


def accuracy_by_length(model: Seq2Seq, task: str, lengths, rng: np.random.Generator, n: int = 200):
    """Greedy-decoding accuracy for each source length: (token accuracy, whole-sequence accuracy), two
    arrays of len(lengths)."""
    check_generator("rng", rng)
    tok, seq = [], []
    for L in lengths:
        src, _, tgt = seq2seq_task(task, n, int(L), rng, VOCAB)
        out = model.greedy_decode(src, int(L), VOCAB.bos)
        tok.append(float(np.mean(out == tgt)))
        seq.append(float(np.mean((out == tgt).all(axis=1))))
    return np.array(tok), np.array(seq)


def alignment(model: Seq2Seq, src: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Greedy output (T,) for one source sequence (T,) and the attention matrix (T_out, T_in) the model
    used while producing it (None without attention)."""
    src = np.asarray(src).reshape(1, -1)
    out = model.greedy_decode(src, src.shape[1], VOCAB.bos)
    w = model.attention_weights
    return out[0], None if w is None else w[0]


def alignment_offsets(model: Seq2Seq, task: str, length: int, rng: np.random.Generator, n: int = 100) -> np.ndarray:
    """Where the largest attention weight of each output position falls, relative to the source word that
    output copies (``source_positions``): (n, length) offsets, 0 exactly on it, +1 one position to its
    right. Greedy decoding of ``n`` fresh sequences."""
    src, _, _ = seq2seq_task(task, n, length, rng, VOCAB)
    model.greedy_decode(src, length, VOCAB.bos)
    if model.attention_weights is None:
        raise ValueError("model has no attention to align with")
    return model.attention_weights.argmax(axis=2) - source_positions(task, length)[None]


def alignment_accuracy(model: Seq2Seq, task: str, length: int, rng: np.random.Generator,
                       n: int = 100) -> tuple[float, float]:
    """How often the largest attention weight of an output position falls on the source word that output
    copies: (exactly there, within one position of it), from ``alignment_offsets``.

    The second number matters because the encoder is unidirectional: its state at j+1 still carries the
    word at j, so a model can retrieve word j by looking one step to its right, and trained models often
    do."""
    dist = np.abs(alignment_offsets(model, task, length, rng, n))
    return float(np.mean(dist == 0)), float(np.mean(dist <= 1))


def encoder_influence(model: Seq2Seq, src: np.ndarray) -> np.ndarray:
    """How much each input position can still move the encoder's final hidden state:
    ``‖∂h_T/∂e_j‖_F`` for every position j (e_j the embedding read at j), averaged over the rows of
    ``src`` (N, T). Returns (T,).

    The whole Jacobian comes from H backward passes done as one batch: the sequence is repeated H times
    and copy k starts the backward pass from the unit vector e_k at h_T.
    """
    src = np.asarray(src)
    N, T = src.shape
    H = model.hidden_size
    enc, emb = model.encoder.rnn, model.encoder.emb
    saved = [g.copy() for _, g in model.parameters()]
    out = np.zeros(T)
    eye = np.eye(H, dtype=emb.params["W"].dtype)
    for row in src:
        reps = np.repeat(row[None], H, axis=0)                          # (H, T)
        enc.forward(emb.forward(reps))
        c0 = np.zeros_like(eye)
        dx = enc.backward(np.zeros((H, T, H), dtype=eye.dtype), state=(eye, c0))   # (H, T, E): row k = ∂h_T[k]/∂e
        out += np.sqrt((dx ** 2).sum(axis=(0, 2)))
    for (_, g), s in zip(model.parameters(), saved):                   # a measurement, not a training step
        g[...] = s
    return out / N


# --------------------------------------------------------------------------------------------------------
# Scaled dot-product: what √d buys
# --------------------------------------------------------------------------------------------------------

def softmax_entropy_vs_d(dims, rng: np.random.Generator, n_keys: int = 16, trials: int = 200):
    """Mean entropy (nats) of softmax(q·kⱼ) over ``n_keys`` keys for q, k with N(0, 1) entries, for each
    width d in ``dims``: (scaled by 1/√d, unscaled). The maximum is log(n_keys) (uniform weights).

    Unscaled, q·k has variance d, so for large d one key takes almost all the weight (entropy → 0) and
    the softmax's gradient vanishes; scaled, the variance stays 1 whatever d is.
    """
    check_generator("rng", rng)
    check_positive_int("n_keys", n_keys)
    scaled, unscaled = [], []
    for d in dims:
        q = rng.standard_normal((trials, 1, int(d)))
        k = rng.standard_normal((trials, n_keys, int(d)))
        s = (q @ k.transpose(0, 2, 1))[:, 0]                                  # (trials, n_keys)
        for store, scores in ((scaled, s / np.sqrt(d)), (unscaled, s)):
            w = masked_softmax(scores)
            store.append(float(np.mean(-(w * np.log(np.clip(w, 1e-300, None))).sum(axis=1))))
    return np.array(scaled), np.array(unscaled)


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


# --------------------------------------------------------------------------------------------------------
# The measured tables of README.md and ATTENTION_MATH_DEEP_DIVE.md: python -m tests.regenerate_doc_tables 09
# --------------------------------------------------------------------------------------------------------

DOC_LENGTHS = (4, 6, 8, 10, 12, 14)             # source lengths of the README's accuracy table
DOC_RUN = dict(task="reverse", lengths=(4, 10), hidden_size=32, steps=300, batch_size=32, lr=1e-2, seed=0,
               data_seed=1)                     # the README's encoder–decoder run
DOC_HEADS = ((2, 1), (4, 1), (1, 1), (2, 0))     # (heads, seed) of the README's heads table
DOC_HEAD_STEPS = 300


def _markdown(header, rows) -> str:
    line = lambda cells: "| " + " | ".join(str(c) for c in cells) + " |"      # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)]) + "\n"


def doc_runs() -> dict:
    """The run behind the README's numbers (``DOC_RUN``): reversal, lengths 4–10, H = 32, batch 32, 300
    steps, Adam 1e-2, seed 0 (data seed 1). {which: (model, history)}."""
    c, out = DOC_RUN, {}
    for which in MODELS:
        model = make_seq2seq(which, seed=c["seed"], hidden_size=c["hidden_size"])
        out[which] = (model, train_seq2seq(model, task=c["task"], steps=c["steps"], rng=np.random.default_rng(
            c["data_seed"]), lengths=c["lengths"], batch_size=c["batch_size"], lr=c["lr"]))
    return out


def doc_accuracy(model: Seq2Seq) -> tuple[np.ndarray, np.ndarray]:
    """(token, whole-sequence) accuracy at ``DOC_LENGTHS``, 200 fresh sequences per length (seed 5)."""
    return accuracy_by_length(model, "reverse", DOC_LENGTHS, np.random.default_rng(5))


def accuracy_table(runs=None) -> str:
    """README: token accuracy of greedy decoding for each model of ``doc_runs``."""
    runs = doc_runs() if runs is None else runs
    rows = [[MODEL_NAMES[w], *(f"{a:.1%}" for a in doc_accuracy(m)[0])] for w, (m, _) in runs.items()]
    return _markdown(["model", *map(str, DOC_LENGTHS)], rows)


def alignment_table(runs=None) -> str:
    """README: at length 8, whole sequences right and where the largest attention weight falls
    (``alignment_offsets``, 100 sequences, seed 3); and for every encoder, how much the first of 10 words
    still moves its final state against the last word (``encoder_influence``, 4 sequences, seed 0)."""
    runs = doc_runs() if runs is None else runs
    rows = []
    for w, (m, _) in runs.items():
        seq8 = doc_accuracy(m)[1][DOC_LENGTHS.index(8)]
        if w == "none":
            where = ["–"] * 3
        else:
            off = alignment_offsets(m, "reverse", 8, np.random.default_rng(3))
            where = [f"{np.mean(cond):.1%}" for cond in (off == 0, np.abs(off) <= 1, off == 1)]
        inf = encoder_influence(m, np.random.default_rng(0).integers(0, VOCAB.n_symbols, (4, 10)))
        rows.append([MODEL_NAMES[w], f"{seq8:.1%}", *where, f"{inf[0] / inf[-1]:.3f}"])
    return _markdown(["model", "whole sequences right at length 8", "largest weight on the copied word",
                      "within one position of it", "one position to its right",
                      "encoder: ‖∂h_T/∂e_1‖ ÷ ‖∂h_T/∂e_10‖"], rows)


def heads_runs(configs=DOC_HEADS) -> dict:
    """{(heads, seed): trained HeadsModel} for the README's table: 300 steps, data seed = seed + 1."""
    out = {}
    for h, seed in configs:
        model = HeadsModel(h, seed=seed)
        train_heads(model, steps=DOC_HEAD_STEPS, rng=np.random.default_rng(seed + 1))
        out[(h, seed)] = model
    return out


def heads_table(runs=None) -> str:
    """README: each head's mean weight on the previous and on the first token (``head_roles``), and the
    accuracy of both read-outs on 1,024 fresh sequences (``evaluate_heads``)."""
    runs = heads_runs() if runs is None else runs
    rows = []
    for (h, seed), model in runs.items():
        roles = head_roles(model, np.random.default_rng(3))
        acc = evaluate_heads(model, np.random.default_rng(4))
        for i in range(h):
            rows.append([h, seed, i, f"{roles[i, 0]:.3f}", f"{roles[i, 1]:.3f}", *(f"{a:.1%}" for a in acc)])
    return _markdown(["heads", "seed", "head", "weight on the previous token", "weight on the first token",
                      "accuracy: previous token", "accuracy: first token"], rows)


def entropy_table() -> str:
    """Deep dive: ``softmax_entropy_vs_d`` for d = 4, 16, 64, 256 (seed 0)."""
    dims = (4, 16, 64, 256)
    sc, un = softmax_entropy_vs_d(dims, np.random.default_rng(0))
    return _markdown(["d", "entropy, scaled", "entropy, unscaled"],
                     [[d, f"{a:.3f}", f"{b:.3f}"] for d, a, b in zip(dims, sc, un)])


#: The deep dive's worked example: one query, three keys and values, d = 2.
SDPA_Q = np.array([[1.0, 0.5]])
SDPA_K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
SDPA_V = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


def sdpa_example() -> dict:
    """The worked example through ``scaled_dot_product_attention`` and its backward with δO = [1, 0]:
    scores s, weights w, output, and ∂L/∂s, ∂L/∂q, ∂L/∂k, ∂L/∂v."""
    out, w, cache = scaled_dot_product_attention(SDPA_Q, SDPA_K, SDPA_V)
    dout = np.array([[1.0, 0.0]])
    dq, dk, dv = scaled_dot_product_attention_backward(dout, cache)
    dw = dout @ SDPA_V.T
    return {"s": (SDPA_Q @ SDPA_K.T)[0], "w": w[0], "out": out[0], "dw": dw[0],
            "ds": (w * (dw - (w * dw).sum()))[0], "dq": dq[0], "dk": dk, "dv": dv}


def _vec(a, fmt=".4f") -> str:
    return "[" + ", ".join(format(x, fmt) for x in a) + "]"


def sdpa_inputs_table() -> str:
    rows = [["q", _vec(SDPA_Q[0], ".1f")]]
    rows += [[f"k{'₁₂₃'[j]}, v{'₁₂₃'[j]}", f"{_vec(SDPA_K[j], '.0f')}, {_vec(SDPA_V[j], '.0f')}"] for j in range(3)]
    return _markdown(["", "vector"], rows)


def sdpa_forward_table() -> str:
    e = sdpa_example()
    return _markdown(["key", "q·k", "q·k/√2", "weight"],
                     [[j + 1, f"{e['s'][j]:.4f}", f"{e['s'][j] / np.sqrt(2):.4f}", f"{e['w'][j]:.4f}"] for j in range(3)])


def sdpa_backward_table() -> str:
    e = sdpa_example()
    return _markdown(["key", "∂L/∂s", "∂L/∂k", "∂L/∂v"],
                     [[j + 1, f"{e['ds'][j]:.4f}", _vec(e["dk"][j]), _vec(e["dv"][j])] for j in range(3)])


#: Every measured table of the chapter's documents: (document, marker) → the function that writes it.
DOC_TABLES = {
    ("README.md", "seq2seq-accuracy"): accuracy_table,
    ("README.md", "seq2seq-alignment"): alignment_table,
    ("README.md", "heads"): heads_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-inputs"): sdpa_inputs_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-forward"): sdpa_forward_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "entropy"): entropy_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-backward"): sdpa_backward_table,
}
