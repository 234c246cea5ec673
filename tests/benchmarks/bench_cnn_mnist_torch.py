"""The PyTorch twin of ``bench_cnn_mnist.py``: same model, optimizer, batch size and data, float32,
CPU. Run by that script in its own process with ``--vs-torch``; runnable alone too."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    _bench.add_common_args(parser)
    parser.set_defaults(epochs=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    _bench.set_threads(args.threads)

    _bench.torch_mnist_twin(args, lambda nn: nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 10)), flatten=False, lr=args.lr)


if __name__ == "__main__":
    main()
