"""Solutions to the exercises of ``06-cnn/cnn.ipynb``."""

import numpy as np


def conv_output_size(size, kernel, stride, padding):
    """⌊(H + 2P - K)/S⌋ + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_forward(x, W, b, stride, padding):
    """x: (N, C, H, W), W: (F, C, K, K), b: (F,) -> (N, F, H_out, W_out), with explicit loops over the
    output positions (the library's fast version uses im2col)."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    ho = (h + 2 * padding - k) // stride + 1
    wo = (w + 2 * padding - k) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]   # (N, C, K, K)
            out[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv2d_backward(dout, x, W, stride, padding):
    """Gradients of ``conv2d_forward``: returns (dx, dW, db)."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    ho, wo = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * stride, i * stride + k)
            cols = slice(j * stride, j * stride + k)
            g = dout[:, :, i, j]                                              # (N, F)
            dW += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))      # (F, C, K, K)
            dxp[:, :, rows, cols] += np.tensordot(g, W, axes=([1], [0]))      # (N, C, K, K)
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, padding:padding + h, padding:padding + w], dW, db


def max_pool2d_backward(dout, x, kernel):
    """Each K×K window's gradient goes to the input that held its max (stride = kernel)."""
    n, c, h, w = x.shape
    k = kernel
    ho, wo = h // k, w // k
    windows = x[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)
    is_max = windows == windows.max(axis=(3, 5), keepdims=True)              # (N, C, Ho, K, Wo, K)
    dx = np.zeros_like(x)
    dx[:, :, :ho * k, :wo * k] = (is_max * dout[:, :, :, None, :, None]).reshape(n, c, ho * k, wo * k)
    return dx
