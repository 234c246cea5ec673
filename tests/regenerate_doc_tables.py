"""Regenerate every measured table in the chapters' READMEs and deep-dives from the code, in one command:

    python -m tests.regenerate_doc_tables            # rewrite the tables that changed
    python -m tests.regenerate_doc_tables --check    # only list the tables that differ (exit 1 if any)
    python -m tests.regenerate_doc_tables 04 07      # only these chapters

A chapter module registers its tables in ``DOC_TABLES``: ``{(document, marker): function}``, where the
function returns the markdown table (header, separator and rows) that follows the line
``<!-- marker -->`` in ``document`` (a file in the chapter folder). The doc tests compare each document
with the same functions, so a change of the engine's arithmetic order is this one command, then a
review of the diff. Trained tables take as long as their trainings (minutes for some chapters).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One BLAS thread, as the doc tests run (tests/conftest.py): float32 results differ in the last digits
# with the thread count, and the tables must be the ones the tests recompute.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.chapters import chapter_modules  # noqa: E402


def table_block(text: str, marker: str) -> tuple[int, int]:
    """(start, end) character offsets of the markdown table right after ``<!-- marker -->``."""
    tag = f"<!-- {marker} -->"
    at = text.find(tag)
    if at < 0:
        raise ValueError(f"no {tag} in the document")
    start = text.index("\n", at) + 1
    while text[start] == "\n":
        start += 1
    end = start
    for line in text[start:].splitlines(keepends=True):
        if not line.startswith("|"):
            break
        end += len(line)
    return start, end


def replace_table(text: str, marker: str, table: str) -> str:
    start, end = table_block(text, marker)
    return text[:start] + table.rstrip("\n") + "\n" + text[end:]


def registered(chapters=None):
    """Yield (chapter folder, document path, marker, function) for every registered table."""
    for ch, module in chapter_modules(chapters):
        for (doc, marker), fn in getattr(module, "DOC_TABLES", {}).items():
            yield ch.folder, ROOT / ch.folder / doc, marker, fn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers (01 … 10); all when omitted")
    parser.add_argument("--check", action="store_true", help="report differences without writing")
    args = parser.parse_args(argv)
    changed = 0
    for folder, doc, marker, fn in registered(args.chapters):
        text = doc.read_text()
        new = replace_table(text, marker, fn())
        if new != text:
            changed += 1
            print(f"{'differs' if args.check else 'updated'}: {folder}/{doc.name} <!-- {marker} -->")
            if not args.check:
                doc.write_text(new)
        else:
            print(f"same:    {folder}/{doc.name} <!-- {marker} -->")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
