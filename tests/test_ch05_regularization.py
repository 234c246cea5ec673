"""Chapter 05 (regularization.py): augmentation geometry and gradient, L2's gradient by finite differences,
dropout's expectation, coupled vs decoupled decay, early stopping restoring the best epoch, and the
overfitting experiment on a small real-MNIST subset."""

import re

import numpy as np
import pytest

import regularization as reg
from common.gradcheck import check_layer, numerical_gradient, rel_error
from common.optimizers import SGD, Adam, AdamW


# --------------------------------------------------------------------------------------- augmentation

def test_rotation_by_90_degrees_is_rot90_and_integer_shifts_move_pixels():
    rng = np.random.default_rng(0)
    imgs = rng.random((3, 28, 28))
    np.testing.assert_allclose(reg.affine_transform(imgs, 90.0, (0, 0)), np.rot90(imgs, 1, axes=(1, 2)),
                               atol=1e-12)
    np.testing.assert_allclose(reg.affine_transform(imgs, -90.0, (0, 0)), np.rot90(imgs, -1, axes=(1, 2)),
                               atol=1e-12)
    shifted = reg.affine_transform(imgs, 0.0, (2, -1))  # 2 right, 1 up
    expected = np.zeros_like(imgs)
    expected[:, :27, 2:] = imgs[:, 1:, :26]
    np.testing.assert_allclose(shifted, expected, atol=1e-12)
    np.testing.assert_array_equal(reg.affine_transform(imgs.reshape(3, 784), 0.0, (0, 0)), imgs.reshape(3, 784))


def test_vectorised_augmentation_matches_the_pixel_loop():
    rng = np.random.default_rng(3)
    imgs = rng.random((3, 28, 28))
    angles, shifts = np.array([12.5, -33.0, 170.0]), np.array([[1.3, -0.7], [-2.2, 0.4], [0.0, 3.9]])
    fast = reg.affine_transform(imgs, angles, shifts)
    for i in range(3):
        np.testing.assert_allclose(fast[i], reg.affine_transform_naive(imgs[i], angles[i], shifts[i]),
                                   rtol=1e-12, atol=1e-14)


def test_half_pixel_shift_averages_neighbours():
    img = np.zeros((1, 28, 28))
    img[0, 10, 10] = 1.0
    out = reg.affine_transform(img, 0.0, (0.5, 0.0))
    assert out[0, 10, 10] == pytest.approx(0.5) and out[0, 10, 11] == pytest.approx(0.5)
    assert out.sum() == pytest.approx(1.0)


def test_random_shift_rotate_is_identity_in_eval_and_random_in_training():
    layer = reg.RandomShiftRotate(np.random.default_rng(0), max_shift=2, max_rotation=15)
    x = np.random.default_rng(1).random((4, 784)).astype(np.float32)
    assert layer.forward(x, training=False) is x
    a, b = layer.forward(x, training=True), layer.forward(x, training=True)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert not np.allclose(a, x) and not np.allclose(a, b)
    # mass is (nearly) preserved by small moves of a centred digit-sized blob
    blob = np.zeros((1, 28, 28), np.float32)
    blob[0, 10:18, 10:18] = 1
    moved = layer.forward(blob.reshape(1, 784), training=True)
    assert moved.sum() == pytest.approx(64, rel=0.05)


def test_random_shift_rotate_backward_matches_finite_differences():
    layer = reg.RandomShiftRotate(np.random.default_rng(0), max_shift=2.5, max_rotation=20)
    x = np.random.default_rng(1).random((3, 784))

    def reset():
        layer.rng = np.random.default_rng(0)

    errors = check_layer(layer, x, np.random.default_rng(2), training=True, before_forward=reset)
    assert errors["x"] < 1e-9


def test_augmentation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="images must be"):
        reg.affine_transform(np.zeros((2, 10)), 0, (0, 0))
    with pytest.raises(ValueError, match="max_rotation must be in"):
        reg.RandomShiftRotate(np.random.default_rng(0), max_rotation=200)
    with pytest.raises(ValueError, match="x must have shape"):
        reg.RandomShiftRotate(np.random.default_rng(0)).forward(np.zeros((2, 100)), training=True)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        reg.RandomShiftRotate(0)


