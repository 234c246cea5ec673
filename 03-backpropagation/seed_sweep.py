"""Training many XOR networks at once, one per seed: the seed sweep of chapter 03.

Whether a run of ``backprop.train_xor`` succeeds is decided by the seed that draws its initial weights.
To measure how often, ``sweep`` trains one network per seed side by side: ``stack_seeds`` stacks the
seeds' weights along a leading axis S into ``StackedDense`` layers (S independent ``Dense`` layers in one
array each), and ``common.training.fit`` trains the stack on ``seedwise_bce``, the sum of the seeds' own
losses, so every seed takes exactly the step it would take alone. One ``fit`` of 2000 epochs on the stack
replaces 100 separate runs.

>>> s = sweep(range(10), architecture="2-2-1")
>>> s.fraction_converged, s.seeds[~s.converged].tolist()
(0.6, [1, 2, 3, 6])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop import ARCHITECTURES, DEFAULTS, TIE, BackpropNet, epochs_to_converge
from common import activations
from common._validation import check_array, check_choice, check_positive, check_positive_int
from common.layers import Layer, Sequential
from common.losses import binary_cross_entropy_with_logits
from common.optimizers import SGD
from common.training import Callback, fit


class StackedDense(Layer):
    """S independent Dense layers applied side by side, one per seed: the layer ``sweep`` trains.

    Shapes: x: (N, D) (the same inputs for every seed) or (S, N, D); W: (S, D, H); b: (S, 1, H);
    out: (S, N, H). Seed s computes ``out[s] = x[s] W[s] + b[s]``, exactly a ``Dense`` with its own
    weights; the gradients are ``∂L/∂W[s] = x[s]ᵀ dout[s]``, ``∂L/∂b[s] = Σₙ dout[s, n]``,
    ``∂L/∂x[s] = dout[s] W[s]ᵀ`` (the three of ``common.layers.Dense.backward``, batched over s), and
    for inputs shared by every seed ``∂L/∂x = Σₛ dout[s] W[s]ᵀ``.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        W, b = check_array("W", W, ndim=3), check_array("b", b)
        if b.shape != (W.shape[0], 1, W.shape[2]):
            raise ValueError(f"b must have shape (S, 1, H) = {(W.shape[0], 1, W.shape[2])}, got {b.shape}")
        self.add_param("W", np.array(W))
        self.add_param("b", np.array(b))
        self._x = None

    def forward(self, x, training=False):
        x = check_array("x", x)
        if x.shape[-1] != self.params["W"].shape[1] or x.ndim not in (2, 3):
            raise ValueError(f"x must have shape (N, {self.params['W'].shape[1]}) or (S, N, "
                             f"{self.params['W'].shape[1]}), got {x.shape}")
        self._x = x
        out = x @ self.params["W"]                               # (S, N, H)
        out += self.params["b"]
        return out

    def backward(self, dout):
        self.backward_params(dout)
        dx = dout @ np.swapaxes(self.params["W"], 1, 2)        # (S, N, D)
        return dx.sum(axis=0) if self._x.ndim == 2 else dx     # inputs shared by every seed: their sum

    def backward_params(self, dout):
        self._require_cache(self._x)
        self.grads["W"] += np.swapaxes(self._x, -1, -2) @ dout  # (S, D, N) @ (S, N, H)
        self.grads["b"] += dout.sum(axis=1, keepdims=True)

    def __repr__(self):
        S, D, H = self.params["W"].shape
        return f"StackedDense({S} × {D} → {H})"


def stack_seeds(nets: list[BackpropNet]) -> Sequential:
    """The networks ``nets`` (same sizes and activation) as one ``Sequential`` of ``StackedDense`` and
    activation layers: seed s of the stack starts with exactly the weights of ``nets[s]``."""
    first = nets[0]
    layers = []
    for l, _ in enumerate(first.dense):
        W = np.stack([n.dense[l].params["W"] for n in nets])                       # (S, D, H)
        b = np.stack([n.dense[l].params["b"] for n in nets])[:, None, :]           # (S, 1, H)
        layers.append(StackedDense(W, b))
        if l < len(first.dense) - 1:
            layers.append(activations.get_layer(first.activation))
    return Sequential(*layers)


