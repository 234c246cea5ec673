"""Chapter 08: recurrent networks remembering a subject.

The task ("who was the subject?", ``common.sequence_tasks.subject_task``): a sentence starts with a
subject (teacher, doctor, farmer, pilot), continues with filler words that carry no information, and
ends with "who?". The answer is the first word. A model that answers correctly after k fillers has
carried the subject through k steps of irrelevant input.

What this module adds to ``common.recurrent``: the classifier (Embedding → RNN/LSTM/GRU → Dense read at
every step, a ``Layer`` with three children), the batches it trains on (one random length per batch,
through ``common.training.fit``), and the measurements the playground and the deep-dive show —
accuracy against sentence length, per-step confidence in each subject, how much gradient reaches each
earlier hidden state, and the LSTM's gates over a sentence.

>>> import numpy as np, rnn
>>> model = rnn.SubjectClassifier("lstm", np.random.default_rng(0))
>>> history = rnn.train(model, steps=200, rng=np.random.default_rng(1))
>>> history.steps, rnn.accuracy_by_length(model, [5, 20], np.random.default_rng(2)).round(2).tolist()
(200, [1.0, 1.0])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common._validation import check_choice, check_generator, check_int_pair, check_positive, check_positive_int
from common.checkpoints import history_arrays, read_history, read_meta
from common.layers import Dense, Layer
from common.markdown import markdown_table
from common.losses import softmax_cross_entropy
from common.optimizers import Adam
from common.recurrent import RECURRENT_LAYERS, RNN, Embedding
from common.sequence_tasks import VOCAB, subject_task
from common.training import History, fit

MODEL_KINDS = ("rnn", "lstm", "gru")
MODEL_NAMES = {"rnn": "Vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
N_SUBJECTS = len(VOCAB.subjects)
CHANCE = 1.0 / N_SUBJECTS


class SubjectClassifier(Layer):
    """Embedding(V, E) → recurrent layer (H) → Dense(H, S) applied to every hidden state.

    Shapes: X: (N, T) token ids; logits: (N, T, S) — the prediction after each word; the answer is
    the one read at the last position (the "who?" token). Trained on that last position only
    (``last_word_cross_entropy``). Children: ``emb``, ``rec``, ``out``.
    """

    def __init__(self, kind: str, rng: np.random.Generator, *, embed_size: int = 16, hidden_size: int = 32,
                 layer_norm: bool = False, forget_bias: float = 1.0, dtype=np.float32) -> None:
        super().__init__()
        check_choice("kind", kind, MODEL_KINDS)
        check_generator("rng", rng)
        check_positive_int("embed_size", embed_size)
        check_positive_int("hidden_size", hidden_size)
        self.kind, self.hidden_size, self.layer_norm = kind, hidden_size, layer_norm
        kwargs = {"forget_bias": forget_bias} if kind == "lstm" else {}
        self.emb = Embedding(VOCAB.size, embed_size, rng, dtype=dtype)
        self.rec = RECURRENT_LAYERS[kind](embed_size, hidden_size, rng, dtype=dtype, layer_norm=layer_norm,
                                          **kwargs)
        self.out = Dense(hidden_size, N_SUBJECTS, rng, init="xavier_uniform", dtype=dtype)
        self._hs = None

    @property
    def name(self) -> str:
        return MODEL_NAMES[self.kind] + (" + LayerNorm" if self.layer_norm else "")

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits after every word: (N, T, S)."""
        self._hs = self.rec.forward(self.emb.forward(X))
        return self.out.forward(self._hs)

    def hidden_states(self) -> np.ndarray:
        """(N, T, H) from the last forward."""
        return self._hs

    def backward(self, dlogits: np.ndarray) -> None:
        """dlogits: (N, T, S) (zeros where a step is not scored). The input is token ids: returns None."""
        return self.emb.backward(self.rec.backward(self.out.backward(dlogits)))

    def predict_proba(self, X) -> np.ndarray:
        """Softmax over the subjects after every word: (N, T, S)."""
        logits = self.forward(X)
        z = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    def __repr__(self):
        return f"SubjectClassifier({self.name}, H={self.hidden_size}, params={self.num_params()})"


