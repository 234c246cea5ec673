"""Chapter 10 (the Transformer): the pre-LN block's two residual sums, the sinusoidal positional encoding,
a GPT's parameter count and the sampling distribution (temperature and top-k), each against
``common.transformer``."""

from __future__ import annotations

import numpy as np

from ..transformer import GPT, TransformerBlock, next_token_distribution, sinusoidal_encoding
from ._core import as_array, call, checker, compare, fail, seed_for


class _Sublayer:
    """One of a block's sublayers as the function the learner calls (named in messages as ln1, attn…)."""

    def __init__(self, name, layer):
        self.name, self.layer = name, layer

    def __call__(self, z):
        return self.layer.forward(z)

    def __repr__(self):
        return self.name


@checker("pre_ln_block", "pre_ln_block")
def check_pre_ln_block(fn):
    """``pre_ln_block(x, ln1, attn, ln2, ffn) -> out``: GPT-2's block from its four sublayers (each a
    function of an (N, T, D) array): ``x₁ = x + attn(ln1(x))``, ``out = x₁ + ffn(ln2(x₁))``."""
    rng = np.random.default_rng(seed_for("pre_ln_block"))
    for n, t, d, h in ((2, 5, 8, 2), (1, 7, 12, 3)):
        block = TransformerBlock(d, h, rng, dtype=np.float64)
        for name, p in block.params.items():           # γ, β and biases away from 1 and 0, so no term hides
            p[...] = p + 0.3 * rng.standard_normal(p.shape)
        ln1, attn, ln2, ffn = (_Sublayer(name, getattr(block, name)) for name in ("ln1", "attn", "ln2", "ffn"))
        x = rng.standard_normal((n, t, d))
        want = block.forward(x)
        x1 = x + attn(ln1(x))
        post1 = ln1(x + attn(x))
        mistakes = {
            "normalise after the sums (post-LN: LN(x + attn(x)), the 2017 paper's order)": ln2(post1 + ffn(post1)),
            "leave out the first shortcut (x₁ = attn(ln1(x)))": attn(ln1(x)) + ffn(ln2(attn(ln1(x)))),
            "leave out the second shortcut (out = ffn(ln2(x₁)))": ffn(ln2(x1)),
            "feed ln2 the block's input x instead of x₁ (the two sublayers side by side)": x1 + ffn(ln2(x)),
            "use ln1 for both sublayers": x1 + ffn(ln1(x1)),
        }
        compare("out", want, call(fn, x, ln1, attn, ln2, ffn), case=f"x: {x.shape}, {h} heads",
                hint="two residual sums, each adding a sublayer of the normalised stream: x₁ = x + attn(ln1(x)), "
                     "then out = x₁ + ffn(ln2(x₁)).", mistakes=mistakes)
    return "It matches common.transformer.TransformerBlock's forward pass (pre-LN, two residual sums)."


