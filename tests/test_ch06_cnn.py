"""Chapter 06: the models (cnn.py), parameter counts (cnn_architectures.py), the hand-set filters and
the step-by-step convolution (filters.py), the views of a trained CNN (feature_maps.py, pooling.py),
digit images (digit_images.py). Nothing here needs real MNIST: the runs on real digits, and every number
the README and the deep dive state, are in test_ch06_docs.py."""

import numpy as np
import pytest

import cnn
import cnn_architectures as arch
import digit_images
import feature_maps
import filters
import pooling
from common.conv import Conv2D, conv2d_forward_naive
from common.layers import Sequential
from common.norm import BatchNorm2d, Residual

# ---------------------------------------------------------------------------------- parameter counts


def test_the_cnn_has_fewer_parameters_than_the_fc_network():
    rng = np.random.default_rng(0)
    fc, small = cnn.fc_network(rng), cnn.small_cnn(rng)
    assert fc.num_params() == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
    assert small.num_params() == (8 * 9 + 8) + (16 * 8 * 9 + 16) + (784 * 10 + 10) == 9_098
    assert small.num_params() < fc.num_params() / 10
    assert cnn.lenet5(rng).num_params() == 61_706


@pytest.mark.parametrize("name, expected", [
    ("LeNet-5", 61_706),          # LeCun et al. 1998 (C3 fully connected), ~60K
    ("AlexNet", 61_100_840),      # torchvision.models.alexnet, ~61M
    ("VGG-16", 138_357_544),      # torchvision.models.vgg16, ~138M
    ("ResNet-50", 25_557_032),    # torchvision.models.resnet50, ~25.6M
])
def test_architecture_tables_match_published_counts(name, expected):
    table = arch.ARCHITECTURES[name]()
    assert table.total == expected
    assert sum(r["parameters"] for r in table.as_records()) == expected


def test_tables_agree_with_models_built_from_common_layers():
    rng = np.random.default_rng(1)
    for table, model in ((arch.small_cnn_table(), cnn.small_cnn(rng)), (arch.lenet5_table(), cnn.lenet5(rng)),
                         (arch.mnist_fc_table(), cnn.fc_network(rng))):
        assert table.total == model.num_params()
        assert table.rows[-1].output_shape == (10,)
    # Shapes along the way: the table's formula and the layers' forward pass agree.
    dims = [(r["layer"], r["output shape"]) for r in feature_maps.dimension_table(cnn.lenet5(rng))]
    shapes = [("×".join(map(str, r.output_shape))) for r in arch.lenet5_table().rows]
    assert shapes[:4] == ["6×28×28", "6×14×14", "16×10×10", "16×5×5"]
    assert [v for k, v in dims if k.startswith(("Conv2D", "AvgPool2D"))] == ["6×28×28", "6×14×14",
                                                                                    "16×10×10", "16×5×5"]


def test_resnet_bottleneck_row_equals_a_block_built_from_common_layers():
    # conv2_1 of ResNet-50: 256→(64, 64, 256) with a projection; build it for real and count.
    rng = np.random.default_rng(2)
    body = Sequential(Conv2D(64, 64, 1, rng, bias=False), BatchNorm2d(64), Conv2D(64, 64, 3, rng, padding=1, bias=False),
                      BatchNorm2d(64), Conv2D(64, 256, 1, rng, bias=False), BatchNorm2d(256))
    block = Residual(body, projection=Sequential(Conv2D(64, 256, 1, rng, bias=False), BatchNorm2d(256)))
    row = next(r for r in arch.resnet50_table().rows if r.name.startswith("conv2_1"))
    assert block.num_params() == row.params == 75_008
    assert block.forward(np.zeros((1, 64, 4, 4), np.float32)).shape == (1, 256, 4, 4)


def test_resnet_stage_shapes_and_lineage():
    rows = {r.name: r.output_shape for r in arch.resnet50_table().rows}
    assert rows["conv1 7×7/2"] == (64, 112, 112)
    assert rows["max pool 3/2"] == (64, 56, 56)
    assert rows["conv3_1 bottleneck"] == (512, 28, 28)
    assert rows["conv5_3 bottleneck"] == (2048, 7, 7)
    lineage = {r["architecture"]: r for r in arch.lineage_table()}
    assert lineage["ResNet-50"]["weight layers"] == 50 and lineage["VGG-16"]["weight layers"] == 16
    assert lineage["ResNet-50"]["parameters"] * 5 < lineage["VGG-16"]["parameters"]   # "5× fewer"


