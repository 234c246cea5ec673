"""AppTest for the chapter 01 playground: every control, and the values the page shows."""

import pytest
import numpy as np

from apptest_helpers import Keys, metrics, page_fixture

import perceptron as pc
from common.datasets import logic_gate
from common.plots import fmt_num

PAGE = "01-perceptron/perceptron_playground.py"


open_tab = Keys("ch01").tab

at = page_fixture(PAGE)


def test_defaults_show_and_converging(at):
    assert at.title[0].value == "01 · Perceptron"
    assert metrics(at) == {"Accuracy": "100%", "Epochs run": "6", "Updates (mistakes)": "10", "Converged": "yes"}
    assert at.latex[0].value.strip("$\n") == "2x_1 + 1x_2 - 2 = 0"
    assert "Converged: epoch 6 had no mistakes, after 10 updates" in at.success[0].value
    table = at.dataframe[0].value
    assert table["z = w·x + b"].tolist() == ["-2", "-1", "0", "1"]
    assert not at.info          # η = 1: nothing to compare with
    open_tab(at, "Errors per epoch")
    assert at.dataframe[0].value["errors"].tolist() == [1, 3, 3, 2, 1, 0]


def test_every_dataset(at):
    expected = {"AND": "100%", "OR": "100%", "NAND": "100%", "NOR": "100%", "XOR": "50%",
                "random separable": "100.0%"}
    for name in ["AND", "OR", "NAND", "NOR", "XOR", "random separable", "random non-separable"]:
        at.selectbox(key="ch01_dataset").set_value(name).run()
        assert not at.exception, name
        m = metrics(at)
        if name in expected:
            assert m["Accuracy"] == expected[name], name
        model = at.session_state["ch01"]["model"]
        assert m["Updates (mistakes)"] == str(len(model.updates))
        if name == "random non-separable":
            assert m["Converged"] == "no" and "not linearly separable" in at.warning[0].value


def test_xor_note_is_backed_by_the_run(at):
    at.selectbox(key="ch01_dataset").set_value("XOR").run()
    X, y = logic_gate("XOR")
    ref = pc.Perceptron(lr=1.0, max_epochs=50).fit(X, y)
    note = at.error[0].value
    assert f"after {ref.epochs_run} epochs the last epoch still had {ref.errors_per_epoch[-1]} mistakes" in note
    assert "fewest in any epoch: 2" in note
    assert metrics(at)["Converged"] == "no"


def test_learning_rate_and_epoch_ends(at):
    at.select_slider(key="ch01_lr").set_value(0.01).run()
    assert at.latex[0].value.strip("$\n") == "0.0200x_1 + 0.0100x_2 - 0.0200 = 0"
    assert metrics(at)["Accuracy"] == "100%"
    assert "η = 0.01 makes exactly the mistakes of η = 1 (10 updates)" in at.info[0].value
    assert at.dataframe[0].value["z = w·x + b"].tolist() == ["-0.0200", "-0.0100", "0", "0.0100"]
    at.select_slider(key="ch01_lr").set_value(2.0).run()
    assert at.latex[0].value.strip("$\n") == "4x_1 + 2x_2 - 4 = 0"
    at.slider(key="ch01_max_epochs").set_value(1).run()
    # One epoch: one mistake on (1, 1) puts w = (2, 2), b = 2, which calls every point 1.
    assert metrics(at) == {"Accuracy": "25%", "Epochs run": "1", "Updates (mistakes)": "1", "Converged": "no"}
    assert "Try more epochs" in at.warning[0].value
    at.slider(key="ch01_max_epochs").set_value(200).run()
    assert metrics(at)["Converged"] == "yes"


def test_replay_slider_steps_through_updates(at):
    open_tab(at, "Replay the updates")
    slider = at.slider(key="ch01_replay_k")
    assert slider.max == 10
    slider.set_value(0).run()
    assert any("Before training" in m.value for m in at.markdown)
    assert any("no boundary yet" in l.value for l in at.latex)
    at.slider(key="ch01_replay_k").set_value(3).run()
    assert any("**Update 3** (epoch 2): sample 1 at x = (0, 1) has label 0 but was predicted 1" in m.value
               for m in at.markdown)
    assert at.latex[0].value.strip("$\n") == "1x_1 - 1 = 0"
    at.slider(key="ch01_replay_k").set_value(10).run()
    assert at.latex[0].value.strip("$\n") == "2x_1 + 1x_2 - 2 = 0"
    replay = at.dataframe[0].value
    assert len(replay) == 10 and replay["b after"].tolist()[-1] == "-2" and replay["w after"].tolist()[-1] == "(2, 1)"


def test_new_random_draw_changes_the_data(at):
    at.selectbox(key="ch01_dataset").set_value("random separable").run()
    first = at.session_state["ch01"]["model"].weight_history[-1].copy()
    at.button(key="ch01_btn_redraw").click().run()
    assert not at.exception
    assert "Random draw #1" in [c.value for c in at.sidebar.caption]
    assert not np.allclose(at.session_state["ch01"]["model"].weight_history[-1], first)
    assert metrics(at)["Accuracy"] == "100.0%"
    open_tab(at, "Replay the updates")
    at.slider(key="ch01_replay_k").set_value(1).run()
    u = at.session_state["ch01"]["model"].updates[0]
    shown = next(m.value for m in at.markdown if "**Update 1**" in m.value)
    # Coordinates to 3 significant digits, not 17.
    assert f"x = ({fmt_num(u.x[0])}, {fmt_num(u.x[1])})" in shown and len(shown) < 200


