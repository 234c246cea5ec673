"""Recurrent layers: the vanilla (tanh) RNN, the LSTM and the GRU, one step at a time (cells) and over a
whole sequence (sequence layers, backpropagation through time), plus ``Embedding`` and gradient clipping
by global norm. Introduced in chapter 08; the encoder–decoder of chapter 09 reuses them.

Shapes (batch first, like ``torch.nn.LSTM(batch_first=True)``): x: (N, T, D) inputs, hs: (N, T, H) every
hidden state, a state is ``h: (N, H)`` (RNN, GRU) or ``LSTMState(h, c)`` (LSTM; any pair ``(h, c)`` is
accepted).

Extra inputs and outputs follow the sequence contract of ``common.layers``: ``forward(x, state=s0)``
takes the initial state (zeros by default), ``extras["state"]`` is the final state,
``backward(dout, state=dfinal)`` takes the gradient of the final state when something used it (a
decoder started from it), and ``extra_grads["state"]`` is the gradient of the initial state. The
sequence layers also keep ``extra_grads["hs"]``: (N, T, H), the total gradient that reached each h_t
(from its own output and from step t+1), which is what "how far back does the gradient survive"
measures.

Each step's backward has a plain reference beside the fast one (``_step_backward_naive``: the
equations of the cell's docstring, allocating as it goes), and a test checks they agree.

Two things make the sequence layers fast without changing the maths:

- the input projection ``x_t W_x + b`` does not depend on the recurrence, so it is computed for all T
  steps in one matrix multiply before the time loop (and its gradients ``∂L/∂W_x``, ``∂L/∂b``, ``∂L/∂x``
  in one multiply after the backward loop);
- likewise ``∂L/∂W_h = Σ_t h_{t-1}ᵀ ∂L/∂a_t`` is one multiply over the stacked steps instead of T small
  ones. Only ``h_{t-1} W_h`` and the gates are computed inside the loop: they are what is sequential.

``LSTM`` runs that loop feature-major (every array (features, N), so each gate block is contiguous); its
``forward_by_cell``/``backward_by_cell`` are the plain loop over the cell's ``_step``, the reference.

``layer_norm=True`` (any cell) layer-normalises the recurrent term ``h_{t-1} W_h`` per gate block with a
learned gain ``ln_g`` and shift ``ln_b`` (G·H,): statistics over the features of one sample at one step,
so they do not depend on the batch or on the sequence length, unlike BatchNorm's.

Gradients accumulate across time steps (the same weights are used at every step), and across calls:
``backward`` adds into ``grads``; ``zero_grad`` is its own call.

Parameter layout and the mapping to PyTorch (the parity tests do exactly this):

=====  ===========================================  ==================================================
layer  ours                                         torch.nn (batch_first=True)
=====  ===========================================  ==================================================
RNN    Wx (D, H), Wh (H, H), b (H,)                 weight_ih_l0 = Wxᵀ, weight_hh_l0 = Whᵀ,
                                                    bias_ih_l0 + bias_hh_l0 = b
LSTM   Wx (D, 4H), Wh (H, 4H), b (4H,), gate        torch orders the blocks i, f, g, o: permute, then
       blocks in the order i, f, o, g               transpose; bias_ih + bias_hh = b
GRU    Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,),  weight_ih_l0 = Wxᵀ, weight_hh_l0 = Whᵀ, biases as is,
       blocks r, z, n; h = (1-z)·h_prev + z·n       except the z block is negated: torch's update gate
                                                    is our 1 - z (σ(-a) = 1 - σ(a))
=====  ===========================================  ==================================================
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from . import init as initializers
from ._validation import (check_array, check_float_array, check_float_dtype, check_generator, check_grad,
                          check_positive, check_positive_int)
from .layers import Layer
from .optimizers import clip_grad_norm, global_grad_norm  # noqa: F401  (here since chapter 08; they live in optimizers)


_LN_EPS = 1e-5


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``σ(x) = ½(1 + tanh(x/2))``: the same function as ``1/(1+e^{-x})`` without overflow for large |x|."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _check_sequence(x, in_features: int, name: str = "x", dtype=None) -> np.ndarray:
    x = check_float_array(name, x, dtype)
    if x.ndim != 3 or x.shape[2] != in_features:
        raise ValueError(f"{name} must have shape (N, T, {in_features}), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sequence and one time step, got shape {x.shape}")
    return x


# ----------------------------------------------------------------------------------------------------------
# States and what each step keeps for its backward pass (named, never read by index)
# ----------------------------------------------------------------------------------------------------------

class LSTMState(NamedTuple):
    """An LSTM's state: the hidden state ``h`` (what the next layer reads) and the cell ``c``, each (N, H)."""
    h: np.ndarray
    c: np.ndarray


class LNCache(NamedTuple):
    """LayerNorm of the recurrent term: the normalised values and 1/σ per gate block."""
    xhat: np.ndarray
    inv: np.ndarray


class RNNStepCache(NamedTuple):
    h: np.ndarray                  # h_t = tanh(a_t)
    ln: LNCache | None


class LSTMStepCache(NamedTuple):
    c_prev: np.ndarray             # c_{t-1}
    sig: np.ndarray                # [i, f, o] = σ(a_i, a_f, a_o), (N, 3H)
    g: np.ndarray                  # tanh(a_g)
    tc: np.ndarray                 # tanh(c_t)
    ln: LNCache | None


class GRUStepCache(NamedTuple):
    h_prev: np.ndarray
    rz: np.ndarray                 # [r, z], (N, 2H)
    n: np.ndarray                  # the candidate
    ahn: np.ndarray                # h_{t-1} W_hn + b_hn (what r scales)
    ln: LNCache | None


class StepCache(NamedTuple):
    """What ``_Cell.step`` returns for ``step_backward``: the input, the incoming state and the cell's own
    step cache."""
    x_t: np.ndarray
    state: object
    inner: object


class StepGrads(NamedTuple):
    """What a cell's ``_step_backward`` returns: ∂L/∂(input projection), ∂L/∂(h_{t-1} W_h) (the same
    array as ``dxp`` unless a gate scales the recurrent term) and the gradient of the incoming state."""
    dxp: np.ndarray
    dah: np.ndarray
    dstate: object


