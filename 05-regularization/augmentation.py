"""Chapter 05: data augmentation as a layer: small random rotations and shifts of each training image.

``RandomShiftRotate`` maps each image, in training only, through its own random affine transform: a
rotation by an angle in ±``max_rotation`` degrees about the image centre, then a shift by up to
±``max_shift`` pixels each way, read back by bilinear interpolation (zero outside the image). It is the
identity in evaluation. ``affine_transform`` is the vectorised resampling (every image of a batch at
once) and ``affine_transform_naive`` the pixel loop it is tested against.

**The frame.** Pixel (row, col) of a 28×28 image sits at x = col (to the right) and y = row (downwards);
the centre is c = (13.5, 13.5). Output pixel q reads the source point

    src = R(a)·(q − c − shift) + c,    R(a) = [[cos a, −sin a], [sin a, cos a]],

so the image moves by q = R(−a)·(src − c) + c + shift. Because y points down, R(−a) turns the digit
*counter-clockwise as displayed* by a (90° is ``np.rot90``), and a shift (dx, dy) moves it right and down.

Shapes: images (N, 784) or (N, 28, 28); angles (N,); shifts (N, 2) as (dx, dy) in pixels.

>>> img = np.zeros((1, 28, 28)); img[0, 10, 10] = 1.0
>>> out = affine_transform(img, 0.0, (1, 0))                  # one pixel to the right
>>> float(out[0, 10, 11])
1.0
"""

from __future__ import annotations

import functools
import math

import numpy as np

from common._validation import check_array, check_generator, check_in_range, check_positive
from common.layers import Layer

SIDE = 28


@functools.lru_cache(maxsize=4)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.meshgrid(np.arange(side, dtype=np.float64), np.arange(side, dtype=np.float64), indexing="ij")
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


#: Zero border around each image while resampling: a source point's four neighbours always fall inside
#: the padded image, so no per-pixel "inside" mask is needed (a point off the image reads zeros).
PAD = 2
#: Flat offsets of the four bilinear neighbours from the top-left one, in a padded (S+2·PAD)² image.
def _corner_offsets(side: int) -> np.ndarray:
    p = side + 2 * PAD
    return np.array([0, 1, p, p + 1], dtype=np.intp)


def _sampling_plan(n: int, angles_deg: np.ndarray, shifts: np.ndarray, side: int = SIDE):
    """For the affine map "rotate by angle about the centre, then shift by (dx, dy) pixels": the flat index
    (N, S·S) of each output pixel's top-left source neighbour in the image zero-padded by ``PAD`` pixels,
    and the bilinear weights (N, 4, S·S) of its four neighbours (top-left, top-right, bottom-left,
    bottom-right)."""
    c = (side - 1) / 2.0
    rows, cols = _grid(side)
    theta = np.deg2rad(angles_deg)[:, None, None]                       # (N, 1, 1)
    # Output pixel (row, col) takes its value from the source point that the forward map sends there:
    # undo the shift, then rotate back. Angles are counter-clockwise as displayed (row axis points down).
    u = cols[None] - c - shifts[:, 0, None, None]                        # (N, S, S) x offset
    v = rows[None] - c - shifts[:, 1, None, None]                        # (N, S, S) y offset (down)
    cos, sin = np.cos(theta), np.sin(theta)
    src_x = cos * u - sin * v + c
    src_y = sin * u + cos * v + c
    x0, y0 = np.floor(src_x), np.floor(src_y)
    wx, wy = (src_x - x0).reshape(n, -1), (src_y - y0).reshape(n, -1)
    # a point further off the image than the border still reads zeros: both its neighbours are border
    xi = np.clip(x0, -PAD, side).reshape(n, -1) + PAD
    yi = np.clip(y0, -PAD, side).reshape(n, -1) + PAD
    base = (yi * (side + 2 * PAD) + xi).astype(np.intp)
    ux, uy = 1 - wx, 1 - wy
    return base, np.stack([ux * uy, wx * uy, ux * wy, wx * wy], axis=1)


def _padded(flat: np.ndarray, side: int = SIDE) -> np.ndarray:
    """(N, S·S) images → (N·(S+2·PAD)²,) the same images with a zero border, flattened."""
    n = len(flat)
    out = np.zeros((n, side + 2 * PAD, side + 2 * PAD), dtype=flat.dtype)
    out[:, PAD:PAD + side, PAD:PAD + side] = flat.reshape(n, side, side)
    return out.reshape(-1)


