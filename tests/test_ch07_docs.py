"""Chapter 07 docs: the tables and worked numbers of the README and the deep dive, recomputed."""

import re

import numpy as np
import pytest

import normalization_residual as nr
from markdown_tables import table_dicts as table
from common.chapters import ROOT
from common.norm import BatchNorm1d

README = (ROOT / "07-normalization-residual" / "README.md").read_text()
DEEP_DIVE = (ROOT / "07-normalization-residual" / "NORMALIZATION_RESIDUAL_DEEP_DIVE.md").read_text()




def num(cell: str) -> float:
    return float(re.sub(r"[,%]", "", cell))


def readme_table(name):
    return table(README, name)


@pytest.fixture(scope="module")
def probe():
    from common.mnist import load_mnist
    d = load_mnist()
    return d.x_train[:512], d.y_train[:512]


def test_signal_table(probe):
    x, _ = probe
    for row in readme_table("signal"):
        model = nr.deep_mlp(20, row["variant"], np.random.default_rng(0), init_scale=float(row["weight scale"]))
        stats = nr.signal_through_depth(model, x)
        for layer in (5, 10, 20):
            mean, std = stats.mean[layer - 1], stats.std[layer - 1]
            quoted_mean, quoted_std = num(row[f"layer {layer} mean"]), num(row[f"layer {layer} std"])
            # Three significant digits as printed.
            assert mean == pytest.approx(quoted_mean, abs=max(0.0015, abs(quoted_mean) * 0.005)), (row, layer)
            assert std == pytest.approx(quoted_std, rel=0.005, abs=0.0015), (row, layer)


def test_gradient_ratio_table(probe):
    x, y = probe
    for row in readme_table("gradient-ratio"):
        for variant in nr.VARIANTS:
            model = nr.deep_mlp(20, variant, np.random.default_rng(0), activation=row["activation"])
            g = nr.gradient_norms(model, x[:256], y[:256])
            assert g["signal"][0] / g["signal"][-1] == pytest.approx(float(row[variant]), rel=0.01), (row, variant)


def test_batchnorm_helps_table(real_mnist):
    d = real_mnist
    settings = {"sigmoid, depth 20, lr 10⁻³": (20, "sigmoid", 1e-3)}
    for row in readme_table("bn-helps"):
        depth, act, lr = settings[row["setting"]]
        for variant in ("plain", "batchnorm"):
            rng = np.random.default_rng(0)
            model = nr.deep_mlp(depth, variant, rng, activation=act)
            h = nr.train(model, d.x_train[:3000], d.y_train[:3000], epochs=2, rng=rng, lr=lr,
                         x_val=d.x_test[:1000], y_val=d.y_test[:1000])
            assert h.val_acc[-1] == pytest.approx(num(row[f"{variant} test accuracy"]) / 100, abs=0.015), (row, variant)


def test_problem_solution_table_is_the_posts():
    rows = table(DEEP_DIVE, "problem-solution")
    assert [tuple(r.values()) for r in rows] == list(nr.PROBLEM_SOLUTION)


def test_batchnorm_worked_example_and_gradient_orthogonality():
    bn = BatchNorm1d(1, dtype=np.float64)
    bn.params["gamma"][:] = 2.0
    bn.params["beta"][:] = 0.5
    x = np.array([[1.0], [2.0], [3.0], [6.0]])
    y = bn.forward(x, training=True)[:, 0]
    xhat = (y - 0.5) / 2
    np.testing.assert_allclose(xhat, np.array([-2, -1, 0, 3]) / np.sqrt(3.50001), rtol=1e-12)
    for value in ("−1.0690", "−0.5345", "1.6036", "−1.6381", "−0.5690", "3.7071"):
        assert value in DEEP_DIVE
    np.testing.assert_allclose(np.round(xhat, 4), [-1.0690, -0.5345, 0, 1.6036])
    np.testing.assert_allclose(np.round(y, 4), [-1.6381, -0.5690, 0.5, 3.7071])
    # ∂L/∂x is orthogonal to the constant vector and to x̂, for any upstream gradient.
    bn2 = BatchNorm1d(3, eps=1e-15, dtype=np.float64)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((7, 3))
    out = bn2.forward(xb, training=True)
    dx = bn2.backward(rng.standard_normal((7, 3)))
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose((dx * out).sum(axis=0), 0, atol=1e-12)     # γ = 1, β = 0: out = x̂


def test_numbers_quoted_in_the_deep_dive(probe):
    x, y = probe
    sig = {v: nr.gradient_norms(nr.deep_mlp(20, v, np.random.default_rng(0), activation="sigmoid"), x[:256], y[:256])
           for v in ("plain", "residual")}
    plain = sig["plain"]["signal"][0] / sig["plain"]["signal"][-1]
    res = sig["residual"]["signal"][0] / sig["residual"]["signal"][-1]
    assert f"{plain:.2e}".replace("e-", "·10⁻") in "1.34·10⁻12" or f"{plain:.2e}" == "1.34e-12"
    assert "1.34·10⁻¹²" in DEEP_DIVE and f"{res:.2f}" == "1.03"
    relu = nr.gradient_norms(nr.deep_mlp(20, "plain", np.random.default_rng(0)), x[:256], y[:256])["signal"]
    assert f"{relu[0] / relu[-1]:.2f}" == "0.92" and "(ratio 0.92)" in DEEP_DIVE
