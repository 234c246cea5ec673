"""Chapter 05, the front door: what each module of the chapter holds, its names in one place for a
notebook (``import regularization``), and the post's long run on full MNIST.

The chapter's modules, by idea:

- ``overfitting``: the experiment (``RegConfig``, ``run_experiment``, ``RegRun``), the deep-dive's
  comparison ``GAP_TABLE_CONFIGS``, the post's long run ``BLOG_SCALE``, ``tuning_advice``;
- ``augmentation``: ``RandomShiftRotate`` (random rotations and shifts as a layer) and its resampling;
- ``weight_penalties``: the L2 penalty and its gradient, coupled L2 vs decoupled weight decay;
- ``dropout_ensemble``: dropout's masks and the check that inverted dropout keeps the expected activation.

The regularizers themselves come from ``common``: ``Dropout`` (``common/layers.py``), ``weight_decay=λ``
and ``AdamW`` (``common/optimizers.py``), ``EarlyStopping`` (``common/training.py``); every training is
``common.training.fit``.

    python 05-regularization/regularization.py [--epochs 100] [--dropouts 0 0.2] [--write]

trains the post's 784-128-10 MLP on 58,000 MNIST images (2,000 others held out for validation, all 10,000
test images) for 100 epochs, once per dropout rate, printing train/test accuracy and the gap per epoch;
``--write`` stores the runs in ``blog_scale_record.json``, the record the README quotes
(``tests/test_ch05_docs.py`` compares the two and reruns its first epochs).
"""

from __future__ import annotations

import json
import os

from augmentation import *  # noqa: F401,F403  (the front door re-exports every module's names)
from dropout_ensemble import *  # noqa: F401,F403
from overfitting import *  # noqa: F401,F403
from weight_penalties import *  # noqa: F401,F403
from overfitting import BLOG_SCALE, BLOG_SCALE_RECORD, measure_blog_scale


def _main() -> None:  # pragma: no cover - a measurement script, run by hand
    import argparse

    from common.mnist import load_mnist
    from common.training import Callback

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=BLOG_SCALE.epochs)
    parser.add_argument("--dropouts", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--write", action="store_true", help=f"write the runs to {BLOG_SCALE_RECORD.name}")
    args = parser.parse_args()
    data = load_mnist(download=False, allow_sample=False)
    print(data.source, flush=True)

    class Print(Callback):
        def on_epoch_end(self, state):
            h = state.history
            print(f"epoch {state.epoch + 1:4d}  train {100 * h.train_acc[-1]:6.2f}%  val loss {h.val_loss[-1]:.4f}  "
                  f"({h.wall_time[-1]:.0f} s)", flush=True)

    runs = []
    for p in args.dropouts:
        print(f"dropout {p:g}", flush=True)
        run = measure_blog_scale(data, dropout=p, epochs=args.epochs, callbacks=[Print()])
        best = max(range(len(run["test_acc"])), key=run["test_acc"].__getitem__)
        print(f"best test accuracy {100 * run['test_acc'][best]:.2f}% at epoch {best + 1}; "
              f"last {100 * run['test_acc'][-1]:.2f}%", flush=True)
        runs.append(run)
    if args.write:
        record = {"command": f"python 05-regularization/regularization.py --epochs {args.epochs} --dropouts "
                             + " ".join(f"{p:g}" for p in args.dropouts) + " --write",
                  "data": data.source, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "library default"),
                  "runs": runs}
        BLOG_SCALE_RECORD.write_text(json.dumps(record, indent=1) + "\n")
        print("wrote", BLOG_SCALE_RECORD)


if __name__ == "__main__":
    _main()
