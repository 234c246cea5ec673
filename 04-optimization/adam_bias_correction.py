"""Chapter 04: why Adam divides its averages by 1 - βᵗ, measured by running Adam with and without it.

Both of Adam's averages start at 0, m biased by (1 - β₁ᵗ) and v by (1 - β₂ᵗ). On a constant gradient
the uncorrected step is η(1 - β₁ᵗ)/√(1 - β₂ᵗ) (``uncorrected_step_factor``): with β₁ = 0.9, β₂ = 0.999
it is 3.16η at t = 1 and peaks at 6.57η at t = 12, several times too *large*, because v's bias lasts
longer than m's. ``AdamNoBiasCorrection`` is ``common.optimizers.Adam`` with the two factors removed, and
``adam_step_sizes`` trains one parameter with either through ``common.training.fit``.

>>> f = uncorrected_step_factor(np.arange(1, 1001))
>>> round(float(f[0]), 3), int(f.argmax()) + 1, round(float(f.max()), 3)
(3.162, 12, 6.569)
"""

from __future__ import annotations

import numpy as np

from common._validation import check_array
from common.optimizers import Adam

from loss_landscapes import Point, descend


class AdamNoBiasCorrection(Adam):
    """Adam with the ``1/(1-βᵗ)`` factors removed, for showing what they are for (teaching only).

    ``m ← β₁m + (1-β₁)g``; ``v ← β₂v + (1-β₂)g²``; ``θ ← θ - η m/(√v + ε)``. On a constant gradient the
    step is η(1-β₁ᵗ)/√(1-β₂ᵗ) instead of η: with β₁ = 0.9, β₂ = 0.999 that is 3.16η at t = 1 and peaks
    at 6.57η at t = 12, because v's average starts further from its target than m's.
    (Compare ``common/optimizers.py: Adam._update`` and its reference ``adam_update_naive``.)
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


def _given_gradient(_p, g):
    """The step's target is the gradient itself (a parameter fed a series of gradients)."""
    return 0.0, g


def adam_step_sizes(grads: np.ndarray, *, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                    bias_correction: bool = True) -> np.ndarray:
    """|Δθ| of Adam (or Adam without bias correction) on one parameter fed the gradients ``grads``: (T,).

    The parameter is a ``Point`` of one coordinate trained by ``fit``, each step's target being that
    step's gradient."""
    grads = check_array("grads", grads, ndim=1).astype(np.float64)
    point = Point(np.zeros(1))
    cls = Adam if bias_correction else AdamNoBiasCorrection
    opt = cls(point, lr=lr, beta1=beta1, beta2=beta2)
    points, _ = descend(point, opt, _given_gradient, len(grads), targets=(np.array([g]) for g in grads))
    return np.abs(np.diff(points[:, 0]))


def uncorrected_step_factor(t: np.ndarray | int, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """(1-β₁ᵗ)/√(1-β₂ᵗ): uncorrected Adam's step on a constant gradient, in units of η."""
    t = np.asarray(t, dtype=np.float64)
    return (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)


__all__ = ["AdamNoBiasCorrection", "adam_step_sizes", "uncorrected_step_factor"]
