"""The tests compute with the kernels the shipped records were made with, where the CPU can run them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common._script import cpu_runs_recorded_kernel
from common.checkpoints import RECORDED_BLAS_CORE, compute_path, on_recorded_kernel

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(os.environ.get("P2T_KEEP_OPENBLAS_CORETYPE")), reason="the machine's own kernel was asked for")
def test_the_suite_uses_the_recorded_blas_kernel_where_the_cpu_has_it():
    core = compute_path().split("/")[0]
    assert core != "?"
    if cpu_runs_recorded_kernel():
        assert core == RECORDED_BLAS_CORE and on_recorded_kernel()
    else:
        assert not on_recorded_kernel()


def _child(code: str, **env) -> str:
    """What ``code`` prints in a fresh interpreter at the repository root, with ``env`` over a copy of this
    environment from which this suite's own kernel choice is removed."""
    full = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "P2T_KEEP_OPENBLAS_CORETYPE")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


_PREPARE = ("import os, runpy; runpy.run_path('common/_script.py')['prepare']('10-transformer'); "
            "print(os.environ.get('OPENBLAS_CORETYPE')); "
            "from common.checkpoints import compute_path; print(compute_path().split('/')[0])")


def test_a_training_script_multiplies_with_the_recorded_kernel_where_the_cpu_has_it():
    chosen, core = _child(_PREPARE).splitlines()
    if cpu_runs_recorded_kernel():
        assert chosen == core == RECORDED_BLAS_CORE
    else:
        assert chosen == "None"
    # P2T_KEEP_OPENBLAS_CORETYPE=1 keeps the machine's own choice: the variable stays unset
    assert _child(_PREPARE, P2T_KEEP_OPENBLAS_CORETYPE="1").splitlines()[0] == "None"


def test_the_kernel_is_only_chosen_before_numpy_loads():
    from common import _script

    before = os.environ.get("OPENBLAS_CORETYPE")
    assert _script.select_recorded_kernel() is False             # NumPy is loaded in this process
    assert os.environ.get("OPENBLAS_CORETYPE") == before


def test_engine_benchmarks_choose_the_recorded_kernel_and_the_page_benchmark_does_not():
    code = ("import os, sys; sys.path.insert(0, 'tests/benchmarks'); import _bench; "
            "_bench.set_threads(1, recorded_kernel={}); print(os.environ.get('OPENBLAS_CORETYPE')); "
            "print(_bench.kernel_line())")
    engine = _child(code.format(True)).splitlines()
    pages = _child(code.format(False)).splitlines()
    assert pages[0] == "None"
    if cpu_runs_recorded_kernel():
        assert engine[0] == RECORDED_BLAS_CORE
        assert engine[1].startswith(f"NumPy multiplied with OpenBLAS's {RECORDED_BLAS_CORE} kernels")
    assert "recorded_kernel=False" in (ROOT / "tests" / "benchmarks" / "bench_pages.py").read_text()
