"""Playground for chapter 10: a character-level GPT trained on Tiny Shakespeare, in NumPy.

    streamlit run 10-transformer/gpt_playground.py      (or open it from the hub: streamlit run app.py)

Everything on arrival comes from the shipped checkpoints (``checkpoints/gpt_*.npz``, trained by
``train_gpt.py``); only the *Watch it learn* tab trains, when you press its button.
"""

import time

import numpy as np
import streamlit as st
from matplotlib import colormaps
from matplotlib import colors as mcolors

import gpt
import gpt_inside as inside
from common import playground
from common.playground import PageState
from common.plots import color, colorize, fmt_num, fmt_pct, lines_spec, new_figure, outline, raster_spec
from common.training import Callback, Live
from common.transformer import sinusoidal_encoding

playground.chapter_header(
    10, "A decoder-only Transformer (a GPT) reads Shakespeare one character at a time and learns to write "
        "more of it. It is built from the layers of the earlier chapters: chapter 09's multi-head "
        "attention, chapter 07's LayerNorm and residual sums, chapter 02's MLP (with GELU). The two models "
        "below were trained by `10-transformer/train_gpt.py` and load from their checkpoints.")

MODELS = ("small", "medium")
MAX_LENGTH = 1000          # the Length slider's end
STREAM_SECONDS = 0.25      # the generated text is redrawn at most this often while it streams
#: the Top-k choices; 0 stands for "all 65" (None as an option showed Streamlit's "Choose an option" placeholder
#: after a rerun in the hub, which re-saves every setting)
TOP_K = [0, 1, 3, 5, 10, 20, 40]
GEN, LEARN = gpt.GENERATE_DEFAULTS, gpt.LEARN_DEFAULTS
page = PageState("ch10", generated={}, run=None, history=None, base=0, samples=[], wall=0.0, speed=None)


@st.cache_resource(show_spinner="Loading the checkpoints…")
def checkpoints():
    return {name: gpt.shipped(name) for name in gpt.CONFIGS}


CKPT = checkpoints()
TOK = CKPT["small"][1]


def label(name):
    model, _, info = CKPT[name]
    return f"{name} ({model.num_params():,} parameters, validation loss {fmt_num(info['val_loss'])})"


def valid_prompt(prompt: str) -> str | None:
    bad = sorted(set(prompt) - set(TOK.chars))
    if bad:
        st.error(f"The prompt has characters the models never saw: {''.join(bad)!r}. The vocabulary is the "
                 f"{TOK.vocab_size} characters of Tiny Shakespeare (letters, digits 3, punctuation, space, newline).")
        return None
    return prompt


tabs = st.tabs(["Generate", "Inside the model", "Positional encoding", "Watch it learn", "Size and cost"],
               key=page.key("tab"), on_change="rerun")
tab_gen, tab_inside, tab_pos, tab_learn, tab_size = tabs