# ------------------------------------------------------------------------------------------------ L2

def _tiny(seed=0):
    rng = np.random.default_rng(seed)
    from common import Dense, ReLU, Sequential
    model = Sequential(Dense(6, 5, rng, dtype=np.float64), ReLU(), Dense(5, 3, rng, dtype=np.float64))
    model.params["0.b"][:] = rng.standard_normal(5)   # non-zero biases, so "biases not penalised" is tested
    model.params["2.b"][:] = rng.standard_normal(3)
    return model, rng.standard_normal((8, 6)), rng.integers(0, 3, 8)


def test_l2_penalty_value_counts_weights_only():
    model, _, _ = _tiny()
    W1, W2 = model.params["0.W"], model.params["2.W"]
    assert reg.l2_penalty(model, 0.3) == pytest.approx(0.15 * (np.sum(W1 ** 2) + np.sum(W2 ** 2)))
    assert [p.shape for p in reg.weight_matrices(model)] == [(6, 5), (5, 3)]
    with pytest.raises(ValueError, match="lam must be >= 0"):
        reg.l2_penalty(model, -1.0)


def test_l2_gradient_is_lambda_w_by_finite_differences_and_is_what_the_optimizer_adds():
    model, X, y = _tiny()
    lam = 0.7
    analytic = reg.regularized_gradients(model, X, y, lam)
    for (p, _), a in zip(model.parameters(), analytic):
        num = numerical_gradient(lambda: np.array(reg.regularized_loss(model, X, y, lam)), p, np.array(1.0))
        assert rel_error(a, num) < 1e-8
    # biases get no λ term: their gradient equals the plain data gradient
    plain = reg.regularized_gradients(model, X, y, 0.0)
    np.testing.assert_array_equal(analytic[1], plain[1])
    np.testing.assert_allclose(analytic[0] - plain[0], lam * model.params["0.W"], rtol=1e-12)
    # SGD with weight_decay=λ and lr 1 moves each parameter by exactly that gradient
    before = [p.copy() for p, _ in model.parameters()]
    opt = SGD(model, lr=1.0, weight_decay=lam)
    out = model.forward(X)
    from common import softmax_cross_entropy
    _, dout = softmax_cross_entropy(out, y)
    opt.zero_grad()
    model.backward(dout)
    opt.step()
    for b, (p, _), a in zip(before, model.parameters(), analytic):
        np.testing.assert_allclose(b - p, a, rtol=1e-10, atol=1e-14)


# -------------------------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("p", [0.2, 0.5])
def test_inverted_dropout_keeps_the_expected_activation(p):
    x = np.abs(np.random.default_rng(0).standard_normal((20, 50)))
    res = reg.dropout_expectation(x, p, draws=400, rng=np.random.default_rng(1))
    assert res["rel_diff"] < 3 * res["expected_rel_noise"]
    assert res["rel_diff_unscaled"] == pytest.approx(p, abs=3 * res["expected_rel_noise"])
    assert res["kept_fraction"] == pytest.approx(1 - p, abs=0.01)
    np.testing.assert_array_equal(res["eval"], x)


def test_dropout_masks_are_zero_or_the_inverse_keep_probability():
    masks = reg.dropout_masks(0.25, (4, 8), 5, np.random.default_rng(0))
    assert masks.shape == (5, 4, 8)
    assert set(np.unique(masks).round(12)) <= {0.0, round(1 / 0.75, 12)}
    assert not np.array_equal(masks[0], masks[1])


# --------------------------------------------------------------------------------- coupled vs decoupled

