"""Chapter 05 (augmentation, weight_penalties, dropout_ensemble, overfitting): augmentation geometry and
gradient, L2's gradient by finite differences, dropout's expectation, coupled vs decoupled decay, the
experiment's configurations and splits. The real-MNIST runs and the numbers of the docs are in
tests/test_ch05_docs.py."""

import numpy as np
import pytest

import augmentation as aug
import dropout_ensemble as drop
import overfitting as ovf
import regularization
import weight_penalties as pen
from common import fit, softmax_cross_entropy
from common.gradcheck import check_layer, numerical_gradient, rel_error
from common.optimizers import SGD, Adam, AdamW


# --------------------------------------------------------------------------------------- augmentation

def test_rotation_by_90_degrees_is_rot90_and_integer_shifts_move_pixels():
    rng = np.random.default_rng(0)
    imgs = rng.random((3, 28, 28))
    np.testing.assert_allclose(aug.affine_transform(imgs, 90.0, (0, 0)), np.rot90(imgs, 1, axes=(1, 2)),
                               atol=1e-12)
    np.testing.assert_allclose(aug.affine_transform(imgs, -90.0, (0, 0)), np.rot90(imgs, -1, axes=(1, 2)),
                               atol=1e-12)
    shifted = aug.affine_transform(imgs, 0.0, (2, -1))  # 2 right, 1 up
    expected = np.zeros_like(imgs)
    expected[:, :27, 2:] = imgs[:, 1:, :26]
    np.testing.assert_allclose(shifted, expected, atol=1e-12)
    np.testing.assert_array_equal(aug.affine_transform(imgs.reshape(3, 784), 0.0, (0, 0)), imgs.reshape(3, 784))


def test_vectorised_augmentation_matches_the_pixel_loop():
    rng = np.random.default_rng(3)
    imgs = rng.random((3, 28, 28))
    angles, shifts = np.array([12.5, -33.0, 170.0]), np.array([[1.3, -0.7], [-2.2, 0.4], [0.0, 3.9]])
    fast = aug.affine_transform(imgs, angles, shifts)
    for i in range(3):
        np.testing.assert_allclose(fast[i], aug.affine_transform_naive(imgs[i], angles[i], shifts[i]),
                                   rtol=1e-12, atol=1e-14)


def test_a_positive_angle_turns_counter_clockwise_as_displayed():
    """x = col to the right, y = row downwards, centre c = (13.5, 13.5): a point at offset (u, v) from c
    goes to R(−a)(u, v) = (u cos a + v sin a, −u sin a + v cos a), which on screen is counter-clockwise."""
    img = np.zeros((1, 28, 28))
    img[0, 13, 24] = 1.0                                   # right of the centre: offset (10.5, −0.5)
    a = np.deg2rad(30.0)
    out = aug.affine_transform(img, 30.0, (0, 0))[0]
    rows, cols = np.mgrid[:28, :28]
    centroid = np.array([(out * cols).sum(), (out * rows).sum()]) / out.sum()
    u, v = 10.5, -0.5
    expected = (13.5 + u * np.cos(a) + v * np.sin(a), 13.5 - u * np.sin(a) + v * np.cos(a))
    np.testing.assert_allclose(centroid, expected, atol=0.35)   # bilinear resampling blurs the point
    assert centroid[1] < 13                                      # it moved up: counter-clockwise on screen


def test_half_pixel_shift_averages_neighbours():
    img = np.zeros((1, 28, 28))
    img[0, 10, 10] = 1.0
    out = aug.affine_transform(img, 0.0, (0.5, 0.0))
    assert out[0, 10, 10] == pytest.approx(0.5) and out[0, 10, 11] == pytest.approx(0.5)
    assert out.sum() == pytest.approx(1.0)


