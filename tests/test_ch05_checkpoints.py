"""Chapter 05's shipped checkpoints: the default run and the four-run comparison the page opens on. The
training script reproduces the recorded metrics, the loaded weights score what the record says, and the
files stay small."""

import numpy as np
import pytest

import overfitting as ovf
import train_regularization
from common.checkpoints import read_history, read_meta
from common.losses import softmax_cross_entropy
from common.training import evaluate
from markdown_tables import compute_path

PATHS = [ovf.DEFAULT_CHECKPOINT] + [ovf.compare_checkpoint(k) for k in ovf.COMPARE_KINDS]


def test_checkpoints_hold_the_settings_and_stay_small():
    for path in PATHS:
        assert path.stat().st_size < 1_000_000
        meta = read_meta(path)
        assert meta["script"] == "05-regularization/train_regularization.py"
        h = read_history(path, "run")
        assert h.epochs == meta["epochs_run"] == meta["config"]["epochs"]
        assert meta["config"]["train_size"] == 1000 and meta["val_size"] == ovf.PAGE_VAL_SIZE
    assert read_meta(ovf.DEFAULT_CHECKPOINT)["config"] == ovf.asdict(ovf.PAGE_DEFAULT)
    configs = ovf.compare_configs(ovf.PAGE_DEFAULT, **ovf.COMPARE_DEFAULTS)
    recorded = [read_meta(ovf.compare_checkpoint(k))["config"] for k in ovf.COMPARE_KINDS]
    assert recorded == [ovf.asdict(c) for c in configs]


def test_loaded_weights_score_the_recorded_metrics(real_mnist):
    splits = ovf.page_splits(real_mnist.x_train, real_mnist.y_train, real_mnist.x_test, real_mnist.y_test, 1000)
    for path in PATHS:
        run, meta = ovf.load_run(path), read_meta(path)
        _, acc = evaluate(run.model, splits.X_test, splits.y_test, softmax_cross_entropy)
        if meta["weights"] == "float32":
            assert acc == meta["final_test_acc"]
        else:               # float16 weights: the statistics the Weights tab shows, predictions within 0.1 points
            assert acc == pytest.approx(meta["final_test_acc"], abs=1e-3)
        assert float(np.linalg.norm(run.first_layer_weights())) == pytest.approx(meta["final_w1_norm"], rel=1e-3)


@pytest.mark.slow
def test_the_script_reproduces_the_recorded_metrics(real_mnist):
    """``train_regularization.py --check``'s comparison: every recorded metric equal on the recording
    machine's compute path, within 0.1 points elsewhere (float32 sums differ across BLAS builds)."""
    default, compare = train_regularization.train_all(real_mnist)
    for path, run in zip(PATHS, [default, *compare]):
        meta = read_meta(path)
        measured = ovf.recorded_metrics(run)
        recorded = {k: meta[k] for k in measured}
        same = meta.get("compute_path") == compute_path()
        assert train_regularization.compare(recorded, measured, same) == []
        if same:
            assert measured == recorded
            assert run.history.val_loss == read_history(path, "run").val_loss