# ---------------------------------------------------------------------------------------------- Generate
if tab_gen.open:
    with tab_gen:
        # The sampling settings take effect when Generate is pressed (a form): a new temperature, top-k,
        # seed or prompt means 2 × Length new forward passes, about a second for the two models, too slow to
        # follow a slider. Length stays outside: a shorter text is a prefix, a longer one only continues.
        settings_col, length_col = st.columns([6, 1], vertical_alignment="bottom")
        with settings_col, st.form(page.key("generate_form"), border=False, enter_to_submit=False):
            c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 1], vertical_alignment="bottom")
            prompt = c1.text_area("Prompt", GEN["prompt"], height=80, key=page.key("prompt"),
                                  help="The models continue this text. Only the last 64 characters fit in their "
                                       "context.")
            temperature = c2.slider("Temperature", 0.0, 2.0, GEN["temperature"], 0.05, key=page.key("temperature"),
                                    help="Divides the logits before the softmax: below 1 sharper (0 = always the most "
                                         "likely character), above 1 flatter.")
            top_k = c3.selectbox("Top-k", TOP_K, index=TOP_K.index(GEN["top_k"] or 0), key=page.key("top_k"),
                                 format_func=lambda k: f"all {TOK.vocab_size}" if k == 0 else str(k),
                                 help="Sample only among the k most likely characters.") or None
            seed = c4.number_input("Seed", 0, 10_000, GEN["seed"], key=page.key("seed"),
                                   help="The same seed and settings give the same text.")
            c5.form_submit_button("Generate", key=page.button_key("generate"), type="primary", width="stretch",
                                  help="Sample both models again with these settings.")
        length = length_col.slider("Length", 20, MAX_LENGTH, GEN["length"], 10, key=page.key("length"),
                                   help="Characters to show: shorter shows the start of the same text, longer "
                                        "continues it.")
        st.caption("Change the settings, then press **Generate**. What to try: temperature 0 (greedy) loops on "
                   "common phrases; 1.5 invents words; top-k 5 keeps temperature 1 from wandering. Compare the two "
                   "models on the same seed.")
        prompt = valid_prompt(prompt)
        if prompt is not None:
            # One sampling run per (prompt, temperature, top-k, seed), kept with its live generators: a run's
            # first n characters do not depend on how many follow (one draw of the seeded generator per
            # character), so a shorter Length shows a prefix and a longer one samples only the new characters.
            settings = (prompt, float(temperature), top_k, int(seed))
            runs, need = page["generated"], int(length)
            run = runs.get(settings)
            if run is None:
                run = runs[settings] = {
                    name: {"stream": gpt.generate_top(CKPT[name][0], TOK, prompt, MAX_LENGTH, temperature=float(temperature),
                                                      top_k=top_k, seed=int(seed)), "chars": [], "tops": []}
                    for name in MODELS}
                if len(runs) > 20:
                    runs.pop(next(iter(runs)))
            cols = st.columns(2)
            slots = {}
            for col, name in zip(cols, MODELS):
                col.markdown(f"**{label(name)}**")
                slots[name] = col.empty()
            shown_at = time.perf_counter()
            while any(len(run[name]["chars"]) < need for name in MODELS):
                for name in MODELS:
                    if len(run[name]["chars"]) < need:
                        char, top = next(run[name]["stream"])
                        run[name]["chars"].append(char)
                        run[name]["tops"].append(top)
                # The text so far, a few times a second: each update is a message the browser must lay
                # out, and every 8 characters (75 updates for 2×300) tripled the wait in Chromium.
                if time.perf_counter() - shown_at > STREAM_SECONDS:
                    shown_at = time.perf_counter()
                    for name in MODELS:
                        slots[name].code(prompt + "".join(run[name]["chars"]), language=None, wrap_lines=True)
            done = {"texts": {name: "".join(run[name]["chars"][:need]) for name in MODELS},
                    "dists": {name: run[name]["tops"][:need] for name in MODELS}}
            for name in MODELS:
                slots[name].code(prompt + done["texts"][name], language=None, wrap_lines=True)
            for col, name in zip(cols, MODELS):
                with col:
                    playground.checkpoint_caption(gpt.CHECKPOINT_DIR / f"gpt_{name}.npz", f"`{CKPT[name][2]['settings']}`",
                                                  action="Train one yourself in *Watch it learn*.")
            st.subheader("The next-character distribution at the cursor")
            if page.widget("cursor", 0) > int(length) - 1:        # a shorter text than the cursor had reached
                st.session_state[page.key("cursor")] = int(length) - 1
            cursor = st.slider("Cursor: characters generated so far", 0, int(length) - 1, 0, key=page.key("cursor"),
                               help="0 is right after the prompt. The bars are the distribution the character at "
                                    "the cursor was drawn from (temperature and top-k applied).")
            bars = st.columns(2)
            for col, name in zip(bars, MODELS):
                top = done["dists"][name][cursor]
                before = (prompt + done["texts"][name][:cursor])[-24:]
                # A Vega-Lite chart the browser draws: a cursor move costs milliseconds, two figures ~0.25 s.
                col.vega_lite_chart(
                    {"data": {"values": [{"character": inside.show_char(c), "rank": i, "probability": p}
                                         for i, (c, p) in enumerate(top)]},
                     "title": {"text": f"{name}: after …{before!r}", "fontSize": 12},
                     "mark": {"type": "bar", "color": color(name)},
                     "encoding": {"x": {"field": "character", "type": "nominal", "sort": {"field": "rank"},
                                        "axis": {"labelAngle": 0, "labelFontSize": 13}, "title": None},
                                  "y": {"field": "probability", "type": "quantitative",
                                        "scale": {"domain": [0, 1]}}}},
                    width="stretch", height=240)
                col.dataframe({"character": [repr(c) for c, _ in top], "probability": [fmt_pct(p) for _, p in top]},
                              hide_index=True, height=200)

