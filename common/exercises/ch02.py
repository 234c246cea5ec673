"""Chapter 02 (the multi-layer perceptron): a Dense forward pass, XOR weights by hand, and why stacked
linear layers collapse into one."""

from __future__ import annotations

import numpy as np

from ..activations import Sigmoid
from ..datasets import xor
from ..layers import Dense, Sequential
from ._core import as_array, call, checker, compare, fail, not_done, seed_for, unpack


def _dense(W, b) -> Dense:
    layer = Dense(W.shape[0], W.shape[1], init="zeros", dtype=np.float64)
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return layer


@checker("dense_forward", "dense_forward")
def check_dense_forward(fn):
    """``dense_forward(x, W, b) -> x W + b``, checked against ``common.Dense``."""
    rng = np.random.default_rng(seed_for("dense_forward"))
    for n, d, h in ((5, 3, 4), (1, 2, 2), (7, 6, 1)):
        x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h)
        case = f"x: ({n}, {d}), W: ({d}, {h}), b: ({h},)"
        compare("the output", _dense(W, b).forward(x), call(fn, x, W, b), case=case,
                hint="each output column h is Σ_d x[:, d]·W[d, h] plus b[h]: a matrix product and a bias.",
                mistakes={"leave out the bias": x @ W, "add the bias twice": x @ W + 2 * b})
    return "It matches common.Dense.forward for three shapes."


#: How sure the hand-set network must be: every output within this distance of its 0/1 target.
XOR_MARGIN = 0.2


@checker("xor_weights", "xor_weights")
def check_xor_weights(fn):
    """``xor_weights() -> {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}`` for a 2-2-1 sigmoid
    network (``Dense → Sigmoid → Dense → Sigmoid``) that computes XOR."""
    weights = call(fn)
    if not isinstance(weights, dict):
        fail(f"should return a dict with keys W1, b1, W2, b2, got {type(weights).__name__}.")
    shapes = {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    arrays = {}
    for key, shape in shapes.items():
        if key not in weights:
            fail(f"the dict has no {key!r} (it should hold {', '.join(shapes)}).")
        if weights[key] is None:
            not_done(f"{key} is still None")
        a = as_array(key, weights[key])
        if a.size != int(np.prod(shape)):
            fail(f"{key} should have shape {shape}, got {a.shape}.")
        arrays[key] = a.reshape(shape)
    net = Sequential(_dense(arrays["W1"], arrays["b1"]), Sigmoid(), _dense(arrays["W2"], arrays["b2"]), Sigmoid())
    X, y = xor()
    out = net.forward(X)[:, 0]
    for xi, o, t in zip(X, out, y):
        if (o > 0.5) != bool(t):
            fail(f"input {xi.astype(int).tolist()}: the network outputs {o:.3f}, but XOR is {int(t)} there.",
                 "let hidden unit 1 be OR and hidden unit 2 be AND (chapter 01's gates); the output is "
                 "'OR and not AND'.")
    worst = int(np.argmax(np.abs(out - y)))
    if abs(out[worst] - y[worst]) > XOR_MARGIN:
        fail(f"right on all four inputs, but unsure: input {X[worst].astype(int).tolist()} gives {out[worst]:.3f} "
             f"for target {int(y[worst])} (it should be within {XOR_MARGIN} of it).",
             "multiply every weight and bias by the same factor: a larger scale makes each sigmoid closer to a step.")
    return f"Outputs {np.round(out, 3).tolist()} for XOR's {y.astype(int).tolist()}."


@checker("collapse_linear", "collapse_linear")
def check_collapse_linear(fn):
    """``collapse_linear(W1, b1, W2, b2) -> (W, b)``: the single Dense layer equal to two stacked ones with
    no activation between them."""
    rng = np.random.default_rng(seed_for("collapse_linear"))
    for d, h, k in ((3, 5, 2), (2, 2, 2)):
        W1, b1 = rng.standard_normal((d, h)), rng.standard_normal(h)
        W2, b2 = rng.standard_normal((h, k)), rng.standard_normal(k)
        x = rng.standard_normal((6, d))
        two = _dense(W2, b2).forward(_dense(W1, b1).forward(x))
        W, b = unpack(call(fn, W1, b1, W2, b2), ("W", "b"))
        case = f"W1: ({d}, {h}), W2: ({h}, {k})"
        compare("W", W1 @ W2, W, case=case, hint="x W1 W2: which single matrix multiplies x?",
                mistakes={"multiply in the other order (W2 W1)": (W2 @ W1) if d == k else np.zeros((k, h))})
        compare("b", b1 @ W2 + b2, b, case=case,
                hint="the first bias also goes through the second layer: (x W1 + b1) W2 + b2.",
                mistakes={"keep only the second bias (b1 goes through W2 too)": b2,
                          "add the biases without passing b1 through W2": (b1 + b2) if h == k else b2})
        compare("the collapsed layer's output", two, _dense(W, b).forward(x), case=case,
                hint="the one layer must give exactly the two layers' output.")
    return "One Dense layer reproduces the two stacked linear layers exactly: depth without a non-linearity adds nothing."
