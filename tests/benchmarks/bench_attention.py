"""Benchmark: multi-head self-attention forward and backward (batch 8, 8 heads, T = 128, head width
d_k = 64, so d_model = 512; float32) through ``common.attention.MultiHeadAttention``: the four
projections, the scaled dot-product with a causal mask, the weights kept for the backward pass, then the
backward pass from a fixed upstream gradient (all four projections' weight and bias gradients and the
input gradient ∂L/∂x).

    python tests/benchmarks/bench_attention.py --vs-torch                 # forward + backward
    python tests/benchmarks/bench_attention.py --vs-torch --forward-only  # forward alone
    python tests/benchmarks/bench_attention.py --vs-torch --d-head 8      # d_model = 64

Prints the median time per call (forward, or forward + backward) over ``--repeats`` blocks of ``--iters``
calls; ``--vs-torch`` runs ``torch.nn.MultiheadAttention`` (batch_first, same causal mask,
``need_weights=False``: its fastest path, in training mode with autograd recording; the input requires a
gradient, and ``out.backward(g)`` with the same upstream gradient shape) in a separate process and prints
the ratio of medians (NumPy / PyTorch). Target (issue 15): forward + backward ratio ≤ 0.9.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

OPTIONS = (("threads", 1), ("batch", 8), ("heads", 8), ("T", 128), ("d_head", 64), ("iters", 10), ("repeats", 7))


def add_args(parser) -> None:
    for name, default in OPTIONS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=default)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, which leaves out the time the "
                             "process waits for a core, steadier on a shared machine (single-threaded runs only)")
    parser.add_argument("--forward-only", action="store_true", help="time the forward pass alone")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--record", default=None, metavar="PATH",
                        help="with --vs-torch: add this run (settings, both medians, the ratio) to the JSON list at "
                             "PATH under the key of its settings (09-attention/benchmarks/bench_attention.json is "
                             "the record chapter 09's README quotes)")


def what(args) -> str:
    return "forward" if args.forward_only else "forward+backward"


def show(name, times, args, as_json):
    return _bench.show_times(name, times, what(args), f"batch {args.batch}, heads {args.heads}, T {args.T}, "
                             f"d_model {args.heads * args.d_head}", as_json)


def main() -> None:
    args, clock = _bench.parse(__doc__, add_args)

    import numpy as np
    from common.attention import MultiHeadAttention, causal_mask

    d = args.heads * args.d_head
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(d, args.heads, rng)
    x = rng.standard_normal((args.batch, args.T, d)).astype(np.float32)
    g = rng.standard_normal((args.batch, args.T, d)).astype(np.float32)     # the upstream gradient
    mask = causal_mask(args.T)

    def call():
        mha.forward(x, True, mask=mask)
        if not args.forward_only:
            mha.backward(g)                     # accumulates into mha.grads, as torch into .grad

    for _ in range(3):
        call()
    times = _bench.time_blocks(lambda: [call() for _ in range(args.iters)], args.repeats, args.iters, clock)
    mine = show("numpy (common)", times, args, args.json)
    if args.vs_torch:
        ref = _bench.run_twin("bench_attention_torch.py", [
            f"--{k.replace('_', '-')}={getattr(args, k)}" for k, _ in OPTIONS] + [f"--clock={args.clock}"]
                               + ["--forward-only"] * args.forward_only)
        show("pytorch (cpu)", [t / 1000 for t in ref["ms"]], args, False)
        print(f"ratio numpy/pytorch (median): {mine['median_ms'] / ref['median_ms']:.2f}, "
              f"(best): {mine['best_ms'] / ref['best_ms']:.2f} ({what(args)}, threads={args.threads})")
        if args.record:
            record(args, mine, ref)
    if not args.json:
        print(_bench.kernel_line())


def record(args, mine, ref) -> None:
    """Write the run into the record file: {settings key: {settings, medians, ratio, date}}."""
    import datetime
    path = Path(args.record)
    runs = json.loads(path.read_text()) if path.is_file() else {}
    settings = {k: getattr(args, k) for k, _ in OPTIONS} | {"clock": args.clock, "pass": what(args)}
    key = f"{what(args)} d_head={args.d_head} threads={args.threads}"
    runs[key] = {"settings": settings, "numpy_median_ms": round(mine["median_ms"], 3),
                 "torch_median_ms": round(ref["median_ms"], 3),
                 "ratio": round(mine["median_ms"] / ref["median_ms"], 2), "date": datetime.date.today().isoformat()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(runs.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