def seedwise_bce(out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss ``sweep`` trains on: the sum over seeds of each seed's mean BCE
    (``common.losses.binary_cross_entropy_with_logits``).

    Shapes: out: (S, N, 1) logits; y: (N, S, 1) targets (row n repeated for every seed, so that ``fit``
    can shuffle rows). Summing (not averaging) over seeds gives every seed's parameters exactly the
    gradient of its own mean loss, ``(σ(z) - y) / N``, so each seed follows the path it would alone."""
    S = out.shape[0]
    loss, dout = binary_cross_entropy_with_logits(out, y.transpose(1, 0, 2))
    return loss * S, dout * S


def _correct(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(S, N) bool: which points each seed classifies correctly, from (S, N, 1) logits and the (N, S, 1)
    targets of ``seedwise_bce``."""
    return (logits[..., 0] > TIE) == (y[:, :1, 0].T > 0.5)


class _AllCorrect(Callback):
    """Records, before every update, which seeds classify all N points correctly: (S,) per step."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def on_batch_end(self, state):
        self.rows.append(_correct(state.out, state.target).all(axis=1))


@dataclass
class SweepResult:
    seeds: np.ndarray                 # (S,)
    final_accuracy: np.ndarray        # (S,)
    final_loss: np.ndarray            # (S,)
    epochs_to_converge: np.ndarray    # (S,) int, -1 where it never converged
    correct_by_epoch: np.ndarray      # (S, E+1) bool: all four right after 0, 1, …, E updates
    stack: Sequential | None = None   # the trained stack (seed k's weights at index k of every array)
    activation: str = ""

    def network(self, k: int) -> BackpropNet:
        """Seed ``self.seeds[k]``'s trained network, as a ``BackpropNet`` (copied out of the stack)."""
        dense = [layer for layer in self.stack if isinstance(layer, StackedDense)]
        sizes = (dense[0].params["W"].shape[1],) + tuple(d.params["W"].shape[2] for d in dense)
        net = BackpropNet(sizes, self.activation, "zeros")
        return net.set_params([{"W": d.params["W"][k], "b": d.params["b"][k, 0]} for d in dense])

    @property
    def converged(self) -> np.ndarray:
        return self.final_accuracy == 1.0

    @property
    def fraction_converged(self) -> float:
        return float(np.mean(self.converged))

    def fraction_correct_after(self, epochs: int) -> float:
        """Fraction of seeds with all four predictions right after ``epochs`` updates: what a run of
        that many epochs would report (the trajectory does not depend on the budget)."""
        return float(np.mean(self.correct_by_epoch[:, epochs]))

    def median_epochs(self) -> float | None:
        e = self.epochs_to_converge[self.converged]
        return float(np.median(e)) if len(e) else None


def sweep(seeds, *, architecture: str = DEFAULTS["architecture"], activation: str = DEFAULTS["activation"],
          init: str = DEFAULTS["init"], lr: float = DEFAULTS["lr"], epochs: int = DEFAULTS["epochs"],
          X=None, y=None) -> SweepResult:
    """Train one XOR network per seed, all at once: ``common.fit`` on the stack of ``stack_seeds``,
    full-batch gradient descent (``common.optimizers.SGD``) on ``seedwise_bce``.

    Each seed starts from the weights ``train_xor`` would draw and takes the same SGD step on its own
    mean loss, so each row equals a separate ``train_xor`` run (up to float round-off in the order of
    the sums; the tests compare them).
    """
    from common.datasets import xor
    seeds = np.asarray(list(seeds), dtype=np.int64)
    if seeds.ndim != 1 or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty list of integers")
    check_choice("architecture", architecture, ARCHITECTURES)
    check_positive("lr", lr)
    check_positive_int("epochs", epochs)
    if X is None:
        X, y = xor()
    sizes = ARCHITECTURES[architecture]
    stack = stack_seeds([BackpropNet(sizes, activation, init, np.random.default_rng(int(s))) for s in seeds])
    yv = np.asarray(y, dtype=np.float64).reshape(-1, 1)                          # (N, 1)
    targets = np.repeat(yv[:, None, :], len(seeds), axis=1)                      # (N, S, 1)
    record = _AllCorrect()
    # Full batch: the permutation fit draws only reorders the four rows, so any generator will do.
    fit(stack, X, targets, loss_fn=seedwise_bce, optimizer=SGD(stack, lr=lr), epochs=epochs,
        rng=np.random.default_rng(0), batch_size=None, metric=None, callbacks=[record])
    logits = stack.forward(X)                                                    # (S, N, 1), after training
    correct = _correct(logits, targets)
    all_correct = np.stack(record.rows + [correct.all(axis=1)], axis=1)          # (S, E+1)
    final_acc = correct.mean(axis=1)
    final_loss = np.array([binary_cross_entropy_with_logits(z, yv)[0] for z in logits])
    etc = np.array([epochs_to_converge(row) if row[-1] else -1 for row in all_correct.astype(float)],
                   dtype=np.int64)
    return SweepResult(seeds=seeds, final_accuracy=final_acc, final_loss=final_loss, epochs_to_converge=etc,
                       correct_by_epoch=all_correct, stack=stack, activation=activation)


# --- the page's default actions (tests/benchmarks/bench_pages.py times them) -------------------------------
def _page_train_default() -> None:
    """The page on arrival: 2-4-1, tanh, Xavier, η = 0.5, 2000 epochs, seed 0, 50 snapshots for the replay."""
    from backprop import train_xor
    train_xor(snapshot_every=max(1, DEFAULTS["epochs"] // 50))


def _page_seed_sweep() -> None:
    """'Run seed sweep' with its defaults: seeds 0–99 for each of the three architectures."""
    for a in ARCHITECTURES:
        sweep(range(100), architecture=a)


def _page_vanishing() -> None:
    """The Vanishing gradients tab with its defaults: depth 10, width 8, matched initialisation, seed 0."""
    from backprop import gradient_norms_at_init
    for a in ("sigmoid", "tanh", "relu"):
        gradient_norms_at_init(10, a, width=8, seed=0)


PAGE_ACTIONS = {
    "train the XOR net (defaults)": _page_train_default,
    "run seed sweep (100 seeds × 3 architectures)": _page_seed_sweep,
    "vanishing gradients tab (defaults)": _page_vanishing,
}
