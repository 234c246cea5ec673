"""The training loop: it learns, it is deterministic, its callbacks work, its arguments are checked."""

import numpy as np
import pytest

from common import (Adam, Dense, Dropout, EarlyStopping, ProgressCallback, ReLU, Sequential, StopWhen, Tanh,
                    binary_cross_entropy_with_logits, datasets, fit, softmax_cross_entropy)
from common.optimizers import SGD
from common.layers import Layer
from common.training import Callback, accuracy, evaluate


def _xor_model(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Dense(2, 8, rng, init="xavier_normal", dtype=np.float64), Tanh(),
                      Dense(8, 1, rng, init="xavier_normal", dtype=np.float64))


def test_fit_solves_xor():
    X, y = datasets.xor()
    model = _xor_model()
    h = fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05),
            epochs=300, batch_size=None, rng=np.random.default_rng(0))
    assert h.train_acc[-1] == 1.0
    assert h.train_loss[-1] < 0.01
    assert accuracy(model.predict(X), y) == 1.0


def test_fit_separates_two_spirals():
    X, y = datasets.spirals(400, np.random.default_rng(1))
    Xtr, ytr, Xte, yte = datasets.train_test_split(X, y, 0.25, np.random.default_rng(2))
    rng = np.random.default_rng(0)
    model = Sequential(Dense(2, 64, rng), Tanh(), Dense(64, 64, rng), Tanh(), Dense(64, 1, rng))
    h = fit(model, Xtr.astype(np.float32), ytr, loss_fn=binary_cross_entropy_with_logits,
            optimizer=Adam(model, lr=0.01), epochs=300, batch_size=32, rng=rng,
            X_val=Xte.astype(np.float32), y_val=yte)
    assert h.train_acc[-1] > 0.95
    assert h.val_acc[-1] > 0.95


def _run(seed):
    X, y = datasets.moons(200, np.random.default_rng(0))
    rng = np.random.default_rng(seed)
    model = Sequential(Dense(2, 16, rng), ReLU(), Dropout(0.2, rng), Dense(16, 2, rng))
    return fit(model, X.astype(np.float32), y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=0.01),
               epochs=5, batch_size=16, rng=rng, X_val=X[:50].astype(np.float32), y_val=y[:50])


def test_same_seed_gives_bitwise_the_same_history():
    a, b = _run(7), _run(7)
    for field in ("train_loss", "train_acc", "val_loss", "val_acc", "batch_loss"):
        assert getattr(a, field) == getattr(b, field), field
    assert _run(8).batch_loss != a.batch_loss


def test_batch_modes_count_steps():
    X, y = datasets.moons(50, np.random.default_rng(0))
    for batch_size, steps in ((None, 1), (1, 50), (16, 4), (100, 1)):
        model = _xor_model()
        h = fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=2,
                batch_size=batch_size, rng=np.random.default_rng(0))
        assert len(h.batch_loss) == 2 * steps
        assert len(h.epoch_time) == 2 and h.wall_time[1] >= h.wall_time[0] > 0


def test_minibatches_cover_every_sample_once_per_epoch():
    seen = []

    class Recorder(Sequential):
        def forward(self, x, training=False):
            if training:
                seen.extend(x[:, 0].tolist())
            return super().forward(x, training)

    X = np.c_[np.arange(10.0), np.zeros(10)]
    y = np.zeros(10, dtype=np.int64)
    model = Recorder(Dense(2, 1, np.random.default_rng(0), dtype=np.float64))
    fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=2,
        batch_size=3, rng=np.random.default_rng(0))
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))


def test_early_stopping_restores_the_best_epoch():
    X, y = datasets.moons(200, np.random.default_rng(0))
    Xv, yv = datasets.moons(100, np.random.default_rng(1), noise=0.6)   # noisy: val loss turns up
    rng = np.random.default_rng(0)
    model = Sequential(Dense(2, 64, rng), ReLU(), Dense(64, 2, rng)).astype(np.float64)
    stopper = EarlyStopping(patience=3, monitor="val_loss")
    h = fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=0.05), epochs=200,
            batch_size=16, rng=rng, X_val=Xv, y_val=yv, callbacks=[stopper])
    assert h.stop_reason and h.stop_reason.startswith("early stopping")
    assert h.best_epoch == int(np.argmin(h.val_loss))
    assert h.epochs == h.best_epoch + 1 + 3
    restored_loss, _ = evaluate(model, Xv, yv, softmax_cross_entropy)
    assert restored_loss == pytest.approx(min(h.val_loss), rel=1e-12)


def test_stop_when_and_progress():
    X, y = datasets.moons(100, np.random.default_rng(0))
    model = _xor_model()
    reports = []
    stop_after = {"n": 0}

    def should_stop():
        stop_after["n"] += 1
        return stop_after["n"] >= 7

    h = fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=10,
            batch_size=10, rng=np.random.default_rng(0),
            callbacks=[ProgressCallback(lambda f, m: reports.append((f, m)), min_interval=0), StopWhen(should_stop)])
    assert h.stop_reason == "stop requested"
    assert len(h.batch_loss) == 7 and h.epochs == 1       # the partial epoch is recorded
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] == pytest.approx(0.07)
    assert "epoch 1/10" in reports[-1][1]


