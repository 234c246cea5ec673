"""Chapter 08: the shipped checkpoints of the page's default run against their records and the README, the
training script against the shipped runs, the page's registered action, and the "changes its mind"
measurement the page compares with the post."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnn
import train_rnn
from common.checkpoints import read_meta
from markdown_tables import compute_path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "08-rnn" / "README.md").read_text()


@pytest.fixture(scope="module")
def runs():
    return rnn.load_default_runs()


def test_checkpoints_are_the_pages_default_run(runs):
    assert set(runs) == set(rnn.PAGE_DEFAULTS["kinds"])
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in rnn.PAGE_DEFAULTS.items() if k != "kinds"}
    for kind, (model, history, meta) in runs.items():
        path = rnn.checkpoint_path(kind)
        assert path.parent == ROOT / "08-rnn" / "checkpoints" and path.stat().st_size < 100_000
        assert meta["script"] == "08-rnn/train_rnn.py" and (ROOT / meta["script"]).is_file()
        assert meta["kind"] == kind and model.kind == kind
        assert {k: meta["settings"][k] for k in settings} == settings and meta["settings"]["batch_size"] == 32
        assert history.steps == meta["steps"] == rnn.PAGE_DEFAULTS["steps"] and len(history.wall_time) == 1
        assert meta["last50_batch_accuracy"] == float(np.mean(history.batch_metric[-50:]))
        assert meta["last50_batch_loss"] == float(np.mean(history.batch_loss[-50:]))
        assert all(v.dtype == np.float32 for v in model.params.values())
        assert read_meta(path) == meta


def test_loaded_weights_give_the_recorded_accuracies(runs):
    """The checkpoint's weights, measured again here: exactly the recorded accuracies on the code path they
    were written on, within a sentence or two per length elsewhere."""
    for kind, (model, _, meta) in runs.items():
        acc = rnn.doc_accuracy(model)
        if meta["compute_path"] == compute_path():
            assert acc.tolist() == meta["doc_accuracy"], kind
        else:
            np.testing.assert_allclose(acc, meta["doc_accuracy"], atol=2 / 256)


def test_checkpoints_are_the_readme_5_15_run(runs):
    """The README's 5–15 table is the page's default run: its rows are the checkpoints' recorded accuracies."""
    block = README.split("<!-- accuracy-table: fillers 5-15 -->")[1].split("\n\n")[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in block.strip().splitlines()[2:]}
    assert [int(h) for h in block.strip().splitlines()[0].split("|")[2:-1]] == list(rnn.DOC_LENGTHS)
    for kind, (_, _, meta) in runs.items():
        assert meta["doc_lengths"] == list(rnn.DOC_LENGTHS)
        assert rows[rnn.MODEL_NAMES[kind]] == [f"{a:.1%}" for a in meta["doc_accuracy"]], kind


def test_script_check_reproduces_the_recorded_metrics():
    """``train_rnn.py --check`` retrains the three models and finds the recorded metrics: equal on the code
    path the checkpoints were written on (printed as "exact"), within the stated tolerance elsewhere."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "08-rnn" / "train_rnn.py"), "--check"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(rnn.PAGE_DEFAULTS["kinds"])
    exact = read_meta(rnn.checkpoint_path("rnn"))["compute_path"] == compute_path()
    assert all(f": OK ({'exact' if exact else '±'}" in line for line in lines), lines


@pytest.mark.slow
def test_script_writes_what_it_checks(tmp_path):
    """The script's own output folder passes its --check; a changed record fails it."""
    assert train_rnn.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"subject_{k}.npz" for k in rnn.MODEL_KINDS)
    for kind in rnn.MODEL_KINDS:
        written, shipped = read_meta(tmp_path / f"subject_{kind}.npz"), read_meta(rnn.checkpoint_path(kind))
        if shipped["compute_path"] == compute_path():
            assert [written[k] for k in ("doc_accuracy", "last50_batch_loss")] == [
                shipped[k] for k in ("doc_accuracy", "last50_batch_loss")], kind
    assert train_rnn.main(["--check", "--out", str(tmp_path)]) == 0
    model, history, meta = rnn.load_run(tmp_path / "subject_gru.npz")
    history.batch_metric[-1] = 0.0                              # a run that does not match its record
    rnn.save_run(tmp_path / "subject_gru.npz", model, history, meta["settings"], compute_path=meta["compute_path"])
    assert train_rnn.main(["--check", "--out", str(tmp_path)]) == 1


