"""``import common`` keeps freed memory for reuse (glibc's mallopt, ``common/_memory.py``): what it does,
measured as page faults (a count, not a time), and when it leaves the allocator alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from common import _memory

ROOT = Path(__file__).resolve().parent.parent
glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                           reason="the setting is glibc's")

#: a training step's pattern: a few arrays of 1.6 MB made from one another and freed, again and again
FAULTS_PER_STEP = """
import resource, threading
import numpy as np
import common
from common import _memory

def step_faults():
    x = np.ones((64, 8, 28, 28), np.float32)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        a = x * 2; b = np.maximum(a, 0); c = (b > 0).astype(np.float32); del a, b, c
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 100

found = {}
t = threading.Thread(target=lambda: found.update(thread=step_faults()))   # Streamlit runs pages in threads
t.start(); t.join()
print(_memory.TUNED, step_faults(), found["thread"])
"""


def _faults(**env):
    environ = {k: v for k, v in os.environ.items() if k not in (*_memory.GLIBC_ENV, _memory.OPT_OUT)}
    environ.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], env=environ, capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    return out[0] == "True", float(out[1]), float(out[2])


@glibc
def test_import_common_keeps_freed_arrays_for_the_next_step():
    tuned, main, thread = _faults()
    assert tuned
    # each 1.6 MB array is 392 pages: with glibc's defaults the step faults them in again every time
    default, main_default, thread_default = _faults(**{_memory.OPT_OUT: "1"})
    assert not default
    assert main_default > 500 and thread_default > 500
    assert main < 50 and thread < 50


@glibc
def test_glibcs_own_variables_give_the_same_setting():
    """What ``tests/benchmarks`` hands a PyTorch twin: the environment form of the same two thresholds."""
    tuned, main, thread = _faults(**_memory.GLIBC_ENV)
    assert not tuned                           # set by the environment, left alone by common
    assert main < 50 and thread < 50


@pytest.mark.parametrize("environ", [{_memory.OPT_OUT: "1"}, {"MALLOC_TRIM_THRESHOLD_": "131072"},
                                     {"MALLOC_MMAP_THRESHOLD_": "131072"},
                                     {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_a_setting_of_your_own_is_left_alone(environ):
    assert _memory.keep_freed_memory(environ) is False


def test_the_environment_form_matches_the_mallopt_values():
    assert _memory.GLIBC_ENV == {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}
