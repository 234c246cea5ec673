"""The activation functions and their derivatives as plain functions."""

import math

import numpy as np
import pytest

from common import activations as A
from common.gradcheck import numerical_gradient, rel_error


@pytest.mark.parametrize("name", [n for n in A.ACTIVATIONS])
def test_derivative_matches_finite_differences(name):
    f, df = A.ACTIVATIONS[name]
    x = np.linspace(-4, 4, 81)
    x = x[np.abs(x) > 0.05]          # off the kink at 0
    num = numerical_gradient(lambda: f(x), x, np.ones_like(x))
    assert rel_error(df(x), num) < 1e-8


def test_known_values():
    assert A.sigmoid(0.0) == 0.5
    assert A.relu(-2.0) == 0 and A.relu(3.0) == 3
    assert A.leaky_relu(-2.0, 0.1) == pytest.approx(-0.2)
    assert A.elu(-1.0) == pytest.approx(math.exp(-1) - 1)
    assert A.selu(1.0) == pytest.approx(1.0507009873554805)
    assert A.gelu(1.0) == pytest.approx(0.8411919906082768)   # tanh approximation
    assert A.tanh_derivative(0.0) == 1.0 and A.sigmoid_derivative(0.0) == 0.25


def test_functions_are_finite_at_extreme_inputs():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    for name, (f, df) in A.ACTIVATIONS.items():
        with np.errstate(over="raise", invalid="raise"):
            assert np.all(np.isfinite(f(x))), name
            assert np.all(np.isfinite(df(x))), name


def test_softmax_is_shift_invariant_and_stable():
    x = np.array([[1000.0, 1001.0, 1002.0]])
    np.testing.assert_allclose(A.softmax(x), A.softmax(x - 1000))
    assert np.isclose(A.softmax(x).sum(), 1.0)


@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (2, 3, 40000)])
def test_gelu_layer_equals_the_reference_functions(shape):
    """The GELU layer's blocked, in-place fast path against ``gelu`` / ``gelu_derivative``, float64 and
    float32 (the block loop is exercised by the last shape: 120k values, several blocks)."""
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    layer = A.GELU()
    np.testing.assert_allclose(layer.forward(x), A.gelu(x), rtol=0, atol=1e-14)
    np.testing.assert_allclose(layer.backward(dout), dout * A.gelu_derivative(x), rtol=0, atol=1e-13)
    x32 = x.astype(np.float32)
    out = layer.forward(x32)
    assert out.dtype == np.float32 and layer.backward(dout.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(out, A.gelu(x), rtol=1e-5, atol=1e-5)


def test_gelu_backward_reads_the_forward_tanh_without_changing_it():
    """The layer keeps t = tanh(…) from the forward pass for the backward pass: calling backward twice gives
    the same bits, and a new forward replaces it."""
    rng = np.random.default_rng(1)
    x, y, dout = rng.standard_normal((3, 4, 50)).astype(np.float32) * 3
    layer = A.GELU()
    layer.forward(y)
    layer.forward(x)
    first = layer.backward(dout)
    assert first.tobytes() == layer.backward(dout).tobytes()
    np.testing.assert_allclose(first, dout * A.gelu_derivative(x.astype(np.float64)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_layer_equals_maximum_with_zero_bit_for_bit(dtype):
    """``ReLU.forward`` takes the maximum against an array of zeros (NumPy's fast loop), not the scalar 0:
    the same bits for signed zeros, infinities and NaN, in training mode and out of it."""
    x = np.array([[-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1.5, -1.5, 1e-45, -1e-45]], dtype=dtype)
    x = np.concatenate([x, np.random.default_rng(0).standard_normal((3, x.shape[1])).astype(dtype)])
    for training in (False, True):
        out = A.ReLU().forward(x, training=training)
        assert out.dtype == dtype and out.tobytes() == np.maximum(x, 0).tobytes()
