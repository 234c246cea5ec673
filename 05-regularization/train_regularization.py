"""Train the playground's default runs and write the checkpoints the page opens on:

- ``checkpoints/overfit_default.npz``: the Overfitting tab's default run (784-256-10, 1,000 images,
  30 epochs, no regularizer), float32 weights;
- ``checkpoints/compare_{none,l2,dropout,dropout_l2}.npz``: the Weights tab's four runs (12 epochs;
  L2 λ = 10⁻³, dropout 0.5), float16 weights (the tab shows their statistics, not their predictions).

    python 05-regularization/train_regularization.py           # retrain and write the five checkpoints
    python 05-regularization/train_regularization.py --check   # retrain and compare with the shipped ones

Seeded (``RegConfig.seed``) and run with one BLAS thread: the same command on the same machine gives
bitwise the same runs. ``--check`` exits 1 when a retrained metric differs from the recorded one: exactly
where the float32 arithmetic is the recording machine's (``compute_path``), within 0.1 points elsewhere.
"""

from __future__ import annotations

import argparse
import runpy
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OTHER_MACHINE_TOL = 1e-3


def _setup(threads: int = 1) -> None:
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, threads, keep_set=True, tests=True)


def compare(recorded: dict, measured: dict, same_machine: bool) -> list[str]:
    """Differences between recorded and retrained metrics (``common.checkpoints.compare_metrics``); a
    ``None`` or an integer (an epoch count) must be equal on every machine."""
    from common.checkpoints import compare_metrics
    return compare_metrics(recorded, measured, same_machine, acc_tol=OTHER_MACHINE_TOL, exact_ints=True)


def train_all(data):
    """(default run, [four comparison runs]) with the page's default settings and data."""
    import overfitting as ovf
    splits = ovf.page_splits(data.x_train, data.y_train, data.x_test, data.y_test, ovf.PAGE_DEFAULT.train_size)
    default = ovf.run_experiment(ovf.PAGE_DEFAULT, splits)
    compare = ovf.compare_runs(splits, ovf.compare_configs(ovf.PAGE_DEFAULT, **ovf.COMPARE_DEFAULTS))
    return default, compare


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped checkpoints")
    parser.add_argument("--out", default=None, help="folder for the checkpoints (default: checkpoints/)")
    args = parser.parse_args(argv)
    _setup()
    import overfitting as ovf
    from common.checkpoints import check_against_records, compute_path
    from common.mnist import load_mnist

    data = load_mnist(download=False, allow_sample=False)
    folder = Path(args.out) if args.out else ovf.CHECKPOINT_DIR
    t0 = time.perf_counter()
    default, compare_ = train_all(data)
    print(f"trained in {time.perf_counter() - t0:.1f} s")
    here = compute_path()
    paths = [folder / ovf.DEFAULT_CHECKPOINT.name] + [ovf.compare_checkpoint(k, folder) for k in ovf.COMPARE_KINDS]
    runs = [default, *compare_]
    if args.check:
        by_name = {path.name: run for path, run in zip(paths, runs)}

        def describe(name, measured, recorded, same):
            run = by_name[name]
            return (f"{name}: {run.config.label()}: test acc {100 * run.final_test_acc:.2f}% "
                    f"(recorded {100 * recorded['final_test_acc']:.2f}%), gap {100 * run.gap:.2f} points")
        return check_against_records([(path.name, path, ovf.recorded_metrics(run)) for path, run in zip(paths, runs)],
                                     acc_tol=OTHER_MACHINE_TOL, exact_ints=True, describe=describe)
    folder.mkdir(parents=True, exist_ok=True)
    for path, run in zip(paths, runs):
        ovf.save_run(run, path, half=run is not default, extra_meta={"compute_path": here})
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB): {run.config.label()}, test acc "
              f"{100 * run.final_test_acc:.2f}%, gap {100 * run.gap:.2f} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
