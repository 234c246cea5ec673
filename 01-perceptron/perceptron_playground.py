"""Playground for chapter 01: watch the perceptron rule move a line after each mistake.

    streamlit run 01-perceptron/perceptron_playground.py      (or open it from the hub: streamlit run app.py)
"""

import time

import numpy as np
import streamlit as st
from matplotlib.ticker import MaxNLocator

import perceptron as pc
from common import playground, plots
from common.datasets import linearly_separable, logic_gate, non_separable
from common.plots import color, fmt_num, fmt_pct, new_figure

playground.chapter_header(
    1, "A perceptron draws one straight line and moves it each time it misclassifies a point. "
       "Pick a data set, train, then replay the updates one by one.")

GATES = ["AND", "OR", "NAND", "NOR", "XOR"]
DATASETS = GATES + ["random separable", "random non-separable"]
# One dict of session state and "ch01_"-prefixed widget keys: the hub runs every page in one session.
page = playground.PageState("ch01", draw=0, model=None, replay_run=None, playing=False)
PLAY_SECONDS = 0.8     # autoplay: one update per this many seconds


@st.cache_data
def load(name: str, draw: int):
    """The data set; ``draw`` numbers the random draws (the 'New random draw' button moves it on)."""
    if name in GATES:
        return logic_gate(name)
    rng = np.random.default_rng(draw)
    if name == "random separable":
        return linearly_separable(40, rng, margin=0.15)
    return non_separable(40, rng, flip=0.1)


@st.cache_resource(max_entries=64, show_spinner=False)
def train(name: str, draw: int, lr: float, max_epochs: int) -> pc.Perceptron:
    """The perceptron trained on a data set: pure in its arguments, so a control that only redraws reuses it.

    ``cache_resource`` (shared, not copied), since a Layer does not pickle: the page only reads the trained
    model, and fitting it again would give the same one."""
    X, y = load(name, draw)
    return pc.Perceptron(n_features=2, lr=lr, max_epochs=max_epochs).fit(X, y)


def num(v) -> str:
    """A weight or a coordinate: whole numbers as integers, others to 3 significant digits."""
    v = float(v)
    return fmt_num(int(v)) if v.is_integer() else fmt_num(v)


def point(values) -> str:
    return "(" + ", ".join(num(v) for v in values) + ")"


# --- sidebar -------------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Controls")
    dataset = st.selectbox("Data set", DATASETS, index=0, key=page.key("dataset"),
                           help="Logic gates have four points. The random sets have 40: one separable by a "
                                "line, one with 10% of its labels flipped so that no line separates it.")
    if st.button("New random draw", key=page.button_key("redraw"), help="Draw new points for the random data sets."):
        page["draw"] += 1
    lr = st.select_slider("Learning rate η", options=list(pc.PAGE_LEARNING_RATES), value=1.0, key=page.key("lr"),
                          help="How far each mistake moves the weights. From zero weights every update is a "
                               "multiple of η, so in exact arithmetic the mistakes are the same and the line's "
                               "numbers just scale. 0.1 and 0.01 are not exact in binary: on NAND, η = 0.1 "
                               "takes 8 updates instead of 11 and ends on another line. The Result tab says "
                               "whether this run is the η = 1 run rescaled.")
    max_epochs = st.slider("Max epochs", 1, 200, 50, key=page.key("max_epochs"),
                           help="Passes over the data. Training stops early after an epoch without mistakes.")
    st.caption(f"Random draw #{page['draw']}")

X, y = load(dataset, page["draw"])
t0 = time.perf_counter()
model = train(dataset, page["draw"], lr, max_epochs)
train_seconds = time.perf_counter() - t0
page["model"] = model       # the trained model, kept for the tests and for a look from a debugger
acc_digits = 0 if 100 % len(X) == 0 else 1      # 4 points: 25% steps; 40 points: 2.5% steps


