"""Chapter 07 (normalization and residual connections): BatchNorm forward and backward in training mode,
and the backward pass of a residual block."""

from __future__ import annotations

import numpy as np

from ..activations import ReLU
from ..layers import Dense, Sequential
from ..norm import BatchNorm1d, Residual
from ._core import against_finite_differences, call, checker, compare, seed_for, unpack

EPS = 1e-5


def _batchnorm(gamma, beta) -> BatchNorm1d:
    bn = BatchNorm1d(len(gamma), eps=EPS, dtype=np.float64)
    bn.params["gamma"][...] = gamma
    bn.params["beta"][...] = beta
    return bn


def _bn_cases(rng):
    for n, d in ((8, 3), (5, 4)):
        x = 3 * rng.standard_normal((n, d)) + rng.standard_normal(d)
        gamma, beta = 1 + 0.5 * rng.standard_normal(d), rng.standard_normal(d)
        yield x, gamma, beta, f"x: ({n}, {d})"


@checker("batchnorm_forward", "batchnorm_forward")
def check_batchnorm_forward(fn):
    """``batchnorm_forward(x, gamma, beta, eps) -> out`` in training mode (the batch's own statistics)."""
    rng = np.random.default_rng(seed_for("batchnorm_forward"))
    for x, gamma, beta, case in _bn_cases(rng):
        want = _batchnorm(gamma, beta).forward(x, training=True)
        over_features = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + EPS)
        compare("out", want, call(fn, x, gamma, beta, EPS), case=case,
                hint="each feature (column) is normalised with the mean and variance of its column over the batch, "
                     "then scaled by γ and shifted by β.",
                mistakes={"normalise each sample over its features (axis 1: that is LayerNorm)":
                          gamma * over_features + beta,
                          "use the unbiased variance (ddof=1); BatchNorm normalises with the biased one":
                          gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + EPS) + beta,
                          "forget γ and β": (x - x.mean(0)) / np.sqrt(x.var(0) + EPS),
                          "divide by the variance instead of the standard deviation":
                          gamma * (x - x.mean(0)) / (x.var(0) + EPS) + beta})
    return "It matches common.BatchNorm1d in training mode."


@checker("batchnorm_backward", "batchnorm_backward")
def check_batchnorm_backward(fn):
    """``batchnorm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)`` in training mode."""
    rng = np.random.default_rng(seed_for("batchnorm_backward"))
    worst = 0.0
    for x, gamma, beta, case in _bn_cases(rng):
        bn = _batchnorm(gamma, beta)
        bn.forward(x, training=True)
        dout = rng.standard_normal(x.shape)
        dx_ref = bn.backward(dout)
        xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + EPS)
        dx, dgamma, dbeta = unpack(call(fn, dout, x, gamma, EPS), ("dx", "dgamma", "dbeta"))
        compare("dbeta", bn.grads["beta"], dbeta, case=case, hint="β is added to every row: sum dout over the batch.",
                mistakes={"average over the batch instead of summing": dout.mean(0)})
        compare("dgamma", bn.grads["gamma"], dgamma, case=case, hint="γ multiplies x̂: sum dout·x̂ over the batch.",
                mistakes={"leave out x̂ (that is dbeta)": dout.sum(0), "multiply by x instead of x̂": (dout * x).sum(0)})
        compare("dx", dx_ref, dx, case=case,
                hint="μ and σ are computed from x too, so every x_i reaches the loss through x̂_i, μ and σ: "
                     "dx = (1/(Nσ))·(N·g - Σg - x̂·Σ(g·x̂)) with g = dout·γ.",
                mistakes={"treat μ and σ as constants (only the dout·γ/σ path)": dout * gamma / np.sqrt(x.var(0) + EPS),
                          "drop the path through σ (keep only the one through μ)":
                          (dout * gamma - (dout * gamma).mean(0)) / np.sqrt(x.var(0) + EPS),
                          "forget γ": (np.sqrt(x.var(0) + EPS) ** -1 / len(x)) *
                          (len(x) * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))})
        bn.zero_grad()
        worst = max(worst, against_finite_differences("dx", dx, lambda: bn.forward(x, training=True), x, dout, case=case))
    return f"dx, dγ and dβ match common.BatchNorm1d.backward and finite differences (relative error {worst:.1g})."


@checker("residual_backward", "residual_backward")
def check_residual_backward(fn):
    """``residual_backward(dout, x, W1, b1, W2, b2) -> (dx, dW1, db1, dW2, db2)`` for the block
    ``out = x + relu(x W1 + b1) W2 + b2``."""
    rng = np.random.default_rng(seed_for("residual_backward"))
    worst = 0.0
    for n, d, h in ((4, 3, 5), (6, 4, 4)):
        x = rng.standard_normal((n, d))
        W1, b1 = rng.standard_normal((d, h)), 0.1 * rng.standard_normal(h)
        W2, b2 = rng.standard_normal((h, d)), 0.1 * rng.standard_normal(d)
        block = Residual(Sequential(Dense(d, h, init="zeros", dtype=np.float64), ReLU(),
                                    Dense(h, d, init="zeros", dtype=np.float64)))
        for key, value in {"body.0.W": W1, "body.0.b": b1, "body.2.W": W2, "body.2.b": b2}.items():
            block.params[key][...] = value
        block.forward(x)
        dout = rng.standard_normal((n, d))
        dx_ref = block.backward(dout)
        g = block.grads
        got = unpack(call(fn, dout, x, W1, b1, W2, b2), ("dx", "dW1", "db1", "dW2", "db2"))
        case = f"x: ({n}, {d}), {h} hidden units"
        body_dx = dx_ref - dout
        for label, want, value, slips in (
                ("dW2", g["body.2.W"], got[3], {}),
                ("db2", g["body.2.b"], got[4], {}),
                ("dW1", g["body.0.W"], got[1], {}),
                ("db1", g["body.0.b"], got[2], {}),
                ("dx", dx_ref, got[0], {"leave out the shortcut (out = x + F(x) sends dout straight back to x too)": body_dx,
                                        "keep only the shortcut's dout (F(x) depends on x as well)": dout})):
            compare(label, want, value, case=case, mistakes=slips,
                    hint="the body is Dense → ReLU → Dense: backpropagate through it as in chapter 03; the "
                         "shortcut adds dout to dx.")
        block.zero_grad()
        worst = max(worst, against_finite_differences("dx", got[0], lambda: block.forward(x), x, dout, case=case))
    return f"All five gradients match common.Residual.backward and finite differences (relative error {worst:.1g})."
