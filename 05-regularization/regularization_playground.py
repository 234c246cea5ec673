"""Playground for chapter 05: open a generalization gap on purpose, then close it with dropout, L2, weight
decay, early stopping and augmentation.

    streamlit run 05-regularization/regularization_playground.py      (or open it from the hub: streamlit run app.py)
"""

import numpy as np
import streamlit as st

import augmentation
import dropout_ensemble
import overfitting as ovf
from common import playground
from common.playground import PageState, show_figure
from common.plots import color, fmt_num, fmt_pct, heatmap, image_grid, new_figure
from common.training import ProgressCallback

st.set_page_config(page_title="05 · Regularization", layout="wide")
playground.chapter_header(
    5, "A wide MLP (784 → 256 → 10 by default) trained with Adam on a small MNIST subset memorises it. Every "
       "curve here is a real run; the test set is only reported, early stopping watches a separate validation "
       "split of 1,000 training images.")
data = playground.mnist()
page = PageState("ch05", runs=list, compare=list)

LAMBDAS = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
PENALTY_LABELS = {"none": "none", "l2": "L2 penalty λ/2·‖W‖² (coupled)",
                  "decoupled": "decoupled weight decay (AdamW)"}
VAL_SIZE = 1000

# ------------------------------------------------------------------------------------------- sidebar
with st.sidebar:
    st.header("Experiment")
    hidden = st.select_slider("Hidden units", [64, 128, 256, 512, 1024], value=256, key=page.key("hidden"),
                              help="More units, more capacity to memorise.")
    train_size = st.select_slider("Training images", [250, 500, 1000, 2000, 5000, 10000, 30000, 58000], value=1000,
                                  key=page.key("train_size"), format_func=lambda v: f"{v:,}",
                                  help="The fewer images, the easier to memorise and the wider the gap.")
    epochs = st.slider("Epochs", 5, 200, 30, key=page.key("epochs"),
                       help="Longer training keeps pushing train loss down.")
    batch_size = st.select_slider("Batch size", [16, 32, 64, 128], value=32, key=page.key("batch_size"))
    st.header("Regularizers")
    dropout = st.slider("Dropout rate p", 0.0, 0.8, 0.0, 0.1, key=page.key("dropout"),
                        help="Each hidden unit is zeroed with probability p in training; survivors are scaled "
                             "by 1/(1-p).")
    penalty = st.radio("Weight penalty", list(PENALTY_LABELS), format_func=PENALTY_LABELS.get,
                       key=page.key("penalty"),
                       help="L2 adds λW to every weight matrix's gradient (the gradient of λ/2·‖W‖²; the post "
                            "writes λ·Σw² with gradient λw, which drops a factor 2), and Adam then rescales it; "
                            "decoupled decay shrinks W by the factor (1 - ηλ) beside the Adam step.")
    lam = st.select_slider("λ", LAMBDAS, value=1e-3 if penalty == "l2" else 0.1, key=page.key(f"lam_{penalty}"),
                           format_func=lambda v: f"{v:g}", disabled=penalty == "none")
    augment = st.toggle("Augmentation (±2 px shifts, ±15° rotations)", value=False, key=page.key("augment"),
                        help="Each training image is moved a little, differently every time it is seen.")
    early = st.toggle("Early stopping (restore best)", value=False, key=page.key("early"),
                      help="Stop when the validation loss has not improved for `patience` epochs and put back the "
                           "best epoch's weights.")
    patience = st.slider("Patience", 1, 20, 5, key=page.key("patience"), disabled=not early)
    seed = st.number_input("Seed", 0, 10_000, 0, key=page.key("seed"),
                           help="Same seed, same initial weights for every run.")

config = ovf.RegConfig(hidden=int(hidden), dropout=float(dropout), penalty=penalty,
                       lam=float(lam) if penalty != "none" else 0.0, augment=bool(augment), early_stopping=bool(early),
                       patience=int(patience), epochs=int(epochs), train_size=int(train_size),
                       batch_size=int(batch_size), seed=int(seed))


@st.cache_data(show_spinner=False)
def split_indices(n_train: int, train_size: int, seed: int):
    order = np.random.default_rng(seed).permutation(n_train)
    return order[:train_size], order[train_size:train_size + VAL_SIZE]


