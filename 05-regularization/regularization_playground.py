"""Playground for chapter 05: open a generalization gap on purpose, then close it with dropout, L2, weight
decay, early stopping and augmentation.

    streamlit run 05-regularization/regularization_playground.py      (or open it from the hub: streamlit run app.py)
"""

import time

import numpy as np
import streamlit as st
from matplotlib.ticker import MaxNLocator

import augmentation
import dropout_ensemble
import overfitting as ovf
from common import playground
from common.playground import PageState
from common.plots import color, fmt_num, fmt_pct, heatmap_spec, image_grid, new_figure
from common.training import Live, ProgressCallback

playground.chapter_header(
    5, "A wide MLP (784 → 256 → 10 by default) trained with Adam on a small MNIST subset memorises it. Every "
       "curve here is a real run; the test set is only reported, early stopping watches a separate validation "
       "split of 1,000 training images.")
data = playground.mnist()
page = PageState("ch05", runs=None, compare=None, cleared=False)

LAMBDAS = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
PENALTY_LABELS = {"none": "none", "l2": "L2 penalty λ/2·‖W‖² (coupled)",
                  "decoupled": "decoupled weight decay (AdamW)"}
VAL_SIZE = ovf.PAGE_VAL_SIZE

def make_splits(train_size: int, seed: int) -> ovf.Splits:
    """The page's data (``overfitting.page_splits``): the training subset, 1,000 validation images, all test
    images; views of the shared read-only arrays."""
    return ovf.page_splits(data.x_train, data.y_train, data.x_test, data.y_test, train_size, seed)


def mark_interrupted(runs):
    """Runs still flagged "running" at the top of a new script run were interrupted by that rerun."""
    for run in runs:
        if run.status == "running":
            run.status = "stopped"


def train(configs, bar, store: list, live=None, track_curves: bool = True):
    """Run each configuration, appending its live RegRun to ``store`` as it starts (``run_experiment`` keeps
    the live History on it through ``common.training.Live``, so partial results survive a Stop or any rerun).
    ``live(store)`` redraws the page's live chart after every epoch. Returns the seconds it took."""
    splits = make_splits(configs[0].train_size, configs[0].seed)
    t0, last = time.perf_counter(), [-np.inf]

    def throttled(runs):
        """The live chart after an epoch, at most every 0.3 s (a redraw costs ~20 ms; the full figure
        follows the run)."""
        if time.perf_counter() - last[0] >= 0.3:
            last[0] = time.perf_counter()
            live(runs)

    for i, cfg in enumerate(configs):
        def report(frac, msg, i=i, cfg=cfg):
            bar.progress(min(1.0, (i + frac) / len(configs)), text=f"{cfg.label()}: {msg}")

        def start(run):
            run.status = "running"
            store.append(run)

        cbs = [ProgressCallback(report)]
        if live is not None:
            cbs.append(Live(on_update=lambda _state: throttled(store)))
        run = ovf.run_experiment(cfg, splits, callbacks=cbs, on_start=start, track_curves=track_curves)
        run.status = "done"
    bar.empty()
    return time.perf_counter() - t0


def finish_partial(run):
    if run.status == "stopped" and np.isnan(run.final_test_acc) and run.history.epochs:
        splits = make_splits(run.config.train_size, run.config.seed)
        run.finish(splits.X_train[:run.config.train_size], splits.y_train[:run.config.train_size], splits)


def best_epoch_of(run) -> int:
    """The epoch early stopping restored, or (without it) the epoch of lowest validation loss."""
    if run.best_epoch is not None:
        return run.best_epoch
    return int(np.argmin(run.history.val_loss))


def concept(cfg) -> str:
    """The palette's name for one of the Weights tab's four runs."""
    if cfg.dropout and cfg.lam:
        return "dropout + l2"
    return "dropout" if cfg.dropout else ("l2" if cfg.lam else "no regularization")


