"""Numerical gradient checking: the test every layer in this project passes.

``numerical_gradient`` perturbs one entry at a time by ±h and takes the centred difference of
``Σ f(x) ⊙ dout`` for a random upstream gradient ``dout``, which is exactly what ``backward(dout)``
computes analytically. The error of the centred difference is O(h²), so in float64 with h = 1e-5 a
correct backward pass agrees to about 1e-9 or better.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_generator, check_positive
from .layers import Layer


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
    if not callable(f):
        raise ValueError(f"f must be a function of no arguments returning the output, got {f!r}")
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a NumPy float64 array (it is perturbed in place), got {type(x).__name__}")
    if x.dtype != np.float64:
        raise ValueError(f"x must be float64 for a meaningful gradient check, got {x.dtype}")
    check_positive("h", h)
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


def _parts(name: str, value) -> dict[str, np.ndarray]:
    """A float extra input or output as named arrays: a state pair becomes ``name.h``, ``name.c``."""
    if value is None:
        return {}
    if isinstance(value, tuple):
        fields = getattr(value, "_fields", None) or [str(i) for i in range(len(value))]
        out = {}
        for f, v in zip(fields, value):
            out.update(_parts(f"{name}.{f}", v))
        return out
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return {name: value}
    return {}


def _like(value, make):
    """The same structure as ``value`` (an array or a named tuple of arrays) with each array ``make(a)``."""
    if isinstance(value, tuple):
        parts = [_like(v, make) for v in value]
        return type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    return make(value)


def check_layer(layer, x: np.ndarray, rng: np.random.Generator, *, training: bool = False,
                inputs: dict | None = None, extras=None, before_forward=None, h: float = 1e-5) -> dict[str, float]:
    """Relative error between ``layer.backward`` and finite differences, for the input (key ``"x"``),
    every parameter, and every float extra input and output of the sequence contract
    (``common.layers``).

    ``inputs`` are the extra inputs passed to ``forward`` by keyword (``{"state": s0}``,
    ``{"mask": m, "context": c}``); each float one is checked through ``layer.extra_grads`` (a state
    pair as ``"state.h"``/``"state.c"``). ``extras`` names the extra outputs that carry a gradient (by
    default the layer's ``differentiable_extras``, e.g. the recurrent layers' final ``"state"``): the
    objective is ``Σ out·dout + Σ extra·dextra`` for random ``dout``/``dextra``, and ``backward`` gets
    ``dextra`` by the extra's name. An integer input (token ids) has no gradient and is skipped.

    ``before_forward`` is called before every forward pass; a stochastic layer uses it to reset its
    generator so every pass draws the same mask.
    """
    if not isinstance(layer, Layer):
        raise ValueError(f"layer must be a Layer (common.layers.Layer), got {type(layer).__name__}")
    check_generator("rng", rng)
    if np.issubdtype(np.asarray(x).dtype, np.floating) and np.asarray(x).dtype != np.float64:
        raise ValueError(f"x must be float64 for a meaningful gradient check, got {np.asarray(x).dtype}")
    for name, p in layer.params.items():
        if p.dtype != np.float64:
            raise ValueError(f"parameter {name!r} of {layer!r} is {p.dtype}; a gradient check needs float64: "
                             "call layer.astype(np.float64) first")
    inputs = dict(inputs or {})
    for n, v in inputs.items():
        for key, a in _parts(n, v).items():
            if a.dtype != np.float64:
                raise ValueError(f"inputs[{key!r}] must be float64 for a meaningful gradient check, got {a.dtype}")
    names = tuple(getattr(layer, "differentiable_extras", ()) if extras is None else extras)

    def run():
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training=training, **inputs)

    out = run()
    dout = rng.standard_normal(out.shape)
    dextras = {n: _like(layer.extras[n], lambda a: rng.standard_normal(a.shape)) for n in names}

    def objective():
        total = np.sum(run() * dout)
        for n in names:
            for key, a in _parts(n, layer.extras[n]).items():
                total += np.sum(a * _parts(n, dextras[n])[key])
        return total

    layer.zero_grad()
    run()
    dx = layer.backward(dout, **dextras)
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    extra_in = {}
    for n, v in inputs.items():
        given = list(_parts(n, v).values())              # the float arrays passed in, in order
        if not given:
            continue                                     # a mask, or integer ids: no gradient
        got = _parts(n, layer.extra_grads.get(n))        # named after the gradient's fields (state.h, …)
        if len(got) != len(given):
            raise ValueError(f"{type(layer).__name__}.backward left no extra_grads[{n!r}] matching the input {n!r}")
        for (key, g), a in zip(got.items(), given):
            extra_in[key] = a
            analytic[key] = g.copy()
    one = np.ones(())
    errors = {}
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        errors["x"] = rel_error(dx, numerical_gradient(objective, x, one, h))
    for name, p in layer.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(objective, p, one, h))
    for key, a in extra_in.items():
        errors[key] = rel_error(analytic[key], numerical_gradient(objective, a, one, h))
    return errors