def last_word_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss ``fit`` trains with: cross-entropy of the prediction at the last word only.
    logits: (N, T, S); y: (N,); returns (loss, dlogits (N, T, S), zero except at the last step)."""
    loss, d_last = softmax_cross_entropy(logits[:, -1], y)
    dlogits = np.zeros_like(logits)
    dlogits[:, -1] = d_last
    return loss, dlogits


def last_word_accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(logits[:, -1].argmax(axis=1) == y))


def subject_batches(fillers: tuple[int, int], batch_size: int):
    """The batch function ``fit`` draws from: each call one batch of ``batch_size`` sentences with one
    number of fillers drawn uniformly from ``fillers`` (inclusive)."""
    lo, hi = _check_range(fillers)
    check_positive_int("batch_size", batch_size)

    def batches(rng):
        return subject_task(batch_size, int(rng.integers(lo, hi + 1)), rng)

    return batches


def train(model: SubjectClassifier, *, steps: int, rng: np.random.Generator, fillers: tuple[int, int] = (1, 10),
          batch_size: int = 32, lr: float = 1e-2, clip: float = 5.0, callbacks=()) -> History:
    """Adam on ``steps`` batches of ``subject_batches``, gradients clipped to global norm ``clip``:
    ``common.training.fit``, whose ``History`` is the run's record (``batch_loss`` and ``batch_metric``,
    the accuracy at the last word, per step; ``wall_time``). ``callbacks`` go to ``fit``: ``Live`` for a
    page's progress and curves, ``StopWhen`` for a stop button."""
    check_positive_int("steps", steps)
    check_generator("rng", rng)
    check_positive("lr", lr)
    check_positive("clip", clip)
    return fit(model, batches=subject_batches(fillers, batch_size), steps_per_epoch=steps, epochs=1,
               loss_fn=last_word_cross_entropy, metric=last_word_accuracy, optimizer=Adam(model, lr=lr), rng=rng,
               clip_norm=clip, callbacks=callbacks)


def moving_average(values, window: int = 20) -> np.ndarray:
    """The mean of the last ``window`` values at every step (fewer at the start): a per-step curve
    (``History.batch_loss``) smoothed for a plot."""
    check_positive_int("window", window)
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _check_range(fillers) -> tuple[int, int]:
    return check_int_pair("fillers", fillers, low_min=0)


def accuracy_by_length(model: SubjectClassifier, fillers, rng: np.random.Generator, n: int = 256) -> np.ndarray:
    """Accuracy on ``n`` fresh sentences for each number of fillers in ``fillers``."""
    check_generator("rng", rng)
    check_positive_int("n", n)
    out = []
    for k in fillers:
        X, y = subject_task(n, int(k), rng)
        out.append(float(np.mean(model.forward(X)[:, -1].argmax(axis=1) == y)))
    return np.array(out)


def gradient_through_time(model: SubjectClassifier, n_fillers: int, rng: np.random.Generator,
                          n: int = 64) -> np.ndarray:
    """``‖∂L/∂h_t‖`` for every position t of sentences with ``n_fillers`` fillers, averaged over ``n``
    sentences, where L is the loss of the answer at the last word: how much of the error signal reaches
    each earlier hidden state. Returns (T,) with T = n_fillers + 2; index T-1 is the last word."""
    check_positive_int("n", n)
    X, y = subject_task(n, n_fillers, rng)
    logits = model.forward(X)
    _, dlogits = last_word_cross_entropy(logits, y)
    dlogits *= n                                   # per-sentence loss, not the batch mean
    saved = [g.copy() for _, g in model.parameters()]
    dh = model.out.backward(dlogits)
    model.rec.backward(dh)
    norms = np.linalg.norm(model.rec.extra_grads["hs"], axis=2).mean(axis=0)
    for (_, g), s in zip(model.parameters(), saved):   # a measurement, not a training step
        g[...] = s
    return norms


def gates_over_sentence(model: SubjectClassifier, X: np.ndarray) -> dict[str, np.ndarray]:
    """The gates of the last forward over one sentence X: (1, T), each (T, H) — i, f, o, g and the
    cell c for an LSTM; r, z and n for a GRU."""
    if model.kind == "rnn":
        raise ValueError("model must be an LSTM or a GRU to have gates, got the vanilla RNN")
    model.forward(np.asarray(X).reshape(1, -1))
    return {k: v[0] for k, v in model.rec.gate_activations().items()}


