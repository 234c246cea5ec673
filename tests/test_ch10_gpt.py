"""Chapter 10: the shipped checkpoints against their records, the training script against the shipped
runs (the first losses, bit for bit), seeded and resumable runs, the checkpoint format."""

import dataclasses
import hashlib
import subprocess
import sys

import numpy as np
import pytest

import gpt
import train_gpt
from common.checkpoints import RECORDED_BLAS_CORE, on_recorded_kernel, read_meta
from common.training import StopWhen

TINY = dataclasses.replace(gpt.CONFIGS["small"], n_layer=1, d_model=32, batch_size=4, iters=12, warmup=2,
                           eval_interval=4, eval_windows=4)

#: The --check tests assert its exact wording, which is the bitwise comparison's: on another BLAS kernel the
#: script compares within tolerances instead (test_training_script_reproduces… covers that case).
ONLY_ON_THE_RECORDED_KERNEL = pytest.mark.skipif(not on_recorded_kernel(), reason=f"the shipped run is bitwise only "
                                                 f"with OpenBLAS {RECORDED_BLAS_CORE}")


@pytest.mark.parametrize("name", list(gpt.CONFIGS))
def test_checkpoint_loads_and_reproduces_its_recorded_validation_loss(name):
    model, tok, info = gpt.shipped(name)
    cfg = gpt.CONFIGS[name]
    assert info["train_config"] == dataclasses.asdict(cfg)                  # trained with today's recipe
    assert model.config() == {"vocab_size": 65, "d_ff": 4 * cfg.d_model, **{k: v for k, v in cfg.model_kwargs().items()}}
    assert tok.chars == gpt.shakespeare().tokenizer.chars and len(info["val_curve"]) == cfg.iters // cfg.eval_interval
    with np.load(gpt.CHECKPOINT_DIR / f"gpt_{name}.npz", allow_pickle=False) as f:
        assert {f[k].dtype for k in f.files if k.startswith("param:")} == {np.dtype(np.float16)}
    # The recorded losses were measured after the float16 round trip, in float64: recomputed, the same.
    slice_loss = gpt.val_loss(model, gpt.shakespeare().val, limit=info["val_slice_windows"])
    assert slice_loss == pytest.approx(info["val_loss_slice"], rel=1e-12, abs=0)
    assert info["val_loss"] < info["val_curve"][0]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(gpt.CONFIGS))
def test_checkpoint_full_validation_loss(name):
    model, _, info = gpt.shipped(name)
    assert gpt.val_loss(model, gpt.shakespeare().val) == pytest.approx(info["val_loss"], rel=1e-12, abs=0)


def test_checkpoints_stay_small():
    sizes = [(gpt.CHECKPOINT_DIR / f"gpt_{name}.npz").stat().st_size for name in gpt.CONFIGS]
    assert sum(sizes) < 3_000_000


@pytest.mark.parametrize("name", ["small", "medium"])
def test_training_script_reproduces_the_first_losses_of_the_shipped_run(name, tmp_path):
    """Five steps of ``train_gpt.py --config NAME`` give bit for bit the losses the shipped run recorded
    (both with one BLAS thread, as the tests run; another CPU or thread count may round differently)."""
    run = train_gpt.main(["--config", name, "--steps", "5", "--out", str(tmp_path / f"{name}.npz"), "--quiet"])
    assert run.step == 5 and (tmp_path / f"{name}.resume.npz").is_file()
    recorded = gpt.shipped(name)[2]["first_losses"][:5]
    if on_recorded_kernel():
        assert run.batch_loss == recorded
    else:                   # another BLAS kernel rounds float32 sums differently (about 1e-7 relative here)
        assert run.batch_loss == pytest.approx(recorded, rel=1e-5, abs=0)


def test_same_seed_same_run_bit_for_bit():
    a, b = gpt.new_run(TINY), gpt.new_run(TINY)
    gpt.train(a, 6)
    gpt.train(b, 6)
    assert a.batch_loss == b.batch_loss and a.val_curve == b.val_curve and len(a.batch_loss) == 6
    for k, p in a.model.params.items():
        np.testing.assert_array_equal(p, b.model.params[k])
    c = gpt.new_run(dataclasses.replace(TINY, seed=1))
    gpt.train(c, 6)
    assert c.batch_loss != a.batch_loss


def test_resuming_gives_the_uninterrupted_run(tmp_path):
    whole = gpt.new_run(dataclasses.replace(TINY, dropout=0.1))       # dropout: the model's generator too
    gpt.train(whole)
    part = gpt.new_run(dataclasses.replace(TINY, dropout=0.1))
    gpt.train(part, 8, on_interval=lambda r: gpt.save_run(tmp_path / "r.npz", r))
    resumed = gpt.load_run(tmp_path / "r.npz")
    assert resumed.step == 8 and not resumed.done
    gpt.train(resumed)
    assert resumed.done and resumed.batch_loss == whole.batch_loss and resumed.val_curve == whole.val_curve
    assert resumed.lr == whole.lr and resumed.optimizer.t == whole.optimizer.t
    for k, p in whole.model.params.items():
        np.testing.assert_array_equal(p, resumed.model.params[k])


