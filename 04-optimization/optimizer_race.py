"""Chapter 04: the MNIST race: several optimizers train copies of one network on one batch order.

Every optimizer here is one of ``common.optimizers`` (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam,
AdamW). ``race`` gives each a deep copy of the *same* initial network and the *same* order of mini-batches
(the same seed for ``fit``'s generator), so the only difference between two curves is the update rule and
its learning rate. ``batch_size_sweep`` does the same for one optimizer and several batch sizes.

``DEFAULT_RACE`` is the playground's default run, whose table the README shows (``default_race_markdown``).

Shapes: X: (N, 784) images in [0, 1]; y: (N,) labels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from common._validation import check_choice, check_generator, check_positive_int
from common.checkpoints import history_arrays, read_history, read_meta
from common.activations import ReLU
from common.layers import Dense, Sequential
from common.losses import softmax_cross_entropy
from common.optimizers import DEFAULT_LR, OPTIMIZERS
from common.optimizers import get as get_optimizer
from common.training import History, fit

OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)

#: Batch sizes the playground offers; ``None`` is full-batch gradient descent.
BATCH_SIZES: tuple[int | None, ...] = (1, 16, 32, 64, 128, None)


def make_optimizer(name: str, params, lr: float | None = None, **kwargs):
    """The ``common`` optimizer called ``name`` over ``params``, at ``DEFAULT_LR[name]`` unless ``lr`` is
    given. Extra keyword arguments (momentum, betas, weight_decay…) go to the class."""
    cls = get_optimizer(name)
    return cls(params, lr=DEFAULT_LR[name] if lr is None else lr, **kwargs)


def build_mlp(rng: np.random.Generator, hidden: int = 128, dtype=np.float32) -> Sequential:
    """784 → hidden (ReLU) → 10, He-initialised from ``rng``."""
    check_generator("rng", rng)
    check_positive_int("hidden", hidden)
    return Sequential(Dense(784, hidden, rng, dtype=dtype), ReLU(), Dense(hidden, 10, rng, dtype=dtype))


@dataclass
class RaceResult:
    """One optimizer's run in a race: its settings, its ``History`` and the trained model."""

    name: str
    lr: float
    batch_size: int | None
    history: History
    model: Sequential


def race(names, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
         lrs: dict[str, float] | None = None, hidden: int = 128, batch_size: int | None = 64,
         epochs: int = 5, seed: int = 0, callbacks_for: Callable[[str], list] | None = None,
         optimizer_kwargs: dict[str, dict] | None = None) -> dict[str, RaceResult]:
    """Train one MLP per optimizer name, all from the same initial weights and the same mini-batch order.

    Shapes: X: (N, 784); y: (N,); X_test: (M, 784); y_test: (M,).

    ``lrs`` maps a name to its learning rate (``DEFAULT_LR`` otherwise). Each run records train loss and
    accuracy on the whole training set in evaluation mode (``eval_train=True``) and test loss and
    accuracy after every epoch; ``History.wall_time`` gives the curves against time.
    ``callbacks_for(name)`` returns extra callbacks for that run (progress bars, a stop flag, a page's
    ``common.training.Live``).
    """
    names = list(names)
    if not names:
        raise ValueError("names must list at least one optimizer")
    for name in names:
        check_choice("names", name, OPTIMIZERS)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    check_positive_int("epochs", epochs)
    lrs = dict(lrs or {})
    template = build_mlp(np.random.default_rng(seed), hidden)
    results = {}
    for name in names:
        model = copy.deepcopy(template)  # the same initial weights for every optimizer
        lr = lrs.get(name, DEFAULT_LR[name])
        opt = make_optimizer(name, model, lr, **(optimizer_kwargs or {}).get(name, {}))
        history = fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=opt, epochs=epochs,
                      rng=np.random.default_rng(seed + 1),  # the same batch order for every optimizer
                      batch_size=batch_size, X_val=X_test, y_val=y_test, eval_train=True,
                      callbacks=callbacks_for(name) if callbacks_for else ())
        results[name] = RaceResult(name, float(lr), batch_size, history, model)
    return results


def batch_label(batch_size: int | None) -> str:
    return "full batch" if batch_size is None else f"batch {batch_size}"


def batch_size_sweep(batch_sizes, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
                     optimizer: str = "SGD", lr: float | None = None, hidden: int = 128, epochs: int = 3,
                     seed: int = 0, callbacks_for: Callable[[str], list] | None = None) -> dict[str, RaceResult]:
    """One optimizer, several batch sizes (``None`` = full batch), the same initial weights for all.

    Keys are ``batch_label(b)``; ``History.batch_loss`` holds every update's mini-batch loss, the noisy
    signal each batch size follows.
    """
    sizes = list(batch_sizes)
    if not sizes:
        raise ValueError("batch_sizes must list at least one batch size")
    for b in sizes:
        if b is not None:
            check_positive_int("batch_sizes", b)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_positive_int("epochs", epochs)
    template = build_mlp(np.random.default_rng(seed), hidden)
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    results = {}
    for b in sizes:
        label = batch_label(b)
        model = copy.deepcopy(template)
        history = fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=make_optimizer(optimizer, model, lr),
                      epochs=epochs, rng=np.random.default_rng(seed + 1), batch_size=b, X_val=X_test,
                      y_val=y_test, eval_train=True, callbacks=callbacks_for(label) if callbacks_for else ())
        results[label] = RaceResult(label, float(lr), b, history, model)
    return results


