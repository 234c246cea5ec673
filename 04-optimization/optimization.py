"""Chapter 04: optimizers, on MNIST and on 2-D loss landscapes, through the same classes.

Every optimizer here is one of ``common.optimizers`` (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam,
AdamW). The MNIST race gives each optimizer a copy of the *same* initial network and the *same* order of
mini-batches, so the only difference between two curves is the update rule (and its learning rate). The
2-D trajectories run the very same classes on a parameter array of shape (2,): a point on a loss surface
is just a tiny network with two weights.

What this chapter adds to ``common``:

- ``race``: MNIST training of several optimizers from one initialisation;
- the 2-D test functions (ill-conditioned bowl, Rosenbrock, a saddle, four tilted wells) with their
  gradients, ``trajectory`` and the path diagnostics (zig-zags, overshoots, stalls);
- the gradient-noise measurements behind "batch vs stochastic vs mini-batch": the exact variance of a
  mini-batch gradient from per-sample gradients, a Monte-Carlo estimate, time per update;
- ``ewma`` with and without bias correction, and ``AdamNoBiasCorrection`` to show why Adam needs it.

Shapes: X: (N, 784) images in [0, 1]; y: (N,) labels; a 2-D point p: (2,).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from common._validation import (check_array, check_choice, check_generator, check_in_range, check_positive,
                                check_positive_int)
from common.activations import ReLU
from common.layers import Dense, Sequential
from common.losses import softmax_cross_entropy
from common.optimizers import DEFAULT_LR, OPTIMIZERS, Adam
from common.optimizers import get as get_optimizer
from common.training import History, fit

OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)

#: Batch sizes the playground offers; ``None`` is full-batch gradient descent.
BATCH_SIZES: tuple[int | None, ...] = (1, 16, 32, 64, 128, None)


# ------------------------------------------------------------------------------------------ MNIST race

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
    ``callbacks_for(name)`` returns extra callbacks for that run (progress bars, a stop flag, keeping
    partial results).
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


# ---------------------------------------------------------------------------- 2-D loss landscapes

@dataclass(frozen=True)
class Function2D:
    """A loss surface over two parameters.

    ``f(p)`` and ``grad(p)`` take p: (..., 2) and return (...) and (..., 2), so the same functions draw
    a contour grid and drive an optimizer. ``minima`` are the local minima, the global one first.
    ``lrs`` are learning rates that make each optimizer behave sensibly on this surface.
    """

    key: str
    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    lrs: dict[str, float]
    steps: int
    about: str


BOWL_KAPPA = 20.0


def _bowl(p):
    p = np.asarray(p, dtype=np.float64)
    return 0.5 * (p[..., 0] ** 2 + BOWL_KAPPA * p[..., 1] ** 2)


def _bowl_grad(p):
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], BOWL_KAPPA * p[..., 1]], axis=-1)


def _rosenbrock(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], axis=-1)


def _saddle(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return x * x + 0.25 * y ** 4 - 0.5 * y * y


def _saddle_grad(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return np.stack([2 * x, y ** 3 - y], axis=-1)


WELL_TILT = (0.5, 0.3)


def _wells(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return x ** 4 - 2 * x * x + WELL_TILT[0] * x + y ** 4 - 2 * y * y + WELL_TILT[1] * y


def _wells_grad(p):
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return np.stack([4 * x ** 3 - 4 * x + WELL_TILT[0], 4 * y ** 3 - 4 * y + WELL_TILT[1]], axis=-1)


def _well_roots(tilt: float) -> tuple[float, float]:
    """The two minima of x⁴ - 2x² + c·x (roots of 4x³ - 4x + c with positive curvature), deeper first."""
    roots = np.sort(np.real(np.roots([4.0, 0.0, -4.0, tilt])))
    lo, hi = float(roots[0]), float(roots[2])
    g = lambda x: x ** 4 - 2 * x * x + tilt * x  # noqa: E731
    return (lo, hi) if g(lo) <= g(hi) else (hi, lo)


def _wells_minima() -> tuple[tuple[float, float], ...]:
    xs, ys = _well_roots(WELL_TILT[0]), _well_roots(WELL_TILT[1])
    pts = [(x, y) for x in xs for y in ys]
    return tuple(sorted(pts, key=lambda q: float(_wells(np.array(q)))))


FUNCTIONS: dict[str, Function2D] = {
    "bowl": Function2D(
        "bowl", f"Ill-conditioned bowl ½(x² + {BOWL_KAPPA:g}y²)", _bowl, _bowl_grad, ((0.0, 0.0),),
        (-4.0, 1.0), (-4.5, 4.5), (-1.6, 1.6),
        {"SGD": 0.09, "Momentum": 0.02, "Nesterov": 0.02, "Adagrad": 0.5, "RMSProp": 0.05, "Adam": 0.1,
         "AdamW": 0.1},
        150,
        f"Curvature {BOWL_KAPPA:g}× larger along y than x. A step size stable along y is tiny along x, "
        "so plain SGD zig-zags across the valley while crawling along it."),
    "rosenbrock": Function2D(
        "rosenbrock", "Rosenbrock (1-x)² + 100(y-x²)²", _rosenbrock, _rosenbrock_grad, ((1.0, 1.0),),
        (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0),
        {"SGD": 0.001, "Momentum": 0.0002, "Nesterov": 0.0002, "Adagrad": 0.5, "RMSProp": 0.01,
         "Adam": 0.05, "AdamW": 0.05},
        2000,
        "A curved, flat-bottomed valley: finding the valley is easy, following it to (1, 1) is slow."),
    "saddle": Function2D(
        "saddle", "Saddle x² + y⁴/4 - y²/2", _saddle, _saddle_grad, ((0.0, 1.0), (0.0, -1.0)),
        (-2.0, 0.001), (-2.5, 2.5), (-1.6, 1.6),
        {"SGD": 0.1, "Momentum": 0.02, "Nesterov": 0.02, "Adagrad": 0.5, "RMSProp": 0.05, "Adam": 0.1,
         "AdamW": 0.1},
        300,
        "A saddle point at the origin between two minima at (0, ±1). Starting almost exactly on the ridge, "
        "the gradient along y is tiny: methods that rescale small gradients escape sooner."),
    "wells": Function2D(
        "wells", "Four wells x⁴-2x²+0.5x + y⁴-2y²+0.3y", _wells, _wells_grad, _wells_minima(),
        (2.0, 2.0), (-2.2, 2.2), (-2.2, 2.2),
        {"SGD": 0.01, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.5, "RMSProp": 0.05, "Adam": 0.1,
         "AdamW": 0.1},
        300,
        "Four local minima of different depths; the deepest is bottom-left. Where an optimizer ends up "
        "depends on its path: momentum can carry over a ridge that stops plain gradient descent."),
}


@dataclass
class Trajectory:
    """The path of one optimizer on a ``Function2D``.

    points: (T+1, 2) from the start; losses: (T+1,). ``steps_to_min`` is the first step whose point is
    within ``tol`` of one of the function's minima (``reached`` is that minimum's index), or None.
    ``diverged`` is True when the point left any sensible region (|p| > 1e6 or not finite).
    """

    optimizer: str
    lr: float
    points: np.ndarray
    losses: np.ndarray
    steps_to_min: int | None
    reached: int | None
    diverged: bool

    @property
    def steps(self) -> np.ndarray:
        """(T, 2) the updates Δp."""
        return np.diff(self.points, axis=0)

    def direction_flips(self) -> tuple[int, int]:
        """Per axis, how many consecutive updates point in opposite directions: the zig-zag count."""
        s = np.sign(self.steps)
        flips = (s[1:] * s[:-1]) < 0
        return int(flips[:, 0].sum()), int(flips[:, 1].sum())

    def crossings(self, target) -> tuple[int, int]:
        """Per axis, how many times the path crosses ``target``'s coordinate: overshoots (and zig-zags)."""
        d = np.sign(self.points - np.asarray(target, dtype=np.float64))
        cross = (d[1:] * d[:-1]) < 0
        return int(cross[:, 0].sum()), int(cross[:, 1].sum())

    def path_length(self) -> float:
        return float(np.linalg.norm(self.steps, axis=1).sum())

    def last_step(self, k: int = 10) -> float:
        """Mean length of the last ``k`` updates: near zero while still far from a minimum is a stall."""
        lengths = np.linalg.norm(self.steps[-k:], axis=1)
        return float(lengths.mean()) if len(lengths) else 0.0


