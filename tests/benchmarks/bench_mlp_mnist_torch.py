"""The PyTorch twin of ``bench_mlp_mnist.py``: same model, optimizer, batch size and data, float32,
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
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _bench.set_threads(args.threads)

    _bench.torch_mnist_twin(args, lambda nn: nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))


if __name__ == "__main__":
    main()
