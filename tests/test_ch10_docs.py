"""Chapter 10 docs: every measured table of the README and the deep dive recomputed from the shipped
checkpoints (gpt_docs.DOC_TABLES), the samples regenerated, and the numbers written in the prose."""

import math
import re

import numpy as np
import pytest

import gpt
import gpt_docs
from common.chapters import ROOT
from regenerate_doc_tables import replace_table, table_block

FOLDER = ROOT / "10-transformer"
DOCS = {name: (FOLDER / name).read_text() for name in ("README.md", "TRANSFORMER_DEEP_DIVE.md")}


@pytest.mark.parametrize("doc, marker", list(gpt_docs.DOC_TABLES))
def test_measured_tables_match_the_checkpoints(doc, marker):
    text = DOCS[doc]
    start, end = table_block(text, marker)
    assert text[start:end] == gpt_docs.DOC_TABLES[(doc, marker)](), f"{doc} <!-- {marker} --> is stale: " \
        "run python -m tests.regenerate_doc_tables 10"
    assert replace_table(text, marker, gpt_docs.DOC_TABLES[(doc, marker)]()) == text


def _sample_block(name):
    m = re.search(rf"<!-- sample: {name} -->\n```text\n(.*?)\n```", DOCS["README.md"], re.S)
    assert m, f"no sample block for {name}"
    return m.group(1)


@pytest.mark.parametrize("name", ["small", "medium"])
def test_readme_samples_are_the_checkpoints_own(name):
    model, tok, info = gpt.shipped(name)
    assert _sample_block(name) == info["sample"] and len(info["sample"]) == 300
    s = info["sample_settings"]
    again = gpt.sample_string(gpt.copy_model(model, np.float64), tok, s["prompt"], s["length"],
                              temperature=s["temperature"], top_k=s["top_k"], seed=s["seed"])
    assert again == info["sample"]


def test_numbers_in_the_prose():
    dive = DOCS["TRANSFORMER_DEEP_DIVE.md"]
    assert f"ln 65 = {math.log(65):.3f}" in dive
    first = [gpt.shipped(name)[2]["first_losses"][0] for name in gpt.CONFIGS]
    assert f"(their first batches: {min(first):.2f} to {max(first):.2f})" in dive
    assert f"1.7% at D = 64, {100 * 13 / (12 * 128):.2f}% at D = 128" in dive
    assert f"{100 * 13 / (12 * 64):.1f}%" == "1.7%"
    assert f"it is {50257 * 768 / 1e6:.1f}M of 124M" in dive
    assert "first 32 validation windows" in dive and gpt_docs.DISTANCE_WINDOWS == 32
    assert f"after `{gpt_docs.TEMPERATURE_PROMPT.replace(chr(10), '⏎')}`" in dive
    readme = DOCS["README.md"]
    (small, _, si), (medium, _, mi) = gpt.shipped("small"), gpt.shipped("medium")
    assert (f"Our small model ({small.num_params() / 1e3:.0f}K parameters) reaches a validation loss of "
            f"{si['val_loss']:.3f} in {si['train_cpu_seconds'] / 60:.1f} CPU minutes") in " ".join(readme.split())
    assert (f"medium model ({medium.num_params() / 1e3:.0f}K, nanoGPT's architecture trained for "
            f"{mi['train_config']['iters']:,} iterations instead of 2,000) {mi['val_loss']:.3f} in "
            f"{mi['train_cpu_seconds'] / 60:.1f} CPU minutes") in " ".join(readme.split())
    assert f"what {mi['train_config']['iters']:,} steps of next-character prediction found" in " ".join(dive.split())
    assert f"all {len(gpt.shakespeare().val):,} characters" in readme
    assert "`dog bites man.` and `man bites dog.`" in readme


