"""Playground for chapter 06: a CNN against a fully connected network on MNIST, and inside the CNN.

    streamlit run 06-cnn/cnn_playground.py      (or open it from the hub: streamlit run app.py)

On arrival every view shows trained models: the shipped checkpoints ``06-cnn/checkpoints/{fc,cnn,lenet5}.npz``
(``06-cnn/train_cnn.py``, the sidebar's default settings on the bundled MNIST sample). "Train both" and
"Train LeNet-5" train live with the sidebar's settings, curves updating every epoch; Stop keeps the
finished epochs.
"""

import time

import numpy as np
import pandas as pd
import streamlit as st

import cnn
import cnn_architectures as arch
import digit_images
import feature_maps
import filters
import pooling
from common import playground
from common.conv import col2im, conv_output_size, max_pool2d_forward
from common.playground import PageState
from common.plots import color, colorize, curves_spec, fmt_num, fmt_pct, heatmap_spec, outline, rgb255, to_rgb
from common.training import Live, ProgressCallback

playground.chapter_header(
    6, "A fully connected network wires every pixel to every neuron; a CNN slides a few small filters over "
       "the image and shares their weights everywhere. Train both on the same digits, then look inside the "
       "CNN: its learned filters, its feature maps, and what convolution, padding, stride and pooling do.")

data = playground.mnist(flatten=False)
X_VAL, Y_VAL = data.x_test[:2000], data.y_test[:2000]
CONCEPT = {"FC": "fc", "CNN": "cnn", "LeNet-5": "lenet5"}
D = cnn.PAGE_DEFAULTS


def load_shipped():
    """This session's own copies of the three shipped checkpoints: name → {"model", "meta", "history"}
    (loading is a few milliseconds; a model shared by sessions would share its layers' caches)."""
    out = {}
    for name in cnn.CHECKPOINTS:
        model, meta, history = cnn.load_checkpoint(name)
        out[name] = {"model": model, "meta": meta, "history": history}
    return out


def shipped_run(name):
    s = page["shipped"][name]
    settings = {**D, "filters": tuple(D["filters"]), "n_train": D["n_train"]}
    return {"model": s["model"], "history": s["history"], "params": s["model"].num_params(), "settings": settings,
            "source": "checkpoint"}


# runs: "FC"/"CNN" → {"model", "history", "params", "settings", "source": "checkpoint" | "trained"};
# lenet: the same for LeNet-5; job: the last training run {"what", "start", "seconds", "done", "stopped"}.
page = PageState("ch06", shipped=load_shipped, runs=None, lenet=None, job=None, pool_cache=dict)
if page["runs"] is None:
    page["runs"] = {"FC": shipped_run("fc"), "CNN": shipped_run("cnn")}
if page["lenet"] is None:
    page["lenet"] = shipped_run("lenet5")

SHIPPED_SETTINGS = (f"{D['n_train']:,} digits of the bundled 10,000-digit MNIST sample, {D['epochs']} epochs, "
                    f"batch {D['batch_size']}, Adam 10⁻³, seed {D['seed']}; accuracy on the sample's 2,000 test "
                    "digits")

# --- sidebar ---------------------------------------------------------------------------------------------
@st.fragment
def training_settings() -> tuple:
    """The settings of the next Train (both, or LeNet-5), in a fragment (``playground.settings_note`` says
    why: 06 has no note, its views say which settings trained them)."""
    st.header("FC vs CNN training")
    fc_hidden = st.select_slider("FC hidden units", options=[16, 32, 64, 128, 256], value=D["fc_hidden"],
                                 key=page.key("fc_hidden"),
                                 help="One hidden layer of this many ReLU units: 785·H + 10·(H+1) parameters.")
    f1 = st.select_slider("CNN conv1 filters", options=[4, 8, 16], value=D["filters"][0], key=page.key("f1"),
                          help="3×3 filters in the first convolution. Each costs 9 weights + 1 bias.")
    f2 = st.select_slider("CNN conv2 filters", options=[8, 16, 32], value=D["filters"][1], key=page.key("f2"),
                          help="3×3×conv1 filters in the second convolution; the final dense layer sees 49 of "
                               "each (7×7 after two poolings).")
    epochs = st.slider("Epochs", 1, 20, D["epochs"], key=page.key("epochs"), help="Passes over the training subset.")
    batch_size = st.select_slider("Batch size", options=[16, 32, 64, 128, 256], value=D["batch_size"],
                                  key=page.key("batch_size"))
    subset_options = [n for n in (500, 1000, 2000, 5000, 10000, 20000) if n <= len(data.x_train)]
    n_train = st.select_slider("Training subset", options=subset_options, value=D["n_train"],
                               key=page.key("n_train"),
                               help="The first N training digits. The post used 1,000; more data narrows the gap "
                                    "but takes longer (the CNN ≈ 1 s per 5,000 digits per epoch on a quiet machine).")
    seed = st.number_input("Seed", 0, 10_000, D["seed"], key=page.key("seed"),
                           help="Same seed, same initial weights and batches.")
    n_used = min(n_train, len(data.x_train))
    st.caption(f"Trained with Adam (lr 10⁻³) on the first {n_used:,} of the {len(data.x_train):,} training digits "
               f"and evaluated on the first {len(X_VAL):,} test digits after every epoch. "
               "**Train LeNet-5** (its tab) uses the same settings.")
    return fc_hidden, f1, f2, epochs, batch_size, n_train, seed, n_used


with st.sidebar:
    fc_hidden, f1, f2, epochs, batch_size, n_train, seed, n_used = training_settings()
    train_clicked = st.button("Train both", type="primary", key=page.button_key("train_both"))
    st.button("Stop", key=page.button_key("stop"), help="Stops training; finished epochs are kept.")
    sidebar_status = st.empty()


def number_table(arr, cmap: str, symmetric: bool = False):
    """A small matrix as a table of its numbers, each cell coloured by its value through ``cmap`` (centred
    on 0 with ``symmetric=True``, as ``colorize``): the heatmap's colours at the cost of a table."""
    arr = np.asarray(arr, dtype=np.float64)
    m = max(float(np.abs(arr).max()), 1e-12)
    lo, hi = (-m, m) if symmetric else (float(arr.min()), float(arr.max()))
    return pd.DataFrame(arr).style.background_gradient(cmap=cmap, axis=None, vmin=lo, vmax=hi).format(fmt_num)


