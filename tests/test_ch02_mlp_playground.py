"""AppTest for the chapter 02 playground: scale slider ends, hidden space, diagram, line vs MLP, activations."""

import functools

import numpy as np
import pytest

import apptest_helpers
from apptest_helpers import metrics

import mlp
from common.datasets import xor

PAGE = "02-multi-layer-perceptron/mlp_playground.py"


@pytest.fixture
def at(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    return at


open_tab = functools.partial(apptest_helpers.open_tab, key="ch02_tab")


def test_defaults_show_the_real_xor_outputs(at):
    assert at.title[0].value == "02 · Multi-layer perceptron"
    m = metrics(at)
    assert m["Accuracy"] == "100%"
    assert m["Largest output for a 0-case"] == "0.0072" and m["Smallest output for a 1-case"] == "0.9924"
    table = at.dataframe[0].value
    assert table["ŷ"].tolist() == [0.0072, 0.9924, 0.9924, 0.0072]
    assert table["h₁ (OR)"].tolist() == [0.0067, 0.9933, 0.9933, 1.0]
    assert table["h₂ (AND)"].tolist() == [0.0, 0.0067, 0.0067, 0.9933]
    assert r"h_2 = \sigma(10x_1 + 10x_2 - 15)" in at.latex[1].value
    open_tab(at, "Hidden space")
    assert r"10\,h_1 -10\,h_2 -5 = 0" in at.latex[0].value
    open_tab(at, "Network diagram")
    assert any("9 parameters" in c.value for c in at.caption)


def test_scale_slider_ends(at):
    at.slider(key="ch02_scale").set_value(0.5).run()
    m = metrics(at)
    assert m["Accuracy"] == "50%"
    X, y = xor()
    out = mlp.xor_network(0.5).forward(X)[:, 0]
    assert m["Largest output for a 0-case"] == f"{out[y == 0].max():.4f}" == "0.4523"
    assert at.dataframe[0].value["prediction"].tolist() == [0, 0, 0, 0]
    at.slider(key="ch02_scale").set_value(20.0).run()
    m = metrics(at)
    assert m["Accuracy"] == "100%" and m["Largest output for a 0-case"] == "0.0000"
    assert m["Smallest output for a 1-case"] == "1.0000"


def test_linear_model_controls(at):
    open_tab(at, "A line vs the MLP")
    m = metrics(at)
    assert m["MLP accuracy"] == "100%"
    assert m["Linear model accuracy"] == "50%" and m["Linear model final loss"] == "0.6931"
    assert at.dataframe[0].value["σ(w·x + b)"].tolist() == [0.5, 0.5, 0.5, 0.5]
    at.select_slider(key="ch02_lin_epochs").set_value(10).run()
    X, y = xor()
    model, hist = mlp.train_linear_model(X, y, np.random.default_rng(0), epochs=10)
    m = metrics(at)
    assert m["Linear model final loss"] == f"{hist.train_loss[-1]:.4f}" == "0.6935"
    assert m["Linear model accuracy"] == f"{mlp.linear_accuracy(model, X, y):.0%}"
    at.number_input(key="ch02_lin_seed").set_value(10_000).run()
    _, hist = mlp.train_linear_model(X, y, np.random.default_rng(10_000), epochs=10)
    assert metrics(at)["Linear model final loss"] == f"{hist.train_loss[-1]:.4f}"


def test_activation_explorer(at):
    open_tab(at, "Activation explorer")
    at.multiselect(key="ch02_acts").set_value(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]).run()
    rows = at.dataframe[0].value
    assert rows["activation"].tolist() == ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]
    assert rows["f′(0)"].tolist() == [0.25, 1.0, 0.0, 0.01, 1.0, 1.7581, 0.5]
    assert rows["zero-centred"].tolist() == ["no", "yes", "no", "no", "no", "yes", "no"]
    assert rows["mean of f(x), x ~ N(0,1)"].tolist() == [0.5, 0.0, 0.3989, 0.395, 0.1605, 0.0, 0.282]
    assert rows["saturates (f′ < 0.005 at ±6)"].tolist()[:3] == ["left, right", "left, right", "left"]
    at.multiselect(key="ch02_acts").set_value([]).run()
    assert "Pick at least one activation" in at.info[0].value