def test_coupled_l2_under_adam_decays_small_gradient_weights_most_and_adamw_decays_all_alike():
    rows = {(r["method"], r["gradient scale"]): r for r in reg.decay_comparison((10.0, 0.01), lam=0.1, lr=0.01,
                                                                                 steps=200)}
    free = rows[("l2", 10.0)]["without decay"]
    assert rows[("l2", 0.01)]["without decay"] == pytest.approx(free, rel=1e-6)   # same noise walk
    # coupled: the large-gradient weight barely decays, the small-gradient one collapses
    assert free - rows[("l2", 10.0)]["final w"] < 0.03
    assert rows[("l2", 0.01)]["final w"] < 0.05
    # decoupled: both lose the same factor (1 - ηλ)^200 (up to the noise walk's own drift)
    for s in (10.0, 0.01):
        assert rows[("decoupled", s)]["final w"] == pytest.approx(free * (1 - 0.01 * 0.1) ** 200, rel=2e-3)
    assert rows[("decoupled", 10.0)]["final w"] == pytest.approx(rows[("decoupled", 0.01)]["final w"], rel=1e-5)


def test_penalty_modes_choose_the_matching_optimizer():
    model = reg.build_model(np.random.default_rng(0), hidden=8)
    assert type(reg.make_optimizer_for(reg.RegConfig(penalty="l2", lam=0.01), model)) is Adam
    assert reg.make_optimizer_for(reg.RegConfig(penalty="l2", lam=0.01), model).weight_decay == 0.01
    assert reg.make_optimizer_for(reg.RegConfig(penalty="none", lam=0.01), model).weight_decay == 0.0
    opt = reg.make_optimizer_for(reg.RegConfig(penalty="decoupled", lam=0.05), model)
    assert type(opt) is AdamW and opt.weight_decay == 0.05
    with pytest.raises(ValueError, match="penalty must be one of"):
        reg.RegConfig(penalty="l1").validate()
    with pytest.raises(ValueError, match="dropout must be in"):
        reg.RegConfig(dropout=1.0).validate()


def test_every_configuration_starts_from_the_same_weights():
    plain = reg.build_model(np.random.default_rng(3), hidden=16)
    fancy = reg.build_model(np.random.default_rng(3), hidden=16, dropout=0.5, augment=True,
                            dropout_rng=np.random.default_rng(9), augment_rng=np.random.default_rng(8))
    a = [p for p, _ in plain.parameters()]
    b = [p for p, _ in fancy.parameters()]
    assert len(a) == len(b) == 4 and all(np.array_equal(u, v) for u, v in zip(a, b))


def test_tuning_advice_follows_the_blog_bands():
    assert reg.tuning_advice(0.005)[0] == "< 1%"
    assert reg.tuning_advice(0.02)[0] == "1–3%" and "dropout 0.2" in reg.tuning_advice(0.02)[1]
    assert reg.tuning_advice(0.08)[0] == "> 3%" and "more data" in reg.tuning_advice(0.08)[1]


def test_splits_are_disjoint_and_sized():
    x = np.arange(100, dtype=np.float32)[:, None] * np.ones((1, 784), np.float32)
    y = np.arange(100) % 10
    s = reg.make_splits(x, y, x[:10], y[:10], train_size=30, val_size=20, seed=1)
    assert len(s.X_train) == 30 and len(s.X_val) == 20 and len(s.X_test) == 10
    assert not set(s.X_train[:, 0]) & set(s.X_val[:, 0])
    with pytest.raises(ValueError, match="train_size \\+ val_size"):
        reg.make_splits(x, y, x, y, train_size=90, val_size=20)


# ------------------------------------------------------------------------------- real-MNIST experiment

@pytest.fixture(scope="module")
def gap_runs(real_mnist):
    """The seven runs of the README's table (GAP_TABLE_CONFIGS), shared by the tests below."""
    splits = reg.gap_table_splits(real_mnist.x_train, real_mnist.y_train, real_mnist.x_test, real_mnist.y_test)
    return splits, [reg.run_experiment(c, splits) for c in reg.GAP_TABLE_CONFIGS]


def test_small_subset_overfits_and_augmentation_narrows_the_gap(gap_runs):
    _, runs = gap_runs
    base, aug = runs[0], runs[4]
    assert base.config.label() == "no regularization" and aug.config.label() == "augmentation"
    assert base.final_train_acc == 1.0           # memorised
    # the stated accuracy: 20 epochs on 1,000 images, tested on the first 2,000 test images (measured
    # 86.4%), with a generalization gap over 10 points (measured 13.6)
    assert base.final_test_acc > 0.85
    assert base.gap > 0.10
    assert len(base.test_acc) == 20 and len(base.w1_norm) == 20
    np.testing.assert_allclose(base.gaps()[-1], base.gap)
    # shifts and rotations: gap 5.4 points, test 91.4%
    assert aug.gap < base.gap - 0.05
    assert aug.final_test_acc > base.final_test_acc + 0.03


