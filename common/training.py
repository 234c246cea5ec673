"""The one training loop: ``fit``, with ``History``, ``evaluate`` and callbacks.

``fit`` trains any ``Layer`` with a loss function, on arrays or on a batch generator:

- **arrays** (``fit(model, X, y, epochs=…)``): each epoch a permutation of the rows made by the
  ``numpy.random.Generator`` passed in, cut into mini-batches without replacement. ``batch_size=None`` is
  full-batch gradient descent; ``batch_size=1`` is pure stochastic gradient descent.
- **a generator** (``fit(model, batches=fn, steps_per_epoch=S, epochs=E)``): ``fn(rng)`` returns one
  batch ``(xb, yb)`` or ``(xb, yb, extra_inputs)`` per call: a sentence length drawn per batch
  (chapters 08–09), random windows of a text (chapter 10). ``extra_inputs`` is a dict passed to
  ``model.forward`` by keyword (the sequence contract of ``common.layers``).

Each step is ``out = model.forward(xb, training=True)``, ``loss, dout = loss_fn(out, yb)``,
``optimizer.zero_grad()``, ``model.backward_params(dout)``, optional gradient clipping to a global norm,
``optimizer.step()``, and a learning-rate schedule's ``step()`` (after every step or every epoch, as the
schedule says). The same generator seed gives bitwise the same history (all but the timings).

Callbacks see a ``TrainingState`` after every batch and every epoch and may ask the loop to stop with
``state.request_stop(reason)``: that is how early stopping, a playground's Stop button, live curves and
progress bars plug in without the loop knowing about them.

>>> import numpy as np
>>> from common import Adam, Dense, Sequential, Tanh, binary_cross_entropy_with_logits, datasets
>>> X, y = datasets.xor()
>>> rng = np.random.default_rng(0)
>>> model = Sequential(Dense(2, 8, rng, init="xavier_normal"), Tanh(), Dense(8, 1, rng, init="xavier_normal"))
>>> history = fit(model, X, y, loss_fn=binary_cross_entropy_with_logits, optimizer=Adam(model, lr=0.05),
...               epochs=300, batch_size=None, rng=rng)
>>> history.epochs, history.train_acc[-1]
(300, 1.0)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import (check_array, check_callable, check_float_array, check_generator, check_positive,
                          check_positive_int)
from .layers import Layer
from .optimizers import Optimizer, clip_grad_norm


#: Binary logits closer to zero than this are "undecided" for ``accuracy``.
UNDECIDED = 1e-9


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct predictions from raw model outputs.

    (N, C) with C > 1: the predicted class is the argmax. (N,) or (N, 1): a binary logit, predicted 1
    where it is > 0 (σ(z) > ½) and 0 where it is < 0. A logit within ``UNDECIDED`` of zero is no decision
    and counts as wrong: a stuck, symmetric network outputs σ(0) = ½ up to round-off, and the sign of
    that round-off must not earn it marks. (…, C) with labels (…): the argmax over the last axis, every
    position counted (a sequence model's per-token accuracy).
    """
    logits = check_float_array("logits", logits)
    if y is None:
        raise ValueError("y must be an array of labels, got None")
    y = check_array("y", y)
    if logits.ndim == 0 or len(logits) == 0:
        raise ValueError(f"logits must have at least one row, got shape {logits.shape}: the accuracy of no "
                         "predictions is undefined")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must hold labels (integers, or 0/1 targets), got dtype {y.dtype}")
    if logits.ndim >= 3:
        if y.shape != logits.shape[:-1]:
            raise ValueError(f"y must have shape {logits.shape[:-1]} (one label per position of logits "
                             f"{logits.shape}), got {y.shape}")
        return float(np.mean(logits.argmax(axis=-1) == y))
    n = len(logits)
    if y.shape not in ((n,), (n, 1)):
        raise ValueError(f"y must have shape ({n},) (one label per row of logits {logits.shape}), got {y.shape}")
    if logits.ndim == 2 and logits.shape[1] > 1:
        pred = logits.argmax(axis=1)
    else:
        z = logits.reshape(len(logits))
        pred = np.where(z > UNDECIDED, 1, np.where(z < -UNDECIDED, 0, -1))
    return float(np.mean(pred == y.reshape(len(y))))


