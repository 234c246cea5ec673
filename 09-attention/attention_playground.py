"""Playground for chapter 09: encoder–decoders with and without attention, learned alignments, scaled
dot-product attention, self-attention heads and the clock of recurrence against self-attention. The page
opens on the shipped checkpoints (``train_attention.py``); Train retrains live with the sidebar's settings.

    streamlit run 09-attention/attention_playground.py      (or open it from the hub: streamlit run app.py)
"""

import numpy as np
import streamlit as st

import attention
from common import playground
from common.playground import PageState
from common.plots import color, fmt_num, fmt_pct, heatmap_spec, index_axis, new_figure
from common.sequence_tasks import seq2seq_task, source_positions
from common.training import Live

playground.chapter_header(
    9, "Three LSTM encoder–decoders learn to reorder sequences: one squeezes the input through its final "
       "state, two may look back at every encoder state (Bahdanau's additive score, Luong's multiplicative "
       "one). A small self-attention layer learns heads of its own. Everything below comes from trained "
       "models: on arrival the shipped checkpoints of the sidebar's default run, after **Train** your own; a view "
       "that is illustrative says so.")

page = PageState("ch09", shown=None, training=None, version=0, cache=dict, took=None, error=None, heads_kept=None)
key = page.key
V = attention.VOCAB
D = attention.PAGE_DEFAULTS
CKPT = attention.CHECKPOINT_DIR


def stale_note(slot, shown, config) -> None:
    """Whether the settings differ from those of the models shown (``playground.settings_note``)."""
    cfg = None if shown is None else shown["config"]
    text = None
    if cfg is not None and cfg != config:
        lo_, hi_ = cfg["lengths"]
        text = (f"The sidebar has changed since these models were trained; they were trained on “{cfg['task']}” "
                f"with lengths {lo_}–{hi_}, H={cfg['hidden_size']}, {cfg['steps']} steps, Luong score "
                f"{cfg['luong_score']}. Press Train to retrain.")
    playground.settings_note(slot, text)


@st.fragment
def training_settings():
    """The settings of the next Train, in a fragment (``playground.settings_note`` says why); returns them
    and the note's slot."""
    st.header("Sequence to sequence")
    task = st.selectbox("Task", ["reverse", "sov"], key=key("task"),
                        format_func={"reverse": "reverse the sequence", "sov": "SOV → SVO clauses"}.get,
                        help="Reversal needs every word moved; SOV → SVO swaps the object and the verb inside "
                             "each three-word clause, like the post's Tamil → English example.")
    lengths = st.slider("Trained lengths (words)", 3, 18, D["lengths"], key=key("lengths"),
                        help="Each batch has one length from this range (for SOV → SVO, a multiple of 3: the "
                             "range must hold one).")
    hidden = st.select_slider("Hidden size H", [16, 32, 48, 64], value=D["hidden_size"], key=key("hidden"))
    steps = st.select_slider("Training steps", [20, 50, 100, 200, 300, 500, 1000], value=D["steps"], key=key("steps"),
                             help=f"Batches of {D['batch_size']}. The defaults are the run the page opens on (the "
                                  "shipped checkpoint) and train in about three seconds on a quiet machine; more "
                                  "steps and longer lengths widen the gap between the models. The heads models "
                                  f"take {attention.DOC_HEAD_STEPS} steps, and a Train trains them only when "
                                  "their own settings below change.")
    luong_score = st.selectbox("Luong score", ["general", "dot", "concat"], key=key("luong_score"),
                               help="dot: h_t·h̄_s; general: h_t W_a h̄_s; concat: vᵀtanh(W[h_t; h̄_s]).")
    seed = st.number_input("Seed", 0, 10_000, D["seed"], key=key("seed"))
    st.header("Self-attention heads")
    heads = st.select_slider("Heads", [1, 2, 4], value=D["heads"], key=key("heads"),
                             help="The task needs two relations (previous word, first word).")
    head_seed = st.number_input("Seed of the heads model", 0, 10_000, D["head_seed"], key=key("head_seed"),
                                help="Try 0: that run solves the task with two heads that share both jobs.")
    config = dict(D, task=task, lengths=tuple(int(v) for v in lengths), hidden_size=int(hidden), steps=int(steps),
                  luong_score=luong_score, seed=int(seed), data_seed=int(seed) + 1, heads=int(heads),
                  head_seed=int(head_seed))
    slot = st.empty()
    stale_note(slot, page["shown"], config)
    return config, slot


with st.sidebar:
    config, note_slot = training_settings()
    train_clicked = st.button("Train", type="primary", key=page.button_key("train"), width="stretch")
    st.button("Stop", key=page.button_key("stop"), width="stretch", help="Stops training; every step finished so far is kept.")
    took_slot = st.empty()


@st.cache_data(show_spinner="Evaluating the shipped checkpoint…")
def shipped_scores():
    """Every score of the shipped reversal checkpoint at length 8 and 10 (``attention.scores_table``'s numbers)."""
    return attention.records(attention.scores_table(attention.load_seq2seq_checkpoint("reverse")))


