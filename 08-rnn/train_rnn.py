"""Train the chapter 08 page's default models and write the checkpoints it opens on.

    python 08-rnn/train_rnn.py            # writes 08-rnn/checkpoints/subject_{rnn,lstm,gru}.npz
    python 08-rnn/train_rnn.py --check    # retrains and compares with the recorded metrics; writes nothing

The run is the page's Train button with its default settings (``rnn.PAGE_DEFAULTS``: vanilla RNN, LSTM and
GRU, H = 32, 300 steps of 32 sentences with 5–15 fillers, Adam 1e-2, seed 0), so what the page shows on
arrival is what pressing Train gives. Seeded, one BLAS thread: the same command gives bitwise the same
weights and history on the same machine. Each checkpoint (``rnn.save_run``) holds the float32 weights,
the settings and the measured metrics in ``meta``, and the training history in ``extras``.

``--check`` compares the retrained runs' metrics with the recorded ones: exactly on the code path the
checkpoints were written on (``meta["compute_path"]``: the OpenBLAS kernel and NumPy's SIMD target decide
float32 round-off), within ``TOLERANCE`` elsewhere. Exit status 1 when they differ.
"""

from __future__ import annotations

import argparse
import os
import runpy
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOLERANCE = 0.05          # another code path: float32 round-off changes the run a little, not its outcome


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped checkpoints")
    parser.add_argument("--out", default=None, help="checkpoint folder (default: 08-rnn/checkpoints)")
    return parser.parse_args(argv)


def _setup():
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, 1, keep_set=True, tests=True)


def compare(recorded: dict, measured: dict, exact: bool) -> list[str]:
    """The metrics that differ: every key of ``measured``, equal (``exact``) or within ``TOLERANCE``."""
    bad = []
    for k, v in measured.items():
        r = recorded.get(k)
        a, b = (v if isinstance(v, list) else [v]), (r if isinstance(r, list) else [r])
        same = a == b if exact else (len(a) == len(b) and all(abs(x - y) <= TOLERANCE for x, y in zip(a, b)))
        if not same:
            bad.append(f"{k}: recorded {r}, measured {v}")
    return bad


def main(argv=None) -> int:
    args = parse_args(argv)
    _setup()
    import numpy as np  # noqa: F401
    import rnn
    from common.checkpoints import compute_path

    folder = Path(args.out) if args.out else rnn.CHECKPOINT_DIR
    settings = {k: v for k, v in rnn.PAGE_DEFAULTS.items() if k != "kinds"}
    path_now = compute_path()
    failures = []
    for kind in rnn.PAGE_DEFAULTS["kinds"]:
        t0 = time.perf_counter()
        model, history = rnn.train_one(kind, **settings)
        seconds = time.perf_counter() - t0
        measured = rnn.run_metrics(model, history)
        target = rnn.checkpoint_path(kind, folder)
        if args.check:
            _, _, meta = rnn.load_run(target)
            exact = meta.get("compute_path") == path_now
            bad = compare(meta, measured, exact)
            print(f"{kind}: {'OK' if not bad else 'DIFFERS'} ({'exact' if exact else f'±{TOLERANCE}'}, "
                  f"code path {path_now}, recorded on {meta.get('compute_path')})")
            for line in bad:
                print("   ", line)
            failures += bad
        else:
            folder.mkdir(parents=True, exist_ok=True)
            rnn.save_run(target, model, history, {**settings, "batch_size": 32}, compute_path=path_now,
                         blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "?"),
                         train_seconds=round(seconds, 2))
            acc = ", ".join(f"{n}: {a:.1%}" for n, a in zip(measured["doc_lengths"], measured["doc_accuracy"]))
            print(f"wrote {target} ({target.stat().st_size / 1024:.0f} kB, {seconds:.1f} s): accuracy by fillers {acc}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
