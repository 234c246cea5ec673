"""AppTest for the chapter 09 playground: the first load (the shipped checkpoints, before anything is
pressed), training from the sidebar with small settings, then every tab, comparing the values shown with
the module's own computations for the same models; bad SOV lengths and a stopped run keep what was shown."""

import functools

import numpy as np
import pytest

from apptest_helpers import open_tab

import attention
from common.plots import fmt_num, fmt_pct

PAGE = "09-attention/attention_playground.py"
TAB = "ch09_tab"
SMALL = dict(steps=20, hidden=16, lengths=(3, 5))


@functools.lru_cache(maxsize=None)
def _reference(which, task="reverse", seed=0, score="general"):
    cfg = SMALL
    model = attention.make_seq2seq(which, seed=seed, hidden_size=cfg["hidden"], luong_score=score)
    attention.train_seq2seq(model, task=task, steps=cfg["steps"], rng=np.random.default_rng(seed + 1),
                            lengths=cfg["lengths"], lr=1e-2, batch_size=attention.PAGE_DEFAULTS["batch_size"])
    return model


@functools.lru_cache(maxsize=None)
def _heads_reference(h=2, seed=1):
    model = attention.HeadsModel(h, seed=seed)
    attention.train_heads(model, steps=attention.DOC_HEAD_STEPS, rng=np.random.default_rng(seed + 1))
    return model


def _train(at, task="reverse"):
    at.selectbox(key="ch09_task").set_value(task)
    at.select_slider(key="ch09_steps").set_value(SMALL["steps"])
    at.select_slider(key="ch09_hidden").set_value(SMALL["hidden"])
    at.slider(key="ch09_lengths").set_value(SMALL["lengths"])
    at.button(key="ch09_btn_train").click().run()
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
    at = _train(at)
    assert any(c.value.startswith("Train took ") for c in at.sidebar.caption)      # playground.took
    return at


def _page_acc(model, task, L):
    """What the page's accuracy table shows for one model at length L (100 sequences, seed [5, L])."""
    return attention.accuracy_by_length(model, task, [L], np.random.default_rng([5, L]), n=100)