class SequenceCache(NamedTuple):
    xt: np.ndarray                 # (T, N, D), time-major copy of the input
    hs: np.ndarray                 # (T, N, H)
    steps: list                    # one step cache per time step
    state0: object                 # the initial state


class LSTMRunCache(NamedTuple):
    """The feature-major LSTM loop's record (``LSTM.forward``): every array has the batch last."""
    xt: np.ndarray                 # (T, N, D), time-major copy of the input
    hs: np.ndarray                 # (T, N, H)
    gates: np.ndarray              # (T, 4H, N): rows i, f, o (σ) and g (tanh) of every step
    cells: np.ndarray              # (T + 1, H, N): c_0 … c_T
    tanh_c: np.ndarray             # (T, H, N): tanh(c_t)
    state0: LSTMState              # the initial state, (N, H) each


# ----------------------------------------------------------------------------------------------------------
# Cells: the step equations, forward and backward
# ----------------------------------------------------------------------------------------------------------

class _Cell(Layer):
    """Shared machinery. A cell's ``forward(x_t, state=…)`` is one step and returns the new ``h`` (the
    new state is ``extras["state"]``), so a cell is also an ordinary layer and gradient-checks like one;
    ``step``/``step_backward`` are the explicit-cache form a decoder uses when it runs the recurrence
    itself.

    Subclasses set ``n_gates``, ``has_cell_state`` and ``gates_scale_recurrent`` (True when a gate
    multiplies the recurrent term, as the GRU's reset gate does, so ∂L/∂(h W_h) differs from ∂L/∂a)."""

    n_gates = 1
    has_cell_state = False
    gates_scale_recurrent = False
    differentiable_extras = ("state",)

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float32,
                 init: str = "xavier_uniform", layer_norm: bool = False) -> None:
        super().__init__()
        if not isinstance(layer_norm, (bool, np.bool_)):
            raise ValueError(f"layer_norm must be True or False, got {layer_norm!r}")
        self.layer_norm = bool(layer_norm)
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_generator("rng", rng)
        dtype = check_float_dtype("dtype", dtype)
        self.input_size, self.hidden_size = input_size, hidden_size
        init_fn = initializers.get(init)
        G, H = self.n_gates, hidden_size
        # One matrix per gate block, each initialised as its own (D, H) / (H, H) matrix so the scale does
        # not depend on how many gates are stacked side by side.
        self.params["Wx"] = np.concatenate([init_fn((input_size, H), rng, dtype=dtype) for _ in range(G)], axis=1)
        self.params["Wh"] = np.concatenate([_orthogonal(H, rng, dtype) for _ in range(G)], axis=1)
        self._init_biases(dtype)
        if self.layer_norm:
            self.params["ln_g"] = np.ones(G * H, dtype=dtype)
            self.params["ln_b"] = np.zeros(G * H, dtype=dtype)
        for k, v in self.params.items():
            self.grads[k] = np.zeros_like(v)
        self._cache = None

    def _init_biases(self, dtype) -> None:
        self.params["b"] = np.zeros(self.n_gates * self.hidden_size, dtype=dtype)

    # --- state helpers -------------------------------------------------------------------------------
    def zero_state(self, n: int, dtype):
        h = np.zeros((n, self.hidden_size), dtype=dtype)
        return LSTMState(h, h.copy()) if self.has_cell_state else h

    def _check_state(self, state, n: int, dtype, name: str = "state"):
        """The incoming state as this cell uses it (zeros for None), or a ValueError naming what is wrong."""
        if state is None:
            return self.zero_state(n, dtype)
        if self.has_cell_state:
            if isinstance(state, np.ndarray) or not (isinstance(state, tuple) and len(state) == 2):
                raise ValueError(f"{name} must be a pair (h, c) of arrays for an LSTM, got {type(state).__name__}")
            parts = LSTMState(*(check_float_array(f"{name}.{k}", v, dtype) for k, v in zip("hc", state)))
        else:
            if not isinstance(state, np.ndarray) and isinstance(state, tuple):
                raise ValueError(f"{name} must be one array h for {type(self).__name__}, got a tuple")
            parts = (check_float_array(name, state, dtype),)
        for k, p in zip("hc", parts):
            if p.shape != (n, self.hidden_size):
                raise ValueError(f"{name} {k} must have shape ({n}, {self.hidden_size}), got {p.shape}")
        return parts if self.has_cell_state else parts[0]

    def _check_dstate(self, dstate, n: int, name: str = "state"):
        """The gradient of an outgoing state (None, or the state's shape; an LSTM's parts may be None)."""
        if dstate is None:
            return LSTMState(None, None) if self.has_cell_state else None
        if self.has_cell_state:
            if isinstance(dstate, np.ndarray) or not (isinstance(dstate, tuple) and len(dstate) == 2):
                raise ValueError(f"the gradient {name}= must be a pair (dh, dc) for an LSTM (either may be None), "
                                 f"got {type(dstate).__name__}")
            parts = [None if v is None else check_float_array(f"{name}.{k}", v) for k, v in zip("hc", dstate)]
        else:
            parts = [check_float_array(name, dstate)]
        for k, p in zip("hc", parts):
            if p is not None and p.shape != (n, self.hidden_size):
                raise ValueError(f"the gradient {name}= {k} must have shape ({n}, {self.hidden_size}), got {p.shape}")
        return LSTMState(*parts) if self.has_cell_state else parts[0]

    # --- the recurrent term h_{t-1} W_h, optionally layer-normalised ------------------------------------
    def _recurrent(self, h_prev):
        """``r = h_{t-1} W_h``, then, with ``layer_norm``, each gate block normalised over its H units and
        rescaled: ``r ← γ ⊙ (r - μ)/σ + β`` (Ba et al. 2016 normalise the input term too; normalising the
        recurrent term is the part that matters for the recurrence). Returns (r, LNCache or None)."""
        r = h_prev @ self.params["Wh"]
        if not self.layer_norm:
            return r, None
        N, H = r.shape[0], self.hidden_size
        rb = r.reshape(N, -1, H)                                          # (N, G, H)
        mu = rb.mean(axis=2, keepdims=True)
        inv = 1.0 / np.sqrt(rb.var(axis=2, keepdims=True) + _LN_EPS)
        xhat = ((rb - mu) * inv).reshape(N, -1)
        return xhat * self.params["ln_g"] + self.params["ln_b"], LNCache(xhat, inv)

    def _recurrent_backward(self, dr, cache: LNCache | None):
        """Gradient of the raw ``h_{t-1} W_h`` from that of the normalised term (adds γ, β grads)."""
        if cache is None:
            return dr
        self.grads["ln_g"] += (dr * cache.xhat).sum(axis=0)
        self.grads["ln_b"] += dr.sum(axis=0)
        N, H = dr.shape[0], self.hidden_size
        dxh = (dr * self.params["ln_g"]).reshape(N, -1, H)
        xh = cache.xhat.reshape(N, -1, H)
        dx = cache.inv * (dxh - dxh.mean(axis=2, keepdims=True) - xh * (dxh * xh).mean(axis=2, keepdims=True))
        return dx.reshape(N, -1)

    # --- projected step (what the sequence layer uses) ------------------------------------------------
    def _project_input(self, x: np.ndarray) -> np.ndarray:
        out = x @ self.params["Wx"]
        out += self.params["b"]          # in place: a second (T·N, G·H) temporary costs more than the add
        return out

    def _step(self, xp, state):
        """One step from the projected input ``xp = x_t W_x + b``: (new state, step cache)."""
        raise NotImplementedError

    def _step_backward(self, dstate, cache, out=None, wht=None) -> StepGrads:
        """Backward of ``_step``. ``dstate`` is the gradient of the new state. The fast form: ``out`` is
        a preallocated (N, G·H) row to write ∂L/∂a into, ``wht`` a contiguous W_hᵀ."""
        raise NotImplementedError

    def _step_backward_naive(self, dstate, cache) -> StepGrads:
        """The same gradients as ``_step_backward``, written as the docstring's equations."""
        raise NotImplementedError

    # --- full step with its own cache (decoders) -------------------------------------------------------
    def step(self, x_t: np.ndarray, state=None):
        """One step: ``(new_state, StepCache)``. x_t: (N, D)."""
        return self._checked_step("x_t", x_t, state)

    def _checked_step(self, name: str, x_t, state):
        x_t = check_float_array(name, x_t, self.params["Wx"].dtype)
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"{name} must have shape (N, {self.input_size}), got {x_t.shape}")
        state = self._check_state(state, x_t.shape[0], x_t.dtype)
        new_state, cache = self._step(self._project_input(x_t), state)
        return new_state, StepCache(x_t, state, cache)

    def step_backward(self, dstate, cache: StepCache):
        """Backward of one ``step``: adds into ``grads``; returns ``(dx_t, dstate_prev)``.

        ``dstate`` is ``dh`` or ``(dh, dc)`` for the LSTM (``dc`` may be ``None``)."""
        g = self._step_backward(self._check_dstate(dstate, cache.x_t.shape[0]), cache.inner)
        h_prev = cache.state[0] if self.has_cell_state else cache.state
        self.grads["Wx"] += cache.x_t.T @ g.dxp
        self.grads["Wh"] += h_prev.T @ g.dah
        self._accumulate_bias(g.dxp, g.dah)
        return g.dxp @ self.params["Wx"].T, g.dstate

    def _accumulate_bias(self, dxp, dah) -> None:
        self.grads["b"] += dxp.sum(axis=0)

    # --- Layer contract: one step ---------------------------------------------------------------------
    def forward(self, x, training=False, *, state=None):
        """One step as a layer: x: (N, D) → h: (N, H); the new state is ``extras["state"]``."""
        new_state, self._cache = self._checked_step("x", x, state)
        self.extras = {"state": new_state}
        return new_state[0] if self.has_cell_state else new_state

    def backward(self, dout, *, state=None):
        """dout: (N, H) gradient of the returned h; ``state`` the gradient of ``extras["state"]`` when it
        is used elsewhere. Returns dx; the incoming state's gradient is ``extra_grads["state"]``."""
        self._require_cache(self._cache)
        n = self._cache.x_t.shape[0]
        dout = _check_grad("dout", dout, (n, self.hidden_size))
        ds = self._check_dstate(state, n)
        if self.has_cell_state:
            ds = LSTMState(dout if ds.h is None else dout + ds.h, ds.c)
        else:
            ds = dout if ds is None else dout + ds
        dx, dprev = self.step_backward(ds, self._cache)
        self.extra_grads = {"state": dprev}
        return dx

    def __repr__(self):
        ln = ", layer_norm" if self.layer_norm else ""
        return f"{type(self).__name__}({self.input_size} → {self.hidden_size}{ln})"


