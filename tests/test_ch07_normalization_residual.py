"""Chapter 07 (normalization_residual.py): the four deep-MLP variants, signal through depth, gradient
flow, the depth experiment on real MNIST, and BatchNorm in training vs evaluation mode."""

import math

import numpy as np
import pytest

import normalization_residual as nr
from common.layers import Dense, Sequential
from common.norm import BatchNorm1d, Residual


@pytest.fixture(scope="module")
def batch():
    from common.mnist import load_mnist
    d = load_mnist()
    return d.x_train[:512], d.y_train[:512]


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
    assert len(nr.batchnorm_layers(model)) == (depth if variant in ("batchnorm", "both") else 0)
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
        nr.running_vs_batch_stats(nr.deep_mlp(3, "plain", rng), np.zeros((2, 784), np.float32))


# ----------------------------------------------------------------------------- signal through depth

def test_signal_through_depth_with_and_without_batchnorm(batch):
    x, _ = batch
    stats = {}
    for variant in ("plain", "batchnorm"):
        for scale in (1.0, 1.5):
            model = nr.deep_mlp(20, variant, np.random.default_rng(0), init_scale=scale)
            stats[variant, scale] = nr.signal_through_depth(model, x)
    # With BatchNorm: mean 0 and std 1 at every layer, whatever the initial scale (the post's table).
    for scale in (1.0, 1.5):
        s = stats["batchnorm", scale]
        assert np.all(np.abs(s.mean) < 1e-4)
        assert np.all(np.abs(s.std - 1) < 1e-3)
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


# ---------------------------------------------------------------------------------- trained on MNIST

def _readme_table(name):
    from common.chapters import ROOT
    text = (ROOT / "07-normalization-residual" / "README.md").read_text()
    lines = text.split(f"<!-- table: {name} -->", 1)[1].strip().splitlines()
    block = []
    for line in lines:
        if not line.startswith("|"):
            break
        block.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [dict(zip(block[0], r)) for r in block[2:]]


def test_depth_experiment_degradation_fixed_by_residuals(real_mnist):
    d = real_mnist
    rows = nr.depth_experiment(d.x_train[:3000], d.y_train[:3000], d.x_test[:1000], d.y_test[:1000],
                               depths=(5, 30), epochs=2, seed=0)
    r = {(row["variant"], row["depth"]): row for row in rows}
    # Measured (seed 0): plain 5 → 0.47, plain 30 → 1.40 training loss; residual 5 → 0.32, 30 → 0.26.
    assert r["plain", 30]["train loss"] > 2 * r["plain", 5]["train loss"]          # deeper trains worse
    assert r["residual", 30]["train loss"] < r["plain", 30]["train loss"] / 3       # skips fix it
    assert r["residual", 30]["train loss"] < r["residual", 5]["train loss"] * 1.2
    assert r["residual", 30]["val acc"] > 0.8 > r["plain", 30]["val acc"]
    assert r["batchnorm", 30]["val acc"] < 0.2                                     # BN alone, deep: stuck
    # The README's table is this run (float32 sums may differ in the last digits with BLAS threading).
    quoted = _readme_table("depth-experiment")
    assert [(q["variant"], int(q["depth"])) for q in quoted] == [(row["variant"], row["depth"]) for row in rows]
    for q in quoted:
        row = r[q["variant"], int(q["depth"])]
        # The two depth-30 nets that barely train sit near ties between classes, so float32 rounding
        # (one BLAS thread or two) moves their accuracy by several points: measured 42.0% vs 48.6% train
        # accuracy for plain. The README says so; everywhere else the runs agree to 0.2 points.
        stuck = int(q["depth"]) == 30 and q["variant"] in ("plain", "batchnorm")
        tol = 0.08 if stuck else 0.015
        assert row["train loss"] == pytest.approx(float(q["train loss"]), rel=0.03), q
        assert row["train acc"] == pytest.approx(float(q["train accuracy"].rstrip("%")) / 100, abs=tol), q
        assert row["val acc"] == pytest.approx(float(q["test accuracy"].rstrip("%")) / 100, abs=tol), q


@pytest.fixture(scope="module")
def bn_model(real_mnist):
    d = real_mnist
    rng = np.random.default_rng(0)
    model = nr.deep_mlp(3, "batchnorm", rng, width=64)
    nr.train(model, d.x_train[:4000], d.y_train[:4000], epochs=2, rng=rng)
    return model, d.x_test[:1000], d.y_test[:1000]


