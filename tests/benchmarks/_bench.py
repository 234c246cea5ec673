"""Shared plumbing for the benchmark scripts: thread settings, timing, the torch subprocess.

Import this before NumPy: ``set_threads`` must run before NumPy loads its BLAS.
"""

from __future__ import annotations

import json
import os
import runpy
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# This checkout's ``common`` first, before an installed (editable) copy that may point at another
# checkout: otherwise a benchmark run from a worktree times the other tree's engine.
if str(ROOT) not in sys.path[:2]:
    sys.path.insert(1, str(ROOT))
# The training scripts' set-up (standard library only, loaded by its path: ``import common`` would load NumPy).
_SCRIPT = runpy.run_path(str(ROOT / "common" / "_script.py"))
THREAD_VARS = _SCRIPT["BLAS_THREAD_VARS"]


def set_threads(n: int | None, *, recorded_kernel: bool = True) -> None:
    """Pin BLAS (and torch intra-op) threads; ``None`` keeps the library defaults. With ``recorded_kernel``
    (the engine benchmarks), NumPy then multiplies with the OpenBLAS kernel the training scripts and the
    tests choose (``common/_script.py``'s ``select_recorded_kernel``: ``SkylakeX`` where the CPU runs it;
    ``P2T_KEEP_OPENBLAS_CORETYPE=1`` keeps the machine's setting); ``kernel_line()`` says which ran. The
    page benchmark passes False: pages served by ``streamlit run`` get the machine's setting."""
    if n:
        for var in THREAD_VARS:
            os.environ[var] = str(n)
    if recorded_kernel:
        _SCRIPT["select_recorded_kernel"]()


def kernel_line() -> str:
    """The line an engine benchmark prints last: which OpenBLAS kernel NumPy multiplied with (loads NumPy)."""
    from common.checkpoints import compute_path

    chosen = "the machine's setting" if os.environ.get("P2T_KEEP_OPENBLAS_CORETYPE") else \
        "P2T_KEEP_OPENBLAS_CORETYPE=1 keeps the machine's setting"
    return f"NumPy multiplied with OpenBLAS's {compute_path().split('/')[0]} kernels ({chosen})"


def add_common_args(parser) -> None:
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/torch threads (0 = library default); 1 was as fast and steadier on 2 cores")
    parser.add_argument("--data-dir", default=None, help="MNIST directory (default: the loader's search order)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, which leaves out the time the "
                             "process waits for a core, steadier on a shared machine (single-threaded runs only)")
    parser.add_argument("--json", action="store_true", help="print one JSON line (used for the torch subprocess)")