def trajectory(fn: Function2D | str, optimizer: str, *, lr: float | None = None, start=None,
               steps: int | None = None, tol: float = 1e-2, stop_at_min: bool = False,
               **optimizer_kwargs) -> Trajectory:
    """Run ``common.optimizers[optimizer]`` on the 2-D function ``fn`` from ``start``.

    The point is a float64 array p: (2,) with a gradient array g: (2,); each step sets ``g = ∇f(p)``
    and calls ``optimizer.step()``, exactly as the network's training loop does. (Weight decay, which
    applies to matrices only, leaves a (2,) point alone.)
    """
    if isinstance(fn, str):
        check_choice("fn", fn, FUNCTIONS)
        fn = FUNCTIONS[fn]
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = fn.lrs[optimizer] if lr is None else lr
    check_positive("lr", lr)
    steps = fn.steps if steps is None else steps
    check_positive_int("steps", steps)
    p = np.array(fn.start if start is None else start, dtype=np.float64)
    if p.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {p.shape}")
    g = np.zeros(2)
    opt = get_optimizer(optimizer)([(p, g)], lr=lr, **optimizer_kwargs)
    minima = np.asarray(fn.minima, dtype=np.float64)
    points, steps_to_min, reached, diverged = [p.copy()], None, None, False

    def check_min(t):
        nonlocal steps_to_min, reached
        if steps_to_min is None:
            dist = np.linalg.norm(minima - p, axis=1)
            if dist.min() < tol:
                steps_to_min, reached = t, int(dist.argmin())

    check_min(0)
    for t in range(1, steps + 1):
        g[...] = fn.grad(p)
        opt.step()
        if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e6:
            diverged = True
            break
        points.append(p.copy())
        check_min(t)
        if stop_at_min and steps_to_min is not None:
            break
    pts = np.array(points)
    return Trajectory(optimizer, float(lr), pts, fn.f(pts), steps_to_min, reached, diverged)


