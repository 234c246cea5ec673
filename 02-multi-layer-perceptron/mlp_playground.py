"""Playground for chapter 02: a hidden layer that turns XOR into a problem one line can solve.

    streamlit run 02-multi-layer-perceptron/mlp_playground.py      (or open it from the hub: streamlit run app.py)
"""

from common import plots
import time

import numpy as np
import streamlit as st

import mlp
from common import activations, playground
from common.datasets import xor
from common.plots import color, fmt_num, fmt_pct, new_figure

playground.chapter_header(
    2, "Two hidden sigmoid units compute OR and AND; the output unit computes *OR and not AND*, which is XOR. "
       "Every number on this page is computed by the network built from `common` layers.")

X, y = xor()
ACT_NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]
# One dict of session state and "ch02_"-prefixed widget keys: the hub runs every page in one session.
page = playground.PageState("ch02", linear_key=None, linear_model=None, linear_history=None)


def nums(values) -> list[str]:
    return [fmt_num(float(v)) for v in values]


with st.sidebar:
    st.header("Controls")
    scale = st.slider("Weight scale s", 0.5, 20.0, mlp.DEFAULT_SCALE, 0.5, key=page.key("scale"),
                      help="Every weight and bias is the hand-set pattern times s. Large s: each sigmoid is "
                           "nearly a step and the outputs approach 0 and 1. Small s: the boundary blurs and "
                           "the outputs drift towards 0.5.")
    st.caption("The linear model's settings and the activations to plot live in their own tabs.")

net = mlp.xor_network(scale)
trace = mlp.forward_trace(net, X)
out = trace["out"][:, 0]
pred = (out > 0.5).astype(int)
W2, b2 = net[2].params["W"][:, 0], float(net[2].params["b"][0])


png, legend_below = plots.figure_png, plots.legend_below


def output_range(predict, padding: float = 0.5, resolution: int = 150) -> tuple[float, float]:
    """The smallest and largest ŷ on the grid ``plots.regions_spec`` shades (the data's box ± padding)."""
    lo, hi = X.min() - padding, X.max() + padding
    gx, gy = np.meshgrid(np.linspace(lo, hi, resolution), np.linspace(lo, hi, resolution))
    z = predict(np.c_[gx.ravel(), gy.ravel()])
    return float(z.min()), float(z.max())


def regions_chart(predict, title: str, resolution: int, colorbar: bool) -> tuple[dict, tuple[float, float]]:
    """ŷ over the plane on the fixed 0–1 colour scale, the ŷ = 0.5 line only where ŷ crosses 0.5 (the title
    says which), the classes' legend under the plot: a Vega-Lite spec the browser draws
    (``plots.regions_spec``; a Matplotlib figure took 0.4–0.6 s for each new scale on the 2-core machine).
    Returns the spec and ŷ's range on the plot."""
    lo, hi = output_range(predict, resolution=resolution)
    has_line = lo < 0.5 < hi
    spread = f"ŷ = {fmt_num(lo)} everywhere" if fmt_num(lo) == fmt_num(hi) else f"ŷ stays in {fmt_num(lo)}–{fmt_num(hi)}"
    title = [title + "; black line: ŷ = 0.5"] if has_line else [title, f"no ŷ = 0.5 line: {spread}"]
    spec = plots.regions_spec(predict, X, y, resolution=resolution, title=title, colorbar=colorbar)
    return spec, (lo, hi)


@st.cache_data(max_entries=64, show_spinner=False)
def mlp_chart(scale: float, resolution: int, colorbar: bool, title: str) -> tuple[dict, tuple[float, float]]:
    return regions_chart(lambda P: mlp.xor_network(scale).forward(P)[:, 0], title, resolution, colorbar)


@st.cache_resource(max_entries=32, show_spinner=False)
def linear_model(seed: int, epochs: int):
    """The logistic regression trained once per setting (``common.fit``) and shared read-only (a Layer does not
    pickle); returns (model, history, seconds it took)."""
    t0 = time.perf_counter()
    model, hist = mlp.train_linear_model(X, y, np.random.default_rng(seed), epochs=epochs)
    return model, hist, time.perf_counter() - t0


tab_sol, tab_hidden, tab_diagram, tab_line, tab_act = st.tabs(
    ["XOR solution", "Hidden space", "Network diagram", "A line vs the MLP", "Activation explorer"],
    key=page.key("tab"), on_change="rerun")
# Only the open tab runs (on_change="rerun"), so a page with many figures stays quick.

