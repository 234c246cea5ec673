"""Playground for chapter 03: train XOR by backpropagation and look inside every step.

    streamlit run 03-backpropagation/backprop_playground.py      (or open it from the hub: streamlit run app.py)
"""


import numpy as np
import streamlit as st

import backprop as bp
from common import playground
from common.datasets import xor
from common.plots import CLASS_COLORS, decision_regions, new_figure, training_curves
from common.training import ProgressCallback

st.set_page_config(page_title="03 · Backpropagation", layout="wide")
playground.chapter_header(
    3, "The network starts from random weights and learns XOR by itself: forward pass, loss, backward pass, "
       "update, thousands of times. Every number shown is computed by `backprop.py`.")

X, y = xor()


show = playground.show_figure
D = bp.DEFAULTS
LRS = [0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0, 5.0]
EPOCHS = [100, 500, 1000, 2000, 5000]

# Widget keys and session-state names carry a "ch03_" prefix: the hub runs every page in one session.
with st.sidebar:
    st.header("Training controls")
    lr = st.select_slider("Learning rate η", LRS, value=D["lr"], key="ch03_lr",
                          help="Step size of gradient descent. Too small crawls; too large can overshoot.")
    epochs = st.select_slider("Epochs (full-batch steps)", EPOCHS, value=D["epochs"], key="ch03_epochs")
    arch = st.selectbox("Architecture", list(bp.ARCHITECTURES), index=list(bp.ARCHITECTURES).index(D["architecture"]),
                        key="ch03_arch", help="Hidden units: 2 is the minimum for XOR, and the most fragile.")
    activation = st.selectbox("Hidden activation", bp.HIDDEN_ACTIVATIONS,
                              index=bp.HIDDEN_ACTIVATIONS.index(D["activation"]), key="ch03_activation")
    init = st.selectbox("Initialisation", list(bp.INITS), index=list(bp.INITS).index(D["init"]), key="ch03_init",
                        help="zeros and constant start every hidden unit identical; small normal starts "
                             "them nearly identical and tiny.")
    seed = int(st.number_input("Seed", 0, 10_000, D["seed"], key="ch03_seed",
                               help="Draws the initial weights. Change it to meet a seed that gets stuck."))
    st.caption("Defaults: 2-4-1, tanh, Xavier, η = 0.5, 2000 epochs, seed 0 (they reach 100% on XOR).")

