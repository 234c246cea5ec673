"""The training loop: ``fit`` with mini-batches, evaluation each epoch, a ``History`` and callbacks.

Mini-batches are drawn without replacement from a permutation made by the ``numpy.random.Generator``
passed in, so the same generator seed gives bitwise the same history (all but the timings).
``batch_size=None`` is full-batch gradient descent; ``batch_size=1`` is pure stochastic gradient descent.

Callbacks see a ``TrainingState`` after every batch and every epoch and may ask the loop to stop with
``state.request_stop(reason)``: that is how early stopping, a playground's Stop button and progress bars
plug in without the loop knowing about them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_array, check_generator, check_positive, check_positive_int
from .layers import Sequential


#: Binary logits closer to zero than this are "undecided" for ``accuracy``.
UNDECIDED = 1e-9


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct predictions from raw model outputs.

    (N, C) with C > 1: the predicted class is the argmax. (N,) or (N, 1): a binary logit, predicted 1
    where it is > 0 (σ(z) > ½) and 0 where it is < 0. A logit within ``UNDECIDED`` of zero is no decision
    and counts as wrong: a stuck, symmetric network outputs σ(0) = ½ up to round-off, and the sign of
    that round-off must not earn it marks.
    """
    logits = np.asarray(logits)
    y = np.asarray(y)
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
    stop_reason: str | None = None
    best_epoch: int | None = None                          # 0-based, set by EarlyStopping

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

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
    stop_requested: bool = False

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


def _snapshot(model) -> list[np.ndarray]:
    arrays = [p for p, _ in model.parameters()] + list(getattr(model, "buffers", {}).values())
    return [a.copy() for a in arrays]


def _restore(model, saved: list[np.ndarray]) -> None:
    arrays = [p for p, _ in model.parameters()] + list(getattr(model, "buffers", {}).values())
    for target, value in zip(arrays, saved):
        target[...] = value


def evaluate(model, X, y, loss_fn, metric=accuracy, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, metric) of ``model`` in evaluation mode, computed in batches."""
    check_positive_int("batch_size", batch_size)
    total_loss, outputs = 0.0, []
    for i in range(0, len(X), batch_size):
        out = model.forward(X[i:i + batch_size], training=False)
        loss, _ = loss_fn(out, y[i:i + batch_size])
        total_loss += loss * len(out)
        outputs.append(out)
    out = np.concatenate(outputs)
    return total_loss / len(X), metric(out, y)


def fit(model, X, y, *, loss_fn, optimizer, epochs: int, rng: np.random.Generator,
        batch_size: int | None = 32, X_val=None, y_val=None, metric=accuracy,
        callbacks=(), eval_train: bool = False) -> History:
    """Train ``model`` in place and return its ``History``.

    Shapes: X: (N, ...); y: (N,) or (N, K); X_val/y_val likewise.

    Each step: ``out = model.forward(xb, training=True)``, ``loss, dout = loss_fn(out, yb)``,
    ``optimizer.zero_grad()``, ``model.backward(dout)``, ``optimizer.step()``.

    ``train_loss``/``train_acc`` are the means over the epoch's mini-batches (in training mode, so with
    dropout active); with ``eval_train=True`` they are recomputed on the whole training set in evaluation
    mode at the end of each epoch instead, which is what a generalization-gap plot wants.
    """
    X = check_array("X", X)
    y = check_array("y", y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError("X must have at least one row")
    check_positive_int("epochs", epochs)
    check_generator("rng", rng)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None and len(X_val) != len(y_val):
        raise ValueError(f"X_val and y_val must have the same number of rows, got {len(X_val)} and {len(y_val)}")

    # A Sequential can skip the gradient with respect to the data, which training never uses.
    skip_input_grad = isinstance(model, Sequential)
    n = len(X)
    bs = n if batch_size is None else min(batch_size, n)
    steps_per_epoch = -(-n // bs)
    history = History()
    state = TrainingState(model=model, history=history, epochs=epochs, steps_per_epoch=steps_per_epoch)
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_train_begin(state)

    start = time.perf_counter()
    for epoch in range(epochs):
        state.epoch = epoch
        epoch_start = time.perf_counter()
        order = rng.permutation(n)
        loss_sum, metric_sum, seen = 0.0, 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * bs:(b + 1) * bs]
            xb, yb = X[idx], y[idx]
            out = model.forward(xb, training=True)
            loss, dout = loss_fn(out, yb)
            optimizer.zero_grad()
            if skip_input_grad:
                model.backward(dout, input_grad=False)
            else:
                model.backward(dout)
            optimizer.step()
            loss_sum += loss * len(idx)
            if not eval_train:
                metric_sum += metric(out, yb) * len(idx)
            seen += len(idx)
            history.batch_loss.append(loss)
            state.step += 1
            state.batch_loss = loss
            for cb in callbacks:
                cb.on_batch_end(state)
            if state.stop_requested:
                break
        if seen == 0:
            break
        if eval_train:
            tl, ta = evaluate(model, X, y, loss_fn, metric)
        else:
            tl, ta = loss_sum / seen, metric_sum / seen
        history.train_loss.append(float(tl))
        history.train_acc.append(float(ta))
        if X_val is not None:
            vl, va = evaluate(model, X_val, y_val, loss_fn, metric)
            history.val_loss.append(float(vl))
            history.val_acc.append(float(va))
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
