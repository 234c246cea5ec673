"""Playground for chapter 01: watch the perceptron rule move a line after each mistake.

    streamlit run 01-perceptron/perceptron_playground.py      (or open it from the hub: streamlit run app.py)
"""


import numpy as np
import streamlit as st

import perceptron as pc
from common import playground
from common.datasets import linearly_separable, logic_gate, non_separable
from common.plots import decision_regions, new_figure

st.set_page_config(page_title="01 · Perceptron", layout="wide")
playground.chapter_header(
    1, "A perceptron draws one straight line and moves it each time it misclassifies a point. "
       "Pick a data set, train, then replay the updates one by one.")

GATES = ["AND", "OR", "NAND", "NOR", "XOR"]
DATASETS = GATES + ["random separable", "random non-separable"]


show = playground.show_figure


@st.cache_data
def load(name: str, draw: int):
    """The data set; ``draw`` numbers the random draws (the 'New random draw' button moves it on)."""
    if name in GATES:
        return logic_gate(name)
    rng = np.random.default_rng(draw)
    if name == "random separable":
        return linearly_separable(40, rng, margin=0.15)
    return non_separable(40, rng, flip=0.1)


# Widget keys and session-state names carry a "ch01_" prefix: the hub runs every page in one session.
# --- sidebar -------------------------------------------------------------------------------------------
if "ch01_draw" not in st.session_state:
    st.session_state.ch01_draw = 0

with st.sidebar:
    st.header("Controls")
    dataset = st.selectbox("Data set", DATASETS, index=0, key="ch01_dataset",
                           help="Logic gates have four points. The random sets have 40: one separable by a "
                                "line, one with 10% of its labels flipped so that no line separates it.")
    if st.button("New random draw", key="ch01_btn_redraw", help="Draw new points for the random data sets."):
        st.session_state.ch01_draw += 1
    lr = st.select_slider("Learning rate η", options=[0.01, 0.1, 0.5, 1.0, 2.0], value=1.0, key="ch01_lr",
                          help="How far each mistake moves the weights. From zero weights η only rescales them, "
                               "so the line (and every mistake) stays the same; watch the numbers in the "
                               "equation change instead.")
    max_epochs = st.slider("Max epochs", 1, 200, 50, key="ch01_max_epochs",
                           help="Passes over the data. Training stops early after an epoch without mistakes.")
    st.caption(f"Random draw #{st.session_state.ch01_draw}")

X, y = load(dataset, st.session_state.ch01_draw)
model = pc.Perceptron(n_features=2, lr=lr, max_epochs=max_epochs).fit(X, y)
st.session_state.ch01_model = model      # the trained model, kept for the tests and for a look from a debugger

lo, hi = X.min() - 0.5, X.max() + 0.5


def plot_state(w, b, title, highlight=None):
    w = np.asarray(w, dtype=float)
    fig = decision_regions(lambda P: pc.step(P @ w + b).astype(float), X, y, title=title,
                           levels=[-0.5, 0.5, 1.5], resolution=100)
    ax = fig.axes[0]
    line = pc.boundary_points(w, b, xlim=(lo, hi))
    if line is not None:
        ax.plot(*line, "k-", lw=2)
        ax.set_xlim(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5)
        ax.set_ylim(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    if highlight is not None:
        ax.scatter([highlight[0]], [highlight[1]], s=300, facecolors="none", edgecolors="gold", linewidths=3,
                   label="the mistake")
        ax.legend(loc="best", fontsize=8)
    return fig


tab_train, tab_replay, tab_errors, tab_gates = st.tabs(
    ["Result", "Replay the updates", "Errors per epoch", "All gates: who converges?"], key="ch01_tab", on_change="rerun")
# Only the open tab runs (on_change="rerun"), so a page with many figures stays quick.

if tab_train.open:
    with tab_train:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Accuracy", f"{model.score(X, y):.0%}")
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
                st.dataframe({"x₁": X[:, 0], "x₂": X[:, 1], "z = w·x + b": np.round(z, 4),
                              "prediction": model.predict(X), "label": y}, hide_index=True)
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
        st.caption("What to try: AND, OR, NAND converge in a handful of updates; XOR never does. Change η and "
                   "notice the line stays put while its numbers scale.")

if tab_replay.open:
    with tab_replay:
        n_updates = len(model.updates)
        if n_updates == 0:
            st.info("No mistakes, no updates: the initial weights already classify everything.")
        else:
            k = st.slider("Update number (0 = before training)", 0, n_updates, n_updates if n_updates < 3 else 1,
                          key="ch01_replay_k", help="Step through training: each update follows one mistake.")
            w_k, b_k = model.weight_history[k], model.bias_history[k]
            if k == 0:
                st.markdown("**Before training**: all weights are 0, so every point scores 0 and is predicted 0.")
                hl = None
            else:
                u = model.updates[k - 1]
                sign = "+" if u.y > u.y_hat else "−"
                st.markdown(f"**Update {k}** (epoch {u.epoch}): sample {u.sample} at x = {u.x} has label {u.y} but "
                            f"was predicted {u.y_hat}, so w ← w {sign} η·x and b ← b {sign} η.")
                hl = u.x
            st.latex(pc.boundary_latex(w_k, b_k))
            show(plot_state(w_k, b_k, f"after update {k} of {n_updates}", highlight=hl))
            rows = [{"update": u.number, "epoch": u.epoch, "sample": u.sample, "x": str(u.x), "label": u.y,
                     "predicted": u.y_hat, "w after": str(tuple(round(v, 4) for v in u.w)), "b after": round(u.b, 4)}
                    for u in model.updates[:200]]
            st.dataframe(rows, hide_index=True)
            st.caption("Notice: each update moves the line towards the misclassified point (gold ring); the bias "
                       "shifts it without turning it.")

if tab_errors.open:
    with tab_errors:
        fig, ax = new_figure(size=(6, 3))
        epochs = np.arange(1, model.epochs_run + 1)
        ax.bar(epochs, model.errors_per_epoch, color="#d62728")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mistakes in the epoch")
        ax.set_title(f"{dataset}: mistakes per epoch")
        show(fig)
        st.dataframe({"epoch": epochs, "errors": model.errors_per_epoch}, hide_index=True)

if tab_gates.open:
    with tab_gates:
        st.markdown(f"Every gate trained with the current settings (η = {lr}, at most {max_epochs} epochs):")
        rows = []
        for gate in GATES:
            Xg, yg = logic_gate(gate)
            pg = pc.Perceptron(lr=lr, max_epochs=max_epochs).fit(Xg, yg)
            rows.append({"gate": gate, "converged": "yes" if pg.converged else "no", "epochs": pg.epochs_run,
                         "updates": len(pg.updates), "errors in last epoch": pg.errors_per_epoch[-1],
                         "accuracy": f"{pg.score(Xg, yg):.0%}"})
        st.dataframe(rows, hide_index=True)
        st.caption("XOR's row is the lesson of the next chapter: one line is not enough.")