def where_caption(where: str, nearest, w, b) -> str:
    """Where the line is when the picture cannot show it plainly."""
    if where == "none":
        return (f"w = 0: there is no line yet. Every point scores z = b = {num(b)} and is predicted "
                f"{int(pc.step(np.array([b]))[0])}, so the whole plane is one colour.")
    if where == "widened":
        return (f"The view is widened to show the line: it passes outside the data, nearest their centre at "
                f"{point(nearest)}, so every point is on one side.")
    if where == "outside":
        side = int(pc.step(np.array([X.mean(axis=0) @ np.asarray(w) + b]))[0])
        return (f"The line is far off the view (nearest the data's centre at {point(nearest)}): every point is on "
                f"its class-{side} side, so the whole picture is one colour.")
    return ""


@st.cache_data(max_entries=512, show_spinner=False)
def state_chart(name: str, draw: int, w: tuple, b: float, title: str, highlight: tuple | None):
    """The plane shaded by the perceptron (w, b) with the data, as a Vega-Lite spec the browser draws, and
    where the line is. The shading is one small image (``plots.image_layer``); the line, the points and the
    ringed mistake are marks on the same axes. A Matplotlib picture cost ~0.4 s the first time each update
    of a replay was shown. Pure in its arguments, so it is cached: stepping back and forth draws each state once."""
    Xd, yd = load(name, draw)
    w = np.asarray(w, dtype=float)
    xlim, ylim, where, nearest = pc.line_view(Xd, w, b)
    n = 200
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    gx, gy = np.meshgrid(xs, ys)
    z = pc.step(np.c_[gx.ravel(), gy.ravel()] @ w + b).reshape(gx.shape).astype(int)
    shades = plots.over_white(np.stack([plots.rgb255(color(f"class {c}")) for c in (0, 1)]), 0.25)
    rgb = shades[z][::-1]                                  # the image's first row is drawn at the top: y = ylim[1]
    hx, hy = (xlim[1] - xlim[0]) / (n - 1) / 2, (ylim[1] - ylim[0]) / (n - 1) / 2
    layers = [plots.image_layer(plots.png_data_url(rgb), (xlim[0] - hx, xlim[1] + hx, ylim[0] - hy, ylim[1] + hy),
                                xlabel="x₁", ylabel="x₂")]
    enc = layers[0]["encoding"]
    enc["x"]["scale"]["domain"], enc["y"]["scale"]["domain"] = [float(v) for v in xlim], [float(v) for v in ylim]
    layers[0]["mark"]["clip"] = True
    line = pc.boundary_points(w, b, xlim=xlim)
    names = (["w·x + b = 0"] if line is not None else []) + ["class 0", "class 1"] \
        + (["the mistake"] if highlight is not None else [])
    colours = {"w·x + b = 0": color("boundary"), "class 0": color("class 0"), "class 1": color("class 1"),
               "the mistake": color("mistake")}
    legend = {"field": "shown", "type": "nominal", "title": None, "legend": {"orient": "right"},
              "scale": {"domain": names, "range": [colours[k] for k in names]}}
    xy = {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}
    if line is not None:
        layers.append({"data": {"values": [{"x": float(a), "y": float(c), "shown": "w·x + b = 0"} for a, c in zip(*line)]},
                       "mark": {"type": "line", "strokeWidth": 2, "clip": True}, "encoding": {**xy, "color": legend}})
    layers.append({"data": {"values": [{"x": float(a), "y": float(c), "shown": f"class {int(k)}"}
                                       for (a, c), k in zip(Xd, yd)]},
                   "mark": {"type": "point", "filled": True, "size": 90, "stroke": "black", "strokeWidth": 1,
                            "opacity": 1, "clip": True},
                   "encoding": {**xy, "color": legend}})
    if highlight is not None:
        layers.append({"data": {"values": [{"x": float(highlight[0]), "y": float(highlight[1]), "shown": "the mistake"}]},
                       "mark": {"type": "point", "filled": False, "size": 500, "strokeWidth": 3, "opacity": 1},
                       "encoding": {**xy, "color": legend}})
    spec = {"width": 440, "height": 330, "layer": layers, "title": {"text": title, "fontSize": 13}}
    return spec, where, None if nearest is None else tuple(nearest)


def plot_state(w, b, title, highlight=None):
    """Show the state (w, b) and, under it, where its line is when the picture cannot show it plainly."""
    spec, where, nearest = state_chart(dataset, page["draw"], tuple(float(v) for v in w), float(b), title,
                                       None if highlight is None else tuple(float(v) for v in highlight))
    st.vega_lite_chart(spec, width=560)
    note = where_caption(where, nearest, w, b)
    if note:
        st.caption(note)


