"""AppTest for the chapter 05 playground: the overfitting experiment with every regularizer switched on,
the tuning recipe on the measured gap, a stopped run, the weight comparison and dropout's expectation.
Shown values are compared with the module's own computations."""

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab, page_fixture, repeated, widget_labels

import overfitting as ovf
from common.checkpoints import read_history, read_meta
from common.mnist import load_mnist
from common.plots import fmt_num, fmt_pct

PAGE = "05-regularization/regularization_playground.py"

at = page_fixture(PAGE)


def direct_splits(train_size, seed=0):
    data = load_mnist(download=False)
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    tr, va = order[:train_size], order[train_size:train_size + 1000]
    return ovf.Splits(data.x_train[tr], data.y_train[tr], data.x_train[va], data.y_train[va], data.x_test,
                      data.y_test)


def augment_early_stop_and_press(at, prefix, button):
    """Augmentation and early stopping (patience 1) on for the controls keyed ``prefix…``, then ``button``
    pressed; nothing may raise."""
    at.toggle(key=f"{prefix}augment").set_value(True)
    at.toggle(key=f"{prefix}early").set_value(True).run()        # the patience slider appears only now
    at.slider(key=f"{prefix}patience").set_value(1)
    at.button(key=button).click().run()
    assert not at.exception


def test_first_load_shows_the_shipped_default_run(at):
    """Without pressing anything: the default run from overfit_default.npz (train_regularization.py), its
    recorded numbers on the metrics, the caption naming the checkpoint and the script."""
    assert at.title[0].value == "05 · Regularization"
    assert not any("No run yet" in i.value for i in at.info)
    meta = read_meta(ovf.DEFAULT_CHECKPOINT)
    m = metrics(at)
    assert m["Train accuracy"] == fmt_pct(meta["final_train_acc"], 2) == "100.00%"
    assert m["Test accuracy"] == fmt_pct(meta["final_test_acc"], 2)
    assert meta["final_test_acc"] == pytest.approx(0.90, abs=0.015)   # "test about 90%", as the page says
    assert m["Generalization gap"] == f"{fmt_num(100 * (meta['final_train_acc'] - meta['final_test_acc']))} points"
    h = read_history(ovf.DEFAULT_CHECKPOINT, "run")
    assert m["Best epoch"] == str(int(np.argmin(h.val_loss)) + 1)
    caption = next(c.value for c in at.caption if c.value.startswith("Shown on arrival"))
    assert "overfit_default.npz" in caption and "05-regularization/train_regularization.py" in caption
    assert "1,000 images, 30 epochs" in caption
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization (shipped)"]
    assert table["test acc %"][0] == round(100 * meta["final_test_acc"], 2)
    assert table["best epoch"][0] == int(m["Best epoch"])
    text = next(x.value for x in at.markdown if "Try: the default run" in x.value)
    assert "train accuracy 100%, test about 90%" in text


@pytest.mark.slow
def test_overfitting_run_shows_real_values_and_the_recipe(at):
    at.select_slider(key="ch05_train_size").set_value(250)
    at.slider(key="ch05_epochs").set_value(5)
    at.button(key="ch05_btn_train").click().run()
    assert not at.exception
    assert any(c.value.startswith("Train took ") for c in at.caption)
    assert not any(c.value.startswith("Shown on arrival") for c in at.caption)
    direct = ovf.run_experiment(ovf.RegConfig(train_size=250, epochs=5), direct_splits(250))
    m = metrics(at)
    assert m["Train accuracy"] == fmt_pct(direct.final_train_acc, 2)
    assert m["Test accuracy"] == fmt_pct(direct.final_test_acc, 2)
    assert m["Generalization gap"] == f"{fmt_num(100 * direct.gap)} points"
    assert m["Best epoch"] == str(int(np.argmin(direct.history.val_loss)) + 1)
    band, advice = ovf.tuning_advice(direct.gap)
    recipe = next(x.value for x in at.markdown if "tuning recipe" in x.value)
    assert f"band {band}" in recipe and advice in recipe

    # every regularizer on at once, at the ends of their ranges
    at.slider(key="ch05_dropout").set_value(0.8)
    at.radio(key="ch05_penalty").set_value("decoupled").run()
    at.select_slider(key="ch05_lam_decoupled").set_value(0.3)
    augment_early_stop_and_press(at, "ch05_", "ch05_btn_train")
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization (shipped)", "no regularization",
                                            "dropout 0.8, weight decay 0.3, augmentation, early stopping"]
    run = at.session_state["ch05"]["runs"][-1]
    assert run.best_epoch is not None and run.history.epochs <= 5
    assert metrics(at)["Best epoch"] == str(run.best_epoch + 1)
    assert table["test acc %"][2] == round(100 * run.final_test_acc, 2)

    # a rerun that interrupts a run keeps what finished and says so
    at.session_state["ch05"]["runs"][-1].status = "running"
    at.run()
    assert any("Stopped after" in w.value for w in at.warning)
    at.button(key="ch05_btn_clear").click().run()
    assert any("No run yet" in i.value for i in at.info)
    at.run()                                       # cleared stays cleared (the shipped run does not return)
    assert any("No run yet" in i.value for i in at.info)