def test_first_layer_comparison_from_the_post():
    c = arch.first_layer_comparison()
    assert c["inputs"] == 150_528
    assert c["fc weights"] == 150_528_000                   # "150M"
    assert c["conv weights"] == 96 * 11 * 11 * 3 == 34_848  # "35K"
    assert arch.fc_table().total == c["fc params"]


# ---------------------------------------------------------------------------- filters and steps

def test_sobel_x_fires_on_a_vertical_edge_only():
    img = np.zeros((6, 6))
    img[:, 3:] = 1.0                                      # dark left, bright right: a vertical edge
    out = filters.apply_filters(img, filters.FILTERS["Sobel x (vertical edges)"])[0]
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[:, 1:3], 4.0)          # the two windows straddling the edge
    np.testing.assert_allclose(out[:, [0, 3]], 0.0)
    np.testing.assert_allclose(filters.apply_filters(img, filters.FILTERS["Sobel y (horizontal edges)"]), 0.0)
    np.testing.assert_allclose(filters.apply_filters(img, filters.FILTERS["identity"], padding=1)[0], img)


def test_apply_filters_is_the_naive_convolution_for_grey_and_rgb():
    rng = np.random.default_rng(3)
    grey = rng.random((7, 7))
    bank = np.stack([filters.FILTERS["sharpen"], filters.FILTERS["box blur"]])
    np.testing.assert_allclose(filters.apply_filters(grey, bank, stride=2, padding=1),
                               conv2d_forward_naive(grey[None, None], bank[:, None], None, 2, 1)[0], rtol=1e-6)
    rgb = filters.rgb_example(8)
    kernels = rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(filters.apply_filters(rgb, kernels), conv2d_forward_naive(rgb[None], kernels)[0],
                               rtol=1e-12)


def test_conv_step_writes_out_one_output_value():
    rng = np.random.default_rng(4)
    rgb = filters.rgb_example(8)
    kernel = rng.standard_normal((3, 3, 3))
    step = filters.conv_step(rgb, kernel, 2, 1, stride=2, padding=1)
    full = filters.apply_filters(rgb, kernel[None], stride=2, padding=1)[0]
    assert step.value == pytest.approx(full[2, 1], rel=1e-12)
    np.testing.assert_allclose(step.channel_sums, step.products.sum(axis=(1, 2)))
    assert step.value == pytest.approx(step.channel_sums.sum())     # per-channel products, summed
    np.testing.assert_allclose(step.window, np.pad(rgb, ((0, 0), (1, 1), (1, 1)))[:, 4:7, 2:5])
    with pytest.raises(ValueError, match="row, col must be inside the 4×4 output"):
        filters.conv_step(rgb, kernel, 4, 0, stride=2, padding=1)
    with pytest.raises(ValueError, match="kernel must have 3 channel"):
        filters.conv_step(rgb, kernel[0], 0, 0)


def test_max_pool_zoom_on_the_posts_example():
    fmap = np.zeros((6, 6))
    fmap[2:6, 2:6] = [[1, 3, 2, 4], [5, 6, 1, 2], [3, 8, 4, 7], [1, 2, 6, 3]]
    assert pooling.busiest_patch(fmap) == (2, 2)
    patch, pooled, winners = pooling.max_pool_zoom(fmap, 3, 3)          # rounded down onto the 2×2 grid
    np.testing.assert_array_equal(pooled, [[6, 4], [8, 7]])
    assert [tuple(w) for w in winners.reshape(-1, 2)] == [(1, 1), (0, 3), (2, 1), (2, 3)]
    with pytest.raises(ValueError, match="size must be even"):
        pooling.max_pool_zoom(fmap, 0, 0, size=3)
    with pytest.raises(ValueError, match="top, left must keep the 4×4 patch inside"):
        pooling.max_pool_zoom(fmap, 4, 0)


def test_shift_image():
    img = np.arange(16.0).reshape(4, 4)
    s = digit_images.shift_image(img, 1, -1)
    np.testing.assert_array_equal(s[1:, :3], img[:3, 1:])
    assert s[0].sum() == 0 and s[:, 3].sum() == 0
    np.testing.assert_array_equal(digit_images.shift_image(img, 0, 0), img)
    assert digit_images.shift_image(img, 5, 0).sum() == 0


