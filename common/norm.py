"""Normalisation layers and the residual connection: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``,
``Residual``.

Introduced in chapter 07 (normalization and residual connections); chapter 06's architectures use them
too (ResNet). Shapes: N batch, D features, C channels, H×W pixels.

BatchNorm normalises each feature over the **batch** (and, for images, over all positions): in training
it uses the mini-batch's statistics and updates running averages, kept in ``buffers`` (never seen by an
optimizer); in evaluation it uses those running averages, so one image gives the same answer whatever
batch it comes in. LayerNorm normalises each **sample** over its own features, so it has no batch
dependence and no train/eval difference.
"""

from __future__ import annotations

import numpy as np

from ._validation import (check_float_array, check_float_dtype, check_grad, check_in_range, check_positive,
                          check_positive_int, param_dtype)
from .layers import Layer

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "Residual", "batchnorm_backward", "layer_norm_naive",
           "layer_norm_backward_naive"]


def batchnorm_backward(dout: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray,
                       axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dγ, dβ)`` of ``out = γ·x̂ + β`` with ``x̂ = (x - μ)/σ`` and μ, σ computed from x itself over
    ``axes`` (M values per feature). Shared by BatchNorm (axes = batch [+ positions]) and LayerNorm
    (axes = features).

    Notes
    -----
    With ``g = ∂L/∂x̂ = dout·γ`` (derivation in the chapter 07 deep-dive)::

        ∂L/∂γ = Σ dout·x̂      ∂L/∂β = Σ dout
        ∂L/∂x = (1/(M σ)) · (M g - Σ g - x̂ Σ g·x̂)

    The two subtracted terms are the paths through μ and σ: the mean and the spread of the batch both
    depend on every x.
    """
    m = int(np.prod([xhat.shape[a] for a in axes]))
    dgamma = (dout * xhat).sum(axis=axes, keepdims=True)
    dbeta = dout.sum(axis=axes, keepdims=True)
    g = dout * gamma
    sum_g = g.sum(axis=axes, keepdims=True)               # Σ g
    sum_gx = (g * xhat).sum(axis=axes, keepdims=True)     # Σ g·x̂
    dx = (inv_std / m) * (m * g - sum_g - xhat * sum_gx)
    return dx, dgamma, dbeta


class _BatchNorm(Layer):
    _axes: tuple[int, ...] = (0,)
    _ndim: int = 2
    _shape_text = "(N, D)"

    def __init__(self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("num_features", num_features)
        check_in_range("momentum", momentum, 0.0, 1.0, include_high=True)
        check_positive("eps", eps)
        dtype = check_float_dtype("dtype", dtype)
        self.num_features, self.momentum, self.eps = num_features, float(momentum), float(eps)
        self.params["gamma"] = np.ones(num_features, dtype=dtype)
        self.params["beta"] = np.zeros(num_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers["running_mean"] = np.zeros(num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(num_features, dtype=dtype)
        self.buffers["num_batches_tracked"] = np.zeros((), dtype=np.int64)
        self._cache = None

    def _bshape(self) -> tuple[int, ...]:
        shape = [1] * self._ndim
        shape[1] = self.num_features
        return tuple(shape)

    def forward(self, x, training=False):
        x = check_float_array("x", x, self.params["gamma"].dtype)
        if x.ndim != self._ndim or x.shape[1] != self.num_features:
            raise ValueError(f"x must have shape {self._shape_text} with {self.num_features} features on axis 1 "
                             f"for {self!r}, got shape {x.shape}")
        bs = self._bshape()
        gamma, beta = self.params["gamma"].reshape(bs), self.params["beta"].reshape(bs)
        if training:
            m = int(np.prod([x.shape[a] for a in self._axes]))
            if m == 0:
                # Statistics of no values are NaN, and NaN running statistics would poison every later
                # evaluation: refuse before anything is updated.
                raise ValueError(f"x must have at least one value per feature to normalise over in training mode, "
                                 f"got shape {x.shape} (an empty batch has no mean or variance)")
            mu = x.mean(axis=self._axes, keepdims=True)
            xc = x - mu
            var = (xc * xc).mean(axis=self._axes, keepdims=True)
            inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
            xhat = xc * inv_std
            # Running averages (in place: containers hold views of these arrays). The variance stored is
            # the unbiased one, m/(m-1)·var, as in PyTorch; with a single value it stays var (= 0).
            mom = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - mom
            rm += mom * mu.reshape(-1).astype(rm.dtype)
            rv *= 1 - mom
            rv += mom * (var.reshape(-1) * (m / (m - 1) if m > 1 else 1.0)).astype(rv.dtype)
            self.buffers["num_batches_tracked"] += 1
        else:
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"].reshape(bs).astype(x.dtype) + x.dtype.type(self.eps))
            xhat = (x - self.buffers["running_mean"].reshape(bs).astype(x.dtype)) * inv_std
        self._cache = (xhat, inv_std, training)
        return gamma * xhat + beta

    def backward(self, dout):
        self._require_cache(self._cache)
        xhat, inv_std, training = self._cache
        dout = check_grad("dout", dout, xhat.shape, xhat.dtype)
        gamma = self.params["gamma"].reshape(self._bshape())
        if training:
            dx, dgamma, dbeta = batchnorm_backward(dout, xhat, inv_std, gamma, self._axes)
        else:
            # Running statistics are constants: BN is then an affine map, x ↦ γ(x - μ_run)/σ_run + β.
            dx = dout * (gamma * inv_std)
            dgamma = (dout * xhat).sum(axis=self._axes)
            dbeta = dout.sum(axis=self._axes)
        self.grads["gamma"] += dgamma.reshape(-1)
        self.grads["beta"] += dbeta.reshape(-1)
        return dx

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features})"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features (``torch.nn.BatchNorm1d`` on (N, D)).

    Shapes: x: (N, D); γ, β, running_mean, running_var: (D,); out: (N, D).

    Notes
    -----
    Training: ``μ = mean_n x``, ``σ² = mean_n (x - μ)²``, ``x̂ = (x - μ)/√(σ² + ε)``, ``out = γ x̂ + β``;
    running averages ``r ← (1 - m) r + m·stat`` with momentum m = 0.1 (the variance unbiased).
    Evaluation: the same with the running averages in place of μ, σ². Backward: ``batchnorm_backward``.
    A batch of one in training mode has σ² = 0 and x̂ = 0: every input comes out as β.
    """

    _axes, _ndim, _shape_text = (0,), 2, "(N, D)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of channels (``torch.nn.BatchNorm2d``): each channel's statistics over the batch
    **and** all positions, so M = N·H·W values per channel.

    Shapes: x: (N, C, H, W); γ, β, running stats: (C,); out: (N, C, H, W). Equations as ``BatchNorm1d``.
    """

    _axes, _ndim, _shape_text = (0, 2, 3), 4, "(N, C, H, W)"


class LayerNorm(Layer):
    """Layer normalisation (``torch.nn.LayerNorm(D)``): each sample normalised over its own last axis.

    Shapes: x: (..., D); γ, β: (D,); out: same as x.

    Notes
    -----
    ``μ = mean_d x``, ``σ² = mean_d (x - μ)²`` per sample, ``out = γ (x - μ)/√(σ² + ε) + β``. Same
    backward as BatchNorm with the roles of the axes swapped (``batchnorm_backward`` over the last axis).
    No running statistics: training and evaluation compute the same thing.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("num_features", num_features)
        check_positive("eps", eps)
        dtype = check_float_dtype("dtype", dtype)
        self.num_features, self.eps = num_features, float(eps)
        self.params["gamma"] = np.ones(num_features, dtype=dtype)
        self.params["beta"] = np.zeros(num_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._cache = None

    def forward(self, x, training=False):
        x = check_float_array("x", x, self.params["gamma"].dtype)
        if x.ndim < 1 or x.shape[-1] != self.num_features:
            raise ValueError(f"x must have shape (..., {self.num_features}) for {self!r}, got shape {x.shape}")
        D = self.num_features
        x2 = x.reshape(-1, D)                                          # (M, D), one row per sample
        # Row sums as einsum (a contraction, several times faster than .sum over a short last axis);
        # the arithmetic is layer_norm_naive's.
        xhat = x2 - (np.einsum("ij->i", x2) / D)[:, None]              # x - μ
        var = np.einsum("ij,ij->i", xhat, xhat) / D
        inv_std = 1 / np.sqrt(var + x.dtype.type(self.eps))            # (M,)
        xhat *= inv_std[:, None]
        self._cache = (xhat, inv_std, x.shape)
        out = xhat * self.params["gamma"]
        out += self.params["beta"]
        return out.reshape(x.shape)

    def backward(self, dout):
        """``batchnorm_backward`` over the last axis (``layer_norm_backward_naive``), computed with one
        pass fewer per term and the row sums as einsum."""
        self._require_cache(self._cache)
        xhat, inv_std, shape = self._cache
        dout = check_grad("dout", dout, shape, xhat.dtype)
        D = self.num_features
        d2 = dout.reshape(-1, D)
        self.grads["gamma"] += np.einsum("ij,ij->j", d2, xhat)
        self.grads["beta"] += d2.sum(axis=0)
        g = d2 * self.params["gamma"]                                  # ∂L/∂x̂
        sum_g, sum_gx = np.einsum("ij->i", g), np.einsum("ij,ij->i", g, xhat)
        g *= D                                                         # (1/(Dσ))·(D g - Σg - x̂ Σg·x̂)
        g -= sum_g[:, None]
        g -= xhat * sum_gx[:, None]
        g *= (inv_std / D)[:, None]
        return g.reshape(shape)

    def __repr__(self):
        return f"LayerNorm({self.num_features})"


def layer_norm_naive(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5):
    """LayerNorm over the last axis written as its equations (the reference ``LayerNorm.forward`` is
    tested against): returns ``(out, x̂, 1/σ)``."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
    xhat = xc * inv_std
    return gamma * xhat + beta, xhat, inv_std


def layer_norm_backward_naive(dout, xhat, inv_std, gamma):
    """``(dx, dγ, dβ)`` of ``layer_norm_naive``: ``batchnorm_backward`` with the roles of the axes swapped
    (the statistics over the last axis, the parameter sums over the others)."""
    dx, _, _ = batchnorm_backward(dout, xhat, inv_std, gamma, (xhat.ndim - 1,))
    lead = tuple(range(dout.ndim - 1))
    return dx, (dout * xhat).sum(axis=lead), dout.sum(axis=lead)


class Residual(Layer):
    """A residual block ``out = F(x) + shortcut(x)``: the shortcut is the identity, or ``projection(x)``
    when F changes the shape (a 1×1 convolution or a bias-free Dense, as in ResNet).

    Shapes: x: any shape F accepts; out: F's output shape (the identity shortcut needs it to equal x's).

    Notes
    -----
    ``∂L/∂x = F'(x)ᵀ ∂L/∂out + ∂L/∂out`` (identity) or ``+ P'ᵀ ∂L/∂out`` (projection): the two
    branches' gradients are **added**. The ``+ ∂L/∂out`` term is the gradient highway: however small
    F′ gets, the gradient that left the block reaches x unchanged through the shortcut, so a small F′
    cannot make it vanish. It is not a lower bound: F's term can partly cancel it (with F′ = −½I the
    block halves the gradient).

    Children: ``body`` and (when given) ``projection``, so ``params`` keys are ``"body.{name}"`` and
    ``"projection.{name}"``.
    """

    def __init__(self, body: Layer, projection: Layer | None = None) -> None:
        super().__init__()
        if not isinstance(body, Layer):
            raise ValueError(f"body must be a Layer, got {type(body).__name__}")
        if projection is not None and not isinstance(projection, Layer):
            raise ValueError(f"projection must be a Layer or None, got {type(projection).__name__}")
        self.body = body
        self.projection = projection            # a child only when it is a Layer

    def forward(self, x, training=False):
        x = check_float_array("x", x, param_dtype(self))
        fx = self.body.forward(x, training=training)
        skip = x if self.projection is None else self.projection.forward(x, training=training)
        if fx.shape != skip.shape:
            raise ValueError(f"the residual body maps shape {x.shape} to {fx.shape}, which cannot be added to "
                             f"the shortcut's {skip.shape}; pass projection= a layer mapping x to {fx.shape}")
        self._out_shape = fx.shape
        return fx + skip

    def backward(self, dout):
        self._require_cache(getattr(self, "_out_shape", None))
        dout = check_grad("dout", dout, self._out_shape)
        dx = self.body.backward(dout)
        if self.projection is None:
            return dx + dout
        return dx + self.projection.backward(dout)

    def __repr__(self):
        proj = "" if self.projection is None else f", projection={self.projection!r}"
        return f"Residual({self.body!r}{proj})"
