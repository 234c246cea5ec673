"""Keep the memory a training step frees for the next step (Linux with glibc only).

NumPy allocates a fresh array for every intermediate result: a training step of chapter 06's small CNN
makes and frees dozens of arrays of 0.1–4 MB. With glibc's default settings the allocator hands freed
memory at the top of its heap back to the operating system once more than about twice the largest recent
block is free there, and the next step's arrays take it back page by page, each 4 KB page a page fault
that the kernel fills with zeros. Measured on the course's 2-core machine (the benchmark CNN, batch 64):
about 200 page faults a training step with glibc's defaults, 5 with the settings below
(``tests/test_memory.py`` counts them). The time this saves is small beside the machine's noise: the CPU
time of a process training 300 steps was 0.91 and 0.95 of its time with the defaults (medians of 6 and 8
alternated pairs, in two spells); single runs of the CNN benchmark ranged from 20% faster to no difference.

``keep_freed_memory`` sets two of glibc's ``mallopt`` parameters for this process:

- ``M_MMAP_THRESHOLD`` = 32 MiB (glibc's own ceiling for the threshold it otherwise adjusts as it goes):
  blocks under it come from the heap, where freed ones are reused;
- ``M_TRIM_THRESHOLD`` = 64 MiB (twice that, glibc's own ratio): free memory at the heap's top is given
  back only beyond it.

The process then keeps up to 64 MiB it no longer uses instead of returning it; arrays of 32 MiB or more are
still mapped and unmapped on their own. ``import common`` calls it once. It does nothing when the
environment variable ``P2T_MALLOC_DEFAULTS`` is set (glibc's defaults stay), when you set glibc's own
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or a ``glibc.malloc`` tunable (yours stay), or off
Linux.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1          # glibc's <malloc.h> parameter numbers
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
#: the environment variables (glibc's names) that set the same two parameters when a process starts
GLIBC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
OPT_OUT = "P2T_MALLOC_DEFAULTS"


def _left_alone(environ) -> bool:
    return (bool(environ.get(OPT_OUT)) or any(environ.get(name) for name in GLIBC_ENV)
            or "glibc.malloc" in environ.get("GLIBC_TUNABLES", ""))


def keep_freed_memory(environ=os.environ) -> bool:
    """Set the two thresholds above for this process; ``True`` when glibc took both, ``False`` when it
    was left alone (opted out, set by you, not Linux, or no ``mallopt``)."""
    if not sys.platform.startswith("linux") or _left_alone(environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):       # a libc without mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


#: whether ``import common`` set them in this process
TUNED = keep_freed_memory()
