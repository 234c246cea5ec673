"""Chapter 06: what max pooling keeps, what it forgives, and how ``common`` computes it fast.

- ``max_pool_zoom``: a real patch of a feature map, its 2×2 max-pooled result and each window's winner
  (the playground's "Max-pool zoom").
- ``translation_tolerance``: how much a trained CNN's first feature maps change when the digits move by
  a pixel, before and after the first pooling (position by position, not re-aligned).
- ``pooling_comparison``: max, average and global average pooling of the same trained feature maps:
  the shape each leaves, the parameters of a dense classifier head reading it, and how much each
  pooled output changes when the digits move by 1 or 2 pixels (the page's "Types of pooling").
- ``pooling_speed``: the design choice in ``common.conv.max_pool2d_forward`` measured: the maximum of
  K² strided slices against reshaping to (…, H/K, K, W/K, K) and reducing over the two window axes.

>>> import numpy as np
>>> fmap = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [3, 8, 4, 7], [1, 2, 6, 3]], dtype=float)
>>> max_pool_zoom(fmap, 0, 0)[1]                 # the post's example
array([[6., 4.],
       [8., 7.]])
"""

from __future__ import annotations

import time

import numpy as np

from common import Sequential
from common._validation import check_array, check_positive_int
from common.conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D, max_pool2d_forward
from digit_images import shift_image


def max_pool_zoom(feature_map: np.ndarray, top: int, left: int, size: int = 4):
    """A real ``size×size`` patch of one feature map and its 2×2 max-pooled result (``max_pool2d_forward``),
    with the position of each window's winner inside the patch.

    Shapes: feature_map: (H, W) → patch (size, size), pooled (size/2, size/2), winners (size/2, size/2, 2).
    ``top``/``left`` are rounded down to even numbers so the patch lines up with the 2×2 pooling grid.
    """
    fmap = check_array("feature_map", feature_map, ndim=2)
    check_positive_int("size", size)
    if size % 2:
        raise ValueError(f"size must be even to tile with 2×2 windows, got {size}")
    top, left = 2 * (int(top) // 2), 2 * (int(left) // 2)
    if not (0 <= top <= fmap.shape[0] - size and 0 <= left <= fmap.shape[1] - size):
        raise ValueError(f"top, left must keep the {size}×{size} patch inside the {fmap.shape} map, got ({top}, {left})")
    patch = fmap[top:top + size, left:left + size]
    pooled = max_pool2d_forward(patch[None, None], 2)[0, 0]
    half = size // 2
    # (half, half, 2, 2) windows; the first maximum in each wins (as in the layer's backward pass).
    windows = patch.reshape(half, 2, half, 2).transpose(0, 2, 1, 3).reshape(half, half, 4)
    a, b = np.divmod(windows.argmax(axis=2), 2)
    rows, cols = np.indices((half, half))
    winners = np.stack([2 * rows + a, 2 * cols + b], axis=-1)
    return patch, pooled, winners


def busiest_patch(feature_map: np.ndarray, size: int = 4) -> tuple[int, int]:
    """(top, left) on the 2×2 grid of the ``size×size`` patch with the largest total activation: a
    patch where pooling has something to choose between (the first one on a tie)."""
    fmap = check_array("feature_map", feature_map, ndim=2)
    s = np.pad(fmap, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)      # summed-area table
    sums = s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]
    grid = sums[::2, ::2]                                                  # patches starting on even rows/cols
    top, left = np.unravel_index(np.argmax(grid), grid.shape)
    return 2 * int(top), 2 * int(left)


def translation_tolerance(model: Sequential, images: np.ndarray, dy: int = 0, dx: int = 1) -> dict[str, float]:
    """How much the first conv+ReLU feature maps change when the digits move by (dy, dx), before and
    after the first max-pool, compared position by position (not re-aligned).

    Returns the relative change ``‖f(shifted) - f(original)‖ / ‖f(original)‖`` averaged over the images,
    for the conv output (``"before pooling"``) and the pooled output (``"after pooling"``). Requires a
    model that starts Conv2D → ReLU → MaxPool2D.
    """
    images = check_array("images", images, ndim=4)
    if not (isinstance(model[0], Conv2D) and isinstance(model[2], (MaxPool2D, AvgPool2D))):
        raise ValueError("model must start with Conv2D, an activation and a pooling layer")
    shifted = shift_image(images, dy, dx)

    def maps(x):
        a = model[1].forward(model[0].forward(x.astype(model.params["0.W"].dtype)))
        return a, model[2].forward(a)

    a0, p0 = maps(images)
    a1, p1 = maps(shifted)

    def rel(u, v):
        num = np.sqrt(((u - v) ** 2).sum(axis=(1, 2, 3)))
        den = np.sqrt((u ** 2).sum(axis=(1, 2, 3)))
        return float(np.mean(num / np.maximum(den, 1e-12)))

    return {"before pooling": rel(a0, a1), "after pooling": rel(p0, p1)}


