"""Solutions to the exercises of ``02-multi-layer-perceptron/mlp.ipynb``."""

import numpy as np


def dense_forward(x, W, b):
    """x: (N, D), W: (D, H), b: (H,) -> (N, H)."""
    return x @ W + b


def collapse_linear(W1, b1, W2, b2):
    """The one layer (W, b) equal to x -> (x W1 + b1) W2 + b2."""
    return W1 @ W2, b1 @ W2 + b2        # x W1 W2 + (b1 W2 + b2): still one straight line


def xor_weights():
    """A 2-2-1 sigmoid network: hidden unit 1 ≈ OR, hidden unit 2 ≈ AND, output ≈ OR and not AND."""
    s = 10.0                            # the scale: larger makes every sigmoid closer to a step
    return {"W1": s * np.array([[1.0, 1.0], [1.0, 1.0]]),
            "b1": s * np.array([-0.5, -1.5]),
            "W2": s * np.array([[1.0], [-1.0]]),
            "b2": s * np.array([-0.5])}
