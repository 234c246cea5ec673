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
import os

import numpy as np

from ._validation import check_choice, check_float_dtype, check_generator, check_positive


def _check_shape(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of ints >= 1 (a weight with a zero or negative size has no fan-in)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ValueError(f"shape must be a tuple of ints >= 1, got {shape!r}")
    return tuple(int(d) for d in shape)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):       # not available on this platform
        return None


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:,.1f} GB"


def _allocate(shape, dtype, make):
    """``make()`` (which builds an array of ``shape``), refused with a ``ValueError`` that says the size when
    it cannot fit in this machine's memory instead of a bare ``MemoryError`` (or the kernel's OOM killer
    stopping the process part-way through filling it)."""
    dtype = check_float_dtype("dtype", dtype)
    n = math.prod(shape)
    need = n * (8 + dtype.itemsize)                     # the float64 draw and the cast copy
    total = _physical_memory()
    if total is not None and need > total:
        raise ValueError(f"shape {shape} is {n:,} values ({_gb(n * dtype.itemsize)} in {dtype.name}): more than this "
                         f"machine's {_gb(total)} of memory")
    try:
        return make()
    except MemoryError:
        raise MemoryError(f"shape {shape} is {n:,} values ({_gb(n * dtype.itemsize)} in {dtype.name}) and does not "
                          "fit in the memory available now") from None


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape."""
    shape = _check_shape(shape)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions to define fan-in/fan-out, got {shape}")
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def zeros(shape, rng=None, dtype=np.float32):
    shape = _check_shape(shape)
    return _allocate(shape, dtype, lambda: np.zeros(shape, dtype=dtype))


def constant(shape, rng=None, dtype=np.float32, value: float = 0.5):
    shape = _check_shape(shape)
    return _allocate(shape, dtype, lambda: np.full(shape, value, dtype=dtype))


def normal(shape, rng, dtype=np.float32, std: float = 0.01):
    shape = _check_shape(shape)
    check_generator("rng", rng)
    check_positive("std", std)
    return _allocate(shape, dtype, lambda: (rng.standard_normal(shape) * std).astype(dtype))


def _normal_with_std(shape, rng, dtype, std):
    check_generator("rng", rng)
    return _allocate(shape, dtype, lambda: (rng.standard_normal(shape) * std).astype(dtype))


def _uniform_with_limit(shape, rng, dtype, limit):
    check_generator("rng", rng)
    return _allocate(shape, dtype, lambda: rng.uniform(-limit, limit, size=shape).astype(dtype))


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
