"""Seconds for each page's default action, run through the same functions the page calls (no Streamlit).

    python tests/benchmarks/bench_pages.py            # every registered action, each in a fresh process
    python tests/benchmarks/bench_pages.py 06 09      # only these chapters
    python tests/benchmarks/bench_pages.py --repeat 3 # median of three fresh processes per action

A chapter registers its page's actions in ``PAGE_ACTIONS`` in one of its modules: ``{"label": fn}``, where
``fn()`` does what pressing that button with the page's default settings does (train, sweep, compute a
view), and returns nothing. Each action runs once per process, after the imports and the data load,
which are timed apart (a page pays them once per session, not per click). Targets (issue "Speed"):
every default action ≤ 3 s on a quiet machine, the median ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import _bench  # noqa: E402  (sets BLAS threads before NumPy loads)

_bench.set_threads(1, recorded_kernel=False)   # pages get the machine's kernel setting
sys.path.insert(0, str(ROOT))


def actions(chapters=None):
    """(chapter folder, module name, label) for every registered page action."""
    from common.chapters import chapter_modules
    return [(ch.folder, module.__name__, label) for ch, module in chapter_modules(chapters, skip=("_", "train_"))
            for label in getattr(module, "PAGE_ACTIONS", {})]


def _run_one(folder: str, module: str, label: str) -> None:
    """In the child process: import, time the action once, print one JSON line."""
    import importlib
    sys.path.append(str(ROOT / folder))
    t0 = time.perf_counter()
    mod = importlib.import_module(module)
    fn = mod.PAGE_ACTIONS[label]
    setup = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    fn()
    print(json.dumps({"seconds": time.perf_counter() - t1, "cpu": time.process_time() - c1, "import": setup}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("chapters", nargs="*")
    p.add_argument("--repeat", type=int, default=1, help="fresh processes per action (the median is shown)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _run_one(*args.child)
        return 0
    rows = []
    for folder, module, label in actions(args.chapters):
        runs = []
        for _ in range(args.repeat):
            proc = subprocess.run([sys.executable, __file__, "--child", folder, module, label],
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                raise SystemExit(f"{folder} {label!r} failed:\n{proc.stderr}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        wall = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        rows.append((folder, label, wall, cpu))
        print(f"{folder:28s} {label:42s} {wall:6.2f} s wall  {cpu:6.2f} s cpu", flush=True)
    if rows:
        walls = [r[2] for r in rows]
        slow = max(rows, key=lambda r: r[2])
        print(f"\n{len(rows)} actions · median {statistics.median(walls):.2f} s · slowest {slow[2]:.2f} s "
              f"({slow[0]}: {slow[1]}) · over 3 s: {sum(w > 3 for w in walls)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