@st.cache_data(show_spinner="Evaluating the shipped SOV checkpoint…")
def shipped_sov():
    """The shipped SOV → SVO run (``attention.sov_table``'s numbers)."""
    return attention.records(attention.sov_table(attention.load_seq2seq_checkpoint("sov")))


def from_checkpoint():
    """What the page shows on arrival: the shipped reversal models (the page's defaults) and heads."""
    runs = attention.load_seq2seq_checkpoint("reverse")
    heads_models = attention.load_heads_checkpoint()
    return dict(config=dict(D), models={w: runs[w][0] for w in attention.MODELS},
                histories={w: runs[w][1] for w in attention.MODELS},
                heads={h: heads_models[(h, D["head_seed"])] for h in (D["heads"], 1)},
                heads_seed={h: D["head_seed"] for h in (D["heads"], 1)},
                source="checkpoint", origin={}, complete=True)


def settle_interrupted():
    """A run that did not finish (Stop, or an error) keeps what it finished: the encoder–decoders it
    reached (a stopped one with the steps it took) and the heads models it finished; the rest stays as it
    was before the run (for the encoder–decoders only when they were trained on the same task)."""
    import time

    run, old = page["training"], page["shown"]
    page["training"] = None
    if run is None or run["complete"]:
        return
    if "started" in run:
        page.update(took=time.perf_counter() - run["started"], took_what="Train (stopped)")
    if not run["models"]:                                 # stopped before the first step: nothing changed
        return
    models, histories, origin = dict(run["models"]), dict(run["histories"]), {}
    for w in attention.MODELS:
        if w in models:
            h = histories[w]
            if h.steps < run["config"]["steps"]:
                origin[w] = f"stopped at step {h.steps} of {run['config']['steps']}"
        elif old["models"].get(w) is not None and old["config"]["task"] == run["config"]["task"]:
            models[w], histories[w] = old["models"][w], old["histories"][w]
            origin[w] = "from before this run"
    heads_models = {**old["heads"], **run["heads"]}
    heads_seed = {**old.get("heads_seed", {}), **run.get("heads_seed", {})}
    page["shown"] = dict(config=run["config"], models=models, histories=histories, heads=heads_models,
                         heads_seed=heads_seed,
                         source="trained", origin=origin, complete=False)
    page["version"] += 1


def kept_note(counts: list[int], seed: int) -> str | None:
    """What a Train says of the heads models it kept (``counts``, largest first), or None."""
    if not counts:
        return None
    which = f"{counts[0]}- and {counts[1]}-head models" if len(counts) == 2 else f"{counts[0]}-head model"
    return (f"Self-attention heads: the {which} of seed {seed} {'were' if len(counts) == 2 else 'was'} kept, not "
            "trained again: no sequence-to-sequence setting reaches them, and the same seed trains the same "
            "model. Change Heads or their seed to train new ones.")


def run_training(cfg):
    """Train the three encoder–decoders, then the heads models the page does not already have with these
    heads settings (``attention.train_page``), with live loss curves. Each model and its live ``History``
    go into ``page["training"]`` when its training begins, so Stop (or an error) keeps every step done;
    what shows switches to the new run once it finishes."""
    import time

    # The heads models shown with this heads seed are kept: no sequence-to-sequence setting reaches them
    # and the same seed repeats the same run (``attention.train_page``).
    shown = page["shown"]
    kept = {h: m for h, m in shown["heads"].items() if shown.get("heads_seed", {}).get(h) == cfg["head_seed"]}
    to_train = attention.heads_to_train(cfg, kept)
    run = dict(config=cfg, models={}, histories={}, heads={}, heads_seed={}, source="trained", origin={},
               complete=False, started=time.perf_counter())
    page.update(training=run, took=None, error=None, took_what="Train",
                heads_kept=kept_note([h for h in sorted({cfg["heads"], 1}, reverse=True) if h not in to_train],
                                     cfg["head_seed"]))
    t0 = time.perf_counter()
    bar = st.progress(0.0, text="starting…")
    report = playground.progress_reporter(bar)
    chart = st.empty()
    total = 3 * cfg["steps"] + len(to_train) * attention.DOC_HEAD_STEPS
    done = {"steps": 0}

    def keep(which, model, history):
        run["models"][which], run["histories"][which] = model, history

    def keep_heads(h, model):
        run["heads"][h] = model
        run["heads_seed"][h] = cfg["head_seed"]

    def draw(state, name):
        base = done["steps"]
        report((base + state.history.steps) / total,
               f"{mname_cfg(name, cfg)}: step {state.history.steps}/{state.steps_per_epoch} · "
               f"loss {fmt_num(state.history.batch_loss[-1])}")
        if name in attention.MODELS:
            loss_chart(chart, run["histories"], cfg, 220)

    def callbacks_for(name):
        class Done(Live):
            def on_train_end(self, state):
                done["steps"] += state.history.steps
        return [Done(on_update=lambda s: draw(s, name), every_steps=25, min_interval=0.3)]

    try:
        attention.train_page(cfg, callbacks_for=callbacks_for, on_seq2seq=keep, on_heads=keep_heads, kept_heads=kept)
    except Exception as e:                          # keep what finished, say what went wrong
        page["error"] = f"Training stopped with an error: {type(e).__name__}: {e}. What had finished is kept."
        settle_interrupted()
        return
    run["complete"] = True
    page.update(shown=run, training=None, took=time.perf_counter() - t0, took_what="Train")
    page["version"] += 1
    bar.empty()
    chart.empty()


