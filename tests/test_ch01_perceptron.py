"""Chapter 01: the perceptron rule, convergence on separable data, failure on XOR, replay history."""

import numpy as np
import pytest

import perceptron as pc
from common.layers import Layer
from common.datasets import linearly_separable, logic_gate, non_separable


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
@pytest.mark.parametrize("lr", [1.0, 0.1])
def test_converges_on_linearly_separable_gates(gate, lr):
    X, y = logic_gate(gate)
    p = pc.Perceptron(lr=lr).fit(X, y)
    assert p.converged
    assert p.errors_per_epoch[-1] == 0 and all(e > 0 for e in p.errors_per_epoch[:-1])
    assert p.predict(X).tolist() == y.tolist()
    assert p.score(X, y) == 1.0


def test_never_converges_on_xor():
    X, y = logic_gate("XOR")
    p = pc.Perceptron(max_epochs=200).fit(X, y)
    assert not p.converged
    assert p.epochs_run == 200
    assert min(p.errors_per_epoch) >= 1
    # From the third epoch on it cycles: 4 mistakes every epoch through the same 4 weight states.
    assert p.errors_per_epoch[:3] == [2, 3, 4] and set(p.errors_per_epoch[2:]) == {4}
    states = np.c_[p.weight_history, p.bias_history]
    assert np.array_equal(states[2:6], states[6:10]) and np.array_equal(states[6:10], states[-4:])
    # None of the states it visits classifies more than 2 of the 4 points correctly.
    scores = [np.mean(pc.step(X @ w + b) == y) for w, b in zip(p.weight_history, p.bias_history)]
    assert max(scores) == 0.5 and p.score(X, y) == 0.5


def test_and_trace_matches_the_rule_by_hand():
    X, y = logic_gate("AND")
    p = pc.Perceptron(lr=1.0).fit(X, y)
    assert p.errors_per_epoch == [1, 3, 3, 2, 1, 0]
    assert len(p.updates) == 10
    # Replay the rule independently from the recorded mistakes.
    w, b = np.zeros(2), 0.0
    for u in p.updates:
        x = np.array(u.x)
        assert int(x @ w + b > 0) == u.y_hat != u.y
        w = w + (u.y - u.y_hat) * x
        b = b + (u.y - u.y_hat)
        assert np.allclose(w, u.w) and b == u.b
    assert np.allclose(p.w, [2.0, 1.0]) and p.b == -2.0


def test_history_has_the_weights_after_every_update():
    X, y = logic_gate("OR")
    p = pc.Perceptron().fit(X, y)
    assert p.weight_history.shape == (len(p.updates) + 1, 2)
    assert p.bias_history.shape == (len(p.updates) + 1,)
    assert np.allclose(p.weight_history[0], 0) and p.bias_history[0] == 0
    for k, u in enumerate(p.updates, start=1):
        assert np.allclose(p.weight_history[k], u.w) and p.bias_history[k] == u.b
    assert np.allclose(p.weight_history[-1], p.w)


def test_learning_rate_only_rescales_from_zero_in_exact_arithmetic():
    # With integer data and η = 1 or 2 the arithmetic is exact: same mistakes, weights scaled by 2.
    X, y = logic_gate("AND")
    p1, p2 = pc.Perceptron(lr=1.0).fit(X, y), pc.Perceptron(lr=2.0).fit(X, y)
    assert [u.sample for u in p1.updates] == [u.sample for u in p2.updates]
    assert np.allclose(2 * p1.weight_history, p2.weight_history)
    # η = 0.1 is not exact in binary: NAND has a point landing exactly on the line, and rounding moves it.
    X, y = logic_gate("NAND")
    assert len(pc.Perceptron(lr=1.0).fit(X, y).updates) == 11
    assert len(pc.Perceptron(lr=0.1).fit(X, y).updates) == 8


def test_decision_function_is_the_dense_layer_and_bias_shifts_the_boundary():
    X, y = logic_gate("AND")
    p = pc.Perceptron().fit(X, y)
    assert np.allclose(p.decision_function(X), X @ p.w + p.b)
    assert np.allclose(p.decision_function(X), [-2.0, -1.0, 0.0, 1.0])
    # The point (1, 0) lies exactly on the learned line, and step(0) = 0 is the right answer for it.
    assert pc.margin(p.w, p.b, X, y) == 0.0


def test_random_separable_and_non_separable_sets():
    X, y = linearly_separable(60, np.random.default_rng(3))
    p = pc.Perceptron(max_epochs=1000).fit(X, y)
    assert p.converged and p.score(X, y) == 1.0
    Xn, yn = non_separable(60, np.random.default_rng(3), flip=0.1)
    q = pc.Perceptron(max_epochs=50).fit(Xn, yn)
    assert not q.converged and q.epochs_run == 50 and 0.5 < q.score(Xn, yn) < 1.0


def test_mistakes_respect_the_novikoff_bound():
    rng = np.random.default_rng(0)
    for _ in range(5):
        X, y = linearly_separable(40, rng, margin=0.2)
        p = pc.Perceptron(max_epochs=10_000).fit(X, y)
        assert p.converged
        # Any separator with a positive margin gives a valid bound; the learned one has one here.
        assert pc.margin(p.w, p.b, X, y) > 0
        assert len(p.updates) <= pc.mistake_bound(p.w, p.b, X, y)
    X, y = logic_gate("AND")
    assert pc.mistake_bound([1, 1], -1.5, X, y) == pytest.approx(51.0)
    assert len(pc.Perceptron().fit(X, y).updates) <= 51


