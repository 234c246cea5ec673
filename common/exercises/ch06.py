"""Chapter 06 (convolutional networks): output sizes, a convolution forward and backward, max-pool
backward. Images are (N, C, H, W) and filter banks (F, C, K, K), as in ``common.conv``."""

from __future__ import annotations

import numpy as np

from ..conv import (conv2d_backward_naive, conv2d_forward, conv_output_size, max_pool2d_backward,
                    max_pool2d_forward, avg_pool2d_backward)
from ._core import against_finite_differences, as_array, call, checker, compare, fail, seed_for, unpack


@checker("conv_output_size", "conv_output_size")
def check_conv_output_size(fn):
    """``conv_output_size(size, kernel, stride, padding) -> int``."""
    cases = [(28, 5, 1, 0), (10, 3, 1, 2), (28, 3, 1, 1), (227, 11, 4, 0), (32, 3, 2, 1), (7, 7, 1, 0),
             (28, 2, 2, 0), (224, 7, 2, 3), (10, 3, 3, 0)]
    values = []
    for size, k, s, p in cases:
        want = conv_output_size(size, k, s, p)
        got = call(fn, size, k, s, p)
        case = f"size {size}, kernel {k}, stride {s}, padding {p}"
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"should return one number, got {type(got).__name__} ({case}).")
        if value != want:
            slips = (((size + p - k) // s + 1, "count the padding once; it is added on both sides (2P)"),
                     ((size + 2 * p - k) // s, "forget the + 1 (the first window sits at position 0)"),
                     ((size + 2 * p - k) / s + 1, "keep the fraction; the output size is ⌊(H + 2P - K)/S⌋ + 1"),
                     (-(-(size + 2 * p - k) // s) + 1,
                      "round up; a window that runs past the padded border is not computed"))
            note = next((what for v, what in slips if v == value), None)
            fail(f"{case}: got {value:g}, expected {want}.",
                 f"this is what you get if you {note}." if note else
                 "count the positions the kernel can take on the padded input, stepping by the stride.")
        values.append((got, case))
    for got, case in values:
        if not isinstance(got, (int, np.integer)):
            fail(f"{case}: the value is right but it is a {type(got).__name__}; an output size is an int "
                 "(use // for the division).")
    return "It agrees with common.conv.conv_output_size on nine layers, AlexNet's and ResNet's first included."


def _conv_cases(rng):
    for stride, padding, shape in ((1, 1, (2, 3, 6, 7)), (2, 0, (2, 2, 7, 7)), (1, 0, (1, 1, 5, 5))):
        x = rng.standard_normal(shape)
        W = rng.standard_normal((4, shape[1], 3, 3))
        b = rng.standard_normal(4)
        yield x, W, b, stride, padding, f"x {shape}, W {W.shape}, stride {stride}, padding {padding}"


@checker("conv2d_forward", "conv2d_forward")
def check_conv2d_forward(fn):
    """``conv2d_forward(x, W, b, stride, padding) -> out``: (N, C, H, W) → (N, F, H_out, W_out)."""
    rng = np.random.default_rng(seed_for("conv2d_forward"))
    for x, W, b, s, p, case in _conv_cases(rng):
        want, _ = conv2d_forward(x, W, b, s, p)
        flipped, _ = conv2d_forward(x, W[:, :, ::-1, ::-1].copy(), b, s, p)
        compare("out", want, call(fn, x, W, b, s, p), case=case,
                hint="out[n, f, i, j] = b[f] + Σ over c, ki, kj of x_padded[n, c, S·i + ki, S·j + kj]·W[f, c, ki, kj].",
                mistakes={"flip the kernel (deep-learning 'convolution' is cross-correlation: no flip)": flipped,
                          "leave out the bias": conv2d_forward(x, W, None, s, p)[0],
                          "ignore the padding": conv2d_forward(x, W, b, s, 0)[0] if p else None,
                          "ignore the stride": conv2d_forward(x, W, b, 1, p)[0] if s > 1 else None})
    return "It matches common.conv.conv2d_forward with and without padding and stride."


@checker("conv2d_backward", "conv2d_backward")
def check_conv2d_backward(fn):
    """``conv2d_backward(dout, x, W, stride, padding) -> (dx, dW, db)``."""
    rng = np.random.default_rng(seed_for("conv2d_backward"))
    worst = 0.0
    for x, W, b, s, p, case in _conv_cases(rng):
        out, _ = conv2d_forward(x, W, b, s, p)
        dout = rng.standard_normal(out.shape)
        dx_ref, dW_ref, db_ref = conv2d_backward_naive(dout, x, W, s, p)
        dx, dW, db = unpack(call(fn, dout, x, W, s, p), ("dx", "dW", "db"))
        n = x.shape[0]
        compare("db", db_ref, db, case=case, hint="b[f] is added at every position of every image: sum dout over N, H and W.",
                mistakes={"average over the batch instead of summing": db_ref / n if n > 1 else None,
                          "sum over the positions but not over the batch": dout[0].sum(axis=(1, 2)) if n > 1 else None})
        compare("dW", dW_ref, dW, case=case,
                hint="every output value adds dout · (the input window it saw) to its filter; sum over the batch too.",
                mistakes={"average over the batch instead of summing": dW_ref / n if n > 1 else None,
                          "flip the kernel": dW_ref[:, :, ::-1, ::-1]})
        padded = (x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p)
        compare("dx", dx_ref, dx, case=case,
                hint="every output value sends dout · W[f] back to the window it came from; overlapping windows add up.",
                mistakes={"return the gradient of the padded input (crop the P border pixels)":
                          np.zeros(padded) if p else None})
        f = lambda: conv2d_forward(x, W, b, s, p)[0]
        worst = max(worst, against_finite_differences("dx", dx, f, x, dout, case=case),
                    against_finite_differences("dW", dW, f, W, dout, case=case))
    return f"dx, dW and db match the loop-based reference and finite differences (relative error {worst:.1g})."


@checker("max_pool2d_backward", "max_pool2d_backward")
def check_max_pool2d_backward(fn):
    """``max_pool2d_backward(dout, x, kernel) -> dx``: non-overlapping K×K windows (stride K)."""
    rng = np.random.default_rng(seed_for("max_pool2d_backward"))
    worst = 0.0
    for shape, k in (((2, 3, 4, 4), 2), ((1, 2, 6, 6), 3), ((2, 1, 6, 4), 2)):
        x = rng.standard_normal(shape)         # continuous values: no ties, so the max is unique
        out = max_pool2d_forward(x, k)
        dout = rng.standard_normal(out.shape)
        want = max_pool2d_backward(dout, x, out, k)
        case = f"x {shape}, kernel {k}"
        winners = (want != 0).astype(float)
        dx = call(fn, dout, x, k)
        compare("dx", want, dx, case=case,
                hint="only the input that won its window's max affects the output: it gets the window's dout, the others 0.",
                mistakes={"spread the gradient over the whole window (that is average pooling)":
                          avg_pool2d_backward(dout, x.shape, k) * k * k,
                          "share it equally, dout/K², as average pooling does": avg_pool2d_backward(dout, x.shape, k),
                          "mark the winners with 1 instead of passing dout on": winners})
        worst = max(worst, against_finite_differences("dx", dx, lambda: max_pool2d_forward(x, k), x, dout, case=case))
    return f"It routes each window's gradient to its maximum, like common.conv (finite differences: {worst:.1g})."
