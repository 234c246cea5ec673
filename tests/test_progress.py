"""``fit``'s progress display: which one ``verbose`` picks where, and what each draws. (The notebook
form is exercised for real by the notebook tests, which run ``fit`` inside a Jupyter kernel.)"""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

from common import Adam, binary_cross_entropy_with_logits, datasets, fit
from common.layers import Dense, Sequential
from common.activations import Tanh
from common.training import ConsoleProgress, NotebookProgress, StopWhen, progress_callback


def _model():
    rng = np.random.default_rng(0)
    return Sequential(Dense(2, 4, rng, init="xavier_normal"), Tanh(), Dense(4, 1, rng, init="xavier_normal"))


def _fit(epochs=2, **kwargs):
    X, y = datasets.xor()
    model = _model()
    return fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05), epochs=epochs,
               batch_size=2, rng=np.random.default_rng(0), **kwargs)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_auto_is_quiet_under_pytest_even_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress_callback("auto") is None
    _fit()
    assert sys.stderr.getvalue() == ""


def test_auto_draws_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    cb = progress_callback("auto")
    assert isinstance(cb, ConsoleProgress) and cb.live


def test_auto_is_quiet_when_stderr_is_a_file(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_callback("auto") is None


def test_auto_is_quiet_in_a_streamlit_server(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    from streamlit import runtime
    monkeypatch.setattr(runtime, "exists", lambda: True)
    assert progress_callback("auto") is None


def test_true_forces_epoch_lines_where_stderr_is_not_a_terminal(capsys):
    _fit(verbose=True)
    err = capsys.readouterr().err
    assert "\r" not in err                                    # no bar frames piling up in a log
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2 · train loss") and "train acc" in lines[0]


def test_keras_style_integers(capsys):
    assert progress_callback(0) is None and progress_callback(False) is None
    cb = progress_callback(2)
    assert isinstance(cb, ConsoleProgress) and not cb.live
    _fit(verbose=1)
    assert capsys.readouterr().err.count("\n") == 2


def test_a_live_bar_redraws_one_line_then_prints_each_epoch():
    out = _Terminal()
    _fit(callbacks=[ConsoleProgress(stream=out, min_interval=0.0)])
    text = out.getvalue()
    frames = text.split("\r")
    assert any("█" in f and "/2 · loss" in f and "ETA" in f for f in frames)
    assert text.count("\n") == 2 and "epoch 2/2 · train loss" in text.splitlines()[-1]


def test_a_stopped_run_ends_its_line():
    out = _Terminal()
    _fit(callbacks=[StopWhen(lambda: True), ConsoleProgress(stream=out, min_interval=0.0)])
    assert out.getvalue().endswith("\n")


@pytest.mark.parametrize("bad", ["yes", 3, -1, 0.5, None])
def test_bad_verbose_is_named(bad):
    with pytest.raises(ValueError, match="verbose must be 'auto', True, False, 0, 1 or 2"):
        _fit(verbose=bad)


def test_the_notebook_form_updates_one_display_per_epoch(monkeypatch):
    shown = []

    class Handle:
        def __init__(self, n):
            self.n = n

        def update(self, data, raw):
            shown.append((self.n, data["text/plain"]))

    def display(data, raw, display_id):
        shown.append((len({n for n, _ in shown}), data["text/plain"]))
        return Handle(shown[-1][0])

    import IPython.display
    monkeypatch.setattr(IPython.display, "display", display)
    cb = NotebookProgress(min_interval=0.0)
    _fit(callbacks=[cb])
    handles = sorted({n for n, _ in shown})
    assert handles == [0, 1]                                  # one line per epoch
    last = {n: text for n, text in shown}
    assert last[0].startswith("epoch 1/2 · train loss") and last[1].startswith("epoch 2/2 · train loss")
    assert any("█" in text for n, text in shown if n == 0)    # the bar, before the summary replaced it


def test_many_short_epochs_get_one_bar_and_one_line_not_a_wall_of_text():
    out = _Terminal()
    _fit(epochs=300, callbacks=[ConsoleProgress(stream=out, min_interval=0.0)])
    text = out.getvalue()
    assert text.count("\n") == 1
    assert any("steps · loss" in f and "/600 steps" in f for f in text.split("\r"))    # over the whole run
    assert re.search(r"epoch 300/300 · train loss \d\.\d{4} · train acc \d+\.\d\d% · 300 epochs in \d", text)


def test_many_epochs_in_a_log_is_one_line(capsys):
    _fit(epochs=300, verbose=True)
    assert capsys.readouterr().err.count("\n") == 1


def test_stopped_before_the_first_epoch_ended():
    out = _Terminal()
    _fit(epochs=300, callbacks=[StopWhen(lambda: True), ConsoleProgress(stream=out, min_interval=0.0)])
    assert out.getvalue().rstrip().endswith(" s") and out.getvalue().endswith("\n")
