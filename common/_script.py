"""What a chapter's ``train_*.py`` does before it imports NumPy: pin the BLAS thread count, choose the
OpenBLAS kernel the shipped checkpoints were trained with where the CPU can run it, and put the
repository, the chapter folder (and, for some, ``tests/``) on ``sys.path``. The tests
(``tests/conftest.py``) and the engine benchmarks (``tests/benchmarks/_bench.py``) make the same choice.

Standard library only. A script loads this file by its path (``runpy.run_path``), not as
``common._script``: importing the ``common`` package imports NumPy, and the thread variables only take
effect when they are set before that. (``common.checkpoints`` imports it as ``common._script`` for
``RECORDED_BLAS_CORE`` alone.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: The OpenBLAS kernel the shipped checkpoints of chapters 06, 07 and 10 (and the exact doc tables) were
#: trained with (``common.checkpoints.RECORDED_BLAS_CORE`` is this name), and the AVX-512 subsets it needs.
RECORDED_BLAS_CORE = "SkylakeX"
RECORDED_CORE_FLAGS = frozenset({"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"})


def cpu_runs_recorded_kernel() -> bool:
    """Whether this CPU has the AVX-512 subsets ``RECORDED_BLAS_CORE``'s kernels need (read from
    ``/proc/cpuinfo``; False where that cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return False
    return RECORDED_CORE_FLAGS <= flags


def select_recorded_kernel() -> bool:
    """Set ``OPENBLAS_CORETYPE`` to ``RECORDED_BLAS_CORE`` where the CPU can run it, before NumPy loads
    OpenBLAS; returns whether it did. ``P2T_KEEP_OPENBLAS_CORETYPE=1`` keeps the machine's setting.

    Why: float32 sums round differently under another kernel, so a training script reproduces its shipped
    checkpoint bit for bit only on the recorded one. The variable may already name another: some hosts set
    ``Haswell`` (AVX2) on AVX-512 CPUs, which made the multi-head attention benchmark 1.6x slower on one
    (an AMD EPYC, 2026-12).
    """
    if "numpy" in sys.modules or os.environ.get("P2T_KEEP_OPENBLAS_CORETYPE") or not cpu_runs_recorded_kernel():
        return False
    os.environ["OPENBLAS_CORETYPE"] = RECORDED_BLAS_CORE
    return True


def prepare(here, threads: int = 1, *, keep_set: bool = False, tests: bool = False) -> None:
    """Set the BLAS thread variables to ``threads`` (unless NumPy is already imported, or ``threads`` is 0),
    ``select_recorded_kernel()``, and put ``here``'s parent (the repository), ``here`` and, with ``tests``,
    ``tests/`` on ``sys.path``.

    ``keep_set``: a variable already in the environment keeps its value (``os.environ.setdefault``);
    otherwise it is overwritten.
    """
    here = Path(here)
    root = here.parent
    if threads and "numpy" not in sys.modules:
        for var in BLAS_THREAD_VARS:
            if keep_set:
                os.environ.setdefault(var, str(threads))
            else:
                os.environ[var] = str(threads)
    select_recorded_kernel()
    for p in (str(root), str(here)) + ((str(root / "tests"),) if tests else ()):
        if p not in sys.path:
            sys.path.insert(0, p)
