"""Activation functions: plain functions with their derivatives (for plots and the deep-dives) and the
same functions as layers.

Each ``f(x)`` has ``f_derivative(x) = f'(x)``, elementwise. ``ACTIVATIONS`` maps a name to
``(f, f_derivative)`` and ``LAYERS`` a name to the layer class, so a playground can offer them by name.

GELU uses the tanh approximation (Hendrycks & Gimpel 2016), as GPT-2 and BERT did; it matches
``torch.nn.GELU(approximate="tanh")``.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_float_array, check_grad, check_positive
from .layers import Layer

SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
_GELU_C = math.sqrt(2.0 / math.pi)


def sigmoid(x):
    # exp(-|x|) never overflows, so both branches are stable at ±1e4.
    x = check_float_array("x", x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    return np.tanh(check_float_array("x", x))


def tanh_derivative(x):
    return 1.0 - np.tanh(check_float_array("x", x)) ** 2


def relu(x):
    return np.maximum(check_float_array("x", x), 0)


def relu_derivative(x):
    # The subgradient at 0 is taken as 0, as PyTorch does.
    x = check_float_array("x", x)
    return (x > 0).astype(np.result_type(x, np.float32))


def leaky_relu(x, alpha: float = 0.01):
    x = check_float_array("x", x)
    return np.where(x > 0, x, alpha * x)


def leaky_relu_derivative(x, alpha: float = 0.01):
    x = check_float_array("x", x)
    return np.where(x > 0, 1.0, alpha).astype(np.result_type(x, np.float32))


def elu(x, alpha: float = 1.0):
    x = check_float_array("x", x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_derivative(x, alpha: float = 1.0):
    x = check_float_array("x", x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(np.result_type(x, np.float32))


def selu(x):
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def selu_derivative(x):
    return SELU_LAMBDA * elu_derivative(x, SELU_ALPHA)


def gelu(x):
    x = check_float_array("x", x)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def gelu_derivative(x):
    x = check_float_array("x", x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def softmax(x, axis: int = -1):
    """Softmax along ``axis``, shifted by the max so ``exp`` never overflows."""
    x = check_float_array("x", x)
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"x must have at least one entry along axis {axis} to take a softmax over (C >= 1), "
                         f"got shape {x.shape}")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def identity(x):
    return check_float_array("x", x)


def identity_derivative(x):
    x = check_float_array("x", x)
    return np.ones_like(x, dtype=np.result_type(x, np.float32))


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "elu": (elu, elu_derivative),
    "selu": (selu, selu_derivative),
    "gelu": (gelu, gelu_derivative),
    "identity": (identity, identity_derivative),
}


class _Elementwise(Layer):
    """An activation applied elementwise: ``out = f(x)``, ``dx = dout · f'(x)``."""

    def __init__(self) -> None:
        super().__init__()
        self._x = None

    def forward(self, x, training=False):
        self._x = check_float_array("x", x)
        return self._f(self._x)

    def backward(self, dout):
        self._require_cache(self._x)
        return self._dout(dout) * self._df(self._x)

    def _dout(self, dout):
        return check_grad("dout", dout, self._x.shape, self._x.dtype)


class ReLU(_Elementwise):
    """``max(x, 0)``; ``f'(x) = 1[x > 0]``."""

    def forward(self, x, training=False):
        self._x = check_float_array("x", x)
        # The mask as 0/1 in x's dtype: ``dout * mask`` on a boolean mask converts it on every backward,
        # ~1.7× the cost of the float product; the values (dout·1, dout·0) are the same. An evaluation
        # forward (no backward expected) leaves it to a backward that comes anyway.
        self._mask = np.greater(self._x, 0).astype(self._x.dtype) if training else None
        # Against an array of zeros, not the scalar 0: NumPy 2.4 has no SIMD loop for ``maximum`` of an
        # array and a scalar (0.13 ms on 401,408 float32 values, the benchmark CNN's first ReLU; 0.06 ms
        # against a fresh zeros array). The same values, bit for bit (NaN propagates either way; tested).
        return np.maximum(self._x, np.zeros(self._x.shape, self._x.dtype))

    def backward(self, dout):
        self._require_cache(self._x)
        if self._mask is None:
            self._mask = np.greater(self._x, 0).astype(self._x.dtype)
        return self._dout(dout) * self._mask


class Sigmoid(_Elementwise):
    """``σ(x) = 1/(1+e^{-x})``; ``f'(x) = σ(x)(1-σ(x))``, computed from the saved output."""

    def forward(self, x, training=False):
        self._x = check_float_array("x", x)
        self._out = sigmoid(self._x).astype(self._x.dtype, copy=False)
        return self._out

    def backward(self, dout):
        self._require_cache(self._x)
        return self._dout(dout) * self._out * (1 - self._out)


class Tanh(_Elementwise):
    """``tanh(x)``; ``f'(x) = 1 - tanh²(x)``, computed from the saved output."""

    def forward(self, x, training=False):
        self._x = check_float_array("x", x)
        self._out = np.tanh(self._x)
        return self._out

    def backward(self, dout):
        self._require_cache(self._x)
        return self._dout(dout) * (1 - self._out * self._out)


