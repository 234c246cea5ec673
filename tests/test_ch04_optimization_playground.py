"""AppTest for the chapter 04 playground: the MNIST race (several optimizers, batch-size ends, a stopped
run), the loss-landscape paths and diagnostics, gradient noise against batch size, EWMA and Adam's bias
correction. Values shown on the page are compared with the module's own computations."""

import time

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab, page_fixture, repeated, widget_labels

import adam_bias_correction as adam_bc
import ewma as ew
import gradient_noise as noise
import loss_landscapes as land
import optimization
import optimizer_race as racing
from common.checkpoints import read_meta
from common.chapters import ROOT
from common.mnist import load_mnist
from common.plots import color, fmt_num, fmt_pct
from common.training import Live, ProgressCallback

PAGE = "04-optimization/optimization_playground.py"

at = page_fixture(PAGE)


def test_first_load_shows_the_shipped_race(at):
    """Without pressing anything: the default race from the checkpoints train_optimization.py wrote, every
    shown number equal to the recorded one, and the caption naming the checkpoint and the script."""
    assert at.title[0].value == "04 · Optimizers"
    assert not any("No race yet" in i.value for i in at.info)
    shipped = racing.load_race()
    metas = {n: read_meta(racing.race_checkpoint(n)) for n in shipped}
    table = at.dataframe[0].value
    assert list(table["optimizer"]) == ["SGD", "Momentum", "Adam"]
    assert list(table["learning rate"]) == ["0.1", "0.01", "0.001"]
    for i, name in enumerate(table["optimizer"]):
        assert table["test acc %"][i] == round(100 * metas[name]["final_test_acc"], 2)
        assert table["train acc %"][i] == round(100 * metas[name]["final_train_acc"], 2)
        assert table["epochs"][i] == metas[name]["epochs"] == 5
    m = metrics(at)
    assert m["Best test accuracy"] == fmt_pct(max(v["final_test_acc"] for v in metas.values()), 2)
    assert m["Optimizers finished"] == "3/3"
    data = load_mnist(download=False)
    wrong = int((shipped["SGD"].model.predict(data.x_test).argmax(1) != data.y_test).sum())
    assert m["SGD: test mistakes"] == f"{wrong:,} of 10,000"
    if len(data.y_test) == 10000 and not data.is_sample:   # the loaded weights are the ones that scored
        assert wrong == round(10000 * (1 - metas["SGD"]["final_test_acc"]))
    caption = next(c.value for c in at.caption if c.value.startswith("Shown on arrival"))
    assert "race_adam.npz" in caption and "04-optimization/train_optimization.py" in caption
    assert "5,000 images, batch 64, 5 epochs" in caption
    note = next(i.value for i in at.info if "The post says" in i.value)
    assert "99% accuracy on MNIST in seconds" in note
    assert f"reaches {m['Best test accuracy']} after 5 epochs on 5,000 images" in note
    adam = optimization.load_record()["race"]["Adam"]["test_acc"]
    assert f"{fmt_pct(adam[-1], 2)} after {len(adam)} epochs" in note


@pytest.mark.slow
def test_race_shows_the_values_of_a_real_run_and_keeps_them(at):
    at.select_slider(key="ch04_race_train").set_value(500)
    at.slider(key="ch04_race_epochs").set_value(2)
    at.multiselect(key="ch04_race_names").set_value(["SGD", "Adam"]).run()
    at.select_slider(key="ch04_lr_Adam").set_value(0.003)
    at.button(key="ch04_btn_race_run").click().run()
    assert not at.exception
    assert not any(c.value.startswith("Shown on arrival") for c in at.caption)
    assert any(c.value.startswith("Run race took ") for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["optimizer"]) == ["SGD", "Adam"]
    assert list(table["learning rate"]) == ["0.1", "0.003"]
    assert list(table["epochs"]) == [2, 2]
    # the same run computed here gives the same numbers
    data = load_mnist(download=False)
    idx = np.random.default_rng(0).permutation(len(data.x_train))[:500]
    direct = racing.race(["SGD", "Adam"], data.x_train[idx], data.y_train[idx], data.x_test, data.y_test,
                       lrs={"SGD": 0.1, "Adam": 0.003}, epochs=2, batch_size=64, seed=0)
    for i, name in enumerate(["SGD", "Adam"]):
        assert table["test acc %"][i] == round(100 * direct[name].history.val_acc[-1], 2)
        assert table["train loss"][i] == round(direct[name].history.train_loss[-1], 4)
    m = metrics(at)
    assert m["Best test accuracy"] == fmt_pct(max(r.history.val_acc[-1] for r in direct.values()), 2)
    assert m["Optimizers finished"] == "2/2"
    wrong = int((direct["SGD"].model.predict(data.x_test).argmax(1) != data.y_test).sum())
    assert m["SGD: test mistakes"] == f"{wrong:,} of 10,000"
    at.checkbox(key="ch04_pred_mistakes").check().run()
    assert not at.exception
    # a rerun that interrupts a run (Stop, or any widget) keeps what finished and says so
    at.session_state["ch04"]["race"]["status"] = "running"
    at.run()
    assert any("Stopped" in w.value for w in at.warning)
    assert list(at.dataframe[0].value["epochs"]) == [2, 2]


