"""Chapter 10: the Transformer. A character-level GPT trained on Tiny Shakespeare, in NumPy.

Everything the model is made of lives in ``common`` (``common.transformer.GPT``, built from chapter 09's
multi-head attention, chapter 07's LayerNorm and residual sums, chapter 02's MLP with GELU, chapter 08's
embedding); this module holds what is the chapter's own:

- the training recipes (``CONFIGS``): **small** (≈0.1M parameters, a few minutes here), **medium**
  (nanoGPT's CPU configuration: 4 layers, 4 heads, d_model 128, context 64, batch 12) and **nopos**
  (small without any position information, to measure what positions are for);
- ``Run`` / ``new_run`` / ``train``: one seeded, resumable training run through ``common.training.fit``
  (AdamW, linear warmup then cosine decay, gradient clipping); ``save_run``/``load_run`` write and read
  the state to resume from;
- the shipped checkpoints (``save_checkpoint``/``load_checkpoint``): float16 weights in the ``.npz`` that
  ``Layer.save`` writes, with the config, vocabulary and measured losses in its ``meta``;
- sampling (``sample_text``) and validation losses (``val_loss``).

What the page inspects (attention maps, the residual stream, positions, size and cost) is in
``gpt_inside.py``; the measured tables of the README and the deep dive in ``gpt_docs.py``.

>>> import gpt
>>> run = gpt.new_run(gpt.CONFIGS["small"], gpt.shakespeare())
>>> gpt.train(run, 3)
>>> len(run.batch_loss), run.batch_loss[0] > run.batch_loss[-1]
(3, True)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.checkpoints import read_meta
from common.losses import sequence_cross_entropy
from common.optimizers import AdamW, CosineLR
from common.text import CharTokenizer, consecutive_windows, load_shakespeare, random_windows
from common.training import Callback, evaluate, fit
from common.transformer import GPT

HERE = Path(__file__).resolve().parent
CHECKPOINT_DIR = HERE / "checkpoints"


@dataclass(frozen=True)
class TrainConfig:
    """A model and its training recipe. ``iters`` is the length of the cosine schedule (and of a full
    run); ``eval_interval`` the steps between validation losses (and resume points)."""

    n_layer: int
    n_head: int
    d_model: int
    block_size: int = 64
    batch_size: int = 12
    iters: int = 2000
    lr: float = 1e-3
    lr_min: float = 1e-4
    warmup: int = 100
    beta2: float = 0.99
    weight_decay: float = 0.1
    clip: float = 1.0
    dropout: float = 0.0
    positions: str | None = "learned"
    tie_weights: bool = True
    eval_interval: int = 250
    eval_windows: int = 128
    seed: int = 0

    def model_kwargs(self) -> dict:
        return dict(block_size=self.block_size, n_layer=self.n_layer, n_head=self.n_head, d_model=self.d_model,
                    dropout=self.dropout, positions=self.positions, tie_weights=self.tie_weights)


_SMALL = TrainConfig(n_layer=2, n_head=4, d_model=64, batch_size=32, iters=3000, lr=2e-3, lr_min=2e-4,
                     warmup=100, eval_interval=250)
#: iterations of the shipped medium run: nanoGPT's 2,000 and then some (its cosine stretched to the length)
MEDIUM_ITERS = 10000
CONFIGS: dict[str, TrainConfig] = {
    "small": _SMALL,
    # nanoGPT's CPU recipe (its README: --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
    # --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0; learning_rate 1e-3, beta2 0.99, warmup 100,
    # min_lr 1e-4, weight_decay 0.1, grad_clip 1.0 from config/train_shakespeare_char.py and train.py),
    # trained for MEDIUM_ITERS iterations; tests/benchmarks/bench_gpt.py runs the 2,000-iteration recipe.
    "medium": TrainConfig(n_layer=4, n_head=4, d_model=128, batch_size=12, iters=MEDIUM_ITERS),
    "nopos": dataclasses.replace(_SMALL, positions=None),
}
CONFIG_NOTES = {"small": "2 layers, 4 heads, d_model 64, context 64",
                "medium": "nanoGPT's CPU recipe: 4 layers, 4 heads, d_model 128, context 64",
                "nopos": "small without positions"}


# --------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    tokenizer: CharTokenizer
    train: np.ndarray                      # (1,003,854,) token ids
    val: np.ndarray                        # (111,540,)
    source: str


@functools.lru_cache(maxsize=1)
def shakespeare() -> Data:
    """Tiny Shakespeare as token ids (``common.text.load_shakespeare``'s search order), read-only."""
    corpus = load_shakespeare()
    tok = CharTokenizer.from_text(corpus.text)
    train, val = tok.encode(corpus.train), tok.encode(corpus.val)
    for a in (train, val):
        a.flags.writeable = False
    return Data(tok, train, val, corpus.source)


def val_loss(model: GPT, val: np.ndarray, *, limit: int | None = None, dtype=np.float64) -> float:
    """Mean cross-entropy (nats per character) of ``model`` on ``val`` cut into consecutive windows of
    its block size (every character predicted once, from a context of 1 … block_size), the first
    ``limit`` windows when given. Computed on a copy of the model in ``dtype`` (float64 by default, so
    the value does not depend on the BLAS's thread count)."""
    X, Y = consecutive_windows(val, model.block_size, limit)
    m = copy_model(model, dtype)
    loss, _ = evaluate(m, X, Y, sequence_cross_entropy, metric=None, batch_size=128)
    return float(loss)


def copy_model(model: GPT, dtype=np.float32) -> GPT:
    """A new GPT with the same config and a copy of the weights, in ``dtype``."""
    m = GPT(rng=np.random.default_rng(0), dtype=dtype, **_gpt_kwargs(model.config()))
    for k, p in m.params.items():
        p[...] = model.params[k]
    return m


def _gpt_kwargs(config: dict) -> dict:
    return {k: config[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "d_model", "d_ff", "dropout",
                                   "positions", "tie_weights")}


# --------------------------------------------------------------------------------------------------------
# A training run
# --------------------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One training run: the model, its optimizer and schedule, the batch generator, and the record.
    ``step`` counts the optimizer steps done; ``val_steps``/``val_curve`` the validation losses (on the
    first ``eval_windows`` windows of the validation text) measured at those steps."""

    config: TrainConfig
    data: Data
    model: GPT
    optimizer: AdamW
    schedule: CosineLR
    model_rng: np.random.Generator          # the model's (dropout's) generator
    batch_rng: np.random.Generator          # fit's generator: the random windows
    step: int = 0
    seconds: float = 0.0                    # wall-clock seconds of training (validation included)
    cpu_seconds: float = 0.0                # the process's CPU time over the same spans
    batch_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_curve: list = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.step >= self.config.iters


def new_run(config: TrainConfig, data: Data | None = None) -> Run:
    """A fresh run: the model from ``default_rng(seed)``, the batches from ``default_rng(seed + 1)``."""
    data = shakespeare() if data is None else data
    model_rng = np.random.default_rng(config.seed)
    model = GPT(data.tokenizer.vocab_size, rng=model_rng, **config.model_kwargs())
    opt = AdamW(model, lr=config.lr, beta2=config.beta2, weight_decay=config.weight_decay)
    schedule = CosineLR(opt, config.iters, config.lr_min, warmup=config.warmup, interval="step")
    return Run(config, data, model, opt, schedule, model_rng, np.random.default_rng(config.seed + 1))


class _Record(Callback):
    """Copies each finished epoch of fit's history into the run, then calls ``on_interval(run)``."""

    def __init__(self, run: Run, on_interval=None) -> None:
        self.run, self.on_interval = run, on_interval

    def on_train_begin(self, state):
        self._seen, self._start, self._cpu = 0, time.perf_counter(), time.process_time()

    def on_epoch_end(self, state):
        run, h = self.run, state.history
        new = slice(self._seen, h.steps)
        run.batch_loss += h.batch_loss[new]
        run.lr += h.lr[new]
        run.grad_norm += h.grad_norm[new]
        run.step += h.steps - self._seen
        self._seen = h.steps
        run.val_steps.append(run.step)
        run.val_curve.append(h.val_loss[-1])
        now, cpu = time.perf_counter(), time.process_time()
        run.seconds += now - self._start
        run.cpu_seconds += cpu - self._cpu
        self._start, self._cpu = now, cpu
        if self.on_interval is not None:
            self.on_interval(run)


def train(run: Run, steps: int | None = None, *, callbacks=(), on_interval=None, verbose: bool = False) -> None:
    """Train ``run`` for ``steps`` more optimizer steps (default: to the end of its schedule), through
    ``fit`` in epochs of ``eval_interval`` steps (the last one shorter if needed). After each epoch the
    validation loss is recorded and ``on_interval(run)`` is called (the training script saves the state
    to resume from there); ``callbacks`` see the run already updated at each epoch's end. Stopping early (a callback's ``request_stop``) keeps every finished step."""
    cfg = run.config
    remaining = cfg.iters - run.step if steps is None else steps
    Xv, Yv = consecutive_windows(run.data.val, cfg.block_size, cfg.eval_windows)

    def batches(rng):
        return random_windows(run.data.train, cfg.block_size, cfg.batch_size, rng)

    while remaining > 0:
        per_epoch = min(cfg.eval_interval - run.step % cfg.eval_interval, remaining)
        epochs = 1 if per_epoch < cfg.eval_interval else remaining // cfg.eval_interval
        record = _Record(run, on_interval)
        before = run.step
        history = fit(run.model, batches=batches, steps_per_epoch=per_epoch, epochs=epochs,
                      loss_fn=sequence_cross_entropy, optimizer=run.optimizer, schedule=run.schedule,
                      clip_norm=cfg.clip, metric=None, rng=run.batch_rng, X_val=Xv, y_val=Yv,
                      callbacks=[record, *callbacks], verbose=verbose, val_batch_size=128)
        if history.stop_reason is not None:      # fit ends a stopped epoch early and still reports it
            return
        remaining -= run.step - before


# --------------------------------------------------------------------------------------------------------
# Resuming: the whole state of a run in one .npz (no pickle)
# --------------------------------------------------------------------------------------------------------

def save_run(path, run: Run) -> Path:
    """Write everything needed to continue ``run`` bitwise as if it had never stopped: the weights, the
    AdamW moments and step count, both generators' states, the record. Atomic (temporary file, rename)."""
    path = Path(path)
    arrays = {f"param:{k}": v for k, v in run.model.params.items()}
    for i, state in enumerate(run.optimizer.state):
        if "m" in state:
            arrays[f"adam_m:{i}"], arrays[f"adam_v:{i}"] = state["m"], state["v"]
    meta = {"config": dataclasses.asdict(run.config), "step": run.step, "seconds": run.seconds,
            "cpu_seconds": run.cpu_seconds,
            "adam_t": run.optimizer.t, "model_rng": run.model_rng.bit_generator.state,
            "batch_rng": run.batch_rng.bit_generator.state, "batch_loss": run.batch_loss, "lr": run.lr,
            "grad_norm": run.grad_norm, "val_steps": run.val_steps, "val_curve": run.val_curve}
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)
    return path


