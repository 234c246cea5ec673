"""Chapter 06: the models the post compares, and the measured comparison.

- ``fc_network``: every pixel wired to every hidden unit; ``small_cnn``: two 3×3 convolutions with
  max-pooling and one dense layer, higher accuracy with a tenth of the parameters (weight sharing) once
  it has seen enough digits; ``lenet5``: LeNet-5 adapted to 28×28.
- ``train``: the post's setup (Adam, softmax cross-entropy) through ``common.training.fit``.
- ``compare``: FC and CNN trained identically (same data, seed, batches, budget), and the README's
  tables (``DOC_TABLES``) written from it.
- The shipped checkpoints ``checkpoints/{fc,cnn,lenet5}.npz`` (``load_checkpoint``): the three models
  trained with the page's defaults (``PAGE_DEFAULTS``) on the bundled sample by ``train_cnn.py``, and the
  docs' tables read from them (``CHECKPOINT_TABLES``).

The chapter's other ideas live beside this module: ``cnn_architectures`` (parameter counts of LeNet-5,
AlexNet, VGG-16, ResNet-50 from layer shapes, receptive fields), ``filters`` (hand-designed filters,
the convolution written out), ``feature_maps`` (every layer's output), ``pooling`` (max-pool zoom,
translation tolerance, the pooling speed), ``digit_images`` (shifting digits, drawings → MNIST).

Images are (N, 1, 28, 28) float32 in [0, 1] throughout (``load_mnist(flatten=False)``).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> fc_network(rng).num_params(), small_cnn(rng).num_params(), lenet5(rng).num_params()
(101770, 9098, 61706)
"""

from __future__ import annotations

import numpy as np

from common import Adam, Dense, Flatten, ReLU, Sequential, fit, softmax_cross_entropy
from common._validation import check_choice, check_generator, check_positive, check_positive_int
from common.conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D

# ------------------------------------------------------------------------------------------ models


def fc_network(rng: np.random.Generator, hidden: int = 128, dtype=np.float32) -> Sequential:
    """Flatten → Dense(784, hidden) → ReLU → Dense(hidden, 10): every pixel wired to every hidden unit.

    Parameters: ``785·hidden + 10·(hidden + 1)`` (101,770 for hidden = 128).
    """
    check_generator("rng", rng)
    check_positive_int("hidden", hidden)
    return Sequential(Flatten(), Dense(784, hidden, rng, dtype=dtype), ReLU(), Dense(hidden, 10, rng, dtype=dtype))


#: The pooling before the small CNN's classifier head (the "Types of pooling" comparison).
HEAD_POOLS = ("max", "average", "global average")


def small_cnn(rng: np.random.Generator, filters: tuple[int, int] = (8, 16), dtype=np.float32,
              head_pool: str = "max") -> Sequential:
    """Conv(1→F₁, 3×3, pad 1) → ReLU → MaxPool 2 → Conv(F₁→F₂, 3×3, pad 1) → ReLU → MaxPool 2 →
    Flatten → Dense(F₂·7·7, 10). The benchmark model; 9,098 parameters with the default (8, 16).

    Shapes: (N, 1, 28, 28) → (N, F₁, 28, 28) → (N, F₁, 14, 14) → (N, F₂, 14, 14) → (N, F₂, 7, 7) →
    (N, 49·F₂) → (N, 10).

    ``head_pool`` is the pooling the head reads: "max" (the model above), "average" (AvgPool 2, the same
    shapes) or "global average" (one mean per map, (N, F₂), then Dense(F₂, 10): 170 head parameters
    instead of 7,850).
    """
    check_generator("rng", rng)
    check_choice("head_pool", head_pool, HEAD_POOLS)
    if len(filters) != 2:
        raise ValueError(f"filters must be two channel counts (conv1, conv2), got {filters!r}")
    f1, f2 = filters
    check_positive_int("filters[0]", f1)
    check_positive_int("filters[1]", f2)
    body = [Conv2D(1, f1, 3, rng, padding=1, dtype=dtype), ReLU(), MaxPool2D(2),
            Conv2D(f1, f2, 3, rng, padding=1, dtype=dtype), ReLU()]
    if head_pool == "global average":
        return Sequential(*body, GlobalAvgPool2D(), Dense(f2, 10, rng, dtype=dtype))
    pool = MaxPool2D(2) if head_pool == "max" else AvgPool2D(2)
    return Sequential(*body, pool, Flatten(), Dense(f2 * 7 * 7, 10, rng, dtype=dtype))