def _check_grad(name, g, shape):
    return check_grad(name, g, shape)


def _orthogonal(n: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """A random orthogonal (n, n) matrix: all singular values 1, so ``h W_h`` neither shrinks nor grows
    the state at initialisation (Saxe et al. 2014), the usual choice for recurrent weights."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)


class RNNCell(_Cell):
    """Vanilla (Elman) recurrence ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``.

    Shapes: x_t: (N, D); h: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).

    Notes
    -----
    Forward ``a_t = x_t W_x + h_{t-1} W_h + b``, ``h_t = tanh(a_t)``. Backward, with ``δh_t`` the total
    gradient reaching ``h_t`` (from the output at t and from step t+1)::

        δa_t = δh_t ⊙ (1 - h_t²)        δh_{t-1} = δa_t W_hᵀ        ∂L/∂W_h += h_{t-1}ᵀ δa_t

    so ``∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hᵀ``: the product of T of these is why gradients vanish.
    """

    def _step(self, xp, h_prev):
        r, ln = self._recurrent(h_prev)
        r += xp
        h = np.tanh(r, out=r)
        return h, RNNStepCache(h, ln)

    def _step_backward(self, dh, cache, out=None, wht=None):
        da = np.multiply(dh, 1 - cache.h * cache.h, out=out)
        dah = self._recurrent_backward(da, cache.ln)
        return StepGrads(da, dah, dah @ (self.params["Wh"].T if wht is None else wht))

    def _step_backward_naive(self, dh, cache):
        da = dh * (1 - cache.h ** 2)                                       # δa_t = δh_t ⊙ (1 - h_t²)
        dah = self._recurrent_backward(da, cache.ln)
        return StepGrads(da, dah, dah @ self.params["Wh"].T)               # δh_{t-1} = δa_t W_hᵀ


class LSTMCell(_Cell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    Shapes: x_t: (N, D); h, c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,), blocks in the order i, f, o, g.

    ``forget_bias`` initialises the forget-gate block of ``b`` (1.0 is the common choice: the cell starts
    out remembering, Jozefowicz et al. 2015). PyTorch's ``nn.LSTM`` has no such setting: it draws every
    weight and both biases (``bias_ih``, ``bias_hh``) from U(-1/√H, 1/√H), so its forget bias starts at a
    random value near 0, within ±2/√H (``tests/test_ch08_rnn.py`` checks this).

    Notes
    -----
    Forward, with ``a = x_t W_x + h_{t-1} W_h + b`` split into four blocks::

        i = σ(a_i)   f = σ(a_f)   o = σ(a_o)   g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g          h_t = o ⊙ tanh(c_t)

    Backward, with ``δh`` and ``δc`` the gradients reaching h_t and c_t from later steps and outputs::

        δo = δh ⊙ tanh(c_t)            δc ← δc + δh ⊙ o ⊙ (1 - tanh²(c_t))
        δi = δc ⊙ g    δg = δc ⊙ i     δf = δc ⊙ c_{t-1}        δc_{t-1} = δc ⊙ f
        δa = [δi·i(1-i), δf·f(1-f), δo·o(1-o), δg·(1-g²)]        δh_{t-1} = δa W_hᵀ

    ``δc_{t-1} = δc ⊙ f``: along the cell path the gradient is only scaled by the forget gate, no
    weight matrix and no squashing derivative, which is why it survives many steps.
    (``_step_backward_naive`` is these lines; ``_step_backward`` the same arithmetic into preallocated
    rows.)
    """

    n_gates = 4
    has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float32,
                 init: str = "xavier_uniform", forget_bias: float = 1.0, layer_norm: bool = False) -> None:
        if isinstance(forget_bias, (bool, np.bool_)) or not isinstance(forget_bias, numbers.Real) \
                or not np.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        self.forget_bias = float(forget_bias)
        super().__init__(input_size, hidden_size, rng, dtype=dtype, init=init, layer_norm=layer_norm)

    def _init_biases(self, dtype):
        H = self.hidden_size
        b = np.zeros(4 * H, dtype=dtype)
        b[H:2 * H] = self.forget_bias
        self.params["b"] = b

    def _step(self, xp, state):
        h_prev, c_prev = state
        H = self.hidden_size
        a, ln = self._recurrent(h_prev)
        a += xp
        sig = sigmoid(a[:, :3 * H])                        # i, f, o in one call
        g = np.tanh(a[:, 3 * H:])
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 2 * H:]
        c = f * c_prev
        c += i * g
        tc = np.tanh(c)
        h = o * tc
        return LSTMState(h, c), LSTMStepCache(c_prev, sig, g, tc, ln)

    def _step_backward(self, dstate, cache, out=None, wht=None):
        dh, dc_next = dstate
        H = self.hidden_size
        sig, g, tc = cache.sig, cache.g, cache.tc
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 2 * H:]
        da = np.empty((dh.shape[0], 4 * H), dtype=dh.dtype) if out is None else out
        dc = dh * o
        dc *= 1 - tc * tc
        if dc_next is not None:
            dc += dc_next
        np.multiply(dc, g, out=da[:, :H])                  # δi
        np.multiply(dc, cache.c_prev, out=da[:, H:2 * H])  # δf
        np.multiply(dh, tc, out=da[:, 2 * H:3 * H])        # δo
        np.multiply(dc, i, out=da[:, 3 * H:])              # δg
        da[:, :3 * H] *= sig * (1 - sig)
        da[:, 3 * H:] *= 1 - g * g
        dah = self._recurrent_backward(da, cache.ln)
        return StepGrads(da, dah, LSTMState(dah @ (self.params["Wh"].T if wht is None else wht), dc * f))

    def _step_backward_naive(self, dstate, cache):
        dh, dc = dstate
        H = self.hidden_size
        i, f, o = cache.sig[:, :H], cache.sig[:, H:2 * H], cache.sig[:, 2 * H:]
        g, tc, c_prev = cache.g, cache.tc, cache.c_prev
        do = dh * tc                                                       # δo = δh ⊙ tanh(c_t)
        dc = dh * o * (1 - tc ** 2) + (0 if dc is None else dc)            # δc ← δc + δh ⊙ o ⊙ (1 - tanh²c_t)
        di, dg, df = dc * g, dc * i, dc * c_prev                           # δi, δg, δf
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)], axis=1)
        dah = self._recurrent_backward(da, cache.ln)
        return StepGrads(da, dah, LSTMState(dah @ self.params["Wh"].T, dc * f))   # δh_{t-1}, δc_{t-1}

    def __repr__(self):
        ln = ", layer_norm" if self.layer_norm else ""
        return f"LSTMCell({self.input_size} → {self.hidden_size}, forget_bias={self.forget_bias:g}{ln})"


