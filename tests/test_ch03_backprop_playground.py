"""AppTest for the chapter 03 playground: training controls, seed sweep, gradient flow, vanishing gradients."""

import functools

import numpy as np
import pytest

import apptest_helpers
from apptest_helpers import metrics

import backprop as bp
from common.datasets import xor

PAGE = "03-backpropagation/backprop_playground.py"


open_tab = functools.partial(apptest_helpers.open_tab, key="ch03_tab")


@pytest.fixture
def at(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    return at


def test_defaults_reach_100_percent(at):
    assert at.title[0].value == "03 · Backpropagation"
    m = metrics(at)
    assert m["Final accuracy"] == "100%" and m["Epochs to converge"] == "208" and m["Final loss"] == "0.0030"
    assert float(m["Hidden-unit spread"]) > 1
    assert at.dataframe[0].value["prediction"].tolist() == [0, 1, 1, 0]
    assert not at.error and not at.warning
    # The replay slider over training time: the start and the end.
    assert any("After 2000 epochs: loss 0.0030, accuracy 100%" in c.value for c in at.caption)
    at.select_slider(key="ch03_snap").set_value(0).run()
    X, y = xor()
    start = bp.BackpropNet((2, 4, 1), "tanh", "xavier", np.random.default_rng(0))
    assert any(f"After 0 epochs: loss {start.loss(X, y):.4f}" in c.value for c in at.caption)


def set_controls(at, **values):
    kinds = {"arch": "selectbox", "activation": "selectbox", "init": "selectbox", "lr": "select_slider",
             "epochs": "select_slider", "seed": "number_input"}
    for key, value in values.items():
        getattr(at, kinds[key])(key=f"ch03_{key}").set_value(value)
    at.run()
    assert not at.exception, values


# Every option of every training control, in five runs (each run trains and draws, so they are combined):
# all 3 architectures, 4 activations, 5 initialisations, and both ends of η, epochs and the seed.
COMBINATIONS = [
    dict(init="zeros", lr=0.01, epochs=100),
    dict(init="constant", lr=5.0, epochs=5000, seed=10_000),
    dict(init="small normal", arch="2-2-1", activation="sigmoid", lr=0.5, epochs=2000, seed=0),
    dict(init="he", arch="2-8-1", activation="relu"),
    dict(init="xavier", arch="2-4-1", activation="leaky_relu"),
]


def test_every_training_control_option(at):
    seen = {k: set() for k in ("arch", "activation", "init")}
    state = {"arch": "2-4-1", "activation": "tanh", "init": "xavier", "lr": 0.5, "epochs": 2000, "seed": 0}
    for combo in COMBINATIONS:
        set_controls(at, **combo)
        state.update(combo)
        for k in seen:
            seen[k].add(state[k])
        s = bp.sweep([state["seed"]], architecture=state["arch"], activation=state["activation"],
                     init=state["init"], lr=state["lr"], epochs=state["epochs"])
        m = metrics(at)
        assert m["Final accuracy"] == f"{s.final_accuracy[0]:.0%}", combo
        assert m["Final loss"] == f"{s.final_loss[0]:.4f}", combo
        etc = s.epochs_to_converge[0]
        assert m["Epochs to converge"] == ("never" if etc < 0 else str(etc)), combo
        if state["init"] in ("zeros", "constant"):
            assert m["Hidden-unit spread"] == "0"
            assert "every hidden unit still has exactly the same weights" in at.error[0].value
            units = at.dataframe[1].value
            assert all((units[c] == units["unit 1"]).all() for c in units.columns if c.startswith("unit"))
        else:
            assert not at.error and float(m["Hidden-unit spread"]) > 0
        if s.final_accuracy[0] < 1.0 and state["init"] not in ("zeros", "constant"):
            assert "Stuck at" in at.warning[0].value
    assert seen["arch"] == set(bp.ARCHITECTURES)
    assert seen["activation"] | {"tanh"} == set(bp.HIDDEN_ACTIVATIONS)
    assert seen["init"] == set(bp.INITS)


def test_seed_sweep_button(at):
    at.selectbox(key="ch03_arch").set_value("2-2-1").run()
    at.slider(key="ch03_n_seeds").set_value(10).run()
    at.button(key="ch03_btn_sweep").click().run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert table["architecture"].tolist() == ["2-2-1", "2-4-1", "2-8-1"]
    s2 = bp.sweep(range(10), architecture="2-2-1")
    assert table["converged"].tolist()[0] == f"{int(s2.converged.sum())}/10" == "6/10"
    assert table["converged"].tolist()[1:] == ["10/10", "10/10"]
    assert table["stuck seeds (first 8)"].tolist()[0] == "1, 2, 3, 6"
    # The arch-2-2-1 training above uses seed 0, which converges; seed 1 is one of the stuck ones.
    at.number_input(key="ch03_seed").set_value(1).run()
    assert metrics(at)["Final accuracy"] == "50%"
    assert "settings changed" not in " ".join(c.value for c in at.caption)   # the sweep ignores the seed
    assert len(at.dataframe[-1].value) == 3      # the results survive the rerun


def test_gradient_flow_tab(at):
    open_tab(at, "Gradient flow")
    X, y = xor()
    net, _ = bp.train_xor()
    for k, case in enumerate(["(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"]):
        at.radio(key="ch03_case").set_value(case).run()
        tr = net.trace(X[k:k + 1], y[k:k + 1])
        assert f"Prediction ŷ = {tr.y_hat[0]:.4f}" in at.markdown[1].value
        assert at.dataframe[0].value["z"].tolist() == tr.layers[0].z[0].round(4).tolist()
        norms = at.dataframe[4].value["‖∂L/∂W‖"].tolist()
        assert norms == [round(float(np.linalg.norm(t.dW)), 6) for t in tr.layers]
        assert "backprop agrees with finite differences" in at.success[0].value
    step = at.dataframe[5].value
    assert np.allclose(step["after"], step["before"] - 0.5 * step["∂L/∂W"], atol=2e-5)
    at.radio(key="ch03_state").set_value("at initialisation").run()
    start = bp.BackpropNet((2, 4, 1), "tanh", "xavier", np.random.default_rng(0))
    tr = start.trace(X[3:4], y[3:4])
    assert f"Prediction ŷ = {tr.y_hat[0]:.4f}" in at.markdown[1].value
    before, after = metrics(at)["Loss on this example: before → after the step"].split(" → ")
    assert float(after) < float(before)


def test_gradient_check_warns_at_the_relu_kink(at):
    at.selectbox(key="ch03_activation").set_value("relu").run()
    open_tab(at, "Gradient flow")
    at.radio(key="ch03_case").set_value("(0, 0)")
    at.radio(key="ch03_state").set_value("at initialisation").run()
    assert "kink" in at.warning[0].value


def test_vanishing_gradients_tab(at):
    open_tab(at, "Vanishing gradients")
    table = at.dataframe[0].value
    n = bp.gradient_norms_at_init(10, "sigmoid", width=8, seed=0)
    assert table["last / first"].tolist()[0] == f"{n[-1] / n[0]:.3g}"
    at.slider(key="ch03_depth").set_value(20).run()
    ratio = float(at.dataframe[0].value["last / first"].tolist()[0])
    assert ratio > 1e12
    at.slider(key="ch03_depth").set_value(1)
    at.select_slider(key="ch03_width").set_value(32).run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    for init in ["xavier", "he", "small normal"]:
        at.selectbox(key="ch03_vg_init").set_value(init).run()
        assert not at.exception, init
    at.slider(key="ch03_depth").set_value(10)
    at.select_slider(key="ch03_width").set_value(8)
    at.selectbox(key="ch03_vg_init").set_value("matched (Xavier; He for ReLU)")
    at.number_input(key="ch03_seed").set_value(2).run()
    assert "dead at initialisation" in at.warning[0].value
