"""AppTest for the chapter 08 playground: training from the sidebar (small settings), every tab, the values
shown against the module's own numbers, and the page's state and widget keys under the "ch08" prefix."""

import functools

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab

import rnn
from common.plots import fmt_num, fmt_pct

PAGE = "08-rnn/rnn_playground.py"
TAB = "ch08_tab"


def _small(at, kinds=("rnn", "lstm", "gru"), steps=50, hidden=8, fillers=(1, 4)):
    at.multiselect(key="ch08_kinds").set_value(list(kinds))
    at.select_slider(key="ch08_steps").set_value(steps)
    at.select_slider(key="ch08_hidden").set_value(hidden)
    at.slider(key="ch08_fillers").set_value(fillers)
    at.button(key="ch08_btn_train").click().run()
    assert not at.exception
    return at


@functools.lru_cache(maxsize=None)
def _reference(kind, steps=50, hidden=8, fillers=(1, 4), seed=0, lr=1e-2):
    model = rnn.SubjectClassifier(kind, np.random.default_rng(seed), hidden_size=hidden)
    history = rnn.train(model, steps=steps, rng=np.random.default_rng(seed + 1), fillers=fillers, lr=lr)
    return model, history


@pytest.fixture(scope="module")
def trained_page():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from conftest import APP_TIMEOUT, ROOT
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=APP_TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "08 · Recurrent networks"
    assert "Press **Train**" in at.info[0].value                   # nothing is shown before training
    return _small(at)


def test_training_shows_the_real_runs(trained_page):
    at = trained_page
    shown = metrics(at)
    for kind in rnn.MODEL_KINDS:
        _, h = _reference(kind)
        assert shown[f"{rnn.MODEL_NAMES[kind]}: last-50-step batch accuracy"] == fmt_pct(np.mean(h.batch_metric[-50:]))
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


def test_word_by_word_tab(trained_page):
    at = open_tab(trained_page, "Word by word", key=TAB)
    at.slider(key="ch08_word_fillers").set_value(0)
    at.selectbox(key="ch08_word_subject").set_value(3).run()        # one rerun for both changes
    assert not at.exception
    assert any(m.value == "**Sentence:** pilot who?" for m in at.markdown)
    table = at.dataframe[0].value
    model, _ = _reference("gru")
    p = model.predict_proba(np.array([[3, 19]]))[0]
    assert table["P(pilot) at who?"][2] == fmt_num(float(p[-1, 3]))
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
    assert table["steps"].tolist() == [50, 50, 50]
    assert table["parameters"][1] == _reference("lstm")[0].num_params()
    h = _reference("gru")[1]
    assert table["final loss (20-step mean)"][2] == fmt_num(np.mean(h.batch_loss[-20:]))


def test_layer_norm_single_model_and_no_model(app_test):
    at = app_test(PAGE).run()
    at.checkbox(key="ch08_layer_norm").check()
    _small(at, kinds=("gru",), steps=25, fillers=(0, 0))
    assert list(metrics(at)) == ["GRU: last-50-step batch accuracy"]
    at = open_tab(at, "Inside the LSTM", key=TAB)
    assert at.selectbox(key="ch08_gate_model").value == "gru"
    at.multiselect(key="ch08_kinds").set_value([])
    at.button(key="ch08_btn_train").click().run()
    assert any("Choose at least one model" in w.value for w in at.warning)
