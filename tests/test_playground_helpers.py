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
    assert "Neural Network Optimizers" in at.caption[0].value and "Chapter 4 of 9" in at.caption[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["read-only"] == "yes" and metrics["float32"] == "True"
    real = bool(os.environ.get("P2T_MNIST_DIR"))
    assert metrics["train images"] == ("60,000" if real else "10,000")
    assert (len(at.info) == 0) == real   # the sample announces itself


def test_sample_note_when_full_mnist_is_absent(monkeypatch, tmp_path):
    from common import mnist
    monkeypatch.delenv("P2T_MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist, "cache_dir", lambda: tmp_path)
    import streamlit as st
    st.cache_resource.clear()
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["train images"] == "10,000"
    assert "bundled sample" in at.info[0].value
    st.cache_resource.clear()