def test_callback_hooks_are_called_in_order():
    calls = []

    class Spy(Callback):
        def on_train_begin(self, s): calls.append("begin")
        def on_epoch_end(self, s): calls.append(f"epoch{s.epoch}")
        def on_train_end(self, s): calls.append("end")

    X, y = datasets.xor()
    model = _xor_model()
    fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=2,
        batch_size=None, rng=np.random.default_rng(0), callbacks=[Spy()])
    assert calls == ["begin", "epoch0", "epoch1", "end"]


def test_on_batch_end_reaches_every_callback_that_defines_one():
    """``fit`` skips the base class's empty ``on_batch_end`` but calls any other: an override, a
    subclass of an override, a function set on the instance."""
    seen = []

    class Override(Callback):
        def on_batch_end(self, s): seen.append(("override", s.step))

    class Inherited(Override):
        pass

    plain = Callback()
    plain.on_batch_end = lambda s: seen.append(("instance", s.step))
    X, y = datasets.xor()
    model = _xor_model()
    fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=2,
        batch_size=2, rng=np.random.default_rng(0), callbacks=[Callback(), Override(), Inherited(), plain])
    assert seen == [(who, step) for step in (1, 2, 3, 4) for who in ("override", "override", "instance")]


def test_eval_train_recomputes_on_the_whole_set_in_eval_mode():
    X, y = datasets.moons(100, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    model = Sequential(Dense(2, 16, rng, dtype=np.float64), ReLU(), Dropout(0.5, rng), Dense(16, 2, rng, dtype=np.float64))
    h = fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=0.01), epochs=3, batch_size=10,
            rng=rng, eval_train=True)
    assert h.train_loss[-1] == pytest.approx(evaluate(model, X, y, softmax_cross_entropy)[0])


def test_accuracy_conventions():
    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 1])) == 1.0
    assert accuracy(np.array([0.5, -0.5, 2.0]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.5], [-0.5]]), np.array([1, 1])) == 0.5
    # σ(0) = ½ up to round-off is no decision, whichever side the round-off falls.
    assert accuracy(np.array([1e-17, -1e-17, 0.0]), np.array([1, 0, 0])) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"batch_size": -5}, "batch_size must be >= 1"),
    ({"epochs": 0}, "epochs must be >= 1"),
    ({"rng": 0}, "rng must be a numpy.random.Generator"),
    ({"X_val": np.zeros((2, 2))}, "X_val and y_val must be given together"),
    ({"X_val": np.zeros((2, 2)), "y_val": np.zeros(3)}, "X_val and y_val must have the same number of rows"),
])
def test_fit_rejects_bad_arguments(kwargs, message):
    X, y = datasets.xor()
    model = _xor_model()
    args = dict(loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=1,
                batch_size=2, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, **args)


def test_fit_rejects_mismatched_or_empty_data():
    X, y = datasets.xor()
    model = _xor_model()
    args = dict(loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=1,
                batch_size=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="X and y must have the same number of rows"):
        fit(model, X, y[:3], **args)
    with pytest.raises(ValueError, match="at least one row"):
        fit(model, X[:0], y[:0], **args)


def test_early_stopping_needs_what_it_monitors():
    X, y = datasets.xor()
    model = _xor_model()
    with pytest.raises(ValueError, match="monitor must be one of"):
        EarlyStopping(monitor="val_f1")
    with pytest.raises(ValueError, match="pass X_val and y_val"):
        fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD(model, lr=0.1), epochs=2,
            batch_size=None, rng=np.random.default_rng(0), callbacks=[EarlyStopping()])


# ---------------------------------------------------------------------------------------------------------
# One loop for every model: batch generators, clipping, schedules, live callbacks
# ---------------------------------------------------------------------------------------------------------

def _linear_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]])


def test_fit_on_a_batch_generator_is_deterministic_and_counts_steps():
    from common.losses import mse

    X, Y = _linear_problem()

    def batches(rng):                                # one random batch per call, sized by the generator
        idx = rng.integers(0, len(X), size=int(rng.integers(4, 9)))
        return X[idx], Y[idx]

    def run():
        model = Sequential(Dense(3, 1, np.random.default_rng(1), dtype=np.float64))
        h = fit(model, batches=batches, steps_per_epoch=25, epochs=4, loss_fn=mse, metric=None,
                optimizer=SGD(model, lr=0.05), rng=np.random.default_rng(2), X_val=X, y_val=Y)
        return model, h

    (m1, h1), (m2, h2) = run(), run()
    assert h1.steps == 100 and h1.epochs == 4 and len(h1.val_loss) == 4
    assert h1.batch_loss == h2.batch_loss and np.isnan(h1.train_acc).all()
    np.testing.assert_array_equal(m1.params["0.W"], m2.params["0.W"])
    assert h1.val_loss[-1] < 0.01 * h1.val_loss[0]