def show_maps(maps, captions, cmap="viridis", size=84, symmetric=False):
    st.image([colorize(m, cmap, size, symmetric) for m in maps], caption=captions)


def show_curves(histories):
    """Loss and accuracy curves of ``histories`` side by side (live after every epoch, and once a run is
    done), as Vega-Lite charts the browser draws: two Matplotlib figures after every epoch of a live run
    were ~2 s of the 7.7 s "Train both" took in AppTest."""
    histories = {k: h for k, h in histories.items() if h.epochs}
    if not histories:
        return
    colors = {k: color(CONCEPT[k]) for k in histories}
    for col, metric, what in zip(st.columns(2), ("loss", "acc"), ("loss", "accuracy")):
        col.vega_lite_chart(curves_spec(histories, metric=metric, colors=colors,
                                        title=f"{what} (solid: train, dashed: test)"), width="stretch")


def plural(n, word):
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def settings_text(s):
    return (f"{plural(s['epochs'], 'epoch')}, batch {s['batch_size']}, {s['n_train']:,} training digits, seed {s['seed']}")


def finish_job(seconds=None, stopped=False):
    job = page["job"]
    job.update(done=True, stopped=stopped, seconds=time.perf_counter() - job["start"] if seconds is None else seconds)


def job_note(what):
    """After a run: how long it took (``playground.took``), or that it was stopped and what was kept."""
    job = page["job"]
    if job is None or job["what"] != what or not job["done"]:
        return
    if job["stopped"]:
        st.caption(f"{what} was stopped; the finished epochs are kept ({job['kept']}).")
        playground.took(job["seconds"], "The finished epochs")
    else:
        playground.took(job["seconds"], what)


# A run that was interrupted by Stop (or any other rerun) never reached its end: say so once.
if page["job"] is not None and not page["job"]["done"]:
    job = page["job"]
    runs = page["runs"] if job["what"] == "Train both" else {"LeNet-5": page["lenet"]}
    kept = ", ".join(f"{k} {r['history'].epochs} of {r['settings']['epochs']}" for k, r in runs.items())
    job["kept"] = kept or "none"
    finish_job(seconds=sum(r["history"].wall_time[-1] for r in runs.values() if r["history"].wall_time),
               stopped=True)
    if job["what"] == "Train both" and not any(r["history"].epochs for r in runs.values()):
        page["runs"] = {"FC": shipped_run("fc"), "CNN": shipped_run("cnn")}      # nothing finished
    elif job["what"] == "Train both":
        page["runs"] = {k: r for k, r in runs.items() if r["history"].epochs}
    if job["what"] == "Train LeNet-5" and not page["lenet"]["history"].epochs:
        page["lenet"] = shipped_run("lenet5")

# --- Train both: live, above the tabs --------------------------------------------------------------------
if train_clicked:
    settings = dict(fc_hidden=fc_hidden, filters=(f1, f2), epochs=epochs, batch_size=batch_size, n_train=n_used,
                    seed=int(seed))
    page["runs"] = {}
    page["pool_cache"] = {}
    page["job"] = {"what": "Train both", "start": time.perf_counter(), "done": False}
    live_box = st.empty()                    # the live view, removed once the run is over
    with live_box.container():
        st.subheader("Training FC and CNN…")
        bar = st.progress(0.0, text="starting…")
        live_slot = st.empty()
    report = playground.progress_reporter(bar)

    def redraw(_state=None):
        with live_slot.container():
            show_curves({k: r["history"] for k, r in page["runs"].items()})

    def callbacks_for(name, model):
        def keep(state):      # the live History and model: a Stop or any rerun keeps the finished epochs
            page["runs"][name] = {"model": state.model, "history": state.history, "params": model.num_params(),
                                  "settings": settings, "source": "trained"}
        progress = ProgressCallback(lambda f, m: report(f, f"{name}: {m}"), min_interval=0.2)
        return [Live(on_begin=keep, on_update=redraw), progress]

    cnn.compare(data.x_train[:n_used], data.y_train[:n_used], X_VAL, Y_VAL, epochs=epochs, seed=int(seed),
                batch_size=batch_size, hidden=fc_hidden, filters=(f1, f2), callbacks_for=callbacks_for)
    finish_job()
    live_box.empty()

with sidebar_status.container():
    job_note("Train both")

tabs = st.tabs(["FC vs CNN", "Layer explorer", "LeNet-5 layer by layer", "Convolution step by step",
                "Padding & stride", "Max-pool zoom", "Types of pooling"], key=page.key("tab"), on_change="rerun")
tab_vs, tab_explore, tab_lenet, tab_conv, tab_pad, tab_pool, tab_types = tabs
# Only the open tab runs (on_change="rerun"), so the page stays quick.


def explorer_cnn():
    """The trained CNN the explorer tabs look inside: the one from "Train both" once it has finished an
    epoch, else the shipped checkpoint. Returns (model, description)."""
    owner, version = explorer_owner()
    if version[0] == "trained":
        f = owner["settings"]["filters"]
        return owner["model"], (f"the CNN from “Train both” ({f[0]}, {f[1]} filters, "
                                f"{plural(version[1], 'epoch')} on {owner['settings']['n_train']:,} digits)")
    return owner["model"], "the shipped CNN checkpoint (8, 16 filters; " + SHIPPED_SETTINGS + ")"


def explorer_owner() -> tuple[dict, tuple]:
    """The dict that holds ``explorer_cnn()``'s model (the finished "Train both" run, or the shipped
    checkpoint's entry) and the model's version in it: what the explorer tabs keep their measurements and
    pictures with, so a sidebar setting for the next run does not recompute them."""
    run = page["runs"].get("CNN")
    if run is not None and run["source"] == "trained" and run["history"].epochs:
        return run, ("trained", run["history"].epochs)
    return page["shipped"]["cnn"], ("shipped",)


