"""Record the chapter's learning-rate sweep and write the file the page shows on arrival.

    python 07-normalization-residual/train_normalization_residual.py           # write checkpoints/lr_sweep.npz
    python 07-normalization-residual/train_normalization_residual.py --check   # retrain, compare with the file

Every variant of ``normalization_residual.deep_mlp`` (plain, batchnorm, residual, both) at every Adam
learning rate of ``SWEEP_LRS`` and both depths of ``SWEEP_DEPTHS``, trained with the depth experiment's
budget (``DEPTH_RUN``: the first 3,000 real MNIST training digits, 2 epochs, batch 128, seed 0), tested on
the first 1,000 test digits: 32 runs, about 20 s on one core. One BLAS thread (set before NumPy loads), so
the same command gives bitwise the same numbers; ``--check`` retrains and exits 1 unless every recorded
number is equal.

The file is a ``Layer.save`` checkpoint of an empty ``Sequential``: the sweep is 32 measurements, not one
model, so the numbers travel in ``extras`` (arrays indexed depth × variant × learning rate) and the
settings in ``meta``; ``normalization_residual.load_sweep`` reads them back.
"""

from __future__ import annotations

import argparse
import runpy
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT = "07-normalization-residual/train_normalization_residual.py"


def _imports(threads: int):
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, threads)
    import normalization_residual as nr
    return nr


def meta(nr, seconds: float | None = None) -> dict:
    """The settings the page names (``playground.checkpoint_caption``) and the recorded metrics' layout."""
    m = {"script": SCRIPT, "seed": 0, "width": 64, "activation": "relu", "init_scale": 1.0, "batch_size": 128,
         "optimizer": "adam", **nr.DEPTH_RUN, "depths": list(nr.SWEEP_DEPTHS), "lrs": list(nr.SWEEP_LRS),
         "variants": list(nr.VARIANTS), "blas_threads": 1}
    if seconds is not None:
        m["train_seconds"] = round(seconds, 1)
    return m


def compare(nr, rows, path) -> list[str]:
    """The recorded numbers at the depths of ``rows`` that differ from them (empty when all are equal)."""
    depths = {r["depth"] for r in rows}
    recorded = {(r["variant"], r["depth"], r["lr"]): r for r in nr.load_sweep(path) if r["depth"] in depths}
    bad = []
    if len(recorded) != len(rows):
        bad.append(f"{len(recorded)} runs recorded, {len(rows)} retrained")
    for row in rows:
        key = (row["variant"], row["depth"], row["lr"])
        for f in nr.SWEEP_FIELDS:
            if key not in recorded or recorded[key][f] != row[f]:
                bad.append(f"{key} {f}: recorded {recorded.get(key, {}).get(f)}, retrained {row[f]}")
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the recorded sweep")
    parser.add_argument("--out", default=None, help="where to write (default: checkpoints/lr_sweep.npz)")
    parser.add_argument("--depths", type=int, nargs="*", default=None,
                        help="only these depths (with --check: compare only their runs)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    nr = _imports(1)
    from common.layers import Sequential

    path = Path(args.out) if args.out else nr.sweep_path()
    depths = tuple(args.depths) if args.depths else nr.SWEEP_DEPTHS

    def say(row):
        if not args.quiet:
            print(f"depth {row['depth']:2d} {row['variant']:9s} lr {row['lr']:<6g} test acc {row['val acc']:.3f} "
                  f"train loss {row['train loss']:.4f}", flush=True)

    t0 = time.perf_counter()
    rows = nr.sweep_record(depths=depths, on_result=say)
    seconds = time.perf_counter() - t0
    if args.check:
        bad = compare(nr, rows, path)
        print("the retrained sweep equals the recorded one" if not bad else "\n".join(["differs:", *bad]))
        return 1 if bad else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    Sequential().save(path, meta=meta(nr, seconds), extras=nr.sweep_arrays(rows))
    print(f"wrote {path} ({path.stat().st_size:,} bytes): {len(rows)} runs in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
