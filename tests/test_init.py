"""Initialisers: scales from fan-in/fan-out, explicit generators, determinism."""

import math

import numpy as np
import pytest

from common import init


def test_fans_of_dense_and_conv_shapes():
    assert init.fans((784, 128)) == (784, 128)
    assert init.fans((16, 8, 3, 3)) == (8 * 9, 16 * 9)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans((5,))


@pytest.mark.parametrize("name, std", [
    ("he_normal", math.sqrt(2 / 400)),
    ("xavier_normal", math.sqrt(2 / (400 + 300))),
    ("lecun_normal", math.sqrt(1 / 400)),
    ("he_uniform", math.sqrt(6 / 400) / math.sqrt(3)),
    ("xavier_uniform", math.sqrt(6 / 700) / math.sqrt(3)),
])
def test_scale_matches_the_formula(name, std):
    w = init.get(name)((400, 300), np.random.default_rng(0), dtype=np.float64)
    assert abs(w.mean()) < 0.05 * std
    assert w.std() == pytest.approx(std, rel=0.02)


def test_uniform_limits():
    w = init.he_uniform((400, 300), np.random.default_rng(0))
    assert np.abs(w).max() <= math.sqrt(6 / 400)


def test_zeros_constant_and_normal():
    assert not init.zeros((3, 2)).any()
    assert np.all(init.constant((3, 2), value=0.5) == 0.5)
    w = init.normal((500, 500), np.random.default_rng(0), std=0.01)
    assert w.std() == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match="std must be > 0"):
        init.normal((2, 2), np.random.default_rng(0), std=-1)


def test_same_generator_seed_same_weights_and_default_dtype():
    a = init.xavier_uniform((5, 4), np.random.default_rng(3))
    b = init.xavier_uniform((5, 4), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


def test_random_initialisers_need_a_generator():
    for name in ("normal", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal"):
        with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
            init.get(name)((3, 3), None)
    with pytest.raises(ValueError, match="init must be one of"):
        init.get("orthogonal")
