"""The small synthetic data sets."""

import numpy as np
import pytest

from common import datasets


def test_logic_gates():
    X, y = datasets.logic_gate("AND")
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 0, 0, 1])
    assert list(datasets.logic_gate("XOR")[1]) == [0, 1, 1, 0]
    assert list(datasets.logic_gate("NAND")[1]) == [1, 1, 1, 0]
    assert list(datasets.logic_gate("OR")[1]) == [0, 1, 1, 1]
    with pytest.raises(ValueError, match="name must be one of"):
        datasets.logic_gate("XNOR")


def _separated_by_some_line(X, y):
    # A perceptron-free check: least squares on ±1 targets finds a separating line for these sets.
    A = np.c_[X, np.ones(len(X))]
    w, *_ = np.linalg.lstsq(A, 2 * y - 1, rcond=None)
    return np.all(np.sign(A @ w) == 2 * y - 1)


def test_separable_has_its_margin_and_non_separable_is_not():
    X, y = datasets.linearly_separable(200, np.random.default_rng(0), margin=0.3)
    assert X.shape == (200, 2) and y.dtype == np.int64 and set(y) == {0, 1}
    assert _separated_by_some_line(X, y)
    Xn, yn = datasets.non_separable(200, np.random.default_rng(0), flip=0.1)
    assert not _separated_by_some_line(Xn, yn)
    assert (yn != datasets.linearly_separable(200, np.random.default_rng(0), margin=0.0)[1]).sum() == 20


@pytest.mark.parametrize("make", [datasets.moons, datasets.spirals, datasets.circles])
def test_two_class_shapes_are_balanced_and_deterministic(make):
    X, y = make(101, np.random.default_rng(0))
    assert X.shape == (101, 2) and np.bincount(y).tolist() == [50, 51]
    X2, _ = make(101, np.random.default_rng(0))
    np.testing.assert_array_equal(X, X2)


def test_split():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    Xtr, ytr, Xte, yte = datasets.train_test_split(X, y, 0.3, np.random.default_rng(0))
    assert len(Xte) == 3 and len(Xtr) == 7
    assert sorted(np.r_[ytr, yte]) == list(range(10))


@pytest.mark.parametrize("call, message", [
    (lambda: datasets.moons(0, np.random.default_rng(0)), "n must be >= 1"),
    (lambda: datasets.spirals(10, None), "rng must be a numpy.random.Generator"),
    (lambda: datasets.circles(10, np.random.default_rng(0), factor=1.5), "factor must be in"),
    (lambda: datasets.non_separable(10, np.random.default_rng(0), flip=0.7), "flip must be in"),
    (lambda: datasets.linearly_separable(10, np.random.default_rng(0), margin=-1), "margin must be in"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
