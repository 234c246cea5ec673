"""AppTest for the chapter 07 playground: every tab, its main controls, and the values it shows (the shipped
learning-rate sweep on arrival, then live runs)."""

import pytest
import numpy as np

from apptest_helpers import Keys, metrics

import normalization_residual as nr
from common.checkpoints import on_recorded_kernel
from common.plots import fmt_num, fmt_pct

TABS = ["Learning rate sweep", "Signal through depth", "Training deep nets", "Gradient highway",
        "BatchNorm at inference"]

PAGE = "07-normalization-residual/normalization_residual_playground.py"


key = Keys("ch07")     # the page's widget keys, prefixed as ``PageState("ch07")`` does
tab = key.tab


def num(cells):
    return np.array([float(c) for c in cells])


def probe():
    from common.mnist import load_mnist
    d = load_mnist()
    return d, d.x_train[:512], d.y_train[:512]


def shown_sweep(rows, depth, variants=nr.VARIANTS):
    """The sweep table as the page formats it."""
    r = {(row["variant"], row["lr"]): row for row in rows if row["depth"] == depth}
    return [[v] + [fmt_pct(r[v, lr]["val acc"]) for lr in nr.SWEEP_LRS] for v in variants]


def table_cells(df):
    return df.astype(str).values.tolist()


def post_notes(at):
    return [i.value for i in at.info if i.value.startswith("**The post says:**")]


