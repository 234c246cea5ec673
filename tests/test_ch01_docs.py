"""Every number in 01-perceptron/PERCEPTRON_DEEP_DIVE.md and the README, recomputed by the code: each
registered table equals what its function in ``perceptron.DOC_TABLES`` writes, the tables mean what they
say, and every number the prose states is parsed from the text and compared with a stated tolerance."""

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import perceptron as pc
from markdown_tables import check_table as table
from markdown_tables import (assert_check_tables_registered, assert_table_is_written, code_references,
                             prose_numbers)
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import linearly_separable, logic_gate, non_separable

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "01-perceptron"
DIVE = (FOLDER / "PERCEPTRON_DEEP_DIVE.md").read_text()
README = (FOLDER / "README.md").read_text()
DOCS = {"PERCEPTRON_DEEP_DIVE.md": DIVE, "README.md": README}


@pytest.mark.parametrize("doc, marker", sorted(pc.DOC_TABLES))
def test_registered_table_is_what_the_code_writes(doc, marker):
    assert_table_is_written(DOCS[doc], marker, pc.DOC_TABLES[doc, marker])


def test_every_check_table_is_registered():
    assert_check_tables_registered(DOCS, pc.DOC_TABLES)


def test_post_and_weights():
    X, y = logic_gate("AND")
    p = pc.Perceptron()
    p.linear.params["W"][:, 0], p.linear.params["b"][0] = pc.POST_AND
    rows = table(DIVE, "post-and")
    assert [nums(r[0]) for r in rows] == X.tolist()
    assert np.allclose([float(r[1]) for r in rows], X @ [0.5, 0.5] - 0.7, atol=1e-12)
    assert [int(r[2]) for r in rows] == p.predict(X).tolist() == y.tolist()
    # the sentence above the table names the weights the code uses (a changed digit fails)
    w1, w2, b = re.search(r"The post's AND weights, \$w = \(([\d.]+), ([\d.]+)\)\$, \$b = ([−-]?[\d.]+)\$", DIVE).groups()
    assert (*pc.POST_AND[0], pc.POST_AND[1]) == (float(w1), float(w2), float(b.replace("−", "-")))


def test_the_readme_states_the_non_separable_sets_flip_fraction():
    import inspect
    (percent,) = re.findall(r'"random non-separable" \((\d+)% of labels flipped\)', README)
    assert int(percent) / 100 == inspect.signature(non_separable).parameters["flip"].default
    page = (FOLDER / "perceptron_playground.py").read_text()
    assert set(re.findall(r"non_separable\(.*flip=([\d.]+)\)", page)) == {str(int(percent) / 100)}


def test_learning_rate_table_and_the_tie():
    for gate, *cells in table(DIVE, "learning-rates"):
        X, y = logic_gate(gate)
        for lr, cell in zip(pc.PAGE_LEARNING_RATES, cells):
            assert int(nums(cell)[0]) == len(pc.Perceptron(lr=lr).fit(X, y).updates), (gate, lr)
            assert ("another line" in cell) is (not pc.same_run_as_unit_lr(X, y, lr)), (gate, lr)
    X, y = logic_gate("NAND")
    a, b = pc.Perceptron(lr=1.0).fit(X, y), pc.Perceptron(lr=0.1).fit(X, y)
    wa, ba = np.array(a.updates[7].w), a.updates[7].b
    wb, bb = np.array(b.updates[7].w), b.updates[7].b
    assert X[2] @ wa + ba == 0.0 and (wa[0], ba) == (-2.0, 2.0)
    assert X[2] @ wb + bb == pytest.approx(2.8e-17, rel=0.01) and bb == 0.20000000000000004
    assert "after 8 updates the point\n$(1, 0)$" in DIVE
    assert np.allclose(np.r_[b.w, b.b], [-0.2, -0.1, 0.2]) and np.allclose(np.r_[a.w, a.b], [-2, -1, 3])
    assert "$-0.2x_1 - 0.1x_2 + 0.2 = 0$" in DIVE and "$-2x_1 - x_2 + 3 = 0$" in DIVE


def test_random_sets_repeat_the_unit_learning_rate_run():
    # "draws 0 to 4 of each, its default 50 epochs": every offered η gives the η = 1 mistakes.
    assert prose_numbers(DIVE, "(draws {} to {} of each, its default {} epochs)") == [0, 4, 50]
    for draw in range(5):
        for X, y in (linearly_separable(40, np.random.default_rng(draw), margin=0.15),
                     non_separable(40, np.random.default_rng(draw), flip=0.1)):
            for lr in pc.PAGE_LEARNING_RATES:
                assert pc.same_run_as_unit_lr(X, y, lr, max_epochs=50), (draw, lr)


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
    assert p.decision_function(X).tolist() == [-2.0, -1.0, 0.0, 1.0]


def _and():
    return pc.Perceptron().fit(*logic_gate("AND"))


def _xor():
    return pc.Perceptron(max_epochs=50).fit(*logic_gate("XOR"))


def _nand(lr):
    return len(pc.Perceptron(lr=lr).fit(*logic_gate("NAND")).updates)


def _nand_tie_score() -> float:
    """z of the point (1, 0) after 8 updates at η = 0.1: 0 in exact arithmetic."""
    u = pc.Perceptron(lr=0.1).fit(*logic_gate("NAND")).updates[7]
    return float(np.array([1.0, 0.0]) @ np.array(u.w) + u.b)


def _mantissa_exponent(v: float) -> list[float]:
    e = int(np.floor(np.log10(abs(v))))
    return [round(v / 10 ** e, 1), e]


