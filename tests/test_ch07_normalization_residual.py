"""Chapter 07: the four deep-MLP variants, signal through depth, gradient flow, the residual stream's
growth, dead ReLU units (normalization_residual.py), and BatchNorm in training vs evaluation mode
(batchnorm_inference.py).

These tests check properties, not the README's numbers, so they run on whatever MNIST is here: the real
digits, or offline the bundled sample (on purpose: every property below holds on both). The README's and
the deep dive's numbers, measured on real MNIST, are compared with the text in test_ch07_docs.py."""

import math

import numpy as np
import pytest

import batchnorm_inference as bni
import normalization_residual as nr
from common.layers import Dense, Sequential
from common.norm import BatchNorm1d, Residual


@pytest.fixture(scope="module")
def digits():
    from common.mnist import load_mnist
    return load_mnist()


@pytest.fixture(scope="module")
def batch(digits):
    return digits.x_train[:512], digits.y_train[:512]


# ------------------------------------------------------------------------------------- structure

@pytest.mark.parametrize("variant", nr.VARIANTS)
def test_deep_mlp_structure_and_parameter_count(variant):
    rng = np.random.default_rng(0)
    depth, w = 7, 16
    model = nr.deep_mlp(depth, variant, rng, width=w)
    assert len(model) == depth + 3
    assert len(nr.blocks(model)) == depth
    residual = variant in ("residual", "both")
    assert all(isinstance(b, Residual) == residual for b in nr.blocks(model))
    assert len(bni.batchnorm_layers(model)) == (depth if variant in ("batchnorm", "both") else 0)
    hidden = {"plain": w * w + w, "batchnorm": w * w + 2 * w, "residual": w * w + w, "both": 2 * w + w * w + w}[variant]
    assert model.num_params() == (784 * w + w) + depth * hidden + (w * 10 + 10)
    out = model.forward(np.zeros((3, 784), np.float32), training=True)
    assert out.shape == (3, 10) and out.dtype == np.float32


def test_residual_branch_scale_defaults_to_one_over_sqrt_depth():
    depth = 16
    a = nr.deep_mlp(depth, "residual", np.random.default_rng(1), width=32, branch_scale=1.0)
    b = nr.deep_mlp(depth, "residual", np.random.default_rng(1), width=32)
    wa = nr.blocks(a)[3].body.layers[1].params["W"]
    wb = nr.blocks(b)[3].body.layers[1].params["W"]
    np.testing.assert_allclose(wb, wa / math.sqrt(depth), rtol=1e-6)


def test_bad_arguments():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="variant must be one of"):
        nr.deep_mlp(3, "dense", rng)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        nr.deep_mlp(0, "plain", rng)
    with pytest.raises(ValueError, match="activation must be one of"):
        nr.deep_mlp(3, "plain", rng, activation="swish")
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        nr.deep_mlp(3, "plain", rng, init_scale=0)
    with pytest.raises(ValueError, match="model has no BatchNorm layers"):
        bni.running_vs_batch_stats(nr.deep_mlp(3, "plain", rng), np.zeros((2, 784), np.float32))
    with pytest.raises(ValueError, match="model must be a plain or batchnorm deep_mlp"):
        nr.dead_units(nr.deep_mlp(3, "residual", rng), np.zeros((2, 784), np.float32))


# ----------------------------------------------------------------------------- signal through depth

def test_signal_through_depth_with_and_without_batchnorm(batch):
    x, _ = batch
    stats = {}
    for variant in ("plain", "batchnorm"):
        for scale in (1.0, 1.5):
            model = nr.deep_mlp(20, variant, np.random.default_rng(0), init_scale=scale)
            stats[variant, scale] = nr.signal_through_depth(model, x)
    # With BatchNorm the Dense output feeding every BN layer keeps the spread its weights give it (about the
    # weight scale: He initialisation of a normalised input) at every depth: no compounding. (Layer 1 gets
    # the stem's unnormalised ReLU output, so it starts smaller.)
    for scale in (1.0, 1.5):
        s = stats["batchnorm", scale]
        assert np.all(np.abs(s.std[1:] / scale - 1) < 0.1), s.std
        assert s.std[1:].max() / s.std[1:].min() < 1.15
        assert np.all(np.abs(s.mean) < 0.25 * scale)
    # Without: He initialisation (scale 1) keeps the signal bounded, 1.5× larger weights explode it.
    plain = stats["plain", 1.0]
    assert np.all((plain.std > 0.05) & (plain.std < 1.0))
    big = stats["plain", 1.5]
    assert big.std[4] > 2 and big.std[9] > 10 and big.std[19] > 300
    assert np.all(np.diff(np.log(big.std[4:])) > 0)                   # growing layer after layer
    table = nr.post_table(big)
    assert [r["layer"] for r in table] == [5, 10, 20]
    assert table[2]["std"] == pytest.approx(float(big.std[19]))