@pytest.mark.slow
def test_first_load_shows_the_shipped_sweep_and_reruns_it_live(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "07 · Normalization & residuals"
    shipped = nr.load_sweep()
    # On arrival: the first tab, the shipped sweep at depth 5, said to be the checkpoint, no sidebar controls.
    assert table_cells(at.dataframe[0].value) == shown_sweep(shipped, 5)
    assert list(at.dataframe[0].value.columns) == ["variant", "lr 10⁻³", "lr 10⁻²", "lr 3·10⁻²", "lr 10⁻¹"]
    assert any("checkpoints/lr_sweep.npz" in c.value and "train_normalization_residual.py" in c.value for c in at.caption)
    (note,) = post_notes(at)
    assert "much higher learning rates" in note and note.endswith(nr.bn_vs_plain(shipped, 5))
    assert "BatchNorm trails the plain net, 76.1% against 78.9%" in note or not _real()
    assert len(at.sidebar.slider) == 0 and len(at.sidebar.selectbox) == 0   # the network is not used here
    assert not any("took" in c.value for c in at.caption)

    at.radio(key=key("sweep_depth")).set_value(30).run()
    assert table_cells(at.dataframe[0].value) == shown_sweep(shipped, 30)
    assert post_notes(at)[0].endswith(nr.bn_vs_plain(shipped, 30))

    # Live: two variants at depth 5 (8 runs); the table shows the live rows, which on real MNIST with one BLAS
    # thread are the shipped numbers exactly.
    at.radio(key=key("sweep_depth")).set_value(5)
    at.multiselect(key=key("sweep_variants")).set_value(["plain", "batchnorm"]).run()
    assert table_cells(at.dataframe[0].value) == shown_sweep(shipped, 5, ["plain", "batchnorm"])
    at.button(key=key("btn_sweep_run")).click().run()
    assert not at.exception
    live = at.session_state["ch07"]["sweep"]
    assert (live["depth"], live["variants"], len(live["rows"])) == (5, ["plain", "batchnorm"], 8)
    assert [(r["variant"], r["lr"]) for r in live["rows"]] == [(v, lr) for v in ("plain", "batchnorm") for lr in nr.SWEEP_LRS]
    assert table_cells(at.dataframe[0].value) == shown_sweep(live["rows"], 5, ["plain", "batchnorm"])
    if _real() and on_recorded_kernel():      # another BLAS kernel's float32 sums move the sweep (see test_ch07_docs)
        assert shown_sweep(live["rows"], 5, ["plain", "batchnorm"]) == shown_sweep(shipped, 5, ["plain", "batchnorm"])
    assert any(c.value.startswith("The live sweep (8 runs) took ") for c in at.caption)
    assert any("Live sweep at depth 5" in m.value and "8 of 8 runs" in m.value for m in at.markdown)
    assert post_notes(at)[0].endswith(nr.bn_vs_plain(live["rows"], 5))

    # Stop keeps what finished: a sweep interrupted after three runs shows those three, and no time.
    live["rows"], live["seconds"] = live["rows"][:3], None
    at.run()
    assert any("3 of 8 runs, stopped" in m.value for m in at.markdown)
    cells = table_cells(at.dataframe[0].value)
    assert cells[0] == ["plain"] + [fmt_pct(r["val acc"]) for r in live["rows"]] + ["–"]
    assert cells[1] == ["batchnorm"] + ["–"] * 4
    assert not any("took" in c.value for c in at.caption)
    # The shipped sweep is still shown at the other depth.
    at.radio(key=key("sweep_depth")).set_value(30).run()
    assert table_cells(at.dataframe[0].value) == shown_sweep(shipped, 30, ["plain", "batchnorm"])


def _real():
    from common.mnist import load_mnist
    return not load_mnist().is_sample


@pytest.mark.slow
def test_no_two_controls_share_a_label_and_each_tab_draws_its_own(app_test):
    at = app_test(PAGE).run()
    labels = {}
    for name in TABS:
        tab(at, name)
        kinds = ("slider", "select_slider", "selectbox", "radio", "multiselect", "button", "checkbox")
        drawn = [(w.key, w.label) for kind in kinds for w in getattr(at, kind)]
        for k, label in drawn:
            labels.setdefault(label, set()).add(k)
        sidebar = {w.label for kind in ("slider", "select_slider", "selectbox") for w in getattr(at.sidebar, kind)}
        uses_network = name in ("Signal through depth", "Training deep nets", "Gradient highway")
        assert sidebar == ({"Depth (hidden layers)", "Activation", "Initial weight scale (× He/Xavier)"}
                           if uses_network else set()), name
    shared = {label: ks for label, ks in labels.items() if len(ks) > 1}
    assert not shared, shared
    # The training settings live in the Training tab, not in the sidebar.
    tab(at, "Training deep nets")
    assert {w.label for w in at.sidebar.select_slider} == {"Initial weight scale (× He/Xavier)"}
    assert at.select_slider(key=key("lr")).value == 1e-3 and at.slider(key=key("epochs")).value == 2


@pytest.mark.slow
def test_signal_gradient_and_batchnorm_tabs(app_test):
    at = app_test(PAGE).run()
    d, x, y = probe()
    tab(at, "Signal through depth")

    # Signal through depth: the post's table, computed for real (defaults: depth 20, ReLU, scale 1).
    table = at.dataframe[0].value
    assert list(table["variant"]) == ["plain"] * 3 + ["batchnorm"] * 3
    assert list(table["layer"]) == [5, 10, 20] * 2
    for i, v in enumerate(("plain", "batchnorm")):    # every shown number is the module's, formatted
        ref = nr.signal_through_depth(nr.deep_mlp(20, v, np.random.default_rng(0)), x)
        assert list(table["std"][3 * i:3 * i + 3]) == [fmt_num(ref.std[l]) for l in (4, 9, 19)]
        assert list(table["mean"][3 * i:3 * i + 3]) == [fmt_num(ref.mean[l]) for l in (4, 9, 19)]
    # The post's exploding column against the measured one, from the shown numbers.
    (note,) = post_notes(at)
    assert "layer 10 std 31.2" in note
    assert ("std " + ", ".join(f"{s} at layer {l}" for s, l in zip(table["std"][:3], (5, 10, 20)))) in note
    at.select_slider(key=key("init_scale")).set_value(1.5).run()
    table = at.dataframe[0].value
    assert num(table["std"])[2] > 300                 # plain, layer 20: exploded
    np.testing.assert_allclose(num(table["std"][3:]), 1.5, rtol=0.06)   # the Dense output feeding each BN: steady
    assert post_notes(at) == []                         # exploding, as the post says
    at.slider(key=key("depth")).set_value(8).run()
    assert list(at.dataframe[0].value["layer"]) == [5, 5]      # layers past the depth are left out
    at.radio(key=key("signal_when")).set_value("after training").run()
    assert "No trained models yet" in at.info[0].value

    # Gradient highway: the sidebar's activation (sigmoid), plain vs residual, depth 20, scale 1.
    tab(at, "Gradient highway")
    at.select_slider(key=key("init_scale")).set_value(1.0)
    at.selectbox(key=key("activation")).set_value("sigmoid")
    at.slider(key=key("depth")).set_value(20).run()
    m = metrics(at)
    for v in ("plain", "residual"):
        g = nr.gradient_norms(nr.deep_mlp(20, v, np.random.default_rng(0), activation="sigmoid"), x[:256], y[:256])
        assert m[f"{v}: layer 1 / layer 20"] == fmt_num(g["signal"][0] / g["signal"][-1])
    plain_ratio = float(m["plain: layer 1 / layer 20"])
    residual_ratio = float(m["residual: layer 1 / layer 20"])
    assert plain_ratio < 1e-8 < 0.5 < residual_ratio < 2
    at.selectbox(key=key("activation")).set_value("relu")
    at.multiselect(key=key("grad_variants")).set_value(list(nr.VARIANTS)).run()
    assert len(at.dataframe[0].value) == 4
    g = nr.gradient_norms(nr.deep_mlp(20, "batchnorm", np.random.default_rng(0)), x[:256], y[:256])
    assert metrics(at)["batchnorm: layer 1 / layer 20"] == fmt_num(g["signal"][0] / g["signal"][-1])

    # BatchNorm at inference: train the small net on demand; eval mode vs a batch of one.
    tab(at, "BatchNorm at inference")
    assert len(at.sidebar.slider) == 0
    assert at.radio(key=key("bn_source")).options == ["small BatchNorm net (3 layers)"]
    at.button(key=key("btn_train_bn")).click().run()
    assert not at.exception
    assert any(c.value.startswith("Training the small BatchNorm net took ") for c in at.caption)
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


@pytest.mark.slow
def test_training_tab_variants_and_depth_experiment(app_test):
    at = app_test(PAGE).run()
    tab(at, "Training deep nets")
    at.slider(key=key("depth")).set_value(10)
    at.select_slider(key=key("n_train")).set_value(1000)
    at.slider(key=key("epochs")).set_value(1).run()
    at.button(key=key("btn_train_variants")).click().run()
    assert not at.exception
    runs = at.session_state["ch07"]["runs"]
    assert list(runs) == list(nr.VARIANTS)
    m = metrics(at)
    for v, run in runs.items():
        assert run["history"].epochs == 1
        assert m[f"{v} test accuracy"] == fmt_pct(run["history"].val_acc[-1])
    assert runs["residual"]["history"].val_acc[-1] > 0.5
    assert any(c.value.startswith("Training the four variants took ") for c in at.caption)
    notes = post_notes(at)
    h = {v: r["history"].val_acc[-1] for v, r in runs.items()}
    if h["batchnorm"] < h["plain"]:                 # shown exactly when BatchNorm trails, with the shown numbers
        assert f"reaches {fmt_pct(h['batchnorm'])} test accuracy, the plain net {fmt_pct(h['plain'])}" in notes[0]
    else:
        assert notes == []

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
    assert any(c.value.startswith("The depth experiment (8 runs) took ") for c in at.caption)
    bn = r["batchnorm", 30]
    assert any(f"at depth 30 the BatchNorm-only net reaches {fmt_pct(bn['val acc'])} test accuracy (training loss "
               f"{fmt_num(bn['train loss'])})" in n for n in post_notes(at))
    # The depth experiment honours the sidebar's activation: sigmoid rows differ from the ReLU ones.
    at.selectbox(key=key("activation")).set_value("sigmoid")
    at.slider(key=key("depth")).set_value(6).run()
    at.button(key=key("btn_train_depths")).click().run()
    sig = at.session_state["ch07"]["depth_rows"]
    assert [(x["variant"], x["depth"]) for x in sig][:4] == [(v, 5) for v in nr.VARIANTS]
    assert sig[0]["train loss"] != r["plain", 5]["train loss"]
    assert "sigmoid" in at.session_state["ch07"]["depth_settings"]
    at.selectbox(key=key("activation")).set_value("relu")
    at.slider(key=key("depth")).set_value(10).run()

    # The other tabs now use these trained models.
    tab(at, "Signal through depth")
    at.radio(key=key("signal_when")).set_value("after training").run()
    assert list(at.dataframe[0].value["variant"]) == ["plain", "plain", "batchnorm", "batchnorm"]
    at.radio(key=key("signal_when")).set_value("during training").run()
    at.selectbox(key=key("signal_follow")).set_value("batchnorm").run()
    per_epoch = at.dataframe[0].value
    assert list(per_epoch["epoch"]) == [0, 1]
    tracked = at.session_state["ch07"]["runs"]["batchnorm"]["signal"].stats
    assert list(per_epoch["layer 5 std"]) == [fmt_num(s.std[4]) for s in tracked]
    assert not at.exception
    tab(at, "BatchNorm at inference")
    options = at.radio(key=key("bn_source")).options
    assert options[1:] == ["'batchnorm' net from Training deep nets", "'both' net from Training deep nets"]
    at.radio(key=key("bn_source")).set_value(options[1]).run()
    assert at.dataframe[0].value["distinct predictions"][1] == 1   # no skips: one answer for every digit
    at.radio(key=key("bn_source")).set_value(options[2]).run()
    assert not at.exception
    assert at.dataframe[0].value["distinct predictions"][1] > 1    # skips carry the input past the BN layers