def pick_digit(prefix, where):
    """A test digit (by index) or a drawing; returns (image (1, 28, 28), label or None, description). Drawn
    in one container: the two inputs show different numbers of elements, and a count that changed would
    move every view below (``playground.note_if`` says what that costs in the browser)."""
    with st.container():
        return _pick_digit(prefix, where)


def _pick_digit(prefix, where):
    source = st.radio(f"Input ({where})", ["Test digit", "Draw a digit"], horizontal=True,
                      key=page.key(f"{prefix}_source"))
    if source == "Test digit":
        idx = st.number_input(f"Test digit index ({where})", 0, len(data.x_test) - 1, 0,
                              key=page.key(f"{prefix}_index"),
                              help="Any of the test digits (the first 2,000 are the validation set above).")
        return data.x_test[idx], int(data.y_test[idx]), f"test digit #{idx} (label {data.y_test[idx]})"
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:     # not installed, or the component cannot load here
        st.warning(f"The drawing canvas is unavailable ({type(exc).__name__}); install "
                   "`streamlit-drawable-canvas` (it is in requirements.txt). Showing test digit #0.")
        return data.x_test[0], int(data.y_test[0]), "test digit #0"
    st.caption("Draw one digit, large and centred; it is cropped, scaled to 20 px and centred like MNIST.")
    result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=224, width=224,
                       drawing_mode="freedraw", key=page.key(f"{prefix}_canvas"), return_image_data=True)
    image = None if result is None else digit_images.preprocess_drawing(result.image_data)
    if image is None:
        st.info("The canvas is empty: draw a digit. Meanwhile the views show test digit #0.")
        return data.x_test[0], int(data.y_test[0]), "test digit #0 (canvas empty)"
    return image, None, "your drawing"


def bars(values, xlabel, ylabel, highlight=None, labels=None):
    """A 1-D layer output as a bar chart (drawn by the browser: no server-side figure), the bar
    ``highlight`` in the palette's "selected" colour."""
    values = np.asarray(values, dtype=np.float64)
    labels = [str(i) for i in range(len(values))] if labels is None else [str(v) for v in labels]
    parts = ["chosen", "others"] if highlight is not None else ["others"]
    rows = [{"x": lab, "i": i, "part": "chosen" if i == highlight else "others", "value": float(v)}
            for i, (lab, v) in enumerate(zip(labels, values))]
    # A Vega-Lite spec written out: st.bar_chart builds and validates an Altair chart, ~0.1 s a rerun.
    st.vega_lite_chart({
        "data": {"values": rows}, "mark": {"type": "bar"},
        "encoding": {"x": {"field": "x", "type": "nominal", "sort": {"field": "i"}, "title": xlabel,
                           "axis": {"labelAngle": 0 if len(values) <= 20 else -90}},
                     "y": {"field": "value", "type": "quantitative", "title": ylabel},
                     "color": {"field": "part", "type": "nominal", "legend": None, "scale": {
                         "domain": parts, "range": [color("selected"), color("cnn")][-len(parts):]}}}},
        width="stretch", height=220)


def show_stage(outs, s, model):
    """Stage ``s`` of ``layer_outputs``: every feature map, the flattened vector wrapped one row per map,
    or a dense layer's values as bars with meaningful axes."""
    name, out = outs[s]
    fmap = out[0]
    if fmap.ndim == 3:
        show_maps(fmap, [f"map {i}" for i in range(len(fmap))], size=112 if fmap.shape[-1] > 7 else 70)
        st.caption(f"All {len(fmap)} maps of this stage ({'×'.join(map(str, fmap.shape))}), each scaled to its own "
                   "range (yellow = its largest value).")
        return
    prev = outs[s - 1][1][0] if s > 0 else None
    if name.startswith("Flatten") and prev is not None and prev.ndim == 3:
        c, h, w = prev.shape
        st.markdown(f"**Flatten: {c}·{h}·{w} = {fmap.size:,} values in one vector**, drawn one row per map")
        st.image(colorize(fmap.reshape(c, h * w), "viridis", 12 * h * w), caption=(
            f"Row r (top: map 0, bottom: map {c - 1}) holds map r's {h * w} values, its {h}×{w} grid read row by "
            f"row from left to right: value index = r·{h * w} + position. Yellow = the largest value."))
        st.caption("Nothing is computed here: the maps are laid end to end. The dense layer that follows gives "
                   "each of these values its own weight, so it knows *where* a feature was found.")
        return
    if fmap.size == 10:
        pred = int(np.argmax(fmap))
        st.markdown(f"**{name}: the ten class scores (logits)**")
        bars(fmap, "digit", "score (logit)", highlight=pred)
        st.caption(f"The largest score ({fmt_num(float(fmap[pred]))}, digit {pred}) becomes the largest probability "
                   "after the softmax.")
        return
    st.markdown(f"**{name}: its {fmap.size} units after this stage**")
    bars(fmap, "unit", "activation")
    st.caption(f"{int(np.sum(fmap > 0))} of the {fmap.size} units are active (> 0) for this digit.")


def layer_view(model, image, prefix, label=None):
    """Prediction, softmax, learned first-layer filters and a chosen stage's output for one image."""
    outs = feature_maps.layer_outputs(model, image[None].astype(np.float32))
    probs = outs[-1][1][0]
    pred = int(np.argmax(probs))
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Prediction ({prefix})", str(pred))
    c2.metric(f"Confidence ({prefix})", fmt_pct(probs[pred]))
    c3.metric(f"True label ({prefix})", "—" if label is None else str(label))
    left, mid, right = st.columns([1, 2, 2])
    with left:
        st.image(colorize(image[0], "gray", 168), caption="input (28×28)")
    with mid:
        st.markdown("**Softmax output** (the model's real probabilities)")
        bars(probs, "digit", "probability", highlight=pred)
    with right:
        W = model.layers[0].params["W"][:, 0]
        k = W.shape[-1]
        st.markdown(f"**Learned first-layer filters** ({k}×{k}, all {len(W)}; red positive, blue negative)")
        show_maps(W, [f"filter {i}" for i in range(len(W))], cmap="RdBu_r", size=60, symmetric=True)
    stage_names = [f"{i + 1}. {name}" for i, (name, _) in enumerate(outs[:-1])]
    stage = st.selectbox(f"Stage to show ({prefix})", stage_names, index=0, key=page.key(f"{prefix}_stage"),
                         help="Every layer's real output for this digit, in order.")
    show_stage(outs, stage_names.index(stage), model)
    return outs


