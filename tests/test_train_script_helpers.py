"""What the chapters' ``train_*.py`` scripts share: ``common/_script.py`` (loaded by path) sets the BLAS thread
variables before anything imports NumPy and puts the repository and the chapter on ``sys.path``;
``common.checkpoints.compare_metrics`` is their ``--check`` comparison."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _prepare_in_a_fresh_python(env: dict, call: str) -> dict:
    code = f"""
import json, os, runpy, sys
runpy.run_path({str(ROOT / "common" / "_script.py")!r})["prepare"]{call}
print(json.dumps({{"numpy": "numpy" in sys.modules, "path": sys.path[:3],
                  "env": {{v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_prepare_sets_threads_before_numpy_and_the_paths():
    here = ROOT / "04-optimization"
    r = _prepare_in_a_fresh_python({"OPENBLAS_NUM_THREADS": "7"}, f"({str(here)!r}, 2)")
    assert r["numpy"] is False
    assert r["env"] == {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}     # overwritten
    assert r["path"][:2] == [str(here), str(ROOT)]


def test_prepare_keep_set_and_tests():
    here = ROOT / "04-optimization"
    r = _prepare_in_a_fresh_python({"OPENBLAS_NUM_THREADS": "7"}, f"({str(here)!r}, 1, keep_set=True, tests=True)")
    assert r["env"] == {"OPENBLAS_NUM_THREADS": "7", "OMP_NUM_THREADS": "1"}     # kept where set
    assert r["path"] == [str(ROOT / "tests"), str(here), str(ROOT)]


def test_threads_zero_leaves_the_environment():
    r = _prepare_in_a_fresh_python({}, f"({str(ROOT / '07-normalization-residual')!r}, 0)")
    assert r["env"] == {"OPENBLAS_NUM_THREADS": None, "OMP_NUM_THREADS": None}


def test_compare_metrics_exact_on_the_recording_machine_tolerant_elsewhere():
    from common.checkpoints import compare_metrics
    rec = {"final_test_acc": 0.9, "final_loss": 0.5, "epochs": 10}
    near = {"final_test_acc": 0.9009, "final_loss": 0.504, "epochs": 11}
    assert compare_metrics(rec, rec, True) == []
    assert compare_metrics(rec, near, True) == ["final_test_acc: recorded 0.9, retrained 0.9009",
                                                "final_loss: recorded 0.5, retrained 0.504",
                                                "epochs: recorded 10, retrained 11"]
    assert compare_metrics(rec, {**near, "epochs": 10}, False) == []
    assert compare_metrics(rec, near, False, exact_ints=True) == ["epochs: recorded 10, retrained 11"]
    assert compare_metrics(rec, {**near, "final_test_acc": 0.902}, False, acc_tol=1e-3, exact_ints=True) == [
        "final_test_acc: recorded 0.9, retrained 0.902", "epochs: recorded 10, retrained 11"]
    assert compare_metrics({"best": None}, {"best": None}, False, exact_ints=True) == []