def test_readme_on_check_and_page_actions():
    readme = DOCS["README.md"]
    first = [gpt.shipped(name)[2]["first_losses"] for name in gpt.CONFIGS]
    assert {len(f) for f in first} == {20}
    assert "python 10-transformer/train_gpt.py --config small --check   # retrain 20 steps and compare with the " \
           "shipped record (--full: all)" in readme
    import train_gpt
    assert "the first 20 steps" in train_gpt.__doc__ and train_gpt.parse_args(["--config", "small", "--check"]).check
    assert "`PAGE_ACTIONS` (`python tests/benchmarks/bench_pages.py 10`)" in readme
    assert _bench_pages_actions("10") == [("10-transformer", "gpt", label) for label in gpt.PAGE_ACTIONS]


def _bench_pages_actions(chapter):
    """``tests/benchmarks/bench_pages.py``'s list of a chapter's actions, undoing what importing it sets
    (its folder and the root on ``sys.path``, the BLAS thread variables)."""
    import importlib
    import os
    import sys
    path, environ = list(sys.path), dict(os.environ)
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    try:
        return importlib.import_module("bench_pages").actions([chapter])
    finally:
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environ)


def _bench_gpt():
    """``tests/benchmarks/bench_gpt.py`` as a module, undoing what importing it sets (as above)."""
    import importlib
    import os
    import sys
    path, environ = list(sys.path), dict(os.environ)
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    try:
        return importlib.import_module("bench_gpt")
    finally:
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environ)


def test_readme_speed_lines_are_the_recorded_benchmark_runs():
    """The *Speed* section quotes ``bench_gpt.py``'s printed lines; each block is one run saved with
    ``--save`` under ``10-transformer/benchmarks/``, and the lines are that run's numbers as the benchmark
    formats them (so a number in the README can only come from a recorded run)."""
    import json
    import statistics
    readme = DOCS["README.md"]
    bench = _bench_gpt()
    records = sorted((FOLDER / "benchmarks").glob("bench_gpt_*.json"))
    assert [p.name for p in records] == ["bench_gpt_threads0.json", "bench_gpt_threads1.json"]
    for path in records:
        rec = json.loads(path.read_text())
        m = re.search(rf"<!-- bench: {re.escape(path.name)} -->\n```text\n(.*?)\n```", readme, re.S)
        assert m, f"no README block for {path.name}"
        assert m.group(1).splitlines() == rec["lines"]
        mine, ref = rec["results"]["numpy"], rec["results"]["pytorch"]
        for res in (mine, ref):
            assert math.isclose(res["median_ms"], statistics.median(res["block_ms"]), rel_tol=1e-12)
            assert res["iters"] == rec["iters"]
        assert rec["lines"] == [bench.result_line(mine, rec["clock"], rec["block"], rec["threads"]),
                                bench.result_line(ref, rec["clock"], rec["block"], rec["threads"]),
                                bench.ratio_line(mine, ref, rec["threads"])]
        assert f"`{rec['command']}`" in readme and rec["date"] in readme
        assert f"--threads {rec['threads']}" in rec["command"] or rec["threads"] == 1
        assert f"`OPENBLAS_CORETYPE={rec['openblas_coretype']}`" in readme
    one = json.loads((FOLDER / "benchmarks" / "bench_gpt_threads1.json").read_text())
    assert one["iters"] == 2000 and one["threads"] == 1 and one["clock"] == "cpu"
    assert one["results"]["numpy"]["val_loss"] <= 1.89 and "is 1.89 or less" in " ".join(readme.split())


def test_the_recipe_the_prose_states_is_the_configs():
    """Settings the docs state (the validation split, AdamW's λ, the clipping norm) are the ones the shipped
    runs were trained with, so an edit of either side fails here."""
    from common.text import TRAIN_FRACTION
    readme = " ".join(DOCS["README.md"].split())
    deep = " ".join(DOCS["TRANSFORMER_DEEP_DIVE.md"].split())
    (val_percent,) = re.findall(r"characters of the last (\d+)% of the text", readme)
    assert int(val_percent) == round(100 * (1 - TRAIN_FRACTION))
    (lam,) = re.findall(r"on the weight matrices only \(λ = ([\d.]+);", deep)
    (clip,) = re.findall(r"`fit\(clip_norm=([\d.]+)\)`", deep)
    for cfg in gpt.CONFIGS.values():
        assert (cfg.weight_decay, cfg.clip) == (float(lam), float(clip))