tab_train, tab_replay, tab_errors, tab_gates = st.tabs(
    ["Result", "Replay the updates", "Errors per epoch", "All gates: who converges?"], key=page.key("tab"),
    on_change="rerun")
# Only the open tab runs (on_change="rerun"), so a page with many figures stays quick.

if tab_train.open:
    with tab_train:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Accuracy", fmt_pct(model.score(X, y), acc_digits))
        c2.metric("Epochs run", model.epochs_run)
        c3.metric("Updates (mistakes)", len(model.updates))
        c4.metric("Converged", "yes" if model.converged else "no")
        st.markdown("**The learned boundary** (class 1 where the left side is > 0):")
        st.latex(model.boundary_equation())
        left, right = st.columns([3, 2])
        with left:
            plot_state(model.w, model.b, f"after {len(model.updates)} updates")
        with right:
            z = model.decision_function(X)
            if len(X) <= 8:
                st.dataframe({"x₁": [num(v) for v in X[:, 0]], "x₂": [num(v) for v in X[:, 1]],
                              "z = w·x + b": [num(v) for v in z], "prediction": model.predict(X), "label": y},
                             hide_index=True)
            if dataset == "XOR":
                st.error(f"XOR never reaches zero errors: after {model.epochs_run} epochs the last epoch still had "
                         f"{model.errors_per_epoch[-1]} mistakes (fewest in any epoch: {min(model.errors_per_epoch)}). "
                         "No line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the other, so every "
                         "update that fixes one point breaks another; the weights cycle forever.")
            elif model.converged:
                st.success(f"Converged: epoch {model.epochs_run} had no mistakes, after {len(model.updates)} updates.")
            else:
                st.warning(f"Not converged in {model.epochs_run} epochs: the last epoch had "
                           f"{model.errors_per_epoch[-1]} mistakes. "
                           + ("These labels are not linearly separable, so it never will."
                              if dataset == "random non-separable" else "Try more epochs."))
            if lr != 1.0:
                ref = pc.Perceptron(n_features=2, lr=1.0, max_epochs=max_epochs).fit(X, y)
                if pc.same_run_as_unit_lr(X, y, lr, max_epochs):
                    st.info(f"η = {lr:g} makes exactly the mistakes of η = 1 ({len(ref.updates)} updates), and its "
                            f"line is the η = 1 line with every number times {lr:g}.")
                else:
                    st.info(f"η = {lr:g} does **not** repeat the η = 1 run: {len(model.updates)} updates instead "
                            f"of {len(ref.updates)}, ending on another line. {lr:g} has no exact binary form, and a "
                            "point lying exactly on the line (z = 0) landed on the other side by rounding.")
        st.caption("What to try: AND, OR, NAND converge in a handful of updates; XOR never does. Change η: the "
                   "line's numbers scale and, except for NAND at η = 0.1, the mistakes stay the same.")

