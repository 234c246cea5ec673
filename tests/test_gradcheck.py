"""The gradient checker itself: it must recognise right gradients and catch wrong ones."""

import numpy as np
import pytest

from common import Dense
from common.gradcheck import check_layer, numerical_gradient, rel_error


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: x ** 3, x, np.ones(3))
    np.testing.assert_allclose(grad, 3 * np.array([1.0, 4.0, 9.0]), rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])   # restored


def test_rel_error_scale():
    a = np.array([1.0, 2.0, 3.0])
    assert rel_error(a, a) == 0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(a, a * (1 + 1e-9)) < 1e-9
    with pytest.raises(ValueError, match="same shape"):
        rel_error(a, a[:2])


def test_float32_is_refused():
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda: 0, np.zeros(2, np.float32), np.ones(2))


def test_a_wrong_backward_is_caught():
    class BrokenDense(Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] *= 1.01            # a 1% bug
            return dx

    rng = np.random.default_rng(0)
    errors = check_layer(BrokenDense(3, 2, rng, dtype=np.float64), rng.standard_normal((4, 3)), rng)
    assert errors["x"] < 1e-8
    assert errors["W"] > 1e-3
