"""Chapter 05: dropout up close: the masks it draws, and the check that inverted dropout keeps the expected
activation.

``common.layers.Dropout`` zeroes each unit with probability p in training and scales the survivors by
1/(1-p). Each mask picks one of the 2ⁿ subnetworks of a layer of n units (``subnetworks(n)``), so
training samples an ensemble of networks that share their weights; the scaling makes the average
training-time activation equal the evaluation-time one, which ``dropout_expectation`` measures.

>>> masks = dropout_masks(0.5, (1, 4), 3, np.random.default_rng(0))
>>> sorted(set(masks.ravel().tolist()))                   # dropped, or kept and scaled by 1/(1-p)
[0.0, 2.0]
"""

from __future__ import annotations

import math

import numpy as np

from common._validation import check_array, check_positive_int
from common.layers import Dropout


def subnetworks(n: int) -> int:
    """How many subnetworks dropout samples from on a layer of ``n`` units: every subset, 2ⁿ."""
    check_positive_int("n", n)
    return 2 ** n


def dropout_masks(p: float, shape: tuple[int, int], steps: int, rng: np.random.Generator) -> np.ndarray:
    """The multipliers ``m/(1-p)`` that ``common.layers.Dropout`` applies in ``steps`` training passes:
    (steps, *shape), each entry 0 or 1/(1-p)."""
    check_positive_int("steps", steps)
    layer = Dropout(p, rng)
    ones = np.ones(shape)
    return np.stack([layer.forward(ones, training=True) for _ in range(steps)])


def dropout_expectation(x: np.ndarray, p: float, draws: int, rng: np.random.Generator) -> dict:
    """Average ``Dropout(p)`` in training mode over ``draws`` passes and compare with evaluation mode.

    Shapes: x: (N, H). Returns the mean training output (N, H), the evaluation output, the relative
    difference ‖mean - eval‖/‖eval‖ for inverted dropout, the same for dropout *without* the 1/(1-p)
    scaling (which comes out near p), the fraction of units kept, and the standard error expected from
    the number of draws.
    """
    x = check_array("x", x, ndim=2).astype(np.float64)
    check_positive_int("draws", draws)
    layer = Dropout(p, rng)
    total = np.zeros_like(x)
    nz = x != 0
    kept = 0.0
    for _ in range(draws):
        out = layer.forward(x, training=True)
        total += out
        kept += float(np.mean(out[nz] != 0)) if nz.any() else float("nan")
    mean = total / draws
    ev = layer.forward(x, training=False)
    norm = max(float(np.linalg.norm(ev)), 1e-12)
    unscaled = mean * (1 - p)
    return {
        "mean_train": mean,
        "eval": ev,
        "rel_diff": float(np.linalg.norm(mean - ev)) / norm,
        "rel_diff_unscaled": float(np.linalg.norm(unscaled - ev)) / norm,
        "kept_fraction": kept / draws,
        # each entry's mean has std x·√(p/(1-p))/√draws, so the relative difference is about this:
        "expected_rel_noise": math.sqrt(p / (1 - p) / draws) if p > 0 else 0.0,
        "nonzero": int(nz.sum()),
    }


__all__ = ["subnetworks", "dropout_masks", "dropout_expectation"]
