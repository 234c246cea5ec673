"""Benchmark: MLP 784-128-10 (ReLU, softmax cross-entropy, Adam 1e-3, batch 64, float32) on the full
60k MNIST through ``common``.

    python tests/benchmarks/bench_mlp_mnist.py --epochs 5 --vs-torch

Prints seconds per epoch (training only, median over epochs) and test accuracy; ``--vs-torch`` runs the
same model in PyTorch in a separate process and prints the ratio of medians (NumPy / PyTorch).
Targets: ratio ≤ 0.55 (issue 15) and test accuracy ≥ 97.5% after 5 epochs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _bench.add_common_args(parser)
    parser.add_argument("--vs-torch", action="store_true", help="also run the PyTorch reference and print the ratio")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _bench.set_threads(args.threads)

    import numpy as np
    from common import Adam, Dense, ReLU, Sequential, evaluate, softmax_cross_entropy
    from common.mnist import load_mnist

    data = load_mnist(args.data_dir, download=False, allow_sample=False)
    rng = np.random.default_rng(args.seed)
    model = Sequential(Dense(784, 128, rng), ReLU(), Dense(128, 10, rng))
    opt = Adam(model, lr=1e-3)
    X, y = data.x_train, data.y_train
    times = _bench.time_numpy_epochs(model, opt, X, y, args.epochs, rng, clock=args.clock)
    _, acc = evaluate(model, data.x_test, data.y_test, softmax_cross_entropy)
    mine = _bench.report("numpy (common)", times, acc, args.json)
    if args.vs_torch:
        ref = _bench.run_reference("bench_mlp_mnist_torch.py", args)
        _bench.report("pytorch (cpu)", ref["epoch_times"], ref["test_accuracy"], False)
        print(f"ratio numpy/pytorch (median epoch): {mine['median_epoch'] / ref['median_epoch']:.2f} "
              f"({args.clock} clock, threads={args.threads})")
    if not args.json:
        print(_bench.kernel_line())


if __name__ == "__main__":
    main()