def test_residual_stream_stays_bounded_with_the_branch_scale(batch):
    x, _ = batch
    for variant in ("residual", "both"):
        s = nr.signal_through_depth(nr.deep_mlp(50, variant, np.random.default_rng(0)), x)
        assert np.all(np.isfinite(s.std)) and s.std.max() < 3.0
    unscaled = nr.signal_through_depth(nr.deep_mlp(30, "residual", np.random.default_rng(0), branch_scale=1.0), x)
    assert unscaled.std[-1] > 1e3            # x + F(x) with full-size branches: ~2× per block


def test_stream_growth_is_bounded_whatever_the_depth(batch):
    x, _ = batch
    for depth in (5, 50):
        g = nr.stream_growth(nr.deep_mlp(depth, "residual", np.random.default_rng(0)), x)
        assert 1 < g < math.e ** 2                   # (1 + 2/L)^L ≤ e² for a non-negative stream
    # "both": each block adds E[F²] ≈ 1/L, so the stream ends near E[x₀²] + 1.
    model = nr.deep_mlp(20, "both", np.random.default_rng(0))
    h0 = model.layers[1].forward(model.layers[0].forward(x))
    e0 = float(np.mean(h0.astype(np.float64) ** 2))
    assert (nr.stream_growth(model, x) - 1) * e0 == pytest.approx(1.0, rel=0.35)


def test_dead_units_counts_relus_silent_on_every_input():
    rng = np.random.default_rng(8)
    model = nr.deep_mlp(2, "plain", rng, width=4)
    x = rng.random((16, 784)).astype(np.float32)
    dense = nr.blocks(model)[1].layers[0]
    dense.params["W"][:, :2] = 0                                  # two units of block 2: input ≤ 0 always
    dense.params["b"][:2] = -1.0
    dead = nr.dead_units(model, x)
    assert dead.shape == (3,) and dead[2] >= 0.5
    h = model.layers[1].forward(model.layers[0].forward(x))
    h = nr.blocks(model)[0].forward(h)
    expected = np.mean(np.all(nr.blocks(model)[1].forward(h) <= 0, axis=0))
    assert dead[2] == expected


# ------------------------------------------------------------------------------------ gradient flow

def test_gradient_highway_sigmoid_plain_vanishes_residual_does_not(batch):
    x, y = batch
    g = {v: nr.gradient_norms(nr.deep_mlp(20, v, np.random.default_rng(0), activation="sigmoid"), x[:256], y[:256])
         for v in ("plain", "residual")}
    plain, res = g["plain"]["signal"], g["residual"]["signal"]
    assert plain.shape == res.shape == (20,)
    assert plain[0] / plain[-1] < 1e-8                       # ×σ' ≤ 0.25 per layer, twenty times
    assert 0.5 < res[0] / res[-1] < 2.0                      # × (F' + 1): the gradient arrives intact
    assert g["plain"]["weights"][0] / g["plain"]["weights"][-1] < 1e-8


def test_gradient_norms_match_the_model_gradients(batch):
    x, y = batch
    model = nr.deep_mlp(4, "both", np.random.default_rng(3), width=16)
    g = nr.gradient_norms(model, x[:64], y[:64])
    dense = nr.blocks(model)[2].body.layers[2]
    assert isinstance(dense, Dense)
    assert g["weights"][2] == pytest.approx(float(np.linalg.norm(dense.grads["W"])), rel=1e-6)


# ------------------------------------------------------------------------------------ trained nets

