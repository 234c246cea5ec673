"""Solutions to the exercises of ``04-optimization/optimization.ipynb``."""

import numpy as np


def minibatch_indices(n, batch_size, rng):
    """One epoch: a random order of 0…n-1 cut into batches of ``batch_size`` (the last may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def momentum_step(p, g, v, lr, mu):
    """v ← μv + g, p ← p - ηv."""
    v = mu * v + g
    return p - lr * v, v


def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    """One Adam step (t counts from 1): returns the new (p, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)        # both averages start at 0: undo that bias
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
