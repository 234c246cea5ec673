"""Every number in 03-backpropagation's BACKPROPAGATION_CALCULUS.md, HYPERPARAMETER_INSIGHTS.md and README,
recomputed by the code: each registered table equals what its function in
``backprop_measured.DOC_TABLES`` writes, the tables mean what they say (recomputed here independently
where that is cheap), and every number the prose states is parsed from the text and compared with a
stated tolerance. Sweeps come from ``backprop_measured.doc_sweep``, computed once per process."""

import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
import backprop_measured as bm
import seed_sweep as ss
from backprop_measured import doc_sweep
from common import init as initializers
from markdown_tables import check_table as table
from markdown_tables import (assert_check_tables_registered, assert_table_is_written, code_references,
                             prose_numbers)
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import xor

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "03-backpropagation"
CALC = (FOLDER / "BACKPROPAGATION_CALCULUS.md").read_text()
HYPER = (FOLDER / "HYPERPARAMETER_INSIGHTS.md").read_text()
README = (FOLDER / "README.md").read_text()
DOCS = {"BACKPROPAGATION_CALCULUS.md": CALC, "HYPERPARAMETER_INSIGHTS.md": HYPER, "README.md": README,
        "common/init.py": initializers.__doc__}


@pytest.mark.parametrize("doc, marker", sorted(bm.DOC_TABLES))
def test_registered_table_is_what_the_code_writes(doc, marker):
    assert_table_is_written(DOCS[doc], marker, bm.DOC_TABLES[doc, marker])


def test_every_check_table_is_registered():
    assert_check_tables_registered({d: DOCS[d] for d in ("BACKPROPAGATION_CALCULUS.md", "HYPERPARAMETER_INSIGHTS.md",
                                                       "README.md")}, bm.DOC_TABLES)


def r4(a) -> list[float]:
    return [round(float(v), 4) + 0.0 for v in np.ravel(a)]


# --- BACKPROPAGATION_CALCULUS.md: the tables mean what they say -----------------------------------------
def test_worked_example_forward_backward_update():
    net, X, y, tr = bm.worked_example()
    h, o = tr.layers
    assert [nums(r[2]) for r in table(CALC, "forward")] == [r4(h.z), r4(h.a), r4(o.z), r4(tr.y_hat), r4(tr.loss)]
    assert 0.6457 * 0.7 - 0.3543 * 0.6 + 0.05 == pytest.approx(float(o.z[0, 0]), abs=1e-4)
    expected = [r4(o.delta), r4(o.dW), r4(o.db), r4(o.da_prev), r4(h.a * (1 - h.a)), r4(h.delta), r4(h.dW), r4(h.db)]
    assert [nums(r[2]) for r in table(CALC, "backward")] == expected
    by_hand = net.manual_backward(X, y)
    assert np.allclose(by_hand[0]["dW"], h.dW) and np.allclose(by_hand[1]["delta"], o.delta)
    new = bp.one_step(net, X, y, lr=0.5)
    for r, before, after in zip(table(CALC, "update"), [p[k] for p in net.get_params() for k in ("W", "b")] + [tr.loss],
                                [p[k] for p in new.get_params() for k in ("W", "b")] + [new.loss(X, y)]):
        assert nums(r[1]) == r4(before) and nums(r[2]) == r4(after), r[0]
        if r[0] != "L on this example":      # W ← W − η ∂L/∂W, checked against the traced gradients
            g = {"W⁽¹⁾": h.dW, "b⁽¹⁾": h.db, "W⁽²⁾": o.dW, "b⁽²⁾": o.db}[r[0]]
            assert np.allclose(after, before - 0.5 * g)


