"""Every number in 03-backpropagation's BACKPROPAGATION_CALCULUS.md, HYPERPARAMETER_INSIGHTS.md and
README, recomputed by the code."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from common import init as initializers
from markdown_tables import check_table as table
from markdown_tables import numbers as nums
from common.chapters import CHAPTERS
from common.datasets import xor

ROOT = Path(__file__).resolve().parent.parent
CALC = (ROOT / "03-backpropagation" / "BACKPROPAGATION_CALCULUS.md").read_text()
HYPER = (ROOT / "03-backpropagation" / "HYPERPARAMETER_INSIGHTS.md").read_text()
README = (ROOT / "03-backpropagation" / "README.md").read_text()
SEEDS = range(100)




def r4(a) -> list[float]:
    return [round(float(v), 4) + 0.0 for v in np.ravel(a)]


# --- BACKPROPAGATION_CALCULUS.md -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def worked():
    net = bp.BackpropNet((2, 2, 1), "sigmoid", "zeros")
    net.set_params([{"W": np.array([[0.5, -0.4], [0.3, 0.8]]), "b": np.array([0.1, -0.2])},
                    {"W": np.array([[0.7], [-0.6]]), "b": np.array([0.05])}])
    X, y = np.array([[1.0, 0.0]]), np.array([1])
    return net, X, y, net.trace(X, y)


def test_worked_example_forward(worked):
    net, X, y, tr = worked
    h, o = tr.layers
    expected = [r4(h.z), r4(h.a), r4(o.z), r4(tr.y_hat), r4(tr.loss)]
    rows = table(CALC, "forward")
    assert [r[0] for r in rows] == ["z⁽¹⁾", "a⁽¹⁾", "z⁽²⁾", "ŷ", "L"]
    assert [nums(r[2]) for r in rows] == expected
    # The formula column's arithmetic is the network's too.
    assert 0.6457 * 0.7 - 0.3543 * 0.6 + 0.05 == pytest.approx(float(o.z[0, 0]), abs=1e-4)


def test_worked_example_backward(worked):
    net, X, y, tr = worked
    h, o = tr.layers
    expected = [r4(o.delta), r4(o.dW), r4(o.db), r4(o.da_prev), r4(h.a * (1 - h.a)), r4(h.delta), r4(h.dW),
                r4(h.db)]
    rows = table(CALC, "backward")
    assert [nums(r[2]) for r in rows] == expected
    assert np.allclose(o.da_prev, o.delta * np.array([[0.7, -0.6]]))
    by_hand = net.manual_backward(X, y)
    assert np.allclose(by_hand[0]["dW"], h.dW) and np.allclose(by_hand[1]["delta"], o.delta)


def test_worked_example_update_and_gradient_check(worked):
    net, X, y, tr = worked
    new = bp.one_step(net, X, y, lr=0.5)
    old_p, new_p = net.get_params(), new.get_params()
    expected = [(old_p[0]["W"], new_p[0]["W"]), (old_p[0]["b"], new_p[0]["b"]), (old_p[1]["W"], new_p[1]["W"]),
                (old_p[1]["b"], new_p[1]["b"]), (tr.loss, new.loss(X, y))]
    rows = table(CALC, "update")
    for r, (before, after) in zip(rows, expected):
        assert nums(r[1]) == r4(before) and nums(r[2]) == r4(after), r[0]
    assert max(r["rel_error"] for r in net.gradient_check(X, y)) < 1e-10
    assert "is below $10^{-10}$" in CALC


def test_init_table_matches_common_init():
    rows = table(CALC, "init")
    assert len(rows) == 6
    for net_name, layer, shape, xn, xu, hn, hu in rows:
        fan_in, fan_out = map(int, nums(shape))
        assert (fan_in, fan_out) == bp.ARCHITECTURES[net_name][int(layer) - 1:int(layer) + 1]
        assert initializers.fans((fan_in, fan_out)) == (fan_in, fan_out)
        # The scale common.init really uses: the draw divided by the same generator's raw draw.
        shape2 = (fan_in, fan_out)
        for fn, raw, cell in ((initializers.xavier_normal, "normal", xn), (initializers.he_normal, "normal", hn),
                              (initializers.xavier_uniform, "uniform", xu), (initializers.he_uniform, "uniform", hu)):
            w = fn(shape2, np.random.default_rng(1), dtype=np.float64)
            g = np.random.default_rng(1)
            base = g.standard_normal(shape2) if raw == "normal" else g.uniform(-1, 1, size=shape2)
            assert np.allclose(w / base, float(cell), atol=6e-5), (net_name, layer, fn.__name__)
        assert float(xn) == round(math.sqrt(2 / (fan_in + fan_out)), 4)
        assert float(hu) == round(math.sqrt(6 / fan_in), 4)


def test_vanishing_table():
    for act, first, last, ratio in table(CALC, "vanishing"):
        n = bp.gradient_norms_at_init(10, act, width=8, seed=0)
        assert (first, last, ratio) == (f"{n[0]:.3e}", f"{n[-1]:.3e}", f"{n[-1] / n[0]:.3g}"), act
        if act != "sigmoid":
            assert 1 / 20 < n[-1] / n[0] < 20
    assert "about three million times" in CALC


def test_earlier_layers_smaller_table():
    X, y = xor()
    for act, *cells in table(CALC, "earlier-smaller"):
        for arch, cell in zip(bp.ARCHITECTURES, cells):
            smaller = []
            for seed in range(20):
                net = bp.BackpropNet(bp.ARCHITECTURES[arch], act, "xavier", np.random.default_rng(seed))
                for i in range(4):
                    n = [np.linalg.norm(t.dW) for t in net.trace(X[i:i + 1], y[i:i + 1]).layers]
                    smaller.append(n[0] < n[1])
            assert cell == f"{np.mean(smaller):.0%}", (act, arch)


# --- HYPERPARAMETER_INSIGHTS.md --------------------------------------------------------------------------
class Sweeps:
    """Each sweep computed once per test module (they are the slow part)."""

    def __init__(self):
        self._cache = {}

    def __call__(self, **kw):
        kw = {"architecture": bp.DEFAULTS["architecture"], "activation": bp.DEFAULTS["activation"],
              "init": bp.DEFAULTS["init"], "lr": float(bp.DEFAULTS["lr"]), "epochs": bp.DEFAULTS["epochs"], **kw}
        key = tuple(sorted(kw.items()))
        if key not in self._cache:
            self._cache[key] = bp.sweep(SEEDS, **kw)
        return self._cache[key]


@pytest.fixture(scope="module")
def sweeps():
    return Sweeps()


def median_cell(s) -> str:
    m = s.median_epochs()
    return "–" if m is None else f"{m:g}"


def test_learning_rate_table(sweeps):
    rows = table(HYPER, "lr")
    for lr, conv, med, loss in rows:
        s = sweeps(lr=float(lr))
        assert (conv, med, loss) == (f"{s.fraction_converged:.0%}", median_cell(s), f"{np.median(s.final_loss):.4f}"), lr
    # "roughly as 1/η from 0.1 to 2": epochs × η stays within ±20% of its mean.
    prod = [sweeps(lr=lr).median_epochs() * lr for lr in (0.1, 0.5, 2.0)]
    assert max(prod) / min(prod) < 1.2
    assert sweeps(lr=5.0).median_epochs() > sweeps(lr=2.0).median_epochs()
    assert "median final loss is still 0.60" in HYPER and np.log(2) == pytest.approx(0.693, abs=1e-3)


def test_width_table(sweeps):
    fastest = {}
    for act, *cells in table(HYPER, "width"):
        for arch, cell in zip(bp.ARCHITECTURES, cells):
            s = sweeps(architecture=arch, activation=act)
            assert cell == f"{s.fraction_converged:.0%} ({median_cell(s)})", (act, arch)
            fastest[(act, arch)] = s.median_epochs()
    assert min(fastest, key=fastest.get) == ("relu", "2-8-1")
    assert f"(median {fastest[('tanh', '2-4-1')]:g} epochs against sigmoid's {fastest[('sigmoid', '2-4-1')]:g} " \
           "at 2-4-1)" in HYPER


def test_stuck_table_and_first_stuck_seeds(sweeps):
    for setting, n, at50, at75 in table(HYPER, "stuck"):
        arch, act = setting.split()
        s = sweeps(architecture=arch, activation=act)
        fa = s.final_accuracy[~s.converged]
        assert (int(n), int(at50), int(at75)) == (len(fa), int((fa == 0.5).sum()), int((fa == 0.75).sum())), setting
    s = sweeps(architecture="2-2-1", activation="tanh")
    assert s.seeds[~s.converged][:5].tolist() == [1, 2, 3, 6, 10]
    assert "first stuck seeds are\n  1, 2, 3, 6, 10" in HYPER


def test_post_seeds_table():
    s = bp.sweep([42, 123], architecture="2-2-1", activation="sigmoid", lr=0.3)
    for (seed, cell), acc, e in zip(table(HYPER, "post-seeds"), s.final_accuracy, s.epochs_to_converge):
        assert acc == 1.0 and cell == f"converged after {e} epochs", seed
    assert "seed 42 after 1838 epochs and seed 123 after 1561" in HYPER


def test_epochs_table(sweeps):
    long = bp.sweep(SEEDS, architecture="2-2-1", activation="sigmoid", epochs=5000)
    default = sweeps(lr=0.5)
    for epochs, sig, dflt in table(HYPER, "epochs"):
        e = int(epochs)
        assert sig == f"{long.fraction_correct_after(e):.0%}", e
        assert dflt == (f"{default.fraction_correct_after(e):.0%}" if e <= 2000 else "–"), e
    # The 2000-epoch column equals what 2000-epoch runs report.
    assert long.fraction_correct_after(2000) == sweeps(architecture="2-2-1", activation="sigmoid").fraction_converged
    c2000, c5000 = long.correct_by_epoch[:, 2000], long.correct_by_epoch[:, 5000]
    assert int((c5000 & ~c2000).sum()) == 11 and int((c2000 & ~c5000).sum()) == 0
    assert "11 of the 29 not there yet at 2000 arrive by 5000" in HYPER


def test_init_tables(sweeps):
    for init, conv, med in table(HYPER, "init"):
        s = sweeps(init=init)
        assert (conv, med) == (f"{s.fraction_converged:.0%}", median_cell(s)), init
    for init, g1, g2 in table(HYPER, "small-init"):
        n = bp.gradient_norms_at_init(1, "tanh", width=4, init=init, seed=0)
        assert (g1, g2) == (f"{n[0]:.2g}", f"{n[1]:.2g}"), init
    assert "σ = 1 for the first layer,\n  against Xavier's 0.58" in HYPER
    assert round(math.sqrt(2 / 2), 2) == 1.0 and round(math.sqrt(2 / 6), 2) == 0.58


# --- README -----------------------------------------------------------------------------------------------
def test_readme_measured_table_and_claims(sweeps):
    assert CHAPTERS[2].post_url in README
    for name in ("BACKPROPAGATION_CALCULUS.md", "HYPERPARAMETER_INSIGHTS.md", "backprop_playground.py"):
        assert name in README
    net, r = bp.train_xor()
    d = sweeps(lr=0.5)
    s2, s4, s8 = (sweeps(architecture=a) for a in ("2-2-1", "2-4-1", "2-8-1"))
    zero_net, _ = bp.train_xor(init="zeros")
    const_net, _ = bp.train_xor(init="constant")
    expected = [
        f"| defaults: final accuracy, epochs to converge, final loss | {r.final_accuracy:.0%}, "
        f"{r.epochs_to_converge}, {r.final_loss:.4f} |",
        f"| defaults, seeds 0–99: converged, median epochs to converge | {d.fraction_converged:.0%}, "
        f"{d.median_epochs():g} |",
        f"| seed sweep (defaults, seeds 0–99), converged for 2-2-1 / 2-4-1 / 2-8-1 | "
        f"{s2.fraction_converged:.0%} / {s4.fraction_converged:.0%} / {s8.fraction_converged:.0%} |",
    ]
    for line in expected:
        assert line in README, line
    assert bp.hidden_unit_spread(zero_net) == bp.hidden_unit_spread(const_net) == 0.0
    m = {lr: sweeps(lr=lr).median_epochs() for lr in (0.5, 2.0, 5.0)}
    assert f"{m[0.5]:g} at η = 0.5, {m[2.0]:g} at η = 2, {m[5.0]:g} at η = 5" in README.replace("\n  ", " ")
    _, r1 = bp.train_xor(architecture="2-2-1", seed=1)
    _, r0 = bp.train_xor(architecture="2-2-1", seed=0)
    assert r0.final_accuracy == 1.0 and r1.final_accuracy == 0.5
    n = bp.gradient_norms_at_init(10, "sigmoid", width=8, seed=0)
    assert f"{n[-1] / n[0]:.0e}".replace("e+0", "e") == "3e6" and "about 3e6 at depth 10" in README


def test_readme_python_example():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns = {}
    exec(code, ns)
    r, tr, net = ns["result"], ns["tr"], ns["net"]
    assert (r.final_accuracy, r.epochs_to_converge) == (1.0, 208)
    assert tr.layers[0].delta.shape == (1, 4) and tr.layers[0].dW.shape == (2, 4)
    assert max(x["rel_error"] for x in net.gradient_check(*xor())) < 1e-7
    assert ns["bp"].sweep is bp.sweep