@pytest.mark.slow
def test_first_load_shows_the_shipped_checkpoint(app_test):
    """Before anything is pressed: the checkpoint caption, and every tab's values from the shipped models."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("Shown on arrival: the shipped checkpoint `09-attention/checkpoints/seq2seq_reverse.npz`, made by "
               "`python 09-attention/train_attention.py`" in c.value for c in at.caption)
    assert not any("Press **Train**" in i.value for i in at.info)
    runs = attention.load_seq2seq_checkpoint("reverse")
    acc = at.dataframe[0].value
    assert acc["model"].tolist() == ["No attention", "Bahdanau (additive)", "Luong (general)"]
    for i, w in enumerate(attention.MODELS):
        tok, seq = _page_acc(runs[w][0], "reverse", 10)
        assert acc["token accuracy at length 10"][i] == fmt_pct(tok[0])
        assert acc["whole sequences right at 10"][i] == fmt_pct(seq[0])
    # every score, from the checkpoint: the same rows as the deep dive's table
    scores = at.dataframe[2].value
    expect = attention.records(attention.scores_table(runs))
    assert scores["model"].tolist() == [r["model"] for r in expect]
    assert scores["token accuracy at 8"].tolist() == [r["token accuracy at 8"] for r in expect]
    assert any(f"Luong's dot score gets {expect[3]['token accuracy at 8']}" in c.value for c in at.caption)
    # the post-vs-measured note beside the accuracy table quotes the shown numbers
    note = [i.value for i in at.info if "The post says" in i.value]
    assert note and "Past them every model falls" in note[0]
    assert acc["token accuracy at length 10"][2] in note[0] and acc["token accuracy at length 10"][0] in note[0]
    # alignment tab: the shipped Bahdanau and Luong models, and the shipped SOV run
    at = open_tab(at, "Learned alignment", key=TAB)
    table = at.dataframe[0].value
    exact, near = attention.alignment_accuracy(runs["bahdanau"][0], "reverse", 8, np.random.default_rng(3))
    assert table["argmax on the copied word"][0] == fmt_pct(exact) and table["…within one position"][0] == fmt_pct(near)
    sov = attention.records(attention.sov_table(attention.load_seq2seq_checkpoint("sov")))
    assert at.dataframe[1].value["12"].tolist() == [r["12"] for r in sov]
    # the shipped SOV → SVO models' alignments, without training
    at.radio(key="ch09_align_view").set_value("sov")
    at.slider(key="ch09_align_len").set_value(12).run()
    assert not at.exception and any("**Source:** S" in m.value for m in at.markdown)
    sov_models = attention.load_seq2seq_checkpoint("sov")
    exact, near = attention.alignment_accuracy(sov_models["luong"][0], "sov", 12, np.random.default_rng(3))
    assert at.dataframe[0].value["…within one position"][1] == fmt_pct(near) == sov[2]["within one position of it"]
    # heads tabs: the shipped 2-head and 1-head models of seed 1
    heads = attention.load_heads_checkpoint()
    at = open_tab(at, "Multi-head", key=TAB)
    rows = at.dataframe[0].value
    assert rows["model"].tolist() == ["1 head(s)", "2 head(s)", "2 head(s)"]
    acc1 = attention.evaluate_heads(heads[(1, 1)], np.random.default_rng(4))
    assert rows["accuracy: previous word"][0] == fmt_pct(acc1[0])
    note = [i.value for i in at.info if "The post says" in i.value][0]
    assert "single attention head would have to pick" in note and fmt_pct(acc1[0]) in note and fmt_pct(acc1[1]) in note
    at = open_tab(at, "Scaled dot-product", key=TAB)
    X, _, _ = attention.head_task(1, np.random.default_rng(0))
    heads[(2, 1)].forward(X)
    assert at.dataframe[0].value["weight"].tolist() == [fmt_num(w) for w in heads[(2, 1)].attn.weights[0, 0, 7]]


@pytest.mark.slow
def test_timing_tab(app_test):
    at = app_test(PAGE).run()
    at = open_tab(at, "Recurrence vs attention: time", key=TAB)
    table = at.dataframe[0].value
    assert table["T"].tolist() == list(attention.TIMING_LENGTHS)
    ratio = table["LSTM ÷ self-attention"].tolist()
    note = [i.value for i in at.info if "The post says" in i.value][0]
    assert f"takes {ratio[0]}× self-attention's time at T = 8" in note and f"{ratio[-1]}× at T = 256" in note


def test_sov_lengths_without_a_clause_keep_the_models(app_test):
    """SOV with 4–5 words (no multiple of 3): a clear message on the page, nothing trained, nothing lost."""
    at = app_test(PAGE).run()
    before = at.dataframe[0].value.copy()
    at.selectbox(key="ch09_task").set_value("sov")
    at.slider(key="ch09_lengths").set_value((4, 5))
    at.button(key="ch09_btn_train").click().run()
    assert not at.exception
    assert any("multiple of 3 for the SOV task" in e.value and "kept" in e.value for e in at.error)
    assert at.dataframe[0].value.equals(before)
    assert any("Shown on arrival" in c.value for c in at.caption)


def test_bottleneck_tab(page):
    at = open_tab(page, "The bottleneck", key=TAB)
    acc_table, infl_table = at.dataframe[0].value, at.dataframe[1].value
    assert acc_table["model"].tolist() == ["No attention", "Bahdanau (additive)", "Luong (general)"]
    for i, which in enumerate(attention.MODELS):
        tok, seq = attention.accuracy_by_length(_reference(which), "reverse", [5], np.random.default_rng([5, 5]), n=100)
        assert acc_table["token accuracy at length 5"][i] == fmt_pct(tok[0])
        assert acc_table["whole sequences right at 5"][i] == fmt_pct(seq[0])
    model, rng = _reference("none"), np.random.default_rng(11)
    expect = [attention.encoder_influence(model, rng.integers(0, 12, (8, L))) for L in (6, 12, 18)]
    assert infl_table["influence of the first word ÷ the last"].tolist() == [fmt_num(v[0] / v[-1]) for v in expect]
    assert any(f"{fmt_num(expect[0][0] / expect[0][-1])} at length 6" in c.value for c in at.caption)
    at.multiselect(key="ch09_infl_lengths").set_value([24])
    at.selectbox(key="ch09_infl_model").set_value("luong").run()
    assert not at.exception and at.dataframe[1].value["source length"].tolist() == [24]
    # the page's state and every widget key carry the chapter prefix (the hub runs all pages in one session)
    keys = set(at.session_state.keys())
    assert {"ch09", "ch09_btn_train", "ch09_btn_stop", "ch09_seed", "ch09_tab"} <= keys
    assert all(k.startswith("ch09") for k in keys)


@pytest.mark.slow
def test_scaled_dot_product_tab(page):
    at = open_tab(page, "Scaled dot-product", key=TAB)
    table = at.dataframe[0].value
    model = _heads_reference()
    X, _, _ = attention.head_task(1, np.random.default_rng(0))
    model.forward(X)
    assert table["weight"].tolist() == [fmt_num(w) for w in model.attn.weights[0, 0, 7]]
    diff = [c.value for c in at.caption if "largest difference" in c.value][0]
    assert float(diff.rsplit(": ", 1)[1].rstrip(".")) < 1e-5          # float32 round-off, nothing more
    at.slider(key="ch09_sdpa_query").set_value(0)
    at.selectbox(key="ch09_sdpa_head").set_value(1).run()
    table = at.dataframe[0].value
    assert table["allowed (causal)"].tolist() == [True] + [False] * 7
    assert table["weight"].tolist() == ["1.00"] + ["0"] * 7
    ent = at.dataframe[1].value
    sc, un = attention.softmax_entropy_vs_d([2, 4, 8, 16, 32, 64, 128, 256, 512], np.random.default_rng(0), n_keys=16)
    assert ent["entropy unscaled"].iloc[-1] == fmt_num(un[-1])
    at.slider(key="ch09_sdpa_keys").set_value(64).run()
    assert not at.exception and float(at.dataframe[1].value["entropy scaled"].iloc[0]) > 3.0


def test_alignment_tab(page):
    at = open_tab(page, "Learned alignment", key=TAB)
    at.slider(key="ch09_align_len").set_value(5).run()
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["Bahdanau (additive)", "Luong (general)"]
    for i, which in enumerate(("bahdanau", "luong")):
        exact, near = attention.alignment_accuracy(_reference(which), "reverse", 5, np.random.default_rng(3))
        assert table["argmax on the copied word"][i] == fmt_pct(exact)
        assert table["…within one position"][i] == fmt_pct(near)
    at.slider(key="ch09_align_len").set_value(3).run()
    assert not at.exception and at.dataframe[0].value["token accuracy at length 3"].notna().all()


def test_self_attention_and_multihead_tabs(page):
    at = open_tab(page, "Self-attention", key=TAB)
    model = _heads_reference()
    X, _, _ = attention.head_task(1, np.random.default_rng(0))
    model.forward(X)
    assert at.dataframe[0].value["weight"].tolist() == [fmt_num(w) for w in model.attn.weights[0].mean(0)[7]]
    at.checkbox(key="ch09_self_causal").uncheck()
    at.selectbox(key="ch09_self_head").set_value(0)
    at.slider(key="ch09_self_word").set_value(0).run()
    assert any("Illustrative" in w.value for w in at.warning)
    model.forward(X, causal=False)
    assert at.dataframe[0].value["weight"].tolist() == [fmt_num(w) for w in model.attn.weights[0, 0, 0]]
    at = open_tab(at, "Multi-head", key=TAB)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["1 head(s)", "2 head(s)", "2 head(s)"]
    roles = attention.head_roles(model, np.random.default_rng(3))
    assert table["weight on previous word"].tolist()[1:] == [fmt_num(r) for r in roles[:, 0]]
    assert table["accuracy: first word"][2] == fmt_pct(attention.evaluate_heads(model, np.random.default_rng(4))[1])


@pytest.mark.slow
def test_sov_task_and_four_heads(app_test):
    at = app_test(PAGE).run()
    at.select_slider(key="ch09_heads").set_value(4)
    at.selectbox(key="ch09_luong_score").set_value("dot")
    _train(at, task="sov")
    at = open_tab(at, "Learned alignment", key=TAB)
    assert any("**Source:** S" in m.value for m in at.markdown)
    assert at.dataframe[0].value["model"].tolist() == ["Bahdanau (additive)", "Luong (dot)"]
    at = open_tab(at, "Multi-head", key=TAB)
    assert at.dataframe[0].value["model"].tolist() == ["1 head(s)"] + ["4 head(s)"] * 4
    # a Stop (or an error) while the 4-head model trained: the run keeps its encoder–decoders, the tabs keep
    # the heads models from before (no KeyError), and say so
    state = at.session_state["ch09"]
    import time
    run = dict(state["shown"], heads={}, complete=False, config=dict(state["shown"]["config"], heads=2),
               started=time.perf_counter() - 2.0)
    state["training"] = run
    for tab in ("Scaled dot-product", "Self-attention", "Multi-head"):
        at = open_tab(at, tab, key=TAB)
        assert at.dataframe[0].value is not None
    assert any("Training stopped before the 2-head model finished: showing the 4-head model" in c.value
               for c in at.caption)
    assert at.dataframe[0].value["model"].tolist() == ["1 head(s)"] + ["4 head(s)"] * 4
    assert any(c.value.startswith("Train (stopped) took ") for c in at.sidebar.caption)


@pytest.mark.slow
def test_a_stop_before_the_first_step_changes_nothing(app_test):
    """Stop (or an error) before any model took a step: the page keeps showing the checkpoint."""
    import time
    at = app_test(PAGE).run()
    before = at.dataframe[0].value.copy()
    state = at.session_state["ch09"]
    state["training"] = dict(config=dict(state["shown"]["config"], task="sov", lengths=(3, 6)), models={},
                             histories={}, heads={}, source="trained", origin={}, complete=False,
                             started=time.perf_counter())
    at.run()
    assert not at.exception and at.dataframe[0].value.equals(before)
    assert any("Shown on arrival" in c.value for c in at.caption)


@pytest.mark.slow
def test_an_error_during_train_keeps_what_finished(app_test, monkeypatch):
    """The heads model fails to train (a crash): the page says so, shows the encoder–decoders that finished
    in this run, and the heads tabs keep the heads models from before (no KeyError)."""
    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(attention, "train_heads", broken)
    at = app_test(PAGE).run()
    at.number_input(key="ch09_head_seed").set_value(0)      # new heads settings: the heads models train
    at = _train(at)                                 # _train asserts no exception
    assert any("Training stopped with an error: RuntimeError: simulated failure" in e.value for e in at.error)
    acc = at.dataframe[0].value
    tok, _ = attention.accuracy_by_length(_reference("luong"), "reverse", [5], np.random.default_rng([5, 5]), n=100)
    assert acc["token accuracy at length 5"][2] == fmt_pct(tok[0])            # this run's models
    for tab in ("Scaled dot-product", "Self-attention", "Multi-head"):
        at = open_tab(at, tab, key=TAB)
    assert at.dataframe[0].value["model"].tolist() == ["1 head(s)", "2 head(s)", "2 head(s)"]   # from before
    assert any("showing the seed-1 model kept from before" in c.value for c in at.caption)


@pytest.mark.slow
def test_train_keeps_the_heads_models_whose_settings_did_not_change(app_test, monkeypatch):
    """A Train with the heads settings of the models shown keeps them (none of the encoder–decoder settings
    reaches them), says so beside the time, and trains only the heads models it does not have."""
    trained = []
    real = attention.train_heads

    def counted(model, *args, **kwargs):
        trained.append(model.num_heads)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(attention, "train_heads", counted)
    at = app_test(PAGE).run()
    shipped = at.session_state["ch09"]["shown"]["heads"]
    at = _train(at)
    assert trained == []
    assert at.session_state["ch09"]["shown"]["heads"] == shipped               # the same objects
    assert any(c.value.startswith("Self-attention heads: the 2- and 1-head models of seed 1 were kept")
               for c in at.sidebar.caption)
    at.select_slider(key="ch09_heads").set_value(4)
    at = _train(at)
    assert trained == [4]                                                       # the 1-head model is kept
    assert any(c.value.startswith("Self-attention heads: the 1-head model of seed 1 was kept")
               for c in at.sidebar.caption)
    at.number_input(key="ch09_head_seed").set_value(0)
    at = _train(at)
    assert trained == [4, 4, 1]
    assert not any(c.value.startswith("Self-attention heads") for c in at.sidebar.caption)
    assert at.session_state["ch09"]["shown"]["heads_seed"] == {4: 0, 1: 0}
