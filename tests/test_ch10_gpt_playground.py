"""AppTest for the chapter 10 playground: on first load the Generate tab shows both checkpoints'
continuations and next-character distributions, equal to the module's own computation, and says which
checkpoint and script they come from; every tab opens and shows the module's numbers; the controls change
what is shown; Watch it learn shows the shipped small run's record before any run of its own, then trains,
says how long it took and keeps its samples."""

import pytest

from apptest_helpers import open_tab

import gpt
import gpt_inside as inside
from common.playground import fmt_seconds
from common.plots import fmt_num, fmt_pct

PAGE = "10-transformer/gpt_playground.py"
TAB = "ch10_tab"


@pytest.fixture(scope="module")
def page():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from conftest import APP_TIMEOUT, ROOT
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=APP_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _tok():
    return gpt.shipped("small")[1]


def _checkpoint_captions(at, name):
    return [c.value for c in at.caption if f"`10-transformer/checkpoints/gpt_{name}.npz`" in c.value]


def _assert_names_checkpoint_and_script(caption, name):
    from conftest import ROOT
    info = gpt.shipped(name)[2]
    assert caption.startswith("Shown on arrival: the shipped checkpoint")
    assert info["script"] == "10-transformer/train_gpt.py" and (ROOT / info["script"]).is_file()
    assert f"made by `python {info['script']}`" in caption
    assert info["settings"] == f"--config {name}" and f"`{info['settings']}`" in caption


def test_first_load_generates_with_both_checkpoints(page):
    at = page
    assert at.title[0].value == "10 · Transformer"
    texts = [c.value for c in at.code]
    assert len(texts) == 2
    top_k = at.selectbox(key="ch10_top_k")     # 0 stands for all (None showed a placeholder after a hub rerun)
    assert top_k.value == 0 and top_k.options[0] == "all 65"
    for text, name in zip(texts, ("small", "medium")):
        model, tok, _ = gpt.shipped(name)
        assert text == "ROMEO:\n" + gpt.sample_string(model, tok, "ROMEO:\n", 300, temperature=0.8, seed=0)
    for table, name in zip(at.dataframe[:2], ("small", "medium")):
        expect = inside.next_chars(gpt.shipped(name)[0], _tok(), "ROMEO:\n", temperature=0.8)
        assert table.value["character"].tolist() == [repr(c) for c, _ in expect]
        assert table.value["probability"].tolist() == [fmt_pct(p) for _, p in expect]
    for name in ("small", "medium"):                     # says where the text comes from, without any press
        (caption,) = _checkpoint_captions(at, name)
        _assert_names_checkpoint_and_script(caption, name)


def test_length_shows_a_prefix_and_samples_only_what_is_new(page):
    """Length changes reuse the run with the same prompt, temperature, top-k and seed: a shorter text is the
    first characters of the longer one, a longer one continues it; both equal a fresh sample of that length."""
    at = page
    model, tok, _ = gpt.shipped("small")
    run = at.session_state["ch10"]["generated"][("ROMEO:\n", 0.8, None, 0)]
    assert len(run["small"]["chars"]) == len(run["medium"]["chars"]) == 300
    for length in (20, 320):
        at.slider(key="ch10_length").set_value(length).run()
        assert not at.exception
        assert at.code[0].value == "ROMEO:\n" + gpt.sample_string(model, tok, "ROMEO:\n", length, temperature=0.8, seed=0)
        assert len(run["small"]["chars"]) == max(300, length)         # 20: nothing sampled; 320: 20 more
    assert len(at.session_state["ch10"]["generated"]) == 1


