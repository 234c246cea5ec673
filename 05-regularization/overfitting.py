"""Chapter 05: the overfitting experiment: a wide MLP on a small MNIST subset opens a generalization gap,
and each regularizer is measured against it.

A network that can memorise its training set usually will: trained long enough on 1,000 images, the
784-256-10 MLP reaches 100% training accuracy while test accuracy stalls. ``RegConfig`` describes one run
(dropout, an L2 penalty or decoupled weight decay, augmentation, early stopping), ``run_experiment``
trains it with ``common.training.fit`` and measures it (``RegRun``). Early stopping watches a
*validation* split of training images outside the training subset; the test set is only ever reported,
never used to choose anything.

- ``GAP_TABLE_CONFIGS``: the deep-dive's comparison of seven configurations (``gap_table_markdown``);
- ``BLOG_SCALE``: the post's long run (784-128-10, 58,000 images, 100 epochs), too long for the tests,
  measured by ``python 05-regularization/regularization.py --write`` into ``blog_scale_record.json``
  (``measure_blog_scale``, ``blog_scale_table``);
- ``tuning_advice``: the post's recipe applied to a measured gap.

Shapes: X: (N, 784) images in [0, 1]; y: (N,) labels.

>>> tuning_advice(0.02)[0]
'1–3%'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.markdown import table_registry
from common._validation import check_choice, check_generator, check_in_range, check_positive, check_positive_int
from common.activations import ReLU
from common.layers import Dense, Dropout, Layer, Sequential
from common.losses import softmax_cross_entropy
from common.optimizers import Adam, AdamW
from common.checkpoints import history_arrays, read_extras, read_history, read_meta
from common.training import Callback, EarlyStopping, History, Live, evaluate, fit

from augmentation import SIDE, RandomShiftRotate
from weight_penalties import weight_matrices

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()


# ------------------------------------------------------------------------------------------ the model

def build_model(rng: np.random.Generator, *, hidden: int = 256, hidden_layers: int = 1, dropout: float = 0.0,
                augment: bool = False, dropout_rng: np.random.Generator | None = None,
                augment_rng: np.random.Generator | None = None, max_shift: float = 2.0,
                max_rotation: float = 15.0, dtype=np.float32) -> Sequential:
    """[RandomShiftRotate] → (Dense → ReLU → [Dropout(p)]) × hidden_layers → Dense(10).

    Only ``rng`` initialises weights, so every configuration built from the same seed starts from the
    same weights whatever its dropout or augmentation (those draw from their own generators).
    """
    check_generator("rng", rng)
    check_positive_int("hidden", hidden)
    check_positive_int("hidden_layers", hidden_layers)
    check_in_range("dropout", dropout, 0.0, 1.0)
    layers: list[Layer] = []
    if augment:
        layers.append(RandomShiftRotate(augment_rng if augment_rng is not None else np.random.default_rng(),
                                        max_shift, max_rotation))
    d_in = SIDE * SIDE
    for _ in range(hidden_layers):
        layers += [Dense(d_in, hidden, rng, dtype=dtype), ReLU()]
        if dropout > 0:
            layers.append(Dropout(dropout, dropout_rng if dropout_rng is not None else np.random.default_rng()))
        d_in = hidden
    layers.append(Dense(d_in, 10, rng, dtype=dtype))
    return Sequential(layers)


# ---------------------------------------------------------------------------------- the experiment

PENALTIES = ("none", "l2", "decoupled")


@dataclass
class RegConfig:
    """One run of the overfitting experiment. ``penalty``: "none", "l2" (coupled: Adam with λW in the
    gradient) or "decoupled" (AdamW, W ← W(1 - ηλ)); ``lam`` is its λ."""

    hidden: int = 256
    hidden_layers: int = 1
    dropout: float = 0.0
    penalty: str = "none"
    lam: float = 0.0
    augment: bool = False
    early_stopping: bool = False
    patience: int = 5
    epochs: int = 30
    train_size: int = 1000
    batch_size: int = 32
    lr: float = 0.001
    seed: int = 0

    def validate(self) -> None:
        check_positive_int("hidden", self.hidden)
        check_positive_int("hidden_layers", self.hidden_layers)
        check_in_range("dropout", self.dropout, 0.0, 1.0)
        check_choice("penalty", self.penalty, PENALTIES)
        check_positive("lam", self.lam, allow_zero=True)
        check_positive_int("patience", self.patience)
        check_positive_int("epochs", self.epochs)
        check_positive_int("train_size", self.train_size)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)

    def label(self) -> str:
        parts = []
        if self.dropout:
            parts.append(f"dropout {self.dropout:g}")
        if self.penalty == "l2" and self.lam:
            parts.append(f"L2 λ={self.lam:g}")
        if self.penalty == "decoupled" and self.lam:
            parts.append(f"weight decay {self.lam:g}")
        if self.augment:
            parts.append("augmentation")
        if self.early_stopping:
            parts.append("early stopping")
        return ", ".join(parts) or "no regularization"


@dataclass
class Splits:
    """Training subset, validation split (for early stopping) and test set."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def make_splits(x_train, y_train, x_test, y_test, train_size: int, val_size: int = 2000, seed: int = 0,
                test_size: int | None = None) -> Splits:
    """A random training subset of ``train_size`` images and a disjoint validation split of ``val_size``,
    both from the MNIST training images; the test set (or its first ``test_size`` images) untouched."""
    check_positive_int("train_size", train_size)
    check_positive_int("val_size", val_size)
    if train_size + val_size > len(x_train):
        raise ValueError(f"train_size + val_size must be <= {len(x_train)}, got {train_size + val_size}")
    order = np.random.default_rng(seed).permutation(len(x_train))
    tr, va = order[:train_size], order[train_size:train_size + val_size]
    te = slice(None) if test_size is None else slice(0, test_size)
    return Splits(x_train[tr], y_train[tr], x_train[va], y_train[va], x_test[te], y_test[te])