def results_table(results: dict[str, RaceResult], first_column: str = "optimizer") -> list[dict]:
    """One row per run: final and best test accuracy, final losses, epochs and time."""
    rows = []
    for name, r in results.items():
        h = r.history
        if not h.epochs:
            continue
        rows.append({
            first_column: name,
            "learning rate": r.lr,
            "epochs": h.epochs,
            "train loss": round(h.train_loss[-1], 4),
            "test loss": round(h.val_loss[-1], 4),
            "train acc %": round(100 * h.train_acc[-1], 2),
            "test acc %": round(100 * h.val_acc[-1], 2),
            "best test acc %": round(100 * max(h.val_acc), 2),
            "time (s)": round(h.wall_time[-1], 2),
        })
    return rows


#: The playground's default race: 5,000 random training images (a permutation with seed 0), batch 64,
#: 5 epochs, seed 0, the 784-128-10 MLP, tested on all 10,000 test images.
DEFAULT_RACE = {"names": ("SGD", "Momentum", "Adam"), "train_size": 5000, "batch_size": 64, "epochs": 5,
                "seed": 0, "hidden": 128}


def default_race(data=None, callbacks_for: Callable[[str], list] | None = None) -> dict[str, RaceResult]:
    """``DEFAULT_RACE`` on real MNIST (``data`` from ``common.mnist.load_mnist``; loaded when None)."""
    if data is None:
        from common.mnist import load_mnist
        data = load_mnist(download=False, allow_sample=False)
    cfg = DEFAULT_RACE
    idx = np.random.default_rng(cfg["seed"]).permutation(len(data.x_train))[:cfg["train_size"]]
    return race(cfg["names"], data.x_train[idx], data.y_train[idx], data.x_test, data.y_test,
                epochs=cfg["epochs"], batch_size=cfg["batch_size"], seed=cfg["seed"], hidden=cfg["hidden"],
                callbacks_for=callbacks_for)


def default_race_markdown(results: dict[str, RaceResult] | None = None) -> str:
    """The README's table of the default race: learning rate, final train and test accuracy."""
    results = default_race() if results is None else results
    lines = ["| optimizer | learning rate | train acc % | test acc % |", "|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r.lr:g} | {100 * r.history.train_acc[-1]:.2f} | {100 * r.history.val_acc[-1]:.2f} |")
    return "\n".join(lines)


#: The README's measured table (``python -m tests.regenerate_doc_tables 04`` rewrites it).
DOC_TABLES = {("README.md", "table: default-race"): default_race_markdown}


# --------------------------------------------------------------------------- the shipped default race

CHECKPOINT_DIR = Path(__file__).with_name("checkpoints")
SCRIPT = "04-optimization/train_optimization.py"
#: what each checkpoint's ``meta`` records about its run, beside the settings of ``DEFAULT_RACE``
RECORDED = ("final_train_loss", "final_train_acc", "final_test_loss", "final_test_acc")


def race_checkpoint(name: str, folder: Path = CHECKPOINT_DIR) -> Path:
    """``checkpoints/race_<name>.npz``: one optimizer's model of the default race, its History in extras."""
    return Path(folder) / f"race_{name.lower()}.npz"


def recorded_metrics(history: History) -> dict[str, float]:
    """The numbers a checkpoint's ``meta`` records about its run (the last epoch's losses and accuracies)."""
    return {"final_train_loss": history.train_loss[-1], "final_train_acc": history.train_acc[-1],
            "final_test_loss": history.val_loss[-1], "final_test_acc": history.val_acc[-1]}


def save_race(results: dict[str, RaceResult], folder: Path = CHECKPOINT_DIR,
              extra_meta: dict | None = None) -> list[Path]:
    """Write one checkpoint per run of a default race: the trained weights (``Layer.save``), the settings
    and final metrics in ``meta``, the per-epoch and per-step History in ``extras``."""
    paths = []
    for name, r in results.items():
        meta = {"script": SCRIPT, "optimizer": name, "lr": r.lr, "hidden": DEFAULT_RACE["hidden"],
                **{k: (list(v) if isinstance(v, tuple) else v) for k, v in DEFAULT_RACE.items()},
                **recorded_metrics(r.history), **(extra_meta or {})}
        paths.append(r.model.save(race_checkpoint(name, folder), meta=meta, extras=history_arrays(r.history, "race")))
    return paths


def load_race(folder: Path = CHECKPOINT_DIR, names=None) -> dict[str, RaceResult]:
    """The shipped default race, as ``race`` returned it: per optimizer its model (loaded from
    ``race_<name>.npz``) and the History recorded while it trained."""
    out = {}
    for name in (DEFAULT_RACE["names"] if names is None else names):
        path = race_checkpoint(name, folder)
        meta = read_meta(path)
        model = build_mlp(np.random.default_rng(0), int(meta["hidden"]))
        model.load(path)
        out[name] = RaceResult(name, float(meta["lr"]), meta["batch_size"], read_history(path, "race"), model)
    return out


__all__ = [
    "OPTIMIZER_NAMES", "BATCH_SIZES", "make_optimizer", "build_mlp", "RaceResult", "race", "batch_label",
    "batch_size_sweep", "results_table", "DEFAULT_RACE", "default_race", "default_race_markdown",
    "CHECKPOINT_DIR", "race_checkpoint", "recorded_metrics", "save_race", "load_race",
]
