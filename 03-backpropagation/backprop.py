"""Backpropagation laid bare: a small MLP whose forward and backward passes expose every intermediate.

The network is ``common`` layers, ``Dense → act → … → Dense``, ending in one logit ``z_L``; the output
probability is ``ŷ = σ(z_L)`` and the loss is binary cross-entropy, fused with the sigmoid
(``common.losses.binary_cross_entropy_with_logits``). Layer l (1-based) computes

    z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ W⁽ˡ⁾ + b⁽ˡ⁾        a⁽ˡ⁾ = f(z⁽ˡ⁾)   (a⁽⁰⁾ = X, and a⁽ᴸ⁾ = σ(z⁽ᴸ⁾) = ŷ)

and the backward pass, with δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾ and L the mean loss over the N examples:

    δ⁽ᴸ⁾ = (ŷ - y) / N
    δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ᵀ) ⊙ f'(z⁽ˡ⁾)
    ∂L/∂W⁽ˡ⁾ = a⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁾          ∂L/∂b⁽ˡ⁾ = Σₙ δ⁽ˡ⁾

``BackpropNet.trace`` runs the library's own layers and records every one of these arrays;
``manual_backward`` writes the four equations out by hand, and the tests check that the two agree and
that both equal finite differences. ``train`` is full-batch gradient descent through ``common.fit``;
``one_step`` is one update written out (the step the Gradient flow tab shows). ``seed_sweep.sweep``
trains many seeds at once, and ``backprop_measured`` writes the tables of the chapter's documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common import activations
from common._validation import (check_array, check_choice, check_generator, check_positive,
                                check_positive_int)
from common.gradcheck import numerical_gradient, rel_error
from common.layers import Dense, Layer, Sequential
from common.losses import binary_cross_entropy_with_logits
from common.optimizers import SGD, Adam, Momentum
from common.training import Callback, fit

#: The hidden activations with a kink at 0, where a finite difference can straddle two slopes.
KINKED = ("relu", "leaky_relu")

#: Initialisation choices offered by the playground → ``common.init`` names.
INITS = {
    "zeros": "zeros",
    "constant": "constant",          # every weight 0.5
    "small normal": "normal",        # N(0, 0.01²)
    "xavier": "xavier_normal",       # N(0, 2/(fan_in + fan_out))
    "he": "he_normal",               # N(0, 2/fan_in)
}
ARCHITECTURES = {"2-2-1": (2, 2, 1), "2-4-1": (2, 4, 1), "2-8-1": (2, 8, 1)}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}

#: The playground's defaults. ``tests/test_ch03_backprop.py`` checks they reach 100% on XOR.
DEFAULTS = {"architecture": "2-4-1", "activation": "tanh", "init": "xavier", "lr": 0.5, "epochs": 2000,
            "seed": 0}


@dataclass
class LayerTrace:
    """One Dense layer's forward and backward numbers. Shapes for a batch of N: a_prev (N, D), z and
    a (N, H), delta (N, H), dW (D, H), db (H,), da_prev (N, D)."""

    a_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    da_prev: np.ndarray | None = None


@dataclass
class Trace:
    """A full forward and backward pass: ``layers[l-1]`` is layer l; ``loss`` the mean BCE."""

    layers: list[LayerTrace]
    y_hat: np.ndarray
    loss: float


class BackpropNet(Layer):
    """An MLP for binary classification with every intermediate available. A ``Layer`` whose one child
    is ``net``, the ``Sequential`` of Dense and activation layers that ``fit`` trains.

    Parameters
    ----------
    sizes : widths from input to output, e.g. (2, 4, 1); the last must be 1.
    activation : hidden activation, a name from ``common.activations.LAYERS``.
    init : a key of ``INITS`` ("zeros", "constant", "small normal", "xavier", "he") or a ``common.init``
        name. Biases always start at 0.
    rng : the generator that draws the initial weights.
    """

    def __init__(self, sizes=(2, 4, 1), activation: str = "tanh", init: str = "xavier",
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        sizes = tuple(int(s) if isinstance(s, (int, np.integer)) else s for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
        for s in sizes:
            check_positive_int("sizes[i]", s)
        if sizes[-1] != 1:
            raise ValueError(f"sizes must end with 1 (one output logit), got {sizes}")
        check_choice("activation", activation, activations.LAYERS)
        init_name = INITS.get(init, init)
        from common.init import INITIALIZERS, needs_rng
        if init_name not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITS)} (or a common.init name), got {init!r}")
        if needs_rng(init_name):
            check_generator("rng", rng)
        super().__init__()
        self.sizes, self.activation, self.init = sizes, activation, init
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Dense(d_in, d_out, rng, init=init_name, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(activations.get_layer(activation))
        self.net = Sequential(*layers)
        self.f, self.df = activations.ACTIVATIONS[activation]

    # --- structure -----------------------------------------------------------------------------------
    @property
    def dense(self) -> list[Dense]:
        return [l for l in self.net if isinstance(l, Dense)]

    def forward(self, X, training=False):
        """(N, D) → (N, 1) logits."""
        return self.net.forward(X, training=training)

    def backward(self, dout):
        return self.net.backward(dout)

    def backward_params(self, dout):
        self.net.backward_params(dout)

    def get_params(self) -> list[dict[str, np.ndarray]]:
        """A copy of every Dense layer's ``{"W", "b"}``."""
        return [{k: v.copy() for k, v in d.params.items()} for d in self.dense]

    def set_params(self, params: list[dict[str, np.ndarray]]) -> "BackpropNet":
        if len(params) != len(self.dense):
            raise ValueError(f"params must hold {len(self.dense)} layers, got {len(params)}")
        for d, p in zip(self.dense, params):
            for k in d.params:
                d.params[k][...] = p[k]
        return self

    def copy(self) -> "BackpropNet":
        other = BackpropNet(self.sizes, self.activation, "zeros", dtype=self.dense[0].params["W"].dtype)
        other.init = self.init
        return other.set_params(self.get_params())

    # --- forward / backward --------------------------------------------------------------------------
    def _check(self, X, y=None):
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (N, {self.sizes[0]}), got {X.shape}")
        if y is None:
            return X
        y = check_array("y", y, ndim=1)
        if len(y) != len(X):
            raise ValueError(f"y must have one label per row of X ({len(X)}), got {len(y)}")
        return X, y

    def logits(self, X) -> np.ndarray:
        """(N, D) → (N,) raw outputs z⁽ᴸ⁾."""
        return self.net.forward(self._check(X))[:, 0]

    def predict_proba(self, X) -> np.ndarray:
        """(N, D) → (N,) ŷ = σ(z⁽ᴸ⁾)."""
        return activations.sigmoid(self.logits(X))

    def predict(self, X) -> np.ndarray:
        """(N, D) → (N,) labels: 1 where ŷ > 0.5 (see ``decide``)."""
        return decide(self.logits(X))

    def accuracy(self, X, y) -> float:
        X, y = self._check(X, y)
        return float(np.mean(self.predict(X) == y))

    def loss(self, X, y) -> float:
        X, y = self._check(X, y)
        return binary_cross_entropy_with_logits(self.net.forward(X), y.astype(np.float64).reshape(-1, 1))[0]

    def trace(self, X, y) -> Trace:
        """Forward and backward through the ``common`` layers, keeping z, a, δ, ∂L/∂W, ∂L/∂b and
        ∂L/∂a⁽ˡ⁻¹⁾ for every layer. Gradients are for the mean loss over the rows of X (one example:
        pass ``X[i:i+1]``). The layers' own ``grads`` are left untouched."""
        X, y = self._check(X, y)
        traces, a = [], X
        layers = list(self.net)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                continue
            z = layer.forward(a)
            act = layers[i + 1] if i + 1 < len(layers) else None
            out = act.forward(z) if act is not None else activations.sigmoid(z)
            traces.append(LayerTrace(a_prev=a, W=layer.params["W"].copy(), b=layer.params["b"].copy(), z=z, a=out))
            a = out
        loss, dz = binary_cross_entropy_with_logits(traces[-1].z, y.astype(np.float64).reshape(-1, 1))
        saved = [{k: g.copy() for k, g in d.grads.items()} for d in self.dense]
        for d in self.dense:
            d.zero_grad()
        for li in range(len(traces) - 1, -1, -1):
            t, d = traces[li], self.dense[li]
            t.delta = dz
            t.da_prev = d.backward(dz)
            t.dW, t.db = d.grads["W"].copy(), d.grads["b"].copy()
            if li > 0:
                act = layers[layers.index(d) - 1]          # the activation feeding this layer
                dz = act.backward(t.da_prev)
        for d, g in zip(self.dense, saved):
            for k in d.grads:
                d.grads[k][...] = g[k]
        return Trace(layers=traces, y_hat=traces[-1].a[:, 0], loss=float(loss))

    def manual_backward(self, X, y) -> list[dict[str, np.ndarray]]:
        """The four backprop equations written out with NumPy (no layer objects), for comparison:
        ``[{"z", "a", "delta", "dW", "db"}, …]`` per layer."""
        X, y = self._check(X, y)
        params = self.get_params()
        zs, acts = [], [X]
        for l, p in enumerate(params):
            z = acts[-1] @ p["W"] + p["b"]
            zs.append(z)
            acts.append(activations.sigmoid(z) if l == len(params) - 1 else self.f(z))
        n = len(X)
        delta = (acts[-1] - y.reshape(-1, 1)) / n                    # δᴸ = (ŷ - y)/N
        out = [None] * len(params)
        for l in range(len(params) - 1, -1, -1):
            out[l] = {"z": zs[l], "a": acts[l + 1], "delta": delta,
                      "dW": acts[l].T @ delta, "db": delta.sum(axis=0)}
            if l > 0:
                delta = (delta @ params[l]["W"].T) * self.df(zs[l - 1])   # δˡ = (δˡ⁺¹ Wᵀ) ⊙ f'(zˡ)
        return out

    def gradient_check(self, X, y, h: float = 1e-5) -> list[dict]:
        """Analytic (``trace``) against centred finite differences of the loss, for every W and b.
        Rows: ``{"layer", "param", "analytic", "numeric", "rel_error"}`` (float64 only)."""
        X, y = self._check(X, y)
        if self.dense[0].params["W"].dtype != np.float64:
            raise ValueError("the network must be float64 for a gradient check (BackpropNet(dtype=np.float64))")
        tr = self.trace(X, y)
        rows = []
        for l, (d, t) in enumerate(zip(self.dense, tr.layers), start=1):
            for name, analytic in (("W", t.dW), ("b", t.db)):
                numeric = numerical_gradient(lambda: self.loss(X, y), d.params[name], np.float64(1.0), h)
                rows.append({"layer": l, "param": name, "analytic": analytic, "numeric": numeric,
                             "rel_error": rel_error(analytic, numeric)})
        return rows

    def check_verdict(self, X, y, rows: list[dict], h: float = 1e-5, tol: float = 1e-6) -> tuple[str, float]:
        """Why a ``gradient_check`` agrees or not, as ``(verdict, number)``:

        - ``("ok", worst relative error)`` when every row is below ``tol``;
        - ``("kink", smallest |z|)`` when a ReLU-family hidden unit's pre-activation lies within ``h`` of
          its kink at 0: the centred difference then straddles two slopes and averages them, while
          backprop uses one (the subgradient at 0: 0 for ReLU, 0.01 for Leaky ReLU);
        - ``("round-off", largest absolute difference)`` otherwise: the gradients agree to round-off
          (about 1e-11 for h = 1e-5), which is a visible fraction of a gradient that is itself tiny.
        """
        worst = max(r["rel_error"] for r in rows)
        if worst < tol:
            return "ok", worst
        if self.activation in KINKED:
            X, y = self._check(X, y)
            nearest = min(float(np.min(np.abs(t.z))) for t in self.trace(X, y).layers[:-1])
            if nearest < h:
                return "kink", nearest
        return "round-off", max(float(np.max(np.abs(r["analytic"] - r["numeric"]))) for r in rows)


