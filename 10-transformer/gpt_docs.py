"""Chapter 10: the measured tables of the README and the deep dive, computed from the shipped checkpoints
(``python -m tests.regenerate_doc_tables 10`` rewrites them; ``tests/test_ch10_docs.py`` compares).

>>> import gpt_docs
>>> gpt_docs.size_table().splitlines()[0]
'| model | L | d_model | 12·L·d² | blocks, counted | embeddings | head | total | forward FLOPs per token |'
"""

from __future__ import annotations

import numpy as np

import gpt
import gpt_inside as inside
from common.markdown import markdown_table, table_registry
from common.transformer import next_token_distribution

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()

#: the prompt of the temperature table
TEMPERATURE_PROMPT = "ROMEO:\nWhat say"
TEMPERATURES = (0.5, 1.0, 1.5)
#: validation windows the attention-distance table averages over
DISTANCE_WINDOWS = 32


@doc_table("README.md", "table: checkpoints")
def checkpoint_table() -> str:
    """The shipped checkpoints: size, training, validation loss, from each file's record."""
    rows = []
    for name in gpt.CONFIGS:
        model, _, info = gpt.shipped(name)
        cfg = info["train_config"]
        rows.append([name, gpt.CONFIG_NOTES[name], f"{model.num_params():,}", f"{cfg['iters']:,} × {cfg['batch_size']}",
                     f"{cfg['iters'] * cfg['batch_size'] * cfg['block_size'] / 1e6:.1f}M",
                     f"{info['train_seconds'] / 60:.1f} / {info['train_cpu_seconds'] / 60:.1f} min",
                     f"{info['val_loss']:.4f}"])
    return markdown_table(["checkpoint", "model", "parameters", "iterations × batch", "characters seen",
                   "training (wall / CPU)", "validation loss"], rows)


@doc_table("TRANSFORMER_DEEP_DIVE.md", "table: size")
def size_table() -> str:
    """Parameters and FLOPs per token, counted from the models, against 12·L·d²."""
    rows = []
    for name in gpt.CONFIGS:
        m = gpt.shipped(name)[0]
        c, r, f = m.parameter_counts(), inside.twelve_l_d2(m), m.flops_per_token()
        rows.append([name, m.n_layer, m.d_model, f"{r['rule']:,}", f"{r['exact']:,}", f"{c['embeddings']:,}",
                     f"{c['head']:,}", f"{c['total']:,}", f"{f['total']:,}"])
    return markdown_table(["model", "L", "d_model", "12·L·d²", "blocks, counted", "embeddings", "head", "total",
                   "forward FLOPs per token"], rows)


@doc_table("README.md", "table: order")
@doc_table("TRANSFORMER_DEEP_DIVE.md", "table: order")
def order_table() -> str:
    """The two prompts with the same characters in another order, through each model."""
    rows = []
    for name in ("small", "nopos", "medium"):
        model, tok, info = gpt.shipped(name)
        res = inside.order_test(model, tok)
        rows.append([name, model.positions or "none", f"{res['stream_diff'][1]:.1e}", f"{res['stream_diff'][-1]:.3f}",
                     f"{res['tv_distance']:.3f}", f"{info['val_loss']:.4f}"])
    return markdown_table(["model", "positions", "after block 0", "after the last block", "next-character TV distance",
                   "validation loss"], rows)


@doc_table("TRANSFORMER_DEEP_DIVE.md", "table: shapes")
def shapes_table() -> str:
    """The shapes through one block of the medium model for one training batch, read from its caches."""
    m = gpt.copy_model(gpt.shipped("medium")[0])
    N, T = gpt.CONFIGS["medium"].batch_size, m.block_size
    logits = m.forward(np.zeros((N, T), dtype=np.int64))
    b = m.blocks[0]
    a = b.attn
    rows = [["token ids", "(N, T)", (N, T), "—"],
            ["embedding + positions", "(N, T, D)", m.extras["residual"][0].shape, "`tok_emb`, `pos_emb`"],
            ["q, k, v of every head", "(N, T, 3, h, d_k)", a._cache.qkv.shape, "`attn`: one product with W_Q, W_K, W_V side by side"],
            ["attention weights", "(N, h, T, T)", a.extras["weights"].shape, "softmax of q·k/√d_k, causal"],
            ["heads, side by side", "(N, T, D)", a._cache.merged.shape, "weights × v, then W_O"],
            ["feed-forward hidden", "(N, T, 4D)", b.ffn.act._x.shape, "`ffn.fc`, GELU"],
            ["block output", "(N, T, D)", m.extras["residual"][1].shape, "x + attention, + feed-forward"],
            ["logits", "(N, T, V)", logits.shape, "`ln_f`, the tied head"]]
    return markdown_table(["tensor", "shape", f"medium, N = {N}", "made by"], [[r[0], r[1], str(r[2]), r[3]] for r in rows])


@doc_table("TRANSFORMER_DEEP_DIVE.md", "table: temperature")
def temperature_table() -> str:
    """The medium model's next-character distribution after ``TEMPERATURE_PROMPT`` at a few
    temperatures, and with top-k 3."""
    model, tok, _ = gpt.shipped("medium")
    logits = gpt.copy_model(model, np.float64).forward(tok.encode(TEMPERATURE_PROMPT)[None])[:, -1]
    rows = []
    for label, kw in [*((f"τ = {t}", {"temperature": t}) for t in TEMPERATURES), ("τ = 1, top-k 3", {"top_k": 3})]:
        p = next_token_distribution(logits, **kw)[0]
        top = np.argsort(-p, kind="stable")[:4]
        entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum())
        rows.append([label, ", ".join(f"`{inside.show_char(tok.chars[i])}` {p[i]:.3f}" for i in top), f"{entropy:.3f}"])
    return markdown_table(["sampling", "four most likely next characters", "entropy (nats)"], rows)


def attention_distance() -> np.ndarray:
    """(L, h): how far back each head of the medium model looks, on average over the first
    ``DISTANCE_WINDOWS`` validation windows and all their positions: mean of Σⱼ w_ij (i - j)."""
    model = gpt.shipped("medium")[0]
    X, _ = gpt.consecutive_windows(gpt.shakespeare().val, model.block_size, DISTANCE_WINDOWS)
    model.forward(X)
    T = model.block_size
    gap = np.arange(T)[:, None] - np.arange(T)[None, :]                      # i - j
    return np.stack([(b.attn.extras["weights"] * gap).sum(-1).mean(axis=(0, 2)) for b in model.blocks])


@doc_table("TRANSFORMER_DEEP_DIVE.md", "table: distance")
def distance_table() -> str:
    d = attention_distance()
    return markdown_table(["layer"] + [f"head {h}" for h in range(d.shape[1])],
                  [[l] + [f"{v:.1f}" for v in row] for l, row in enumerate(d)])