def load_run(path, data: Data | None = None) -> Run:
    """The run ``save_run`` wrote, ready for ``train`` to continue."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    run = new_run(TrainConfig(**meta["config"]), data)
    for k, p in run.model.params.items():
        p[...] = arrays[f"param:{k}"]
    for i, (p, _) in enumerate(run.optimizer.pairs):
        if f"adam_m:{i}" in arrays:
            run.optimizer.state[i].update(m=arrays[f"adam_m:{i}"].copy(), v=arrays[f"adam_v:{i}"].copy(),
                                          tmp=np.empty_like(p))
    run.optimizer.t = meta["adam_t"]
    run.schedule.count = meta["step"]
    run.optimizer.lr = run.schedule.lr_at(meta["step"])
    run.model_rng.bit_generator.state = meta["model_rng"]
    run.batch_rng.bit_generator.state = meta["batch_rng"]
    for k in ("step", "seconds", "cpu_seconds", "batch_loss", "lr", "grad_norm", "val_steps", "val_curve"):
        setattr(run, k, meta[k])
    return run


def _atomic_savez(path: Path, arrays: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# --------------------------------------------------------------------------------------------------------
# Shipped checkpoints
# --------------------------------------------------------------------------------------------------------

def save_checkpoint(path, model: GPT, tokenizer: CharTokenizer, meta: dict) -> Path:
    """Write ``model``'s weights as float16 with ``Layer.save`` (an ``.npz``, no pickle, written atomically;
    ``Layer.load`` reads it back with all its checks), with ``{"config", "chars", **meta}`` as the file's
    ``meta`` (``common.checkpoints.read_meta``)."""
    half = copy_model(model, np.float16)
    return half.save(path, meta={"config": model.config(), "chars": tokenizer.chars, **meta})


def checkpoint_info(path) -> dict:
    """The metadata a checkpoint carries (config, vocabulary, measured losses, training record)."""
    info = read_meta(path)
    if "config" not in info or "chars" not in info:
        raise ValueError(f"{str(path)!r} has no checkpoint metadata (it was not written by save_checkpoint)")
    return info


def load_checkpoint(path, dtype=np.float32) -> tuple[GPT, CharTokenizer, dict]:
    """(model, tokenizer, info) from a checkpoint ``save_checkpoint`` wrote; the weights are the stored
    float16 values, in ``dtype``."""
    info = checkpoint_info(path)
    model = GPT(rng=np.random.default_rng(0), dtype=dtype, **_gpt_kwargs(info["config"]))
    model.load(path)
    return model, CharTokenizer(info["chars"]), info


@functools.lru_cache(maxsize=None)
def shipped(name: str) -> tuple[GPT, CharTokenizer, dict]:
    """A shipped checkpoint by config name ("small", "medium", "nopos"), loaded once per process."""
    if name not in CONFIGS:
        raise ValueError(f"name must be one of {sorted(CONFIGS)}, got {name!r}")
    return load_checkpoint(CHECKPOINT_DIR / f"gpt_{name}.npz")


# --------------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------------

def sample_text(model: GPT, tokenizer: CharTokenizer, prompt: str, length: int, *, temperature: float = 0.8,
                top_k: int | None = None, seed: int = 0):
    """Yield ``(char, probs)`` for ``length`` characters sampled after ``prompt`` (``probs`` (V,) is the
    distribution the character was drawn from): ``GPT.stream`` with ``default_rng(seed)``."""
    ids = tokenizer.encode(prompt if prompt else "\n")[None, :]
    for token, probs in model.stream(ids, length, temperature=temperature, top_k=top_k,
                                     rng=np.random.default_rng(seed)):
        yield tokenizer.decode(token), probs[0]


def sample_string(model, tokenizer, prompt: str, length: int, **kwargs) -> str:
    """``sample_text`` joined into one string (the prompt not included)."""
    return "".join(c for c, _ in sample_text(model, tokenizer, prompt, length, **kwargs))


# --------------------------------------------------------------------------------------------------------
# The page's defaults and its default actions (tests/benchmarks/bench_pages.py times them)
# --------------------------------------------------------------------------------------------------------

#: the Generate tab's controls as the page opens (it generates with them on first load)
GENERATE_DEFAULTS = dict(prompt="ROMEO:\n", temperature=0.8, top_k=None, length=300, seed=0)
#: the Watch it learn tab's controls as the page opens
#: (100 steps: about two seconds of training on the course's machine, a sample every 25 steps, from noise
#: at step 25 to words at 50; 5·10⁻³ learned faster but its loss jumped after the warmup on some seeds)
LEARN_DEFAULTS = dict(steps=100, batch=16, lr=2e-3, every=25, seed=0)
#: characters of the sample the Watch it learn tab writes at every validation point
LEARN_SAMPLE = dict(prompt="\n", length=120, temperature=0.8)


def learn_config(steps: int, batch: int, lr: float, every: int, seed: int) -> TrainConfig:
    """The Watch it learn tab's run: the small architecture from random weights, ``steps`` steps of
    ``batch`` windows, the learning rate decaying to a tenth, a validation loss (on 32 windows) and a
    sample every ``every`` steps."""
    return dataclasses.replace(CONFIGS["small"], batch_size=int(batch), iters=int(steps), lr=float(lr),
                               lr_min=float(lr) / 10, warmup=min(100, int(steps) // 10),
                               eval_interval=int(every), eval_windows=32, seed=int(seed))


def generate_top(model: GPT, tokenizer: CharTokenizer, prompt: str, length: int, *, n: int = 10, **kwargs):
    """Yield ``(char, top)`` for ``length`` sampled characters: ``sample_text``'s characters with the ``n``
    most likely candidates of the distribution each was drawn from, ``[(char, p), …]`` (the page's bars)."""
    for char, probs in sample_text(model, tokenizer, prompt, length, **kwargs):
        top = np.argsort(-probs, kind="stable")[:n]
        yield char, [(tokenizer.chars[j], float(probs[j])) for j in top]


def _generate_with_defaults() -> None:
    """What the Generate tab computes on arrival: both models, the default settings, the bars' top 10."""
    s = GENERATE_DEFAULTS
    for name in ("small", "medium"):
        model, tok, _ = shipped(name)
        for _ in generate_top(model, tok, s["prompt"], s["length"], temperature=s["temperature"],
                              top_k=s["top_k"], seed=s["seed"]):
            pass


def _train_with_defaults() -> None:
    """Watch it learn's Train button with the default settings: the run and a sample at each validation point."""
    run = new_run(learn_config(**LEARN_DEFAULTS))
    tok = run.data.tokenizer
    train(run, on_interval=lambda r: sample_string(r.model, tok, **LEARN_SAMPLE))


def _measure_tokens_per_second() -> None:
    """Size and cost's measurement (also made on the tab's first opening): both models, training and forward."""
    import gpt_inside
    for name in ("small", "medium"):
        model = shipped(name)[0]
        gpt_inside.tokens_per_second(model, 12, 2)
        gpt_inside.tokens_per_second(model, 12, 2, training=False)


PAGE_ACTIONS = {
    "Generate: 300 characters from both models (first load, or the Generate button)": _generate_with_defaults,
    f"Watch it learn: Train ({LEARN_DEFAULTS['steps']} steps of batch {LEARN_DEFAULTS['batch']})": _train_with_defaults,
    "Size and cost: Measure tokens per second": _measure_tokens_per_second,
}
