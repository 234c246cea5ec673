"""Chapter 02: the hand-set XOR network really outputs XOR, the hidden space, linear collapse, activations."""

import numpy as np
import pytest

import mlp
from common import activations
from common.datasets import xor
from common.gradcheck import check_layer
from common.layers import Dense


def test_default_scale_outputs_are_xor_with_margin():
    X, y = xor()
    out = mlp.xor_network().forward(X)[:, 0]
    assert np.all(out[y == 0] < 0.1) and np.all(out[y == 1] > 0.9)
    assert np.round(out, 4).tolist() == [0.0072, 0.9924, 0.9924, 0.0072]
    assert mlp.predict(mlp.xor_network(), X).tolist() == y.tolist()


def test_outputs_are_computed_by_the_common_layers():
    X, _ = xor()
    net = mlp.xor_network(10.0)
    W1, b1 = 10 * mlp.XOR_BASE_WEIGHTS["W1"], 10 * mlp.XOR_BASE_WEIGHTS["b1"]
    W2, b2 = 10 * mlp.XOR_BASE_WEIGHTS["W2"], 10 * mlp.XOR_BASE_WEIGHTS["b2"]
    sig = lambda z: 1 / (1 + np.exp(-z))
    by_hand = sig(sig(X @ W1 + b1) @ W2 + b2)
    assert np.allclose(net.forward(X), by_hand, rtol=0, atol=1e-15)
    assert [type(l).__name__ for l in net] == ["Dense", "Sigmoid", "Dense", "Sigmoid"]


@pytest.mark.parametrize("scale, low, high", [
    (1.0, 0.4244, 0.4366), (5.0, 0.1068, 0.8509), (10.0, 0.0072, 0.9924), (20.0, 0.0000, 1.0000)])
def test_scale_sharpens_or_blurs(scale, low, high):
    X, y = xor()
    out = mlp.xor_network(scale).forward(X)[:, 0]
    assert round(float(out[y == 0].max()), 4) == low
    assert round(float(out[y == 1].min()), 4) == high


def test_scale_one_still_ranks_correctly_but_is_not_confident():
    X, y = xor()
    out = mlp.xor_network(1.0).forward(X)[:, 0]
    assert out[y == 1].min() > out[y == 0].max()          # the order is right…
    assert mlp.predict(mlp.xor_network(1.0), X).tolist() == [0, 0, 0, 0]   # …but no output crosses 0.5


def test_hidden_layer_computes_or_and_and_and_makes_xor_separable():
    X, y = xor()
    h = mlp.hidden_representation(mlp.xor_network(), X)
    assert (h[:, 0] > 0.5).astype(int).tolist() == [0, 1, 1, 1]     # OR
    assert (h[:, 1] > 0.5).astype(int).tolist() == [0, 0, 0, 1]     # AND
    # In hidden space (0,1) and (1,0) land on the same point and the line h1 - h2 = 0.5 separates.
    assert np.allclose(h[1], h[2])
    assert np.array_equal((h[:, 0] - h[:, 1] > 0.5).astype(int), y)


def test_forward_trace_keys_and_shapes():
    X, _ = xor()
    t = mlp.forward_trace(mlp.xor_network(), X)
    assert {k: v.shape for k, v in t.items()} == {"X": (4, 2), "z1": (4, 2), "h": (4, 2), "z2": (4, 1),
                                                   "out": (4, 1)}
    assert np.allclose(t["z1"], X @ [[10, 10], [10, 10]] + [-5, -15])


def test_stacked_linear_layers_collapse_to_one():
    rng = np.random.default_rng(0)
    layers = [Dense(2, 5, rng, dtype=np.float64), Dense(5, 3, rng, dtype=np.float64),
              Dense(3, 1, rng, dtype=np.float64)]
    for l in layers:
        l.params["b"][...] = rng.standard_normal(l.params["b"].shape)
    W, b = mlp.collapse_linear(*layers)
    x = rng.standard_normal((7, 2))
    out = x
    for l in layers:
        out = l.forward(out)
    assert W.shape == (2, 1) and np.allclose(out, x @ W + b, atol=1e-12)


def test_trained_linear_model_is_stuck_at_chance_on_xor():
    X, y = xor()
    model, history = mlp.train_linear_model(X, y, np.random.default_rng(0))
    p = activations.sigmoid(model.forward(X)[:, 0])
    assert np.allclose(p, 0.5, atol=1e-6)
    assert history.train_loss[-1] == pytest.approx(np.log(2), abs=1e-9)
    assert mlp.linear_accuracy(model, X, y) == 0.5
    assert np.abs(model[0].params["W"]).max() < 1e-6


def test_generic_mlp_builder_and_gradients():
    rng = np.random.default_rng(1)
    net = mlp.mlp((2, 3, 1), "tanh", rng)
    assert [type(l).__name__ for l in net] == ["Dense", "Tanh", "Dense", "Sigmoid"]
    errs = check_layer(net, rng.standard_normal((4, 2)), rng)
    assert max(errs.values()) < 1e-8
    assert [type(l).__name__ for l in mlp.mlp((2, 3, 1), "relu", rng, output_activation=None)] == \
        ["Dense", "ReLU", "Dense"]


EXPECTED_PROPERTIES = {   # name: (f(0), f'(0), max f', mean for x ~ N(0,1), saturates left, saturates right)
    "sigmoid": (0.5, 0.25, 0.25, 0.5, True, True),
    "tanh": (0.0, 1.0, 1.0, 0.0, True, True),
    "relu": (0.0, 0.0, 1.0, 0.3989, True, False),
    "leaky_relu": (0.0, 0.01, 1.0, 0.3950, False, False),
    "elu": (0.0, 1.0, 1.0, 0.1605, True, False),
    "selu": (0.0, 1.7581, 1.7581, 0.0, True, False),
    "gelu": (0.0, 0.5, 1.129, 0.2820, True, False),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PROPERTIES))
def test_activation_properties(name):
    f0, df0, dmax, mean, sat_l, sat_r = EXPECTED_PROPERTIES[name]
    p = mlp.activation_properties(name)
    assert p["f(0)"] == pytest.approx(f0, abs=1e-4)
    assert p["f'(0)"] == pytest.approx(df0, abs=1e-4)
    assert p["max f'"] == pytest.approx(dmax, abs=1e-3)
    assert p["mean"] == pytest.approx(mean, abs=1e-4)
    assert p["zero_centred"] is (name in ("tanh", "selu"))
    assert (abs(p["f'(lo)"]) < 0.005) is sat_l
    assert (abs(p["f'(hi)"]) < 0.005) is sat_r


def test_selu_keeps_a_standard_normal_standard():
    p = mlp.activation_properties("selu")
    assert p["mean"] == pytest.approx(0.0, abs=1e-6) and p["var"] == pytest.approx(1.0, abs=1e-4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="scale must be > 0"):
        mlp.xor_network(0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        mlp.forward_trace(mlp.xor_network(), np.ones((4, 3)))
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp.mlp((2, 2, 1), "swish", np.random.default_rng(0))
    with pytest.raises(ValueError, match="sizes must list"):
        mlp.mlp((2,), "tanh", np.random.default_rng(0))
    with pytest.raises(ValueError, match="name must be one of"):
        mlp.activation_properties("swish")
    with pytest.raises(ValueError, match=r"layers\[0\] must be a Dense"):
        mlp.collapse_linear(activations.Tanh())

