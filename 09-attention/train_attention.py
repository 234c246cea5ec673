"""Train chapter 09's shipped models and write the checkpoints the page opens on.

    python 09-attention/train_attention.py            # write checkpoints/*.npz (about half a minute)
    python 09-attention/train_attention.py --check    # retrain and compare with the recorded metrics

Seeded: the same command gives bitwise the same models on the same machine with one BLAS thread (set
here before NumPy loads). Three files, each a ``ModelSet`` saved with ``Layer.save`` (no pickle):

- ``seq2seq_reverse.npz``: the README's reversal run (``attention.DOC_RUN``, the page's defaults) for no
  attention, Bahdanau and Luong's dot, general and concat scores, with their training histories;
- ``seq2seq_sov.npz``: the SOV → SVO run (``attention.SOV_RUN``) for the page's three models;
- ``heads.npz``: the README's self-attention heads models (``attention.DOC_HEADS``).

``meta`` holds the settings, this script's name and the metrics ``--check`` compares (token and
whole-sequence accuracy per length, the last loss, the heads' accuracies and roles).
"""

from __future__ import annotations

import argparse
import json
import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT = "09-attention/train_attention.py"


def _setup(threads: int = 1):
    # by path: importing the ``common`` package would import NumPy before the thread variables are set
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, threads)
    import attention
    return attention


def train_all(attention) -> tuple[dict, dict, dict]:
    return attention.doc_runs(), attention.sov_runs(), attention.heads_runs()


def metrics_of(attention, reverse, sov, heads) -> dict:
    return {"reverse": attention.seq2seq_metrics(reverse, "reverse"), "sov": attention.seq2seq_metrics(sov, "sov"),
            "heads": attention.heads_metrics(heads)}


def recorded(attention, folder=None) -> dict:
    """The metrics the shipped checkpoints recorded."""
    from common.checkpoints import read_meta
    folder = Path(folder) if folder else attention.CHECKPOINT_DIR
    return {kind: read_meta(folder / name)["metrics"] for kind, name in attention.CHECKPOINTS.items()}


def differences(a: dict, b: dict, path: str = "") -> list[str]:
    """Where two metric records differ (exactly: the same seeds on the same machine give the same bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}{k}: missing on one side" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{path}{k}.")
        return out
    return [] if json.dumps(a) == json.dumps(b) else [f"{path.rstrip('.')}: {a} vs {b}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped metrics")
    parser.add_argument("--out", default=None, help="folder for the checkpoints (default: checkpoints/)")
    args = parser.parse_args(argv)
    attention = _setup()
    reverse, sov, heads = train_all(attention)
    if args.check:
        got = json.loads(json.dumps(metrics_of(attention, reverse, sov, heads)))
        diff = differences(recorded(attention, args.out), got)
        print("the retrained models match the recorded metrics" if not diff else "differs:\n  " + "\n  ".join(diff))
        return 1 if diff else 0
    metas = attention.save_checkpoints(reverse, sov, heads, args.out or attention.CHECKPOINT_DIR, script=SCRIPT)
    for kind, meta in metas.items():
        path = Path(args.out or attention.CHECKPOINT_DIR) / attention.CHECKPOINTS[kind]
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    tok = {w: m["token_accuracy"][attention.DOC_LENGTHS.index(8)] for w, m in metas["reverse"]["metrics"].items()}
    print("token accuracy at length 8:", ", ".join(f"{w} {a:.1%}" for w, a in tok.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
