"""Benchmark: nanoGPT's CPU recipe for Tiny Shakespeare (characters), trained through ``common``:
``common.transformer.GPT`` (4 layers, 4 heads, d_model 128, context 64, tied embedding/head, dropout 0,
0.80M parameters), batch 12, ``AdamW`` (lr 1e-3, β₂ 0.99, weight decay 0.1 on matrices), ``CosineLR``
(warmup 100, cosine to 1e-4 at 2,000 iterations), gradient clipping at 1.0, all in ``common.training.fit``.

    python tests/benchmarks/bench_gpt.py --vs-torch                 # 2,000 iterations, 1 thread
    python tests/benchmarks/bench_gpt.py --vs-torch --threads 0     # the libraries' default threads
    python tests/benchmarks/bench_gpt.py --vs-torch --iters 300     # timing only (the loss needs 2,000)
    python tests/benchmarks/bench_gpt.py --vs-torch --clock cpu --save 10-transformer/benchmarks/bench_gpt_threads1.json

Prints the median milliseconds per iteration over blocks of ``--block`` iterations, the wall time of the
whole run and the validation loss (every character of the last 10%, in consecutive windows of 64, float32)
after the last iteration. ``--vs-torch`` trains the same model (the same initial weights, copied from the
NumPy model built with the same seed), schedule and batches (the same NumPy generator) written in PyTorch
(``bench_gpt_torch.py``) in a separate process, and prints the ratios. Targets: NumPy validation loss ≤ 1.89
at 2,000 iterations (nanoGPT's README: 1.88); NumPy time per iteration ≤ 1.0× PyTorch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

sys.path.insert(0, str(_bench.ROOT))          # this checkout's common, before an installed one

RECIPE = dict(block_size=64, batch_size=12, n_layer=4, n_head=4, d_model=128, dropout=0.0, lr=1e-3, lr_min=1e-4,
              beta2=0.99, warmup=100, weight_decay=0.1, clip=1.0)


def add_args(parser) -> None:
    parser.add_argument("--iters", type=int, default=2000, help="training iterations (the cosine's length)")
    parser.add_argument("--block", type=int, default=100, help="iterations per timed block")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (0 = library default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, which leaves out the time the "
                             "process waits for a core, steadier on a shared machine (single-threaded runs only)")
    parser.add_argument("--json", action="store_true")


def twin_argv(args) -> list[str]:
    return [f"--iters={args.iters}", f"--block={args.block}", f"--threads={args.threads}", f"--seed={args.seed}",
            f"--clock={args.clock}"]


def data(seed: int):
    """Token ids of the training and validation text, the tokenizer, and the generator of the batches."""
    import numpy as np
    from common.text import CharTokenizer, load_shakespeare

    corpus = load_shakespeare()
    tok = CharTokenizer.from_text(corpus.text)
    return tok.encode(corpus.train), tok.encode(corpus.val), tok, np.random.default_rng(seed + 1)


def numpy_model(vocab_size: int, seed: int):
    import numpy as np
    from common.transformer import GPT

    r = RECIPE
    return GPT(vocab_size, r["block_size"], r["n_layer"], r["n_head"], r["d_model"], np.random.default_rng(seed),
               dropout=r["dropout"], tie_weights=True)


def show(name, block_times, wall, val_loss, args, as_json):
    res = {"name": name, "block_ms": [1000 * t for t in block_times], "median_ms": 1000 * statistics.median(block_times),
           "wall_s": wall, "val_loss": val_loss, "iters": args.iters}
    print(json.dumps(res) if as_json else result_line(res, args.clock, args.block, args.threads))
    return res


def result_line(res, clock, block, threads) -> str:
    """The line printed for one library's run (``res`` as ``show`` returns it)."""
    return (f"{res['name']}: median {res['median_ms']:.1f} ms/iteration ({clock} clock, blocks of {block}), "
            f"{res['wall_s']:.1f} s wall for {res['iters']:,} iterations, validation loss {res['val_loss']:.4f} "
            f"(threads={threads})")


