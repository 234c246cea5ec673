"""Chapter 01 (the perceptron): the forward pass, the learning rule, logic gates by hand.

The perceptron rule is chapter 01's own idea (``01-perceptron/perceptron.py``), and ``common`` never
imports a chapter, so the expected values here come from ``common.Dense`` (the weighted sum) and the
rule written out as its definition, ``w ← w + η(y - ŷ)x``.
"""

from __future__ import annotations

import numpy as np

from ..datasets import logic_gate
from ..layers import Dense
from ._core import as_array, call, checker, compare, fail, seed_for, unpack


def _weighted_sum(X, w, b) -> np.ndarray:
    """``z = X w + b`` through the library's Dense layer."""
    layer = Dense(len(w), 1, init="zeros", dtype=np.float64)
    layer.params["W"][:, 0] = w
    layer.params["b"][0] = b
    return layer.forward(np.asarray(X, dtype=np.float64))[:, 0]


@checker("perceptron_predict", "perceptron_predict")
def check_perceptron_predict(fn):
    """``perceptron_predict(X, w, b) -> (N,)`` labels ``1[X w + b > 0]``."""
    rng = np.random.default_rng(seed_for("perceptron_predict"))
    X = rng.standard_normal((20, 3))
    w, b = rng.standard_normal(3), 0.8
    # Integer points where z = 0 exactly: on the line, which is class 0 (ŷ = 1 only when z > 0).
    Xg, _ = logic_gate("AND")
    cases = [(X, w, b, "20 random points"), (Xg, np.array([1.0, 1.0]), -1.0, "the AND inputs, w = [1, 1], b = -1")]
    for X_, w_, b_, case in cases:
        z = _weighted_sum(X_, w_, b_)
        got = as_array("ŷ", call(fn, X_, w_, b_)).reshape(-1)
        if got.size == len(X_) and not np.all(np.isin(got, (0, 1))):
            fail(f"should return labels 0 or 1, got values like {got[~np.isin(got, (0, 1))][0]:.4g} ({case}).",
                 "apply the step to the weighted sum z = X·w + b.")
        compare("ŷ", (z > 0).astype(float), got, case=case,
                hint="ŷ = 1 when X·w + b > 0, else 0.",
                mistakes={"count z = 0 (a point on the line) as class 1: the step is 1 only when z > 0":
                          (z >= 0).astype(float),
                          "leave out the bias b": (_weighted_sum(X_, w_, 0.0) > 0).astype(float)})
    return "It agrees with the step of Dense's weighted sum, points on the line included."


@checker("perceptron_update", "perceptron_update")
def check_perceptron_update(fn):
    """``perceptron_update(w, b, x, y, lr) -> (w, b)`` after seeing one sample."""
    rng = np.random.default_rng(seed_for("perceptron_update"))
    cases = []
    for _ in range(6):
        w, x = rng.standard_normal(3), rng.standard_normal(3)
        b = float(rng.standard_normal())
        pred = int(_weighted_sum(x[None], w, b)[0] > 0)
        cases.append((w, b, x, 1 - pred, 0.5))     # a mistake: the label is the other class
        cases.append((w, b, x, pred, 0.5))         # a correct prediction: nothing moves
    for w, b, x, y, lr in cases:
        y_hat = int(_weighted_sum(x[None], w, b)[0] > 0)
        delta = lr * (y - y_hat)
        case = (f"x = {np.round(x, 3).tolist()}, label {y}, predicted {y_hat}"
                + (" (a mistake)" if y != y_hat else " (correct: nothing should change)"))
        w_new, b_new = unpack(call(fn, w, b, x, y, lr), ("w", "b"))
        compare("w", w + delta * x, w_new, case=case,
                hint="on a mistake w moves by η·(y - ŷ)·x; when the prediction is right it stays.",
                mistakes={"move the weights the wrong way (ŷ - y instead of y - ŷ)": w - delta * x,
                          "update even when the prediction is right (η·y·x every time)": w + lr * y * x,
                          "forget the learning rate": w + (y - y_hat) * x})
        compare("b", b + delta, b_new, case=case,
                hint="the bias moves like a weight whose input is always 1: by η·(y - ŷ).",
                mistakes={"forget to update the bias": b,
                          "move the bias the wrong way (ŷ - y instead of y - ŷ)": b - delta})
    return "Mistakes move the line by η(y - ŷ)x, correct predictions leave it alone."


GATES = ("AND", "OR", "NAND")


@checker("gate_weights", "gate_weights")
def check_gate_weights(fn):
    """``gate_weights(gate) -> (w, b)`` that make a perceptron compute AND, OR and NAND."""
    for gate in GATES:
        X, y = logic_gate(gate)
        w, b = unpack(call(fn, gate), ("w", "b"))
        w = as_array(f"the {gate} weights", w).reshape(-1)
        if w.shape != (2,):
            fail(f"the {gate} weights should be 2 numbers (one per input), got shape {w.shape}.")
        b = float(as_array(f"the {gate} bias", b).reshape(-1)[0])
        z = _weighted_sum(X, w, b)
        pred = (z > 0).astype(int)
        for xi, zi, p, t in zip(X, z, pred, y):
            if p != t:
                fail(f"with your {gate} weights w = {np.round(w, 3).tolist()}, b = {b:.3g}: input "
                     f"{xi.astype(int).tolist()} gives z = {zi:.3g} → class {p}, but {gate} is {t} there.",
                     "draw the four inputs and a line with the 1s on its positive side; z = 0 is class 0."
                     if gate != "NAND" else "NAND is NOT AND: flip the signs of an AND solution.")
    return f"Your weights compute {', '.join(GATES)} (the post's AND: w = [0.5, 0.5], b = -0.7)."