def test_early_stopping_restores_the_best_validation_epoch(gap_runs):
    splits, runs = gap_runs
    run = runs[5]
    assert run.config.early_stopping and run.config.patience == 3
    h = run.history
    best = int(np.argmin(h.val_loss))
    assert run.best_epoch == best and run.epochs_run == best + 4   # stopped 3 epochs after the best
    assert h.stop_reason.startswith("early stopping")
    from common import evaluate, softmax_cross_entropy
    val_loss, _ = evaluate(run.model, splits.X_val, splits.y_val, softmax_cross_entropy)
    assert val_loss == pytest.approx(h.val_loss[best], rel=1e-6)
    assert run.final_test_acc == pytest.approx(run.test_acc[best], abs=1e-12)


def test_l2_shrinks_the_weights_it_is_given(gap_runs):
    _, runs = gap_runs
    base, l2 = runs[0], runs[2]
    assert l2.config.penalty == "l2"
    assert l2.w1_norm[-1] < 0.7 * base.w1_norm[-1]
    assert np.std(l2.first_layer_weights()) < np.std(base.first_layer_weights())


# ------------------------------------------------------------------------- the numbers in the docs

def _docs():
    from common.chapters import ROOT
    folder = ROOT / "05-regularization"
    return (folder / "REGULARIZATION_DEEP_DIVE.md").read_text(), (folder / "README.md").read_text()


_NUM = r"(-?\d+(?:\.\d+)?)"


def assert_close_in(expected: str, doc: str, tol: float) -> None:
    """``expected`` appears in ``doc`` with every number within ``tol``. Float32 training is not bitwise
    reproducible across BLAS thread counts (summation order), so numbers that come from trained networks
    are compared to a tolerance: 0.1 accuracy points is 2 images of the 2,000 test images."""
    parts = re.split(_NUM, expected)
    pattern = "".join(_NUM if i % 2 else re.escape(p) for i, p in enumerate(parts))
    m = re.search(pattern, doc)
    assert m, f"{expected!r} not found in the doc, even with other numbers"
    for got, want in zip(m.groups(), parts[1::2]):
        assert abs(float(got) - float(want)) <= tol, (expected, m.group(0))


def test_docs_comparison_table_and_its_prose_are_the_codes(gap_runs):
    deep, readme = _docs()
    _, runs = gap_runs
    code_lines = reg.gap_table_markdown(runs).splitlines()
    lines = deep.splitlines()
    start = lines.index(code_lines[0]) + 2                             # the header is the code's
    doc_rows, code_rows = lines[start:start + len(code_lines) - 2], code_lines[2:]
    assert len(doc_rows) == len(code_rows) == 7
    for doc_row, code_row in zip(doc_rows, code_rows):
        d, c = [x.strip() for x in doc_row.strip("|").split("|")], [x.strip() for x in code_row.strip("|").split("|")]
        assert d[:2] == c[:2]                                        # configuration, epochs run
        for col, tol in ((2, 0.1), (3, 0.1), (4, 0.2), (5, 0.002)):  # accuracies, gap, test loss
            assert abs(float(d[col]) - float(c[col])) <= tol, (d, c)
    base, drop, l2, wd, aug, early, _ = runs
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    assert_close_in(f"Training accuracy reaches\n{pct(base.final_train_acc)}% while test accuracy stays at "
                    f"{pct(base.final_test_acc)}%: a gap of {pct(base.gap)} points", deep, 0.2)
    assert_close_in(f"{pct(base.final_test_acc)}% test accuracy, a gap of {pct(base.gap)}\npoints", readme, 0.2)
    lo, hi = sorted(r.gap for r in (drop, l2, wd))[::2]
    assert_close_in(f"leave the gap between {pct(lo)} and {pct(hi)}\npoints; early stopping gives {pct(early.gap)}",
                    readme, 0.2)
    assert_close_in(f"augmentation brings it to {pct(aug.gap)} with test accuracy up to {pct(aug.final_test_acc)}%",
                    readme, 0.2)
    # early stopping: best epoch (1-based), where it stopped, restored vs full-length test accuracy
    assert f"lowest after epoch {early.best_epoch + 1}" in deep and f"stopped at epoch {early.epochs_run}" in deep
    assert_close_in(f"network is {pct(early.final_test_acc)}%, against {pct(base.final_test_acc)}%", deep, 0.1)
    assert_close_in(f"dropout {drop.final_test_loss:.4f} vs {base.final_test_loss:.4f}", deep, 0.002)
    assert_close_in(f"‖W₁‖ = {l2.w1_norm[-1]:.2f} against {base.w1_norm[-1]:.2f}", deep, 0.05)
    assert_close_in(f"ends at {wd.w1_norm[-1]:.2f}", deep, 0.05)