def make_splits(train_size: int, seed: int) -> ovf.Splits:
    tr, va = split_indices(len(data.x_train), min(train_size, len(data.x_train) - VAL_SIZE), seed)
    return ovf.Splits(data.x_train[tr], data.y_train[tr], data.x_train[va], data.y_train[va], data.x_test, data.y_test)


def mark_interrupted(runs):
    """Runs still flagged "running" at the top of a new script run were interrupted by that rerun."""
    for run in runs:
        if run.status == "running":
            run.status = "stopped"


def train(configs, bar, store: list):
    """Run each configuration, appending its live RegRun to ``store`` as it starts (``run_experiment`` keeps
    the live History on it through ``common.training.Live``, so partial results survive a Stop or any rerun)."""
    splits = make_splits(configs[0].train_size, configs[0].seed)
    out = []
    for i, cfg in enumerate(configs):
        def report(frac, msg, i=i, cfg=cfg):
            bar.progress(min(1.0, (i + frac) / len(configs)), text=f"{cfg.label()}: {msg}")

        def start(run):
            run.status = "running"
            store.append(run)

        run = ovf.run_experiment(cfg, splits, callbacks=[ProgressCallback(report)], on_start=start)
        run.status = "done"
        out.append(run)
    bar.progress(1.0, text="done")
    return out


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
    fig, (a1, a2) = new_figure(1, 2, size=(5.5, 3.6))
    a1.plot(ep, tr, "-o", ms=3, color=color("train"), label="train (eval mode)")
    a1.plot(ep, te, "-s", ms=3, color=color("test"), label="test")
    a1.fill_between(ep, te, tr, where=tr >= te, color=color("test"), alpha=0.15, label="generalization gap")
    a1.axvline(best, color=color("reference"), ls=":", label=f"best epoch ({best})")
    a1.set_ylabel("accuracy %")
    a2.plot(ep, h.train_loss[:n], "-o", ms=3, color=color("train"), label="train")
    a2.plot(ep, h.val_loss[:n], "-^", ms=3, color=color("validation"), label="validation")
    a2.plot(ep, run.test_loss[:n], "-s", ms=3, color=color("test"), label="test")
    a2.axvline(best, color=color("reference"), ls=":")
    a2.set_yscale("log")
    a2.set_ylabel("cross-entropy")
    for ax in (a1, a2):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def post_claim_caption() -> str:
    """The post's long-run claim next to what this code measured at its scale (the README's record)."""
    run = next(r for r in ovf.load_blog_scale()["runs"] if r["dropout"] == 0.0)
    acc = run["test_acc"]
    best = int(np.argmax(acc))
    return (f"The post: test accuracy peaks near 97% around epoch 50, then drops to 96.1% by epoch 200 (gap "
            f"3.85 points). Measured at the post's scale (784-128-10, {run['config']['train_size']:,} images, "
            f"README): best {fmt_pct(acc[best], 2)} at epoch {best + 1}, {fmt_pct(acc[-1], 2)} at epoch "
            f"{len(acc)}, gap {fmt_num(100 * (run['train_acc'][-1] - acc[-1]))} points; what rises is the "
            "test and validation loss.")


mark_interrupted(page["runs"])
mark_interrupted(page["compare"])

tab_over, tab_weights, tab_drop = st.tabs(["Overfitting", "Weights", "Dropout up close"], key=page.key("tab"),
                                          on_change="rerun")

