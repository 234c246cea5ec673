"""Convolution and pooling layers: ``Conv2D``, ``MaxPool2D``, ``AvgPool2D``, ``GlobalAvgPool2D``.

Introduced in chapter 06 (convolutional networks). Images are (N, C, H, W) as in PyTorch: N batch,
C channels, H×W pixels; a filter bank is (F, C, K, K): F filters, each C×K×K. S is the stride and P
the zero padding on every side.

Output size (``conv_output_size``), for convolution and pooling alike::

    H_out = ⌊(H + 2P - K) / S⌋ + 1

The fast layers are vectorised: convolution is **im2col + a matrix product** (every C×K×K window
becomes a column of a matrix, so the whole layer is ``W @ cols``), pooling is the max/mean of the K×K
strided slices of the input (K² whole-array operations instead of one per output pixel). The loops
that remain run over kernel offsets (K² iterations), never over samples, pixels or filters.

The ``*_naive`` functions compute the same thing with explicit loops over every output value: they are
the definition written out, kept for teaching and as the reference the tests compare against.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import init as initializers
from ._validation import (check_float_array, check_float_dtype, check_generator, check_grad,
                          check_positive_int)
from .layers import Layer

__all__ = [
    "conv_output_size", "im2col", "col2im",
    "conv2d_forward", "conv2d_backward", "conv2d_forward_naive", "conv2d_backward_naive",
    "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_forward_naive", "max_pool2d_backward_naive",
    "avg_pool2d_forward", "avg_pool2d_backward", "avg_pool2d_forward_naive", "avg_pool2d_backward_naive",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
]


# ----------------------------------------------------------------------------------- output size

def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, *, exact: bool = False) -> int:
    """Output length of a convolution or pooling along one spatial axis: ``⌊(size + 2P - K)/S⌋ + 1``.

    Raises ``ValueError`` when the kernel does not fit the padded input (``size + 2P < K``), and, with
    ``exact=True``, also when the stride does not land the last window on the padded border
    (``(size + 2P - K) mod S ≠ 0``: the last rows/columns would never be visited).

    >>> conv_output_size(28, 3, padding=1)      # "same" padding keeps the size
    28
    >>> conv_output_size(28, 5)                  # no padding: K - 1 pixels lost
    24
    >>> conv_output_size(227, 11, stride=4)      # AlexNet's first layer
    55
    """
    check_positive_int("size", size)
    check_positive_int("kernel", kernel)
    check_positive_int("stride", stride)
    check_positive_int("padding", padding, allow_zero=True)
    span = size + 2 * padding - kernel
    if span < 0:
        raise ValueError(f"kernel {kernel} does not fit an input of size {size} with padding {padding}: "
                         f"size + 2·padding = {size + 2 * padding} must be >= kernel")
    if exact and span % stride:
        raise ValueError(f"stride {stride} does not fit: (size + 2·padding - kernel) = {span} is not a "
                         f"multiple of the stride, so the last {span % stride} row(s) would never be visited")
    return span // stride + 1


def _pad(x: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    """x with ``padding`` rows/columns of ``value`` on every side of its two spatial axes: a filled
    array and one copy into its middle (``np.pad`` does the same, with ~1 ms of overhead per call at the
    benchmark CNN's sizes)."""
    if padding == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * padding, w + 2 * padding), value, dtype=x.dtype)
    xp[:, :, padding:padding + h, padding:padding + w] = x
    return xp


def _check_images(name: str, x, channels: int | None = None, dtype=None) -> np.ndarray:
    x = check_float_array(name, x, dtype)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels (shape (N, {channels}, H, W)), got shape {x.shape}")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{name} must have at least one pixel (H, W >= 1), got shape {x.shape}")
    return x


# ------------------------------------------------------------------------------- im2col / col2im