if tab_sol.open:
    with tab_sol:
        c1, c2, c3 = st.columns(3)
        c1.metric("Accuracy", fmt_pct(np.mean(pred == y), 0))
        c2.metric("Largest output for a 0-case", fmt_num(out[y == 0].max()))
        c3.metric("Smallest output for a 1-case", fmt_num(out[y == 1].min()))
        left, right = st.columns([1, 1])
        with left:
            st.dataframe({"x₁": X[:, 0].astype(int), "x₂": X[:, 1].astype(int),
                          "h₁ (OR)": nums(trace["h"][:, 0]), "h₂ (AND)": nums(trace["h"][:, 1]),
                          "ŷ": nums(out), "target": y, "prediction": pred}, hide_index=True)
            st.latex(rf"h_1 = \sigma({scale:g}x_1 + {scale:g}x_2 - {0.5 * scale:g})")
            st.latex(rf"h_2 = \sigma({scale:g}x_1 + {scale:g}x_2 - {1.5 * scale:g})")
            st.latex(rf"\hat y = \sigma({scale:g}h_1 - {scale:g}h_2 - {0.5 * scale:g})")
            st.caption("What to try: slide s down to 1 and notice the outputs drift to about 0.43: the ranking "
                       "is still right but no output crosses 0.5, so the black ŷ = 0.5 line disappears. Slide it "
                       "up to 20 and they come within 5·10⁻⁵ of 0 and 1.")
        with right:
            spec, (lo, hi) = mlp_chart(float(scale), 150, True, f"MLP output ŷ (scale {scale:g})")
            st.vega_lite_chart(spec, width="stretch")
            cross = mlp.boundary_crossing(net)
            st.caption("The colour scale is fixed at 0–1 (white = 0.5), so a pale plot means ŷ near 0.5. "
                       + (f"No ŷ = 0.5 line anywhere on this plot: ŷ stays between {fmt_num(lo)} and {fmt_num(hi)}."
                          if not lo < 0.5 < hi else
                          "No ŷ = 0.5 boundary on the edge from (0, 0) to (1, 0): no output there reaches 0.5."
                          if cross is None else
                          f"On the edge from (0, 0) to (1, 0) the boundary ŷ = 0.5 sits at x₁ = {fmt_num(cross, 4)} "
                          "(each unit's own line stays at x₁ + x₂ = 0.5 and 1.5 at every scale)."))


@st.cache_data(max_entries=64, show_spinner=False)
def hidden_chart(scale: float) -> dict:
    """The four points in input space and in hidden space with the output unit's boundary: a Vega-Lite spec
    (pure in the scale: cached; a Matplotlib figure took ~0.5 s for each new scale)."""
    net = mlp.xor_network(scale)
    trace = mlp.forward_trace(net, X)
    W2, b2 = net[2].params["W"][:, 0], float(net[2].params["b"][0])
    lim = [-0.2, 1.3]

    def panel(pts, title, xlabel, ylabel, boundary=False):
        labels_at = {}          # points that land on the same spot share one label
        for (px, py), (a, b) in zip(pts, X.astype(int)):
            labels_at.setdefault((round(float(px), 3), round(float(py), 3)), []).append(f"({a},{b})")
        texts = [{"x": px, "y": py, "t": " = ".join(names), "right": px > 0.9} for (px, py), names in labels_at.items()]
        axis = lambda t: {"field": "x" if t == "x" else "y", "type": "quantitative",            # noqa: E731
                          "scale": {"domain": lim, "nice": False}, "title": xlabel if t == "x" else ylabel}
        layers = []
        if boundary:            # the output unit's boundary: W2[0] h1 + W2[1] h2 + b2 = 0
            layers.append({"data": {"values": [{"x": h, "y": -(W2[0] * h + b2) / W2[1]} for h in lim]},
                           "mark": {"type": "line", "color": color("boundary"), "strokeWidth": 2, "clip": True},
                           "encoding": {"x": axis("x"), "y": axis("y")}})
        layers.append({"data": {"values": [{"x": float(a), "y": float(b), "class": f"XOR = {c}"}
                                           for (a, b), c in zip(pts, y)]},
                       "mark": {"type": "point", "filled": True, "size": 150, "stroke": "black", "strokeWidth": 1,
                                "opacity": 1},
                       "encoding": {"x": axis("x"), "y": axis("y"), "fill": {
                           "field": "class", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
                           "scale": {"domain": ["XOR = 0", "XOR = 1"], "range": [color("class 0"), color("class 1")]}}}})
        for right in (False, True):     # labels of points at the right edge go to their left, inside the axes
            layers.append({"data": {"values": [t for t in texts if t["right"] == right]},
                           "mark": {"type": "text", "align": "right" if right else "left", "dx": -8 if right else 8,
                                    "dy": 12, "fontSize": 11},
                           "encoding": {"x": axis("x"), "y": axis("y"), "text": {"field": "t"}}})
        return {"layer": layers, "width": 260, "height": 240, "title": {"text": title, "fontSize": 12}}

    return {"hconcat": [
        panel(X, "input space (x₁, x₂): no line works", "x₁", "x₂"),
        panel(trace["h"], "hidden space (h₁, h₂): one line works", "h₁ (OR)", "h₂ (AND)", boundary=True)],
        "resolve": {"scale": {"fill": "shared"}}}


