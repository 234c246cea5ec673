"""AppTest for the chapter 09 playground: training from the sidebar with small settings, then every tab,
comparing the values shown with the module's own computations for the same models."""

import functools

import numpy as np
import pytest

from apptest_helpers import open_tab

import attention
from common.optimizers import Adam

PAGE = "09-attention/attention_playground.py"
SMALL = dict(steps=20, hidden=16, lengths=(3, 5))


def _reference(which, task="reverse", seed=0, score="general", **kw):
    cfg = {**SMALL, **kw}
    model = attention.make_seq2seq(which, seed=seed, hidden_size=cfg["hidden"], luong_score=score)
    attention.train_seq2seq(model, task=task, steps=cfg["steps"], rng=np.random.default_rng(seed + 1),
                            lengths=cfg["lengths"], optimizer=Adam(model.parameters(), lr=1e-2))
    return model


@functools.lru_cache(maxsize=None)
def _heads_reference(h=2, seed=1):
    model = attention.HeadsModel(h, seed=seed)
    log = attention.train_heads(model, steps=100, rng=np.random.default_rng(seed + 1))   # max(100, 20 steps)
    return model, log


def _train(at, task="reverse"):
    at.selectbox(key="task").set_value(task)
    at.select_slider(key="steps").set_value(SMALL["steps"])
    at.select_slider(key="hidden").set_value(SMALL["hidden"])
    at.slider(key="lengths").set_value(SMALL["lengths"])
    at.button(key="train").click().run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def page():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from conftest import APP_TIMEOUT, ROOT
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=APP_TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "09 · Attention"
    assert "Press **Train**" in at.info[0].value
    return _train(at)


def test_bottleneck_tab(page):
    at = open_tab(page, "The bottleneck")
    acc_table, infl_table = at.dataframe[0].value, at.dataframe[1].value
    assert acc_table["model"].tolist() == ["No attention", "Bahdanau (additive)", "Luong (general)"]
    for i, which in enumerate(attention.MODELS):
        tok, seq = attention.accuracy_by_length(_reference(which), "reverse", [5], np.random.default_rng([5, 5]), n=100)
        assert acc_table["token accuracy at length 5"][i] == f"{tok[0]:.1%}"
        assert acc_table["whole sequences right at 5"][i] == f"{seq[0]:.1%}"
    model, rng = _reference("none"), np.random.default_rng(11)
    expect = [attention.encoder_influence(model, rng.integers(0, 12, (8, L))) for L in (6, 12, 18)]
    assert infl_table["influence of the first word ÷ the last"].tolist() == [f"{v[0] / v[-1]:.3f}" for v in expect]
    at.multiselect(key="infl_lengths").set_value([24])
    at.selectbox(key="infl_model").set_value("luong").run()
    assert not at.exception and at.dataframe[1].value["source length"].tolist() == [24]


def test_scaled_dot_product_tab(page):
    at = open_tab(page, "Scaled dot-product")
    table = at.dataframe[0].value
    model, _ = _heads_reference()
    X, _, _ = attention.head_task(1, np.random.default_rng(0))
    model.forward(X)
    np.testing.assert_allclose(table["weight"], np.round(model.attn.weights[0, 0, 7], 4))
    assert any("largest difference" in c.value and "e-0" in c.value for c in at.caption)
    at.slider(key="sdpa_query").set_value(0)
    at.selectbox(key="sdpa_head").set_value(1).run()
    table = at.dataframe[0].value
    assert table["allowed (causal)"].tolist() == [True] + [False] * 7
    assert table["weight"].tolist() == [1.0] + [0.0] * 7
    ent = at.dataframe[1].value
    sc, un = attention.softmax_entropy_vs_d([2, 4, 8, 16, 32, 64, 128, 256, 512], np.random.default_rng(0), n_keys=16)
    assert ent["entropy unscaled"].iloc[-1] == round(float(un[-1]), 3)
    at.slider(key="sdpa_keys").set_value(64).run()
    assert not at.exception and at.dataframe[1].value["entropy scaled"].iloc[0] > 3.0


def test_alignment_tab(page):
    at = open_tab(page, "Learned alignment")
    at.slider(key="align_len").set_value(5).run()
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["Bahdanau (additive)", "Luong (general)"]
    for i, which in enumerate(("bahdanau", "luong")):
        exact, near = attention.alignment_accuracy(_reference(which), "reverse", 5, np.random.default_rng(3))
        assert table["argmax on the copied word"][i] == f"{exact:.0%}"
        assert table["…within one position"][i] == f"{near:.0%}"
    at.slider(key="align_len").set_value(3).run()
    assert not at.exception and at.dataframe[0].value["token accuracy at length 3"].notna().all()


def test_self_attention_and_multihead_tabs(page):
    at = open_tab(page, "Self-attention")
    model, log = _heads_reference()
    X, _, _ = attention.head_task(1, np.random.default_rng(0))
    model.forward(X)
    np.testing.assert_allclose(at.dataframe[0].value["weight"], np.round(model.attn.weights[0].mean(0)[7], 4))
    at.checkbox(key="self_causal").uncheck()
    at.selectbox(key="self_head").set_value(0)
    at.slider(key="self_word").set_value(0).run()
    assert any("Illustrative" in w.value for w in at.warning)
    model.forward(X, causal=False)
    np.testing.assert_allclose(at.dataframe[0].value["weight"], np.round(model.attn.weights[0, 0, 0], 4))
    at = open_tab(at, "Multi-head")
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["1 head(s)", "2 head(s)", "2 head(s)"]
    roles = attention.head_roles(model, np.random.default_rng(3))
    assert table["weight on previous word"].tolist()[1:] == [round(float(r), 3) for r in roles[:, 0]]
    assert table["accuracy: first word"][2] == f"{np.mean(log.acc_first[-20:]):.1%}"


def test_sov_task_and_four_heads(app_test):
    at = app_test(PAGE).run()
    at.select_slider(key="heads").set_value(4)
    at.selectbox(key="luong_score").set_value("dot")
    _train(at, task="sov")
    at = open_tab(at, "Learned alignment")
    assert any("**Source:** S" in m.value for m in at.markdown)
    assert at.dataframe[0].value["model"].tolist() == ["Bahdanau (additive)", "Luong (dot)"]
    at = open_tab(at, "Multi-head")
    assert at.dataframe[0].value["model"].tolist() == ["1 head(s)"] + ["4 head(s)"] * 4