def gap_figure(run):
    h = run.history
    n = min(h.epochs, len(run.test_acc))
    ep = np.arange(1, n + 1)
    tr, te = 100 * np.asarray(h.train_acc[:n]), 100 * np.asarray(run.test_acc[:n])
    best = best_epoch_of(run) + 1
    fig, (a1, a2) = new_figure(1, 2, size=(4.6, 3.4))
    a1.plot(ep, tr, "-o", ms=3, color=color("train"), label="train (eval mode)")
    a1.plot(ep, te, "-s", ms=3, color=color("test"), label="test")
    a1.fill_between(ep, te, tr, where=tr >= te, color=color("test"), alpha=0.15, label="generalization gap")
    a1.axvline(best, color=color("reference"), ls=":", label=f"best epoch ({best})")
    a1.set_ylabel("accuracy %")
    a2.plot(ep, h.train_loss[:n], "-o", ms=3, color=color("train"), label="train loss")
    a2.plot(ep, h.val_loss[:n], "-^", ms=3, color=color("validation"), label="validation loss")
    a2.plot(ep, run.test_loss[:n], "-s", ms=3, color=color("test"), label="test loss")
    a2.axvline(best, color=color("reference"), ls=":")
    a2.set_yscale("log")
    a2.set_ylabel("cross-entropy")
    for ax in (a1, a2):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = a1.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="outside right upper", fontsize=8)
    return fig


