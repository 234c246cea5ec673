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

Files: the encoder–decoders are layers in ``seq2seq.py``; the heads experiment is ``attention_heads.py``, the
√d measurement and the deep dive's worked example ``scaled_dot_product.py``, the recurrence-vs-attention
timing ``encoder_timing.py`` (this module re-exports them). An encoder–decoder is an ``Encoder`` and one
decoder per kind of attention; every model here trains through ``common.training.fit``.

>>> import numpy as np, attention
>>> history = attention.train_seq2seq(attention.make_seq2seq("bahdanau", seed=0), task="reverse", steps=20,
...                                   rng=np.random.default_rng(1))
>>> history.steps, history.batch_loss[-1] < history.batch_loss[0]
(20, True)
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from common._validation import check_choice, check_generator, check_int_pair, check_positive, check_positive_int
from common.layers import Layer
from common.markdown import markdown_table
from common.losses import sequence_cross_entropy
from common.optimizers import Adam
from common.sequence_tasks import SEQ2SEQ_KINDS, Seq2SeqVocab, seq2seq_task, source_positions
from common.training import History, Live, fit
from seq2seq import Seq2Seq
from attention_heads import (HEAD_T, HEAD_VOCAB, HeadsModel, evaluate_heads, head_batches, head_roles,  # noqa: F401
                             head_task, heads_accuracy, heads_loss, train_heads)
from encoder_timing import TIMING_LENGTHS, encoder_timing, timing_table  # noqa: F401
from scaled_dot_product import (SDPA_K, SDPA_Q, SDPA_V, entropy_table, sdpa_backward_table, sdpa_example,  # noqa: F401
                                sdpa_forward_table, sdpa_inputs_table, softmax_entropy_vs_d)

VOCAB = Seq2SeqVocab(12)
#: the three models the chapter compares, by the name the page shows
MODELS = {"none": None, "bahdanau": "bahdanau", "luong": "luong-general"}
MODEL_NAMES = {"none": "No attention", "bahdanau": "Bahdanau (additive)", "luong": "Luong (general)"}
#: every score the chapter trains (the page's three models, then Luong's other two scores): name → (which, luong_score)
VARIANTS = {"none": ("none", "general"), "bahdanau": ("bahdanau", "general"), "luong": ("luong", "general"),
            "luong-dot": ("luong", "dot"), "luong-concat": ("luong", "concat")}
VARIANT_NAMES = {**MODEL_NAMES, "luong-dot": "Luong (dot)", "luong-concat": "Luong (concat)"}


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


def check_lengths(lengths, task: str = "reverse") -> tuple[int, int]:
    """``(low, high)`` as ints, or a ``ValueError`` that says what is wrong: for "sov" the range must hold
    a multiple of 3 (whole subject–object–verb clauses), so 4–5 or 7–8 are refused before any training."""
    check_choice("task", task, SEQ2SEQ_KINDS)
    lo, hi = check_int_pair("lengths", lengths, low_min=1)
    if task == "sov" and hi // 3 < -(-lo // 3):
        raise ValueError(f"lengths must include a multiple of 3 for the SOV task (whole three-word clauses), "
                         f"got {lo}–{hi}: widen the range to hold {3 * (-(-lo // 3))}")
    return lo, hi


def seq2seq_batches(task: str, lengths, batch_size: int):
    """The batch function ``fit`` draws from: one length per batch from ``lengths`` (for "sov" a multiple
    of 3), ``(src, tgt_out, {"tgt_in": tgt_in})``."""
    check_choice("task", task, SEQ2SEQ_KINDS)
    check_positive_int("batch_size", batch_size)
    lo, hi = check_lengths(lengths, task)

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
# The measured tables of README.md and ATTENTION_MATH_DEEP_DIVE.md: python -m tests.regenerate_doc_tables 09
# --------------------------------------------------------------------------------------------------------

DOC_LENGTHS = (4, 6, 8, 10, 12, 14)             # source lengths of the README's accuracy table
#: The page's defaults, which are also the run behind the README's tables and the shipped checkpoint
#: (``seed`` builds the models, ``data_seed`` draws the batches).
PAGE_DEFAULTS = dict(task="reverse", lengths=(4, 10), hidden_size=32, steps=300, batch_size=32, lr=1e-2, seed=0,
                     data_seed=1, luong_score="general", heads=2, head_seed=1)
