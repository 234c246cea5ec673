"""Playground for chapter 08: a vanilla RNN, an LSTM and a GRU learning to remember a sentence's subject.

    streamlit run 08-rnn/rnn_playground.py      (or open it from the hub: streamlit run app.py)
"""

import numpy as np
import streamlit as st

import rnn
from common import playground
from common.playground import PageState, show_figure
from common.plots import color, fmt_num, fmt_pct, heatmap, new_figure
from common.sequence_tasks import VOCAB
from common.training import Live

st.set_page_config(page_title="08 · Recurrent networks", layout="wide")
playground.chapter_header(
    8, "Each sentence starts with a subject, runs on through filler words and ends with **who?**. Only "
       "memory answers it. Three recurrent networks, built from `common.recurrent`, are trained here on the "
       "same sentences; every chart below is computed from those trained models.")

page = PageState("ch08", models=dict, histories=dict, config=None, version=0, cache=dict)
key = page.key
STYLES = {"rnn": "-o", "lstm": "-s", "gru": "--^"}          # markers: LSTM and GRU often overlap at 100%

with st.sidebar:
    st.header("Training")
    kinds = st.multiselect("Models", list(rnn.MODEL_KINDS), default=list(rnn.MODEL_KINDS), key=key("kinds"),
                           format_func=rnn.MODEL_NAMES.get,
                           help="All are trained on the same stream of sentences from the same seed.")
    fillers = st.slider("Trained range: filler words per sentence", 0, 30, (5, 15), key=key("fillers"),
                        help="Each training batch draws its length from this range. Try starting it at 0 or 1: "
                             "with very short sentences in the mix, even the vanilla RNN learns the task.")
    hidden = st.select_slider("Hidden size H", [8, 16, 32, 64], value=32, key=key("hidden"),
                              help="Units in the hidden state (and in each LSTM/GRU gate).")
    steps = st.select_slider("Training steps", [25, 50, 100, 200, 300, 500, 1000], value=300, key=key("steps"),
                             help="Batches of 32 sentences. 300 steps take a few seconds for all three models.")
    lr = st.select_slider("Learning rate (Adam)", [1e-3, 3e-3, 1e-2, 3e-2], value=1e-2, key=key("lr"))
    layer_norm = st.checkbox("LayerNorm on the recurrent term", value=False, key=key("layer_norm"),
                             help="Normalises h·W_h over each sample's own units at every step: no batch "
                                  "statistics, so it works for any batch size and sentence length.")
    seed = st.number_input("Seed", 0, 10_000, 0, key=key("seed"))
    train_clicked = st.button("Train", type="primary", key=page.button_key("train"), width="stretch")
    st.button("Stop", key=page.button_key("stop"), width="stretch",
              help="Stops training; every step finished so far is kept.")

config = dict(kinds=tuple(kinds), fillers=tuple(fillers), hidden=int(hidden), steps=int(steps), lr=float(lr),
              layer_norm=bool(layer_norm), seed=int(seed))


def run_training(cfg):
    """Train every chosen model; each model and its live ``History`` go into the page state when its
    training begins, so Stop (or any rerun) keeps every step already done."""
    page.update(models={}, histories={}, config=cfg, version=page["version"] + 1, cache={})
    bar = st.progress(0.0, text="starting…")
    report = playground.progress_reporter(bar)
    total = cfg["steps"] * len(cfg["kinds"])
    for i, kind in enumerate(cfg["kinds"]):
        model = rnn.SubjectClassifier(kind, np.random.default_rng(cfg["seed"]), hidden_size=cfg["hidden"],
                                      layer_norm=cfg["layer_norm"])

        def keep(state, kind=kind):
            page["models"][kind], page["histories"][kind] = state.model, state.history

        def progress(state, kind=kind, base=i * cfg["steps"]):
            h = state.history
            report((base + h.steps) / total, f"{rnn.MODEL_NAMES[kind]}: step {h.steps}/{cfg['steps']} · "
                                             f"batch accuracy {fmt_pct(np.mean(h.batch_metric[-25:]))}")

        rnn.train(model, steps=cfg["steps"], rng=np.random.default_rng(cfg["seed"] + 1), fillers=cfg["fillers"],
                  lr=cfg["lr"], callbacks=[Live(on_begin=keep, on_update=progress, every_steps=25)])
        page["version"] += 1
    bar.empty()


if train_clicked:
    if not kinds:
        st.warning("Choose at least one model.")
    else:
        run_training(config)

