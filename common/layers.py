"""Layers and the ``Sequential`` container.

The contract every layer in ``common`` follows (CS231n's data flow, numpy-ml's dictionaries):

- ``params`` and ``grads`` are dicts of arrays under the same keys; ``buffers`` holds state that is not
  learned (BatchNorm's running statistics), so an optimizer never sees it.
- ``forward(x, training=False)`` returns the output and keeps what the backward pass needs. ``training``
  only changes layers that behave differently at train time (Dropout, BatchNorm); the backward pass works
  after either mode.
- ``backward(dout)`` **adds** the parameter gradients into ``grads`` (so a value used twice, like a shared
  weight, gets both contributions) and returns ``dx``. ``zero_grad()`` resets them; it is its own call.

Shapes use one set of letters across the project: N batch, D features in, H features out.
"""

from __future__ import annotations

import numpy as np

from . import init as initializers
from ._validation import check_array, check_generator, check_in_range, check_positive_int


class Layer:
    """Base class: no parameters, identity-free. Subclasses fill ``params``/``grads`` and override
    ``forward``/``backward``."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` without returning ``dx``. A network's first layer is given its input, which
        needs no gradient, so ``Sequential`` calls this there; layers that can skip work override it."""
        self.backward(dout)

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) pairs, the form every optimizer takes."""
        return [(self.params[k], self.grads[k]) for k in self.params]

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def astype(self, dtype) -> "Layer":
        """Convert parameters, gradients and buffers to ``dtype`` (float64 for gradient checks).

        Build optimizers after this call: it replaces the arrays, and optimizers key their state on them.
        """
        for store in (self.params, self.grads, self.buffers):
            for k, v in store.items():
                store[k] = v.astype(dtype)
        return self

    def _require_cache(self, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Dense(Layer):
    """Fully connected layer ``out = x @ W + b``.

    Shapes: x: (N, D) or (..., D); W: (D, H); b: (H,); out: (N, H) or (..., H).

    Notes
    -----
    Forward ``z = x W + b``. Backward, with ``dz = ∂L/∂z``::

        ∂L/∂W = xᵀ dz      ∂L/∂b = Σₙ dz      ∂L/∂x = dz Wᵀ

    Leading dimensions beyond the last are flattened into the batch, so the same layer applies to every
    time step of a sequence (N, T, D).
    """

    def __init__(self, in_features: int, out_features: int, rng: np.random.Generator | None = None, *,
                 init: str = "he_normal", bias: bool = True, dtype=np.float32) -> None:
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("out_features", out_features)
        init_fn = initializers.get(init)
        if initializers.needs_rng(init):
            check_generator("rng", rng)
        self.in_features, self.out_features = in_features, out_features
        self.params["W"] = init_fn((in_features, out_features), rng, dtype=dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        if bias:
            self.params["b"] = np.zeros(out_features, dtype=dtype)
            self.grads["b"] = np.zeros_like(self.params["b"])
        self._x = None

    def forward(self, x, training=False):
        x = check_array("x", x)
        if x.ndim < 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}) for {self!r}, got {x.shape}")
        self._x = x
        out = x @ self.params["W"]
        if "b" in self.params:
            out += self.params["b"]
        return out

    def backward(self, dout):
        self.backward_params(dout)
        return dout @ self.params["W"].T

    def backward_params(self, dout):
        self._require_cache(self._x)
        x2 = self._x.reshape(-1, self.in_features)          # (N·…, D)
        d2 = dout.reshape(-1, self.out_features)            # (N·…, H)
        self.grads["W"] += x2.T @ d2
        if "b" in self.grads:
            self.grads["b"] += d2.sum(axis=0)

    def __repr__(self):
        return f"Dense({self.in_features} → {self.out_features})"


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``p`` in training and scale the survivors by
    ``1/(1-p)``, so the expected activation is the same in training and evaluation and eval is identity.

    Shapes: x: any; out: same as x.

    Notes
    -----
    ``m ~ Bernoulli(1-p)`` elementwise, ``out = x · m / (1-p)``; backward ``dx = dout · m / (1-p)``.
    """

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        super().__init__()
        check_in_range("p", p, 0.0, 1.0)
        check_generator("rng", rng)
        self.p, self.rng = float(p), rng
        self._mask = None

    def forward(self, x, training=False):
        x = check_array("x", x)
        if not training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, dout):
        return dout if self._mask is None else dout * self._mask

    def __repr__(self):
        return f"Dropout(p={self.p})"