class TrackTestAndWeights(Callback):
    """Every epoch: test loss and accuracy (evaluation mode; skipped with ``track_test=False``), the first
    layer's weight norm ‖W₁‖_F, the total squared norm Σ‖W‖² and the L2 penalty's value. Kept on the
    callback (lists), so a caller can read partial results if the run is interrupted."""

    def __init__(self, X_test, y_test, lam: float = 0.0, track_test: bool = True) -> None:
        self.X_test, self.y_test, self.lam, self.track_test = X_test, y_test, lam, track_test
        self.test_loss: list[float] = []
        self.test_acc: list[float] = []
        self.w1_norm: list[float] = []
        self.sq_norm: list[float] = []

    def on_epoch_end(self, state):
        if self.track_test:
            loss, acc = evaluate(state.model, self.X_test, self.y_test, softmax_cross_entropy)
            self.test_loss.append(float(loss))
            self.test_acc.append(float(acc))
        mats = weight_matrices(state.model)
        self.w1_norm.append(float(np.linalg.norm(mats[0])))
        self.sq_norm.append(float(sum(np.sum(np.square(W, dtype=np.float64)) for W in mats)))


@dataclass
class RegRun:
    """The record of one experiment. Accuracies are fractions. ``train_*`` are measured on the whole
    training subset in evaluation mode (no dropout, no augmentation), so the gap is train minus test on
    equal terms. With early stopping the final model is the best epoch's (``best_epoch``, 0-based)."""

    config: RegConfig
    history: History
    test_loss: list[float]
    test_acc: list[float]
    w1_norm: list[float]
    sq_norm: list[float]
    model: Sequential
    final_train_acc: float = float("nan")
    final_test_acc: float = float("nan")
    final_test_loss: float = float("nan")
    seconds: float = 0.0
    best_epoch: int | None = None
    status: str = "done"   # a playground marks runs "running" / "stopped"

    @property
    def epochs_run(self) -> int:
        return self.history.epochs

    @property
    def gap(self) -> float:
        """Generalization gap of the returned model: train accuracy - test accuracy."""
        return self.final_train_acc - self.final_test_acc

    def gaps(self) -> np.ndarray:
        """(epochs,) train accuracy - test accuracy after every epoch."""
        n = min(len(self.history.train_acc), len(self.test_acc))
        return np.asarray(self.history.train_acc[:n]) - np.asarray(self.test_acc[:n])

    def finish(self, X, y, splits: Splits) -> "RegRun":
        """Measure the model as it is now (with early stopping: the restored best epoch's weights)."""
        self.best_epoch = self.history.best_epoch
        self.seconds = self.history.wall_time[-1] if self.history.wall_time else 0.0
        self.final_train_acc = evaluate(self.model, X, y, softmax_cross_entropy)[1]
        self.final_test_loss, self.final_test_acc = evaluate(self.model, splits.X_test, splits.y_test,
                                                             softmax_cross_entropy)
        return self

    def first_layer_weights(self) -> np.ndarray:
        return weight_matrices(self.model)[0]

    def summary(self) -> dict:
        return {
            "configuration": self.config.label(),
            "epochs run": self.epochs_run,
            "best epoch": None if self.best_epoch is None else self.best_epoch + 1,
            "train acc %": round(100 * self.final_train_acc, 2),
            "test acc %": round(100 * self.final_test_acc, 2),
            "gap (points)": round(100 * self.gap, 2),
            "test loss": round(self.final_test_loss, 4),
            "‖W₁‖": round(float(np.linalg.norm(self.first_layer_weights())), 2),
            "time (s)": round(self.seconds, 2),
        }


