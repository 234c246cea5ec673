"""AppTest for the chapter 05 playground: the overfitting experiment with every regularizer switched on,
the tuning recipe on the measured gap, a stopped run, the weight comparison and dropout's expectation.
Shown values are compared with the module's own computations."""

import numpy as np
import pytest

from apptest_helpers import metrics, open_tab

import regularization as reg
from common.mnist import load_mnist

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
    return reg.Splits(data.x_train[tr], data.y_train[tr], data.x_train[va], data.y_train[va], data.x_test,
                      data.y_test)


def test_overfitting_run_shows_real_values_and_the_recipe(at):
    assert at.title[0].value == "05 · Regularization"
    assert any("No run yet" in i.value for i in at.info)
    at.select_slider(key="train_size").set_value(250)
    at.slider(key="epochs").set_value(5)
    at.button(key="train").click().run()
    assert not at.exception
    direct = reg.run_experiment(reg.RegConfig(train_size=250, epochs=5), direct_splits(250))
    m = metrics(at)
    assert m["Train accuracy"] == f"{100 * direct.final_train_acc:.2f}%"
    assert m["Test accuracy"] == f"{100 * direct.final_test_acc:.2f}%"
    assert m["Generalization gap"] == f"{100 * direct.gap:.2f} points"
    assert m["Best epoch"] == str(int(np.argmin(direct.history.val_loss)) + 1)
    band, advice = reg.tuning_advice(direct.gap)
    recipe = next(x.value for x in at.markdown if "tuning recipe" in x.value)
    assert f"band {band}" in recipe and advice in recipe

    # every regularizer on at once, at the ends of their ranges
    at.slider(key="dropout").set_value(0.8)
    at.radio(key="penalty").set_value("decoupled").run()
    at.select_slider(key="lam_decoupled").set_value(0.3)
    at.toggle(key="augment").set_value(True)
    at.toggle(key="early").set_value(True).run()
    at.slider(key="patience").set_value(1)
    at.button(key="train").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization",
                                            "dropout 0.8, weight decay 0.3, augmentation, early stopping"]
    run = at.session_state["ch05_runs"][-1]
    assert run.best_epoch is not None and run.history.epochs <= 5
    assert metrics(at)["Best epoch"] == str(run.best_epoch + 1)
    assert table["test acc %"][1] == round(100 * run.final_test_acc, 2)

    # a rerun that interrupts a run keeps what finished and says so
    at.session_state["ch05_runs"][-1].status = "running"
    at.run()
    assert any("Stopped after" in w.value for w in at.warning)
    at.button(key="clear").click().run()
    assert any("No run yet" in i.value for i in at.info)


def test_weights_tab_compares_four_real_runs(at):
    at.select_slider(key="train_size").set_value(250)
    at.select_slider(key="hidden").set_value(64)
    at.radio(key="penalty").set_value("l2").run()
    at.select_slider(key="lam_l2").set_value(0.01)
    open_tab(at, "Weights")
    at.slider(key="compare_epochs").set_value(5)
    at.button(key="compare_run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["configuration"]) == ["no regularization", "L2 λ=0.01", "dropout 0.5",
                                            "dropout 0.5, L2 λ=0.01"]
    runs = at.session_state["ch05_compare"]
    assert list(table["‖W₁‖"]) == [round(float(np.linalg.norm(r.first_layer_weights())), 2) for r in runs]
    assert table["‖W₁‖"][1] < 0.8 * table["‖W₁‖"][0]   # L2 shrinks the first layer
    # same initial weights: the first epoch's norm differs only by what one epoch of training did
    assert all(r.history.epochs == 5 for r in runs)


def test_dropout_up_close_measures_the_expectation(at):
    open_tab(at, "Dropout up close")
    for p, steps in ((0.1, 8), (0.9, 1)):   # both ends of p and of the steps shown
        at.slider(key="drop_p").set_value(p)
        at.slider(key="drop_steps").set_value(steps).run()
        assert not at.exception
        m = metrics(at)
        assert m["Scale of a kept unit 1/(1−p)"] == f"{1 / (1 - p):.4g}"
        rel = float(m["‖mean(train) − eval‖ / ‖eval‖, inverted dropout"])
        noise = np.sqrt(p / (1 - p) / 1000)
        assert rel < 3 * noise
        assert float(m["Same without the 1/(1−p) scale"]) == pytest.approx(p, abs=3 * noise)
        assert float(m["Fraction of active units kept"]) == pytest.approx(1 - p, abs=0.01)
