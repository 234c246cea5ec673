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
from common.checkpoints import RECORDED_BLAS_CORE, on_recorded_kernel
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


# ----------------------------------------------------------------------- the learning-rate sweep

def test_lr_label_writes_the_docs_notation():
    assert [nr.lr_label(lr) for lr in nr.SWEEP_LRS] == ["10⁻³", "10⁻²", "3·10⁻²", "10⁻¹"]
    assert nr.lr_label(3e-4) == "3·10⁻⁴" and nr.lr_label(1.0) == "10⁰"
    with pytest.raises(ValueError, match="lr"):
        nr.lr_label(0.0)


def test_lr_sweep_runs_every_variant_at_every_rate_in_order(digits):
    x, y, xv, yv = digits.x_train[:300], digits.y_train[:300], digits.x_test[:100], digits.y_test[:100]
    seen, asked = [], []
    rows = nr.lr_sweep(x, y, xv, yv, depth=3, variants=("plain", "both"), lrs=(1e-3, 1e-1), epochs=1,
                       on_result=seen.append, callbacks=lambda v, lr: asked.append((v, lr)) or [])
    assert [(r["variant"], r["lr"]) for r in rows] == [("plain", 1e-3), ("plain", 1e-1), ("both", 1e-3), ("both", 1e-1)]
    assert asked == [(r["variant"], r["lr"]) for r in rows] and seen == rows
    assert all(r["depth"] == 3 and r["history"].epochs == 1 and 0 <= r["val acc"] <= 1 for r in rows)
    # The run at lr 10⁻³ is the depth experiment's run: same seed, same budget, bitwise the same.
    (same,) = nr.depth_experiment(x, y, xv, yv, depths=(3,), variants=("plain",), epochs=1, lr=1e-3)
    assert {k: same[k] for k in nr.SWEEP_FIELDS} == {k: rows[0][k] for k in nr.SWEEP_FIELDS}


def test_depth_experiment_honours_activation_and_init_scale(digits):
    x, y = digits.x_train[:200], digits.y_train[:200]
    kw = dict(depths=(4,), variants=("plain",), epochs=1)
    relu = nr.depth_experiment(x, y, x[:50], y[:50], **kw)[0]
    sig = nr.depth_experiment(x, y, x[:50], y[:50], activation="sigmoid", **kw)[0]
    big = nr.depth_experiment(x, y, x[:50], y[:50], init_scale=1.5, **kw)[0]
    assert len({relu["train loss"], sig["train loss"], big["train loss"]}) == 3


def test_sweep_arrays_round_trip_through_a_checkpoint(tmp_path):
    rows = [{"variant": v, "depth": d, "lr": lr, "train loss": i + 0.5, "train acc": 0.1 * j, "val acc": 0.01 * i}
            for i, (d, v, lr) in enumerate((d, v, lr) for d in nr.SWEEP_DEPTHS for v in nr.VARIANTS for lr in nr.SWEEP_LRS)
            for j in [i % 10]]
    path = Sequential().save(tmp_path / "s.npz", meta={"script": "x"}, extras=nr.sweep_arrays(rows))
    assert nr.load_sweep(path) == rows


def test_bn_vs_plain_is_computed_from_the_rows():
    rows = [{"variant": v, "depth": 5, "lr": lr, "val acc": acc}
            for v, lr, acc in (("plain", 1e-3, 0.8), ("batchnorm", 1e-3, 0.75), ("plain", 1e-1, 0.1),
                               ("batchnorm", 1e-1, 0.82), ("residual", 1e-1, 0.5))]
    assert nr.bn_vs_plain(rows, 5) == ("Depth 5: at lr 10⁻³ BatchNorm trails the plain net, 75.0% against 80.0%; "
                                       "at lr 10⁻¹ BatchNorm leads the plain net, 82.0% against 10.0%.")
    assert nr.bn_vs_plain(rows, 30) == ""


def test_the_shipped_sweep_is_small_and_names_its_script():
    from common.checkpoints import read_meta
    path = nr.sweep_path()
    assert path.stat().st_size < 20_000
    meta = read_meta(path)
    assert meta["script"] == "07-normalization-residual/train_normalization_residual.py"
    assert (meta["depths"], meta["lrs"], meta["variants"]) == (list(nr.SWEEP_DEPTHS), list(nr.SWEEP_LRS), list(nr.VARIANTS))
    assert {k: meta[k] for k in nr.DEPTH_RUN} == nr.DEPTH_RUN
    rows = nr.load_sweep()
    assert len(rows) == len(nr.SWEEP_DEPTHS) * len(nr.VARIANTS) * len(nr.SWEEP_LRS)
    assert all(0 <= r["val acc"] <= 1 and math.isfinite(r["train loss"]) for r in rows)


def _retrained(real_mnist, depths):
    import train_normalization_residual as script
    rows = nr.sweep_record(real_mnist, depths=depths)
    return script.compare(nr, rows, nr.sweep_path()), rows


#: The sweep reproduces bit for bit only with the BLAS kernel it was recorded with; under Haswell its
#: accuracies move by up to 1.6 points (BatchNorm at depth 30, a net near chance), so no tolerance says much.
RECORDED_KERNEL_ONLY = pytest.mark.skipif(not on_recorded_kernel(),
                                          reason=f"the sweep is bitwise only with OpenBLAS {RECORDED_BLAS_CORE}")


@RECORDED_KERNEL_ONLY
def test_the_training_script_reproduces_the_shipped_sweep_at_depth_5(real_mnist):
    """Every recorded number at depth 5, retrained (one BLAS thread, as the script pins): equal, bit for bit."""
    bad, rows = _retrained(real_mnist, (5,))
    assert len(rows) == len(nr.VARIANTS) * len(nr.SWEEP_LRS) and bad == []


@pytest.mark.slow
@RECORDED_KERNEL_ONLY
def test_the_training_script_check_mode_reproduces_the_whole_sweep(real_mnist, capsys):
    import train_normalization_residual as script
    assert script.main(["--check", "--quiet"]) == 0
    assert "the retrained sweep equals the recorded one" in capsys.readouterr().out


def test_page_actions_are_registered_for_the_pages_buttons():
    assert list(nr.PAGE_ACTIONS) == ["Rerun the sweep live at depth 5", "Train the four variants",
                                     "Depth experiment: depth 5 vs 20", "Train the small BatchNorm net"]
    assert all(callable(fn) for fn in nr.PAGE_ACTIONS.values())
    page = (nr.sweep_path().parent.parent / "normalization_residual_playground.py").read_text()
    for label in ("Rerun the sweep live at depth", "Train the four variants", "Depth experiment: depth 5 vs",
                  "Train the small BatchNorm net"):
        assert label in page