def make_optimizer_for(config: RegConfig, model: Sequential):
    """Adam for "none" and "l2" (coupled: ``weight_decay=λ`` adds λW to the gradient), AdamW for
    "decoupled" (``W ← W(1 - ηλ)`` outside the adaptive step)."""
    if config.penalty == "decoupled":
        return AdamW(model, lr=config.lr, weight_decay=config.lam)
    return Adam(model, lr=config.lr, weight_decay=config.lam if config.penalty == "l2" else 0.0)


def run_experiment(config: RegConfig, splits: Splits, callbacks=(), on_start=None,
                   track_curves: bool = True) -> RegRun:
    """Train one configuration and measure it. The seed fixes the initial weights (identical across
    configurations), the batch order, the dropout masks and the augmentations.

    ``track_curves=False`` skips the per-epoch curves that need a pass over the training subset and the
    test set (``history.train_*`` are then the epoch's mini-batch means in training mode, ``test_*``
    stay empty); the training itself, the validation curve early stopping watches, the weight norms and
    the final measurements (``finish``) are the same to the bit. The comparison of regularizers, which
    shows only final numbers and weights, runs about three times faster so.

    ``on_start(run)`` is called with the ``RegRun`` before training; its history and per-epoch lists fill
    in as epochs finish, so a caller that keeps it (a playground's session state) keeps a partial run if
    training is interrupted. ``finish`` is then the only step missing.
    """
    config.validate()
    seed = config.seed
    model = build_model(np.random.default_rng(seed), hidden=config.hidden, hidden_layers=config.hidden_layers,
                        dropout=config.dropout, augment=config.augment,
                        dropout_rng=np.random.default_rng(seed + 1), augment_rng=np.random.default_rng(seed + 2))
    opt = make_optimizer_for(config, model)
    tracker = TrackTestAndWeights(splits.X_test, splits.y_test, config.lam if config.penalty == "l2" else 0.0,
                                  track_test=track_curves)
    X, y = splits.X_train[:config.train_size], splits.y_train[:config.train_size]
    run = RegRun(config, History(), tracker.test_loss, tracker.test_acc, tracker.w1_norm, tracker.sq_norm, model)
    # the live History from the first step, so a caller holding ``run`` sees every finished epoch
    cbs = [Live(on_begin=lambda state: setattr(run, "history", state.history)), tracker]
    if config.early_stopping:
        cbs.append(EarlyStopping(patience=config.patience, monitor="val_loss"))
    if on_start is not None:
        on_start(run)
    fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=opt, epochs=config.epochs,
        rng=np.random.default_rng(seed + 3), batch_size=config.batch_size, X_val=splits.X_val,
        y_val=splits.y_val, eval_train=track_curves, callbacks=[*cbs, *callbacks])
    return run.finish(X, y, splits)