def test_batchnorm_eval_vs_training_mode_and_the_batch_of_one(bn_model):
    model, x, y = bn_model
    before = {k: v.copy() for k, v in model.buffers.items()}
    rows = {(r["mode"].split()[0], r["batch size"]): r for r in nr.batchnorm_modes(model, x, y, (1, 8, 128))}
    for k, v in model.buffers.items():                          # predictions never touch the running stats
        np.testing.assert_array_equal(v, before[k])
    # Measured (seed 0): eval 81.9%; training mode with batches of 128: 81.2%, of 8: 71.1%, of 1: 8.9%.
    assert rows["eval", "any"]["accuracy"] > 0.78
    assert abs(rows["train", "128"]["accuracy"] - rows["eval", "any"]["accuracy"]) < 0.03  # batch ≈ running stats
    assert rows["train", "8"]["accuracy"] < rows["train", "128"]["accuracy"] - 0.03    # noisy small-batch stats
    one = rows["train", "1"]
    assert one["distinct predictions"] == 1                     # every input erased to β: one answer for all
    assert one["accuracy"] < 0.2
    quoted = _readme_table("bn-modes")
    assert len(quoted) == 4
    for q, (key, row) in zip(quoted, rows.items()):
        assert q["batch size"] == key[1]
        assert row["accuracy"] == pytest.approx(float(q["accuracy"].rstrip("%")) / 100, abs=0.01), q
        assert row["distinct predictions"] == int(q["distinct predictions"])


def test_running_averages_track_the_batch_statistics(bn_model):
    model, x, _ = bn_model
    s = nr.running_vs_batch_stats(model, x, layer=1)
    assert s["running mean"].shape == s["batch mean"].shape == (64,)
    assert np.corrcoef(s["running mean"], s["batch mean"])[0, 1] > 0.95
    assert np.corrcoef(s["running var"], s["batch var"])[0, 1] > 0.9
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\]"):
        nr.running_vs_batch_stats(model, x, layer=3)


def test_signal_tracker_records_every_epoch(real_mnist):
    d = real_mnist
    rng = np.random.default_rng(0)
    model = nr.deep_mlp(6, "batchnorm", rng, width=32)
    tracker = nr.SignalTracker(d.x_train[:256])
    nr.train(model, d.x_train[:1000], d.y_train[:1000], epochs=2, rng=rng, callbacks=[tracker])
    assert len(tracker.stats) == 3 and tracker.stats[0].std.shape == (6,)
    # After training the BN layers' outputs (eval mode, running statistics) are γ·x̂ + β with learned
    # γ, β: centred, with the spread the net chose (measured std 0.61-0.73 here), no longer exactly 1.
    after = tracker.stats[-1]
    assert np.all(np.abs(after.mean) < 0.1)
    assert np.all((after.std > 0.4) & (after.std < 1.0))
    assert not np.allclose(tracker.stats[0].std, after.std)
    np.testing.assert_allclose(after.std, nr.signal_through_depth(model, d.x_train[:256], training=False).std)


def test_batchnorm_and_layernorm_normalise_different_axes():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 5)) * [1, 2, 3, 4, 5] + [10, 0, -3, 2, 1]
    demo = nr.norm_axes_demo(x)
    np.testing.assert_allclose(demo["bn feature means"], 0, atol=1e-12)   # BN: per column
    np.testing.assert_allclose(demo["ln sample means"], 0, atol=1e-12)    # LN: per row
    assert np.abs(demo["bn sample means"]).max() > 0.1
    assert np.abs(demo["ln feature means"]).max() > 0.1


def test_problem_solution_table_from_the_post():
    assert len(nr.PROBLEM_SOLUTION) == 6
    assert nr.PROBLEM_SOLUTION[-1] == ("Degradation problem", "Deeper networks perform worse than shallow ones",
                                       "Skip connections (ResNet)")


def test_batchnorm_layer_count_helper_walks_residuals():
    body = Sequential(BatchNorm1d(4), Dense(4, 4, np.random.default_rng(0)))
    assert len(nr.batchnorm_layers(Sequential(Residual(body), BatchNorm1d(4)))) == 2