def lenet5(rng: np.random.Generator, dtype=np.float32) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) adapted to 28×28 MNIST: the first convolution pads by 2, which makes
    the 32×32 input of the original; ReLU instead of the scaled tanh and average pooling as the
    original's subsampling (without its trainable coefficient); C3 connected to all 6 maps.

    Conv(1→6, 5×5, pad 2) → ReLU → AvgPool 2 → Conv(6→16, 5×5) → ReLU → AvgPool 2 → Flatten →
    Dense(400, 120) → ReLU → Dense(120, 84) → ReLU → Dense(84, 10): 61,706 parameters.
    """
    check_generator("rng", rng)
    return Sequential(
        Conv2D(1, 6, 5, rng, padding=2, dtype=dtype), ReLU(), AvgPool2D(2),
        Conv2D(6, 16, 5, rng, dtype=dtype), ReLU(), AvgPool2D(2),
        Flatten(), Dense(400, 120, rng, dtype=dtype), ReLU(), Dense(120, 84, rng, dtype=dtype), ReLU(),
        Dense(84, 10, rng, dtype=dtype))


MODELS = {"FC": fc_network, "CNN": small_cnn, "LeNet-5": lenet5}


def build(name: str, rng: np.random.Generator, **kwargs) -> Sequential:
    """A model from ``MODELS`` by name."""
    check_choice("name", name, MODELS)
    return MODELS[name](rng, **kwargs)


#: digits per forward pass when a run is evaluated after each epoch. ``fit``'s default, 1,024, makes every
#: conv layer's output tens of MB (1,024 × 8 × 28 × 28 float32 is 26 MB) and the evaluation slower than in
#: smaller pieces: the 12 evaluations of the page's two default actions (FC, CNN and LeNet-5, 4 epochs
#: each, 2,000 test digits) took 1.41 and 1.43 s of CPU at 1,024, 0.94 and 0.91 s at 256, 0.97 and 0.96 s
#: at 128 (every size on the same model states, in one process, two orders). The accuracies are the
#: same; the mean losses differ in the 8th digit (the batches' means are summed in another grouping).
EVAL_BATCH = 256


def train(model: Sequential, x: np.ndarray, y: np.ndarray, *, epochs: int, rng: np.random.Generator,
          batch_size: int = 64, lr: float = 1e-3, x_val=None, y_val=None, callbacks=()):
    """Adam with softmax cross-entropy (the post's setup), through ``common.training.fit``, evaluated in
    batches of ``EVAL_BATCH`` digits; returns the ``History``. Shapes: x: (N, 1, 28, 28); y: (N,) labels."""
    check_positive("lr", lr)
    return fit(model, x, y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=lr), epochs=epochs,
               rng=rng, batch_size=batch_size, X_val=x_val, y_val=y_val, callbacks=callbacks,
               val_batch_size=EVAL_BATCH)


# ------------------------------------------------------------------------------ FC against CNN, measured

def compare(x, y, x_val, y_val, *, epochs: int, seed: int = 0, batch_size: int = 64, lr: float = 1e-3,
            hidden: int = 128, filters=(8, 16), callbacks_for=None) -> dict:
    """The FC network and the small CNN trained identically: the same training digits, the same seed
    (so the same batches), the same budget; each evaluated on ``(x_val, y_val)`` after every epoch.

    Returns ``{"FC": (model, history), "CNN": (model, history)}``. ``callbacks_for(name, model)``, when
    given, returns the callbacks of that model's run (a page keeps the live history with it).
    """
    runs = {}
    for name in ("FC", "CNN"):
        rng = np.random.default_rng(seed)
        model = fc_network(rng, hidden) if name == "FC" else small_cnn(rng, tuple(filters))
        callbacks = callbacks_for(name, model) if callbacks_for is not None else ()
        runs[name] = (model, train(model, x, y, epochs=epochs, rng=rng, batch_size=batch_size, lr=lr,
                                   x_val=x_val, y_val=y_val, callbacks=callbacks))
    return runs


#: The README's table: the first 5,000 training digits, 3 epochs, seed 0, evaluated on the first 2,000
#: test digits.
README_RUN = {"n_train": 5000, "epochs": 3, "seed": 0, "n_val": 2000}
#: The seed table: (training digits, epochs) settings, each trained with these seeds. The 10-epoch runs
#: give the 4-epoch rows too (epoch 4 of the same run: same seed, same batches).
SEED_SETTINGS = ((1000, 4), (1000, 10), (5000, 4))
SEEDS = (0, 1, 2, 3)


def _real_mnist():
    from common.mnist import load_mnist
    return load_mnist(download=False, allow_sample=False, flatten=False)


def readme_runs(data=None) -> dict:
    """``compare`` with ``README_RUN`` on real MNIST (``data`` from ``load_mnist(flatten=False)``)."""
    d = _real_mnist() if data is None else data
    n, v = README_RUN["n_train"], README_RUN["n_val"]
    return compare(d.x_train[:n], d.y_train[:n], d.x_test[:v], d.y_test[:v], epochs=README_RUN["epochs"],
                   seed=README_RUN["seed"])


def fc_vs_cnn_markdown(runs=None) -> str:
    """The README's FC-vs-CNN table from ``readme_runs()`` (or runs already trained that way)."""
    from common.plots import fmt_pct          # the course's number formatter (imports Matplotlib)

    runs = readme_runs() if runs is None else runs
    names = {"FC": "FC 784-128-10", "CNN": "CNN (8, 16 filters)"}
    lines = ["| model | parameters | test accuracy (first 2,000 test digits) |", "|---|---|---|"]
    lines += [f"| {names[k]} | {m.num_params():,} | {fmt_pct(h.val_acc[-1], 2)} |" for k, (m, h) in runs.items()]
    return "\n".join(lines) + "\n"


def seed_runs(data=None, seeds=SEEDS) -> dict:
    """Test accuracy after every epoch, per (training digits, seed, model): ``{(n, seed, name): [acc, …]}``,
    for every training-set size of ``SEED_SETTINGS`` trained for its largest epoch count."""
    d = _real_mnist() if data is None else data
    out = {}
    for n in sorted({n for n, _ in SEED_SETTINGS}):
        epochs = max(e for m, e in SEED_SETTINGS if m == n)
        for seed in seeds:
            runs = compare(d.x_train[:n], d.y_train[:n], d.x_test[:2000], d.y_test[:2000], epochs=epochs, seed=seed)
            for name, (_, h) in runs.items():
                out[n, seed, name] = list(h.val_acc)
    return out


def seed_rows(accs: dict, seeds=SEEDS) -> list[dict]:
    """One row per ``SEED_SETTINGS`` entry: mean, lowest and highest test accuracy of each model over the
    seeds, and in how many seeds the CNN ends ahead."""
    rows = []
    for n, epochs in SEED_SETTINGS:
        fc = np.array([accs[n, s, "FC"][epochs - 1] for s in seeds])
        cn = np.array([accs[n, s, "CNN"][epochs - 1] for s in seeds])
        rows.append({"training digits": n, "epochs": epochs, "fc": fc, "cnn": cn, "cnn ahead": int(np.sum(cn > fc))})
    return rows


def seed_markdown(accs=None, seeds=SEEDS) -> str:
    """The README's seed table from ``seed_runs()``."""
    from common.plots import fmt_pct

    accs = seed_runs(seeds=seeds) if accs is None else accs

    def spread(a):
        return f"{fmt_pct(a.mean())} ({fmt_pct(a.min())[:-1]}–{fmt_pct(a.max())})"

    lines = ["| training digits | epochs | FC test accuracy: mean (range) | CNN test accuracy: mean (range) | "
             "CNN ahead |", "|---|---|---|---|---|"]
    for r in seed_rows(accs, seeds):
        lines.append(f"| {r['training digits']:,} | {r['epochs']} | {spread(r['fc'])} | {spread(r['cnn'])} | "
                     f"{r['cnn ahead']} of {len(seeds)} seeds |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- the shipped checkpoints

from pathlib import Path  # noqa: E402  (kept beside the code that uses it)

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SCRIPT = "06-cnn/train_cnn.py"
#: The page's default "Train both" settings (its sidebar's defaults), which the shipped checkpoints use:
#: the first ``n_train`` digits of the bundled 10,000-digit sample, evaluated on its 2,000 test digits
#: after every epoch. LeNet-5 is trained the same way, so the three accuracies compare like for like.
PAGE_DEFAULTS = {"fc_hidden": 128, "filters": (8, 16), "epochs": 4, "batch_size": 64, "n_train": 5000,
                 "seed": 0, "lr": 1e-3}
#: checkpoint name → (model name in ``MODELS``, the builder's keyword arguments)
CHECKPOINTS = {"fc": ("FC", {"hidden": PAGE_DEFAULTS["fc_hidden"]}),
               "cnn": ("CNN", {"filters": PAGE_DEFAULTS["filters"]}),
               "lenet5": ("LeNet-5", {}),
               # the small CNN with the two other head poolings ("Types of pooling"), trained the same way
               "cnn_avgpool": ("CNN", {"filters": PAGE_DEFAULTS["filters"], "head_pool": "average"}),
               "cnn_gap": ("CNN", {"filters": PAGE_DEFAULTS["filters"], "head_pool": "global average"})}
#: head pooling → the checkpoint of the small CNN trained with it
HEAD_POOL_CHECKPOINTS = {"max": "cnn", "average": "cnn_avgpool", "global average": "cnn_gap"}


def sample_mnist():
    """The bundled MNIST sample (``common/mnist_sample.npz``: 10,000 training and 2,000 test digits) as
    (N, 1, 28, 28) float32, whatever ``P2T_MNIST_DIR`` says: the checkpoints are trained on it so that
    every machine, with or without the full set, can retrain them and get the same numbers."""
    from common.mnist import MNIST, SAMPLE_PATH

    with np.load(SAMPLE_PATH, allow_pickle=False) as d:
        a = {k: d[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}
    f = lambda im: (im.astype(np.float32) / np.float32(255.0)).reshape(len(im), 1, 28, 28)
    return MNIST(x_train=f(a["train_images"]), y_train=a["train_labels"].astype(np.int64),
                 x_test=f(a["test_images"]), y_test=a["test_labels"].astype(np.int64),
                 source=f"bundled sample {SAMPLE_PATH.name}", is_sample=True)


def checkpoint_path(name: str) -> Path:
    check_choice("name", name, CHECKPOINTS)
    return CHECKPOINT_DIR / f"{name}.npz"


def new_model(name: str, seed: int = PAGE_DEFAULTS["seed"]):
    """The untrained model of checkpoint ``name`` and the generator that then draws its batches (as
    ``compare`` does: one generator per model, seeded, used for the weights and then the batches)."""
    model_name, kwargs = CHECKPOINTS[name] if name in CHECKPOINTS else (name, {})
    rng = np.random.default_rng(seed)
    return build(model_name, rng, **kwargs), rng


def train_checkpoint(name: str, data=None, *, callbacks=(), validate: bool = True):
    """Train checkpoint ``name``'s model with ``PAGE_DEFAULTS`` on the bundled sample; returns
    (model, history). For FC and CNN this is exactly the page's "Train both" on the sample (``compare``).
    ``validate=False`` skips the test-set evaluation after each epoch (the batches are the same)."""
    d = sample_mnist() if data is None else data
    s = PAGE_DEFAULTS
    model, rng = new_model(name, s["seed"])
    n = s["n_train"]
    history = train(model, d.x_train[:n], d.y_train[:n], epochs=s["epochs"], rng=rng, batch_size=s["batch_size"],
                    lr=s["lr"], x_val=d.x_test if validate else None, y_val=d.y_test if validate else None,
                    callbacks=callbacks)
    return model, history


def load_checkpoint(name: str):
    """(model, meta, history) of a shipped checkpoint."""
    from common.checkpoints import read_history, read_meta

    path = checkpoint_path(name)
    model, _ = new_model(name)
    model.load(path)
    return model, read_meta(path), read_history(path, "run")


# ------------------------------------------------------- the docs' tables read from the shipped checkpoints

#: How the docs name the checkpoints' models.
LONG_NAMES = {"fc": "FC 784-128-10", "cnn": "small CNN (8, 16 filters)", "lenet5": "LeNet-5",
              "cnn_avgpool": "small CNN, average-pooled head", "cnn_gap": "small CNN, global-average head"}
#: The pooling comparison in the deep dive: the shipped CNN, the first 500 of the sample's test digits.
POOLING_DIGITS = 500


def checkpoints_markdown() -> str:
    """The README's table of the shipped checkpoints: what each file holds and what it recorded."""
    from cnn_architectures import markdown_table
    from common.plots import fmt_pct

    rows = []
    for name in CHECKPOINTS:
        model, meta, history = load_checkpoint(name)
        rows.append({"file": f"`checkpoints/{name}.npz`", "model": LONG_NAMES[name], "parameters": f"{model.num_params():,}",
                     "test accuracy": fmt_pct(meta["val_acc"], 2), f"train accuracy (epoch {history.epochs})": fmt_pct(history.train_acc[-1], 2),
                     "training time (recorded)": f"{meta['train_seconds']:.1f} s",
                     "size": f"{checkpoint_path(name).stat().st_size / 1e3:.0f} kB"})
    return markdown_table(rows)


def lenet5_measured_rows() -> list[dict]:
    """The shipped LeNet-5, layer by layer in the classic names: output shape (from running the model),
    parameters (from its weights) and each weight layer's share of the total."""
    from cnn_architectures import lenet5_table
    from feature_maps import dimension_table

    model, _, _ = load_checkpoint("lenet5")
    names = iter(r.name for r in lenet5_table().rows)
    total = model.num_params()
    rows = []
    for r, layer in zip(dimension_table(model)[1:], model.layers):
        kind = type(layer).__name__
        if kind in ("ReLU", "Flatten"):
            if kind == "ReLU" and rows:
                rows[-1]["layer"] += " + ReLU"
            continue
        rows.append({"name": next(names).split(" ")[0], "layer": repr(layer), "output shape": r["output shape"],
                     "parameters": layer.num_params(), "share": layer.num_params() / total})
    return rows


def lenet5_measured_markdown() -> str:
    from cnn_architectures import markdown_table
    from common.plots import fmt_pct

    rows = lenet5_measured_rows()
    shown = [{"LeNet-5": r["name"], "layer (as built in cnn.lenet5)": r["layer"], "output shape": r["output shape"],
              "parameters": f"{r['parameters']:,}", "share of the parameters": fmt_pct(r["share"], 1)} for r in rows]
    shown.append({"LeNet-5": "total", "layer (as built in cnn.lenet5)": "", "output shape": "",
                  "parameters": f"{sum(r['parameters'] for r in rows):,}", "share of the parameters": "100.0%"})
    return markdown_table(shown)


def three_models_markdown() -> str:
    """FC, the small CNN and LeNet-5, trained identically (the shipped checkpoints), side by side."""
    from cnn_architectures import markdown_table
    from common.plots import fmt_pct

    rows = []
    for name in ("fc", "cnn", "lenet5"):
        model, meta, h = load_checkpoint(name)
        rows.append({"model": LONG_NAMES[name], "parameters": f"{model.num_params():,}",
                     **{f"test accuracy, epoch {e + 1}": fmt_pct(a, 2) for e, a in enumerate(h.val_acc)},
                     "seconds per epoch (recorded)": f"{np.mean(h.epoch_time):.2f}"})
    return markdown_table(rows)


def pooling_types_rows(n: int = POOLING_DIGITS) -> list[dict]:
    """``pooling.pooling_comparison`` of the shipped CNN's conv1 and conv2 maps over the first ``n`` of the
    sample's test digits."""
    import pooling

    model, _, _ = load_checkpoint("cnn")
    x = sample_mnist().x_test[:n]
    return [{"maps": layer, **r} for layer in pooling.MAP_LAYERS for r in pooling.pooling_comparison(model, x, layer)]


def head_pool_rows(x=None, y=None, shifts=(1, 2), models=None) -> list[dict]:
    """The small CNN trained with each head pooling (``HEAD_POOL_CHECKPOINTS``, trained identically):
    head and total parameters, test accuracy on ``(x, y)`` (default: the sample's 2,000 test digits), and
    the accuracy on the same digits shifted by k pixels, averaged over the four directions
    (``pooling.DIRECTIONS``). ``models``: head pooling → model, instead of the shipped checkpoints."""
    import pooling
    from common.training import accuracy
    from digit_images import shift_image

    if x is None:
        d = sample_mnist()
        x, y = d.x_test, d.y_test
    rows = []
    for kind, name in HEAD_POOL_CHECKPOINTS.items():
        model = load_checkpoint(name)[0] if models is None else models[kind]
        row = {"head pooling": kind, "head parameters": model.layers[-1].num_params(), "parameters": model.num_params(),
               "test accuracy": accuracy(model.predict(x), y)}
        for k in shifts:
            row[f"accuracy, {k}-px shift"] = float(np.mean([accuracy(model.predict(shift_image(x, k * dy, k * dx)), y)
                                                            for dy, dx in pooling.DIRECTIONS]))
        rows.append(row)
    return rows


def head_pool_markdown(rows=None) -> str:
    from cnn_architectures import markdown_table
    from common.plots import fmt_pct

    rows = head_pool_rows() if rows is None else rows
    return markdown_table([{"head pooling": r["head pooling"], "head parameters": f"{r['head parameters']:,}",
                            "parameters": f"{r['parameters']:,}", "test accuracy": fmt_pct(r["test accuracy"], 2),
                            "accuracy, digits shifted 1 px": fmt_pct(r["accuracy, 1-px shift"], 2),
                            "accuracy, digits shifted 2 px": fmt_pct(r["accuracy, 2-px shift"], 2)} for r in rows])


def pooling_types_markdown(rows=None) -> str:
    import pooling
    from cnn_architectures import markdown_table

    rows = pooling_types_rows() if rows is None else rows
    return markdown_table([{"feature maps": r["maps"], "pooling": r["pooling"], "output per digit": r["output shape"],
                            "head Dense(values, 10)": f"{r['head parameters']:,}",
                            "change, 1-px shift": pooling.change_text(r["change, 1-px shift"]),
                            "change, 2-px shift": pooling.change_text(r["change, 2-px shift"])} for r in rows])


#: The docs' tables computed from the shipped checkpoints and the bundled sample (a few seconds, no real
#: MNIST needed); ``tests/test_ch06_docs.py`` compares each with the text.
CHECKPOINT_TABLES = {
    ("README.md", "table: checkpoints"): checkpoints_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: lenet5-measured"): lenet5_measured_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: three-models"): three_models_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: pooling-types"): pooling_types_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: head-pooling"): head_pool_markdown,
}


#: Every measured table of the README: (document, marker) → the function that writes it
#: (``python -m tests.regenerate_doc_tables 06``; ``tests/test_ch06_docs.py`` compares the text with them).
#: Both train on real MNIST, with one BLAS thread (the command sets it, as the tests do).
DOC_TABLES = {
    ("README.md", "table: fc-vs-cnn"): fc_vs_cnn_markdown,
    ("README.md", "table: fc-vs-cnn-seeds"): seed_markdown,
    **CHECKPOINT_TABLES,
}
