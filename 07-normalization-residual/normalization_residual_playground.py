"""Playground for chapter 07: what BatchNorm and residual connections do to a deep network's signal,
gradients and training, measured on MNIST.

    streamlit run 07-normalization-residual/normalization_residual_playground.py   (or from the hub: app.py)
"""

import time

import numpy as np
import pandas as pd
import streamlit as st
from matplotlib.ticker import MaxNLocator

import batchnorm_inference as bni
import normalization_residual as nr
from common import playground, plots
from common.checkpoints import read_meta
from common.playground import PageState, show_figure
from common.plots import color, fmt_num, fmt_pct, heatmap, new_figure, training_curves
from common.training import Live, ProgressCallback

playground.chapter_header(
    7, "Stack enough layers and the signal explodes or dies on the way forward, and the gradient fades on the "
       "way back. BatchNorm re-centres and re-scales every layer's input; a residual connection adds the input "
       "back, giving the gradient a path with a factor of 1. Four variants of the same deep MLP, measured.")

data = playground.mnist(flatten=True)
X_VAL, Y_VAL = data.x_test[:2000], data.y_test[:2000]
PROBE_X, PROBE_Y = data.x_train[:512], data.y_train[:512]
# runs: variant → {"model", "history", "settings", "signal"}; depth_rows: one dict per finished run of the
# depth experiment; sweep: the live learning-rate sweep ({"depth", "variants", "rows", "seconds"}) or None;
# bn_model: (model, description) for the inference tab, or None; *_seconds: how long the last finished run
# took (None while none has finished: a stopped run shows what it kept, without a time).
page = PageState("ch07", runs=dict, runs_seconds=None, runs_total=0, depth_rows=list, depth_seconds=None,
                 depth_settings=None, sweep=None, bn_model=None, bn_seconds=None)
# Only the open tab draws its controls (and the sidebar's only on the tabs that use them): keep every
# setting while another tab is open, as the hub does (Streamlit drops the value of a widget not drawn).
playground.keep_widget_state()

TAB_NAMES = ["Learning rate sweep", "Signal through depth", "Training deep nets", "Gradient highway",
             "BatchNorm at inference"]
tabs = st.tabs(TAB_NAMES, key=page.key("tab"), on_change="rerun")
tab_sweep, tab_signal, tab_train, tab_grad, tab_bn = tabs
# Only the open tab runs (on_change="rerun"), so the page stays quick.

# --- sidebar: the network, for the three tabs that build one ---------------------------------------------
uses_network = tab_signal.open or tab_train.open or tab_grad.open
if uses_network:
    with st.sidebar:
        st.header("Network")
        st.caption("Used by *Signal through depth*, *Training deep nets* and *Gradient highway*. The learning-rate "
                   "sweep and the BatchNorm-at-inference nets have fixed settings, stated in their tabs.")
        depth = st.slider("Depth (hidden layers)", 2, 50, 20, key=page.key("depth"),
                          help="Number of 64×64 hidden layers between the input layer and the output layer.")
        activation = st.selectbox("Activation", nr.ACTIVATIONS, index=0, key=page.key("activation"),
                                  help="ReLU with He initialisation; tanh and sigmoid with Xavier. Sigmoid's slope is "
                                       "at most 1/4, the post's vanishing-gradient case.")
        init_scale = st.select_slider("Initial weight scale (× He/Xavier)", options=[0.5, 0.8, 1.0, 1.2, 1.5],
                                      value=1.0, key=page.key("init_scale"),
                                      help="1 is the textbook initialisation. Above 1 a plain net's signal grows by "
                                           "that factor per layer, below 1 it shrinks.")


def network_text():
    return f"depth {depth}, {activation}, weight scale {fmt_num(init_scale, 2)}"


def settings_text(s):
    return (f"depth {s['depth']}, {s['activation']}, weight scale {fmt_num(s['init_scale'], 2)}, "
            f"lr {nr.lr_label(s['lr'])}, {s['epochs']} epoch(s), {s['n_train']:,} training digits")


