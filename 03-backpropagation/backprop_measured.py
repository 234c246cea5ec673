"""The measured tables of chapter 03's README, BACKPROPAGATION_CALCULUS.md and HYPERPARAMETER_INSIGHTS.md.

Each table is one function that computes it from ``backprop`` and ``seed_sweep`` and returns the markdown
(header, separator, rows); ``DOC_TABLES`` maps ``(document, marker)`` to it. The doc tests compare each
document with these functions, and ``python -m tests.regenerate_doc_tables 03`` rewrites the tables
after a change of the engine's arithmetic. The sweeps are computed once per process (``doc_sweep``), so
the tables and the tests that read the same sweep share it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

import backprop as bp
from common.markdown import table_registry
from common import init as initializers
from common.datasets import xor
from seed_sweep import SweepResult, sweep

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()

SEEDS = range(100)                         # every sweep in the documents: seeds 0–99
LEARNING_RATES = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0)
INITS = ("zeros", "constant", "small normal", "xavier", "he")
EPOCH_BUDGETS = (50, 100, 200, 500, 1000, 2000, 5000)
POST_SETTING = {"architecture": "2-2-1", "activation": "sigmoid", "lr": 0.3}   # the post's seed examples
POST_SEEDS = (42, 123)
VANISHING_SEEDS = range(20)


def doc_sweep(**settings) -> SweepResult:
    """``sweep`` over seeds 0–99 with the playground's defaults overridden by ``settings``, computed once
    per process for each distinct setting."""
    full = {**{k: v for k, v in bp.DEFAULTS.items() if k != "seed"}, **settings}
    full["lr"] = float(full["lr"])
    return _cached_sweep(tuple(sorted(full.items())))


@functools.lru_cache(maxsize=None)
def _cached_sweep(key) -> SweepResult:
    result = sweep(SEEDS, **dict(key))
    for a in (result.seeds, result.final_accuracy, result.final_loss, result.epochs_to_converge,
              result.correct_by_epoch, *result.stack.params.values()):
        a.flags.writeable = False          # shared by every caller in the process
    return result


# --- formatting -----------------------------------------------------------------------------------------
def _num(v, digits: int = 4) -> str:
    """Rounded to ``digits`` decimals, no trailing zeros, a typographic minus."""
    v = round(float(v), digits) + 0.0
    return f"{v:.{digits}f}".rstrip("0").rstrip(".").replace("-", "−") if v else "0"


def _vec(values, digits: int = 4) -> str:
    values = np.ravel(values)
    return _num(values[0], digits) if len(values) == 1 else "(" + ", ".join(_num(v, digits) for v in values) + ")"


def _mat(m) -> str:
    return "(" + ", ".join(_vec(row) for row in np.atleast_2d(m)) + ")"


def _plus(first, *terms) -> str:
    """``first + a − b …`` with each term's sign written as an operator."""
    out = _num(first)
    for t in terms:
        out += (" − " if t < 0 else " + ") + _num(abs(t))
    return out


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def _pct(v) -> str:
    return f"{v:.0%}"


def _median(s: SweepResult) -> str:
    m = s.median_epochs()
    return "–" if m is None else f"{m:g}"


# --- BACKPROPAGATION_CALCULUS.md ------------------------------------------------------------------------
WORKED_PARAMS = [{"W": np.array([[0.5, -0.4], [0.3, 0.8]]), "b": np.array([0.1, -0.2])},
                 {"W": np.array([[0.7], [-0.6]]), "b": np.array([0.05])}]
WORKED_X, WORKED_Y, WORKED_LR = np.array([[1.0, 0.0]]), np.array([1]), 0.5