def ratio_line(mine, ref, threads) -> str:
    """The line comparing the NumPy run ``mine`` with the PyTorch run ``ref``."""
    return (f"ratio numpy/pytorch: {mine['median_ms'] / ref['median_ms']:.2f} per iteration (median), "
            f"{mine['wall_s'] / ref['wall_s']:.2f} wall; validation loss {mine['val_loss']:.4f} vs "
            f"{ref['val_loss']:.4f} (threads={threads})")


def record(path, argv, args, mine, ref) -> None:
    """Write the run to ``path`` as JSON: the command, the date, the OpenBLAS kernel setting, both results
    and the printed lines (chapter 10's README quotes them; ``tests/test_ch10_docs.py`` checks it does)."""
    import datetime
    import os
    import platform

    import numpy as np

    kept = [a for i, a in enumerate(argv) if not a.startswith("--save") and (i == 0 or argv[i - 1] != "--save")]
    rec = {"command": " ".join(["python tests/benchmarks/bench_gpt.py", *kept]),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
           "clock": args.clock, "block": args.block, "threads": args.threads, "iters": args.iters,
           "cpu_count": os.cpu_count(), "machine": platform.machine(), "numpy": np.__version__,
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "results": {"numpy": mine, "pytorch": ref}}
    if ref is not None:
        rec["lines"] = [result_line(mine, args.clock, args.block, args.threads),
                        result_line(ref, args.clock, args.block, args.threads), ratio_line(mine, ref, args.threads)]
    Path(path).write_text(json.dumps(rec, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(parser)
    parser.add_argument("--vs-torch", action="store_true")
    parser.add_argument("--save", metavar="PATH", help="also write the run (and the printed lines) to PATH as JSON")
    args = parser.parse_args()
    _bench.set_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    from common.losses import sequence_cross_entropy
    from common.optimizers import AdamW, CosineLR
    from common.text import consecutive_windows, random_windows
    from common.training import Callback, evaluate, fit

    train, val, tok, batch_rng = data(args.seed)
    model = numpy_model(tok.vocab_size, args.seed)
    r = RECIPE
    opt = AdamW(model, lr=r["lr"], beta2=r["beta2"], weight_decay=r["weight_decay"])
    schedule = CosineLR(opt, args.iters, r["lr_min"], warmup=r["warmup"], interval="step")
    marks = []

    class Clock(Callback):
        def on_train_begin(self, state):
            marks.append(clock())

        def on_batch_end(self, state):
            if state.step % args.block == 0:
                marks.append(clock())

    start = time.perf_counter()
    fit(model, batches=lambda rng: random_windows(train, r["block_size"], r["batch_size"], rng),
        steps_per_epoch=args.iters, epochs=1, loss_fn=sequence_cross_entropy, optimizer=opt, schedule=schedule,
        clip_norm=r["clip"], metric=None, rng=batch_rng, callbacks=[Clock()])
    wall = time.perf_counter() - start
    Xv, Yv = consecutive_windows(val, r["block_size"])
    val_loss, _ = evaluate(model, Xv, Yv, sequence_cross_entropy, metric=None, batch_size=256)
    blocks = [(b - a) / args.block for a, b in zip(marks, marks[1:])]
    mine = show("numpy (common)", blocks, wall, float(val_loss), args, args.json)
    ref = None
    if args.vs_torch:
        ref = _bench.run_twin("bench_gpt_torch.py", twin_argv(args))
        ref = show("pytorch (cpu)", [t / 1000 for t in ref["block_ms"]], ref["wall_s"], ref["val_loss"], args, False)
        print(ratio_line(mine, ref, args.threads))
    if args.save:
        record(args.save, sys.argv[1:], args, mine, ref)
    if not args.json:
        print(_bench.kernel_line())


if __name__ == "__main__":
    main()