def integer_x(ax):
    """Epochs and layers are whole numbers: no 2.5 on their axes."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def per_layer_chart(series: dict, panels, xlabel: str) -> dict:
    """A Vega-Lite spec of side-by-side per-layer line charts, one line per variant in the palette's colour:
    ``series`` maps a variant to {panel field: values per layer}; ``panels`` is (field, title, log) per panel.
    The browser draws it: a Matplotlib figure of the same two panels cost ~0.3 s to save. Non-finite values
    (and, on a log axis, values ≤ 0) are left out rather than drawn."""
    names = list(series)
    charts = []
    for field, title, log in panels:
        rows = [{"layer": i + 1, "variant": v, "value": float(x)} for v in names
                for i, x in enumerate(series[v][field]) if np.isfinite(x) and (x > 0 or not log)]
        y = {"field": "value", "type": "quantitative", "title": None}
        if log:
            y["scale"] = {"type": "log"}
        charts.append({
            "title": title, "width": 330, "height": 260, "data": {"values": rows},
            "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "layer", "type": "quantitative", "title": xlabel,
                               "axis": {"tickMinStep": 1, "format": "d"}},
                         "y": y,
                         "color": {"field": "variant", "type": "nominal", "title": None,
                                   "scale": {"domain": names, "range": [color(v) for v in names]}}}})
    return {"hconcat": charts}


def run_progress(bar, k: int, total: int, what: str):
    """Training callbacks for run ``k`` (from 0) of ``total``: ``bar`` shows the whole series' progress,
    "run k+1/total: what · (the epoch's progress)"."""
    report = playground.progress_reporter(bar)
    return [ProgressCallback(lambda f, m: report((k + f) / total, f"run {k + 1}/{total}: {what} · {m}"),
                             min_interval=0.2)]


def palette_curves(fig):
    """Recolour ``training_curves``' lines by the palette (its lines are labelled "plain (train)", …), so a
    variant has the same colour here as in every other chart; epochs on integer ticks."""
    for ax in fig.axes:
        for line in ax.get_lines():
            line.set_color(color(line.get_label().split(" (")[0]))
        if ax.get_legend() is not None:
            ax.legend(fontsize=8)
        integer_x(ax)
    return fig


def build(variant, d=None, seed=0):
    rng = np.random.default_rng(seed)
    return nr.deep_mlp(depth if d is None else d, variant, rng, activation=activation, init_scale=init_scale), rng


# --- Learning rate sweep ---------------------------------------------------------------------------------
SWEEP_META = read_meta(nr.sweep_path())
SWEEP_N, SWEEP_T, SWEEP_EPOCHS = SWEEP_META["n_train"], SWEEP_META["n_test"], SWEEP_META["epochs"]


def sweep_chart(rows, depth_, variants) -> dict:
    """Test accuracy and final training loss against the Adam learning rate, one line per variant: a
    Vega-Lite chart the browser draws (a Matplotlib figure took ~0.4 s per depth, and was redrawn after every
    run of a live sweep)."""
    acc, loss = {}, {}
    for v in variants:
        pts = sorted((r["lr"], r["val acc"], r["train loss"]) for r in rows if r["variant"] == v and r["depth"] == depth_)
        if pts:
            lrs_, a, l_ = (np.array(c) for c in zip(*pts))
            acc[v], loss[v] = (lrs_, 100 * a), (lrs_, l_)
    colors = {v: color(v) for v in acc}
    ticks = {lr: nr.lr_label(lr) for lr in nr.SWEEP_LRS}
    common_ = dict(colors=colors, x_title="Adam learning rate", x_log=True, x_ticks=ticks, markers=True,
                   height=240, width=300)
    left = plots.lines_spec({**acc, "chance (10%, dashed)": (np.array(nr.SWEEP_LRS), np.full(len(nr.SWEEP_LRS), 10.0))},
                            **{**common_, "colors": {**colors, "chance (10%, dashed)": color("chance")}},
                            styles={"chance (10%, dashed)": "dashed"}, y_title="test accuracy (%)", y_domain=(0, 100),
                            title=f"depth {depth_}: test accuracy after {SWEEP_EPOCHS} epochs")
    right = plots.lines_spec(loss, **common_, y_log=True, y_title="final training loss (log scale)",
                             title=f"depth {depth_}: training loss")
    return {"hconcat": [left, right], "resolve": {"scale": {"color": "shared"}}}


def sweep_table(rows, depth_, variants):
    r = {(row["variant"], row["lr"]): row for row in rows if row["depth"] == depth_}
    return pd.DataFrame([{"variant": v, **{f"lr {nr.lr_label(lr)}": fmt_pct(r[v, lr]["val acc"]) if (v, lr) in r else "–"
                                           for lr in nr.SWEEP_LRS}} for v in variants])


if tab_sweep.open:
    with tab_sweep:
        st.markdown(
            "**The post says** BatchNorm lets you *use much higher learning rates*. **What to try:** compare the "
            "plain (grey) and BatchNorm (blue) lines. At Adam's usual 10⁻³ BatchNorm *trails* the plain net; from "
            "10⁻² on it leads, and at 10⁻¹ it still trains where the plain net and the residual net without "
            "BatchNorm fall to chance. Switch to **depth 30**: skips alone (orange) want a small rate; only "
            "BatchNorm with skips (purple) trains at every rate. Every run: the first "
            f"{SWEEP_N:,} training digits, {SWEEP_EPOCHS} epochs, batch 128, seed 0, ReLU with He initialisation, "
            f"tested on the first {SWEEP_T:,} test digits: the settings of the shipped sweep, so a live rerun can be "
            "compared with it.")
        c1, c2 = st.columns(2)
        sweep_depth = c1.radio("Sweep depth", list(nr.SWEEP_DEPTHS), horizontal=True, key=page.key("sweep_depth"),
                               format_func=lambda d: f"depth {d}")
        sweep_variants = c2.multiselect("Variants in the sweep", nr.VARIANTS, default=list(nr.VARIANTS),
                                        key=page.key("sweep_variants"))
        b1, b2 = st.columns(2)
        rerun_clicked = b1.button(f"Rerun the sweep live at depth {sweep_depth}", type="primary",
                                  key=page.button_key("sweep_run"), disabled=not sweep_variants,
                                  help=f"{len(sweep_variants) * len(nr.SWEEP_LRS)} runs, each point appears as its "
                                       "run finishes.")
        b2.button("Stop the sweep", key=page.button_key("sweep_stop"),
                  help="Stops after the run in progress is interrupted; the finished runs are kept.")
        if rerun_clicked:
            sweep = page["sweep"] = {"depth": sweep_depth, "variants": list(sweep_variants), "rows": [], "seconds": None}
            total = len(sweep_variants) * len(nr.SWEEP_LRS)
            bar = st.progress(0.0, text="starting…")
            live_chart = st.empty()

            def run_callbacks(variant, lr):
                return run_progress(bar, len(sweep["rows"]), total, f"{variant} at lr {nr.lr_label(lr)}")

            def keep_point(row):
                sweep["rows"].append({k: v for k, v in row.items() if k != "history"})
                live_chart.vega_lite_chart(sweep_chart(sweep["rows"], sweep_depth, sweep_variants), width="content")

            t0 = time.perf_counter()
            nr.lr_sweep(data.x_train[:SWEEP_N], data.y_train[:SWEEP_N], data.x_test[:SWEEP_T], data.y_test[:SWEEP_T],
                        depth=sweep_depth, variants=sweep_variants, epochs=SWEEP_EPOCHS, on_result=keep_point,
                        callbacks=run_callbacks)
            sweep["seconds"] = time.perf_counter() - t0
            bar.empty()
            live_chart.empty()
        live = page["sweep"]
        if live is not None and live["depth"] == sweep_depth and live["rows"]:
            rows, variants = live["rows"], [v for v in live["variants"] if v in sweep_variants] or live["variants"]
            done, total = len(live["rows"]), len(live["variants"]) * len(nr.SWEEP_LRS)
            st.markdown(f"**Live sweep at depth {sweep_depth}** ({done} of {total} runs"
                        f"{'' if live['seconds'] is not None else ', stopped: the finished runs are kept'})")
        else:
            rows, variants = nr.load_sweep(), sweep_variants
            st.markdown(f"**The shipped sweep at depth {sweep_depth}**")
            playground.checkpoint_caption(
                nr.sweep_path(), f"{len(nr.VARIANTS)} variants × {len(nr.SWEEP_LRS)} learning rates at depths "
                                 f"{' and '.join(str(d) for d in nr.SWEEP_DEPTHS)}",
                action="Press *Rerun the sweep live* to run it here.")
        if variants:
            st.vega_lite_chart(sweep_chart(rows, sweep_depth, variants), width="content")
            st.dataframe(sweep_table(rows, sweep_depth, variants), hide_index=True, key=page.key("sweep_table"))
            measured = nr.bn_vs_plain(rows, sweep_depth)
            if measured:
                playground.post_vs_measured(
                    post="“You can use much higher learning rates — the stable baseline means bigger steps are safe.”",
                    measured=measured)
        if live is not None and live["depth"] == sweep_depth and live["seconds"] is not None:
            playground.took(live["seconds"], f"The live sweep ({len(live['rows'])} runs)")
        st.caption("The numbers of a live run can differ from the shipped ones in the last digits (or by a few points "
                   "for the nets that barely train): the shipped sweep ran on one BLAS thread.")

# --- Signal through depth --------------------------------------------------------------------------------
def signal_chart(stats) -> dict:
    """Mean and standard deviation per layer of each variant's measured signal (a Vega-Lite spec)."""
    return per_layer_chart({v: {"mean": s.mean, "std": s.std} for v, s in stats.items()},
                           [("mean", "mean per layer", False), ("std", "standard deviation per layer (log scale)", True)],
                           "hidden layer")


