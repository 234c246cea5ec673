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
>>> log = rnn.train(model, steps=200, rng=np.random.default_rng(1))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common._validation import check_choice, check_generator, check_positive, check_positive_int
from common.layers import Dense, Layer
from common.losses import softmax_cross_entropy
from common.optimizers import Adam
from common.recurrent import RECURRENT_LAYERS, Embedding
from common.sequence_tasks import VOCAB, subject_task
from common.training import Callback, StopWhen, fit

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

    def loss(self, X, y, *, backward: bool = True) -> tuple[float, float]:
        """Cross-entropy and accuracy of the answer at the last word; with ``backward`` the gradients
        are added (only the last step is scored, so every other step gets its gradient through time)."""
        logits = self.forward(X)
        loss, dlogits = last_word_cross_entropy(logits, y)
        if backward:
            self.backward(dlogits)
        return loss, last_word_accuracy(logits, y)

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


@dataclass
class TrainingLog:
    """One entry per optimisation step (loss and accuracy on that step's batch, its number of fillers),
    filled step by step while ``train`` runs, so a page holding it sees every finished step."""

    loss: list[float] = field(default_factory=list)
    acc: list[float] = field(default_factory=list)
    fillers: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.loss)

    def smoothed(self, key: str = "acc", window: int = 20) -> np.ndarray:
        v = np.asarray(getattr(self, key), dtype=float)
        if len(v) == 0:
            return v
        c = np.cumsum(np.insert(v, 0, 0.0))
        idx = np.arange(1, len(v) + 1)
        lo = np.maximum(idx - window, 0)
        return (c[idx] - c[lo]) / (idx - lo)


class _Record(Callback):
    """Copies each step's loss, accuracy and filler count from ``fit``'s history into a ``TrainingLog``."""

    def __init__(self, log: TrainingLog, fillers: list[int]) -> None:
        self.log, self.fillers = log, fillers
        self._seconds0 = log.seconds

    def on_batch_end(self, state):
        h = state.history
        self.log.loss.append(h.batch_loss[-1])
        self.log.acc.append(h.batch_metric[-1])
        self.log.fillers.append(self.fillers[-1])

    def on_epoch_end(self, state):
        self.log.seconds = self._seconds0 + state.history.wall_time[-1]


def subject_batches(fillers: tuple[int, int], batch_size: int, record: list[int] | None = None):
    """The batch function ``fit`` draws from: each call one batch of ``batch_size`` sentences with one
    number of fillers drawn uniformly from ``fillers`` (inclusive), appended to ``record``."""
    lo, hi = _check_range(fillers)
    check_positive_int("batch_size", batch_size)

    def batches(rng):
        k = int(rng.integers(lo, hi + 1))
        if record is not None:
            record.append(k)
        return subject_task(batch_size, k, rng)

    return batches


def train(model: SubjectClassifier, *, steps: int, rng: np.random.Generator, fillers: tuple[int, int] = (1, 10),
          batch_size: int = 32, lr: float = 1e-2, clip: float = 5.0, optimizer=None, log: TrainingLog | None = None,
          callbacks=(), should_stop=None) -> TrainingLog:
    """Adam on batches of ``batch_size`` sentences, each batch with one number of fillers drawn uniformly
    from ``fillers`` (inclusive), gradients clipped to global norm ``clip``: ``common.training.fit`` over
    ``subject_batches``.

    Pass ``log`` (and ``optimizer``) from an earlier call to continue a run; ``callbacks`` go to ``fit``
    (progress, live curves); ``should_stop()`` returning True stops after the current step.
    """
    check_positive_int("steps", steps)
    check_generator("rng", rng)
    check_positive("lr", lr)
    check_positive("clip", clip)
    log = TrainingLog() if log is None else log
    drawn: list[int] = []
    opt = optimizer if optimizer is not None else Adam(model.parameters(), lr=lr)
    cbs = [_Record(log, drawn), *callbacks]
    if should_stop is not None:
        cbs.append(StopWhen(should_stop))
    fit(model, batches=subject_batches(fillers, batch_size, drawn), steps_per_epoch=steps, epochs=1,
        loss_fn=last_word_cross_entropy, metric=last_word_accuracy, optimizer=opt, rng=rng, clip_norm=clip,
        callbacks=cbs)
    return log


def _check_range(fillers) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in fillers)
    except (TypeError, ValueError):
        raise ValueError(f"fillers must be a pair (low, high) of integers, got {fillers!r}") from None
    if lo < 0 or hi < lo:
        raise ValueError(f"fillers must satisfy 0 <= low <= high, got {fillers!r}")
    return lo, hi


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
    """Train one model of each kind with the same data stream; returns {kind: (model, log)}."""
    result = {}
    for kind in kinds:
        model = SubjectClassifier(kind, np.random.default_rng(seed), hidden_size=hidden_size, layer_norm=layer_norm)
        log = train(model, steps=steps, rng=np.random.default_rng(seed + 1), fillers=fillers, lr=lr,
                    batch_size=batch_size)
        result[kind] = (model, log)
    return result