def test_without_bias_the_boundary_passes_through_the_origin():
    for gate, ok in (("OR", True), ("AND", False), ("NAND", False), ("NOR", False)):
        X, y = logic_gate(gate)
        p = pc.Perceptron(bias=False, max_epochs=100).fit(X, y)
        assert p.converged is ok, gate
        assert p.b == 0.0 and np.all(p.bias_history == 0) and "b" not in p.linear.params
        assert np.allclose(p.decision_function(X), X @ p.w)


def test_the_perceptron_is_a_layer_with_the_dense_as_its_child(tmp_path):
    X, y = logic_gate("AND")
    p = pc.Perceptron().fit(X, y)
    assert isinstance(p, Layer) and dict(p.named_children()) == {"linear": p.linear}
    assert sorted(p.params) == ["linear.W", "linear.b"] and p.num_params() == 3
    assert p.predict(X).tolist() == p.forward(X).tolist() == [0, 0, 0, 1]    # predict is the base class's
    path = p.save(tmp_path / "and.npz")
    q = pc.Perceptron().load(path)
    assert np.array_equal(q.w, p.w) and q.b == p.b and q.predict(X).tolist() == y.tolist()
    assert "Total parameters: 3" in p.summary()
    with pytest.raises(NotImplementedError, match="perceptron rule"):
        p.backward(np.ones((4,)))
    with pytest.raises(ValueError, match="holds a model with layers"):
        pc.Perceptron(n_features=3).load(path)


def test_same_run_as_unit_learning_rate():
    X, y = logic_gate("NAND")
    assert pc.same_run_as_unit_lr(X, y, 0.5) and pc.same_run_as_unit_lr(X, y, 2.0)
    assert not pc.same_run_as_unit_lr(X, y, 0.1)
    assert pc.same_run_as_unit_lr(*logic_gate("AND"), 0.1)


def test_shuffle_and_random_init_are_reproducible():
    X, y = logic_gate("OR")
    a = pc.Perceptron(shuffle=True, init="normal", rng=np.random.default_rng(5)).fit(X, y)
    b = pc.Perceptron(shuffle=True, init="normal", rng=np.random.default_rng(5)).fit(X, y)
    assert a.converged and np.array_equal(a.weight_history, b.weight_history)
    assert not np.allclose(a.weight_history[0], 0)


def test_boundary_equation_and_points():
    assert pc.boundary_latex([2.0, 1.0], -2.0) == "2x_1 + 1x_2 - 2 = 0"
    # Numbers through fmt_num (3 significant digits, scientific below 1e-3), whole numbers whole.
    assert pc.boundary_latex([-1.0, 0.0], 0.5) == "-1x_1 + 0.500 = 0"
    assert (pc.boundary_latex([0.21327155153435973, -1.2e-5], 0.3)
            == r"0.213x_1 - 1.20 \times 10^{-5}x_2 + 0.300 = 0")
    assert "no boundary" in pc.boundary_latex([0.0, 0.0], 0.0)
    xs, ys = pc.boundary_points([2.0, 1.0], -2.0, xlim=(0, 1))
    assert np.allclose(2 * xs + ys - 2, 0)
    xs, ys = pc.boundary_points([1.0, 0.0], -0.5)
    assert np.allclose(xs, 0.5)
    assert pc.boundary_points([0.0, 0.0], 1.0) is None


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "lr must be > 0"), ({"lr": -1}, "lr must be > 0"), ({"max_epochs": 0}, "max_epochs"),
    ({"init": "he"}, "init must be one of"), ({"shuffle": True}, "rng must be a numpy.random.Generator"),
    ({"n_features": 0}, "n_features"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pc.Perceptron(**kwargs)


def test_bad_data():
    p = pc.Perceptron()
    X, y = logic_gate("AND")
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        p.fit(np.ones((4, 3)), y)
    with pytest.raises(ValueError, match="y must hold labels in"):
        p.fit(X, np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="one label per row"):
        p.fit(X, y[:3])
    with pytest.raises(ValueError, match="separate the data"):
        pc.mistake_bound([1, 1], 0.5, X, y)



def test_line_view_keeps_the_line_in_sight():
    X, _ = logic_gate("AND")
    box = ((-0.5, 1.5), (-0.5, 1.5))
    xlim, ylim, where, nearest = pc.line_view(X, [2, 1], -2)
    assert (xlim, ylim, where) == (*box, "inside")
    # x₁ + x₂ + 1 = 0 only touches the corner (-0.5, -0.5): the window grows by the padding around it.
    xlim, ylim, where, nearest = pc.line_view(X, [1, 1], 1)
    assert where == "widened" and np.allclose(nearest, [-0.5, -0.5])
    assert np.allclose(xlim, (-1.0, 1.5)) and np.allclose(ylim, (-1.0, 1.5))
    # Too far (more than 3 half-diagonals from the centre): the window stays and the caller says where it is.
    xlim, ylim, where, nearest = pc.line_view(X, [1, 1], 30)
    assert (xlim, ylim, where) == (*box, "outside") and np.allclose(nearest, [-15, -15])
    assert pc.line_view(X, [0, 0], 1)[2:] == ("none", None)
    # A vertical line to the right of the data.
    xlim, ylim, where, nearest = pc.line_view(X, [1, 0], -2)
    assert where == "widened" and np.allclose(nearest, [2, 0.5]) and np.allclose(xlim, (-0.5, 2.5))
