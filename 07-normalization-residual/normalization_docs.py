"""Chapter 07's measured doc tables: each ``*_markdown`` function writes one table of the README or the deep
dive from a measurement made with ``normalization_residual``; ``DOC_TABLES`` registers them
(``python -m tests.regenerate_doc_tables 07`` rewrites them, ``tests/test_ch07_docs.py`` compares them).
"""

from __future__ import annotations

import numpy as np

from common.markdown import markdown_table, table_registry

from batchnorm_inference import batchnorm_modes
from common.layers import Sequential
from normalization_residual import (BN_MODES_RUN, DEPTH_RUN, PROBE, PROBLEM_SOLUTION, VARIANTS, _real_mnist, dead_units,
                                    deep_mlp, depth_experiment, gradient_norms, load_sweep, lr_label, post_table,
                                    signal_through_depth, small_bn_net, stream_growth, train)

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()


# Each ``*_markdown`` function writes one table of the README or the deep dive from a measurement; the
# trained ones take that measurement as an argument (the tests pass what they trained) and make it on
# real MNIST when called without one (``python -m tests.regenerate_doc_tables 07``, which pins one BLAS
# thread as the tests do: the nets that barely train depend on it).

def _fmt():
    from common.plots import fmt_num, fmt_pct    # the course's formatter (it imports Matplotlib)
    return fmt_num, fmt_pct


@doc_table("README.md", "table: signal")
def signal_markdown(x=None) -> str:
    """README: the signal at layers 5, 10, 20 of a depth-20 ReLU net at initialisation, plain and
    batchnorm, weight scale 1.0 and 1.5 (``x``: the probe batch, the first 512 training digits)."""
    fmt_num, _ = _fmt()
    x = _real_mnist().x_train[:PROBE] if x is None else x
    rows = []
    for variant in ("plain", "batchnorm"):
        for scale in (1.0, 1.5):
            stats = signal_through_depth(deep_mlp(20, variant, np.random.default_rng(0), init_scale=scale), x)
            rows.append([variant, scale] + [fmt_num(v) for r in post_table(stats) for v in (r["mean"], r["std"])])
    header = ["variant", "weight scale"] + [f"layer {l} {s}" for l in (5, 10, 20) for s in ("mean", "std")]
    return markdown_table(header, rows)


def gradient_ratios(x, y, depth: int = 20) -> dict[tuple[str, str], float]:
    """‖∂L/∂h₁‖ / ‖∂L/∂h_depth‖ at initialisation per (activation, variant), on one batch (x, y)."""
    out = {}
    for act in ("sigmoid", "relu"):
        for variant in VARIANTS:
            g = gradient_norms(deep_mlp(depth, variant, np.random.default_rng(0), activation=act), x, y)
            out[act, variant] = float(g["signal"][0] / g["signal"][-1])
    return out


@doc_table("README.md", "table: gradient-ratio")
def gradient_ratio_markdown(ratios=None) -> str:
    """README: ``gradient_ratios`` on the first 256 training digits."""
    fmt_num, _ = _fmt()
    if ratios is None:
        d = _real_mnist()
        ratios = gradient_ratios(d.x_train[:256], d.y_train[:256])
    return markdown_table(["activation", *VARIANTS], [[act] + [fmt_num(ratios[act, v]) for v in VARIANTS]
                                              for act in ("sigmoid", "relu")])


def depth_rows(lr: float = 1e-3, variants=VARIANTS, data=None) -> list[dict]:
    """``depth_experiment`` with ``DEPTH_RUN`` at depths 5 and 30 on real MNIST."""
    d = _real_mnist() if data is None else data
    n, t = DEPTH_RUN["n_train"], DEPTH_RUN["n_test"]
    return depth_experiment(d.x_train[:n], d.y_train[:n], d.x_test[:t], d.y_test[:t], depths=(5, 30),
                            variants=variants, epochs=DEPTH_RUN["epochs"], lr=lr)


@doc_table("README.md", "table: depth-experiment")
def depth_markdown(rows=None) -> str:
    """README: the depth experiment at lr 10⁻³ (``depth_rows()``)."""
    fmt_num, fmt_pct = _fmt()
    rows = depth_rows() if rows is None else rows
    return markdown_table(["variant", "depth", "train loss", "train accuracy", "test accuracy"],
                  [[r["variant"], r["depth"], fmt_num(r["train loss"]), fmt_pct(r["train acc"]), fmt_pct(r["val acc"])]
                   for r in rows])


@doc_table("README.md", "table: lr-sweep")
def sweep_markdown(rows=None) -> str:
    """README: the learning-rate sweep's test accuracy per variant and depth (the shipped checkpoint,
    ``load_sweep()``; ``tests/test_ch07_normalization_residual.py`` retrains it)."""
    _, fmt_pct = _fmt()
    rows = load_sweep() if rows is None else rows
    r = {(row["variant"], row["depth"], row["lr"]): row for row in rows}
    depths = sorted({row["depth"] for row in rows})
    lrs = sorted({row["lr"] for row in rows})
    return markdown_table(["variant", "depth"] + [f"lr {lr_label(lr)}" for lr in lrs],
                  [[v, d] + [fmt_pct(r[v, d, lr]["val acc"]) for lr in lrs] for d in depths for v in VARIANTS])