# --- FC vs CNN -------------------------------------------------------------------------------------------
if tab_vs.open:
    with tab_vs:
        st.markdown(
            "**What to try:** the page opens on the two shipped models, trained with the sidebar's defaults "
            "(5,000 digits, 4 epochs). The CNN has about a tenth of the FC network's parameters and ends higher: "
            "its 3×3 filters are shared by every position, so it learns *where-independent* strokes instead of "
            "one weight per pixel. Press **Train both** to train them live. Then shrink the training subset to "
            "**1,000** (the post's setting): after 4 epochs the FC network is ahead (in all four seeds we "
            "measured, see the README); raise the epochs to 10 and the CNN overtakes it. An epoch costs the CNN "
            "about ten times more: it computes far more per parameter.")
        runs = page["runs"]
        shipped = all(r["source"] == "checkpoint" for r in runs.values())
        if shipped:
            playground.checkpoint_caption(cnn.checkpoint_path("cnn"), "with the FC network from `fc.npz` beside it, "
                                                                      "made the same way: " + SHIPPED_SETTINGS)
        rows = []
        for name, run in runs.items():
            h = run["history"]
            rows.append({"model": name, "parameters": run["params"], "epochs run": h.epochs,
                         "final test accuracy": fmt_pct(h.val_acc[-1], 2) if h.val_acc else "–",
                         "final train accuracy": fmt_pct(h.train_acc[-1], 2) if h.train_acc else "–",
                         "final train loss": fmt_num(h.train_loss[-1]) if h.train_loss else "–",
                         "seconds per epoch": fmt_num(float(np.mean(h.epoch_time))) if h.epoch_time else "–"})
        cols = st.columns(len(rows))
        for col, row in zip(cols, rows):
            col.metric(f"{row['model']} test accuracy", row["final test accuracy"])
            col.metric(f"{row['model']} parameters", f"{row['parameters']:,}")
            col.metric(f"{row['model']} s/epoch", row["seconds per epoch"])
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("vs_table"),
                     column_config={"parameters": st.column_config.NumberColumn(format="localized")})
        if len(runs) == 2 and all(r["history"].val_acc for r in runs.values()):
            fc_run, cnn_run = runs["FC"], runs["CNN"]
            ratio = fc_run["params"] / cnn_run["params"]
            a_fc, a_cnn = fc_run["history"].val_acc[-1], cnn_run["history"].val_acc[-1]
            diff = a_cnn - a_fc
            verdict = "higher" if diff > 0 else "lower" if diff < 0 else "no different"
            st.success(f"The CNN has {fmt_num(ratio)}× fewer parameters; its test accuracy is "
                       f"{fmt_num(abs(diff) * 100, 3)} points {verdict} than the FC network's "
                       f"({fmt_pct(a_cnn, 2)} against {fmt_pct(a_fc, 2)}).")
            if diff <= 0:
                s = cnn_run["settings"]
                playground.post_vs_measured(
                    post="the CNN beats the fully connected network on 1,000 training digits, with far fewer "
                         "parameters.",
                    measured=f"with {s['n_train']:,} digits and {plural(cnn_run['history'].epochs, 'epoch')} the CNN reaches "
                             f"{fmt_pct(a_cnn, 2)} and the FC network {fmt_pct(a_fc, 2)}. Over four seeds at 1,000 "
                             "digits and 4 epochs the FC network was ahead in 4 of 4; with 10 epochs, or 5,000 "
                             "digits, the CNN was ahead in 4 of 4 (README, seed table).")
        show_curves({name: run["history"] for name, run in runs.items()})
        s = next(iter(runs.values()))["settings"]
        st.caption(f"Settings of this run: FC {s['fc_hidden']} hidden units, CNN {s['filters'][0]} and "
                   f"{s['filters'][1]} filters, {settings_text(s)}.")
        job_note("Train both")

# --- Layer explorer --------------------------------------------------------------------------------------
if tab_explore.open:
    with tab_explore:
        st.markdown(
            "**What to try:** step through test digits or draw your own, then pick a stage. The first layer's "
            "filters are small edge and blob detectors learned from data (compare them with the hand-made "
            "Sobel filters in *Convolution step by step*); each feature map is one filter's response everywhere "
            "on the image. Notice how pooling halves the size while keeping the bright spots, how the last "
            "feature maps (7×7) no longer look like the digit, and how *Flatten* only lays them end to end.")
        model, description = explorer_cnn()
        if page["runs"]["CNN"]["source"] == "checkpoint":         # one caption: the checkpoint's says it all
            playground.checkpoint_caption(cnn.checkpoint_path("cnn"), SHIPPED_SETTINGS)
        else:
            st.caption(f"Model: {description}.")
        image, label, what = pick_digit("explore", "explorer")
        layer_view(model, image, "explorer", label)
        st.markdown("**Dimensions at every stage** (computed by running the model)")
        st.dataframe(pd.DataFrame(feature_maps.dimension_table(model)), hide_index=True, key=page.key("dims_table"))

# --- LeNet-5 ---------------------------------------------------------------------------------------------
LENET_NAMES = [r.name for r in arch.lenet5_table().rows]      # C1 conv 5×5, S2 pool 2, … output 10


def lenet_table(model):
    """``dimension_table`` with the classic names (C1, S2, C3, S4, C5, F6, output) beside the layers."""
    rows = feature_maps.dimension_table(model)
    names = iter(LENET_NAMES)
    for r in rows:
        named = r["stage"] and not r["layer"].startswith(("ReLU", "Flatten", "softmax"))
        r["LeNet-5 name"] = next(names) if named else ""
    return rows


