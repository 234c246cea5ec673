"""Losses against hand-computed values, finite differences and extreme logits."""

import math

import numpy as np
import pytest

from common.gradcheck import numerical_gradient, rel_error
from common.losses import binary_cross_entropy_with_logits, mse, softmax_cross_entropy


def test_softmax_cross_entropy_by_hand():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]])
    y = np.array([0, 1])
    loss, d = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-(math.log(p[0, 0]) + math.log(p[1, 1])) / 2)
    expected = p.copy()
    expected[[0, 1], y] -= 1
    np.testing.assert_allclose(d, expected / 2)
    # Uniform logits: loss is log C.
    assert softmax_cross_entropy(np.zeros((4, 10)), np.arange(4))[0] == pytest.approx(math.log(10))


def test_binary_cross_entropy_by_hand():
    logits = np.array([0.0, 2.0, -1.0])
    y = np.array([1, 0, 0])
    loss, d = binary_cross_entropy_with_logits(logits, y)
    s = 1 / (1 + np.exp(-logits))
    assert loss == pytest.approx(np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))))
    np.testing.assert_allclose(d, (s - y) / 3)
    # (N, 1) logits with (N,) targets
    loss2, d2 = binary_cross_entropy_with_logits(logits.reshape(-1, 1), y)
    assert loss2 == pytest.approx(loss) and d2.shape == (3, 1)


def test_mse_by_hand():
    loss, d = mse(np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0]))
    assert loss == pytest.approx((0 + 4 + 9) / 3)
    np.testing.assert_allclose(d, [0, 4 / 3, 2.0])


@pytest.mark.parametrize("which", ["ce", "bce", "mse"])
def test_loss_gradients_match_finite_differences(which):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    if which == "ce":
        y = rng.integers(0, 4, 6)
        f = lambda: softmax_cross_entropy(z, y)[0]
        analytic = softmax_cross_entropy(z, y)[1]
    elif which == "bce":
        y = rng.integers(0, 2, (6, 4))
        f = lambda: binary_cross_entropy_with_logits(z, y)[0]
        analytic = binary_cross_entropy_with_logits(z, y)[1]
    else:
        t = rng.standard_normal((6, 4))
        f = lambda: mse(z, t)[0]
        analytic = mse(z, t)[1]
    num = numerical_gradient(lambda: np.array(f()), z, np.array(1.0))
    assert rel_error(analytic, num) < 1e-8


def test_extreme_logits_stay_finite():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    loss, d = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(1e4)              # second row is 2e4 off, first row perfect
    loss, d = binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([0, 0]))
    assert loss == pytest.approx(5e3) and np.all(np.isfinite(d))


def test_float32_in_float32_out():
    z = np.zeros((3, 4), np.float32)
    assert softmax_cross_entropy(z, np.zeros(3, np.int64))[1].dtype == np.float32
    assert binary_cross_entropy_with_logits(z, np.zeros((3, 4)))[1].dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1])), "one label per row"),
    (lambda: softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1, 4])), r"labels in \[0, 3\]"),
    (lambda: softmax_cross_entropy(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0])), "integer class labels"),
    (lambda: softmax_cross_entropy(np.zeros(3), np.array([0, 1, 2])), "logits must have 2 dimensions"),
    (lambda: binary_cross_entropy_with_logits(np.zeros(3), np.array([0, 1, 2])), r"targets in \[0, 1\]"),
    (lambda: binary_cross_entropy_with_logits(np.zeros(3), np.zeros(4)), "shape of logits"),
    (lambda: mse(np.zeros(3), np.zeros(4)), "shape of pred"),
])
def test_bad_input_is_a_named_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
