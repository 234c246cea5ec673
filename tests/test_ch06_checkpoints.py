"""Chapter 06: the shipped checkpoints (FC, small CNN, LeNet-5) against their records, the training script
against the shipped runs, the page actions, and the pooling comparison of the "Types of pooling" tab.

The checkpoints are trained on the bundled sample (``cnn.sample_mnist``), so none of this needs full MNIST.
"""

import numpy as np
import pytest

import cnn
import digit_images
import page_actions
import pooling
import train_cnn
from common.checkpoints import on_recorded_kernel, read_history
from common.conv import avg_pool2d_forward_naive, max_pool2d_forward_naive
from common.training import accuracy


@pytest.fixture(scope="module")
def sample():
    return cnn.sample_mnist()


@pytest.mark.parametrize("name", list(cnn.CHECKPOINTS))
def test_checkpoint_reproduces_its_recorded_accuracy_and_names_its_script(name, sample):
    model, meta, history = cnn.load_checkpoint(name)
    assert meta["script"] == cnn.SCRIPT == "06-cnn/train_cnn.py"
    assert meta["settings"] == {**cnn.PAGE_DEFAULTS, "filters": list(cnn.PAGE_DEFAULTS["filters"])}
    assert meta["model"] == cnn.CHECKPOINTS[name][0] and meta["params"] == model.num_params()
    assert history.epochs == cnn.PAGE_DEFAULTS["epochs"]
    assert history.steps == cnn.PAGE_DEFAULTS["epochs"] * -(-cnn.PAGE_DEFAULTS["n_train"] // cnn.PAGE_DEFAULTS["batch_size"])
    # The shipped weights give, on the sample's 2,000 test digits, the accuracy recorded after the last epoch.
    acc = accuracy(model.predict(sample.x_test), sample.y_test)
    assert acc == meta["val_acc"] == history.val_acc[-1]
    # Far above chance (10%); the global-average head has 16 numbers per digit to go on (see the deep dive).
    assert (0.25 if name == "cnn_gap" else 0.9) < acc < 1.0


def test_checkpoints_stay_small():
    sizes = {n: cnn.checkpoint_path(n).stat().st_size for n in cnn.CHECKPOINTS}
    assert sum(sizes.values()) < 1_000_000, sizes
    assert {n: cnn.load_checkpoint(n)[0].num_params() for n in cnn.CHECKPOINTS} == \
        {"fc": 101_770, "cnn": 9_098, "lenet5": 61_706, "cnn_avgpool": 9_098, "cnn_gap": 9_098 - 7_850 + 170}


def test_the_script_reproduces_the_first_steps_bit_for_bit():
    """20 steps of each model (a second or two): the same batch losses as the shipped runs recorded."""
    assert train_cnn.main(["--check", "--steps", "20"]) == 0


def test_the_check_reports_a_difference(sample):
    """``--check`` is not vacuous: another seed's first steps differ from the record."""
    model, history, _ = train_cnn.train_one(cnn, "fc", sample, steps=5)
    assert train_cnn.compare_with_record(cnn, "fc", history, steps=5) == []
    history.batch_loss[2] += 1e-4
    assert "first 5 batch losses differ" in train_cnn.compare_with_record(cnn, "fc", history, steps=5)[0]
    history.batch_loss[2] -= 1e-4
    history.val_acc = [0.5] * len(history.val_acc)
    assert any("val_acc" in p for p in train_cnn.compare_with_record(cnn, "fc", history))


def test_the_script_reproduces_fc_in_full(tmp_path):
    """The whole FC run (under a second): every per-epoch metric equal to the shipped record, and the file
    written again from it has the same weights."""
    assert train_cnn.main(["--check", "--only", "fc"]) == 0
    assert train_cnn.main(["--only", "fc", "--out", str(tmp_path)]) == 0
    new = np.load(tmp_path / "fc.npz")
    old = np.load(cnn.checkpoint_path("fc"))
    for k in old.files:
        if k.startswith("param:"):
            if on_recorded_kernel():
                np.testing.assert_array_equal(new[k], old[k])
            else:           # another BLAS kernel's float32 sums: 3.4e-6 at most after the 4 epochs under Haswell
                np.testing.assert_allclose(new[k], old[k], rtol=0, atol=1e-4)
    assert read_history(tmp_path / "fc.npz", "run").val_acc == read_history(cnn.checkpoint_path("fc"), "run").val_acc


@pytest.mark.slow
def test_the_script_reproduces_the_other_runs_in_full():
    """The CNN, LeNet-5 and the two head-pooling variants, every epoch (5–15 s each on a quiet 2-core machine)."""
    assert train_cnn.main(["--check", "--only", "cnn", "lenet5", "cnn_avgpool", "cnn_gap"]) == 0


def test_head_pool_variants_are_the_small_cnn_with_another_last_pooling():
    from common.conv import AvgPool2D, GlobalAvgPool2D, MaxPool2D

    rng = lambda: np.random.default_rng(0)
    mx, avg, gap = (cnn.small_cnn(rng(), head_pool=k) for k in cnn.HEAD_POOLS)
    assert [type(m.layers[5]) for m in (mx, avg, gap)] == [MaxPool2D, AvgPool2D, GlobalAvgPool2D]
    assert repr(mx) != repr(avg) and avg.num_params() == mx.num_params()
    assert gap.layers[-1].num_params() == 16 * 10 + 10 and len(gap.layers) == 7          # no Flatten needed
    for a, b in zip(list(mx.params.values())[:4], list(gap.params.values())[:4]):       # same convolutions
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).random((2, 1, 28, 28)).astype(np.float32)
    assert gap.forward(x).shape == (2, 10)
    with pytest.raises(ValueError, match="head_pool"):
        cnn.small_cnn(rng(), head_pool="median")
    assert {k: cnn.load_checkpoint(v)[1]["model_kwargs"].get("head_pool", "max")
            for k, v in cnn.HEAD_POOL_CHECKPOINTS.items()} == {k: k for k in cnn.HEAD_POOLS}


