"""Solutions to the exercises of ``01-perceptron/perceptron.ipynb``."""

import numpy as np


def perceptron_predict(X, w, b):
    """X: (N, D), w: (D,), b: a number -> (N,) labels in {0, 1}."""
    z = X @ w + b
    return (z > 0).astype(int)          # a point exactly on the line (z = 0) is class 0


def perceptron_update(w, b, x, y, lr):
    """One step of the perceptron rule on the sample (x, y): returns the new (w, b)."""
    y_hat = int(x @ w + b > 0)
    delta = lr * (y - y_hat)            # 0 when the prediction is right: nothing moves
    return w + delta * x, b + delta


def gate_weights(gate):
    """(w, b) that make a perceptron compute the logic gate ``gate`` ("AND", "OR" or "NAND")."""
    return {"AND": (np.array([0.5, 0.5]), -0.7),     # the post's weights: only (1, 1) clears 0.7
            "OR": (np.array([0.5, 0.5]), -0.2),      # any single 1 clears 0.2
            "NAND": (np.array([-0.5, -0.5]), 0.7)}[gate]   # NOT AND: every sign flipped
