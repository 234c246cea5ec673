"""The ``Layer`` contract, the container machinery every model shares, and the basic layers ``Dense``,
``Dropout``, ``Flatten`` and ``Sequential``.

The contract every layer in ``common`` follows (CS231n's data flow, numpy-ml's dictionaries, micrograd's
recursion, torch's named modules):

- **Arrays.** ``params`` and ``grads`` are dicts of arrays under the same keys; ``buffers`` holds state
  that is not learned (BatchNorm's running statistics), so an optimizer never sees it.
- **Children.** A layer may own other layers: assigning a ``Layer`` to a public attribute
  (``self.encoder = LSTM(...)``) registers it as a child under that name, as ``torch.nn.Module`` does
  (names starting with ``_`` are private references and are not registered; ``add_child`` registers a
  layer under any name, which is how ``Sequential`` names its children ``"0"``, ``"1"``, …). A layer
  with children sees their arrays under dotted keys (``"encoder.cell.Wx"``), and ``parameters``,
  ``zero_grad``, ``astype``, ``num_params``, ``predict``, ``save``/``load`` and ``summary`` work on the
  whole tree. They are defined once, here; no model writes its own.
- **Forward.** ``forward(x, training=False)`` returns the output and keeps what the backward pass needs.
  ``training`` only changes layers that behave differently at train time (Dropout, BatchNorm).
- **Backward.** ``backward(dout)`` **adds** the parameter gradients into ``grads`` (a value used twice,
  like a shared weight or a weight used at every time step, gets both contributions) and returns ``dx``.
  ``zero_grad()`` resets them; it is its own call. ``backward_params(dout)`` fills ``grads`` without
  computing ``dx`` (a network's first layer: nobody needs the gradient of the data).

**The sequence contract** (recurrent and attention layers, and every model built from them). A layer
with more than one input or output keeps the primary ones in the signature above and handles the others
by one rule:

1. *Extra inputs* are keyword-only arguments of ``forward``, named for what they are: ``state=`` (a
   recurrent layer's initial state), ``mask=``, ``context=`` (cross-attention), ``keys=`` (the encoder
   states a score attends over).
2. *Extra outputs* of the last ``forward`` are in the dict ``layer.extras``, by name: ``"state"`` (the
   final state), ``"weights"`` (attention weights).
3. ``backward(dout, **dextras)`` takes the gradients of those extra outputs by the same names, when
   something downstream used them (``encoder.backward(dhs, state=dfinal)``); an extra output that is not
   passed contributes no gradient.
4. After ``backward``, ``layer.extra_grads`` holds the gradient of every float extra input, by the
   keyword it came in under (``extra_grads["state"]``, ``["context"]``, ``["keys"]``); masks have none.

States with two parts are named tuples (``LSTMState(h, c)``), and what a step keeps for its backward
pass is a named record (``LSTMStepCache``), never a tuple read by index in another class.
``common.gradcheck.check_layer`` checks every layer through this one rule, extra inputs and outputs
included, with no adapter.

Shapes use one set of letters across the project: N batch, D features in, H features out.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> class TwoLayer(Layer):                       # a model: children as attributes, nothing else to write
...     def __init__(self):
...         super().__init__()
...         self.hidden, self.out = Dense(4, 8, rng), Dense(8, 2, rng)
...     def forward(self, x, training=False):
...         return self.out.forward(np.tanh(self.hidden.forward(x)))
>>> m = TwoLayer()
>>> list(m.params), m.num_params()
(['hidden.W', 'hidden.b', 'out.W', 'out.b'], 58)
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from pathlib import Path

import numpy as np

from . import init as initializers
from ._validation import (check_array, check_bool, check_float_array, check_float_dtype, check_generator,
                          check_grad, check_in_range, check_positive_int)


class ParameterList(list):
    """The ``(param, grad)`` pairs of a layer tree, as ``Layer.parameters()`` returns them: a plain list
    that also remembers which layers own the arrays, so an optimizer built from it can register itself
    and ``astype`` can refuse to swap arrays an optimizer is still updating."""

    def __init__(self, pairs=(), owners=()) -> None:
        super().__init__(pairs)
        self.owners = list(owners)


class Layer:
    """Base class of every layer and model: own arrays, named children, and the tree operations.

    Subclasses fill ``params``/``grads`` (and ``buffers``) in ``__init__`` and override
    ``forward``/``backward``; containers assign child layers as attributes (or call ``add_child``)
    and get everything else from here.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_optimizers", weakref.WeakSet())
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self.extras: dict = {}
        self.extra_grads: dict = {}

    # ---- children -------------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        children = self.__dict__.get("_children")
        if children is not None and not name.startswith("_"):
            if isinstance(value, Layer):
                children[name] = value
            elif name in children:
                del children[name]
        object.__setattr__(self, name, value)

    def add_child(self, name: str, layer: "Layer") -> "Layer":
        """Register ``layer`` as a child under ``name`` (any string without a dot); returns it."""
        if not isinstance(layer, Layer):
            raise ValueError(f"a child must be a Layer, got {type(layer).__name__} for {name!r}")
        name = str(name)
        if not name or "." in name:
            raise ValueError(f"a child's name must be a non-empty string without '.', got {name!r}")
        self._children[name] = layer
        return layer

    def named_children(self) -> list[tuple[str, "Layer"]]:
        """The direct children, in the order they were registered."""
        return list(self._children.items())

    def named_layers(self, prefix: str = "") -> list[tuple[str, "Layer"]]:
        """Every layer of the tree, this one first (name ``""``), each under its dotted path."""
        out = [(prefix, self)]
        for name, child in self._children.items():
            out.extend(child.named_layers(f"{prefix}.{name}" if prefix else name))
        return out

    # ---- arrays: own, or the whole tree under dotted keys ---------------------------------------------
    def _tree(self, attr: str) -> dict[str, np.ndarray]:
        own = self.__dict__[attr]
        if not self._children:
            return own
        merged = dict(own)
        for name, child in self._children.items():
            for k, v in getattr(child, attr[1:]).items():
                merged[f"{name}.{k}"] = v
        return _ReadOnlyView(merged)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """This layer's parameters, and its children's under ``"child.name"`` keys. For a layer with
        children it is a read-only view: change values in place (``params[k][...] = v``)."""
        return self._tree("_params")

    @params.setter
    def params(self, value):
        self._params = value

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients under the same keys as ``params``."""
        return self._tree("_grads")

    @grads.setter
    def grads(self, value):
        self._grads = value

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """State that is saved and loaded but never optimized (running statistics), same keys rule."""
        return self._tree("_buffers")

    @buffers.setter
    def buffers(self, value):
        self._buffers = value

    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a parameter and its zero gradient; returns the parameter array."""
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)
        return value

    # ---- the contract ---------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    #: names of the extra outputs whose gradient ``backward`` accepts by keyword (rule 3 above)
    differentiable_extras: tuple[str, ...] = ()

    def backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` without returning ``dx``. Training never needs the gradient of the data, so
        ``fit`` calls this; layers that can skip work (``Dense``, ``Conv2D``, ``Sequential``) override it."""
        self.backward(dout)

    def __call__(self, x: np.ndarray, training: bool = False, **extra_inputs) -> np.ndarray:
        return self.forward(x, training=training, **extra_inputs)

    # ---- operations on the whole tree, defined once -----------------------------------------------------
    def parameters(self) -> ParameterList:
        """(param, grad) pairs of this layer and every descendant, the form every optimizer takes."""
        pairs, owners = [], []
        for _, layer in self.named_layers():
            own = layer.__dict__["_params"]
            if own:
                owners.append(layer)
                grads = layer.__dict__["_grads"]
                pairs.extend((own[k], grads[k]) for k in own)
        return ParameterList(pairs, owners)

    def zero_grad(self) -> None:
        for _, layer in self.named_layers():
            for g in layer.__dict__["_grads"].values():
                g.fill(0)

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def astype(self, dtype) -> "Layer":
        """Convert parameters, gradients and floating buffers of the whole tree to ``dtype`` (float64 for
        gradient checks). It replaces the arrays, so it refuses while an optimizer built from this
        model's ``parameters()`` is alive: build the optimizer after this call."""
        dtype = check_float_dtype("dtype", dtype)
        layers = [layer for _, layer in self.named_layers()]
        if any(len(layer._optimizers) for layer in layers):
            raise RuntimeError(f"astype would replace arrays an optimizer is updating ({type(self).__name__}); "
                               "call astype before building the optimizer")
        for layer in layers:
            for attr in ("_params", "_grads", "_buffers"):
                store = layer.__dict__[attr]
                for k, v in store.items():
                    if attr != "_buffers" or np.issubdtype(v.dtype, np.floating):
                        store[k] = v.astype(dtype)
            layer._after_astype(dtype)
        return self

    def _after_astype(self, dtype) -> None:
        """Hook for layers that keep derived arrays (none by default)."""

    def predict(self, x: np.ndarray, batch_size: int | None = 1024) -> np.ndarray:
        """Outputs in evaluation mode, computed ``batch_size`` rows at a time to bound memory."""
        if x is None:
            raise ValueError("x must be an array with a batch axis (shape (N, ...)), got None")
        x = check_array("x", x)
        if x.ndim == 0:
            raise ValueError(f"x must have a batch axis (shape (N, ...)), got {x!r}")
        if batch_size is not None:
            check_positive_int("batch_size", batch_size)
        if batch_size is None or len(x) <= batch_size:
            return self.forward(x, training=False)
        return np.concatenate([self.forward(x[i:i + batch_size], training=False)
                               for i in range(0, len(x), batch_size)])

    def architecture(self) -> list[str]:
        """One line per layer of the tree, what ``save`` records and ``load`` compares: ``"path: repr"``
        for a layer without children, ``"path: ClassName"`` for a container (its children have lines of
        their own). The root's path is ``"."``."""
        return [f"{name or '.'}: {layer!r}" if not layer._children else f"{name or '.'}: {type(layer).__name__}"
                for name, layer in self.named_layers()]

    def save(self, path, *, meta: dict | None = None, extras: dict | None = None) -> Path:
        """Write parameters, buffers and the architecture to an ``.npz`` file (no pickle); returns the
        path written (``.npz`` is appended when missing, as ``np.savez`` does).

        ``meta`` (a JSON-serialisable dict: settings, measured metrics, the script that made the file) and
        ``extras`` (named arrays: a recorded training history, a tokenizer's alphabet) travel in the same
        file; ``common.checkpoints.read_meta``/``read_extras`` read them back, ``load`` ignores them.

        The file is written to a temporary file in the same folder and renamed over ``path`` only once
        complete, so a failure part-way never replaces a good checkpoint with a broken one."""
        path = _npz_path(path)
        arrays = {f"param:{k}": v for k, v in self.params.items()}
        arrays.update({f"buffer:{k}": v for k, v in self.buffers.items()})
        arrays["architecture"] = np.array(self.architecture())
        if meta is not None:
            if not isinstance(meta, dict):
                raise ValueError(f"meta must be a dict of JSON-serialisable values, got {type(meta).__name__}")
            try:
                arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
            except (TypeError, ValueError) as e:
                raise ValueError(f"meta must be a dict of JSON-serialisable values: {e}") from None
        if extras is not None and not isinstance(extras, dict):
            raise ValueError(f"extras must be a dict of name → array, got {type(extras).__name__}")
        for name, value in (extras or {}).items():
            if not isinstance(name, str):
                raise ValueError(f"extras must have string names, got {name!r}")
            value = np.asarray(value)
            if value.dtype == object:
                raise ValueError(f"extras[{name!r}] must be a numeric or string array (no objects: no pickle)")
            arrays[f"extra:{name}"] = value
        if not path.parent.is_dir():
            raise ValueError(f"path must be in an existing folder, got {str(path)!r}")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path

    def load(self, path) -> "Layer":
        """Load what ``save`` wrote into this model, in place, all or nothing.

        Everything is read and checked first (the architecture, the set of arrays, each shape, values
        that are finite in the model's dtype); only then are the arrays copied in. Anything that does
        not fit is a ``ValueError`` naming the file and what differs, and the model is left untouched."""
        path = _npz_path(path, must_exist=True)
        try:
            with open(path, "rb") as f:            # ours to close, whatever np.load raises
                magic = f.read(6)
                if magic == b"\x93NUMPY":
                    also = "" if path.suffix == ".npz" else f" (and {path.name}.npz does not exist)"
                    raise ValueError(f"it is a .npy file (one array), not an .npz archive{also}")
                if not magic.startswith(b"PK"):    # never let np.load guess (it would try pickle)
                    raise ValueError("the file is empty" if not magic else "it is not a zip archive, as every .npz is")
                f.seek(0)
                with np.load(f, allow_pickle=False) as data:
                    loaded = {k: data[k] for k in data.files}
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{str(path)!r} is not a checkpoint saved by Layer.save: {e}") from None
        except Exception as e:      # zipfile.BadZipFile, CRC errors, …
            raise ValueError(f"{str(path)!r} is not a readable .npz checkpoint: {type(e).__name__}: {e}") from None
        if "architecture" not in loaded:
            raise ValueError(f"{str(path)!r} has no architecture record; it was not written by Layer.save")
        saved_arch = [str(s) for s in np.atleast_1d(loaded.pop("architecture"))]
        loaded = {k: v for k, v in loaded.items() if k != "meta" and not k.startswith("extra:")}
        mine = self.architecture()
        if saved_arch != mine:
            raise ValueError(f"{str(path)!r} holds a model with layers {saved_arch}, this model has {mine}")
        targets = {f"param:{k}": v for k, v in self.params.items()}
        targets.update({f"buffer:{k}": v for k, v in self.buffers.items()})
        if set(loaded) != set(targets):
            raise ValueError(f"{str(path)!r} has arrays {sorted(loaded)}, expected {sorted(targets)}")
        for k, target in targets.items():
            value = loaded[k]
            if value.shape != target.shape:
                raise ValueError(f"{k} in {str(path)!r} has shape {value.shape}, the model has {target.shape}")
            if value.dtype.kind not in "biuf":
                raise ValueError(f"{k} in {str(path)!r} holds {value.dtype} values, not real numbers")
            if np.issubdtype(target.dtype, np.floating):
                with np.errstate(over="ignore", invalid="ignore"):
                    cast = value.astype(target.dtype)
                if not np.isfinite(cast).all():
                    raise ValueError(f"{k} in {str(path)!r} has values that are not finite in {target.dtype}")
                loaded[k] = cast
            elif value.dtype.kind not in "iub" or not np.array_equal(value.astype(target.dtype), value):
                raise ValueError(f"{k} in {str(path)!r} must hold {target.dtype} values, got {value.dtype} "
                                 "values that do not fit")
        for k, target in targets.items():
            target[...] = loaded[k]
        return self

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of the direct children (or of this layer alone), their output shapes when
        ``input_shape`` (without the batch axis) is given and the container runs its children in
        order, and parameter counts."""
        if input_shape is not None and not (isinstance(input_shape, tuple) and all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in input_shape)):
            raise ValueError(f"input_shape must be a tuple of ints >= 1 without the batch axis, got {input_shape!r}")
        rows = [("#", "layer", "output shape", "params")]
        children = self.named_children() or [("", self)]
        shapes = self._summary_shapes(input_shape) if input_shape is not None else {}
        for name, layer in children:
            rows.append((name, repr(layer), shapes.get(name, ""), f"{layer.num_params():,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(r[c].ljust(widths[c]) if c < 3 else r[c].rjust(widths[c]) for c in range(4))
                 for r in rows]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {self.num_params():,}"])

    def _summary_shapes(self, input_shape) -> dict[str, str]:
        """Output shape per child name for ``summary``; a container that runs its children in order
        overrides this (``Sequential``). The default shows this layer's own output shape."""
        x = np.zeros((1, *input_shape), dtype=self._dtype())
        out = self.forward(x, training=False)
        return {"": _shape_text(out)}

    def _dtype(self):
        return next(iter(self.params.values())).dtype if self.params else np.float32

    def _require_cache(self, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _ReadOnlyView(dict):
    """The merged arrays of a layer tree: reading works as for a dict; writing a key would only change
    this temporary view, so it raises instead (write into the array in place)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a container's params/grads/buffers is a view over its children: "
                        "change an array in place (view[key][...] = value), or the child's own dict")

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _refuse


def _shape_text(x: np.ndarray) -> str:
    return str(("N", *x.shape[1:])).replace("'", "")


def _npz_path(path, must_exist: bool = False) -> Path:
    """The file ``save`` writes or ``load`` reads: ``path`` with ``~`` expanded and ``.npz`` appended when
    it has another suffix (as ``np.savez`` does), except that ``load`` reads an existing file as named."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValueError(f"path must be a file, got the folder {str(p)!r}")
    if must_exist and p.suffix != ".npz" and p.is_file() and not p.with_name(p.name + ".npz").exists():
        return p                      # a file under another name: read as named (load checks what it holds)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    if p.is_dir():
        raise ValueError(f"path must be a file, got the folder {str(p)!r}")
    if must_exist and not p.is_file():
        raise ValueError(f"path {str(p)!r} does not exist")
    return p


#: Above this many multiply-adds per sample, ``_rows_matmul`` runs one (N·T, d) GEMM, not N of them.
_ROWS_GEMM_MIN = 1 << 21


def _rows_matmul(x, W):
    """``x @ W`` for x (N, T, d) (or any other array) and a matrix W. Large (N, T, d) inputs go through one
    (N·T, d) product (NumPy's 3-D ``@`` makes N separate GEMM calls: ~15% slower for the multi-head
    attention benchmark's 8 × 128 × 512). Small ones keep the 3-D form: OpenBLAS runs small products (M·N·K up to ~10⁶) through other kernels that
    round differently, and the trained numbers the chapters quote were computed that way; above the
    threshold both forms use the same kernel and give the same bits."""
    if x.ndim == 3 and x.shape[1] * x.shape[2] * W.shape[1] >= _ROWS_GEMM_MIN:
        N, T, d = x.shape
        return (x.reshape(N * T, d) @ W).reshape(N, T, W.shape[1])
    return x @ W


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
        dtype = check_float_dtype("dtype", dtype)
        check_bool("bias", bias)
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

    # The hot paths read the layer's own dicts (``_params``/``_grads``), not the ``params``/``grads``
    # properties: the same arrays, without building a view per access (an MNIST MLP step reads them
    # a dozen times).
    def forward(self, x, training=False):
        params = self._params
        W = params["W"]
        x = check_float_array("x", x, W.dtype)
        if x.ndim < 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}) for {self!r}, got {x.shape}")
        self._x = x
        out = _rows_matmul(x, W)
        b = params.get("b")
        if b is not None:
            out += b
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        self._accumulate(dout)
        return _rows_matmul(dout, self._params["W"].T)

    def backward_params(self, dout):
        self._accumulate(self._check_dout(dout))

    def _check_dout(self, dout):
        x = self._x
        self._require_cache(x)
        return check_grad("dout", dout, x.shape[:-1] + (self.out_features,), self._params["W"].dtype)

    def _accumulate(self, dout):
        grads = self._grads
        x2 = self._x.reshape(-1, self.in_features)          # (N·…, D)
        d2 = dout.reshape(-1, self.out_features)            # (N·…, H)
        grads["W"] += x2.T @ d2
        gb = grads.get("b")
        if gb is not None:
            gb += d2.sum(axis=0)

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
        self._x = None                 # (shape, dtype) of the last input

    def forward(self, x, training=False):
        x = check_float_array("x", x)
        self._x = (x.shape, x.dtype)
        if not training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, dout):
        self._require_cache(self._x)
        dout = check_grad("dout", dout, *self._x)
        return dout if self._mask is None else dout * self._mask

    def __repr__(self):
        return f"Dropout(p={self.p})"


class Flatten(Layer):
    """Flatten every axis but the batch axis. Shapes: x: (N, d1, d2, …); out: (N, d1·d2·…)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape = None

    def forward(self, x, training=False):
        x = check_float_array("x", x)
        if x.ndim < 2:
            raise ValueError(f"x must have a batch axis and at least one more, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))     # (N, d1·d2·…), also for N = 0

    def backward(self, dout):
        self._require_cache(self._shape)
        dout = check_grad("dout", dout, (self._shape[0], int(np.prod(self._shape[1:]))))
        return dout.reshape(self._shape)


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse. Its children are named ``"0"``, ``"1"``, …,
    so its ``params`` keys are ``"{index}.{name}"``."""

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
            self.add_child(str(i), layer)
        self.layers: list[Layer] = list(layers)

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

    def backward_params(self, dout):
        self.backward(dout, input_grad=False)

    def _summary_shapes(self, input_shape):
        x = np.zeros((1, *input_shape), dtype=self._dtype())
        shapes = {}
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, training=False)
            shapes[str(i)] = _shape_text(x)
        return shapes

    def __repr__(self):
        return "Sequential(" + ", ".join(repr(l) for l in self.layers) + ")"
