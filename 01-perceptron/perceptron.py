"""Rosenblatt's perceptron (1958): a weighted sum, a step, and a rule that moves the line after each mistake.

The weighted sum is a ``common.Dense(D, 1)`` layer (``z = x W + b``), the child ``linear`` of the
``Perceptron`` layer; what this chapter adds is the step activation and the perceptron learning rule,
which needs no gradient:

    ŷ = step(z) = 1 if z > 0 else 0
    on a mistake (ŷ ≠ y):   W ← W + η (y - ŷ) x,   b ← b + η (y - ŷ)

Training is *online*: samples are visited one at a time and the weights change right after each mistake.
An epoch with no mistake means every sample is classified correctly, so training stops there. For
linearly separable data this always happens after finitely many updates (Novikoff's theorem, see
``PERCEPTRON_DEEP_DIVE.md``); for XOR it never does.

The model keeps the weights after every update (``weight_history``/``bias_history``), so a playground or
a notebook can replay training mistake by mistake.

>>> import numpy as np
>>> from common.datasets import logic_gate
>>> X, y = logic_gate("AND")
>>> p = Perceptron().fit(X, y)
>>> p.converged, p.predict(X).tolist()
(True, [0, 0, 0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.markdown import table_registry
from common.layers import Dense, Layer
from common._validation import check_array, check_generator, check_positive, check_positive_int

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step: 1 where ``z > 0``, else 0 (so a point exactly on the line is class 0)."""
    return (np.asarray(z) > 0).astype(np.int64)


@dataclass(frozen=True)
class Update:
    """One application of the learning rule: which sample caused it and the weights after it."""

    number: int          # 1-based count of updates so far
    epoch: int           # 1-based epoch in which the mistake happened
    sample: int          # index of the misclassified sample in X
    x: tuple             # that sample
    y: int               # its label
    y_hat: int           # what the perceptron predicted
    w: tuple             # weights after the update
    b: float             # bias after the update