def test_stop_keeps_every_finished_step():
    run = gpt.new_run(TINY)
    calls = []
    gpt.train(run, callbacks=[StopWhen(lambda: calls.append(1) or len(calls) >= 6)])
    assert run.step == 6 and len(run.batch_loss) == 6 and run.val_steps == [4, 6]


def test_checkpoint_round_trip_and_format(tmp_path):
    run = gpt.new_run(TINY)
    gpt.train(run, 2)
    path = gpt.save_checkpoint(tmp_path / "c.npz", run.model, run.data.tokenizer, {"note": "x"})
    model, tok, info = gpt.load_checkpoint(path)
    assert info["note"] == "x" and info["config"] == run.model.config() and tok.chars == run.data.tokenizer.chars
    for k, p in model.params.items():
        np.testing.assert_array_equal(p, run.model.params[k].astype(np.float16).astype(np.float32))
    run.model.load(path)                                            # a plain Layer.load reads it too
    plain = run.model.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="no checkpoint metadata"):
        gpt.checkpoint_info(plain)
    assert not list(tmp_path.glob(".*"))                            # nothing half-written left behind


def test_sampling_is_seeded():
    model, tok, _ = gpt.shipped("small")
    a = gpt.sample_string(model, tok, "ROMEO:", 40, seed=3)
    assert a == gpt.sample_string(model, tok, "ROMEO:", 40, seed=3) and len(a) == 40
    assert a != gpt.sample_string(model, tok, "ROMEO:", 40, seed=4)
    chars = [c for c, p in gpt.sample_text(model, tok, "", 5, temperature=0)]
    assert len(chars) == 5 and all(len(c) == 1 for c in chars)


# --------------------------------------------------------------------------------- train_gpt.py --check

def _shipped_path(name):
    return gpt.CHECKPOINT_DIR / f"gpt_{name}.npz"


