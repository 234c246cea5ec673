"""Every number in 01-perceptron/PERCEPTRON_DEEP_DIVE.md and the README, recomputed by the code."""

import re
from pathlib import Path

import numpy as np
import pytest

import perceptron as pc
from markdown_tables import check_table as table
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import logic_gate

ROOT = Path(__file__).resolve().parent.parent
DIVE = (ROOT / "01-perceptron" / "PERCEPTRON_DEEP_DIVE.md").read_text()
README = (ROOT / "01-perceptron" / "README.md").read_text()




def test_post_and_weights():
    X, y = logic_gate("AND")
    p = pc.Perceptron()
    p.layer.params["W"][:, 0] = [0.5, 0.5]
    p.layer.params["b"][0] = -0.7
    rows = table(DIVE, "post-and")
    assert [nums(r[0]) for r in rows] == X.tolist()
    assert np.allclose([float(r[1]) for r in rows], p.decision_function(X), atol=1e-12)
    assert [int(r[2]) for r in rows] == p.predict(X).tolist() == y.tolist()


def test_nand_learning_rate_table_and_the_tie():
    X, y = logic_gate("NAND")
    for gate, lr, updates in table(DIVE, "nand-lr"):
        assert len(pc.Perceptron(lr=float(lr)).fit(*logic_gate(gate)).updates) == int(updates)
    a, b = pc.Perceptron(lr=1.0).fit(X, y), pc.Perceptron(lr=0.1).fit(X, y)
    wa, ba = np.array(a.updates[7].w), a.updates[7].b
    wb, bb = np.array(b.updates[7].w), b.updates[7].b
    assert X[2] @ wa + ba == 0.0 and (wa[0], ba) == (-2.0, 2.0)
    assert X[2] @ wb + bb == pytest.approx(2.8e-17, rel=0.01) and bb == 0.20000000000000004
    assert "after 8 updates the point $(1, 0)$" in DIVE


def test_no_bias_table():
    for gate, with_bias, without in table(DIVE, "no-bias"):
        X, y = logic_gate(gate)
        assert pc.Perceptron().fit(X, y).converged and with_bias == "converges"
        nb = pc.Perceptron(bias=False, max_epochs=100).fit(X, y)
        if without == "converges":
            assert nb.converged
        else:
            assert not nb.converged
            assert without == f"never (final accuracy {nb.score(X, y):.0%})"


def test_convergence_bound_table():
    X, y = logic_gate("AND")
    actual = len(pc.Perceptron().fit(X, y).updates)
    for sep, gamma, bound, updates in table(DIVE, "bound"):
        w1, w2, b = nums(sep)
        assert float(gamma) == round(pc.margin([w1, w2], b, X, y), 4)
        assert float(bound) == round(pc.mistake_bound([w1, w2], b, X, y), 2)
        assert int(updates) == actual <= float(bound)
    assert "$R = \\sqrt{3}$" in DIVE
    p = pc.Perceptron().fit(X, y)
    assert (p.w.tolist(), p.b) == ([2.0, 1.0], -2.0) and pc.margin(p.w, p.b, X, y) == 0.0


def test_xor_run_table():
    X, y = logic_gate("XOR")
    p = pc.Perceptron(max_epochs=100).fit(X, y)
    rows = dict((r[0], r[1]) for r in table(DIVE, "xor-run"))
    assert p.errors_per_epoch[:4] == [2, 3, 4, 4] and set(p.errors_per_epoch[2:]) == {4}
    assert rows["errors in epochs 1, 2, 3, 4, …"].startswith("2, 3, 4, 4")
    states = [tuple(nums(s)) for s in re.findall(r"\([^)]*\)", rows["weight states visited from update 2 on"])]
    visited = [tuple(np.r_[w, b]) for w, b in zip(p.weight_history[2:], p.bias_history[2:])]
    assert visited[:4] == states and set(visited) == set(states)
    best = max(np.mean(pc.step(X @ w + b) == y) for w, b in zip(p.weight_history, p.bias_history))
    assert rows["best accuracy of any visited state"] == f"{best:.0%}"


def test_and_trace_table_is_the_recorded_history():
    X, y = logic_gate("AND")
    p = pc.Perceptron(lr=1.0).fit(X, y)
    rows = table(DIVE, "and-trace")
    assert len(rows) == len(p.updates) == 10
    for r, u in zip(rows, p.updates):
        assert [int(r[0]), int(r[1]), int(r[2])] == [u.number, u.epoch, u.sample]
        assert nums(r[3]) == list(u.x) and [int(r[4]), int(r[5])] == [u.y, u.y_hat]
        assert nums(r[6]) == list(u.w) and float(r[7]) == u.b
    assert p.errors_per_epoch == [1, 3, 3, 2, 1, 0]
    assert "Errors per epoch: 1, 3, 3, 2, 1, 0" in DIVE
    assert p.decision_function(X).tolist() == [-2.0, -1.0, 0.0, 1.0]


def test_readme_links_the_post_and_its_numbers():
    assert CHAPTERS[0].post_url in README
    assert "PERCEPTRON_DEEP_DIVE.md" in README and "perceptron_playground.py" in README
    for gate, updates in re.findall(r"\| (AND|OR|NAND|NOR) \| (\d+) \|", README):
        assert len(pc.Perceptron().fit(*logic_gate(gate)).updates) == int(updates)


def test_readme_python_example_runs_and_its_comments_are_true():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    p = ns["p"]
    assert (p.converged, p.epochs_run, len(p.updates)) == (True, 6, 10)
    assert p.w.tolist() == [2.0, 1.0] and p.b == -2.0
    assert p.weight_history.shape == (11, 2) and p.errors_per_epoch == [1, 3, 3, 2, 1, 0]
