"""Chapter 04 (loss_landscapes, gradient_noise, ewma, adam_bias_correction, optimizer_race): 2-D
trajectories against hand-computed steps, the test functions' gradients and minima, path diagnostics,
gradient-noise statistics, EWMA and bias correction, and a short real-MNIST race."""

import itertools

import numpy as np
import pytest

import adam_bias_correction as adam_bc
import ewma as ew
import gradient_noise as noise
import loss_landscapes as land
import optimization
import optimizer_race as racing
from common.gradcheck import rel_error
from common.optimizers import DEFAULT_LR, SGD

NAMES = land.OPTIMIZER_NAMES


def hand_steps(name, grad, p0, lr, n):
    """The update equations written out independently of common.optimizers (default hyper-parameters:
    μ = 0.9, Adagrad ε = 1e-10, RMSProp ρ = 0.99, ε = 1e-8, Adam β = (0.9, 0.999), ε = 1e-8)."""
    p = np.array(p0, dtype=np.float64)
    v = np.zeros(2)
    G = np.zeros(2)
    m = np.zeros(2)
    out = [p.copy()]
    for t in range(1, n + 1):
        g = grad(p)
        if name == "SGD":
            p = p - lr * g
        elif name in ("Momentum", "Nesterov"):
            v = 0.9 * v + g
            p = p - lr * (v if name == "Momentum" else g + 0.9 * v)
        elif name == "Adagrad":
            G = G + g * g
            p = p - lr * g / (np.sqrt(G) + 1e-10)
        elif name == "RMSProp":
            G = 0.99 * G + 0.01 * g * g
            p = p - lr * g / (np.sqrt(G) + 1e-8)
        else:  # Adam; AdamW equals Adam on a (2,) point: decay only touches matrices
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mh, vh = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
            p = p - lr * mh / (np.sqrt(vh) + 1e-8)
        out.append(p.copy())
    return np.array(out)


@pytest.mark.parametrize("key", list(land.FUNCTIONS))
@pytest.mark.parametrize("name", NAMES)
def test_trajectory_first_steps_match_the_update_equations(key, name):
    fn = land.FUNCTIONS[key]
    tr = land.trajectory(fn, name, steps=5)
    expected = hand_steps(name, fn.grad, fn.start, fn.lrs[name], 5)
    np.testing.assert_allclose(tr.points, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tr.losses, fn.f(expected), rtol=1e-12, atol=1e-14)


def test_a_point_is_a_model_that_fit_trains():
    """``descend`` is ``fit`` on a ``Point``: the points are the SGD steps, the recorded losses the surface
    before each step, and a callback's stop ends the path where it stopped."""
    fn = land.FUNCTIONS["bowl"]
    point = land.Point(fn.start)
    assert point.num_params() == 2 and point.forward(None) is point.p
    pts, history = land.descend(point, SGD(point, lr=0.05), land.surface_loss(fn), 4)
    np.testing.assert_allclose(pts, hand_steps("SGD", fn.grad, fn.start, 0.05, 4), rtol=1e-15)
    np.testing.assert_allclose(history.batch_loss, fn.f(pts[:-1]), rtol=1e-15)
    assert history.steps == 4 and history.epochs == 1
    with pytest.raises(ValueError, match="start must be a point"):
        land.Point(np.zeros((2, 2)))


def test_the_front_door_reexports_every_module():
    for module in (land, noise, ew, adam_bc, racing):
        for name in module.__all__:
            assert getattr(optimization, name) is getattr(module, name), name


