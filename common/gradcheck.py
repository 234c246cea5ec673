"""Numerical gradient checking: the test every layer in this project passes.

``numerical_gradient`` perturbs one entry at a time by ±h and takes the centred difference of
``Σ f(x) ⊙ dout`` for a random upstream gradient ``dout``, which is exactly what ``backward(dout)``
computes analytically. The error of the centred difference is O(h²), so in float64 with h = 1e-5 a
correct backward pass agrees to about 1e-9 or better.
"""

from __future__ import annotations

import numpy as np


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a - b‖ / max(‖a‖ + ‖b‖, 1e-12)``: 0 when equal, about 1 when unrelated.

    The norm form (rather than the entrywise maximum) keeps entries that are both nearly zero from
    dominating with round-off noise.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def numerical_gradient(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``Σ f() ⊙ dout`` with respect to ``x``.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place (and restored), so ``x`` can be
    an input array or a parameter array held by a layer.
    """
    if x.dtype != np.float64:
        raise ValueError(f"x must be float64 for a meaningful gradient check, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.sum(f() * dout)
        flat[i] = old - h
        minus = np.sum(f() * dout)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def check_layer(layer, x: np.ndarray, rng: np.random.Generator, *, training: bool = False,
                before_forward=None, h: float = 1e-5) -> dict[str, float]:
    """Relative error between ``layer.backward`` and finite differences, for the input (key ``"x"``)
    and every parameter.

    ``before_forward`` is called before every forward pass; a stochastic layer uses it to reset its
    generator so every pass draws the same mask.
    """
    def forward():
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training=training)

    out = forward()
    dout = rng.standard_normal(out.shape)
    layer.zero_grad()
    forward()
    dx = layer.backward(dout)
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}
    errors = {"x": rel_error(analytic["x"], numerical_gradient(forward, x, dout, h))}
    for name, p in layer.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(forward, p, dout, h))
    return errors