if tab_lenet.open:
    with tab_lenet:
        st.markdown(
            "**What to try:** LeNet-5 (LeCun et al., 1998) is the first CNN that read digits for a living: two "
            "5×5 convolutions with subsampling, then three dense layers. Pick a digit and walk through its "
            f"stages; compare its {page['shipped']['lenet5']['model'].num_params():,} parameters and its accuracy "
            f"with the small CNN's {page['shipped']['cnn']['model'].num_params():,}. Most of LeNet's parameters sit "
            "in C5, the first dense layer. **Train LeNet-5** trains it live with the sidebar's settings.")
        lenet = page["lenet"]
        h = lenet["history"]
        train_lenet = st.button("Train LeNet-5", key=page.button_key("train_lenet"),
                                help="With the sidebar's epochs, batch size, training subset and seed.")
        if train_lenet:
            settings = dict(epochs=epochs, batch_size=batch_size, n_train=n_used, seed=int(seed))
            page["job"] = {"what": "Train LeNet-5", "start": time.perf_counter(), "done": False}
            bar = st.progress(0.0, text="starting…")
            live_slot = st.empty()
            model, rng = cnn.new_model("lenet5", int(seed))

            def keep_lenet(state):
                page["lenet"] = {"model": state.model, "history": state.history, "params": model.num_params(),
                                 "settings": settings, "source": "trained"}

            def redraw_lenet(state):
                with live_slot.container():
                    show_curves({"LeNet-5": state.history})

            cnn.train(model, data.x_train[:n_used], data.y_train[:n_used], epochs=epochs, rng=rng,
                      batch_size=batch_size, x_val=X_VAL, y_val=Y_VAL,
                      callbacks=[Live(on_begin=keep_lenet, on_update=redraw_lenet),
                                 ProgressCallback(playground.progress_reporter(bar), min_interval=0.2)])
            finish_job()
            bar.empty()
            live_slot.empty()
            lenet, h = page["lenet"], page["lenet"]["history"]
        job_note("Train LeNet-5")
        if lenet["source"] == "checkpoint":
            playground.checkpoint_caption(cnn.checkpoint_path("lenet5"), SHIPPED_SETTINGS)
        st.markdown("**Test accuracy, the three models trained identically** (the shipped checkpoints: "
                    + SHIPPED_SETTINGS + ")")
        rows = []
        for key_, name in (("fc", "FC"), ("cnn", "CNN"), ("lenet5", "LeNet-5")):
            s = page["shipped"][key_]
            rows.append({"model": name, "parameters": s["model"].num_params(),
                         "test accuracy": fmt_pct(s["history"].val_acc[-1], 2),
                         "training time": playground.fmt_seconds(s["meta"]["train_seconds"])})
        cols = st.columns(3)
        for col, r in zip(cols, rows):
            col.metric(f"{r['model']} (shipped) test accuracy", r["test accuracy"])
            col.caption(f"{r['parameters']:,} parameters · trained in {r['training time']}")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=page.key("lenet_compare"))
        st.caption("Training times were measured when the checkpoints were made (one BLAS thread, a shared "
                   "machine); they move with the load.")
        if lenet["source"] == "trained":
            st.metric("LeNet-5 you trained: test accuracy", fmt_pct(h.val_acc[-1], 2) if h.val_acc else "–")
            st.caption(f"Trained with {settings_text(lenet['settings'])}, evaluated on the first "
                       f"{len(X_VAL):,} test digits.")
        show_curves({"LeNet-5": h})
        st.markdown("**Layer by layer** (output shape and parameters, computed by running the model)")
        dims = lenet_table(lenet["model"])
        st.dataframe(pd.DataFrame(dims), hide_index=True, key=page.key("lenet_dims"), height=36 * (len(dims) + 1) + 2)
        image, label, what = pick_digit("lenet", "LeNet-5")
        layer_view(lenet["model"], image, "LeNet-5", label)