class GRUCell(_Cell):
    """Gated recurrent unit (Cho et al. 2014), in the form cuDNN and PyTorch use (the reset gate scales
    ``h_{t-1} W_hn + b_hn`` rather than ``h_{t-1}``), with the post's convention for the update gate.

    Shapes: x_t: (N, D); h: (N, H); Wx: (D, 3H); Wh: (H, 3H); bx, bh: (3H,), blocks r, z, n.

    Notes
    -----
    Forward, with ``ax = x_t W_x + b_x`` and ``ah = h_{t-1} W_h + b_h``::

        r = σ(ax_r + ah_r)     z = σ(ax_z + ah_z)     n = tanh(ax_n + r ⊙ ah_n)
        h_t = (1 - z) ⊙ h_{t-1} + z ⊙ n

    Backward::

        δn = δh ⊙ z      δz = δh ⊙ (n - h_{t-1})      δh_{t-1} = δh ⊙ (1 - z) + δah W_hᵀ
        δa_n = δn ⊙ (1 - n²)   δr = δa_n ⊙ ah_n
        δax = [δr·r(1-r), δz·z(1-z), δa_n]     δah = [δr·r(1-r), δz·z(1-z), δa_n ⊙ r]
    """

    n_gates = 3
    gates_scale_recurrent = True

    def _init_biases(self, dtype):
        self.params["bx"] = np.zeros(3 * self.hidden_size, dtype=dtype)
        self.params["bh"] = np.zeros(3 * self.hidden_size, dtype=dtype)

    def _project_input(self, x):
        out = x @ self.params["Wx"]
        out += self.params["bx"]
        return out

    def _accumulate_bias(self, dxp, dah):
        self.grads["bx"] += dxp.sum(axis=0)
        if not self.layer_norm:                      # (with LayerNorm, _step_backward adds it per step)
            self.grads["bh"] += dah.sum(axis=0)

    def _step(self, xp, h_prev):
        H = self.hidden_size
        ah, ln = self._recurrent(h_prev)
        ah += self.params["bh"]
        rz = sigmoid(xp[:, :2 * H] + ah[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        ahn = ah[:, 2 * H:]
        n = np.tanh(xp[:, 2 * H:] + r * ahn)
        h = h_prev + z * (n - h_prev)
        return h, GRUStepCache(h_prev, rz, n, ahn, ln)

    def _step_backward(self, dh, cache, out=None, wht=None):
        H = self.hidden_size
        rz, n, h_prev = cache.rz, cache.n, cache.h_prev
        r, z = rz[:, :H], rz[:, H:]
        dxp = np.empty((dh.shape[0], 3 * H), dtype=dh.dtype) if out is None else out
        dan = dh * z
        dan *= 1 - n * n
        dxp[:, 2 * H:] = dan
        np.multiply(dan, cache.ahn, out=dxp[:, :H])           # δr
        np.multiply(dh, n - h_prev, out=dxp[:, H:2 * H])      # δz
        dxp[:, :2 * H] *= rz * (1 - rz)
        dah = dxp.copy()
        dah[:, 2 * H:] *= r
        if cache.ln is not None:
            self.grads["bh"] += dah.sum(axis=0)        # b_h is added after the LayerNorm
            dah = self._recurrent_backward(dah, cache.ln)
        dprev = dh * (1 - z)
        dprev += dah @ (self.params["Wh"].T if wht is None else wht)
        return StepGrads(dxp, dah, dprev)

    def _step_backward_naive(self, dh, cache):
        H = self.hidden_size
        r, z = cache.rz[:, :H], cache.rz[:, H:]
        n, h_prev = cache.n, cache.h_prev
        dn = dh * z                                                        # δn = δh ⊙ z
        dz = dh * (n - h_prev)                                             # δz = δh ⊙ (n - h_{t-1})
        dan = dn * (1 - n ** 2)                                            # δa_n = δn ⊙ (1 - n²)
        dr = dan * cache.ahn                                               # δr = δa_n ⊙ ah_n
        dar, daz = dr * r * (1 - r), dz * z * (1 - z)
        dxp = np.concatenate([dar, daz, dan], axis=1)                      # δax
        dah = np.concatenate([dar, daz, dan * r], axis=1)                  # δah
        if cache.ln is not None:
            self.grads["bh"] += dah.sum(axis=0)
            dah = self._recurrent_backward(dah, cache.ln)
        return StepGrads(dxp, dah, dh * (1 - z) + dah @ self.params["Wh"].T)


# ----------------------------------------------------------------------------------------------------------
# Sequence layers: backpropagation through time
# ----------------------------------------------------------------------------------------------------------

class _Sequence(Layer):
    """A cell run over every step of a sequence. Its one child is ``cell``, so its ``params`` keys are
    ``"cell.Wx"``, ``"cell.Wh"``, …"""

    cell_class = _Cell
    differentiable_extras = ("state",)

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float32,
                 **cell_kwargs) -> None:
        super().__init__()
        self.cell = self.cell_class(input_size, hidden_size, rng, dtype=dtype, **cell_kwargs)
        self.input_size, self.hidden_size = input_size, hidden_size
        self._cache = None

    @property
    def layer_norm(self) -> bool:
        return self.cell.layer_norm

    def forward(self, x, training=False, *, state=None):
        """Run the recurrence. x: (N, T, D) → hs: (N, T, H), every hidden state.

        ``state`` is the initial state (zeros by default); the final one is ``extras["state"]``
        (``h`` or ``LSTMState(h, c)``; its h is ``hs[:, -1]``)."""
        cell = self.cell
        x = _check_sequence(x, self.input_size, dtype=cell.params["Wx"].dtype)
        N, T, _ = x.shape
        state = cell._check_state(state, N, x.dtype)
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))                  # (T, N, D)
        XP = cell._project_input(xt.reshape(T * N, -1)).reshape(T, N, -1)  # all input projections at once
        hs = np.empty((T, N, self.hidden_size), dtype=np.result_type(x.dtype, cell.params["Wh"].dtype))
        state0, steps = state, []
        for t in range(T):
            state, cache = cell._step(XP[t], state)
            hs[t] = state[0] if cell.has_cell_state else state
            steps.append(cache)
        self.extras = {"state": state}
        self._cache = SequenceCache(xt, hs, steps, state0)
        return hs.transpose(1, 0, 2)

    def backward(self, dout, *, state=None):
        """dout: (N, T, H) gradient of every hidden state (zeros where unused); ``state`` the gradient of
        the final state (``dh`` or ``(dh, dc)``), when it is used (a decoder's initial state).

        Returns dx: (N, T, D). Sets ``extra_grads["state"]`` (gradient of the initial state) and
        ``extra_grads["hs"]``: (N, T, H), the total gradient that reached each h_t."""
        self._require_cache(self._cache)
        cache = self._cache
        T, N, H = cache.hs.shape
        dout = _check_grad("dout", dout, (N, T, H))
        cell = self.cell
        dfinal = cell._check_dstate(state, N)
        dout_t = dout.transpose(1, 0, 2)
        dXP = np.empty((T, N, cell.params["Wh"].shape[1]), dtype=cache.hs.dtype)
        # ∂L/∂(h W_h) is ∂L/∂a itself unless a gate scales the recurrent term or LayerNorm sits on it.
        dAH = np.empty_like(dXP) if (cell.gates_scale_recurrent or cell.layer_norm) else dXP
        dh_all = np.empty((T, N, H), dtype=cache.hs.dtype)
        dh_next, dc_next = (dfinal.h, dfinal.c) if cell.has_cell_state else (dfinal, None)
        wht = np.ascontiguousarray(cell.params["Wh"].T)     # a contiguous W_hᵀ: ~2× faster small matmuls
        for t in range(T - 1, -1, -1):
            dh = dh_all[t]
            if dh_next is None:
                dh[...] = dout_t[t]
            else:
                np.add(dout_t[t], dh_next, out=dh)
            # each step writes its ∂L/∂a straight into its row of dXP (no copy)
            if cell.has_cell_state:
                g = cell._step_backward(LSTMState(dh, dc_next), cache.steps[t], dXP[t], wht)
                dh_next, dc_next = g.dstate
            else:
                g = cell._step_backward(dh, cache.steps[t], dXP[t], wht)
                dh_next = g.dstate
            if dAH is not dXP:
                dAH[t] = g.dah
        self.extra_grads = {"state": LSTMState(dh_next, dc_next) if cell.has_cell_state else dh_next,
                            "hs": dh_all.transpose(1, 0, 2)}
        h0 = cache.state0[0] if cell.has_cell_state else cache.state0
        return self._parameter_grads(cache.xt, cache.hs, h0, dXP, dAH)

    def _parameter_grads(self, xt, hs, h0, dXP, dAH):
        """Parameter gradients for all steps at once, and ∂L/∂x: (N, T, D). xt: (T, N, D); hs: (T, N, H);
        dXP, dAH: (T, N, G·H)."""
        cell = self.cell
        T, N, H = hs.shape
        h_prev = np.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)   # (T·N, H)
        G = dXP.shape[2]
        dXP2, dAH2 = dXP.reshape(T * N, G), dAH.reshape(T * N, G)
        cell.grads["Wh"] += h_prev.T @ dAH2
        cell.grads["Wx"] += xt.reshape(T * N, -1).T @ dXP2
        cell._accumulate_bias(dXP2, dAH2)
        dx = (dXP2 @ cell.params["Wx"].T).reshape(T, N, -1)
        return dx.transpose(1, 0, 2)

    def __repr__(self):
        ln = ", layer_norm" if self.cell.layer_norm else ""
        return f"{type(self).__name__}({self.input_size} → {self.hidden_size}{ln})"