@pytest.mark.slow
def test_generation_controls(page):
    at = page
    first = [c.value for c in at.code]
    at.slider(key="ch10_temperature").set_value(0.0)
    at.text_area(key="ch10_prompt").set_value("JULIET:\n").run()
    assert [c.value for c in at.code] == first       # the sampling settings wait for Generate (a form)
    at.slider(key="ch10_length").set_value(40).run()  # Length responds at once: the first 40 characters
    assert [c.value for c in at.code] == [text[:len("ROMEO:\n") + 40] for text in first]
    at.slider(key="ch10_temperature").set_value(0.0)  # (AppTest drops a form's unsent values on a rerun)
    at.text_area(key="ch10_prompt").set_value("JULIET:\n")
    at.button(key="ch10_btn_generate").click().run()
    assert not at.exception
    model, tok, _ = gpt.shipped("medium")
    greedy = gpt.sample_string(model, tok, "JULIET:\n", 40, temperature=0)
    assert at.code[1].value == "JULIET:\n" + greedy
    assert at.dataframe[1].value["probability"].tolist()[0] == "100.0%"
    at.slider(key="ch10_cursor").set_value(10).run()
    ids = tok.encode("JULIET:\n" + greedy[:10])[None]
    assert at.dataframe[1].value["character"][0] == repr(tok.chars[model.forward(ids)[0, -1].argmax()])
    at.slider(key="ch10_temperature").set_value(1.0)
    at.selectbox(key="ch10_top_k").set_value(3)
    at.button(key="ch10_btn_generate").click().run()
    assert len(at.dataframe[0].value) == 10 and (at.dataframe[0].value["probability"][3:] == "0.0%").all()
    at.slider(key="ch10_length").set_value(100).run()
    at.slider(key="ch10_cursor").set_value(90).run()
    at.slider(key="ch10_length").set_value(40).run()                  # shorter than where the cursor was
    assert not at.exception and at.slider(key="ch10_cursor").value == 39
    at.text_area(key="ch10_prompt").set_value("café")
    at.button(key="ch10_btn_generate").click().run()
    assert any("never saw" in e.value for e in at.error)


def test_inside_the_model(page):
    at = open_tab(page, "Inside the model", key=TAB)
    prompt = "To be, or not to be, that is the question:"
    rows = inside.attended(gpt.shipped("small")[0], prompt, len(prompt) - 1)
    table = at.dataframe[0].value
    assert len(table) == 2 * 4
    assert table["looks at (char@position)"].tolist() == [r["looks at"] for r in rows]
    norms = inside.residual_norms(gpt.shipped("small")[0], _tok().encode(prompt)[None])
    assert at.dataframe[1].value["mean ‖x_t‖"].tolist() == [fmt_num(v) for v in norms.mean(axis=1)]
    at.selectbox(key="ch10_inside_model").set_value("medium")
    at.slider(key="ch10_inside_query").set_value(3).run()
    assert not at.exception and len(at.dataframe[0].value) == 4 * 4
    rows = inside.attended(gpt.shipped("medium")[0], prompt, 3)
    assert at.dataframe[0].value["looks at (char@position)"].tolist() == [r["looks at"] for r in rows]


def test_positional_encoding(page):
    at = open_tab(page, "Positional encoding", key=TAB)
    order = at.dataframe[1].value
    assert order["model"].tolist() == ["small", "nopos", "medium"]
    for i, name in enumerate(order["model"]):
        res = inside.order_test(gpt.shipped(name)[0], _tok())
        assert order["after block 0: largest difference"][i] == fmt_num(res["stream_diff"][1])
        assert order["next-character distributions differ by (TV)"][i] == fmt_num(res["tv_distance"])
    assert float(order["after block 0: largest difference"][1]) < 1e-12 < float(order["after block 0: largest difference"][0])
    at.select_slider(key="ch10_pos_d").set_value(16)
    at.slider(key="ch10_pos_T").set_value(128).run()
    assert not at.exception


def test_size_and_cost(page):
    at = open_tab(page, "Size and cost", key=TAB)
    counts = at.dataframe[0].value
    for name in ("small", "nopos", "medium"):
        c = gpt.shipped(name)[0].parameter_counts()
        assert counts[name].tolist() == [f"{c[k]:,}" for k in (*inside.COMPONENTS, "total")]
    rule = at.dataframe[1].value
    m = gpt.shipped("medium")[0]
    assert rule["12·L·d²"][2] == f"{12 * 4 * 128 ** 2:,}"
    assert rule["forward FLOPs per token"][2] == f"{m.flops_per_token()['total']:,}"
    speed = at.dataframe[2].value
    assert speed["model"].tolist() == ["small", "medium"]
    assert all(float(v) > 0 for v in speed["training tokens/s (batch 12 × 64)"])


