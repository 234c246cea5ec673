"""``tests/benchmarks/bench_controls.py`` reports the controls that train when moved apart from the others
(the issue "Speed" target is for the controls that do not train): each label it lists must name a control
on its page, or renaming the control would silently put a training control back among the view controls."""

import sys
from pathlib import Path

import pytest

from test_browser_smoke import browser  # noqa: F401  (the fixture)

from apptest_helpers import widget_labels
from common.chapters import CHAPTERS

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import bench_controls  # noqa: E402


@pytest.mark.parametrize("chapter", sorted(bench_controls.TRAINS_ON_CHANGE))
def test_every_control_that_trains_is_on_its_page(app_test, chapter):
    ch = next(c for c in CHAPTERS if f"{c.number:02d}" == chapter)
    at = app_test(str(ch.playground.relative_to(ch.playground.parents[1]))).run()
    assert not at.exception
    labels = widget_labels(at, [t.label for t in at.tabs], tab_key=f"ch{chapter}_tab")
    assert bench_controls.TRAINS_ON_CHANGE[chapter] <= set(labels), sorted(set(labels))


APP = '''
import streamlit as st

@st.fragment
def settings():
    st.slider("in a fragment", 0, 10, 5, key="f")

st.slider("whole page", 0, 10, 5, key="p")
settings()
'''


@pytest.mark.slow
def test_timed_counts_whole_page_and_fragment_reruns_and_no_change(tmp_path, browser):
    """A fragment's rerun can leave no "running" state in the DOM: ``timed`` still counts it (from the
    WebSocket), and a change that sent nothing (a slider at its end) is still not counted."""
    from browser_crawl import wait_idle
    from test_browser_smoke import streamlit_server

    (tmp_path / "app.py").write_text(APP)
    with streamlit_server("app.py", tmp_path) as url:
        page = browser.new_page()
        page.add_init_script(bench_controls.WIRE)
        try:
            page.goto(url, timeout=60_000)
            wait_idle(page)
            sliders = page.locator('[data-testid="stSlider"] input')
            whole, frag = sliders.nth(0), sliders.nth(1)
            for loc in (whole, frag):
                for k in range(3):
                    t = bench_controls.timed(page, lambda: bench_controls.move(page, "slider", loc, k))
                    assert t is not None and 0 < t < 10, t
            frag.focus()
            for _ in range(6):
                page.keyboard.press("End")
            wait_idle(page)
            assert bench_controls.timed(page, lambda: (frag.focus(), lambda: page.keyboard.press("End"))[1]) is None
        finally:
            page.close()
