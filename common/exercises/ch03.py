"""Chapter 03 (backpropagation): the chain rule through a sigmoid, a Dense layer and a loss, then a whole
two-layer network. Each gradient is checked against the library's backward pass and against finite
differences."""

from __future__ import annotations

import numpy as np

from ..activations import Sigmoid, Tanh, sigmoid
from ..layers import Dense, Sequential
from ..losses import binary_cross_entropy_with_logits
from ._core import against_finite_differences, call, checker, compare, fail, not_done, seed_for, unpack


@checker("sigmoid_backward", "sigmoid_backward")
def check_sigmoid_backward(fn):
    """``sigmoid_backward(z, dout) -> dz``: the gradient through ``σ(z)``."""
    rng = np.random.default_rng(seed_for("sigmoid_backward"))
    worst = 0.0
    for shape in ((4, 3), (6,)):
        z, dout = 2 * rng.standard_normal(shape), rng.standard_normal(shape)
        layer = Sigmoid()
        layer.forward(z)
        s = sigmoid(z)
        got = call(fn, z, dout)
        compare("dz", layer.backward(dout), got, case=f"z of shape {shape}",
                hint="chain rule: dz = dout · σ'(z), and σ'(z) = σ(z)(1 - σ(z)).",
                mistakes={"forget to multiply by the upstream gradient dout": s * (1 - s),
                          "use z(1 - z) (the formula is in terms of σ(z), not z)": dout * z * (1 - z),
                          "forget the (1 - σ(z)) factor": dout * s})
        worst = max(worst, against_finite_differences("dz", got, lambda: sigmoid(z), z, dout))
    return f"It matches Sigmoid.backward and finite differences (relative error {worst:.1g})."


@checker("dense_backward", "dense_backward")
def check_dense_backward(fn):
    """``dense_backward(x, W, dout) -> (dx, dW, db)`` for ``out = x W + b``."""
    rng = np.random.default_rng(seed_for("dense_backward"))
    worst = 0.0
    for n, d, h in ((5, 3, 4), (8, 4, 4)):
        x, W, dout = rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal((n, h))
        layer = Dense(d, h, init="zeros", dtype=np.float64)
        layer.params["W"][...] = W
        layer.forward(x)
        dx_ref = layer.backward(dout)
        dx, dW, db = unpack(call(fn, x, W, dout), ("dx", "dW", "db"))
        case = f"x: ({n}, {d}), W: ({d}, {h})"
        compare("dW", layer.grads["W"], dW, case=case,
                hint="dW has W's shape (D, H): pair each input column with each output gradient column, summed over the batch.",
                mistakes={"compute doutᵀ x (that is dW transposed)": dout.T @ x,
                          "average over the batch instead of summing (the loss already averaged)": x.T @ dout / n})
        compare("db", layer.grads["b"], db, case=case,
                hint="b is added to every row, so its gradient collects dout from every row.",
                mistakes={"average over the batch instead of summing": dout.mean(axis=0),
                          "sum over the wrong axis": dout.sum(axis=1)})
        compare("dx", dx_ref, dx, case=case, hint="dx has x's shape (N, D): send dout back through Wᵀ.",
                mistakes={"multiply by W instead of Wᵀ": dout @ W if d == h else np.zeros((d, d))})
        layer.zero_grad()
        f = lambda: layer.forward(x)
        worst = max(worst, against_finite_differences("dx", dx, f, x, dout, case=case),
                    against_finite_differences("dW", dW, f, layer.params["W"], dout, case=case))
    return f"dx, dW and db match Dense.backward and finite differences (relative error {worst:.1g})."


@checker("bce_loss_and_grad", "bce_loss_and_grad")
def check_bce_loss_and_grad(fn):
    """``bce_loss_and_grad(logits, y) -> (loss, dlogits)``: mean binary cross-entropy of σ(logits)."""
    rng = np.random.default_rng(seed_for("bce_loss_and_grad"))
    worst = 0.0
    for n in (4, 10):
        z = 2 * rng.standard_normal(n)
        y = rng.integers(0, 2, n).astype(np.float64)
        loss_ref, dz_ref = binary_cross_entropy_with_logits(z, y)
        loss, dz = unpack(call(fn, z, y), ("loss", "dlogits"))
        case = f"{n} samples"
        p = sigmoid(z)
        compare("the loss", loss_ref, np.asarray(loss, dtype=float).reshape(()) if np.size(loss) == 1 else loss,
                case=case, hint="L = -mean(y log σ(z) + (1 - y) log(1 - σ(z))).",
                mistakes={"sum over the samples instead of averaging": loss_ref * n,
                          "forget the minus sign": -loss_ref})
        compare("dlogits", dz_ref, dz, case=case,
                hint="for the mean loss, ∂L/∂z = (σ(z) - y) / N.",
                mistakes={"sum instead of averaging (∂L/∂z for the mean has a 1/N)": p - y,
                          "flip the sign (y - σ(z))": (y - p) / n,
                          "forget the sigmoid (z - y)": (z - y) / n})
        worst = max(worst, against_finite_differences(
            "dlogits", dz, lambda: np.array(binary_cross_entropy_with_logits(z, y)[0]), z, np.ones(()), case=case))
    return f"The loss and its gradient match common.losses and finite differences (relative error {worst:.1g})."