def _tampered_copy(source, folder, **changes):
    """A copy of the checkpoint ``source`` in ``folder`` (the same float16 weights, through
    ``save_checkpoint``, i.e. ``Layer.save``) whose record has ``changes``."""
    model, tok, info = gpt.load_checkpoint(source)
    record = {k: v for k, v in info.items() if k not in ("config", "chars")}
    record.update(changes)
    folder.mkdir(exist_ok=True)
    path = gpt.save_checkpoint(folder / source.name, model, tok, record)
    with np.load(path, allow_pickle=False) as a, np.load(source, allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            if k != "meta":
                np.testing.assert_array_equal(a[k], b[k], strict=True)
    assert read_meta(path) == {**info, **changes}
    return path


@ONLY_ON_THE_RECORDED_KERNEL
def test_check_passes_on_the_shipped_checkpoint():
    """The command line itself: retrains the first 20 steps in a temporary folder, exits 0, and leaves the
    shipped checkpoint as it was."""
    from conftest import ROOT
    path = _shipped_path("small")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, str(ROOT / "10-transformer" / "train_gpt.py"), "--config", "small",
                           "--check", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith(("same", "DIFFERS"))]
    assert verdicts == ["same: validation loss of the shipped weights (first 64 windows)",
                        "same: the first 20 batch losses"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not (gpt.CHECKPOINT_DIR / "gpt_small.resume.npz").exists()


@ONLY_ON_THE_RECORDED_KERNEL
def test_check_fails_clearly_on_a_tampered_loss(tmp_path, capsys):
    first = gpt.shipped("small")[2]["first_losses"]
    changed = [*first[:3], first[3] + 1e-6, *first[4:]]
    path = _tampered_copy(_shipped_path("small"), tmp_path, first_losses=changed)
    with pytest.raises(SystemExit) as exit_:
        train_gpt.main(["--config", "small", "--check", "--quiet", "--out", str(path)])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert "same: validation loss of the shipped weights (first 64 windows)" in out.splitlines()
    assert (f"DIFFERS: the first 20 batch losses: 1 of 20 differ, the first is number 4: recorded {changed[3]!r}, "
            f"retrained {first[3]!r}") in out.splitlines()
    assert f"--check failed: 1 of 2 comparisons with {path} differ" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt_small.npz"]      # retrained elsewhere


@ONLY_ON_THE_RECORDED_KERNEL
def test_check_fails_clearly_on_a_tampered_validation_loss(tmp_path, capsys):
    info = gpt.shipped("small")[2]
    path = _tampered_copy(_shipped_path("small"), tmp_path, val_loss_slice=round(info["val_loss_slice"], 3))
    with pytest.raises(SystemExit, match="1"):
        train_gpt.main(["--config", "small", "--check", "--quiet", "--out", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert (f"DIFFERS: validation loss of the shipped weights (first 64 windows): recorded "
            f"{round(info['val_loss_slice'], 3)!r}, retrained {info['val_loss_slice']!r}") in out
    assert "same: the first 20 batch losses" in out


@pytest.mark.slow
@ONLY_ON_THE_RECORDED_KERNEL
def test_check_full_compares_the_whole_run(tmp_path, capsys):
    """``--check --full`` on a run short enough to test: a 20-step schedule written by the script, its
    validation curve tampered in a copy, retrained whole and compared: the curve differs, the first losses
    and the final validation loss (every character) are the same."""
    path = tmp_path / "gpt_small.npz"
    train_gpt.main(["--config", "small", "--iters", "20", "--out", str(path), "--quiet"])
    info = gpt.checkpoint_info(path)
    assert info["settings"] == "--config small --iters 20" and info["val_steps"] == [20]
    assert info["first_losses"][0] == gpt.shipped("small")[2]["first_losses"][0]    # same start, shorter warmup
    curve = [info["val_curve"][0] + 0.5]
    tampered = _tampered_copy(path, tmp_path / "tampered", val_curve=curve)
    capsys.readouterr()
    with pytest.raises(SystemExit, match="1"):
        train_gpt.main(["--config", "small", "--iters", "20", "--check", "--full", "--quiet", "--out", str(tampered)])
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith(("same", "DIFFERS"))] == [
        "same: validation loss of the shipped weights (first 64 windows)", "same: the first 20 batch losses",
        f"DIFFERS: the validation curve: 1 of 1 differ, the first is number 1: recorded {curve[0]!r}, "
        f"retrained {info['val_curve'][0]!r}", "same: the validation loss (every character)"]


# ------------------------------------------------------------------------------------------ PAGE_ACTIONS

def test_page_actions_are_the_pages_buttons_with_its_defaults():
    assert list(gpt.PAGE_ACTIONS) == [
        "Generate: 300 characters from both models (first load, or the Generate button)",
        "Watch it learn: Train (100 steps of batch 16)",
        "Size and cost: Measure tokens per second"]
    assert gpt.GENERATE_DEFAULTS["length"] == 300
    assert (gpt.LEARN_DEFAULTS["steps"], gpt.LEARN_DEFAULTS["batch"]) == (100, 16)
    page = (gpt.HERE / "gpt_playground.py").read_text()
    assert all(f'"{tab}"' in page for tab in ("Generate", "Watch it learn", "Size and cost"))
    assert 'st.button("Measure tokens per second"' in page and 'b1.button("Train"' in page


@pytest.mark.parametrize("label", [pytest.param(label, marks=pytest.mark.slow) if "Train" in label else label
                                   for label in gpt.PAGE_ACTIONS])
def test_every_page_action_runs(label):
    """Each action as registered (the default Train, 100 steps, is slow here; it is timed in CPU seconds
    against the page's "a few seconds", with room for a slow machine)."""
    import time
    cpu = time.process_time()
    assert gpt.PAGE_ACTIONS[label]() is None
    if "Train" in label:
        assert time.process_time() - cpu < 15


def test_train_action_with_a_tiny_override(monkeypatch):
    """The Train action on the smallest settings the page offers: the run it makes follows LEARN_DEFAULTS,
    with a sample at every validation point, as the page writes them."""
    monkeypatch.setitem(gpt.LEARN_DEFAULTS, "steps", 50)
    monkeypatch.setitem(gpt.LEARN_DEFAULTS, "every", 25)
    monkeypatch.setitem(gpt.LEARN_DEFAULTS, "batch", 8)
    runs, samples = [], []
    new_run, sample_string = gpt.new_run, gpt.sample_string
    monkeypatch.setattr(gpt, "new_run", lambda cfg: runs.append(new_run(cfg)) or runs[-1])
    monkeypatch.setattr(gpt, "sample_string", lambda *a, **k: samples.append((runs[-1].step, k)) or sample_string(*a, **k))
    gpt.PAGE_ACTIONS["Watch it learn: Train (100 steps of batch 16)"]()
    (run,) = runs
    assert run.config == gpt.learn_config(steps=50, batch=8, lr=2e-3, every=25, seed=0)
    assert run.done and run.val_steps == [25, 50] and len(run.batch_loss) == 50
    assert samples == [(25, gpt.LEARN_SAMPLE), (50, gpt.LEARN_SAMPLE)]