def _resample(flat: np.ndarray, base: np.ndarray, w: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Σₖ w[:, k] · x[neighbour k] for every output pixel: (N, S·S) in ``flat``'s dtype (``w`` cast to it)."""
    n = len(flat)
    src = _padded(flat, side)
    at = base + (np.arange(n, dtype=np.intp) * (side + 2 * PAD) ** 2)[:, None]   # (N, S·S) into src
    w = w.astype(flat.dtype, copy=False)
    out = src[at] * w[:, 0]
    for k, off in enumerate(_corner_offsets(side)[1:], start=1):           # in order: the same sums as a reduce
        out += src[at + off] * w[:, k]
    return out


def affine_transform(images: np.ndarray, angles_deg, shifts) -> np.ndarray:
    """Rotate each image by its angle (degrees, counter-clockwise) about the centre, then shift it by
    (dx, dy) pixels (right, down), with bilinear interpolation and zeros outside.

    Shapes: images: (N, 784) or (N, 28, 28); angles_deg: (N,); shifts: (N, 2); out: like images.
    """
    images = check_array("images", images)
    shape = images.shape
    flat = images.reshape(len(images), -1)
    if flat.shape[1] != SIDE * SIDE:
        raise ValueError(f"images must be (N, 784) or (N, 28, 28), got shape {shape}")
    n = len(flat)
    angles = np.broadcast_to(np.asarray(angles_deg, dtype=np.float64), (n,))
    shifts = np.broadcast_to(np.asarray(shifts, dtype=np.float64), (n, 2))
    base, w = _sampling_plan(n, angles, shifts)
    out = _resample(flat.astype(np.float64), base, w)      # float64 resampling, then back to the input's dtype
    return out.astype(images.dtype, copy=False).reshape(shape)


def affine_transform_naive(image: np.ndarray, angle_deg: float, shift) -> np.ndarray:
    """One image, one output pixel at a time: the reference ``affine_transform`` is tested against.

    Shapes: image: (28, 28); out: (28, 28). For output pixel (row, col): undo the shift, rotate back by the
    angle about the centre c, and read the source point by bilinear interpolation (zero outside).
    """
    image = check_array("image", image, ndim=2)
    side = image.shape[0]
    c = (side - 1) / 2.0
    th = math.radians(angle_deg)
    out = np.zeros_like(image, dtype=np.float64)
    for row in range(side):
        for col in range(side):
            u, v = col - c - shift[0], row - c - shift[1]
            sx = math.cos(th) * u - math.sin(th) * v + c
            sy = math.sin(th) * u + math.cos(th) * v + c
            x0, y0 = math.floor(sx), math.floor(sy)
            value = 0.0
            for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                if 0 <= xx < side and 0 <= yy < side:
                    value += (1 - abs(sx - xx)) * (1 - abs(sy - yy)) * image[yy, xx]
            out[row, col] = value
    return out


class RandomShiftRotate(Layer):
    """Data augmentation as a layer: in training, each image is rotated by a random angle in
    ±``max_rotation`` degrees and shifted by up to ±``max_shift`` pixels each way (a fresh draw for every
    image of every batch); in evaluation it is the identity.

    Shapes: x: (N, 784); out: (N, 784).

    Notes
    -----
    The resampling is linear in the pixels: ``out[n, j] = Σₖ w[n, k, j] x[n, idx[n, k, j]]`` over the 4
    bilinear neighbours, so ``dx[n, i] = Σ_{k, j: idx = i} w[n, k, j] dout[n, j]`` (a scatter-add). As the
    first layer of a network no gradient is needed, and ``backward_params`` does nothing.
    """

    def __init__(self, rng: np.random.Generator, max_shift: float = 2.0, max_rotation: float = 15.0) -> None:
        super().__init__()
        check_generator("rng", rng)
        check_positive("max_shift", max_shift, allow_zero=True)
        check_in_range("max_rotation", max_rotation, 0.0, 180.0, include_high=True)
        self.rng, self.max_shift, self.max_rotation = rng, float(max_shift), float(max_rotation)
        self._plan = None

    def forward(self, x, training=False):
        x = check_array("x", x, ndim=2)
        if x.shape[1] != SIDE * SIDE:
            raise ValueError(f"x must have shape (N, 784), got {x.shape}")
        if not training or (self.max_shift == 0 and self.max_rotation == 0):
            self._plan = None
            return x
        n = len(x)
        angles = self.rng.uniform(-self.max_rotation, self.max_rotation, n)
        shifts = self.rng.uniform(-self.max_shift, self.max_shift, (n, 2))
        base, w = _sampling_plan(n, angles, shifts)
        self._plan = (base, w.astype(x.dtype))
        return _resample(x, base, self._plan[1])

    def backward(self, dout):
        if self._plan is None:
            return dout
        base, w = self._plan
        n, hw = dout.shape
        p2 = (SIDE + 2 * PAD) ** 2
        # (N, 4, S·S) flat indices into the padded batch, in the order of the weights: a scatter-add
        at = base[:, None, :] + _corner_offsets(SIDE)[None, :, None] + (np.arange(n, dtype=np.intp) * p2)[:, None, None]
        dpad = np.bincount(at.ravel(), weights=(w * dout[:, None, :]).ravel(), minlength=n * p2)
        dx = dpad.reshape(n, SIDE + 2 * PAD, SIDE + 2 * PAD)[:, PAD:PAD + SIDE, PAD:PAD + SIDE]
        return dx.reshape(n, hw).astype(dout.dtype, copy=False)

    def backward_params(self, dout):
        pass  # no parameters, and nothing upstream of the data needs a gradient

    def __repr__(self):
        return f"RandomShiftRotate(shift=±{self.max_shift:g}px, rotation=±{self.max_rotation:g}°)"


__all__ = ["SIDE", "affine_transform", "affine_transform_naive", "RandomShiftRotate"]