models, histories = page["models"], page["histories"]
if not models:
    st.info("Press **Train** in the sidebar (about ten seconds for the defaults). Then explore the tabs.")
    st.stop()

cfg = page["config"]
lo, hi = cfg["fillers"]
if cfg != config:
    st.caption("The sidebar has changed since the last training run; the models below were trained with "
               f"fillers {lo}–{hi}, H={cfg['hidden']}, {cfg['steps']} steps. Press Train to retrain.")


def seconds(h) -> str:
    return fmt_num(h.wall_time[-1]) if h.wall_time else "–"          # stopped mid-run: no epoch end yet


summary = st.columns(len(histories))
for col, (kind, h) in zip(summary, histories.items()):
    col.metric(f"{rnn.MODEL_NAMES[kind]}: last-50-step batch accuracy", fmt_pct(np.mean(h.batch_metric[-50:])),
               help=f"{h.steps} steps in {seconds(h)} s")


def cached(name, fn):
    """Per-training-run cache in the page state (models are not hashable for st.cache_data)."""
    k = (name, page["version"])
    cache = page["cache"]
    if k not in cache:
        if len(cache) > 50:
            cache.clear()
        cache[k] = fn()
    return cache[k]


tab_word, tab_len, tab_grad, tab_lstm, tab_curves = st.tabs(
    ["Word by word", "Accuracy vs length", "Gradient through time", "Inside the LSTM", "Training curves"],
    key=key("tab"), on_change="rerun")

if tab_word.open:
    with tab_word:
        c1, c2, c3 = st.columns(3)
        n_fill = c1.slider("Filler words", 0, 40, 15, key=key("word_fillers"),
                           help="Go beyond the trained range and see which model changes its mind.")
        subject = c2.selectbox("Subject", range(rnn.N_SUBJECTS), format_func=lambda i: VOCAB.subjects[i],
                               key=key("word_subject"))
        sent_seed = c3.number_input("Sentence seed", 0, 10_000, 0, key=key("word_seed"))
        X = rnn.example_sentence(int(subject), int(n_fill), np.random.default_rng(int(sent_seed)))
        words = VOCAB.decode(X)
        st.markdown("**Sentence:** " + " ".join(words))
        rows = []
        fig, ax = new_figure(size=(9, 3.2))
        for kind, model in models.items():
            p = model.predict_proba(X[None])[0]                         # (T, S)
            ax.plot(np.arange(len(words)), p[:, subject], STYLES[kind], ms=4, color=color(kind),
                    label=rnn.MODEL_NAMES[kind])
            rows.append({"model": rnn.MODEL_NAMES[kind], "answer at who?": VOCAB.subjects[int(p[-1].argmax())],
                         f"P({VOCAB.subjects[subject]}) at who?": fmt_num(float(p[-1, subject])),
                         "lowest P(subject) on the way": fmt_num(float(p[:, subject].min()))})
        ax.axhline(rnn.CHANCE, color=color("chance"), ls=":", label=f"chance ({fmt_pct(rnn.CHANCE, 0)})")
        ax.set_xticks(range(len(words)), words, rotation=60, fontsize=7)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel(f"P({VOCAB.subjects[subject]})")
        ax.legend(fontsize=8, loc="center right")
        ax.set_title("each model's confidence in the true subject after every word")
        show_figure(fig)
        st.dataframe(rows, hide_index=True)
        fig, axes = new_figure(1, len(models), size=(max(4.0, 0.22 * len(words) + 2), 2.6))
        for ax, (kind, model) in zip(np.atleast_1d(axes), models.items()):
            p = model.predict_proba(X[None])[0]
            heatmap(p.T, xlabels=words, ylabels=VOCAB.subjects, vmin=0, vmax=1, annotate=False, ax=ax,
                    colorbar=False, title=f"{rnn.MODEL_NAMES[kind]}: P(subject) after each word")
        show_figure(fig)
        st.caption("The models are only trained on the answer at **who?**; the readings before it are the same "
                   "read-out applied to the hidden state mid-sentence, which shows what the state holds then.")

