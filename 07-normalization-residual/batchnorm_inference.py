"""Chapter 07: BatchNorm at inference, and BatchNorm against LayerNorm.

In training mode BatchNorm normalises with the statistics of the batch it is given; in evaluation mode
with the running averages it collected. ``batchnorm_modes`` measures a trained net both ways (a batch of
one in training mode erases every input to β); ``running_vs_batch_stats`` compares the running averages
with a batch's statistics; ``norm_axes_demo`` shows which axis BatchNorm and LayerNorm normalise over.

>>> import numpy as np
>>> demo = norm_axes_demo(np.arange(12.0).reshape(4, 3) ** 2)
>>> bool(np.allclose(demo["bn feature means"], 0)), bool(np.allclose(demo["ln sample means"], 0))
(True, True)
"""

from __future__ import annotations

import numpy as np

from common import Sequential
from common._validation import check_array, check_positive_int
from common.norm import BatchNorm1d, LayerNorm, Residual


def batchnorm_layers(model) -> list[BatchNorm1d]:
    """Every ``BatchNorm1d`` of a layer tree, in the order ``named_layers`` visits them (input first)."""
    return [layer for _, layer in model.named_layers() if isinstance(layer, BatchNorm1d)]


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