class LeakyReLU(_Elementwise):
    """``x`` for x > 0 else ``αx``."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        check_positive("alpha", alpha, allow_zero=True)
        self.alpha = alpha

    def _f(self, x):
        return leaky_relu(x, self.alpha).astype(x.dtype, copy=False)

    def _df(self, x):
        return leaky_relu_derivative(x, self.alpha).astype(x.dtype, copy=False)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class ELU(_Elementwise):
    """``x`` for x > 0 else ``α(eˣ - 1)``."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        check_positive("alpha", alpha)
        self.alpha = alpha

    def _f(self, x):
        return elu(x, self.alpha).astype(x.dtype, copy=False)

    def _df(self, x):
        return elu_derivative(x, self.alpha).astype(x.dtype, copy=False)

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


class SELU(_Elementwise):
    """``λ·ELU_α(x)`` with the self-normalising constants λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al. 2017)."""

    def _f(self, x):
        return selu(x).astype(x.dtype, copy=False)

    def _df(self, x):
        return selu_derivative(x).astype(x.dtype, copy=False)


class GELU(_Elementwise):
    """``0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`` (the tanh approximation).

    ``f'(x) = ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²)`` with ``t`` the tanh. ``gelu`` and
    ``gelu_derivative`` above are the reference this layer is tested against; the layer computes the same
    chain of operations faster, because a Transformer's feed-forward network applies it to 4·D values per
    token:

    - x³ as x·x·x (NumPy's float32 ``x ** 3`` is about 70 times slower than two products);
    - in place, a block of about 32k values at a time, so each block's chain of operations runs in the
      CPU cache instead of streaming the whole array through memory once per operation.
    """

    _BLOCK = 1 << 15                                   # values per block (128 KB of float32)

    def _blocks(self, *arrays):
        """Row blocks of the arrays seen as (M, last axis)."""
        flat = [a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1) for a in arrays]
        rows = max(1, self._BLOCK // max(1, flat[0].shape[1]))
        for i in range(0, len(flat[0]), rows):
            yield [a[i:i + rows] for a in flat]

    def _tanh(self, xs, out):
        """t = tanh(c·(x + 0.044715x³)) into ``out`` (x³ as x·x·x)."""
        np.multiply(xs, xs, out=out)
        out *= 0.044715
        out += 1
        out *= xs
        out *= _GELU_C
        return np.tanh(out, out=out)

    def forward(self, x, training=False):
        x = self._x = check_float_array("x", x)
        out = np.empty_like(x)
        # t is kept for the backward pass (one more array written here saves recomputing the tanh there)
        self._t = t = np.empty_like(x)
        for xs, ts, o in self._blocks(x, t, out):
            self._tanh(xs, out=ts)                     # ½x(1 + t)
            np.add(ts, 1, out=o)
            o *= xs
            o *= 0.5
        return out

    def backward(self, dout):
        """The same chain of operations as ``gelu_derivative``, block by block (in cache), with the t the
        forward pass kept."""
        self._require_cache(self._x)
        x = self._x
        dout = self._dout(dout)
        slope = np.empty(x.shape, dtype=np.result_type(x, dout))
        tm = tp = None
        for xs, ts, s, ds in self._blocks(x, self._t, slope, dout):
            if tm is None:
                tm, tp = np.empty_like(s), np.empty_like(s)
            tms, tps = tm[: len(s)], tp[: len(s)]
            np.multiply(xs, xs, out=s)                 # ½·c·x·(1 + 3·0.044715x²)·(1 - t²) + ½(1 + t)
            s *= 3 * 0.044715
            s += 1
            s *= xs
            s *= 0.5 * _GELU_C
            np.multiply(ts, ts, out=tms)
            np.subtract(1, tms, out=tms)
            s *= tms
            np.add(ts, 1, out=tps)
            tps *= 0.5
            s += tps
            s *= ds
        return slope


class Softmax(Layer):
    """Softmax over the last axis. Shapes: x: (N, C); out: (N, C).

    Notes
    -----
    ``s = softmax(x)``; the Jacobian is ``diag(s) - s sᵀ``, so ``dx = s ⊙ (dout - Σⱼ doutⱼ sⱼ)``.
    For training a classifier use ``losses.softmax_cross_entropy`` on logits instead: fused, it is cheaper
    and stable.
    """

    def __init__(self) -> None:
        super().__init__()
        self._out = None

    def forward(self, x, training=False):
        self._out = softmax(x, axis=-1)
        return self._out

    def backward(self, dout):
        self._require_cache(self._out)
        s = self._out
        dout = check_grad("dout", dout, s.shape, s.dtype)
        return s * (dout - (dout * s).sum(axis=-1, keepdims=True))


LAYERS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
          "selu": SELU, "gelu": GELU}


def get_layer(name: str) -> Layer:
    """A new activation layer by name (one of ``LAYERS``)."""
    if name not in LAYERS:
        raise ValueError(f"activation must be one of {sorted(LAYERS)}, got {name!r}")
    return LAYERS[name]()
