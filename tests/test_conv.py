"""common/conv.py: output sizes, gradient checks, naive vs fast, PyTorch parity, bad input."""

import numpy as np
import pytest

from common.conv import (AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D, avg_pool2d_backward,
                         avg_pool2d_backward_naive, avg_pool2d_forward, avg_pool2d_forward_naive, col2im,
                         conv2d_backward, conv2d_backward_naive, conv2d_forward, conv2d_forward_naive,
                         conv_output_size, im2col, max_pool2d_backward, max_pool2d_backward_naive,
                         max_pool2d_forward, max_pool2d_forward_naive)
from common.gradcheck import check_layer, rel_error

from torch_check import assert_matches_torch

# ------------------------------------------------------------------------------------ output size


@pytest.mark.parametrize("size, k, s, p, expected", [
    (28, 3, 1, 1, 28), (28, 3, 1, 0, 26), (28, 5, 1, 0, 24), (28, 5, 1, 2, 28), (28, 2, 2, 0, 14),
    (7, 2, 2, 0, 3), (227, 11, 4, 0, 55), (224, 7, 2, 3, 112), (112, 3, 2, 1, 56), (5, 5, 1, 0, 1),
])
def test_conv_output_size_formula(size, k, s, p, expected):
    assert conv_output_size(size, k, s, p) == expected == (size + 2 * p - k) // s + 1


def test_conv_output_size_rejects_what_does_not_fit():
    with pytest.raises(ValueError, match="kernel 7 does not fit an input of size 5 with padding 0"):
        conv_output_size(5, 7)
    assert conv_output_size(5, 7, padding=1) == 1
    with pytest.raises(ValueError, match="stride 2 does not fit.*last 1 row"):
        conv_output_size(6, 3, 2, exact=True)
    assert conv_output_size(7, 3, 2, exact=True) == 3
    for name, args in (("size", (0, 3)), ("kernel", (5, 0)), ("stride", (5, 3, 0)), ("padding", (5, 3, 1, -1))):
        with pytest.raises(ValueError, match=name):
            conv_output_size(*args)
    with pytest.raises(ValueError, match="kernel must be an integer"):
        conv_output_size(5, 2.5)


# -------------------------------------------------------------------------------- gradient checks

def _conv(c, f, k, s, p, bias=True):
    return lambda rng: Conv2D(c, f, k, rng, stride=s, padding=p, bias=bias, dtype=np.float64)


LAYERS = {
    "conv 3x3 s1 p0": (_conv(2, 3, 3, 1, 0), (2, 2, 6, 6)),
    "conv 3x3 s1 p1": (_conv(3, 4, 3, 1, 1), (2, 3, 5, 5)),
    "conv 3x3 s2 p1": (_conv(2, 3, 3, 2, 1), (2, 2, 7, 7)),
    "conv 5x5 s1 p2": (_conv(1, 2, 5, 1, 2), (2, 1, 6, 6)),
    "conv 2x2 s2 p0 non-square": (_conv(2, 2, 2, 2, 0), (2, 2, 6, 8)),
    "conv 1x1 no bias": (_conv(4, 3, 1, 1, 0, bias=False), (2, 4, 3, 3)),
    "conv 3x3 s3 p0 uneven": (_conv(1, 2, 3, 3, 0), (1, 1, 8, 8)),
    "maxpool 2 s2": (lambda rng: MaxPool2D(2), (2, 3, 6, 6)),
    "maxpool 3 s2 p1": (lambda rng: MaxPool2D(3, 2, 1), (2, 2, 7, 7)),
    "maxpool 3 s1 overlapping": (lambda rng: MaxPool2D(3, 1), (1, 2, 5, 5)),
    "avgpool 2 s2": (lambda rng: AvgPool2D(2), (2, 3, 6, 6)),
    "avgpool 3 s2 p1": (lambda rng: AvgPool2D(3, 2, 1), (2, 2, 7, 7)),
    "global avgpool": (lambda rng: GlobalAvgPool2D(), (3, 4, 5, 5)),
}

# Max observed on this machine: 7.8e-11 (conv 2×2 stride 2), 3.3e-11 (pooling); 1e-9 leaves a margin
# for other BLAS builds without hiding a wrong term (those give errors of 1e-2 and up).
TOL = 1e-9


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_match_finite_differences(name):
    make, shape = LAYERS[name]
    rng = np.random.default_rng(0)
    layer = make(rng)
    x = rng.standard_normal(shape)
    errors = check_layer(layer, x, rng)
    expected_keys = {"x"} | set(layer.params)
    assert set(errors) == expected_keys
    assert max(errors.values()) < TOL, errors