def mname_cfg(which, cfg):
    if which.startswith("heads-"):
        return f"self-attention with {which[6:]} head(s)"
    return f"Luong ({cfg['luong_score']})" if which == "luong" else attention.MODEL_NAMES[which]


def loss_chart(container, histories, cfg, height, frame=None):
    """The per-step loss of each model (a running mean of 10 steps), in the palette's colour for it: a
    Vega-Lite spec written out (``st.line_chart`` builds and validates an Altair chart, ~0.1 s a rerun).
    ``frame`` is ``loss_frame``'s result when the caller keeps it."""
    frame = loss_frame(histories, cfg) if frame is None else frame
    names = {mname_cfg(w, cfg): color(w) for w in histories if (frame["model"] == mname_cfg(w, cfg)).any()}
    container.vega_lite_chart(frame, {
        "mark": {"type": "line"},
        "encoding": {"x": {"field": "step", "type": "quantitative", "title": "training step"},
                     "y": {"field": "loss", "type": "quantitative", "title": "loss (mean of 10 steps)"},
                     "color": {"field": "model", "type": "nominal", "title": None,
                               "scale": {"domain": list(names), "range": list(names.values())}}}},
        width="stretch", height=height)


def loss_frame(histories, cfg, smooth=10):
    """Training loss per step (a running mean over ``smooth`` steps) of each model, long format."""
    import pandas as pd
    frames = []
    for w, h in histories.items():
        loss = np.asarray(h.batch_loss, dtype=float)
        if len(loss) == 0:
            continue
        k = min(smooth, len(loss))
        avg = np.convolve(loss, np.ones(k) / k, mode="valid")
        frames.append(pd.DataFrame({"step": np.arange(k, len(loss) + 1), "loss": avg, "model": mname_cfg(w, cfg)}))
    return pd.concat(frames) if frames else pd.DataFrame({"step": [], "loss": [], "model": []})


if page["shown"] is None:
    page["shown"] = from_checkpoint()
settle_interrupted()                                  # a Stop or an error in the previous run
if train_clicked:
    try:
        attention.check_lengths(config["lengths"], config["task"])
    except ValueError as e:
        page["error"] = f"Not trained: {e}. The models shown are kept."
    else:
        run_training(config)
if page["error"]:
    st.error(page["error"])
    page["error"] = None                              # said once, beside the run it belongs to
if page["took"] is not None:
    with took_slot.container():
        playground.took(page["took"], page.get("took_what", "Train"))
        if page["heads_kept"] and page.get("took_what") == "Train":
            st.caption(page["heads_kept"])

shown = page["shown"]
models, histories, cfg = shown["models"], shown["histories"], shown["config"]
if shown["source"] == "checkpoint":
    playground.checkpoint_caption(CKPT / attention.CHECKPOINTS["reverse"],
                                  "reversal, lengths 4–10, H = 32, 300 steps of 32 sequences, Adam 1e-2, seed 0 "
                                  "(the sidebar's defaults); heads: 2 and 1 head, seed 1, 300 steps "
                                  f"(`{attention.CHECKPOINTS['heads']}`)")
for w, note in shown.get("origin", {}).items():
    st.caption(f"{attention.MODEL_NAMES[w]}: {note}.")


def mname(which):
    return f"Luong ({cfg['luong_score']})" if which == "luong" else attention.MODEL_NAMES[which]


lo, hi = cfg["lengths"]
stale_note(note_slot, shown, config)         # after a Train, for the models it left


def cached(name, fn):
    """Per-training-run cache in the page state (models are not hashable for st.cache_data)."""
    k = (name, page["version"])
    cache = page["cache"]
    if k not in cache:
        if len(cache) > 50:
            cache.clear()
        cache[k] = fn()
    return cache[k]


def show_kept(name: tuple, draw) -> None:
    """Show ``draw()``'s figure, drawn once per training run (``page["version"]``) and ``name`` (the view's
    own settings): a sidebar setting only shapes the next run, and moving it no longer redraws these."""
    playground.show_kept_figure(page.data, (page["version"], *name), draw)


def valid_length(L):
    return 3 * max(1, round(L / 3)) if cfg["task"] == "sov" else int(L)


eval_lengths = sorted({valid_length(L) for L in range(2, 25, 2)} | {valid_length(lo), valid_length(hi)})
trained_models = {w: m for w, m in models.items() if w in histories}
heads_available = shown["heads"]
heads_count = cfg["heads"] if cfg["heads"] in heads_available else max(heads_available, default=None)
heads_model = heads_available.get(heads_count)


