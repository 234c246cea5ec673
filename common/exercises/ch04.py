"""Chapter 04 (optimizers): an epoch of shuffled mini-batches, a momentum step, an Adam step with its
bias correction. The optimizer steps run several steps beside ``common.optimizers`` on the same
gradients, because what a velocity or a running average gets wrong often shows only at step 2."""

from __future__ import annotations

import numpy as np

from ..optimizers import Adam, Momentum
from ._core import as_array, call, checker, compare, fail, seed_for, unpack


@checker("minibatch_indices", "minibatch_indices")
def check_minibatch_indices(fn):
    """``minibatch_indices(n, batch_size, rng) -> list of index arrays``: one epoch, shuffled, every
    sample exactly once, the last batch smaller when ``batch_size`` does not divide ``n``."""
    for n, bs in ((100, 32), (64, 16), (10, 64)):
        rng = np.random.default_rng(seed_for("minibatch_indices") + n)
        out = call(fn, n, bs, rng)
        try:
            batches = [np.asarray(b).reshape(-1) for b in out]
        except TypeError:
            fail(f"should return a list of index arrays, got {type(out).__name__}.")
        case = f"n = {n}, batch_size = {bs}"
        expected = -(-n // bs)
        if len(batches) != expected:
            hint = ("keep the last, smaller batch: every sample is used once per epoch."
                    if len(batches) == n // bs else "⌈n / batch_size⌉ batches make one epoch.")
            fail(f"{case}: {len(batches)} batches, expected {expected}.", hint)
        sizes = [len(b) for b in batches]
        want = [bs] * (n // bs) + ([n % bs] if n % bs else [])
        if sizes != want:
            fail(f"{case}: batch sizes {sizes}, expected {want}.", "all batches full except possibly the last.")
        idx = np.concatenate(batches)
        if not np.issubdtype(idx.dtype, np.integer):
            fail(f"{case}: the batches hold {idx.dtype} values; they should be integer row indices.")
        counts = np.bincount(idx[(idx >= 0) & (idx < n)], minlength=n)
        if idx.min() < 0 or idx.max() >= n or np.any(counts != 1):
            missing = int(np.sum(counts == 0))
            fail(f"{case}: {missing} of the {n} samples never appear (and others appear twice or more).",
                 "draw a permutation of 0…n-1 (without replacement), then cut it into slices.")
        if n > bs and np.array_equal(idx, np.arange(n)):
            fail(f"{case}: the batches take the samples in their original order.",
                 "shuffle with the rng you are given: 'stochastic' means a new random order every epoch.")
        again = np.concatenate([np.asarray(b).reshape(-1) for b in call(fn, n, bs, rng)])
        if n > bs and np.array_equal(again, idx):
            fail(f"{case}: a second call with the same (advanced) rng gave the same order.",
                 "use the rng passed in (rng.permutation), not a fixed seed: each epoch needs a new order.")
    return "Every epoch visits each sample once, in a new random order, in ⌈n/B⌉ batches."


def _run_library(opt_class, p0, grads, **kwargs) -> list[np.ndarray]:
    """The parameter after each step of ``opt_class`` fed ``grads`` in turn."""
    p, g = p0.copy(), np.zeros_like(p0)
    opt = opt_class([(p, g)], **kwargs)
    out = []
    for gt in grads:
        g[...] = gt
        opt.step()
        out.append(p.copy())
    return out


@checker("momentum_step", "momentum_step")
def check_momentum_step(fn):
    """``momentum_step(p, g, v, lr, mu) -> (p, v)``: one heavy-ball step; ``v`` starts at zeros."""
    rng = np.random.default_rng(seed_for("momentum_step"))
    lr, mu = 0.1, 0.9
    p0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(5)]
    want = _run_library(Momentum, p0, grads, lr=lr, momentum=mu)
    sgd = [p0 - lr * np.cumsum(grads[:t + 1], axis=0)[-1] for t in range(5)]   # plain SGD's path
    p, v = p0.copy(), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        p_prev = as_array("p", p)
        p, v = unpack(call(fn, p_prev, g, v, lr, mu), ("p", "v"))
        compare("p", want[t - 1], p, case=f"after step {t}, lr = {lr}, mu = {mu}",
                hint="the velocity remembers: v ← μ·v + g, then p ← p - η·v (v starts at 0).",
                mistakes={"step uphill (p + η·v)": p_prev + (p_prev - want[t - 1]),
                          "not carry the velocity over (that is plain SGD)": sgd[t - 1],
                          "add η·g into v and then multiply by η again": p_prev - lr * (lr * g) if t == 1 else None})
    return "Five steps follow common.optimizers.Momentum exactly."


@checker("adam_step", "adam_step")
def check_adam_step(fn):
    """``adam_step(p, g, m, v, t, lr, beta1, beta2, eps) -> (p, m, v)``: one Adam step, t counted from 1."""
    rng = np.random.default_rng(seed_for("adam_step"))
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) * s for s in (1.0, 0.5, 2.0, 1.0, 0.1, 1.5)]
    want = _run_library(Adam, p0, grads, lr=lr, beta1=b1, beta2=b2, eps=eps)
    p, m, v = p0.copy(), np.zeros(4), np.zeros(4)
    m_ref, v_ref = np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        p_prev, m_prev, v_prev = as_array("p", p), as_array("m", m), as_array("v", v)
        p, m, v = unpack(call(fn, p_prev, g, m_prev, v_prev, t, lr, b1, b2, eps), ("p", "m", "v"))
        m_ref, v_ref = b1 * m_ref + (1 - b1) * g, b2 * v_ref + (1 - b2) * g * g
        case = f"step t = {t}"
        compare("m", m_ref, m, case=case, hint="m is the running average of the gradient: m ← β₁m + (1-β₁)g.",
                mistakes={"average |g| or g² into m (m follows g itself)": b1 * m_prev + (1 - b1) * g * g})
        compare("v", v_ref, v, case=case, hint="v is the running average of the squared gradient: v ← β₂v + (1-β₂)g².",
                mistakes={"average g instead of g² into v": b2 * v_prev + (1 - b2) * g})
        mh, vh = m_ref / (1 - b1 ** t), v_ref / (1 - b2 ** t)
        compare("p", want[t - 1], p, case=case,
                hint="both averages start at 0, so divide them by (1 - βᵗ) before the step: "
                     "p ← p - η·m̂/(√v̂ + ε).",
                mistakes={"skip the bias correction (m̂ = m/(1-β₁ᵗ), v̂ = v/(1-β₂ᵗ))":
                          p_prev - lr * m_ref / (np.sqrt(v_ref) + eps),
                          "correct only m, not v": p_prev - lr * mh / (np.sqrt(v_ref) + eps),
                          "use t - 1 in the bias correction (t already counts from 1)":
                          p_prev - lr * (m_ref / (1 - b1 ** (t - 1))) / (np.sqrt(v_ref / (1 - b2 ** (t - 1))) + eps)
                          if t > 1 else None,
                          "forget the square root of v̂": p_prev - lr * mh / (vh + eps)})
    return "Six steps match common.optimizers.Adam, bias correction included."