@st.cache_data(max_entries=64, show_spinner=False)
def signal_at_init(variants: tuple, depth_: int, activation_: str, init_scale_: float):
    """Signal through depth at initialisation (seed 0, BatchNorm in training mode, the 512 probe digits) per
    variant: pure in its arguments, so a setting seen before shows at once."""
    return {v: nr.signal_through_depth(nr.deep_mlp(depth_, v, np.random.default_rng(0), activation=activation_,
                                                   init_scale=init_scale_), PROBE_X, training=True)
            for v in variants}


if tab_signal.open:
    with tab_signal:
        @st.fragment
        def signal_tab():
            """The tab's controls rerun only the tab (a fragment)."""
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
                "Variants to measure", nr.VARIANTS, default=["plain", "batchnorm"], key=page.key("signal_variants"))
            if when == "at initialisation":
                stats = signal_at_init(tuple(shown), depth, activation, init_scale)
            else:
                stats = {v: nr.signal_through_depth(page["runs"][v]["model"], PROBE_X, training=False)
                         for v in shown if v in page["runs"]}
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
                integer_x(ax)
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
                st.vega_lite_chart(signal_chart(stats))
                plain = stats.get("plain")
                shown_rows = nr.post_table(plain) if plain is not None else []
                if shown_rows and np.all(np.isfinite(plain.std)) and shown_rows[-1]["std"] < 4.7:
                    # The post's "without batch norm" column explodes; at these settings the measured one does not.
                    playground.post_vs_measured(
                        post="Without batch norm: layer 5 std 4.7, layer 10 std 31.2, layer 20 mean NaN (the signal "
                             "explodes).",
                        measured=f"the plain net ({network_text()}, {when}) keeps its signal bounded: std "
                                 + ", ".join(f"{fmt_num(r['std'])} at layer {r['layer']}" for r in shown_rows)
                                 + ". Raise the initial weight scale to 1.5 to see it explode.")
                st.caption("Measured signal: each hidden Dense layer's output for plain and batchnorm (it feeds the "
                           "ReLU, or the BatchNorm); the residual stream x + F(x) for residual and both. BatchNorm in "
                           "training mode (batch statistics) at initialisation, evaluation mode after training.")

        signal_tab()

