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

    import numpy as np
    import torch
    from common.mnist import load_mnist

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_mnist(args.data_dir, download=False, allow_sample=False, flatten=False)
    X, y = torch.from_numpy(np.array(data.x_train)), torch.from_numpy(np.array(data.y_train))
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(784, 10))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    times = _bench.time_torch_epochs(model, opt, X, y, args.epochs, rng, clock=args.clock)
    with torch.no_grad():
        acc = (model(torch.from_numpy(np.array(data.x_test))).argmax(1).numpy() == data.y_test).mean()
    _bench.report("pytorch (cpu)", times, float(acc), args.json)


if __name__ == "__main__":
    main()