if tab_len.open:
    with tab_len:
        max_f = max(40, 2 * hi)
        lengths = np.arange(0, max_f + 1, 2 if max_f > 40 else 1)

        def compute():
            return {k: rnn.accuracy_by_length(m, lengths, np.random.default_rng(123), n=200) for k, m in models.items()}

        accs = cached("acc_len", compute)
        fig, ax = new_figure(size=(8, 4))
        ax.axvspan(lo, hi, color=color("trained range"), alpha=0.2, label=f"trained range ({lo}–{hi} fillers)")
        for k, a in accs.items():
            ax.plot(lengths, a, STYLES[k], ms=4, color=color(k), label=rnn.MODEL_NAMES[k])
        ax.axhline(rnn.CHANCE, color=color("chance"), ls=":", label=f"chance ({fmt_pct(rnn.CHANCE, 0)})")
        ax.set_xlabel("filler words between the subject and who?")
        ax.set_ylabel("accuracy (200 fresh sentences per length)")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8, loc="lower right")
        show_figure(fig)
        inside = (lengths >= lo) & (lengths <= hi)
        beyond = lengths > hi
        table = [{"model": rnn.MODEL_NAMES[k], "inside the trained range": fmt_pct(a[inside].mean()),
                  "beyond it": fmt_pct(a[beyond].mean()) if beyond.any() else "–",
                  f"at {lengths[-1]} fillers": fmt_pct(a[-1])} for k, a in accs.items()]
        st.dataframe(table, hide_index=True)
        if "rnn" in accs and "lstm" in accs:
            r_in, r_out = accs["rnn"][inside].mean(), accs["rnn"][beyond].mean()
            l_out = accs["lstm"][beyond].mean()
            if r_in < 0.9:
                verdict = (f"Measured: the vanilla RNN did not learn the task in this run ({fmt_pct(r_in)} inside the "
                           "trained range). Its failure is in *learning*: every training sentence puts at least "
                           f"{lo} words between the subject and the answer, and the gradient fades over them.")
            elif r_out < 0.6:
                verdict = (f"Measured: the vanilla RNN learned the trained range ({fmt_pct(r_in)}) and fell toward "
                           f"chance beyond it ({fmt_pct(r_out)}; chance is {fmt_pct(rnn.CHANCE, 0)}), as the original repository describes "
                           f"for its models trained on 2–5 fillers; LSTM beyond: {fmt_pct(l_out)}.")
            else:
                verdict = (f"Measured: the vanilla RNN learned the trained range ({fmt_pct(r_in)}) and **held beyond "
                           f"it** ({fmt_pct(r_out)} on longer sentences). The original repository, trained on 2–5 "
                           "fillers, describes it falling toward chance beyond its range; in this run, once it "
                           "had learned to latch the subject, the fillers did not push it out. Whether it holds "
                           "depends on the range and the seed (the README's seed sweep).")
            st.markdown(verdict)
        st.caption("What to try: start the trained range at 0 or 1 and retrain: the vanilla RNN now learns, "
                   "because short sentences give it a gradient that does not have to travel far. Start it at "
                   f"5 and it does not learn: it stays far below the LSTM and GRU, though above chance "
                   f"({fmt_pct(rnn.CHANCE, 0)}).")

if tab_grad.open:
    with tab_grad:
        c1, c2 = st.columns(2)
        g_fill = c1.slider("Filler words", 5, 60, 30, key=key("grad_fillers"))
        at_init = c2.checkbox("Also show the untrained models (same initial weights)", value=True, key=key("grad_init"))

        def compute_grad():
            out = {}
            for k, m in models.items():
                out[k] = rnn.gradient_through_time(m, int(g_fill), np.random.default_rng(7))
                if at_init:
                    fresh = rnn.SubjectClassifier(k, np.random.default_rng(cfg["seed"]), hidden_size=cfg["hidden"],
                                                  layer_norm=cfg["layer_norm"])
                    out[k + "_init"] = rnn.gradient_through_time(fresh, int(g_fill), np.random.default_rng(7))
            return out

        grads = cached(("grad", int(g_fill), bool(at_init)), compute_grad)
        fig, ax = new_figure(size=(8, 4))
        T = g_fill + 2
        dist = np.arange(T)[::-1]                                     # steps back from the last word
        rows = []
        for k in models:
            g = grads[k]
            ax.semilogy(dist, g / g[-1], "-", color=color(k), label=f"{rnn.MODEL_NAMES[k]} (trained)")
            if at_init:
                g0 = grads[k + "_init"]
                ax.semilogy(dist, g0 / g0[-1], "--", color=color(k), alpha=0.7, label=f"{rnn.MODEL_NAMES[k]} (untrained)")
            rows.append({"model": rnn.MODEL_NAMES[k],
                         "‖∂L/∂h‖ at the subject ÷ at the last word (trained)": fmt_num(g[0] / g[-1]),
                         **({"(untrained)": fmt_num(grads[k + '_init'][0] / grads[k + '_init'][-1])} if at_init else {})})
        ax.set_xlabel("distance in steps back from the last word (the subject is the rightmost point)")
        ax.set_ylabel("‖∂L/∂h_t‖ relative to the last step")
        ax.invert_xaxis()
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        show_figure(fig)
        st.dataframe(rows, hide_index=True)
        st.caption("Each point is the norm of the loss's gradient with respect to that hidden state, averaged "
                   "over 64 sentences. A vanilla RNN multiplies it by diag(1−h²)·W_hᵀ at every step back; the "
                   "LSTM's cell path only by the forget gate. A trained model that is already right has a small "
                   "loss, so read the slopes, not the levels.")