def test_page_defaults_are_the_page_sidebar_defaults():
    source = (cnn.CHECKPOINT_DIR.parent / "cnn_playground.py").read_text()
    for name in ("fc_hidden", "epochs", "batch_size", "n_train", "seed"):
        assert f'value=D["{name}"]' in source or f'D["{name}"], key=page.key("{name}")' in source, name
    assert 'value=D["filters"][0]' in source and 'value=D["filters"][1]' in source


def test_page_actions_are_registered_and_train_with_the_defaults(monkeypatch):
    assert set(page_actions.PAGE_ACTIONS) == {"Train both", "Train LeNet-5"}
    seen = {}

    def fake_compare(x, y, xv, yv, **kw):
        seen.update(n=len(x), n_val=len(xv), **kw)
    monkeypatch.setattr(cnn, "compare", fake_compare)
    page_actions.PAGE_ACTIONS["Train both"]()
    s = cnn.PAGE_DEFAULTS
    assert seen == {"n": s["n_train"], "n_val": 2000, "epochs": s["epochs"], "seed": s["seed"],
                    "batch_size": s["batch_size"], "lr": s["lr"], "hidden": s["fc_hidden"], "filters": s["filters"]}


# ------------------------------------------------------------------------------- types of pooling

def test_pool_kinds_are_the_common_layers():
    x = np.random.default_rng(0).random((3, 4, 6, 6))
    np.testing.assert_array_equal(pooling.pool("none", x), x)
    np.testing.assert_allclose(pooling.pool("max 2×2", x), max_pool2d_forward_naive(x, 2))
    np.testing.assert_allclose(pooling.pool("average 2×2", x), avg_pool2d_forward_naive(x, 2))
    np.testing.assert_allclose(pooling.pool("global average", x), x.mean(axis=(2, 3)))
    with pytest.raises(ValueError, match="kind must be one of"):
        pooling.pool("median", x)


def test_relative_change_and_global_average_ignores_a_shift_inside_the_frame():
    rng = np.random.default_rng(1)
    a = rng.random((2, 3, 8, 8))
    assert np.all(pooling.relative_change(a, a) == 0)
    np.testing.assert_allclose(pooling.relative_change(a, 2 * a), 1.0)
    blob = np.zeros((1, 3, 8, 8))
    blob[..., 2:5, 2:5] = rng.random((3, 3, 3))                       # a pattern away from the border
    moved = digit_images.shift_image(blob, 1, 1)
    assert pooling.relative_change(pooling.pool("global average", blob), pooling.pool("global average", moved))[0] \
        == pytest.approx(0, abs=1e-15)
    assert pooling.relative_change(blob, moved)[0] > 1.0                # position by position, everything moved


def test_pooling_comparison_shapes_head_parameters_and_tolerance(sample):
    model, _, _ = cnn.load_checkpoint("cnn")
    rows = {r["pooling"]: r for r in pooling.pooling_comparison(model, sample.x_test[:50], "conv2")}
    assert [(k, r["output shape"], r["head parameters"]) for k, r in rows.items()] == [
        ("none", "16×14×14", 31_370), ("max 2×2", "16×7×7", 7_850), ("average 2×2", "16×7×7", 7_850),
        ("global average", "16", 170)]
    # The small CNN's own head reads the max-pooled conv2 maps: the same count as its Dense layer.
    assert rows["max 2×2"]["head parameters"] == model.layers[-1].num_params()
    for k in ("change, 1-px shift", "change, 2-px shift"):
        assert rows["global average"][k] < rows["max 2×2"][k] < rows["none"][k]
        assert rows["global average"][k] < rows["average 2×2"][k] < rows["none"][k]
    # One entry by hand: max pooling, a 1-pixel shift, averaged over the four directions.
    maps = pooling.trained_maps(model, sample.x_test[:50], "conv2")
    by_hand = np.mean([pooling.relative_change(
        max_pool2d_forward_naive(maps.astype(np.float64), 2),
        max_pool2d_forward_naive(pooling.trained_maps(model, digit_images.shift_image(sample.x_test[:50], dy, dx),
                                                      "conv2").astype(np.float64), 2)).mean()
        for dy, dx in pooling.DIRECTIONS])
    assert rows["max 2×2"]["change, 1-px shift"] == pytest.approx(by_hand, rel=1e-5)
    conv1 = pooling.pooling_comparison(model, sample.x_test[:10], "conv1")
    assert [r["output shape"] for r in conv1] == ["8×28×28", "8×14×14", "8×14×14", "8"]
    with pytest.raises(ValueError, match="layer must be one of"):
        pooling.trained_maps(model, sample.x_test[:2], "conv3")
    with pytest.raises(ValueError, match="must be the small CNN"):
        pooling.trained_maps(cnn.load_checkpoint("fc")[0], sample.x_test[:2])