def example_sentence(subject: int, n_fillers: int, rng: np.random.Generator) -> np.ndarray:
    """One sentence (T,) with the given subject index."""
    check_choice("subject", subject, range(N_SUBJECTS))
    X, _ = subject_task(1, n_fillers, rng)
    X[0, 0] = subject
    return X[0]


def train_all(kinds=MODEL_KINDS, *, steps: int, seed: int = 0, fillers=(1, 10), hidden_size: int = 32,
              layer_norm: bool = False, lr: float = 1e-2, batch_size: int = 32):
    """Train one model of each kind with the same data stream; returns {kind: (model, history)}."""
    result = {}
    for kind in kinds:
        model = SubjectClassifier(kind, np.random.default_rng(seed), hidden_size=hidden_size, layer_norm=layer_norm)
        result[kind] = (model, train(model, steps=steps, rng=np.random.default_rng(seed + 1), fillers=fillers,
                                     lr=lr, batch_size=batch_size))
    return result


# ---------------------------------------------------------------------------------------------------------
# The page's default run, shipped as checkpoints (train_rnn.py writes them, the page opens on them)
# ---------------------------------------------------------------------------------------------------------

#: The playground's default settings; the shipped checkpoints are this run.
PAGE_DEFAULTS = {"kinds": MODEL_KINDS, "fillers": (5, 15), "hidden": 32, "steps": 300, "lr": 1e-2,
                 "layer_norm": False, "seed": 0}
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SCRIPT = "08-rnn/train_rnn.py"


def train_one(kind: str, *, fillers=(5, 15), hidden: int = 32, steps: int = 300, lr: float = 1e-2,
              layer_norm: bool = False, seed: int = 0, callbacks=()) -> tuple[SubjectClassifier, History]:
    """One model as the page trains it: initial weights from seed ``seed``, sentences from ``seed + 1``
    (so every kind sees the same stream). Returns (model, History)."""
    model = SubjectClassifier(kind, np.random.default_rng(seed), hidden_size=hidden, layer_norm=layer_norm)
    history = train(model, steps=steps, rng=np.random.default_rng(seed + 1), fillers=tuple(fillers), lr=lr,
                    callbacks=callbacks)
    return model, history


def checkpoint_path(kind: str, folder=None) -> Path:
    check_choice("kind", kind, MODEL_KINDS)
    return Path(CHECKPOINT_DIR if folder is None else folder) / f"subject_{kind}.npz"


def run_metrics(model: SubjectClassifier, history: History) -> dict:
    """What a checkpoint records about its run and the script's ``--check`` compares: the accuracy at
    ``DOC_LENGTHS`` (``doc_accuracy``), the mean batch accuracy and loss of the last 50 steps, the steps."""
    return {"steps": history.steps, "doc_lengths": list(DOC_LENGTHS),
            "doc_accuracy": [float(a) for a in doc_accuracy(model)],
            "last50_batch_accuracy": float(np.mean(history.batch_metric[-50:])),
            "last50_batch_loss": float(np.mean(history.batch_loss[-50:]))}


def save_run(path, model: SubjectClassifier, history: History, settings: dict, **record) -> Path:
    """``Layer.save`` with the settings, ``run_metrics`` and ``record`` in ``meta`` and the history in
    ``extras`` (prefix ``"run"``)."""
    meta = {"script": SCRIPT, "kind": model.kind, "settings": _jsonable(settings), **run_metrics(model, history),
            **record}
    return model.save(path, meta=meta, extras=history_arrays(history, "run"))


def load_run(path) -> tuple[SubjectClassifier, History, dict]:
    """A checkpoint written by ``save_run``: (model, its training History, meta)."""
    meta = read_meta(path)
    s = meta["settings"]
    model = SubjectClassifier(meta["kind"], np.random.default_rng(0), hidden_size=s["hidden"],
                              layer_norm=s["layer_norm"])
    model.load(path)
    return model, read_history(path, "run"), meta


