"""Solutions to the exercises of ``08-rnn/rnn.ipynb``."""

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def rnn_step(x, h_prev, Wx, Wh, b):
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b)."""
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def clip_by_global_norm(grads, max_norm):
    """Every gradient times min(1, max_norm / ‖all gradients‖)."""
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    scale = min(1.0, max_norm / norm)
    return [g * scale for g in grads]


def lstm_step(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step, gate blocks in the order i, f, o, g: returns (h, c)."""
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def layer_norm(x, gamma, beta, eps):
    """Each position normalised over its own features (the last axis)."""
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta
