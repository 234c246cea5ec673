"""Every number in 02-multi-layer-perceptron/MLP_DEEP_DIVE.md and the README, recomputed by the code: each
registered table equals what its function in ``mlp.DOC_TABLES`` writes, the tables mean what they say,
and every number the prose states is parsed from the text and compared with a stated tolerance."""

import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

import mlp
from markdown_tables import check_table as table
from markdown_tables import (assert_check_tables_registered, assert_table_is_written, code_references,
                             prose_numbers)
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import xor
from common.layers import Dense

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "02-multi-layer-perceptron"
DIVE = (FOLDER / "MLP_DEEP_DIVE.md").read_text()
README = (FOLDER / "README.md").read_text()
DOCS = {"MLP_DEEP_DIVE.md": DIVE, "README.md": README}


@pytest.mark.parametrize("doc, marker", sorted(mlp.DOC_TABLES))
def test_registered_table_is_what_the_code_writes(doc, marker):
    assert_table_is_written(DOCS[doc], marker, mlp.DOC_TABLES[doc, marker])


def test_every_check_table_is_registered():
    assert_check_tables_registered(DOCS, mlp.DOC_TABLES)


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


def test_scale_table():
    X, y = xor()
    for s, lo, hi, acc, cross in table(DIVE, "scale"):
        net = mlp.xor_network(float(s))
        out = net.forward(X)[:, 0]
        assert float(lo) == round(float(out[y == 0].max()), 4)
        assert float(hi) == round(float(out[y == 1].min()), 4)
        assert acc == f"{np.mean(mlp.predict(net, X) == y):.0%}"
        c = mlp.boundary_crossing(net)
        if cross == "none":
            assert c is None and out.max() < 0.5
        else:
            assert float(cross) == round(c, 4) and abs(float(net.forward(np.array([[c, 0.0]]))[0, 0]) - 0.5) < 1e-9
    s = mlp.smallest_confident_scale()
    for scale, confident in ((s - 0.5, False), (s, True)):
        out = mlp.xor_network(scale).forward(X)[:, 0]
        assert bool(out[y == 0].max() < 0.1 and out[y == 1].min() > 0.9) is confident, scale


def test_hidden_table_and_margins():
    X, y = xor()
    h = mlp.hidden_representation(mlp.xor_network(), X)
    for i, r in enumerate(table(DIVE, "hidden")):
        assert nums(r[0]) == X[i].tolist() and nums(r[1]) == h[i].round(4).tolist()


def test_activation_table():
    for name, df0, dmax, sat, mean in table(DIVE, "activations"):
        p = mlp.activation_properties(name)
        assert float(df0) == round(p["f'(0)"], 4), name
        assert float(dmax) == round(p["max f'"], 4), name
        assert float(mean) == round(p["mean"], 4), name
        left, right = abs(p["f'(lo)"]) < 0.005, abs(p["f'(hi)"]) < 0.005
        expected = {(True, True): "both ends", (True, False): "left", (False, False): "no"}[(left, right)]
        assert sat.split(" (")[0] == expected, name


def test_collapse_claim():
    rng = np.random.default_rng(0)
    layers = [Dense(2, 5, rng, dtype=np.float64), Dense(5, 3, rng, dtype=np.float64), Dense(3, 1, rng, dtype=np.float64)]
    W, b = mlp.collapse_linear(*layers)
    x = rng.standard_normal((6, 2))
    out = layers[2].forward(layers[1].forward(layers[0].forward(x)))
    assert np.max(np.abs(out - (x @ W + b))) < prose_numbers(DIVE, "give the same outputs (to {})")[0]
    assert "2→5→3→1" in DIVE


def _out(scale=10.0):
    return mlp.xor_network(scale).forward(xor()[0])[:, 0]


def _cases(scale=10.0):
    """(largest output for a 0-case, smallest for a 1-case)."""
    o, y = _out(scale), xor()[1]
    return [o[y == 0].max(), o[y == 1].min()]


def _cross(scale):
    return mlp.boundary_crossing(mlp.xor_network(scale))


def _margins():
    h = mlp.hidden_representation(mlp.xor_network(), xor()[0])
    d = h[:, 0] - h[:, 1]
    return [d[1], d[0], d[3]]


def _linear():
    X, y = xor()
    model, hist = mlp.train_linear_model(X, y, np.random.default_rng(0))
    return hist.train_loss[-1], mlp.linear_accuracy(model, X, y)