# --- Training deep nets ----------------------------------------------------------------------------------
def show_variants(runs):
    """The four variants' metrics, table and curves (live: called after every epoch while they train)."""
    rows = [{"variant": v, "epochs run": r["history"].epochs,
             "final train loss": fmt_num(r["history"].train_loss[-1]) if r["history"].train_loss else "–",
             "final test accuracy": fmt_pct(r["history"].val_acc[-1]) if r["history"].val_acc else "–"}
            for v, r in runs.items()]
    st.markdown(f"**Four variants** ({settings_text(next(iter(runs.values()))['settings'])})")
    cols = st.columns(len(nr.VARIANTS))
    for col, row in zip(cols, rows):
        col.metric(f"{row['variant']} test accuracy", row["final test accuracy"])
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    hist = {v: r["history"] for v, r in runs.items() if r["history"].epochs}
    if hist:
        left, right = st.columns(2)
        with left:
            show_figure(palette_curves(training_curves(hist, metric="loss", title="loss (solid: train, dashed: test)")))
        with right:
            show_figure(palette_curves(training_curves(hist, metric="acc", title="accuracy")))


def show_depth_rows(rows, settings_):
    st.markdown(f"**Depth experiment** ({settings_}; training loss on the whole training subset, evaluation mode)")
    table = pd.DataFrame([{"variant": r["variant"], "depth": r["depth"], "train loss": fmt_num(r["train loss"]),
                           "train acc": fmt_pct(r["train acc"]), "val acc": fmt_pct(r["val acc"])} for r in rows])
    st.dataframe(table, hide_index=True)
    depths_ = sorted({r["depth"] for r in rows})
    lookup = {(r["variant"], r["depth"]): r for r in rows}
    fig, ax = new_figure(size=(7, 3.2))
    for i, v in enumerate(nr.VARIANTS):
        vals = [lookup[(v, d)]["train loss"] if (v, d) in lookup else np.nan for d in depths_]
        ax.bar(np.arange(len(depths_)) + (i - 1.5) * 0.2, vals, width=0.2, color=color(v), label=v)
    ax.set_xticks(range(len(depths_)), [f"depth {d}" for d in depths_])
    ax.set_xlim(-0.5, len(depths_) - 0.5)          # bars keep their width while the first depth's runs arrive
    ax.set_ylabel("final training loss")
    ax.legend(fontsize=8)
    show_figure(fig, dpi=100)
    return lookup, depths_


