"""Streamlit helpers every playground uses: the page header, the cached MNIST loader, progress bars.

This is the one module in ``common`` that imports Streamlit (lazily, so the library imports without it).
"""

from __future__ import annotations

import numpy as np

from .chapters import CHAPTERS


def _st():
    import streamlit as st
    return st


def chapter_header(number: int, subtitle: str | None = None) -> None:
    """Title, the blog post this chapter accompanies, and where it sits in the series."""
    st = _st()
    ch = CHAPTERS[number - 1]
    st.title(f"{ch.number:02d} · {ch.title}")
    st.caption(f"Chapter {ch.number} of {len(CHAPTERS)} · part “{ch.part}” · companion to the post "
               f"[{ch.post_title}]({ch.post_url})")
    if subtitle:
        st.markdown(subtitle)


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
        st.info(f"Using the {data.source}", icon="ℹ️")
    return data


def show_figure(fig, dpi: int = 120) -> None:
    """Draw a Matplotlib figure as a PNG at ``dpi``.

    ``st.pyplot`` renders at 200 dpi and redraws with a tight bounding box, about three times the cost of
    one plain save, on every rerun; the figures from ``common.plots`` already use a constrained layout.
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _st().image(buf)


def progress_reporter(bar):
    """Turn an ``st.progress`` element into the ``report(fraction, message)`` function that
    ``training.ProgressCallback`` calls."""
    def report(fraction: float, message: str) -> None:
        bar.progress(float(np.clip(fraction, 0.0, 1.0)), text=message)
    return report