# ---------------------------------------------------------------------------------------- overfitting
if tab_over.open:
    with tab_over:
        n_used = min(config.train_size, len(data.x_train) - VAL_SIZE)
        st.markdown(f"Current settings: **{config.label()}**, {config.hidden} hidden units, "
                    f"{n_used:,} training images, {config.epochs} epochs. Try: the defaults first (the "
                    "network memorises 1,000 images: train accuracy 100%, test about 90%); then switch on "
                    "augmentation, then early stopping, then dropout 0.5; each run is added to the table below.")
        c1, c2, c3 = st.columns(3)
        go = c1.button("Train", type="primary", key=page.button_key("train"))
        c2.button("Stop", key=page.button_key("stop"), help="Stops after the current mini-batch; finished epochs are kept.")
        if c3.button("Clear runs", key=page.button_key("clear")):
            page["runs"] = []
        if go:
            bar = st.progress(0.0, text="starting…")
            train([config], bar, page["runs"])
        runs = [r for r in page["runs"] if r.history.epochs]
        for r in runs:
            finish_partial(r)
        if not runs:
            st.info("No run yet: press **Train** (the default run takes a few seconds).")
        else:
            run = runs[-1]
            if run.status == "stopped":
                st.warning(f"Stopped after {run.history.epochs} epochs: showing what finished.")
            m = st.columns(4)
            m[0].metric("Train accuracy", fmt_pct(run.final_train_acc, 2))
            m[1].metric("Test accuracy", fmt_pct(run.final_test_acc, 2))
            m[2].metric("Generalization gap", f"{fmt_num(100 * run.gap)} points")
            m[3].metric("Best epoch", str(best_epoch_of(run) + 1),
                        help="Restored by early stopping" if run.best_epoch is not None else "Lowest validation loss")
            show_figure(gap_figure(run))
            band, advice = ovf.tuning_advice(run.gap)
            st.markdown(f"**The blog's tuning recipe** on the measured gap ({fmt_num(100 * run.gap)} points, band "
                        f"{band}): {advice}")
            st.caption(post_claim_caption())
            if run.history.stop_reason:
                st.caption(f"Stopped: {run.history.stop_reason}.")
            if run.config.augment:
                with st.expander("What augmentation does to a training digit"):
                    layer = augmentation.RandomShiftRotate(np.random.default_rng(0))
                    x = np.repeat(make_splits(run.config.train_size, run.config.seed).X_train[:1], 12, axis=0)
                    show_figure(image_grid(np.concatenate([x[:1], layer.forward(x[1:], training=True)]),
                                           titles=["original"] + [f"draw {i}" for i in range(1, 12)], ncols=12,
                                           size=0.9))
                    st.caption("Each time an image is used in training it gets a fresh random shift and rotation; "
                               "evaluation sees the original.")
            st.subheader("Runs this session")
            st.dataframe([r.summary() for r in runs], hide_index=True)
            st.caption("Train accuracy is measured on the training images in evaluation mode (no dropout, no "
                       "augmentation), so the gap compares like with like.")

# --------------------------------------------------------------------------------------------- weights
if tab_weights.open:
    with tab_weights:
        p_cmp = dropout if dropout > 0 else 0.5
        lam_cmp = float(lam) if penalty == "l2" else 1e-3
        cmp_epochs = st.slider("Epochs for each of the four runs", 5, 100, 20, key=page.key("compare_epochs"),
                               persist_state="page", help="20 keeps the default comparison to about ten seconds.")
        configs = [ovf.RegConfig(**{**config.__dict__, "dropout": d, "penalty": "l2" if l else "none", "lam": l,
                                    "augment": False, "early_stopping": False, "epochs": int(cmp_epochs)})
                   for d, l in ((0.0, 0.0), (0.0, lam_cmp), (p_cmp, 0.0), (p_cmp, lam_cmp))]
        st.markdown(f"Four runs with the sidebar's network and data, from the same initial weights: none, "
                    f"L2 λ = {lam_cmp:g}, dropout {p_cmp:g}, and both. (λ and p come from the sidebar when set.)")
        c1, c2 = st.columns(2)
        go = c1.button("Compare regularizers", type="primary", key=page.button_key("compare_run"))
        c2.button("Stop", key=page.button_key("compare_stop"))
        if go:
            page["compare"] = []
            bar = st.progress(0.0, text="starting…")
            train(configs, bar, page["compare"])
        cmp_runs = [r for r in page["compare"] if r.history.epochs]
        for r in cmp_runs:
            finish_partial(r)
        if not cmp_runs:
            st.info("Press **Compare regularizers** to train the four networks.")
        else:
            if any(r.status == "stopped" for r in cmp_runs):
                st.warning("Stopped: showing the runs and epochs that finished.")
            rows = []
            for r in cmp_runs:
                W = r.first_layer_weights()
                rows.append({"configuration": r.config.label(), "epochs": r.history.epochs,
                             "‖W₁‖": round(float(np.linalg.norm(W)), 2), "std of W₁": round(float(W.std()), 4),
                             "|w| < 0.01 %": round(100 * float(np.mean(np.abs(W) < 0.01)), 1),
                             "test acc %": round(100 * r.final_test_acc, 2), "gap (points)": round(100 * r.gap, 2)})
            st.dataframe(rows, hide_index=True)
            fig, (a1, a2) = new_figure(1, 2, size=(5.5, 3.6))
            lim = max(float(np.abs(r.first_layer_weights()).max()) for r in cmp_runs)
            bins = np.linspace(-lim, lim, 121)
            for r in cmp_runs:
                c = color(concept(r.config))
                a1.hist(r.first_layer_weights().ravel(), bins=bins, histtype="step", lw=1.4, color=c,
                        label=r.config.label())
                a2.plot(np.arange(1, len(r.w1_norm) + 1), r.w1_norm, "-o", ms=3, color=c, label=r.config.label())
            a1.set_yscale("log")
            a1.set_xlabel("first-layer weight")
            a1.set_ylabel("count")
            a2.set_xlabel("epoch")
            a2.set_ylabel("‖W₁‖ (Frobenius)")
            for ax in (a1, a2):
                ax.legend(fontsize=7)
                ax.grid(alpha=0.3)
            show_figure(fig)
            st.caption("What to notice: L2 pulls the histogram in and stops ‖W₁‖ growing; dropout alone barely "
                       "changes the first layer's size (it acts on the hidden units, not the weights).")

