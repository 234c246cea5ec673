"""Chapter 08 (recurrent networks): one RNN step, one LSTM step, gradient clipping by global norm and
layer normalization, each against ``common.recurrent`` / ``common.norm``."""

from __future__ import annotations

import numpy as np

from ..norm import LayerNorm
from ..optimizers import clip_grad_norm
from ..recurrent import LSTMCell, RNNCell, sigmoid
from ._core import call, checker, compare, fail, seed_for, unpack


def _cell(cls, Wx, Wh, b):
    cell = cls(Wx.shape[0], Wh.shape[0], np.random.default_rng(0), dtype=np.float64)
    for k, v in {"Wx": Wx, "Wh": Wh, "b": b}.items():
        cell.params[k][...] = v
    return cell


@checker("rnn_step", "rnn_step")
def check_rnn_step(fn):
    """``rnn_step(x, h_prev, Wx, Wh, b) -> h = tanh(x Wx + h_prev Wh + b)``."""
    rng = np.random.default_rng(seed_for("rnn_step"))
    for n, d, h in ((3, 4, 5), (2, 3, 3)):
        x, h_prev = rng.standard_normal((n, d)), rng.standard_normal((n, h))
        Wx, Wh, b = rng.standard_normal((d, h)), rng.standard_normal((h, h)), rng.standard_normal(h)
        want, _ = _cell(RNNCell, Wx, Wh, b).step(x, h_prev)
        compare("h", want, call(fn, x, h_prev, Wx, Wh, b), case=f"x: ({n}, {d}), {h} hidden units",
                hint="the new state mixes the input and the previous state, then squashes: h = tanh(x Wx + h_prev Wh + b).",
                mistakes={"leave out the previous state (then nothing is remembered)": np.tanh(x @ Wx + b),
                          "squash with a sigmoid instead of tanh": sigmoid(x @ Wx + h_prev @ Wh + b),
                          "multiply h_prev by Whᵀ": np.tanh(x @ Wx + h_prev @ Wh.T + b),
                          "forget the tanh": x @ Wx + h_prev @ Wh + b})
    return "It matches common.recurrent.RNNCell.step."


@checker("lstm_step", "lstm_step")
def check_lstm_step(fn):
    """``lstm_step(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)``; the 4H columns of Wx, Wh, b are the gates
    in the order i, f, o, g."""
    rng = np.random.default_rng(seed_for("lstm_step"))
    for n, d, hs in ((3, 4, 5), (2, 2, 3)):
        x, h_prev, c_prev = rng.standard_normal((n, d)), rng.standard_normal((n, hs)), rng.standard_normal((n, hs))
        Wx, Wh, b = rng.standard_normal((d, 4 * hs)), rng.standard_normal((hs, 4 * hs)), rng.standard_normal(4 * hs)
        state, _ = _cell(LSTMCell, Wx, Wh, b).step(x, (h_prev, c_prev))
        a = x @ Wx + h_prev @ Wh + b
        blocks = [a[:, k * hs:(k + 1) * hs] for k in range(4)]
        i, f, o, g = sigmoid(blocks[0]), sigmoid(blocks[1]), sigmoid(blocks[2]), np.tanh(blocks[3])
        c_torch = sigmoid(blocks[1]) * c_prev + sigmoid(blocks[0]) * np.tanh(blocks[2])   # blocks read as i, f, g, o
        h_out, c_out = unpack(call(fn, x, h_prev, c_prev, Wx, Wh, b), ("h", "c"))
        case = f"x: ({n}, {d}), {hs} hidden units"
        compare("c", state.c, c_out, case=case,
                hint="c = f ⊙ c_prev + i ⊙ g: the forget gate keeps old memory, the input gate writes the candidate.",
                mistakes={"swap the input and forget gates": i * c_prev + f * g,
                          "read the blocks in PyTorch's order i, f, g, o (this course uses i, f, o, g)": c_torch,
                          "leave out the old memory (f ⊙ c_prev)": i * g,
                          "squash the candidate with a sigmoid": f * c_prev + i * sigmoid(blocks[3])})
        compare("h", state.h, h_out, case=case, hint="h = o ⊙ tanh(c), with the new c.",
                mistakes={"forget the tanh on c (h = o ⊙ c)": o * state.c,
                          "use c_prev instead of the new c": o * np.tanh(c_prev)})
    return "h and c match common.recurrent.LSTMCell.step."


@checker("clip_by_global_norm", "clip_by_global_norm")
def check_clip_by_global_norm(fn):
    """``clip_by_global_norm(grads, max_norm) -> list of arrays``: all gradients rescaled together so their
    global norm is at most ``max_norm`` (unchanged when it already is)."""
    rng = np.random.default_rng(seed_for("clip_by_global_norm"))
    for scale, max_norm in ((10.0, 1.0), (0.1, 5.0), (3.0, 2.0)):
        grads = [scale * rng.standard_normal(s) for s in ((4, 3), (3,), (3, 2))]
        want = [g.copy() for g in grads]
        norm = clip_grad_norm([(np.zeros_like(g), g) for g in want], max_norm)
        out = call(fn, [g.copy() for g in grads], max_norm)
        if not isinstance(out, (list, tuple)) or len(out) != len(grads):
            fail(f"should return a list of {len(grads)} arrays (one per gradient), got {type(out).__name__}"
                 + (f" of {len(out)}" if isinstance(out, (list, tuple)) else "") + ".")
        case = f"global norm {norm:.3g}, max_norm {max_norm}"
        each = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]
        for k, (w, got) in enumerate(zip(want, out)):
            compare(f"grads[{k}]", w, got, case=case, rtol=1e-5,
                    hint="the global norm is √(Σ over all arrays of Σ g²); when it exceeds max_norm, multiply every "
                         "array by max_norm / norm (the direction stays, only the length shrinks).",
                    mistakes={"clip each array by its own norm (the clip must keep the direction of the whole update)": each[k],
                              "clip each entry to [-max_norm, max_norm] (np.clip changes the direction)":
                              np.clip(grads[k], -max_norm, max_norm),
                              "rescale to max_norm even when the norm is already smaller": grads[k] * max_norm / norm})
    return "It rescales exactly as common.optimizers.clip_grad_norm: only above max_norm, all arrays by one factor."


@checker("layer_norm", "layer_norm")
def check_layer_norm(fn):
    """``layer_norm(x, gamma, beta, eps) -> out``: each position normalised over its own features (last axis)."""
    rng = np.random.default_rng(seed_for("layer_norm"))
    eps = 1e-5
    for shape in ((4, 6), (2, 3, 5)):
        x = 2 * rng.standard_normal(shape) + rng.standard_normal(shape[-1])
        d = shape[-1]
        gamma, beta = 1 + 0.5 * rng.standard_normal(d), rng.standard_normal(d)
        ln = LayerNorm(d, eps=eps, dtype=np.float64)
        ln.params["gamma"][...], ln.params["beta"][...] = gamma, beta
        want = ln.forward(x)
        over_batch = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
        compare("out", want, call(fn, x, gamma, beta, eps), case=f"x of shape {shape}",
                hint="statistics over the last axis (the features of one sample at one step), keepdims=True: "
                     "no batch dependence.",
                mistakes={"normalise over the batch axis (that is BatchNorm)": gamma * over_batch + beta,
                          "use the unbiased variance (ddof=1)":
                          gamma * (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) + beta,
                          "forget γ and β": (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)})
    return "It matches common.LayerNorm on (N, D) and (N, T, D) inputs."
