"""A control that only changes a note must not move the charts, images and tables after it.

Streamlit's browser side matches a page's elements by their place; a caption that appears above a chart
moves the chart one place down, and the browser builds it (and everything after it) again from scratch:
measured in Chromium, 200–240 ms a change against 80–120 ms (``common.playground.note_if``). Each case here
was found by changing every control of every page in AppTest and comparing the places of unchanged views.
"""

import pytest

from apptest_helpers import Keys, moved_views, open_tab, placed_views


def change_and_compare(at, change):
    before = placed_views(at)
    assert before, "the page shows no chart, image or table to compare"
    change(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return moved_views(before, placed_views(at))


def test_note_if_rejects_an_unknown_kind():
    from common.playground import note_if
    with pytest.raises(ValueError, match="kind must be"):
        note_if(True, "x", kind="error")


@pytest.mark.parametrize("key, value", [("hidden", 64), ("steps", 100)])
def test_ch08_sidebar_note_moves_no_view(app_test, key, value):
    """08: "The sidebar has changed since these models were trained" comes with the first sidebar change."""
    k = Keys("ch08")
    at = app_test("08-rnn/rnn_playground.py").run()
    open_tab(at, "Inside the LSTM", key=k("tab"))
    assert not change_and_compare(at, lambda at: at.select_slider(key=k(key)).set_value(value))
    assert any("The sidebar has changed" in c.value for c in at.caption)


def test_ch09_sidebar_note_and_causal_warning_move_no_view(app_test):
    k = Keys("ch09")
    at = app_test("09-attention/attention_playground.py").run()
    assert not change_and_compare(at, lambda at: at.select_slider(key=k("hidden")).set_value(64))
    assert any("The sidebar has changed" in c.value for c in at.caption)
    open_tab(at, "Self-attention", key=k("tab"))
    assert not change_and_compare(at, lambda at: at.checkbox(key=k("self_causal")).uncheck())
    assert any("Illustrative" in w.value for w in at.warning)
    assert not change_and_compare(at, lambda at: at.checkbox(key=k("self_causal")).check())


def test_ch06_drawing_input_moves_no_view(app_test):
    """06: the drawing canvas shows other elements than the test-digit picker; they sit in one container."""
    k = Keys("ch06")
    at = app_test("06-cnn/cnn_playground.py").run()
    open_tab(at, "Layer explorer", key=k("tab"))
    assert not change_and_compare(at, lambda at: at.radio(key=k("explore_source")).set_value("Draw a digit"))
    assert not change_and_compare(at, lambda at: at.radio(key=k("explore_source")).set_value("Test digit"))


def test_ch03_progress_bar_slot_stays_after_training(app_test):
    """03: the first run trains with a bar; the next change, which trains nothing, must not lose its slot."""
    at = app_test("03-backpropagation/backprop_playground.py").run()
    assert not change_and_compare(at, lambda at: at.slider(key=Keys("ch03")("n_seeds")).set_value(90))


def test_ch08_stale_note_follows_the_settings_and_goes_after_train(app_test):
    """08's settings rerun only the sidebar (a fragment): the note under them says when they differ from the
    models shown, and a Train with them clears it in the same run."""
    k = Keys("ch08")
    at = app_test("08-rnn/rnn_playground.py").run()
    note = lambda at: [c.value for c in at.sidebar.caption if "The sidebar has changed" in c.value]  # noqa: E731
    assert not note(at)
    at.multiselect(key=k("kinds")).set_value(["rnn"])
    at.select_slider(key=k("steps")).set_value(25)
    at.run()
    assert note(at)
    at.button(key="ch08_btn_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not note(at)


def test_settings_note_writes_or_clears_its_slot():
    from common.playground import settings_note

    class Slot:
        def __init__(self):
            self.shown = "old"

        def caption(self, text):
            self.shown = text

        def empty(self):
            self.shown = None

    slot = Slot()
    settings_note(slot, "differs")
    assert slot.shown == "differs"
    settings_note(slot, None)
    assert slot.shown is None