if tab_replay.open:
    with tab_replay:
        n_updates = len(model.updates)
        k_key = page.key("replay_k")
        if n_updates == 0:
            st.info("No mistakes, no updates: the initial weights already classify everything.")
        else:
            run = (dataset, page["draw"], float(lr), int(max_epochs))
            if page["replay_run"] != run or k_key not in st.session_state:     # a new run starts its replay
                st.session_state[k_key] = n_updates if n_updates < 3 else 1
                page.update(replay_run=run, playing=False)
            st.session_state[k_key] = min(int(st.session_state[k_key]), n_updates)

            def toggle_play():
                page["playing"] = not page["playing"]
                if page["playing"] and st.session_state[k_key] >= n_updates:    # play again from the start
                    st.session_state[k_key] = 0

            def step_by(d: int):
                st.session_state[k_key] = int(np.clip(st.session_state[k_key] + d, 0, n_updates))

            timer_on = page["playing"]

            # Every control here reruns only this fragment, which draws from the cache; Play and Pause rerun the
            # page once more, to start or stop the fragment's timer.
            @st.fragment(run_every=PLAY_SECONDS if timer_on else None)
            def replay():
                if page["playing"] != timer_on:                   # Play or Pause was pressed: (re)set the timer
                    st.rerun()
                if page["playing"]:
                    step_by(+1)
                    if st.session_state[k_key] >= n_updates:       # the end: stop the timer (a full rerun)
                        page["playing"] = False
                        st.rerun()
                play, back, fwd, _ = st.columns([1, 1, 1, 5])
                # Plain-text labels: an icon's name would become part of the button's text.
                play.button("Pause" if page["playing"] else "Play", key=page.button_key("play"), on_click=toggle_play,
                            help=f"Step through the updates by themselves, one every {PLAY_SECONDS:g} s.")
                # Never disabled (a button can vanish under the pointer while Play runs): they stop at the ends.
                back.button("◀ Back", key=page.button_key("replay_back"), on_click=step_by, args=(-1,),
                            help="The state before the previous update (stays at 0 at the start).")
                fwd.button("Next ▶", key=page.button_key("replay_next"), on_click=step_by, args=(+1,),
                           help="Apply the next update (stays at the last one at the end).")
                k = st.slider("Update number (0 = before training)", 0, n_updates, key=k_key,
                              help="Step through training: each update follows one mistake.")
                w_k, b_k = model.weight_history[k], model.bias_history[k]
                if k == 0:
                    st.markdown("**Before training**: all weights are 0, so every point scores 0 and is predicted 0.")
                    hl = None
                else:
                    u = model.updates[k - 1]
                    sign = "+" if u.y > u.y_hat else "−"
                    st.markdown(f"**Update {k}** (epoch {u.epoch}): sample {u.sample} at x = {point(u.x)} has label "
                                f"{u.y} but was predicted {u.y_hat}, so w ← w {sign} η·x and b ← b {sign} η.")
                    hl = u.x
                st.latex(pc.boundary_latex(w_k, b_k))
                plot_state(w_k, b_k, f"after update {k} of {n_updates}", highlight=hl)

            replay()
            rows = [{"update": u.number, "epoch": u.epoch, "sample": u.sample, "x": point(u.x), "label": u.y,
                     "predicted": u.y_hat, "w after": point(u.w), "b after": num(u.b)}
                    for u in model.updates[:200]]
            st.dataframe(rows, hide_index=True)
            st.caption("Notice: each update moves the line towards classifying the ringed point correctly; the "
                       "bias shifts it without turning it."
                       + (f" The table shows the first 200 of {n_updates} updates." if n_updates > 200 else ""))


@st.cache_data(max_entries=64, show_spinner=False)
def errors_png(name: str, draw: int, lr: float, max_epochs: int) -> bytes:
    m = train(name, draw, lr, max_epochs)
    fig, ax = new_figure(size=(6, 3))
    epochs = np.arange(1, m.epochs_run + 1)
    ax.bar(epochs, m.errors_per_epoch, color=color("mistake"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))      # epochs are whole numbers
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes in the epoch")
    ax.set_title(f"{name}: mistakes per epoch")
    return playground.figure_png(fig)


@st.cache_data(max_entries=32, show_spinner=False)
def gates_table(lr: float, max_epochs: int) -> list[dict]:
    rows = []
    for gate in GATES:
        Xg, yg = logic_gate(gate)
        pg = pc.Perceptron(lr=lr, max_epochs=max_epochs).fit(Xg, yg)
        rows.append({"gate": gate, "converged": "yes" if pg.converged else "no", "epochs": pg.epochs_run,
                     "updates": len(pg.updates), "errors in last epoch": pg.errors_per_epoch[-1],
                     "accuracy": fmt_pct(pg.score(Xg, yg), 0)})
    return rows


if tab_errors.open:
    with tab_errors:
        st.image(errors_png(dataset, page["draw"], lr, max_epochs))
        st.dataframe({"epoch": np.arange(1, model.epochs_run + 1), "errors": model.errors_per_epoch}, hide_index=True)

if tab_gates.open:
    with tab_gates:
        st.markdown(f"Every gate trained with the current settings (η = {lr:g}, at most {max_epochs} epochs):")
        st.dataframe(gates_table(float(lr), int(max_epochs)), hide_index=True)
        st.caption("XOR's row is the lesson of the next chapter: one line is not enough.")

if train_seconds > 0.5:
    playground.took(train_seconds, "Training")
