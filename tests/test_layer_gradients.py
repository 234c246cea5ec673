"""Every layer in `common.layers` and `common.activations` against centred finite differences, in
float64, for its input and every parameter."""

import numpy as np
import pytest

from common import (ELU, GELU, SELU, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sequential, Sigmoid, Softmax,
                    Tanh)
from common.gradcheck import check_layer

TOL = 1e-7


def _away_from_kink(shape, rng):
    # ReLU-family kinks at 0: keep inputs at least 0.1 away so ±h never crosses them.
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, x + np.sign(x + 1e-12) * 0.2, x)


def _dropout_case(rng):
    layer = Dropout(0.4, np.random.default_rng(0))
    reset = lambda: setattr(layer, "rng", np.random.default_rng(7))  # same mask every pass
    return layer, rng.standard_normal((5, 6)), {"training": True, "before_forward": reset}


CASES = {
    "Dense": lambda rng: (Dense(4, 3, rng, dtype=np.float64), rng.standard_normal((5, 4)), {}),
    "Dense (N, T, D)": lambda rng: (Dense(4, 3, rng, dtype=np.float64), rng.standard_normal((2, 3, 4)), {}),
    "Dense no bias": lambda rng: (Dense(4, 3, rng, bias=False, dtype=np.float64), rng.standard_normal((5, 4)), {}),
    "ReLU": lambda rng: (ReLU(), _away_from_kink((5, 6), rng), {}),
    "LeakyReLU": lambda rng: (LeakyReLU(0.1), _away_from_kink((5, 6), rng), {}),
    "ELU": lambda rng: (ELU(1.0), _away_from_kink((5, 6), rng), {}),
    "SELU": lambda rng: (SELU(), _away_from_kink((5, 6), rng), {}),
    "GELU": lambda rng: (GELU(), rng.standard_normal((5, 6)) * 2, {}),
    "Sigmoid": lambda rng: (Sigmoid(), rng.standard_normal((5, 6)) * 2, {}),
    "Tanh": lambda rng: (Tanh(), rng.standard_normal((5, 6)), {}),
    "Softmax": lambda rng: (Softmax(), rng.standard_normal((5, 6)), {}),
    "Dropout (training)": _dropout_case,
    "Dropout (eval)": lambda rng: (Dropout(0.4, np.random.default_rng(0)), rng.standard_normal((5, 6)), {}),
    "Flatten": lambda rng: (Flatten(), rng.standard_normal((2, 3, 4)), {}),
    "Sequential MLP": lambda rng: (
        Sequential(Dense(4, 6, rng, init="xavier_normal", dtype=np.float64), Tanh(),
                   Dense(6, 3, rng, init="xavier_normal", dtype=np.float64)),
        rng.standard_normal((5, 4)), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_gradients_match_finite_differences(name):
    rng = np.random.default_rng(42)
    layer, x, kwargs = CASES[name](rng)
    errors = check_layer(layer, x, rng, **kwargs)
    assert set(errors) == {"x", *layer.params}
    for key, err in errors.items():
        assert err < TOL, f"{name}: d{key} relative error {err:.2e}"


def test_gradients_accumulate_until_zero_grad():
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng, dtype=np.float64)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    once = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads["W"], 2 * once)
    layer.zero_grad()
    assert not layer.grads["W"].any() and not layer.grads["b"].any()


def test_sequential_skips_input_gradient_but_fills_the_same_parameter_gradients():
    rng = np.random.default_rng(0)
    model = Sequential(Dense(4, 5, rng, dtype=np.float64), ReLU(), Dense(5, 2, rng, dtype=np.float64))
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    model.forward(x)
    assert model.backward(dout).shape == x.shape
    full = {k: g.copy() for k, g in model.grads.items()}
    model.zero_grad()
    model.forward(x)
    assert model.backward(dout, input_grad=False) is None
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, full[k])