class Perceptron(Layer):
    """A single step-activation neuron trained by the perceptron rule.

    A ``common.layers.Layer`` with one child, ``linear`` (the ``Dense(D, 1)`` that computes z), so
    ``save``/``load``, ``summary``, ``num_params`` and ``predict`` come from the base class. ``forward``
    returns the labels ``step(z)``; there is no ``backward``: the step's derivative is 0 wherever it
    exists, and the perceptron learns by its own rule in ``fit``, not by gradients.

    Shapes: X: (N, D); y: (N,) labels in {0, 1}; W: (D, 1); b: (1,).

    Parameters
    ----------
    lr : learning rate η > 0 (default 1, Rosenblatt's choice, which keeps integer data exact). Starting
        from zero weights every update adds a multiple of η, so in exact arithmetic the mistakes are the
        same for every η and W, b scale with it; in floating point 0.1 is not exact and a point lying
        exactly on the line (z = 0) can fall on either side, so runs may differ (NAND: 11 updates with
        η = 1, 8 with η = 0.1, ending on another line).
    max_epochs : passes over the data before giving up (XOR always uses them all).
    init : "zeros" (Rosenblatt's start) or "normal" (small random weights, needs ``rng``).
    shuffle : visit the samples in a new random order each epoch (needs ``rng``); default is the given order.
    rng : ``numpy.random.Generator`` for ``init="normal"`` or ``shuffle=True``.
    bias : learn a bias b (default). Without it the boundary must pass through the origin, and the point
        (0, 0) always scores 0, i.e. class 0: OR is still learnable, AND and NAND are not.

    Notes
    -----
    ``z = x·w + b``, ``ŷ = 1[z > 0]``. Update on a mistake: ``w ← w + η(y-ŷ)x``, ``b ← b + η(y-ŷ)``;
    ``y - ŷ`` is +1 when the point should have been on the positive side and -1 otherwise, so the update
    rotates and shifts the line towards classifying that point correctly.
    """

    def __init__(self, n_features: int = 2, lr: float = 1.0, max_epochs: int = 100, *, init: str = "zeros",
                 shuffle: bool = False, rng: np.random.Generator | None = None, bias: bool = True) -> None:
        super().__init__()
        check_positive_int("n_features", n_features)
        check_positive("lr", lr)
        check_positive_int("max_epochs", max_epochs)
        if init not in ("zeros", "normal"):
            raise ValueError(f"init must be one of ['normal', 'zeros'], got {init!r}")
        if init == "normal" or shuffle:
            check_generator("rng", rng)
        self.n_features, self.lr, self.max_epochs = n_features, float(lr), max_epochs
        self.init, self.shuffle, self.rng, self.use_bias = init, bool(shuffle), rng, bool(bias)
        self._reset()

    def _reset(self) -> None:
        self.linear = Dense(self.n_features, 1, self.rng, init=self.init, bias=self.use_bias, dtype=np.float64)
        self.updates: list[Update] = []
        self.errors_per_epoch: list[int] = []
        self.converged = False
        self._history_w = [self.w.copy()]
        self._history_b = [self.b]

    def __repr__(self) -> str:
        return f"Perceptron({self.n_features} → 1, lr={self.lr:g})"

    # --- the parameters, as a vector and a number ---------------------------------------------------
    @property
    def w(self) -> np.ndarray:
        """Weights as a vector (D,) (a view of the Dense layer's W)."""
        return self.linear.params["W"][:, 0]

    @property
    def b(self) -> float:
        return float(self.linear.params["b"][0]) if self.use_bias else 0.0

    @property
    def weight_history(self) -> np.ndarray:
        """(U+1, D): the initial weights, then the weights after each of the U updates."""
        return np.array(self._history_w)

    @property
    def bias_history(self) -> np.ndarray:
        """(U+1,): the initial bias, then the bias after each update."""
        return np.array(self._history_b)

    @property
    def epochs_run(self) -> int:
        return len(self.errors_per_epoch)

    # --- inference -----------------------------------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (N, {self.n_features}), got {X.shape}")
        return X.astype(np.float64, copy=False)

    def decision_function(self, X) -> np.ndarray:
        """Signed score ``z = X w + b``: (N, D) → (N,). Positive means class 1; ``z / ‖w‖`` is the
        signed distance to the boundary."""
        return self.linear.forward(self._check_X(X))[:, 0]

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Class labels (N,) in {0, 1}: ``step(z)`` (``predict``, from the base class, calls this)."""
        return step(self.decision_function(X))

    def backward(self, dout):
        raise NotImplementedError("a Perceptron learns by the perceptron rule (Perceptron.fit), not by "
                                  "gradients: the step function's derivative is 0 wherever it exists")

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples predicted correctly."""
        y = self._check_y(y, len(self._check_X(X)))
        return float(np.mean(self.predict(X) == y))

    @staticmethod
    def _check_y(y, n: int) -> np.ndarray:
        y = check_array("y", y, ndim=1)
        if len(y) != n:
            raise ValueError(f"y must have one label per row of X ({n}), got {len(y)}")
        if not np.all(np.isin(y, (0, 1))):
            raise ValueError(f"y must hold labels in {{0, 1}}, got values {sorted(set(np.unique(y).tolist()))}")
        return y.astype(np.int64)

    # --- learning ------------------------------------------------------------------------------------
    def fit(self, X, y) -> "Perceptron":
        """Train from the initial weights with the online perceptron rule; returns ``self``.

        Stops after the first epoch without a mistake (``converged = True``) or after ``max_epochs``.
        This loop is the chapter's lesson, so it is written out here rather than run by
        ``common.training.fit``: the rule changes the weights right after each single mistake, using the
        step's output instead of the gradient of a loss, and it stops at the first error-free epoch. The
        loop over samples cannot be vectorised either: each prediction depends on the update made by the
        previous sample.
        """
        X = self._check_X(X)
        y = self._check_y(y, len(X))
        self._reset()
        W = self.linear.params["W"]
        b = self.linear.params["b"] if self.use_bias else np.zeros(1)   # a fixed 0 when there is no bias
        for epoch in range(1, self.max_epochs + 1):
            order = self.rng.permutation(len(X)) if self.shuffle else range(len(X))
            errors = 0
            for i in order:
                z = float(X[i] @ W[:, 0] + b[0])
                y_hat = int(z > 0)
                if y_hat != y[i]:
                    delta = self.lr * (y[i] - y_hat)
                    W[:, 0] += delta * X[i]
                    if self.use_bias:
                        b[0] += delta
                    errors += 1
                    self._history_w.append(W[:, 0].copy())
                    self._history_b.append(float(b[0]))
                    self.updates.append(Update(len(self.updates) + 1, epoch, int(i), tuple(X[i].tolist()),
                                               int(y[i]), y_hat, tuple(W[:, 0].tolist()), float(b[0])))
            self.errors_per_epoch.append(errors)
            if errors == 0:
                self.converged = True
                break
        return self

    # --- geometry ------------------------------------------------------------------------------------
    def boundary_equation(self, w=None, b=None, digits: int = 3) -> str:
        """The decision boundary ``w₁x₁ + w₂x₂ + b = 0`` as a LaTeX string (2 features only)."""
        w = self.w if w is None else np.asarray(w, dtype=float)
        b = self.b if b is None else float(b)
        return boundary_latex(w, b, digits)


