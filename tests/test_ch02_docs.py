"""Every number in 02-multi-layer-perceptron/MLP_DEEP_DIVE.md and the README, recomputed by the code."""

import re
from pathlib import Path

import numpy as np
import pytest

import mlp
from markdown_tables import check_table as table
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import xor

ROOT = Path(__file__).resolve().parent.parent
DIVE = (ROOT / "02-multi-layer-perceptron" / "MLP_DEEP_DIVE.md").read_text()
README = (ROOT / "02-multi-layer-perceptron" / "README.md").read_text()




def test_forward_table():
    X, y = xor()
    t = mlp.forward_trace(mlp.xor_network(), X)
    rows = table(DIVE, "forward")
    assert len(rows) == 4
    for i, r in enumerate(rows):
        assert nums(r[0]) == X[i].tolist()
        assert nums(r[1]) == t["z1"][i].round(4).tolist()
        assert nums(r[2]) == t["h"][i].round(4).tolist()
        assert float(r[3]) == round(float(t["z2"][i, 0]), 4)
        assert float(r[4]) == round(float(t["out"][i, 0]), 4)
        assert int(r[5]) == y[i]


def test_scale_table_and_threshold_claim():
    X, y = xor()
    for s, lo, hi, acc in table(DIVE, "scale"):
        net = mlp.xor_network(float(s))
        out = net.forward(X)[:, 0]
        assert float(lo) == round(float(out[y == 0].max()), 4)
        assert float(hi) == round(float(out[y == 1].min()), 4)
        assert acc == f"{np.mean(mlp.predict(net, X) == y):.0%}"
    ok = [s for s in np.arange(0.5, 20.01, 0.5)
          if (lambda o: o[y == 0].max() < 0.1 and o[y == 1].min() > 0.9)(mlp.xor_network(s).forward(X)[:, 0])]
    assert ok[0] == 6.0 and "is $s = 6$" in DIVE
    assert "| smallest scale (0.5 steps) with every output < 0.1 or > 0.9 | 6 |" in README


def test_hidden_table_and_margins():
    X, y = xor()
    h = mlp.hidden_representation(mlp.xor_network(), X)
    for i, r in enumerate(table(DIVE, "hidden")):
        assert nums(r[0]) == X[i].tolist() and nums(r[1]) == h[i].round(4).tolist()
    d = h[:, 0] - h[:, 1]
    assert round(float(d[1]), 4) == 0.9866 and round(float(d[0]), 4) == round(float(d[3]), 4) == 0.0067
    assert "($h_1 - h_2 = 0.9866$)" in DIVE


def test_activation_table():
    for name, df0, dmax, sat, mean in table(DIVE, "activations"):
        p = mlp.activation_properties(name)
        assert float(df0) == round(p["f'(0)"], 4), name
        assert float(dmax) == round(p["max f'"], 4), name
        assert float(mean) == round(p["mean"], 4), name
        left, right = abs(p["f'(lo)"]) < 0.005, abs(p["f'(hi)"]) < 0.005
        expected = {(True, True): "both ends", (True, False): "left", (False, False): "no"}[(left, right)]
        assert sat.split(" (")[0] == expected, name
    selu = mlp.activation_properties("selu")
    assert f"{selu['mean']:.4f}" in ("0.0000", "-0.0000") and f"{selu['var']:.4f}" == "1.0000"
    assert "(measured: 0.0000 and 1.0000)" in DIVE


def test_collapse_claim():
    rng = np.random.default_rng(0)
    from common.layers import Dense
    layers = [Dense(2, 5, rng, dtype=np.float64), Dense(5, 3, rng, dtype=np.float64), Dense(3, 1, rng, dtype=np.float64)]
    W, b = mlp.collapse_linear(*layers)
    x = rng.standard_normal((6, 2))
    out = layers[2].forward(layers[1].forward(layers[0].forward(x)))
    assert np.max(np.abs(out - (x @ W + b))) < 1e-12
    assert "2→5→3→1" in DIVE


def test_readme_numbers_and_example():
    assert CHAPTERS[1].post_url in README
    assert "MLP_DEEP_DIVE.md" in README and "mlp_playground.py" in README
    X, y = xor()
    out = mlp.xor_network().forward(X)[:, 0]
    assert "| outputs at the default scale 10, for (0,0), (0,1), (1,0), (1,1) | " + \
        ", ".join(f"{v:.4f}" for v in out) + " |" in README
    model, hist = mlp.train_linear_model(X, y, np.random.default_rng(0))
    assert f"| trained logistic regression on XOR: final loss, accuracy | {hist.train_loss[-1]:.4f}, " \
           f"{mlp.linear_accuracy(model, X, y):.0%} |" in README
    out1 = mlp.xor_network(1.0).forward(X)[:, 0]
    assert 0.42 < out1.min() and out1.max() < 0.44 and "between 0.42 and 0.44" in README
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    assert np.round(ns["out"], 4).tolist() == [0.0072, 0.9924, 0.9924, 0.0072]
    assert ns["h"].shape == (4, 2) and ns["W"].shape == (2, 1)
