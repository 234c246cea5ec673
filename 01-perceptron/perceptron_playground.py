"""Playground for chapter 01: watch the perceptron rule move a line after each mistake.

    streamlit run 01-perceptron/perceptron_playground.py      (or open it from the hub: streamlit run app.py)
"""


import numpy as np
import streamlit as st

import perceptron as pc
from common import playground
from common.datasets import linearly_separable, logic_gate, non_separable
from common.plots import color, decision_regions, fmt_num, fmt_pct, new_figure

st.set_page_config(page_title="01 · Perceptron", layout="wide")
playground.chapter_header(
    1, "A perceptron draws one straight line and moves it each time it misclassifies a point. "
       "Pick a data set, train, then replay the updates one by one.")

GATES = ["AND", "OR", "NAND", "NOR", "XOR"]
DATASETS = GATES + ["random separable", "random non-separable"]
show = playground.show_figure
# One dict of session state and "ch01_"-prefixed widget keys: the hub runs every page in one session.
page = playground.PageState("ch01", draw=0, model=None)


@st.cache_data
def load(name: str, draw: int):
    """The data set; ``draw`` numbers the random draws (the 'New random draw' button moves it on)."""
    if name in GATES:
        return logic_gate(name)
    rng = np.random.default_rng(draw)
    if name == "random separable":
        return linearly_separable(40, rng, margin=0.15)
    return non_separable(40, rng, flip=0.1)


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
model = pc.Perceptron(n_features=2, lr=lr, max_epochs=max_epochs).fit(X, y)
page["model"] = model       # the trained model, kept for the tests and for a look from a debugger
acc_digits = 0 if 100 % len(X) == 0 else 1      # 4 points: 25% steps; 40 points: 2.5% steps

lo, hi = X.min() - 0.5, X.max() + 0.5


def plot_state(w, b, title, highlight=None):
    w = np.asarray(w, dtype=float)
    fig = decision_regions(lambda P: pc.step(P @ w + b).astype(float), X, y, title=title,
                           levels=[-0.5, 0.5, 1.5], resolution=100)
    ax = fig.axes[0]
    line = pc.boundary_points(w, b, xlim=(lo, hi))
    if line is not None:
        ax.plot(*line, "-", color=color("boundary"), lw=2)
        ax.set_xlim(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5)
        ax.set_ylim(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    if highlight is not None:
        ax.scatter([highlight[0]], [highlight[1]], s=300, facecolors="none", edgecolors=color("mistake"),
                   linewidths=3, label="the mistake")
        ax.legend(loc="best", fontsize=8)
    return fig


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
            show(plot_state(model.w, model.b, f"after {len(model.updates)} updates"))
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
        if n_updates == 0:
            st.info("No mistakes, no updates: the initial weights already classify everything.")
        else:
            k = st.slider("Update number (0 = before training)", 0, n_updates, n_updates if n_updates < 3 else 1,
                          key=page.key("replay_k"), help="Step through training: each update follows one mistake.")
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
            show(plot_state(w_k, b_k, f"after update {k} of {n_updates}", highlight=hl))
            rows = [{"update": u.number, "epoch": u.epoch, "sample": u.sample, "x": point(u.x), "label": u.y,
                     "predicted": u.y_hat, "w after": point(u.w), "b after": num(u.b)}
                    for u in model.updates[:200]]
            st.dataframe(rows, hide_index=True)
            st.caption("Notice: each update moves the line towards classifying the ringed point correctly; the "
                       "bias shifts it without turning it.")

if tab_errors.open:
    with tab_errors:
        fig, ax = new_figure(size=(6, 3))
        epochs = np.arange(1, model.epochs_run + 1)
        ax.bar(epochs, model.errors_per_epoch, color=color("mistake"))
        ax.set_xlabel("epoch")
        ax.set_ylabel("mistakes in the epoch")
        ax.set_title(f"{dataset}: mistakes per epoch")
        show(fig)
        st.dataframe({"epoch": epochs, "errors": model.errors_per_epoch}, hide_index=True)

if tab_gates.open:
    with tab_gates:
        st.markdown(f"Every gate trained with the current settings (η = {lr:g}, at most {max_epochs} epochs):")
        rows = []
        for gate in GATES:
            Xg, yg = logic_gate(gate)
            pg = pc.Perceptron(lr=lr, max_epochs=max_epochs).fit(Xg, yg)
            rows.append({"gate": gate, "converged": "yes" if pg.converged else "no", "epochs": pg.epochs_run,
                         "updates": len(pg.updates), "errors in last epoch": pg.errors_per_epoch[-1],
                         "accuracy": fmt_pct(pg.score(Xg, yg), 0)})
        st.dataframe(rows, hide_index=True)
        st.caption("XOR's row is the lesson of the next chapter: one line is not enough.")