def load_default_runs(folder=None) -> dict[str, tuple[SubjectClassifier, History, dict]]:
    """The shipped checkpoints of the page's default run: {kind: (model, history, meta)}."""
    return {kind: load_run(checkpoint_path(kind, folder)) for kind in PAGE_DEFAULTS["kinds"]}


def _jsonable(settings: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def _train_defaults() -> None:
    for kind in PAGE_DEFAULTS["kinds"]:
        train_one(kind, **{k: v for k, v in PAGE_DEFAULTS.items() if k != "kinds"})


#: The page's buttons with their default settings (``tests/benchmarks/bench_pages.py 08``).
PAGE_ACTIONS = {"Train (RNN, LSTM, GRU · 300 steps · fillers 5–15)": _train_defaults}


# ---------------------------------------------------------------------------------------------------------
# What the page's word-by-word view measures
# ---------------------------------------------------------------------------------------------------------

def changes_its_mind(right: np.ndarray) -> np.ndarray:
    """The post's "changes its mind": the top answer is the true subject after at least one filler
    (somewhere strictly between the subject and who?) and is no longer it at who?.
    right: (..., T) booleans, the top answer after each word == the subject; returns (...,) booleans."""
    right = np.asarray(right, dtype=bool)
    return right[..., 1:-1].any(axis=-1) & ~right[..., -1]


def mind_change_step(right: np.ndarray) -> int | None:
    """For one sentence (right: (T,)), the position of the word after which the model last drops the true
    subject for good, when it ``changes_its_mind``; else None."""
    right = np.asarray(right, dtype=bool)
    if not changes_its_mind(right):
        return None
    last_right = int(np.flatnonzero(right[:-1])[-1])
    return last_right + 1


def mind_rates(model: SubjectClassifier, n_fillers: int, rng: np.random.Generator, n: int = 200) -> tuple[float, float]:
    """On ``n`` fresh sentences with ``n_fillers`` fillers: the fraction in which the model
    ``changes_its_mind``, and the fraction it answers right at who?."""
    check_positive_int("n", n)
    X, y = subject_task(n, int(n_fillers), rng)
    right = model.forward(X).argmax(axis=2) == y[:, None]                    # (N, T)
    return float(changes_its_mind(right).mean()), float(right[:, -1].mean())


def word_by_word_verdict(story: dict, words, subject: str, n_fillers: int) -> str | None:
    """The page's word-by-word reading against the post's "you'll see exactly the step where Vanilla RNN
    changes its mind and LSTM doesn't". ``story[kind]`` for "rnn" and "lstm" holds what the page shows:
    ``right`` (T,) (top answer == subject after each word), ``step`` (``mind_change_step``), ``answer``
    (at who?), ``changed`` and ``acc`` (``mind_rates`` at this length). Returns None when the shown
    sentence agrees with the post (the RNN changes its mind, the LSTM holds to a right answer), else the
    measured sentence, built from those numbers."""
    r, m = story["rnn"], story["lstm"]
    if r["step"] is not None and m["step"] is None and m["right"][-1]:
        return None

    def reading(name, s):
        if s["step"] is not None:
            return f"the {name} changes its mind after *{words[s['step'] - 1]}* (word {s['step'] - 1}) and answers {s['answer']}"
        if s["right"][-1]:
            return f"the {name} answers {subject} at who? and does not change its mind"
        return (f"the {name} never has {subject} as its top answer after a filler word, so it has no mind to change: "
                f"it answers {s['answer']}")

    return (f"On this sentence {reading('vanilla RNN', r)}; {reading('LSTM', m)}. Over 200 sentences with "
            f"{n_fillers} fillers the vanilla RNN changes its mind on {_pct(r['changed'])} and is right at who? on "
            f"{_pct(r['acc'])} (chance {_pct(CHANCE)}); the LSTM on {_pct(m['changed'])} and {_pct(m['acc'])}.")


def _pct(fraction: float) -> str:
    from common.plots import fmt_pct
    return fmt_pct(fraction)


def memory_paths(model: SubjectClassifier, n_fillers: int = 20, rng: np.random.Generator | None = None,
                 n: int = 256) -> dict:
    """What a trained LSTM or GRU carries across the fillers, on ``n`` sentences with ``n_fillers``:

    - ``keep`` (H,): per unit, the product over the filler steps of the factor the additive path
      multiplies the old value (and its gradient) by — f_t on the LSTM's cell, 1 − z_t on the GRU's
      state — averaged over the sentences;
    - ``gate`` and ``gate_by_subject`` (S, H): the mean of that gate (f, or the update gate z) over the
      filler steps, overall and per unit for the sentences of each subject;
    - ``loss``: the cross-entropy of the answer at who?.
    """
    if model.kind == "rnn":
        raise ValueError("model must be an LSTM or a GRU to have a gated path, got the vanilla RNN")
    X, y = subject_task(n, n_fillers, np.random.default_rng(7) if rng is None else rng)
    loss, _ = last_word_cross_entropy(model.forward(X), y)
    gates = model.rec.gate_activations()
    gate = (gates["f"] if model.kind == "lstm" else gates["z"])[:, 1:-1]         # (N, fillers, H)
    factor = gate if model.kind == "lstm" else 1 - gate
    return {"loss": float(loss), "keep": np.prod(factor, axis=1).mean(axis=0), "gate": float(gate.mean()),
            "gate_by_subject": np.stack([gate[y == s].mean(axis=(0, 1)) for s in range(N_SUBJECTS)])}


# ---------------------------------------------------------------------------------------------------------
# The measured tables of README.md and RNN_DEEP_DIVE.md: python -m tests.regenerate_doc_tables 08
# ---------------------------------------------------------------------------------------------------------

DOC_LENGTHS = (0, 2, 5, 10, 15, 20, 30, 40)      # fillers at which the accuracy tables are read
DOC_STEPS = 300                                  # the playground's defaults: H = 32, Adam 1e-2, batch 32
SWEEP_RANGES = ((2, 5), (1, 10), (5, 15))        # the original repository's range, and the page's two
SWEEP_SEEDS = (0, 1, 2, 3, 4)




def doc_accuracy(model: SubjectClassifier) -> np.ndarray:
    """Accuracy at every length of ``DOC_LENGTHS``, on 256 fresh sentences per length (seed 123)."""
    return accuracy_by_length(model, DOC_LENGTHS, np.random.default_rng(123))


def accuracy_table(fillers, runs=None) -> str:
    """README: the three models (seed 0) trained on ``fillers``; ``runs`` is ``train_all``'s result for
    that range when it is already trained."""
    runs = train_all(steps=DOC_STEPS, seed=0, fillers=fillers) if runs is None else runs
    rows = [[MODEL_NAMES[k], *(f"{a:.1%}" for a in doc_accuracy(m))] for k, (m, _) in runs.items()]
    return markdown_table([f"trained on {fillers[0]}–{fillers[1]} fillers", *map(str, DOC_LENGTHS)], rows)


def seed_sweep(ranges=SWEEP_RANGES, seeds=SWEEP_SEEDS) -> dict[tuple[int, int], np.ndarray]:
    """The vanilla RNN trained from each seed on each range: {range: (len(seeds), len(DOC_LENGTHS))}."""
    out = {}
    for fillers in ranges:
        rows = []
        for seed in seeds:
            model = SubjectClassifier("rnn", np.random.default_rng(seed))
            train(model, steps=DOC_STEPS, rng=np.random.default_rng(seed + 1), fillers=fillers)
            rows.append(doc_accuracy(model))
        out[tuple(fillers)] = np.array(rows)
    return out


def seed_sweep_table(sweep=None) -> str:
    """README: the vanilla RNN over seeds 0–4 for each training range."""
    sweep = seed_sweep() if sweep is None else sweep
    rows = [[f"{lo}–{hi}", seed, *(f"{a:.1%}" for a in acc)]
            for (lo, hi), accs in sweep.items() for seed, acc in zip(SWEEP_SEEDS, accs)]
    return markdown_table(["vanilla RNN trained on", "seed", *map(str, DOC_LENGTHS)], rows)


def worked_rnn(T: int = 6) -> tuple[np.ndarray, np.ndarray, float]:
    """The deep-dive's one-unit example, in float64: W_x = 1, W_h = 0.9, b = 0, the input 1 at t = 0 and
    0 after it. Returns h_t (T,), ∂h_{T-1}/∂h_t (T,) and ∂h_{T-1}/∂x_0."""
    layer = RNN(1, 1, np.random.default_rng(0)).astype(np.float64)
    layer.cell.params["Wx"][...], layer.cell.params["Wh"][...], layer.cell.params["b"][...] = 1.0, 0.9, 0.0
    x = np.zeros((1, T, 1))
    x[0, 0, 0] = 1.0
    h = layer.forward(x)[0, :, 0]
    dout = np.zeros((1, T, 1))
    dout[0, -1, 0] = 1.0                                          # L = h_{T-1}
    dx0 = float(layer.backward(dout)[0, 0, 0])
    return h, layer.extra_grads["hs"][0, :, 0], dx0


def worked_rnn_table() -> str:
    h, dh, _ = worked_rnn()
    return markdown_table(["t", "h_t", "1 − h_t²", f"∂h_{len(h) - 1}/∂h_t"],
                     [[t, f"{a:.4f}", f"{1 - a * a:.4f}", f"{d:.4f}"] for t, (a, d) in enumerate(zip(h, dh))])


def gradient_ratios(model: SubjectClassifier, n_fillers: int = 20) -> np.ndarray:
    """``gradient_through_time`` relative to its value at the last word, on 64 sentences (seed 7)."""
    g = gradient_through_time(model, n_fillers, np.random.default_rng(7))
    return g / g[-1]


def gradient_at_init_table() -> str:
    """Deep dive: the untrained models (seed 0), 20 fillers: 10 steps back and at the subject."""
    rows = []
    for kind in MODEL_KINDS:
        r = gradient_ratios(SubjectClassifier(kind, np.random.default_rng(0)))
        rows.append([MODEL_NAMES[kind], f"{r[-11]:.2e}", f"{r[0]:.2e}"])
    return markdown_table(["model", "10 steps back", "at the subject (21 steps back)"], rows)


def gradient_trained_table(runs=None) -> str:
    """Deep dive: the same measurement after the playground's default run (fillers 5–15)."""
    runs = train_all(steps=DOC_STEPS, seed=0, fillers=(5, 15)) if runs is None else runs
    return markdown_table(["model", "at the subject (21 steps back), trained"],
                     [[MODEL_NAMES[k], f"{gradient_ratios(m)[0]:.2e}"] for k, (m, _) in runs.items()])


def memory_table(runs=None) -> str:
    """Deep dive: ``memory_paths`` of the trained LSTM and GRU (fillers 5–15, 20 fillers)."""
    runs = train_all(("lstm", "gru"), steps=DOC_STEPS, seed=0, fillers=(5, 15)) if runs is None else runs
    rows = []
    for kind, gate in (("lstm", "forget gate f"), ("gru", "update gate z")):
        p = memory_paths(runs[kind][0])
        rows.append([MODEL_NAMES[kind], f"{p['loss']:.1e}", gate, f"{p['gate']:.2f}",
                     f"{int((p['keep'] > 0.1).sum())} of {len(p['keep'])}", f"{p['keep'].max():.2f}"])
    return markdown_table(["model (trained on 5–15)", "loss at who?", "gate", "its mean on the fillers",
                      "units keeping > 10% across the fillers", "most kept by one unit"], rows)


#: Every measured table of the chapter's documents: (document, marker) → the function that writes it.
DOC_TABLES = {
    ("README.md", "accuracy-table: fillers 5-15"): lambda: accuracy_table((5, 15)),
    ("README.md", "accuracy-table: fillers 1-10"): lambda: accuracy_table((1, 10)),
    ("README.md", "accuracy-table: fillers 2-5"): lambda: accuracy_table((2, 5)),
    ("README.md", "seed-sweep"): seed_sweep_table,
    ("RNN_DEEP_DIVE.md", "worked-rnn"): worked_rnn_table,
    ("RNN_DEEP_DIVE.md", "gradient-at-init"): gradient_at_init_table,
    ("RNN_DEEP_DIVE.md", "gradient-trained"): gradient_trained_table,
    ("RNN_DEEP_DIVE.md", "memory-paths"): memory_table,
}
