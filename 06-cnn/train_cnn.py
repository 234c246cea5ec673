"""Train the chapter 06 checkpoints the page opens on, or check that they reproduce.

    python 06-cnn/train_cnn.py                  # write checkpoints/fc.npz, cnn.npz, lenet5.npz, cnn_*.npz
    python 06-cnn/train_cnn.py --check          # retrain each and compare with what the files recorded
    python 06-cnn/train_cnn.py --only lenet5    # one of them

Each model is trained with the page's default "Train both" settings (``cnn.PAGE_DEFAULTS``: the first
5,000 digits of the bundled 10,000-digit MNIST sample, 4 epochs, batch 64, Adam 10⁻³, seed 0) and
evaluated on the sample's 2,000 test digits after every epoch; LeNet-5 is trained the same way, so the
three accuracies compare like for like, and so are the small CNN's two variants with an average-pooled
and a global-average-pooled head (``cnn_avgpool``, ``cnn_gap``: the "Types of pooling" comparison). The sample, not the full set, so that every machine retrains
the same numbers. Seeded and run with one BLAS thread: the same command gives bitwise the same
weights and history on the same machine. ``--steps N`` trains only the first N steps (the quick test
compares their losses with the recorded ones).
"""

from __future__ import annotations

import argparse
import runpy
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: What ``--check`` compares: every per-epoch metric. Accuracies must be equal; losses equal to 1e-6
#: relative (a float32 sum whose order a different BLAS kernel on another CPU could change).
EPOCH_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", choices=("fc", "cnn", "lenet5", "cnn_avgpool", "cnn_gap"), default=None)
    p.add_argument("--check", action="store_true", help="retrain and compare with the shipped files; write nothing")
    p.add_argument("--steps", type=int, default=None, help="with --check: only the first N steps (their losses)")
    p.add_argument("--out", default=None, help="folder to write to (default: 06-cnn/checkpoints)")
    return p.parse_args(argv)


def _setup():
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, 1)
    import cnn
    return cnn


def train_one(cnn, name: str, data, steps: int | None = None):
    """(model, history, seconds) of checkpoint ``name``'s training (the first ``steps`` steps if given)."""
    from common.training import StopWhen

    callbacks = []
    if steps is not None:
        count = {"n": 0}

        def done():
            count["n"] += 1
            return count["n"] >= steps
        callbacks.append(StopWhen(done, f"first {steps} steps"))
    t = time.perf_counter()
    model, history = cnn.train_checkpoint(name, data, callbacks=callbacks, validate=steps is None)
    return model, history, time.perf_counter() - t


def compare_with_record(cnn, name: str, history, steps: int | None = None) -> list[str]:
    """The differences between a retrained ``history`` and the one checkpoint ``name`` recorded
    (empty when they reproduce)."""
    import numpy as np

    from common.checkpoints import read_history

    rec = read_history(cnn.checkpoint_path(name), "run")
    problems = []
    if steps is not None:
        a, b = np.asarray(history.batch_loss[:steps]), np.asarray(rec.batch_loss[:steps])
        if len(a) != steps or not np.allclose(a, b, rtol=1e-6, atol=0):
            problems.append(f"{name}: first {steps} batch losses differ: {a[:3]} … vs recorded {b[:3]} …")
        return problems
    for f in EPOCH_FIELDS:
        a, b = np.asarray(getattr(history, f)), np.asarray(getattr(rec, f))
        ok = a.shape == b.shape and (np.array_equal(a, b) if f.endswith("acc") else np.allclose(a, b, rtol=1e-6, atol=0))
        if not ok:
            problems.append(f"{name}: {f} {a.tolist()} vs recorded {b.tolist()}")
    return problems


def write(cnn, name: str, model, history, seconds: float, folder: Path) -> Path:
    from common.checkpoints import history_arrays

    s = dict(cnn.PAGE_DEFAULTS)
    model_name, kwargs = cnn.CHECKPOINTS[name]
    meta = {"script": cnn.SCRIPT, "model": model_name, "model_kwargs": {k: list(v) if isinstance(v, tuple) else v
                                                                         for k, v in kwargs.items()},
            "settings": {**s, "filters": list(s["filters"])}, "optimizer": "Adam", "loss": "softmax cross-entropy",
            "data": f"bundled MNIST sample: the first {s['n_train']:,} of its 10,000 training digits; "
                    "evaluated on its 2,000 test digits",
            "params": model.num_params(), "val_acc": history.val_acc[-1], "val_loss": history.val_loss[-1],
            "train_seconds": seconds, "blas_threads": 1}
    folder.mkdir(parents=True, exist_ok=True)
    return model.save(folder / f"{name}.npz", meta=meta, extras=history_arrays(history, "run"))


def main(argv=None) -> int:
    args = parse_args(argv)
    cnn = _setup()
    data = cnn.sample_mnist()
    names = args.only or list(cnn.CHECKPOINTS)
    folder = Path(args.out) if args.out else cnn.CHECKPOINT_DIR
    problems = []
    for name in names:
        model, history, seconds = train_one(cnn, name, data, args.steps if args.check else None)
        if args.check:
            found = compare_with_record(cnn, name, history, args.steps)
            problems += found
            print(f"{name}: {'reproduces' if not found else 'DIFFERS'} ({seconds:.1f} s)")
        else:
            path = write(cnn, name, model, history, seconds, folder)
            print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): {model.num_params():,} parameters, "
                  f"test accuracy {history.val_acc[-1]:.2%} after {history.epochs} epochs, {seconds:.1f} s")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
