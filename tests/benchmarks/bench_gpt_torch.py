"""The PyTorch twin of ``bench_gpt.py``: the same GPT written in PyTorch the way nanoGPT writes it (one
fused q/k/v projection, ``scaled_dot_product_attention(is_causal=True)``, tanh GELU, pre-LN, tied
embedding and head), started from the NumPy model's initial weights, trained on the same batches with
``torch.optim.AdamW`` (weight decay on the ≥ 2-D parameters only), the same warmup-cosine rates and
``clip_grad_norm_``, float32, CPU. Run by that script in its own process with ``--vs-torch``; runnable
alone too."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402
from bench_gpt import RECIPE, add_args, data, numpy_model, show  # noqa: E402


def torch_gpt(np_model):
    """A ``torch.nn.Module`` computing what ``np_model`` (a tied, learned-position ``common`` GPT)
    computes, holding copies of its weights."""
    import numpy as np
    import torch
    from torch import nn
    from torch.nn import functional as F

    def t(a):
        return torch.tensor(a, dtype=torch.float32)

    class Block(nn.Module):
        def __init__(self, P, prefix, n_head):
            super().__init__()
            g = lambda k: P[f"{prefix}.{k}"]
            d = g("ln1.gamma").shape[0]
            self.n_head = n_head
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            with torch.no_grad():
                for ln, k in ((self.ln_1, "ln1"), (self.ln_2, "ln2")):
                    ln.weight.copy_(t(g(f"{k}.gamma")))
                    ln.bias.copy_(t(g(f"{k}.beta")))
                qkv = [g(f"attn.W_{n}") for n in "QKV"]
                self.c_attn.weight.copy_(t(np.concatenate(qkv, axis=1).T))
                self.c_attn.bias.copy_(t(np.concatenate([g(f"attn.b_{n}") for n in "QKV"])))
                for lin, w, b in ((self.c_proj, "attn.W_O", "attn.b_O"), (self.c_fc, "ffn.fc.W", "ffn.fc.b"),
                                  (self.mlp_proj, "ffn.proj.W", "ffn.proj.b")):
                    lin.weight.copy_(t(g(w).T))
                    lin.bias.copy_(t(g(b)))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self, m):
            super().__init__()
            P = m.params
            self.wte = nn.Parameter(t(P["tok_emb.W"]))
            self.wpe = nn.Parameter(t(P["pos_emb.W"]))
            self.h = nn.ModuleList(Block(P, f"blocks.{i}", m.n_head) for i in range(m.n_layer))
            self.ln_f = nn.LayerNorm(m.d_model)
            with torch.no_grad():
                self.ln_f.weight.copy_(t(P["ln_f.gamma"]))
                self.ln_f.bias.copy_(t(P["ln_f.beta"]))

        def forward(self, ids):
            x = self.wte[ids] + self.wpe[: ids.shape[1]]
            for block in self.h:
                x = block(x)
            return self.ln_f(x) @ self.wte.T                                  # the tied head

    return TorchGPT(np_model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_args(parser)
    args = parser.parse_args()
    _bench.set_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    import numpy as np
    import torch
    from torch.nn import functional as F

    from common.optimizers import SGD, CosineLR
    from common.text import consecutive_windows, random_windows

    if args.threads:
        torch.set_num_threads(args.threads)
    train, val, tok, batch_rng = data(args.seed)
    model = torch_gpt(numpy_model(tok.vocab_size, args.seed))
    r = RECIPE
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": r["weight_decay"]},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=r["lr"], betas=(0.9, r["beta2"]), eps=1e-8)
    rates = CosineLR(SGD([(np.zeros(1), np.zeros(1))], lr=r["lr"]), args.iters, r["lr_min"], warmup=r["warmup"],
                     interval="step")
    marks = [clock()]
    start = time.perf_counter()
    for it in range(args.iters):
        for group in opt.param_groups:
            group["lr"] = rates.lr_at(it)
        xb, yb = (torch.from_numpy(a) for a in random_windows(train, r["block_size"], r["batch_size"], batch_rng))
        logits = model(xb)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, r["clip"])
        opt.step()
        if (it + 1) % args.block == 0:
            marks.append(clock())
    wall = time.perf_counter() - start
    Xv, Yv = (torch.from_numpy(a) for a in consecutive_windows(val, r["block_size"]))
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(Xv), 256):
            logits = model(Xv[i:i + 256])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Yv[i:i + 256].reshape(-1)).item() * len(logits)
    blocks = [(b - a) / args.block for a, b in zip(marks, marks[1:])]
    show("pytorch (cpu)", blocks, wall, total / len(Xv), args, args.json)
    assert math.isfinite(total)


if __name__ == "__main__":
    main()