def test_random_shift_rotate_is_identity_in_eval_and_random_in_training():
    layer = aug.RandomShiftRotate(np.random.default_rng(0), max_shift=2, max_rotation=15)
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
    layer = aug.RandomShiftRotate(np.random.default_rng(0), max_shift=2.5, max_rotation=20)
    x = np.random.default_rng(1).random((3, 784))

    def reset():
        layer.rng = np.random.default_rng(0)

    errors = check_layer(layer, x, np.random.default_rng(2), training=True, before_forward=reset)
    assert errors["x"] < 1e-9


def test_augmentation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="images must be"):
        aug.affine_transform(np.zeros((2, 10)), 0, (0, 0))
    with pytest.raises(ValueError, match="max_rotation must be in"):
        aug.RandomShiftRotate(np.random.default_rng(0), max_rotation=200)
    with pytest.raises(ValueError, match="x must have shape"):
        aug.RandomShiftRotate(np.random.default_rng(0)).forward(np.zeros((2, 100)), training=True)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        aug.RandomShiftRotate(0)


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
    assert pen.l2_penalty(model, 0.3) == pytest.approx(0.15 * (np.sum(W1 ** 2) + np.sum(W2 ** 2)))
    assert [p.shape for p in pen.weight_matrices(model)] == [(6, 5), (5, 3)]
    with pytest.raises(ValueError, match="lam must be >= 0"):
        pen.l2_penalty(model, -1.0)


def test_l2_gradient_is_lambda_w_by_finite_differences_and_is_what_the_optimizer_adds():
    model, X, y = _tiny()
    lam = 0.7
    analytic = pen.regularized_gradients(model, X, y, lam)
    for (p, _), a in zip(model.parameters(), analytic):
        num = numerical_gradient(lambda: np.array(pen.regularized_loss(model, X, y, lam)), p, np.array(1.0))
        assert rel_error(a, num) < 1e-8
    # biases get no λ term: their gradient equals the plain data gradient
    plain = pen.regularized_gradients(model, X, y, 0.0)
    np.testing.assert_array_equal(analytic[1], plain[1])
    np.testing.assert_allclose(analytic[0] - plain[0], lam * model.params["0.W"], rtol=1e-12)
    # one full-batch step of fit with SGD(weight_decay=λ, lr=1) moves each parameter by exactly that gradient
    before = [p.copy() for p, _ in model.parameters()]
    fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=SGD(model, lr=1.0, weight_decay=lam), epochs=1,
        batch_size=None, rng=np.random.default_rng(0), metric=None)
    for b, (p, _), a in zip(before, model.parameters(), analytic):
        np.testing.assert_allclose(b - p, a, rtol=1e-10, atol=1e-14)


# -------------------------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("p", [0.2, 0.5])
def test_inverted_dropout_keeps_the_expected_activation(p):
    x = np.abs(np.random.default_rng(0).standard_normal((20, 50)))
    res = drop.dropout_expectation(x, p, draws=400, rng=np.random.default_rng(1))
    assert res["rel_diff"] < 3 * res["expected_rel_noise"]
    assert res["rel_diff_unscaled"] == pytest.approx(p, abs=3 * res["expected_rel_noise"])
    assert res["kept_fraction"] == pytest.approx(1 - p, abs=0.01)
    np.testing.assert_array_equal(res["eval"], x)


def test_a_layer_of_n_units_has_two_to_the_n_subnetworks():
    assert drop.subnetworks(3) == 8 and drop.subnetworks(256) == 2 ** 256


def test_dropout_masks_are_zero_or_the_inverse_keep_probability():
    masks = drop.dropout_masks(0.25, (4, 8), 5, np.random.default_rng(0))
    assert masks.shape == (5, 4, 8)
    assert set(np.unique(masks).round(12)) <= {0.0, round(1 / 0.75, 12)}
    assert not np.array_equal(masks[0], masks[1])


# --------------------------------------------------------------------------------- coupled vs decoupled