def im2col(x: np.ndarray, kernel: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Every K×K window of every channel as one column, per sample.

    Shapes: x: (N, C, H, W) → cols: (N, C·K·K, H_out·W_out); rows ordered (c, ki, kj), columns (i, j),
    so that ``W.reshape(F, -1) @ cols`` is the convolution, already in (N, F, H_out·W_out) order.
    """
    n, c, h, w = x.shape
    ho = conv_output_size(h, kernel, stride, padding)
    wo = conv_output_size(w, kernel, stride, padding)
    xp = _pad(x, padding)
    if stride == 1:
        # K² slice copies, each a (N, C, Ho, Wo) window of rows Wo long, into the (N, C, K, K, Ho, Wo)
        # layout: the same values as the general form's one transposed copy, ~2× faster.
        cols = np.empty((n, c, kernel, kernel, ho, wo), dtype=x.dtype)
        for ki in range(kernel):
            for kj in range(kernel):
                cols[:, :, ki, kj] = xp[:, :, ki:ki + ho, kj:kj + wo]
        return cols.reshape(n, c * kernel * kernel, ho * wo)
    win = sliding_window_view(xp, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, Ho, Wo, K, K) view
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel * kernel, ho * wo)          # the one copy


def col2im(dcols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: int, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """The adjoint of ``im2col``: add every column's values back to the pixels its window covered.

    Shapes: dcols: (N, C·K·K, H_out·W_out) → dx: x_shape = (N, C, H, W). Overlapping windows add up,
    which is exactly the gradient of a pixel used by several windows.
    """
    n, c, h, w = x_shape
    ho = conv_output_size(h, kernel, stride, padding)
    wo = conv_output_size(w, kernel, stride, padding)
    d = dcols.reshape(n, c, kernel, kernel, ho, wo)
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=dcols.dtype)
    for ki in range(kernel):              # K² whole-array additions, one per kernel offset
        for kj in range(kernel):
            dxp[:, :, ki:ki + stride * (ho - 1) + 1:stride, kj:kj + stride * (wo - 1) + 1:stride] += d[:, :, ki, kj]
    if padding:
        return dxp[:, :, padding:-padding, padding:-padding]
    return dxp


# ------------------------------------------------------------------------------------ convolution

#: values of the column gradients that ``conv2d_backward`` builds at once: 1 MB of float32, 16 digits at the
#: benchmark CNN's second layer. Measured inside training (6,400 MNIST digits, batch 64, one BLAS thread, one
#: process, alternating): a whole batch at once (2²² values) 7.68 → 7.37 ms a step for the small CNN and
#: 10.17 → 9.40 ms for LeNet-5 (the input gradient alone 2.22 → 1.66 ms): the smaller temporary stays in
#: the cache between the matrix product and the additions that read it
BACKWARD_CHUNK_VALUES = 1 << 18


def _flat_layout(channels: int, kernel: int, padded_width: int, out_height: int) -> bool:
    """Whether ``_input_grad_stride1`` takes its flat layout: several channels, and the padding it adds to
    each channel's rows (``(K-1)·Wp + K-1`` values) at most a quarter of their ``Ho·Wp``."""
    reach = (kernel - 1) * padded_width + kernel - 1
    return channels > 1 and 4 * reach <= out_height * padded_width


def _input_grad_stride1(dout: np.ndarray, W: np.ndarray, x_shape, padding: int, *,
                        flat: bool | None = None) -> np.ndarray:
    """``col2im(Wᵀ dO)`` for stride 1, with each kernel offset's addition one contiguous run per channel,
    or (``flat``) one run per sample.

    The column gradients ``Wᵀ dO`` are computed on output rows widened to the padded input's width
    ``Wp`` (the extra columns' gradient is 0). On that grid the output position (i, j) reaches the padded
    pixel (i + ki, j + kj), whose flat index ``(i + ki)·Wp + j + kj`` is the position's own flat index
    ``i·Wp + j`` plus ``ki·Wp + kj``: every offset adds a shifted copy of its (Ho·Wp)-long rows to the
    flattened padded gradient, not Ho rows of Wo values each (the plain ``col2im``). A chunk of samples at
    a time (each sample's numbers are the same either way), so that the column gradients' temporary stays
    bounded (``BACKWARD_CHUNK_VALUES``) for large batches.
    Measured (one BLAS thread, batch 64): the benchmark CNN's second layer 1.34 -> 0.91 ms, LeNet-5's
    3.77 -> 1.24 ms, against the transposed convolution (an im2col of the padded dout) used before.

    ``flat`` goes one step further. It pads every channel's rows to the length of that channel's region of
    the gradient (``Hp·Wp + K``, zeros past ``Ho·Wp``), and orders ``Wᵀ``'s rows by offset, then channel.
    Then one offset's additions for all the channels of a sample are a single contiguous run. NumPy pays
    per row it iterates over, so this means C times fewer rows, for up to (K-1)/Ho more values. The added
    zeros land in the next channel's region, where x + 0 = x, so the result is the same, bit for bit
    (tested). ``None`` picks ``flat`` when there are several channels and the padding adds at most a
    quarter (``_flat_layout``). Measured (one BLAS thread, batch 64, three alternated rounds, on the
    machine of the 2026-12-06 note): the benchmark CNN's second layer 1.39–1.97 -> 0.89–0.91 ms flat;
    LeNet-5's second (K = 5, Ho = 10, 43% more values) 1.90–1.98 ms, against 2.10–2.12 ms flat, so not.
    """
    n, c, h, w = x_shape
    f, _, k, _ = W.shape
    ho, wo = dout.shape[2], dout.shape[3]
    hp, wp = h + 2 * padding, w + 2 * padding
    span = ho * wp                                     # one offset's run: Ho rows of the padded width
    region = hp * wp + k                               # one channel's share of the gradient (+ k: overshoot)
    reach = (k - 1) * wp + k - 1                       # where the last offset's run starts
    if flat is None:
        flat = _flat_layout(c, k, wp, ho)
    if flat:
        wt = W.transpose(2, 3, 1, 0).reshape(k * k * c, f)        # (K·K·C, F): rows by (ki, kj, c)
        row = region                                   # the column gradients padded to the region's length
        cols_shape, acc_shape = (k * k, c * region), (c * region + reach,)   # per sample: one run per offset
    else:
        wt = W.reshape(f, -1).T                        # (C·K·K, F): rows by (c, ki, kj)
        row = span
        cols_shape, acc_shape = (c, k * k, span), (c, region)                # per sample: a run per channel
    dtype = np.result_type(wt, dout)
    step = min(n, max(1, BACKWARD_CHUNK_VALUES // (wt.shape[0] * row)))
    wide = np.zeros((step, f, row), dtype=dtype)       # dout with zero columns up to the padded width
    acc = np.empty((step, *acc_shape), dtype=dtype)
    dx = np.empty((n, c, h, w), dtype=dtype)
    for i in range(0, n, step):
        m = min(step, n - i)
        wide[:m, :, :span].reshape(m, f, ho, wp)[..., :wo] = dout[i:i + m]
        dcols = (wt @ wide[:m]).reshape(m, *cols_shape)
        run = cols_shape[-1]
        a = acc[:m]
        a[...] = 0
        for ki in range(k):
            for kj in range(k):
                start = ki * wp + kj
                a[..., start:start + run] += dcols[..., ki * k + kj, :]
        a = a[..., :c * region].reshape(m, c, region)
        dx[i:i + m] = a[:, :, :hp * wp].reshape(m, c, hp, wp)[:, :, padding:padding + h, padding:padding + w]
    return dx


def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
                   padding: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised convolution (cross-correlation, as every deep-learning library computes it).

    Shapes: x: (N, C, H, W); W: (F, C, K, K); b: (F,) or None → out: (N, F, H_out, W_out), and the
    im2col matrix cols: (N, C·K·K, H_out·W_out) that the backward pass reuses.

    Notes
    -----
    ``out[n, f, i, j] = b[f] + Σ_c Σ_ki Σ_kj x_pad[n, c, S·i + ki, S·j + kj] · W[f, c, ki, kj]``,
    i.e. ``out[n] = W cols[n] + b`` with ``W`` flattened to (F, C·K·K): one matrix product per sample,
    batched by ``matmul``, whose result is already laid out (N, F, H_out·W_out).
    """
    x = _check_images("x", x)
    W = check_float_array("W", W, ndim=4)
    if W.shape[1] != x.shape[1] or W.shape[2] != W.shape[3]:
        raise ValueError(f"W must have shape (F, {x.shape[1]}, K, K) for x of shape {x.shape}, got {W.shape}")
    if b is not None and np.shape(b) != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},), got {np.shape(b)}")
    n = x.shape[0]
    f, _, k, _ = W.shape
    cols = im2col(x, k, stride, padding)                                  # (N, C·K·K, Ho·Wo)
    ho = conv_output_size(x.shape[2], k, stride, padding)
    wo = conv_output_size(x.shape[3], k, stride, padding)
    out = W.reshape(f, -1) @ cols                                         # (N, F, Ho·Wo)
    if b is not None:
        out += b[:, None]
    return out.reshape(n, f, ho, wo), cols


def conv2d_backward(dout: np.ndarray, cols: np.ndarray, x_shape, W: np.ndarray, stride: int = 1,
                    padding: int = 0, *, input_grad: bool = True):
    """Gradients of ``conv2d_forward``: returns ``(dx, dW, db)`` (``dx`` is None with ``input_grad=False``).

    Shapes: dout: (N, F, H_out, W_out); cols: (N, C·K·K, H_out·W_out) from the forward pass.

    Notes
    -----
    With ``dO[n]`` = dout[n] flattened to (F, H_out·W_out)::

        ∂L/∂W = Σₙ dO[n] · cols[n]ᵀ      ∂L/∂b = Σ_{n,i,j} dO      ∂L/∂cols[n] = Wᵀ dO[n]  → col2im → ∂L/∂x

    With stride 1 the col2im runs on rows widened to the padded width (``_input_grad_stride1``: one
    contiguous addition per kernel offset); the tests check both routes against the loops.
    """
    f, c, k, _ = W.shape
    d2 = dout.reshape(dout.shape[0], f, -1)                               # (N, F, Ho·Wo)
    dW = (d2 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(W.shape)      # batched products, then Σₙ
    db = d2.sum(axis=(0, 2))
    if not input_grad:
        return None, dW, db
    if stride == 1:
        dx = _input_grad_stride1(dout, W, x_shape, padding)
    else:
        dx = col2im(W.reshape(f, -1).T @ d2, x_shape, k, stride, padding)
    return dx, dW, db


def conv2d_forward_naive(x, W, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The convolution written as its definition: one dot product per output value (slow; teaching and
    tests only). Shapes as ``conv2d_forward``."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    ho, wo = conv_output_size(h, k, stride, padding), conv_output_size(w, k, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, W))
    for s in range(n):
        for fi in range(f):
            for i in range(ho):
                for j in range(wo):
                    window = xp[s, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (C, K, K)
                    out[s, fi, i, j] = np.sum(window * W[fi]) + (0.0 if b is None else b[fi])
    return out


def conv2d_backward_naive(dout, x, W, stride: int = 1, padding: int = 0):
    """``(dx, dW, db)`` by looping over every output value and sending its gradient back to the window
    and the filter that produced it (slow; teaching and tests only)."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    ho, wo = dout.shape[2], dout.shape[3]
    xp = _pad(x, padding)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    db = dout.sum(axis=(0, 2, 3))
    for s in range(n):
        for fi in range(f):
            for i in range(ho):
                for j in range(wo):
                    g = dout[s, fi, i, j]
                    rows, cols = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    dW[fi] += g * xp[s, :, rows, cols]
                    dxp[s, :, rows, cols] += g * W[fi]
    dx = dxp[:, :, padding:padding + h, padding:padding + w]
    return dx, dW, db


# ---------------------------------------------------------------------------------------- pooling

def _pool_slices(ho: int, wo: int, kernel: int, stride: int):
    """(ki, kj, row-slice, col-slice) for each kernel offset: the input pixels at offset (ki, kj) of
    every window, as one strided slice."""
    for ki in range(kernel):
        for kj in range(kernel):
            yield ki, kj, slice(ki, ki + stride * (ho - 1) + 1, stride), slice(kj, kj + stride * (wo - 1) + 1, stride)


def _check_pool(kernel: int, stride: int | None, padding: int) -> int:
    check_positive_int("kernel_size", kernel)
    stride = kernel if stride is None else stride
    check_positive_int("stride", stride)
    check_positive_int("padding", padding, allow_zero=True)
    if padding > kernel // 2:
        raise ValueError(f"padding must be <= kernel_size // 2 = {kernel // 2}, got {padding}")
    return stride


def max_pool2d_forward(x: np.ndarray, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Max over every K×K window, computed as the elementwise max of the K² strided slices.

    Shapes: x: (N, C, H, W) → out: (N, C, H_out, W_out). Padding is with -∞ (it never wins).
    """
    x = _check_images("x", x)
    stride = _check_pool(kernel, stride, padding)
    ho = conv_output_size(x.shape[2], kernel, stride, padding)
    wo = conv_output_size(x.shape[3], kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    out = None
    for _, _, rs, cs in _pool_slices(ho, wo, kernel, stride):
        out = xp[:, :, rs, cs].copy() if out is None else np.maximum(out, xp[:, :, rs, cs], out=out)
    return out


def max_pool2d_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: int, stride: int | None = None,
                        padding: int = 0) -> np.ndarray:
    """Route each window's gradient to the input that won its max (the first one, row-major, on ties:
    PyTorch's choice; a ReLU output has many tied zeros).

    Shapes: dout, out: (N, C, H_out, W_out); x: (N, C, H, W) → dx: (N, C, H, W).

    Notes
    -----
    ``∂L/∂x[p] = Σ_windows w with argmax(w) = p  ∂L/∂out[w]``: gradient 1 to the winner, 0 elsewhere.
    """
    stride = _check_pool(kernel, stride, padding)
    ho, wo = out.shape[2], out.shape[3]
    xp = _pad(x, padding, -np.inf)
    # A window holding NaN has max NaN (np.maximum propagates it), and NaN equals nothing: its winner is
    # the first NaN, row-major (np.argmax's choice, so the naive reference agrees), not no one.
    with np.errstate(invalid="ignore"):                           # +inf and -inf in one map sum to NaN
        nan_out = np.isnan(out) if np.isnan(out.sum()) else None  # one reduction when there is no NaN
    # Windows that tile the input exactly (the usual K = S): each pixel is in one window, so every slice
    # of dx is written once, with no zero-fill and no read-add (1.5x faster on the benchmark CNN).
    tiles = stride == kernel and xp.shape[2] == ho * kernel and xp.shape[3] == wo * kernel
    dxp = np.empty(xp.shape, dtype=dout.dtype) if tiles else np.zeros(xp.shape, dtype=dout.dtype)
    claimed = np.zeros(out.shape, dtype=bool)    # windows whose winner has been found
    win = np.empty(out.shape, dtype=bool)
    slices = list(_pool_slices(ho, wo, kernel, stride))
    for n, (ki, kj, rs, cs) in enumerate(slices):
        if n == len(slices) - 1:
            # Every window has exactly one winner (its max is one of its values, or its first NaN), so
            # the last offset wins wherever no earlier one did: no comparison needed (pool1 of the
            # benchmark CNN: 0.78 -> 0.62 ms).
            np.logical_not(claimed, out=win)
        else:
            np.equal(xp[:, :, rs, cs], out, out=win)
            if nan_out is not None:
                win |= nan_out & np.isnan(xp[:, :, rs, cs])
            if ki or kj:
                win &= ~claimed
            claimed |= win
        if tiles:
            np.multiply(dout, win, out=dxp[:, :, rs, cs])
        else:
            dxp[:, :, rs, cs] += dout * win
    if padding:
        return dxp[:, :, padding:-padding, padding:-padding]
    return dxp


def avg_pool2d_forward(x: np.ndarray, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Mean over every K×K window (zero padding counted in the mean, PyTorch's default).

    Shapes: x: (N, C, H, W) → out: (N, C, H_out, W_out).
    """
    x = _check_images("x", x)
    stride = _check_pool(kernel, stride, padding)
    ho = conv_output_size(x.shape[2], kernel, stride, padding)
    wo = conv_output_size(x.shape[3], kernel, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((x.shape[0], x.shape[1], ho, wo), dtype=x.dtype)
    for _, _, rs, cs in _pool_slices(ho, wo, kernel, stride):
        out += xp[:, :, rs, cs]
    out *= x.dtype.type(1.0 / (kernel * kernel))
    return out


def avg_pool2d_backward(dout: np.ndarray, x_shape, kernel: int, stride: int | None = None,
                        padding: int = 0) -> np.ndarray:
    """Each window's gradient shared equally by its K² inputs: ``∂L/∂x[p] = Σ_{w ∋ p} ∂L/∂out[w] / K²``."""
    stride = _check_pool(kernel, stride, padding)
    n, c, h, w = x_shape
    ho, wo = dout.shape[2], dout.shape[3]
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=dout.dtype)
    share = dout * dout.dtype.type(1.0 / (kernel * kernel))
    for _, _, rs, cs in _pool_slices(ho, wo, kernel, stride):
        dxp[:, :, rs, cs] += share
    if padding:
        return dxp[:, :, padding:-padding, padding:-padding]
    return dxp


def max_pool2d_forward_naive(x, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Max pooling by looping over every output value (slow; teaching and tests only)."""
    stride = _check_pool(kernel, stride, padding)
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kernel, stride, padding), conv_output_size(w, kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for s in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    out[s, ch, i, j] = xp[s, ch, i * stride:i * stride + kernel, j * stride:j * stride + kernel].max()
    return out


def max_pool2d_backward_naive(dout, x, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Max-pool gradient by looping over windows; ``np.argmax`` picks the first maximum, row-major."""
    stride = _check_pool(kernel, stride, padding)
    n, c, h, w = x.shape
    xp = _pad(x, padding, -np.inf)
    dxp = np.zeros(xp.shape, dtype=dout.dtype)
    for s in range(n):
        for ch in range(c):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = xp[s, ch, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
                    ki, kj = np.unravel_index(np.argmax(window), window.shape)
                    dxp[s, ch, i * stride + ki, j * stride + kj] += dout[s, ch, i, j]
    return dxp[:, :, padding:padding + h, padding:padding + w]


def avg_pool2d_forward_naive(x, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Average pooling by looping over every output value (slow; teaching and tests only)."""
    stride = _check_pool(kernel, stride, padding)
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kernel, stride, padding), conv_output_size(w, kernel, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for s in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    out[s, ch, i, j] = xp[s, ch, i * stride:i * stride + kernel, j * stride:j * stride + kernel].mean()
    return out


def avg_pool2d_backward_naive(dout, x_shape, kernel: int, stride: int | None = None, padding: int = 0):
    """Average-pool gradient by looping over windows (slow; teaching and tests only)."""
    stride = _check_pool(kernel, stride, padding)
    n, c, h, w = x_shape
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=dout.dtype)
    for s in range(n):
        for ch in range(c):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dxp[s, ch, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += \
                        dout[s, ch, i, j] / (kernel * kernel)
    return dxp[:, :, padding:padding + h, padding:padding + w]


# ----------------------------------------------------------------------------------------- layers

#: samples per im2col in ``Conv2D``'s evaluation-mode forward of a larger batch (see ``Conv2D.forward``)
INFERENCE_CHUNK = 128


class Conv2D(Layer):
    """2-D convolution layer (``torch.nn.Conv2d`` with ``padding_mode="zeros"``).

    Shapes: x: (N, C, H, W); W: (F, C, K, K); b: (F,); out: (N, F, H_out, W_out) with
    ``H_out = ⌊(H + 2P - K)/S⌋ + 1``.

    Notes
    -----
    Forward ``out[n,f,i,j] = b[f] + Σ_{c,ki,kj} x_pad[n,c,S·i+ki,S·j+kj] W[f,c,ki,kj]`` via im2col:
    ``out[n] = W cols[n] + b``. Backward, with dO[n] the upstream gradient as (F, H_out·W_out)::

        ∂L/∂W = Σₙ dO[n] cols[n]ᵀ      ∂L/∂b = Σ dO      ∂L/∂x = col2im(Wᵀ dO)

    The weights are shared by every position, which is why a conv layer has F·(C·K·K + 1) parameters
    whatever the image size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, rng: np.random.Generator | None = None,
                 *, stride: int = 1, padding: int = 0, init: str = "he_normal", bias: bool = True,
                 dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("kernel_size", kernel_size)
        check_positive_int("stride", stride)
        check_positive_int("padding", padding, allow_zero=True)
        dtype = check_float_dtype("dtype", dtype)
        init_fn = initializers.get(init)
        if initializers.needs_rng(init):
            check_generator("rng", rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.params["W"] = init_fn((out_channels, in_channels, kernel_size, kernel_size), rng, dtype=dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        if bias:
            self.params["b"] = np.zeros(out_channels, dtype=dtype)
            self.grads["b"] = np.zeros_like(self.params["b"])
        self._cols = self._x = None
        self._x_shape = None

    def output_shape(self, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """(F, H_out, W_out) for an input (C, H, W), by the formula (raises ``ValueError`` if it does not fit)."""
        _, h, w = input_shape
        return (self.out_channels, conv_output_size(h, self.kernel_size, self.stride, self.padding),
                conv_output_size(w, self.kernel_size, self.stride, self.padding))

    def forward(self, x, training=False):
        x = _check_images("x", x, self.in_channels, self.params["W"].dtype)
        shape = self.output_shape(x.shape[1:])        # a clear ValueError when the kernel does not fit
        W, b = self.params["W"], self.params.get("b")
        n, chunk = len(x), INFERENCE_CHUNK
        if training or n <= chunk:
            out, self._cols = conv2d_forward(x, W, b, self.stride, self.padding)
            self._x = None
        else:
            # Evaluation of a large batch: the columns of `chunk` samples at a time (1,024 MNIST digits'
            # columns are tens of MB, 128 digits' stay in cache: one evaluation of chapter 06's small CNN
            # on 2,000 digits 0.39 s -> 0.14 s). Each sample's product is the same matrix product either
            # way, so the numbers are identical (a test checks); a backward after it rebuilds the columns
            # from the input it keeps.
            out = np.empty((n,) + shape, dtype=W.dtype)
            for i in range(0, n, chunk):
                out[i:i + chunk] = conv2d_forward(x[i:i + chunk], W, b, self.stride, self.padding)[0]
            self._cols, self._x = None, x
        self._x_shape, self._out_shape = x.shape, out.shape
        return out

    def _backward(self, dout, input_grad):
        if self._cols is None and self._x is not None:        # after a chunked evaluation-mode forward
            self._cols = im2col(self._x, self.kernel_size, self.stride, self.padding)
        self._require_cache(self._cols)
        dout = check_grad("dout", dout, self._out_shape, self.params["W"].dtype)
        dx, dW, db = conv2d_backward(dout, self._cols, self._x_shape, self.params["W"], self.stride,
                                     self.padding, input_grad=input_grad)
        self.grads["W"] += dW
        if "b" in self.grads:
            self.grads["b"] += db
        return dx

    def backward(self, dout):
        return self._backward(dout, True)

    def backward_params(self, dout):
        self._backward(dout, False)

    def __repr__(self):
        return (f"Conv2D({self.in_channels} → {self.out_channels}, {self.kernel_size}×{self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class _Pool2D(Layer):
    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.stride = _check_pool(kernel_size, stride, padding)
        self.kernel_size, self.padding = kernel_size, padding
        self._x = None

    def output_shape(self, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = input_shape
        return (c, conv_output_size(h, self.kernel_size, self.stride, self.padding),
                conv_output_size(w, self.kernel_size, self.stride, self.padding))

    def __repr__(self):
        return f"{type(self).__name__}({self.kernel_size}×{self.kernel_size}, stride={self.stride}, padding={self.padding})"


class MaxPool2D(_Pool2D):
    """Max pooling (``torch.nn.MaxPool2d``). Shapes: x: (N, C, H, W) → out: (N, C, H_out, W_out).

    Notes
    -----
    ``out[n,c,i,j] = max_{ki,kj} x_pad[n,c,S·i+ki,S·j+kj]``; the gradient goes to the (first) winner of
    each window, zero to the others. No parameters.
    """

    def forward(self, x, training=False):
        x = _check_images("x", x)
        self.output_shape(x.shape[1:])
        out = max_pool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._x, self._out = x, out
        return out

    def backward(self, dout):
        self._require_cache(self._x)
        dout = check_grad("dout", dout, self._out.shape, self._x.dtype)
        return max_pool2d_backward(dout, self._x, self._out, self.kernel_size, self.stride, self.padding)


class AvgPool2D(_Pool2D):
    """Average pooling (``torch.nn.AvgPool2d``, padding counted). Shapes as ``MaxPool2D``.

    Notes
    -----
    ``out[n,c,i,j] = (1/K²) Σ_{ki,kj} x_pad[n,c,S·i+ki,S·j+kj]``; each input gets ``1/K²`` of the
    gradient of every window it is in.
    """

    def forward(self, x, training=False):
        x = _check_images("x", x)
        self.output_shape(x.shape[1:])
        self._x = x.shape
        out = avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._out = (out.shape, out.dtype)
        return out

    def backward(self, dout):
        self._require_cache(self._x)
        dout = check_grad("dout", dout, *self._out)
        return avg_pool2d_backward(dout, self._x, self.kernel_size, self.stride, self.padding)


class GlobalAvgPool2D(Layer):
    """Mean over all positions of each channel (ResNet's head; ``torch.nn.AdaptiveAvgPool2d(1)`` then flatten).

    Shapes: x: (N, C, H, W) → out: (N, C).

    Notes
    -----
    ``out[n,c] = (1/HW) Σ_{i,j} x[n,c,i,j]``; ``∂L/∂x[n,c,i,j] = ∂L/∂out[n,c] / (HW)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._shape = None

    def forward(self, x, training=False):
        x = _check_images("x", x)
        self._shape, self._dtype_in = x.shape, x.dtype
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        self._require_cache(self._shape)
        dout = check_grad("dout", dout, self._shape[:2], self._dtype_in)
        _, _, h, w = self._shape
        return np.broadcast_to((dout / (h * w))[:, :, None, None], self._shape).copy()