def tuning_advice(gap: float) -> tuple[str, str]:
    """The blog's recipe applied to a measured gap (a fraction, train acc - test acc): (band, advice)."""
    pts = 100 * gap
    if pts < 1:
        return "< 1%", "The gap is small: no regularization needed."
    if pts <= 3:
        return "1–3%", ("Add dropout 0.2 and retrain; if the gap stays above 2%, add weight decay 1e-4, "
                        "then raise dropout to 0.3–0.4.")
    return "> 3%", ("Regularization alone may not close this: get more data (or augment it) or use a smaller "
                    "network, then add dropout and weight decay.")


#: The chapter's comparison (the deep-dive's table): 1,000 training images, 20 epochs, 256 hidden units,
#: Adam 1e-3, batch 32, seed 0, validation = 500 other training images (disjoint from the 1,000), test =
#: all 10,000 test images.
GAP_TABLE_CONFIGS: tuple[RegConfig, ...] = (
    RegConfig(epochs=20),
    RegConfig(epochs=20, dropout=0.5),
    RegConfig(epochs=20, penalty="l2", lam=1e-3),
    RegConfig(epochs=20, penalty="decoupled", lam=0.1),
    RegConfig(epochs=20, augment=True),
    RegConfig(epochs=20, early_stopping=True, patience=3),
    RegConfig(epochs=20, dropout=0.5, penalty="l2", lam=1e-3, augment=True, early_stopping=True, patience=3),
)


def gap_table_splits(x_train, y_train, x_test, y_test) -> Splits:
    """The data of ``GAP_TABLE_CONFIGS``: the whole test set (the first 2,000 test images, used before,
    are a harder slice: the same model scores about 3 points less there)."""
    return make_splits(x_train, y_train, x_test, y_test, train_size=1000, val_size=500, seed=0)


def gap_table_markdown(runs) -> str:
    """A markdown table of runs: configuration, epochs, train and test accuracy, gap, test loss."""
    lines = ["| configuration | epochs run | train acc % | test acc % | gap (points) | test loss |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r.config.label()} | {r.epochs_run} | {100 * r.final_train_acc:.2f} | "
                     f"{100 * r.final_test_acc:.2f} | {100 * r.gap:.2f} | {r.final_test_loss:.4f} |")
    return "\n".join(lines)


def gap_table(data=None) -> list:
    """The seven runs of ``GAP_TABLE_CONFIGS`` on real MNIST (loaded when ``data`` is None)."""
    if data is None:
        from common.mnist import load_mnist
        data = load_mnist(download=False, allow_sample=False)
    splits = gap_table_splits(data.x_train, data.y_train, data.x_test, data.y_test)
    return [run_experiment(c, splits) for c in GAP_TABLE_CONFIGS]


@doc_table("REGULARIZATION_DEEP_DIVE.md", "table: gap")
def gap_table_doc() -> str:
    """The deep-dive's comparison table, trained (``DOC_TABLES``)."""
    return gap_table_markdown(gap_table())


# ------------------------------------------------------------------------------------ the blog's scale

#: The post's long run: an MLP with ~100k weights (784-128-10), Adam 1e-3, batch 64, trained on 58,000 MNIST
#: images (2,000 other training images held out for validation), all 10,000 test images, 100 epochs.
BLOG_SCALE = RegConfig(hidden=128, epochs=100, train_size=58000, batch_size=64)
BLOG_SCALE_VAL = 2000
BLOG_SCALE_RECORD = Path(__file__).with_name("blog_scale_record.json")
#: the epochs the README's table shows (the post's table has 1, 10, 50, 100 and 200)
BLOG_SCALE_ROWS = (1, 10, 50, 100)


def blog_scale_splits(data) -> Splits:
    return make_splits(data.x_train, data.y_train, data.x_test, data.y_test, train_size=BLOG_SCALE.train_size,
                       val_size=BLOG_SCALE_VAL, seed=BLOG_SCALE.seed)