def trajectory_table(fn: Function2D, trajectories: dict[str, Trajectory]) -> list[dict]:
    """Diagnostics per optimizer: steps to a minimum, final loss and distance, zig-zags, overshoots."""
    global_min = np.asarray(fn.minima[0])
    f_min = float(fn.f(global_min))
    rows = []
    for name, tr in trajectories.items():
        end = tr.points[-1]
        nearest = int(np.linalg.norm(np.asarray(fn.minima) - end, axis=1).argmin())
        fx, fy = tr.direction_flips()
        cx, cy = tr.crossings(fn.minima[nearest])
        rows.append({
            "optimizer": name,
            "lr": tr.lr,
            "steps to min": "diverged" if tr.diverged else (str(tr.steps_to_min) if tr.steps_to_min is not None
                                                            else f"> {len(tr.points) - 1}"),
            "ends in": ("global min" if nearest == 0 else f"local min {nearest}") if len(fn.minima) > 1
            else "the min",
            "final f - f*": float(tr.losses[-1] - f_min),
            "final distance": float(np.linalg.norm(end - fn.minima[nearest])),
            "zig-zags x/y": f"{fx}/{fy}",
            "crossings x/y": f"{cx}/{cy}",
            "last step": tr.last_step(),
        })
    return rows


# ------------------------------------------------------------------- batch vs stochastic vs mini-batch

def _flat_grads(model: Sequential) -> np.ndarray:
    return np.concatenate([g.ravel() for _, g in model.parameters()]).astype(np.float64)


