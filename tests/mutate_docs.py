"""Mutation check of the doc tests: change one measured number in a chapter's prose, run that chapter's
doc tests, and count how many edits a test catches.

    python -m tests.mutate_docs                 # 3 edits per chapter, seed 0
    python -m tests.mutate_docs --per 5 06 09   # 5 edits each in chapters 06 and 09

A candidate is a number in a prose line of a chapter's markdown (README and deep dives; tables, code
blocks and headings left out) written with a decimal point, a per cent sign or a ``×`` (how this course
writes what it measured). One digit of it is changed (the last one, +1 mod 10) in a scratch copy of the
tree (a detached ``git worktree`` of HEAD plus the working-tree docs), and the chapter's tests other than
doc tests run with ``-x`` (``test_chNN_docs.py``, or the
module tests selected with ``-k doc``). An edit is *caught* when they fail. Prints one line per edit and
the totals; writes nothing in the checkout.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(?<![\w.#/-])\d[\d,]*\.\d+(?:%|×)?|(?<![\w.#/-])\d+(?:%|×)")


def candidates(text: str):
    """(line index, match) for every measured-looking number in prose lines."""
    out, in_code = [], False
    for i, line in enumerate(text.splitlines()):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.lstrip().startswith(("|", "#", "<!--", "    ")) or "](" in line and "http" in line:
            continue
        for m in NUMBER.finditer(line):
            out.append((i, m))
    return out


def mutate(token: str) -> str:
    digits = [k for k, c in enumerate(token) if c.isdigit()]
    k = digits[-1]
    return token[:k] + str((int(token[k]) + 1) % 10) + token[k + 1:]


def chapter_tests(number: int) -> list[str]:
    """The chapter's doc tests: ``test_chNN_docs.py`` where it has one, else its module tests that read
    the docs (``-k doc``)."""
    docs = ROOT / "tests" / f"test_ch{number:02d}_docs.py"
    if docs.is_file():
        return [str(docs.relative_to(ROOT))]
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob(f"test_ch{number:02d}_*.py")
                  if "playground" not in p.name) + ["-k", "doc or table or readme or prose or text or deep or example or claim"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("chapters", nargs="*")
    p.add_argument("--per", type=int, default=3, help="edits per chapter")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from common.chapters import CHAPTERS

    rng = random.Random(args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="mutate-docs-"))
    tree = scratch / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), "HEAD"], check=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("CI", None)                 # a skip must not count as a catch
    mnist = ROOT.parent / "shared" / "datasets" / "mnist"
    if mnist.is_dir():                  # the scratch tree has no ../shared beside it: the real-MNIST doc tests
        env.setdefault("P2T_MNIST_DIR", str(mnist))     # would skip and every edit they check look missed
    caught = total = 0
    try:
        for ch in CHAPTERS:
            if args.chapters and f"{ch.number:02d}" not in args.chapters:
                continue
            tests = chapter_tests(ch.number)
            docs = sorted((ROOT / ch.folder).glob("*.md"))
            pool = [(doc, i, m) for doc in docs for i, m in candidates(doc.read_text(encoding="utf-8"))]
            for doc, i, m in rng.sample(pool, min(args.per, len(pool))):
                original = doc.read_text(encoding="utf-8")
                lines = original.splitlines(keepends=True)
                line = lines[i]
                new = mutate(m.group())
                lines[i] = line[:m.start()] + new + line[m.end():]
                target = tree / doc.relative_to(ROOT)
                target.write_text("".join(lines), encoding="utf-8")
                proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                       *tests], cwd=tree, env=env, capture_output=True, text=True)
                target.write_text(original, encoding="utf-8")
                hit = proc.returncode != 0
                caught += hit
                total += 1
                where = f"{doc.relative_to(ROOT)}:{i + 1}"
                skipped = re.search(r"(\d+) skipped", proc.stdout)
                print(f"{'caught' if hit else 'MISSED'}  {where:60s} {m.group()!r} → {new!r}"
                      + (f"  ({skipped.group(1)} tests skipped)" if skipped and not hit else ""), flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{caught} of {total} edits caught")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