# Every number the prose states as computed: (document, the sentence with {} for each number, the numbers
# the code gives, absolute tolerance). Numbers written to 4 decimals are compared to half a unit of the
# last digit (5e-5); whole numbers and percentages exactly.
PROSE = [
    ("README.md", "s = 10 the outputs are {} and {};", lambda: _cases(), 5e-5),
    ("README.md", "at s = 3, {} from s = 10", lambda: [_cross(10.0)], 5e-5),
    ("README.md", "(on the edge x₂ = 0 it sits at x₁ = {} at s = 3", lambda: [_cross(3.0)], 5e-5),
    ("README.md", "goes to ln 2 = {} and every output to {}:", lambda: [_linear()[0], 0.5], 5e-5),
    ("README.md", "Accuracy {}% (ties count as class 0) against the MLP's {}%",
     lambda: [100 * _linear()[1], 100 * np.mean(mlp.predict(mlp.xor_network(), xor()[0]) == xor()[1])], 0),
    ("MLP_DEEP_DIVE.md", "give {}, {}, {}, {}: every case on the right side of 0.5",
     lambda: mlp.network_from(mlp.ORIGINAL_REPO_WEIGHTS).forward(xor()[0])[:, 0], 5e-5),
    ("MLP_DEEP_DIVE.md", "From $s = 3$ it has one, at $x_1 = {}$, which moves to {} at $s = 5$ and to the units' {} from",
     lambda: [_cross(3.0), _cross(5.0), _cross(10.0)], 5e-5),
    ("MLP_DEEP_DIVE.md", "thresholds is $s = {}$", lambda: [mlp.smallest_confident_scale()], 0),
    ("MLP_DEEP_DIVE.md", "both 1-cases on one side ($h_1 - h_2 = {}$) and both 0-cases on the other (${}$ and ${}$)",
     lambda: _margins(), 5e-5),
    ("MLP_DEEP_DIVE.md", "(measured: {} and {})",
     lambda: [mlp.activation_properties("selu")["mean"], mlp.activation_properties("selu")["var"]], 5e-5),
    ("MLP_DEEP_DIVE.md", "sigmoid's derivative is at most {}.", lambda: [mlp.activation_properties("sigmoid")["max f'"]], 5e-5),
]


@pytest.mark.parametrize("doc, template, expected, tol", PROSE, ids=[t[:40] for _, t, _, _ in PROSE])
def test_prose_numbers(doc, template, expected, tol):
    assert prose_numbers(DOCS[doc], template) == pytest.approx(list(map(float, expected())), abs=tol)


def test_prose_bounds_are_the_tight_ones():
    # "all between 0.42 and 0.44" at s = 1: the outputs rounded down / up to the 2 decimals written.
    lo, hi = prose_numbers(README, "at s = 1 they are all between {} and {},")
    o = _out(1.0)
    assert (lo, hi) == (math.floor(o.min() * 100) / 100, math.ceil(o.max() * 100) / 100)
    # "within 5·10⁻⁵ of 0 and 1" at s = 20: the distance to 0 or 1 rounded up to one digit.
    (digit,) = prose_numbers(README, "at s = 20 they are within {}·10⁻⁵ of 0 and 1")
    lo20, hi20 = _cases(20.0)
    assert digit == math.ceil(max(lo20, 1 - hi20) * 1e5)
    # "below 0.1 for the 0-cases and above 0.9 for the 1-cases" at s = 10.
    below, above = prose_numbers(DIVE, "the outputs are below {} for the 0-cases and above {} for the 1-cases")
    assert _cases()[0] < below and _cases()[1] > above
    # The original weights put every case on the right side of 0.5.
    o, y = mlp.network_from(mlp.ORIGINAL_REPO_WEIGHTS).forward(xor()[0])[:, 0], xor()[1]
    assert np.all((o > 0.5) == (y == 1))


def test_code_references_resolve():
    for doc, text in DOCS.items():
        for path, name in code_references(text):
            assert (ROOT / path).is_file() or (FOLDER / path).is_file(), (doc, path)
            stem = Path(path).stem
            obj = importlib.import_module(f"common.{stem}" if path.startswith("common/") else stem)
            for part in name.split("."):
                obj = getattr(obj, part)
    assert code_references(DIVE)


def test_readme_links_and_example():
    assert CHAPTERS[1].post_url in README
    assert "MLP_DEEP_DIVE.md" in README and "mlp_playground.py" in README
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    assert prose_numbers(README, "# [{}, {}, {}, {}] (rounded)") == np.round(ns["out"], 4).tolist()
    assert ns["h"].shape == (4, 2) and ns["W"].shape == (2, 1)
