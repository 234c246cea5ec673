"""Train a chapter 10 GPT on Tiny Shakespeare and write the checkpoint the page loads.

    python 10-transformer/train_gpt.py --config small          # ≈0.1M parameters, a few minutes
    python 10-transformer/train_gpt.py --config medium         # nanoGPT's CPU recipe
    python 10-transformer/train_gpt.py --config medium --resume    # continue an interrupted run

Seeded (the same command gives bitwise the same run on the same machine and BLAS thread count), with a
progress bar. Every ``eval_interval`` steps the whole training state (weights, AdamW moments, both
generators, the record) is written to ``<out>.resume.npz``; ``--resume`` continues from there exactly as
if the run had never stopped, and the file is removed once the checkpoint is written. The checkpoint is
float16 weights (``Layer.save``'s ``.npz``) with the config, the vocabulary, the losses measured after the
float16 round trip and a 300-character sample as JSON (``gpt.save_checkpoint``).

``--steps N`` trains only the next N steps (and leaves the resume file): the test that checks this script
against the shipped run uses it.

    python 10-transformer/train_gpt.py --config small --check          # the first 20 steps, in seconds
    python 10-transformer/train_gpt.py --config small --check --full   # the whole run (minutes)

``--check`` retrains in a temporary folder (the shipped checkpoint is not touched) and compares with what
the shipped checkpoint recorded: the first losses bit for bit, the recomputed validation loss of the shipped
weights; with ``--full`` also the validation curve and the final validation loss of the retrained model.
``--out PATH`` makes it compare with another checkpoint (the tests check it against a tampered copy).
It exits with status 1 when anything differs (expect bitwise equality on the machine and BLAS thread count
that trained it; another CPU may round differently).
"""

from __future__ import annotations

import argparse
import dataclasses
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = dict(prompt="\n", length=300, temperature=0.8, top_k=None, seed=0)
VAL_SLICE = 64                  # windows of the validation text the quick checkpoint test recomputes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=("small", "medium", "nopos"), required=True)
    parser.add_argument("--iters", type=int, default=None, help="length of the schedule (default: the config's)")
    parser.add_argument("--steps", type=int, default=None, help="train only this many more steps, then stop")
    parser.add_argument("--out", default=None, help="checkpoint path (default: checkpoints/gpt_<config>.npz); "
                        "with --check, the checkpoint to compare with")
    parser.add_argument("--resume", action="store_true", help="continue from <out>.resume.npz")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0 = the library default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--check", action="store_true",
                        help="retrain in a temporary folder and compare with the shipped checkpoint's record")
    parser.add_argument("--full", action="store_true", help="with --check: the whole run, not the first 20 steps")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the command line ``argv``; returns the ``gpt.Run``."""
    args = parse_args(argv)
    # BLAS threads and sys.path, loaded by path: importing ``common`` would import NumPy first
    runpy.run_path(str(ROOT / "common" / "_script.py"))["prepare"](HERE, args.threads)
    import gpt

    if args.check:
        return check(gpt, args)
    out = Path(args.out) if args.out else gpt.CHECKPOINT_DIR / f"gpt_{args.config}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    resume_path = out.with_name(out.stem + ".resume.npz")
    data = gpt.shakespeare()
    if args.resume and resume_path.is_file():
        run = gpt.load_run(resume_path, data)
        print(f"resuming {args.config} at step {run.step:,} of {run.config.iters:,} from {resume_path}")
    else:
        if args.resume:
            print(f"no {resume_path} to resume from: starting a new run")
        config = gpt.CONFIGS[args.config]
        if args.iters is not None:         # a shorter schedule keeps its warmup shorter than itself
            config = dataclasses.replace(config, iters=args.iters, warmup=min(config.warmup, args.iters // 2))
        run = gpt.new_run(config, data)
        print(f"training {args.config}: {run.model!r}, {run.model.num_params():,} parameters, "
              f"{config.iters:,} iterations of batch {config.batch_size}; data: {data.source}")
    try:
        gpt.train(run, args.steps, verbose=not args.quiet, on_interval=lambda r: gpt.save_run(resume_path, r))
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {run.step:,}; continue with --resume (from the last saved interval)")
        raise SystemExit(1)
    if not run.done:
        gpt.save_run(resume_path, run)
        print(f"stopped at step {run.step:,} of {run.config.iters:,}; state saved to {resume_path}")
        return run
    write_checkpoint(gpt, run, out, args.threads, settings=_settings(args))
    if resume_path.exists():
        resume_path.unlink()
    return run


def _settings(args) -> str:
    return f"--config {args.config}" + (f" --iters {args.iters}" if args.iters is not None else "")


def check(gpt, args):
    """``--check``: retrain (the first 20 steps, or the whole run with ``--full``) in a temporary folder and
    compare with the shipped checkpoint's record; prints each comparison, exits 1 if one differs."""
    import tempfile

    shipped = Path(args.out) if args.out else gpt.CHECKPOINT_DIR / f"gpt_{args.config}.npz"
    model, _, info = gpt.load_checkpoint(shipped)
    data = gpt.shakespeare()
    results = [("validation loss of the shipped weights (first {} windows)".format(info["val_slice_windows"]),
                info["val_loss_slice"], gpt.val_loss(model, data.val, limit=info["val_slice_windows"]))]
    first = info["first_losses"]
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["--config", args.config, "--out", str(Path(tmp) / shipped.name), "--threads", str(args.threads)]
        if args.iters is not None:
            argv += ["--iters", str(args.iters)]
        if not args.full:
            argv += ["--steps", str(len(first))]
        run = main(argv + (["--quiet"] if args.quiet else []))
        results.append((f"the first {len(first)} batch losses", first, run.batch_loss[:len(first)]))
        if args.full:
            retrained = gpt.checkpoint_info(Path(tmp) / shipped.name)
            results += [("the validation curve", info["val_curve"], retrained["val_curve"]),
                        ("the validation loss (every character)", info["val_loss"], retrained["val_loss"])]
    from common.checkpoints import RECORDED_BLAS_CORE, compute_path, on_recorded_kernel
    exact = on_recorded_kernel()
    if not exact:
        print(f"this machine multiplies with OpenBLAS {compute_path().split('/')[0]}, the checkpoint was trained "
              f"with {RECORDED_BLAS_CORE}: float32 sums round differently, so the comparisons allow a relative "
              f"difference (float64 evaluation 1e-12, the first losses 1e-5, the curve and final loss 2%)")
    bad = 0
    for (what, recorded, again), rel in zip(results, _OTHER_KERNEL_REL):
        same = recorded == again or (not exact and _close(recorded, again, rel))
        bad += not same
        print(f"{'same' if same else 'DIFFERS'}: {what}" + ("" if same else f": {_difference(recorded, again)}"))
    if bad:
        print(f"--check failed: {bad} of {len(results)} comparisons with {shipped} differ (bitwise equality is "
              f"expected with {info['blas_threads']} BLAS thread(s) on the machine that trained it)", file=sys.stderr)
        raise SystemExit(1)
    return run