if tab_hidden.open:
    with tab_hidden:
        st.markdown("The output unit never sees x. It sees **(h₁, h₂)**, where the four points sit differently: "
                    "(0,1) and (1,0) land on the same spot, and one straight line separates the classes.")
        st.vega_lite_chart(hidden_chart(float(scale)), width="content")
        st.latex(rf"\text{{output boundary: }} {W2[0]:g}\,h_1 {W2[1]:+g}\,h_2 {b2:+g} = 0")
        st.caption("Black line: the output unit's boundary. In hidden space it is h₁ − h₂ = 0.5 at every scale; what the scale changes is "
                   "where the points sit (closer to the corners as s grows).")


@st.cache_data(max_entries=64, show_spinner=False)
def diagram_png(scale: float) -> bytes:
    """The 2-2-1 network drawn with its real weights at this scale, as PNG bytes (pure: cached)."""
    net = mlp.xor_network(scale)
    W2, b2 = net[2].params["W"][:, 0], float(net[2].params["b"][0])
    fig, ax = new_figure(size=(8, 4.5))
    pos = {"x1": (0, 0.8), "x2": (0, 0.2), "h1": (1, 0.8), "h2": (1, 0.2), "y": (2, 0.5)}
    W1, b1 = net[0].params["W"], net[0].params["b"]
    edges = [("x1", "h1", W1[0, 0]), ("x2", "h1", W1[1, 0]), ("x1", "h2", W1[0, 1]), ("x2", "h2", W1[1, 1]),
             ("h1", "y", W2[0]), ("h2", "y", W2[1])]
    for a, b, w in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa, xb], [ya, yb], "-", color=color("negative weight" if w < 0 else "positive weight"),
                lw=1 + abs(w) / max(scale, 1))
        t = 0.3 if a.startswith("x") else 0.5
        ax.text(xa + t * (xb - xa), ya + t * (yb - ya) + 0.03, f"{w:g}", fontsize=11, ha="center",
                bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    labels = {"x1": "x₁", "x2": "x₂", "h1": f"h₁ (OR)\nb = {b1[0]:g}", "h2": f"h₂ (AND)\nb = {b1[1]:g}",
              "y": f"ŷ (XOR)\nb = {b2:g}"}
    for k, (px, py) in pos.items():
        ax.scatter([px], [py], s=3000, c="white", edgecolors="k", zorder=3)
        ax.text(px, py, labels[k], ha="center", va="center", fontsize=9, zorder=4)
    ax.set_xlim(-0.3, 2.3)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(f"2-2-1 network with its real weights (scale {scale:g}); blue > 0, red < 0")
    return png(fig)


if tab_diagram.open:
    with tab_diagram:
        st.image(diagram_png(float(scale)))
        st.caption(f"{net.num_params()} parameters: 4 + 2 weights and 3 biases. Built as "
                   f"`{net!r}` from `common` layers.")


@st.cache_data(max_entries=32, show_spinner=False)
def line_chart(seed: int, epochs: int) -> dict:
    """The trained line's ŷ over the plane, drawn once per (seed, epochs) like the line itself.
    Rounded to 6 decimals as linear_accuracy does: the trained line's 0.5 ± 1e-16 is a tie, not a
    boundary, and round-off noise must not draw one."""
    model = linear_model(seed, epochs)[0]
    return regions_chart(lambda P: np.round(activations.sigmoid(model.forward(P)[:, 0]), 6),
                         f"logistic regression after {epochs} epochs", 100, False)[0]


@st.fragment
def line_vs_mlp():
    """The tab's own controls rerun only this fragment (and train the line, once per setting)."""
    c_seed, c_epochs, _ = st.columns([1, 1, 2])
    lin_seed = c_seed.number_input("Seed of the line's initial weights", 0, 10_000, 0, key=page.key("lin_seed"),
                                   help="Any start ends in the same place: the loss of a line on XOR has one "
                                        "minimum.")
    lin_epochs = c_epochs.select_slider("The line's training epochs", [10, 100, 500, 2000], value=2000,
                                        key=page.key("lin_epochs"))
    lin_model, lin_hist, lin_seconds = linear_model(int(lin_seed), int(lin_epochs))
    page.update(linear_key=(int(lin_seed), int(lin_epochs)), linear_model=lin_model, linear_history=lin_hist,
                linear_seconds=lin_seconds)
    lin_acc = mlp.linear_accuracy(lin_model, X, y)
    lin_p = activations.sigmoid(lin_model.forward(X)[:, 0])
    c1, c2, c3 = st.columns(3)
    c1.metric("Linear model accuracy", fmt_pct(lin_acc, 0))
    c2.metric("MLP accuracy", fmt_pct(np.mean(pred == y), 0))
    c3.metric("Linear model final loss", fmt_num(lin_hist.train_loss[-1], 4))
    if lin_seconds > 0.5:
        playground.took(lin_seconds, f"Training the line ({lin_epochs} epochs)")
    left, right = st.columns(2)
    with left:
        st.vega_lite_chart(line_chart(int(lin_seed), int(lin_epochs)), width="stretch")
        W = lin_model[0].params["W"][:, 0]
        st.dataframe({"x₁": X[:, 0].astype(int), "x₂": X[:, 1].astype(int), "σ(w·x + b)": nums(lin_p),
                      "target": y}, hide_index=True)
        st.caption(f"Learned w = ({fmt_num(W[0])}, {fmt_num(W[1])}), "
                   f"b = {fmt_num(float(lin_model[0].params['b'][0]))}. "
                   "A line trained with cross-entropy on XOR heads for w = 0, b = 0 (the loss's only minimum, "
                   "by the symmetry of the four points): it ends up answering 0.5 for every input (loss ln 2 ≈ "
                   "0.6931). A tie counts as class 0 here, so at the end it gets exactly the two 0-cases.")
    with right:
        st.vega_lite_chart(mlp_chart(float(scale), 100, False, f"hand-set MLP (scale {scale:g})")[0], width="stretch")
        st.caption("What to try: fewer epochs or another seed; the line still cannot separate XOR.")


if tab_line.open:
    with tab_line:
        line_vs_mlp()


@st.cache_data(max_entries=64, show_spinner=False)
def activations_png(acts: tuple[str, ...]) -> bytes:
    """The chosen activations and their derivatives (pure in ``acts``, so cached)."""
    xs = np.linspace(-5, 5, 401)
    fig, (ax_f, ax_d) = new_figure(1, 2, size=(5, 3.5))
    for name in acts:
        f, df = activations.ACTIVATIONS[name]
        ax_f.plot(xs, f(xs), color=color(name), label=name)
        ax_d.plot(xs, df(xs), color=color(name), label=name)
    for ax, t in ((ax_f, "f(x)"), (ax_d, "f′(x)")):
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3)
        ax.set_title(t)
    ax_f.legend()
    legend_below(fig)
    return png(fig)


