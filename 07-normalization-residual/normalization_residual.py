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
as large as its input, so ``x + F(x)`` doubles the second moment at every block and 30 blocks multiply
it by 2³⁰. ResNets avoid this with a BatchNorm in the branch (variant "both"); without normalisation the
branch must start small (Fixup, Zhang et al. 2019; SkipInit, De & Smith 2020). We multiply the branch's
initial weights by ``branch_scale`` = 1/√depth by default, so the stream grows by about (1 + 1/L)^L ≤ e
over the whole net.

Measurements the playground plots and the tests check: per-layer activation statistics (at
initialisation and after training), per-layer gradient norms, the depth experiment, BatchNorm in
training vs evaluation mode, and BatchNorm vs LayerNorm axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common import Adam, Callback, Dense, Sequential, evaluate, fit, softmax_cross_entropy
from common._validation import check_array, check_choice, check_generator, check_positive, check_positive_int
from common.activations import get_layer
from common.norm import BatchNorm1d, LayerNorm, Residual

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
    """(signal to measure, block output). Plain/BN blocks: the pre-activation (the Dense or BatchNorm
    output the nonlinearity receives, where the post's mean≈0, std≈1 is stated); residual blocks: the
    stream x + F(x) that the next block receives."""
    if isinstance(block, Residual):
        out = block.forward(h, training=training)
        return out, out
    pre = h
    for layer in block.layers[:-1]:
        pre = layer.forward(pre, training=training)
    return pre, block.layers[-1].forward(pre, training=training)


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


def depth_experiment(x, y, x_val, y_val, *, depths=(5, 30), variants=VARIANTS, epochs: int = 3, seed: int = 0,
                     width: int = 64, lr: float = 1e-3, batch_size: int = 128, on_result=None) -> list[dict]:
    """Train every variant at every depth with the same data, seed and budget; one row per run with the
    final training loss (evaluation mode, on the whole training set), training and validation accuracy.
    ``on_result(row)`` is called after each run (a playground keeps partial results with it)."""
    rows = []
    for depth in depths:
        for variant in variants:
            rng = np.random.default_rng(seed)
            model = deep_mlp(depth, variant, rng, width=width)
            hist = train(model, x, y, epochs=epochs, rng=rng, batch_size=batch_size, lr=lr, x_val=x_val, y_val=y_val)
            tl, ta = evaluate(model, x, y, softmax_cross_entropy)
            row = {"variant": variant, "depth": depth, "train loss": tl, "train acc": ta,
                   "val acc": hist.val_acc[-1], "history": hist}
            rows.append(row)
            if on_result is not None:
                on_result(row)
    return rows


# ---------------------------------------------------------------------------- BatchNorm modes

def batchnorm_layers(model: Sequential) -> list[BatchNorm1d]:
    found = []

    def walk(layer):
        if isinstance(layer, BatchNorm1d):
            found.append(layer)
        for child in getattr(layer, "layers", []):
            walk(child)
        if isinstance(layer, Residual):
            walk(layer.body)
            if layer.projection is not None:
                walk(layer.projection)

    walk(model)
    return found


def predict_in_mode(model: Sequential, x: np.ndarray, *, training: bool, batch_size: int | None = None) -> np.ndarray:
    """Logits in training mode (batch statistics) or evaluation mode (running averages), computed
    ``batch_size`` rows at a time. Running averages are saved and restored, so the model is unchanged."""
    x = check_array("x", x, ndim=2)
    bns = batchnorm_layers(model)
    saved = [{k: v.copy() for k, v in bn.buffers.items()} for bn in bns]
    bs = len(x) if batch_size is None else batch_size
    check_positive_int("batch_size", bs)
    try:
        outs = [model.forward(x[i:i + bs], training=training) for i in range(0, len(x), bs)]
    finally:
        for bn, state in zip(bns, saved):
            for k, v in state.items():
                bn.buffers[k][...] = v
    return np.concatenate(outs)


