"""Chapter 06: moving digits and turning a drawing into an MNIST-like digit.

``shift_image`` moves an image by whole pixels (the translation-tolerance measurement shifts test digits
with it); ``preprocess_drawing`` makes a canvas drawing look like an MNIST digit (cropped, scaled to
20 px, centred by its centre of mass in 28×28, as MNIST itself was made), so the playground's layer
explorer can run the trained CNN on what you draw.

>>> import numpy as np
>>> shift_image(np.eye(3), 0, 1)
array([[0., 1., 0.],
       [0., 0., 1.],
       [0., 0., 0.]])
"""

from __future__ import annotations

import numpy as np

from common._validation import check_array


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move an image (…, H, W) by (dy, dx) pixels, filling with zeros (MNIST's background)."""
    image = check_array("image", image)
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_r, dst_c] = image[..., src_r, src_c]
    return out


def preprocess_drawing(rgba: np.ndarray | None) -> np.ndarray | None:
    """A drawing from the canvas (H, W, 4) uint8, white strokes on black, to an MNIST-like (1, 28, 28)
    float32 image: the stroke intensity, cropped to its bounding box, scaled so the longer side is 20 px
    and centred by its centre of mass in a 28×28 frame (how MNIST itself was made). ``None`` if empty."""
    if rgba is None:
        return None
    a = check_array("rgba", rgba, ndim=3)
    grey = a[..., :3].astype(np.float32).mean(axis=2) / 255.0
    if a.shape[2] == 4:
        grey = grey * (a[..., 3].astype(np.float32) / 255.0)
    rows, cols = np.nonzero(grey > 0.1)
    if rows.size == 0:
        return None
    crop = grey[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    # Area-average resize by index mapping (no image library needed): one pass per offset inside a
    # source block, each pass over the whole output at once.
    ri = (np.arange(new_h)[:, None] * crop.shape[0] / new_h).astype(int)
    ci = (np.arange(new_w)[None, :] * crop.shape[1] / new_w).astype(int)
    small = np.zeros((new_h, new_w), np.float32)
    counts = np.zeros((new_h, new_w), np.float32)
    for oy in range(int(np.ceil(crop.shape[0] / new_h))):
        for ox in range(int(np.ceil(crop.shape[1] / new_w))):
            r, c = np.minimum(ri + oy, crop.shape[0] - 1), np.minimum(ci + ox, crop.shape[1] - 1)
            small += crop[r, c]
            counts += 1
    small /= counts
    out = np.zeros((28, 28), np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    out[top:top + new_h, left:left + new_w] = small
    total = out.sum()
    yy, xx = np.indices(out.shape)
    cy, cx = (yy * out).sum() / total, (xx * out).sum() / total
    out = shift_image(out, int(round(13.5 - cy)), int(round(13.5 - cx)))
    return np.clip(out / max(out.max(), 1e-6), 0, 1)[None]