def _latex_num(v: float, digits: int = 3) -> str:
    """A coefficient for LaTeX: whole numbers whole, others through ``common.plots.fmt_num`` (``digits``
    significant digits), its scientific form written ``a \\times 10^{e}``."""
    from common.plots import fmt_num
    v = float(v)
    text = fmt_num(int(v)) if v.is_integer() else fmt_num(v, digits)
    if "e" in text:
        mantissa, exp = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exp)}}}"
    return text


def boundary_latex(w, b: float, digits: int = 3) -> str:
    """``w₁x₁ + w₂x₂ + b = 0`` in LaTeX, with signs written properly; a note when w = 0 (no line)."""
    w = np.asarray(w, dtype=float)
    if w.shape != (2,):
        raise ValueError(f"w must have shape (2,) to write a line, got {w.shape}")
    if np.allclose(w, 0):
        return r"w = 0:\ \text{no boundary yet (every point scores } b = " + _latex_num(b, digits) + ")"
    terms, first = [], True
    for coef, name in ((w[0], "x_1"), (w[1], "x_2"), (b, "")):
        if coef == 0:
            continue
        mag = _latex_num(abs(coef), digits)
        sign = ("-" if coef < 0 else "") if first else (" - " if coef < 0 else " + ")
        terms.append(f"{sign}{mag}{name}")
        first = False
    return "".join(terms) + " = 0"


def boundary_points(w, b: float, xlim=(-0.5, 1.5)) -> tuple[np.ndarray, np.ndarray] | None:
    """Two points (xs, ys) on the line ``w·x + b = 0`` for drawing, or None when w = 0."""
    w = np.asarray(w, dtype=float)
    if np.allclose(w, 0):
        return None
    if abs(w[1]) > 1e-12:
        xs = np.array(xlim, dtype=float)
        return xs, -(w[0] * xs + b) / w[1]
    x = -b / w[0]
    return np.array([x, x]), np.array(xlim, dtype=float)


def line_view(X, w, b: float, padding: float = 0.5, reach: float = 3.0):
    """The plot window for data X: (N, 2) and the line ``w·x + b = 0``, so the line is seen when it can be.

    Starts from the data's box widened by ``padding``. When the line misses that box but its nearest point
    to the box's centre is within ``reach`` half-diagonals, the box grows to take in that point (plus
    ``padding``). Returns ``(xlim, ylim, where, nearest)``: ``where`` is ``"inside"`` (the line crosses the data's
    box), ``"widened"`` (the window grew to show it), ``"outside"`` (too far: the window stays and the
    caller says where the line is) or ``"none"`` (w = 0, no line); ``nearest`` is the line's point
    nearest the box's centre (None when w = 0).
    """
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    (x0, y0), (x1, y1) = X.min(axis=0) - padding, X.max(axis=0) + padding
    if np.allclose(w, 0):
        return (x0, x1), (y0, y1), "none", None
    corners = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]])
    z = corners @ w + b
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    nearest = centre - (centre @ w + b) * w / (w @ w)
    if z.min() < 0 < z.max():       # through the inside, not just touching a corner
        return (x0, x1), (y0, y1), "inside", nearest
    half_diagonal = float(np.hypot(x1 - x0, y1 - y0)) / 2
    if np.linalg.norm(nearest - centre) > reach * half_diagonal:
        return (x0, x1), (y0, y1), "outside", nearest
    px, py = nearest
    return ((min(x0, px - padding), max(x1, px + padding)), (min(y0, py - padding), max(y1, py + padding)),
            "widened", nearest)