def run_twin(script: str, argv: list[str]) -> dict:
    """Run a benchmark's PyTorch twin in its own process (never in the same one: on 2 cores the two BLAS
    thread pools fight) with ``argv`` plus ``--json``, and return the JSON line it prints last.

    The twin runs with the allocator settings ``import common`` gives this process (glibc's environment form
    of them, ``common._memory.GLIBC_ENV``), so that a ratio compares the two engines, not two allocators;
    with ``P2T_MALLOC_DEFAULTS`` set, both keep glibc's defaults."""
    from common import _memory

    env = dict(os.environ)
    if _memory.TUNED:
        env.update(_memory.GLIBC_ENV)
    proc = subprocess.run([sys.executable, str(HERE / script), *argv, "--json"], capture_output=True, text=True,
                          check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"the torch reference {script} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_reference(script: str, args, extra: list[str] = ()) -> dict:
    """``run_twin`` with the arguments every MNIST benchmark shares, plus ``extra``."""
    argv = ["--epochs", str(args.epochs), "--threads", str(args.threads), "--clock", args.clock, *extra]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    return run_twin(script, argv)


def clock_fn(name: str = "wall"):
    import time

    return time.process_time if name == "cpu" else time.perf_counter


def time_numpy_epochs(model, optimizer, X, y, epochs: int, rng, batch_size: int = 64,
                      clock: str = "wall") -> list[float]:
    """Train a ``common`` model with softmax cross-entropy through ``common.training.fit``; seconds per
    epoch (training only: no metric, no validation). ``fit`` draws each epoch's permutation from ``rng``
    and cuts it into batches in order, as ``time_torch_epochs`` does, so both see the same batches.
    ``clock="cpu"`` times each epoch with the process's CPU time (a callback) instead of fit's wall clock."""
    from common import fit, softmax_cross_entropy
    from common.training import Callback

    now, marks = clock_fn(clock), []

    class Marks(Callback):
        def on_train_begin(self, state):
            marks.append(now())

        def on_epoch_end(self, state):
            marks.append(now())

    history = fit(model, X, y, loss_fn=softmax_cross_entropy, optimizer=optimizer, epochs=epochs, rng=rng,
                  batch_size=batch_size, metric=None, callbacks=[Marks()])
    if clock == "cpu":
        return [b - a for a, b in zip(marks, marks[1:])]
    return list(history.epoch_time)


def time_torch_epochs(model, optimizer, X, y, epochs: int, rng, batch_size: int = 64,
                      clock: str = "wall") -> list[float]:
    """The same loop in PyTorch (X, y tensors; the batch order from the same NumPy generator)."""
    import torch

    now = clock_fn(clock)

    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = now()
        order = torch.from_numpy(rng.permutation(len(X)))
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(now() - start)
    return times


def report(name: str, epoch_times: list[float], accuracy: float, as_json: bool) -> dict:
    result = {"name": name, "epoch_times": epoch_times, "median_epoch": statistics.median(epoch_times),
              "test_accuracy": accuracy}
    if as_json:
        print(json.dumps(result))
    else:
        times = ", ".join(f"{t:.3f}" for t in epoch_times)
        print(f"{name}: median {result['median_epoch']:.3f} s/epoch (epochs: {times}); "
              f"test accuracy {accuracy:.2%}")
    return result


def torch_init(threads: int, seed: int = 0):
    """PyTorch for a twin: ``threads`` intra-op threads (0: its default) and the seed of its initial weights."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return torch


def time_blocks(block, repeats: int, per: int, clock) -> list[float]:
    """``repeats`` timed calls of ``block()``, each doing ``per`` units of work: seconds per unit, per call."""
    times = []
    for _ in range(repeats):
        start = clock()
        block()
        times.append((clock() - start) / per)
    return times


def torch_mnist_twin(args, build_model, *, flatten: bool = True, lr: float = 1e-3) -> dict:
    """The MNIST twins' whole run: seeded PyTorch, ``build_model(torch.nn)``, Adam at ``lr``, the same batches
    as the NumPy side (``time_torch_epochs``), then the test accuracy, printed by ``report``."""
    import numpy as np

    from common.mnist import load_mnist

    torch = torch_init(args.threads, args.seed)
    data = load_mnist(args.data_dir, download=False, allow_sample=False, flatten=flatten)
    X, y = torch.from_numpy(np.array(data.x_train)), torch.from_numpy(np.array(data.y_train))
    model = build_model(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    times = time_torch_epochs(model, opt, X, y, args.epochs, np.random.default_rng(args.seed), clock=args.clock)
    with torch.no_grad():
        acc = (model(torch.from_numpy(np.array(data.x_test))).argmax(1).numpy() == data.y_test).mean()
    return report("pytorch (cpu)", times, float(acc), args.json)


def parse(doc: str, add_args, *, twin: bool = False):
    """A benchmark's command line: ``add_args(parser)`` plus ``--vs-torch`` (not on a twin), parsed; the BLAS
    threads set (before NumPy loads). Returns ``(args, clock)``, the clock ``--clock`` names."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(parser)
    if not twin:
        parser.add_argument("--vs-torch", action="store_true")
    args = parser.parse_args()
    set_threads(args.threads)
    return args, clock_fn(args.clock)


def show_times(name: str, times: list[float], unit: str, setting: str, as_json: bool, digits: int = 2,
               key: str = "ms") -> dict:
    """Print (or, ``as_json``, emit as one JSON line) a run's seconds per unit: median, best and every block,
    in milliseconds, with the ``setting`` it ran. Returns {"name", key: [ms…], "median_ms", "best_ms"}."""
    res = {"name": name, key: [1000 * t for t in times], "median_ms": 1000 * statistics.median(times),
           "best_ms": 1000 * min(times)}
    if as_json:
        print(json.dumps(res))
    else:
        blocks = ", ".join(f"{t:.{digits}f}" for t in res[key])
        print(f"{name}: median {res['median_ms']:.{digits}f} ms/{unit}, best {res['best_ms']:.{digits}f} "
              f"(blocks: {blocks}); {setting}")
    return res
