"""Chapter 04: optimizers on 2-D loss surfaces, through the same classes and the same ``fit`` as on MNIST.

A point on a loss surface is a tiny network with two weights: ``Point`` is a ``Layer`` whose only
parameter is p: (2,) and whose output is p itself, and the surface is its loss function
(``surface_loss(fn)`` returns ``(f(p), ∇f(p))``). ``trajectory`` trains that layer with
``common.training.fit`` and one of ``common.optimizers``, so every path drawn on the page is made by the
code that trains the MNIST networks. The same construction gives the deep-dive's worked first steps on
½(θ₁² + 5θ₂²).

- ``Function2D`` and ``FUNCTIONS``: an ill-conditioned bowl, Rosenbrock, a saddle and four tilted wells,
  each with its gradient, minima, start and per-optimizer learning rates;
- ``trajectory`` → ``Trajectory`` with the path diagnostics (zig-zags, overshoots, stalls);
  ``trajectory_table`` and ``landscape_markdown`` (the deep-dive's steps-to-a-minimum table);
- ``worked_first_steps`` and ``worked_steps_markdown`` (the deep-dive's table of first steps).

Shapes: a point p: (2,); ``f`` and ``grad`` also take (..., 2) grids.

>>> tr = trajectory("bowl", "SGD", steps=3)
>>> tr.points.round(4).tolist()
[[-4.0, 1.0], [-3.64, -0.8], [-3.3124, 0.64], [-3.0143, -0.512]]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from common.markdown import table_registry
from common._validation import check_choice, check_positive, check_positive_int
from common.layers import Layer
from common.optimizers import OPTIMIZERS
from common.optimizers import get as get_optimizer
from common.training import Callback, History, fit

from optimizer_race import OPTIMIZER_NAMES

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()


# ------------------------------------------------------------------------------ a point as a model

class Point(Layer):
    """A model whose one parameter is a point p: (D,) and whose output is p, whatever the input.

    ``backward_params(dout)`` adds ``dout`` (the loss function's ∂L/∂p) to the gradient, so ``fit`` with
    ``loss_fn(p, target) -> (L(p), ∂L/∂p)`` runs exactly ``g = ∇L(p)``, ``optimizer.step()`` per step.
    """

    def __init__(self, start) -> None:
        super().__init__()
        p = np.array(start, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0:
            raise ValueError(f"start must be a point (a non-empty 1-D array), got shape {p.shape}")
        self.add_param("p", p)

    @property
    def p(self) -> np.ndarray:
        return self._params["p"]

    def forward(self, x=None, training=False):
        return self._params["p"]

    def backward(self, dout):
        self._grads["p"] += dout
        return None            # the input is a placeholder: it has no gradient

    def __repr__(self):
        return f"Point({self.params['p'].tolist()})"


#: The input of every step: a point has no data, and ``fit`` weighs each step's loss by ``len(x)``.
NO_INPUT = np.zeros(1)


class _KeepPoints(Callback):
    def __init__(self, point: Point) -> None:
        self.point, self.points = point, [point.p.copy()]

    def on_batch_end(self, state):
        self.points.append(self.point.p.copy())


def descend(point: Point, optimizer, loss_fn, steps: int, *, targets=None,
            callbacks=()) -> tuple[np.ndarray, History]:
    """Train ``point`` for ``steps`` optimizer steps with ``common.training.fit`` (one epoch of ``steps``
    batches) and return the points it visited, (steps+1, D) from the start, and the ``History``
    (``batch_loss`` is the loss before each step). A callback may stop it early; the points then end
    with the last step taken. ``targets`` (an iterable, one item per step) is passed to ``loss_fn`` as the
    step's target: a gradient fed from outside, as ``adam_bias_correction.adam_step_sizes`` does."""
    check_positive_int("steps", steps)
    items = iter(targets) if targets is not None else itertools.repeat(None)
    keep = _KeepPoints(point)
    history = fit(point, batches=lambda rng: (NO_INPUT, next(items)), steps_per_epoch=steps, epochs=1,
                  loss_fn=loss_fn, optimizer=optimizer, metric=None, callbacks=[keep, *callbacks],
                  rng=np.random.default_rng(0))  # nothing is drawn: a point has no data to shuffle
    return np.array(keep.points), history


# ---------------------------------------------------------------------------------- the surfaces

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


def surface_loss(fn: Function2D):
    """``loss_fn(p, _) -> (f(p), ∇f(p))``: the surface as the loss of a ``Point``."""
    return lambda p, _target: (float(fn.f(p)), fn.grad(p))


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


# ------------------------------------------------------------------------------------ trajectories

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


class _WatchPath(Callback):
    """After every step: stop if the point diverged, else note the first minimum it reaches."""

    def __init__(self, point: Point, minima: np.ndarray, tol: float, stop_at_min: bool) -> None:
        self.point, self.minima, self.tol, self.stop_at_min = point, minima, tol, stop_at_min
        self.steps_to_min = self.reached = None
        self.diverged = False
        self.check(0)

    def check(self, t: int) -> None:
        if self.steps_to_min is None:
            dist = np.linalg.norm(self.minima - self.point.p, axis=1)
            if dist.min() < self.tol:
                self.steps_to_min, self.reached = t, int(dist.argmin())

    def on_batch_end(self, state):
        p = self.point.p
        if not np.abs(p).max() <= 1e6:           # also true for inf and NaN
            self.diverged = True
            state.request_stop("diverged")
            return
        self.check(state.step)
        if self.stop_at_min and self.steps_to_min is not None:
            state.request_stop("reached a minimum")


def trajectory(fn: Function2D | str, optimizer: str, *, lr: float | None = None, start=None,
               steps: int | None = None, tol: float = 1e-2, stop_at_min: bool = False,
               **optimizer_kwargs) -> Trajectory:
    """Train a ``Point`` at ``start`` on the surface ``fn`` with ``common.optimizers[optimizer]``.

    Each step of ``fit`` computes ``g = ∇f(p)`` and calls ``optimizer.step()``, exactly as for a network.
    (Weight decay, which applies to matrices only, leaves a (2,) point alone.)
    """
    if isinstance(fn, str):
        check_choice("fn", fn, FUNCTIONS)
        fn = FUNCTIONS[fn]
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = fn.lrs[optimizer] if lr is None else lr
    check_positive("lr", lr)
    steps = fn.steps if steps is None else steps
    check_positive_int("steps", steps)
    start = np.array(fn.start if start is None else start, dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {start.shape}")
    point = Point(start)
    opt = get_optimizer(optimizer)(point, lr=lr, **optimizer_kwargs)
    watch = _WatchPath(point, np.asarray(fn.minima, dtype=np.float64), tol, stop_at_min)
    with np.errstate(over="ignore", invalid="ignore"):   # a diverging run overflows on its way out
        pts, _ = descend(point, opt, surface_loss(fn), steps, callbacks=[watch])
    if watch.diverged:
        pts = pts[:-1]                                   # the step that left the region is not drawn
    return Trajectory(optimizer, float(lr), pts, fn.f(pts), watch.steps_to_min, watch.reached, watch.diverged)


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


@doc_table("OPTIMIZERS_DEEP_DIVE.md", "table: landscapes")
def landscape_markdown() -> str:
    """Steps to reach a minimum (within 0.01) for every optimizer on every surface at its default
    learning rate and start: the deep-dive's table."""
    lines = ["| surface | " + " | ".join(OPTIMIZER_NAMES) + " |", "|---|" + "---|" * len(OPTIMIZER_NAMES)]
    for key, fn in FUNCTIONS.items():
        rows = trajectory_table(fn, {n: trajectory(fn, n) for n in OPTIMIZER_NAMES})
        cells = []
        for r in rows:
            where = "" if len(fn.minima) == 1 or r["ends in"] == "global min" else f" ({r['ends in']})"
            cells.append(f"{r['steps to min']}{where}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- worked numbers

#: The deep-dive's tiny problem: f(θ) = ½(θ₁² + 5θ₂²) from θ = (1, 1), three steps. lr 0.1 for all but
#: RMSProp, whose first step is η/√(1-ρ) = 10η per coordinate (no bias correction): 0.01 keeps it comparable.
WORKED_START = (1.0, 1.0)
WORKED_LR = {"SGD": 0.1, "Momentum": 0.1, "Nesterov": 0.1, "Adagrad": 0.1, "RMSProp": 0.01, "Adam": 0.1,
             "AdamW": 0.1}
WORKED_STEPS = 3
WORKED_KAPPA = 5.0


def _worked_loss(p, _target):
    """½(θ₁² + κθ₂²) and its gradient (θ₁, κθ₂)."""
    scale = np.array([1.0, WORKED_KAPPA])
    return float(0.5 * p @ (scale * p)), p * scale


def worked_first_steps(name: str, steps: int = WORKED_STEPS, lr: float | None = None) -> np.ndarray:
    """(steps+1, 2): θ₀ … θ_steps for optimizer ``name`` on ½(θ₁² + 5θ₂²) from (1, 1)."""
    check_choice("name", name, OPTIMIZERS)
    lr = WORKED_LR[name] if lr is None else lr
    point = Point(WORKED_START)
    return descend(point, get_optimizer(name)(point, lr=lr), _worked_loss, steps)[0]


@doc_table("OPTIMIZERS_DEEP_DIVE.md", "table: worked-steps")
def worked_steps_markdown() -> str:
    """The deep-dive's table of first steps, one row per optimizer."""
    lines = ["| optimizer | η | θ₁ | θ₂ | θ₃ |", "|---|---|---|---|---|"]
    for name in OPTIMIZER_NAMES:
        pts = worked_first_steps(name)
        cells = [f"({a:.4f}, {b:.4f})" for a, b in pts[1:]]
        lines.append(f"| {name} | {WORKED_LR[name]:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = [
    "Point", "NO_INPUT", "descend", "Function2D", "surface_loss", "FUNCTIONS", "Trajectory",
    "trajectory", "trajectory_table", "landscape_markdown", "WORKED_START", "WORKED_LR", "WORKED_STEPS",
    "WORKED_KAPPA", "worked_first_steps", "worked_steps_markdown",
]
