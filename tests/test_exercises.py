"""The notebook exercises' checkers (``common.exercises``): every reference solution passes, the shipped
blank is "not done yet", and typical wrong answers fail with a message naming what differs."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from common.chapters import CHAPTERS
from common.exercises import EXERCISES, NOT_DONE, for_chapter
from tests.conftest import IN_CI, ROOT


def solutions_module(chapter: int):
    """``common/exercises/solutions/chNN_<folder>.py`` for chapter NN (``ch01_perceptron`` for ``01-perceptron``)."""
    folder = CHAPTERS[chapter - 1].folder
    return importlib.import_module("common.exercises.solutions.ch" + folder.replace("-", "_"))


def solution(function: str):
    ex = next(e for e in EXERCISES if e.function == function)
    return getattr(solutions_module(ex.chapter), function)


def checker(function: str):
    return next(e for e in EXERCISES if e.function == function).checker


def test_at_least_25_exercises_two_to_four_per_chapter():
    assert len(EXERCISES) >= 25
    for chapter in range(1, 11):
        assert 2 <= len(for_chapter(chapter)) <= 4, chapter
    assert len({e.function for e in EXERCISES}) == len(EXERCISES)      # one name, one exercise


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: f"{e.label}-{e.function}")
def test_reference_solution_passes(ex, capsys):
    result = ex.checker(getattr(solutions_module(ex.chapter), ex.function))
    assert result.passed, result.message
    assert result.message.startswith(f"✓ {ex.function}: correct.")
    assert capsys.readouterr().out.strip() == result.message          # it prints what it returns


def _blank(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: f"{e.label}-{e.function}")
@pytest.mark.parametrize("blank", [_blank, lambda *a, **k: None], ids=["raises", "returns-None"])
def test_shipped_blank_is_not_done_yet(ex, blank):
    result = ex.checker(blank, verbose=False)
    assert result.status == NOT_DONE and not result.passed and not result.done
    assert "not done yet" in result.message and "Traceback" not in result.message


def test_a_crash_in_the_learners_code_is_a_message_not_a_traceback():
    def dense_forward(x, W, b):
        return W @ x + b                               # wrong order: shapes do not align
    result = checker("dense_forward")(dense_forward, verbose=False)
    assert not result.passed and result.done
    assert "raised ValueError" in result.message and "dense_forward(array(5, 3), array(3, 4), array(4,))" in result.message


def test_passing_something_that_is_not_a_function():
    result = checker("attention")(None, verbose=False)
    assert not result.passed and "pass the function itself" in result.message


# ---- typical wrong answers, at least two per checker: (function, wrong answer, what the message must say)

def _sig(z):
    return 1 / (1 + np.exp(-z))


def _bn_stats(x, axis=0, ddof=0):
    return x.mean(axis, keepdims=True), x.var(axis, ddof=ddof, keepdims=True)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


WRONG = [
    # 01
    ("perceptron_predict", lambda X, w, b: (X @ w + b >= 0).astype(int), "a point on the line"),
    ("perceptron_predict", lambda X, w, b: (X @ w > 0).astype(int), "leave out the bias"),
    ("perceptron_predict", lambda X, w, b: X @ w + b, "labels 0 or 1"),
    ("perceptron_update", lambda w, b, x, y, lr: (w - lr * (y - int(x @ w + b > 0)) * x, b - lr * (y - int(x @ w + b > 0))),
     "wrong way"),
    ("perceptron_update", lambda w, b, x, y, lr: (w + lr * (y - int(x @ w + b > 0)) * x, b), "forget to update the bias"),
    ("perceptron_update", lambda w, b, x, y, lr: (w + lr * y * x, b + lr * y), "even when the prediction is right"),
    ("gate_weights", lambda gate: (np.array([0.5, 0.5]), -0.7), "but OR is 1 there"),
    ("gate_weights", lambda gate: (np.array([0.5, 0.5]), 0.0), "input [0, 1] gives z = 0.5 → class 1, but AND is 0"),
    # 02
    ("dense_forward", lambda x, W, b: x @ W, "leave out the bias"),
    ("dense_forward", lambda x, W, b: x @ W + 2 * b, "add the bias twice"),
    ("collapse_linear", lambda W1, b1, W2, b2: (W1 @ W2, b2), "keep only the second bias"),
    ("collapse_linear", lambda W1, b1, W2, b2: (W2.T @ W1.T, b1 @ W2 + b2), "W (W1: (3, 5), W2: (5, 2)): shape (2, 3)"),
    ("xor_weights", lambda: {"W1": np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": np.array([-0.5, -1.5]),
                             "W2": np.array([[1.0], [-1.0]]), "b2": np.array([-0.5])}, "input [0, 1]: the network outputs"),
    ("xor_weights", lambda: {"W1": 10 * np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": 10 * np.array([-0.5, -1.5]),
                             "W2": 10 * np.array([[1.0], [1.0]]), "b2": 10 * np.array([-0.5])}, "input [1, 1]"),
    ("xor_weights", lambda: {"W1": 3 * np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": 3 * np.array([-0.5, -1.5]),
                             "W2": 3 * np.array([[1.0], [-1.0]]), "b2": 3 * np.array([-0.5])}, "unsure"),
    # 03
    ("bce_loss_and_grad", lambda z, y: (-np.sum(y * np.log(_sig(z)) + (1 - y) * np.log(1 - _sig(z))), (_sig(z) - y) / len(y)),
     "sum over the samples instead of averaging"),
    ("bce_loss_and_grad", lambda z, y: (-np.mean(y * np.log(_sig(z)) + (1 - y) * np.log(1 - _sig(z))), _sig(z) - y),
     "sum instead of averaging"),
    ("bce_loss_and_grad", lambda z, y: (-np.mean(y * np.log(_sig(z)) + (1 - y) * np.log(1 - _sig(z))), (y - _sig(z)) / len(y)),
     "flip the sign"),
    ("sigmoid_backward", lambda z, dout: _sig(z) * (1 - _sig(z)), "forget to multiply by the upstream gradient"),
    ("sigmoid_backward", lambda z, dout: dout * z * (1 - z), "z(1 - z)"),
    ("dense_backward", lambda x, W, dout: (dout @ W.T, dout.T @ x, dout.sum(0)), "compute doutᵀ x (that is dW transposed)"),
    ("dense_backward", lambda x, W, dout: (dout @ W.T, x.T @ dout, dout.mean(0)), "average over the batch"),
    ("dense_backward", lambda x, W, dout: (dout @ W.T, x.T @ dout / len(x), dout.sum(0)), "dW (x: (5, 3), W: (3, 4)): entry [0, 0]"),
    ("two_layer_backward", lambda X, y, p: _two_layer_wrong(X, y, p, tanh_grad=False), "leave out tanh's derivative"),
    ("two_layer_backward", lambda X, y, p: _two_layer_wrong(X, y, p, pre_activation=True), "pre-activation"),
    # 04
    ("minibatch_indices", lambda n, bs, rng: [np.arange(n)[i:i + bs] for i in range(0, n, bs)], "original order"),
    ("minibatch_indices", lambda n, bs, rng: [rng.permutation(n)[i * bs:(i + 1) * bs] for i in range(n // bs)],
     "keep the last, smaller batch"),
    ("minibatch_indices", lambda n, bs, rng: [rng.integers(0, n, min(bs, n - i)) for i in range(0, n, bs)],
     "never appear"),
    ("momentum_step", lambda p, g, v, lr, mu: (p - lr * g, g), "not carry the velocity"),
    ("momentum_step", lambda p, g, v, lr, mu: (p + lr * (mu * v + g), mu * v + g), "step uphill"),
    ("adam_step", lambda p, g, m, v, t, lr, b1, b2, eps: _adam_wrong(p, g, m, v, t, lr, b1, b2, eps, correct=False),
     "skip the bias correction"),
    ("adam_step", lambda p, g, m, v, t, lr, b1, b2, eps: _adam_wrong(p, g, m, v, t, lr, b1, b2, eps, square=False),
     "average g instead of g² into v"),
    ("adam_step", lambda p, g, m, v, t, lr, b1, b2, eps: _adam_wrong(p, g, m, v, t, lr, b1, b2, eps, sqrt=False),
     "forget the square root"),
    # 05
    ("inverted_dropout", lambda x, p, rng, training: x * (rng.random(x.shape) >= p) if training else x,
     "(no scaling at all)"),
    ("inverted_dropout", lambda x, p, rng, training: x * (rng.random(x.shape) < p) / p if training else x,
     "dropped a fraction 1 - p"),
    ("inverted_dropout", lambda x, p, rng, training: x * (rng.random(x.shape) >= p) / (1 - p) if training else x / (1 - p),
     "scale by 1/(1-p) at evaluation too"),
    ("inverted_dropout", lambda x, p, rng, training: x * (np.random.random(x.shape) >= p) / (1 - p) if training else x,
     "identically seeded rngs"),
    ("l2_penalty", lambda params, lam: (lam * sum(np.sum(a ** 2) for a in params.values() if a.ndim > 1),
                                        {k: 2 * lam * a for k, a in params.items() if a.ndim > 1}), "leave out the ½"),
    ("l2_penalty", lambda params, lam: (lam / 2 * sum(np.sum(a ** 2) for a in params.values()),
                                        {k: lam * a for k, a in params.items()}), "penalise the biases too"),
    ("early_stopping", lambda losses, patience: _early_wrong(losses, patience, off_by_one=True), "off by one"),
    ("early_stopping", lambda losses, patience: _early_wrong(losses, patience, previous=True),
     "compare with the previous epoch"),
    # 06
    ("conv_output_size", lambda size, k, s, p: (size + p - k) // s + 1, "count the padding once"),
    ("conv_output_size", lambda size, k, s, p: (size + 2 * p - k) // s, "forget the + 1"),
    ("conv_output_size", lambda size, k, s, p: (size + 2 * p - k) / s + 1, "keep the fraction"),
    ("conv2d_forward", lambda x, W, b, s, p: _conv_loops(x, W[:, :, ::-1, ::-1], b, s, p), "flip the kernel"),
    ("conv2d_forward", lambda x, W, b, s, p: _conv_loops(x, W, 0 * b, s, p), "leave out the bias"),
    ("conv2d_forward", lambda x, W, b, s, p: _conv_loops(x, W, b, s, 0), "shape (2, 4, 4, 5)"),
    ("conv2d_backward", lambda dout, x, W, s, p: _conv_back_wrong(dout, x, W, s, p, db_mean=True), "db"),
    ("conv2d_backward", lambda dout, x, W, s, p: _conv_back_wrong(dout, x, W, s, p, crop=False),
     "return the gradient of the padded input"),
    ("max_pool2d_backward", lambda dout, x, k: np.repeat(np.repeat(dout, k, 2), k, 3) / (k * k), "average pooling"),
    ("max_pool2d_backward", lambda dout, x, k: np.repeat(np.repeat(dout, k, 2), k, 3), "whole window"),
    # 07
    ("batchnorm_forward", lambda x, g, b, eps: g * (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) + b,
     "LayerNorm"),
    ("batchnorm_forward", lambda x, g, b, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + b, "unbiased variance"),
    ("batchnorm_backward", lambda dout, x, g, eps: (dout * g / np.sqrt(x.var(0) + eps), _bn_dgamma(dout, x, eps), dout.sum(0)),
     "treat μ and σ as constants"),
    ("batchnorm_backward", lambda dout, x, g, eps: (dout, dout.sum(0), dout.sum(0)), "leave out x̂"),
    ("residual_backward", lambda dout, x, W1, b1, W2, b2: _residual_wrong(dout, x, W1, b1, W2, b2, skip=False),
     "leave out the shortcut"),
    ("residual_backward", lambda dout, x, W1, b1, W2, b2: _residual_wrong(dout, x, W1, b1, W2, b2, relu_grad=False),
     "dW1"),
    # 08
    ("rnn_step", lambda x, h, Wx, Wh, b: np.tanh(x @ Wx + b), "leave out the previous state"),
    ("rnn_step", lambda x, h, Wx, Wh, b: _sig(x @ Wx + h @ Wh + b), "sigmoid instead of tanh"),
    ("lstm_step", lambda x, h, c, Wx, Wh, b: _lstm_wrong(x, h, c, Wx, Wh, b, swap=True), "swap the input and forget gates"),
    ("lstm_step", lambda x, h, c, Wx, Wh, b: _lstm_wrong(x, h, c, Wx, Wh, b, tanh_c=False), "forget the tanh on c"),
    ("lstm_step", lambda x, h, c, Wx, Wh, b: _lstm_wrong(x, h, c, Wx, Wh, b, torch_order=True), "PyTorch's order"),
    ("clip_by_global_norm", lambda grads, m: [g * min(1.0, m / np.linalg.norm(g)) for g in grads], "by its own norm"),
    ("clip_by_global_norm", lambda grads, m: [np.clip(g, -m, m) for g in grads], "np.clip"),
    ("layer_norm", lambda x, g, b, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + b, "BatchNorm"),
    ("layer_norm", lambda x, g, b, eps: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps),
     "forget γ and β"),
    # 09
    ("masked_softmax", lambda s, m: _softmax(np.where(m, s, 0.0)), "instead of -inf"),
    ("masked_softmax", lambda s, m: np.exp(np.where(m, s, -np.inf)) / np.exp(np.where(m, s, -np.inf)).sum(-1, keepdims=True),
     "large scores"),
    ("masked_softmax", lambda s, m: _softmax(s) * m, "without renormalising"),
    ("attention", lambda q, k, v, m: _attention_wrong(q, k, v, m, scale=1.0), "leave out the 1/√d scale"),
    ("attention", lambda q, k, v, m: _attention_wrong(q, k, v, m, scale=None), "divide by d instead of √d"),
    ("split_heads", lambda z, h: z.reshape(z.shape[0], h, z.shape[1], z.shape[2] // h), "reshape straight to"),
    ("split_heads", lambda z, h: z.reshape(z.shape[0], z.shape[1], h, -1).transpose(0, 2, 3, 1), ": shape (2, 2, 4, 3)"),
    ("causal_mask", lambda T: np.triu(np.ones((T, T), bool)), "transpose"),
    ("causal_mask", lambda T: np.tril(np.ones((T, T), bool), -1), "attend to itself"),
    ("causal_mask", lambda T: np.tril(np.ones((T, T))), "must be boolean"),
    # 10
    ("pre_ln_block", lambda x, ln1, attn, ln2, ffn: (lambda p: ln2(p + ffn(p)))(ln1(x + attn(x))), "post-LN"),
    ("pre_ln_block", lambda x, ln1, attn, ln2, ffn: attn(ln1(x)) + ffn(ln2(attn(ln1(x)))), "leave out the first shortcut"),
    ("pre_ln_block", lambda x, ln1, attn, ln2, ffn: x + attn(ln1(x)) + ffn(ln2(x)), "feed ln2 the block's input x"),
    ("sinusoidal_encoding", lambda T, d: _pe_wrong(T, d, swap=True), "swap sine and cosine"),
    ("sinusoidal_encoding", lambda T, d: _pe_wrong(T, d, half=True), "use i/D instead of 2i/D"),
    ("sinusoidal_encoding", lambda T, d: _pe_wrong(T, d).T, "shape (6, 4) (the transposed shape)"),
    ("count_parameters", lambda V, T, L, d, tied: 12 * L * d * d, "12·L·d² rule alone"),
    ("count_parameters", lambda V, T, L, d, tied: V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d + V * d,
     "count a separate head even though it is tied"),
    ("count_parameters", lambda V, T, L, d, tied: V * d + T * d + L * (12 * d * d + 13 * d) + (0 if tied else V * d),
     "forget the final LayerNorm"),
    ("count_parameters", lambda V, T, L, d, tied: V * d + L * (12 * d * d + 13 * d) + 2 * d + (0 if tied else V * d),
     "too few by 4,096"),
    ("sampling_distribution", lambda z, t, k: _softmax(z * t), "multiply the logits by τ instead of dividing"),
    ("sampling_distribution", lambda z, t, k: _sampling_wrong(z, t, k, after=True), "after the softmax without renormalising"),
    ("sampling_distribution", lambda z, t, k: _sampling_wrong(z, t, k, shift=False), "large logits (around 600)"),
    ("sampling_distribution", lambda z, t, k: _sampling_wrong(z, t, k, greedy=False), "temperature 0 is the limit"),
]


def _pe_wrong(T, d, swap=False, half=False):
    t, i = np.arange(T)[:, None], np.arange(d // 2)
    a = t / 10000.0 ** ((i if half else 2 * i) / d)
    P = np.empty((T, d))
    P[:, 0::2], P[:, 1::2] = (np.cos(a), np.sin(a)) if swap else (np.sin(a), np.cos(a))
    return P


def _sampling_wrong(z, t, k, after=False, shift=True, greedy=True):
    if t == 0 and greedy:
        return np.eye(z.shape[1])[z.argmax(1)]
    z = z / t
    keep = z >= np.sort(z, 1)[:, -k][:, None] if k else np.ones(z.shape, bool)
    if not after:
        z = np.where(keep, z, -np.inf)
    e = np.exp(z - z.max(1, keepdims=True) if shift else z)
    p = e / e.sum(1, keepdims=True)
    return p * keep if after else p


def _two_layer_wrong(X, y, params, tanh_grad=True, pre_activation=False):
    a = X @ params["W1"] + params["b1"]
    h = np.tanh(a)
    dz = (_sig(h @ params["W2"] + params["b2"]) - y.reshape(-1, 1)) / len(X)
    dW2 = (a if pre_activation else h).T @ dz
    da = (dz @ params["W2"].T) * ((1 - h ** 2) if tanh_grad else 1)
    return {"W1": X.T @ da, "b1": da.sum(0), "W2": dW2, "b2": dz.sum(0)}


def _adam_wrong(p, g, m, v, t, lr, b1, b2, eps, correct=True, square=True, sqrt=True):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if square else g)
    mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
    return p - lr * mh / ((np.sqrt(vh) if sqrt else vh) + eps), m, v


def _early_wrong(losses, patience, off_by_one=False, previous=False):
    best, best_epoch, wait = np.inf, None, 0
    for e, loss in enumerate(losses):
        ref = losses[e - 1] if previous and e else best
        if loss < ref or (previous and e == 0):
            best, best_epoch, wait = loss, e, 0
        else:
            wait += 1
            if wait >= patience + (1 if off_by_one else 0):
                return best_epoch, e
    return best_epoch, None


def _conv_loops(x, W, b, s, p):
    from common.conv import conv2d_forward_naive
    return conv2d_forward_naive(x, np.ascontiguousarray(W), b, s, p)


def _conv_back_wrong(dout, x, W, s, p, db_mean=False, crop=True):
    from common.conv import _pad, conv2d_backward_naive
    dx, dW, db = conv2d_backward_naive(dout, x, W, s, p)
    if db_mean:
        db = db / len(x)
    if not crop:
        dx = _pad(dx, p)
    return dx, dW, db


def _bn_dgamma(dout, x, eps):
    return (dout * (x - x.mean(0)) / np.sqrt(x.var(0) + eps)).sum(0)


def _residual_wrong(dout, x, W1, b1, W2, b2, skip=True, relu_grad=True):
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    da = (dout @ W2.T) * ((a > 0) if relu_grad else 1)
    return da @ W1.T + (dout if skip else 0), x.T @ da, da.sum(0), h.T @ dout, dout.sum(0)


def _lstm_wrong(x, h, c, Wx, Wh, b, swap=False, tanh_c=True, torch_order=False):
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    i, f, o, g = _sig(blocks[0]), _sig(blocks[1]), _sig(blocks[2]), np.tanh(blocks[3])
    if torch_order:
        g, o = np.tanh(blocks[2]), _sig(blocks[3])
    if swap:
        i, f = f, i
    c_new = f * c + i * g
    return o * (np.tanh(c_new) if tanh_c else c_new), c_new


def _attention_wrong(q, k, v, mask, scale):
    from common.attention import masked_softmax
    d = q.shape[-1]
    s = q @ np.swapaxes(k, -1, -2) * (1.0 / d if scale is None else scale)
    w = masked_softmax(s, mask)
    return w @ v, w


@pytest.mark.parametrize("function, wrong, says", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_typical_wrong_answer_fails_and_names_what_differs(function, wrong, says):
    with np.errstate(all="ignore"):
        result = checker(function)(wrong, verbose=False)
    assert result.done and not result.passed, result.message
    assert result.message.startswith(f"✗ {function}: ")
    assert says in result.message, result.message
    assert result.message.count("Hint:") <= 1


def test_every_checker_has_at_least_two_wrong_answers():
    counts = {e.function: 0 for e in EXERCISES}
    for function, _, _ in WRONG:
        counts[function] += 1
    assert min(counts.values()) >= 2, {k: v for k, v in counts.items() if v < 2}


def test_a_wrong_entry_is_reported_with_expected_and_got():
    def sigmoid_backward(z, dout):
        return dout * _sig(z)                        # forgot (1 - σ)
    result = checker("sigmoid_backward")(sigmoid_backward, verbose=False)
    m = re.search(r"dz \(z of shape \(4, 3\)\): entry \[0, 0\] is (\S+), expected (\S+) \(12 of 12 entries differ\)",
                  result.message)
    assert m, result.message
    assert float(m.group(1)) != float(m.group(2))
    assert "forget the (1 - σ(z)) factor" in result.message


def test_messages_never_print_a_whole_solution():
    """A failing message shows one entry, never the expected array."""
    result = checker("dense_backward")(lambda x, W, dout: (dout @ W.T, np.zeros((3, 4)), dout.sum(0)), verbose=False)
    assert not result.passed
    assert "[[" not in result.message and "array(" not in result.message


def _post_sections() -> dict[str, set[str]]:
    """The section headings of each post in the series reference (shared/reference/series-posts.md)."""
    candidates = [ROOT.parent / "shared"]                  # CI and the main checkout: ../shared
    if os.environ.get("P2T_MNIST_DIR"):                     # a worktree: shared/ is where the MNIST folder is
        candidates.append(Path(os.environ["P2T_MNIST_DIR"]).resolve().parents[1])
    path = next((c / "reference" / "series-posts.md" for c in candidates
                 if (c / "reference" / "series-posts.md").exists()), candidates[0] / "reference" / "series-posts.md")
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is needed in CI")
        pytest.skip(f"{path} not here")
    sections, post = {}, None
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## "):
            post = line[3:].strip()
            sections[post] = set()
        elif line.strip() == "###" and post:
            following = next((l.strip() for l in lines[i + 1:] if l.strip()), "")
            sections[post].add(following)
    return sections


def _deep_dive_sections(chapter: int) -> set[str]:
    """The numbered sections of a chapter's deep dive (``## 5. Positions`` → ``Positions``)."""
    dive = next((ROOT / CHAPTERS[chapter - 1].folder).glob("*_DEEP_DIVE.md"))
    return {re.sub(r"^\d+\.\s*", "", l[3:].strip()) for l in dive.read_text(encoding="utf-8").splitlines()
            if l.startswith("## ")}


#: Chapters whose post is not published yet (not in the series reference): their exercises name the
#: sections of the chapter's deep dive instead.
UNPUBLISHED = {10}


def test_each_exercise_names_a_section_of_its_chapters_post():
    sections = _post_sections()
    for ex in EXERCISES:
        if ex.chapter in UNPUBLISHED:
            title = CHAPTERS[ex.chapter - 1].post_title
            assert not any(p.startswith(title) for p in sections), f"post {ex.chapter} is published now: use its sections"
            assert ex.part in _deep_dive_sections(ex.chapter), (ex.label, ex.part, sorted(_deep_dive_sections(ex.chapter)))
            continue
        title = CHAPTERS[ex.chapter - 1].post_title
        post = next((p for p in sections if p.replace("–", "-").startswith(title.replace("–", "-"))), None)
        assert post is not None, title
        assert ex.part in sections[post], (ex.label, ex.part, sorted(sections[post]))
