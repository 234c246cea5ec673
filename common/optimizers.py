"""Optimizers over (param, grad) pairs, updating parameters in place.

``Optimizer(model.parameters(), lr=...)`` (or any iterable of ``(param, grad)`` pairs, or a layer);
``step()`` applies one update from the current gradients; ``zero_grad()`` clears them. Per-parameter
state (velocities, squared-gradient averages) lives in the optimizer, keyed by the parameter's position,
never on the layer.

``weight_decay`` applies to weight matrices only (``param.ndim >= 2``): biases and norm gains are left
alone. For every optimizer but AdamW it is an L2 penalty folded into the gradient (``g + λθ``, the
gradient of ``λ/2·‖θ‖²``); AdamW decays the weights directly, decoupled from the adaptive step.

Update rules (g is the gradient, η the learning rate, t the step count from 1). The conventions match
``torch.optim`` so the parity tests can compare step by step.

=========  ==================================================================================
SGD        θ ← θ - η g
Momentum   v ← μ v + g;             θ ← θ - η v
Nesterov   v ← μ v + g;             θ ← θ - η (g + μ v)
Adagrad    G ← G + g²;              θ ← θ - η g / (√G + ε)
RMSProp    s ← ρ s + (1-ρ) g²;      θ ← θ - η g / (√s + ε)
Adam       m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  m̂ = m/(1-β₁ᵗ);  v̂ = v/(1-β₂ᵗ);
           θ ← θ - η m̂ / (√v̂ + ε)
AdamW      θ ← θ(1 - ηλ) for matrices, then the Adam step with no L2 in g
=========  ==================================================================================
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_in_range, check_positive, check_positive_int


def _as_pairs(params) -> list[tuple[np.ndarray, np.ndarray]]:
    if hasattr(params, "parameters"):
        params = params.parameters()
    pairs = list(params)
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"params[{i}] must be a (param, grad) pair, got {type(pair).__name__}")
        p, g = pair
        if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray) or p.shape != g.shape:
            raise ValueError(f"params[{i}] must be two arrays of the same shape")
    return pairs


class Optimizer:
    """Base class: holds the pairs, the learning rate and the step count."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0) -> None:
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        self.pairs = _as_pairs(params)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.pairs]

    def zero_grad(self) -> None:
        for _, g in self.pairs:
            g.fill(0)

    def step(self) -> None:
        self.t += 1
        for i, (p, g) in enumerate(self.pairs):
            if self.weight_decay and p.ndim >= 2 and self._l2_in_gradient:
                g = g + self.weight_decay * p
            self._update(p, g, self.state[i])

    _l2_in_gradient = True

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr:g})"


class SGD(Optimizer):
    """Plain gradient descent: ``θ ← θ - η g``."""

    def _update(self, p, g, state):
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v ← μv + g``, ``θ ← θ - ηv``.

    (CS231n writes ``v ← μv - ηg``, ``θ ← θ + v``; with a constant η the two are the same sequence of
    parameters.)
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        check_in_range("momentum", momentum, 0.0, 1.0)
        self.momentum = float(momentum)

    def _update(self, p, g, state):
        v = state.get("v")
        if v is None:
            v = state["v"] = g.copy()
        else:
            v *= self.momentum
            v += g
        p -= self.lr * v


class Nesterov(Momentum):
    """Nesterov momentum in the look-ahead-free form: ``v ← μv + g``, ``θ ← θ - η(g + μv)``."""

    def _update(self, p, g, state):
        v = state.get("v")
        if v is None:
            v = state["v"] = g.copy()
        else:
            v *= self.momentum
            v += g
        p -= self.lr * (g + self.momentum * v)


class Adagrad(Optimizer):
    """Per-coordinate steps shrinking with the accumulated squared gradient: ``G ← G + g²``,
    ``θ ← θ - ηg/(√G + ε)``."""

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        check_positive("eps", eps)
        self.eps = float(eps)

    def _update(self, p, g, state):
        G = state.setdefault("G", np.zeros_like(p))
        G += g * g
        p -= self.lr * g / (np.sqrt(G) + self.eps)


