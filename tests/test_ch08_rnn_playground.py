"""AppTest for the chapter 08 playground: the first load from the shipped checkpoints (every view's values
against the module's own computation on the loaded models), training from the sidebar (small settings),
every tab, the "changes its mind" comparison with the post, and the page's state and widget keys under the
"ch08" prefix."""

import functools

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab

import rnn
from common.plots import fmt_num, fmt_pct
from common.sequence_tasks import VOCAB

PAGE = "08-rnn/rnn_playground.py"
TAB = "ch08_tab"
TABS = ["Word by word", "Accuracy vs length", "Gradient through time", "Inside the LSTM", "Training curves"]


def _small(at, kinds=("rnn", "lstm", "gru"), steps=50, hidden=8, fillers=(1, 4)):
    at.multiselect(key="ch08_kinds").set_value(list(kinds))
    at.select_slider(key="ch08_steps").set_value(steps)
    at.select_slider(key="ch08_hidden").set_value(hidden)
    at.slider(key="ch08_fillers").set_value(fillers)
    at.button(key="ch08_btn_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@functools.lru_cache(maxsize=None)
def _reference(kind, steps=50, hidden=8, fillers=(1, 4), seed=0, lr=1e-2):
    model = rnn.SubjectClassifier(kind, np.random.default_rng(seed), hidden_size=hidden)
    history = rnn.train(model, steps=steps, rng=np.random.default_rng(seed + 1), fillers=fillers, lr=lr)
    return model, history


@functools.lru_cache(maxsize=None)
def _shipped():
    return rnn.load_default_runs()


def _new():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from conftest import APP_TIMEOUT, ROOT
    st.cache_data.clear()
    return AppTest.from_file(str(ROOT / PAGE), default_timeout=APP_TIMEOUT)


# ---- first load: the shipped checkpoints ------------------------------------------------------------------

@pytest.fixture(scope="module")
def first_load():
    at = _new().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_first_load_shows_the_checkpoints(first_load):
    at = first_load
    assert at.title[0].value == "08 · Recurrent networks"
    assert not at.info or all("Press **Train**" not in i.value for i in at.info)     # no empty page
    caption = next(c.value for c in at.caption if c.value.startswith("Shown on arrival"))
    assert "`08-rnn/checkpoints/subject_rnn.npz`, made by `python 08-rnn/train_rnn.py`" in caption
    assert "`subject_lstm.npz`, `subject_gru.npz`" in caption
    assert "300 steps of 32 sentences with 5–15 fillers · H = 32 · Adam 0.01 · seed 0" in caption
    assert "{" not in caption                                       # settings in words, not a dict
    shown = metrics(at)
    for kind, (_, h, meta) in _shipped().items():
        assert shown[f"{rnn.MODEL_NAMES[kind]}: last-50-step batch accuracy"] == fmt_pct(meta["last50_batch_accuracy"])
    assert shown["Vanilla RNN: last-50-step batch accuracy"] == "51.2%"          # the default run's RNN failed
    assert shown["LSTM: last-50-step batch accuracy"] == shown["GRU: last-50-step batch accuracy"] == "100.0%"
    assert at.session_state["ch08"]["source"] == "checkpoint"


def test_first_load_word_by_word_and_the_post(first_load):
    at = first_load
    X = rnn.example_sentence(0, 15, np.random.default_rng(0))
    words = VOCAB.decode(X)
    assert any(m.value == "**Sentence:** " + " ".join(words) for m in at.markdown)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["Vanilla RNN", "LSTM", "GRU"]
    story = {}
    for i, (kind, (model, _, _)) in enumerate(_shipped().items()):
        p = model.predict_proba(X[None])[0]
        right = p.argmax(axis=1) == 0
        changed, acc = rnn.mind_rates(model, 15, np.random.default_rng(11))
        story[kind] = dict(right=right, step=rnn.mind_change_step(right), answer=VOCAB.subjects[int(p[-1].argmax())],
                           changed=changed, acc=acc)
        assert table["answer at who?"][i] == story[kind]["answer"]
        assert table["P(teacher) at who?"][i] == fmt_pct(p[-1, 0])
        assert table["lowest on the way"][i] == fmt_pct(p[:, 0].min())
        assert table["right at who?, 200 sentences"][i] == fmt_pct(acc)
        assert table["changes its mind, 200 sentences"][i] == fmt_pct(changed)
    assert table["answer at who?"].tolist() == ["pilot", "teacher", "teacher"]
    assert table["changes its mind after"].tolist() == ["–", "–", "–"]
    # the post: "the step where Vanilla RNN changes its mind and LSTM doesn't" — not what the default run shows
    note = next(i.value for i in at.info if i.value.startswith("**The post says:**"))
    measured = rnn.word_by_word_verdict(story, words, "teacher", 15)
    assert measured is not None and note.endswith("**Measured here:** " + measured)
    assert "the vanilla RNN never has teacher as its top answer after a filler word" in measured
    assert f"is right at who? on {table['right at who?, 200 sentences'][0]}" in measured


def test_first_load_other_tabs(first_load):
    at = first_load
    runs = _shipped()
    at = open_tab(at, "Accuracy vs length", key=TAB)
    table = at.dataframe[0].value
    lengths = np.arange(0, 41)
    inside = (lengths >= 5) & (lengths <= 15)
    for i, (model, _, _) in enumerate(runs.values()):
        acc = rnn.accuracy_by_length(model, lengths, np.random.default_rng(123), n=200)
        assert table["inside the trained range"][i] == fmt_pct(acc[inside].mean())
        assert table["at 40 fillers"][i] == fmt_pct(acc[-1])
    assert any(m.value.startswith("Measured: the vanilla RNN did not learn the task in this run") for m in at.markdown)

    at = open_tab(at, "Gradient through time", key=TAB)
    table = at.dataframe[0].value
    for i, (kind, (model, _, _)) in enumerate(runs.items()):
        g = rnn.gradient_through_time(model, 30, np.random.default_rng(7))
        assert table.iloc[i, 1] == fmt_num(g[0] / g[-1])
        fresh = rnn.SubjectClassifier(kind, np.random.default_rng(0))
        g0 = rnn.gradient_through_time(fresh, 30, np.random.default_rng(7))
        assert table["(untrained)"][i] == fmt_num(g0[0] / g0[-1])

    at = open_tab(at, "Inside the LSTM", key=TAB)
    gates = rnn.gates_over_sentence(runs["lstm"][0], rnn.example_sentence(0, 10, np.random.default_rng(3)))
    assert at.dataframe[0].value["mean forget gate after the subject"][0] == fmt_num(float(gates["f"][1:].mean()))

    at = open_tab(at, "Training curves", key=TAB)
    table = at.dataframe[0].value
    assert table["steps"].tolist() == [300, 300, 300]
    for i, (_, h, meta) in enumerate(runs.values()):
        assert table["final loss (20-step mean)"][i] == fmt_num(np.mean(h.batch_loss[-20:]))
        assert table["last-50-step batch accuracy"][i] == fmt_pct(meta["last50_batch_accuracy"])


def test_no_two_controls_share_a_label(first_load):
    at = first_load
    labels = {}
    for tab in TABS:
        at = open_tab(at, tab, key=TAB)
        for kind in ("slider", "select_slider", "selectbox", "multiselect", "checkbox", "number_input", "button"):
            for w in getattr(at, kind):
                labels.setdefault(w.label, set()).add(w.key)
    assert all(len(keys) == 1 for keys in labels.values()), {k: v for k, v in labels.items() if len(v) > 1}


# ---- training from the sidebar ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_page():
    return _small(_new().run())


def test_training_shows_the_real_runs(trained_page):
    at = trained_page
    shown = metrics(at)
    for kind in rnn.MODEL_KINDS:
        _, h = _reference(kind)
        assert shown[f"{rnn.MODEL_NAMES[kind]}: last-50-step batch accuracy"] == fmt_pct(np.mean(h.batch_metric[-50:]))
    took = [c.value for c in at.caption if " took " in c.value]
    assert len(took) == 1 and took[0].startswith("Training (Vanilla RNN 50 steps, LSTM 50 steps, GRU 50 steps) took ")
    assert not any(c.value.startswith("Shown on arrival") for c in at.caption)
    # Stop (or any rerun) keeps the trained models: they and their histories live in the page state
    at.button(key="ch08_btn_stop").click().run()
    assert not at.exception and metrics(at) == shown
    state = at.session_state["ch08"]
    assert state["histories"]["lstm"].batch_loss == _reference("lstm")[1].batch_loss
    assert state["models"]["gru"].num_params() == _reference("gru")[0].num_params()
    # every widget key carries the chapter prefix (the hub runs all pages in one session)
    keys = set(at.session_state.keys())
    assert {"ch08", "ch08_btn_train", "ch08_btn_stop", "ch08_seed", "ch08_tab"} <= keys
    assert all(k.startswith("ch08") for k in keys)


@pytest.mark.slow
def test_a_stopped_run_says_what_finished(app_test):
    """A Stop mid-run leaves the run unfinished in the page state (the script is interrupted); the page then
    names the steps each model finished and keeps them."""
    at = _small(app_test(PAGE).run(), kinds=("rnn", "gru"), steps=50)
    state = at.session_state["ch08"]
    state["run"] = dict(state["run"], finished=False, seconds=0.7)
    state["histories"]["gru"].batch_loss[:] = state["histories"]["gru"].batch_loss[:20]
    state["histories"]["gru"].batch_metric[:] = state["histories"]["gru"].batch_metric[:20]
    at.run()
    assert not at.exception
    stopped = next(c.value for c in at.caption if c.value.startswith("Stopped after"))
    assert stopped.startswith("Stopped after 0.70 s: Vanilla RNN 50 steps, GRU 20 steps of 50.")
    at = open_tab(at, "Training curves", key=TAB)
    assert at.dataframe[0].value["steps"].tolist() == [50, 20]


def test_accuracy_vs_length_tab(trained_page):
    at = open_tab(trained_page, "Accuracy vs length", key=TAB)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["Vanilla RNN", "LSTM", "GRU"]
    lengths = np.arange(0, 41)
    model, _ = _reference("lstm")
    acc = rnn.accuracy_by_length(model, lengths, np.random.default_rng(123), n=200)
    inside = (lengths >= 1) & (lengths <= 4)
    assert table["inside the trained range"][1] == fmt_pct(acc[inside].mean())
    assert table["at 40 fillers"][1] == fmt_pct(acc[-1])
    assert any(m.value.startswith("Measured: the vanilla RNN") for m in at.markdown)


@pytest.mark.slow
def test_word_by_word_tab(trained_page):
    at = open_tab(trained_page, "Word by word", key=TAB)
    at.slider(key="ch08_word_fillers").set_value(0)
    at.selectbox(key="ch08_word_subject").set_value(3).run()        # one rerun for both changes
    assert not at.exception
    assert any(m.value == "**Sentence:** pilot who?" for m in at.markdown)
    table = at.dataframe[0].value
    model, _ = _reference("gru")
    p = model.predict_proba(np.array([[3, 19]]))[0]
    assert table["P(pilot) at who?"][2] == fmt_pct(p[-1, 3])
    at.slider(key="ch08_word_fillers").set_value(40).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 3


def test_gradient_tab(trained_page):
    at = open_tab(trained_page, "Gradient through time", key=TAB)
    at.slider(key="ch08_grad_fillers").set_value(5).run()
    assert not at.exception
    table = at.dataframe[0].value
    model, _ = _reference("rnn")
    g = rnn.gradient_through_time(model, 5, np.random.default_rng(7))
    assert table.iloc[0, 1] == fmt_num(g[0] / g[-1])
    fresh = rnn.SubjectClassifier("rnn", np.random.default_rng(0), hidden_size=8)
    g0 = rnn.gradient_through_time(fresh, 5, np.random.default_rng(7))
    assert table["(untrained)"][0] == fmt_num(g0[0] / g0[-1])
    at.checkbox(key="ch08_grad_init").uncheck()
    at.slider(key="ch08_grad_fillers").set_value(60).run()
    assert not at.exception and "(untrained)" not in at.dataframe[0].value.columns


@pytest.mark.slow
def test_gates_and_curves_tabs(trained_page):
    at = open_tab(trained_page, "Inside the LSTM", key=TAB)
    at.slider(key="ch08_gate_fillers").set_value(3).run()
    table = at.dataframe[0].value
    model, _ = _reference("lstm")
    X = rnn.example_sentence(0, 3, np.random.default_rng(3))
    gates = rnn.gates_over_sentence(model, X)
    assert table["mean forget gate after the subject"][0] == fmt_num(float(gates["f"][1:].mean()))
    at.selectbox(key="ch08_gate_model").set_value("gru").run()
    assert not at.exception and len(at.dataframe) == 0                # GRU: r, z, n heatmaps, no LSTM table
    at = open_tab(at, "Training curves", key=TAB)
    table = at.dataframe[0].value
    assert table["parameters"][1] == _reference("lstm")[0].num_params()
    h = _reference("gru")[1]
    assert table["final loss (20-step mean)"][2] == fmt_num(np.mean(h.batch_loss[-20:]))


@pytest.mark.slow
def test_layer_norm_single_model_and_no_model(app_test):
    at = app_test(PAGE).run()
    at.checkbox(key="ch08_layer_norm").check()
    _small(at, kinds=("gru",), steps=25, fillers=(0, 0))
    assert list(metrics(at)) == ["GRU: last-50-step batch accuracy"]
    at = open_tab(at, "Inside the LSTM", key=TAB)
    assert at.selectbox(key="ch08_gate_model").value == "gru"
    at = open_tab(at, "Word by word", key=TAB)
    assert not any(i.value.startswith("**The post says:**") for i in at.info)     # no RNN/LSTM pair to compare
    at.multiselect(key="ch08_kinds").set_value([])
    at.button(key="ch08_btn_train").click().run()
    assert any("Choose at least one model" in w.value for w in at.warning)