def test_docs_fixed_numbers_are_the_codes(real_mnist):
    deep, readme = _docs()
    assert reg.decay_markdown() in deep
    free = reg.decay_comparison()[0]["without decay"]
    assert f"{free:.4f} · (1 − 0.001)²⁰⁰ = {free * 0.999 ** 200:.4f}" in deep
    assert reg.build_model(np.random.default_rng(0), hidden=256).num_params() == 203_530   # "about 200,000"
    assert reg.build_model(np.random.default_rng(0), hidden=128).num_params() == 101_770
    assert "101,770 parameters" in readme
    assert f"2²⁵⁶ ≈ {2.0 ** 256 / 1e77:.2f} × 10⁷⁷" in deep
    model = reg.build_model(np.random.default_rng(0), hidden=64)
    acts = model.layers[1].forward(model.layers[0].forward(real_mnist.x_test[:32]))
    res = reg.dropout_expectation(acts, 0.5, 1000, np.random.default_rng(1))
    assert f"{res['nonzero']:,} of them\nnon-zero" in deep
    assert f"‖mean − eval‖/‖eval‖ = {res['rel_diff']:.4f}" in deep
    assert f"√(p/(1 − p)/1000) = {res['expected_rel_noise']:.4f}" in deep
    assert f"off by {res['rel_diff_unscaled']:.4f}" in deep and f"and {res['kept_fraction']:.4f} of the active" in deep


def test_augmentation_matches_torch_affine_grid_and_grid_sample():
    """The same resampling in PyTorch: ``affine_grid`` + ``grid_sample`` (bilinear, zero padding,
    ``align_corners=True``), forward and backward, in float64."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    n, max_shift, max_rot = 4, 2.5, 25.0
    layer = reg.RandomShiftRotate(np.random.default_rng(7), max_shift=max_shift, max_rotation=max_rot)
    x = np.random.default_rng(8).random((n, 784))
    out = layer.forward(x, training=True)
    dout = np.random.default_rng(9).standard_normal(out.shape)
    dx = layer.backward(dout)
    # the same draws as the layer made
    rng = np.random.default_rng(7)
    angles = np.deg2rad(rng.uniform(-max_rot, max_rot, n))
    shifts = rng.uniform(-max_shift, max_shift, (n, 2))
    c = 13.5
    cos, sin = np.cos(angles), np.sin(angles)
    theta = np.stack([np.stack([cos, -sin, -(cos * shifts[:, 0] - sin * shifts[:, 1]) / c], 1),
                      np.stack([sin, cos, -(sin * shifts[:, 0] + cos * shifts[:, 1]) / c], 1)], 1)  # (N, 2, 3)
    xt = torch.tensor(x.reshape(n, 1, 28, 28), requires_grad=True)
    grid = F.affine_grid(torch.tensor(theta), [n, 1, 28, 28], align_corners=True)
    ot = F.grid_sample(xt, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    np.testing.assert_allclose(out, ot.detach().numpy().reshape(n, 784), atol=1e-12)
    (ot * torch.tensor(dout.reshape(n, 1, 28, 28))).sum().backward()
    np.testing.assert_allclose(dx, xt.grad.numpy().reshape(n, 784), atol=1e-12)