def margin(w, b: float, X, y) -> float:
    """Geometric margin ``min_n y±ₙ (w·xₙ + b) / ‖(w, b)‖`` with labels mapped to ±1, in the augmented
    space (x, 1) where the convergence theorem lives. Positive iff (w, b) separates the data."""
    X = np.asarray(X, dtype=float)
    s = 2 * np.asarray(y) - 1
    wb = np.r_[np.asarray(w, dtype=float), float(b)]
    return float(np.min(s * (X @ wb[:-1] + wb[-1])) / np.linalg.norm(wb))


def mistake_bound(w, b: float, X, y) -> float:
    """Novikoff's bound ``(R/γ)²`` on the number of updates from zero weights, where ``R = max‖(xₙ, 1)‖``
    and ``γ`` is the margin of the separator (w, b). Any separator gives a valid bound; a wider margin a
    tighter one. Raises ``ValueError`` if (w, b) does not separate the data."""
    gamma = margin(w, b, X, y)
    if gamma <= 0:
        raise ValueError(f"(w, b) must separate the data (positive margin), got margin {gamma:.4g}")
    X = np.asarray(X, dtype=float)
    R = float(np.max(np.linalg.norm(np.c_[X, np.ones(len(X))], axis=1)))
    return (R / gamma) ** 2


def same_run_as_unit_lr(X, y, lr: float, max_epochs: int = 100) -> bool:
    """Whether training from zero weights with ``lr`` makes exactly the mistakes of η = 1 (the same
    samples in the same order) and ends on the same line (weights η times those of η = 1), as exact
    arithmetic promises. False where rounding moves a point that lies exactly on the line."""
    a = Perceptron(X.shape[1], lr=1.0, max_epochs=max_epochs).fit(X, y)
    b = Perceptron(X.shape[1], lr=lr, max_epochs=max_epochs).fit(X, y)
    return ([u.sample for u in a.updates] == [u.sample for u in b.updates]
            and np.allclose(lr * a.weight_history, b.weight_history, rtol=1e-12, atol=1e-12)
            and np.allclose(lr * a.bias_history, b.bias_history, rtol=1e-12, atol=1e-12))


# --- the measured tables of README.md and PERCEPTRON_DEEP_DIVE.md (python -m tests.regenerate_doc_tables 01) ---
GATES = ("AND", "OR", "NAND", "NOR")
PAGE_LEARNING_RATES = (0.01, 0.1, 0.5, 1.0, 2.0)      # the playground's η options
POST_AND = ([0.5, 0.5], -0.7)                          # the post's hand-set AND weights


def _num(v, digits: int = 4) -> str:
    """A table number: rounded to ``digits`` decimals, no trailing zeros, a typographic minus."""
    v = round(float(v), digits) + 0.0
    return f"{v:.{digits}f}".rstrip("0").rstrip(".").replace("-", "−") if v else "0"


def _tuple(values, digits: int = 4) -> str:
    return "(" + ", ".join(_num(v, digits) for v in values) + ")"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def _gate(name):
    from common.datasets import logic_gate
    return logic_gate(name)


