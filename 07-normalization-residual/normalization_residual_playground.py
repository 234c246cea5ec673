"""Playground for chapter 07: what BatchNorm and residual connections do to a deep network's signal,
gradients and training, measured on MNIST.

    streamlit run 07-normalization-residual/normalization_residual_playground.py   (or from the hub: app.py)
"""

import numpy as np
import pandas as pd
import streamlit as st

import batchnorm_inference as bni
import normalization_residual as nr
from common import playground
from common.playground import PageState, show_figure
from common.plots import color, fmt_num, fmt_pct, heatmap, new_figure, training_curves
from common.training import Live, ProgressCallback

st.set_page_config(page_title="07 · Normalization & residuals", layout="wide")
playground.chapter_header(
    7, "Stack enough layers and the signal explodes or dies on the way forward, and the gradient fades on the "
       "way back. BatchNorm re-centres and re-scales every layer's input; a residual connection adds the input "
       "back, giving the gradient a path with a factor of 1. Four variants of the same deep MLP, measured.")

data = playground.mnist(flatten=True)
X_VAL, Y_VAL = data.x_test[:2000], data.y_test[:2000]
PROBE_X, PROBE_Y = data.x_train[:512], data.y_train[:512]
# runs: variant → {"model", "history", "settings", "signal"}; depth_rows: one dict per finished run of the
# depth experiment; bn_model: (model, description) for the inference tab, or None.
page = PageState("ch07", runs=dict, depth_rows=list, bn_model=None)

# --- sidebar ---------------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Network")
    depth = st.slider("Depth (hidden layers)", 2, 50, 20, key=page.key("depth"),
                      help="Number of 64×64 hidden layers between the input layer and the output layer.")
    activation = st.selectbox("Activation", nr.ACTIVATIONS, index=0, key=page.key("activation"),
                              help="ReLU with He initialisation; tanh and sigmoid with Xavier. Sigmoid's slope is at "
                                   "most 1/4, the post's vanishing-gradient case.")
    init_scale = st.select_slider("Initial weight scale (× He/Xavier)", options=[0.5, 0.8, 1.0, 1.2, 1.5],
                                  value=1.0, key=page.key("init_scale"),
                                  help="1 is the textbook initialisation. Above 1 a plain net's signal grows by that "
                                       "factor per layer, below 1 it shrinks.")
    st.header("Training")
    lr = st.select_slider("Learning rate (Adam)", options=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=1e-3, key=page.key("lr"))
    epochs = st.slider("Epochs", 1, 10, 3, key=page.key("epochs"))
    n_train = st.select_slider("Training subset", options=[1000, 2000, 3000, 5000, 10000], value=3000, key=page.key("n_train"),
                               help="The first N training digits; evaluated on the first 2,000 test digits.")
    st.button("Stop", key=page.button_key("stop"), help="Any rerun stops training; finished runs and epochs are kept.")

settings = dict(depth=depth, activation=activation, init_scale=init_scale, lr=lr, epochs=epochs, n_train=n_train)


def settings_text(s):
    return (f"depth {s['depth']}, {s['activation']}, weight scale {fmt_num(s['init_scale'], 2)}, "
            f"lr {fmt_num(s['lr'], 1)}, {s['epochs']} epoch(s), {s['n_train']:,} training digits")


def keep_run(variant, tracker):
    """A ``Live`` callback that puts the live History and model in the page state when training starts,
    so a Stop or any rerun keeps every finished epoch."""
    def begin(state):
        page["runs"][variant] = {"model": state.model, "history": state.history, "settings": settings,
                                 "signal": tracker}
    return Live(on_begin=begin)


def palette_curves(fig):
    """Recolour ``training_curves``' lines by the palette (its lines are labelled "plain (train)", …)."""
    for ax in fig.axes:
        for line in ax.get_lines():
            line.set_color(color(line.get_label().split(" (")[0]))
        if ax.get_legend() is not None:
            ax.legend(fontsize=8)
    return fig


def build(variant, d=None, seed=0):
    rng = np.random.default_rng(seed)
    return nr.deep_mlp(depth if d is None else d, variant, rng, activation=activation, init_scale=init_scale), rng


