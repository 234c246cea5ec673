"""Solutions to the exercises of ``03-backpropagation/backprop.ipynb``."""

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def bce_loss_and_grad(logits, y):
    """Mean binary cross-entropy of σ(logits) against 0/1 targets y, and ∂loss/∂logits."""
    p = _sigmoid(logits)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / len(y)


def sigmoid_backward(z, dout):
    """∂L/∂z from ∂L/∂σ(z)."""
    s = _sigmoid(z)
    return dout * s * (1 - s)


def dense_backward(x, W, dout):
    """Gradients of out = x W + b: returns (dx, dW, db)."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def two_layer_backward(X, y, params):
    """Gradients of the mean BCE of z = tanh(X W1 + b1) W2 + b2 with respect to W1, b1, W2, b2."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h = np.tanh(X @ W1 + b1)                      # forward
    z = h @ W2 + b2                               # (N, 1)
    dz = (_sigmoid(z) - y.reshape(-1, 1)) / len(X)   # backward, one step at a time
    dW2, db2 = h.T @ dz, dz.sum(axis=0)
    dh = dz @ W2.T
    da = dh * (1 - h ** 2)
    dW1, db1 = X.T @ da, da.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