if tab_lstm.open:
    with tab_lstm:
        gated = [k for k in models if k in ("lstm", "gru")]
        if not gated:
            st.info("Train an LSTM or a GRU to see its gates.")
        else:
            c1, c2, c3 = st.columns(3)
            which = c1.selectbox("Model", gated, format_func=rnn.MODEL_NAMES.get, key=key("gate_model"))
            gf = c2.slider("Filler words", 0, 30, 10, key=key("gate_fillers"))
            gs = c3.selectbox("Subject", range(rnn.N_SUBJECTS), format_func=lambda i: VOCAB.subjects[i], key=key("gate_subject"))
            X = rnn.example_sentence(int(gs), int(gf), np.random.default_rng(3))
            words = VOCAB.decode(X)
            gates = rnn.gates_over_sentence(models[which], X)
            names = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "c": "cell state c",
                     "r": "reset gate r", "z": "update gate z", "n": "candidate n"}
            keys = ["i", "f", "o", "c"] if which == "lstm" else ["r", "z", "n"]
            fig, axes = new_figure(2, 2, size=(max(4.0, 0.3 * len(words) + 2), 3.2))
            axes = axes.ravel()
            for j, key in enumerate(keys):
                m = gates[key].T                                      # (H, T)
                big = float(np.abs(m).max()) or 1.0
                lim = (0, 1) if key in "ifozr" else (-big, big)           # cell state: 0 in the middle
                heatmap(m, xlabels=words, vmin=lim[0], vmax=lim[1], annotate=False, ax=axes[j],
                        cmap="viridis" if key in "ifozr" else "RdBu_r",
                        title=f"{names[key]} (rows: the {m.shape[0]} units)")
            for ax in axes[len(keys):]:
                ax.axis("off")
            show_figure(fig)
            if which == "lstm":
                f = gates["f"]
                st.dataframe([{"mean forget gate after the subject": fmt_num(float(f[1:].mean())),
                               "mean input gate at the subject": fmt_num(float(gates["i"][0].mean())),
                               "mean input gate on fillers": fmt_num(float(gates["i"][1:-1].mean())) if gf else "–",
                               "mean |c| at who?": fmt_num(float(np.abs(gates["c"][-1]).mean()))}], hide_index=True)
            st.caption("What to notice: forget-gate units that stay near 1 through the fillers keep the subject in "
                       "the cell; compare the cell state's columns at the first word and at who?.")

if tab_curves.open:
    with tab_curves:
        fig, (a1, a2) = new_figure(1, 2, size=(5.5, 3.5))
        for k, h in histories.items():
            a1.plot(rnn.moving_average(h.batch_loss), color=color(k), label=rnn.MODEL_NAMES[k])
            a2.plot(rnn.moving_average(h.batch_metric), color=color(k), label=rnn.MODEL_NAMES[k])
        a1.set_ylabel("loss (20-step moving average)")
        a2.set_ylabel("batch accuracy (20-step moving average)")
        a2.axhline(rnn.CHANCE, color=color("chance"), ls=":")
        for a in (a1, a2):
            a.set_xlabel("step")
            a.grid(alpha=0.3)
            a.legend(fontsize=8)
        show_figure(fig)
        st.dataframe([{"model": rnn.MODEL_NAMES[k], "steps": h.steps, "seconds": seconds(h),
                       "parameters": models[k].num_params(),
                       "final loss (20-step mean)": fmt_num(rnn.moving_average(h.batch_loss)[-1]) if h.steps else "–"}
                      for k, h in histories.items()], hide_index=True)