tabs = st.tabs(["Signal through depth", "Training deep nets", "Gradient highway", "BatchNorm at inference"],
               key=page.key("tab"), on_change="rerun")
tab_signal, tab_train, tab_grad, tab_bn = tabs
# Only the open tab runs (on_change="rerun"), so the page stays quick.

# --- Signal through depth --------------------------------------------------------------------------------
if tab_signal.open:
    with tab_signal:
        st.markdown(
            "**What to try:** with the textbook scale (1.0) a plain ReLU net keeps its signal bounded: He "
            "initialisation was designed for that. Set the scale to **1.2 or 1.5** and the plain net's signal "
            "grows geometrically, the post's \"exploding\" table. With BatchNorm the Dense output that feeds "
            "each BatchNorm keeps the same spread at every depth (about the weight scale): BatchNorm's own "
            "output is mean 0, std 1 by construction, so the view measures the layer's input instead. Switch to "
            "*after training* or *during training* (train in the next tab first) to see the statistics of "
            "trained nets, epoch by epoch.")
        when = st.radio("When", ["at initialisation", "after training", "during training"], horizontal=True,
                        key=page.key("signal_when"), help="After/during training use the nets from the Training tab, "
                                                          "in evaluation mode (BatchNorm with its running averages).")
        shown = [] if when == "during training" else st.multiselect(
            "Variants", nr.VARIANTS, default=["plain", "batchnorm"], key=page.key("signal_variants"))
        stats = {}
        for v in shown:
            if when == "at initialisation":
                model, _ = build(v)
                stats[v] = nr.signal_through_depth(model, PROBE_X, training=True)
            elif when == "after training" and v in page["runs"]:
                stats[v] = nr.signal_through_depth(page["runs"][v]["model"], PROBE_X, training=False)
        if when != "at initialisation" and not page["runs"]:
            st.info("No trained models yet: train the variants in **Training deep nets**.")
        if when == "during training" and page["runs"]:
            trained = [v for v in nr.VARIANTS if v in page["runs"]]
            v = st.selectbox("Variant to follow", trained, key=page.key("signal_follow"))
            tracked = page["runs"][v]["signal"].stats
            fig, ax = new_figure(size=(7, 3.4))
            for e, s in enumerate(tracked):      # the variant's colour, fainter for earlier epochs
                ax.plot(np.arange(1, len(s.std) + 1), s.std, marker="o", ms=3, label=f"after {e} epoch(s)",
                        color=color(v), alpha=0.25 + 0.75 * e / max(1, len(tracked) - 1))
            ax.set_yscale("log")
            ax.set_xlabel("hidden layer")
            ax.set_title(f"{v}: standard deviation per layer, epoch by epoch (evaluation mode)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            show_figure(fig)
            st.dataframe(pd.DataFrame([{"epoch": e, **{f"layer {r['layer']} std": fmt_num(r["std"])
                                                       for r in nr.post_table(s)}}
                                       for e, s in enumerate(tracked)]), hide_index=True)
        if stats:
            rows = []
            for v, s in stats.items():
                for r in nr.post_table(s):
                    rows.append({"variant": v, "layer": r["layer"], "mean": fmt_num(r["mean"]), "std": fmt_num(r["std"])})
            st.markdown("**The post's table, measured** (signal at layers 5, 10, 20 on 512 training digits)")
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("signal_table"))
            fig, axes = new_figure(1, 2, size=(5.5, 3.6))
            for v, s in stats.items():
                layers = np.arange(1, len(s.std) + 1)
                axes[0].plot(layers, s.mean, marker="o", ms=3, color=color(v), label=v)
                axes[1].plot(layers, np.where(np.isfinite(s.std), s.std, np.nan), marker="o", ms=3, color=color(v),
                             label=v)
            axes[0].set_title("mean per layer")
            axes[1].set_title("standard deviation per layer (log scale)")
            axes[1].set_yscale("log")
            for ax in axes:
                ax.set_xlabel("hidden layer")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            show_figure(fig)
            st.caption("Measured signal: each hidden Dense layer's output for plain and batchnorm (it feeds the "
                       "ReLU, or the BatchNorm); the residual stream x + F(x) for residual and both. BatchNorm in "
                       "training mode (batch statistics) at initialisation, evaluation mode after training.")

