"""AppTest for the chapter 02 playground: scale slider ends, hidden space, diagram, line vs MLP, activations."""

import numpy as np

from apptest_helpers import Keys, metrics, page_fixture

import mlp
from common.datasets import xor
from common.plots import fmt_num

PAGE = "02-multi-layer-perceptron/mlp_playground.py"


open_tab = Keys("ch02").tab

at = page_fixture(PAGE)


def shown(values) -> list[str]:
    return [fmt_num(float(v)) for v in values]


def test_defaults_show_the_real_xor_outputs(at):
    assert at.title[0].value == "02 · Multi-layer perceptron"
    X, y = xor()
    t = mlp.forward_trace(mlp.xor_network(), X)
    out = t["out"][:, 0]
    m = metrics(at)
    assert m["Accuracy"] == "100%"
    assert m["Largest output for a 0-case"] == fmt_num(out[y == 0].max()) == "0.00715"
    assert m["Smallest output for a 1-case"] == fmt_num(out[y == 1].min()) == "0.992"
    table = at.dataframe[0].value
    assert table["ŷ"].tolist() == shown(out)
    assert table["h₁ (OR)"].tolist() == shown(t["h"][:, 0]) and table["h₂ (AND)"].tolist() == shown(t["h"][:, 1])
    assert r"h_2 = \sigma(10x_1 + 10x_2 - 15)" in at.latex[1].value
    assert any("the boundary ŷ = 0.5 sits at x₁ = 0.5000" in c.value for c in at.caption)
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
    assert m["Largest output for a 0-case"] == fmt_num(out[y == 0].max()) == "0.452"
    assert at.dataframe[0].value["prediction"].tolist() == [0, 0, 0, 0]
    assert any("No ŷ = 0.5 line anywhere on this plot" in c.value for c in at.caption)
    at.slider(key="ch02_scale").set_value(20.0).run()
    m = metrics(at)
    out = mlp.xor_network(20.0).forward(X)[:, 0]
    assert m["Accuracy"] == "100%" and m["Largest output for a 0-case"] == fmt_num(out[y == 0].max()) == "4.54e-5"
    # "within 5·10⁻⁵ of 0 and 1", as the caption says
    assert out[y == 0].max() < 5e-5 and out[y == 1].min() > 1 - 5e-5
    assert any("within 5·10⁻⁵ of 0 and 1" in c.value for c in at.caption)


def test_scale_one_caption(at):
    X, y = xor()
    out = mlp.xor_network(1.0).forward(X)[:, 0]
    assert abs(out.mean() - 0.43) < 0.01 and out.max() < 0.5      # "drift to about 0.43"
    assert any("drift to about 0.43" in c.value for c in at.caption)


def test_linear_model_controls(at):
    open_tab(at, "A line vs the MLP")
    m = metrics(at)
    assert m["MLP accuracy"] == "100%"
    assert m["Linear model accuracy"] == "50%" and m["Linear model final loss"] == "0.6931"
    assert at.dataframe[0].value["σ(w·x + b)"].tolist() == ["0.500"] * 4
    at.select_slider(key="ch02_lin_epochs").set_value(10).run()
    X, y = xor()
    model, hist = mlp.train_linear_model(X, y, np.random.default_rng(0), epochs=10)
    m = metrics(at)
    assert m["Linear model final loss"] == fmt_num(hist.train_loss[-1], 4) == "0.6935"
    assert m["Linear model accuracy"] == f"{mlp.linear_accuracy(model, X, y):.0%}"
    at.number_input(key="ch02_lin_seed").set_value(10_000).run()
    _, hist = mlp.train_linear_model(X, y, np.random.default_rng(10_000), epochs=10)
    assert metrics(at)["Linear model final loss"] == fmt_num(hist.train_loss[-1], 4)


def test_activation_explorer(at):
    open_tab(at, "Activation explorer")
    names = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]
    at.multiselect(key="ch02_acts").set_value(names).run()
    rows = at.dataframe[0].value
    props = [mlp.activation_properties(n) for n in names]
    assert rows["activation"].tolist() == names
    assert rows["f′(0)"].tolist() == [fmt_num(p["f'(0)"]) for p in props]
    assert rows["zero-centred"].tolist() == ["no", "yes", "no", "no", "no", "yes", "no"]
    assert rows["mean of f(x), x ~ N(0,1)"].tolist() == [fmt_num(p["mean"]) for p in props]
    assert rows["saturates (f′ < 0.005 at ±6)"].tolist()[:3] == ["left, right", "left, right", "left"]
    caption = next(c.value for c in at.caption if "derivative never exceeds" in c.value)
    assert round(props[0]["max f'"], 4) == 0.25 and "never exceeds 0.25" in caption
    assert f"sigmoid's is {props[0]['mean']:g} and ReLU's {fmt_num(props[2]['mean'])}" in caption
    at.multiselect(key="ch02_acts").set_value([]).run()
    assert "Pick at least one activation" in at.info[0].value


def test_widget_labels_are_unique(at):
    for name in ("XOR solution", "Hidden space", "Network diagram", "A line vs the MLP", "Activation explorer"):
        open_tab(at, name)
        labels = [w.label for kind in ("slider", "select_slider", "number_input", "multiselect") for w in getattr(at, kind)]
        assert len(labels) == len(set(labels)), labels


def grid_range(scale):
    g = np.linspace(-0.5, 1.5, 150)
    gx, gy = np.meshgrid(g, g)
    z = mlp.xor_network(scale).forward(np.c_[gx.ravel(), gy.ravel()])[:, 0]
    return z.min(), z.max()


def test_the_half_line_is_drawn_only_where_it_exists(at):
    # Scale 1: ŷ stays below 0.5 on the whole plot, on the fixed 0–1 colour scale; the page says so.
    at.slider(key="ch02_scale").set_value(1.0).run()
    lo, hi = grid_range(1.0)
    assert hi < 0.5
    assert any(f"No ŷ = 0.5 line anywhere on this plot: ŷ stays between {fmt_num(lo)} and {fmt_num(hi)}" in c.value
               for c in at.caption)
    assert any("colour scale is fixed at 0–1" in c.value for c in at.caption)
    at.slider(key="ch02_scale").set_value(10.0).run()
    lo, hi = grid_range(10.0)
    assert lo < 0.5 < hi and not any("No ŷ = 0.5 line anywhere" in c.value for c in at.caption)


def test_each_tab_has_its_own_controls(at):
    assert [w.label for w in at.sidebar.slider] == ["Weight scale s"]
    assert not at.sidebar.number_input and not at.sidebar.multiselect and not at.sidebar.select_slider
    assert not at.number_input and not at.multiselect          # the XOR tab shows only what it uses
    open_tab(at, "A line vs the MLP")
    assert [w.label for w in at.number_input] == ["Seed of the line's initial weights"]
    assert [w.label for w in at.select_slider] == ["The line's training epochs"]
    seconds = at.session_state["ch02"]["linear_seconds"]
    assert any(c.value.startswith("Training the line (2000 epochs) took") for c in at.caption) == (seconds > 0.5)
    open_tab(at, "Activation explorer")
    assert [w.label for w in at.multiselect] == ["Activations to explore"]


def test_page_actions_run():
    assert set(mlp.PAGE_ACTIONS) == {"train the line (seed 0, 2000 epochs)", "output plane at the default scale"}
    for fn in mlp.PAGE_ACTIONS.values():
        assert fn() is None
