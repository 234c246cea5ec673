"""Solutions to the exercises of ``07-normalization-residual/normalization_residual.ipynb``."""

import numpy as np


def batchnorm_forward(x, gamma, beta, eps):
    """Training mode: each feature normalised with its batch mean and (biased) variance."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def batchnorm_backward(dout, x, gamma, eps):
    """(dx, dgamma, dbeta) of ``batchnorm_forward``: μ and σ depend on every x, so dx has three terms."""
    n = len(x)
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * inv_std
    g = dout * gamma                                          # ∂L/∂x̂
    dx = inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def residual_backward(dout, x, W1, b1, W2, b2):
    """Gradients of out = x + relu(x W1 + b1) W2 + b2: (dx, dW1, db1, dW2, db2)."""
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    dW2, db2 = h.T @ dout, dout.sum(axis=0)
    da = (dout @ W2.T) * (a > 0)
    dW1, db1 = x.T @ da, da.sum(axis=0)
    dx = da @ W1.T + dout                 # the body's path plus the shortcut's: they add
    return dx, dW1, db1, dW2, db2