def worked_example():
    """(net, X, y, trace) of the calculus page's 2-2-1 sigmoid pass on x = (1, 0), y = 1."""
    net = bp.BackpropNet((2, 2, 1), "sigmoid", "zeros").set_params(WORKED_PARAMS)
    return net, WORKED_X, WORKED_Y, net.trace(WORKED_X, WORKED_Y)


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: forward")
def table_forward() -> str:
    _, X, y, tr = worked_example()
    h, o = tr.layers
    W1, b1, W2, b2 = WORKED_PARAMS[0]["W"], WORKED_PARAMS[0]["b"], WORKED_PARAMS[1]["W"][:, 0], WORKED_PARAMS[1]["b"][0]
    first = "(" + ", ".join(_plus(W1[0, j], b1[j]) for j in range(2)) + ")"
    second = f"{_num(h.a[0, 0])}·{_num(W2[0])}" + "".join(
        f" {'−' if w < 0 else '+'} {_num(a)}·{_num(abs(w))}" for a, w in zip(h.a[0, 1:], W2[1:])) + \
        f" {'−' if b2 < 0 else '+'} {_num(abs(b2))}"
    return _table(("quantity", "formula", "value"), [
        ("z⁽¹⁾", f"x W⁽¹⁾ + b⁽¹⁾ = {first}", _vec(h.z)),
        ("a⁽¹⁾", "σ(z⁽¹⁾)", _vec(h.a)),
        ("z⁽²⁾", f"a⁽¹⁾ W⁽²⁾ + b⁽²⁾ = {second}", _vec(o.z)),
        ("ŷ", "σ(z⁽²⁾)", _vec(tr.y_hat)),
        ("L", f"−log ŷ (since y = {int(y[0])})", _num(tr.loss)),
    ])


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: backward")
def table_backward() -> str:
    _, X, y, tr = worked_example()
    h, o = tr.layers
    W2 = WORKED_PARAMS[1]["W"][:, 0]
    return _table(("quantity", "formula", "value"), [
        ("δ⁽²⁾", "ŷ − y", _vec(o.delta)),
        ("∂L/∂W⁽²⁾", "a⁽¹⁾ᵀ δ⁽²⁾", _vec(o.dW)),
        ("∂L/∂b⁽²⁾", "δ⁽²⁾", _vec(o.db)),
        ("∂L/∂a⁽¹⁾", f"δ⁽²⁾ W⁽²⁾ᵀ = {_vec(o.delta)} · {_vec(W2)}", _vec(o.da_prev)),
        ("σ′(z⁽¹⁾)", "a⁽¹⁾ (1 − a⁽¹⁾)", _vec(h.a * (1 - h.a))),
        ("δ⁽¹⁾", "∂L/∂a⁽¹⁾ ⊙ σ′(z⁽¹⁾)", _vec(h.delta)),
        ("∂L/∂W⁽¹⁾", "xᵀ δ⁽¹⁾ (row 2 is 0 because x₂ = 0)", _mat(h.dW)),
        ("∂L/∂b⁽¹⁾", "δ⁽¹⁾", _vec(h.db)),
    ])


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: update")
def table_update() -> str:
    net, X, y, tr = worked_example()
    new = bp.one_step(net, X, y, lr=WORKED_LR)
    old_p, new_p = net.get_params(), new.get_params()
    rows = []
    for l, (o, n) in enumerate(zip(old_p, new_p), start=1):
        fmt = _mat if o["W"].shape[1] > 1 else _vec
        sup = "⁰¹²³⁴⁵⁶⁷⁸⁹"[l]
        rows += [(f"W⁽{sup}⁾", fmt(o["W"]), fmt(n["W"])), (f"b⁽{sup}⁾", _vec(o["b"]), _vec(n["b"]))]
    rows.append(("L on this example", _num(tr.loss), _num(new.loss(X, y))))
    return _table(("parameter", "before", "after"), rows)


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: init")
def table_init() -> str:
    rows = []
    for name, sizes in bp.ARCHITECTURES.items():
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            assert initializers.fans((fan_in, fan_out)) == (fan_in, fan_out)
            rows.append((name, layer, f"({fan_in}, {fan_out})", _num(math.sqrt(2 / (fan_in + fan_out))),
                         _num(math.sqrt(6 / (fan_in + fan_out))), _num(math.sqrt(2 / fan_in)),
                         _num(math.sqrt(6 / fan_in))))
    return _table(("network", "layer", "shape (fan_in, fan_out)", "Xavier normal σ = √(2/(in+out))",
                   "Xavier uniform a = √(6/(in+out))", "He normal σ = √(2/in)", "He uniform a = √(6/in)"), rows)


