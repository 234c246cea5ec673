"""Optimizers over (param, grad) pairs, updating parameters in place.

``Optimizer(model.parameters(), lr=...)`` (or any iterable of ``(param, grad)`` pairs, or a layer);
``step()`` applies one update from the current gradients; ``zero_grad()`` clears them. Per-parameter
state (velocities, squared-gradient averages) lives in the optimizer, keyed by the parameter's position,
never on the layer. An optimizer built from a layer registers itself with the layers whose arrays it
updates, so ``layer.astype`` (which replaces those arrays) refuses while it is alive instead of leaving
it to train stale copies.

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

``adam_update_naive`` is the Adam row written exactly as the equations, beside the in-place form
``Adam._update`` uses; a test checks they agree. ``Adam.step`` runs that form once over all the small
parameters together (flat buffers), bitwise the same as parameter by parameter, which a test checks too. Also here: gradient clipping by global norm
(``clip_grad_norm``) and the learning-rate schedules ``StepLR`` and ``CosineLR`` (with an optional
linear warmup), which ``common.training.fit`` steps for you.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_choice, check_in_range, check_positive, check_positive_int


def _as_pairs(params) -> list[tuple[np.ndarray, np.ndarray]]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if params is None or isinstance(params, (str, bytes, np.ndarray)) or not hasattr(params, "__iter__"):
        raise ValueError("params must be a layer or its parameters() (an iterable of (param, grad) pairs), "
                         f"got {type(params).__name__}")
    pairs = list(params)
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"params[{i}] must be a (param, grad) pair, got {type(pair).__name__}")
        p, g = pair
        if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray) or p.shape != g.shape:
            raise ValueError(f"params[{i}] must be two arrays of the same shape")
        if p.dtype.kind != "f" or g.dtype.kind != "f":
            raise ValueError(f"params[{i}] must be float arrays (an optimizer updates them in place), "
                             f"got {p.dtype} and {g.dtype}")
    return pairs


class Optimizer:
    """Base class: holds the pairs, the learning rate and the step count."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0) -> None:
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        owners = getattr(params.parameters() if hasattr(params, "parameters") and callable(params.parameters)
                         else params, "owners", ())
        self.pairs = _as_pairs(params)
        for layer in owners:                 # so layer.astype refuses to swap the arrays under us
            layer._optimizers.add(self)
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

    def _velocity(self, g, state):
        """``v ← μv + g`` in place (``v = g`` on the first step)."""
        v = state.get("v")
        if v is None:
            v = state["v"] = g.copy()
        else:
            v *= self.momentum
            v += g
        return v

    def _update(self, p, g, state):
        p -= self.lr * self._velocity(g, state)


