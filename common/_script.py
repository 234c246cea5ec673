"""What a chapter's ``train_*.py`` does before it imports NumPy: pin the BLAS thread count and put the
repository, the chapter folder (and, for some, ``tests/``) on ``sys.path``.

Standard library only. A script loads this file by its path (``runpy.run_path``), not as
``common._script``: importing the ``common`` package imports NumPy, and the thread variables only take
effect when they are set before that.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def prepare(here, threads: int = 1, *, keep_set: bool = False, tests: bool = False) -> None:
    """Set the BLAS thread variables to ``threads`` (unless NumPy is already imported, or ``threads`` is 0)
    and put ``here``'s parent (the repository), ``here`` and, with ``tests``, ``tests/`` on ``sys.path``.

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
    for p in (str(root), str(here)) + ((str(root / "tests"),) if tests else ()):
        if p not in sys.path:
            sys.path.insert(0, p)