class RNN(_Sequence):
    """A tanh ``RNNCell`` over a sequence (backpropagation through time). See ``RNNCell`` for the step
    equations. x: (N, T, D) → hs: (N, T, H)."""

    cell_class = RNNCell


class LSTM(_Sequence):
    """An ``LSTMCell`` over a sequence. x: (N, T, D) → hs: (N, T, H); ``extras["state"]`` is
    ``LSTMState(h_T, c_T)``. ``forget_bias`` is passed to the cell.

    Notes
    -----
    ``forward``/``backward`` run the cell's equations in a feature-major loop: inside it every array is
    (features, N), so each gate block is one contiguous run of rows, and the step's ten elementwise
    operations write whole arrays instead of (N, H) slices of an (N, 4H) row, three times slower at
    the chapter's sizes. The σ gates are computed as ``½(1 + tanh(a/2))`` (as ``sigmoid`` does) with the
    ½ folded into the i, f, o columns of the input projection and of W_h (an exact power-of-two scaling),
    so one ``tanh`` covers all four blocks.
    ``forward_by_cell``/``backward_by_cell`` are the plain loop over ``LSTMCell._step`` (the generic
    sequence layer, and the route ``layer_norm=True`` takes); a test checks they agree (bit for bit at the
    chapters' sizes; with one row, or hidden sizes such as 8 or 24, the transposed matrix products round
    differently in the last bit). Measured at ``bench_lstm.py``'s sizes (one BLAS thread, batch 32, H 48,
    T 20; one process, 40 alternating blocks, medians of process time): forward 0.81 → 0.64 ms, backward
    1.29 → 0.97 ms, the whole training step 2.78 → 2.25 ms.
    """

    cell_class = LSTMCell
    forward_by_cell = _Sequence.forward
    backward_by_cell = _Sequence.backward

    def forward(self, x, training=False, *, state=None):
        if self.cell.layer_norm:
            return self.forward_by_cell(x, training, state=state)
        cell, H = self.cell, self.hidden_size
        x = _check_sequence(x, self.input_size, dtype=cell.params["Wx"].dtype)
        N, T, _ = x.shape
        state = cell._check_state(state, N, x.dtype)
        dt = np.result_type(x.dtype, cell.params["Wh"].dtype)
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))                       # (T, N, D), for ∂L/∂W_x
        scale = np.ones((4 * H, 1), dtype=dt)
        scale[:3 * H] = 0.5                                                   # a/2 for the σ gates
        # Every step's input projection at once, already feature-major: (W_xᵀ x_tᵀ + b), σ rows halved.
        gates = np.matmul(np.ascontiguousarray(cell.params["Wx"].T) * scale,
                          np.ascontiguousarray(x.transpose(1, 2, 0)))        # (T, 4H, N)
        # the bias as a whole (4H, N) operand: one scalar per row of N would take NumPy's slow path
        gates += np.repeat(cell.params["b"][:, None] * scale, N, axis=1)
        wht = np.ascontiguousarray(cell.params["Wh"].T) * scale              # W_hᵀ, σ rows halved: (4H, H)
        hsT = np.empty((T + 1, H, N), dtype=dt)
        cells = np.empty((T + 1, H, N), dtype=dt)
        tanh_c = np.empty((T, H, N), dtype=dt)
        hsT[0], cells[0] = state.h.T, state.c.T
        r = np.empty((4 * H, N), dtype=dt)
        ig = np.empty((H, N), dtype=dt)
        half = np.full((3 * H, N), 0.5, dtype=dt)      # an array operand: ~2.5x faster than the scalar 0.5
        mul, add, tanh, matmul = np.multiply, np.add, np.tanh, np.matmul
        # Every step's views made once, before the loop: a slice in the loop costs ~0.15 µs, ~10 a step
        # (the forward 266 -> 249 µs, the backward 440 -> 416 µs at bench_lstm.py's sizes, the same bits).
        A, S = list(gates), list(gates[:, :3 * H])
        I, F, O, Gt = (list(gates[:, k * H:(k + 1) * H]) for k in range(4))
        C, TC, HS = list(cells), list(tanh_c), list(hsT)
        for t in range(T):
            a, s = A[t], S[t]
            matmul(wht, HS[t], r)
            add(a, r, a)                               # a (σ rows halved)
            tanh(a, a)
            mul(s, half, s)
            add(s, half, s)                            # σ = ½(1 + tanh(a/2)); the g rows keep tanh(a_g)
            c, tc = C[t + 1], TC[t]
            mul(F[t], C[t], c)
            mul(I[t], Gt[t], ig)
            add(c, ig, c)                              # c_t = f ⊙ c_{t-1} + i ⊙ g
            tanh(c, tc)
            mul(O[t], tc, HS[t + 1])                   # h_t = o ⊙ tanh(c_t)
        hs = np.ascontiguousarray(hsT[1:].transpose(0, 2, 1))                # (T, N, H)
        self.extras = {"state": LSTMState(hs[-1].copy(), cells[T].T.copy())}
        self._cache = LSTMRunCache(xt, hs, gates, cells, tanh_c, state)
        return hs.transpose(1, 0, 2)

    def backward(self, dout, *, state=None):
        if not isinstance(self._cache, LSTMRunCache):
            return self.backward_by_cell(dout, state=state)
        cache, cell, H = self._cache, self.cell, self.hidden_size
        T, N, _ = cache.hs.shape
        dout = _check_grad("dout", dout, (N, T, H))
        dfinal = cell._check_dstate(state, N)
        dt = cache.hs.dtype
        G, cells, tanh_c = cache.gates, cache.cells, cache.tanh_c
        dh_all = dout.transpose(1, 2, 0).astype(dt, order="C")   # (T, H, N), a copy: the totals go here
        dA, dXP, deriv, dtanh = self._workspace(G.shape, dt)   # ∂L/∂a of every step: (T, 4H, N), (T, N, 4H)
        Wh = cell.params["Wh"]                                                # (H, 4H): δh_{t-1} = W_h δa
        dh_next = None if dfinal.h is None else dfinal.h.T
        dc_next = None if dfinal.c is None else dfinal.c.T
        mul, add, sub = np.multiply, np.add, np.subtract
        # The factors that depend on the forward pass alone, for every step at once (four calls on
        # (T, ·, N) arrays instead of six small ones per step; the same products, so the same bits):
        # σ(1-σ) for i, f, o, 1 - g² for g, and 1 - tanh²(c_t).
        sub(1, G[:, :3 * H], out=deriv[:, :3 * H])
        mul(G[:, :3 * H], deriv[:, :3 * H], out=deriv[:, :3 * H])
        mul(G[:, 3 * H:], G[:, 3 * H:], out=deriv[:, 3 * H:])
        sub(1, deriv[:, 3 * H:], out=deriv[:, 3 * H:])
        mul(tanh_c, tanh_c, out=dtanh)
        sub(1, dtanh, out=dtanh)
        # (H, N) work arrays, reused every step
        dc, dh_prev, dc_prev = (np.empty((H, N), dtype=dt) for _ in range(3))
        I, F, O, Gt = (list(G[:, k * H:(k + 1) * H]) for k in range(4))     # every step's views, once
        D, DH, DER, DTC, TC, C = list(dA), list(dh_all), list(deriv), list(dtanh), list(tanh_c), list(cells)
        Di, Df, Do, Dg = (list(dA[:, k * H:(k + 1) * H]) for k in range(4))
        matmul = np.matmul
        for t in range(T - 1, -1, -1):
            dh = DH[t]
            if dh_next is not None:
                add(dh, dh_next, dh)
            mul(dh, O[t], dc)
            mul(dc, DTC[t], dc)
            if dc_next is not None:
                add(dc, dc_next, dc)                    # δc ← δc_next + δh ⊙ o ⊙ (1 - tanh²c_t)
            mul(dc, Gt[t], Di[t])                      # δi
            mul(dc, C[t], Df[t])                       # δf
            mul(dh, TC[t], Do[t])                      # δo
            mul(dc, I[t], Dg[t])                       # δg
            d = D[t]
            mul(d, DER[t], d)                          # through σ and tanh: δa
            dh_next = matmul(Wh, d, dh_prev)
            dc_next = mul(dc, F[t], dc_prev)
        self.extra_grads = {"state": LSTMState(np.ascontiguousarray(dh_next.T), np.ascontiguousarray(dc_next.T)),
                            "hs": dh_all.transpose(2, 0, 1)}
        np.copyto(dXP, dA.transpose(0, 2, 1))
        return self._parameter_grads(cache.xt, cache.hs, cache.state0.h, dXP, dXP)

    def _workspace(self, shape, dtype):
        """The backward pass's work arrays, kept between calls (nothing returned aliases them): ∂L/∂a
        feature-major (T, 4H, N) and batch-major (T, N, 4H), the gates' derivatives (T, 4H, N) and
        1 - tanh²(c_t) (T, H, N). Allocating ~0.5 MB a few times per call made glibc's default allocator
        hand the pages back and fault them in again, which on this machine cost more than the loop saved."""
        T, G, N = shape
        work = getattr(self, "_work", None)
        if work is None or work[0].shape != shape or work[0].dtype != dtype:
            work = self._work = (np.empty(shape, dtype=dtype), np.empty((T, N, G), dtype=dtype),
                                 np.empty(shape, dtype=dtype), np.empty((T, G // 4, N), dtype=dtype))
        return work

    def gate_activations(self) -> dict[str, np.ndarray]:
        """The last forward pass's gates and cell state, each (N, T, H): i, f, o, g and c."""
        self._require_cache(self._cache)
        H = self.hidden_size
        if isinstance(self._cache, LSTMRunCache):
            G = self._cache.gates.transpose(2, 0, 1)                          # (N, T, 4H)
            return {"i": G[..., :H], "f": G[..., H:2 * H], "o": G[..., 2 * H:3 * H], "g": G[..., 3 * H:],
                    "c": self._cache.cells[1:].transpose(2, 0, 1)}
        steps = self._cache.steps
        sig = np.stack([c.sig for c in steps], axis=1)                  # (N, T, 3H)
        g = np.stack([c.g for c in steps], axis=1)
        c_prev = np.stack([c.c_prev for c in steps], axis=1)
        c = np.concatenate([c_prev[:, 1:], self.extras["state"].c[:, None]], axis=1)
        return {"i": sig[..., :H], "f": sig[..., H:2 * H], "o": sig[..., 2 * H:], "g": g, "c": c}


class GRU(_Sequence):
    """A ``GRUCell`` over a sequence. x: (N, T, D) → hs: (N, T, H)."""

    cell_class = GRUCell

    def gate_activations(self) -> dict[str, np.ndarray]:
        """The last forward pass's gates, each (N, T, H): r, z and the candidate n."""
        self._require_cache(self._cache)
        steps, H = self._cache.steps, self.hidden_size
        rz = np.stack([c.rz for c in steps], axis=1)
        n = np.stack([c.n for c in steps], axis=1)
        return {"r": rz[..., :H], "z": rz[..., H:], "n": n}


RECURRENT_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


# ----------------------------------------------------------------------------------------------------------
# Embedding
# ----------------------------------------------------------------------------------------------------------

def scatter_add_rows_naive(G: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """``G[ids[i]] += rows[i]`` for every i, in order (a token seen twice gets both rows): ``np.add.at``,
    the reference ``scatter_add_rows`` is tested against bit for bit. G: (V, D); ids: (M,); rows: (M, D)."""
    np.add.at(G, ids, rows)


def scatter_add_rows(G: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """``scatter_add_rows_naive`` computed faster (``np.add.at`` on 768 rows of 128 takes about 1 ms).
    Each token's rows are summed after the row of G they add into, in their original order, by one
    ``np.add.reduce`` along the first axis: a reduction along the first axis of a (rows, D) block adds
    whole rows one after another, so every element sees the same sums in the same order as ``np.add.at``
    (``G[v] + r₁ + r₂ + …``, left to right) and the bits are the same (tested). The reduction starts from
    -0.0, not its default +0.0, because -0.0 + x = x for every x, -0.0 included (a sum of -0.0s stays
    -0.0, as ``np.add.at`` leaves it). With D = 1 NumPy would sum the column pairwise instead, so that
    case keeps ``np.add.at``.
    When the tokens present have similar counts (padding every token's group to the longest at most
    quadruples the rows), all of them are summed in one reduction: an (L, U, D) block, the u-th token
    present down column u (its G row first, then its rows in order, each row's place given by a stable
    sort of the ids), padded with -0.0 (x + -0.0 = x for every x). Otherwise (a few very common tokens)
    the rows are sorted into groups and each token's group is reduced on its own.
    Measured (chapter 08's embedding backward, 640 rows of 16 over 20 tokens, one process, best of 5 ×
    3,000 calls): 35 -> 21 µs against the previous grouping (argsort, boundaries, a per-row column map).
    Introduced in chapter 10 (the GPT's embedding backward)."""
    M = ids.size
    if M == 0:
        return
    if G.shape[1] == 1:
        np.add.at(G, ids, rows)
        return
    V = G.shape[0]
    counts = np.bincount(ids, minlength=V)                        # (V,) rows per token
    key = ids.astype(np.uint16) if V <= 1 << 16 else ids          # small keys take NumPy's radix sort
    order = np.argsort(key, kind="stable")                        # (M,) positions grouped by token, in order
    sid = ids[order]
    starts = np.cumsum(counts) - counts                           # (V,) where each token's group starts
    L = int(counts.max()) + 1
    tokens = np.flatnonzero(counts)                               # (U,) the tokens present
    U = len(tokens)
    if U * L <= 4 * (M + U):
        # One reduction for all tokens: G[v] in row 0 of column u, then v's rows, in order, in rows 1…
        slot = np.empty(M, dtype=np.intp)
        slot[order] = np.arange(1, M + 1) - starts[sid]           # 1 + the rows of the same token before it
        if U == V:
            column, start = ids, G
        else:
            where = np.empty(V, dtype=np.intp)
            where[tokens] = np.arange(U)
            column, start = where[ids], G[tokens]
        buf = np.full((L, U, G.shape[1]), -0.0, dtype=G.dtype)
        buf[0] = start
        buf[slot, column] = rows
        if U == V:
            np.add.reduce(buf, axis=0, out=G, initial=-0.0)
        else:
            G[tokens] = np.add.reduce(buf, axis=0, initial=-0.0)
        return
    # (M + U, D): G[v], then v's rows, for each token present
    begin = starts[tokens] + np.arange(U)                         # where each group starts in buf
    buf = np.empty((M + U, G.shape[1]), dtype=G.dtype)
    is_row = np.ones(M + U, dtype=bool)
    is_row[begin] = False
    buf[begin] = G[tokens]
    buf[is_row] = rows[order]
    ends = np.append(begin[1:], M + U)
    for v, s, e in zip(tokens.tolist(), begin.tolist(), ends.tolist()):
        np.add.reduce(buf[s:e], axis=0, out=G[v], initial=-0.0)   # -0.0 + x = x for every x


class Embedding(Layer):
    """A lookup table: token ids → vectors, ``out[n, t] = W[ids[n, t]]``.

    Shapes: ids: (N, T) (or any shape) integers in [0, V); W: (V, D); out: ids.shape + (D,).

    Notes
    -----
    Equivalent to ``onehot(ids) @ W`` without building the one-hot matrix. Backward: row ``v`` of
    ``∂L/∂W`` is the sum of ``dout`` over every position holding token ``v`` (a token used twice gets
    both contributions). The input is discrete, so ``backward`` returns ``None``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, rng: np.random.Generator,
                 dtype=np.float32, std: float = 1.0) -> None:
        super().__init__()
        check_positive_int("num_embeddings", num_embeddings)
        check_positive_int("embedding_dim", embedding_dim)
        check_generator("rng", rng)
        check_positive("std", std)
        dtype = check_float_dtype("dtype", dtype)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.params["W"] = (rng.standard_normal((num_embeddings, embedding_dim)) * std).astype(dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self._ids = None

    def forward(self, ids, training=False):
        if ids is None:
            raise ValueError("ids must be an integer array of token ids, got None")
        ids = check_array("ids", ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must hold integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"ids must be in [0, {self.num_embeddings - 1}], got range [{ids.min()}, {ids.max()}]")
        self._ids = ids
        return self.params["W"][ids]

    def backward(self, dout):
        self._require_cache(self._ids)
        dout = check_grad("dout", dout, self._ids.shape + (self.embedding_dim,), self.params["W"].dtype)
        scatter_add_rows(self.grads["W"], self._ids.reshape(-1), dout.reshape(-1, self.embedding_dim))
        return None

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"