@dataclass
class History:
    """Per-epoch record of a run. ``val_*`` stay empty when no validation set is given."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)   # seconds spent in that epoch
    wall_time: list[float] = field(default_factory=list)    # seconds since fit started, at epoch end
    batch_loss: list[float] = field(default_factory=list)   # every mini-batch's loss, in order
    batch_metric: list[float] = field(default_factory=list) # every mini-batch's metric (training mode)
    grad_norm: list[float] = field(default_factory=list)    # global gradient norm before clipping, per step
    lr: list[float] = field(default_factory=list)           # learning rate used at each step (with a schedule)
    stop_reason: str | None = None
    best_epoch: int | None = None                          # 0-based, set by EarlyStopping

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def steps(self) -> int:
        return len(self.batch_loss)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class TrainingState:
    """What callbacks see. ``step`` counts mini-batches from 1 across the whole run."""

    model: object
    history: History
    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    batch_loss: float = float("nan")
    grad_norm: float = float("nan")
    out: object = None                 # the last batch's model output and targets (for per-batch records)
    target: object = None
    stop_requested: bool = False
    has_validation: bool = False       # whether the run records val_loss/val_acc (X_val given)
    has_metric: bool = True            # whether it records train_acc/val_acc (metric not None)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def request_stop(self, reason: str) -> None:
        self.stop_requested = True
        if self.history.stop_reason is None:
            self.history.stop_reason = reason


class Callback:
    """Override any of these; each gets the ``TrainingState``."""

    def on_train_begin(self, state: TrainingState) -> None: ...
    def on_batch_end(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...


class ProgressCallback(Callback):
    """Calls ``report(fraction_done, message)``: at most every ``min_interval`` seconds during an epoch,
    and at the end of every epoch. A playground passes a function that updates ``st.progress``."""

    def __init__(self, report, min_interval: float = 0.1) -> None:
        check_callable("report", report, "(fraction_done, message) -> None")
        check_positive("min_interval", min_interval, allow_zero=True)
        self.report, self.min_interval = report, min_interval
        self._last = 0.0

    def on_batch_end(self, state):
        now = time.perf_counter()
        if now - self._last >= self.min_interval:
            self._last = now
            self.report(state.step / state.total_steps,
                        f"epoch {state.epoch + 1}/{state.epochs} · batch loss {state.batch_loss:.4f}")

    def on_epoch_end(self, state):
        h = state.history
        msg = f"epoch {state.epoch + 1}/{state.epochs} · train loss {h.train_loss[-1]:.4f}"
        if h.val_acc:
            msg += f" · val acc {h.val_acc[-1]:.2%}"
        self.report(min(1.0, state.step / state.total_steps), msg)


class StopWhen(Callback):
    """Stop after the current batch once ``should_stop()`` returns True (e.g. a Stop button's flag)."""

    def __init__(self, should_stop, reason: str = "stop requested") -> None:
        check_callable("should_stop", should_stop, "() -> bool")
        self.should_stop, self.reason = should_stop, reason

    def on_batch_end(self, state):
        if self.should_stop():
            state.request_stop(self.reason)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs, and (by default)
    put back the weights of the best epoch, so the model you get is the one that scored best.

    ``monitor`` is a ``History`` field: "val_loss" (lower is better) or "val_acc" (higher is better),
    or their train counterparts.
    """

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        check_positive_int("patience", patience)
        if monitor not in ("val_loss", "val_acc", "train_loss", "train_acc"):
            raise ValueError(f"monitor must be one of val_loss, val_acc, train_loss, train_acc, got {monitor!r}")
        check_positive("min_delta", min_delta, allow_zero=True)
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self._sign = -1.0 if monitor.endswith("loss") else 1.0

    def on_train_begin(self, state):
        # Checked here, before the first step, rather than at the end of the first epoch.
        if self.monitor.startswith("val_") and not state.has_validation:
            raise ValueError(f"EarlyStopping monitors {self.monitor}, which this run does not record "
                             "(pass X_val and y_val to fit, or monitor='train_loss')")
        if self.monitor.endswith("_acc") and not state.has_metric:
            raise ValueError(f"EarlyStopping monitors {self.monitor}, but fit has metric=None")
        self.best, self.best_epoch, self.wait, self._snapshot = -np.inf, None, 0, None

    def on_epoch_end(self, state):
        values = getattr(state.history, self.monitor)
        if not values:
            raise ValueError(f"EarlyStopping monitors {self.monitor}, which this run does not record "
                             "(pass X_val and y_val to fit)")
        score = self._sign * values[-1]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, state.epoch, 0
            state.history.best_epoch = state.epoch
            if self.restore_best:
                self._snapshot = _snapshot(state.model)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.request_stop(f"early stopping: no {self.monitor} improvement for {self.patience} epochs")

    def on_train_end(self, state):
        if self.restore_best and self._snapshot is not None:
            _restore(state.model, self._snapshot)


def _snapshot(model: Layer) -> list[np.ndarray]:
    return [a.copy() for a in (*model.params.values(), *model.buffers.values())]


def _restore(model: Layer, saved: list[np.ndarray]) -> None:
    for target, value in zip((*model.params.values(), *model.buffers.values()), saved):
        target[...] = value


class Live(Callback):
    """What a page needs to show a run while it trains, in one callback.

    ``on_begin(state)`` is called once when training starts (keep ``state.history`` and ``state.model``
    in the page's session state: they are the live objects, so a Stop or a rerun keeps every epoch that
    finished). ``on_update(state)`` is called at the end of every epoch and, within an epoch, every
    ``every_steps`` steps (when given) but never more often than every ``min_interval`` seconds: redraw
    the curves there.
    """

    def __init__(self, on_begin=None, on_update=None, *, every_steps: int | None = None,
                 min_interval: float = 0.25) -> None:
        if every_steps is not None:
            check_positive_int("every_steps", every_steps)
        check_positive("min_interval", min_interval, allow_zero=True)
        check_callable("on_begin", on_begin, "(state) -> None", allow_none=True)
        check_callable("on_update", on_update, "(state) -> None", allow_none=True)
        self.on_begin, self.on_update = on_begin, on_update
        self.every_steps, self.min_interval = every_steps, min_interval
        self._last = -np.inf

    def on_train_begin(self, state):
        self._last = -np.inf
        if self.on_begin is not None:
            self.on_begin(state)

    def on_batch_end(self, state):
        if self.on_update is None or self.every_steps is None or state.step % self.every_steps:
            return
        now = time.perf_counter()
        if now - self._last >= self.min_interval:
            self._last = now
            self.on_update(state)

    def on_epoch_end(self, state):
        if self.on_update is not None:
            self._last = time.perf_counter()
            self.on_update(state)


class ConsoleProgress(Callback):
    """Progress the way Keras and PyTorch users expect (``fit(verbose=...)``).

    With a few epochs (at most ``max_epoch_lines``): a bar with the epoch, the step, the batch loss and
    an ETA, redrawn in place at most every ``min_interval`` seconds, then one summary line per epoch
    (train loss and accuracy, validation loss and accuracy, time), as Keras prints. With many short
    epochs (full-batch XOR for 2,000 epochs) one line per epoch would be a wall of text, so a single bar
    runs over the whole training instead (tqdm's habit) and one summary line closes it.

    ``live=True`` redraws the bar with a carriage return, which is what a terminal shows well;
    ``live=False`` writes only the summary lines (a log file or a pipe, where every ``\\r`` frame would
    stay). ``NotebookProgress`` draws the same lines in a Jupyter notebook."""

    def __init__(self, stream=None, width: int = 24, min_interval: float = 0.1, *, live: bool = True,
                 max_epoch_lines: int = 20) -> None:
        self.stream, self.width, self.min_interval, self.live = stream, width, min_interval, live
        self.max_epoch_lines = max_epoch_lines
        self._last, self._start, self._epoch_start, self._shown = -np.inf, 0.0, 0.0, 0
        self._per_epoch = True

    # ---- what is drawn (shared with NotebookProgress) -------------------------------------------------
    def _bar(self, done: int, total: int, since: float) -> tuple[str, str]:
        frac = min(1.0, done / total)
        full = int(frac * self.width)
        elapsed = time.perf_counter() - since
        eta = elapsed / done * (total - done) if done else float("nan")
        return f"{'█' * full}{'·' * (self.width - full)} {done}/{total}", f"ETA {eta:.1f} s"

    def _line(self, state) -> str:
        if self._per_epoch:
            bar, eta = self._bar(state.step - state.epoch * state.steps_per_epoch, state.steps_per_epoch,
                                 self._epoch_start)
            return f"epoch {state.epoch + 1}/{state.epochs} {bar} · loss {state.batch_loss:.4f} · {eta}"
        bar, eta = self._bar(state.step, state.total_steps, self._start)
        return f"epoch {state.epoch + 1}/{state.epochs} {bar} steps · loss {state.batch_loss:.4f} · {eta}"

    def _summary(self, state, final: bool = False) -> str:
        h = state.history
        if not h.train_loss:
            return f"stopped after {state.step} steps, before the first epoch ended · {time.perf_counter() - self._start:.1f} s"
        msg = f"epoch {h.epochs}/{state.epochs} · train loss {h.train_loss[-1]:.4f}"
        if h.train_acc and not np.isnan(h.train_acc[-1]):
            msg += f" · train acc {h.train_acc[-1]:.2%}"
        if h.val_loss:
            msg += f" · val loss {h.val_loss[-1]:.4f}"
        if h.val_acc and not np.isnan(h.val_acc[-1]):
            msg += f" · val acc {h.val_acc[-1]:.2%}"
        if final:
            return f"{msg} · {h.epochs} epoch{'s' if h.epochs != 1 else ''} in {h.wall_time[-1]:.1f} s"
        return f"{msg} · {h.epoch_time[-1]:.1f} s"

    # ---- where it is drawn ---------------------------------------------------------------------------
    def _draw(self, text: str) -> None:
        """Redraw the live line."""
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write("\r" + text.ljust(self._shown))    # pad over what a longer frame left
        stream.flush()
        self._shown = len(text)

    def _print(self, text: str) -> None:
        """A line that stays (it replaces the live line, if one is drawn)."""
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(("\r" + text.ljust(self._shown) if self._shown else text) + "\n")
        stream.flush()
        self._shown = 0

    # ---- the callback --------------------------------------------------------------------------------
    def on_train_begin(self, state):
        self._start = self._epoch_start = time.perf_counter()
        self._last, self._shown = -np.inf, 0
        self._per_epoch = state.epochs <= self.max_epoch_lines

    def _tick(self, state) -> None:
        now = time.perf_counter()
        if self.live and now - self._last >= self.min_interval:
            self._last = now
            self._draw(self._line(state))

    def on_batch_end(self, state):
        self._tick(state)

    def on_epoch_end(self, state):
        if self._per_epoch:
            self._print(self._summary(state))
        else:
            self._tick(state)
        self._epoch_start = time.perf_counter()

    def on_train_end(self, state):
        if not self._per_epoch or not state.history.train_loss:
            self._print(self._summary(state, final=True))
        elif self._shown:                       # stopped part-way through an epoch: end the bar's line
            self._print("")


class NotebookProgress(ConsoleProgress):
    """``ConsoleProgress`` in a Jupyter notebook (JupyterLab, Notebook, VS Code): the live line is an
    output updated in place through an IPython display handle, so the saved notebook keeps only the
    summary lines (a ``\\r`` bar on stderr would be kept frame by frame, on a red background)."""

    def __init__(self, width: int = 24, min_interval: float = 0.2, *, live: bool = True,
                 max_epoch_lines: int = 20) -> None:
        super().__init__(None, width, min_interval, live=live, max_epoch_lines=max_epoch_lines)
        self._handle = None

    def _show(self, text: str):
        from IPython.display import display

        data = {"text/plain": text}
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)

    def _draw(self, text: str) -> None:
        self._show(text)

    def _print(self, text: str) -> None:
        if text:
            self._show(text)
        self._handle = None                     # the next line is a new output

    def on_train_begin(self, state):
        super().on_train_begin(state)
        self._handle = None


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (ipykernel: JupyterLab, Notebook, VS Code, nbclient), not in a
    terminal IPython."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:                          # an IPython too broken to ask: treat as a plain process
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _in_server_or_test() -> bool:
    """A Streamlit server or a pytest run: their stderr may be a terminal, but a bar there is noise."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return True
    streamlit = sys.modules.get("streamlit")
    if streamlit is not None:
        try:
            from streamlit import runtime
            return bool(runtime.exists())
        except Exception:
            return False
    return False


def progress_callback(verbose) -> Callback | None:
    """The progress display ``fit(verbose=...)`` adds.

    ``"auto"`` (the default): a bar in a Jupyter kernel or when standard error is a terminal; nothing in
    a Streamlit server, under pytest, or when stderr goes to a file or a pipe. ``True`` (or Keras's 1):
    always, as a bar, or as one line per epoch where stderr is not a terminal. ``2``: one line per epoch
    only (Keras's ``verbose=2``). ``False`` (or 0): never.
    """
    if isinstance(verbose, str):
        if verbose != "auto":
            raise ValueError(f"verbose must be 'auto', True, False, 0, 1 or 2, got {verbose!r}")
    elif not (isinstance(verbose, (bool, np.bool_)) or (isinstance(verbose, (int, np.integer)) and 0 <= verbose <= 2)):
        raise ValueError(f"verbose must be 'auto', True, False, 0, 1 or 2, got {verbose!r}")
    if verbose is not True and verbose != "auto" and not verbose:
        return None
    notebook = _in_notebook()
    if verbose == 2:
        return NotebookProgress(live=False) if notebook else ConsoleProgress(live=False)
    if notebook:
        return NotebookProgress()
    try:
        tty = bool(sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):     # no stderr, a closed one, or a stand-in without isatty
        tty = False
    if verbose == "auto":
        return ConsoleProgress() if tty and not _in_server_or_test() else None
    return ConsoleProgress(live=tty)


def evaluate(model, X, y, loss_fn, metric=accuracy, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, metric) of ``model`` in evaluation mode, computed in batches of rows. ``metric=None``
    gives NaN for the metric."""
    if not isinstance(model, Layer):
        raise ValueError(f"model must be a Layer (common.layers.Layer), got {type(model).__name__}")
    check_callable("loss_fn", loss_fn, "(out, y) -> (loss, dout)")
    check_callable("metric", metric, "(out, y) -> float, or None", allow_none=True)
    check_positive_int("batch_size", batch_size)
    X, y = check_array("X", X), check_array("y", y)
    if X.ndim == 0:
        raise ValueError(f"X must have a row axis, got a scalar {X!r}")
    if y.ndim == 0:
        raise ValueError(f"y must have a row axis, got a scalar {y!r}")
    if len(X) == 0:
        raise ValueError("X must have at least one row to evaluate on")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    total_loss, outputs = 0.0, []
    for i in range(0, len(X), batch_size):
        out = model.forward(X[i:i + batch_size], training=False)
        loss, _ = loss_fn(out, y[i:i + batch_size])
        total_loss += loss * len(out)
        if metric is not None:
            outputs.append(out)
    score = metric(np.concatenate(outputs), y) if metric is not None else float("nan")
    return total_loss / len(X), score


def _array_batches(X, y, bs, rng):
    """One epoch of mini-batches of the rows of X, y: a permutation from ``rng``, cut in order."""
    n = len(X)
    order = rng.permutation(n)
    for b in range(-(-n // bs)):
        idx = order[b * bs:(b + 1) * bs]
        yield X[idx], y[idx], None


def _generated_batches(batches, steps, rng):
    for _ in range(steps):
        batch = batches(rng)
        if not isinstance(batch, tuple) or len(batch) not in (2, 3):
            raise ValueError("batches(rng) must return (xb, yb) or (xb, yb, extra_inputs), "
                             f"got {type(batch).__name__}")
        xb, yb = batch[0], batch[1]
        extra = batch[2] if len(batch) == 3 else None
        if extra is not None and not isinstance(extra, dict):
            raise ValueError(f"the third item of a batch must be a dict of extra inputs, got {type(extra).__name__}")
        yield xb, yb, extra


def fit(model, X=None, y=None, *, loss_fn, optimizer, epochs: int, rng: np.random.Generator,
        batch_size: int | None = 32, batches=None, steps_per_epoch: int | None = None,
        X_val=None, y_val=None, metric=accuracy, callbacks=(), eval_train: bool = False,
        clip_norm: float | None = None, schedule=None, val_batch_size: int = 1024,
        verbose: bool | str = "auto") -> History:
    """Train ``model`` in place and return its ``History``.

    Shapes: X: (N, ...); y: (N,) or (N, ...); X_val/y_val likewise. With ``batches`` instead of X, y:
    ``batches(rng)`` returns one batch per call and ``steps_per_epoch`` says how many make an epoch (the
    points where validation, callbacks' ``on_epoch_end`` and per-epoch schedules run).

    ``train_loss``/``train_acc`` are the means over the epoch's mini-batches (in training mode, so with
    dropout active); with ``eval_train=True`` they are recomputed on the whole training set in evaluation
    mode at the end of each epoch instead, which is what a generalization-gap plot wants.
    ``metric=None`` skips the metric (NaN in the history).

    ``clip_norm`` rescales all gradients together to that global norm when they exceed it (the norm
    before clipping is recorded per step in ``history.grad_norm``). ``schedule`` is a learning-rate
    schedule built on ``optimizer`` (``StepLR``, ``CosineLR``); its ``interval`` says whether it steps
    after every optimizer step or every epoch, and the rate each step used is in ``history.lr``.
    ``verbose`` shows progress: a bar with the epoch, step, loss and ETA, then one line per epoch.
    ``"auto"`` (the default) shows it in a Jupyter notebook or a terminal and stays quiet in a Streamlit
    server, under pytest and when stderr is redirected; ``True`` forces it, ``False`` turns it off
    (``progress_callback`` has the rules).
    """
    if not isinstance(model, Layer):
        raise ValueError(f"model must be a Layer (common.layers.Layer), got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a function (out, y) -> (loss, dout), got {loss_fn!r}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a common.optimizers optimizer (SGD, Adam, …), got {optimizer!r}")
    check_positive_int("epochs", epochs)
    check_generator("rng", rng)
    check_positive_int("val_batch_size", val_batch_size)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    if schedule is not None and getattr(schedule, "optimizer", None) is not optimizer:
        raise ValueError("schedule must be built on the optimizer passed to fit (e.g. CosineLR(optimizer, …))")
    if metric is not None and not callable(metric):
        raise ValueError(f"metric must be a function (out, y) -> float or None, got {metric!r}")
    if callbacks is None:
        callbacks = ()
    if isinstance(callbacks, (Callback, str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise ValueError(f"callbacks must be a list of Callback objects (callbacks=[...]), got {callbacks!r}")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if isinstance(cb, type) and issubclass(cb, Callback):
            raise ValueError(f"callbacks[{i}] is the class {cb.__name__}, not a callback: write {cb.__name__}(...)")
        if not isinstance(cb, Callback):
            raise ValueError(f"callbacks[{i}] must be a common.training.Callback, got {type(cb).__name__}")
    if batches is None:
        if X is None or y is None:
            raise ValueError("fit needs X and y (arrays) or batches (a function rng -> batch)")
        if steps_per_epoch is not None:
            raise ValueError("steps_per_epoch goes with batches=; with arrays an epoch is one pass over X")
        X, y = check_array("X", X), check_array("y", y)
        if X.ndim == 0:
            raise ValueError(f"X must have a row axis, got a scalar {X!r}")
        if y.ndim == 0:
            raise ValueError(f"y must have a row axis, got a scalar {y!r}")
        if len(X) != len(y):
            raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
        if len(X) == 0:
            raise ValueError("X must have at least one row")
        bs = len(X) if batch_size is None else min(batch_size, len(X))
        steps_per_epoch = -(-len(X) // bs)
        epoch_batches = lambda: _array_batches(X, y, bs, rng)
    else:
        if X is not None or y is not None:
            raise ValueError("pass either X and y or batches, not both")
        if not callable(batches):
            raise ValueError(f"batches must be a function rng -> (xb, yb[, extra_inputs]), got {batches!r}")
        if steps_per_epoch is None:
            raise ValueError("steps_per_epoch must be given with batches (how many batches make an epoch)")
        check_positive_int("steps_per_epoch", steps_per_epoch)
        if eval_train:
            raise ValueError("eval_train needs the training arrays X and y, not a batch generator")
        epoch_batches = lambda: _generated_batches(batches, steps_per_epoch, rng)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val, y_val = check_array("X_val", X_val), check_array("y_val", y_val)
        if X_val.ndim == 0 or y_val.ndim == 0:
            raise ValueError(f"X_val and y_val must have a row axis, got shapes {X_val.shape} and {y_val.shape}")
        if len(X_val) != len(y_val):
            raise ValueError(f"X_val and y_val must have the same number of rows, got {len(X_val)} and {len(y_val)}")
        if len(X_val) == 0:
            raise ValueError("X_val must have at least one row")
    progress = progress_callback(verbose)
    if progress is not None:
        callbacks.append(progress)

    history = History()
    state = TrainingState(model=model, history=history, epochs=epochs, steps_per_epoch=steps_per_epoch,
                          has_validation=X_val is not None, has_metric=metric is not None)
    per_step = schedule is not None and getattr(schedule, "interval", "epoch") == "step"
    for cb in callbacks:
        cb.on_train_begin(state)
    # Only the callbacks that do something after a batch are called there (most act per epoch).
    batch_callbacks = [cb for cb in callbacks
                       if getattr(cb.on_batch_end, "__func__", None) is not Callback.on_batch_end]

    start = time.perf_counter()
    for epoch in range(epochs):
        state.epoch = epoch
        epoch_start = time.perf_counter()
        loss_sum, metric_sum, seen = 0.0, 0.0, 0
        for xb, yb, extra in epoch_batches():
            out = model.forward(xb, training=True, **(extra or {}))
            loss, dout = loss_fn(out, yb)
            optimizer.zero_grad()
            model.backward_params(dout)
            if clip_norm is not None:
                state.grad_norm = clip_grad_norm(optimizer.pairs, clip_norm)
                history.grad_norm.append(state.grad_norm)
            if schedule is not None:
                history.lr.append(optimizer.lr)
            optimizer.step()
            if per_step:
                schedule.step()
            n = len(xb)
            loss_sum += loss * n
            if metric is not None and not eval_train:
                m = metric(out, yb)
                metric_sum += m * n
                history.batch_metric.append(m)
            seen += n
            history.batch_loss.append(loss)
            state.step += 1
            state.batch_loss, state.out, state.target = loss, out, yb
            for cb in batch_callbacks:
                cb.on_batch_end(state)
            if state.stop_requested:
                break
        if seen == 0:
            break
        if eval_train:
            tl, ta = evaluate(model, X, y, loss_fn, metric, val_batch_size)
        else:
            tl, ta = loss_sum / seen, (metric_sum / seen if metric is not None else float("nan"))
        history.train_loss.append(float(tl))
        history.train_acc.append(float(ta))
        if X_val is not None:
            vl, va = evaluate(model, X_val, y_val, loss_fn, metric, val_batch_size)
            history.val_loss.append(float(vl))
            history.val_acc.append(float(va))
        if schedule is not None and not per_step:
            schedule.step()
        now = time.perf_counter()
        history.epoch_time.append(now - epoch_start)
        history.wall_time.append(now - start)
        was_stopping = state.stop_requested
        for cb in callbacks:
            cb.on_epoch_end(state)
        if was_stopping or state.stop_requested:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return history