def ms_text(history) -> str:
    ms = attention.ms_per_step(history)
    return fmt_num(ms) if np.isfinite(ms) else "–"                   # stopped mid-run: no timing


def heads_or_stop():
    """The heads model the self-attention tabs show, trained last: after a Stop it may be missing, and then
    the tab says so and stops (only the open tab runs: nothing after it is lost)."""
    if heads_model is None:
        st.info("Training stopped before the self-attention heads model was trained. Press **Train**.")
        st.stop()
    elif heads_count != cfg["heads"]:
        st.caption(f"Training stopped before the {cfg['heads']}-head model finished: showing the "
                   f"{heads_count}-head model kept from before.")
    elif shown.get("heads_seed", {}).get(heads_count, cfg["head_seed"]) != cfg["head_seed"]:
        st.caption(f"Training stopped before the seed-{cfg['head_seed']} heads model finished: showing the "
                   f"seed-{shown['heads_seed'][heads_count]} model kept from before.")
    return heads_model


def acc_table():
    """(token, sequence) accuracy per length; each length's test sentences come from their own seed."""
    out = {}
    for w, m in trained_models.items():
        per = [attention.accuracy_by_length(m, cfg["task"], [L], np.random.default_rng([5, L]), n=100)
               for L in eval_lengths]
        out[w] = (np.array([p[0][0] for p in per]), np.array([p[1][0] for p in per]))
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def entropy_view(n_keys: int):
    """What √d does: the softmax's mean entropy against d, scaled and unscaled, on random vectors (seed 0),
    and its chart (a Vega-Lite spec the browser draws: a Matplotlib figure took ~0.3 s for each new number
    of keys). Pure in ``n_keys``: cached."""
    dims = np.array([2, 4, 8, 16, 32, 64, 128, 256, 512])
    sc, un = attention.softmax_entropy_vs_d(dims, np.random.default_rng(0), n_keys=n_keys)
    names = {"softmax(q·k/√d)": color("scaled"), "softmax(q·k), unscaled": color("unscaled"),
             f"uniform: log {n_keys}": color("chance")}
    rows = ([{"d": int(d), "entropy": float(v), "curve": "softmax(q·k/√d)"} for d, v in zip(dims, sc)]
            + [{"d": int(d), "entropy": float(v), "curve": "softmax(q·k), unscaled"} for d, v in zip(dims, un)])
    x = {"field": "d", "type": "quantitative", "scale": {"type": "log", "base": 2},
         "title": "d (width of q and k, entries ~ N(0, 1))", "axis": {"values": dims.tolist()}}
    colours = {"field": "curve", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
               "scale": {"domain": list(names), "range": list(names.values())}}
    chart = {"height": 300, "layer": [
        {"data": {"values": rows}, "mark": {"type": "line", "point": True},
         "encoding": {"x": x, "y": {"field": "entropy", "type": "quantitative",
                                    "title": "mean entropy of the weights (nats)"}, "color": colours}},
        {"data": {"values": [{"entropy": float(np.log(n_keys)), "curve": f"uniform: log {n_keys}"}]},
         "mark": {"type": "rule", "strokeDash": [2, 3]},
         "encoding": {"y": {"field": "entropy", "type": "quantitative"}, "color": colours}}]}
    return dims, sc, un, chart


def alignment_chart(W, words, outw, copied, title) -> dict:
    """A decoder's attention weights (output words × source words) as a Vega-Lite heat map, the value in
    each cell up to 8 words, with a red dot on the source word each output copies."""
    L = len(words)
    spec = heatmap_spec(W, xlabels=words, ylabels=outw, vmin=0, vmax=1, annotate=L <= 8, cell=36 if L <= 8 else 22,
                        xlabel="source word (encoder state)", ylabel="output word", title=title)
    spec["layer"].append({"data": {"values": [{"x": int(j), "y": i} for i, j in enumerate(copied)]},
                          "mark": {"type": "point", "filled": True, "size": 30, "color": color("copied word"),
                                   **({"xOffset": 11, "yOffset": 11} if L <= 8 else {})}})
    return spec


tabs = st.tabs(["The bottleneck", "Scaled dot-product", "Learned alignment", "Self-attention", "Multi-head",
                "Recurrence vs attention: time"], key=key("tab"), on_change="rerun")
tab_bottle, tab_sdpa, tab_align, tab_self, tab_multi, tab_time = tabs