def test_weights_tab_opens_on_the_shipped_comparison(at):
    open_tab(at, "Weights", key="ch05_tab")
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization", "L2 λ=0.001", "dropout 0.5",
                                            "dropout 0.5, L2 λ=0.001"]
    for i, kind in enumerate(ovf.COMPARE_KINDS):
        path = ovf.compare_checkpoint(kind)
        meta = read_meta(path)
        run = ovf.load_run(path)
        assert table["test acc %"][i] == round(100 * meta["final_test_acc"], 2)
        assert table["gap (points)"][i] == round(100 * (meta["final_train_acc"] - meta["final_test_acc"]), 2)
        assert table["‖W₁‖"][i] == round(float(np.linalg.norm(run.first_layer_weights().astype(np.float64))), 2)
        assert table["epochs"][i] == ovf.COMPARE_DEFAULTS["epochs"] == 12
    caption = next(c.value for c in at.caption if c.value.startswith("Shown on arrival"))
    assert "compare_none.npz" in caption and "train_regularization.py" in caption
    # the post says the regularizers close the gap; the measured sentence is the table's own numbers
    note = next(i.value for i in at.info if "The post says" in i.value)
    gaps = list(table["gap (points)"])
    assert f"the gap is {gaps[0]:.2f} points for no regularization" in note
    assert f"{min(gaps[1:]):.2f}–{max(gaps[1:]):.2f} points" in note
    assert f"at most {max(abs(g - gaps[0]) for g in gaps[1:]):.2f} points" in note
    assert max(abs(g - gaps[0]) for g in gaps[1:]) < 1.0      # "barely move the gap at the defaults"


@pytest.mark.slow
def test_weights_tab_compares_four_real_runs_with_augmentation_and_early_stopping(at):
    open_tab(at, "Weights", key="ch05_tab")
    at.select_slider(key="ch05_compare_size").set_value(250)
    at.select_slider(key="ch05_compare_hidden").set_value(64)
    at.select_slider(key="ch05_compare_lam").set_value(0.01)
    at.slider(key="ch05_compare_epochs").set_value(5)
    augment_early_stop_and_press(at, "ch05_compare_", "ch05_btn_compare_run")
    assert any(c.value.startswith("Compare regularizers took ") for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["configuration"]) == [
        "augmentation, early stopping", "L2 λ=0.01, augmentation, early stopping",
        "dropout 0.5, augmentation, early stopping", "dropout 0.5, L2 λ=0.01, augmentation, early stopping"]
    runs = at.session_state["ch05"]["compare"]
    assert all(r.config.augment and r.config.early_stopping and r.best_epoch is not None for r in runs)
    assert list(table["‖W₁‖"]) == [round(float(np.linalg.norm(r.first_layer_weights())), 2) for r in runs]
    # the page's run is the module's: the same configuration trained here gives the same numbers
    cfg = ovf.compare_configs(ovf.RegConfig(hidden=64, train_size=250), epochs=5, dropout=0.5, lam=0.01,
                              augment=True, early_stopping=True, patience=1)[1]
    direct = ovf.run_experiment(cfg, direct_splits(250), track_curves=False)
    assert table["test acc %"][1] == round(100 * direct.final_test_acc, 2)
    assert table["epochs"][1] == direct.history.epochs


def test_no_two_controls_share_a_label(at):
    """Every tab's widgets, collected tab by tab (only the open tab is drawn): each label appears once."""
    labels = widget_labels(at, ("Overfitting", "Weights", "Dropout up close"), tab_key="ch05_tab")
    assert len(labels) > 20
    assert repeated(labels) == []
    assert len(at.sidebar.children) == 0                 # every control lives in its tab


def test_dropout_up_close_measures_the_expectation(at):
    open_tab(at, "Dropout up close", key="ch05_tab")
    for p, steps in ((0.1, 8), (0.9, 1)):   # both ends of p and of the steps shown
        at.slider(key="ch05_drop_p").set_value(p)
        at.slider(key="ch05_drop_steps").set_value(steps).run()
        assert not at.exception
        m = metrics(at)
        assert m["Scale of a kept unit 1/(1−p)"] == fmt_num(1 / (1 - p))
        rel = float(m["‖mean(train) − eval‖ / ‖eval‖, inverted dropout"])
        noise = np.sqrt(p / (1 - p) / 1000)
        assert rel < 3 * noise
        assert float(m["Same without the 1/(1−p) scale"]) == pytest.approx(p, abs=3 * noise)
        assert float(m["Fraction of active units kept"]) == pytest.approx(1 - p, abs=0.01)


def test_what_the_page_says_about_the_post(at):
    """The Overfitting tab's note quotes the post's long run beside the measured record."""
    note = next(i.value for i in at.info if "The post says" in i.value and "epoch 200" in i.value)
    run = next(r for r in ovf.load_blog_scale()["runs"] if r["dropout"] == 0.0)
    best = int(np.argmax(run["test_acc"]))
    assert f"best {fmt_pct(run['test_acc'][best], 2)} at epoch {best + 1}" in note
    assert f"{fmt_pct(run['test_acc'][-1], 2)} at epoch 100" in note