def test_backward_accumulates_and_backward_params_skips_dx():
    rng = np.random.default_rng(1)
    layer = Conv2D(2, 3, 3, rng, padding=1, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 5))
    dout = rng.standard_normal((2, 3, 5, 5))
    layer.forward(x)
    layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(dout)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k])
    layer.zero_grad()
    assert layer.backward_params(dout) is None
    for k in once:
        np.testing.assert_allclose(layer.grads[k], once[k])


# ---------------------------------------------------------------------------------- naive vs fast

@pytest.mark.parametrize("k, s, p", [(3, 1, 0), (3, 1, 1), (3, 2, 1), (5, 2, 2), (2, 2, 0), (4, 3, 1)])
def test_conv_fast_agrees_with_naive(k, s, p):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 9, 8))
    W = rng.standard_normal((4, 3, k, k))
    b = rng.standard_normal(4)
    out, cols = conv2d_forward(x, W, b, s, p)
    ref = conv2d_forward_naive(x, W, b, s, p)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = conv2d_backward(dout, cols, x.shape, W, s, p)
    rdx, rdW, rdb = conv2d_backward_naive(dout, x, W, s, p)
    for a, r in ((dx, rdx), (dW, rdW), (db, rdb)):
        np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
def test_pooling_fast_agrees_with_naive(k, s, p):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    x[0, 0, :2, :2] = 0.0               # ties: both must send the gradient to the first maximum
    out = max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(out, max_pool2d_forward_naive(x, k, s, p))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(max_pool2d_backward(dout, x, out, k, s, p),
                               max_pool2d_backward_naive(dout, x, k, s, p), rtol=1e-13, atol=1e-13)
    avg = avg_pool2d_forward(x, k, s, p)
    np.testing.assert_allclose(avg, avg_pool2d_forward_naive(x, k, s, p), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(avg_pool2d_backward(dout, x.shape, k, s, p),
                               avg_pool2d_backward_naive(dout, x.shape, k, s, p), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 3, 0), (3, 2, 1), (3, 1, 0), (2, 2, 1)])
def test_max_pool_backward_first_winner_with_ties_nan_and_inf(k, s, p):
    """The backward sends each window's gradient to its first maximum, row-major (the naive loop's
    ``np.argmax``), also when the winner is the window's last offset (found without a comparison: the
    windows no earlier offset won), when several values tie anywhere in the window, and with NaN
    (the first NaN wins) and ±inf."""
    rng = np.random.default_rng(11)
    x = rng.integers(-2, 3, size=(3, 2, 6, 6)).astype(np.float64)     # small integers: ties everywhere
    x[0, 0, 0, 0], x[0, 0, 1, 1], x[0, 1, 2, 3] = np.nan, np.nan, np.nan
    x[1, 0, 3, 3], x[1, 1, 0, 0], x[2, 0, 5, 5] = np.inf, -np.inf, np.nan
    x[2, 1] = -np.inf                                                    # a map where every value ties
    out = max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(out, max_pool2d_forward_naive(x, k, s, p))
    dout = rng.standard_normal(out.shape)
    dx, ref = max_pool2d_backward(dout, x, out, k, s, p), max_pool2d_backward_naive(dout, x, k, s, p)
    if s >= k:
        np.testing.assert_array_equal(dx, ref)
    else:       # a pixel can win several overlapping windows: the two add its gradients in other orders
        np.testing.assert_allclose(dx, ref, rtol=1e-13, atol=1e-13)


def test_max_pool_of_the_posts_example():
    fmap = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [3, 8, 4, 7], [1, 2, 6, 3]], dtype=float)[None, None]
    np.testing.assert_array_equal(max_pool2d_forward(fmap, 2)[0, 0], [[6, 4], [8, 7]])


def test_max_of_strided_slices_beats_reshape_and_max():
    # The design choice in max_pool2d_forward, measured: same values, much less time (45× here).
    import time
    x = np.random.default_rng(12).random((64, 8, 28, 28), dtype=np.float32)
    reshaped = x.reshape(64, 8, 14, 2, 14, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(max_pool2d_forward(x, 2), reshaped)

    def best(f, n=5):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    assert best(lambda: x.reshape(64, 8, 14, 2, 14, 2).max(axis=(3, 5))) > 5 * best(lambda: max_pool2d_forward(x, 2))


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), c> = <x, col2im(c)> for every x and c: the definition of the adjoint.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 7))
    cols = im2col(x, 3, 2, 1)
    c = rng.standard_normal(cols.shape)
    assert np.sum(cols * c) == pytest.approx(np.sum(x * col2im(c, x.shape, 3, 2, 1)), rel=1e-12)


# ------------------------------------------------------------------------------------ dtypes, bad input