def test_init_table_matches_common_init():
    for net_name, layer, shape, xn, xu, hn, hu in table(CALC, "init"):
        fan_in, fan_out = map(int, nums(shape))
        assert (fan_in, fan_out) == bp.ARCHITECTURES[net_name][int(layer) - 1:int(layer) + 1]
        for fn, raw, cell in ((initializers.xavier_normal, "normal", xn), (initializers.he_normal, "normal", hn),
                              (initializers.xavier_uniform, "uniform", xu), (initializers.he_uniform, "uniform", hu)):
            w = fn((fan_in, fan_out), np.random.default_rng(1), dtype=np.float64)
            g = np.random.default_rng(1)
            base = g.standard_normal((fan_in, fan_out)) if raw == "normal" else g.uniform(-1, 1, size=(fan_in, fan_out))
            assert np.allclose(w / base, float(cell), atol=6e-5), (net_name, layer, fn.__name__)


def test_vanishing_tables():
    for act, first, last, ratio in table(CALC, "vanishing"):
        n = bp.gradient_norms_at_init(10, act, width=8, seed=0)
        assert (first, last, ratio) == (f"{n[0]:.3e}", f"{n[-1]:.3e}", f"{n[-1] / n[0]:.3g}"), act
    for act, s0, worst, dead in table(CALC, "vanishing-seeds"):
        spreads = []
        for seed in range(20):
            n = bp.gradient_norms_at_init(10, act, width=8, seed=seed)
            spreads.append(n.max() / n.min() if np.all(n > 0) else np.nan)
        assert float(s0) == pytest.approx(spreads[0], rel=5e-3) and float(worst) == pytest.approx(np.nanmax(spreads), rel=5e-3)
        assert int(dead) == int(np.isnan(spreads).sum()), act


def test_earlier_layers_smaller_table():
    X, y = xor()
    for act, *cells in table(CALC, "earlier-smaller"):
        for arch, cell in zip(bp.ARCHITECTURES, cells):
            assert cell == f"{bm.earlier_smaller(act, arch):.0%}", (act, arch)


# --- HYPERPARAMETER_INSIGHTS.md: the tables mean what they say ------------------------------------------
def test_learning_rate_table():
    for lr, conv, med, loss in table(HYPER, "lr"):
        s = doc_sweep(lr=float(lr))
        assert conv == f"{s.fraction_converged:.0%}" and loss == f"{np.median(s.final_loss):.4f}", lr
        assert med == f"{s.median_epochs():g}", lr
    prod = [doc_sweep(lr=lr).median_epochs() * lr for lr in (0.1, 0.5, 1.0, 2.0)]
    assert max(prod) / min(prod) < 1.2                      # "roughly as 1/η from 0.1 to 2"
    assert doc_sweep(lr=5.0).median_epochs() > doc_sweep(lr=2.0).median_epochs()
    assert prose_numbers(HYPER, "(η times the median stays between {} and {})") == pytest.approx([min(prod), max(prod)])


def test_width_stuck_and_relu_stuck_tables():
    fastest = {}
    for act, *cells in table(HYPER, "width"):
        for arch, cell in zip(bp.ARCHITECTURES, cells):
            s = doc_sweep(architecture=arch, activation=act)
            assert cell == f"{s.fraction_converged:.0%} ({s.median_epochs():g})", (act, arch)
            fastest[(act, arch)] = s.median_epochs()
    assert min(fastest, key=fastest.get) == ("relu", "2-8-1")                 # "the fastest of all"
    assert fastest[("relu", "2-4-1")] < fastest[("tanh", "2-4-1")] < fastest[("sigmoid", "2-4-1")]
    for setting, n, at50, at75 in table(HYPER, "stuck"):
        arch, act = setting.split()
        s = doc_sweep(architecture=arch, activation=act)
        fa = s.final_accuracy[~s.converged]
        assert (int(n), int(at50), int(at75)) == (len(fa), int((fa == 0.5).sum()), int((fa == 0.75).sum())), setting
    (n, dead, blind), = [tuple(map(int, r)) for r in table(HYPER, "relu-stuck")]
    assert (n, dead, blind) == bm.relu_stuck_units() and dead + blind == n
    s = doc_sweep(architecture="2-2-1", activation="relu")
    blind_acc = [s.final_accuracy[k] for k in np.flatnonzero(~s.converged)
                 if not bp.units_off(s.network(k), xor()[0]).all(axis=0).any()]
    assert set(blind_acc) == {0.75}                                           # "all 29 end at 75%"