def test_watch_it_learn_shows_the_shipped_run_before_any_run(page):
    at = open_tab(page, "Watch it learn", key=TAB)
    assert at.session_state["ch10"]["run"] is None
    learn = gpt.LEARN_DEFAULTS
    assert any(f"Press **Train**: {learn['steps']} steps of batch {learn['batch']}" in i.value for i in at.info)
    info = gpt.shipped("small")[2]
    cfg = info["train_config"]
    (caption,) = _checkpoint_captions(at, "small")
    _assert_names_checkpoint_and_script(caption, "small")
    assert f"{fmt_num(info['train_seconds'] / 60)} min of training" in caption
    assert f"validation loss {fmt_num(info['val_loss'])} on every character" in caption
    (status,) = [m.value for m in at.markdown if m.value.startswith("Recorded:")]
    assert cfg["iters"] == info["val_steps"][-1] == 25 * len(info["loss_curve"]) == 3000
    assert status == (f"Recorded: step **3,000** of 3,000 · validation loss **{fmt_num(info['val_curve'][-1])}** "
                      f"(first 8,192 characters) · last batch loss **{fmt_num(info['loss_curve'][-1])}** (mean of "
                      "the last 25 steps)")
    assert cfg["eval_windows"] * cfg["block_size"] == 8192
    assert any(m.value == f"**after 3,000 steps** (temperature {info['sample_settings']['temperature']}, seed "
               f"{info['sample_settings']['seed']})" for m in at.markdown)
    assert [c.value for c in at.code] == [info["sample"]] and len(info["sample"]) == 300
    assert not any("took" in c.value for c in at.caption)


@pytest.mark.slow
def test_watch_it_learn_trains_live_and_keeps_the_run(page):
    at = open_tab(page, "Watch it learn", key=TAB)
    at.select_slider(key="ch10_steps").set_value(50)
    at.select_slider(key="ch10_every").set_value(25)
    at.select_slider(key="ch10_batch").set_value(8)
    at.button(key="ch10_btn_train").click().run()
    assert not at.exception
    run = at.session_state["ch10"]["run"]
    assert run.step == 50 and run.val_steps == [25, 50]
    cfg = run.config
    ref = gpt.new_run(cfg)
    gpt.train(ref)
    assert run.batch_loss == ref.batch_loss                                  # what the page trained, bit for bit
    samples = at.session_state["ch10"]["samples"]
    assert [s for s, _ in samples] == [25, 50]
    assert samples[-1][1] == gpt.sample_string(ref.model, _tok(), "\n", 120, temperature=0.8)
    wall = at.session_state["ch10"]["wall"]
    assert 0 < run.seconds <= wall                                         # the record's spans lie inside it
    assert [c.value for c in at.caption if "took" in c.value] == [f"Training 50 of 50 steps took {fmt_seconds(wall)}"]
    assert [m.value for m in at.markdown if m.value.startswith("Step **")] == [
        f"Step **50** of 50 · wall time **{fmt_seconds(wall)}** · last batch loss **{fmt_num(run.batch_loss[-1])}**"]
    assert not _checkpoint_captions(at, "small") and not at.info                  # the shipped record gave way
    assert not any(m.value.startswith("Recorded:") for m in at.markdown)
    assert [c.value for c in at.code] == [samples[1][1], samples[0][1]]           # newest first
    at = open_tab(at, "Generate", key=TAB)
    at = open_tab(at, "Watch it learn", key=TAB)                             # the run is still there
    assert at.session_state["ch10"]["run"] is run and len(at.code) == 2


def test_watch_it_learn_after_a_stop_says_how_far_it_got(page):
    """What a Stop leaves (a run with fewer steps than its schedule) is drawn as such: its steps, its last
    loss, and the took caption saying it stopped. Set up in the page's state (AppTest cannot press Stop
    while a run is going)."""
    at = open_tab(page, "Watch it learn", key=TAB)
    run = gpt.new_run(gpt.learn_config(steps=50, batch=8, lr=2e-3, every=25, seed=1))
    gpt.train(run, 30)
    at.session_state["ch10"].update(run=run, history=None, base=0, samples=[], wall=1.5)
    at.run()
    assert not at.exception
    assert [c.value for c in at.caption if "took" in c.value] == ["Training 30 of 50 steps (stopped) took 1.5 s"]
    assert [m.value for m in at.markdown if m.value.startswith("Step **")] == [
        f"Step **30** of 50 · wall time **1.5 s** · last batch loss **{fmt_num(run.batch_loss[-1])}**"]