if tab_bottle.open:
    with tab_bottle:
        with st.spinner("Greedy-decoding 100 fresh sequences per length with each model…"):
            accs = cached("acc", acc_table)
        left, right = st.columns(2)
        with left:
            def accuracy_figure():
                fig, ax = new_figure(size=(6, 4))
                ax.axvspan(lo, hi, color=color("trained range"), alpha=0.2, label=f"trained lengths {lo}–{hi}")
                for w, (tok, _) in accs.items():
                    ax.plot(eval_lengths, tok, "-o", ms=3, color=color(w), label=mname(w))
                ax.axhline(1 / V.n_symbols, color=color("chance"), ls=":", label="chance")
                ax.set_xlabel("sequence length")
                ax.set_ylabel("token accuracy, greedy decoding")
                ax.set_ylim(0, 1.05)
                ax.legend(fontsize=8)
                return fig
            show_kept(("accuracy",), accuracy_figure)
        in_range = [L for L in eval_lengths if lo <= L <= hi]
        L_long = max(in_range) if in_range else eval_lengths[-1]
        idx = eval_lengths.index(L_long)
        st.dataframe([{"model": mname(w), f"token accuracy at length {L_long}": fmt_pct(tok[idx]),
                       f"whole sequences right at {L_long}": fmt_pct(seq[idx]),
                       f"token accuracy at {eval_lengths[-1]}": fmt_pct(tok[-1])} for w, (tok, seq) in accs.items()],
                     hide_index=True)
        with right:
            show = st.multiselect("Encoder influence for source lengths", [6, 9, 12, 18, 24], default=[6, 12, 18],
                                  key=key("infl_lengths"),
                                  help="‖∂h_T/∂e_j‖: how much the word at position j can still move the final state.")
            src_model = st.selectbox("Encoder of", list(trained_models), format_func=mname,
                                     key=key("infl_model"))

            def influence():
                rng = np.random.default_rng(11)
                return {L: attention.encoder_influence(trained_models[src_model], rng.integers(0, V.n_symbols, (8, L)))
                        for L in show}

            infl = cached(("infl", tuple(show), src_model), influence)

            st.vega_lite_chart({
                "data": {"values": [{"j": j + 1, "g": float(g), "length": f"length {L}"}
                                    for L, v in infl.items() for j, g in enumerate(v)]},
                "mark": {"type": "line", "point": True}, "height": 300,
                "encoding": {
                    "x": {"field": "j", "type": "quantitative", "title": "source position j",
                          "axis": {"tickMinStep": 1, "format": "d"}},
                    "y": {"field": "g", "type": "quantitative", "scale": {"type": "log"},
                          "title": "‖∂h_T / ∂e_j‖ (mean of 8 sequences)"},
                    "color": {"field": "length", "type": "nominal", "title": None,
                              "sort": [f"length {L}" for L in infl], "legend": {"orient": "top-left", "symbolSize": 50}}}})
        st.dataframe([{"source length": L, "influence of the first word ÷ the last": fmt_num(v[0] / v[-1])}
                      for L, v in infl.items()], hide_index=True)
        measured = ", ".join(f"{fmt_num(v[0] / v[-1])} at length {L}" for L, v in sorted(infl.items()))
        st.caption("Without attention the decoder gets only h_T, and the early words move it less than the last "
                   f"one: measured here, the first word's influence is {measured or '–'} of the last word's. "
                   "What to try: train on longer lengths (up to 18) and watch the gap between the models widen "
                   "inside the trained range; note that no model generalises far past the longest length it was "
                   "trained on.")
        past = [i for i, L in enumerate(eval_lengths) if L > hi]
        att = [w for w in accs if w != "none"]
        if past and att and "none" in accs:
            i = past[-1]
            best = max(att, key=lambda w: accs[w][0][idx])
            playground.post_vs_measured(
                post="with attention, translation quality on long sentences improved dramatically.",
                measured=f"inside the trained lengths ({lo}–{hi}) attention is ahead: at {L_long}, "
                         f"{fmt_pct(accs[best][0][idx])} of the tokens for {mname(best)} against "
                         f"{fmt_pct(accs['none'][0][idx])} without it. Past them every model falls: at {eval_lengths[i]}, "
                         f"{fmt_pct(accs[best][0][i])} against {fmt_pct(accs['none'][0][i])}. Attention removes the "
                         "bottleneck; it does not teach the decoder lengths it never saw.")
        st.subheader("Training loss")
        if any(h.steps for h in histories.values()):
            loss_chart(st, histories, cfg, 240, frame=cached("loss frame", lambda: loss_frame(histories, cfg)))
            st.caption("Per-step training loss (running mean of 10 steps) of the models shown"
                       + (", recorded when the shipped checkpoint was trained." if shown["source"] == "checkpoint"
                          else "."))
        st.subheader("Every score: Bahdanau and Luong's dot, general and concat")
        st.dataframe(shipped_scores(), hide_index=True)
        sc = {r["model"]: r for r in shipped_scores()}
        st.caption(
            "From the shipped checkpoint `seq2seq_reverse.npz` (the README's run: reversal, lengths 4–10, H = 32, "
            f"300 steps; 200 fresh sequences per length). At length 8 Luong's dot score gets "
            f"{sc['Luong (dot)']['token accuracy at 8']} of the tokens right, concat {sc['Luong (concat)']['token accuracy at 8']}, "
            f"general {sc['Luong (general)']['token accuracy at 8']}, Bahdanau {sc['Bahdanau (additive)']['token accuracy at 8']} and "
            f"no attention {sc['No attention']['token accuracy at 8']}. Why the plain dot product does so well here: the "
            "encoder and the decoder are trained together, so the decoder can learn to make its state point the "
            "same way as the encoder state it needs; a score with no parameters of its own has nothing extra to "
            "learn in 300 steps, and its gradient goes straight into both LSTMs. The learned scores must first "
            "find W_a (general) or W and v (concat, Bahdanau) from a random start. Bahdanau also scores with the "
            "state before the step, which has not yet seen the word just written.")