class Nesterov(Momentum):
    """Nesterov momentum in the look-ahead-free form: ``v ← μv + g``, ``θ ← θ - η(g + μv)``."""

    def _update(self, p, g, state):
        v = self._velocity(g, state)
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

    #: Parameters with at most this many entries are updated together, in one flat buffer per dtype, by
    #: ``step``: eleven NumPy calls for all of them instead of eleven each (a bias of 10 floats costs as
    #: many calls as a 100k-entry matrix). Larger ones keep their own arrays, where a gather would cost
    #: a pass over the data.
    GROUP_MAX_SIZE = 1 << 15

    def step(self) -> None:
        """One Adam step for every parameter: ``_update`` for the large ones, ``_update_group`` for the
        small ones together. Elementwise, both run the same float operations in the same order, so the
        result is bitwise that of ``_update`` on each parameter in turn (``Optimizer.step``), which a
        test checks. A subclass that overrides ``_update`` (a different rule) gets ``Optimizer.step``."""
        if type(self)._update not in _ADAM_UPDATES:
            return super().step()
        self._check_step()
        plan = self._plan
        if plan is None or not self._plan_current(plan):
            plan = self._plan = self._make_plan()
        self.t += 1
        singles, groups = plan
        decay = self.weight_decay and self._l2_in_gradient
        for i in singles:
            p, g = self.pairs[i]
            if decay and p.ndim >= 2:
                g = g + self.weight_decay * p
            self._update(p, g, self.state[i])
        for group in groups:
            self._update_group(group)

    _plan = None

    def _check_step(self) -> None:
        """Refusals that must come before any parameter changes (``AdamW`` adds one)."""

    def _update(self, p, g, state):
        if "m" not in state:
            state["m"], state["v"], state["tmp"] = np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
        p -= self._adam_step(g, state["m"], state["v"], state["tmp"])

    def _adam_step(self, g, m, v, tmp):
        """Advance ``m`` and ``v`` with ``g`` in place and return the step ``η·m̂/(√v̂ + ε)`` in ``tmp``."""
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
        return tmp

    # ---- the small parameters, updated together ---------------------------------------------------------
    def _make_plan(self):
        """Split the pairs into ``singles`` (updated one by one) and groups of small parameters of one
        dtype. A group owns flat ``g``, ``m``, ``v`` and ``tmp`` buffers; each member's ``state["m"]`` and
        ``state["v"]`` are views into them (moments already there, e.g. loaded from a file, are copied
        in). Parameters that share memory with another stay single: their updates must stay in order."""
        arrays = [p for p, _ in self.pairs]
        shared = {i for i, p in enumerate(arrays)
                  if any(j != i and np.may_share_memory(p, q) for j, q in enumerate(arrays))}
        singles, by_dtype = [], {}
        for i, (p, g) in enumerate(self.pairs):
            if p.size > self.GROUP_MAX_SIZE or g.dtype != p.dtype or i in shared:
                singles.append(i)
            else:
                by_dtype.setdefault(p.dtype, []).append(i)
        groups = []
        for dtype, members in by_dtype.items():
            sizes = [self.pairs[i][0].size for i in members]
            total = sum(sizes)
            m, v = np.zeros(total, dtype), np.zeros(total, dtype)
            ends = np.cumsum(sizes).tolist()
            slices = [slice(end - n, end) for n, end in zip(sizes, ends)]
            steps, moments = [], []
            tmp = np.empty(total, dtype)
            for i, sl in zip(members, slices):
                p, state = self.pairs[i][0], self.state[i]
                for key, flat in (("m", m), ("v", v)):
                    if key in state:
                        flat[sl] = state[key].reshape(-1)
                    state[key] = flat[sl].reshape(p.shape)
                state.pop("tmp", None)
                steps.append(tmp[sl].reshape(p.shape))
                moments.append((state["m"], state["v"]))
            groups.append(_AdamGroup(members, np.empty(total, dtype), m, v, tmp, steps, moments))
        return singles, groups

    def _plan_current(self, plan) -> bool:
        """False when a member's moments were replaced from outside (``state[i].update(m=…)``, as
        resuming a saved run does): the plan is then rebuilt around the new arrays."""
        for group in plan[1]:
            for i, (m, v) in zip(group.members, group.moments):
                state = self.state[i]
                if state.get("m") is not m or state.get("v") is not v:
                    return False
                if m.base is not group.m or v.base is not group.v:     # e.g. after copy.deepcopy
                    return False
        return True

    def _update_group(self, group) -> None:
        wd, pieces = self.weight_decay, []
        for i in group.members:
            p, g = self.pairs[i]
            if wd and p.ndim >= 2:
                if self._l2_in_gradient:
                    g = g + wd * p
                else:                                    # AdamW: decay first, as AdamW._update does
                    p *= 1 - self.lr * wd
            pieces.append(g.reshape(-1))
        np.concatenate(pieces, out=group.g)
        self._adam_step(group.g, group.m, group.v, group.tmp)
        for i, step in zip(group.members, group.steps):
            p = self.pairs[i][0]
            p -= step


class _AdamGroup:
    """Small parameters of one dtype updated as one flat array (``Adam._make_plan``)."""

    __slots__ = ("members", "g", "m", "v", "tmp", "steps", "moments")

    def __init__(self, members, g, m, v, tmp, steps, moments) -> None:
        self.members, self.g, self.m, self.v, self.tmp = members, g, m, v, tmp
        self.steps = steps            # each member's slice of tmp, in its shape (the step it takes)
        self.moments = moments        # each member's (m, v) views, as put in its state


def adam_update_naive(p, g, m, v, t: int, *, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                      eps: float = 1e-8):
    """One Adam step written exactly as the equations (the reference ``Adam._update`` is tested against).

    Returns the new ``(p, m, v)``; nothing is changed in place::

        m ← β₁m + (1-β₁)g        v ← β₂v + (1-β₂)g²
        m̂ = m/(1-β₁ᵗ)            v̂ = v/(1-β₂ᵗ)            θ ← θ - η m̂/(√v̂ + ε)
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``θ ← θ(1 - ηλ)`` on weight matrices,
    then the Adam step on the plain gradient. With coupled L2 inside Adam the decay is divided by √v̂ and
    large-gradient weights are barely decayed; decoupling makes every matrix decay at the same rate."""

    _l2_in_gradient = False

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        check_positive("weight_decay", weight_decay, allow_zero=True)
        check_positive("lr", lr)
        if lr * weight_decay >= 1:
            raise ValueError(f"lr·weight_decay must be < 1 (each step multiplies the weights by 1 - lr·weight_decay), "
                             f"got lr={lr!r}, weight_decay={weight_decay!r}")
        super().__init__(params, lr, beta1, beta2, eps, weight_decay)

    def _update(self, p, g, state):
        if self.weight_decay and p.ndim >= 2:
            if self.lr * self.weight_decay >= 1:
                raise ValueError(f"lr·weight_decay must stay < 1, got lr={self.lr!r}, weight_decay={self.weight_decay!r}")
            p *= 1 - self.lr * self.weight_decay
        super()._update(p, g, state)

    def _check_step(self):
        # Before any parameter moves (``_update`` checks again, per matrix, for a single parameter).
        if (self.weight_decay and self.lr * self.weight_decay >= 1
                and any(p.ndim >= 2 for p, _ in self.pairs)):
            raise ValueError(f"lr·weight_decay must stay < 1, got lr={self.lr!r}, weight_decay={self.weight_decay!r}")