# --- Training deep nets ----------------------------------------------------------------------------------
if tab_train.open:
    with tab_train:
        st.markdown(
            "**What to try:** train the four variants at depth 20 (about ten seconds). Then run the **depth "
            "experiment**: a plain net 30 layers deep trains *worse* than a 5-layer one, on the training set "
            "itself, which is the degradation problem; the residual nets do not degrade. With **sigmoid** the plain "
            "net does not learn at all while BatchNorm rescues it. Note what happens to BatchNorm without "
            "skips at depth 20–30 with ReLU at lr 10⁻³: it trains badly too (PyTorch does the same, see the README); "
            "at lr 10⁻² it trains better than the plain net, the post's \"much higher learning rates\".")
        c1, c2 = st.columns(2)
        train_clicked = c1.button("Train the four variants", type="primary", key=page.button_key("train_variants"))
        deep = max(depth, 6)
        exp_clicked = c2.button(f"Depth experiment: depth 5 vs {deep}", key=page.button_key("train_depths"),
                                help="Every variant at both depths, same data, seed and budget (8 runs).")
        x, y = data.x_train[:n_train], data.y_train[:n_train]
        if train_clicked:
            page["runs"] = {}
            bar = st.progress(0.0, text="starting…")
            for i, v in enumerate(nr.VARIANTS):
                model, rng = build(v)
                report = playground.progress_reporter(bar)
                cb = ProgressCallback(lambda f, m, i=i, v=v: report((i + f) / 4, f"{v}: {m}"), min_interval=0.2)
                tracker = nr.SignalTracker(PROBE_X)
                with np.errstate(all="ignore"):
                    nr.train(model, x, y, epochs=epochs, rng=rng, lr=lr, x_val=X_VAL, y_val=Y_VAL,
                             callbacks=[tracker, keep_run(v, tracker), cb])
            bar.empty()
        if exp_clicked:
            page["depth_rows"] = []
            bar = st.progress(0.0, text="starting…")
            total = 2 * len(nr.VARIANTS)

            def keep(row):
                page["depth_rows"].append(row)
                bar.progress(len(page["depth_rows"]) / total,
                             text=f"{row['variant']} at depth {row['depth']}: val acc {fmt_pct(row['val acc'])}")

            with np.errstate(all="ignore"):
                nr.depth_experiment(x, y, X_VAL, Y_VAL, depths=(5, deep), epochs=epochs, lr=lr, on_result=keep)
            bar.empty()
        runs = page["runs"]
        if runs:
            rows = [{"variant": v, "epochs run": r["history"].epochs,
                     "final train loss": fmt_num(r["history"].train_loss[-1]) if r["history"].train_loss else "–",
                     "final test accuracy": fmt_pct(r["history"].val_acc[-1]) if r["history"].val_acc else "–"}
                    for v, r in runs.items()]
            st.markdown(f"**Four variants** ({settings_text(next(iter(runs.values()))['settings'])})")
            cols = st.columns(len(rows))
            for col, row in zip(cols, rows):
                col.metric(f"{row['variant']} test accuracy", row["final test accuracy"])
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("variants_table"))
            left, right = st.columns(2)
            hist = {v: r["history"] for v, r in runs.items()}
            with left:
                show_figure(palette_curves(training_curves(hist, metric="loss", title="loss (solid: train, dashed: test)")))
            with right:
                show_figure(palette_curves(training_curves(hist, metric="acc", title="accuracy")))
        rows = page["depth_rows"]
        if rows:
            st.markdown("**Depth experiment** (training loss on the whole training subset, evaluation mode)")
            table = pd.DataFrame([{"variant": r["variant"], "depth": r["depth"], "train loss": fmt_num(r["train loss"]),
                                   "train acc": fmt_pct(r["train acc"]), "val acc": fmt_pct(r["val acc"])}
                                  for r in rows])
            st.dataframe(table, hide_index=True, key=page.key("depth_table"))
            depths = sorted({r["depth"] for r in rows})
            if len(depths) == 2:
                lookup = {(r["variant"], r["depth"]): r for r in rows}
                plain = [lookup.get(("plain", d)) for d in depths]
                if all(plain):
                    worse = plain[1]["train loss"] > plain[0]["train loss"]
                    msg = (f"Plain net: training loss {fmt_num(plain[0]['train loss'])} at depth {depths[0]}, "
                           f"{fmt_num(plain[1]['train loss'])} at depth {depths[1]}: ")
                    (st.warning if worse else st.info)(
                        msg + ("the deeper net fits its own training data worse (degradation)." if worse else
                               "no degradation at these settings."))
                fig, ax = new_figure(size=(7, 3.2))
                for i, v in enumerate(nr.VARIANTS):
                    vals = [lookup[(v, d)]["train loss"] if (v, d) in lookup else np.nan for d in depths]
                    ax.bar(np.arange(2) + (i - 1.5) * 0.2, vals, width=0.2, color=color(v), label=v)
                ax.set_xticks(range(2), [f"depth {d}" for d in depths])
                ax.set_ylabel("final training loss")
                ax.legend(fontsize=8)
                show_figure(fig)