# -------------------------------------------------------------------------------------- Inside the model
if tab_inside.open:
    with tab_inside:
        @st.fragment
        def inside_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            c1, c2 = st.columns([3, 1])
            text = c1.text_input("Prompt", "To be, or not to be, that is the question:", key=page.key("inside_prompt"),
                                 help="Up to 64 characters (the context) are shown.")
            which = c2.selectbox("Model", MODELS, index=0, key=page.key("inside_model"))
            text = valid_prompt(text)
            if text:
                text = text[-64:]
                model = CKPT[which][0]
                maps = inside.attention_maps(model, TOK.encode(text)[None])
                T = len(text)
                query = st.slider("Query position (the character that looks back)", 0, T - 1, T - 1,
                                  key=page.key("inside_query"))
                L, H = maps.shape[:2]
                # Each map an image (no Matplotlib figure: 16 maps took ~0.6 s to draw for every query move);
                # the query's row outlined in red.
                future = ~np.tril(np.ones((T, T), bool))
                st.caption("Attention weights of every head: row = query, column = key (both the characters of the "
                           "prompt, left to right and top to bottom); bright = weight near 1, dark = near 0, grey = "
                           "masked (the future); the query's row is outlined in red.")
                # One image list per layer, not a column per head: each element costs the browser a render, and
                # 4 × 4 columns of images made switching to the medium model take ~0.4 s in Chromium.
                for l in range(L):
                    st.image([outline(colorize(np.where(future, np.nan, maps[l, h]), size=192, vmin=0, vmax=1),
                                       query, 0, 1, T, (T, T), edge="red", thickness=2) for h in range(H)],
                             caption=[f"layer {l} · head {h}" for h in range(H)], width=192)
                rows = inside.attended(model, text, query)
                st.markdown(f"From position {query} (**{inside.show_char(text[query])}**), each head looks most at:")
                st.dataframe([{"layer": r["layer"], "head": r["head"], "looks at (char@position)": r["looks at"],
                               "weights": ", ".join(fmt_pct(w) for w in r["weights"])} for r in rows], hide_index=True)
                norms = inside.residual_norms(model, TOK.encode(text)[None])

                names = ["embeddings"] + [f"after block {i}" for i in range(L)]
                depth = [mcolors.to_hex(c) for c in colormaps["viridis"](np.linspace(0, 0.85, len(norms)))]
                st.vega_lite_chart({                    # darker = earlier in the stream
                    "data": {"values": [{"t": t, "norm": float(v), "point": names[i]}
                                        for i, n in enumerate(norms) for t, v in enumerate(n)]},
                    "mark": "line", "height": 260,
                    "encoding": {"x": {"field": "t", "type": "quantitative", "title": "position",
                                       "scale": {"domain": [0, T - 1], "nice": False}},
                                 "y": {"field": "norm", "type": "quantitative", "title": "‖x_t‖, residual stream"},
                                 "color": {"field": "point", "type": "nominal", "title": None,
                                           "scale": {"domain": names, "range": depth}}}})
                st.dataframe({"point in the stream": names,
                              "mean ‖x_t‖": [fmt_num(v) for v in norms.mean(axis=1)]}, hide_index=True)
                st.caption("Each block adds its attention and feed-forward outputs to the stream (x + …), so the "
                           "norm grows block by block; the final LayerNorm rescales it before the head. Heads in "
                           "the first layer often look one or two characters back; later ones spread over the word.")

        inside_tab()

# ------------------------------------------------------------------------------------ Positional encoding
@st.cache_data(max_entries=64, show_spinner=False)
def encoding_chart(T: int, d_model: int) -> dict:
    """The sinusoidal table P (T, d_model) as a heat map the browser draws (``plots.raster_spec``: one image,
    no Matplotlib figure per setting; pure: cached)."""
    return raster_spec(sinusoidal_encoding(T, d_model), cmap="RdBu_r", vmin=-1, vmax=1, width=380, height=280,
                       xlabel="dimension (sin, cos, sin, … slower to the right)", ylabel="position t",
                       title="P[t, 2i] = sin(t/10000^(2i/D)), P[t, 2i+1] = cos(…)")