@doc_table("README.md", "check: gates")
def table_gates() -> str:
    return _table(("gate", "updates"), [(g, len(Perceptron().fit(*_gate(g)).updates)) for g in GATES])


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: post-and")
def table_post_and() -> str:
    X, _ = _gate("AND")
    p = Perceptron()
    p.linear.params["W"][:, 0], p.linear.params["b"][0] = POST_AND
    z = p.decision_function(X)
    return _table(("x", "z = 0.5·x₁ + 0.5·x₂ − 0.7", "ŷ"),
                  [(_tuple(x), _num(zi), int(yi)) for x, zi, yi in zip(X, z, p.predict(X))])


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: learning-rates")
def table_learning_rates() -> str:
    rows = []
    for g in GATES:
        X, y = _gate(g)
        cells = []
        for lr in PAGE_LEARNING_RATES:
            n = len(Perceptron(lr=lr).fit(X, y).updates)
            cells.append(str(n) if same_run_as_unit_lr(X, y, lr) else f"**{n}**, another line")
        rows.append((g, *cells))
    return _table(("gate", *(f"η = {lr:g}" for lr in PAGE_LEARNING_RATES)), rows)


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: no-bias")
def table_no_bias() -> str:
    rows = []
    for g in GATES:
        X, y = _gate(g)
        nb = Perceptron(bias=False, max_epochs=100).fit(X, y)
        with_bias = "converges" if Perceptron().fit(X, y).converged else "never"
        without = "converges" if nb.converged else f"never (final accuracy {nb.score(X, y):.0%})"
        rows.append((g, with_bias, without))
    return _table(("gate", "with bias", "without bias"), rows)


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: bound")
def table_bound() -> str:
    X, y = _gate("AND")
    actual = len(Perceptron().fit(X, y).updates)
    rows = []
    for (w, b), name in ((POST_AND, ", the post's"), (([1.0, 1.0], -1.5), "")):
        rows.append((_tuple([*w, b]) + name, f"{margin(w, b, X, y):.4f}", f"{mistake_bound(w, b, X, y):.2f}",
                     actual))
    return _table(("separator (w₁, w₂, b)", "margin γ", "bound (R/γ)²", "actual updates"), rows)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: xor-run")
def table_xor_run() -> str:
    X, y = _gate("XOR")
    p = Perceptron(max_epochs=100).fit(X, y)
    e = p.errors_per_epoch
    steady = next(k for k in range(len(e)) if len(set(e[k:])) == 1)
    states = [tuple(np.r_[w, b]) for w, b in zip(p.weight_history[2:], p.bias_history[2:])]
    period = next(k for k in range(1, len(states)) if states[k:] == states[:-k])
    best = max(np.mean(step(X @ w + b) == y) for w, b in zip(p.weight_history, p.bias_history))
    return _table(("quantity", "value"), [
        ("errors in epochs 1, 2, 3, 4, …",
         ", ".join(map(str, e[:4])) + f", … ({e[-1]} in every epoch from the {_ordinal(steady + 1)} on)"),
        ("weight states visited from update 2 on",
         f"a cycle of {period}: " + ", ".join(_tuple(s) for s in states[:period])),
        ("best accuracy of any visited state", f"{best:.0%}"),
    ])


@doc_table("PERCEPTRON_DEEP_DIVE.md", "check: and-trace")
def table_and_trace() -> str:
    p = Perceptron(lr=1.0).fit(*_gate("AND"))
    return _table(("update", "epoch", "sample", "x", "y", "ŷ", "w after", "b after"),
                  [(u.number, u.epoch, u.sample, _tuple(u.x), u.y, u.y_hat, _tuple(u.w), _num(u.b))
                   for u in p.updates])


# --- the page's default actions (tests/benchmarks/bench_pages.py times them) -------------------------------
def _page_train_default() -> None:
    """The page on arrival: AND, η = 1, at most 50 epochs (the page trains on every change of a control)."""
    from common.datasets import logic_gate
    Perceptron(n_features=2, lr=1.0, max_epochs=50).fit(*logic_gate("AND"))


def _page_random_non_separable() -> None:
    """'random non-separable' picked with the other defaults: 40 points, draw 0, 50 epochs, never converges."""
    from common.datasets import non_separable
    X, y = non_separable(40, np.random.default_rng(0), flip=0.1)
    Perceptron(n_features=2, lr=1.0, max_epochs=50).fit(X, y)


def _page_all_gates() -> None:
    """The 'All gates: who converges?' tab with the defaults (XOR runs all 50 epochs)."""
    from common.datasets import logic_gate
    for gate in (*GATES, "XOR"):
        Perceptron(lr=1.0, max_epochs=50).fit(*logic_gate(gate))


PAGE_ACTIONS = {
    "train on AND (defaults)": _page_train_default,
    "train on random non-separable": _page_random_non_separable,
    "all gates tab": _page_all_gates,
}
