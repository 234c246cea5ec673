"""Checkpoints that ship with the course: one ``.npz`` per model (``Layer.save``), with the settings and
measured metrics in ``meta`` and recorded runs (training histories) in ``extras``. No pickle anywhere:
``np.load(..., allow_pickle=False)`` reads every file.

A page opens on real results by loading these; each chapter's ``train_<module>.py`` script (seeded)
regenerates them, and a test checks that the script reproduces the recorded metrics.

>>> import numpy as np, tempfile, pathlib
>>> from common import Dense, Sequential
>>> from common.training import History
>>> m = Sequential(Dense(2, 1, np.random.default_rng(0)))
>>> h = History(train_loss=[0.7, 0.5], val_acc=[0.5, 0.75])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npz"
>>> _ = m.save(path, meta={"seed": 0, "val_acc": 0.75}, extras=history_arrays(h, "run"))
>>> read_meta(path)["val_acc"], read_history(path, "run").val_acc
(0.75, [0.5, 0.75])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import _script
from .training import History

#: History fields stored per epoch and per step
_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "wall_time", "batch_loss",
           "batch_metric", "grad_norm", "lr")


def _open(path):
    path = Path(path).expanduser()
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:              # not a zip, truncated, unreadable: say which file
        raise ValueError(f"{str(path)!r} is not a readable .npz checkpoint: {type(e).__name__}: {e}") from None


def read_meta(path) -> dict:
    """The ``meta`` dict saved with a checkpoint ({} when there is none)."""
    with _open(path) as data:
        return json.loads(str(data["meta"])) if "meta" in data.files else {}


def read_extras(path) -> dict[str, np.ndarray]:
    """The named ``extras`` arrays saved with a checkpoint."""
    with _open(path) as data:
        return {k[len("extra:"):]: data[k] for k in data.files if k.startswith("extra:")}


def history_arrays(history: History, prefix: str) -> dict[str, np.ndarray]:
    """A ``History``'s numeric fields as arrays named ``"{prefix}.{field}"`` (for ``extras``)."""
    return {f"{prefix}.{f}": np.asarray(getattr(history, f), dtype=np.float64) for f in _FIELDS}


def read_history(path, prefix: str) -> History:
    """The ``History`` saved under ``prefix`` by ``history_arrays``."""
    extras = read_extras(path)
    missing = [f for f in _FIELDS if f"{prefix}.{f}" not in extras]
    if missing:
        raise ValueError(f"{str(path)!r} holds no history {prefix!r} (missing {missing[0]})")
    return History(**{f: extras[f"{prefix}.{f}"].tolist() for f in _FIELDS})


#: The OpenBLAS kernel the shipped checkpoints of chapters 06, 07 and 10 (and the exact doc tables) were
#: trained with (defined in ``common/_script.py``, which the training scripts run before NumPy loads, to
#: select it). On it the training scripts reproduce them bit for bit; under another kernel float32 sums
#: round differently and a run drifts (by how much, each chapter's tests state).
RECORDED_BLAS_CORE = _script.RECORDED_BLAS_CORE


def on_recorded_kernel() -> bool:
    """Whether this process multiplies with ``RECORDED_BLAS_CORE`` (so shipped runs reproduce bitwise)."""
    return compute_path().split("/")[0] == RECORDED_BLAS_CORE


def check_against_records(runs, *, acc_tol: float = 1e-3, exact_ints: bool = False, describe=None) -> int:
    """A training script's ``--check``: for each ``(label, checkpoint path, measured metrics)`` of ``runs``,
    the metrics the checkpoint's meta recorded are compared with ``compare_metrics`` (exactly where the
    meta's ``compute_path`` is this process's, within ``acc_tol`` elsewhere; ``exact_ints`` as there). Prints one line per run
    (``describe(label, measured, recorded, same_path)``, else the test accuracy) and every difference;
    returns the exit status (1 when one differs)."""
    here = compute_path()
    problems = []
    for label, path, measured in runs:
        meta = read_meta(path)
        recorded = {k: meta[k] for k in measured}
        same = meta.get("compute_path") == here
        problems += [f"{label} {p}" for p in compare_metrics(recorded, measured, same, acc_tol=acc_tol,
                                                              exact_ints=exact_ints)]
        line = describe(label, measured, recorded, same) if describe else ""
        print(line or f"{label}: test acc {100 * measured['final_test_acc']:.2f}% (recorded "
                      f"{100 * recorded['final_test_acc']:.2f}%, {'same' if same else 'other'} compute path)")
    print("\n".join(problems) if problems else "every recorded metric reproduced")
    return 1 if problems else 0


def compute_path() -> str:
    """This process's OpenBLAS kernel and NumPy's best enabled SIMD target, e.g. ``"SkylakeX/AVX512_SPR"``
    (``"?"`` for a part that cannot be read): float32 results of a training run depend on both."""
    import ctypes

    import numpy as np  # noqa: F401  (loads OpenBLAS)
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    core = "?"
    try:
        with open("/proc/self/maps") as maps:
            libs = sorted({w for w in maps.read().split() if "openblas" in w and w.endswith(".so")})
        get = getattr(ctypes.CDLL(libs[0]), "scipy_openblas_get_corename64_")
        get.restype = ctypes.c_char_p
        core = get().decode()
    except (OSError, IndexError, AttributeError):
        pass
    simd = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
    return f"{core}/{simd[-1] if simd else '?'}"


def compare_metrics(recorded: dict, measured: dict, same_machine: bool, *, acc_tol: float = 1e-3,
                    exact_ints: bool = False) -> list[str]:
    """Differences between recorded and retrained metrics, one ``"name: recorded …, retrained …"`` each.

    Every key of ``recorded`` is compared with ``measured``'s: equal where ``same_machine`` (the run
    reproduces bit for bit); elsewhere an accuracy (a key with ``"acc"``) within ``acc_tol`` and any other
    number within 1% of the recorded one. ``exact_ints``: a ``None`` or an ``int`` must be equal everywhere.
    Introduced for chapters 04 and 05's ``train_*.py --check``.
    """
    out = []
    for k, v in recorded.items():
        w = measured[k]
        if same_machine or (exact_ints and (v is None or isinstance(v, int))):
            ok = v == w
        else:
            ok = abs(v - w) <= (acc_tol if "acc" in k else 1e-2 * abs(v))
        if not ok:
            out.append(f"{k}: recorded {v!r}, retrained {w!r}")
    return out
