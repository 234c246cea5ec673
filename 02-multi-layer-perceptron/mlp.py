"""A multi-layer perceptron built from ``common`` layers, and hand-set weights that solve XOR.

The network is 2-2-1 with sigmoid units: ``Dense(2, 2) → Sigmoid → Dense(2, 1) → Sigmoid``. The hidden
layer builds two gates the perceptron of chapter 01 can learn, and the output combines them:

    h₁ = σ(s·(x₁ + x₂ - 0.5))     ≈ OR(x₁, x₂)
    h₂ = σ(s·(x₁ + x₂ - 1.5))     ≈ AND(x₁, x₂)
    ŷ  = σ(s·(h₁ - h₂ - 0.5))     ≈ OR and not AND = XOR

``s`` is the weight-scale factor: it multiplies every weight and bias. A larger ``s`` makes each sigmoid
closer to a step (sharp boundary, outputs near 0 and 1); a smaller one blurs it. With the default
``s = 10`` the outputs are 0.0072 for (0,0) and (1,1) and 0.9924 for (0,1) and (1,0) (computed, see
``tests/test_ch02_mlp.py``).

>>> import numpy as np
>>> from common.datasets import xor
>>> X, y = xor()
>>> np.round(xor_network().forward(X)[:, 0], 4).tolist()
[0.0072, 0.9924, 0.9924, 0.0072]
"""

from __future__ import annotations

import numpy as np

from common.markdown import table_registry
from common import activations
from common._validation import check_array, check_choice, check_generator, check_positive, check_positive_int
from common.activations import Sigmoid
from common.layers import Dense, Sequential
from common.losses import binary_cross_entropy_with_logits
from common.optimizers import SGD
from common.training import fit

#: Every measured table of the chapter's documents, (document, marker) → the function that writes it
#: (each function registers itself with ``@doc_table``; ``python -m tests.regenerate_doc_tables`` reads this).
DOC_TABLES, doc_table = table_registry()

#: The XOR solution at scale 1: the network's real weights are these times the scale factor.
XOR_BASE_WEIGHTS = {
    "W1": np.array([[1.0, 1.0],       # column 0: the OR unit, column 1: the AND unit
                    [1.0, 1.0]]),
    "b1": np.array([-0.5, -1.5]),
    "W2": np.array([[1.0],            # + OR
                    [-1.0]]),         # - AND
    "b2": np.array([-0.5]),
}
DEFAULT_SCALE = 10.0


def mlp(sizes, activation: str = "sigmoid", rng: np.random.Generator | None = None, *, init: str = "xavier_normal",
        output_activation: str | None = "sigmoid", dtype=np.float64) -> Sequential:
    """An MLP ``Dense → act → … → Dense [→ output act]`` from ``common`` layers.

    ``sizes`` lists the widths from input to output, e.g. (2, 2, 1). ``output_activation=None`` leaves the
    last layer linear (logits for a loss that fuses the sigmoid).
    """
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    for s in sizes:
        check_positive_int("sizes[i]", s)
    check_choice("activation", activation, activations.LAYERS)
    if output_activation is not None:
        check_choice("output_activation", output_activation, activations.LAYERS)
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(d_in, d_out, rng, init=init, dtype=dtype))
        last = i == len(sizes) - 2
        if not last:
            layers.append(activations.get_layer(activation))
        elif output_activation is not None:
            layers.append(activations.get_layer(output_activation))
    return Sequential(*layers)


def xor_network(scale: float = DEFAULT_SCALE) -> Sequential:
    """The 2-2-1 sigmoid network with the hand-set XOR weights times ``scale`` (float64).

    Shapes: input (N, 2); output (N, 1) probabilities of class 1.
    """
    check_positive("scale", scale)
    net = Sequential(Dense(2, 2, init="zeros", dtype=np.float64), Sigmoid(),
                     Dense(2, 1, init="zeros", dtype=np.float64), Sigmoid())
    net[0].params["W"][...] = scale * XOR_BASE_WEIGHTS["W1"]
    net[0].params["b"][...] = scale * XOR_BASE_WEIGHTS["b1"]
    net[2].params["W"][...] = scale * XOR_BASE_WEIGHTS["W2"]
    net[2].params["b"][...] = scale * XOR_BASE_WEIGHTS["b2"]
    return net