#: The relative tolerance of each ``check`` comparison, in its order, under another BLAS kernel than the
#: recorded one (measured under Haswell: the first 20 losses move by about 1e-7 relative).
_OTHER_KERNEL_REL = (1e-12, 1e-5, 2e-2, 2e-2)


def _close(recorded, again, rel: float) -> bool:
    a, b = (list(v) if isinstance(v, list) else [v] for v in (recorded, again))
    return len(a) == len(b) and all(abs(x - y) <= rel * abs(x) for x, y in zip(a, b))


def _difference(recorded, again) -> str:
    """Where a recorded value and the retrained one differ: for lists, how many entries and the first one."""
    if not (isinstance(recorded, list) and isinstance(again, list)):
        return f"recorded {recorded!r}, retrained {again!r}"
    if len(recorded) != len(again):
        return f"recorded {len(recorded)} values, retrained {len(again)}"
    where = [i for i, (a, b) in enumerate(zip(recorded, again)) if a != b]
    i = where[0]
    return (f"{len(where)} of {len(recorded)} differ, the first is number {i + 1}: recorded {recorded[i]!r}, "
            f"retrained {again[i]!r}")


def write_checkpoint(gpt, run, out: Path, threads: int, settings: str = "") -> None:
    """Save the float16 checkpoint, measure it after the round trip, and save it again with the record."""
    record = {"script": "10-transformer/train_gpt.py", "settings": settings,"train_config": dataclasses.asdict(run.config), "train_seconds": run.seconds,
              "train_cpu_seconds": run.cpu_seconds, "blas_threads": threads,
              "first_losses": run.batch_loss[:20], "val_steps": run.val_steps, "val_curve": run.val_curve,
              "loss_curve": [round(float(sum(run.batch_loss[i:i + 25]) / len(run.batch_loss[i:i + 25])), 5)
                             for i in range(0, len(run.batch_loss), 25)], "sample_settings": SAMPLE}
    gpt.save_checkpoint(out, run.model, run.data.tokenizer, record)
    model, tok, _ = gpt.load_checkpoint(out)
    record["val_loss"] = gpt.val_loss(model, run.data.val)
    record["val_loss_slice"] = gpt.val_loss(model, run.data.val, limit=VAL_SLICE)
    record["val_slice_windows"] = VAL_SLICE
    settings = {k: v for k, v in SAMPLE.items() if k not in ("prompt", "length")}
    record["sample"] = gpt.sample_string(gpt.copy_model(model, "float64"), tok, SAMPLE["prompt"], SAMPLE["length"],
                                         **settings)
    gpt.save_checkpoint(out, model, tok, record)
    print(f"wrote {out}: validation loss {record['val_loss']:.4f} (all {len(run.data.val):,} characters), "
          f"{run.seconds / 60:.1f} min of training\n--- sample ---\n{record['sample']}")


if __name__ == "__main__":
    main()