def _xor_net(params: dict) -> Sequential:
    d, h = params["W1"].shape
    net = Sequential(Dense(d, h, init="zeros", dtype=np.float64), Tanh(), Dense(h, 1, init="zeros", dtype=np.float64))
    for key, (i, name) in {"W1": (0, "W"), "b1": (0, "b"), "W2": (2, "W"), "b2": (2, "b")}.items():
        net[i].params[name][...] = params[key]
    return net


@checker("two_layer_backward", "two_layer_backward")
def check_two_layer_backward(fn):
    """``two_layer_backward(X, y, params) -> {"W1", "b1", "W2", "b2"}``: the gradients of the mean BCE loss
    of ``z = tanh(X W1 + b1) W2 + b2``."""
    rng = np.random.default_rng(seed_for("two_layer_backward"))
    worst = 0.0
    for n, d, h in ((4, 2, 3), (6, 3, 5)):
        X = rng.standard_normal((n, d))
        y = rng.integers(0, 2, n).astype(np.float64)
        params = {"W1": rng.standard_normal((d, h)), "b1": 0.1 * rng.standard_normal(h),
                  "W2": rng.standard_normal((h, 1)), "b2": 0.1 * rng.standard_normal(1)}
        net = _xor_net(params)
        loss, dz = binary_cross_entropy_with_logits(net.forward(X), y)
        net.backward(dz)
        ref = {"W1": net[0].grads["W"], "b1": net[0].grads["b"], "W2": net[2].grads["W"], "b2": net[2].grads["b"]}
        got = call(fn, X, y, params)
        if not isinstance(got, dict):
            fail(f"should return a dict of gradients with keys W1, b1, W2, b2, got {type(got).__name__}.")
        # Typical slips, computed on the same inputs.
        a1 = X @ params["W1"] + params["b1"]
        hid = np.tanh(a1)
        dz2 = dz.reshape(n, 1)
        dh = dz2 @ params["W2"].T
        slips = {"W1": {"leave out tanh's derivative (1 - h²)": X.T @ dh,
                        "use h(1 - h) (the sigmoid's derivative) for tanh": X.T @ (dh * hid * (1 - hid))},
                 "W2": {"use the pre-activation X W1 + b1 instead of h = tanh(·)": a1.T @ dz2},
                 "b1": {"leave out tanh's derivative (1 - h²)": dh.sum(axis=0)}, "b2": {}}
        case = f"X: ({n}, {d}), {h} hidden units"
        for key in ("W2", "b2", "W1", "b1"):           # the order backpropagation computes them
            if key not in got:
                fail(f"the dict has no {key!r} (it should hold W1, b1, W2, b2).")
            if got[key] is None:
                not_done(f"{key} is still None")
            compare(f"d{key}", ref[key], np.reshape(got[key], ref[key].shape) if np.size(got[key]) == ref[key].size
                    else got[key], case=case, mistakes=slips[key],
                    hint="go backward one step at a time: dz = (σ(z) - y)/N, dW2 = hᵀdz, dh = dz W2ᵀ, "
                         "da = dh ⊙ (1 - h²), dW1 = Xᵀda.")
        net.zero_grad()
        f = lambda: np.array(binary_cross_entropy_with_logits(net.forward(X), y)[0])
        for key, (i, name) in {"W1": (0, "W"), "W2": (2, "W")}.items():
            worst = max(worst, against_finite_differences(
                f"d{key}", np.reshape(got[key], ref[key].shape), f, net[i].params[name], np.ones(()), case=case))
    return f"All four gradients match the library's backward pass and finite differences (relative error {worst:.1g})."