if tab_train.open:
    with tab_train:
        st.markdown(
            "**What to try:** train the four variants at depth 20 (a few seconds; the curves grow epoch by epoch). "
            "Then run the **depth experiment**: a plain net 30 layers deep trains *worse* than a 5-layer one, on the "
            "training set itself, which is the degradation problem; the residual nets do not degrade. Set the "
            "sidebar's **Activation** to **sigmoid** and the plain net does not learn at all while BatchNorm rescues "
            "it. Note what happens to BatchNorm without skips at depth 20–30 with ReLU at lr 10⁻³: it trains badly "
            "too (PyTorch does the same, see the README); the **Learning rate sweep** tab shows it at larger rates. "
            "Both buttons use the sidebar's network and the training settings below.")
        c1, c2, c3 = st.columns(3)
        lr = c1.select_slider("Learning rate (Adam)", options=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], value=1e-3,
                              key=page.key("lr"), format_func=nr.lr_label)
        epochs = c2.slider("Epochs", 1, 10, 2, key=page.key("epochs"))
        n_train = c3.select_slider("Training subset", options=[1000, 2000, 3000, 5000, 10000], value=3000,
                                   key=page.key("n_train"),
                                   help="The first N training digits; evaluated on the first 2,000 test digits.")
        settings = dict(depth=depth, activation=activation, init_scale=init_scale, lr=lr, epochs=epochs, n_train=n_train)
        b1, b2, b3 = st.columns(3)
        train_clicked = b1.button("Train the four variants", type="primary", key=page.button_key("train_variants"))
        deep = max(depth, 6)
        exp_clicked = b2.button(f"Depth experiment: depth 5 vs {deep}", key=page.button_key("train_depths"),
                                help="Every variant at both depths, same data, seed and budget (8 runs).")
        b3.button("Stop training", key=page.button_key("stop"),
                  help="Stops the run in progress; every finished epoch and run is kept.")
        x, y = data.x_train[:n_train], data.y_train[:n_train]
        if train_clicked:
            page.update(runs={}, runs_seconds=None, runs_total=len(nr.VARIANTS))
            bar = st.progress(0.0, text="starting…")
            live_area = st.empty()

            def redraw(state):
                with live_area.container():
                    show_variants(page["runs"])

            t0 = time.perf_counter()
            for i, v in enumerate(nr.VARIANTS):
                model, rng = build(v)
                report = playground.progress_reporter(bar)
                cb = ProgressCallback(lambda f, m, i=i, v=v: report((i + f) / 4, f"{v}: {m}"), min_interval=0.2)
                tracker = nr.SignalTracker(PROBE_X)

                def begin(state, v=v, tracker=tracker):
                    # The live History and model go in the page state as training starts: a Stop or any
                    # rerun keeps every finished epoch.
                    page["runs"][v] = {"model": state.model, "history": state.history, "settings": settings,
                                       "signal": tracker}

                with np.errstate(all="ignore"):
                    nr.train(model, x, y, epochs=epochs, rng=rng, lr=lr, x_val=X_VAL, y_val=Y_VAL,
                             callbacks=[tracker, Live(on_begin=begin, on_update=redraw), cb])
            page["runs_seconds"] = time.perf_counter() - t0
            bar.empty()
            live_area.empty()
        if exp_clicked:
            depth_settings = f"{network_text()}, lr {nr.lr_label(lr)}, {epochs} epoch(s), {n_train:,} training digits"
            page.update(depth_rows=[], depth_seconds=None, depth_settings=depth_settings)
            bar = st.progress(0.0, text="starting…")
            live_area = st.empty()
            total = 2 * len(nr.VARIANTS)

            def run_callbacks(d, v):
                return run_progress(bar, len(page["depth_rows"]), total, f"{v} at depth {d}")

            def keep(row):
                page["depth_rows"].append(row)
                with live_area.container():
                    show_depth_rows(page["depth_rows"], depth_settings)

            t0 = time.perf_counter()
            nr.depth_experiment(x, y, X_VAL, Y_VAL, depths=(5, deep), epochs=epochs, lr=lr, activation=activation,
                                init_scale=init_scale, on_result=keep, callbacks=run_callbacks)
            page["depth_seconds"] = time.perf_counter() - t0
            bar.empty()
            live_area.empty()
        runs = page["runs"]
        if runs:
            show_variants(runs)
            if page["runs_seconds"] is not None:
                playground.took(page["runs_seconds"], "Training the four variants")
            else:
                st.caption(f"Stopped: {len(runs)} of {page['runs_total']} variants started; every finished epoch is kept.")
            h = {v: r["history"] for v, r in runs.items()}
            if {"plain", "batchnorm"} <= set(h) and h["plain"].val_acc and h["batchnorm"].val_acc \
                    and h["batchnorm"].val_acc[-1] < h["plain"].val_acc[-1]:
                s_ = runs["batchnorm"]["settings"]
                playground.post_vs_measured(
                    post="“The effect on training is immediate”: with batch norm every layer starts from a stable "
                         "baseline.",
                    measured=f"at {settings_text(s_)} the BatchNorm net reaches {fmt_pct(h['batchnorm'].val_acc[-1])} "
                             f"test accuracy, the plain net {fmt_pct(h['plain'].val_acc[-1])}: BatchNorm trails it "
                             f"here (at lr {nr.lr_label(s_['lr'])}; the Learning rate sweep tab shows larger rates).")
        rows = page["depth_rows"]
        if rows:
            lookup, depths_ = show_depth_rows(rows, page["depth_settings"])
            if page["depth_seconds"] is not None:
                playground.took(page["depth_seconds"], f"The depth experiment ({len(rows)} runs)")
            else:
                st.caption(f"Stopped after {len(rows)} of {2 * len(nr.VARIANTS)} runs; the finished runs are kept.")
            if len(depths_) == 2:
                plain = [lookup.get(("plain", d)) for d in depths_]
                if all(plain):
                    worse = plain[1]["train loss"] > plain[0]["train loss"]
                    msg = (f"Plain net: training loss {fmt_num(plain[0]['train loss'])} at depth {depths_[0]}, "
                           f"{fmt_num(plain[1]['train loss'])} at depth {depths_[1]}: ")
                    (st.warning if worse else st.info)(
                        msg + ("the deeper net fits its own training data worse (degradation)." if worse else
                               "no degradation at these settings."))
                bn, pl = lookup.get(("batchnorm", depths_[1])), lookup.get(("plain", depths_[1]))
                if bn is not None and pl is not None and (bn["val acc"] < pl["val acc"] or bn["val acc"] < 0.5):
                    playground.post_vs_measured(
                        post="Batch norm keeps deep networks trainable: “activations stay stable — no more explosions "
                             "or collapses”.",
                        measured=f"at depth {depths_[1]} the BatchNorm-only net reaches {fmt_pct(bn['val acc'])} test "
                                 f"accuracy (training loss {fmt_num(bn['train loss'])}) against {fmt_pct(pl['val acc'])} "
                                 "for the plain net"
                                 + (f" and {fmt_pct(lookup['both', depths_[1]]['val acc'])} for BatchNorm with skips"
                                    if ("both", depths_[1]) in lookup else "") + ".")

