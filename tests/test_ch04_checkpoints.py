"""Chapter 04's shipped checkpoints: the default race the page opens on. The training script reproduces
the recorded metrics, the loaded weights score what the record says, and the files stay small."""

import pytest

import optimizer_race as racing
import train_optimization
from common.checkpoints import read_history, read_meta
from markdown_tables import compute_path

NAMES = racing.DEFAULT_RACE["names"]


def test_checkpoints_hold_the_settings_and_stay_small():
    for name in NAMES:
        path = racing.race_checkpoint(name)
        assert path.stat().st_size < 1_000_000
        meta = read_meta(path)
        assert meta["script"] == "04-optimization/train_optimization.py"
        assert meta["optimizer"] == name and meta["lr"] == racing.DEFAULT_LR[name]
        for k in ("train_size", "batch_size", "epochs", "seed", "hidden"):
            assert meta[k] == racing.DEFAULT_RACE[k]
        h = read_history(path, "race")
        assert h.epochs == racing.DEFAULT_RACE["epochs"]
        assert h.val_acc[-1] == meta["final_test_acc"] and h.train_acc[-1] == meta["final_train_acc"]
        assert len(h.batch_loss) == h.epochs * -(-meta["train_size"] // meta["batch_size"])


def test_loaded_weights_score_the_recorded_test_accuracy(real_mnist):
    shipped = racing.load_race()
    for name, r in shipped.items():
        acc = float((r.model.predict(real_mnist.x_test).argmax(1) == real_mnist.y_test).mean())
        assert acc == read_meta(racing.race_checkpoint(name))["final_test_acc"]


def test_the_script_reproduces_the_recorded_metrics(real_mnist):
    """``train_optimization.py --check`` retrains the race: every recorded metric equal on the recording
    machine's compute path, within 0.1 points elsewhere (float32 sums differ across BLAS builds)."""
    results = racing.default_race(real_mnist)
    same = read_meta(racing.race_checkpoint("Adam")).get("compute_path") == compute_path()
    for name, r in results.items():
        meta = read_meta(racing.race_checkpoint(name))
        measured = racing.recorded_metrics(r.history)
        recorded = {k: meta[k] for k in measured}
        assert train_optimization.compare(recorded, measured, same) == []
        if same:
            assert measured == recorded
            assert r.history.val_acc == read_history(racing.race_checkpoint(name), "race").val_acc


@pytest.mark.slow
def test_check_mode_exits_cleanly(real_mnist):
    assert train_optimization.main(["--check"]) == 0