def test_post_seeds_table():
    s = bm.post_seeds()
    for (seed, cell), acc, e in zip(table(HYPER, "post-seeds"), s.final_accuracy, s.epochs_to_converge):
        assert acc == 1.0 and cell == f"converged after {e} epochs", seed


def test_epochs_table():
    long, default = bm.long_sigmoid(), doc_sweep()
    for epochs, sig, dflt in table(HYPER, "epochs"):
        e = int(epochs)
        assert sig == f"{long.fraction_correct_after(e):.0%}", e
        assert dflt == (f"{default.fraction_correct_after(e):.0%}" if e <= 2000 else "–"), e
    # The 2000-epoch column equals what 2000-epoch runs report.
    assert long.fraction_correct_after(2000) == doc_sweep(architecture="2-2-1", activation="sigmoid").fraction_converged


def test_init_tables():
    for init, conv, med in table(HYPER, "init"):
        s = doc_sweep(init=init)
        assert (conv, med) == (f"{s.fraction_converged:.0%}", "–" if s.median_epochs() is None else f"{s.median_epochs():g}")
    for init, g1, g2 in table(HYPER, "small-init"):
        n = bp.gradient_norms_at_init(1, "tanh", width=4, init=init, seed=0)
        assert (g1, g2) == (f"{n[0]:.2g}", f"{n[1]:.2g}"), init


# --- every number in the prose ------------------------------------------------------------------------------
def _fraction(**kw):
    return 100 * doc_sweep(**kw).fraction_converged


def _defaults():
    return bp.train_xor()[1]


def _not_converged(**kw):
    return int((~doc_sweep(**kw).converged).sum())


def _first_stuck():
    s = doc_sweep(architecture="2-2-1")
    return s.seeds[~s.converged][:5].tolist()


def _post_stuck():
    s = doc_sweep(**bm.POST_SETTING)
    fa = s.final_accuracy[~s.converged]
    return [len(fa), int((fa == 0.75).sum()), _not_converged(architecture="2-2-1", activation="sigmoid")]


def _long_counts():
    long = bm.long_sigmoid()
    c2000, c5000 = long.correct_by_epoch[:, 2000], long.correct_by_epoch[:, 5000]
    return [int((c5000 & ~c2000).sum()), int((~c2000).sum())]


def _spreads(act):
    s = bm.vanishing_spreads(act)
    return [s[0], np.nanmax(s)]


def _ratio(act="sigmoid", **kw):
    n = bp.gradient_norms_at_init(10, act, width=8, seed=0, **kw)
    return n[-1] / n[0]


def _check(act, arch, seed, trained):
    X, y = xor()
    net = (bp.train_xor(arch, act, seed=seed)[0] if trained else
           bp.BackpropNet(bp.ARCHITECTURES[arch], act, "xavier", np.random.default_rng(seed)))
    rows = net.gradient_check(X[:1], y[:1])
    return max(r["rel_error"] for r in rows), net.check_verdict(X[:1], y[:1], rows)


def _he_sigma():
    return [math.sqrt(2 / 2), math.sqrt(2 / (2 + 4))]