def test_compare():
    assert train_rnn.compare({"a": [0.5, 1.0], "b": 2.0}, {"a": [0.5, 1.0], "b": 2.0}, exact=True) == []
    assert train_rnn.compare({"a": [0.5, 1.0]}, {"a": [0.5, 0.99]}, exact=True) == ["a: recorded [0.5, 1.0], measured [0.5, 0.99]"]
    assert train_rnn.compare({"a": [0.5, 1.0]}, {"a": [0.5, 0.99]}, exact=False) == []
    assert train_rnn.compare({"a": 1.0}, {"a": 0.9}, exact=False) == ["a: recorded 1.0, measured 0.9"]


def test_page_action_is_registered():
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import bench_pages
    assert [a for a in bench_pages.actions(["08"])] == [("08-rnn", "rnn", label) for label in rnn.PAGE_ACTIONS]
    label = next(iter(rnn.PAGE_ACTIONS))
    d = rnn.PAGE_DEFAULTS
    assert re.fullmatch(r"Train \(RNN, LSTM, GRU · (\d+) steps · fillers (\d+)–(\d+)\)", label).groups() == (
        str(d["steps"]), *map(str, d["fillers"]))


def test_changes_its_mind():
    T, F = True, False
    assert rnn.changes_its_mind(np.array([T, T, T, F]))                 # held through a filler, lost at who?
    assert rnn.mind_change_step(np.array([T, T, T, F])) == 3
    assert rnn.mind_change_step(np.array([T, T, F, T, F, F])) == 4        # the last time it lets go
    assert not rnn.changes_its_mind(np.array([T, F, F, F]))             # never held after a filler
    assert rnn.mind_change_step(np.array([T, F, F, F])) is None
    assert not rnn.changes_its_mind(np.array([T, T, F, T]))             # right again at who?
    assert not rnn.changes_its_mind(np.array([T, F]))                   # no fillers: nothing to change over
    np.testing.assert_array_equal(rnn.changes_its_mind(np.array([[T, T, F], [T, F, F]])), [True, False])


def test_mind_rates_count_sentences(runs):
    from common.sequence_tasks import subject_task
    model = runs["rnn"][0]
    changed, acc = rnn.mind_rates(model, 15, np.random.default_rng(11), n=200)
    X, y = subject_task(200, 15, np.random.default_rng(11))
    right = model.predict_proba(X).argmax(axis=2) == y[:, None]
    assert changed == np.mean([rnn.changes_its_mind(r) for r in right]) and acc == np.mean(right[:, -1])
    assert rnn.mind_rates(runs["lstm"][0], 15, np.random.default_rng(11)) == (0.0, 1.0)


def test_word_by_word_verdict():
    words = ["teacher", "the", "day", "who?"]
    held = dict(right=np.array([True, True, True, True]), step=None, answer="teacher", changed=0.0, acc=1.0)
    lost = dict(right=np.array([True, True, False, False]), step=2, answer="pilot", changed=0.25, acc=0.5)
    never = dict(right=np.array([True, False, False, False]), step=None, answer="pilot", changed=0.045, acc=0.5)
    assert rnn.word_by_word_verdict({"rnn": lost, "lstm": held}, words, "teacher", 2) is None   # as the post says
    text = rnn.word_by_word_verdict({"rnn": never, "lstm": held}, words, "teacher", 2)
    assert text == ("On this sentence the vanilla RNN never has teacher as its top answer after a filler word, so it "
                    "has no mind to change: it answers pilot; the LSTM answers teacher at who? and does not change "
                    "its mind. Over 200 sentences with 2 fillers the vanilla RNN changes its mind on 4.5% and is "
                    "right at who? on 50.0% (chance 25.0%); the LSTM on 0.0% and 100.0%.")
    text = rnn.word_by_word_verdict({"rnn": lost, "lstm": lost}, words, "teacher", 2)
    assert text.startswith("On this sentence the vanilla RNN changes its mind after *the* (word 1) and answers pilot; "
                           "the LSTM changes its mind after *the* (word 1)")
