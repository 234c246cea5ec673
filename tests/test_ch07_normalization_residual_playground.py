"""AppTest for the chapter 07 playground: every tab, its main controls, and the values it shows."""

import numpy as np

from apptest_helpers import metrics, open_tab

import normalization_residual as nr
from common.plots import fmt_num, fmt_pct

PAGE = "07-normalization-residual/normalization_residual_playground.py"


def key(name):
    """The page's widget keys are prefixed by its chapter (``PageState("ch07")``)."""
    return f"ch07_{name}"


def tab(at, label):
    return open_tab(at, label, key=key("tab"))


def num(cells):
    return np.array([float(c) for c in cells])


def probe():
    from common.mnist import load_mnist
    d = load_mnist()
    return d, d.x_train[:512], d.y_train[:512]


def test_signal_gradient_and_batchnorm_tabs(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "07 · Normalization & residuals"
    d, x, y = probe()

    # Signal through depth: the post's table, computed for real (defaults: depth 20, ReLU, scale 1).
    table = at.dataframe[0].value
    assert list(table["variant"]) == ["plain"] * 3 + ["batchnorm"] * 3
    assert list(table["layer"]) == [5, 10, 20] * 2
    for i, v in enumerate(("plain", "batchnorm")):    # every shown number is the module's, formatted
        ref = nr.signal_through_depth(nr.deep_mlp(20, v, np.random.default_rng(0)), x)
        assert list(table["std"][3 * i:3 * i + 3]) == [fmt_num(ref.std[l]) for l in (4, 9, 19)]
        assert list(table["mean"][3 * i:3 * i + 3]) == [fmt_num(ref.mean[l]) for l in (4, 9, 19)]
    at.select_slider(key=key("init_scale")).set_value(1.5).run()
    table = at.dataframe[0].value
    assert num(table["std"])[2] > 300                 # plain, layer 20: exploded
    np.testing.assert_allclose(num(table["std"][3:]), 1.5, rtol=0.06)   # the Dense output feeding each BN: steady
    at.slider(key=key("depth")).set_value(8).run()
    assert list(at.dataframe[0].value["layer"]) == [5, 5]      # layers past the depth are left out
    at.radio(key=key("signal_when")).set_value("after training").run()
    assert "No trained models yet" in at.info[0].value

    # Gradient highway: sigmoid, plain vs residual, at depth 8 and scale 1.5.
    tab(at, "Gradient highway")
    at.select_slider(key=key("init_scale")).set_value(1.0)
    at.slider(key=key("depth")).set_value(20).run()
    m = metrics(at)
    for v in ("plain", "residual"):
        g = nr.gradient_norms(nr.deep_mlp(20, v, np.random.default_rng(0), activation="sigmoid"), x[:256], y[:256])
        assert m[f"{v}: layer 1 / layer 20"] == fmt_num(g["signal"][0] / g["signal"][-1])
    plain_ratio = float(m["plain: layer 1 / layer 20"])
    residual_ratio = float(m["residual: layer 1 / layer 20"])
    assert plain_ratio < 1e-8 < 0.5 < residual_ratio < 2
    at.selectbox(key=key("grad_activation")).set_value("relu")
    at.multiselect(key=key("grad_variants")).set_value(list(nr.VARIANTS)).run()
    assert len(at.dataframe[0].value) == 4

    # BatchNorm at inference: train the small net on demand; eval mode vs a batch of one.
    tab(at, "BatchNorm at inference")
    assert at.radio(key=key("bn_source")).options == ["small BatchNorm net (3 layers)"]
    at.button(key=key("btn_train_bn")).click().run()
    assert not at.exception
    modes = at.dataframe[0].value
    assert list(modes["batch size"]) == ["any", "1", "8", "128"]
    assert modes["distinct predictions"][1] == 1                 # batch of one: the same answer for all
    accuracy = num([a.rstrip("%") for a in modes["accuracy"]]) / 100
    assert accuracy[0] > 0.7 > 0.2 > accuracy[1]
    m = metrics(at)
    assert m["Eval mode accuracy"] == modes["accuracy"][0]
    assert float(m["BN: largest |column mean|"]) < 1e-12
    assert float(m["LN: largest |row mean|"]) < 1e-12
    at.slider(key=key("bn_layer")).set_value(2).run()
    assert not at.exception


def test_training_tab_variants_and_depth_experiment(app_test):
    at = app_test(PAGE).run()
    at.slider(key=key("depth")).set_value(10)
    at.select_slider(key=key("n_train")).set_value(1000)
    at.slider(key=key("epochs")).set_value(1).run()
    tab(at, "Training deep nets")
    at.button(key=key("btn_train_variants")).click().run()
    assert not at.exception
    runs = at.session_state["ch07"]["runs"]
    assert list(runs) == list(nr.VARIANTS)
    m = metrics(at)
    for v, run in runs.items():
        assert run["history"].epochs == 1
        assert m[f"{v} test accuracy"] == fmt_pct(run["history"].val_acc[-1])
    assert runs["residual"]["history"].val_acc[-1] > 0.5

    # Depth experiment: depth 5 vs 30 (1,000 digits, 1 epoch); plain degrades, residual does not.
    at.slider(key=key("depth")).set_value(30).run()
    at.button(key=key("btn_train_depths")).click().run()
    assert not at.exception
    rows = at.session_state["ch07"]["depth_rows"]
    assert [(r["variant"], r["depth"]) for r in rows] == [(v, dd) for dd in (5, 30) for v in nr.VARIANTS]
    table = at.dataframe[-1].value
    assert len(table) == 8
    assert list(table["train loss"]) == [fmt_num(r["train loss"]) for r in rows]
    assert list(table["val acc"]) == [fmt_pct(r["val acc"]) for r in rows]
    r = {(row["variant"], row["depth"]): row for row in rows}
    assert r["plain", 30]["train loss"] > r["plain", 5]["train loss"]
    assert r["residual", 30]["train loss"] < r["plain", 30]["train loss"]
    assert any(f"{fmt_num(r['plain', 30]['train loss'])} at depth 30" in w.value and "(degradation)" in w.value
               for w in at.warning)

    # The other tabs now use these trained models.
    tab(at, "Signal through depth")
    at.radio(key=key("signal_when")).set_value("after training")
    at.slider(key=key("depth")).set_value(10).run()
    assert list(at.dataframe[0].value["variant"]) == ["plain", "plain", "batchnorm", "batchnorm"]
    at.radio(key=key("signal_when")).set_value("during training").run()
    at.selectbox(key=key("signal_follow")).set_value("batchnorm").run()
    per_epoch = at.dataframe[0].value
    assert list(per_epoch["epoch"]) == [0, 1]
    tracked = at.session_state["ch07"]["runs"]["batchnorm"]["signal"].stats
    assert list(per_epoch["layer 5 std"]) == [fmt_num(s.std[4]) for s in tracked]
    # The epoch-by-epoch chart: one line per epoch in the variant's colour (the grey-level bug is gone).
    assert not at.exception
    tab(at, "BatchNorm at inference")
    options = at.radio(key=key("bn_source")).options
    assert options[1:] == ["'batchnorm' net from Training deep nets", "'both' net from Training deep nets"]
    at.radio(key=key("bn_source")).set_value(options[1]).run()
    assert at.dataframe[0].value["distinct predictions"][1] == 1   # no skips: one answer for every digit
    at.radio(key=key("bn_source")).set_value(options[2]).run()
    assert not at.exception
    assert at.dataframe[0].value["distinct predictions"][1] > 1    # skips carry the input past the BN layers