def test_fit_passes_extra_inputs_from_the_batch_to_forward():
    from common.losses import mse

    class Shifted(Layer):
        def __init__(self):
            super().__init__()
            self.lin = Dense(2, 1, np.random.default_rng(0), dtype=np.float64)

        def forward(self, x, training=False, *, shift):
            return self.lin.forward(x) + shift

        def backward(self, dout):
            return self.lin.backward(dout)

    seen = []

    def batches(rng):
        x = rng.standard_normal((4, 2))
        seen.append(1.0)
        return x, x.sum(axis=1, keepdims=True) + 1.0, {"shift": 1.0}

    model = Shifted()
    h = fit(model, batches=batches, steps_per_epoch=200, epochs=1, loss_fn=mse, metric=None,
            optimizer=SGD(model, lr=0.1), rng=np.random.default_rng(0))
    assert len(seen) == 200 and h.batch_loss[-1] < 1e-6
    np.testing.assert_allclose(model.lin.params["W"][:, 0], [1.0, 1.0], atol=1e-3)


def test_fit_clips_the_global_gradient_norm_and_records_it():
    from common.losses import mse
    from common.optimizers import global_grad_norm

    X, Y = _linear_problem()
    model = Sequential(Dense(3, 1, np.random.default_rng(1), dtype=np.float64))
    norms_after = []

    class Watch(Callback):
        def on_batch_end(self, state):
            norms_after.append(global_grad_norm(state.model))

    h = fit(model, X, Y * 100, loss_fn=mse, metric=None, optimizer=SGD(model, lr=1e-3), epochs=2, batch_size=16,
            rng=np.random.default_rng(0), clip_norm=1.0, callbacks=[Watch()])
    assert len(h.grad_norm) == h.steps == 8 and min(h.grad_norm) > 1.0     # every step needed clipping
    np.testing.assert_allclose(norms_after, 1.0, rtol=1e-5)                 # and got it


def test_fit_steps_a_per_step_warmup_cosine_schedule():
    from common.losses import mse
    from common.optimizers import CosineLR

    X, Y = _linear_problem()
    model = Sequential(Dense(3, 1, np.random.default_rng(1), dtype=np.float64))
    opt = Adam(model, lr=1e-2)
    sched = CosineLR(opt, total_epochs=10, lr_min=1e-3, warmup=3, interval="step")
    h = fit(model, X, Y, loss_fn=mse, metric=None, optimizer=opt, epochs=3, batch_size=16,
            rng=np.random.default_rng(0), schedule=sched)
    expect = [1e-2 * (t + 1) / 4 if t < 3 else
              1e-3 + 0.5 * (1e-2 - 1e-3) * (1 + np.cos(np.pi * (t - 3) / 7)) if t <= 10 else 1e-3
              for t in range(12)]
    np.testing.assert_allclose(h.lr, expect, rtol=1e-12)
    assert opt.lr == pytest.approx(1e-3)


def test_live_callback_sees_the_live_history_at_begin_and_updates():
    X, y = datasets.xor()
    model = _xor_model()
    began, updates = [], []
    from common.training import Live
    live = Live(on_begin=lambda s: began.append(s.history), on_update=lambda s: updates.append(s.step),
                every_steps=2, min_interval=0.0)
    h = fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05), epochs=3,
            batch_size=1, rng=np.random.default_rng(0), callbacks=[live])
    assert began == [h] and h is began[0]                           # the object a page keeps is the record
    assert updates == [2, 4, 4, 6, 8, 8, 10, 12, 12]                # every 2 steps and at each epoch end


def test_verbose_draws_a_progress_line(capsys):
    X, y = datasets.xor()
    model = _xor_model()
    fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05), epochs=2,
        batch_size=2, rng=np.random.default_rng(0), verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2 · train loss" in err and "train acc" in err


@pytest.mark.parametrize("kwargs, match", [
    ({"loss_fn": None}, "loss_fn must be a function"),
    ({"optimizer": None}, "optimizer must be a common.optimizers optimizer"),
    ({"callbacks": [object()]}, r"callbacks\[0\] must be a common.training.Callback"),
    ({"X": np.float64(3.0), "y": np.float64(1.0)}, "X must have a row axis"),
    ({"X": None, "y": None}, "fit needs X and y"),
    ({"batches": lambda rng: None, "steps_per_epoch": 2}, "pass either X and y or batches"),
    ({"X": None, "y": None, "batches": lambda rng: (1,)}, "steps_per_epoch must be given"),
    ({"X": None, "y": None, "batches": lambda rng: None, "steps_per_epoch": 1}, r"batches\(rng\) must return"),
    ({"clip_norm": -1.0}, "clip_norm must be > 0"),
    ({"X_val": np.zeros((0, 2)), "y_val": np.zeros(0)}, "X_val must have at least one row"),
])
def test_fit_names_bad_arguments(kwargs, match):
    X, y = datasets.xor()
    model = _xor_model()
    args = dict(X=X, y=y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05), epochs=1,
                rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit(model, args.pop("X"), args.pop("y"), **args)


def test_fit_refuses_a_model_that_is_not_a_layer():
    X, y = datasets.xor()
    with pytest.raises(ValueError, match="model must be a Layer"):
        fit(object(), X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=SGD([], lr=0.1), epochs=1,
            rng=np.random.default_rng(0))