def _check_points(X) -> np.ndarray:
    X = check_array("X", X, ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    return X.astype(np.float64, copy=False)


def forward_trace(net: Sequential, X) -> dict[str, np.ndarray]:
    """Every intermediate of a 2-2-1 forward pass: ``z1 = X W1 + b1`` (N, 2), ``h = σ(z1)`` (N, 2),
    ``z2 = h W2 + b2`` (N, 1), ``out = σ(z2)`` (N, 1)."""
    X = _check_points(X)
    z1 = net[0].forward(X)
    h = net[1].forward(z1)
    z2 = net[2].forward(h)
    out = net[3].forward(z2)
    return {"X": X, "z1": z1, "h": h, "z2": z2, "out": out}


def hidden_representation(net: Sequential, X) -> np.ndarray:
    """The points as the output neuron sees them: the hidden activations (N, 2)."""
    return forward_trace(net, X)["h"]


def predict(net: Sequential, X) -> np.ndarray:
    """Class labels (N,): 1 where the output probability is > 0.5."""
    return (net.forward(_check_points(X))[:, 0] > 0.5).astype(np.int64)


def collapse_linear(*layers: Dense) -> tuple[np.ndarray, np.ndarray]:
    """The single ``(W, b)`` equal to a stack of Dense layers with no activation between them.

    ``(x W₁ + b₁) W₂ + b₂ = x (W₁W₂) + (b₁W₂ + b₂)``: stacking linear layers is still one linear layer.
    """
    if not layers:
        raise ValueError("layers must hold at least one Dense layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            raise ValueError(f"layers[{i}] must be a Dense layer, got {type(layer).__name__}")
    W = np.eye(layers[0].in_features)
    b = np.zeros(layers[0].in_features)
    for layer in layers:
        W = W @ layer.params["W"]
        b = b @ layer.params["W"] + (layer.params["b"] if "b" in layer.params else 0.0)
    return W, b


def train_linear_model(X, y, rng: np.random.Generator, *, lr: float = 0.5, epochs: int = 2000):
    """Logistic regression (one Dense(2, 1), sigmoid fused into the loss) trained by full-batch
    gradient descent. Returns ``(model, history)``; ``model.forward`` gives logits.

    On XOR the cross-entropy is convex in (w, b) with its minimum at w = 0, b = 0 (by the symmetry of
    the four points), so training drives every output towards 0.5: a line cannot do better than chance
    under this loss.
    """
    check_generator("rng", rng)
    X = _check_points(X)
    model = Sequential(Dense(2, 1, rng, init="xavier_normal", dtype=np.float64))
    history = fit(model, X, np.asarray(y), loss_fn=binary_cross_entropy_with_logits,
                  optimizer=SGD(model, lr=lr), epochs=epochs, rng=rng, batch_size=None)
    return model, history


def linear_accuracy(model: Sequential, X, y) -> float:
    """Accuracy of a logit model, predicting 1 where σ(z) rounded to 6 decimals is > 0.5.

    The rounding matters on XOR: trained logistic regression ends with every σ(z) = 0.5 up to about
    1e-16, and the sign of that noise would otherwise decide the "prediction". A tie is class 0.
    """
    p = activations.sigmoid(model.forward(_check_points(X))[:, 0])
    return float(np.mean((np.round(p, 6) > 0.5).astype(np.int64) == np.asarray(y)))


def activation_properties(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 1201) -> dict[str, float]:
    """Numbers that describe an activation, computed (not looked up):

    - on a grid over [lo, hi]: ``min``/``max`` of f, ``f(0)``, ``f'(0)``, the largest ``f'``, and
      ``f'(lo)``/``f'(hi)`` (near 0 at an end means the unit saturates there);
    - for an input x ~ N(0, 1), by numerical integration over [-8, 8]: ``mean`` and ``var`` of f(x).
      ``zero_centred`` means |mean| < 0.01: the next layer then sees inputs of both signs, centred on 0.
    """
    check_choice("name", name, activations.ACTIVATIONS)
    f, df = activations.ACTIVATIONS[name]
    x = np.linspace(lo, hi, n)
    fx, dfx = np.asarray(f(x), dtype=float), np.asarray(df(x), dtype=float)
    g = np.linspace(-8.0, 8.0, 4001)
    phi = np.exp(-g * g / 2) / np.sqrt(2 * np.pi)
    fg = np.asarray(f(g), dtype=float)
    mean = float(np.trapezoid(fg * phi, g))
    var = float(np.trapezoid((fg - mean) ** 2 * phi, g))
    return {
        "min": float(fx.min()), "max": float(fx.max()), "f(0)": float(f(np.array(0.0))),
        "f'(0)": float(df(np.array(0.0))), "max f'": float(dfx.max()), "f'(lo)": float(dfx[0]),
        "f'(hi)": float(dfx[-1]), "mean": mean, "var": var, "zero_centred": bool(abs(mean) < 0.01),
    }


def boundary_crossing(net: Sequential, tol: float = 1e-10) -> float | None:
    """Where the network's boundary ŷ = 0.5 crosses the edge x₂ = 0 between (0, 0) and (1, 0): the x₁
    found by bisection, or None when ŷ does not pass 0.5 on that edge (no boundary there at all)."""
    f = lambda t: float(net.forward(np.array([[t, 0.0]]))[0, 0]) - 0.5
    lo, hi = 0.0, 1.0
    if not f(lo) < 0 < f(hi):
        return None
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


#: The hand-set weights of the original repository's ``create_xor_network`` (sigmoid 2-2-1), for the
#: deep-dive's comparison: the same OR / AND / "OR and not AND" pattern with smaller, uneven weights.
ORIGINAL_REPO_WEIGHTS = {
    "W1": np.array([[3.5, 3.5], [3.5, 3.5]]), "b1": np.array([-1.5, -5.0]),
    "W2": np.array([[4.0], [-4.0]]), "b2": np.array([-2.0]),
}


def network_from(weights: dict) -> Sequential:
    """The 2-2-1 sigmoid network with the given ``{"W1", "b1", "W2", "b2"}`` (float64)."""
    net = Sequential(Dense(2, 2, init="zeros", dtype=np.float64), Sigmoid(),
                     Dense(2, 1, init="zeros", dtype=np.float64), Sigmoid())
    for layer, name in ((net[0], "1"), (net[2], "2")):
        layer.params["W"][...] = weights["W" + name]
        layer.params["b"][...] = weights["b" + name]
    return net


# --- the measured tables of README.md and MLP_DEEP_DIVE.md (python -m tests.regenerate_doc_tables 02) ---
SCALES = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
ACTIVATION_TABLE = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu")


def _num(v, digits: int = 4) -> str:
    """A table number: rounded to ``digits`` decimals, no trailing zeros, a typographic minus."""
    v = round(float(v), digits) + 0.0
    return f"{v:.{digits}f}".rstrip("0").rstrip(".").replace("-", "−") if v else "0"


def _fixed(v, digits: int = 4) -> str:
    """Rounded to ``digits`` decimals, trailing zeros kept (0.0000 says "below 0.00005")."""
    return f"{round(float(v), digits) + 0.0:.{digits}f}".replace("-", "−")


def _tuple(values, fmt=_num) -> str:
    return "(" + ", ".join(fmt(v) for v in values) + ")"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def _xor():
    from common.datasets import xor
    return xor()


def smallest_confident_scale(step: float = 0.5, top: float = 20.0) -> float:
    """The smallest scale on a ``step`` grid where every 0-case output is < 0.1 and every 1-case > 0.9."""
    X, y = _xor()
    for s in np.arange(step, top + step / 2, step):
        out = xor_network(float(s)).forward(X)[:, 0]
        if out[y == 0].max() < 0.1 and out[y == 1].min() > 0.9:
            return float(s)
    raise ValueError(f"no scale up to {top} gives confident outputs")


@doc_table("MLP_DEEP_DIVE.md", "check: forward")
def table_forward() -> str:
    X, y = _xor()
    t = forward_trace(xor_network(), X)
    return _table(("x", "z⁽¹⁾", "h = σ(z⁽¹⁾)", "z⁽²⁾", "ŷ = σ(z⁽²⁾)", "XOR"),
                  [(_tuple(X[i]), _tuple(t["z1"][i]), _tuple(t["h"][i], _fixed), _fixed(t["z2"][i, 0]),
                    _fixed(t["out"][i, 0]), int(y[i])) for i in range(len(X))])


@doc_table("MLP_DEEP_DIVE.md", "check: scale")
def table_scale() -> str:
    X, y = _xor()
    rows = []
    for s in SCALES:
        net = xor_network(s)
        out = net.forward(X)[:, 0]
        cross = boundary_crossing(net)
        rows.append((_num(s), _fixed(out[y == 0].max()), _fixed(out[y == 1].min()),
                     f"{np.mean(predict(net, X) == y):.0%}", "none" if cross is None else _fixed(cross)))
    return _table(("s", "largest ŷ for a 0-case", "smallest ŷ for a 1-case", "accuracy",
                   "ŷ = 0.5 crosses x₂ = 0 at x₁"), rows)


@doc_table("MLP_DEEP_DIVE.md", "check: hidden")
def table_hidden() -> str:
    X, _ = _xor()
    h = hidden_representation(xor_network(), X)
    return _table(("x", "h"), [(_tuple(X[i]), _tuple(h[i], _fixed)) for i in range(len(X))])


@doc_table("MLP_DEEP_DIVE.md", "check: activations")
def table_activations() -> str:
    rows = []
    for name in ACTIVATION_TABLE:
        p = activation_properties(name)
        left, right = abs(p["f'(lo)"]) < 0.005, abs(p["f'(hi)"]) < 0.005
        sat = {(True, True): "both ends", (True, False): "left", (False, True): "right", (False, False): "no"}
        cell = sat[(left, right)] + (" (f′ = 0)" if left and not right and p["f'(lo)"] == 0 else "")
        rows.append((name, _num(p["f'(0)"]), _num(p["max f'"]), cell, _num(p["mean"])))
    return _table(("activation", "f′(0)", "largest f′", "saturates at", "mean of f(x), x ~ N(0, 1)"), rows)


@doc_table("README.md", "check: measured")
def table_readme() -> str:
    X, y = _xor()
    out = xor_network().forward(X)[:, 0]
    model, hist = train_linear_model(X, y, np.random.default_rng(0))
    return _table(("quantity", "value"), [
        ("outputs at the default scale 10, for (0,0), (0,1), (1,0), (1,1)", ", ".join(_fixed(v) for v in out)),
        ("smallest scale (0.5 steps) with every output < 0.1 or > 0.9", _num(smallest_confident_scale())),
        ("trained logistic regression on XOR (seed 0, 2000 epochs): final loss, accuracy",
         f"{_fixed(hist.train_loss[-1])}, {linear_accuracy(model, X, y):.0%}"),
        ("the original repository's hand-set weights: outputs for (0,0), (0,1), (1,0), (1,1)",
         ", ".join(_fixed(v) for v in network_from(ORIGINAL_REPO_WEIGHTS).forward(X)[:, 0])),
    ])


# --- the page's default actions (tests/benchmarks/bench_pages.py times them) -------------------------------
def _page_train_line() -> None:
    """'A line vs the MLP' with its defaults: logistic regression from seed 0, 2000 full-batch epochs."""
    from common.datasets import xor
    X, y = xor()
    train_linear_model(X, y, np.random.default_rng(0), epochs=2000)


def _page_output_plane() -> None:
    """The XOR solution tab's plane: the hand-set network at the default scale on a 150 × 150 grid."""
    g = np.linspace(-0.5, 1.5, 150)
    gx, gy = np.meshgrid(g, g)
    xor_network(DEFAULT_SCALE).forward(np.c_[gx.ravel(), gy.ravel()])


PAGE_ACTIONS = {"train the line (seed 0, 2000 epochs)": _page_train_line,
                "output plane at the default scale": _page_output_plane}
