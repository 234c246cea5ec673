"""Behaviour of the layers and the Sequential container beyond their gradients."""

import numpy as np
import pytest

from common import Dense, Dropout, Flatten, ReLU, Sequential, Sigmoid, Softmax, Tanh
from common.activations import get_layer


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_dense_forward_is_affine(rng):
    layer = Dense(3, 2, rng)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(x), x @ layer.params["W"] + layer.params["b"], rtol=1e-6)
    assert layer.forward(x).dtype == np.float32
    assert layer.num_params() == 3 * 2 + 2


def test_dense_rejects_wrong_input_shape_with_a_named_error(rng):
    layer = Dense(3, 2, rng)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\)"):
        layer.forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="x must have shape"):
        layer.forward(np.zeros(3))


@pytest.mark.parametrize("kwargs, message", [
    ({"in_features": 0, "out_features": 2}, "in_features must be >= 1"),
    ({"in_features": 3, "out_features": -1}, "out_features must be >= 1"),
    ({"in_features": 2.5, "out_features": 2}, "in_features must be an integer"),
    ({"in_features": 3, "out_features": 2, "init": "glorot"}, "init must be one of"),
])
def test_dense_rejects_bad_arguments(rng, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dense(rng=rng, **kwargs)


def test_dense_requires_a_generator_for_random_init():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        Dense(3, 2, None)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        Dense(3, 2, np.random.RandomState(0))
    assert not Dense(3, 2, None, init="zeros").params["W"].any()


def test_backward_before_forward_is_a_clear_error(rng):
    with pytest.raises(RuntimeError, match="before forward"):
        Dense(3, 2, rng).backward(np.zeros((1, 2)))


def test_dropout_is_identity_in_eval_and_inverted_in_training():
    layer = Dropout(0.5, np.random.default_rng(0))
    x = np.ones((2000, 50), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, 2.0}          # survivors scaled by 1/(1-p)
    assert abs(out.mean() - 1.0) < 0.01                # expectation preserved
    assert abs((out == 0).mean() - 0.5) < 0.01
    dout = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(dout), out)  # same mask in backward


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rate_must_be_in_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\)"):
        Dropout(p, np.random.default_rng(0))


def test_flatten_round_trips(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    layer = Flatten()
    assert layer.forward(x).shape == (2, 60)
    assert layer.backward(np.ones((2, 60))).shape == x.shape
    with pytest.raises(ValueError, match="batch axis"):
        layer.forward(np.zeros(3))


def test_activation_layers_by_name():
    assert isinstance(get_layer("tanh"), Tanh)
    with pytest.raises(ValueError, match="activation must be one of"):
        get_layer("swish")


def test_softmax_layer_rows_sum_to_one(rng):
    out = Softmax().forward(rng.standard_normal((3, 5)) * 100)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_sigmoid_is_stable_at_extreme_inputs():
    out = Sigmoid().forward(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])


def _mlp(seed):
    rng = np.random.default_rng(seed)
    return Sequential(Dense(4, 8, rng), ReLU(), Dense(8, 3, rng))


def test_sequential_collects_parameters_in_order():
    model = _mlp(0)
    assert list(model.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert len(model.parameters()) == 4
    assert model.num_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert model.parameters()[0][0] is model[0].params["W"]


def test_sequential_rejects_non_layers():
    with pytest.raises(ValueError, match=r"layers\[1\] must be a Layer"):
        Sequential(Dense(2, 2, np.random.default_rng(0)), np.tanh)


def test_predict_in_batches_equals_one_pass(rng):
    model = _mlp(0)
    x = rng.standard_normal((2500, 4)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, batch_size=1000), model.forward(x), rtol=1e-6)


def test_save_and_load_round_trip(tmp_path, rng):
    model, other = _mlp(0), _mlp(1)
    path = tmp_path / "model.npz"
    model.save(path)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    assert not np.allclose(other.forward(x), model.forward(x))
    other.load(path)
    np.testing.assert_array_equal(other.forward(x), model.forward(x))
    with np.load(path, allow_pickle=False) as data:  # loads without pickle
        assert "param:0.W" in data.files


def test_load_refuses_a_different_architecture(tmp_path):
    _mlp(0).save(tmp_path / "m.npz")
    rng = np.random.default_rng(0)
    wrong = Sequential(Dense(4, 9, rng), ReLU(), Dense(9, 3, rng))
    with pytest.raises(ValueError, match="holds a model with layers"):
        wrong.load(tmp_path / "m.npz")


def test_summary_lists_layers_shapes_and_counts():
    text = _mlp(0).summary((4,))
    assert "Dense(4 → 8)" in text and "(N, 8)" in text and "(N, 3)" in text
    assert "Total parameters: 67" in text


def test_astype_converts_parameters_and_views():
    model = _mlp(0).astype(np.float64)
    assert all(p.dtype == np.float64 for p, _ in model.parameters())
    assert model.params["0.W"] is model[0].params["W"]


def test_rows_matmul_is_the_3d_product():
    """Dense's fast path: small (N, T, d) inputs are exactly ``x @ W`` (the 3-D form the chapters' trained
    numbers were computed with); large ones one (N·T, d) GEMM, the same product."""
    from common.layers import _ROWS_GEMM_MIN, _rows_matmul
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((4, 6, 8)).astype(np.float32), rng.standard_normal((8, 5)).astype(np.float32)
    np.testing.assert_array_equal(_rows_matmul(x, W), x @ W)
    x, W = rng.standard_normal((3, 64, 128)).astype(np.float32), rng.standard_normal((128, 512)).astype(np.float32)
    assert 64 * 128 * 512 >= _ROWS_GEMM_MIN
    np.testing.assert_allclose(_rows_matmul(x, W), x @ W, rtol=1e-5, atol=1e-5)
    layer = Dense(128, 512, rng)
    np.testing.assert_allclose(layer.forward(x), x @ layer.params["W"] + layer.params["b"], rtol=1e-5, atol=1e-5)