# ------------------------------------------------------------------------------------ dropout up close
if tab_drop.open:
    with tab_drop:
        c1, c2, c3 = st.columns(3)
        p = c1.slider("p", 0.1, 0.9, 0.5, 0.1, key=page.key("drop_p"), persist_state="page")
        steps = c2.slider("Training steps to show", 1, 8, 4, key=page.key("drop_steps"), persist_state="page")
        draws = c3.select_slider("Passes averaged", [10, 100, 1000, 5000], value=1000, key=page.key("drop_draws"),
                                 persist_state="page", help="More passes, closer the average to its expectation.")
        masks = dropout_ensemble.dropout_masks(p, (1, 16), steps, np.random.default_rng(0))[:, 0, :]
        st.metric("Scale of a kept unit 1/(1−p)", fmt_num(1 / (1 - p)))
        show_figure(heatmap(masks, xlabels=range(1, 17), ylabels=[f"step {i + 1}" for i in range(steps)], fmt=".2f",
                            cmap="Greys", xlabel="hidden unit", colorbar=False,
                            title=f"Dropout multipliers on 16 units: black = kept, ×{fmt_num(1 / (1 - p))}; "
                                  "white = dropped, ×0"))
        st.markdown("Each step draws a new mask: a different subnetwork of the 2ⁿ possible ones. The survivors are "
                    "scaled by 1/(1−p), so the *expected* activation equals the evaluation-time one. Measured below "
                    "on the hidden activations (ReLU of the first layer at its seed-0 initial weights, untrained) of "
                    "32 test images:")
        model = ovf.build_model(np.random.default_rng(0), hidden=64)
        acts = model.layers[1].forward(model.layers[0].forward(data.x_test[:32]))
        res = dropout_ensemble.dropout_expectation(acts, p, int(draws), np.random.default_rng(1))
        m = st.columns(3)
        m[0].metric("‖mean(train) − eval‖ / ‖eval‖, inverted dropout", fmt_num(res["rel_diff"]),
                    help=f"sampling noise expected ≈ {fmt_num(res['expected_rel_noise'])}")
        m[1].metric("Same without the 1/(1−p) scale", fmt_num(res["rel_diff_unscaled"]),
                    help="≈ p: unscaled, training-time activations are (1−p) times too small")
        m[2].metric("Fraction of active units kept", fmt_num(res["kept_fraction"]), help=f"expected {1 - p:g}")
        fig, ax = new_figure(size=(5.0, 3.2))
        ev = res["eval"].ravel()
        ax.scatter(ev, res["mean_train"].ravel(), s=6, color=color("dropout"),
                   label="inverted dropout: mean over passes")
        ax.scatter(ev, (1 - p) * res["mean_train"].ravel(), s=6, color=color("unscaled"), label="without scaling")
        ax.plot([0, ev.max()], [0, ev.max()], ":", color=color("reference"), lw=1, label="equal")
        ax.set_xlabel("evaluation-time activation")
        ax.set_ylabel("training-time activation, averaged")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        show_figure(fig)
