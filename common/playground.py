"""Streamlit helpers every playground uses: the page header, a page's session state and widget keys, the
cached MNIST loader, figures, progress bars.

This is the one module in ``common`` that imports Streamlit (lazily, so the library imports without it).

Every page keeps its state in one ``PageState`` named after its chapter (``page = PageState("ch06")``):
its dict lives in ``st.session_state["ch06"]`` and ``page.key("seed")`` gives the widget key
``"ch06_seed"``. The hub runs every page in one session, so unprefixed keys ("seed", "tab", "stop")
would collide between chapters.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ._script import BLAS_THREAD_VARS
from .chapters import CHAPTERS
from .plots import figure_png  # noqa: F401  (pages call playground.figure_png)

# ---- BLAS threads -------------------------------------------------------------------------------------

#: the environment variable that sets how many BLAS threads the pages compute with (0: the library's own)
PAGE_BLAS_THREADS_VAR = "P2T_PAGE_BLAS_THREADS"


def limit_blas_threads() -> int | None:
    """Run the pages' NumPy on one BLAS thread (``threadpoolctl``), unless ``P2T_PAGE_BLAS_THREADS`` asks for
    another count (0: the library's default) or a variable BLAS reads itself (``BLAS_THREAD_VARS``,
    shared with the training scripts' ``common/_script.py``) is set. Returns the count set,
    or None when the library's is kept. Called once when this module is imported, i.e. by every page.

    Why one: the pages' matrices are small, and the browser showing the page runs on the same machine.
    Measured on a 2-core machine: chapter 10's first Generate (2 × 300 characters) took 1.2 s with one
    thread and 5.7–6.6 s with OpenBLAS's default two while another process kept the second core busy
    (1.1 s against 1.4 s on an idle machine); chapter 06's "Train both" 4.3 s against 5.7 s (idle: 3.7 s
    against 4.1 s). The benchmarks and training scripts already pin one thread for the same reason."""
    raw = os.environ.get(PAGE_BLAS_THREADS_VAR)
    if raw is None:
        if any(v in os.environ for v in BLAS_THREAD_VARS):
            return None
        n = 1
    else:
        try:
            n = int(raw)
        except ValueError:
            n = -1
        if n < 0:
            raise ValueError(f"{PAGE_BLAS_THREADS_VAR} must be a whole number ≥ 0 (0: the BLAS library's "
                             f"default), got {raw!r}")
    if n == 0:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                  # installed with requirements.txt; without it the default stays
        return None
    threadpool_limits(limits=n, user_api="blas")
    return n


limit_blas_threads()


def _st():
    import streamlit as st
    return st


def chapter_header(number: int, subtitle: str | None = None) -> None:
    """The page's configuration (wide, titled ``"NN · Title"``), its title, the blog post this chapter
    accompanies, and where it sits in the series. A page calls it first."""
    st = _st()
    ch = CHAPTERS[number - 1]
    st.set_page_config(page_title=ch.label, layout="wide")
    st.title(ch.label)
    st.caption(f"Chapter {ch.number} of {len(CHAPTERS)} · part “{ch.part}” · companion to the post "
               f"[{ch.post_title}]({ch.post_url})")
    if subtitle:
        st.markdown(subtitle)


class PageState:
    """A page's session state (one dict, created once with ``defaults``) and its widget keys.

    ``page["models"]`` reads and writes the dict; ``page.key("train")`` is the widget key
    ``f"{prefix}_train"``; ``page.widget("train")`` reads that widget's current value.
    """

    def __init__(self, prefix: str, **defaults) -> None:
        if not prefix or not str(prefix).isidentifier():
            raise ValueError(f"prefix must be a short identifier such as 'ch06', got {prefix!r}")
        st = _st()
        self.prefix = str(prefix)
        if self.prefix not in st.session_state:
            st.session_state[self.prefix] = {k: (v() if callable(v) else v) for k, v in defaults.items()}
        self.data: dict = st.session_state[self.prefix]
        for k, v in defaults.items():                 # a default added to the page after a session began
            if k not in self.data:
                self.data[k] = v() if callable(v) else v

    def key(self, name: str) -> str:
        """The widget key for a value widget (slider, select, checkbox, tabs…): ``f"{prefix}_{name}"``."""
        return f"{self.prefix}_{name}"

    def button_key(self, name: str) -> str:
        """The widget key for a button (``st.button``, ``st.download_button``, ``st.form_submit_button``):
        ``f"{prefix}_btn_{name}"``. Buttons have no value to keep, and Streamlit refuses to have one set, so
        ``keep_widget_state`` must be able to tell them apart by their key."""
        return f"{self.prefix}_btn_{name}"

    def widget(self, name: str, default=None):
        return _st().session_state.get(self.key(name), default)

    def __getitem__(self, k):
        return self.data[k]

    def __setitem__(self, k, v):
        self.data[k] = v

    def __contains__(self, k):
        return k in self.data

    def get(self, k, default=None):
        return self.data.get(k, default)

    def setdefault(self, k, default):
        return self.data.setdefault(k, default)

    def update(self, **kwargs):
        self.data.update(kwargs)


_PAGE_KEY = re.compile(r"^ch\d\d_(?!btn_)")


def keep_widget_state() -> None:
    """Keep every page's settings when the learner switches chapters in the hub and comes back.

    Streamlit deletes a widget's value at the end of a run in which the widget was not drawn (another
    page was open). Re-saving a key in an earlier part of the run detaches it from its widget until the
    widget is drawn again (Streamlit's documented "interrupt the widget clean-up" pattern), so the hub
    calls this before running the page. Only chapter-prefixed value widgets (``PageState.key``) are kept;
    buttons (``PageState.button_key``, ``"chNN_btn_…"``) are skipped: they have no value to keep, and a
    button whose key was re-saved raises when it is drawn (``tests/test_hub.py`` visits every page twice
    in the hub to catch a button keyed like a value widget).
    """
    st = _st()
    for k in list(st.session_state.keys()):
        if isinstance(k, str) and _PAGE_KEY.match(k):
            st.session_state[k] = st.session_state[k]


def _mnist_loader():
    st = _st()

    @st.cache_resource(show_spinner="Loading MNIST…")
    def load(flatten: bool):
        from .mnist import load_mnist
        data = load_mnist(flatten=flatten)
        for a in (data.x_train, data.y_train, data.x_test, data.y_test):
            a.flags.writeable = False  # shared by every session: nobody may modify it
        return data

    return load


_LOADER = None


def mnist(flatten: bool = True):
    """MNIST shared read-only by all sessions (``st.cache_resource``), with a note when it is the
    bundled sample rather than the full set."""
    global _LOADER
    st = _st()
    if _LOADER is None:
        _LOADER = _mnist_loader()
    data = _LOADER(flatten)
    if data.is_sample:
        st.caption(f"Using the bundled {len(data.y_train):,}-digit MNIST sample; full MNIST downloads when you "
                   "are online, or set P2T_MNIST_DIR to a folder that holds it.")
        with st.expander("Where MNIST was looked for"):
            st.write(data.source)
    return data


def show_figure(fig, dpi: int = 120) -> None:
    """Draw a Matplotlib figure as a PNG at ``dpi``.

    ``st.pyplot`` renders at 200 dpi and redraws with a tight bounding box, about three times the cost of
    one plain save, on every rerun; the figures from ``common.plots`` already use a constrained layout.
    """
    _st().image(figure_png(fig, dpi))


def show_kept_figure(owner, key, draw, dpi: int = 120, limit: int = 64) -> None:
    """Show the figure ``draw()`` returns, drawn once per ``key`` and kept with ``owner``.

    ``owner`` is what the figure shows, e.g. a finished training run: a dict (a run's dict in the page
    state) keeps the PNG under its ``"_figures"`` entry, any other object in a ``_figures`` attribute, so the
    picture lives and dies with its run. ``key`` names every other input of the figure (a status, an epoch
    count, a selected model). Saving a figure costs 0.1–0.4 s; a control that only changes the settings of
    the *next* run reruns the page, and without this it redrew the last run's unchanged figures every time
    (issue "Speed"). At most ``limit`` pictures are kept per owner (the oldest go first).
    """
    if isinstance(owner, dict):
        store = owner.setdefault("_figures", {})
    else:
        store = owner.__dict__.setdefault("_figures", {})
    png = store.get(key)
    if png is None:
        png = store[key] = figure_png(draw(), dpi)
        while len(store) > limit:
            del store[next(iter(store))]
    _st().image(png)


def progress_reporter(bar):
    """Turn an ``st.progress`` element into the ``report(fraction, message)`` function that
    ``training.ProgressCallback`` calls."""
    def report(fraction: float, message: str) -> None:
        bar.progress(float(np.clip(fraction, 0.0, 1.0)), text=message)
    return report


def note_if(show: bool, text: str, kind: str = "caption") -> None:
    """``st.caption(text)`` (or ``st.warning``/``st.info``: ``kind``) when ``show``, in a slot that is on the
    page either way. A note that comes and goes with a control must not move what follows it: Streamlit's
    browser side matches elements by their place in the page, so every chart, image and table after a note
    that appeared (or went) is built again from scratch. Measured in Chromium on the 2-core machine: a
    Vega-Lite chart after a caption that toggled, 200–240 ms a change against 80–120 ms with the slot
    (chapter 08's "The sidebar has changed" note moved its gate charts on every sidebar change)."""
    st = _st()
    if kind not in ("caption", "warning", "info"):
        raise ValueError(f"kind must be 'caption', 'warning' or 'info', got {kind!r}")
    slot = st.empty()
    if show:
        getattr(slot, kind)(text)


def settings_note(slot, text: str | None) -> None:
    """The note under a page's training settings (``text``, or nothing when they match the models shown),
    in ``slot``, an ``st.empty()`` that is there either way.

    Chapters 06, 08 and 09 draw those settings in an ``st.fragment``: they change no view until Train (the
    views show the models already trained), so moving one reruns only the sidebar, where a whole-page rerun
    cost 250–500 ms a change in Chromium on the 2-core machine. The fragment returns its slot too, and the
    page writes the note again after a Train, for the models that run left."""
    if text:
        slot.caption(text)
    else:
        slot.empty()


def post_vs_measured(post: str, measured: str) -> None:
    """A short note beside a result where the post's claim and this page's measurement differ:
    "**The post says** … · **Measured here:** …" (issue "Every page explorable": say it where the learner looks)."""
    if not post or not measured:
        raise ValueError("post and measured must both be non-empty sentences")
    _st().info(f"**The post says:** {post}  \n**Measured here:** {measured}", icon=":material/fact_check:")


def fmt_seconds(seconds: float) -> str:
    """``3.6 s``, ``0.42 s``, ``2 min 05 s`` — wall times as a learner reads them."""
    seconds = float(seconds)
    if not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number ≥ 0, got {seconds!r}")
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s"


def took(seconds: float, what: str = "") -> None:
    """The caption after a run: "took 3.6 s" (or "Train both took 3.6 s")."""
    _st().caption(f"{what + ' ' if what else ''}took {fmt_seconds(seconds)}")


def checkpoint_caption(path, settings: str = "", action: str = "Press Train to train live with your own settings.") -> None:
    """Say that a page's first-load results come from a shipped checkpoint, which script made it, and with
    which settings, so nothing on the page looks like it was computed live when it was not."""
    from pathlib import Path

    from .checkpoints import read_meta
    path = Path(path)
    meta = read_meta(path)
    script = meta.get("script", "")
    made = f", made by `python {script}`" if script else ""
    extra = f" · {settings}" if settings else ""
    _st().caption(f"Shown on arrival: the shipped checkpoint `{path.parent.parent.name}/{path.parent.name}/"
                  f"{path.name}`{made}{extra}. {action}".rstrip())


def live_chart(slot, series: dict, y_title: str, concepts: dict | None = None) -> None:
    """A light line chart (Vega-Lite) of per-epoch values while a run trains, drawn into ``slot`` (an
    ``st.empty()``): ``series`` maps a curve's label to its values so far, ``concepts`` maps a label to its
    palette concept (default: the label itself). A redraw costs milliseconds, a Matplotlib figure ~0.1 s, so
    pages draw this after every epoch and the full figure once the run ends."""
    import altair as alt
    import pandas as pd

    from .plots import color
    rows = [{"epoch": i + 1, "run": k, "value": float(v)} for k, vals in series.items() for i, v in enumerate(vals)]
    if not rows:
        return
    names = list(series)
    chart = alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("epoch:O", title="epoch", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title=None, scale=alt.Scale(domain=names, range=[
            color((concepts or {}).get(n, n)) for n in names])))
    slot.altair_chart(chart.properties(height=220), use_container_width=True)