# --- Gradient highway ------------------------------------------------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def gradient_view(variants: tuple, depth_: int, activation_: str, init_scale_: float):
    """Gradient highway: each variant's gradient norms per layer (one forward/backward pass on 256 probe
    digits at initialisation, seed 0). Pure in its arguments (the probe digits are fixed), so a setting seen
    before shows at once."""
    norms = {}
    for v in variants:
        model = nr.deep_mlp(depth_, v, np.random.default_rng(0), activation=activation_, init_scale=init_scale_)
        with np.errstate(all="ignore"):
            norms[v] = nr.gradient_norms(model, PROBE_X[:256], PROBE_Y[:256])
    return norms


if tab_grad.open:
    with tab_grad:
        @st.fragment
        def gradient_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            st.markdown(
                "**What to try:** set the sidebar's **Activation** to **sigmoid** (σ′ ≤ 1/4): the plain net's gradient "
                "shrinks by orders of magnitude on its way back to layer 1: ∂L/∂x = ∂L/∂out · F′(x), multiplied layer "
                "after layer. A residual block gives ∂L/∂x = ∂L/∂out · (F′(x) + 1): the gradient reaches the first "
                "layer about as large as it left the last. With ReLU and He initialisation the plain net's gradient "
                "does not vanish, but BatchNorm without skips makes it *grow* towards the input. One forward/backward "
                f"pass on 256 training digits, at initialisation ({network_text()}, from the sidebar).")
            shown = st.multiselect("Variants to backpropagate through", nr.VARIANTS, default=["plain", "residual"],
                                   key=page.key("grad_variants"))
            norms = gradient_view(tuple(shown), depth, activation, init_scale)
            if norms:
                rows = [{"variant": v, "‖∂L/∂h‖ at layer 1": fmt_num(g["signal"][0]),
                         f"‖∂L/∂h‖ at layer {depth}": fmt_num(g["signal"][-1]),
                         "layer 1 / last": fmt_num(g["signal"][0] / g["signal"][-1])} for v, g in norms.items()]
                cols = st.columns(len(rows))
                for col, row in zip(cols, rows):
                    col.metric(f"{row['variant']}: layer 1 / layer {depth}", row["layer 1 / last"])
                st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("grad_table"))
                st.vega_lite_chart(per_layer_chart(
                    norms, [("signal", "‖∂L/∂h‖ reaching each layer", True), ("weights", "‖∂L/∂W‖ of each layer's weights", True)],
                    "hidden layer (1 = nearest the input)"))

        gradient_tab()

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
                    t0 = time.perf_counter()
                    model = nr.small_bn_net(data.x_train[:4000], data.y_train[:4000])
                    page["bn_seconds"] = time.perf_counter() - t0
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
            if choice == options[0] and page["bn_seconds"] is not None:
                playground.took(page["bn_seconds"], "Training the small BatchNorm net")
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
                ax.plot([lo, hi], [lo, hi], "--", color=color("reference"), lw=1)
                ax.set_xlabel(f"{stat} of this layer's input on 500 test digits")
                ax.set_ylabel(f"running {stat} (from training)")
                ax.set_title(f"per feature: {stat}")
            show_figure(fig)
        st.subheader("BatchNorm vs LayerNorm: which axis?")
        st.markdown("Eight real digits through the first Dense layer of an **untrained** net (8 samples × 8 of its 64 "
                    "outputs; what the two normalisations do does not depend on training). BatchNorm makes each "
                    "**column** mean 0 across the batch; LayerNorm makes each **row** mean 0 across its features, "
                    "so it needs no batch and behaves the same in training and evaluation.")
        probe_model = nr.deep_mlp(1, "plain", np.random.default_rng(0))     # He-initialised stem, fixed
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