# --- Gradient highway ------------------------------------------------------------------------------------
if tab_grad.open:
    with tab_grad:
        st.markdown(
            "**What to try:** with **sigmoid** (σ′ ≤ 1/4) the plain net's gradient shrinks by orders of magnitude "
            "on its way back to layer 1: ∂L/∂x = ∂L/∂out · F′(x), multiplied layer after layer. A residual block "
            "gives ∂L/∂x = ∂L/∂out · (F′(x) + 1): the gradient reaches the first layer about as large as it "
            "left the last. Try ReLU too, and more depth. One forward/backward pass on 256 training digits, "
            "at initialisation.")
        shown = st.multiselect("Variants", nr.VARIANTS, default=["plain", "residual"], key=page.key("grad_variants"))
        grad_act = st.selectbox("Activation for this view", nr.ACTIVATIONS, index=2, key=page.key("grad_activation"))
        norms = {}
        for v in shown:
            model = nr.deep_mlp(depth, v, np.random.default_rng(0), activation=grad_act, init_scale=init_scale)
            with np.errstate(all="ignore"):
                norms[v] = nr.gradient_norms(model, PROBE_X[:256], PROBE_Y[:256])
        if norms:
            rows = [{"variant": v, "‖∂L/∂h‖ at layer 1": fmt_num(g["signal"][0]),
                     f"‖∂L/∂h‖ at layer {depth}": fmt_num(g["signal"][-1]),
                     "layer 1 / last": fmt_num(g["signal"][0] / g["signal"][-1])} for v, g in norms.items()]
            cols = st.columns(len(rows))
            for col, row in zip(cols, rows):
                col.metric(f"{row['variant']}: layer 1 / layer {depth}", row["layer 1 / last"])
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("grad_table"))
            fig, axes = new_figure(1, 2, size=(5.5, 3.6))
            for v, g in norms.items():
                layers = np.arange(1, depth + 1)
                axes[0].semilogy(layers, g["signal"], marker="o", ms=3, color=color(v), label=v)
                axes[1].semilogy(layers, g["weights"], marker="o", ms=3, color=color(v), label=v)
            axes[0].set_title("‖∂L/∂h‖ reaching each layer")
            axes[1].set_title("‖∂L/∂W‖ of each layer's weights")
            for ax in axes:
                ax.set_xlabel("hidden layer (1 = nearest the input)")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            show_figure(fig)