@st.cache_data(max_entries=16, show_spinner=False)
def similarity_view(d_model: int):
    """cos(P_s, P_t) over the first 64 positions for the sinusoids of width ``d_model`` and for the medium
    model's learned table, and their two heat maps side by side (the checkpoints are fixed: cached)."""
    sims = {"sinusoidal": inside.position_similarity(sinusoidal_encoding(64, d_model)),
            "learned (medium)": inside.position_similarity(inside.learned_positions(CKPT["medium"][0]))}
    panels = [raster_spec(S, cmap="viridis", vmin=-1, vmax=1, width=150, height=150, xlabel="position",
                          ylabel="position" if i == 0 else None, title=f"{name}: cos(P_s, P_t)", legend=i == 1)
              for i, (name, S) in enumerate(sims.items())]
    for p in panels:
        p.pop("autosize")
    return sims, {"hconcat": panels, "spacing": 16}


@st.cache_data(show_spinner=False)
def order_rows() -> list[dict]:
    """The order test (``inside.order_test``) on small, nopos and medium: forward passes on the shipped
    checkpoints, the same on every rerun, so computed once."""
    rows = []
    for name in ("small", "nopos", "medium"):
        res = inside.order_test(CKPT[name][0], TOK)
        rows.append({"model": name, "positions": CKPT[name][0].positions or "none",
                     "after block 0: largest difference": fmt_num(res["stream_diff"][1]),
                     "after the last block": fmt_num(res["stream_diff"][-1]),
                     "next-character distributions differ by (TV)": fmt_num(res["tv_distance"]),
                     "validation loss": fmt_num(CKPT[name][2]["val_loss"])})
    return rows


if tab_pos.open:
    with tab_pos:
        @st.fragment
        def positions_tab():
            """The tab's controls rerun only the tab (a fragment)."""
            c1, c2 = st.columns(2)
            D = c1.select_slider("d_model of the sinusoids", [16, 32, 64, 128, 256], value=128, key=page.key("pos_d"))
            Tn = c2.slider("Positions", 16, 256, 64, 16, key=page.key("pos_T"))
            left, right = st.columns(2)
            with left:
                st.vega_lite_chart(encoding_chart(int(Tn), int(D)), width="stretch")
            sims, chart = similarity_view(int(D))
            with right:
                st.vega_lite_chart(chart, width="content")
            near = {name: float(np.mean(np.diag(S, 1))) for name, S in sims.items()}
            far = {name: float(np.mean(np.diag(S, 32))) for name, S in sims.items()}
            st.dataframe([{"positions": n, "similarity of neighbours (t, t+1)": fmt_num(near[n]),
                           "similarity 32 apart": fmt_num(far[n])} for n in sims], hide_index=True)
            st.caption("Both kinds give neighbouring positions similar vectors and distant ones different ones; the "
                       "learned table (64 × 128 numbers trained with the rest) found that on its own.")
            st.subheader("Without positions, attention sees a set")
            a, b = inside.ORDER_PROMPTS
            st.dataframe(order_rows(), hide_index=True)
            st.markdown(
                f"Measured on the prompts `{a}` and `{b}`: the same characters, the same last character, another "
                "order. Without positions, the first block's output at the last position is the same for both (up to "
                "float64 round-off): attention is a weighted *sum* over the earlier characters, and a sum does not "
                "know the order. Only the causal mask breaks the symmetry (position t sees t + 1 characters), so the "
                "second block can recover a little order from how much each earlier position saw; the learned "
                "positions tell the two prompts apart from the first block on. The `nopos` model is `small` trained "
                "without positions; its validation loss is what order is worth.")

        positions_tab()

