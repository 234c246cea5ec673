"""Chapter 08 (rnn.py) and the subject task generator: the task, the classifier's gradients, the trained
accuracies the page and README state, gradient through time and the LSTM gates."""

import numpy as np
import pytest

import rnn
from common.gradcheck import check_layer, numerical_gradient, rel_error
from common.losses import softmax_cross_entropy
from common.training import History, StopWhen
from common.sequence_tasks import QUESTION, VOCAB, subject_task


def test_subject_task():
    rng = np.random.default_rng(0)
    X, y = subject_task(500, 7, rng)
    assert X.shape == (500, 9) and y.shape == (500,)
    assert X.dtype == np.int64 and y.dtype == np.int64
    np.testing.assert_array_equal(X[:, 0], y)
    assert set(np.unique(y)) == {0, 1, 2, 3}
    S = len(VOCAB.subjects)
    assert ((X[:, 1:-1] >= S) & (X[:, 1:-1] < VOCAB.question_id)).all()     # fillers are never subjects
    assert (X[:, -1] == VOCAB.question_id).all() and VOCAB.words[-1] == QUESTION
    assert VOCAB.size == 20
    X0, _ = subject_task(3, 0, rng)
    assert X0.shape == (3, 2)
    a = subject_task(5, 4, np.random.default_rng(1))
    b = subject_task(5, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(a[0], b[0])
    assert VOCAB.decode(X[0])[0] == VOCAB.subjects[y[0]]


@pytest.mark.parametrize("kind", rnn.MODEL_KINDS)
def test_classifier_gradient_check(kind):
    """Every parameter, through every time step and the embedding, against finite differences (a random
    upstream gradient at every position; token ids have none)."""
    model = rnn.SubjectClassifier(kind, np.random.default_rng(0), embed_size=3, hidden_size=4,
                                  layer_norm=(kind == "gru")).astype(np.float64)
    X, _ = subject_task(3, 4, np.random.default_rng(1))
    errors = check_layer(model, X, np.random.default_rng(2))
    assert set(errors) == set(model.params) and max(errors.values()) < 1e-7, errors


def test_last_word_loss_scores_only_the_answer():
    logits = np.random.default_rng(0).standard_normal((5, 4, rnn.N_SUBJECTS))
    y = np.array([0, 1, 2, 3, 0])
    loss, d = rnn.last_word_cross_entropy(logits, y)
    np.testing.assert_allclose(loss, softmax_cross_entropy(logits[:, -1], y)[0])
    assert not d[:, :-1].any() and d[:, -1].any()
    assert rnn.last_word_accuracy(logits, y) == np.mean(logits[:, -1].argmax(1) == y)


@pytest.fixture(scope="module")
def trained():
    """The playground's defaults: fillers 5–15, H = 32, 300 steps, lr 1e-2, seed 0."""
    return rnn.train_all(steps=300, seed=0, fillers=(5, 15))


def test_lstm_and_gru_learn_the_trained_range(trained):
    rng = np.random.default_rng(123)
    for kind in ("lstm", "gru"):
        acc = rnn.accuracy_by_length(trained[kind][0], range(5, 16), rng)
        assert acc.min() >= 0.95, (kind, acc)
    # and they hold far beyond it
    assert rnn.accuracy_by_length(trained["lstm"][0], [30, 40], rng).min() >= 0.95


def test_vanilla_rnn_fails_to_learn_when_every_sentence_is_long(trained):
    """Measured (and stated on the page and in the README): with ≥ 5 fillers in every training sentence
    the vanilla RNN stays far from the LSTM — about 50%, chance is 25%."""
    acc = rnn.accuracy_by_length(trained["rnn"][0], range(5, 16), np.random.default_rng(123))
    assert acc.mean() < 0.7


def test_vanilla_rnn_learns_and_holds_when_short_sentences_are_included():
    """The measurement that disagrees with the post: trained on 1–10 fillers, the vanilla RNN reaches
    100% and keeps it at 40 fillers, four times the longest training sentence."""
    model = rnn.SubjectClassifier("rnn", np.random.default_rng(0))
    rnn.train(model, steps=300, rng=np.random.default_rng(1), fillers=(1, 10))
    acc = rnn.accuracy_by_length(model, [1, 10, 20, 40], np.random.default_rng(5))
    assert acc.min() >= 0.95, acc


def test_gradient_through_time_vanishes_faster_in_the_vanilla_rnn():
    ratios = {}
    for kind in rnn.MODEL_KINDS:
        model = rnn.SubjectClassifier(kind, np.random.default_rng(0))
        g = rnn.gradient_through_time(model, 20, np.random.default_rng(7))
        assert g.shape == (22,) and (g > 0).all()
        ratios[kind] = g[0] / g[-1]
        # no parameter gradient is left behind by the measurement
        assert all(not gr.any() for _, gr in model.parameters())
    assert ratios["rnn"] < 1e-3
    assert ratios["lstm"] > 10 * ratios["rnn"]


def test_recorded_dh_is_the_gradient_at_each_hidden_state():
    """``rec.extra_grads["hs"][:, t]`` (what gradient_through_time averages) is ∂L/∂h_t: for the tanh RNN,
    ∂L/∂x_t = (∂L/∂h_t ⊙ (1 - h_t²)) W_xᵀ, and ∂L/∂x_t is checked by finite differences."""
    model = rnn.SubjectClassifier("rnn", np.random.default_rng(3), hidden_size=5).astype(np.float64)
    X, y = subject_task(2, 3, np.random.default_rng(4))
    e = model.emb.forward(X)

    def loss():
        logits = model.out.forward(model.rec.forward(e))
        return np.array(softmax_cross_entropy(logits[:, -1], y)[0])

    num = numerical_gradient(loss, e, np.ones(()))
    model.zero_grad()
    model.backward(rnn.last_word_cross_entropy(model.forward(X), y)[1])
    hs = model.hidden_states()
    dh = model.rec.extra_grads["hs"]
    dx = (dh * (1 - hs ** 2)) @ model.rec.cell.params["Wx"].T
    assert rel_error(dx, num) < 1e-8
    expect = np.linalg.norm(dh * 2, axis=2).mean(0)        # per-sentence loss, not the mean of 2
    g = rnn.gradient_through_time(model, 3, np.random.default_rng(4), n=2)
    np.testing.assert_allclose(g, expect, rtol=1e-10)


def test_gates_over_sentence():
    model = rnn.SubjectClassifier("lstm", np.random.default_rng(0), hidden_size=6)
    X = rnn.example_sentence(2, 5, np.random.default_rng(0))
    assert X[0] == 2 and len(X) == 7
    gates = rnn.gates_over_sentence(model, X)
    assert set(gates) == {"i", "f", "o", "g", "c"}
    for k in "ifo":
        assert gates[k].shape == (7, 6) and (gates[k] > 0).all() and (gates[k] < 1).all()
    # forget bias 1.0 at initialisation: the forget gate starts above one half
    assert gates["f"].mean() > 0.6
    gru = rnn.SubjectClassifier("gru", np.random.default_rng(0), hidden_size=6)
    assert set(rnn.gates_over_sentence(gru, X)) == {"r", "z", "n"}


def test_train_returns_fits_history():
    """``train`` is ``fit`` on ``subject_batches``: its record is fit's History, the same for the same seeds;
    a ``StopWhen`` callback stops it after the current step."""
    model = rnn.SubjectClassifier("gru", np.random.default_rng(0), hidden_size=8)
    h = rnn.train(model, steps=10, rng=np.random.default_rng(1))
    assert isinstance(h, History) and h.steps == len(h.batch_metric) == len(h.grad_norm) == 10
    again = rnn.train(rnn.SubjectClassifier("gru", np.random.default_rng(0), hidden_size=8), steps=10,
                      rng=np.random.default_rng(1))
    assert again.batch_loss == h.batch_loss
    sm = rnn.moving_average(h.batch_loss, window=3)
    np.testing.assert_allclose(sm[2], np.mean(h.batch_loss[:3]))
    np.testing.assert_allclose(sm[-1], np.mean(h.batch_loss[-3:]))
    assert sm[0] == h.batch_loss[0] and len(rnn.moving_average([])) == 0
    count = iter(range(100))
    stopped = rnn.train(model, steps=50, rng=np.random.default_rng(3), callbacks=[StopWhen(lambda: next(count) >= 3)])
    assert stopped.steps == 4 and stopped.stop_reason == "stop requested"
    # the batches: one length per batch, in the range
    X, y = rnn.subject_batches((2, 5), 16)(np.random.default_rng(0))
    assert X.shape[0] == 16 and 4 <= X.shape[1] <= 7 and (X[:, 0] == y).all()


@pytest.mark.parametrize("call,match", [
    (lambda: rnn.SubjectClassifier("transformer", np.random.default_rng(0)), "kind must be one of"),
    (lambda: rnn.SubjectClassifier("lstm", 0), "rng"),
    (lambda: rnn.train(rnn.SubjectClassifier("rnn", np.random.default_rng(0)), steps=1,
                       rng=np.random.default_rng(0), fillers=(5, 2)), "fillers"),
    (lambda: rnn.train(rnn.SubjectClassifier("rnn", np.random.default_rng(0)), steps=0,
                       rng=np.random.default_rng(0)), "steps"),
    (lambda: rnn.gates_over_sentence(rnn.SubjectClassifier("rnn", np.random.default_rng(0)), np.array([0, 19])),
     "LSTM or a GRU"),
    (lambda: subject_task(0, 3, np.random.default_rng(0)), "n must be"),
    (lambda: rnn.example_sentence(9, 3, np.random.default_rng(0)), "subject"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------
# The numbers in README.md and RNN_DEEP_DIVE.md, recomputed
# ---------------------------------------------------------------------------------------------------------

from pathlib import Path  # noqa: E402

CHAPTER = Path(rnn.__file__).resolve().parent


def _table(doc: str, marker: str) -> list[list[str]]:
    """The markdown table right after ``<!-- marker -->``: its body rows, cells stripped."""
    text = (CHAPTER / doc).read_text()
    block = text.split(f"<!-- {marker} -->", 1)[1].strip().splitlines()
    rows = []
    for line in block:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[2:]                                               # skip the header and the --- line


def test_readme_accuracy_tables(trained):
    lengths = [0, 2, 5, 10, 15, 20, 30, 40]
    short = rnn.train_all(steps=300, seed=0, fillers=(1, 10))
    for marker, runs in (("accuracy-table: fillers 5-15", trained), ("accuracy-table: fillers 1-10", short)):
        rows = _table("README.md", marker)
        assert [r[0] for r in rows] == ["Vanilla RNN", "LSTM", "GRU"]
        for row, kind in zip(rows, rnn.MODEL_KINDS):
            acc = rnn.accuracy_by_length(runs[kind][0], lengths, np.random.default_rng(123))
            shown = np.array([float(c.rstrip("%")) / 100 for c in row[1:]])
            # Trained-run numbers: float32 BLAS kernels differ between CPUs and 300 Adam steps amplify the
            # last bits, so allow 1.5 points (the table's point is 50% against 100%).
            assert np.abs(shown - acc).max() <= 0.015, (marker, kind, row, acc)


def test_readme_seed_sweep_claim():
    """"over seeds 0–4 … 1–10 fillers: 100% at 40 every time; 5–15: between 44% and 58% every time"."""
    for seed in range(5):
        for fillers, check in (((1, 10), lambda a: a[1] == 1.0), ((5, 15), lambda a: 0.44 <= a.min() and a.max() <= 0.58)):
            model = rnn.SubjectClassifier("rnn", np.random.default_rng(seed))
            rnn.train(model, steps=300, rng=np.random.default_rng(seed + 1), fillers=fillers)
            acc = rnn.accuracy_by_length(model, [fillers[1], 40], np.random.default_rng(123))
            assert check(acc), (seed, fillers, acc)


def test_deep_dive_worked_rnn_example():
    from common.recurrent import RNN
    layer = RNN(1, 1, np.random.default_rng(0)).astype(np.float64)
    layer.cell.params["Wx"][...] = 1.0
    layer.cell.params["Wh"][...] = 0.9
    layer.cell.params["b"][...] = 0.0
    x = np.zeros((1, 6, 1))
    x[0, 0, 0] = 1.0
    h = layer.forward(x)[0, :, 0]
    dout = np.zeros((1, 6, 1))
    dout[0, 5, 0] = 1.0                                           # L = h_5
    dx0 = layer.backward(dout)[0, 0, 0]                            # ∂h_5/∂x_0
    dh = layer.extra_grads["hs"][0, :, 0]                          # ∂h_5/∂h_t
    rows = _table("RNN_DEEP_DIVE.md", "worked-rnn")
    assert [int(r[0]) for r in rows] == list(range(6))
    for r, ht, dht in zip(rows, h, dh):
        assert r[1:] == [f"{ht:.4f}", f"{1 - ht ** 2:.4f}", f"{dht:.4f}"]
    text = (CHAPTER / "RNN_DEEP_DIVE.md").read_text()
    assert f"= {dh[0]:.4f}`" in text and f"W_x = {dx0:.4f}`" in text
    assert f"`0.95²⁰ = {0.95 ** 20:.3f}`" in text and f"`0.72²⁰ = {0.72 ** 20:.4f}`" in text


def test_deep_dive_gradient_tables(trained):
    rows = _table("RNN_DEEP_DIVE.md", "gradient-at-init")
    for row, kind in zip(rows, rnn.MODEL_KINDS):
        g = rnn.gradient_through_time(rnn.SubjectClassifier(kind, np.random.default_rng(0)), 20, np.random.default_rng(7))
        assert row == [rnn.MODEL_NAMES[kind], f"{g[-11] / g[-1]:.2e}", f"{g[0] / g[-1]:.2e}"]
    rows = _table("RNN_DEEP_DIVE.md", "gradient-trained")
    for row, kind in zip(rows, rnn.MODEL_KINDS):
        g = rnn.gradient_through_time(trained[kind][0], 20, np.random.default_rng(7))
        assert row[0] == rnn.MODEL_NAMES[kind]
        # a trained run (see test_readme_accuracy_tables): within a factor of 2 of the stated value
        assert abs(np.log10(float(row[1]) / (g[0] / g[-1]))) < np.log10(2), (kind, row, g[0] / g[-1])