# (document, the sentence with {} for each number, the numbers the code gives, tolerance). The tolerance
# is absolute (at most half a unit of the last digit written), or ("sig", n) for numbers written to n
# significant digits: the code's number rounded to n digits must be the one written. Either way changing
# any digit fails.
PROSE = [
    # README
    ("README.md", "repeated until every point is right ({} steps with the", lambda: [_defaults().epochs_to_converge], 0),
    ("README.md", "η = 0.5, {} epochs, seed {}) reach {}% on XOR.",
     lambda: [bp.DEFAULTS["epochs"], bp.DEFAULTS["seed"], 100 * _defaults().final_accuracy], 0),
    ("README.md", "seed 0 still converges, seed 1 gets stuck at {}%.",
     lambda: [100 * bp.train_xor(architecture="2-2-1", seed=1)[1].final_accuracy], 0),
    ("README.md", "seeds 0–99: {}% for 2-2-1, {}% for 2-4-1 and 2-8-1)",
     lambda: [_fraction(architecture="2-2-1"), _fraction(architecture="2-4-1")], 0),
    ("README.md", "η = 0.3 it converges after {} epochs); the page says so",
     lambda: [bm.post_seeds().epochs_to_converge[0]], 0),
    ("README.md", "{} at η = 0.5, {} at η = 2, {} at η = 5)",
     lambda: [doc_sweep(lr=lr).median_epochs() for lr in (0.5, 2.0, 5.0)], 0),
    ("README.md", "η = 1 converges for all {} seeds (median {}).",
     lambda: [100 * doc_sweep(lr=1.0).fraction_converged, doc_sweep(lr=1.0).median_epochs()], 0),
    ("README.md", "(about {}e{} at depth 10, seed 0)", lambda: [round(_ratio() / 1e6), 6], 0),
    ("README.md", "keep every layer within a factor of {} and {} of each other",
     lambda: [_spreads("tanh")[0], _spreads("relu")[0]], ("sig", 3)),
    ("README.md", "the worst spreads are {} and {}, and {} of the {} ReLU networks are dead",
     lambda: [_spreads("tanh")[1], _spreads("relu")[1], np.isnan(bm.vanishing_spreads("relu")).sum(), 20],
     ("sig", 3)),
    ("README.md", "result.final_accuracy, result.epochs_to_converge     # ({}, {})",
     lambda: [_defaults().final_accuracy, _defaults().epochs_to_converge], 0),
    ("README.md", ".fraction_converged   # {} (HYPERPARAMETER_INSIGHTS.md)",
     lambda: [doc_sweep(architecture="2-2-1").fraction_converged], 0),
    # HYPERPARAMETER_INSIGHTS.md
    ("HYPERPARAMETER_INSIGHTS.md", "and the median final loss is still {} (a network that outputs {} everywhere scores ln 2 ≈ {})",
     lambda: [np.median(doc_sweep(lr=0.01).final_loss), 0.5, np.log(2)], 5e-3),
    ("HYPERPARAMETER_INSIGHTS.md", "η = 1 converges for every seed (median {} epochs)",
     lambda: [doc_sweep(lr=1.0).median_epochs()], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "(median {} epochs against sigmoid's {} at 2-4-1)",
     lambda: [doc_sweep().median_epochs(), doc_sweep(activation="sigmoid").median_epochs()], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "converge are faster still (median {} at 2-4-1)",
     lambda: [doc_sweep(activation="relu").median_epochs()], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "With two units {} of {} runs get stuck; with eight, {}% converge",
     lambda: [_not_converged(architecture="2-2-1", activation="relu"), 100,
              _fraction(architecture="2-8-1", activation="relu")], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "Of the {}, {} have one; in the other {} both units",
     lambda: list(bm.relu_stuck_units()), 0),
    ("HYPERPARAMETER_INSIGHTS.md", "(all {} end at {}%)", lambda: [bm.relu_stuck_units()[2], 75], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "the first stuck seeds are {}, {}, {}, {}, {} (the playground", lambda: _first_stuck(), 0),
    ("HYPERPARAMETER_INSIGHTS.md", "both converge: seed 42 after {} epochs and seed 123 after {}.",
     lambda: bm.post_seeds().epochs_to_converge.tolist(), 0),
    ("HYPERPARAMETER_INSIGHTS.md", "at the post's setting {} of the 100 seeds are not right after 2000 epochs ({} of them at 75%), and {} at η = 0.5",
     lambda: _post_stuck(), 0),
    ("HYPERPARAMETER_INSIGHTS.md", "and {} of the {} not there yet at 2000 arrive by 5000", lambda: _long_counts(), 0),
    ("HYPERPARAMETER_INSIGHTS.md", "(all 100 seeds are right by {})",
     lambda: [min(e for e in bm.EPOCH_BUDGETS if e <= bp.DEFAULTS["epochs"] and doc_sweep().fraction_correct_after(e) == 1.0)], 0),
    ("HYPERPARAMETER_INSIGHTS.md", "the gradient norm of each layer is about {}e-7, against {} and {} with Xavier",
     lambda: [round(max(bm.small_init_norms("small normal")) * 1e7), *bm.small_init_norms("xavier")], 5e-4),
    ("HYPERPARAMETER_INSIGHTS.md", "He's larger weights (σ = {} for the first layer, against Xavier's {})",
     lambda: _he_sigma(), 5e-3),
    ("HYPERPARAMETER_INSIGHTS.md", "train faster here (median {} epochs against {}) but left {} seed stuck",
     lambda: [doc_sweep(init="he").median_epochs(), doc_sweep().median_epochs(), _not_converged(init="he")], 0),
    # BACKPROPAGATION_CALCULUS.md
    ("BACKPROPAGATION_CALCULUS.md", "Read the signs: ŷ = {} is too low", lambda: [bm.worked_example()[3].y_hat[0]], 5e-3),
    ("BACKPROPAGATION_CALCULUS.md", "(2-4-1 ReLU, seed 0: relative error {}; Leaky ReLU: {})",
     lambda: [_check("relu", "2-4-1", 0, False)[0], _check("leaky_relu", "2-4-1", 0, False)[0]], 5e-4),
    ("BACKPROPAGATION_CALCULUS.md", "(2-8-1 ReLU trained with the defaults, seed 0, input (0, 0): {})",
     lambda: [_check("relu", "2-8-1", 0, True)[0]], ("sig", 3)),
    ("BACKPROPAGATION_CALCULUS.md", "the largest relative error is about {} while the largest absolute difference is about {}.",
     lambda: [_check("leaky_relu", "2-2-1", 1, True)[0], _check("leaky_relu", "2-2-1", 1, True)[1][1]], ("sig", 1)),
    ("BACKPROPAGATION_CALCULUS.md", "So at seed 0 tanh keeps every layer within a factor of {} and ReLU within {};",
     lambda: [_spreads("tanh")[0], _spreads("relu")[0]], ("sig", 3)),
    ("BACKPROPAGATION_CALCULUS.md", "over 20 seeds the worst spreads are {} and {}, and {} of the 20 ReLU",
     lambda: [_spreads("tanh")[1], _spreads("relu")[1], np.isnan(bm.vanishing_spreads("relu")).sum()], ("sig", 3)),
    ("BACKPROPAGATION_CALCULUS.md", "seed-0 ratio from {} down to {}, still far from 1.",
     lambda: [_ratio(), _ratio(weight_scale=4.0)], ("sig", 3)),
    ("BACKPROPAGATION_CALCULUS.md", "trains {} of them with one `common.training.fit`", lambda: [len(bm.SEEDS)], 0),
    # common/init.py, the Xavier paragraph (issue 11, item 16)
    ("common/init.py", "a factor of about {}·10⁶ between the last and first layer", lambda: [round(_ratio() / 1e6)], 0),
    ("common/init.py", "leaves about {}·10³)", lambda: [round(_ratio(weight_scale=4.0) / 1e3)], 0),
]