def weights_figure(cmp_runs):
    """First-layer weight histograms and ‖W₁‖ per epoch of the comparison's runs, one legend beside them."""
    fig, (a1, a2) = new_figure(1, 2, size=(4.6, 3.4))
    lim = max(float(np.abs(r.first_layer_weights()).max()) for r in cmp_runs)
    bins = np.linspace(-lim, lim, 121)
    for r in cmp_runs:
        c = color(concept(r.config))
        a1.hist(r.first_layer_weights().astype(np.float64).ravel(), bins=bins, histtype="step", lw=1.4,
                color=c, label=r.config.label())
        a2.plot(np.arange(1, len(r.w1_norm) + 1), r.w1_norm, "-o", ms=3, color=c, label=r.config.label())
    a1.set_yscale("log")
    a1.set_xlabel("first-layer weight")
    a1.set_ylabel("count")
    a2.set_xlabel("epoch")
    a2.xaxis.set_major_locator(MaxNLocator(integer=True))
    a2.set_ylabel("‖W₁‖ (Frobenius)")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    fig.legend(*a1.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return fig


def masks_chart(p: float, steps: int) -> dict:
    """Dropout up close: the masks of ``steps`` training steps on 16 units, as a Vega-Lite heat map (a
    Matplotlib figure took ~0.2 s for each new setting)."""
    masks = dropout_ensemble.dropout_masks(p, (1, 16), steps, np.random.default_rng(0))[:, 0, :]
    return heatmap_spec(masks, xlabels=range(1, 17), ylabels=[f"step {i + 1}" for i in range(steps)], fmt=".2f",
                        cmap="Greys", vmin=0, xlabel="hidden unit", legend=False, cell=40,
                        title=f"Dropout multipliers on 16 units: black = kept, ×{fmt_num(1 / (1 - p))}; "
                              "white = dropped, ×0")


@st.cache_data(max_entries=64, show_spinner=False)
def dropout_measured(p: float, draws: int, x: np.ndarray) -> tuple[dict, bytes]:
    """Dropout up close: ``dropout_expectation`` on the hidden activations of ``x`` (ReLU of the first layer
    at its seed-0 initial weights) and its scatter plot as PNG bytes (pure in its arguments: cached). A
    picture, not a Vega-Lite chart: its 4,096 points took the browser ~0.25 s to draw on every rerun."""
    model = ovf.build_model(np.random.default_rng(0), hidden=64)
    acts = model.layers[1].forward(model.layers[0].forward(x))
    res = dropout_ensemble.dropout_expectation(acts, p, draws, np.random.default_rng(1))
    fig, ax = new_figure(size=(5.0, 3.2))
    ev = res["eval"].ravel()
    ax.scatter(ev, res["mean_train"].ravel(), s=6, color=color("dropout"), label="inverted dropout: mean over passes")
    ax.scatter(ev, (1 - p) * res["mean_train"].ravel(), s=6, color=color("unscaled"), label="without scaling")
    ax.plot([0, ev.max()], [0, ev.max()], ":", color=color("reference"), lw=1, label="equal")
    ax.set_xlabel("evaluation-time activation")
    ax.set_ylabel("training-time activation, averaged")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return res, playground.figure_png(fig)


def post_claim() -> tuple[str, str]:
    """The post's long-run claim and what this code measured at its scale (the README's record)."""
    run = next(r for r in ovf.load_blog_scale()["runs"] if r["dropout"] == 0.0)
    acc = run["test_acc"]
    best = int(np.argmax(acc))
    return ("test accuracy peaks near 97% around epoch 50, then drops to 96.1% by epoch 200 (gap 3.85 points).",
            f"at the post's scale (784-128-10, {run['config']['train_size']:,} images, README): best "
            f"{fmt_pct(acc[best], 2)} at epoch {best + 1}, {fmt_pct(acc[-1], 2)} at epoch {len(acc)}, gap "
            f"{fmt_num(100 * (run['train_acc'][-1] - acc[-1]))} points; what rises is the test and validation loss.")


def weight_rows(runs) -> list[dict]:
    """The Weights tab's table: per run its first layer's size and the final accuracies."""
    rows = []
    for r in runs:
        W = r.first_layer_weights().astype(np.float64)
        rows.append({"configuration": r.config.label(), "epochs": r.history.epochs,
                     "‖W₁‖": round(float(np.linalg.norm(W)), 2), "std of W₁": fmt_num(float(W.std())),
                     "|w| < 0.01 %": round(100 * float(np.mean(np.abs(W) < 0.01)), 1),
                     "test acc %": round(100 * r.final_test_acc, 2), "gap (points)": round(100 * r.gap, 2)})
    return rows


def gap_spread_sentence(rows) -> str:
    """What the shown table measures about the gap: the first run's (no penalty, no dropout) against the
    others', in the table's own numbers."""
    base, others = rows[0], rows[1:]
    if not others:
        return f"the gap is {base['gap (points)']:.2f} points ({base['configuration']})."
    gaps = [r["gap (points)"] for r in others]
    moved = max(abs(g - base["gap (points)"]) for g in gaps)
    best = max(rows, key=lambda r: r["test acc %"])
    return (f"in the table above the gap is {base['gap (points)']:.2f} points for {base['configuration']} and "
            f"{min(gaps):.2f}–{max(gaps):.2f} points with L2, dropout or both: they move it by at most "
            f"{moved:.2f} points. The best test accuracy is {best['test acc %']:.2f}% ({best['configuration']}).")


if page["runs"] is None or (not page["runs"] and not page.get("cleared")):   # first load: the shipped run
    page["runs"] = [ovf.load_run(ovf.DEFAULT_CHECKPOINT)]
if page["compare"] is None:
    page["compare"] = [ovf.load_run(ovf.compare_checkpoint(k)) for k in ovf.COMPARE_KINDS]
mark_interrupted(page["runs"])
mark_interrupted(page["compare"])

tab_over, tab_weights, tab_drop = st.tabs(["Overfitting", "Weights", "Dropout up close"], key=page.key("tab"),
                                          on_change="rerun")

# ---------------------------------------------------------------------------------------- overfitting
if tab_over.open:
    with tab_over:
        st.markdown("Set the network, the data and the regularizers, then **Train**; each run is added to the "
                    "table below. Try: the default run first (shown on arrival: the network memorises 1,000 "
                    "images, train accuracy 100%, test about 90%); then switch on augmentation, then early "
                    "stopping, then dropout 0.5.")
        c1, c2, c3, c4 = st.columns(4)
        hidden = c1.select_slider("Hidden units", [64, 128, 256, 512, 1024], value=256, key=page.key("hidden"),
                                  help="More units, more capacity to memorise.")
        train_size = c2.select_slider("Training images", [250, 500, 1000, 2000, 5000, 10000, 30000, 58000],
                                      value=1000, key=page.key("train_size"), format_func=lambda v: f"{v:,}",
                                      help="The fewer images, the easier to memorise and the wider the gap.")
        epochs = c3.slider("Epochs", 5, 200, 30, key=page.key("epochs"),
                           help="Longer training keeps pushing train loss down.")
        batch_size = c4.select_slider("Batch size", [16, 32, 64, 128], value=32, key=page.key("batch_size"))
        c1, c2, c3, c4 = st.columns(4)
        dropout = c1.slider("Dropout rate p", 0.0, 0.8, 0.0, 0.1, key=page.key("dropout"),
                            help="Each hidden unit is zeroed with probability p in training; survivors are "
                                 "scaled by 1/(1-p).")
        penalty = c2.radio("Weight penalty", list(PENALTY_LABELS), format_func=PENALTY_LABELS.get,
                           key=page.key("penalty"),
                           help="L2 adds λW to every weight matrix's gradient (the gradient of λ/2·‖W‖²; the post "
                                "writes λ·Σw² with gradient λw, which drops a factor 2), and Adam then rescales "
                                "it; decoupled decay shrinks W by the factor (1 - ηλ) beside the Adam step.")
        lam = c3.select_slider("λ", LAMBDAS, value=1e-3 if penalty == "l2" else 0.1, key=page.key(f"lam_{penalty}"),
                               format_func=lambda v: f"{v:g}", disabled=penalty == "none",
                               help="Off while the weight penalty is none.")
        seed = c4.number_input("Seed", 0, 10_000, 0, key=page.key("seed"),
                               help="Same seed, same initial weights for every run.")
        c1, c2, c3, _ = st.columns(4)
        augment = c1.toggle("Augmentation (±2 px shifts, ±15° rotations)", value=False, key=page.key("augment"),
                            help="Each training image is moved a little, differently every time it is seen.")
        early = c2.toggle("Early stopping (restore best)", value=False, key=page.key("early"),
                          help="Stop when the validation loss has not improved for `patience` epochs and put "
                               "back the best epoch's weights.")
        patience = c3.slider("Patience", 1, 20, 5, key=page.key("patience"), disabled=not early,
                             help="Off while early stopping is off.")
        config = ovf.RegConfig(hidden=int(hidden), dropout=float(dropout), penalty=penalty,
                               lam=float(lam) if penalty != "none" else 0.0, augment=bool(augment),
                               early_stopping=bool(early), patience=int(patience), epochs=int(epochs),
                               train_size=int(train_size), batch_size=int(batch_size), seed=int(seed))
        n_used = min(config.train_size, len(data.x_train) - VAL_SIZE)
        st.caption(f"Current settings: **{config.label()}**, {config.hidden} hidden units, {n_used:,} training "
                   f"images, {config.epochs} epochs.")
        c1, c2, c3 = st.columns(3)
        go = c1.button("Train", type="primary", key=page.button_key("train"))
        c2.button("Stop training", key=page.button_key("stop"),
                  help="Stops after the current mini-batch; finished epochs are kept.")
        if c3.button("Clear runs", key=page.button_key("clear")):
            page["runs"], page["cleared"] = [], True
        if go:
            bar = st.progress(0.0, text="starting…")
            slot = st.empty()

            def live(store):
                r = store[-1]
                n = min(r.history.epochs, len(r.test_acc))
                playground.live_chart(slot, {"train": [100 * a for a in r.history.train_acc[:n]],
                                  "test": [100 * a for a in r.test_acc[:n]]}, "accuracy %",
                           {"train": "train", "test": "test"})
            page["train_seconds"] = train([config], bar, page["runs"], live)
            slot.empty()
        runs = [r for r in page["runs"] if r.history.epochs]
        for r in runs:
            finish_partial(r)
        if not runs:
            st.info("No run yet: press **Train** (the default run takes a few seconds).")
        else:
            run = runs[-1]
            if run.status == "recorded":
                playground.checkpoint_caption(
                    ovf.DEFAULT_CHECKPOINT, "the default run (784-256-10, 1,000 images, 30 epochs, batch 32, Adam "
                    "10⁻³, seed 0, no regularizer; its time is the recording machine's)")
            elif run.status == "stopped":
                st.warning(f"Stopped after {run.history.epochs} epochs: showing what finished.")
            elif go and page.get("train_seconds") is not None:
                playground.took(page["train_seconds"], "Train")
            m = st.columns(4)
            m[0].metric("Train accuracy", fmt_pct(run.final_train_acc, 2))
            m[1].metric("Test accuracy", fmt_pct(run.final_test_acc, 2))
            m[2].metric("Generalization gap", f"{fmt_num(100 * run.gap)} points")
            m[3].metric("Best epoch", str(best_epoch_of(run) + 1),
                        help="Restored by early stopping" if run.best_epoch is not None else "Lowest validation loss")
            # A finished run's pictures are kept with it: the settings above only shape the next run.
            playground.show_kept_figure(run, ("gap", run.status, run.history.epochs), lambda: gap_figure(run))
            band, advice = ovf.tuning_advice(run.gap)
            st.markdown(f"**The blog's tuning recipe** on the measured gap ({fmt_num(100 * run.gap)} points, band "
                        f"{band}): {advice}")
            playground.post_vs_measured(*post_claim())
            if run.history.stop_reason:
                st.caption(f"Stopped: {run.history.stop_reason}.")
            if run.config.augment:
                with st.expander("What augmentation does to a training digit"):
                    def draws():
                        layer = augmentation.RandomShiftRotate(np.random.default_rng(0))
                        x = np.repeat(make_splits(run.config.train_size, run.config.seed).X_train[:1], 12, axis=0)
                        return image_grid(np.concatenate([x[:1], layer.forward(x[1:], training=True)]),
                                          titles=["original"] + [f"draw {i}" for i in range(1, 12)], ncols=12,
                                          size=0.9)
                    playground.show_kept_figure(run, "augmentation", draws)
                    st.caption("Each time an image is used in training it gets a fresh random shift and rotation; "
                               "evaluation sees the original.")
            st.subheader("Runs this session")
            st.dataframe([{**r.summary(), "best epoch": best_epoch_of(r) + 1,
                           "configuration": r.config.label() + (" (shipped)" if r.status == "recorded" else "")}
                          for r in runs], hide_index=True)
            st.caption("Train accuracy is measured on the training images in evaluation mode (no dropout, no "
                       "augmentation), so the gap compares like with like. Best epoch: the one early stopping "
                       "restored, or else the one of lowest validation loss.")

# --------------------------------------------------------------------------------------------- weights
if tab_weights.open:
    with tab_weights:
        st.markdown("Four runs from the same initial weights: none, L2, dropout, and both. Augmentation and "
                    "early stopping, when switched on here, apply to all four.")
        d = ovf.COMPARE_DEFAULTS
        c1, c2, c3, c4 = st.columns(4)
        cmp_hidden = c1.select_slider("Hidden units in the comparison", [64, 128, 256, 512], value=256,
                                      key=page.key("compare_hidden"), persist_state="page")
        cmp_size = c2.select_slider("Training images in the comparison", [250, 500, 1000, 2000, 5000], value=1000,
                                    key=page.key("compare_size"), persist_state="page", format_func=lambda v: f"{v:,}")
        cmp_epochs = c3.slider("Epochs for each of the four runs", 5, 100, d["epochs"], key=page.key("compare_epochs"),
                               persist_state="page",
                               help=f"{d['epochs']} keeps the default comparison to about two seconds.")
        p_cmp = c4.slider("Dropout p in the comparison", 0.1, 0.8, d["dropout"], 0.1, key=page.key("compare_p"),
                          persist_state="page")
        c1, c2, c3, c4 = st.columns(4)
        lam_cmp = c1.select_slider("L2 λ in the comparison", LAMBDAS, value=d["lam"], key=page.key("compare_lam"),
                                   persist_state="page", format_func=lambda v: f"{v:g}")
        aug_cmp = c2.toggle("Augment all four runs", value=d["augment"], key=page.key("compare_augment"),
                            persist_state="page")
        early_cmp = c3.toggle("Early stopping in all four runs", value=d["early_stopping"],
                              key=page.key("compare_early"), persist_state="page")
        pat_cmp = c4.slider("Patience in the comparison", 1, 20, d["patience"], key=page.key("compare_patience"),
                            persist_state="page", disabled=not early_cmp, help="Off while early stopping is off.")
        base = ovf.RegConfig(hidden=int(cmp_hidden), train_size=int(cmp_size))
        configs = ovf.compare_configs(base, epochs=int(cmp_epochs), dropout=float(p_cmp), lam=float(lam_cmp),
                                      augment=bool(aug_cmp), early_stopping=bool(early_cmp), patience=int(pat_cmp))
        c1, c2 = st.columns(2)
        go = c1.button("Compare regularizers", type="primary", key=page.button_key("compare_run"))
        c2.button("Stop comparison", key=page.button_key("compare_stop"),
                  help="Stops after the current mini-batch; finished runs and epochs are kept.")
        if go:
            page["compare"] = []
            bar = st.progress(0.0, text="starting…")
            slot = st.empty()

            def live(store):
                playground.live_chart(slot, {r.config.label(): [100 * a for a in r.history.val_acc] for r in store},
                           "validation accuracy %", {r.config.label(): concept(r.config) for r in store})
            page["compare_seconds"] = train(configs, bar, page["compare"], live, track_curves=False)
            slot.empty()
        cmp_runs = [r for r in page["compare"] if r.history.epochs]
        for r in cmp_runs:
            finish_partial(r)
        if cmp_runs:
            if all(r.status == "recorded" for r in cmp_runs):
                playground.checkpoint_caption(
                    ovf.compare_checkpoint("none"), f"the default comparison (784-256-10, 1,000 images, {d['epochs']} "
                    "epochs each; L2 λ = 10⁻³, dropout 0.5; no augmentation, no early stopping); weights stored "
                    "in float16", action="Press **Compare regularizers** to run them live with your own settings.")
            elif any(r.status == "stopped" for r in cmp_runs):
                st.warning("Stopped: showing the runs and epochs that finished.")
            elif go:
                playground.took(page["compare_seconds"], "Compare regularizers")
            rows = weight_rows(cmp_runs)
            st.dataframe(rows, hide_index=True, key=page.key("compare_table"))
            playground.post_vs_measured(
                "dropout and weight decay stop a network from memorizing its training data and close the "
                "generalization gap.", gap_spread_sentence(rows))
            shown = tuple((r.status, r.history.epochs) for r in cmp_runs)
            playground.show_kept_figure(cmp_runs[0], ("weights", shown), lambda: weights_figure(cmp_runs))
            st.caption("What to notice: L2 pulls the histogram in and stops ‖W₁‖ growing; dropout alone barely "
                       "changes the first layer's size (it acts on the hidden units, not the weights).")


# ------------------------------------------------------------------------------------ dropout up close
if tab_drop.open:
    with tab_drop:
        @st.fragment
        def dropout_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            c1, c2, c3 = st.columns(3)
            p = c1.slider("p", 0.1, 0.9, 0.5, 0.1, key=page.key("drop_p"), persist_state="page")
            steps = c2.slider("Training steps to show", 1, 8, 4, key=page.key("drop_steps"), persist_state="page")
            draws = c3.select_slider("Passes averaged", [10, 100, 1000, 5000], value=1000, key=page.key("drop_draws"),
                                     persist_state="page", help="More passes, closer the average to its expectation.")
            st.metric("Scale of a kept unit 1/(1−p)", fmt_num(1 / (1 - p)))
            st.vega_lite_chart(masks_chart(float(p), int(steps)), width="content")
            st.markdown("Each step draws a new mask: a different subnetwork of the 2ⁿ possible ones. The survivors are "
                        "scaled by 1/(1−p), so the *expected* activation equals the evaluation-time one. Measured below "
                        "on the hidden activations (ReLU of the first layer at its seed-0 initial weights, untrained) of "
                        "32 test images:")
            res, png = dropout_measured(float(p), int(draws), data.x_test[:32])
            m = st.columns(3)
            m[0].metric("‖mean(train) − eval‖ / ‖eval‖, inverted dropout", fmt_num(res["rel_diff"]),
                        help=f"sampling noise expected ≈ {fmt_num(res['expected_rel_noise'])}")
            m[1].metric("Same without the 1/(1−p) scale", fmt_num(res["rel_diff_unscaled"]),
                        help="≈ p: unscaled, training-time activations are (1−p) times too small")
            m[2].metric("Fraction of active units kept", fmt_num(res["kept_fraction"]), help=f"expected {1 - p:g}")
            st.image(png)

        dropout_tab()