# --- BatchNorm at inference ------------------------------------------------------------------------------
if tab_bn.open:
    with tab_bn:
        st.markdown(
            "**What to try:** in training mode BatchNorm normalises with the statistics of the batch it is given; "
            "in evaluation mode with the running averages it collected. With large batches the two agree; with "
            "a batch of **one** in training mode every feature equals its own mean, so x̂ = 0 and the layer "
            "outputs β for any input: a net without skips gives the same answer for every digit. In the "
            "'both' net the shortcuts carry the input around the BatchNorm layers, so it still varies (but "
            "is wrong more often).")
        runs = page["runs"]
        trained = [v for v in ("batchnorm", "both") if v in runs and runs[v]["history"].epochs]
        options = ["small BatchNorm net (3 layers)"] + [f"'{v}' net from Training deep nets" for v in trained]
        choice = st.radio("Model", options, horizontal=True, key=page.key("bn_source"),
                          help="The small net trains in about a second; the nets from the training tab are only as "
                               "good as their training went (deep BatchNorm nets without skips train badly).")
        if choice == options[0]:
            if page["bn_model"] is None:
                if st.button("Train the small BatchNorm net (2 epochs on 4,000 digits)", key=page.button_key("train_bn")):
                    rng = np.random.default_rng(0)
                    model = nr.deep_mlp(3, "batchnorm", rng)
                    nr.train(model, data.x_train[:4000], data.y_train[:4000], epochs=2, rng=rng)
                    page["bn_model"] = (model, "a 3-layer BatchNorm net trained for 2 epochs on 4,000 digits")
                else:
                    st.info("Press the button to train it, or train the variants in **Training deep nets**.")
            current = page["bn_model"]
        else:
            v = trained[options.index(choice) - 1]
            current = (runs[v]["model"], f"the '{v}' net from Training deep nets ({settings_text(runs[v]['settings'])})")
        if current is not None:
            model, description = current
            st.caption(f"Model: {description}; evaluated on the first 500 test digits.")
            modes = bni.batchnorm_modes(model, data.x_test[:500], data.y_test[:500], batch_sizes=(1, 8, 128))
            one = modes[1]
            c1, c2 = st.columns(2)
            c1.metric("Eval mode accuracy", fmt_pct(modes[0]["accuracy"]))
            c2.metric("Training mode, batch of 1: accuracy", fmt_pct(one["accuracy"]),
                      help=f"{one['distinct predictions']} distinct prediction(s) over 500 digits.")
            st.dataframe(pd.DataFrame([{**r, "accuracy": fmt_pct(r["accuracy"])} for r in modes]), hide_index=True,
                         key=page.key("modes_table"))
            n_bn = len(bni.batchnorm_layers(model))
            layer = st.slider("BatchNorm layer", 0, n_bn - 1, 0, key=page.key("bn_layer"))
            s = bni.running_vs_batch_stats(model, data.x_test[:500], layer)
            fig, axes = new_figure(1, 2, size=(4.2, 3.6))
            for ax, stat in zip(axes, ("mean", "var")):
                ax.scatter(s[f"batch {stat}"], s[f"running {stat}"], s=12, color=color("batchnorm"))
                lo = float(min(s[f"batch {stat}"].min(), s[f"running {stat}"].min()))
                hi = float(max(s[f"batch {stat}"].max(), s[f"running {stat}"].max()))
                ax.plot([lo, hi], [lo, hi], "k--", lw=1)
                ax.set_xlabel(f"{stat} of this layer's input on 500 test digits")
                ax.set_ylabel(f"running {stat} (from training)")
                ax.set_title(f"per feature: {stat}")
            show_figure(fig)
        st.subheader("BatchNorm vs LayerNorm: which axis?")
        st.markdown("Eight real digits through the first Dense layer of an **untrained** net (8 samples × 8 of its 64 "
                    "outputs; what the two normalisations do does not depend on training). BatchNorm makes each "
                    "**column** mean 0 across the batch; LayerNorm makes each **row** mean 0 across its features, "
                    "so it needs no batch and behaves the same in training and evaluation.")
        probe_model, _ = build("plain", d=1)
        h = probe_model.layers[0].forward(data.x_train[:8])[:, :8]
        demo = bni.norm_axes_demo(h)
        fig, axes = new_figure(1, 2, size=(4.6, 3.8))
        heatmap(demo["bn"], ax=axes[0], title="BatchNorm: columns normalised", cmap="RdBu_r", fmt=".1f",
                xlabel="feature", ylabel="sample")
        heatmap(demo["ln"], ax=axes[1], title="LayerNorm: rows normalised", cmap="RdBu_r", fmt=".1f",
                xlabel="feature", ylabel="sample")
        show_figure(fig)
        c1, c2 = st.columns(2)
        c1.metric("BN: largest |column mean|", fmt_num(np.abs(demo["bn feature means"]).max()))
        c2.metric("LN: largest |row mean|", fmt_num(np.abs(demo["ln sample means"]).max()))
