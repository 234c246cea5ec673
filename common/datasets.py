"""Small synthetic data sets for the early chapters. Every generator takes an explicit
``numpy.random.Generator`` and returns ``X: (N, 2) float64`` and ``y: (N,) int64`` labels in {0, 1}."""

from __future__ import annotations

import numpy as np

from ._validation import (check_array, check_choice, check_generator, check_in_range, check_positive,
                          check_positive_int)

_GATES = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "NOR": [1, 0, 0, 0],
    "XOR": [0, 1, 1, 0],
}
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The four input pairs (0,0), (0,1), (1,0), (1,1) and the gate's truth table.
    ``name`` is one of AND, OR, NAND, NOR, XOR."""
    check_choice("name", name, _GATES)
    return GATE_INPUTS.copy(), np.array(_GATES[name], dtype=np.int64)


def xor() -> tuple[np.ndarray, np.ndarray]:
    return logic_gate("XOR")


def linearly_separable(n: int, rng: np.random.Generator, margin: float = 0.3):
    """``n`` points in [-1, 1]² labelled by a random line through the square, with no point closer than
    ``margin`` to it, so the classes are separable with that margin. With ``n >= 2`` both classes are
    present: a line (or a draw) that leaves one side empty is drawn again, so a large margin cannot give
    a one-class set."""
    check_positive_int("n", n)
    check_generator("rng", rng)
    check_in_range("margin", margin, 0.0, 1.0)
    for _ in range(1000):
        angle = rng.uniform(0, 2 * np.pi)
        w = np.array([np.cos(angle), np.sin(angle)])
        b = rng.uniform(-0.3, 0.3)
        # The farthest a corner of the square gets from the line is |cos| + |sin| ± b on each side: a side
        # that never reaches the margin could only ever hold zero points.
        reach = abs(w[0]) + abs(w[1])
        if n >= 2 and (reach + b <= margin or reach - b <= margin):
            continue
        X = np.empty((0, 2))
        while len(X) < n:
            cand = rng.uniform(-1, 1, size=(2 * n, 2))
            cand = cand[np.abs(cand @ w + b) >= margin]
            X = np.vstack([X, cand])
        X = X[:n]
        y = (X @ w + b > 0).astype(np.int64)
        if n < 2 or 0 < y.sum() < n:
            return X, y
    raise ValueError(f"margin={margin!r} leaves no room for two classes of {n} points after 1000 draws")


def non_separable(n: int, rng: np.random.Generator, flip: float = 0.1):
    """A linearly separable set (margin 0) with a fraction ``flip`` of labels flipped, so no line
    separates it."""
    check_in_range("flip", flip, 0.0, 0.5, include_low=False)
    X, y = linearly_separable(n, rng, margin=0.0)
    n_flip = max(1, int(round(flip * n)))
    idx = rng.choice(n, size=n_flip, replace=False)
    y = y.copy()
    y[idx] = 1 - y[idx]
    return X, y


def _check_two_class(name, n, rng, noise) -> None:
    check_positive_int(name, n)
    check_generator("rng", rng)
    check_positive("noise", noise, allow_zero=True)


def _two_class_labels(n0: int, n: int) -> np.ndarray:
    """``n0`` zeros then ``n - n0`` ones (int64), the labels of the two-class toy sets."""
    return np.r_[np.zeros(n0), np.ones(n - n0)].astype(np.int64)


def moons(n: int, rng: np.random.Generator, noise: float = 0.1):
    """Two interleaving half circles (``n // 2`` points each), with Gaussian noise."""
    _check_two_class("n", n, rng, noise)
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    X = np.vstack([np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    X += noise * rng.standard_normal(X.shape)
    return X, _two_class_labels(n0, n)


def spirals(n: int, rng: np.random.Generator, noise: float = 0.05, turns: float = 1.5):
    """Two intertwined spirals of ``turns`` turns each (``n // 2`` points each), radius up to 1."""
    _check_two_class("n", n, rng, noise)
    check_positive("turns", turns)
    n0 = n // 2
    parts = []
    for k, m in enumerate((n0, n - n0)):
        r = np.sqrt(rng.uniform(0.02, 1, m))       # sqrt spreads points evenly along the arm
        theta = 2 * np.pi * turns * r + k * np.pi
        parts.append(np.c_[r * np.cos(theta), r * np.sin(theta)])
    X = np.vstack(parts) + noise * rng.standard_normal((n, 2))
    return X, _two_class_labels(n0, n)


def circles(n: int, rng: np.random.Generator, noise: float = 0.05, factor: float = 0.5):
    """A circle of radius ``factor`` inside one of radius 1 (``n // 2`` points each)."""
    _check_two_class("n", n, rng, noise)
    check_in_range("factor", factor, 0.0, 1.0, include_low=False)
    n0 = n // 2
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.r_[np.ones(n0), np.full(n - n0, factor)]
    X = np.c_[r * np.cos(t), r * np.sin(t)] + noise * rng.standard_normal((n, 2))
    return X, _two_class_labels(n0, n)


def train_test_split(X, y, test_fraction: float, rng: np.random.Generator):
    """Shuffle and split into (X_train, y_train, X_test, y_test); both parts have at least one row."""
    X, y = check_array("X", X), check_array("y", y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must have a row axis, got shapes {X.shape} and {y.shape}")
    if len(y) != len(X):
        raise ValueError(f"y must have one label per row of X ({len(X)}), got {len(y)}")
    if len(X) < 2:
        raise ValueError(f"X must have at least 2 rows to split into a training and a test part, got {len(X)}")
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, include_low=False)
    check_generator("rng", rng)
    order = rng.permutation(len(X))
    n_test = max(1, int(round(test_fraction * len(X))))
    if n_test >= len(X):
        raise ValueError(f"test_fraction={test_fraction!r} of {len(X)} rows puts all {n_test} in the test set and "
                         "leaves no training rows; use a smaller fraction")
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