def units_off(net: BackpropNet, X) -> np.ndarray:
    """(N, H) bool: which first-layer hidden units output exactly 0 for each row of X (ReLU's off side)."""
    return net.net[1].forward(net.dense[0].forward(net._check(X))) == 0


#: A logit must exceed this to predict class 1 (σ(z) > 0.5 + 2.5e-10).
TIE = 1e-9


def decide(logits) -> np.ndarray:
    """Labels from logits: 1 where ``z > TIE`` (1e-9), i.e. ŷ = σ(z) is above 0.5 by more than round-off.

    A network that outputs 0.5 everywhere (a stuck or symmetric one: its logits are ±1e-17 of round-off
    noise) then predicts class 0 everywhere, instead of letting the sign of the noise decide.
    """
    return (np.asarray(logits) > TIE).astype(np.int64)


# --- training ------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What ``train`` returns. ``snapshots`` maps an epoch count (updates done) to the parameters then."""

    history: object
    snapshots: dict[int, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    accuracy: list[float] = field(default_factory=list)   # accuracy after 0, 1, 2, … updates
    final_accuracy: float = 0.0
    final_loss: float = float("nan")
    epochs_to_converge: int | None = None    # updates after which accuracy was 100% and stayed so


class _Snapshots(Callback):
    def __init__(self, net: BackpropNet, every: int, store: dict) -> None:
        self.net, self.every, self.store = net, every, store

    def on_train_begin(self, state):
        self.store[0] = self.net.get_params()

    def on_epoch_end(self, state):
        done = state.epoch + 1
        if done % self.every == 0 or done == state.epochs or state.stop_requested:
            self.store[done] = self.net.get_params()


def _accuracy(logits, y) -> float:
    """The metric ``fit`` records: accuracy with ``decide``'s tie rule."""
    return float(np.mean(decide(logits).reshape(-1) == np.asarray(y).reshape(-1)))


def epochs_to_converge(acc_curve) -> int | None:
    """From the accuracy after 0, 1, 2, … updates: the number of updates after which every later
    accuracy is 100%, or None when the last one is not."""
    acc = np.asarray(acc_curve, dtype=float)
    if len(acc) == 0 or acc[-1] < 1.0:
        return None
    bad = np.flatnonzero(acc < 1.0)
    return 0 if len(bad) == 0 else int(bad[-1] + 1)


def train(net: BackpropNet, X, y, *, lr: float, epochs: int, rng: np.random.Generator, optimizer: str = "sgd",
          snapshot_every: int | None = None, callbacks=()) -> TrainResult:
    """Full-batch gradient descent on the mean BCE (``common.fit`` with ``batch_size=None``)."""
    X, y = net._check(X, y)
    check_positive("lr", lr)
    check_positive_int("epochs", epochs)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    snapshots: dict = {}
    cbs = list(callbacks)
    if snapshot_every is not None:
        check_positive_int("snapshot_every", snapshot_every)
        cbs.insert(0, _Snapshots(net, snapshot_every, snapshots))
    opt = OPTIMIZERS[optimizer](net.net, lr=lr)
    history = fit(net, X, y.astype(np.float64).reshape(-1, 1), loss_fn=binary_cross_entropy_with_logits,
                  optimizer=opt, epochs=epochs, rng=rng, batch_size=None, callbacks=cbs, metric=_accuracy)
    # Full batch: train_acc[e] is the accuracy of the whole set before update e+1; add the final one.
    acc_curve = list(history.train_acc) + [net.accuracy(X, y)]
    return TrainResult(history=history, snapshots=snapshots, accuracy=acc_curve, final_accuracy=acc_curve[-1],
                       final_loss=net.loss(X, y), epochs_to_converge=epochs_to_converge(acc_curve))


def train_xor(architecture: str = DEFAULTS["architecture"], activation: str = DEFAULTS["activation"],
              init: str = DEFAULTS["init"], lr: float = DEFAULTS["lr"], epochs: int = DEFAULTS["epochs"],
              seed: int = DEFAULTS["seed"], snapshot_every: int | None = None, callbacks=()):
    """Build a net for XOR from ``seed`` and train it; returns ``(net, TrainResult)``. The seed draws
    the initial weights (``default_rng(seed)``); full-batch training uses no randomness."""
    from common.datasets import xor
    check_choice("architecture", architecture, ARCHITECTURES)
    X, y = xor()
    rng = np.random.default_rng(seed)
    net = BackpropNet(ARCHITECTURES[architecture], activation, init, rng)
    return net, train(net, X, y, lr=lr, epochs=epochs, rng=rng, snapshot_every=snapshot_every,
                      callbacks=callbacks)


def one_step(net: BackpropNet, X, y, lr: float) -> BackpropNet:
    """A copy of ``net`` after one SGD step on (X, y) (``common.optimizers.SGD``).

    Written out rather than run by ``common.training.fit`` on purpose: this one step (forward, loss,
    backward, update) is the lesson the Gradient flow tab shows, each line one of the four stages."""
    check_positive("lr", lr)
    X, y = net._check(X, y)
    new = net.copy()
    opt = SGD(new.net, lr=lr)
    opt.zero_grad()
    out = new.net.forward(X, training=True)
    _, dout = binary_cross_entropy_with_logits(out, y.astype(np.float64).reshape(-1, 1))
    new.net.backward(dout)
    opt.step()
    return new


def hidden_unit_spread(net: BackpropNet) -> float:
    """Largest difference between any hidden unit's incoming weights/bias and unit 0's, over every
    hidden layer: 0 means the hidden units are identical copies (the symmetry problem)."""
    spread = 0.0
    for d in net.dense[:-1]:
        cols = np.vstack([d.params["W"], d.params["b"][None, :]])   # (D+1, H): one column per unit
        spread = max(spread, float(np.max(np.abs(cols - cols[:, :1]))))
    return spread


# --- vanishing gradients --------------------------------------------------------------------------------
def gradient_norms_at_init(depth: int, activation: str, *, width: int = 8, init: str | None = None, seed: int = 0,
                           weight_scale: float = 1.0, X=None, y=None) -> np.ndarray:
    """‖∂L/∂W⁽ˡ⁾‖ for every layer l = 1 … depth+1 of a fresh ``2 → width×depth → 1`` network on XOR.

    ``init`` defaults to the scale usually matched with the activation: He for ReLU-like units, Xavier
    otherwise (Xavier's derivation assumes tanh-like units; for sigmoid it is only the common choice).
    ``weight_scale`` multiplies every initial weight (4 is the usual correction of Xavier for sigmoid,
    whose slope at 0 is 1/4). Returns an array of length depth + 1, input layer first.
    """
    check_positive("weight_scale", weight_scale)
    from common.datasets import xor
    check_positive_int("depth", depth)
    check_positive_int("width", width)
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    if X is None:
        X, y = xor()
    net = BackpropNet((2,) + (width,) * depth + (1,), activation, init, np.random.default_rng(seed))
    for d in net.dense:
        d.params["W"] *= weight_scale
    return np.array([float(np.linalg.norm(t.dW)) for t in net.trace(X, y).layers])


def layer_spread(norms) -> float:
    """Largest over smallest of per-layer gradient norms: how far apart the layers learn (inf when some
    layer gets no gradient at all, NaN when none does)."""
    n = np.asarray(norms, dtype=float)
    if not np.any(n > 0):
        return float("nan")
    return float(n.max() / n.min()) if np.all(n > 0) else float("inf")