@pytest.mark.parametrize("key", list(land.FUNCTIONS))
def test_function_gradients_match_finite_differences(key):
    fn = land.FUNCTIONS[key]
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(*fn.xlim, 20), rng.uniform(*fn.ylim, 20)])
    h = 1e-6
    num = np.stack([(fn.f(pts + h * e) - fn.f(pts - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)
    assert rel_error(fn.grad(pts), num) < 1e-8
    # the vectorised form agrees with the single-point form
    np.testing.assert_allclose(fn.grad(pts[3]), fn.grad(pts)[3])


@pytest.mark.parametrize("key", list(land.FUNCTIONS))
def test_minima_are_stationary_with_positive_curvature_and_the_global_one_is_first(key):
    fn = land.FUNCTIONS[key]
    h = 1e-5
    for m in np.asarray(fn.minima):
        assert np.linalg.norm(fn.grad(m)) < 1e-9
        hess = np.stack([(fn.grad(m + h * e) - fn.grad(m - h * e)) / (2 * h) for e in np.eye(2)])
        assert np.all(np.linalg.eigvalsh((hess + hess.T) / 2) > 0)
    values = fn.f(np.asarray(fn.minima))
    assert values[0] == values.min()


def test_wells_have_four_minima_of_different_depths():
    fn = land.FUNCTIONS["wells"]
    values = fn.f(np.asarray(fn.minima))
    assert len(values) == 4 and len(np.unique(np.round(values, 6))) == 4
    np.testing.assert_allclose(fn.minima[0], (-1.0574537707, -1.0355787141), atol=1e-9)


def test_sgd_zigzags_across_the_bowl_while_momentum_overshoots_along_it():
    fn = land.FUNCTIONS["bowl"]
    sgd = land.trajectory(fn, "SGD", steps=60)
    flips_x, flips_y = sgd.direction_flips()
    # lr·κ = 0.09·20 = 1.8 > 1: each y step overshoots the valley floor, so y flips every step
    assert flips_x == 0 and flips_y == 59
    np.testing.assert_allclose(sgd.points[1:6, 1], fn.start[1] * (1 - 0.09 * 20) ** np.arange(1, 6))
    mom = land.trajectory(fn, "Momentum")
    crossings_x, _ = mom.crossings((0.0, 0.0))
    assert crossings_x >= 3  # rolls past x = 0 and back: overshoot along the shallow axis
    assert sgd.crossings((0.0, 0.0))[0] == 0


def test_adagrad_stalls_on_rosenbrock_where_adam_arrives():
    fn = land.FUNCTIONS["rosenbrock"]
    ada = land.trajectory(fn, "Adagrad")
    adam = land.trajectory(fn, "Adam")
    assert ada.steps_to_min is None
    assert np.linalg.norm(ada.points[-1] - 1) > 0.5 and ada.last_step() < 1e-3
    assert adam.steps_to_min is not None and adam.steps_to_min < fn.steps


def test_momentum_crosses_a_ridge_that_stops_sgd_in_the_wells():
    fn = land.FUNCTIONS["wells"]
    rows = {r["optimizer"]: r for r in land.trajectory_table(
        fn, {n: land.trajectory(fn, n) for n in ("SGD", "Momentum")})}
    assert rows["SGD"]["ends in"] == "local min 3"
    assert rows["Momentum"]["ends in"] == "global min"


def test_adaptive_methods_escape_the_saddle_sooner_than_sgd():
    fn = land.FUNCTIONS["saddle"]
    steps = {n: land.trajectory(fn, n, stop_at_min=True).steps_to_min for n in ("SGD", "Adagrad", "RMSProp")}
    assert steps["Adagrad"] < steps["SGD"] / 2 and steps["RMSProp"] < steps["SGD"] / 2


def test_sgd_on_the_bowl_oscillates_at_lr_2_over_kappa_and_diverges_above():
    at_edge = land.trajectory("bowl", "SGD", lr=0.1, steps=400)            # 1 - 0.1·20 = -1 exactly
    assert not at_edge.diverged and at_edge.steps_to_min is None
    np.testing.assert_array_equal(np.abs(at_edge.points[:, 1]), 1.0)
    assert land.trajectory("bowl", "SGD", lr=0.101, steps=3000).diverged


def test_too_large_a_learning_rate_is_reported_as_diverged():
    tr = land.trajectory("bowl", "SGD", lr=0.2, steps=500)  # lr·κ = 4 > 2
    assert tr.diverged and len(tr.points) < 500
    row = land.trajectory_table(land.FUNCTIONS["bowl"], {"SGD": tr})[0]
    assert row["steps to min"] == "diverged"


def test_trajectory_and_ewma_reject_bad_arguments():
    with pytest.raises(ValueError, match="fn must be one of"):
        land.trajectory("himmelblau", "SGD")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        land.trajectory("bowl", "Lion")
    with pytest.raises(ValueError, match="start must be a point"):
        land.trajectory("bowl", "SGD", start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="lr must be > 0"):
        land.trajectory("bowl", "SGD", lr=-1.0)
    with pytest.raises(ValueError, match="beta must be in"):
        ew.ewma(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        ew.noisy_series(10, np.random.default_rng(0), kind="square")
    with pytest.raises(ValueError, match="names must be one of"):
        racing.race(["Adamax"], np.zeros((2, 784)), np.zeros(2, int), np.zeros((2, 784)), np.zeros(2, int))
    with pytest.raises(ValueError, match="names must list"):
        racing.race([], np.zeros((2, 784)), np.zeros(2, int), np.zeros((2, 784)), np.zeros(2, int))
    with pytest.raises(ValueError, match="batch_size must be <="):
        noise.expected_batch_variance(1.0, 10, 11)


# ------------------------------------------------------------------------------------------- EWMA

def test_ewma_matches_its_closed_form_and_bias_correction_divides_by_the_weight_sum():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50)
    beta = 0.8
    v = ew.ewma(x, beta)
    closed = np.array([ew.ewma_weights(t, beta) @ x[:t] for t in range(1, 51)])
    np.testing.assert_allclose(v, closed, rtol=1e-12)
    np.testing.assert_allclose(ew.ewma_weights(7, beta).sum(), 1 - beta ** 7)
    np.testing.assert_allclose(ew.ewma(x, beta, bias_correction=True), v / (1 - beta ** np.arange(1, 51)))


def test_ewma_of_a_constant_is_biased_toward_zero_and_exact_once_corrected():
    c, beta = 3.0, 0.9
    v = ew.ewma(np.full(30, c), beta)
    np.testing.assert_allclose(v, c * (1 - beta ** np.arange(1, 31)), rtol=1e-12)
    assert v[0] == pytest.approx(0.3)
    np.testing.assert_allclose(ew.ewma(np.full(30, c), beta, bias_correction=True), c, rtol=1e-12)
    assert ew.effective_window(0.9) == pytest.approx(10.0)
    assert ew.effective_window(0.999) == pytest.approx(1000.0)


def test_steps_to_reach_a_fraction_of_a_constant():
    for beta in (0.9, 0.99, 0.999):
        for frac in (0.5, 0.63, 0.95):
            t = ew.steps_to_reach(frac, beta)
            v = ew.ewma(np.ones(t), beta)
            assert v[-1] >= frac and (t == 1 or v[-2] < frac)
    assert ew.steps_to_reach(0.95, 0.99) == 299


def test_noisy_series_shapes_and_noise_level():
    clean, noisy = ew.noisy_series(5000, np.random.default_rng(0), kind="constant", noise=0.5, level=2.0)
    assert clean.shape == noisy.shape == (5000,)
    assert np.all(clean == 2.0)
    assert np.std(noisy - clean) == pytest.approx(0.5, rel=0.05)
    clean, _ = ew.noisy_series(100, np.random.default_rng(0), kind="step")
    assert clean[49] == 2.0 and clean[50] == 4.0


def test_adam_takes_lr_sized_steps_on_a_constant_gradient_and_uncorrected_adam_does_not():
    g = np.full(200, 0.5)
    corrected = adam_bc.adam_step_sizes(g, lr=0.01)
    np.testing.assert_allclose(corrected, 0.01, rtol=1e-6)
    raw = adam_bc.adam_step_sizes(g, lr=0.01, bias_correction=False)
    t = np.arange(1, 201)
    np.testing.assert_allclose(raw, 0.01 * adam_bc.uncorrected_step_factor(t), rtol=1e-6)
    assert raw[0] / 0.01 == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-6)  # 3.16× too large at t = 1
    assert 6.4 < raw.max() / 0.01 < 6.7
    assert 8 <= int(np.argmax(raw)) + 1 <= 14


# ----------------------------------------------------------------------------------- gradient noise

def _tiny_problem(n=6, d=5, h=4, seed=0):
    rng = np.random.default_rng(seed)
    from common import Dense, ReLU, Sequential
    model = Sequential(Dense(d, h, rng, dtype=np.float64), ReLU(), Dense(h, 3, rng, dtype=np.float64))
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 3, n)
    return model, X, y


def test_per_sample_statistics_match_brute_force():
    model, X, y = _tiny_problem(n=8)
    g_mean, sigma2 = noise.per_sample_gradient_stats(model, X, y)
    full = noise.batch_gradient(model, X, y)
    np.testing.assert_allclose(g_mean, full, rtol=1e-10, atol=1e-14)
    singles = np.stack([noise.batch_gradient(model, X[i:i + 1], y[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(singles.mean(axis=0), full, rtol=1e-10, atol=1e-14)
    brute = np.mean(np.sum((singles - full) ** 2, axis=1))
    assert sigma2 == pytest.approx(brute, rel=1e-10)


def test_minibatch_variance_formula_is_exact_over_all_batches():
    model, X, y = _tiny_problem(n=6)
    g, sigma2 = noise.per_sample_gradient_stats(model, X, y)
    for b in (1, 2, 3, 6):
        exact = np.mean([np.sum((noise.batch_gradient(model, X[list(c)], y[list(c)]) - g) ** 2)
                         for c in itertools.combinations(range(6), b)])
        assert exact == pytest.approx(noise.expected_batch_variance(sigma2, 6, b), rel=1e-9, abs=1e-15)
    assert noise.expected_batch_variance(sigma2, 6, 6) == 0.0


def test_measured_variance_falls_like_one_over_batch_size_on_real_mnist(real_mnist):
    rng = np.random.default_rng(0)
    model = racing.build_mlp(rng, hidden=32, dtype=np.float64)
    X, y = real_mnist.x_train[:1000].astype(np.float64), real_mnist.y_train[:1000]
    g, sigma2 = noise.per_sample_gradient_stats(model, X, y)
    for b in (16, 128):
        measured = noise.measured_batch_variance(model, X, y, b, draws=100, rng=rng, g_full=g)
        # 100 draws: the Monte-Carlo mean lands within ~6% of the exact expectation (seeds 0-2 measured
        # 0.95-1.02); 15% leaves room without hiding a wrong 1/B law (which would be off by 2× or more)
        assert measured == pytest.approx(noise.expected_batch_variance(sigma2, 1000, b), rel=0.15)
    t1 = noise.time_per_update(model, X, y, 1, repeats=5)
    before = [p.copy() for p, _ in model.parameters()]
    tn = noise.time_per_update(model, X, y, None, repeats=3)
    assert 0 < t1 < tn
    epoch = noise.epoch_seconds(model, X[:256], y[:256], 64, repeats=1)
    assert epoch > 0
    assert all(np.array_equal(a, p) for a, (p, _) in zip(before, model.parameters()))


# --------------------------------------------------------------------------------------- MNIST race

def test_race_starts_every_optimizer_from_the_same_weights_and_learns(real_mnist):
    from common.training import Callback

    starts = {}

    class Snapshot(Callback):
        def __init__(self, name):
            self.name = name

        def on_train_begin(self, state):
            starts[self.name] = [p.copy() for p, _ in state.model.parameters()]

    X, y = real_mnist.x_train[:3000], real_mnist.y_train[:3000]
    Xt, yt = real_mnist.x_test[:2000], real_mnist.y_test[:2000]
    results = racing.race(["SGD", "Adam", "Momentum"], X, y, Xt, yt, epochs=3, batch_size=32, seed=0,
                       callbacks_for=lambda name: [Snapshot(name)])
    for name in ("Adam", "Momentum"):
        assert all(np.array_equal(a, b) for a, b in zip(starts["SGD"], starts[name]))
    for name, r in results.items():
        assert r.history.epochs == 3 and len(r.history.val_acc) == 3
        assert r.lr == DEFAULT_LR[name]
    # the stated accuracies: 3 epochs on 3,000 images, tested on 2,000 held-out images (measured with
    # seeds 0/1/2: SGD 85.8/84.2/86.6%, Momentum 86.6/85.6/86.3%, Adam 87.7/86.8/87.5%)
    assert results["SGD"].history.val_acc[-1] > 0.83
    assert results["Momentum"].history.val_acc[-1] > 0.85
    assert results["Adam"].history.val_acc[-1] > 0.86
    assert not np.array_equal(results["SGD"].model.params["0.W"], results["Adam"].model.params["0.W"])
    rows = racing.results_table(results)
    assert [r["optimizer"] for r in rows] == ["SGD", "Adam", "Momentum"]
    assert rows[1]["test acc %"] == round(100 * results["Adam"].history.val_acc[-1], 2)


def test_full_batch_race_takes_one_step_per_epoch(real_mnist):
    X, y = real_mnist.x_train[:500], real_mnist.y_train[:500]
    results = racing.race(["SGD"], X, y, X[:100], y[:100], batch_size=None, epochs=4, lrs={"SGD": 0.5})
    assert len(results["SGD"].history.batch_loss) == 4
    assert results["SGD"].lr == 0.5


# ------------------------------------------------------------------------------------ worked numbers

def test_worked_first_steps_match_the_hand_equations():
    grad = lambda p: p * np.array([1.0, 5.0])  # noqa: E731
    for name in NAMES:
        np.testing.assert_allclose(land.worked_first_steps(name),
                                   hand_steps(name, grad, (1.0, 1.0), land.WORKED_LR[name], 3), rtol=1e-12, atol=1e-15)
    # values to check by eye: SGD θ₁ = (1 - 0.1, 1 - 0.1·5) = (0.9, 0.5); Momentum θ₂ = θ₁ - 0.1·(0.9·g₀ + g₁)
    np.testing.assert_allclose(land.worked_first_steps("SGD")[1:], [(0.9, 0.5), (0.81, 0.25), (0.729, 0.125)])
    np.testing.assert_allclose(land.worked_first_steps("Momentum")[2], (0.72, -0.2))
    # Adam's first step is lr·sign(g) in every coordinate, whatever the gradient's size
    np.testing.assert_allclose(land.worked_first_steps("Adam")[1], (0.9, 0.9), rtol=1e-7)
