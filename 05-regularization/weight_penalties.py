"""Chapter 05: weight penalties: the L2 penalty and its gradient, and coupled L2 against decoupled weight
decay under Adam.

- ``weight_matrices``: what a penalty acts on (parameters with ndim ≥ 2, the rule of ``common.optimizers``);
- ``l2_penalty`` (λ/2·Σ‖W‖²), ``regularized_loss`` and ``regularized_gradients`` (data gradient + λW), the
  objective whose gradient ``weight_decay=λ`` adds in ``common/optimizers.py: Optimizer.step``;
- ``decay_comparison``: two weights fed pure-noise gradients of different sizes and trained by ``fit`` with
  Adam + coupled L2 and with AdamW, the deep-dive's table (``decay_markdown``).

>>> W = Weights(np.ones((1, 2)))
>>> round(l2_penalty(W, 0.5), 3)                 # λ/2 · (1² + 1²)
0.5
"""

from __future__ import annotations

import itertools

import numpy as np

from common._validation import check_positive, check_positive_int
from common.layers import Layer, Sequential
from common.losses import softmax_cross_entropy
from common.optimizers import Adam, AdamW
from common.training import fit


def weight_matrices(model: Layer) -> list[np.ndarray]:
    """The parameters an L2 penalty and weight decay act on: those with ``ndim >= 2`` (the same rule as
    ``common.optimizers``), so biases are left alone."""
    return [p for p, _ in model.parameters() if p.ndim >= 2]


def l2_penalty(model: Layer, lam: float) -> float:
    """λ/2 · Σ‖W‖² over the weight matrices."""
    check_positive("lam", lam, allow_zero=True)
    return 0.5 * lam * float(sum(np.sum(np.square(W, dtype=np.float64)) for W in weight_matrices(model)))


def regularized_loss(model: Sequential, X, y, lam: float, training: bool = False) -> float:
    """Cross-entropy + λ/2·Σ‖W‖²: the objective whose gradient is the data gradient + λW."""
    out = model.forward(X, training=training)
    loss, _ = softmax_cross_entropy(out, y)
    return loss + l2_penalty(model, lam)


def regularized_gradients(model: Sequential, X, y, lam: float) -> list[np.ndarray]:
    """∂/∂θ [cross-entropy + λ/2·Σ‖W‖²] for every parameter (in ``model.parameters()`` order): the data
    gradient from backprop plus ``λW`` for weight matrices, 0 extra for biases. ``Optimizer.step`` with
    ``weight_decay=λ`` forms exactly this sum before its update (the test checks both against finite
    differences). A gradient at fixed weights, not training: it calls the model directly (no ``fit``,
    which would take a step)."""
    model.zero_grad()
    out = model.forward(X, training=False)
    _, dout = softmax_cross_entropy(out, y)
    model.backward(dout)
    grads = [g + lam * p if p.ndim >= 2 else g.copy() for p, g in model.parameters()]
    model.zero_grad()
    return grads


# ------------------------------------------------------------------------ coupled vs decoupled decay

class Weights(Layer):
    """A model whose one parameter is a weight matrix W: (1, K) and whose output is W itself; the loss
    function hands it its gradient (a gradient fed from outside, as ``decay_comparison`` does)."""

    def __init__(self, w0: np.ndarray) -> None:
        super().__init__()
        self.add_param("W", np.array(w0, dtype=np.float64))

    def forward(self, x=None, training=False):
        return self._params["W"]

    def backward(self, dout):
        self._grads["W"] += dout
        return None


def _the_given_gradient(_W, g):
    return 0.0, g


def decay_comparison(grad_scales=(10.0, 0.01), w0: float = 1.0, lam: float = 0.1, lr: float = 0.01,
                     steps: int = 200) -> list[dict]:
    """Coupled L2 vs decoupled weight decay under Adam, on two weights that start at ``w0`` and receive
    pure-noise data gradients ``g_t = s·(-1)^t`` of different sizes s (no systematic pull either way).

    One row per (method, coordinate) with the final weight and the same run without any decay. Under
    coupled L2 the decay λw goes through Adam's normalisation, so each step shrinks w by about
    ηλw/√(s² + λ²w²): almost nothing where gradients are large, up to η per step where they are small.
    AdamW multiplies every weight by (1 - ηλ) each step, whatever its gradients: (1 - ηλ)^steps overall.
    Each run is ``fit`` on a ``Weights`` model (a (1, K) matrix, so weight decay applies to it), the
    step's target being that step's gradient.
    """
    scales = np.asarray(grad_scales, dtype=np.float64)
    check_positive_int("steps", steps)
    finals = {}
    for method in ("none", "l2", "decoupled"):
        model = Weights(np.full((1, len(scales)), float(w0)))
        if method == "decoupled":
            opt = AdamW(model, lr=lr, weight_decay=lam)
        else:
            opt = Adam(model, lr=lr, weight_decay=lam if method == "l2" else 0.0)
        t = itertools.count()
        fit(model, batches=lambda rng: (np.zeros(1), (scales * (-1.0) ** next(t))[None]), steps_per_epoch=steps,
            epochs=1, loss_fn=_the_given_gradient, optimizer=opt, metric=None,
            rng=np.random.default_rng(0))   # nothing is drawn: the gradients are given
        finals[method] = model.params["W"][0].copy()
    rows = []
    for method in ("l2", "decoupled"):
        for i, s in enumerate(scales):
            rows.append({"method": method, "gradient scale": float(s), "final w": float(finals[method][i]),
                         "without decay": float(finals["none"][i])})
    return rows


def decay_markdown(rows=None) -> str:
    """``decay_comparison`` as the deep-dive's table."""
    rows = decay_comparison() if rows is None else rows
    lines = ["| method | gradient scale s | final w | without decay |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['gradient scale']:g} | {r['final w']:.4f} | {r['without decay']:.4f} |")
    return "\n".join(lines)


#: The deep-dive's measured table (``python -m tests.regenerate_doc_tables 05`` rewrites it).
DOC_TABLES = {("REGULARIZATION_DEEP_DIVE.md", "table: decay"): decay_markdown}

__all__ = ["weight_matrices", "l2_penalty", "regularized_loss", "regularized_gradients", "Weights",
           "decay_comparison", "decay_markdown"]
