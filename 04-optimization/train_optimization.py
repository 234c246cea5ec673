"""Train the playground's default race (``optimizer_race.DEFAULT_RACE``) and write the checkpoints the
page opens on: ``checkpoints/race_sgd.npz``, ``race_momentum.npz``, ``race_adam.npz``.

    python 04-optimization/train_optimization.py           # retrain and write the three checkpoints
    python 04-optimization/train_optimization.py --check   # retrain and compare with the shipped ones

Seeded (the seeds of ``DEFAULT_RACE``) and run with one BLAS thread, so the same command on the same
machine gives bitwise the same run. Each checkpoint holds the trained weights (``Layer.save``), the
settings and final metrics in ``meta`` and the History of the run (per epoch and per step) in
``extras``. ``--check`` exits 1 when a retrained metric differs from the recorded one: exactly where the
float32 arithmetic is the recorded one (``compute_path``), within 0.1 points elsewhere.
"""

from __future__ import annotations

import argparse
import runpy
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: accuracy tolerance where the BLAS kernel or SIMD target differs from the recording machine's
OTHER_MACHINE_TOL = 1e-3


def _setup(threads: int = 1) -> None:
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, threads, keep_set=True, tests=True)


def compare(recorded: dict, measured: dict, same_machine: bool) -> list[str]:
    """Differences between recorded and retrained metrics (``common.checkpoints.compare_metrics``)."""
    from common.checkpoints import compare_metrics
    return compare_metrics(recorded, measured, same_machine, acc_tol=OTHER_MACHINE_TOL)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped checkpoints")
    parser.add_argument("--out", default=None, help="folder for the checkpoints (default: checkpoints/)")
    args = parser.parse_args(argv)
    _setup()
    import optimizer_race as racing
    from common.checkpoints import check_against_records, compute_path
    from common.mnist import load_mnist

    data = load_mnist(download=False, allow_sample=False)
    folder = Path(args.out) if args.out else racing.CHECKPOINT_DIR
    t0 = time.perf_counter()
    results = racing.default_race(data)
    seconds = time.perf_counter() - t0
    here = compute_path()
    if args.check:
        return check_against_records([(name, racing.race_checkpoint(name, folder), racing.recorded_metrics(r.history))
                                      for name, r in results.items()], acc_tol=OTHER_MACHINE_TOL)
    folder.mkdir(parents=True, exist_ok=True)
    paths = racing.save_race(results, folder, {"test_images": len(data.x_test), "compute_path": here,
                                               "train_seconds": round(seconds, 2)})
    for p in paths:
        print(f"wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
    print(racing.default_race_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