def test_float32_by_default_and_float64_throughout():
    rng = np.random.default_rng(5)
    layer = Conv2D(1, 2, 3, rng, padding=1)
    assert layer.params["W"].dtype == np.float32
    assert layer.forward(np.ones((1, 1, 4, 4), np.float32)).dtype == np.float32
    layer.astype(np.float64)
    assert layer.forward(np.ones((1, 1, 4, 4))).dtype == np.float64
    assert MaxPool2D(2).forward(np.ones((1, 1, 4, 4), np.float32)).dtype == np.float32
    assert AvgPool2D(2).forward(np.ones((1, 1, 4, 4), np.float32)).dtype == np.float32


def test_bad_input_raises_value_errors_naming_the_argument():
    rng = np.random.default_rng(6)
    conv = Conv2D(3, 4, 3, rng)
    with pytest.raises(ValueError, match=r"x must have 3 channels"):
        conv.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        conv.forward(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match="kernel 3 does not fit an input of size 2"):
        conv.forward(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2D(1, 1, 0, rng)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        Conv2D(1, 1, 3, rng, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        Conv2D(1, 1, 3, rng, padding=-1)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        Conv2D(1, 1, 3, None)
    with pytest.raises(ValueError, match="init must be one of"):
        Conv2D(1, 1, 3, rng, init="bogus")
    with pytest.raises(ValueError, match=r"padding must be <= kernel_size // 2 = 1"):
        MaxPool2D(2, padding=2)
    with pytest.raises(ValueError, match="kernel 2 does not fit an input of size 1"):
        MaxPool2D(2).forward(np.zeros((1, 1, 1, 1)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        MaxPool2D(2).backward(np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"W must have shape \(F, 2, K, K\)"):
        conv2d_forward(np.zeros((1, 2, 5, 5)), np.zeros((3, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        conv2d_forward(np.zeros((1, 1, 5, 5)), np.zeros((3, 1, 3, 3)), np.zeros(2))


def test_output_shape_helpers_match_forward():
    rng = np.random.default_rng(7)
    conv = Conv2D(3, 5, 3, rng, stride=2, padding=1)
    x = np.zeros((1, 3, 11, 9), np.float32)
    assert conv.forward(x).shape[1:] == conv.output_shape((3, 11, 9)) == (5, 6, 5)
    pool = MaxPool2D(3, 2, 1)
    assert pool.forward(x).shape[1:] == pool.output_shape((3, 11, 9)) == (3, 6, 5)


# --------------------------------------------------------------------------------- PyTorch parity

@pytest.mark.parametrize("k, s, p", [(3, 1, 1), (3, 2, 0), (5, 2, 2), (1, 1, 0)])
def test_conv_matches_torch(k, s, p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    layer = Conv2D(3, 4, k, rng, stride=s, padding=p, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 9, 9))
    ref = torch.nn.Conv2d(3, 4, k, stride=s, padding=p).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.params["W"]))
        ref.bias.copy_(torch.from_numpy(layer.params["b"]))
    assert_matches_torch(ref, layer.forward, layer.backward, x, rng, out_tol=1e-12, dx_rtol=1e-11, dx_atol=1e-11)
    np.testing.assert_allclose(layer.grads["W"], ref.weight.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(layer.grads["b"], ref.bias.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("kind, k, s, p", [("max", 2, 2, 0), ("max", 3, 2, 1), ("avg", 2, 2, 0),
                                           ("avg", 3, 2, 1), ("max", 3, 1, 0)])
def test_pooling_matches_torch(kind, k, s, p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = np.maximum(rng.standard_normal((2, 3, 8, 7)), 0)   # a ReLU output: many tied zeros
    layer = MaxPool2D(k, s, p) if kind == "max" else AvgPool2D(k, s, p)
    ref = torch.nn.MaxPool2d(k, s, p) if kind == "max" else torch.nn.AvgPool2d(k, s, p)
    assert_matches_torch(ref, layer.forward, layer.backward, x, rng, out_tol=1e-13, dx_rtol=1e-13, dx_atol=1e-13)


def test_global_avg_pool_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5))
    xt = torch.from_numpy(x).requires_grad_()
    out_t = torch.nn.AdaptiveAvgPool2d(1)(xt).flatten(1)
    layer = GlobalAvgPool2D()
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), rtol=1e-13)
    dout = rng.standard_normal((2, 3))
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-13)


def test_rel_error_of_conv_gradient_is_tiny_in_float64():
    # A direct statement of the number the report quotes: the largest conv gradient-check error.
    rng = np.random.default_rng(11)
    layer = Conv2D(2, 3, 3, rng, stride=2, padding=1, dtype=np.float64)
    errors = check_layer(layer, rng.standard_normal((2, 2, 7, 7)), rng)
    assert max(errors.values()) < 1e-9
    assert rel_error(np.ones(3), np.ones(3)) == 0.0


@pytest.mark.parametrize("k,p", [(1, 0), (3, 0), (3, 1), (5, 2), (2, 1)])
def test_stride_one_im2col_equals_the_sliding_window_form(k, p):
    """The stride-1 fast path (K² slice copies) gives exactly the general form's columns."""
    from numpy.lib.stride_tricks import sliding_window_view

    from common.conv import _pad, im2col
    x = np.random.default_rng(k + p).standard_normal((3, 2, 7, 6)).astype(np.float32)
    n, c, h, w = x.shape
    ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
    win = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), (k, k), axis=(2, 3))
    expected = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, ho * wo)
    np.testing.assert_array_equal(im2col(x, k, 1, p), expected)
    for value in (0.0, -np.inf):
        np.testing.assert_array_equal(_pad(x, p, value), np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)),
                                                                  constant_values=value))