def batchnorm_modes(model: Sequential, x: np.ndarray, y: np.ndarray, batch_sizes=(1, 8, 128)) -> list[dict]:
    """Accuracy of a trained BN model in evaluation mode and in training mode with several batch sizes,
    plus how many distinct predictions each makes. With batch size 1 in training mode every BN output is
    β, so the net gives the same answer for every input."""
    y = check_array("y", y, ndim=1)
    rows = []
    logits = predict_in_mode(model, x, training=False)
    rows.append({"mode": "eval (running averages)", "batch size": "any", "accuracy": float(np.mean(logits.argmax(1) == y)),
                 "distinct predictions": int(len(np.unique(logits.argmax(1))))})
    for bs in batch_sizes:
        logits = predict_in_mode(model, x, training=True, batch_size=bs)
        pred = logits.argmax(1)
        rows.append({"mode": "train (batch statistics)", "batch size": str(bs), "accuracy": float(np.mean(pred == y)),
                     "distinct predictions": int(len(np.unique(pred)))})
    return rows


def running_vs_batch_stats(model: Sequential, x: np.ndarray, layer: int = 0) -> dict[str, np.ndarray]:
    """For BatchNorm layer number ``layer`` of a trained model: the running mean/var and the mean/var of
    its input on the batch ``x`` (what training mode would use)."""
    bns = batchnorm_layers(model)
    if not bns:
        raise ValueError("model has no BatchNorm layers; use variant 'batchnorm' or 'both'")
    if not 0 <= layer < len(bns):
        raise ValueError(f"layer must be in [0, {len(bns) - 1}], got {layer}")
    target = bns[layer]
    captured = {}
    _forward_capturing(model, check_array("x", x, ndim=2), target, captured)
    inp = captured["x"]
    return {"running mean": target.buffers["running_mean"].copy(), "running var": target.buffers["running_var"].copy(),
            "batch mean": inp.mean(axis=0), "batch var": inp.var(axis=0)}


def _forward_capturing(layer, h, target, captured):
    """Evaluation-mode forward pass through nested Sequential/Residual layers that records the input
    reaching ``target`` in ``captured["x"]``."""
    if layer is target:
        captured["x"] = h
    if isinstance(layer, Sequential):
        for child in layer.layers:
            h = _forward_capturing(child, h, target, captured)
        return h
    if isinstance(layer, Residual):
        fx = _forward_capturing(layer.body, h, target, captured)
        skip = h if layer.projection is None else _forward_capturing(layer.projection, h, target, captured)
        return fx + skip
    return layer.forward(h, training=False)


def norm_axes_demo(x: np.ndarray) -> dict[str, np.ndarray]:
    """BatchNorm vs LayerNorm on the same (N, D) batch: BN makes every **column** (feature) mean 0 / std 1
    across the batch; LN makes every **row** (sample) mean 0 / std 1 across its features."""
    x = check_array("x", x, ndim=2).astype(np.float64)
    bn = BatchNorm1d(x.shape[1], dtype=np.float64).forward(x, training=True)
    ln = LayerNorm(x.shape[1], dtype=np.float64).forward(x)
    return {"bn": bn, "ln": ln, "bn feature means": bn.mean(axis=0), "bn sample means": bn.mean(axis=1),
            "ln feature means": ln.mean(axis=0), "ln sample means": ln.mean(axis=1)}


PROBLEM_SOLUTION = (
    ("Dying neurons", "Neurons output zero forever, stop learning", "ReLU"),
    ("Vanishing gradients", "Gradients too small to reach early layers", "ReLU + careful init"),
    ("Exploding gradients", "Gradients too large, training diverges", "Gradient clipping, Adam"),
    ("Slow convergence", "Hard to find a good learning rate", "Adam optimizer"),
    ("Internal covariate shift", "Each layer's inputs keep shifting distribution", "Batch Norm"),
    ("Degradation problem", "Deeper networks perform worse than shallow ones", "Skip connections (ResNet)"),
)