@st.fragment
def activation_explorer():
    """The multiselect reruns only this fragment."""
    acts = st.multiselect("Activations to explore", ACT_NAMES, default=["sigmoid", "tanh", "relu"],
                          key=page.key("acts"), help="Plotted with their derivatives, and their properties in "
                                                      "the table below.")
    if not acts:
        st.info("Pick at least one activation above.")
    else:
        st.image(activations_png(tuple(acts)))
        rows = []
        for name in acts:
            p = mlp.activation_properties(name)
            sat = [side for side, key in (("left", "f'(lo)"), ("right", "f'(hi)")) if abs(p[key]) < 0.005]
            rows.append({"activation": name, "min on [-6, 6]": fmt_num(p["min"]), "max on [-6, 6]": fmt_num(p["max"]),
                         "f(0)": fmt_num(p["f(0)"]), "f′(0)": fmt_num(p["f'(0)"]),
                         "largest f′": fmt_num(p["max f'"]),
                         "saturates (f′ < 0.005 at ±6)": ", ".join(sat) or "no",
                         "mean of f(x), x ~ N(0,1)": fmt_num(p["mean"]),
                         "zero-centred": "yes" if p["zero_centred"] else "no"})
        st.dataframe(rows, hide_index=True)
        st.caption("Notice: sigmoid's derivative never exceeds 0.25, so each sigmoid layer scales a gradient "
                   "by at most 0.25 before the weights act on it (chapter 03 measures what that does to deep "
                   "nets); tanh is sigmoid stretched and zero-centred (mean output 0 for a standard normal "
                   "input, where sigmoid's is 0.5 and ReLU's 0.399); ReLU does not saturate for x > 0 but its "
                   "gradient is exactly 0 for x < 0.")


if tab_act.open:
    with tab_act:
        activation_explorer()
