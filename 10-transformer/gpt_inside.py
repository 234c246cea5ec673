"""Chapter 10, inside the model: what the page and the deep dive measure on a trained GPT.

- ``attention_maps`` / ``attended``: the attention weights of every layer and head for a prompt, and which
  earlier characters each head looks at from a chosen position;
- ``residual_norms``: the size of the residual stream after the embeddings and after each block;
- ``position_similarity`` and ``order_test``: what positions are, learned or sinusoidal, and what a model
  without them cannot see (two prompts with the same characters in another order);
- ``size_rows`` / ``twelve_l_d2`` / ``tokens_per_second``: parameters per component, the 12·L·d² rule,
  FLOPs per token and measured throughput.

>>> import numpy as np, gpt, gpt_inside
>>> model, tok, _ = gpt.shipped("small")
>>> gpt_inside.attention_maps(model, tok.encode("To be")[None]).shape      # (L, h, T, T)
(2, 4, 5, 5)
"""

from __future__ import annotations

import time

import numpy as np

from common.losses import sequence_cross_entropy
from common.optimizers import AdamW
from common.transformer import GPT, next_token_distribution, sinusoidal_encoding

#: the two prompts of the order test: the same characters, the same last character, another order
ORDER_PROMPTS = ("dog bites man.", "man bites dog.")


# --------------------------------------------------------------------------------------------------------
# Attention and the residual stream
# --------------------------------------------------------------------------------------------------------

def attention_maps(model: GPT, ids: np.ndarray) -> np.ndarray:
    """(L, h, T, T): every block's attention weights for the first row of ``ids`` (N, T); row i is where
    position i looks, and everything right of the diagonal is exactly 0 (the causal mask)."""
    model.forward(ids[:1, -model.block_size:])
    return np.stack([block.attn.extras["weights"][0] for block in model.blocks])


def attended(model: GPT, chars: str, query: int, top: int = 3) -> list[dict]:
    """For every (layer, head): the ``top`` earlier positions that position ``query`` of ``chars`` looks
    at most, as rows ``{"layer", "head", "looks at", "weights"}`` (characters shown with their position)."""
    maps = attention_maps(model, _ids(model, chars))
    rows = []
    for layer, heads in enumerate(maps):
        for head, w in enumerate(heads):
            order = np.argsort(-w[query], kind="stable")[:min(top, query + 1)]
            rows.append({"layer": layer, "head": head,
                         "looks at": ", ".join(f"{show_char(chars[j])}@{j}" for j in order),
                         "weights": [float(w[query, j]) for j in order]})
    return rows


def residual_norms(model: GPT, ids: np.ndarray) -> np.ndarray:
    """(L + 1, T): ‖x_t‖ of the first row of ``ids`` after the embeddings (row 0) and after each block."""
    model.forward(ids[:1, -model.block_size:])
    return np.stack([np.linalg.norm(x[0].astype(np.float64), axis=-1) for x in model.extras["residual"]])


def next_chars(model: GPT, tokenizer, prompt: str, *, temperature: float = 1.0, top_k: int | None = None,
               n: int = 10) -> list[tuple[str, float]]:
    """The ``n`` most likely next characters after ``prompt`` and their probabilities under the sampling
    distribution (temperature and top-k applied)."""
    logits = model.forward(_ids(model, prompt, tokenizer))[:, -1]
    p = next_token_distribution(logits, temperature=temperature, top_k=top_k)[0]
    order = np.argsort(-p, kind="stable")[:n]
    return [(tokenizer.chars[i], float(p[i])) for i in order]


# --------------------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------------------

def position_similarity(P: np.ndarray) -> np.ndarray:
    """(T, T) cosine similarity between the position vectors (rows of P)."""
    P = np.asarray(P, dtype=np.float64)
    unit = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def learned_positions(model: GPT) -> np.ndarray:
    """(block_size, D): the learned position table, or the sinusoidal one the model adds."""
    if model.positions == "learned":
        return model.pos_emb.params["W"].astype(np.float64)
    if model.positions == "sinusoidal":
        return sinusoidal_encoding(model.block_size, model.d_model)
    raise ValueError("this model has no positions")


def order_test(model: GPT, tokenizer, prompts=ORDER_PROMPTS) -> dict:
    """Feed two prompts with the same characters in another order (and the same last character) and
    compare, at the last position, the residual stream after the embeddings and after each block
    (largest absolute difference, in float64) and the next-character distributions (total variation
    distance ½Σ|p - q|)."""
    m = _float64(model)
    a, b = (_ids(m, s, tokenizer) for s in prompts)
    m.forward(a)
    sa = [x[0, -1].copy() for x in m.extras["residual"]]
    pa = next_token_distribution(m.forward(a)[:, -1])[0]
    m.forward(b)
    sb = [x[0, -1] for x in m.extras["residual"]]
    pb = next_token_distribution(m.forward(b)[:, -1])[0]
    return {"stream_diff": [float(np.abs(x - y).max()) for x, y in zip(sa, sb)],
            "tv_distance": float(0.5 * np.abs(pa - pb).sum())}


# --------------------------------------------------------------------------------------------------------
# Size and cost
# --------------------------------------------------------------------------------------------------------

COMPONENTS = ("embeddings", "attention", "ffn", "layernorm", "head")


def size_rows(model: GPT) -> list[dict]:
    """Parameters per component, counted from the model's arrays, with their share."""
    counts = model.parameter_counts()
    return [{"component": c, "parameters": counts[c], "share": counts[c] / counts["total"]} for c in COMPONENTS]


def twelve_l_d2(model: GPT) -> dict:
    """The rule of thumb: the blocks hold 12·L·d² weights (4d² attention + 8d² feed-forward per block);
    the exact count adds the biases and LayerNorm gains of the blocks."""
    counts = model.parameter_counts()
    block_norms = 2 * model.n_layer * 2 * model.d_model
    exact = counts["attention"] + counts["ffn"] + block_norms
    rule = 12 * model.n_layer * model.d_model ** 2
    return {"rule": rule, "exact": exact, "ratio": exact / rule}


def tokens_per_second(model: GPT, batch_size: int = 12, steps: int = 3, *, training: bool = True,
                      seed: int = 0) -> float:
    """Measured throughput on random tokens: training steps (forward, backward, AdamW on a copy of the
    model) or forward passes, of ``batch_size`` windows of block_size tokens; the best of ``steps``."""
    from gpt import copy_model

    m = copy_model(model)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, m.vocab_size, (batch_size, m.block_size))
    y = rng.integers(0, m.vocab_size, (batch_size, m.block_size))
    opt = AdamW(m, lr=1e-4) if training else None
    best = np.inf
    for _ in range(steps + 1):                     # the first call warms up
        start = time.perf_counter()
        out = m.forward(ids, training=training)
        if training:
            _, d = sequence_cross_entropy(out, y)
            opt.zero_grad()
            m.backward_params(d)
            opt.step()
        best = min(best, time.perf_counter() - start)
    return ids.size / best


# --------------------------------------------------------------------------------------------------------

def _ids(model: GPT, chars: str, tokenizer=None) -> np.ndarray:
    if tokenizer is None:
        import gpt
        tokenizer = gpt.shakespeare().tokenizer
    return tokenizer.encode(chars if chars else "\n")[None, -model.block_size:]


def _float64(model: GPT) -> GPT:
    from gpt import copy_model
    return copy_model(model, np.float64)


def show_char(c: str) -> str:
    """A character as the page and the tables print it: a newline as ⏎, a space as ␣."""
    return {"\n": "⏎", " ": "␣"}.get(c, c)