# --- Convolution step by step ----------------------------------------------------------------------------
if tab_conv.open:
    with tab_conv:
        @st.fragment
        def conv_tab():
            """The tab's controls rerun only the tab (a fragment): nothing above it changes with them."""
            st.markdown(
                "**What to try:** move the window with the two sliders and check the sum yourself: every output value "
                "is the window times the filter, added up. Switch to **RGB** to see a filter with one 3×3 slice per "
                "channel: the three channel sums are added into **one** output value. Choose several filters to "
                "get one feature map each. The filters here are hand-designed (Sobel, blur, sharpen); a CNN learns "
                "its own.")
            c1, c2 = st.columns(2)
            kind = c1.radio("Image", ["grey digit", "RGB (synthetic)"], horizontal=True, key=page.key("conv_kind"),
                            help="The RGB image is a small synthetic picture (a red bar, a green bar, a blue square), "
                                 "made so that each channel holds a different pattern.")
            names = c2.multiselect("Filters", list(filters.FILTERS), default=["Sobel x (vertical edges)"],
                                   key=page.key("conv_filters"), help="Each filter gives one feature map.")
            if not names:
                st.warning("Pick at least one filter.")
            else:
                if kind == "grey digit":
                    idx = st.number_input("Test digit index (convolution)", 0, len(data.x_test) - 1, 0, key=page.key("conv_index"))
                    image = np.asarray(data.x_test[idx][0], dtype=np.float64)
                    kernel = filters.FILTERS[names[0]].astype(np.float64)
                    bank = np.stack([filters.FILTERS[n] for n in names])
                else:
                    image = filters.rgb_example(12)
                    kernel = filters.rgb_kernel(filters.FILTERS[names[0]])
                    bank = np.stack([filters.rgb_kernel(filters.FILTERS[n]) for n in names])
                h, w = image.shape[-2:]
                c1, c2 = st.columns(2)
                # One pair of sliders per image: the digit's range (0-25) does not fit the RGB picture's (0-9).
                suffix = "" if kind == "grey digit" else "_rgb"
                row = c1.slider("Window row", 0, h - 3, min(h - 3, h // 2 - 1), key=page.key("conv_row" + suffix))
                col = c2.slider("Window column", 0, w - 3, min(w - 3, w // 2 - 1), key=page.key("conv_col" + suffix))
                step = filters.conv_step(image, kernel, row, col)
                maps = filters.apply_filters(image, bank)
                st.metric("Output value at this position", fmt_num(step.value, 4))
                if kind == "grey digit":
                    # Three small coloured tables, not a figure: a window move costs milliseconds, not 0.2 s.
                    cols = st.columns(3)
                    for slot, arr, title, (cmap, signed) in zip(
                            cols, (step.window[0], kernel, step.products[0]),
                            ("window (input)", f"filter: {names[0]}", f"products, sum = {fmt_num(step.value, 4)}"),
                            (("gray", False), ("RdBu_r", True), ("RdBu_r", True))):
                        slot.markdown(f"**{title}**")
                        slot.dataframe(number_table(arr, cmap, symmetric=signed), hide_index=True)
                else:
                    for c, ch in enumerate(("red", "green", "blue")):
                        st.markdown(f"**{ch} channel**: window × filter slice = products, "
                                    f"sum {fmt_num(step.channel_sums[c], 4)}")
                        for slot, arr in zip(st.columns(3), (step.window[c], kernel[c], step.products[c])):
                            slot.dataframe(pd.DataFrame([[fmt_num(v) for v in r] for r in arr]), hide_index=True)
                    st.markdown("Output = " + " + ".join(fmt_num(s, 4) for s in step.channel_sums)
                                + f" = **{fmt_num(step.value, 4)}**")
                    st.caption("Illustrative filter: the chosen 2-D filter weighted 1 on red, 0.5 on green and −1 on "
                               "blue, so the three channel slices differ. A trained CNN learns its own slices.")
                # The input and each feature map as images with the window drawn in (no figure: ~5 ms a move).
                gold = color("window")
                shown = (colorize(image, "gray", 252) if image.ndim == 2 else to_rgb(image, 252))
                pictures = [outline(shown, row, col, 3, 3, (h, w), gold, 3)]
                for m in maps:
                    pictures.append(outline(colorize(m, "RdBu_r", 252, symmetric=True), row, col, 1, 1, m.shape, gold, 3))
                st.image(pictures, caption=["input and the window"] + [f"feature map: {n}" for n in names], width=220)
                st.caption(f"Each feature map is {maps.shape[1]}×{maps.shape[2]}: {h}×{w} input, 3×3 filter, no padding.")

        conv_tab()

def padding_view(size: int, k: int, p: int, s: int, out: int):
    """Padding & stride: how many windows cover each input pixel (``col2im`` of all-ones windows) as a
    Vega-Lite heat map, and the padded input with each window's top-left corner as an RGB image (no
    Matplotlib figure: a new setting took ~0.4 s to draw)."""
    coverage = col2im(np.ones((1, k * k, out * out)), (1, 1, size, size), k, s, p)[0, 0]
    spec = heatmap_spec(coverage, title="windows covering each input pixel", fmt=".0f", annotate=size <= 12,
                        cmap="magma", cell=28 if size <= 12 else max(8, 300 // size))
    grid = np.zeros((size + 2 * p, size + 2 * p), dtype=int)
    grid[p:p + size, p:p + size] = 1
    grid[np.ix_(np.arange(out) * s, np.arange(out) * s)] = 2
    palette = np.array([rgb255(color(c)) for c in ("padding", "input", "window")])
    rep = max(1, 300 // grid.shape[0])
    picture = np.repeat(np.repeat(palette[grid], rep, axis=0), rep, axis=1)
    if rep >= 6:                                          # white lines between the pixels, to count them
        picture[::rep] = picture[:, ::rep] = 255
    return coverage, spec, picture


# --- Padding & stride ------------------------------------------------------------------------------------
if tab_pad.open:
    with tab_pad:
        st.markdown(
            "**What to try:** set padding to 0 and look at the coverage map: corner pixels are seen by one "
            "window, centre pixels by K² windows, so the border counts less (and the output shrinks by K - 1). "
            "Padding by (K - 1)/2 keeps the size. A stride of 2 halves the output; when the windows do not "
            "land exactly on the border, the leftover rows are skipped.")
        c1, c2, c3, c4 = st.columns(4)
        size = c1.slider("Input size", 3, 32, 7, key=page.key("pad_size"))
        k = c2.slider("Kernel K", 1, 7, 3, key=page.key("pad_kernel"))
        p = c3.slider("Padding P", 0, 3, 0, key=page.key("pad_padding"))
        s = c4.slider("Stride S", 1, 4, 1, key=page.key("pad_stride"))
        try:
            out = conv_output_size(size, k, s, p)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.latex(rf"H_{{out}} = \left\lfloor \frac{{H + 2P - K}}{{S}} \right\rfloor + 1 = "
                     rf"\left\lfloor \frac{{{size} + 2\cdot{p} - {k}}}{{{s}}} \right\rfloor + 1 = {out}")
            st.metric("Output size", f"{out}×{out}")
            leftover = (size + 2 * p - k) % s
            if leftover:
                st.warning(f"The stride does not fit exactly: the last {leftover} padded row(s)/column(s) are never "
                           "the start of a window.")
            coverage, spec, picture = padding_view(size, k, p, s, out)
            left, right = st.columns(2)
            left.vega_lite_chart(spec, width="content")
            right.image(picture, width=300,
                        caption="padded input: grey = zero padding, gold = top-left corner of each window")
            st.caption(f"Computed with the same code as the layers: `conv_output_size` and `col2im` of all-ones "
                       f"windows. Coverage ranges from {fmt_num(int(coverage.min()))} to "
                       f"{fmt_num(int(coverage.max()))}.")

# --- Max-pool zoom ---------------------------------------------------------------------------------------
if tab_pool.open:
    with tab_pool:
        @st.fragment
        def pool_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            st.markdown(
                "**What to try:** the numbers are a real 4×4 patch of a real conv1+ReLU feature map of the trained "
                "CNN; each 2×2 block keeps only its largest value (outlined). Then shift the digit by a pixel or two: "
                "position-by-position, the pooled maps change less than the maps before pooling, which is the "
                "tolerance to small shifts the post describes (partial, not full invariance).")
            model, description = explorer_cnn()
            st.caption(f"Model: {description}.")
            idx = st.number_input("Test digit index (max-pool zoom)", 0, len(data.x_test) - 1, 0, key=page.key("pool_index"))
            image = data.x_test[idx:idx + 1]
            fmaps = model[1].forward(model[0].forward(image.astype(np.float32)))[0]
            channel = st.slider("Feature map (conv1 filter)", 0, fmaps.shape[0] - 1, 0, key=page.key("pool_channel"))
            fmap = fmaps[channel].astype(np.float64)
            top0, left0 = pooling.busiest_patch(fmap)
            c1, c2 = st.columns(2)
            # Keyed by digit and map, so a new digit or map starts on its own busiest patch.
            top = c1.slider("Patch top row", 0, fmap.shape[0] - 4, top0, step=2,
                            key=page.key(f"pool_top_{idx}_{channel}"))
            left = c2.slider("Patch left column", 0, fmap.shape[1] - 4, left0, step=2,
                             key=page.key(f"pool_left_{idx}_{channel}"))
            patch, pooled, winners = pooling.max_pool_zoom(fmap, top, left)

            # The map as an image with the patch outlined, the patch and the pooled values as Vega-Lite heat maps
            # in the map's own coordinates, the 2×2 winners outlined (no Matplotlib figure: ~0.4 s a new patch).
            left_col, mid_col, right_col = st.columns([1, 1.2, 1])
            left_col.image(outline(colorize(fmap, "viridis", 224), top, left, 4, 4, fmap.shape, color("window"), 3),
                           caption=f"map {channel} of digit #{idx}, the 4×4 patch outlined")
            zoom = heatmap_spec(patch, xlabels=[str(left + i) for i in range(4)], ylabels=[str(top + i) for i in range(4)],
                                title="4×4 patch (values)", xlabel="map column", ylabel="map row", legend=False, cell=48)
            zoom["layer"].append({"data": {"values": [{"x": int(b), "y": int(a)} for a, b in winners.reshape(-1, 2)]},
                                  "mark": {"type": "rect", "fill": None, "stroke": color("selected"), "strokeWidth": 3}})
            mid_col.vega_lite_chart(zoom, width="content")
            right_col.vega_lite_chart(heatmap_spec(
                pooled, xlabels=[str(left // 2 + i) for i in range(2)], ylabels=[str(top // 2 + i) for i in range(2)],
                title="2×2 after max-pool", xlabel="pooled map column", ylabel="pooled map row", legend=False, cell=48),
                width="content")
            owner, version = explorer_owner()
            st.dataframe(pd.DataFrame([[fmt_num(v) for v in r] for r in pooled], columns=["left", "right"],
                                      index=["top", "bottom"]), key=page.key("pooled_table"))
            st.subheader("Shift the digit")
            c1, c2 = st.columns(2)
            dy = c1.slider("Shift down (pixels)", -3, 3, 0, key=page.key("pool_dy"))
            dx = c2.slider("Shift right (pixels)", -3, 3, 1, key=page.key("pool_dx"))
            one = pooling.translation_tolerance(model, image, dy, dx)
            tolerance = owner.setdefault("tolerance", {})         # 200 digits through conv1: once per shift
            if (*version, dy, dx) not in tolerance:
                tolerance[(*version, dy, dx)] = pooling.translation_tolerance(model, data.x_test[:200], dy, dx)
            many = tolerance[(*version, dy, dx)]
            shifted = digit_images.shift_image(image, dy, dx)
            a1 = model[1].forward(model[0].forward(shifted.astype(np.float32)))[0, channel]
            c1, c2, c3 = st.columns(3)
            c1.metric("Change before pooling (this digit)", fmt_pct(one["before pooling"], 0))
            c2.metric("Change after pooling (this digit)", fmt_pct(one["after pooling"], 0))
            c3.metric("After / before (200 test digits)",
                      fmt_num(many["after pooling"] / max(many["before pooling"], 1e-12)))
            show_maps([fmap, a1, max_pool2d_forward(fmap[None, None], 2)[0, 0],
                       max_pool2d_forward(a1[None, None].astype(np.float64), 2)[0, 0]],
                      ["conv map, original", "conv map, shifted", "pooled, original", "pooled, shifted"], size=140)
            st.caption(f"Change = ‖f(shifted) − f(original)‖ / ‖f(original)‖ over all {fmaps.shape[0]} conv1 maps, "
                       "compared position by position. Prediction on the shifted digit: "
                       f"{int(model.predict(shifted.astype(np.float32)).argmax())}.")

        pool_tab()

# --- Types of pooling ------------------------------------------------------------------------------------
POOL_NAMES = [k for k in pooling.POOLINGS if k != "none"]

if tab_types.open:
    with tab_types:
        @st.fragment
        def types_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            st.markdown(
                "**What to try:** the same trained feature maps pooled three ways. Max keeps each window's strongest "
                "response, average its mean, and global average one number per map. Shift the digit and watch which "
                "outputs stay put; then read the table, measured over many test digits: the smaller the pooled "
                "output, the fewer parameters the classifier head needs and the less a small shift moves it. Try "
                "conv1 and conv2: after the first 2×2 pooling a 2-pixel shift is one whole cell, which global "
                "average pooling does not see at all.")
            model, description = explorer_cnn()
            st.caption(f"Model: {description}.")
            c1, c2, c3, c4 = st.columns(4)
            layer = c1.radio("Feature maps", pooling.MAP_LAYERS, index=1, horizontal=True, key=page.key("types_layer"),
                             help="conv1 + ReLU (28×28 maps) or conv2 + ReLU (14×14 maps, what the CNN's classifier "
                                  "head pools and reads).")
            idx = c2.number_input("Test digit index (pooling types)", 0, len(data.x_test) - 1, 0,
                                  key=page.key("types_index"))
            k = c3.slider("Shift right (pixels, pooling types)", 0, 3, 1, key=page.key("types_shift"))
            n_digits = c4.select_slider("Digits measured", [100, 200, 500, 1000], value=200, key=page.key("types_n"),
                                        help="How many test digits the table averages over (500 digits: about 1 s).")
            image = data.x_test[idx:idx + 1]
            maps = pooling.trained_maps(model, image, layer)
            moved = pooling.trained_maps(model, digit_images.shift_image(image, 0, k), layer)
            channel = st.slider("Map", 0, maps.shape[1] - 1, 0, key=page.key(f"types_channel_{layer}"))
            cols = st.columns([1, 1, 1, 2])
            for col, kind in zip(cols, ["none", "max 2×2", "average 2×2"]):
                p0, p1 = pooling.pool(kind, maps)[0, channel], pooling.pool(kind, moved)[0, channel]
                title = "feature map" if kind == "none" else kind
                with col:
                    st.markdown(f"**{title}** ({p0.shape[0]}×{p0.shape[1]})")
                    show_maps([p0, p1], ["original", f"shifted {k} px"], size=140)
                    st.caption(f"change: {fmt_pct(float(pooling.relative_change(p0[None], p1[None])[0]), 0)}")
            with cols[3]:
                g0, g1 = pooling.pool("global average", maps)[0], pooling.pool("global average", moved)[0]
                st.markdown(f"**global average** ({len(g0)} numbers, one per map)")
                shifted = f"shifted {k} px"
                st.vega_lite_chart({                 # a Vega-Lite chart: a Matplotlib figure cost ~0.15 s every rerun
                    "data": {"values": [{"map": i, "digit": d, "mean": float(v)}
                                        for d, g in (("original", g0), (shifted, g1)) for i, v in enumerate(g)]},
                    "mark": "bar", "height": 220,
                    "encoding": {"x": {"field": "map", "type": "ordinal", "title": "map", "axis": {"labelAngle": 0}},
                                 "xOffset": {"field": "digit", "sort": ["original", shifted]},
                                 "y": {"field": "mean", "type": "quantitative", "title": "mean activation"},
                                 "color": {"field": "digit", "type": "nominal", "title": None,
                                           "scale": {"domain": ["original", shifted],
                                                     "range": [color("cnn"), color("selected")]},
                                           "legend": {"orient": "top"}}}})
                st.caption(f"change: {pooling.change_text(float(pooling.relative_change(g0[None], g1[None])[0]))}")
            # The measurement over many digits (≈0.5 s per 200 digits), kept per model, layer and count.
            cache_key = (id(model), layer, n_digits)
            if cache_key not in page["pool_cache"]:
                page["pool_cache"][cache_key] = pooling.pooling_comparison(model, data.x_test[:n_digits], layer)
            rows = page["pool_cache"][cache_key]
            by = {r["pooling"]: r for r in rows}
            st.markdown(f"**Measured over the first {n_digits:,} test digits** (shifts by 1 and 2 pixels, averaged over "
                        "right, left, down and up)")
            shown = [{"pooling": r["pooling"], "output per digit": r["output shape"], "values": r["values"],
                      "classifier head Dense(values, 10)": f"{r['head parameters']:,} parameters",
                      "change, 1-px shift": pooling.change_text(r["change, 1-px shift"]),
                      "change, 2-px shift": pooling.change_text(r["change, 2-px shift"])} for r in rows]
            st.dataframe(pd.DataFrame(shown), hide_index=True, key=page.key("types_table"))
            cols = st.columns(3)
            for col, kind in zip(cols, POOL_NAMES):
                col.metric(f"Head parameters after {kind}", f"{by[kind]['head parameters']:,}")
            st.caption("Change = ‖p(shifted) − p(original)‖ / ‖p(original)‖ per digit, position by position. The head "
                       "column is what a single dense layer to the 10 classes would cost on each pooled output "
                       f"(the small CNN's own head reads the max-pooled conv2 maps: {model.layers[-1].num_params():,}).")
            # The same small CNN trained with each head pooling (shipped, trained identically): what it costs.
            st.markdown(f"**The small CNN trained with each pooling before its head** (the shipped checkpoints "
                        f"`cnn`, `cnn_avgpool`, `cnn_gap`, trained identically: {SHIPPED_SETTINGS}); accuracy here on the "
                        f"first {n_digits:,} test digits, as they are and shifted by 1 and 2 pixels (four directions)")
            head_key = ("heads", n_digits)
            if head_key not in page["pool_cache"]:
                models = {kind: page["shipped"][name]["model"] for kind, name in cnn.HEAD_POOL_CHECKPOINTS.items()}
                page["pool_cache"][head_key] = cnn.head_pool_rows(data.x_test[:n_digits], data.y_test[:n_digits],
                                                                  models=models)
            heads = page["pool_cache"][head_key]
            st.dataframe(pd.DataFrame([{"head pooling": r["head pooling"], "head parameters": f"{r['head parameters']:,}",
                                        "all parameters": f"{r['parameters']:,}",
                                        "test accuracy": fmt_pct(r["test accuracy"], 2),
                                        "digits shifted 1 px": fmt_pct(r["accuracy, 1-px shift"], 2),
                                        "digits shifted 2 px": fmt_pct(r["accuracy, 2-px shift"], 2)} for r in heads]),
                         hide_index=True, key=page.key("heads_table"))
            hb = {r["head pooling"]: r for r in heads}
            n_maps = page["shipped"]["cnn_gap"]["model"].layers[-1].params["W"].shape[0]
            st.caption(f"Global average pooling leaves {n_maps} numbers per digit and a "
                       f"{hb['global average']['head parameters']}-parameter head, and the CNN reaches only "
                       f"{fmt_pct(hb['global average']['test accuracy'], 1)}: averaging a whole map away forgets *where* "
                       f"each stroke was, which {n_maps} small maps cannot spare. "
                       "A 2-pixel shift costs the max-pooled CNN "
                       f"{fmt_num(100 * (hb['max']['test accuracy'] - hb['max']['accuracy, 2-px shift']), 3)} points and "
                       "the average-pooled one "
                       f"{fmt_num(100 * (hb['average']['test accuracy'] - hb['average']['accuracy, 2-px shift']), 3)}.")
            mx, gap, none = by["max 2×2"], by["global average"], by["none"]
            playground.post_vs_measured(
                post="pooling makes the network tolerant to small shifts in position (translation invariance) and "
                     "reduces the size, so fewer parameters downstream.",
                measured=f"on these {layer} maps a 1-pixel shift changes the max-pooled output by "
                         f"{fmt_pct(mx['change, 1-px shift'], 0)} (the maps themselves {fmt_pct(none['change, 1-px shift'], 0)}): "
                         "more tolerant, not invariant. Only global average pooling comes close "
                         f"({pooling.change_text(gap['change, 1-px shift'])}), and it shrinks the head from "
                         f"{mx['head parameters']:,} to {gap['head parameters']:,} parameters.")

        types_tab()