#: The poolings compared, each a ``common.conv`` layer (``None``: the feature maps themselves).
POOLINGS = {"none": None, "max 2×2": MaxPool2D(2), "average 2×2": AvgPool2D(2), "global average": GlobalAvgPool2D()}
#: The four directions of a shift by ``k`` pixels: right, left, down, up (dy, dx per pixel).
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))
#: Which feature maps of the small CNN: after conv1 + ReLU (8×28×28) or after conv2 + ReLU (16×14×14, what
#: the CNN's classifier head pools and reads).
MAP_LAYERS = ("conv1", "conv2")


def trained_maps(model: Sequential, images: np.ndarray, layer: str = "conv2") -> np.ndarray:
    """The small CNN's feature maps after ``layer`` + ReLU, before the pooling that follows it.
    Shapes: images (N, 1, 28, 28) → (N, F₁, 28, 28) for conv1, (N, F₂, 14, 14) for conv2."""
    images = check_array("images", images, ndim=4)
    if layer not in MAP_LAYERS:
        raise ValueError(f"layer must be one of {MAP_LAYERS}, got {layer!r}")
    if not (len(model.layers) >= 5 and isinstance(model[0], Conv2D) and isinstance(model[3], Conv2D)):
        raise ValueError("model must be the small CNN: Conv2D, ReLU, pooling, Conv2D, ReLU, …")
    h = images.astype(model.params["0.W"].dtype)
    for i in range(2 if layer == "conv1" else 5):
        h = model[i].forward(h)
    return h


def pool(kind: str, maps: np.ndarray) -> np.ndarray:
    """``maps`` (N, C, H, W) pooled by ``POOLINGS[kind]``: (N, C, H/2, W/2) for 2×2, (N, C) for global."""
    if kind not in POOLINGS:
        raise ValueError(f"kind must be one of {list(POOLINGS)}, got {kind!r}")
    layer = POOLINGS[kind]
    return maps if layer is None else layer.forward(maps)


def relative_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per image, ‖b − a‖ / ‖a‖ over everything but the batch axis (position by position, not re-aligned)."""
    axes = tuple(range(1, a.ndim))
    return np.sqrt(((b - a) ** 2).sum(axis=axes)) / np.maximum(np.sqrt((a ** 2).sum(axis=axes)), 1e-12)


def pooling_comparison(model: Sequential, images: np.ndarray, layer: str = "conv2", shifts=(1, 2),
                       classes: int = 10) -> list[dict]:
    """Max, average and global average pooling (and no pooling) of the same trained feature maps.

    For each: the pooled shape of one digit, its number of values, the parameters of a dense head
    ``Dense(values, classes)`` reading it (the small CNN's head reads the max-pooled conv2 maps), and for
    each shift k in ``shifts`` the relative change of the pooled output when the digits move k pixels,
    ``‖p(shifted) − p(original)‖ / ‖p(original)‖``, averaged over the images and the four directions
    (``DIRECTIONS``). A pooling that forgives shifts changes less.
    """
    base = trained_maps(model, images, layer)
    moved = {(k, d): trained_maps(model, shift_image(images, k * d[0], k * d[1]), layer)
             for k in shifts for d in DIRECTIONS}
    rows = []
    for kind in POOLINGS:
        p0 = pool(kind, base)
        values = int(np.prod(p0.shape[1:]))
        row = {"pooling": kind, "output shape": "×".join(map(str, p0.shape[1:])), "values": values,
               "head parameters": values * classes + classes}
        for k in shifts:
            row[f"change, {k}-px shift"] = float(np.mean([relative_change(p0, pool(kind, moved[k, d])).mean()
                                                          for d in DIRECTIONS]))
        rows.append(row)
    return rows


def change_text(fraction: float) -> str:
    """A relative change as the page and the docs print it: one decimal, two below 1% (global average
    pooling's changes are that small)."""
    from common.plots import fmt_pct
    return fmt_pct(fraction, 1 if fraction >= 0.01 else 2)


def pooling_speed(shape=(64, 8, 28, 28), repeats: int = 20, seed: int = 12) -> dict[str, float]:
    """2×2 max-pooling of a float32 batch ``shape`` (default: the benchmark CNN's conv1 output) two ways,
    the best of ``repeats`` runs each, in milliseconds: ``"slices"`` (``max_pool2d_forward``, the
    maximum of the four strided slices) and ``"reshape"`` (reshape, then ``max`` over the two window
    axes), and their ratio. Both give the same values. Wall-clock times: they move with the machine's load."""
    check_positive_int("repeats", repeats)
    n, c, h, w = shape
    x = np.random.default_rng(seed).random(shape, dtype=np.float32)

    def best(f):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return 1e3 * min(times)

    reshape = best(lambda: x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)))
    slices = best(lambda: max_pool2d_forward(x, 2))
    return {"slices": slices, "reshape": reshape, "ratio": reshape / slices}