def vanishing_norms(activation: str, seed: int = 0, **kw) -> np.ndarray:
    return bp.gradient_norms_at_init(10, activation, width=8, seed=seed, **kw)


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: vanishing")
def table_vanishing() -> str:
    rows = []
    for act in ("sigmoid", "tanh", "relu"):
        n = vanishing_norms(act)
        rows.append((act, f"{n[0]:.3e}", f"{n[-1]:.3e}", f"{n[-1] / n[0]:.3g}"))
    return _table(("activation", "‖∂L/∂W‖ at layer 1", "‖∂L/∂W‖ at layer 11 (output)", "last / first"), rows)


def vanishing_spreads(activation: str) -> np.ndarray:
    """``layer_spread`` of the depth-10, width-8 network for seeds 0–19 (NaN: no gradient anywhere)."""
    return np.array([bp.layer_spread(vanishing_norms(activation, seed)) for seed in VANISHING_SEEDS])


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: vanishing-seeds")
def table_vanishing_seeds() -> str:
    rows = []
    for act in ("sigmoid", "tanh", "relu"):
        s = vanishing_spreads(act)
        rows.append((act, f"{s[0]:.3g}", f"{np.nanmax(s):.3g}", int(np.isnan(s).sum())))
    return _table(("activation", "largest / smallest layer, seed 0", "the same, largest over seeds 0–19",
                   "seeds with no gradient at all"), rows)


def earlier_smaller(activation: str, architecture: str) -> float:
    """Fraction of (seed, example) pairs, seeds 0–19 × the four XOR points at Xavier initialisation, where
    the first layer's ‖∂L/∂W‖ is smaller than the output layer's."""
    X, y = xor()
    smaller = []
    for seed in range(20):
        net = bp.BackpropNet(bp.ARCHITECTURES[architecture], activation, "xavier", np.random.default_rng(seed))
        for i in range(4):
            n = [np.linalg.norm(t.dW) for t in net.trace(X[i:i + 1], y[i:i + 1]).layers]
            smaller.append(n[0] < n[1])
    return float(np.mean(smaller))


@doc_table("BACKPROPAGATION_CALCULUS.md", "check: earlier-smaller")
def table_earlier_smaller() -> str:
    return _table(("hidden activation", *bp.ARCHITECTURES),
                  [(act, *(_pct(earlier_smaller(act, a)) for a in bp.ARCHITECTURES)) for act in ("sigmoid", "tanh", "relu")])


# --- HYPERPARAMETER_INSIGHTS.md -------------------------------------------------------------------------
@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: lr")
def table_lr() -> str:
    return _table(("η", "converged (of 100 seeds)", "median epochs to converge", "median final loss"),
                  [(f"{lr:g}", _pct(s.fraction_converged), _median(s), f"{np.median(s.final_loss):.4f}")
                   for lr in LEARNING_RATES for s in [doc_sweep(lr=lr)]])


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: width")
def table_width() -> str:
    return _table(("hidden activation", *bp.ARCHITECTURES),
                  [(act, *(f"{_pct(s.fraction_converged)} ({_median(s)})"
                           for a in bp.ARCHITECTURES for s in [doc_sweep(architecture=a, activation=act)]))
                   for act in ("sigmoid", "tanh", "relu")])


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: stuck")
def table_stuck() -> str:
    rows = []
    for act in ("sigmoid", "tanh", "relu"):
        s = doc_sweep(architecture="2-2-1", activation=act)
        fa = s.final_accuracy[~s.converged]
        rows.append((f"2-2-1 {act}", len(fa), int((fa == 0.5).sum()), int((fa == 0.75).sum())))
    return _table(("setting", "stuck seeds", "stuck at 50%", "stuck at 75%"), rows)