def _xor_cycle() -> list[int]:
    """(states in the cycle, most points any of them gets right, points)."""
    X, y = logic_gate("XOR")
    p = _xor()
    states = {tuple(np.r_[w, b]) for w, b in zip(p.weight_history[2:], p.bias_history[2:])}
    return [len(states), max(int(np.sum(pc.step(X @ np.array(s[:2]) + s[2]) == y)) for s in states), len(X)]


# Every number the prose states as computed: (document, the sentence with {} for each number, the
# numbers the code gives, absolute tolerance). Counts and exact arithmetic have tolerance 0; the
# post's scores are the code's z to the digits written.
PROSE = [
    ("PERCEPTRON_DEEP_DIVE.md", "Errors per epoch: {}, {}, {}, {}, {}, {}, so training stops after epoch {} with",
     lambda: [*_and().errors_per_epoch, _and().epochs_run], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "with $w = ({}, {})$, $b = {}$: the boundary",
     lambda: [*_and().w, _and().b], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "scores $z = ({}, {}, {}, {})$ for the four inputs",
     lambda: _and().decision_function(logic_gate("AND")[0]).tolist(), 0),
    ("PERCEPTRON_DEEP_DIVE.md", "for the four inputs, predictions {}, {}, {}, {}.",
     lambda: _and().predict(logic_gate("AND")[0]), 0),
    ("PERCEPTRON_DEEP_DIVE.md", "so $w \\leftarrow (0, 0) + 1\\cdot(1, 1) = ({}, {})$ and $b \\leftarrow 0 + 1 = {}$",
     lambda: [*_and().updates[0].w, _and().updates[0].b], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "In epoch 2 this line calls $(0, 0)$ class 1 ($z = {}$)",
     lambda: [np.array([0.0, 0.0]) @ _and().weight_history[1] + _and().bias_history[1]], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "8 updates instead of {}, ending on", lambda: [_nand(1.0)], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "the runs part ways: {} updates instead", lambda: [_nand(0.1)], 0),
    ("PERCEPTRON_DEEP_DIVE.md", "scores $z = -0.2 + 0.20000000000000004 \\approx {} \\times 10^{{}}",
     lambda: _mantissa_exponent(_nand_tie_score()), 0),
    ("PERCEPTRON_DEEP_DIVE.md", "with $\\eta = 1$ ($z = {} + {} = 0$, class 0: a mistake)",
     lambda: [pc.Perceptron(lr=1.0).fit(*logic_gate("NAND")).updates[7].w[0],
              pc.Perceptron(lr=1.0).fit(*logic_gate("NAND")).updates[7].b], 0),
    ("README.md", "do compute AND (scores {}, {}, {}, {}), as",
     lambda: logic_gate("AND")[0] @ pc.POST_AND[0] + pc.POST_AND[1], 1e-12),
    ("README.md", "solution, ${}x_1 + x_2 - {} = 0$", lambda: [_and().w[0], -_and().b], 0),
    ("README.md", "XOR: errors per epoch {}, {}, {}, {}, {}, … forever", lambda: _xor().errors_per_epoch[:5], 0),
    ("README.md", "the weights cycle through {} states, none of which gets more than {} of the {} points right",
     lambda: _xor_cycle(), 0),
    ("README.md", "that its last epoch still has {} mistakes", lambda: [_xor().errors_per_epoch[-1]], 0),
    ("README.md", "NAND takes {} updates at η = 1 but {} at η = 0.1", lambda: [_nand(1.0), _nand(0.1)], 0),
    ("README.md", "p.converged, p.epochs_run, len(p.updates)   # (True, {}, {})",
     lambda: [_and().epochs_run, len(_and().updates)], 0),
    ("README.md", "# (array([{}., {}.]), {})", lambda: [*_and().w, _and().b], 0),
    ("README.md", "# ({}, {}): the start, then the weights", lambda: list(_and().weight_history.shape), 0),
    ("README.md", "p.errors_per_epoch                          # [{}, {}, {}, {}, {}, {}]",
     lambda: _and().errors_per_epoch, 0),
]


@pytest.mark.parametrize("doc, template, expected, tol", PROSE, ids=[t[:40] for _, t, _, _ in PROSE])
def test_prose_numbers(doc, template, expected, tol):
    assert prose_numbers(DOCS[doc], template) == pytest.approx(list(map(float, expected())), abs=tol)


def test_the_one_epoch_run():
    one = pc.Perceptron(max_epochs=1).fit(*logic_gate("AND"))
    assert len(one.updates) == 1 and one.predict(logic_gate("AND")[0]).tolist() == [1, 1, 1, 1]
    assert "with 1 epoch AND stops after a single update, a line that calls every point 1" in README


def test_code_references_resolve():
    for doc, text in DOCS.items():
        refs = code_references(text)
        assert refs or doc == "README.md", doc
        for path, name in refs:
            assert (ROOT / path).is_file() or (FOLDER / path).is_file(), (doc, path)
            stem = Path(path).stem
            obj = importlib.import_module(f"common.{stem}" if path.startswith("common/") else stem)
            for part in name.split("."):
                obj = getattr(obj, part)


def test_readme_links_the_post():
    assert CHAPTERS[0].post_url in README
    assert "PERCEPTRON_DEEP_DIVE.md" in README and "perceptron_playground.py" in README


def test_readme_python_example_runs_and_its_comments_are_true():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    p = ns["p"]
    assert (p.converged, p.epochs_run, len(p.updates)) == (True, 6, 10)
    assert p.w.tolist() == [2.0, 1.0] and p.b == -2.0
    assert p.weight_history.shape == (11, 2) and p.errors_per_epoch == [1, 3, 3, 2, 1, 0]