#: The updates ``Adam.step`` may run through its grouped path (a subclass with another rule may not).
_ADAM_UPDATES = (Adam._update, AdamW._update)


OPTIMIZERS = {"SGD": SGD, "Momentum": Momentum, "Nesterov": Nesterov, "Adagrad": Adagrad,
              "RMSProp": RMSProp, "Adam": Adam, "AdamW": AdamW}

#: A sensible starting learning rate for each optimizer on MNIST-sized MLPs.
DEFAULT_LR = {"SGD": 0.1, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.01, "RMSProp": 0.001,
              "Adam": 0.001, "AdamW": 0.001}


def get(name: str):
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name]


class _Schedule:
    """Base of the learning-rate schedules: ``step()`` advances the count and sets ``optimizer.lr``;
    ``lr_at(t)`` is the rate after ``t`` steps (a pure function, for plots). ``interval`` says when
    ``fit`` calls ``step()``: ``"epoch"`` (after every epoch) or ``"step"`` (after every optimizer step)."""

    def __init__(self, optimizer: Optimizer, interval: str) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be an Optimizer (SGD, Adam, …), got {type(optimizer).__name__}")
        check_choice("interval", interval, ("epoch", "step"))
        self.optimizer, self.interval = optimizer, interval
        self.base_lr, self.count = optimizer.lr, 0

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        self.count += 1
        self.optimizer.lr = self.lr_at(self.count)
        return self.optimizer.lr

    @property
    def epoch(self) -> int:          # the name the count had when every schedule was per epoch
        return self.count


class StepLR(_Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (or steps, with
    ``interval="step"``): ``η_t = η₀ γ^⌊t/step_size⌋``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, *, interval: str = "epoch") -> None:
        super().__init__(optimizer, interval)
        check_positive_int("step_size", step_size)
        check_positive("gamma", gamma)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineLR(_Schedule):
    """Cosine annealing from the initial rate to ``lr_min`` over ``total_epochs`` (epochs, or steps with
    ``interval="step"``), after an optional linear warmup of ``warmup`` steps (nanoGPT's schedule)::

        t < W:       η_t = η₀ (t + 1)/(W + 1)
        W ≤ t ≤ E:   η_t = η_min + ½(η₀ - η_min)(1 + cos(π (t - W)/(E - W)))
        t > E:       η_t = η_min

    The rate for t = 0 is set on the optimizer when the schedule is built (it differs from η₀ only with a
    warmup).
    """

    def __init__(self, optimizer: Optimizer, total_epochs: int, lr_min: float = 0.0, *, warmup: int = 0,
                 interval: str = "epoch") -> None:
        super().__init__(optimizer, interval)
        check_positive_int("total_epochs", total_epochs)
        check_positive("lr_min", lr_min, allow_zero=True)
        check_positive_int("warmup", warmup, allow_zero=True)
        if lr_min > self.base_lr:
            raise ValueError(f"lr_min must be <= the optimizer's lr ({self.base_lr:g}), got {lr_min!r}")
        if warmup >= total_epochs:
            raise ValueError(f"warmup must be < total_epochs ({total_epochs}), got {warmup!r}")
        self.total, self.lr_min, self.warmup = total_epochs, lr_min, warmup
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t):
        if t < self.warmup:
            return self.base_lr * (t + 1) / (self.warmup + 1)
        if t >= self.total:
            return self.lr_min
        cos = 0.5 * (1 + math.cos(math.pi * (t - self.warmup) / (self.total - self.warmup)))
        return self.lr_min + (self.base_lr - self.lr_min) * cos


# ----------------------------------------------------------------------------------------------------------
# Gradient clipping
# ----------------------------------------------------------------------------------------------------------

def global_grad_norm(params) -> float:
    """``‖g‖ = sqrt(Σ over every gradient array of Σ g²)``. ``params``: (param, grad) pairs or a layer."""
    pairs = _as_pairs(params)
    return float(np.sqrt(sum(float(np.vdot(g, g)) for _, g in pairs)))


def clip_grad_norm(params, max_norm: float) -> float:
    """Rescale all gradients together so their global norm is at most ``max_norm``; returns the norm
    before clipping (as ``torch.nn.utils.clip_grad_norm_`` does). A gradient holding NaN or inf is an
    error: no rescaling can make it a usable step.

    Notes
    -----
    ``g ← g · min(1, max_norm / ‖g‖)``. Scaling every gradient by the same factor keeps the update's
    direction and only shortens it: the cure for the rare exploding step of BPTT.
    """
    check_positive("max_norm", max_norm)
    pairs = _as_pairs(params)
    total = global_grad_norm(pairs)
    if not np.isfinite(total):
        raise FloatingPointError(f"the gradient norm is {total}: a gradient holds NaN or inf "
                                 "(a diverging run: lower the learning rate)")
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for _, g in pairs:
            g *= scale
    return total
