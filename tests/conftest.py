"""Test set-up shared by every test file.

- Matplotlib renders off-screen; MNIST is never downloaded (``P2T_MNIST_OFFLINE=1``) and comes from
  ``../shared/datasets/mnist`` when that exists (development machines and CI), else the bundled sample;
  nor is Tiny Shakespeare (``P2T_SHAKESPEARE_OFFLINE=1``; the package bundles the whole text).
- Chapter folders are put on ``sys.path`` the way the hub does it, so tests import ``perceptron``,
  ``cnn``… by their unique module names.
- ``app_test(path)`` makes an ``AppTest`` for a playground with a generous timeout and fresh caches.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist"

# The training scripts' set-up (standard library only), loaded by its path: importing ``common`` would load
# NumPy, and the BLAS variables below only take effect before that.
_SCRIPT = runpy.run_path(str(ROOT / "common" / "_script.py"))

# One BLAS thread, set before anything imports NumPy: the tests multiply small matrices, where a second
# OpenBLAS thread costs more in synchronisation than it gains (on a busy 2-core machine, 5-20x slower).
for _var in _SCRIPT["BLAS_THREAD_VARS"]:
    os.environ.setdefault(_var, "1")
# The shipped checkpoints and the exact doc tables were computed with OpenBLAS's SkylakeX kernels
# (``common.checkpoints.RECORDED_BLAS_CORE``); float32 training rounds differently under another kernel,
# which a machine can select by setting OPENBLAS_CORETYPE (some CI hosts set Haswell). Where the CPU can run
# the recorded kernels, the tests use them, so the records are compared bit for bit; elsewhere the tests
# that pin bits compare within the tolerance each states, or skip with the reason
# (P2T_KEEP_OPENBLAS_CORETYPE=1 keeps the machine's setting, to see those paths here).
_SCRIPT["select_recorded_kernel"]()
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["P2T_MNIST_OFFLINE"] = "1"
os.environ["P2T_SHAKESPEARE_OFFLINE"] = "1"        # Tiny Shakespeare: the cache, else the bundled copy
if not os.environ.get("P2T_MNIST_DIR") and SHARED_MNIST.is_dir():
    os.environ["P2T_MNIST_DIR"] = str(SHARED_MNIST)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from common.chapters import CHAPTERS  # noqa: E402

for _chapter in CHAPTERS:
    _folder = str(ROOT / _chapter.folder)
    if _folder not in sys.path:
        sys.path.append(_folder)

#: In CI a test that would skip for want of Chromium or real MNIST fails instead.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

APP_TIMEOUT = 180.0


@pytest.fixture
def app_test():
    """``app_test("06-cnn/cnn_playground.py")`` → an ``AppTest`` (not yet run) with caches cleared."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def make(relative_path: str, timeout: float = APP_TIMEOUT) -> AppTest:
        st.cache_data.clear()
        st.cache_resource.clear()
        return AppTest.from_file(str(ROOT / relative_path), default_timeout=timeout)

    return make


@pytest.fixture(scope="session")
def real_mnist():
    """The full, verified MNIST, or a skip (a failure in CI) where it is not on this machine."""
    from common.mnist import load_mnist

    try:
        return load_mnist(download=False, allow_sample=False)
    except FileNotFoundError as exc:
        if IN_CI:
            pytest.fail(f"real MNIST is required in CI: {exc}")
        pytest.skip(f"real MNIST not available: {exc}")
