"""The tests compute with the kernels the shipped records were made with, where the CPU can run them."""

from common.checkpoints import RECORDED_BLAS_CORE, compute_path, on_recorded_kernel
from conftest import _cpu_runs_recorded_kernels


import os

import pytest


@pytest.mark.skipif(bool(os.environ.get("P2T_KEEP_OPENBLAS_CORETYPE")), reason="the machine's own kernel was asked for")
def test_the_suite_uses_the_recorded_blas_kernel_where_the_cpu_has_it():
    core = compute_path().split("/")[0]
    assert core != "?"
    if _cpu_runs_recorded_kernels():
        assert core == RECORDED_BLAS_CORE and on_recorded_kernel()
    else:
        assert not on_recorded_kernel()
