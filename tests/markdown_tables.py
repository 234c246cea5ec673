"""Reading the tables of the deep-dives and READMEs, so tests can recompute every number in them.

A table to be checked follows a marker comment: ``<!-- check: name -->`` (chapters 01–03) or
``<!-- table: name -->`` (chapters 06–07).
"""

from __future__ import annotations

import re


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


def marked_table(text: str, marker: str) -> list[dict[str, str]]:
    """The body rows of the table right after the comment ``marker`` (e.g. ``"<!-- notebook-exercises -->"``,
    a table that is not a measurement) as dicts keyed by the header cells."""
    rows = _rows_after(text, marker)
    return [dict(zip(rows[0], r)) for r in rows[2:]]


def numbers(cell: str) -> list[float]:
    """Every number written in a cell, e.g. ``"0.99 (epoch 12)"`` → ``[0.99, 12.0]``."""
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", cell)]


_NUMBER = r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+−]?\d+)?"


def prose_numbers(text: str, template: str) -> list[float]:
    """The numbers a sentence of the document states where ``template`` has ``{}``, e.g.
    ``prose_numbers(doc, "seed 42 after {} epochs")`` → ``[1838.0]``.

    Runs of whitespace (a line break in the middle of the sentence) match any whitespace, the typographic
    minus reads as ``-``, ``1,000`` as 1000. The sentence must occur exactly once, so an edited number or
    a reworded sentence fails loudly instead of matching something else."""
    parts = [r"\s+".join(re.escape(w) for w in re.split(r"\s+", p)) for p in template.split("{}")]
    pattern = f"({_NUMBER})".join(parts)
    found = re.findall(pattern, text)
    if len(found) != 1:
        raise AssertionError(f"{template!r} occurs {len(found)} times in the document, expected once")
    values = found[0] if isinstance(found[0], tuple) else (found[0],)
    return [float(v.replace("−", "-").replace(",", "")) for v in values]


def code_references(text: str) -> list[tuple[str, str]]:
    """Every ``path/file.py: Name.attr`` reference written in backticks in a document, as (path, name)."""
    return re.findall(r"`((?:[\w-]+/)*[\w-]+\.py): ([A-Za-z_][\w.]*)`", text)
