"""Weight initialisers.

Every initialiser has the signature ``init(shape, rng, dtype=np.float32)`` and draws from the explicit
``numpy.random.Generator`` it is given (never NumPy's global state). ``zeros`` and ``constant`` accept and
ignore ``rng`` so all of them can be swapped by name.

Fan-in and fan-out (``fans``): a dense weight ``(D_in, D_out)`` has fan-in ``D_in``; a convolution
filter bank ``(F, C, K, K)`` has fan-in ``C·K·K`` and fan-out ``F·K·K``.

==================  ============================================  ===========================
initialiser         distribution                                  designed for
==================  ============================================  ===========================
xavier_normal       N(0, 2/(fan_in + fan_out))                    tanh (Glorot 2010)
xavier_uniform      U(±√(6/(fan_in + fan_out)))                   tanh
he_normal           N(0, 2/fan_in)                                ReLU (He et al. 2015)
he_uniform          U(±√(6/fan_in))                               ReLU
lecun_normal        N(0, 1/fan_in)                                SELU
==================  ============================================  ===========================

Glorot and Bengio's argument assumes an activation that is zero-centred with slope 1 at 0 (tanh), so
that near initialisation it passes variance through unchanged. Sigmoid is neither (slope 1/4 at 0,
outputs centred on 1/2): with Xavier weights a sigmoid network still shrinks its gradient at every layer
going back (chapter 03 measures a factor of about 3·10⁶ between the last and first layer of a 10-layer,
width-8 network; multiplying the weights by 4, the usual correction for the slope, leaves about 4·10³).
Xavier is only the common default there.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_choice, check_generator, check_positive


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape."""
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions to define fan-in/fan-out, got {shape}")
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def zeros(shape, rng=None, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def constant(shape, rng=None, dtype=np.float32, value: float = 0.5):
    return np.full(shape, value, dtype=dtype)


def normal(shape, rng, dtype=np.float32, std: float = 0.01):
    check_generator("rng", rng)
    check_positive("std", std)
    return (rng.standard_normal(shape) * std).astype(dtype)


def _normal_with_std(shape, rng, dtype, std):
    check_generator("rng", rng)
    return (rng.standard_normal(shape) * std).astype(dtype)


def _uniform_with_limit(shape, rng, dtype, limit):
    check_generator("rng", rng)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def xavier_normal(shape, rng, dtype=np.float32):
    fan_in, fan_out = fans(shape)
    return _normal_with_std(shape, rng, dtype, math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform(shape, rng, dtype=np.float32):
    fan_in, fan_out = fans(shape)
    return _uniform_with_limit(shape, rng, dtype, math.sqrt(6.0 / (fan_in + fan_out)))


def he_normal(shape, rng, dtype=np.float32):
    fan_in, _ = fans(shape)
    return _normal_with_std(shape, rng, dtype, math.sqrt(2.0 / fan_in))


def he_uniform(shape, rng, dtype=np.float32):
    fan_in, _ = fans(shape)
    return _uniform_with_limit(shape, rng, dtype, math.sqrt(6.0 / fan_in))


def lecun_normal(shape, rng, dtype=np.float32):
    fan_in, _ = fans(shape)
    return _normal_with_std(shape, rng, dtype, math.sqrt(1.0 / fan_in))


INITIALIZERS = {
    "zeros": zeros,
    "constant": constant,
    "normal": normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
}


def get(name: str):
    """The initialiser called ``name`` (one of ``INITIALIZERS``)."""
    check_choice("init", name, INITIALIZERS)
    return INITIALIZERS[name]


def needs_rng(name: str) -> bool:
    return name not in ("zeros", "constant")