class RMSProp(Optimizer):
    """Adagrad with a leaky average: ``s ← ρs + (1-ρ)g²``, ``θ ← θ - ηg/(√s + ε)``."""

    def __init__(self, params, lr: float = 0.001, rho: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        check_in_range("rho", rho, 0.0, 1.0)
        check_positive("eps", eps)
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, p, g, state):
        s = state.setdefault("s", np.zeros_like(p))
        s *= self.rho
        s += (1 - self.rho) * (g * g)
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Momentum on the gradient and RMSProp on its square, both bias-corrected (Kingma & Ba 2015).

    ``m ← β₁m + (1-β₁)g``; ``v ← β₂v + (1-β₂)g²``; ``θ ← θ - η·(m/(1-β₁ᵗ)) / (√(v/(1-β₂ᵗ)) + ε)``.
    Both averages start at zero and so are biased toward 0 early on; ``v``'s bias is larger and lasts
    longer (β₂ is closer to 1), so without the ``1/(1-βᵗ)`` factors the early steps would be several times
    too *large*: for a constant gradient, η(1-β₁ᵗ)/√(1-β₂ᵗ) is 3.2η at t = 1 and about 6.6η near t = 12
    with the default betas (chapter 04 measures it).
    ``weight_decay`` here is coupled L2 (added to g); see ``AdamW`` for the decoupled form.
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        check_in_range("beta1", beta1, 0.0, 1.0)
        check_in_range("beta2", beta2, 0.0, 1.0)
        check_positive("eps", eps)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, p, g, state):
        if "m" not in state:
            state["m"], state["v"], state["tmp"] = np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
        m, v, tmp = state["m"], state["v"], state["tmp"]
        bc1 = 1 - self.beta1 ** self.t
        bc2 = 1 - self.beta2 ** self.t
        # In-place ufuncs with one scratch buffer: the same arithmetic as the equations above without
        # allocating a temporary per operation (this update is a quarter of an MNIST MLP step).
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        # η·m̂/(√v̂ + ε) = (η√bc2/bc1)·m/(√v + ε√bc2): one pass fewer over the array.
        np.sqrt(v, out=tmp)
        tmp += self.eps * math.sqrt(bc2)
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * math.sqrt(bc2) / bc1
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``θ ← θ(1 - ηλ)`` on weight matrices,
    then the Adam step on the plain gradient. With coupled L2 inside Adam the decay is divided by √v̂ and
    large-gradient weights are barely decayed; decoupling makes every matrix decay at the same rate."""

    _l2_in_gradient = False

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, beta1, beta2, eps, weight_decay)

    def _update(self, p, g, state):
        if self.weight_decay and p.ndim >= 2:
            p *= 1 - self.lr * self.weight_decay
        super()._update(p, g, state)


OPTIMIZERS = {"SGD": SGD, "Momentum": Momentum, "Nesterov": Nesterov, "Adagrad": Adagrad,
              "RMSProp": RMSProp, "Adam": Adam, "AdamW": AdamW}

#: A sensible starting learning rate for each optimizer on MNIST-sized MLPs.
DEFAULT_LR = {"SGD": 0.1, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.01, "RMSProp": 0.001,
              "Adam": 0.001, "AdamW": 0.001}


def get(name: str):
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name]


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs. Call ``step()`` once per epoch."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        check_positive_int("step_size", step_size)
        check_positive("gamma", gamma)
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.epoch // self.step_size)
        return self.optimizer.lr


class CosineLR:
    """Cosine annealing from the initial rate to ``lr_min`` over ``total_epochs``:
    ``η_e = η_min + ½(η₀ - η_min)(1 + cos(π e / E))``. Call ``step()`` once per epoch."""

    def __init__(self, optimizer: Optimizer, total_epochs: int, lr_min: float = 0.0) -> None:
        check_positive_int("total_epochs", total_epochs)
        check_positive("lr_min", lr_min, allow_zero=True)
        self.optimizer, self.total, self.lr_min = optimizer, total_epochs, lr_min
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self) -> float:
        self.epoch = min(self.epoch + 1, self.total)
        cos = 0.5 * (1 + math.cos(math.pi * self.epoch / self.total))
        self.optimizer.lr = self.lr_min + (self.base_lr - self.lr_min) * cos
        return self.optimizer.lr