if tab_sdpa.open:
    with tab_sdpa:
        model = heads_or_stop()
        c1, c2, c3 = st.columns(3)
        h = c1.selectbox("Head to read", range(model.num_heads), key=key("sdpa_head"))
        t = c2.slider("Query position", 0, model.T - 1, model.T - 1, key=key("sdpa_query"))
        sseed = c3.number_input("Token sequence seed", 0, 10_000, 0, key=key("sdpa_seed"))
        X, _, _ = attention.head_task(1, np.random.default_rng(int(sseed)), model.T, model.vocab)
        e = model.embed(X)[0]                                                       # (T, d)
        P, sl = model.attn.params, slice(h * model.attn.d_k, (h + 1) * model.attn.d_k)
        q = (e @ P["W_Q"] + P["b_Q"])[:, sl]
        k = (e @ P["W_K"] + P["b_K"])[:, sl]
        v = (e @ P["W_V"] + P["b_V"])[:, sl]
        scores = k @ q[t]
        scaled = scores / np.sqrt(model.attn.d_k)
        allowed = np.arange(model.T) <= t
        w = np.where(allowed, np.exp(scaled - scaled[allowed].max()), 0.0)
        w /= w.sum()
        out = w @ v
        st.markdown(f"Sequence: {' '.join(f'`{x}`' for x in X[0])} — the query is position **{t}** "
                    f"(token `{X[0, t]}`), head {h}, d_k = {model.attn.d_k}. Q, K and V are the trained "
                    "model's projections of its own token + position embeddings.")
        st.dataframe({"key position": np.arange(model.T), "token": X[0], "q·k": [fmt_num(x) for x in scores],
                      "q·k/√d_k": [fmt_num(x) for x in scaled], "allowed (causal)": allowed,
                      "weight": [fmt_num(x) for x in w]},
                     hide_index=True)
        model.forward(X)
        st.caption(f"Output = Σ weightⱼ·vⱼ, a {model.attn.d_k}-vector. Recomputed here by hand; largest "
                   f"difference from the head output inside the layer: "
                   f"{fmt_num(np.abs(out - model.attn.extras['heads'][0, h, t]).max())}.")
        values = np.vstack([v, out[None]]).T
        big = float(np.abs(values).max()) or 1.0
        st.vega_lite_chart(heatmap_spec(values, xlabels=[f"v{j}" for j in range(model.T)] + ["output"], annotate=False,
                                        cmap="RdBu_r", vmin=-big, vmax=big, cell=40, height=160,
                                        ylabel="component",
                                        title="value vectors (columns) and the weighted sum (last column)"),
                           width="content")
        st.subheader("What √d does (measured on random vectors)")
        n_keys = st.slider("Keys", 4, 64, 16, key=key("sdpa_keys"))
        dims, sc, un, chart = entropy_view(int(n_keys))
        st.vega_lite_chart(chart, width="stretch")
        st.dataframe({"d": dims, "entropy scaled": [fmt_num(x) for x in sc],
                      "entropy unscaled": [fmt_num(x) for x in un]}, hide_index=True)
        st.caption("Unscaled, q·k has variance d: for wide vectors one key takes nearly all the weight and the "
                   "softmax's gradient all but vanishes. Dividing by √d keeps the variance at 1 for every d.")

