"""Playground for chapter 04: optimizers racing on MNIST, their paths on 2-D loss surfaces, gradient noise
against batch size, and the moving averages inside Adam.

    streamlit run 04-optimization/optimization_playground.py      (or open it from the hub: streamlit run app.py)
"""

import time

import numpy as np
import streamlit as st

import adam_bias_correction as adam_bc
import ewma
import gradient_noise as noise
import loss_landscapes as land
import optimization
import optimizer_race as racing
from common import playground, plots
from common.optimizers import DEFAULT_LR
from common.playground import PageState
from common.plots import color, fmt_num, fmt_pct, image_grid, new_figure
from common.training import Live, ProgressCallback
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

playground.chapter_header(
    4, "Seven update rules from `common.optimizers`, the same classes on MNIST and on 2-D loss surfaces. "
       "Every curve on this page comes from a run of the code; nothing is drawn by hand.")
data = playground.mnist()
page = PageState("ch04", race=None, sweep=None)
#: the results tables' number columns, each with a fixed number of digits (92.80, not 92.8)
_RESULT_COLUMNS = {**{c: st.column_config.NumberColumn(format="%.4f") for c in ("train loss", "test loss")},
                   **{c: st.column_config.NumberColumn(format="%.2f")
                      for c in ("train acc %", "test acc %", "best test acc %", "time (s)")}}

LR_GRID = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]
BATCH_OPTIONS = {"1": 1, "16": 16, "32": 32, "64": 64, "128": 128, "full batch": None}
TRAIN_SIZES = [500, 1000, 2000, 5000, 10000, 20000, 60000]

SHIPPED = racing.race_checkpoint(racing.DEFAULT_RACE["names"][-1])


def shipped_race():
    """The default race as recorded by ``train_optimization.py`` (models and Histories from checkpoints;
    read once per session, 1.2 MB: a session's models are its own, so nothing is cached across sessions)."""
    return racing.load_race()


def shipped_run() -> dict:
    cfg = racing.DEFAULT_RACE
    return {"results": shipped_race(), "status": "recorded", "batch": str(cfg["batch_size"]),
            "train_size": cfg["train_size"], "epochs": cfg["epochs"], "seconds": None}


def run_callbacks(bar, slot, store, order, lrs, batch_size, min_interval: float = 0.3):
    """Per run: a progress bar, and ``Live`` keeping the run's live History and model in ``store`` from
    its first step (so a Stop, or any rerun, keeps every epoch that finished) and redrawing the live chart
    of test accuracy after an epoch, at most every ``min_interval`` seconds (a redraw costs ~20 ms; the
    full figure follows the run)."""
    last = [-np.inf]

    def draw(_state):
        if time.perf_counter() - last[0] < min_interval:
            return
        last[0] = time.perf_counter()
        playground.live_chart(slot, {k: [100 * a for a in r.history.val_acc] for k, r in store.items()}, "test accuracy %",
                   {k: racing.batch_label(r.batch_size) if k.startswith(("batch", "full")) else k
                    for k, r in store.items()})

    def make(name):
        i = order.index(name)

        def keep(state):
            store[name] = racing.RaceResult(name, lrs.get(name, 0.0), batch_size, state.history, state.model)

        def report(frac, msg):
            bar.progress(min(1.0, (i + frac) / len(order)), text=f"{name}: {msg}")
        return [Live(on_begin=keep, on_update=draw), ProgressCallback(report)]
    return make


def mark_interrupted(run):
    """A run still flagged "running" at the top of a new script run was interrupted by that rerun."""
    if run is not None and run["status"] == "running":
        run["status"] = "stopped"


def line_chart_style(fig, ax, xlabel: str, ylabel: str | None = None):
    """Axis labels, the legend outside on the right, a grid."""
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    ax.grid(alpha=0.3)


