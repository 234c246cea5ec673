"""AppTest for the chapter 05 playground: the overfitting experiment with every regularizer switched on,
the tuning recipe on the measured gap, a stopped run, the weight comparison and dropout's expectation.
Shown values are compared with the module's own computations."""

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab

import overfitting as ovf
from common.mnist import load_mnist
from common.plots import fmt_num, fmt_pct

PAGE = "05-regularization/regularization_playground.py"


@pytest.fixture
def at(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    return at


def direct_splits(train_size, seed=0):
    data = load_mnist(download=False)
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    tr, va = order[:train_size], order[train_size:train_size + 1000]
    return ovf.Splits(data.x_train[tr], data.y_train[tr], data.x_train[va], data.y_train[va], data.x_test,
                      data.y_test)


def test_overfitting_run_shows_real_values_and_the_recipe(at):
    assert at.title[0].value == "05 · Regularization"
    assert any("No run yet" in i.value for i in at.info)
    at.select_slider(key="ch05_train_size").set_value(250)
    at.slider(key="ch05_epochs").set_value(5)
    at.button(key="ch05_btn_train").click().run()
    assert not at.exception
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
    at.toggle(key="ch05_augment").set_value(True)
    at.toggle(key="ch05_early").set_value(True).run()
    at.slider(key="ch05_patience").set_value(1)
    at.button(key="ch05_btn_train").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization",
                                            "dropout 0.8, weight decay 0.3, augmentation, early stopping"]
    run = at.session_state["ch05"]["runs"][-1]
    assert run.best_epoch is not None and run.history.epochs <= 5
    assert metrics(at)["Best epoch"] == str(run.best_epoch + 1)
    assert table["test acc %"][1] == round(100 * run.final_test_acc, 2)

    # a rerun that interrupts a run keeps what finished and says so
    at.session_state["ch05"]["runs"][-1].status = "running"
    at.run()
    assert any("Stopped after" in w.value for w in at.warning)
    at.button(key="ch05_btn_clear").click().run()
    assert any("No run yet" in i.value for i in at.info)


def test_weights_tab_compares_four_real_runs(at):
    at.select_slider(key="ch05_train_size").set_value(250)
    at.select_slider(key="ch05_hidden").set_value(64)
    at.radio(key="ch05_penalty").set_value("l2").run()
    at.select_slider(key="ch05_lam_l2").set_value(0.01)
    open_tab(at, "Weights", key="ch05_tab")
    at.slider(key="ch05_compare_epochs").set_value(5)
    at.button(key="ch05_btn_compare_run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization", "L2 λ=0.01", "dropout 0.5",
                                            "dropout 0.5, L2 λ=0.01"]
    runs = at.session_state["ch05"]["compare"]
    assert list(table["‖W₁‖"]) == [round(float(np.linalg.norm(r.first_layer_weights())), 2) for r in runs]
    assert table["‖W₁‖"][1] < 0.8 * table["‖W₁‖"][0]   # L2 shrinks the first layer
    # same initial weights: the first epoch's norm differs only by what one epoch of training did
    assert all(r.history.epochs == 5 for r in runs)


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


def test_what_the_page_says_about_the_default_run_and_the_post(at):
    """The Overfitting tab's text: the default run (1,000 images, 30 epochs) memorises its images, 100% train
    accuracy and about 90% test; the caption quotes the post's long run beside the measured record."""
    text = next(x.value for x in at.markdown if "Current settings" in x.value)
    assert "train accuracy 100%, test about 90%" in text
    default = ovf.run_experiment(ovf.RegConfig(train_size=1000, epochs=30), direct_splits(1000))
    assert default.final_train_acc == 1.0
    assert default.final_test_acc == pytest.approx(0.90, abs=0.015)
    at.select_slider(key="ch05_train_size").set_value(250)
    at.slider(key="ch05_epochs").set_value(5)
    at.button(key="ch05_btn_train").click().run()
    caption = next(c.value for c in at.caption if c.value.startswith("The post:"))
    run = next(r for r in ovf.load_blog_scale()["runs"] if r["dropout"] == 0.0)
    best = int(np.argmax(run["test_acc"]))
    assert f"best {fmt_pct(run['test_acc'][best], 2)} at epoch {best + 1}" in caption
    assert f"{fmt_pct(run['test_acc'][-1], 2)} at epoch 100" in caption