@pytest.mark.parametrize("doc, template, expected, tol", PROSE, ids=[f"{d[:6]}:{t[:40]}" for d, t, _, _ in PROSE])
def test_prose_numbers(doc, template, expected, tol):
    stated, want = prose_numbers(DOCS[doc], template), list(map(float, expected()))
    if isinstance(tol, tuple):
        assert stated == [float(f"{w:.{tol[1] - 1}e}") for w in want]
    else:
        assert stated == pytest.approx(want, abs=tol)


def test_worked_example_gradient_check_bound():
    net, X, y, _ = bm.worked_example()
    (exponent,) = prose_numbers(CALC, "(\\lVert g_\\text{backprop}\\rVert + \\lVert g_\\text{numeric}\\rVert)$ is below $10^{{}}$")
    worst = max(r["rel_error"] for r in net.gradient_check(X, y))
    assert worst < 10 ** exponent and worst > 10 ** (exponent - 3)      # the bound written is a tight one


def test_prose_words_that_are_measured():
    # "Switch to 2-2-1: seed 0 still converges"
    assert bp.train_xor(architecture="2-2-1", seed=0)[1].final_accuracy == 1.0
    # "about three million times smaller" (sigmoid, depth 10, seed 0)
    assert round(_ratio() / 1e6) == 3 and "about three million times smaller" in CALC
    # "most runs have not even got all four points right" at η = 0.01
    assert doc_sweep(lr=0.01).fraction_converged < 0.5
    # "Four units fix it for tanh and nearly for sigmoid"
    assert _fraction(architecture="2-4-1") == 100 and 95 <= _fraction(architecture="2-4-1", activation="sigmoid") < 100
    # "with ReLU even 4 leave a third stuck" (the page's sweep caption)
    assert round(3 * (1 - doc_sweep(architecture="2-4-1", activation="relu").fraction_converged)) == 1