def relu_stuck_units() -> tuple[int, int, int]:
    """Of the stuck 2-2-1 ReLU runs: (stuck, with a hidden unit off on all four points, with both units
    alive but some 1-case switching every unit off, so that it scores exactly like (0, 0))."""
    X, y = xor()
    s = doc_sweep(architecture="2-2-1", activation="relu")
    dead = blind = 0
    for k in np.flatnonzero(~s.converged):
        off = bp.units_off(s.network(k), X)                          # (4, 2)
        if off.all(axis=0).any():
            dead += 1
        elif off[0].all() and (off.all(axis=1) & (y == 1)).any():
            blind += 1
    return int((~s.converged).sum()), dead, blind


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: relu-stuck")
def table_relu_stuck() -> str:
    n, dead, blind = relu_stuck_units()
    return _table(("stuck 2-2-1 ReLU runs", "a hidden unit off on all four points",
                   "both alive, a 1-case with every unit off"), [(n, dead, blind)])


def post_seeds() -> SweepResult:
    return sweep(POST_SEEDS, **POST_SETTING)


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: post-seeds")
def table_post_seeds() -> str:
    s = post_seeds()
    cells = [f"converged after {e} epochs" if c else f"stuck at {_pct(a)}"
             for c, e, a in zip(s.converged, s.epochs_to_converge, s.final_accuracy)]
    return _table(("seed", "2-2-1 sigmoid, η = 0.3, 2000 epochs"), list(zip(POST_SEEDS, cells)))


def long_sigmoid() -> SweepResult:
    return doc_sweep(architecture="2-2-1", activation="sigmoid", epochs=max(EPOCH_BUDGETS))


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: epochs")
def table_epochs() -> str:
    long, default = long_sigmoid(), doc_sweep()
    return _table(("epochs", "2-2-1 sigmoid, η = 0.5", "2-4-1 tanh, η = 0.5 (defaults)"),
                  [(e, _pct(long.fraction_correct_after(e)),
                    _pct(default.fraction_correct_after(e)) if e <= bp.DEFAULTS["epochs"] else "–")
                   for e in EPOCH_BUDGETS])


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: init")
def table_hyper_init() -> str:
    return _table(("initialisation", "converged", "median epochs"),
                  [(init, _pct(s.fraction_converged), _median(s)) for init in INITS for s in [doc_sweep(init=init)]])


def small_init_norms(init: str) -> np.ndarray:
    return bp.gradient_norms_at_init(1, "tanh", width=4, init=init, seed=0)


@doc_table("HYPERPARAMETER_INSIGHTS.md", "check: small-init")
def table_small_init() -> str:
    return _table(("initialisation", "‖∂L/∂W⁽¹⁾‖", "‖∂L/∂W⁽²⁾‖"),
                  [(init, f"{n[0]:.2g}", f"{n[1]:.2g}") for init in ("small normal", "xavier")
                   for n in [small_init_norms(init)]])


# --- README.md --------------------------------------------------------------------------------------------
@doc_table("README.md", "check: measured")
def table_readme() -> str:
    _, r = bp.train_xor()
    d = doc_sweep()
    archs = " / ".join(_pct(doc_sweep(architecture=a).fraction_converged) for a in bp.ARCHITECTURES)
    spreads = [bp.hidden_unit_spread(bp.train_xor(init=i)[0]) for i in ("zeros", "constant")]
    return _table(("quantity", "value"), [
        ("defaults: final accuracy, epochs to converge, final loss",
         f"{_pct(r.final_accuracy)}, {r.epochs_to_converge}, {r.final_loss:.4f}"),
        ("defaults, seeds 0–99: converged, median epochs to converge", f"{_pct(d.fraction_converged)}, {_median(d)}"),
        ("seed sweep (defaults, seeds 0–99), converged for 2-2-1 / 2-4-1 / 2-8-1", archs),
        ("zeros or constant initialisation: hidden-unit spread after training",
         f"{max(spreads):g} (identical units)" if max(spreads) == 0 else f"{max(spreads):.3g}"),
    ])


