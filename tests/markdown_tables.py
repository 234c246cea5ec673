"""Reading the tables of the deep-dives and READMEs, so tests can recompute every number in them.

A table to be checked follows a marker comment: ``<!-- check: name -->`` (chapters 01–03),
``<!-- table: name -->`` (chapters 06–07) or any ``<!-- marker -->`` registered in a chapter's
``DOC_TABLES`` (``marked_table``; chapters 08–09), which ``compare_tables`` checks against the
function that writes it.
"""

from __future__ import annotations

import re

_NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?"


def _rows_after(text: str, marker: str) -> list[list[str]]:
    """Every row (header and separator included) of the markdown table right after ``marker``."""
    if marker not in text:
        raise AssertionError(f"no {marker} in the document")
    rows = []
    for line in text.split(marker, 1)[1].strip().splitlines():
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def check_table(text: str, name: str) -> list[list[str]]:
    """The body rows after ``<!-- check: name -->``, cells stripped, the typographic minus as ``-``."""
    return [[c.replace("−", "-") for c in row] for row in _rows_after(text, f"<!-- check: {name} -->")[2:]]


def table_dicts(text: str, name: str) -> list[dict[str, str]]:
    """The body rows after ``<!-- table: name -->`` as dicts keyed by the header cells."""
    rows = _rows_after(text, f"<!-- table: {name} -->")
    return [dict(zip(rows[0], r)) for r in rows[2:]]


def numbers(cell: str) -> list[float]:
    """Every number written in a cell, e.g. ``"0.99 (epoch 12)"`` → ``[0.99, 12.0]``."""
    return [float(v) for v in re.findall(_NUMBER, cell)]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_rows(table: str) -> list[list[str]]:
    """A markdown table's text (as a ``DOC_TABLES`` function returns it): header first, no separator."""
    rows = [_cells(line) for line in table.strip().splitlines()]
    return [rows[0], *rows[2:]]


def marked_table(text: str, marker: str) -> list[list[str]]:
    """The table after ``<!-- marker -->``, header first, without the separator line."""
    rows = _rows_after(text, f"<!-- {marker} -->")
    return [rows[0], *rows[2:]]


def compare_tables(shown: list[list[str]], expected: list[list[str]], tol: float = 0.0,
                   rel: float = 0.0) -> list[str]:
    """The cells where a document's table differs from the one the code writes now: text must match
    exactly; a cell with numbers may differ by ``tol + rel·|expected|`` in each number (0, 0: exactly).
    Returns one line per mismatch (empty when the tables agree)."""
    if len(shown) != len(expected):
        return [f"{len(shown)} rows in the document, {len(expected)} from the code"]
    bad = []
    for i, (a, b) in enumerate(zip(shown, expected)):
        if len(a) != len(b):
            bad.append(f"row {i}: {len(a)} cells in the document, {len(b)} from the code")
            continue
        for j, (x, y) in enumerate(zip(a, b)):
            if x == y:
                continue
            nx, ny = numbers(x), numbers(y)
            same_text = re.sub(_NUMBER, "#", x) == re.sub(_NUMBER, "#", y)
            if (tol or rel) and same_text and len(nx) == len(ny) and all(
                    abs(u - v) <= tol + rel * abs(v) for u, v in zip(nx, ny)):
                continue
            bad.append(f"row {i} {a[0]!r}, column {j}: document {x!r}, code {y!r}")
    return bad
