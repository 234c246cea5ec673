"""Every number in 04-optimization/README.md and OPTIMIZERS_DEEP_DIVE.md, recomputed from the code."""

import re

import numpy as np
import pytest

import optimization as optm
from common.chapters import ROOT

DEEP = (ROOT / "04-optimization" / "OPTIMIZERS_DEEP_DIVE.md").read_text()
README = (ROOT / "04-optimization" / "README.md").read_text()


def test_worked_steps_table_is_the_codes():
    assert optm.worked_steps_markdown() in DEEP


def test_hand_worked_entries_match_the_code():
    mom = optm.worked_first_steps("Momentum")
    np.testing.assert_allclose(mom[2], (0.72, -0.2), atol=1e-12)
    assert "= (0.72, −0.2)" in DEEP
    nes = optm.worked_first_steps("Nesterov")
    np.testing.assert_allclose(nes[1], (0.81, 0.05), atol=1e-12)
    ada = optm.worked_first_steps("Adagrad")
    step = 0.1 * np.array([0.9 / np.sqrt(1.81), 4.5 / np.sqrt(45.25)])
    np.testing.assert_allclose(ada[1] - ada[2], step, rtol=1e-9)
    assert f"({step[0]:.4f}, {step[1]:.4f})" in DEEP and f"θ₂ = ({ada[2][0]:.4f}, {ada[2][1]:.4f})" in DEEP


def test_landscape_table_and_its_commentary_are_the_codes():
    assert optm.landscape_markdown() in DEEP
    bowl = optm.trajectory("bowl", "SGD")
    assert bowl.direction_flips() == (0, 149) and len(bowl.points) - 1 == 150
    assert "149 reversals in 150 steps" in DEEP
    for name in ("Momentum", "Nesterov"):
        assert optm.trajectory("bowl", name).crossings((0, 0))[0] >= 3
    ada = optm.trajectory("rosenbrock", "Adagrad")
    assert round(float(np.linalg.norm(ada.points[-1] - 1)), 1) == 0.7
    assert f"{ada.last_step():.0e}".startswith("5e-04")
    assert "about 0.7 from (1, 1) while moving ~5·10⁻⁴ per step" in DEEP
    steps = {n: optm.trajectory("saddle", n).steps_to_min for n in ("SGD", "Adagrad", "RMSProp")}
    assert f"after {steps['SGD']} steps" in DEEP and f"after {steps['Adagrad']} and {steps['RMSProp']}" in DEEP
    deepest = optm.FUNCTIONS["wells"].minima[0]
    assert f"({deepest[0]:.3f}, {deepest[1]:.3f})" in DEEP.replace("−", "-")


def test_adam_bias_numbers_are_the_codes():
    t = np.arange(1, 3001)
    f = optm.uncorrected_step_factor(t)
    peak = int(np.argmax(f))
    assert (f"{f[0]:.3f} at t = 1, rises to {f[peak]:.3f} at t = {peak + 1}, is still {f[99]:.3f} at\nt = 100 and "
            f"{f[999]:.3f} at t = 1,000") in DEEP
    measured = optm.adam_step_sizes(np.full(50, 0.5), lr=1e-3, bias_correction=False).max() / 1e-3
    assert f"the largest uncorrected step is {measured:.2f}η" in DEEP
    assert optm.ewma(np.full(3, 1.0), 0.9)[0] == pytest.approx(0.1)  # "v₁ = 0.1c"


def test_gradient_noise_numbers_are_the_codes(real_mnist):
    sub = np.random.default_rng(0).permutation(len(real_mnist.x_train))[:1000]
    model = optm.build_mlp(np.random.default_rng(0), 128, dtype=np.float64)
    g, sigma2 = optm.per_sample_gradient_stats(model, real_mnist.x_train[sub].astype(np.float64),
                                               real_mnist.y_train[sub])
    assert f"σ² = {sigma2:.2f} and ‖ḡ‖² = {g @ g:.3f}" in DEEP
    assert f"about {sigma2 / (g @ g):.0f} times more noise" in DEEP
    assert f"at B = 16 the expected noise is {optm.expected_batch_variance(sigma2, 1000, 16):.3f}" in DEEP
    assert f"at B = 64 it is {optm.expected_batch_variance(sigma2, 1000, 64):.3f}" in DEEP


def test_readme_default_race_table_is_a_real_run(real_mnist):
    rows = re.findall(r"^\| (SGD|Momentum|Adam) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", README, re.M)
    assert [r[0] for r in rows] == ["SGD", "Momentum", "Adam"]
    idx = np.random.default_rng(0).permutation(len(real_mnist.x_train))[:5000]
    results = optm.race(["SGD", "Momentum", "Adam"], real_mnist.x_train[idx], real_mnist.y_train[idx],
                        real_mnist.x_test, real_mnist.y_test, epochs=5, batch_size=64, seed=0)
    for name, lr, train_acc, test_acc in rows:
        h = results[name].history
        assert float(lr) == optm.DEFAULT_LR[name]
        # float32 training differs in the last bits across BLAS thread counts: allow 0.1 points
        # (5 of the 5,000 training images, 10 of the 10,000 test images)
        assert float(train_acc) == pytest.approx(100 * h.train_acc[-1], abs=0.1)
        assert float(test_acc) == pytest.approx(100 * h.val_acc[-1], abs=0.1)


def test_readme_updates_per_epoch():
    assert -(-60000 // 64) == 938 and 60000 - 937 * 64 == 32
    assert "makes 938: 937 full batches and a last one of 32 images" in README
