"""Benchmark: the small CNN of chapter 06 (conv 1→8 3×3 pad 1, ReLU, max-pool 2, conv 8→16 3×3 pad 1, ReLU,
max-pool 2, dense 784→10; softmax cross-entropy, Adam 3e-3, batch 64, float32) on the full 60k MNIST
through ``common``.

    python tests/benchmarks/bench_cnn_mnist.py --epochs 3 --vs-torch

Prints seconds per epoch (training only, median over epochs) and test accuracy after the last epoch;
``--vs-torch`` runs the same model in PyTorch in a separate process and prints the ratio of medians
(NumPy / PyTorch). Targets: ratio ≤ 0.9 (issue 15) and test accuracy ≥ 98.5% after 3 epochs. ``--lr``
sets Adam's learning rate for both (default 3·10⁻³, which reached 98.53% here; 10⁻³ reached 97.97% after
3 epochs).
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
    parser.set_defaults(epochs=3)
    parser.add_argument("--vs-torch", action="store_true", help="also run the PyTorch reference and print the ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate, the same for both frameworks")
    args = parser.parse_args()
    _bench.set_threads(args.threads)

    import numpy as np
    from common import Adam, Dense, Flatten, ReLU, Sequential, evaluate, softmax_cross_entropy
    from common.conv import Conv2D, MaxPool2D
    from common.mnist import load_mnist

    data = load_mnist(args.data_dir, download=False, allow_sample=False, flatten=False)
    rng = np.random.default_rng(args.seed)
    model = Sequential(Conv2D(1, 8, 3, rng, padding=1), ReLU(), MaxPool2D(2),
                       Conv2D(8, 16, 3, rng, padding=1), ReLU(), MaxPool2D(2),
                       Flatten(), Dense(784, 10, rng))
    opt = Adam(model, lr=args.lr)
    X, y = data.x_train, data.y_train
    times = _bench.time_numpy_epochs(model, opt, X, y, args.epochs, rng, clock=args.clock)
    _, acc = evaluate(model, data.x_test, data.y_test, softmax_cross_entropy)
    mine = _bench.report("numpy (common)", times, acc, args.json)
    if args.vs_torch:
        ref = _bench.run_reference("bench_cnn_mnist_torch.py", args,
                                   ["--lr", str(args.lr), "--seed", str(args.seed)])
        _bench.report("pytorch (cpu)", ref["epoch_times"], ref["test_accuracy"], False)
        print(f"ratio numpy/pytorch (median epoch): {mine['median_epoch'] / ref['median_epoch']:.2f} "
              f"({args.clock} clock, threads={args.threads}, lr={args.lr:g})")
    if not args.json:
        print(_bench.kernel_line())


if __name__ == "__main__":
    main()
