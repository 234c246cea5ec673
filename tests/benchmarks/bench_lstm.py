"""Benchmark: one LSTM training step (Embedding 20→16, LSTM hidden 48, T = 20, batch 32, Dense 48→4 on the
last step, softmax cross-entropy, Adam; float32) through ``common``, on the chapter 08 subject task.

    python tests/benchmarks/bench_lstm.py --vs-torch
    python tests/benchmarks/bench_lstm.py --vs-torch --batch 1

Prints the median (and best) time per training step (forward, backward, optimizer step) over ``--repeats``
blocks of ``--steps`` steps; ``--vs-torch`` runs the same model in PyTorch (``torch.nn.LSTM``) in a
separate process and prints the ratio of medians (NumPy / PyTorch) and of the best blocks, which is the
steadier of the two on a busy machine. Target (issue 15): ratio ≤ 0.8 at batch 32.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def add_args(parser) -> None:
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (0 = library default)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=48)
    parser.add_argument("--T", type=int, default=20, help="time steps (fillers = T - 2)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed block")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, which leaves out the time the "
                             "process waits for a core, steadier on a shared machine (single-threaded runs only)")
    parser.add_argument("--json", action="store_true")


def reference(script: str, args) -> dict:
    return _bench.run_twin(script, [
        f"--{k}={v}" for k, v in (("threads", args.threads), ("batch", args.batch), ("hidden", args.hidden),
                                  ("T", args.T), ("steps", args.steps), ("repeats", args.repeats),
                                  ("clock", args.clock))])


def show(name, times, args, as_json):
    return _bench.show_times(name, times, "step", f"batch {args.batch}, H {args.hidden}, T {args.T}", as_json,
                             digits=3, key="step_ms")


def main() -> None:
    args, clock = _bench.parse(__doc__, add_args)

    import numpy as np
    from common.layers import Dense
    from common.losses import softmax_cross_entropy
    from common.optimizers import Adam
    from common.recurrent import LSTM, Embedding
    from common.sequence_tasks import VOCAB, subject_task

    rng = np.random.default_rng(0)
    emb, lstm, out = Embedding(VOCAB.size, 16, rng), LSTM(16, args.hidden, rng), Dense(args.hidden, 4, rng)
    opt = Adam([p for layer in (emb, lstm, out) for p in layer.parameters()], lr=1e-3)
    data = [subject_task(args.batch, args.T - 2, rng) for _ in range(args.steps)]
    dh = np.zeros((args.batch, args.T, args.hidden), dtype=np.float32)

    def step(X, y):
        hs = lstm.forward(emb.forward(X))
        _, d = softmax_cross_entropy(out.forward(hs[:, -1]), y)
        opt.zero_grad()
        dh[:, -1] = out.backward(d)
        emb.backward(lstm.backward(dh))
        opt.step()

    for X, y in data[:5]:
        step(X, y)                                                         # warm-up
    times = _bench.time_blocks(lambda: [step(X, y) for X, y in data], args.repeats, args.steps, clock)
    mine = show("numpy (common)", times, args, args.json)
    if args.vs_torch:
        ref = reference("bench_lstm_torch.py", args)
        show("pytorch (cpu)", [t / 1000 for t in ref["step_ms"]], args, False)
        print(f"ratio numpy/pytorch (median step): {mine['median_ms'] / ref['median_ms']:.2f}, "
              f"(best block): {mine['best_ms'] / ref['best_ms']:.2f} (threads={args.threads})")
    if not args.json:
        print(_bench.kernel_line())


if __name__ == "__main__":
    main()
