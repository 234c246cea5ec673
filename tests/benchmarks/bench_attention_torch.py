"""The PyTorch twin of ``bench_attention.py``: ``torch.nn.MultiheadAttention`` forward (and backward,
unless ``--forward-only``: the input requires a gradient, ``out.backward(g)``) with the same shapes,
causal mask and float32, on CPU. Run by that script in its own process with ``--vs-torch``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402
from bench_attention import add_args, show  # noqa: E402


def main() -> None:
    args, clock = _bench.parse(__doc__, add_args, twin=True)

    torch = _bench.torch_init(args.threads)
    d = args.heads * args.d_head
    mha = torch.nn.MultiheadAttention(d, args.heads, batch_first=True)
    x = torch.randn(args.batch, args.T, d, requires_grad=not args.forward_only)
    g = torch.randn(args.batch, args.T, d)                                    # the upstream gradient
    blocked = torch.triu(torch.ones(args.T, args.T, dtype=torch.bool), 1)     # torch: True = may NOT attend

    def forward():
        out = mha(x, x, x, attn_mask=blocked, need_weights=False)[0]
        if not args.forward_only:
            out.backward(g)                     # accumulates into .grad, as the NumPy layer into grads

    for _ in range(3):
        forward()
    times = _bench.time_blocks(lambda: [forward() for _ in range(args.iters)], args.repeats, args.iters, clock)
    show("pytorch (cpu)", times, args, args.json)


if __name__ == "__main__":
    main()
