"""Chapter 07: batch normalisation and residual connections in deep MLPs on MNIST.

Four variants of the same deep network, selectable depth (number of hidden width×width layers):

=============  ==========================================================================
plain          Dense → act, repeated
batchnorm      Dense → BatchNorm → act, repeated (Ioffe & Szegedy 2015: normalise before the nonlinearity)
residual       x + Dense(act(x)) blocks, the branch's weights scaled by ``branch_scale``
both           x + Dense(act(BatchNorm(x))) blocks (pre-activation, He et al. 2016 "v2")
=============  ==========================================================================

Every net is ``Dense(784, width) → act → [depth hidden blocks] → Dense(width, 10)``.

Why the residual branches are scaled: with He initialisation a branch ``Dense(act(x))`` returns a signal
about as large as its input, so ``x + F(x)`` roughly doubles the second moment at every block. ResNets
avoid this with a BatchNorm in the branch (variant "both"); without normalisation the branch must start
small (Fixup, Zhang et al. 2019; SkipInit, De & Smith 2020). We multiply the branch's initial weights by
``branch_scale`` = 1/√depth by default. Then each block adds E[F²] = (2/L)·E[relu(x)²] ≤ (2/L)·E[x²] in
expectation, so the stream's second moment grows at most by (1 + 2/L)^L ≤ e² ≈ 7.4 over the whole net,
whatever its depth. A zero-mean stream (E[relu(x)²] = E[x²]/2) would give the (1 + 1/L)^L ≤ e of the
textbook argument; ours starts as the stem's ReLU output (non-negative, relu(x) = x), so the growth lands
between e and e². ``stream_growth`` measures it (the deep dive, section 5, gives the numbers).

Measurements the playground plots and the tests check: per-layer activation statistics (at
initialisation and after training), per-layer gradient norms, the depth experiment, the residual
stream's growth and dying ReLU units, here; BatchNorm in training vs evaluation mode and BatchNorm vs
LayerNorm axes in ``batchnorm_inference``. ``normalization_docs.DOC_TABLES`` writes every measured table of
the README and the deep dive from these runs.

>>> import numpy as np
>>> model = deep_mlp(3, "both", np.random.default_rng(0), width=8)
>>> [type(b).__name__ for b in blocks(model)], len(batchnorm_layers(model))
(['Residual', 'Residual', 'Residual'], 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common import Adam, Callback, Dense, Sequential, evaluate, fit, softmax_cross_entropy
from common._validation import check_array, check_choice, check_generator, check_positive, check_positive_int
from common.activations import get_layer
from common.norm import BatchNorm1d, Residual

from batchnorm_inference import batchnorm_layers  # noqa: F401  (the doctest above uses it)

VARIANTS = ("plain", "batchnorm", "residual", "both")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
INITS = {"relu": "he_normal", "tanh": "xavier_normal", "sigmoid": "xavier_normal"}


def _dense(d_in, d_out, rng, init, scale, dtype, bias=True):
    layer = Dense(d_in, d_out, rng, init=init, dtype=dtype, bias=bias)
    if scale != 1.0:
        layer.params["W"] *= layer.params["W"].dtype.type(scale)
    return layer


def deep_mlp(depth: int, variant: str, rng: np.random.Generator, *, width: int = 64, activation: str = "relu",
             init_scale: float = 1.0, branch_scale: float | None = None, in_features: int = 784,
             classes: int = 10, dtype=np.float32) -> Sequential:
    """A deep MLP of ``depth`` hidden width×width layers in one of ``VARIANTS``.

    ``init_scale`` multiplies every hidden weight's initial standard deviation (He for ReLU, Xavier for
    tanh/sigmoid): 1 keeps a plain ReLU net's signal steady, above 1 it explodes layer after layer,
    below 1 it collapses. ``branch_scale`` (default 1/√depth) multiplies the residual branches' weights.

    Layers of the returned ``Sequential``: [stem Dense, act, block₁ … block_depth, head Dense]; each
    block is a ``Sequential`` (plain, batchnorm) or a ``Residual`` (residual, both).
    """
    check_positive_int("depth", depth)
    check_choice("variant", variant, VARIANTS)
    check_generator("rng", rng)
    check_positive_int("width", width)
    check_choice("activation", activation, ACTIVATIONS)
    check_positive("init_scale", init_scale)
    if branch_scale is None:
        branch_scale = 1.0 / math.sqrt(depth)
    check_positive("branch_scale", branch_scale)
    init = INITS[activation]
    layers = [_dense(in_features, width, rng, init, 1.0, dtype), get_layer(activation)]
    for _ in range(depth):
        if variant == "plain":
            block = Sequential(_dense(width, width, rng, init, init_scale, dtype), get_layer(activation))
        elif variant == "batchnorm":
            # No bias before BatchNorm: BN subtracts the batch mean, so a bias would do nothing.
            block = Sequential(_dense(width, width, rng, init, init_scale, dtype, bias=False),
                               BatchNorm1d(width, dtype=dtype), get_layer(activation))
        elif variant == "residual":
            block = Residual(Sequential(get_layer(activation),
                                        _dense(width, width, rng, init, init_scale * branch_scale, dtype)))
        else:
            block = Residual(Sequential(BatchNorm1d(width, dtype=dtype), get_layer(activation),
                                        _dense(width, width, rng, init, init_scale * branch_scale, dtype)))
        layers.append(block)
    layers.append(_dense(width, classes, rng, INITS[activation], 1.0, dtype))
    return Sequential(layers)


def blocks(model: Sequential) -> list:
    """The hidden blocks of a ``deep_mlp`` (everything between the stem and the head)."""
    return model.layers[2:-1]


# ------------------------------------------------------------------------- signal through depth

@dataclass
class LayerStats:
    mean: np.ndarray   # (depth,) mean of each block's measured signal
    std: np.ndarray    # (depth,) its standard deviation


def _measured(block, h, training):
    """(signal to measure, block output). Plain and BN blocks: the hidden Dense layer's output, the same
    place in both (it feeds the ReLU in "plain" and the BatchNorm in "batchnorm"; BN's own output is
    mean 0 / std 1 by construction, so measuring it would show nothing); residual blocks: the stream
    x + F(x) that the next block receives."""
    if isinstance(block, Residual):
        out = block.forward(h, training=training)
        return out, out
    dense = block.layers[0].forward(h, training=training)
    out = dense
    for layer in block.layers[1:]:
        out = layer.forward(out, training=training)
    return dense, out


def signal_through_depth(model: Sequential, x: np.ndarray, *, training: bool = True) -> LayerStats:
    """Mean and standard deviation of each hidden block's signal on the batch ``x`` (N, 784).

    ``training=True`` uses batch statistics in the BatchNorm layers (what a training step sees) and
    updates their running averages, so run it on a copy of a model you care about, or at initialisation.
    Values overflow to inf/NaN in float32 once the signal passes ~3·10³⁸; they are reported as they are.
    """
    x = check_array("x", x, ndim=2)
    h = model.layers[1].forward(model.layers[0].forward(x, training=training), training=training)
    means, stds = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for block in blocks(model):
            sig, h = _measured(block, h, training)
            means.append(float(np.mean(sig)))
            stds.append(float(np.std(sig)))
    return LayerStats(np.array(means), np.array(stds))


def stream_growth(model: Sequential, x: np.ndarray) -> float:
    """E[h²] of the residual stream after the last block over E[h²] where it starts (the stem's ReLU
    output), at initialisation, BatchNorm in training mode. Shapes: x: (N, 784)."""
    x = check_array("x", x, ndim=2)
    h = model.layers[1].forward(model.layers[0].forward(x, training=True), training=True)
    start = float(np.mean(np.square(h, dtype=np.float64)))
    with np.errstate(over="ignore", invalid="ignore"):
        for block in blocks(model):
            h = block.forward(h, training=True)
    return float(np.mean(np.square(h, dtype=np.float64))) / start


def dead_units(model: Sequential, x: np.ndarray) -> np.ndarray:
    """Per hidden ReLU of a plain or batchnorm ``deep_mlp`` (the stem's first): the fraction of its units
    that output 0 for every row of ``x``, in evaluation mode. Such a unit passes no gradient to its
    weights for these inputs: a "dead" ReLU unit. Shapes: x: (N, 784) → (depth + 1,)."""
    x = check_array("x", x, ndim=2)
    if any(isinstance(b, Residual) for b in blocks(model)):
        raise ValueError("model must be a plain or batchnorm deep_mlp (its ReLUs are the hidden layers' outputs)")
    h = model.layers[1].forward(model.layers[0].forward(x))
    fractions = [float(np.mean(np.all(h <= 0, axis=0)))]
    for block in blocks(model):
        h = block.forward(h)
        fractions.append(float(np.mean(np.all(h <= 0, axis=0))))
    return np.array(fractions)


class SignalTracker(Callback):
    """A training callback that measures ``signal_through_depth`` on a fixed probe batch at the start and
    after every epoch, in evaluation mode (so BatchNorm's running statistics are used and left alone).
    ``stats[e]`` is the measurement after e epochs (``stats[0]`` at initialisation)."""

    def __init__(self, probe: np.ndarray) -> None:
        self.probe = check_array("probe", probe, ndim=2)
        self.stats: list[LayerStats] = []

    def on_train_begin(self, state):
        self.stats = [signal_through_depth(state.model, self.probe, training=False)]

    def on_epoch_end(self, state):
        self.stats.append(signal_through_depth(state.model, self.probe, training=False))


def post_table(stats: LayerStats, layers=(5, 10, 20)) -> list[dict]:
    """The post's table (layer 5/10/20 mean and std) from measured statistics; layers past the depth are
    left out."""
    return [{"layer": l, "mean": float(stats.mean[l - 1]), "std": float(stats.std[l - 1])}
            for l in layers if l <= len(stats.mean)]


# -------------------------------------------------------------------------------- gradient flow

def gradient_norms(model: Sequential, x: np.ndarray, y: np.ndarray, *, training: bool = True) -> dict[str, np.ndarray]:
    """One forward/backward pass on (x, y) and, per hidden block (index 0 = nearest the input):

    - ``"signal"``: ‖∂L/∂h‖ at the block's input (the gradient reaching that depth, per sample mean);
    - ``"weights"``: ‖∂L/∂W‖ of the block's Dense weight.

    The model's gradients are zeroed before and left filled after.
    """
    x = check_array("x", x, ndim=2)
    model.zero_grad()
    out = model.forward(x, training=training)
    _, dout = softmax_cross_entropy(out, y)
    dout = model.layers[-1].backward(dout)
    signal = []
    for block in reversed(blocks(model)):
        dout = block.backward(dout)
        signal.append(float(np.linalg.norm(dout) / len(x)))
    dout = model.layers[1].backward(dout)
    model.layers[0].backward(dout)
    weights = []
    for block in blocks(model):
        dense = [l for l in (block.body.layers if isinstance(block, Residual) else block.layers) if isinstance(l, Dense)][0]
        weights.append(float(np.linalg.norm(dense.grads["W"])))
    return {"signal": np.array(signal[::-1]), "weights": np.array(weights)}


# ------------------------------------------------------------------------------------- training

def train(model: Sequential, x, y, *, epochs: int, rng: np.random.Generator, batch_size: int = 128,
          lr: float = 1e-3, x_val=None, y_val=None, callbacks=()):
    """Adam + softmax cross-entropy; returns the ``History`` (train loss/acc per epoch are batch means)."""
    check_positive("lr", lr)
    return fit(model, x, y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=lr), epochs=epochs, rng=rng,
               batch_size=batch_size, X_val=x_val, y_val=y_val, callbacks=callbacks)


def _run(x, y, x_val, y_val, *, depth, variant, lr, epochs, seed, width, batch_size, activation, init_scale,
         callbacks=()) -> dict:
    """One run of the depth experiment or the learning-rate sweep: a fresh ``deep_mlp`` (seeded), trained,
    then the training loss and accuracy on the whole training set in evaluation mode."""
    rng = np.random.default_rng(seed)
    model = deep_mlp(depth, variant, rng, width=width, activation=activation, init_scale=init_scale)
    with np.errstate(all="ignore"):              # the nets that diverge at large rates overflow on the way
        hist = train(model, x, y, epochs=epochs, rng=rng, batch_size=batch_size, lr=lr, x_val=x_val, y_val=y_val,
                     callbacks=callbacks)
        tl, ta = evaluate(model, x, y, softmax_cross_entropy)
    return {"variant": variant, "depth": depth, "lr": lr, "train loss": tl, "train acc": ta,
            "val acc": hist.val_acc[-1] if hist.val_acc else float("nan"), "history": hist}


def _runs(data, grid, on_result, callbacks, **settings) -> list[dict]:
    """``_run`` on ``data`` (x, y, x_val, y_val) for each ``(key, run)`` of ``grid`` in order, ``run`` holding
    its depth, variant and lr and ``settings`` the rest: ``callbacks(*key)`` gives its training callbacks,
    ``on_result(row)`` is called after it. The rows, in ``grid``'s order."""
    rows = []
    for key, run in grid:
        cbs = callbacks(*key) if callbacks is not None else ()
        row = _run(*data, **run, **settings, callbacks=cbs)
        rows.append(row)
        if on_result is not None:
            on_result(row)
    return rows


def depth_experiment(x, y, x_val, y_val, *, depths=(5, 30), variants=VARIANTS, epochs: int = 3, seed: int = 0,
                     width: int = 64, lr: float = 1e-3, batch_size: int = 128, activation: str = "relu",
                     init_scale: float = 1.0, on_result=None, callbacks=None) -> list[dict]:
    """Train every variant at every depth with the same data, seed and budget; one row per run with the
    final training loss (evaluation mode, on the whole training set), training and validation accuracy.
    ``on_result(row)`` is called after each run (a playground keeps partial results with it);
    ``callbacks(depth, variant)`` gives each run's training callbacks (a progress bar)."""
    grid = [((depth, variant), dict(depth=depth, variant=variant, lr=lr)) for depth in depths for variant in variants]
    return _runs((x, y, x_val, y_val), grid, on_result, callbacks, epochs=epochs, seed=seed, width=width,
                 batch_size=batch_size, activation=activation, init_scale=init_scale)


# --------------------------------------------------------------------------- the learning-rate sweep

#: The post: BatchNorm lets you "use much higher learning rates". The sweep trains every variant at each of
#: these Adam learning rates, at depths 5 and 30, with the depth experiment's budget (``DEPTH_RUN``).
SWEEP_LRS = (1e-3, 1e-2, 3e-2, 1e-1)
SWEEP_DEPTHS = (5, 30)


def lr_label(lr: float) -> str:
    """An Adam learning rate as the docs write it: ``lr_label(1e-3) == "10⁻³"``, ``lr_label(0.03) == "3·10⁻²"``."""
    check_positive("lr", lr)
    exponent = math.floor(math.log10(lr) + 1e-9)
    mantissa = round(lr / 10.0 ** exponent, 6)
    sup = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    head = "" if mantissa == 1 else f"{mantissa:g}·"
    return f"{head}10{sup}"


def lr_sweep(x, y, x_val, y_val, *, depth: int = 5, variants=VARIANTS, lrs=SWEEP_LRS, epochs: int = 2,
             seed: int = 0, width: int = 64, batch_size: int = 128, activation: str = "relu",
             init_scale: float = 1.0, on_result=None, callbacks=None) -> list[dict]:
    """Every variant at every Adam learning rate in ``lrs``, at one depth, with the same data, seed and
    budget: one row per run (``"variant"``, ``"depth"``, ``"lr"``, ``"train loss"``, ``"train acc"``,
    ``"val acc"``, ``"history"``), variant by variant, each in increasing learning rate. The run at
    lr 10⁻³ is the depth experiment's run (same seed, same budget). ``on_result(row)`` after each run;
    ``callbacks(variant, lr)`` gives each run's training callbacks."""
    check_positive_int("depth", depth)
    grid = [((variant, lr), dict(depth=depth, variant=variant, lr=lr)) for variant in variants for lr in lrs]
    return _runs((x, y, x_val, y_val), grid, on_result, callbacks, epochs=epochs, seed=seed, width=width,
                 batch_size=batch_size, activation=activation, init_scale=init_scale)


def bn_vs_plain(rows: list[dict], depth: int) -> str:
    """The sweep at ``depth`` in one sentence, computed from its rows: where BatchNorm trails or leads the
    plain net, and the largest rate at which each still trains. The page shows it beside the chart and
    the README's sentence is checked against it."""
    from common.plots import fmt_pct
    r = {(row["variant"], row["lr"]): row["val acc"] for row in rows if row["depth"] == depth}
    lrs = sorted({lr for v, lr in r if v == "plain" and ("batchnorm", lr) in r})
    if not lrs:
        return ""
    parts = []
    for lr in lrs:
        bn, plain = r["batchnorm", lr], r["plain", lr]
        word = "trails" if bn < plain else "leads"
        parts.append(f"at lr {lr_label(lr)} BatchNorm {word} the plain net, {fmt_pct(bn)} against {fmt_pct(plain)}")
    return f"Depth {depth}: " + "; ".join(parts) + "."


#: The shipped sweep (``train_normalization_residual.py`` writes it; the page and the docs read it).
SWEEP_CHECKPOINT = "checkpoints/lr_sweep.npz"


def sweep_path():
    from pathlib import Path
    return Path(__file__).resolve().parent / SWEEP_CHECKPOINT


def sweep_record(data=None, depths=SWEEP_DEPTHS, on_result=None) -> list[dict]:
    """The sweep at every depth in ``depths`` on real MNIST with ``DEPTH_RUN``'s budget: what the shipped
    checkpoint records."""
    d = _real_mnist() if data is None else data
    n, t = DEPTH_RUN["n_train"], DEPTH_RUN["n_test"]
    rows = []
    for depth in depths:
        rows += lr_sweep(d.x_train[:n], d.y_train[:n], d.x_test[:t], d.y_test[:t], depth=depth,
                         epochs=DEPTH_RUN["epochs"], on_result=on_result)
    return rows


#: The numbers each sweep row keeps in the checkpoint, as arrays (depth, variant, lr).
SWEEP_FIELDS = ("train loss", "train acc", "val acc")


def sweep_arrays(rows: list[dict], depths=SWEEP_DEPTHS, variants=VARIANTS, lrs=SWEEP_LRS) -> dict[str, np.ndarray]:
    """Sweep rows as ``extras`` for ``Layer.save``: one (depth, variant, lr) array per field (NaN where a
    run is missing), and the axes."""
    out = {f: np.full((len(depths), len(variants), len(lrs)), np.nan) for f in SWEEP_FIELDS}
    for row in rows:
        i, j, k = depths.index(row["depth"]), variants.index(row["variant"]), lrs.index(row["lr"])
        for f in SWEEP_FIELDS:
            out[f][i, j, k] = row[f]
    arrays = {f.replace(" ", "_"): a for f, a in out.items()}
    arrays.update(depths=np.array(depths), lrs=np.array(lrs, dtype=np.float64), variants=np.array(variants))
    return arrays


def load_sweep(path=None) -> list[dict]:
    """The rows of the shipped sweep (no histories), in the order ``lr_sweep`` makes them."""
    from common.checkpoints import read_extras
    e = read_extras(sweep_path() if path is None else path)
    depths, lrs, variants = [int(v) for v in e["depths"]], [float(v) for v in e["lrs"]], [str(v) for v in e["variants"]]
    rows = []
    for i, depth in enumerate(depths):
        for j, variant in enumerate(variants):
            for k, lr in enumerate(lrs):
                row = {"variant": variant, "depth": depth, "lr": lr}
                row.update({f: float(e[f.replace(" ", "_")][i, j, k]) for f in SWEEP_FIELDS})
                if not math.isnan(row["val acc"]):
                    rows.append(row)
    return rows


#: The post's problem/solution table, row by row: (problem, what goes wrong, the post's solution), and
#: what holds, from this chapter's measurements or the literature. The post's "Dying neurons → ReLU"
#: row is backwards: ReLU is what dies.
PROBLEM_SOLUTION = (
    ("Dying neurons", "Neurons output zero forever, stop learning", "ReLU",
     "Backwards: ReLU *causes* dying units (a unit whose input is negative for every sample outputs 0 and "
     "gets no gradient; measured in the table below). ReLU's fix is for the vanishing gradient of saturated "
     "sigmoid/tanh units. Against dead units: Leaky ReLU or ELU, He initialisation, a smaller learning rate"),
    ("Vanishing gradients", "Gradients too small to reach early layers", "ReLU + careful init",
     "Holds at initialisation: with He initialisation the plain ReLU net's gradient reaches layer 1 about as "
     "large as it left layer 20, against twelve orders of magnitude smaller with sigmoid (README, gradient table)"),
    ("Exploding gradients", "Gradients too large, training diverges", "Gradient clipping, Adam",
     "Clipping, yes: it bounds the step. Adam only hides the explosion: it divides each step by the "
     "gradient's running RMS, so steps stay about the learning rate in size however large the gradient. "
     "The causes (too-large weights, no normalisation) are fixed by initialisation and normalisation"),
    ("Slow convergence", "Hard to find a good learning rate", "Adam optimizer",
     "Adam makes the step less sensitive to the gradient's scale, but it still has a learning rate to choose "
     "(chapter 04). BatchNorm widens the range that works: it trails the plain net at 10⁻³ and leads it at every "
     "larger rate of the README's sweep, up to 10⁻¹"),
    ("Internal covariate shift", "Each layer's inputs keep shifting distribution", "Batch Norm",
     "BatchNorm keeps every layer's input at a fixed scale (README, signal table); that it works by reducing "
     "covariate shift is disputed (Santurkar et al. 2018, \"How Does Batch Normalization Help Optimization?\")"),
    ("Degradation problem", "Deeper networks perform worse than shallow ones", "Skip connections (ResNet)",
     "Holds: the 30-layer plain net fits its training data worse than the 5-layer one, the residual nets do "
     "not (README, depth experiment)"),
)


# ----------------------------------------------------------------- the runs behind the docs and the page
#
# The measured tables of the README and the deep dive are written by ``normalization_docs`` (its
# ``DOC_TABLES``) from the runs below; the page's buttons use the same settings.

#: The README's runs: (training digits, epochs, test digits) of the depth experiment and the bn-helps
#: row; the BatchNorm-at-inference net; the probe batch of the signal and gradient tables.
DEPTH_RUN = {"n_train": 3000, "epochs": 2, "n_test": 1000}
BN_MODES_RUN = {"n_train": 4000, "epochs": 2, "n_test": 1000}
PROBE = 512


def _real_mnist():
    from common.mnist import load_mnist
    return load_mnist(download=False, allow_sample=False)


def small_bn_net(x, y, *, epochs: int = 2, seed: int = 0) -> Sequential:
    """A 3-layer BatchNorm ``deep_mlp`` trained on (x, y): the net of the BatchNorm-at-inference views."""
    rng = np.random.default_rng(seed)
    model = deep_mlp(3, "batchnorm", rng, width=64)
    train(model, x, y, epochs=epochs, rng=rng)
    return model


# ------------------------------------------------------------------------------- the page's buttons
#
# What each button of the playground does with its default settings, for ``tests/benchmarks/bench_pages.py``
# (the page calls the same functions). MNIST as the page loads it (``load_mnist()``: full MNIST when it is
# there, else the bundled sample).

def _page_data():
    from common.mnist import load_mnist
    return load_mnist()


def _sweep_button():
    d = _page_data()
    n, t = DEPTH_RUN["n_train"], DEPTH_RUN["n_test"]
    lr_sweep(d.x_train[:n], d.y_train[:n], d.x_test[:t], d.y_test[:t], depth=SWEEP_DEPTHS[0], epochs=DEPTH_RUN["epochs"])


#: The page's defaults: depth 20, ReLU, weight scale 1, Adam 10⁻³, 2 epochs, 3,000 digits, 2,000 test digits.
PAGE_DEFAULTS = {"depth": 20, "lr": 1e-3, "epochs": 2, "n_train": 3000, "n_val": 2000}


def _variants_button():
    d, p = _page_data(), PAGE_DEFAULTS
    x, y, xv, yv = d.x_train[:p["n_train"]], d.y_train[:p["n_train"]], d.x_test[:p["n_val"]], d.y_test[:p["n_val"]]
    for v in VARIANTS:
        rng = np.random.default_rng(0)
        model = deep_mlp(p["depth"], v, rng)
        with np.errstate(all="ignore"):
            train(model, x, y, epochs=p["epochs"], rng=rng, lr=p["lr"], x_val=xv, y_val=yv,
                  callbacks=[SignalTracker(d.x_train[:PROBE])])


def _depth_button():
    d, p = _page_data(), PAGE_DEFAULTS
    depth_experiment(d.x_train[:p["n_train"]], d.y_train[:p["n_train"]], d.x_test[:p["n_val"]], d.y_test[:p["n_val"]],
                     depths=(5, p["depth"]), epochs=p["epochs"], lr=p["lr"])


def _small_bn_button():
    d = _page_data()
    small_bn_net(d.x_train[:4000], d.y_train[:4000])


PAGE_ACTIONS = {
    "Rerun the sweep live at depth 5": _sweep_button,
    "Train the four variants": _variants_button,
    "Depth experiment: depth 5 vs 20": _depth_button,
    "Train the small BatchNorm net": _small_bn_button,
}
