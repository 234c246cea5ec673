"""Chapter 06: hand-designed filters (Sobel, blur, sharpen) and the convolution written out as a sum.

``apply_filters`` convolves an image with a bank of hand-set filters through the same
``common.conv.conv2d_forward`` the layers use; ``conv_step`` writes one output value out as the sum of
window × filter products, per channel, which is what the playground's "Convolution step by step" tab
shows. A CNN learns its own filters; these are the ones people designed by hand before.

>>> import numpy as np
>>> edge = np.zeros((4, 4)); edge[:, 2:] = 1.0             # dark left, bright right
>>> apply_filters(edge, FILTERS["Sobel x (vertical edges)"])[0]
array([[4., 4.],
       [4., 4.]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common._validation import check_array, check_positive_int
from common.conv import conv2d_forward, conv_output_size

FILTERS: dict[str, np.ndarray] = {
    "Sobel x (vertical edges)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "Sobel y (horizontal edges)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "box blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
}

#: The illustrative RGB filter of the playground: a 2-D filter weighted 1 on red, 0.5 on green and −1 on
#: blue, so that the three channel slices differ (a trained CNN learns its own slices).
RGB_WEIGHTS = (1.0, 0.5, -1.0)


def rgb_kernel(kernel: np.ndarray, weights=RGB_WEIGHTS) -> np.ndarray:
    """A (K, K) filter made into a (3, K, K) one, channel c weighted by ``weights[c]``."""
    kernel = check_array("kernel", kernel, ndim=2)
    return np.asarray(weights, dtype=np.float64)[:, None, None] * kernel


def apply_filters(image: np.ndarray, kernels: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolve one image with a bank of hand-set filters: the same ``conv2d_forward`` the layers use.

    Shapes: image: (H, W) grey or (C, H, W); kernels: (K, K), (F, K, K) for grey, or (F, C, K, K) →
    (F, H_out, W_out).
    """
    image = check_array("image", image, ndim=(2, 3))
    x = image[None, None] if image.ndim == 2 else image[None]
    k = check_array("kernels", kernels, ndim=(2, 3, 4))
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        k = k[:, None] if x.shape[1] == 1 else k[None]
    if k.shape[1] != x.shape[1]:
        raise ValueError(f"kernels must have {x.shape[1]} channel(s) to match image, got shape {kernels.shape}")
    out, _ = conv2d_forward(x.astype(np.float64), k.astype(np.float64), None, stride, padding)
    return out[0]


@dataclass
class ConvStep:
    """One position of the sliding window: what is multiplied and what it sums to."""

    row: int                 # output position
    col: int
    window: np.ndarray       # (C, K, K) the input patch under the filter (padded input)
    products: np.ndarray     # (C, K, K) window ⊙ kernel
    channel_sums: np.ndarray  # (C,)
    value: float             # Σ over channels = the output value


def conv_step(image: np.ndarray, kernel: np.ndarray, row: int, col: int, stride: int = 1,
              padding: int = 0) -> ConvStep:
    """The convolution at one output position, written out: ``Σ_c Σ_ki Σ_kj x[c, S·i+ki, S·j+kj]·w[c, ki, kj]``.

    Shapes: image: (H, W) or (C, H, W); kernel: (K, K) or (C, K, K).
    """
    image = check_array("image", image, ndim=(2, 3)).astype(np.float64)
    kernel = check_array("kernel", kernel, ndim=(2, 3)).astype(np.float64)
    x = image[None] if image.ndim == 2 else image
    w = kernel[None] if kernel.ndim == 2 else kernel
    if w.shape[0] != x.shape[0]:
        raise ValueError(f"kernel must have {x.shape[0]} channel(s) like image, got shape {kernel.shape}")
    k = w.shape[-1]
    ho = conv_output_size(x.shape[1], k, stride, padding)
    wo = conv_output_size(x.shape[2], k, stride, padding)
    if not (0 <= row < ho and 0 <= col < wo):
        raise ValueError(f"row, col must be inside the {ho}×{wo} output, got ({row}, {col})")
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    window = xp[:, row * stride:row * stride + k, col * stride:col * stride + k]
    products = window * w
    sums = products.sum(axis=(1, 2))
    return ConvStep(row, col, window, products, sums, float(sums.sum()))


def rgb_example(size: int = 8) -> np.ndarray:
    """A small synthetic RGB image (3, size, size): a red vertical bar, a green horizontal bar and a blue
    square, so each channel holds a different pattern (an illustrative input, not data)."""
    check_positive_int("size", size)
    img = np.zeros((3, size, size), dtype=np.float64)
    img[0, :, size // 4:size // 4 + max(1, size // 8) + 1] = 1.0
    img[1, size // 2:size // 2 + max(1, size // 8) + 1, :] = 1.0
    img[2, size - size // 3:, size - size // 3:] = 1.0
    return img