if tab_align.open:
    with tab_align:
        views = {"shown": f"the models above ({'SOV → SVO' if cfg['task'] == 'sov' else 'reversal'})",
                 "sov": "the shipped SOV → SVO models (seq2seq_sov.npz)"}
        view = st.radio("Alignments of", list(views), format_func=views.get, horizontal=True, key=key("align_view"),
                        help="The shipped SOV → SVO checkpoint shows the post's word-order problem without "
                             "training: the alignment is the identity with each clause's object and verb swapped.")
        if view == "sov":
            if "sov_models" not in page:
                page["sov_models"] = attention.load_seq2seq_checkpoint("sov")
            a_task = "sov"
            a_models = {w: m for w, (m, _) in page["sov_models"].items()}
            a_hist = {w: h for w, (_, h) in page["sov_models"].items()}
            a_name = lambda w: attention.MODEL_NAMES[w]            # noqa: E731
        else:
            a_task, a_models, a_hist, a_name = cfg["task"], trained_models, histories, mname
        c1, c2 = st.columns(2)
        L = int(c1.slider("Source length", 3, 24, min(hi, 8) if view == "shown" else 12, key=key("align_len"),
                          help="For SOV → SVO, rounded to whole three-word clauses."))
        L = 3 * max(1, round(L / 3)) if a_task == "sov" else L
        aseed = c2.number_input("Source sequence seed", 0, 10_000, 0, key=key("align_seed"))
        src, _, tgt = seq2seq_task(a_task, 1, L, np.random.default_rng(int(aseed)), V)
        words = [V.word(i, a_task) for i in src[0]]
        st.markdown(f"**Source:** {' '.join(words)} → **target:** {' '.join(V.word(i, a_task) for i in tgt[0])}")
        cols = st.columns(2)
        rows = []
        for col, w in zip(cols, ("bahdanau", "luong")):
            if w not in a_models:
                continue
            out, W = attention.alignment(a_models[w], src[0])
            outw = [V.word(i, a_task) for i in out]
            with col:
                st.vega_lite_chart(alignment_chart(W, words, outw, source_positions(a_task, L),
                                                   f"{a_name(w)}: {int((out == tgt[0]).sum())}/{L} right"),
                                   width="content")
            exact, near = attention.alignment_accuracy(a_models[w], a_task, L, np.random.default_rng(3))
            tok = cached(("acc1", view, w, L), lambda m=a_models[w]: attention.accuracy_by_length(
                m, a_task, [L], np.random.default_rng([5, L]), n=100)[0][0])
            rows.append({"model": a_name(w), "ms per training step": ms_text(a_hist[w]),
                         f"token accuracy at length {L}": fmt_pct(tok),
                         "argmax on the copied word": fmt_pct(exact), "…within one position": fmt_pct(near)})
        st.dataframe(rows, hide_index=True)
        st.caption("Red dots: the source word each output copies. The learned weights follow them, often one "
                   "position to the right: the encoder reads left to right, so its state at j+1 still carries "
                   "word j. Bahdanau scores with the previous decoder state before the step, Luong with the "
                   "current one after it, so Bahdanau's decoder is a loop over steps: compare the measured time per training "
                   "step in the table.")
        st.subheader("SOV → SVO, from the shipped checkpoint")
        sov = shipped_sov()
        st.dataframe(sov, hide_index=True)
        sv = {r["model"]: r for r in sov}
        st.caption(
            "The post's word-order problem in miniature: subject–object–verb clauses become subject–verb–object "
            "(`seq2seq_sov.npz`: lengths 3–12, otherwise the reversal run's settings). At 12 words, "
            f"{sv['Bahdanau (additive)']['12']} (Bahdanau) and {sv['Luong (general)']['12']} (Luong) of the tokens are right "
            f"against {sv['No attention']['12']} without attention, and the largest weight falls within one position "
            f"of the word being copied for {sv['Bahdanau (additive)']['within one position of it']} and "
            f"{sv['Luong (general)']['within one position of it']} of the output words: the alignment is the "
            "identity with each clause's object and verb swapped. Pick the task in the sidebar and Train to "
            "see the heat maps.")

if tab_self.open:
    with tab_self:
        model = heads_or_stop()
        c1, c2, c3, c4 = st.columns(4)
        view = c1.selectbox("Head", ["average"] + list(range(model.num_heads)), key=key("self_head"))
        causal = c2.checkbox("Causal mask (as trained)", value=True, key=key("self_causal"))
        word = c3.slider("Word", 0, model.T - 1, model.T - 1, key=key("self_word"))
        xs = c4.number_input("Input sequence seed", 0, 10_000, 0, key=key("self_seed"))
        X, _, _ = attention.head_task(1, np.random.default_rng(int(xs)), model.T, model.vocab)
        model.forward(X, causal=causal)
        W = model.attn.weights[0]
        M = W.mean(axis=0) if view == "average" else W[int(view)]
        labels = [f"{j}:{X[0, j]}" for j in range(model.T)]
        playground.note_if(not causal, "Illustrative: the model was trained with the causal mask; removing it at "
                           "inference shows where the same weights would look if the future were visible.", "warning")
        left, right = st.columns(2)
        with left:
            st.vega_lite_chart(heatmap_spec(M, xlabels=labels, ylabels=labels, vmin=0, vmax=1, cell=30,
                                            xlabel="key (position:token)", ylabel="query",
                                            title=f"self-attention weights, head {view}"), width="content")

        with right:
            st.vega_lite_chart({
                "data": {"values": [{"x": j, "w": float(x)} for j, x in enumerate(M[word])]},
                "mark": {"type": "bar", "color": color("attention")}, "height": 240,
                "title": {"text": f"row of word {word}: where it looks", "fontSize": 12},
                "encoding": {"x": {"field": "x", **index_axis(labels, "key (position:token)")},
                             "y": {"field": "w", "type": "quantitative", "title": "weight",
                                   "scale": {"domain": [0, 1]}}}})
        st.dataframe({"key": labels, "weight": [fmt_num(x) for x in M[word]]}, hide_index=True)
        st.caption("The n×n matrix has a row per word. With the causal mask the upper triangle is exactly zero: "
                   "a word can only look back.")