def batch_loss_figure(results: dict):
    """Every run's mini-batch loss against the update number, log-log, the legend outside."""
    fig, ax = new_figure(size=(9.0, 3.2))
    for lab, r in results.items():
        bl = np.asarray(r.history.batch_loss)
        ax.plot(np.arange(1, len(bl) + 1), bl, color=color(lab), lw=0.8, alpha=0.8, label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    line_chart_style(fig, ax, "update", "mini-batch loss")
    return fig


def curves(results: dict):
    """2×2: loss and accuracy (train solid, test dashed) against epochs and against wall time; one
    legend beside the grid, off the data."""
    fig, axes = new_figure(2, 2, size=(5.4, 3.0))
    for name, r in results.items():
        h = r.history
        if not h.epochs:
            continue
        c = color(name)
        ep = np.arange(1, h.epochs + 1)
        wt = np.asarray(h.wall_time)
        for row, metric in enumerate(("loss", "acc")):
            scale = 100.0 if metric == "acc" else 1.0
            for col, xs in enumerate((ep, wt)):
                ax = axes[row, col]
                ax.plot(xs, scale * np.asarray(getattr(h, f"train_{metric}")), "-o", color=c, ms=3,
                        label=f"{name} train")
                ax.plot(xs, scale * np.asarray(getattr(h, f"val_{metric}")), "--s", color=c, ms=3,
                        label=f"{name} test")
    for row, metric in enumerate(("loss", "accuracy %")):
        for col, xl in enumerate(("epoch", "wall time (s)")):
            ax = axes[row, col]
            ax.set_xlabel(xl)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if metric == "loss":
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))   # 0.3, not 3 × 10⁻¹
                ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    return fig


#: batches above this many images are timed over fewer updates: one full-batch update of 5,000 images takes tens of
#: milliseconds, and 20 of them made a new subset size wait a second for the timing alone
LARGE_BATCH = 256


def timing_repeats(b: int) -> int:
    """Timed updates per batch size, of which the table shows the fastest (``gradient_noise.time_per_update``)."""
    return 20 if b <= LARGE_BATCH else 5