DOC_RUN = {k: PAGE_DEFAULTS[k] for k in ("task", "lengths", "hidden_size", "steps", "batch_size", "lr", "seed",
                                         "data_seed")}                 # the README's encoder–decoder run
SOV_RUN = dict(DOC_RUN, task="sov", lengths=(3, 12))                    # the README's SOV → SVO run
SOV_LENGTHS = (6, 9, 12, 15)
DOC_HEADS = ((2, 1), (4, 1), (1, 1), (2, 0))     # (heads, seed) of the README's heads table
DOC_HEAD_STEPS = 300
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
CHECKPOINTS = {"reverse": "seq2seq_reverse.npz", "sov": "seq2seq_sov.npz", "heads": "heads.npz"}


def records(table: str) -> list[dict]:
    """A table written by ``_markdown`` as one dict per row (header → cell, code marks dropped): what a
    page shows of a documented table, so the two cannot differ."""
    lines = [[c.strip().strip("`") for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    return [dict(zip(lines[0], row)) for row in lines[2:]]


def train_variant(name: str, run: dict = DOC_RUN, callbacks=()) -> tuple[Seq2Seq, History]:
    """One of ``VARIANTS`` trained with the settings ``run`` (a ``DOC_RUN``-shaped dict)."""
    which, score = VARIANTS[name]
    model = make_seq2seq(which, seed=run["seed"], hidden_size=run["hidden_size"], luong_score=score)
    return model, train_seq2seq(model, task=run["task"], steps=run["steps"], rng=np.random.default_rng(
        run["data_seed"]), lengths=run["lengths"], batch_size=run["batch_size"], lr=run["lr"], callbacks=callbacks)


def doc_runs(names=tuple(VARIANTS)) -> dict:
    """The run behind the README's numbers (``DOC_RUN``): reversal, lengths 4–10, H = 32, batch 32, 300
    steps, Adam 1e-2, seed 0 (data seed 1), for every score. {name: (model, history)}."""
    return {name: train_variant(name, DOC_RUN) for name in names}


def sov_runs() -> dict:
    """``SOV_RUN``: the same settings on SOV → SVO clauses of 3–12 words, for the page's three models."""
    return {name: train_variant(name, SOV_RUN) for name in MODELS}


@functools.lru_cache(maxsize=None)
def _trained(which: str):
    """The runs the doc tables are written from when none are passed, trained once per process (the
    tables of ``DOC_TABLES`` share them: ``python -m tests.regenerate_doc_tables 09`` trains each once)."""
    return {"reverse": doc_runs, "sov": sov_runs, "heads": heads_runs}[which]()


def doc_accuracy(model: Seq2Seq) -> tuple[np.ndarray, np.ndarray]:
    """(token, whole-sequence) accuracy at ``DOC_LENGTHS``, 200 fresh sequences per length (seed 5)."""
    return accuracy_by_length(model, "reverse", DOC_LENGTHS, np.random.default_rng(5))


def sov_accuracy(model: Seq2Seq) -> tuple[np.ndarray, np.ndarray]:
    """(token, whole-sequence) accuracy at ``SOV_LENGTHS``, 200 fresh sequences per length (seed 5)."""
    return accuracy_by_length(model, "sov", SOV_LENGTHS, np.random.default_rng(5))


def accuracy_table(runs=None) -> str:
    """README: token accuracy of greedy decoding for each model of ``doc_runs``."""
    runs = _trained("reverse") if runs is None else runs
    rows = [[VARIANT_NAMES[w], *(f"{a:.1%}" for a in doc_accuracy(m)[0])] for w, (m, _) in runs.items()]
    return markdown_table(["model", *map(str, DOC_LENGTHS)], rows)


def alignment_table(runs=None) -> str:
    """README: at length 8, whole sequences right and where the largest attention weight falls
    (``alignment_offsets``, 100 sequences, seed 3); and for every encoder, how much the first of 10 words
    still moves its final state against the last word (``encoder_influence``, 4 sequences, seed 0)."""
    runs = _trained("reverse") if runs is None else runs
    rows = []
    for w, (m, _) in runs.items():
        seq8 = doc_accuracy(m)[1][DOC_LENGTHS.index(8)]
        if w == "none":
            where = ["–"] * 3
        else:
            off = alignment_offsets(m, "reverse", 8, np.random.default_rng(3))
            where = [f"{np.mean(cond):.1%}" for cond in (off == 0, np.abs(off) <= 1, off == 1)]
        inf = encoder_influence(m, np.random.default_rng(0).integers(0, VOCAB.n_symbols, (4, 10)))
        rows.append([VARIANT_NAMES[w], f"{seq8:.1%}", *where, f"{inf[0] / inf[-1]:.3f}"])
    return markdown_table(["model", "whole sequences right at length 8", "largest weight on the copied word",
                      "within one position of it", "one position to its right",
                      "encoder: ‖∂h_T/∂e_1‖ ÷ ‖∂h_T/∂e_10‖"], rows)


#: How each score compares a decoder state with an encoder state, for the deep dive's table.
SCORE_FORMULAS = {"bahdanau": "vᵀ tanh(s_{t-1} W_q + h̄_j W_k + b)", "luong-dot": "s_t · h̄_j",
                  "luong": "s_t W_a h̄_jᵀ", "luong-concat": "vᵀ tanh([s_t; h̄_j] W_a)"}


def score_params(model: Seq2Seq) -> int:
    """Parameters of the attention score alone (0 for Luong's dot, none without attention)."""
    return sum(v.size for k, v in model.params.items() if k.startswith("decoder.attn."))


def scores_table(runs=None) -> str:
    """Deep dive: every score side by side at length 8 (token and whole-sequence accuracy, alignment within
    one position) with its formula and how many parameters it learns; ``doc_runs``."""
    runs = _trained("reverse") if runs is None else runs
    rows = []
    for w, (m, _) in runs.items():
        tok, seq = doc_accuracy(m)
        i = DOC_LENGTHS.index(8)
        near = "–" if w == "none" else f"{alignment_accuracy(m, 'reverse', 8, np.random.default_rng(3))[1]:.1%}"
        rows.append([VARIANT_NAMES[w], f"`{SCORE_FORMULAS[w]}`" if w in SCORE_FORMULAS else "–",
                     f"{score_params(m):,}", f"{tok[i]:.1%}", f"{tok[i + 1]:.1%}", f"{seq[i]:.1%}", near])
    return markdown_table(["model", "score", "score parameters", "token accuracy at 8", "at 10",
                      "whole sequences at 8", "argmax within one position at 8"], rows)


def sov_table(runs=None) -> str:
    """README: SOV → SVO (``SOV_RUN``): token accuracy at ``SOV_LENGTHS``, whole clauses-sequences right at
    12, and how often the largest weight falls within one position of the copied word at 12."""
    runs = _trained("sov") if runs is None else runs
    rows = []
    for w, (m, _) in runs.items():
        tok, seq = sov_accuracy(m)
        i = SOV_LENGTHS.index(12)
        if w == "none":
            where = ["–", "–"]
        else:
            off = alignment_offsets(m, "sov", 12, np.random.default_rng(3))
            where = [f"{np.mean(off == 0):.1%}", f"{np.mean(np.abs(off) <= 1):.1%}"]
        rows.append([VARIANT_NAMES[w], *(f"{a:.1%}" for a in tok), f"{seq[i]:.1%}", *where])
    return markdown_table(["model", *(f"{L}" for L in SOV_LENGTHS), "whole sequences right at 12",
                      "largest weight on the copied word at 12", "within one position of it"], rows)


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
    runs = _trained("heads") if runs is None else runs
    rows = []
    for (h, seed), model in runs.items():
        roles = head_roles(model, np.random.default_rng(3))
        acc = evaluate_heads(model, np.random.default_rng(4))
        for i in range(h):
            rows.append([h, seed, i, f"{roles[i, 0]:.3f}", f"{roles[i, 1]:.3f}", *(f"{a:.1%}" for a in acc)])
    return markdown_table(["heads", "seed", "head", "weight on the previous token", "weight on the first token",
                      "accuracy: previous token", "accuracy: first token"], rows)


# --------------------------------------------------------------------------------------------------------
# The shipped checkpoints (train_attention.py writes them; the page opens on them)
# --------------------------------------------------------------------------------------------------------

class ModelSet(Layer):
    """Several trained models saved as one checkpoint: each a named child (``"none"``, ``"luong-dot"``,
    ``"h2_s1"``), so ``Layer.save``/``load`` keep every array under ``"name.…"``. Not itself a model."""

    def __init__(self, models: dict) -> None:
        super().__init__()
        for name, model in models.items():
            self.add_child(name, model)

    def forward(self, x, training=False):
        raise ValueError("a ModelSet holds models to save together; call one of its children")


def seq2seq_metrics(runs: dict, task: str) -> dict:
    """What the checkpoint records and ``train_attention.py --check`` compares: per model, the token and
    whole-sequence accuracy at the table's lengths and the last training loss."""
    acc = doc_accuracy if task == "reverse" else sov_accuracy
    out = {}
    for w, (m, h) in runs.items():
        tok, seq = acc(m)
        out[w] = {"token_accuracy": [float(a) for a in tok], "sequence_accuracy": [float(a) for a in seq],
                  "last_loss": float(h.batch_loss[-1]), "steps": h.steps}
    return out


def heads_metrics(runs: dict) -> dict:
    return {f"h{h}_s{seed}": {"accuracy": list(evaluate_heads(m, np.random.default_rng(4))),
                              "roles": head_roles(m, np.random.default_rng(3)).round(6).tolist()}
            for (h, seed), m in runs.items()}


def save_checkpoints(reverse: dict, sov: dict, heads: dict, folder=CHECKPOINT_DIR, script: str = "") -> dict:
    """Write the three checkpoints (``CHECKPOINTS``) from trained runs; returns {kind: meta}."""
    from common.checkpoints import history_arrays
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metas = {}
    for kind, runs, settings in (("reverse", reverse, DOC_RUN), ("sov", sov, SOV_RUN)):
        meta = {"script": script, "settings": {**settings, "lengths": list(settings["lengths"])},
                "lengths": list(DOC_LENGTHS if kind == "reverse" else SOV_LENGTHS),
                "metrics": seq2seq_metrics(runs, kind), "models": list(runs),
                "ms_per_step": {w: ms_per_step(h) for w, (_, h) in runs.items()}}
        extras = {}
        for w, (_, h) in runs.items():
            extras.update(history_arrays(h, w))
        ModelSet({w: m for w, (m, _) in runs.items()}).save(folder / CHECKPOINTS[kind], meta=meta, extras=extras)
        metas[kind] = meta
    meta = {"script": script, "steps": DOC_HEAD_STEPS, "configs": [list(c) for c in heads],
            "metrics": heads_metrics(heads)}
    ModelSet({f"h{h}_s{seed}": m for (h, seed), m in heads.items()}).save(folder / CHECKPOINTS["heads"], meta=meta)
    metas["heads"] = meta
    return metas


def load_seq2seq_checkpoint(kind: str = "reverse", folder=CHECKPOINT_DIR) -> dict:
    """{name: (model, History)} from a shipped seq2seq checkpoint ("reverse" or "sov")."""
    from common.checkpoints import read_history, read_meta
    path = Path(folder) / CHECKPOINTS[kind]
    meta = read_meta(path)
    run = meta["settings"]
    models = {}
    for w in meta["models"]:
        which, score = VARIANTS[w]
        models[w] = make_seq2seq(which, seed=run["seed"], hidden_size=run["hidden_size"], luong_score=score)
    ModelSet(models).load(path)
    return {w: (m, read_history(path, w)) for w, m in models.items()}


def load_heads_checkpoint(folder=CHECKPOINT_DIR) -> dict:
    """{(heads, seed): HeadsModel} from the shipped heads checkpoint."""
    from common.checkpoints import read_meta
    path = Path(folder) / CHECKPOINTS["heads"]
    models = {(h, seed): HeadsModel(h, seed=seed) for h, seed in read_meta(path)["configs"]}
    ModelSet({f"h{h}_s{seed}": m for (h, seed), m in models.items()}).load(path)
    return models


# --------------------------------------------------------------------------------------------------------
# What the page's Train button does
# --------------------------------------------------------------------------------------------------------

def page_run(cfg: dict) -> dict:
    """The ``DOC_RUN``-shaped settings of a page configuration."""
    return {k: cfg[k] for k in DOC_RUN}


def heads_to_train(cfg: dict, kept_heads=None) -> list[int]:
    """The heads counts ``train_page(cfg, kept_heads=…)`` trains, largest first."""
    return [h for h in sorted({cfg["heads"], 1}, reverse=True) if h not in (kept_heads or {})]


def train_page(cfg: dict = PAGE_DEFAULTS, *, callbacks_for=None, on_seq2seq=None, on_heads=None,
               kept_heads=None) -> None:
    """What the page's Train button trains, in order: the three encoder–decoders (no attention, Bahdanau,
    Luong with ``cfg["luong_score"]``), then the ``cfg["heads"]``-head model and the one-head model it is
    compared with (seed ``cfg["head_seed"]``, ``DOC_HEAD_STEPS`` steps), except those in ``kept_heads``
    ({heads: model} the page has with this seed: no sequence-to-sequence setting reaches them, the same seed
    repeats the same run). Called: ``callbacks_for(name)`` for model ``name``'s ``fit`` callbacks, ``on_seq2seq(
    name, model, history)`` as one begins, ``on_heads(h, model)`` as a heads model is done. Lengths checked first."""
    check_lengths(cfg["lengths"], cfg["task"])
    run = page_run(cfg)
    for which in MODELS:
        model = make_seq2seq(which, seed=run["seed"], hidden_size=run["hidden_size"], luong_score=cfg["luong_score"])
        callbacks = list(callbacks_for(which)) if callbacks_for else []
        if on_seq2seq is not None:
            callbacks.insert(0, Live(on_begin=lambda st, w=which: on_seq2seq(w, st.model, st.history)))
        history = train_seq2seq(model, task=run["task"], steps=run["steps"], rng=np.random.default_rng(
            run["data_seed"]), lengths=run["lengths"], batch_size=run["batch_size"], lr=run["lr"], callbacks=callbacks)
        if history.stop_reason:
            return
    for h in sorted({cfg["heads"], 1}, reverse=True):
        model = (kept_heads or {}).get(h)
        if model is None:
            model = HeadsModel(h, seed=cfg["head_seed"])
            if train_heads(model, steps=DOC_HEAD_STEPS, rng=np.random.default_rng(cfg["head_seed"] + 1),
                           callbacks=list(callbacks_for(f"heads-{h}")) if callbacks_for else []).stop_reason:
                return
        if on_heads is not None:
            on_heads(h, model)


def _train_on_arrival() -> None:
    """Train as the page opens: the encoder–decoders; the shipped heads models are kept."""
    shipped, seed = load_heads_checkpoint(), PAGE_DEFAULTS["head_seed"]
    train_page(PAGE_DEFAULTS, kept_heads={h: shipped[(h, seed)] for h in (PAGE_DEFAULTS["heads"], 1)})


#: The page's buttons with their default settings (tests/benchmarks/bench_pages.py times them).
PAGE_ACTIONS = {"Train": _train_on_arrival}


#: Every measured table of the chapter's documents: (document, marker) → the function that writes it.
DOC_TABLES = {
    ("README.md", "seq2seq-accuracy"): accuracy_table,
    ("README.md", "seq2seq-alignment"): alignment_table,
    ("README.md", "heads"): heads_table,
    ("README.md", "sov"): sov_table,
    ("README.md", "encoder-timing"): timing_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "scores"): scores_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-inputs"): sdpa_inputs_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-forward"): sdpa_forward_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "entropy"): entropy_table,
    ("ATTENTION_MATH_DEEP_DIVE.md", "sdpa-backward"): sdpa_backward_table,
}