@pytest.mark.slow
def test_the_slow_stragglers():
    """'Of the 18 still wrong at 5000, 2 arrive by 20000 epochs (after 7994 and 19301) and 16 are still
    wrong then' (about 10 s: 20,000 full-batch steps of the 18 seeds)."""
    long = bm.long_sigmoid()
    left = long.seeds[~long.correct_by_epoch[:, 5000]]
    later = ss.sweep(left, architecture="2-2-1", activation="sigmoid", epochs=20000)
    n, arrive, e1, e2, still = prose_numbers(
        HYPER, "Of the {} still wrong at 5000, {} arrive by 20000 epochs (after {} and {}) and {} are still wrong then")
    assert (n, arrive, still) == (len(left), later.converged.sum(), (~later.converged).sum())
    assert [e1, e2] == sorted(later.epochs_to_converge[later.converged].tolist())


def test_code_references_resolve():
    for doc in ("BACKPROPAGATION_CALCULUS.md", "HYPERPARAMETER_INSIGHTS.md", "README.md"):
        for path, name in code_references(DOCS[doc]):
            assert (ROOT / path).is_file() or (FOLDER / path).is_file(), (doc, path)
            stem = Path(path).stem
            obj = importlib.import_module(f"common.{stem}" if path.startswith("common/") else stem)
            for part in name.split("."):
                obj = getattr(obj, part)
    assert len(code_references(CALC)) >= 10


def test_readme_links_and_python_example():
    assert CHAPTERS[2].post_url in README
    for name in ("BACKPROPAGATION_CALCULUS.md", "HYPERPARAMETER_INSIGHTS.md", "backprop_playground.py"):
        assert name in README
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    r, tr, net = ns["result"], ns["tr"], ns["net"]
    assert (r.final_accuracy, r.epochs_to_converge) == (1.0, 208)
    assert tr.layers[0].delta.shape == (1, 4) and tr.layers[0].dW.shape == (2, 4)
    assert max(x["rel_error"] for x in net.gradient_check(*xor())) < prose_numbers(
        README, 'max(r["rel_error"] for r in net.gradient_check(X, y))  # < {}')[0]