def test_nand_at_a_tenth_says_it_is_not_the_unit_run(at):
    at.selectbox(key="ch01_dataset").set_value("NAND").run()
    at.select_slider(key="ch01_lr").set_value(0.1).run()
    note = at.info[0].value
    assert "η = 0.1 does **not** repeat the η = 1 run: 8 updates instead of 11" in note
    assert metrics(at)["Updates (mistakes)"] == "8"
    at.select_slider(key="ch01_lr").set_value(0.5).run()
    assert "η = 0.5 makes exactly the mistakes of η = 1 (11 updates)" in at.info[0].value


def test_widget_labels_are_unique(at):
    for name in ("Replay the updates", "Errors per epoch", "All gates: who converges?", "Result"):
        open_tab(at, name)
        labels = [w.label for kind in ("selectbox", "select_slider", "slider", "button") for w in getattr(at, kind)]
        assert len(labels) == len(set(labels)), labels


def test_gates_table(at):
    open_tab(at, "All gates: who converges?")
    table = at.dataframe[0].value
    assert table["converged"].tolist() == ["yes", "yes", "yes", "yes", "no"]
    assert table["updates"].tolist() == [10, 4, 11, 5, 197]


def test_every_tab_on_a_random_non_separable_set(at):
    at.selectbox(key="ch01_dataset").set_value("random non-separable").run()
    model = at.session_state["ch01"]["model"]
    assert metrics(at)["Converged"] == "no" and len(model.updates) > 50
    open_tab(at, "Replay the updates")
    assert at.slider(key="ch01_replay_k").max == len(model.updates)
    assert len(at.dataframe[0].value) == min(200, len(model.updates))
    open_tab(at, "Errors per epoch")
    assert at.dataframe[0].value["errors"].tolist() == model.errors_per_epoch
    open_tab(at, "All gates: who converges?")
    assert len(at.dataframe[0].value) == 5


def test_replay_widens_the_view_to_show_the_line(at):
    open_tab(at, "Replay the updates")
    at.slider(key="ch01_replay_k").set_value(1).run()
    # After update 1 on AND the line x₁ + x₂ + 1 = 0 only touches the data's box at (-0.5, -0.5).
    assert at.latex[0].value.strip("$\n") == "1x_1 + 1x_2 + 1 = 0"
    assert any("The view is widened to show the line" in c.value and "(-0.500, -0.500)" in c.value for c in at.caption)
    at.slider(key="ch01_replay_k").set_value(0).run()
    assert any("w = 0: there is no line yet" in c.value for c in at.caption)
    at.slider(key="ch01_replay_k").set_value(10).run()
    assert not any("widened" in c.value or "off the view" in c.value for c in at.caption)


def test_replay_back_and_next_buttons(at):
    open_tab(at, "Replay the updates")
    assert at.slider(key="ch01_replay_k").value == 1
    at.button(key="ch01_btn_replay_next").click().run()
    assert at.slider(key="ch01_replay_k").value == 2
    assert any(m.value.startswith("**Update 2** (epoch 2)") for m in at.markdown)
    at.button(key="ch01_btn_replay_back").click().run()
    at.button(key="ch01_btn_replay_back").click().run()
    assert at.slider(key="ch01_replay_k").value == 0
    assert any("Before training" in m.value for m in at.markdown)
    at.button(key="ch01_btn_replay_back").click().run()          # stays at the start
    assert at.slider(key="ch01_replay_k").value == 0 and not at.exception
    at.slider(key="ch01_replay_k").set_value(10).run()
    at.button(key="ch01_btn_replay_next").click().run()          # and at the end
    assert at.slider(key="ch01_replay_k").value == 10 and not at.exception


@pytest.mark.slow
def test_replay_play_steps_to_the_end_and_stops(at):
    open_tab(at, "Replay the updates")
    at.button(key="ch01_btn_play").click().run()
    assert not at.exception
    assert at.session_state["ch01"]["playing"] and at.button(key="ch01_btn_play").label == "Pause"
    assert at.slider(key="ch01_replay_k").value == 2           # pressing Play shows the next update at once
    # AppTest does not fire the fragment's timer; each rerun is one tick of it.
    for _ in range(12):
        if not at.session_state["ch01"]["playing"]:
            break
        at.run()
        assert not at.exception
    assert not at.session_state["ch01"]["playing"] and at.slider(key="ch01_replay_k").value == 10
    assert at.button(key="ch01_btn_play").label == "Play"
    at.button(key="ch01_btn_play").click().run()       # Play at the end starts again from update 0
    assert at.slider(key="ch01_replay_k").value == 1


def test_a_new_data_set_restarts_the_replay(at):
    open_tab(at, "Replay the updates")
    at.slider(key="ch01_replay_k").set_value(7).run()
    at.selectbox(key="ch01_dataset").set_value("OR").run()
    assert at.slider(key="ch01_replay_k").value == 1 and at.slider(key="ch01_replay_k").max == 4


def shown_text(at) -> list[str]:
    texts = [e.value for kind in ("markdown", "caption", "latex", "info", "success", "warning", "error")
             for e in getattr(at, kind)]
    texts += [m.value for m in at.metric]
    for df in at.dataframe:
        texts += [str(v) for v in df.value.to_numpy().ravel()]
    return texts


def test_no_long_floats_anywhere_on_a_random_set(at):
    import re
    long_float = re.compile(r"\d\.\d{6,}")
    at.selectbox(key="ch01_dataset").set_value("random non-separable").run()
    for name in ("Result", "Replay the updates", "Errors per epoch", "All gates: who converges?"):
        open_tab(at, name)
        bad = [t for t in shown_text(at) if long_float.search(t)]
        assert not bad, (name, bad[:3])


def test_page_actions_run():
    assert set(pc.PAGE_ACTIONS) == {"train on AND (defaults)", "train on random non-separable", "all gates tab"}
    for fn in pc.PAGE_ACTIONS.values():
        assert fn() is None
