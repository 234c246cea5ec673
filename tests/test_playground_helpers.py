"""The Streamlit helpers every playground uses, run inside a real (simulated) Streamlit script."""

import os

import pytest
from streamlit.testing.v1 import AppTest


def _page():
    import numpy as np
    import streamlit as st

    from common import playground

    playground.chapter_header(4, "Subtitle text")
    data = playground.mnist()
    st.metric("train images", f"{len(data.x_train):,}")
    try:
        data.x_train[0, 0] = 1.0
    except ValueError:
        st.metric("read-only", "yes")
    report = playground.progress_reporter(st.progress(0.0))
    report(1.7, "done")          # clipped to 1.0, not an exception
    st.metric("float32", str(data.x_train.dtype == np.float32))


def test_header_mnist_and_progress(monkeypatch):
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "04 · Optimizers"
    assert "Neural Network Optimizers" in at.caption[0].value and "Chapter 4 of 10" in at.caption[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["read-only"] == "yes" and metrics["float32"] == "True"
    real = bool(os.environ.get("P2T_MNIST_DIR"))
    assert metrics["train images"] == ("60,000" if real else "10,000")
    assert any("bundled" in c.value for c in at.caption) != real   # the sample announces itself, in one line


def test_sample_note_when_full_mnist_is_absent(monkeypatch, tmp_path):
    from common import mnist
    monkeypatch.delenv("P2T_MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist, "cache_dir", lambda: tmp_path)
    import streamlit as st
    st.cache_resource.clear()
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["train images"] == "10,000"
    note = [c.value for c in at.caption if "bundled" in c.value]
    assert note == ["Using the bundled 10,000-digit MNIST sample; full MNIST downloads when you are online, "
                    "or set P2T_MNIST_DIR to a folder that holds it."]
    assert at.expander[0].label == "Where MNIST was looked for" and "bundled sample" in at.expander[0].markdown[0].value
    assert not at.info                                                  # no dump of errors in a box
    st.cache_resource.clear()


HUB = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from common.playground import keep_widget_state
nav = st.navigation([st.Page("one.py", title="one"), st.Page("two.py", title="two")])
keep_widget_state()
nav.run()
"""
PAGE_ONE = """
import streamlit as st
from common.playground import PageState
page = PageState("ch01")
st.slider("Learning rate", 0.0, 1.0, 0.5, key=page.key("lr"))
st.button("Train", key=page.button_key("train"))
with st.form(page.key("form")):             # a form's settings too (chapter 10's sampling settings)
    st.slider("Temperature", 0.0, 2.0, 0.8, key=page.key("temperature"))
    st.form_submit_button("Generate", key=page.button_key("generate"))
"""
PAGE_TWO = """
import streamlit as st
from common.playground import PageState
page = PageState("ch02")
st.selectbox("Activation", ["tanh", "relu"], key=page.key("act"))
"""


def test_settings_survive_switching_pages(tmp_path):
    """A hub in miniature: two pages with chapter-prefixed widgets and the hub's keep_widget_state."""
    from conftest import ROOT
    (tmp_path / "hub.py").write_text(HUB.format(root=str(ROOT)))
    (tmp_path / "one.py").write_text(PAGE_ONE)
    (tmp_path / "two.py").write_text(PAGE_TWO)
    at = AppTest.from_file(str(tmp_path / "hub.py"), default_timeout=60).run()
    assert not at.exception
    at.slider(key="ch01_lr").set_value(0.9).run()
    at.button(key="ch01_btn_train").click().run()
    at.slider(key="ch01_temperature").set_value(1.5)
    at.button(key="ch01_btn_generate").click().run()
    assert not at.exception
    at.switch_page("two.py").run()
    assert not at.exception and not at.slider
    at.switch_page("one.py").run()
    assert not at.exception
    assert at.slider(key="ch01_lr").value == 0.9 and at.slider(key="ch01_temperature").value == 1.5


def test_seconds_and_notes():
    from common.playground import fmt_seconds
    assert [fmt_seconds(s) for s in (0.421, 3.61, 59.94, 125)] == ["0.42 s", "3.6 s", "59.9 s", "2 min 05 s"]
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError, match="seconds"):
            fmt_seconds(bad)

    def page():
        from common import playground
        playground.post_vs_measured("seed 42 gets stuck", "seed 42 reaches 100%")
        playground.took(3.61, "Train both")

    at = AppTest.from_function(page).run()
    assert not at.exception
    assert "The post says:** seed 42 gets stuck" in at.info[0].value and "Measured here:** seed 42" in at.info[0].value
    assert at.caption[0].value == "Train both took 3.6 s"


def _kept_figures_page():
    import streamlit as st
    from matplotlib.figure import Figure

    from common import playground

    calls = st.session_state.setdefault("draws", [])

    def draw(tag):
        def make():
            calls.append(tag)
            fig = Figure(figsize=(1, 1))
            fig.add_subplot().plot([0, 1], [0, 1])
            return fig
        return make

    class Run:                                             # any object (a run record) can own its figures
        pass

    run = st.session_state.setdefault("run", {})          # a run's dict in the page state
    record = st.session_state.setdefault("record", Run())
    for key in ("a", "b", "a"):
        playground.show_kept_figure(run, key, draw(key))
    playground.show_kept_figure(record, "curves", draw("record"))
    many = st.session_state.setdefault("many", {})
    for i in range(5):                                     # more keys than the limit: the oldest go first
        playground.show_kept_figure(many, i, draw(i), limit=3)
    st.metric("kept", ",".join(str(k) for k in many["_figures"]))
    st.metric("draws", ",".join(str(c) for c in calls))


def test_show_kept_figure_draws_each_key_once_and_keeps_at_most_limit():
    at = AppTest.from_function(_kept_figures_page, default_timeout=60).run()
    assert not at.exception
    assert len(at.get("image")) == 9                       # every call shows its picture
    assert at.metric[0].value == "2,3,4"
    assert at.metric[1].value == "a,b,record,0,1,2,3,4"
    at.run()                  # a rerun: the dict and the record keep theirs; 0 and 1 were dropped, and drop 2, 3
    assert at.metric[1].value == "a,b,record,0,1,2,3,4,0,1,2,3,4"


@pytest.mark.parametrize("layout", ["constrained", None])
def test_figure_png_has_the_pixels_savefig_gives(layout):
    import io

    import numpy as np
    from matplotlib.figure import Figure
    from PIL import Image

    from common.playground import figure_png

    def make():
        fig = Figure(figsize=(4, 3), layout=layout)
        ax = fig.subplots()
        ax.plot([0, 1, 2], [1, 3, 2], "-o", label="a line")
        ax.imshow(np.arange(12.0).reshape(3, 4), extent=(0, 2, 1, 3), alpha=0.3)
        ax.set_title("title")
        fig.legend(loc="outside right upper" if layout else "upper right")
        return fig

    buf = io.BytesIO()
    make().savefig(buf, format="png", dpi=100)
    expected = np.asarray(Image.open(buf))
    got = np.asarray(Image.open(io.BytesIO(figure_png(make(), dpi=100))))
    assert got.shape == expected.shape == (300, 400, 4)
    np.testing.assert_array_equal(got, expected)