def test_the_decay_comparison_is_fit_on_a_weights_model_fed_its_gradients():
    """``Weights`` through ``fit`` is the hand loop "set the gradient, step" (bitwise)."""
    rows = pen.decay_comparison((3.0, 0.1), lam=0.05, lr=0.02, steps=30)
    W, G = np.ones((1, 2)), np.zeros((1, 2))
    opt = AdamW([(W, G)], lr=0.02, weight_decay=0.05)
    for t in range(30):
        G[0] = np.array([3.0, 0.1]) * (-1.0) ** t
        opt.step()
    assert [r["final w"] for r in rows if r["method"] == "decoupled"] == W[0].tolist()


def test_coupled_l2_under_adam_decays_small_gradient_weights_most_and_adamw_decays_all_alike():
    rows = {(r["method"], r["gradient scale"]): r for r in pen.decay_comparison((10.0, 0.01), lam=0.1, lr=0.01,
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
    model = ovf.build_model(np.random.default_rng(0), hidden=8)
    assert type(ovf.make_optimizer_for(ovf.RegConfig(penalty="l2", lam=0.01), model)) is Adam
    assert ovf.make_optimizer_for(ovf.RegConfig(penalty="l2", lam=0.01), model).weight_decay == 0.01
    assert ovf.make_optimizer_for(ovf.RegConfig(penalty="none", lam=0.01), model).weight_decay == 0.0
    opt = ovf.make_optimizer_for(ovf.RegConfig(penalty="decoupled", lam=0.05), model)
    assert type(opt) is AdamW and opt.weight_decay == 0.05
    with pytest.raises(ValueError, match="penalty must be one of"):
        ovf.RegConfig(penalty="l1").validate()
    with pytest.raises(ValueError, match="dropout must be in"):
        ovf.RegConfig(dropout=1.0).validate()


def test_every_configuration_starts_from_the_same_weights():
    plain = ovf.build_model(np.random.default_rng(3), hidden=16)
    fancy = ovf.build_model(np.random.default_rng(3), hidden=16, dropout=0.5, augment=True,
                            dropout_rng=np.random.default_rng(9), augment_rng=np.random.default_rng(8))
    a = [p for p, _ in plain.parameters()]
    b = [p for p, _ in fancy.parameters()]
    assert len(a) == len(b) == 4 and all(np.array_equal(u, v) for u, v in zip(a, b))


def test_tuning_advice_follows_the_blog_bands():
    assert ovf.tuning_advice(0.005)[0] == "< 1%"
    assert ovf.tuning_advice(0.02)[0] == "1–3%" and "dropout 0.2" in ovf.tuning_advice(0.02)[1]
    assert ovf.tuning_advice(0.08)[0] == "> 3%" and "more data" in ovf.tuning_advice(0.08)[1]


def test_the_front_door_reexports_every_module():
    for module in (aug, pen, drop, ovf):
        for name in module.__all__:
            assert getattr(regularization, name) is getattr(module, name), name


def test_splits_are_disjoint_and_sized():
    x = np.arange(100, dtype=np.float32)[:, None] * np.ones((1, 784), np.float32)
    y = np.arange(100) % 10
    s = ovf.make_splits(x, y, x[:10], y[:10], train_size=30, val_size=20, seed=1)
    assert len(s.X_train) == 30 and len(s.X_val) == 20 and len(s.X_test) == 10
    assert not set(s.X_train[:, 0]) & set(s.X_val[:, 0])
    with pytest.raises(ValueError, match="train_size \\+ val_size"):
        ovf.make_splits(x, y, x, y, train_size=90, val_size=20)


def test_augmentation_matches_torch_affine_grid_and_grid_sample():
    """The same resampling in PyTorch: ``affine_grid`` + ``grid_sample`` (bilinear, zero padding,
    ``align_corners=True``), forward and backward, in float64."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    n, max_shift, max_rot = 4, 2.5, 25.0
    layer = aug.RandomShiftRotate(np.random.default_rng(7), max_shift=max_shift, max_rotation=max_rot)
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