def test_chunked_evaluation_forward_is_the_whole_batch_forward_bit_for_bit(monkeypatch):
    """Conv2D's evaluation-mode forward of a batch larger than INFERENCE_CHUNK builds its columns a chunk
    at a time (a remainder chunk included): the same numbers as one conv2d_forward, and a backward after
    it (which rebuilds the columns) gives the same gradients as after a training-mode forward."""
    import common.conv as conv
    monkeypatch.setattr(conv, "INFERENCE_CHUNK", 4)
    rng = np.random.default_rng(5)
    layer = Conv2D(3, 5, 3, rng, padding=1)
    x = rng.standard_normal((11, 3, 9, 8)).astype(np.float32)
    whole, _ = conv2d_forward(x, layer.params["W"], layer.params["b"], 1, 1)
    out = layer.forward(x)                                    # training=False: chunked
    assert layer._cols is None
    np.testing.assert_array_equal(out, whole)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    grads = {k: g.copy() for k, g in layer.grads.items()}
    layer.zero_grad()
    np.testing.assert_array_equal(layer.forward(x, training=True), whole)
    np.testing.assert_array_equal(layer.backward(dout), dx)
    for k, g in layer.grads.items():
        np.testing.assert_array_equal(g, grads[k])


@pytest.mark.parametrize("k, p", [(3, 1), (5, 2), (5, 0), (3, 3), (1, 0), (2, 1)])
def test_stride1_input_gradient_is_col2im_bit_for_bit(monkeypatch, k, p):
    """With stride 1, conv2d_backward adds each kernel offset's column gradients as one run on rows widened
    to the padded width, a few samples at a time (BACKWARD_CHUNK_VALUES): dx equals the plain
    col2im(Wᵀ dO) exactly, for any chunk size, padding wider than the kernel and non-square inputs."""
    import common.conv as conv
    rng = np.random.default_rng(k + p)
    x = rng.standard_normal((7, 3, 10, 9)).astype(np.float32)
    W = rng.standard_normal((4, 3, k, k)).astype(np.float32)
    out, cols = conv2d_forward(x, W, None, 1, p)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    expected = col2im(W.reshape(4, -1).T @ dout.reshape(7, 4, -1), x.shape, k, 1, p)
    for values in (1, 2 * 3 * k * k * out.shape[2] * (9 + 2 * p), 1 << 30):   # one sample, two, the whole batch
        monkeypatch.setattr(conv, "BACKWARD_CHUNK_VALUES", values)
        dx = conv2d_backward(dout, cols, x.shape, W, 1, p)[0]
        assert dx.flags.c_contiguous and dx.dtype == np.float32
        np.testing.assert_array_equal(dx, expected)
        for flat in (True, False):        # both layouts, whichever the rule picks for this shape
            dx = conv._input_grad_stride1(dout, W, x.shape, p, flat=flat)
            assert dx.flags.c_contiguous and dx.dtype == np.float32
            np.testing.assert_array_equal(dx, expected)
            np.testing.assert_array_equal(np.signbit(dx), np.signbit(expected))


def test_stride1_input_gradient_layout_rule():
    """The flat layout (one run per sample and kernel offset) is chosen for several channels when its padding
    adds at most a quarter more values: the benchmark CNN's second layer, not LeNet-5's 5×5 one or one channel."""
    from common.conv import _flat_layout
    assert _flat_layout(channels=8, kernel=3, padded_width=16, out_height=14)        # 34 extra per 224
    assert not _flat_layout(channels=6, kernel=5, padded_width=14, out_height=10)    # 60 extra per 140
    assert not _flat_layout(channels=1, kernel=3, padded_width=30, out_height=28)    # one channel: nothing saved