def test_the_live_chart_draws_every_finished_epoch():
    """The callbacks the page passes to ``race``: ``Live`` keeps each run in the store from its first step
    and redraws the chart after every epoch with every run's test accuracies so far."""
    drawn = []

    class Slot:
        def altair_chart(self, chart, **kwargs):
            drawn.append(chart.data)

    src = (ROOT / PAGE).read_text()
    start, end = src.index("def run_callbacks("), src.index("def mark_interrupted(")
    from common import playground
    ns = {"np": np, "racing": racing, "color": color, "Live": Live, "ProgressCallback": ProgressCallback,
          "time": time, "playground": playground}
    exec(compile(src[start:end], str(ROOT / PAGE), "exec"), ns)   # the page's own callbacks (the chart is common.playground.live_chart)

    class Bar:
        def progress(self, *a, **k):
            pass
    store = {}
    data = load_mnist(download=False)
    racing.race(["SGD", "Adam"], data.x_train[:300], data.y_train[:300], data.x_test[:200], data.y_test[:200],
                epochs=2, callbacks_for=ns["run_callbacks"](Bar(), Slot(), store, ["SGD", "Adam"], {}, 64, 0.0))
    assert len(drawn) == 4                       # 2 optimizers × 2 epochs
    last = drawn[-1]
    assert sorted(set(last["run"])) == ["Adam", "SGD"] and len(last) == 4
    sgd = last[last["run"] == "SGD"]["value"].tolist()
    assert sgd == [100 * a for a in store["SGD"].history.val_acc]


@pytest.mark.slow
def test_no_two_controls_share_a_label(at):
    """Every tab's widgets, collected tab by tab (only the open tab is drawn): each label appears once."""
    labels = widget_labels(at, ("MNIST race", "Loss landscape", "Batch vs stochastic vs mini-batch", "EWMA"), tab_key="ch04_tab")
    assert len(labels) > 20
    assert repeated(labels) == []


@pytest.mark.slow
def test_race_batch_size_ends(at):
    at.select_slider(key="ch04_race_train").set_value(500)
    at.multiselect(key="ch04_race_names").set_value(["Nesterov"]).run()
    for batch, epochs, updates in (("full batch", 2, 1), ("1", 1, 500)):
        at.slider(key="ch04_race_epochs").set_value(epochs)
        at.select_slider(key="ch04_race_batch").set_value(batch)
        at.button(key="ch04_btn_race_run").click().run()
        assert not at.exception
        run = at.session_state["ch04"]["race"]
        h = run["results"]["Nesterov"].history
        assert run["status"] == "done" and h.epochs == epochs
        assert len(h.batch_loss) == epochs * updates
        assert at.dataframe[0].value["epochs"][0] == epochs


@pytest.mark.slow
def test_landscape_paths_and_what_they_show(at):
    open_tab(at, "Loss landscape", key="ch04_tab")
    table = at.dataframe[0].value
    bowl = land.FUNCTIONS["bowl"]
    sgd = land.trajectory(bowl, "SGD")
    assert table["steps to min"][0] == str(sgd.steps_to_min)
    assert table["zig-zags x/y"][0] == "0/149"
    # every float as fmt_num shows it (no column of 1e-15 cut to its last digits)
    row = land.trajectory_table(bowl, {"SGD": sgd})[0]
    assert table["final f - f*"][0] == fmt_num(row["final f - f*"])
    assert table["last step"][0] == fmt_num(row["last step"])
    assert all(len(v) <= 9 for col in ("final f - f*", "final distance", "last step") for v in table[col])
    assert table["lr"][0] == f"{bowl.lrs['SGD']:g}" == "0.09"
    notes = at.markdown[-1].value if "What the runs show" in at.markdown[-1].value else \
        next(m.value for m in at.markdown if "What the runs show" in m.value)
    assert "**SGD** zig-zags" in notes and "**Momentum** overshoots" in notes
    at.select_slider(key="ch04_land_scale").set_value(4.0).run()
    notes = next(m.value for m in at.markdown if "What the runs show" in m.value)
    assert "**SGD** diverged" in notes
    assert at.dataframe[0].value["steps to min"][0] == "diverged"
    at.selectbox(key="ch04_land_fn").set_value("rosenbrock")
    at.select_slider(key="ch04_land_scale").set_value(1.0).run()
    notes = next(m.value for m in at.markdown if "What the runs show" in m.value)
    assert "**Adagrad** stalls" in notes
    at.selectbox(key="ch04_land_fn").set_value("wells").run()
    table = at.dataframe[0].value
    ends = dict(zip(table["optimizer"], table["ends in"]))
    assert ends["SGD"] == "local min 3" and ends["Momentum"] == "global min"
    at.session_state["ch04_land_y_saddle"] = 0.0   # start exactly on the ridge: nobody escapes
    at.selectbox(key="ch04_land_fn").set_value("saddle").run()
    table = at.dataframe[0].value
    assert all(s.startswith(">") for s in table["steps to min"])
    assert not at.exception