@st.cache_data(show_spinner="Measuring gradient noise…")
def noise_table(n, size_labels, _X, _y):
    """Per batch size at the initial weights: measured and exact E‖g_B − ḡ‖², time per update."""
    model = racing.build_mlp(np.random.default_rng(0), 128, dtype=np.float64)
    X64 = _X.astype(np.float64)
    g, sigma2 = noise.per_sample_gradient_stats(model, X64, _y)
    r = np.random.default_rng(1)
    rows = []
    for lab in size_labels:
        b = BATCH_OPTIONS[lab] or n
        b = min(b, n)
        measured = noise.measured_batch_variance(model, X64, _y, b, 30, r, g) if b < n else 0.0
        t = noise.time_per_update(racing.build_mlp(np.random.default_rng(0), 128), _X, _y, b, repeats=timing_repeats(b))
        rows.append({"batch size": lab, "B": b, "measured E‖g_B − ḡ‖²": measured,
                     "theory": noise.expected_batch_variance(sigma2, n, b), "ms per update": 1000 * t,
                     "updates per epoch": -(-n // b), "ms per epoch": 1000 * t * -(-n // b)})
    return rows, sigma2, float(g @ g)


@st.cache_data(show_spinner=False, max_entries=32)
def noise_png(n_sweep, size_labels, _X, _y) -> bytes:
    """The noise table's two panels (variance against B with its law, ms per update) as PNG bytes; cached
    like ``noise_table``, by the subset size and the batch sizes (the subset is a function of the size)."""
    rows, sigma2, gnorm2 = noise_table(n_sweep, size_labels, _X, _y)
    fig, (a1, a2) = new_figure(1, 2, size=(5.0, 3.3))
    bs = np.array([r["B"] for r in rows if r["B"] < n_sweep])
    if len(bs):
        a1.loglog(bs, [r["measured E‖g_B − ḡ‖²"] for r in rows if r["B"] < n_sweep], "o",
                  color=color("measured"), label="measured (30 draws)")
        grid = np.unique(np.geomspace(1, n_sweep - 1, 50).round().astype(int))
        a1.loglog(grid, [noise.expected_batch_variance(sigma2, n_sweep, int(b)) for b in grid], "-",
                  color=color("reference"), label="(σ²/B)(N−B)/(N−1)")
        a1.axhline(gnorm2, color=color("observations"), ls=":", label="‖ḡ‖²")
        a1.set_xlabel("batch size B")
        a1.set_ylabel("E‖g_B − ḡ‖²")
        a1.legend(fontsize=7, loc="lower left")
        a1.grid(alpha=0.3)
    a2.bar([r["batch size"] for r in rows], [r["ms per update"] for r in rows],
           color=[color(racing.batch_label(BATCH_OPTIONS[r["batch size"]])) for r in rows])
    a2.set_ylabel(f"ms per update (best of {timing_repeats(1)},\n{timing_repeats(LARGE_BATCH + 1)} for B > {LARGE_BATCH})")
    a2.set_xlabel("batch size")
    a2.grid(alpha=0.3)
    return playground.figure_png(fig)


if page["race"] is None:          # first load: the shipped default race, trained by train_optimization.py
    page["race"] = shipped_run()
mark_interrupted(page["race"])
mark_interrupted(page["sweep"])

tab_race, tab_land, tab_batch, tab_ewma = st.tabs(
    ["MNIST race", "Loss landscape", "Batch vs stochastic vs mini-batch", "EWMA"], key=page.key("tab"),
    on_change="rerun")
# Only the open tab runs, so a page with many figures stays quick.

# ------------------------------------------------------------------------------------------ MNIST race
if tab_race.open:
    with tab_race:
        st.markdown("Pick optimizers and learning rates, then **Run race**. Try: the defaults (SGD 0.1, "
                    "Momentum 0.01, Adam 0.001) and compare their final test accuracies; then raise Adam to 0.03 "
                    "or SGD to 1.0 and watch the test loss jump; then batch size 1 against full batch (keep the "
                    "training set small).")
        c1, c2, c3 = st.columns([3, 2, 2])
        names = c1.multiselect("Optimizers in the race", racing.OPTIMIZER_NAMES, default=["SGD", "Momentum", "Adam"],
                               key=page.key("race_names"),
                               help="Each trains a copy of the same initial network on the same mini-batches.")
        batch_choice = c2.select_slider("Batch size", list(BATCH_OPTIONS), value="64", key=page.key("race_batch"),
                                        help="1 is pure stochastic gradient descent, full batch is classic "
                                             "gradient descent: one update per epoch.")
        epochs = c3.slider("Epochs", 1, 30, 5, key=page.key("race_epochs"))
        c4, c5, c6 = st.columns([3, 2, 2])
        train_size = c4.select_slider("Training images", TRAIN_SIZES, value=5000, key=page.key("race_train"),
                                      format_func=lambda v: f"{v:,}",
                                      help="A random subset of the training set; the default run takes a few "
                                           "seconds.")
        hidden = c5.select_slider("Hidden units", [32, 64, 128, 256, 512], value=128, key=page.key("race_hidden"))
        seed = c6.number_input("Seed", 0, 10_000, 0, key=page.key("race_seed"),
                               help="Fixes the initial weights, the subset and the batch order.")
        lrs = {}
        if names:
            lr_cols = st.columns(min(len(names), 4))
            for i, name in enumerate(names):
                lrs[name] = lr_cols[i % len(lr_cols)].select_slider(
                    f"{name} learning rate", LR_GRID, value=DEFAULT_LR[name], key=page.key(f"lr_{name}"),
                    format_func=lambda v: f"{v:g}",
                    help=f"Default {DEFAULT_LR[name]:g}, a sensible start for {name} on this MLP.")
        c_run, c_stop = st.columns([1, 1])
        run_clicked = c_run.button("Run race", type="primary", key=page.button_key("race_run"), disabled=not names)
        c_stop.button("Stop race", key=page.button_key("race_stop"),
                      help="Stops after the current mini-batch; finished epochs are kept.")
        if run_clicked:
            rng = np.random.default_rng(int(seed))
            idx = rng.permutation(len(data.x_train))[:min(train_size, len(data.x_train))]
            batch_size = BATCH_OPTIONS[batch_choice]
            page["race"] = run = {"results": {}, "status": "running", "batch": batch_choice, "train_size": len(idx),
                                  "epochs": int(epochs), "seconds": None}
            bar = st.progress(0.0, text="starting…")
            slot = st.empty()
            t0 = time.perf_counter()
            racing.race(names, data.x_train[idx], data.y_train[idx], data.x_test, data.y_test, lrs=lrs,
                        hidden=int(hidden), batch_size=batch_size, epochs=int(epochs), seed=int(seed),
                        callbacks_for=run_callbacks(bar, slot, run["results"], names, lrs, batch_size))
            run["status"], run["seconds"] = "done", time.perf_counter() - t0
            bar.empty()
            slot.empty()
        run = page["race"]
        results = {k: r for k, r in run["results"].items() if r.history.epochs}
        if run["status"] == "recorded":
            cfg = racing.DEFAULT_RACE
            playground.checkpoint_caption(
                SHIPPED, f"the default race ({', '.join(f'{n} {DEFAULT_LR[n]:g}' for n in cfg['names'])}; "
                         f"{cfg['train_size']:,} images, batch {cfg['batch_size']}, {cfg['epochs']} epochs, seed "
                         f"{cfg['seed']}); wall times are the recording machine's",
                action="Press **Run race** to race them live with your own settings.")
        elif run["status"] == "stopped":
            st.warning("Stopped: showing the epochs that finished.")
        elif run["seconds"] is not None:
            playground.took(run["seconds"], "Run race")
        st.caption(f"Training on {run['train_size']:,} images, batch size {run['batch']}; test set "
                   f"{len(data.x_test):,} images. Train loss and accuracy are measured on the whole training "
                   "subset after each epoch; the wall-time curves include that evaluation and the test set's.")
        table = racing.results_table(results)
        if table:
            show = [{**r, "learning rate": f"{r['learning rate']:g}"} for r in table]
            st.dataframe(show, hide_index=True, key=page.key("race_table"), column_config=_RESULT_COLUMNS)
            best = max(results, key=lambda k: results[k].history.val_acc[-1])
            best_acc = results[best].history.val_acc[-1]
            cols = st.columns(3)
            cols[0].metric("Best test accuracy", fmt_pct(best_acc, 2), help=best)
            cols[1].metric("Fastest run", f"{fmt_num(min(r.history.wall_time[-1] for r in results.values()))} s")
            cols[2].metric("Optimizers finished",
                           f"{sum(r.history.epochs == run['epochs'] for r in results.values())}/{len(results)}")
            # A finished run's figures are kept in its own dict: the settings above only shape the next run.
            playground.show_kept_figure(run, "curves", lambda: curves(results))
            record = optimization.load_record()
            adam = record["race"]["Adam"]["test_acc"]
            playground.post_vs_measured(
                post="Adam gets to “99% accuracy on MNIST in seconds”.",
                measured=f"the best run above ({best}) reaches {fmt_pct(best_acc, 2)} after "
                         f"{results[best].history.epochs} epochs on {run['train_size']:,} images; this 784-128-10 "
                         f"MLP with Adam on all {record['train_images']:,} training images gets {fmt_pct(adam[-1], 2)} "
                         f"after {len(adam)} epochs (README). 99% takes a convolutional network (chapter 06).")
            st.subheader("Sample test predictions")
            c1, c2 = st.columns([1, 2])
            which = c1.selectbox("Model", list(results), key=page.key("pred_model"))
            only_mistakes = c2.checkbox("Only mistakes", key=page.key("pred_mistakes"),
                                        help="The first 16 test images this model gets wrong.")
            predictions = run.setdefault("predictions", {})       # a finished run's models do not change
            if which not in predictions:
                predictions[which] = results[which].model.predict(data.x_test).argmax(axis=1)
            pred = predictions[which]
            wrong = np.flatnonzero(pred != data.y_test)
            if only_mistakes:
                show_idx = wrong[:16]
            else:
                show_idx = np.random.default_rng(0).choice(len(data.x_test), 16, replace=False)
            st.metric(f"{which}: test mistakes", f"{len(wrong):,} of {len(data.x_test):,}")
            if len(show_idx):
                playground.show_kept_figure(run, ("grid", which, only_mistakes), lambda: image_grid(
                    data.x_test[show_idx], data.y_test[show_idx], pred[show_idx], ncols=16, size=0.8))
                st.caption("Red titles are mistakes: predicted (true).")

# ------------------------------------------------------------------------------------- loss landscape
@st.cache_data(show_spinner=False, max_entries=64)
def landscape_paths(fkey: str, names: tuple, scale: float, sx: float, sy: float, steps: int) -> dict:
    """Each optimizer's ``Trajectory`` on the surface (pure: cached per setting)."""
    fn = land.FUNCTIONS[fkey]
    return {n: land.trajectory(fn, n, lr=fn.lrs[n] * scale, start=(sx, sy), steps=steps) for n in names}


@st.cache_data(show_spinner=False)
def surface_grid(fkey: str):
    """The contour grid of a surface: x, y and log(f − min f + 10⁻³), (200, 200) each."""
    fn = land.FUNCTIONS[fkey]
    gx, gy = np.meshgrid(np.linspace(*fn.xlim, 200), np.linspace(*fn.ylim, 200))
    z = fn.f(np.stack([gx, gy], axis=-1))
    return gx, gy, np.log(z - z.min() + 1e-3)


@st.cache_data(show_spinner=False)
def surface_image(fkey: str) -> str:
    """The surface's shading (40 levels of log(f − min f), alpha 0.55) and 20 contour lines, drawn once per
    surface by Matplotlib without axes, as a PNG data URL: the background the browser draws the paths on."""
    fn = land.FUNCTIONS[fkey]
    gx, gy, logz = surface_grid(fkey)
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.contourf(gx, gy, logz, levels=40, cmap="viridis", alpha=0.55)
    ax.contour(gx, gy, logz, levels=20, colors="k", linewidths=0.4, alpha=0.5)
    ax.set_xlim(*fn.xlim)
    ax.set_ylim(*fn.ylim)
    ax.axis("off")
    return plots.png_data_url(playground.figure_png(fig, dpi=100))


#: a five-pointed star for the minima (Vega-Lite takes an SVG path as a point's shape)
STAR = "M0,-1L0.24,-0.33L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.33Z"


def landscape_chart(fkey: str, trs: dict, start: tuple[float, float]) -> dict:
    """The surface with each optimizer's path, its minima and the start: a Vega-Lite chart (a Matplotlib
    figure of the contours took ~0.3 s on every change of the tab's controls; now the background is drawn
    once per surface and the browser draws the paths)."""
    fn = land.FUNCTIONS[fkey]
    marks = ["global minimum"] + (["local minimum"] if len(fn.minima) > 1 else []) + ["start"]
    domain = list(trs) + marks
    colour = {"field": "what", "type": "nominal", "title": None,
              "scale": {"domain": domain, "range": [color(n) for n in domain]}}
    x = {"field": "x", "type": "quantitative"}
    y = {"field": "y", "type": "quantitative"}
    layers = [plots.image_layer(surface_image(fkey), (*fn.xlim, *fn.ylim), xlabel="x", ylabel="y", smooth=True)]
    for n, tr in trs.items():
        pts = np.asarray(tr.points, dtype=np.float64)
        rows = [{"i": i, "x": float(a) if np.isfinite(a) else None, "y": float(b) if np.isfinite(b) else None,
                 "what": n} for i, (a, b) in enumerate(pts)]
        layers.append({"data": {"values": rows},
                       "mark": {"type": "line", "strokeWidth": 1.6, "clip": True, "point": len(pts) < 80},
                       "encoding": {"x": x, "y": y, "order": {"field": "i", "type": "quantitative"},
                                    "color": colour}})
    spots = [{"x": float(m[0]), "y": float(m[1]), "what": "global minimum" if i == 0 else "local minimum",
              "size": 260 if i == 0 else 140} for i, m in enumerate(fn.minima)]
    layers.append({"data": {"values": spots},
                   "mark": {"type": "point", "shape": STAR, "filled": True, "stroke": "black", "strokeWidth": 0.8,
                            "opacity": 1},
                   "encoding": {"x": x, "y": y, "color": colour,
                                "size": {"field": "size", "type": "quantitative", "legend": None, "scale": None}}})
    layers.append({"data": {"values": [{"x": float(start[0]), "y": float(start[1]), "what": "start"}]},
                   "mark": {"type": "point", "filled": True, "size": 60, "opacity": 1},
                   "encoding": {"x": x, "y": y, "color": colour}})
    return {"layer": layers, "height": 420, "title": {"text": f"{fn.name}; shading = log(f − min f)", "fontSize": 12}}


def landscape_display_rows(rows: list[dict]) -> list[dict]:
    """The diagnostics table as shown: every float through ``fmt_num`` (tiny values in scientific
    notation: a column of 1e-15 values would otherwise be cut to its last digits)."""
    return [{k: (f"{v:g}" if k == "lr" else fmt_num(v) if isinstance(v, float) else v) for k, v in r.items()}
            for r in rows]


@st.fragment
def landscape_view():
    """The surface, its paths and their diagnostics: its controls rerun only this view."""
    c1, c2, c3 = st.columns([2, 3, 2])
    fkey = c1.selectbox("Surface", list(land.FUNCTIONS), format_func=lambda k: land.FUNCTIONS[k].name,
                        key=page.key("land_fn"), persist_state="page")
    fn = land.FUNCTIONS[fkey]
    chosen = c2.multiselect("Optimizers on the surface", land.OPTIMIZER_NAMES,
                            default=["SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam"],
                            key=page.key("land_opts"), persist_state="page",
                            help="AdamW equals Adam here: weight decay only acts on weight matrices.")
    scale = c3.select_slider("Learning-rate scale", [0.25, 0.5, 1.0, 2.0, 4.0], value=1.0,
                             key=page.key("land_scale"), persist_state="page", format_func=lambda v: f"×{v:g}",
                             help="Multiplies every optimizer's learning rate for this surface (table below).")
    c4, c5, c6 = st.columns(3)
    sx = c4.number_input("Start x", float(fn.xlim[0]), float(fn.xlim[1]), float(fn.start[0]), 0.1,
                         key=page.key(f"land_x_{fkey}"), persist_state="page")
    sy = c5.number_input("Start y", float(fn.ylim[0]), float(fn.ylim[1]), float(fn.start[1]), 0.1,
                         format="%.3f", key=page.key(f"land_y_{fkey}"), persist_state="page")
    steps = c6.slider("Steps on the surface", 10, 3000, fn.steps, key=page.key(f"land_steps_{fkey}"),
                      persist_state="page")
    st.caption(fn.about)
    trs = landscape_paths(fkey, tuple(chosen), float(scale), float(sx), float(sy), int(steps))

    st.vega_lite_chart(landscape_chart(fkey, trs, (sx, sy)), width="stretch")

    rows = land.trajectory_table(fn, trs)
    st.dataframe(landscape_display_rows(rows), hide_index=True, key=page.key("land_table"))
    notes = []
    for row, (n, tr) in zip(rows, trs.items()):
        fx, fy = (int(v) for v in row["zig-zags x/y"].split("/"))
        cx, cy = (int(v) for v in row["crossings x/y"].split("/"))
        nsteps = len(tr.points) - 1
        if tr.diverged:
            notes.append(f"**{n}** diverged: its learning rate is too large for this curvature.")
            continue
        if max(fx, fy) > nsteps / 3:
            notes.append(f"**{n}** zig-zags: its steps reversed direction {max(fx, fy)} times in {nsteps}.")
        elif max(cx, cy) >= 2:
            notes.append(f"**{n}** overshoots: it crossed the minimum's x / y coordinate {cx} / {cy} times "
                         "before settling.")
        if tr.steps_to_min is None and row["final distance"] > 0.1 and row["last step"] < 1e-3:
            notes.append(f"**{n}** stalls: still {fmt_num(row['final distance'])} from a minimum, moving "
                         f"{fmt_num(row['last step'])} per step.")
        if len(fn.minima) > 1 and row["ends in"] != "global min":
            notes.append(f"**{n}** ends in {row['ends in']}, not the deepest one.")
    st.markdown("**What the runs show**\n\n" + ("\n".join(f"- {s}" for s in notes) or "- every optimizer "
                "reached a minimum without zig-zags, overshoots or stalls at these settings."))
    st.caption("Columns: zig-zags = times consecutive steps reversed along x / y; crossings = times the path "
               "crossed the final minimum's x / y coordinate (overshoots); last step = mean step length over "
               "the last 10 steps. What to try: on the bowl set the scale ×2 (SGD diverges: lr·20 > 2); on "
               "the saddle start at y = 0 exactly (no method escapes: the gradient along y is exactly 0); on "
               "the wells move the start and see which basin each optimizer picks.")


if tab_land.open:
    with tab_land:
        landscape_view()

# -------------------------------------------------------------------------- batch vs stochastic vs mini-batch
if tab_batch.open:
    with tab_batch:
        st.markdown("A mini-batch gradient is a noisy estimate of the full-batch one. Its variance is measured "
                    "below at the initial weights, against the exact law for sampling without replacement, "
                    "E‖g_B − ḡ‖² = (σ²/B)·(N−B)/(N−1), with σ² computed from every per-example gradient.")
        c1, c2, c3, c4 = st.columns(4)
        n_sweep = c1.select_slider("Training images for noise and sweep", [250, 500, 1000, 2000, 5000], value=1000,
                                   key=page.key("sweep_n"), persist_state="page")
        sizes = c2.multiselect("Batch sizes", list(BATCH_OPTIONS), default=["1", "16", "64", "full batch"],
                               key=page.key("sweep_sizes"), persist_state="page")
        sweep_lr = c3.select_slider("SGD learning rate for every batch size", LR_GRID, value=0.1,
                                    key=page.key("sweep_lr"),
                                    persist_state="page", format_func=lambda v: f"{v:g}")
        sweep_epochs = c4.slider("Epochs per batch size", 1, 10, 3, key=page.key("sweep_epochs"), persist_state="page")
        rng = np.random.default_rng(0)
        sub = rng.permutation(len(data.x_train))[:n_sweep]
        Xs, ys = data.x_train[sub], data.y_train[sub]

        if sizes:
            rows, sigma2, gnorm2 = noise_table(n_sweep, tuple(sizes), Xs, ys)
            m1, m2 = st.columns(2)
            m1.metric("σ² (spread of single-example gradients)", fmt_num(sigma2))
            m2.metric("‖ḡ‖² (the full-batch gradient's own size)", fmt_num(gnorm2))
            st.dataframe([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
                         hide_index=True, key=page.key("noise_table"))
            st.image(noise_png(n_sweep, tuple(sizes), Xs, ys))
            st.caption("Noise falls like 1/B, cost per update grows with B (sub-linearly, since NumPy "
                       "vectorises over the batch): small batches buy many cheap noisy steps, large ones few "
                       "expensive accurate steps. The post's “1000× faster” (30 s vs 0.03 s per update) is per "
                       "update, about the ratio of the work N/B; per epoch, the column that counts, an epoch of "
                       "small batches costs about as much as one full-batch update (README: measured on all "
                       "60,000 images).")

            c_run, c_stop = st.columns(2)
            go = c_run.button("Train with each batch size", type="primary", key=page.button_key("sweep_run"))
            c_stop.button("Stop sweep", key=page.button_key("sweep_stop"),
                          help="Stops after the current mini-batch; finished epochs are kept.")
            if go:
                page["sweep"] = run = {"results": {}, "status": "running", "seconds": None}
                labels = [racing.batch_label(BATCH_OPTIONS[s]) for s in sizes]
                bar = st.progress(0.0, text="starting…")
                slot = st.empty()
                t0 = time.perf_counter()
                racing.batch_size_sweep([BATCH_OPTIONS[s] for s in sizes], Xs, ys, data.x_test, data.y_test,
                                        optimizer="SGD", lr=sweep_lr, epochs=int(sweep_epochs),
                                        callbacks_for=run_callbacks(bar, slot, run["results"], labels,
                                                                    {lab: sweep_lr for lab in labels}, None))
                run["status"], run["seconds"] = "done", time.perf_counter() - t0
                bar.empty()
                slot.empty()
            sweep = page["sweep"]
            if sweep is not None:
                res = {k: r for k, r in sweep["results"].items() if r.history.epochs}
                if sweep["status"] == "stopped":
                    st.warning("Stopped: showing the epochs that finished.")
                elif sweep.get("seconds") is not None:
                    playground.took(sweep["seconds"], "Train with each batch size")
                st.dataframe([{**r, "learning rate": f"{r['learning rate']:g}"}
                              for r in racing.results_table(res, first_column="batch size")], hide_index=True,
                             key=page.key("sweep_table"), column_config=_RESULT_COLUMNS)
                # A finished sweep's figures are kept with it: the settings above only shape the next sweep.
                playground.show_kept_figure(sweep, "curves", lambda: curves(res))
                playground.show_kept_figure(sweep, "batch loss", lambda: batch_loss_figure(res))
                st.caption("Per update, batch 1 is the noisiest; per epoch it makes the most updates. Full batch "
                           "makes one smooth step per epoch. The same learning rate does not suit every batch size: "
                           "at 0.1, batch 1 is too noisy to settle (try 0.01) and full batch too slow (try 1.0).")

# ---------------------------------------------------------------------------------------------- EWMA
@st.cache_data(show_spinner=False)
def adam_steps(steps: int, beta2: float):
    """Adam's measured step sizes on a constant gradient 0.5, with and without bias correction."""
    g = np.full(steps, 0.5)
    return (adam_bc.adam_step_sizes(g, lr=1e-3, beta2=beta2),
            adam_bc.adam_step_sizes(g, lr=1e-3, beta2=beta2, bias_correction=False))


@st.cache_data(show_spinner=False, max_entries=128)
def ewma_chart(beta: float, corrected: bool, kind: str, noise_level: float) -> dict:
    """The noisy series (seed 0), its signal and its EWMA (raw, and corrected when asked), as a Vega-Lite
    chart the browser draws (a Matplotlib figure took ~0.3 s for each new setting): pure in its arguments."""
    clean, noisy = ewma.noisy_series(300, np.random.default_rng(0), kind=kind, noise=noise_level)
    t = np.arange(len(noisy))
    series = {"noisy series": (t, noisy), "signal": (t, clean), f"EWMA β={beta:g}": (t, ewma.ewma(noisy, beta))}
    colors = {"noisy series": color("observations"), "signal": color("reference"), f"EWMA β={beta:g}": color("ewma")}
    if corrected:
        series["EWMA / (1 − βᵗ)"] = (t, ewma.ewma(noisy, beta, bias_correction=True))
        colors["EWMA / (1 − βᵗ)"] = color("bias-corrected")
    return plots.lines_spec(series, colors=colors, styles={"noisy series": "points", "signal": "dashed"},
                            x_title="t", height=340)


@st.cache_data(show_spinner=False, max_entries=64)
def adam_chart(steps: int, beta2: float) -> dict:
    """Adam's measured step sizes with and without bias correction against the formula (a Vega-Lite chart)."""
    with_bc, without = adam_steps(steps, beta2)
    t = np.arange(1, len(with_bc) + 1)
    series = {"Adam (bias-corrected), measured": (t, with_bc / 1e-3),
              "Adam without correction, measured": (t, without / 1e-3),
              "(1−β₁ᵗ)/√(1−β₂ᵗ)": (t, adam_bc.uncorrected_step_factor(t, 0.9, beta2))}
    colors = dict(zip(series, (color("adam"), color("no bias correction"), color("reference"))))
    return plots.lines_spec(series, colors=colors, styles={"(1−β₁ᵗ)/√(1−β₂ᵗ)": "dotted"}, x_title="step t",
                            y_title="|Δθ| / η", x_log=True, height=320)


@st.fragment
def ewma_view():
    """The EWMA and Adam views: their sliders rerun only this fragment."""
    c1, c2, c3, c4 = st.columns(4)
    beta = c1.select_slider("β", [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999], value=0.9,
                            key=page.key("ewma_beta"), persist_state="page",
                            help="Weight on the past; the average spans about 1/(1−β) values.")
    corrected = c2.checkbox("Bias correction", value=True, key=page.key("ewma_bc"), persist_state="page",
                            help="Divide by 1 − βᵗ, the sum of the weights so far.")
    kind = c3.selectbox("Series", ewma.SERIES_KINDS, key=page.key("ewma_kind"), persist_state="page")
    noise_level = c4.slider("Noise", 0.0, 2.0, 0.5, 0.1, key=page.key("ewma_noise"), persist_state="page")
    clean, noisy = ewma.noisy_series(300, np.random.default_rng(0), kind=kind, noise=noise_level)
    raw = ewma.ewma(noisy, beta)
    cor = ewma.ewma(noisy, beta, bias_correction=True)
    window = ewma.effective_window(beta)
    k = min(300, max(1, int(round(window))))
    m = st.columns(4)
    m[0].metric("Effective window 1/(1−β)", fmt_num(window))
    m[1].metric("v₁ (first average)", fmt_num(raw[0]), help=f"x₁ = {fmt_num(noisy[0])}; v₁ = (1−β)·x₁")
    m[2].metric(f"Mean |error| first {k} steps, raw", fmt_num(np.mean(np.abs(raw[:k] - clean[:k]))))
    m[3].metric(f"Mean |error| first {k} steps, corrected", fmt_num(np.mean(np.abs(cor[:k] - clean[:k]))))
    st.vega_lite_chart(ewma_chart(float(beta), bool(corrected), kind, float(noise_level)), width="stretch")
    st.caption(f"What to try: β = 0.99 on the constant series: the raw average starts at 0, is at "
               f"{fmt_pct(1 - 0.99 ** 100, 0)} of the level after 100 steps (1 − 0.99¹⁰⁰) and needs "
               f"{ewma.steps_to_reach(0.95, 0.99)} steps to reach 95%; the corrected one is right from t = 1. "
               "On the step series, a large β lags behind the jump by about the effective window.")

    st.subheader("Why Adam needs it")
    st.markdown("Adam keeps an EWMA of the gradient (β₁) and of its square (β₂). On a constant gradient the "
                "corrected step is exactly η. Without correction it is η(1−β₁ᵗ)/√(1−β₂ᵗ): v's average starts "
                "further from its target than m's, so the early steps are several times too **large**.")
    d1, d2 = st.columns(2)
    b2 = d1.select_slider("β₂", [0.9, 0.99, 0.999, 0.9999], value=0.999, key=page.key("adam_b2"),
                          persist_state="page")
    steps_a = d2.slider("Steps of a constant gradient", 50, 2000, 300, key=page.key("adam_steps"), persist_state="page")
    with_bc, without = adam_steps(int(steps_a), float(b2))
    e1, e2 = st.columns(2)
    e1.metric("Largest uncorrected step / η (measured)", fmt_num(without.max() / 1e-3),
              help=f"at step {int(np.argmax(without)) + 1}")
    e2.metric("Corrected step / η (measured)", fmt_num(with_bc.max() / 1e-3, 4))
    st.vega_lite_chart(adam_chart(int(steps_a), float(b2)), width="stretch")


if tab_ewma.open:
    with tab_ewma:
        ewma_view()