def bn_helps_accuracy(data=None) -> dict[str, float]:
    """Test accuracy of the plain and batchnorm sigmoid nets, depth 20, ``DEPTH_RUN``'s budget, lr 10⁻³."""
    d = _real_mnist() if data is None else data
    n, t = DEPTH_RUN["n_train"], DEPTH_RUN["n_test"]
    out = {}
    for variant in ("plain", "batchnorm"):
        rng = np.random.default_rng(0)
        model = deep_mlp(20, variant, rng, activation="sigmoid")
        h = train(model, d.x_train[:n], d.y_train[:n], epochs=DEPTH_RUN["epochs"], rng=rng, x_val=d.x_test[:t],
                  y_val=d.y_test[:t])
        out[variant] = h.val_acc[-1]
    return out


@doc_table("README.md", "table: bn-helps")
def bn_helps_markdown(acc=None) -> str:
    _, fmt_pct = _fmt()
    acc = bn_helps_accuracy() if acc is None else acc
    return markdown_table(["setting", "plain test accuracy", "batchnorm test accuracy"],
                  [["sigmoid, depth 20, lr 10⁻³", fmt_pct(acc["plain"]), fmt_pct(acc["batchnorm"])]])


def bn_modes_model(data=None) -> Sequential:
    """The README's BatchNorm-at-inference net: 3 BN layers, ``BN_MODES_RUN``, seed 0."""
    d = _real_mnist() if data is None else data
    n = BN_MODES_RUN["n_train"]
    return small_bn_net(d.x_train[:n], d.y_train[:n], epochs=BN_MODES_RUN["epochs"])


@doc_table("README.md", "table: bn-modes")
def bn_modes_markdown(modes=None) -> str:
    """README: ``batchnorm_modes`` of ``bn_modes_model()`` on the first 1,000 test digits."""
    _, fmt_pct = _fmt()
    if modes is None:
        d = _real_mnist()
        t = BN_MODES_RUN["n_test"]
        modes = batchnorm_modes(bn_modes_model(d), d.x_test[:t], d.y_test[:t], (1, 8, 128))
    return markdown_table(["mode", "batch size", "accuracy", "distinct predictions"],
                  [[r["mode"], r["batch size"], fmt_pct(r["accuracy"]), r["distinct predictions"]] for r in modes])


def stream_growth_table(x, variants=("residual", "both"), depths=(5, 20, 50), seeds=(0,)) -> dict:
    """``stream_growth`` of each (variant, depth, seed) at initialisation on the batch ``x``."""
    return {(v, d, s): stream_growth(deep_mlp(d, v, np.random.default_rng(s)), x)
            for v in variants for d in depths for s in seeds}


@doc_table("NORMALIZATION_RESIDUAL_DEEP_DIVE.md", "table: stream-growth")
def stream_growth_markdown(growth=None) -> str:
    """Deep dive: the residual stream's E[x²] growth at depths 5, 20, 50 (seed 0, the probe batch)."""
    fmt_num, _ = _fmt()
    growth = stream_growth_table(_real_mnist().x_train[:PROBE]) if growth is None else growth
    return markdown_table(["variant", "depth 5", "depth 20", "depth 50"],
                  [[v] + [f"×{fmt_num(growth[v, d, 0])}" for d in (5, 20, 50)] for v in ("residual", "both")])


DYING_LRS = (1e-3, 1e-2, 3e-2)


def dying_relu(data=None, lrs=DYING_LRS) -> list[dict]:
    """A depth-5 plain ReLU net trained with ``DEPTH_RUN``'s budget at each Adam learning rate: the mean
    fraction of dead hidden units (``dead_units`` on the probe batch) before and after, and the test accuracy."""
    d = _real_mnist() if data is None else data
    n, t = DEPTH_RUN["n_train"], DEPTH_RUN["n_test"]
    probe = d.x_train[:PROBE]
    rows = []
    for lr in lrs:
        rng = np.random.default_rng(0)
        model = deep_mlp(5, "plain", rng)
        before = float(dead_units(model, probe).mean())
        h = train(model, d.x_train[:n], d.y_train[:n], epochs=DEPTH_RUN["epochs"], rng=rng, lr=lr,
                  x_val=d.x_test[:t], y_val=d.y_test[:t])
        rows.append({"lr": lr, "dead at init": before, "dead after": float(dead_units(model, probe).mean()),
                     "val acc": h.val_acc[-1]})
    return rows


@doc_table("NORMALIZATION_RESIDUAL_DEEP_DIVE.md", "table: dying-relu")
def dying_markdown(rows=None) -> str:
    """Deep dive: ``dying_relu()``."""
    _, fmt_pct = _fmt()
    rows = dying_relu() if rows is None else rows
    names = {1e-3: "10⁻³", 1e-2: "10⁻²", 3e-2: "3·10⁻²"}
    return markdown_table(["Adam learning rate", "dead units at initialisation", "dead units after 2 epochs", "test accuracy"],
                  [[names[r["lr"]], fmt_pct(r["dead at init"]), fmt_pct(r["dead after"]), fmt_pct(r["val acc"])]
                   for r in rows])


@doc_table("NORMALIZATION_RESIDUAL_DEEP_DIVE.md", "table: problem-solution")
def problem_solution_markdown() -> str:
    return markdown_table(["problem", "what goes wrong", "the post's solution", "what holds"], PROBLEM_SOLUTION)