def batch_gradient(model: Sequential, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the mean loss over (X, y) with respect to every parameter, flattened: (P,)."""
    model.zero_grad()
    out = model.forward(X, training=True)
    _, dout = softmax_cross_entropy(out, y)
    model.backward(dout, input_grad=False)
    g = _flat_grads(model)
    model.zero_grad()
    return g


def per_sample_gradient_stats(model: Sequential, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The full-batch gradient and σ² = (1/N) Σᵢ ‖gᵢ - ḡ‖², the spread of single-example gradients.

    Shapes: X: (N, D); y: (N,). Returns (ḡ: (P,), σ²). Only Dense and elementwise layers are supported
    (the chapter's MLP).

    Notes
    -----
    For a Dense layer the per-example gradient is ``gᵢ = xᵢ δᵢᵀ`` (and ``δᵢ`` for the bias), so
    ``‖gᵢ‖² = ‖xᵢ‖²‖δᵢ‖²`` and ``gᵢ·ḡ = xᵢᵀ Ḡ δᵢ``: no (N, D, H) tensor is ever formed, and
    ``‖gᵢ - ḡ‖² = ‖gᵢ‖² - 2 gᵢ·ḡ + ‖ḡ‖²``.
    """
    X = check_array("X", X, ndim=2)
    n = len(X)
    inputs, h = [], X
    for layer in model.layers:
        inputs.append(h)
        h = layer.forward(h, training=False)
    _, dout = softmax_cross_entropy(h, y)
    d = dout * n  # (N, C) the per-example loss gradients, not divided by N
    sq_norm = np.zeros(n)
    dots = np.zeros(n)
    mean_parts, dense_terms = [], []
    for layer, inp in zip(reversed(model.layers), reversed(inputs)):
        if isinstance(layer, Dense):
            dense_terms.append((layer, inp.astype(np.float64), d.astype(np.float64)))
        elif layer.params:
            raise ValueError(f"model must contain only Dense and parameter-free layers, got {layer!r}")
        if layer is not model.layers[0]:
            d = layer.backward(d)
    model.zero_grad()
    for layer, x, dd in reversed(dense_terms):             # first layer first, like model.parameters()
        G = x.T @ dd / n                                   # (D, H) mean gradient of W
        gb = dd.mean(axis=0)                               # (H,)
        sq_norm += (x * x).sum(1) * (dd * dd).sum(1)
        dots += ((x @ G) * dd).sum(1)                      # xᵢᵀ G δᵢ
        mean_parts.append(G.ravel())
        if "b" in layer.params:
            sq_norm += (dd * dd).sum(1)
            dots += dd @ gb
            mean_parts.append(gb)
    g_mean = np.concatenate(mean_parts)
    sigma2 = float(np.mean(sq_norm - 2 * dots) + g_mean @ g_mean)
    return g_mean, sigma2


def expected_batch_variance(sigma2: float, n: int, batch_size: int) -> float:
    """E‖g_B - ḡ‖² for a batch of B examples drawn without replacement from N: (σ²/B)·(N-B)/(N-1)."""
    check_positive_int("n", n)
    check_positive_int("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n ({n}), got {batch_size}")
    if n == 1:
        return 0.0
    return sigma2 / batch_size * (n - batch_size) / (n - 1)


def measured_batch_variance(model: Sequential, X, y, batch_size: int, draws: int,
                            rng: np.random.Generator, g_full: np.ndarray | None = None) -> float:
    """Monte-Carlo mean of ‖g_B - ḡ‖² over ``draws`` batches drawn without replacement."""
    check_positive_int("batch_size", batch_size)
    check_positive_int("draws", draws)
    check_generator("rng", rng)
    if g_full is None:
        g_full = batch_gradient(model, X, y)
    total = 0.0
    for _ in range(draws):
        idx = rng.choice(len(X), size=min(batch_size, len(X)), replace=False)
        diff = batch_gradient(model, X[idx], y[idx]) - g_full
        total += float(diff @ diff)
    return total / draws


def time_per_update(model: Sequential, X, y, batch_size: int | None, optimizer: str = "SGD",
                    repeats: int = 20, rng: np.random.Generator | None = None) -> float:
    """Seconds for one training step (forward, backward, optimizer step) at this batch size: the best of
    ``repeats`` timed steps (like ``timeit``), since other work on the machine only ever adds time.

    The model is trained on a deep copy, so ``model`` is left unchanged."""
    check_positive_int("repeats", repeats)
    rng = np.random.default_rng(0) if rng is None else rng
    m = copy.deepcopy(model)
    opt = make_optimizer(optimizer, m)
    bs = len(X) if batch_size is None else min(batch_size, len(X))
    times = []
    for _ in range(repeats):
        idx = rng.choice(len(X), size=bs, replace=False)
        start = time.perf_counter()
        out = m.forward(X[idx], training=True)
        _, dout = softmax_cross_entropy(out, y[idx])
        opt.zero_grad()
        m.backward(dout, input_grad=False)
        opt.step()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


# ------------------------------------------------------------------------------------------------ EWMA

def ewma(x: np.ndarray, beta: float, bias_correction: bool = False) -> np.ndarray:
    """Exponentially weighted moving average of a series.

    Shapes: x: (T,) or (T, ...); out: the same.

    Notes
    -----
    ``v₀ = 0``, ``v_t = β v_{t-1} + (1-β) x_t``, so ``v_t = (1-β) Σ_{k≤t} β^{t-k} x_k``: the weights
    sum to ``1 - βᵗ``, not 1, which biases early values toward 0. Bias correction divides by that sum:
    ``v̂_t = v_t / (1 - βᵗ)``. (A loop over time steps, like an RNN: each value needs the previous one.)
    """
    x = check_array("x", x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty series, got shape {x.shape}")
    check_in_range("beta", beta, 0.0, 1.0)
    out = np.empty(x.shape, dtype=np.float64)
    v = np.zeros(x.shape[1:])
    for t in range(len(x)):
        v = beta * v + (1 - beta) * x[t]
        out[t] = v / (1 - beta ** (t + 1)) if bias_correction else v
    return out


def ewma_weights(t: int, beta: float) -> np.ndarray:
    """The weights (1-β)β^{t-k} that v_t gives to x_1 … x_t: (t,)."""
    check_positive_int("t", t)
    check_in_range("beta", beta, 0.0, 1.0)
    return (1 - beta) * beta ** np.arange(t - 1, -1, -1, dtype=np.float64)


def effective_window(beta: float) -> float:
    """1/(1-β): roughly how many recent values an EWMA averages over."""
    check_in_range("beta", beta, 0.0, 1.0)
    return 1.0 / (1.0 - beta)


SERIES_KINDS = ("sine", "constant", "step")


def noisy_series(n: int, rng: np.random.Generator, kind: str = "sine", noise: float = 0.5,
                 level: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A clean signal and a noisy observation of it, both (n,).

    "sine": level + sin(2πt/100); "constant": level; "step": level, jumping by 2 at t = n/2.
    """
    check_positive_int("n", n)
    check_generator("rng", rng)
    check_choice("kind", kind, SERIES_KINDS)
    check_positive("noise", noise, allow_zero=True)
    t = np.arange(n, dtype=np.float64)
    if kind == "sine":
        clean = level + np.sin(2 * np.pi * t / 100)
    elif kind == "constant":
        clean = np.full(n, float(level))
    else:
        clean = level + 2.0 * (t >= n // 2)
    return clean, clean + noise * rng.standard_normal(n)


class AdamNoBiasCorrection(Adam):
    """Adam with the ``1/(1-βᵗ)`` factors removed, for showing what they are for (teaching only).

    ``m ← β₁m + (1-β₁)g``; ``v ← β₂v + (1-β₂)g²``; ``θ ← θ - η m/(√v + ε)``. On a constant gradient the
    step is η(1-β₁ᵗ)/√(1-β₂ᵗ) instead of η: with β₁ = 0.9, β₂ = 0.999 that is 3.2η at t = 1 and peaks
    near 6.5η around t = 10, because v's average starts further from its target than m's.
    """

    def _update(self, p, g, state):
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(p), np.zeros_like(p)
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * (g * g)
        p -= self.lr * m / (np.sqrt(v) + self.eps)


def adam_step_sizes(grads: np.ndarray, *, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                    bias_correction: bool = True) -> np.ndarray:
    """|Δθ| of Adam (or Adam without bias correction) on one parameter fed the gradients ``grads``: (T,)."""
    grads = check_array("grads", grads, ndim=1).astype(np.float64)
    p, g = np.zeros(1), np.zeros(1)
    cls = Adam if bias_correction else AdamNoBiasCorrection
    opt = cls([(p, g)], lr=lr, beta1=beta1, beta2=beta2)
    out = np.empty(len(grads))
    for t, gt in enumerate(grads):
        before = p[0]
        g[0] = gt
        opt.step()
        out[t] = abs(p[0] - before)
    return out


def uncorrected_step_factor(t: np.ndarray | int, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """(1-β₁ᵗ)/√(1-β₂ᵗ): uncorrected Adam's step on a constant gradient, in units of η."""
    t = np.asarray(t, dtype=np.float64)
    return (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)


# -------------------------------------------------------------------------------------- worked numbers

#: The deep-dive's tiny problem: f(θ) = ½(θ₁² + 5θ₂²) from θ = (1, 1), three steps. lr 0.1 for all but
#: RMSProp, whose first step is η/√(1-ρ) = 10η per coordinate (no bias correction): 0.01 keeps it comparable.
WORKED_START = (1.0, 1.0)
WORKED_LR = {"SGD": 0.1, "Momentum": 0.1, "Nesterov": 0.1, "Adagrad": 0.1, "RMSProp": 0.01, "Adam": 0.1,
             "AdamW": 0.1}
WORKED_STEPS = 3
WORKED_KAPPA = 5.0


def worked_first_steps(name: str, steps: int = WORKED_STEPS, lr: float | None = None) -> np.ndarray:
    """(steps+1, 2): θ₀ … θ_steps for optimizer ``name`` on ½(θ₁² + 5θ₂²) from (1, 1)."""
    check_choice("name", name, OPTIMIZERS)
    lr = WORKED_LR[name] if lr is None else lr
    p, g = np.array(WORKED_START, dtype=np.float64), np.zeros(2)
    opt = get_optimizer(name)([(p, g)], lr=lr)
    out = [p.copy()]
    for _ in range(steps):
        g[...] = p * np.array([1.0, WORKED_KAPPA])
        opt.step()
        out.append(p.copy())
    return np.array(out)


def worked_steps_markdown() -> str:
    """The deep-dive's table of first steps, one row per optimizer (the test compares the two)."""
    lines = ["| optimizer | η | θ₁ | θ₂ | θ₃ |", "|---|---|---|---|---|"]
    for name in OPTIMIZER_NAMES:
        pts = worked_first_steps(name)
        cells = [f"({a:.4f}, {b:.4f})" for a, b in pts[1:]]
        lines.append(f"| {name} | {WORKED_LR[name]:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = [
    "OPTIMIZER_NAMES", "BATCH_SIZES", "make_optimizer", "build_mlp", "RaceResult", "race", "batch_label",
    "batch_size_sweep", "results_table",
    "Function2D", "FUNCTIONS", "Trajectory", "trajectory", "trajectory_table",
    "batch_gradient", "per_sample_gradient_stats", "expected_batch_variance", "measured_batch_variance",
    "time_per_update", "ewma", "ewma_weights", "effective_window", "noisy_series", "SERIES_KINDS",
    "AdamNoBiasCorrection", "adam_step_sizes", "uncorrected_step_factor", "worked_first_steps",
    "worked_steps_markdown", "landscape_markdown",
]


def landscape_markdown() -> str:
    """Steps to reach a minimum (within 0.01) for every optimizer on every surface at its default
    learning rate and start: the deep-dive's table (the test compares the two)."""
    lines = ["| surface | " + " | ".join(OPTIMIZER_NAMES) + " |", "|---|" + "---|" * len(OPTIMIZER_NAMES)]
    for key, fn in FUNCTIONS.items():
        rows = trajectory_table(fn, {n: trajectory(fn, n) for n in OPTIMIZER_NAMES})
        cells = []
        for r in rows:
            where = "" if len(fn.minima) == 1 or r["ends in"] == "global min" else f" ({r['ends in']})"
            cells.append(f"{r['steps to min']}{where}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _main() -> None:  # pragma: no cover - a measurement script, run by hand
    """Measure the blog's claims on full MNIST: seconds per update for full-batch vs batch 64, updates
    per epoch, and a race on all 60,000 images.

        python 04-optimization/optimization.py [--epochs 5] [--names SGD Momentum Adam]
    """
    import argparse

    from common.mnist import load_mnist

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--names", nargs="+", default=["SGD", "Momentum", "Adam"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_mnist(download=False)
    print(data.source)
    model = build_mlp(np.random.default_rng(args.seed))
    n = len(data.x_train)
    t_full = time_per_update(model, data.x_train, data.y_train, None, repeats=3)
    t_64 = time_per_update(model, data.x_train, data.y_train, 64, repeats=200)
    print(f"seconds per update: full batch ({n:,}) {t_full:.4f}, batch 64 {t_64:.6f}, ratio {t_full / t_64:.0f}×; "
          f"updates per epoch at batch 64: {-(-n // 64)}")
    results = race(args.names, data.x_train, data.y_train, data.x_test, data.y_test, epochs=args.epochs,
                   batch_size=64, seed=args.seed)
    for row in results_table(results):
        print(row)
    for name, r in results.items():
        print(name, "test acc per epoch:", [round(100 * a, 2) for a in r.history.val_acc])


if __name__ == "__main__":
    _main()