@checker("sinusoidal_encoding", "sinusoidal_encoding")
def check_sinusoidal_encoding(fn):
    """``sinusoidal_encoding(T, d_model) -> (T, d_model)``: ``P[t, 2i] = sin(t / 10000^(2i/D))``,
    ``P[t, 2i+1] = cos(t / 10000^(2i/D))``."""
    for T, d in ((4, 6), (16, 8), (50, 32)):
        want = sinusoidal_encoding(T, d)
        t = np.arange(T)[:, None]
        i = np.arange(d // 2)
        angles = t / 10000.0 ** (2 * i / d)                           # (T, D/2)
        interleave = lambda even, odd: np.stack([even, odd], axis=-1).reshape(T, d)
        mistakes = {
            "swap sine and cosine (cos in the even columns)": interleave(np.cos(angles), np.sin(angles)),
            "use i/D instead of 2i/D in the exponent (frequencies that fall too slowly)":
                interleave(np.sin(t / 10000.0 ** (i / d)), np.cos(t / 10000.0 ** (i / d))),
            "give every column its own frequency (exponent j/D with j the column index)":
                np.where(np.arange(d) % 2 == 0, np.sin(t / 10000.0 ** (np.arange(d) / d)),
                         np.cos(t / 10000.0 ** (np.arange(d) / d))),
            "multiply t by 10000^(2i/D) instead of dividing": interleave(np.sin(t * 10000.0 ** (2 * i / d)),
                                                                       np.cos(t * 10000.0 ** (2 * i / d))),
            "put all the sines first, then all the cosines (no interleaving)":
                np.concatenate([np.sin(angles), np.cos(angles)], axis=1),
            "start the positions at 1 instead of 0": sinusoidal_encoding(T + 1, d)[1:],
        }
        compare("P", want, call(fn, T, d), case=f"T = {T}, d_model = {d}",
                hint="row t is position t = 0, 1, …; the column pair (2i, 2i+1) shares one frequency "
                     "1/10000^(2i/D): sine in the even column, cosine in the odd one.",
                mistakes=mistakes)
    return "It matches common.transformer.sinusoidal_encoding (row 0 is position 0: sin 0 = 0, cos 0 = 1)."


#: the settings the parameter-count exercise is checked on: (V, block_size, n_layer, n_head, d_model, tied)
_COUNT_CASES = ((65, 64, 2, 4, 64, True), (65, 64, 4, 4, 128, True), (50, 16, 3, 2, 24, False),
                (10, 8, 1, 1, 4, False))


@checker("count_parameters", "count_parameters")
def check_count_parameters(fn):
    """``count_parameters(V, block_size, n_layer, d_model, tied) -> int``: the number of parameters of
    ``common.transformer.GPT`` with learned positions (biases in every Dense but the head, LayerNorm γ and
    β, d_ff = 4·d_model, the head tied to the embedding or its own V×D matrix)."""
    for V, T, L, h, d, tied in _COUNT_CASES:
        counts = GPT(V, T, L, h, d, np.random.default_rng(0), tie_weights=tied).parameter_counts()
        want = counts["total"]
        case = f"V = {V}, block_size = {T}, n_layer = {L}, d_model = {d}, tied = {tied}"
        got = call(fn, V, T, L, d, tied)
        g = as_array("the count", got)
        if g.shape != ():
            fail(f"{case}: the count should be one number, got an array of shape {g.shape}.")
        if g == want:
            continue
        head = 0 if tied else V * d
        mistakes = {
            "leave out the biases (q, k, v, o, and the two feed-forward layers)": want - L * (4 * d + 4 * d + d),
            "leave out the LayerNorms' γ and β": want - counts["layernorm"],
            "forget the final LayerNorm": want - 2 * d,
            "count a separate head even though it is tied to the embedding": want + V * d if tied else None,
            "forget the head (it is its own V×D matrix when not tied)": want - V * d if not tied else None,
            "leave out the position embeddings (block_size × d_model)": want - T * d,
            "use the 12·L·d² rule alone": 12 * L * d * d,
            "count only the blocks (12·L·d² plus their biases and LayerNorms)":
                counts["attention"] + counts["ffn"] + 4 * L * d,
            "give the feed-forward network a hidden width of d_model instead of 4·d_model":
                want - L * (6 * d * d + 3 * d),
        }
        said = next((what for what, n in mistakes.items() if n is not None and g == n), None)
        parts = (f"embeddings {counts['embeddings']:,}, attention {counts['attention']:,}, feed-forward "
                 f"{counts['ffn']:,}, LayerNorms {counts['layernorm']:,}, head {head:,}")
        fail(f"{case}: your count is {int(g) if float(g).is_integer() else float(g):,}, expected {want:,} "
             f"({'too many' if g > want else 'too few'} by {abs(float(g) - want):,.0f}).",
             f"this is exactly what you get if you {said}." if said else
             f"count component by component; the library's split is {parts}.")
    return ("It matches common.transformer.GPT.parameter_counts() on four configurations, tied and untied "
            "(the 12·L·d² rule is the blocks' weight matrices only).")


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@checker("sampling_distribution", "sampling_distribution")
def check_sampling_distribution(fn):
    """``sampling_distribution(logits, temperature, top_k) -> (N, V)``: softmax(z / τ) over the k largest
    logits of each row (0 elsewhere); ``top_k=None`` keeps every token; ``temperature=0`` puts all the mass
    on the argmax."""
    rng = np.random.default_rng(seed_for("sampling_distribution"))
    z = 2 * rng.standard_normal((3, 12))
    cases = [(z, 1.0, None, "temperature 1, no top-k"), (z, 0.5, None, "temperature 0.5"),
             (z, 2.0, None, "temperature 2"), (z, 0.8, 3, "temperature 0.8, top-k 3"),
             (z, 1.5, 5, "temperature 1.5, top-k 5"), (z, 0.0, None, "temperature 0 (greedy)"),
             (600 + 50 * rng.standard_normal((2, 8)), 0.7, 4, "large logits (around 600)")]
    for logits, tau, k, case in cases:
        want = next_token_distribution(logits, temperature=tau, top_k=k)
        with np.errstate(all="ignore"):
            times = _softmax(logits * tau) if tau else None
            plain = _softmax(logits)
            full = _softmax(logits / tau) if tau else None
            if k is not None and tau:
                kth = np.sort(logits, axis=1)[:, -k][:, None]
                smallest = np.sort(logits, axis=1)[:, k - 1][:, None]
                keep_after = full * (logits >= kth)
                bottom = _softmax(np.where(logits <= smallest, logits / tau, -np.inf))
                k_before = _softmax(np.where(logits >= kth, logits, -np.inf))
            else:
                keep_after = bottom = k_before = None
        got = call(fn, logits, tau, k)
        g = as_array("the probabilities", got)
        if g.shape == want.shape and not np.all(np.isfinite(g)) and tau == 0:
            fail(f"{case}: the probabilities hold NaN or inf.",
                 "temperature 0 is the limit τ → 0: all the mass on the largest logit (check it before dividing by τ).")
        compare("the probabilities", want, got, case=case,
                hint="divide the logits by τ, set every logit below the k-th largest of its row to -inf, then a "
                     "softmax over the last axis (subtract each row's max first).",
                mistakes={"multiply the logits by τ instead of dividing": times,
                          "ignore the temperature": plain if tau not in (0.0, 1.0) else None,
                          "ignore top-k": full if k is not None else None,
                          "zero the tokens outside the top k after the softmax without renormalising": keep_after,
                          "keep the k smallest logits instead of the k largest": bottom,
                          "apply top-k but forget the temperature": k_before if tau != 1.0 else None})
    return "It matches common.transformer.next_token_distribution: temperature, top-k, greedy and large logits."