def measure_blog_scale(data, dropout: float = 0.0, epochs: int | None = None, callbacks=()) -> dict:
    """One long run (``BLOG_SCALE`` with this dropout) as a record: the configuration and, per epoch, train
    accuracy (evaluation mode), test accuracy and loss, validation loss and the epoch's seconds."""
    config = RegConfig(**{**asdict(BLOG_SCALE), "dropout": float(dropout),
                          "epochs": BLOG_SCALE.epochs if epochs is None else int(epochs)})
    run = run_experiment(config, blog_scale_splits(data), callbacks=callbacks)
    h = run.history
    return {"config": asdict(config), "val_size": BLOG_SCALE_VAL, "dropout": float(dropout),
            "params": run.model.num_params(), "train_acc": h.train_acc, "test_acc": run.test_acc,
            "test_loss": run.test_loss, "val_loss": h.val_loss, "epoch_time_s": h.epoch_time}


def load_blog_scale(path: Path = BLOG_SCALE_RECORD) -> dict:
    return json.loads(Path(path).read_text())


@doc_table("README.md", "table: blog-scale")
def blog_scale_table(record: dict | None = None, dropout: float = 0.0) -> str:
    """The README's table of the long run at the epochs ``BLOG_SCALE_ROWS``, from the record (remeasuring
    it takes minutes: ``python 05-regularization/regularization.py --write``)."""
    record = load_blog_scale() if record is None else record
    run = next(r for r in record["runs"] if r["dropout"] == dropout)
    lines = ["| epoch | train acc % | test acc % | gap (points) | validation loss |", "|---|---|---|---|---|"]
    for e in BLOG_SCALE_ROWS:
        tr, te = run["train_acc"][e - 1], run["test_acc"][e - 1]
        lines.append(f"| {e} | {100 * tr:.2f} | {100 * te:.2f} | {100 * (tr - te):.2f} | {run['val_loss'][e - 1]:.4f} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------- the playground's runs

#: The playground's validation split: 1,000 training images outside the training subset.
PAGE_VAL_SIZE = 1000
#: The playground's default run (the Overfitting tab's Train with its default settings).
PAGE_DEFAULT = RegConfig()
#: The Weights tab's defaults: four runs of 12 epochs (the first-layer weights have grown and the gaps are
#: set: 100% train accuracy by then; 12 rather than 20 keeps the four runs to about two seconds), dropout
#: 0.5 and L2 λ = 10⁻³.
COMPARE_DEFAULTS = {"epochs": 12, "dropout": 0.5, "lam": 1e-3, "augment": False, "early_stopping": False,
                    "patience": 5}
COMPARE_KINDS = ("none", "l2", "dropout", "dropout_l2")


def page_splits(x_train, y_train, x_test, y_test, train_size: int, seed: int = 0) -> Splits:
    """The playground's data: ``train_size`` random training images, the next ``PAGE_VAL_SIZE`` of the same
    permutation for validation, all test images."""
    train_size = min(train_size, len(x_train) - PAGE_VAL_SIZE)
    return make_splits(x_train, y_train, x_test, y_test, train_size, PAGE_VAL_SIZE, seed)


def compare_configs(base: RegConfig, *, epochs: int, dropout: float, lam: float, augment: bool,
                    early_stopping: bool, patience: int = 5) -> list[RegConfig]:
    """The Weights tab's four runs (none, L2, dropout, both) on ``base``'s network and data, from the
    same initial weights; augmentation and early stopping, when on, apply to all four."""
    common_ = {**asdict(base), "epochs": int(epochs), "augment": bool(augment),
               "early_stopping": bool(early_stopping), "patience": int(patience)}
    return [RegConfig(**{**common_, "dropout": d, "penalty": "l2" if l else "none", "lam": l})
            for d, l in ((0.0, 0.0), (0.0, lam), (dropout, 0.0), (dropout, lam))]


def compare_runs(splits: Splits, configs, callbacks_for=None, on_start=None) -> list[RegRun]:
    """Train the four comparison runs without the per-epoch test curves (``track_curves=False``: the
    tab shows final numbers and weights only)."""
    return [run_experiment(c, splits, callbacks=callbacks_for(c) if callbacks_for else (), on_start=on_start,
                           track_curves=False) for c in configs]


CHECKPOINT_DIR = Path(__file__).with_name("checkpoints")
SCRIPT = "05-regularization/train_regularization.py"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "overfit_default.npz"


def compare_checkpoint(kind: str, folder: Path = CHECKPOINT_DIR) -> Path:
    check_choice("kind", kind, COMPARE_KINDS)
    return Path(folder) / f"compare_{kind}.npz"


def recorded_metrics(run: RegRun) -> dict:
    """What a checkpoint's ``meta`` records about its run: the final measurements and the best epoch."""
    return {"final_train_acc": run.final_train_acc, "final_test_acc": run.final_test_acc,
            "final_test_loss": run.final_test_loss, "best_epoch": run.best_epoch, "epochs_run": run.epochs_run,
            "final_w1_norm": run.w1_norm[-1] if run.w1_norm else None}


def save_run(run: RegRun, path: Path, *, half: bool = False, extra_meta: dict | None = None) -> Path:
    """One run as a checkpoint: the weights (``Layer.save``; float16 with ``half=True``, half the size),
    the configuration and final metrics in ``meta``, the History and the per-epoch test and weight curves
    in ``extras``."""
    model = run.model
    if half:
        c = run.config
        model = build_model(np.random.default_rng(0), hidden=c.hidden, hidden_layers=c.hidden_layers,
                            dropout=c.dropout, augment=c.augment, dtype=np.float16)
        for k, v in model.params.items():
            v[...] = run.model.params[k]
    extras = history_arrays(run.history, "run")
    for k in ("test_loss", "test_acc", "w1_norm", "sq_norm"):
        extras[f"run.{k}"] = np.asarray(getattr(run, k), dtype=np.float64)
    meta = {"script": SCRIPT, "config": asdict(run.config), "label": run.config.label(), "val_size": PAGE_VAL_SIZE,
            "weights": "float16" if half else "float32", "seconds": run.seconds, **recorded_metrics(run),
            **(extra_meta or {})}
    return model.save(path, meta=meta, extras=extras)


def load_run(path: Path) -> RegRun:
    """A ``RegRun`` from ``save_run``'s checkpoint: the model (float32), its History and curves, the
    recorded final metrics; ``status`` is "recorded"."""
    meta = read_meta(path)
    extras = read_extras(path)
    config = RegConfig(**meta["config"])
    model = build_model(np.random.default_rng(0), hidden=config.hidden, hidden_layers=config.hidden_layers,
                        dropout=config.dropout, augment=config.augment)
    model.load(path)
    curves = {k: extras[f"run.{k}"].tolist() for k in ("test_loss", "test_acc", "w1_norm", "sq_norm")}
    return RegRun(config, read_history(path, "run"), model=model, final_train_acc=meta["final_train_acc"],
                  final_test_acc=meta["final_test_acc"], final_test_loss=meta["final_test_loss"],
                  seconds=meta["seconds"], best_epoch=meta["best_epoch"], status="recorded", **curves)


__all__ = [
    "build_model", "PENALTIES", "RegConfig", "Splits", "make_splits", "TrackTestAndWeights", "RegRun",
    "make_optimizer_for", "run_experiment", "tuning_advice", "GAP_TABLE_CONFIGS", "gap_table_splits",
    "gap_table_markdown", "gap_table", "BLOG_SCALE", "BLOG_SCALE_VAL", "BLOG_SCALE_RECORD", "BLOG_SCALE_ROWS",
    "blog_scale_splits", "measure_blog_scale", "load_blog_scale", "blog_scale_table", "PAGE_VAL_SIZE",
    "PAGE_DEFAULT", "COMPARE_DEFAULTS", "COMPARE_KINDS", "page_splits", "compare_configs", "compare_runs",
    "CHECKPOINT_DIR", "DEFAULT_CHECKPOINT", "compare_checkpoint", "recorded_metrics", "save_run", "load_run",
]