# ----------------------------------------------------------------------------------------- Watch it learn
if tab_learn.open:
    with tab_learn:
        c1, c2, c3, c4, c5 = st.columns(5)
        steps = c1.select_slider("Steps", [50, 100, 200, 300, 500, 1000, 2000], value=LEARN["steps"], key=page.key("steps"))
        batch = c2.select_slider("Batch", [8, 16, 32], value=LEARN["batch"], key=page.key("batch"))
        lr = c3.select_slider("Learning rate", [3e-4, 1e-3, 2e-3, 5e-3], value=LEARN["lr"], key=page.key("lr"),
                              format_func=fmt_num)
        every = c4.select_slider("Sample every", [25, 50, 100, 250], value=LEARN["every"], key=page.key("every"),
                                 help="Steps between two samples (and two validation losses).")
        lseed = c5.number_input("Seed", 0, 10_000, LEARN["seed"], key=page.key("learn_seed"))
        b1, b2 = st.columns(2)
        train_clicked = b1.button("Train", type="primary", key=page.button_key("train"), width="stretch")
        b2.button("Stop", key=page.button_key("stop"), width="stretch", help="Stops training; every step finished is kept.")
        st.caption("The small architecture (2 layers, 4 heads, d_model 64, context 64) from random weights, "
                   "AdamW with warmup and cosine decay, gradient clipping at 1. Watch the samples: random "
                   "characters, then spaces and short words, then names with a colon and line breaks.")
        note, chart, status, samples_box = st.empty(), st.empty(), st.empty(), st.container()

        def shipped_run():
            """Before a run of your own: the recorded curves of the shipped small checkpoint's training."""
            info = CKPT["small"][2]
            cfg = info["train_config"]
            curve = np.asarray(info["loss_curve"])

            def figure():
                fig, ax = new_figure(size=(8, 3))
                ax.plot(np.arange(len(curve)) * 25 + 12.5, curve, color=color("train"), lw=0.8,
                        label="batch loss (mean of 25 steps)")
                ax.plot(info["val_steps"], info["val_curve"], "o-", color=color("validation"),
                        label=f"validation loss (first {cfg['eval_windows'] * cfg['block_size']:,} characters)")
                ax.set_xlabel("step")
                ax.set_ylabel("cross-entropy (nats/char)")
                ax.set_title(f"the shipped small run: {cfg['iters']:,} steps of batch {cfg['batch_size']}, "
                             f"learning rate {fmt_num(cfg['lr'])}", fontsize=9)
                ax.legend(fontsize=8)
                return fig

            # The same picture on every rerun of the tab (its controls set the next run): drawn once.
            playground.show_kept_figure(page.data, "shipped small run", figure)
            st.markdown(f"Recorded: step **{cfg['iters']:,}** of {cfg['iters']:,} · validation loss "
                        f"**{fmt_num(info['val_curve'][-1])}** (first {cfg['eval_windows'] * cfg['block_size']:,} "
                        f"characters) · last batch loss **{fmt_num(curve[-1])}** (mean of the last 25 steps)")
            playground.checkpoint_caption(gpt.CHECKPOINT_DIR / "gpt_small.npz",
                                          f"`{info['settings']}`, {fmt_num(info['train_seconds'] / 60)} min of "
                                          f"training, validation loss {fmt_num(info['val_loss'])} on every character")
            st.markdown(f"**after {cfg['iters']:,} steps** (temperature {info['sample_settings']['temperature']}, "
                        f"seed {info['sample_settings']['seed']})")
            st.code(info["sample"], language=None, wrap_lines=True)

        def losses():
            """Every finished step: the run's record plus the current fit call's steps not yet in it."""
            run, history = page["run"], page["history"]
            done = list(run.batch_loss)
            if history is not None:
                done += history.batch_loss[run.step - page["base"]:]
            return done

        def draw():
            """The run's curves so far as a Vega-Lite chart the browser draws, live (every 10 steps) and for a
            finished run: a Matplotlib figure here cost the training loop its drawing at every redraw."""
            run, curve = page["run"], losses()
            val = f"validation loss (first {run.config.eval_windows * 64:,} characters)"
            series = {"batch loss": (np.arange(1, len(curve) + 1), curve), val: (run.val_steps, run.val_curve)}
            chart.vega_lite_chart(lines_spec(series, colors={"batch loss": color("train"), val: color("validation")},
                                             markers=[val], x_title="step", y_title="loss (nats/char)",
                                             x_domain=(0, run.config.iters), height=320), width="stretch")
            status.markdown(f"Step **{len(curve)}** of {run.config.iters} · wall time **{playground.fmt_seconds(page['wall'])}** · "
                            f"last batch loss **{fmt_num(curve[-1]) if curve else '–'}**")
            return len(curve), page["wall"]

        if train_clicked:
            cfg = gpt.learn_config(steps=steps, batch=batch, lr=lr, every=every, seed=lseed)
            page.update(run=gpt.new_run(cfg), history=None, samples=[], wall=0.0, base=0)
            start = time.perf_counter()

            def begin(state):
                page.update(history=state.history, base=page["run"].step)

            class Clock(Callback):
                """The wall time after every step, so a Stop shows the time of the last finished step."""

                def on_batch_end(self, state):
                    page["wall"] = time.perf_counter() - start

            def update(state):
                run = page["run"]
                page["wall"] = time.perf_counter() - start
                if run.val_steps and run.val_steps[-1] == run.step and \
                        (not page["samples"] or page["samples"][-1][0] != run.step):
                    page["samples"].append((run.step, gpt.sample_string(run.model, TOK, **gpt.LEARN_SAMPLE)))
                    with samples_box:
                        st.markdown(f"**step {run.step}**")
                        st.code(page["samples"][-1][1], language=None, wrap_lines=True)
                draw()

            gpt.train(page["run"], callbacks=[Clock(), Live(on_begin=begin, on_update=update, every_steps=10)])
            page["wall"] = time.perf_counter() - start
            st.rerun()
        if page["run"] is None:
            note.info(f"Press **Train**: {LEARN['steps']} steps of batch {LEARN['batch']} take a few seconds on a free "
                      "CPU core (more steps on the slider get further). The curve updates as it trains and a sample "
                      "is written at every validation point.")
            with chart.container():
                shipped_run()
        else:
            done_steps, wall = draw()                 # one reading: a stopped run may still finish a step
            with note:
                playground.took(wall, f"Training {done_steps} of {page['run'].config.iters} steps"
                                + ("" if done_steps >= page["run"].config.iters else " (stopped)"))
            for step, text in reversed(page["samples"]):
                samples_box.markdown(f"**step {step}**")
                samples_box.code(text, language=None, wrap_lines=True)