if tab_multi.open:
    with tab_multi:
        model = heads_or_stop()
        mseed = st.number_input("Sequence seed for the heads", 0, 10_000, 0, key=key("multi_seed"))
        X, _, _ = attention.head_task(1, np.random.default_rng(int(mseed)), model.T, model.vocab)
        model.forward(X)
        labels = [f"{j}:{X[0, j]}" for j in range(model.T)]
        st.vega_lite_chart({"hconcat": [
            heatmap_spec(model.attn.weights[0, h], xlabels=labels, ylabels=labels, vmin=0, vmax=1, annotate=False,
                         legend=h == model.num_heads - 1, cell=max(8, min(24, 720 // (model.num_heads * model.T))),
                         title=f"head {h}", xlabel="key (position:token)",
                         ylabel="query (position:token)" if h == 0 else None)
            for h in range(model.num_heads)], "resolve": {"scale": {"color": "shared"}}})
        st.caption("Each row is one query position and sums to 1 (bright: weight near 1, dark: near 0); the "
                   "causal mask leaves everything right of the diagonal at 0.")
        def head_rows():
            rows = []
            for h_count, m in sorted(heads_available.items()):
                roles = attention.head_roles(m, np.random.default_rng(3))
                acc = attention.evaluate_heads(m, np.random.default_rng(4))
                rows += [{"model": f"{h_count} head(s)", "head": h, "weight on previous word": fmt_num(roles[h, 0]),
                          "weight on first word": fmt_num(roles[h, 1]), "accuracy: previous word": fmt_pct(acc[0]),
                          "accuracy: first word": fmt_pct(acc[1])} for h in range(h_count)]
            return rows

        rows = cached("head_rows", head_rows)
        st.dataframe(rows, hide_index=True)
        one = [r for r in rows if r["model"] == "1 head(s)"]
        many = [r for r in rows if r["model"] != "1 head(s)"]
        if one:
            r = one[0]
            more = (f"; with {many[0]['model'].split()[0]} heads, {many[0]['accuracy: previous word']} and "
                    f"{many[0]['accuracy: first word']}") if many else ""
            playground.post_vs_measured(
                post="a single attention head would have to pick one relationship.",
                measured=f"one head does not have to pick: its weight splits ({r['weight on previous word']} on the "
                         f"previous word, {r['weight on first word']} on the first) and its read-outs are still "
                         f"{r['accuracy: previous word']} and {r['accuracy: first word']} right{more}. With 8 "
                         "positions, a mixture of two places is enough to read both words back; more heads make "
                         "each job clean rather than possible.")
        st.caption("Trained, not hand-set: each output position must name both the previous token and the first "
                   "token. With two heads, training usually gives one job to each (weights near 1 on one "
                   "relation); with one head the weight splits between the two places. Accuracies on 1,024 fresh sequences. "
                   "Try other head seeds.")

if tab_time.open:
    with tab_time:
        st.markdown("The post's Problem 3: an LSTM must take its T steps one after another; self-attention relates "
                    "all T positions in a few matrix products. Measured here, on this machine's CPU: one forward "
                    "pass over a batch of 32 sequences of width 64 through `common.recurrent.LSTM` and through one "
                    "`common.attention.MultiHeadAttention` layer (4 heads), the best of at least 7 runs, taken in turn.")
        if st.button("Measure again", key=page.button_key("measure")) or "timing" not in page:
            with st.spinner("Timing both encoders at every length…"):
                page["timing"] = attention.encoder_timing()
        tm = page["timing"]
        Ls = np.array(tm["lengths"])

        def timing_figure():
            fig, ax = new_figure(size=(6.5, 3.8))
            ax.loglog(Ls, 1e3 * np.array(tm["lstm"]), "-o", color=color("rnn"), label="LSTM encoder (T steps in turn)")
            ax.loglog(Ls, 1e3 * np.array(tm["attention"]), "-o", color=color("attention"),
                      label="self-attention (all positions at once)")
            ax.set_xticks(Ls, [str(L) for L in Ls])
            ax.set_xlabel("sequence length T")
            ax.set_ylabel("ms per forward pass (batch 32)")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
            return fig
        left, right = st.columns([3, 2])
        with left:
            playground.show_kept_figure(tm, "timing", timing_figure)      # drawn once per measurement
        with right:
            st.dataframe([{"T": int(L), "LSTM, ms": fmt_num(1e3 * a), "self-attention, ms": fmt_num(1e3 * b),
                           "LSTM ÷ self-attention": fmt_num(r, 2)}
                          for L, a, b, r in zip(Ls, tm["lstm"], tm["attention"], tm["ratio"])], hide_index=True)
        r = tm["ratio"]
        cross = next((int(L) for L, x in zip(Ls, r) if x < 1), None)
        playground.post_vs_measured(
            post="self-attention processes the entire sequence at once, with no sequential chain: it solves the speed problem.",
            measured=f"on one CPU thread the LSTM takes {fmt_num(r[0], 2)}× self-attention's time at T = {Ls[0]} and "
                     f"{fmt_num(r[-1], 2)}× at T = {Ls[-1]}"
                     + (f"; from T = {cross} self-attention is the slower one" if cross else "")
                     + ". Self-attention's work grows as T² (the T × T score matrix), the LSTM's as T; what attention "
                       "removes is the chain of T dependent steps, which pays where many operations run at once "
                       "(a GPU), and in training, where every position's loss is computed in the same pass.")