class Flatten(Layer):
    """Flatten every axis but the batch axis. Shapes: x: (N, d1, d2, …); out: (N, d1·d2·…)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape = None

    def forward(self, x, training=False):
        x = check_array("x", x)
        if x.ndim < 2:
            raise ValueError(f"x must have a batch axis and at least one more, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        self._require_cache(self._shape)
        return dout.reshape(self._shape)


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    ``params``/``grads``/``buffers`` of the container are views over its layers' dicts with keys
    ``"{index}.{name}"``, used by ``save``/``load``; ``parameters()`` gives the (param, grad) pairs for an
    optimizer.
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
        self.layers: list[Layer] = list(layers)
        self._sync_views()

    def _sync_views(self) -> None:
        self.params = {f"{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.params.items()}
        self.grads = {f"{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.grads.items()}
        self.buffers = {f"{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.buffers.items()}

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dout, *, input_grad: bool = True):
        """Backpropagate ``dout`` through every layer. With ``input_grad=False`` the first layer only
        fills its parameter gradients and ``None`` is returned: training never uses the gradient with
        respect to the data, and for an MLP on MNIST it is a third of the backward pass."""
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        if not self.layers:
            return dout
        if input_grad:
            return self.layers[0].backward(dout)
        self.layers[0].backward_params(dout)
        return None

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def parameters(self):
        return [pair for layer in self.layers for pair in layer.parameters()]

    def astype(self, dtype):
        for layer in self.layers:
            layer.astype(dtype)
        self._sync_views()
        return self

    def predict(self, x: np.ndarray, batch_size: int | None = 1024) -> np.ndarray:
        """Outputs in evaluation mode, computed ``batch_size`` rows at a time to bound memory."""
        x = check_array("x", x)
        if batch_size is None or len(x) <= batch_size:
            return self.forward(x, training=False)
        check_positive_int("batch_size", batch_size)
        return np.concatenate([self.forward(x[i:i + batch_size], training=False)
                               for i in range(0, len(x), batch_size)])

    def save(self, path) -> None:
        """Write parameters and buffers to an ``.npz`` file (no pickle)."""
        arrays = {f"param:{k}": v for k, v in self.params.items()}
        arrays.update({f"buffer:{k}": v for k, v in self.buffers.items()})
        arrays["architecture"] = np.array([repr(l) for l in self.layers])
        np.savez(path, **arrays)

    def load(self, path) -> "Sequential":
        """Load parameters and buffers saved by ``save`` into this model, in place.

        The file must come from a model of the same architecture; anything else is a ``ValueError`` that
        says what differs, never a silent partial load.
        """
        with np.load(path, allow_pickle=False) as data:
            saved_arch = [str(s) for s in data["architecture"]] if "architecture" in data else None
            mine = [repr(l) for l in self.layers]
            if saved_arch is not None and saved_arch != mine:
                raise ValueError(f"path holds a model with layers {saved_arch}, this model has {mine}")
            expected = {f"param:{k}" for k in self.params} | {f"buffer:{k}" for k in self.buffers}
            found = set(data.files) - {"architecture"}
            if expected != found:
                raise ValueError(f"path has arrays {sorted(found)}, expected {sorted(expected)}")
            for prefix, store in (("param:", self.params), ("buffer:", self.buffers)):
                for k, target in store.items():
                    value = data[prefix + k]
                    if value.shape != target.shape:
                        raise ValueError(f"{k} in path has shape {value.shape}, model has {target.shape}")
                    target[...] = value
        return self

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of layers, output shapes (when ``input_shape`` without the batch axis is given) and
        parameter counts."""
        rows = [("#", "layer", "output shape", "params")]
        x = None
        if input_shape is not None:
            dtype = next(iter(self.params.values())).dtype if self.params else np.float32
            x = np.zeros((1, *input_shape), dtype=dtype)
        for i, layer in enumerate(self.layers):
            shape = ""
            if x is not None:
                x = layer.forward(x, training=False)
                shape = str(("N", *x.shape[1:])).replace("'", "")
            rows.append((str(i), repr(layer), shape, f"{layer.num_params():,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(r[c].ljust(widths[c]) if c < 3 else r[c].rjust(widths[c]) for c in range(4))
                 for r in rows]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {self.num_params():,}"])

    def __repr__(self):
        return "Sequential(" + ", ".join(repr(l) for l in self.layers) + ")"