# ----------------------------------------------------------------------------------------- Size and cost
if tab_size.open:
    with tab_size:
        names = ("small", "nopos", "medium")
        counts = {n: CKPT[n][0].parameter_counts() for n in names}
        st.dataframe([{"component": c, **{n: f"{counts[n][c]:,}" for n in names},
                       **{f"{n} share": fmt_pct(counts[n][c] / counts[n]["total"]) for n in ("small", "medium")}}
                      for c in (*inside.COMPONENTS, "total")], hide_index=True)
        rows = []
        for n in names:
            m = CKPT[n][0]
            r = inside.twelve_l_d2(m)
            f = m.flops_per_token()
            rows.append({"model": n, "L": m.n_layer, "d_model": m.d_model, "12·L·d²": f"{r['rule']:,}",
                         "blocks, counted": f"{r['exact']:,}", "counted ÷ rule": fmt_num(r["ratio"]),
                         "forward FLOPs per token": f"{f['total']:,}", "of which attention (T=64)": fmt_pct(
                             f["attention"] / f["total"]), "training FLOPs per token (≈3×)": f"{3 * f['total']:,}"})
        st.dataframe(rows, hide_index=True)
        st.caption("Each block has 4d² attention weights (W_Q, W_K, W_V, W_O) and 8d² feed-forward weights "
                   "(d × 4d and 4d × d): 12·L·d², plus biases and LayerNorm gains (9d + 4d per block). With a "
                   "vocabulary of 65 the embeddings are small; in GPT-2 (50,257 tokens) they are a third of the "
                   "smallest model.")
        if st.button("Measure tokens per second", key=page.button_key("measure")) or page.get("speed") is None:
            page["speed"] = {n: (inside.tokens_per_second(CKPT[n][0], 12, 2),
                                 inside.tokens_per_second(CKPT[n][0], 12, 2, training=False)) for n in ("small", "medium")}
        speed = page["speed"]
        st.dataframe([{"model": n, "training tokens/s (batch 12 × 64)": fmt_num(tr),
                       "forward tokens/s": fmt_num(fw),
                       "achieved training GFLOP/s": fmt_num(3 * CKPT[n][0].flops_per_token()["total"] * tr / 1e9)}
                      for n, (tr, fw) in speed.items()], hide_index=True)
        st.caption("Measured now, in this process, on one batch (best of two): a busy machine gives lower numbers. "
                   "The training run of each checkpoint took "
                   + ", ".join(f"{n}: {fmt_num(CKPT[n][2]['train_seconds'] / 60)} min" for n in ("small", "medium")) + ".")