config = (arch, activation, init, float(lr), int(epochs), seed)
if st.session_state.get("ch03_config") != config:
    bar = st.progress(0.0, text="training…")
    net, result = bp.train_xor(arch, activation, init, lr, epochs, seed, snapshot_every=max(1, epochs // 50),
                               callbacks=[ProgressCallback(playground.progress_reporter(bar), min_interval=0.2)])
    bar.empty()
    st.session_state.ch03_config, st.session_state.ch03_net, st.session_state.ch03_result = config, net, result
net, result = st.session_state.ch03_net, st.session_state.ch03_result

tab_train, tab_flow, tab_vanish = st.tabs(["Training", "Gradient flow", "Vanishing gradients"], key="ch03_tab",
                                          on_change="rerun")
# Only the open tab runs (on_change="rerun"), so the page stays quick.

if tab_train.open:
    with tab_train:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Final accuracy", f"{result.final_accuracy:.0%}")
        c2.metric("Final loss", f"{result.final_loss:.4f}")
        c3.metric("Epochs to converge", "never" if result.epochs_to_converge is None else result.epochs_to_converge,
                  help="Updates after which all four predictions were right and stayed right.")
        spread = bp.hidden_unit_spread(net)
        c4.metric("Hidden-unit spread", f"{spread:.4g}",
                  help="Largest difference between any hidden unit's weights and unit 1's. 0 = identical units.")
        if spread == 0.0:
            st.error(f"Symmetry: after {epochs} epochs every hidden unit still has exactly the same weights "
                     "(spread 0). They started identical, so they receive identical gradients and stay copies "
                     "of each other: the network has, in effect, one hidden unit, and one unit cannot do XOR.")
        elif result.final_accuracy < 1.0:
            st.warning(f"Stuck at {result.final_accuracy:.0%}: this start leads to a poor solution within "
                       f"{epochs} epochs. Try another seed, more hidden units, or the seed sweep below.")
        left, right = st.columns(2)
        with left:
            show(training_curves({f"{arch} {activation}": result.history}, metric="loss", log_y=True,
                                      title="training loss (log scale)"))
        with right:
            snaps = sorted(result.snapshots)
            at_epoch = st.select_slider("Decision boundary after epoch", snaps, value=snaps[-1], key="ch03_snap",
                                        help="Replay training: the boundary at saved points in time.")
            snap_net = net.copy().set_params(result.snapshots[at_epoch])
            show(decision_regions(snap_net.predict_proba, X, y, resolution=100, padding=0.5,
                                       title=f"ŷ after {at_epoch} epochs"))
            st.caption(f"After {at_epoch} epochs: loss {snap_net.loss(X, y):.4f}, "
                       f"accuracy {snap_net.accuracy(X, y):.0%}.")
        st.dataframe({"x₁": X[:, 0].astype(int), "x₂": X[:, 1].astype(int), "ŷ": np.round(net.predict_proba(X), 4),
                      "prediction": net.predict(X), "target": y}, hide_index=True)
        W1 = net.dense[0].params["W"]
        st.markdown("**First-layer weights per hidden unit** (a column per unit; identical columns = symmetry):")
        st.dataframe({f"unit {j + 1}": np.r_[W1[:, j], net.dense[0].params["b"][j]].round(4)
                      for j in range(W1.shape[1])} | {"": ["w from x₁", "w from x₂", "bias"]}, hide_index=True)

        st.subheader("Seed sweep: how often does training succeed?")
        st.markdown("Trains one network per seed for **every** architecture, with the activation, initialisation, "
                    "learning rate and epochs above (all seeds at once, batched). Results appear per architecture "
                    "as each finishes.")
        n_seeds = st.slider("Seeds (0 … n-1)", 10, 100, 50, 10, key="ch03_n_seeds")
        sweep_cfg = (activation, init, float(lr), int(epochs), n_seeds)
        if st.button("Run seed sweep", key="ch03_btn_sweep"):
            st.session_state.ch03_sweep_results = {"config": sweep_cfg, "rows": {}}
            bar = st.progress(0.0, text="sweeping…")
            for i, a in enumerate(bp.ARCHITECTURES):
                s = bp.sweep(range(n_seeds), architecture=a, activation=activation, init=init, lr=lr, epochs=epochs)
                stuck = s.seeds[~s.converged]
                st.session_state.ch03_sweep_results["rows"][a] = {
                    "architecture": a, "converged": f"{int(s.converged.sum())}/{n_seeds}",
                    "fraction": s.fraction_converged,
                    "median epochs to converge": s.median_epochs(),
                    "stuck seeds (first 8)": ", ".join(map(str, stuck[:8])) or "none",
                    "their accuracies": ", ".join(f"{a_:.0%}" for a_ in s.final_accuracy[~s.converged][:8]) or "-"}
                bar.progress((i + 1) / len(bp.ARCHITECTURES), text=f"{a} done")
            bar.empty()
        sw = st.session_state.get("ch03_sweep_results")
        if sw and sw["rows"]:
            if sw["config"] != sweep_cfg:
                st.caption("(settings changed since this sweep: press the button to re-run)")
            st.dataframe(list(sw["rows"].values()), hide_index=True)
        st.caption("What to notice: with 2 hidden units a good share of seeds gets stuck; with 4 or 8 almost none "
                   "do. Width makes the loss landscape kinder, not just the model bigger.")

if tab_flow.open:
    with tab_flow:
        c1, c2 = st.columns(2)
        case = c1.radio("XOR case", ["(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"], index=2, key="ch03_case", horizontal=True)
        state = c2.radio("Network", ["after training", "at initialisation"], key="ch03_state", horizontal=True)
        i = ["(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"].index(case)
        flow_net = net if state == "after training" else net.copy().set_params(result.snapshots[0])
        xi, yi = X[i:i + 1], y[i:i + 1]
        tr = flow_net.trace(xi, yi)
        L = len(tr.layers)
        st.markdown(f"**Example x = {case}, target y = {yi[0]}.** Prediction ŷ = {tr.y_hat[0]:.4f}, "
                    f"loss L = −[y log ŷ + (1−y) log(1−ŷ)] = {tr.loss:.4f}.")
        fwd, bwd = st.columns(2)
        with fwd:
            st.markdown("**Forward pass** (input → output)")
            for l, t in enumerate(tr.layers, start=1):
                f = "σ" if l == L else activation
                st.markdown(f"Layer {l}: z⁽{l}⁾ = a⁽{l - 1}⁾W⁽{l}⁾ + b⁽{l}⁾, a⁽{l}⁾ = {f}(z⁽{l}⁾)")
                st.dataframe({"unit": np.arange(1, t.z.shape[1] + 1), "z": t.z[0].round(4), "a": t.a[0].round(4)},
                             hide_index=True)
        with bwd:
            st.markdown("**Backward pass** (output → input)")
            for l in range(L, 0, -1):
                t = tr.layers[l - 1]
                rule = "δ⁽L⁾ = ŷ − y" if l == L else f"δ⁽{l}⁾ = (δ⁽{l + 1}⁾ W⁽{l + 1}⁾ᵀ) ⊙ {activation}′(z⁽{l}⁾)"
                st.markdown(f"Layer {l}: {rule}")
                st.dataframe({"unit": np.arange(1, t.delta.shape[1] + 1), "δ": t.delta[0].round(5),
                              "∂L/∂b": t.db.round(5)}, hide_index=True)
        st.markdown("**Gradient magnitude per layer** for this example")
        norms = [float(np.linalg.norm(t.dW)) for t in tr.layers]
        fig, ax = new_figure(size=(5, 2.5))
        ax.bar([f"layer {l}" for l in range(1, L + 1)], norms, color=CLASS_COLORS[:L])
        ax.set_ylabel("‖∂L/∂W‖")
        show(fig)
        st.dataframe({"layer": np.arange(1, L + 1), "‖∂L/∂W‖": np.round(norms, 6)}, hide_index=True)

        st.markdown(f"**One gradient-descent step on this example** (η = {lr}): W ← W − η ∂L/∂W")
        after = bp.one_step(flow_net, xi, yi, lr)
        rows = []
        for l, (t, old, new) in enumerate(zip(tr.layers, flow_net.get_params(), after.get_params()), start=1):
            for (r, c), w in np.ndenumerate(old["W"]):
                rows.append({"weight": f"W⁽{l}⁾[{r + 1},{c + 1}]", "before": round(float(w), 5),
                             "∂L/∂W": round(float(t.dW[r, c]), 5), "after": round(float(new["W"][r, c]), 5)})
        st.dataframe(rows, hide_index=True)
        st.metric("Loss on this example: before → after the step",
                  f"{tr.loss:.4f} → {after.loss(xi, yi):.4f}")

        st.markdown("**Live gradient check**: the analytic gradient from backprop beside centred finite "
                    "differences (h = 1e-5) of the loss.")
        check = flow_net.gradient_check(xi, yi)
        st.dataframe([{"parameter": f"{r['param']}⁽{r['layer']}⁾",
                       "analytic": np.array2string(r["analytic"].ravel(), precision=6, max_line_width=200),
                       "finite difference": np.array2string(r["numeric"].ravel(), precision=6, max_line_width=200),
                       "relative error": f"{r['rel_error']:.2e}"} for r in check], hide_index=True)
        worst = max(r["rel_error"] for r in check)
        if worst < 1e-6:
            st.success(f"Largest relative error {worst:.1e}: backprop agrees with finite differences.")
        else:
            st.warning(f"Largest relative error {worst:.1e}. With ReLU this happens when some z is exactly 0 (the "
                       "kink: input (0, 0) with zero biases at initialisation). The one-sided slopes differ there, "
                       "so the finite difference averages them while backprop uses the subgradient 0.")

if tab_vanish.open:
    with tab_vanish:
        st.markdown("A deep narrow network (2 → width × depth → 1) at initialisation, on the four XOR points: the "
                    "size of ∂L/∂W at every layer. Backprop multiplies by W and f′(z) once per layer, so a factor "
                    "below 1 compounds.")
        c1, c2, c3 = st.columns(3)
        depth = c1.slider("Hidden layers (depth)", 1, 20, 10, key="ch03_depth")
        width = c2.select_slider("Width", [4, 8, 16, 32], value=8, key="ch03_width")
        vg_init = c3.selectbox("Initialisation", ["matched (Xavier; He for ReLU)", "xavier", "he", "small normal"],
                               key="ch03_vg_init")
        init_arg = None if vg_init.startswith("matched") else vg_init
        norms = {a: bp.gradient_norms_at_init(depth, a, width=width, init=init_arg, seed=seed)
                 for a in ("sigmoid", "tanh", "relu")}
        fig, ax = new_figure(size=(7, 3.5))
        layers = np.arange(1, depth + 2)
        for k, (a, n) in enumerate(norms.items()):
            if np.any(n > 0):     # a dead ReLU network has no gradient anywhere: nothing to draw on a log scale
                ax.semilogy(layers[n > 0], n[n > 0], "o-", color=CLASS_COLORS[k], label=a)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_ylabel("‖∂L/∂W‖ (log scale)")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        show(fig)
        def ratio(n):
            if n[0] > 0:
                return f"{n[-1] / n[0]:.3g}"
            return "no gradient at all (every ReLU dead)" if not np.any(n > 0) else "∞ (first is 0)"

        st.dataframe([{"activation": a, "first layer ‖∂L/∂W‖": f"{n[0]:.3e}", "last layer ‖∂L/∂W‖": f"{n[-1]:.3e}",
                       "last / first": ratio(n)} for a, n in norms.items()], hide_index=True)
        if not np.any(norms["relu"] > 0):
            st.warning("This ReLU network is dead at initialisation: some layer outputs 0 for all four inputs, so "
                       "no gradient reaches any weight. Another seed or a wider layer usually revives it.")
        st.caption("What to notice: with sigmoid (f′ ≤ 0.25) the gradient shrinks layer after layer going back, "
                   "by orders of magnitude at depth 10; tanh with Xavier and ReLU with He stay within a couple of "
                   "orders of magnitude from first to last layer. "
                   "Try 'small normal' to see every activation vanish, and the seed to see it is not luck.")