@pytest.fixture(scope="module")
def bn_model(digits):
    rng = np.random.default_rng(0)
    model = nr.deep_mlp(3, "batchnorm", rng, width=64)
    nr.train(model, digits.x_train[:4000], digits.y_train[:4000], epochs=2, rng=rng)
    return model, digits.x_test[:1000], digits.y_test[:1000]


def test_batchnorm_eval_vs_training_mode_and_the_batch_of_one(bn_model):
    model, x, y = bn_model
    before = {k: v.copy() for k, v in model.buffers.items()}
    rows = {(r["mode"].split()[0], r["batch size"]): r for r in bni.batchnorm_modes(model, x, y, (1, 8, 128))}
    for k, v in model.buffers.items():                          # predictions never touch the running stats
        np.testing.assert_array_equal(v, before[k])
    assert rows["eval", "any"]["accuracy"] > 0.7
    assert abs(rows["train", "128"]["accuracy"] - rows["eval", "any"]["accuracy"]) < 0.03  # batch ≈ running stats
    assert rows["train", "8"]["accuracy"] < rows["train", "128"]["accuracy"] - 0.03    # noisy small-batch stats
    one = rows["train", "1"]
    assert one["distinct predictions"] == 1                     # every input erased to β: one answer for all
    assert one["accuracy"] < 0.2


def test_running_averages_track_the_batch_statistics(bn_model):
    model, x, _ = bn_model
    s = bni.running_vs_batch_stats(model, x, layer=1)
    assert s["running mean"].shape == s["batch mean"].shape == (64,)
    assert np.corrcoef(s["running mean"], s["batch mean"])[0, 1] > 0.95
    assert np.corrcoef(s["running var"], s["batch var"])[0, 1] > 0.9
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\]"):
        bni.running_vs_batch_stats(model, x, layer=3)


def test_signal_tracker_records_every_epoch(digits):
    rng = np.random.default_rng(0)
    model = nr.deep_mlp(6, "batchnorm", rng, width=32)
    tracker = nr.SignalTracker(digits.x_train[:256])
    nr.train(model, digits.x_train[:1000], digits.y_train[:1000], epochs=2, rng=rng, callbacks=[tracker])
    assert len(tracker.stats) == 3 and tracker.stats[0].std.shape == (6,)
    after = tracker.stats[-1]
    assert not np.allclose(tracker.stats[0].std, after.std)                 # training moved the weights
    np.testing.assert_allclose(after.std, nr.signal_through_depth(model, digits.x_train[:256], training=False).std)
    np.testing.assert_allclose(after.mean, nr.signal_through_depth(model, digits.x_train[:256], training=False).mean)


def test_batchnorm_and_layernorm_normalise_different_axes():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 5)) * [1, 2, 3, 4, 5] + [10, 0, -3, 2, 1]
    demo = bni.norm_axes_demo(x)
    np.testing.assert_allclose(demo["bn feature means"], 0, atol=1e-12)   # BN: per column
    np.testing.assert_allclose(demo["ln sample means"], 0, atol=1e-12)    # LN: per row
    assert np.abs(demo["bn sample means"]).max() > 0.1
    assert np.abs(demo["ln feature means"]).max() > 0.1


def test_problem_solution_table_keeps_the_posts_rows_and_corrects_them():
    assert len(nr.PROBLEM_SOLUTION) == 6 and all(len(r) == 4 for r in nr.PROBLEM_SOLUTION)
    posts = [r[:3] for r in nr.PROBLEM_SOLUTION]
    assert posts[0] == ("Dying neurons", "Neurons output zero forever, stop learning", "ReLU")
    assert posts[-1] == ("Degradation problem", "Deeper networks perform worse than shallow ones",
                         "Skip connections (ResNet)")
    dying = nr.PROBLEM_SOLUTION[0][3]
    assert dying.startswith("Backwards: ReLU *causes* dying units")        # the post's row is backwards
    assert "Adam only hides the explosion" in nr.PROBLEM_SOLUTION[2][3]


def test_batchnorm_layer_count_helper_walks_residuals():
    body = Sequential(BatchNorm1d(4), Dense(4, 4, np.random.default_rng(0)))
    assert len(bni.batchnorm_layers(Sequential(Residual(body), BatchNorm1d(4)))) == 2