@pytest.mark.slow
def test_gradient_noise_table_matches_the_exact_law_and_the_sweep_runs(at):
    open_tab(at, "Batch vs stochastic vs mini-batch", key="ch04_tab")
    at.select_slider(key="ch04_sweep_n").set_value(250)
    at.multiselect(key="ch04_sweep_sizes").set_value(["1", "64", "full batch"]).run()
    assert not at.exception
    table = at.dataframe[0].value
    sigma2 = float(metrics(at)["σ² (spread of single-example gradients)"])
    assert list(table["B"]) == [1, 64, 250]
    for b, theory in zip(table["B"], table["theory"]):
        assert theory == pytest.approx(noise.expected_batch_variance(sigma2, 250, int(b)), rel=2e-3, abs=1e-4)
    assert table["measured E‖g_B − ḡ‖²"][2] == 0.0 and table["theory"][2] == 0.0
    assert table["measured E‖g_B − ḡ‖²"][0] > 10 * table["measured E‖g_B − ḡ‖²"][1]
    at.slider(key="ch04_sweep_epochs").set_value(1)
    at.button(key="ch04_btn_sweep_run").click().run()
    assert not at.exception
    sweep = at.dataframe[1].value
    assert list(sweep["batch size"]) == ["batch 1", "batch 64", "full batch"]
    res = at.session_state["ch04"]["sweep"]["results"]
    assert [len(r.history.batch_loss) for r in res.values()] == [250, 4, 1]


def test_ewma_metrics_and_adam_bias_correction(at):
    open_tab(at, "EWMA", key="ch04_tab")
    m = metrics(at)
    assert m["Effective window 1/(1−β)"] == "10.0"
    raw = adam_bc.adam_step_sizes(np.full(300, 0.5), lr=1e-3, bias_correction=False)
    assert m["Largest uncorrected step / η (measured)"] == fmt_num(raw.max() / 1e-3) == "6.57"
    corrected = adam_bc.adam_step_sizes(np.full(300, 0.5), lr=1e-3)
    assert m["Corrected step / η (measured)"] == fmt_num(corrected.max() / 1e-3, 4) == "1.0000"
    clean, noisy = ew.noisy_series(300, np.random.default_rng(0), kind="sine", noise=0.5)
    assert m["v₁ (first average)"] == fmt_num(ew.ewma(noisy, 0.9)[0])
    caption = next(c.value for c in at.caption if "constant series" in c.value)
    assert "is at 63% of the level after 100 steps" in caption and "needs 299 steps to reach 95%" in caption
    at.select_slider(key="ch04_ewma_beta").set_value(0.999)
    at.selectbox(key="ch04_ewma_kind").set_value("constant")
    at.checkbox(key="ch04_ewma_bc").uncheck()
    at.slider(key="ch04_ewma_noise").set_value(0.0).run()
    m = metrics(at)
    assert m["Effective window 1/(1−β)"] == "1000"
    # noise-free constant 2: the raw average is off by 2·β^t, the corrected one only by round-off
    raw_err = np.mean(2 * 0.999 ** np.arange(1, 301))
    assert m["Mean |error| first 300 steps, raw"] == fmt_num(raw_err)
    assert float(m["Mean |error| first 300 steps, corrected"]) < 1e-12
    at.select_slider(key="ch04_adam_b2").set_value(0.9).run()
    raw = adam_bc.adam_step_sizes(np.full(300, 0.5), lr=1e-3, beta2=0.9, bias_correction=False)
    assert metrics(at)["Largest uncorrected step / η (measured)"] == fmt_num(raw.max() / 1e-3)
    assert raw.max() / 1e-3 == pytest.approx(1.0, abs=1e-4)   # β₁ = β₂: the two biases cancel
    assert not at.exception