def test_preprocess_drawing_centres_a_stroke_like_mnist():
    canvas = np.zeros((200, 200, 4), np.uint8)
    canvas[20:120, 140:150] = 255                        # a vertical bar, off-centre, top right
    img = digit_images.preprocess_drawing(canvas)
    assert img.shape == (1, 28, 28) and img.dtype == np.float32
    assert img.max() == pytest.approx(1.0)
    rows, cols = np.nonzero(img[0] > 0.5)
    assert rows.max() - rows.min() + 1 == 20             # longer side scaled to 20 px
    yy, xx = np.indices((28, 28))
    assert abs((yy * img[0]).sum() / img.sum() - 13.5) <= 1.0   # centred by its centre of mass
    assert abs((xx * img[0]).sum() / img.sum() - 13.5) <= 1.0
    assert digit_images.preprocess_drawing(np.zeros((50, 50, 4), np.uint8)) is None
    assert digit_images.preprocess_drawing(None) is None


def test_bad_input():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="filters must be two channel counts"):
        cnn.small_cnn(rng, filters=(8,))
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        cnn.fc_network(rng, hidden=0)
    with pytest.raises(ValueError, match="name must be one of"):
        cnn.build("ResNet", rng)
    with pytest.raises(ValueError, match="kernels must have 3 channel"):
        filters.apply_filters(np.zeros((3, 5, 5)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="model must start with Conv2D"):
        pooling.translation_tolerance(cnn.fc_network(rng), np.zeros((1, 1, 28, 28), np.float32))


def test_rgb_kernel_weights_each_channel():
    k = filters.FILTERS["sharpen"]
    rk = filters.rgb_kernel(k)
    assert rk.shape == (3, 3, 3)
    for c, w in enumerate(filters.RGB_WEIGHTS):
        np.testing.assert_array_equal(rk[c], w * k)


def test_busiest_patch_and_winners_agree_with_loops():
    rng = np.random.default_rng(6)
    fmap = np.maximum(rng.standard_normal((14, 14)), 0)
    best, where = -np.inf, None
    for top in range(0, 11, 2):                      # the reference: every 4×4 patch on the 2×2 grid
        for left in range(0, 11, 2):
            s = fmap[top:top + 4, left:left + 4].sum()
            if s > best:
                best, where = s, (top, left)
    assert pooling.busiest_patch(fmap) == where
    patch, pooled, winners = pooling.max_pool_zoom(fmap, *where)
    for i in range(2):
        for j in range(2):
            a, b = winners[i, j]
            assert patch[a, b] == pooled[i, j] == patch[2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
            assert 2 * i <= a < 2 * i + 2 and 2 * j <= b < 2 * j + 2


def test_pooling_speed_measures_both_ways():
    m = pooling.pooling_speed(shape=(2, 2, 8, 8), repeats=2)
    assert set(m) == {"slices", "reshape", "ratio"}
    assert m["ratio"] == pytest.approx(m["reshape"] / m["slices"])
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        pooling.pooling_speed(repeats=0)


def test_compare_trains_both_models_identically_and_the_tables_format_them():
    rng = np.random.default_rng(7)
    x, y = rng.random((48, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 48)
    seen = []
    runs = cnn.compare(x, y, x[:16], y[:16], epochs=2, seed=3, hidden=8, filters=(2, 4),
                       callbacks_for=lambda name, model: seen.append((name, model.num_params())) or [])
    assert list(runs) == ["FC", "CNN"] and [n for n, _ in seen] == ["FC", "CNN"]
    assert all(h.epochs == 2 and len(h.val_acc) == 2 for _, h in runs.values())
    again = cnn.compare(x, y, x[:16], y[:16], epochs=2, seed=3, hidden=8, filters=(2, 4))
    assert again["CNN"][1].train_loss == runs["CNN"][1].train_loss          # same seed, same run
    table = cnn.fc_vs_cnn_markdown(runs).splitlines()
    assert table[2].startswith(f"| FC 784-128-10 | {runs['FC'][0].num_params():,} | ")
    accs = {(n, s, m): [0.5 + 0.01 * s + (0.1 if m == "CNN" and n == 5000 else 0)] * 10
            for n in (1000, 5000) for s in cnn.SEEDS for m in ("FC", "CNN")}
    rows = cnn.seed_rows(accs)
    assert [(r["training digits"], r["epochs"], r["cnn ahead"]) for r in rows] == [(1000, 4, 0), (1000, 10, 0),
                                                                                (5000, 4, 4)]
    assert "| 5,000 | 4 | 51.5% (50.0–53.0%) | 61.5% (60.0–63.0%) | 4 of 4 seeds |" in cnn.seed_markdown(accs)
