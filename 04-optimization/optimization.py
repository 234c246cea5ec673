"""Chapter 04, the front door: what each module of the chapter holds, its names in one place for a
notebook (``import optimization``), and the full-MNIST measurements of the post's claims.

The chapter's modules, by idea:

- ``optimizer_race``: ``race`` (several optimizers from one initial network and one batch order),
  ``batch_size_sweep``, ``results_table``, the playground's ``DEFAULT_RACE``;
- ``loss_landscapes``: ``Point`` (a 2-D point as a model), the surfaces ``FUNCTIONS``, ``trajectory`` and
  its diagnostics, the deep-dive's worked first steps;
- ``gradient_noise``: the variance of a mini-batch gradient (exact and measured), time per update;
- ``ewma``: exponentially weighted averages with and without bias correction;
- ``adam_bias_correction``: ``AdamNoBiasCorrection`` and Adam's measured step sizes.

Every optimizer is one of ``common.optimizers`` and every run, on MNIST or on a surface, is
``common.training.fit``.

    python 04-optimization/optimization.py [--epochs 5] [--rounds 3] [--write]

measures, on all 60,000 MNIST training images, the seconds per update and per epoch at full batch and at
batch 64, then races SGD, Momentum and Adam; ``--write`` stores the numbers in ``full_mnist_record.json``,
the record the README quotes (``tests/test_ch04_docs.py`` compares the two and reruns its first epoch).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from adam_bias_correction import *  # noqa: F401,F403  (the front door re-exports every module's names)
from ewma import *  # noqa: F401,F403
from gradient_noise import *  # noqa: F401,F403
from loss_landscapes import *  # noqa: F401,F403
from optimizer_race import *  # noqa: F401,F403
from gradient_noise import epoch_seconds, time_per_update
from optimizer_race import build_mlp, race

RECORD = Path(__file__).with_name("full_mnist_record.json")
RACE_NAMES = ("SGD", "Momentum", "Adam")
#: best of how many steps (updates) or epochs each timing is, per round
TIMING_REPEATS = {"update_full": 3, "update_64": 300, "epoch_full": 3, "epoch_64": 2}


def measure_full_mnist(data, *, epochs: int = 5, rounds: int = 3, seed: int = 0, names=RACE_NAMES,
                       timings: bool = True) -> dict:
    """The record: ``rounds`` timing rounds (best-of-n CPU seconds per update and per epoch at full batch
    and batch 64, ``time.process_time``: the work a step costs, not how busy the machine was) and a race of
    ``names`` on all of ``data``'s training images, batch 64."""
    model = build_mlp(np.random.default_rng(seed))
    X, y = data.x_train, data.y_train
    rows = []
    cpu, n = time.process_time, TIMING_REPEATS
    for _ in range(rounds if timings else 0):
        rows.append({"update_full_s": time_per_update(model, X, y, None, repeats=n["update_full"], clock=cpu),
                     "update_64_s": time_per_update(model, X, y, 64, repeats=n["update_64"], clock=cpu),
                     "epoch_full_s": epoch_seconds(model, X, y, None, repeats=n["epoch_full"], clock=cpu),
                     "epoch_64_s": epoch_seconds(model, X, y, 64, repeats=n["epoch_64"], clock=cpu)})
    results = race(names, X, y, data.x_test, data.y_test, epochs=epochs, batch_size=64, seed=seed)
    return {
        "command": f"python 04-optimization/optimization.py --epochs {epochs} --rounds {rounds} --write",
        "data": data.source, "train_images": len(X), "test_images": len(data.x_test), "seed": seed,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "library default"), "cpus": os.cpu_count(),
        "machine": platform.machine(), "clock": "time.process_time (CPU seconds of this process)",
        "repeats": TIMING_REPEATS, "timings": rows,
        "race": {n: {"lr": r.lr, "batch_size": 64, "train_acc": r.history.train_acc, "test_acc": r.history.val_acc,
                     "epoch_time_s": r.history.epoch_time} for n, r in results.items()},
    }


def load_record(path: Path = RECORD) -> dict:
    return json.loads(Path(path).read_text())


def _main() -> None:  # pragma: no cover - a measurement script, run by hand
    import argparse

    from common.mnist import load_mnist

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (interleaved, best-of-n each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"write the record to {RECORD.name}")
    args = parser.parse_args()
    data = load_mnist(download=False, allow_sample=False)
    print(data.source, flush=True)
    record = measure_full_mnist(data, epochs=args.epochs, rounds=args.rounds, seed=args.seed)
    for row in record["timings"]:
        print("  ".join(f"{k} {v:.4g}" for k, v in row.items()),
              f"ratio per update {row['update_full_s'] / row['update_64_s']:.0f}×,",
              f"per epoch {row['epoch_full_s'] / row['epoch_64_s']:.2f}×", flush=True)
    for name, r in record["race"].items():
        print(name, "test acc per epoch:", [round(100 * a, 2) for a in r["test_acc"]],
              f"training + evaluation {sum(r['epoch_time_s']):.1f} s")
    if args.write:
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
        print("wrote", RECORD)


if __name__ == "__main__":
    _main()
